//
// examples/support/demo_pki.hpp -- an in-memory certificate authority for the
// demo and the loopback server: a CA and a server certificate made at start with
// BoringSSL (no files, no openssl command).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_EXAMPLES_DEMO_PKI_HPP
#define SMTPIO_EXAMPLES_DEMO_PKI_HPP

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace smtpio_examples {

/// PEM text of a certificate authority and of a server certificate it issued.
struct demo_pki {
    std::string ca_cert_pem;     ///< Trust this (smtpio::tls::context::with_ca_pem).
    std::string server_cert_pem; ///< The server's certificate.
    std::string server_key_pem;  ///< Its private key (PKCS#8).

    /// Makes a P-256 CA ("smtpio demo CA") and a server certificate for `names`
    /// (DNS names; entries that parse as IPv4/IPv6 become IP addresses), valid
    /// from an hour ago for `days` days.
    static demo_pki make(const std::vector<std::string>& names, int days = 2);
};

namespace detail {

[[noreturn]] inline void pki_fail(const char* what) {
    char buf[256] = {};
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    throw std::runtime_error(std::string("demo_pki: ") + what + ": " + buf);
}

inline bssl::UniquePtr<EVP_PKEY> make_p256() {
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    if (!ec || !EC_KEY_generate_key(ec.get())) pki_fail("EC key");
    bssl::UniquePtr<EVP_PKEY> k(EVP_PKEY_new());
    if (!k || !EVP_PKEY_assign_EC_KEY(k.get(), ec.release())) pki_fail("EVP_PKEY");
    return k;
}

inline void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || !X509_add_ext(cert, ext.get(), -1)) pki_fail("extension");
}

inline bssl::UniquePtr<X509> make_cert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                                       bool ca, const std::string& san, int days) {
    bssl::UniquePtr<X509> x(X509_new());
    if (!x || !X509_set_version(x.get(), 2)) pki_fail("X509");
    std::uint64_t serial = 0;
    RAND_bytes(reinterpret_cast<std::uint8_t*>(&serial), sizeof serial);
    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x.get()), (serial >> 1) | 1);
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("smtpio demo"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), static_cast<long>(days) * 86400);
    if (!X509_set_pubkey(x.get(), key)) pki_fail("pubkey");
    X509* iss = issuer ? issuer : x.get();
    if (ca) {
        add_extension(x.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(x.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(x.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(x.get(), iss, NID_key_usage, "critical,digitalSignature");
        add_extension(x.get(), iss, NID_ext_key_usage, "serverAuth");
        add_extension(x.get(), iss, NID_subject_alt_name, san);
    }
    add_extension(x.get(), iss, NID_subject_key_identifier, "hash");
    if (!X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256())) pki_fail("sign");
    return x;
}

inline std::string cert_pem(X509* x) {
    bssl::UniquePtr<BIO> b(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_X509(b.get(), x)) pki_fail("PEM cert");
    const std::uint8_t* data = nullptr;
    std::size_t len = 0;
    BIO_mem_contents(b.get(), &data, &len);
    return std::string(reinterpret_cast<const char*>(data), len);
}

inline std::string key_pem(EVP_PKEY* k) {
    bssl::UniquePtr<BIO> b(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr)) pki_fail("PEM key");
    const std::uint8_t* data = nullptr;
    std::size_t len = 0;
    BIO_mem_contents(b.get(), &data, &len);
    return std::string(reinterpret_cast<const char*>(data), len);
}

inline bool looks_like_ip(const std::string& s) {
    return s.find(':') != std::string::npos ||
           (!s.empty() && s.find_first_not_of("0123456789.") == std::string::npos);
}

} // namespace detail

inline demo_pki demo_pki::make(const std::vector<std::string>& names, int days) {
    auto ca_key = detail::make_p256();
    auto ca = detail::make_cert("smtpio demo CA", ca_key.get(), nullptr, nullptr, true, {}, days);
    auto key = detail::make_p256();
    std::string san;
    for (const auto& n : names) {
        if (!san.empty()) san += ',';
        san += detail::looks_like_ip(n) ? "IP:" : "DNS:";
        san += n;
    }
    auto leaf = detail::make_cert(names.empty() ? "localhost" : names.front(), key.get(), ca.get(), ca_key.get(), false,
                                  san, days);
    return {detail::cert_pem(ca.get()), detail::cert_pem(leaf.get()), detail::key_pem(key.get())};
}

} // namespace smtpio_examples

#endif // SMTPIO_EXAMPLES_DEMO_PKI_HPP
