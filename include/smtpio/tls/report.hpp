//
// smtpio/tls/report.hpp -- what protected a session: TLS version, cipher, peer
// certificate, and the policy's verdict.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_REPORT_HPP
#define SMTPIO_TLS_REPORT_HPP

#include <smtpio/tls/types.hpp>

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace smtpio::tls {

/// A description of a certificate, for reports and logs.  All strings are
/// printable ASCII (anything else from the certificate is escaped or replaced).
struct certificate_info {
    std::string subject;                   ///< Subject DN, one line, RFC 2253 ("CN=mx.example.test,O=Example").
    std::string issuer;                    ///< Issuer DN, same form.
    std::vector<std::string> dns_names;    ///< dNSName subjectAltNames, as presented.
    std::vector<std::string> ip_addresses; ///< iPAddress subjectAltNames ("192.0.2.1", "2001:db8::1").
    std::string not_before;                ///< ISO 8601 UTC, "2026-01-02T03:04:05Z".
    std::string not_after;                 ///< ISO 8601 UTC.
    std::string sha256;                    ///< SHA-256 of the DER certificate, lower-case hex.
    std::string spki_sha256;               ///< SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex.
    std::string key_type;                  ///< "RSA", "EC", "Ed25519", or the OID's short name.
    std::string key_curve;                 ///< "P-256", "P-384", "P-521" for EC keys, else empty.
    int key_bits = 0;                      ///< Key size in bits (RSA modulus, EC field).
    std::string signature_algorithm;       ///< "sha256WithRSAEncryption", "ecdsa-with-SHA256", ...
};

/// Describes `cert` (an empty description for null).
certificate_info describe_certificate(X509* cert);

/// A certificate description as `report::peer` holds it: read it as a
/// `std::optional<certificate_info>` (`if (peer)`, `peer->subject`, `*peer`,
/// `has_value()`, `value()`, `== std::nullopt`), but it is shared and immutable,
/// so that copying a report (into every message's result) copies no strings.
class shared_certificate {
public:
    shared_certificate() noexcept = default;
    shared_certificate(std::nullopt_t) noexcept {} // NOLINT: as std::optional
    shared_certificate(certificate_info c)         // NOLINT: as std::optional
        : p_(std::make_shared<const certificate_info>(std::move(c))) {}
    shared_certificate& operator=(std::nullopt_t) noexcept {
        p_.reset();
        return *this;
    }
    shared_certificate& operator=(certificate_info c) {
        p_ = std::make_shared<const certificate_info>(std::move(c));
        return *this;
    }

    /// True when a certificate is held.
    bool has_value() const noexcept { return p_ != nullptr; }
    explicit operator bool() const noexcept { return has_value(); }
    /// The certificate; only when one is held.
    const certificate_info& operator*() const noexcept { return *p_; }
    const certificate_info* operator->() const noexcept { return p_.get(); }
    /// The certificate; throws std::bad_optional_access when none is held.
    const certificate_info& value() const {
        if (!p_) throw std::bad_optional_access();
        return *p_;
    }
    /// Holds no certificate.
    void reset() noexcept { p_.reset(); }

    friend bool operator==(const shared_certificate& a, std::nullopt_t) noexcept { return !a.p_; }

private:
    std::shared_ptr<const certificate_info> p_;
};

/// The TLS part of a session's result.
///
/// - Plaintext by policy: `attempted == false`.
/// - TLS wanted but no session (STARTTLS not offered or refused, handshake
///   failed): `attempted == true`, `established == false`, `result` says why
///   (`starttls_not_supported`, `handshake_failure`, ...).
/// - TLS established: the negotiated parameters, the peer's certificate, and
///   the verdict of the policy (`verified`, `dane_authenticated`, `result`).
/// `result` is meaningful only when `attempted`.
struct report {
    bool attempted = false;             ///< The policy wanted TLS on this connection.
    bool established = false;           ///< A TLS session was established.
    std::string version;                ///< "TLSv1.3", "TLSv1.2" (empty without TLS).
    std::string cipher;                 ///< IANA name: "TLS_AES_256_GCM_SHA384".
    std::string group;                  ///< Key exchange group: "X25519", "P-256" (empty for RSA key exchange).
    int cipher_bits = 0;                ///< Strength of the cipher in bits.
    int cipher_alg_bits = 0;            ///< Key size of the cipher algorithm in bits.
    /// The peer's leaf certificate (none when none was presented); see shared_certificate.
    shared_certificate peer;
    std::size_t chain_length = 0;       ///< Certificates the peer presented (leaf included).
    bool verified = false;              ///< The peer was authenticated (chain + name, pin, or DANE).
    bool dane_authenticated = false;    ///< The peer was authenticated by DANE.
    verify_result result = verify_result::ok; ///< `ok`, or why the peer is not verified / TLS failed.
    std::string detail;                 ///< The verdict's detail, or why TLS failed.
    std::string policy;                 ///< The policy's `name()`.
    bool resumed = false;               ///< The TLS session was resumed (abbreviated handshake).
    std::string reference_name;         ///< The reference identity the peer was checked against.

    /// The TLS clause a receiving server would stamp in its Received: header,
    /// "version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256"; empty when no
    /// TLS session was established.
    std::string received_clause() const;
};

/// The report of an established connection, after the policy's `evaluate()`.
/// `reference_name` defaults (when empty) to `v.reference_name`.
report make_report(SSL* ssl, const verdict& v, std::string_view policy_name, std::string_view reference_name = {});

/// A report for "TLS wanted, no session": `attempted`, not `established`,
/// `result` and `detail` as given (e.g. `starttls_not_supported`).
report make_failure_report(verify_result result, std::string detail, std::string_view policy_name,
                           std::string_view reference_name = {});

/// A report for a failed handshake: `result == handshake_failure`, the detail
/// from `error` and BoringSSL's reason; the version and the peer certificate
/// are filled in when the handshake got that far (the certificate only when
/// this handshake received it: never the one of a session offered or accepted
/// for resumption).  `ssl` may be null.
report make_handshake_failure_report(SSL* ssl, std::error_code error, std::string_view policy_name,
                                     std::string_view reference_name = {});

/// A report for a connection that is plaintext by policy (`attempted == false`).
report make_plaintext_report(std::string_view policy_name);

} // namespace smtpio::tls

#include <smtpio/tls/impl/report.hpp>

#endif // SMTPIO_TLS_REPORT_HPP
