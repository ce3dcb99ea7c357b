//
// smtpio/tls/verify.hpp -- checking a TLS peer: PKIX chain and names (RFC 9525),
// SHA-256 pins, DANE TLSA records (RFC 6698, RFC 7672), key strength.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_VERIFY_HPP
#define SMTPIO_TLS_VERIFY_HPP

#include <smtpio/tls/types.hpp>

#include <openssl/base.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace smtpio::tls {

/// Lower-case hexadecimal of `bytes`.
std::string to_hex(std::span<const std::uint8_t> bytes);

/// The DER encoding of a certificate (empty if it cannot be encoded).
std::vector<std::uint8_t> certificate_der(X509* cert);

/// The DER encoding of a certificate's SubjectPublicKeyInfo, exactly as it
/// appears in the certificate (the input of selector SPKI(1), RFC 6698 2.1.2).
std::vector<std::uint8_t> spki_der(X509* cert);

/// SHA-256 of `bytes`.
std::array<std::uint8_t, 32> sha256(std::span<const std::uint8_t> bytes);

/// A SHA-256 pin of a peer (level `fingerprint`): it matches a leaf certificate
/// when it equals the SHA-256 of the certificate's DER encoding *or* the SHA-256
/// of its SubjectPublicKeyInfo (so a pin survives re-issuing with the same key).
struct pin {
    std::array<std::uint8_t, 32> sha256{};

    /// The pin of a certificate's DER encoding.
    static pin of_certificate(X509* cert);
    /// The pin of a certificate's SubjectPublicKeyInfo.
    static pin of_public_key(X509* cert);
    /// Parses "sha256:HEX" (see `parse_pin`); throws `std::invalid_argument` with the reason.
    static pin from_string(std::string_view text);

    /// True when the pin equals the SHA-256 of `cert`'s DER or of its SPKI.
    bool matches(X509* cert) const;
    /// "sha256:" followed by 64 lower-case hex digits.
    std::string to_string() const;

    friend bool operator==(const pin&, const pin&) = default;
};

/// Parses a pin written "sha256:" + 64 hex digits, in any case, optionally with
/// ":" between digit pairs ("sha256:AB:CD:..."). On bad input returns
/// `std::nullopt` and, if `error` is given, stores a one-line reason.
std::optional<pin> parse_pin(std::string_view text, std::string* error = nullptr);

/// A TLSA record (RFC 6698 section 2.1) as given by the caller, who has obtained
/// it from DNSSEC-validated DNS (smtpio does no DNS).
struct tlsa_record {
    /// Certificate usages (RFC 6698 2.1.1, RFC 7218 mnemonics).
    enum usages : std::uint8_t { pkix_ta = 0, pkix_ee = 1, dane_ta = 2, dane_ee = 3 };
    /// Selectors (RFC 6698 2.1.2).
    enum selectors : std::uint8_t { full_certificate = 0, subject_public_key_info = 1 };
    /// Matching types (RFC 6698 2.1.3).
    enum matching_types : std::uint8_t { exact = 0, sha2_256 = 1, sha2_512 = 2 };

    std::uint8_t usage = 0;
    std::uint8_t selector = 0;
    std::uint8_t matching = 0;
    std::vector<std::uint8_t> data; ///< Certificate association data.

    /// Parses the presentation form (see `parse_tlsa_record`); throws `std::invalid_argument`.
    static tlsa_record from_string(std::string_view text);

    /// Usable for SMTP (RFC 7672 section 3.1): usage DANE-TA(2) or DANE-EE(3),
    /// selector 0 or 1, matching type 0, 1 or 2, and data of the right length
    /// (32 octets for SHA2-256, 64 for SHA2-512, non-empty for Full).  PKIX-TA(0)
    /// and PKIX-EE(1) are unusable for SMTP (RFC 7672 3.1.3).
    bool usable() const noexcept;
    /// True when the selected part of `cert` matches the data (usage is ignored).
    bool matches(X509* cert) const;
    /// "3 1 1 <hex>".
    std::string to_string() const;

    friend bool operator==(const tlsa_record&, const tlsa_record&) = default;
};

/// Parses "usage selector matching data" (RFC 6698 section 2.2): three numbers
/// 0-255 or RFC 7218 mnemonics (DANE-EE, SPKI, SHA2-256, ...), then the data in
/// hex, which may contain white space.  A leading "TLSA" token is skipped.
/// On bad input returns `std::nullopt` and, if `error` is given, the reason.
std::optional<tlsa_record> parse_tlsa_record(std::string_view text, std::string* error = nullptr);

/// The outcome of one check of a peer.
struct check_result {
    verify_result result = verify_result::ok; ///< `ok`, or what failed in RFC 8460 terms.
    std::error_code error;                    ///< An `smtpio::errc`, empty when ok.
    std::string detail;                       ///< One printable line.
    /// True when the check passed.
    bool ok() const noexcept { return result == verify_result::ok && !error; }
};

/// Maps an X509 verification error (`X509_V_ERR_*`) to the RFC 8460 vocabulary:
/// expired -> certificate_expired, not yet valid -> certificate_not_yet_valid,
/// host/IP mismatch -> certificate_host_mismatch, no issuer / self-signed /
/// untrusted -> certificate_not_trusted, anything else -> validation_failure.
verify_result map_verify_error(int x509_error) noexcept;

/// The `smtpio::errc` for an `X509_V_ERR_*` value (certificate_expired,
/// certificate_not_yet_valid, certificate_name_mismatch, certificate_untrusted,
/// or certificate_invalid); empty for `X509_V_OK`.
std::error_code verify_error_code(int x509_error) noexcept;

/// Flags used for every DNS-ID match: no subject CN fallback (RFC 9525 6.3),
/// wildcards only as the complete left-most label.
inline constexpr unsigned host_check_flags = X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;

/// RFC 9525 matching of one reference identity against a certificate.
///
/// - An IP address (or SMTP address literal) matches an iPAddress subjectAltName only.
/// - A DNS name (U-labels are converted to A-labels) matches a dNSName
///   subjectAltName, case-insensitively; a presented "*" must be the whole
///   left-most label and stands for exactly one label ("*.example.test" matches
///   "mx.example.test", not "example.test" nor "a.b.example.test"; "f*.example.test"
///   and "*.*.example.test" match nothing).
/// - A name starting with "." matches any proper subdomain of it (Postfix's
///   "dot-nexthop"); a presented "*.sub.example.test" matches ".example.test".
/// - The subject common name is never used.
bool matches_reference(X509* cert, std::string_view reference);

/// `matches_reference` over several reference identities: ok when any matches,
/// else certificate_host_mismatch / `errc::certificate_name_mismatch` with the
/// presented names in `detail`.
check_result check_names(X509* leaf, std::span<const std::string> references);

/// Minimum key strength of the strict levels: RSA >= 2048 bits, EC on P-256,
/// P-384 or P-521, Ed25519.  Otherwise validation_failure / `errc::weak_key`.
check_result check_key_strength(X509* cert);

/// PKIX validation (RFC 5280) of the chain a peer presented (leaf first, as
/// `SSL_get_peer_full_cert_chain` returns it) against `store`, for the purpose
/// "TLS server", then `check_names` against `references`.  The verification
/// time is now.  With `strict`, every certificate below the trust anchor must
/// also pass `check_key_strength` and must not be signed with MD5 or SHA-1.
check_result check_pkix(X509_STORE* store, STACK_OF(X509) * presented, std::span<const std::string> references,
                        bool strict);

/// Checks the leaf of `presented` against SHA-256 pins (certificate or SPKI).
/// Chain, names and dates are not looked at.  Failure: validation_failure /
/// `errc::fingerprint_mismatch`.
check_result check_pins(STACK_OF(X509) * presented, std::span<const pin> pins);

/// DANE authentication of `presented` (RFC 7672 section 3):
/// - DANE-EE(3): the leaf (certificate or SPKI) matches; names and dates are ignored.
/// - DANE-TA(2): a certificate of the presented chain matches (or, for "2 0 0",
///   the record holds the trust anchor itself); the chain from the leaf up to it
///   must validate (signatures, dates, purpose) with that certificate as the only
///   trust anchor, the leaf must match one of `references` (the TLSA base
///   domain and the names the caller configured), and no certificate below the
///   anchor may be signed with MD5 or SHA-1.
/// Unusable records are skipped.  No usable record: tlsa_invalid /
/// `errc::tlsa_unusable`; no record matches: tlsa_invalid / `errc::tlsa_mismatch`;
/// a DANE-TA anchor matched but the chain or the name did not validate: the
/// result of that validation.
check_result check_dane(STACK_OF(X509) * presented, std::span<const tlsa_record> records,
                        std::span<const std::string> references);

} // namespace smtpio::tls

#include <smtpio/tls/impl/verify.hpp>

#endif // SMTPIO_TLS_VERIFY_HPP
