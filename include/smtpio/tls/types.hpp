//
// smtpio/tls/types.hpp -- TLS levels, versions, session modes, verification results, verdicts.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_TYPES_HPP
#define SMTPIO_TLS_TYPES_HPP

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace smtpio::tls {

/// The security levels of the built-in policy, with Postfix's meaning
/// (`smtp_tls_security_level`, see docs/policies.md for exactly what each one
/// protects against).
enum class level {
    none,        ///< No TLS: never STARTTLS. Passive and active attackers read everything.
    may,         ///< Opportunistic TLS (RFC 7435): STARTTLS when offered, plaintext otherwise; peer not authenticated.
    encrypt,     ///< TLS required, peer not authenticated: stops passive eavesdroppers only.
    verify,      ///< TLS required; chain to a trust anchor and a name matching the reference names (RFC 9525).
    secure,      ///< TLS required; chain and a name matching the next-hop domain or its subdomains.
    fingerprint, ///< TLS required; the leaf certificate or its public key matches a SHA-256 pin.
    dane,        ///< DANE (RFC 7672) when usable TLSA records exist; otherwise encrypt or may (see docs).
    dane_only,   ///< TLS required and the peer must be authenticated by DANE TLSA records.
};

/// Postfix's spelling of a level: "none", "may", ..., "dane-only".
constexpr std::string_view to_string(level l) noexcept;

/// Parses a level name, case-insensitively; both "dane-only" and "dane_only" are accepted.
/// Returns `std::nullopt` for anything else.
constexpr std::optional<level> parse_level(std::string_view text) noexcept;

/// True for the levels that authenticate the peer and use the strict handshake
/// settings (ECDHE + AEAD suites for TLS 1.2, no SHA-1 signatures, RSA >= 2048,
/// EC >= P-256): verify, secure, fingerprint, dane, dane_only.
constexpr bool is_strict(level l) noexcept;

/// A TLS protocol version.
enum class version { tls1_0, tls1_1, tls1_2, tls1_3 };

/// "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3" (the spelling of `SSL_get_version`).
constexpr std::string_view to_string(version v) noexcept;

/// Parses "TLSv1.2", "TLS1.2", "TLS1_2", "tls1_2" or "1.2" (any case). `std::nullopt` otherwise.
constexpr std::optional<version> parse_version(std::string_view text) noexcept;

/// The wire value of a version (`TLS1_2_VERSION`, ...).
constexpr int to_protocol_version(version v) noexcept;

/// The version of a wire value, or `std::nullopt` (SSL 3.0, DTLS, unknown).
constexpr std::optional<version> from_protocol_version(int wire) noexcept;

/// What a session does about TLS, as decided by its policy.
enum class mode {
    plaintext,     ///< Never send STARTTLS.
    opportunistic, ///< STARTTLS when advertised; otherwise continue in plaintext and report why (RFC 7435).
    required,      ///< STARTTLS must be advertised, accepted and the handshake must succeed (RFC 3207).
    implicit,      ///< TLS from the first byte, before the greeting (RFC 8314, port 465).
};

/// "plaintext", "opportunistic", "required", "implicit".
constexpr std::string_view to_string(mode m) noexcept;

/// The outcome of the checks of a TLS peer, in the vocabulary of TLS-RPT
/// (RFC 8460 section 4.3) plus `ok` and two values of our own
/// (`certificate_not_yet_valid`, `handshake_failure`).
enum class verify_result {
    ok,                        ///< The peer was authenticated as the policy asks ("ok").
    starttls_not_supported,    ///< The server did not offer STARTTLS (RFC 8460 4.3.2.1).
    certificate_host_mismatch, ///< No DNS-ID / IP-ID matches a reference identity (RFC 8460 4.3.2.1).
    certificate_expired,       ///< A certificate of the chain has expired (RFC 8460 4.3.2.1).
    certificate_not_yet_valid, ///< A certificate of the chain is not valid yet (ours).
    certificate_not_trusted,   ///< The chain does not lead to a trust anchor (RFC 8460 4.3.2.1).
    validation_failure,        ///< Any other failure to validate the peer (RFC 8460 4.3.2.1); `detail` says which.
    tlsa_invalid,              ///< TLSA records exist but none matches the peer (RFC 8460 4.3.2.2).
    dnssec_invalid,            ///< The DNSSEC validation of the TLSA records failed (RFC 8460 4.3.2.2).
    dane_required,             ///< DANE was required but no usable TLSA record was given (RFC 8460 4.3.2.2).
    sts_policy_fetch_error,    ///< The MTA-STS policy could not be fetched (RFC 8460 4.3.2.3).
    sts_policy_invalid,        ///< The MTA-STS policy is invalid (RFC 8460 4.3.2.3).
    sts_webpki_invalid,        ///< The MTA-STS policy host's certificate did not validate (RFC 8460 4.3.2.3).
    handshake_failure,         ///< The TLS handshake itself failed (ours).
};

/// The hyphenated RFC 8460 spelling: "ok", "starttls-not-supported", "certificate-host-mismatch", ...
constexpr std::string_view to_string(verify_result r) noexcept;

/// Parses the hyphenated spelling back; `std::nullopt` for anything else.
constexpr std::optional<verify_result> parse_verify_result(std::string_view text) noexcept;

/// What a policy decided about a peer after a successful handshake
/// (`policy_type::evaluate`).  The session sends nothing after the handshake
/// unless `accepted` is true.
struct verdict {
    /// The peer is acceptable under the policy: the session may go on.
    bool accepted = false;
    /// The peer was authenticated: by a PKIX chain and name, by a pin, or by DANE.
    /// Computed at every level, so a report can say "encrypted, not verified because ...".
    bool verified = false;
    /// The peer was authenticated by a DANE TLSA record (RFC 7672).
    bool dane_authenticated = false;
    /// The verification result; `ok` when `verified`.
    verify_result result = verify_result::validation_failure;
    /// Why the peer was rejected, or, when it was accepted without being verified,
    /// why it is not verified (an `smtpio::errc`: certificate_expired,
    /// certificate_name_mismatch, certificate_untrusted, certificate_not_yet_valid,
    /// certificate_invalid, weak_key, fingerprint_mismatch, tlsa_mismatch,
    /// tlsa_unusable, peer_rejected_by_policy).  Empty when verified.
    std::error_code error;
    /// One line for humans: which check failed and on what (never server-chosen control characters).
    std::string detail;
    /// The reference identity the peer was checked against (the first of them), for reports.
    std::string reference_name;
};

} // namespace smtpio::tls

#include <smtpio/tls/impl/types.hpp>

#endif // SMTPIO_TLS_TYPES_HPP
