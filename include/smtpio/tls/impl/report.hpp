//
// smtpio/tls/impl/report.hpp -- definitions for smtpio/tls/report.hpp.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_IMPL_REPORT_HPP
#define SMTPIO_TLS_IMPL_REPORT_HPP

#include <smtpio/tls/context.hpp>
#include <smtpio/tls/verify.hpp>

#include <asio/ip/address_v4.hpp>
#include <asio/ip/address_v6.hpp>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/obj.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>

namespace smtpio::tls {
namespace detail {

inline std::string name_rfc2253(X509_NAME* name) {
    if (!name) return {};
    bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
    const std::uint8_t* data = nullptr;
    std::size_t len = 0;
    if (!BIO_mem_contents(bio.get(), &data, &len)) return {};
    return printable(std::string_view(reinterpret_cast<const char*>(data), len), 1024);
}

inline std::string iso8601(const ASN1_TIME* t) {
    if (!t) return {};
    bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
    int days = 0;
    int secs = 0;
    if (!epoch || !ASN1_TIME_diff(&days, &secs, epoch.get(), t)) {
        ERR_clear_error();
        return {};
    }
    const auto when = static_cast<std::time_t>(static_cast<long long>(days) * 86400 + secs);
    std::tm tm{};
    if (!gmtime_r(&when, &tm)) return {};
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf, n);
}

inline void alt_names(X509* cert, certificate_info& info) {
    bssl::UniquePtr<GENERAL_NAMES> names(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) return;
    for (std::size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        if (gn->type == GEN_DNS) {
            const ASN1_STRING* s = gn->d.dNSName;
            info.dns_names.push_back(printable(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                                static_cast<std::size_t>(ASN1_STRING_length(s)))));
        } else if (gn->type == GEN_IPADD) {
            const ASN1_OCTET_STRING* s = gn->d.iPAddress;
            const unsigned char* p = ASN1_STRING_get0_data(s);
            const int len = ASN1_STRING_length(s);
            if (len == 4) {
                asio::ip::address_v4::bytes_type b;
                std::memcpy(b.data(), p, 4);
                info.ip_addresses.push_back(asio::ip::address_v4(b).to_string());
            } else if (len == 16) {
                asio::ip::address_v6::bytes_type b;
                std::memcpy(b.data(), p, 16);
                info.ip_addresses.push_back(asio::ip::address_v6(b).to_string());
            }
        }
    }
}

inline std::string clause_version(std::string_view v) {
    // "TLSv1.3" -> "TLS1_3", as receiving MTAs stamp it.
    std::string out;
    for (char c : v) {
        if (c == 'v') continue;
        out.push_back(c == '.' ? '_' : c);
    }
    return out;
}

inline void fill_session(SSL* ssl, report& r) {
    if (auto v = from_protocol_version(SSL_version(ssl))) r.version = std::string(to_string(*v));
    else r.version = SSL_get_version(ssl);
    if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) {
        if (const char* n = SSL_CIPHER_standard_name(c)) r.cipher = n;
        int alg_bits = 0;
        r.cipher_bits = SSL_CIPHER_get_bits(c, &alg_bits);
        r.cipher_alg_bits = alg_bits;
    }
    if (const std::uint16_t group = SSL_get_curve_id(ssl); group != 0)
        if (const char* n = SSL_get_curve_name(group)) r.group = n;
    r.resumed = SSL_session_reused(ssl) == 1;
}

// A certificate's description is kept on its X509 object (ex_data), made the
// first time a report asks for it.  A resumed TLS session holds the same X509
// objects as the session it came from (BoringSSL shares them between a session
// and its copies, the tickets), so a peer is described once per full handshake,
// not once per connection.  The description depends on the certificate alone,
// and the X509 never changes.  The lock: cached sessions, with their X509
// objects, are shared by connections on other threads.
inline void free_description(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
    delete static_cast<shared_certificate*>(ptr);
}

inline int description_index() {
    static const int index = X509_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_description);
    return index;
}

inline std::mutex& description_mutex() {
    static std::mutex m;
    return m;
}

inline shared_certificate describe_once(X509* cert) {
    if (!cert) return {};
    const int index = description_index();
    if (index >= 0) {
        std::lock_guard lock(description_mutex());
        if (const auto* kept = static_cast<const shared_certificate*>(X509_get_ex_data(cert, index)))
            return *kept;
    }
    shared_certificate made = describe_certificate(cert);
    if (index >= 0) {
        std::lock_guard lock(description_mutex());
        if (const auto* kept = static_cast<const shared_certificate*>(X509_get_ex_data(cert, index)))
            return *kept;
        auto kept = std::make_unique<shared_certificate>(made);
        if (X509_set_ex_data(cert, index, kept.get())) kept.release();
    }
    return made;
}

inline void fill_peer(SSL* ssl, report& r) {
    STACK_OF(X509)* chain = SSL_get_peer_full_cert_chain(ssl);
    if (!chain || sk_X509_num(chain) == 0) return;
    r.chain_length = sk_X509_num(chain);
    r.peer = describe_once(sk_X509_value(chain, 0));
}

} // namespace detail

inline certificate_info describe_certificate(X509* cert) {
    certificate_info info;
    if (!cert) return info;
    info.subject = detail::name_rfc2253(X509_get_subject_name(cert));
    info.issuer = detail::name_rfc2253(X509_get_issuer_name(cert));
    detail::alt_names(cert, info);
    info.not_before = detail::iso8601(X509_get0_notBefore(cert));
    info.not_after = detail::iso8601(X509_get0_notAfter(cert));
    const auto cert_digest = sha256(certificate_der(cert));
    info.sha256 = to_hex(cert_digest);
    const auto spki_digest = sha256(spki_der(cert));
    info.spki_sha256 = to_hex(spki_digest);
    if (bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(cert)); key) {
        info.key_bits = EVP_PKEY_bits(key.get());
        switch (EVP_PKEY_id(key.get())) {
        case EVP_PKEY_RSA: info.key_type = "RSA"; break;
        case EVP_PKEY_EC: {
            info.key_type = "EC";
            const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key.get());
            const EC_GROUP* g = ec ? EC_KEY_get0_group(ec) : nullptr;
            switch (g ? EC_GROUP_get_curve_name(g) : NID_undef) {
            case NID_X9_62_prime256v1: info.key_curve = "P-256"; break;
            case NID_secp384r1: info.key_curve = "P-384"; break;
            case NID_secp521r1: info.key_curve = "P-521"; break;
            case NID_secp224r1: info.key_curve = "P-224"; break;
            default: break;
            }
            break;
        }
        case EVP_PKEY_ED25519: info.key_type = "Ed25519"; break;
        default: {
            const char* sn = OBJ_nid2sn(EVP_PKEY_id(key.get()));
            info.key_type = sn ? sn : "unknown";
        }
        }
    }
    ERR_clear_error();
    if (const char* ln = OBJ_nid2ln(X509_get_signature_nid(cert))) info.signature_algorithm = ln;
    return info;
}

inline std::string report::received_clause() const {
    if (!established || version.empty()) return {};
    return "version=" + detail::clause_version(version) + " cipher=" + cipher + " bits=" + std::to_string(cipher_bits) +
           "/" + std::to_string(cipher_alg_bits);
}

inline report make_report(SSL* ssl, const verdict& v, std::string_view policy_name, std::string_view reference_name) {
    report r;
    r.attempted = true;
    r.policy = std::string(policy_name);
    r.reference_name = std::string(reference_name.empty() ? std::string_view(v.reference_name) : reference_name);
    r.verified = v.verified;
    r.dane_authenticated = v.dane_authenticated;
    r.result = v.result;
    r.detail = v.detail;
    if (!ssl) {
        if (r.result == verify_result::ok) r.result = verify_result::handshake_failure;
        r.detail = "no TLS connection";
        return r;
    }
    r.established = SSL_is_init_finished(ssl) == 1;
    if (r.established) detail::fill_session(ssl, r);
    detail::fill_peer(ssl, r);
    return r;
}

inline report make_failure_report(verify_result result, std::string detail, std::string_view policy_name,
                                  std::string_view reference_name) {
    report r;
    r.attempted = true;
    r.result = result;
    r.detail = std::move(detail);
    r.policy = std::string(policy_name);
    r.reference_name = std::string(reference_name);
    return r;
}

inline report make_handshake_failure_report(SSL* ssl, std::error_code error, std::string_view policy_name,
                                            std::string_view reference_name) {
    report r = make_failure_report(verify_result::handshake_failure,
                                   error ? "TLS handshake failed: " + detail::printable(error.message())
                                         : "TLS handshake failed",
                                   policy_name, reference_name);
    if (ssl) {
        if (auto v = from_protocol_version(SSL_version(ssl)); v && SSL_get_current_cipher(ssl))
            r.version = std::string(to_string(*v));
        // Only a certificate this handshake received: a failed resumption must not
        // name the certificate of the session it offered.
        if (detail::peer_chain_received(ssl)) detail::fill_peer(ssl, r);
    }
    return r;
}

inline report make_plaintext_report(std::string_view policy_name) {
    report r;
    r.policy = std::string(policy_name);
    r.detail = "no TLS (policy)"; // short enough for std::string's own storage: copied into every result
    return r;
}

} // namespace smtpio::tls

#endif // SMTPIO_TLS_IMPL_REPORT_HPP
