//
// tests/support/cert_factory.hpp -- test certificates made at run time with BoringSSL:
// a root CA, an intermediate, an untrusted root, and leaves for every case the
// TLS tests need (valid, expired, wrong name, wildcards, weak keys, SHA-1, ...).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TEST_CERT_FACTORY_HPP
#define SMTPIO_TEST_CERT_FACTORY_HPP

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace smtpio::test {

/// Key types the factory makes.  EC keys are made fresh (fast); RSA keys are
/// made once per kind and process and then shared (RSA key generation is slow).
enum class key_kind { ec_p256, ec_p384, rsa_1024, rsa_2048 };

/// The digest a certificate is signed with.
enum class sig_hash { sha256, sha1 };

namespace detail {

[[noreturn]] inline void fail(const std::string& what) {
    char buf[256] = {};
    const std::uint32_t e = ERR_get_error();
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    throw std::runtime_error("cert_factory: " + what + (e ? std::string(": ") + buf : std::string()));
}

inline bssl::UniquePtr<EVP_PKEY> generate(key_kind k) {
    bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
    if (!pkey) fail("EVP_PKEY_new");
    if (k == key_kind::ec_p256 || k == key_kind::ec_p384) {
        bssl::UniquePtr<EC_KEY> ec(
            EC_KEY_new_by_curve_name(k == key_kind::ec_p256 ? NID_X9_62_prime256v1 : NID_secp384r1));
        if (!ec || !EC_KEY_generate_key(ec.get()) || !EVP_PKEY_assign_EC_KEY(pkey.get(), ec.get()))
            fail("EC key generation");
        ec.release();
    } else {
        bssl::UniquePtr<RSA> rsa(RSA_new());
        bssl::UniquePtr<BIGNUM> e(BN_new());
        if (!rsa || !e || !BN_set_word(e.get(), RSA_F4) ||
            !RSA_generate_key_ex(rsa.get(), k == key_kind::rsa_1024 ? 1024 : 2048, e.get(), nullptr) ||
            !EVP_PKEY_assign_RSA(pkey.get(), rsa.get()))
            fail("RSA key generation");
        rsa.release();
    }
    return pkey;
}

inline std::string bio_string(BIO* bio) {
    const std::uint8_t* data = nullptr;
    std::size_t len = 0;
    if (!BIO_mem_contents(bio, &data, &len)) fail("BIO_mem_contents");
    return std::string(reinterpret_cast<const char*>(data), len);
}

inline void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) fail("extension " + std::to_string(nid) + " = " + value);
    const int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (!ok) fail("X509_add_ext");
}

} // namespace detail

/// A key that may be shared between certificates: for EC a fresh key, for RSA
/// the process-wide key of that size (made on first use).
inline bssl::UniquePtr<EVP_PKEY> test_key(key_kind k) {
    if (k == key_kind::ec_p256 || k == key_kind::ec_p384) return detail::generate(k);
    static std::mutex m;
    static bssl::UniquePtr<EVP_PKEY> rsa1024, rsa2048;
    std::lock_guard lock(m);
    auto& slot = k == key_kind::rsa_1024 ? rsa1024 : rsa2048;
    if (!slot) slot = detail::generate(k);
    EVP_PKEY_up_ref(slot.get());
    return bssl::UniquePtr<EVP_PKEY>(slot.get());
}

/// What a certificate should say.
struct cert_spec {
    std::string common_name;                  ///< Subject CN (never used for name matching by smtpio).
    std::vector<std::string> dns_names;       ///< dNSName subjectAltNames (wildcards allowed).
    std::vector<std::string> ip_addresses;    ///< iPAddress subjectAltNames ("127.0.0.1", "::1").
    key_kind key = key_kind::ec_p256;         ///< The certificate's key type.
    long not_before = -3600;                  ///< Seconds from now.
    long not_after = 30L * 24 * 3600;         ///< Seconds from now.
    bool ca = false;                          ///< A CA certificate (basicConstraints CA:TRUE).
    int path_length = -1;                     ///< pathLenConstraint of a CA; -1 none.
    sig_hash hash = sig_hash::sha256;         ///< Digest of the issuer's signature.
    bool server_auth = true;                  ///< extendedKeyUsage serverAuth (leaves).
};

/// A certificate and its private key.  Copies share the underlying objects.
struct credential {
    bssl::UniquePtr<X509> cert;
    bssl::UniquePtr<EVP_PKEY> key;

    credential() = default;
    credential(bssl::UniquePtr<X509> c, bssl::UniquePtr<EVP_PKEY> k) : cert(std::move(c)), key(std::move(k)) {}
    credential(const credential& o) { *this = o; }
    credential(credential&&) noexcept = default;
    credential& operator=(credential&&) noexcept = default;
    credential& operator=(const credential& o) {
        if (this == &o) return *this;
        if (o.cert) X509_up_ref(o.cert.get());
        if (o.key) EVP_PKEY_up_ref(o.key.get());
        cert.reset(o.cert.get());
        key.reset(o.key.get());
        return *this;
    }
    ~credential() = default;

    /// The certificate in PEM.
    std::string cert_pem() const {
        bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
        if (!bio || !PEM_write_bio_X509(bio.get(), cert.get())) detail::fail("PEM_write_bio_X509");
        return detail::bio_string(bio.get());
    }
    /// The private key in PEM (PKCS#8).
    std::string key_pem() const {
        bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
        if (!bio || !PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
            detail::fail("PEM_write_bio_PrivateKey");
        return detail::bio_string(bio.get());
    }
    /// The certificate in DER.
    std::vector<std::uint8_t> der() const {
        std::uint8_t* buf = nullptr;
        const int len = i2d_X509(cert.get(), &buf);
        if (len <= 0) detail::fail("i2d_X509");
        std::vector<std::uint8_t> out(buf, buf + len);
        OPENSSL_free(buf);
        return out;
    }
    /// The DER SubjectPublicKeyInfo.
    std::vector<std::uint8_t> spki_der() const {
        std::uint8_t* buf = nullptr;
        const int len = i2d_PUBKEY(key.get(), &buf);
        if (len <= 0) detail::fail("i2d_PUBKEY");
        std::vector<std::uint8_t> out(buf, buf + len);
        OPENSSL_free(buf);
        return out;
    }
};

/// Issues a certificate for `spec`, signed by `issuer` (self-signed when null).
/// `key` overrides the key made from `spec.key`.
inline credential issue(const cert_spec& spec, const credential* issuer, bssl::UniquePtr<EVP_PKEY> key = nullptr) {
    if (!key) key = test_key(spec.key);
    bssl::UniquePtr<X509> x(X509_new());
    if (!x || !X509_set_version(x.get(), 2)) detail::fail("X509_new");
    std::uint64_t serial = 0;
    RAND_bytes(reinterpret_cast<std::uint8_t*>(&serial), sizeof serial);
    serial &= 0x7FFFFFFFFFFFFFFFULL;
    if (!ASN1_INTEGER_set_uint64(X509_get_serialNumber(x.get()), serial | 1)) detail::fail("serial");

    X509_NAME* name = X509_get_subject_name(x.get());
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const std::uint8_t*>("smtpio tests"),
                                    -1, -1, 0))
        detail::fail("subject O");
    if (!spec.common_name.empty() &&
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    reinterpret_cast<const std::uint8_t*>(spec.common_name.c_str()), -1, -1, 0))
        detail::fail("subject CN");
    if (!X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer->cert.get()) : name))
        detail::fail("issuer name");
    if (!X509_gmtime_adj(X509_getm_notBefore(x.get()), spec.not_before) ||
        !X509_gmtime_adj(X509_getm_notAfter(x.get()), spec.not_after))
        detail::fail("validity");
    if (!X509_set_pubkey(x.get(), key.get())) detail::fail("X509_set_pubkey");

    X509* issuer_cert = issuer ? issuer->cert.get() : nullptr;
    if (spec.ca) {
        std::string bc = "critical,CA:TRUE";
        if (spec.path_length >= 0) bc += ",pathlen:" + std::to_string(spec.path_length);
        detail::add_ext(x.get(), issuer_cert, NID_basic_constraints, bc);
        detail::add_ext(x.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        detail::add_ext(x.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
        detail::add_ext(x.get(), issuer_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        if (spec.server_auth) detail::add_ext(x.get(), issuer_cert, NID_ext_key_usage, "serverAuth");
    }
    detail::add_ext(x.get(), issuer_cert, NID_subject_key_identifier, "hash");
    if (issuer) detail::add_ext(x.get(), issuer_cert, NID_authority_key_identifier, "keyid:always");
    std::string san;
    for (const auto& d : spec.dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
    for (const auto& ip : spec.ip_addresses) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
    if (!san.empty()) detail::add_ext(x.get(), issuer_cert, NID_subject_alt_name, san);

    EVP_PKEY* signer = issuer ? issuer->key.get() : key.get();
    if (!X509_sign(x.get(), signer, spec.hash == sig_hash::sha1 ? EVP_sha1() : EVP_sha256())) detail::fail("X509_sign");
    return credential(std::move(x), std::move(key));
}

/// The certificate cases of the TLS tests.
enum class cert_case {
    valid,                ///< DNS SAN = name, EC P-256, issued by the intermediate; chain sent.
    ip_address,           ///< As valid, plus IP SANs 127.0.0.1 and ::1.
    expired,              ///< notAfter yesterday.
    not_yet_valid,        ///< notBefore tomorrow.
    wrong_name,           ///< DNS SAN "other.example.test" only.
    self_signed,          ///< Self-signed leaf with the right name.
    untrusted_root,       ///< Issued by a root that no test context trusts.
    missing_intermediate, ///< Issued by the intermediate, sent without it.
    cn_only,              ///< CN = name, no subjectAltName (RFC 9525: no match).
    wildcard,             ///< DNS SAN "*.<parent of name>".
    partial_wildcard,     ///< DNS SAN "<first letter>*.<parent of name>" (must not match).
    double_wildcard,      ///< DNS SAN "*.*.<grandparent of name>" (must not match).
    rsa_1024,             ///< RSA-1024 key (weak at strict levels).
    sha1_signed,          ///< Signed with ECDSA-SHA1 by the intermediate (refused at strict levels).
    ec_p256,              ///< EC P-256 key.
    ec_p384,              ///< EC P-384 key.
    rsa_2048,             ///< RSA-2048 key.
};

/// Every case, for table-driven tests.
inline constexpr cert_case all_cert_cases[] = {
    cert_case::valid,          cert_case::ip_address, cert_case::expired,          cert_case::not_yet_valid,
    cert_case::wrong_name,     cert_case::self_signed, cert_case::untrusted_root,  cert_case::missing_intermediate,
    cert_case::cn_only,        cert_case::wildcard,   cert_case::partial_wildcard, cert_case::double_wildcard,
    cert_case::rsa_1024,       cert_case::sha1_signed, cert_case::ec_p256,         cert_case::ec_p384,
    cert_case::rsa_2048,
};

/// The case's name ("valid", "expired", ...), also the file stem of `write_pem_files`.
inline std::string_view to_string(cert_case c) {
    switch (c) {
    case cert_case::valid: return "valid";
    case cert_case::ip_address: return "ip-address";
    case cert_case::expired: return "expired";
    case cert_case::not_yet_valid: return "not-yet-valid";
    case cert_case::wrong_name: return "wrong-name";
    case cert_case::self_signed: return "self-signed";
    case cert_case::untrusted_root: return "untrusted-root";
    case cert_case::missing_intermediate: return "missing-intermediate";
    case cert_case::cn_only: return "cn-only";
    case cert_case::wildcard: return "wildcard";
    case cert_case::partial_wildcard: return "partial-wildcard";
    case cert_case::double_wildcard: return "double-wildcard";
    case cert_case::rsa_1024: return "rsa-1024";
    case cert_case::sha1_signed: return "sha1-signed";
    case cert_case::ec_p256: return "ec-p256";
    case cert_case::ec_p384: return "ec-p384";
    case cert_case::rsa_2048: return "rsa-2048";
    }
    return "unknown";
}

/// What a test server presents: its leaf, the certificates sent after it, the key.
struct server_identity {
    credential leaf;
    std::vector<credential> chain; ///< Sent after the leaf (intermediates), in order.

    /// Leaf then the chain, in PEM (for `use_certificate_chain`).
    std::string chain_pem() const {
        std::string out = leaf.cert_pem();
        for (const auto& c : chain) out += c.cert_pem();
        return out;
    }
    /// The leaf's private key in PEM.
    std::string key_pem() const { return leaf.key_pem(); }
    /// The chain as a client receives it (leaf first), like `SSL_get_peer_full_cert_chain`.
    bssl::UniquePtr<STACK_OF(X509)> presented() const {
        bssl::UniquePtr<STACK_OF(X509)> s(sk_X509_new_null());
        if (!s) detail::fail("sk_X509_new_null");
        auto push = [&](X509* c) {
            if (!sk_X509_push(s.get(), c)) detail::fail("sk_X509_push");
            X509_up_ref(c);
        };
        push(leaf.cert.get());
        for (const auto& c : chain) push(c.cert.get());
        return s;
    }
};

/// Makes a PKI for a test: a trusted root, an intermediate under it, and an
/// untrusted root; then leaves on demand.  CAs use EC P-256 keys.
class cert_factory {
public:
    cert_factory() {
        cert_spec root_spec;
        root_spec.common_name = "smtpio test root";
        root_spec.ca = true;
        root_spec.not_before = -7L * 24 * 3600;
        root_spec.not_after = 3650L * 24 * 3600;
        root_ = issue(root_spec, nullptr);

        cert_spec inter_spec = root_spec;
        inter_spec.common_name = "smtpio test intermediate";
        inter_spec.path_length = 0;
        intermediate_ = issue(inter_spec, &root_);

        cert_spec other = root_spec;
        other.common_name = "smtpio untrusted root";
        untrusted_root_ = issue(other, nullptr);
    }

    /// The trusted root.
    const credential& root() const noexcept { return root_; }
    /// The intermediate CA (issued by the root) that issues the leaves.
    const credential& intermediate() const noexcept { return intermediate_; }
    /// A root that test contexts do not trust.
    const credential& untrusted_root() const noexcept { return untrusted_root_; }
    /// The PEM to trust (the root only).
    std::string trust_pem() const { return root_.cert_pem(); }

    /// A leaf issued by the intermediate, sent with the intermediate.
    server_identity leaf(const cert_spec& spec) const {
        return server_identity{issue(spec, &intermediate_), {intermediate_}};
    }

    /// The leaf of a case, for the reference name `name` (default "mx.example.test").
    server_identity make(cert_case c, const std::string& name = "mx.example.test") const {
        cert_spec s;
        s.common_name = name;
        s.dns_names = {name};
        const auto dot = name.find('.');
        const std::string parent = dot == std::string::npos ? name : name.substr(dot + 1);
        const auto dot2 = parent.find('.');
        const std::string grandparent = dot2 == std::string::npos ? parent : parent.substr(dot2 + 1);
        switch (c) {
        case cert_case::valid:
        case cert_case::ec_p256: break;
        case cert_case::ip_address: s.ip_addresses = {"127.0.0.1", "::1"}; break;
        case cert_case::expired:
            s.not_before = -30L * 24 * 3600;
            s.not_after = -24L * 3600;
            break;
        case cert_case::not_yet_valid:
            s.not_before = 24L * 3600;
            s.not_after = 30L * 24 * 3600;
            break;
        case cert_case::wrong_name: s.dns_names = {"other.example.test"}; break;
        case cert_case::self_signed: return server_identity{issue(s, nullptr), {}};
        case cert_case::untrusted_root: return server_identity{issue(s, &untrusted_root_), {}};
        case cert_case::missing_intermediate: return server_identity{issue(s, &intermediate_), {}};
        case cert_case::cn_only: s.dns_names.clear(); break;
        case cert_case::wildcard: s.dns_names = {"*." + parent}; break;
        case cert_case::partial_wildcard: s.dns_names = {name.substr(0, 1) + "*." + parent}; break;
        case cert_case::double_wildcard: s.dns_names = {"*.*." + grandparent}; break;
        case cert_case::rsa_1024: s.key = key_kind::rsa_1024; break;
        case cert_case::sha1_signed: s.hash = sig_hash::sha1; break;
        case cert_case::ec_p384: s.key = key_kind::ec_p384; break;
        case cert_case::rsa_2048: s.key = key_kind::rsa_2048; break;
        }
        return leaf(s);
    }

    /// Writes PEM files into `dir` (created if needed): ca.pem (the trusted root),
    /// intermediate.pem, untrusted-ca.pem, and for each case "<case>.pem" (leaf +
    /// chain as a server sends it) and "<case>.key" for the reference name `name`,
    /// plus "server.pem"/"server.key" (valid, with IP SANs 127.0.0.1 and ::1 and
    /// the DNS names `name`, "localhost" and `extra_names`).
    void write_pem_files(const std::filesystem::path& dir, const std::string& name = "mx.example.test",
                         const std::vector<std::string>& extra_names = {}) const {
        std::filesystem::create_directories(dir);
        auto write = [&](const std::string& file, const std::string& text) {
            std::ofstream out(dir / file, std::ios::binary | std::ios::trunc);
            out << text;
            if (!out) throw std::runtime_error("cert_factory: cannot write " + (dir / file).string());
        };
        write("ca.pem", root_.cert_pem());
        write("intermediate.pem", intermediate_.cert_pem());
        write("untrusted-ca.pem", untrusted_root_.cert_pem());
        for (cert_case c : all_cert_cases) {
            const auto id = make(c, name);
            write(std::string(to_string(c)) + ".pem", id.chain_pem());
            write(std::string(to_string(c)) + ".key", id.key_pem());
        }
        cert_spec s;
        s.common_name = name;
        s.dns_names = {name, "localhost"};
        s.dns_names.insert(s.dns_names.end(), extra_names.begin(), extra_names.end());
        s.ip_addresses = {"127.0.0.1", "::1"};
        const auto server = leaf(s);
        write("server.pem", server.chain_pem());
        write("server.key", server.key_pem());
    }

private:
    credential root_;
    credential intermediate_;
    credential untrusted_root_;
};

} // namespace smtpio::test

#endif // SMTPIO_TEST_CERT_FACTORY_HPP
