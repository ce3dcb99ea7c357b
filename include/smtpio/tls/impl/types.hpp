//
// smtpio/tls/impl/types.hpp -- definitions for smtpio/tls/types.hpp.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_IMPL_TYPES_HPP
#define SMTPIO_TLS_IMPL_TYPES_HPP

#include <openssl/ssl.h>

namespace smtpio::tls {
namespace detail {

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

} // namespace detail

constexpr std::string_view to_string(level l) noexcept {
    switch (l) {
    case level::none: return "none";
    case level::may: return "may";
    case level::encrypt: return "encrypt";
    case level::verify: return "verify";
    case level::secure: return "secure";
    case level::fingerprint: return "fingerprint";
    case level::dane: return "dane";
    case level::dane_only: return "dane-only";
    }
    return "unknown";
}

constexpr std::optional<level> parse_level(std::string_view text) noexcept {
    constexpr level all[] = {level::none,   level::may,         level::encrypt, level::verify,
                             level::secure, level::fingerprint, level::dane,    level::dane_only};
    for (level l : all)
        if (detail::iequals(text, to_string(l))) return l;
    if (detail::iequals(text, "dane_only")) return level::dane_only;
    return std::nullopt;
}

constexpr bool is_strict(level l) noexcept {
    switch (l) {
    case level::verify:
    case level::secure:
    case level::fingerprint:
    case level::dane:
    case level::dane_only: return true;
    default: return false;
    }
}

constexpr std::string_view to_string(version v) noexcept {
    switch (v) {
    case version::tls1_0: return "TLSv1.0";
    case version::tls1_1: return "TLSv1.1";
    case version::tls1_2: return "TLSv1.2";
    case version::tls1_3: return "TLSv1.3";
    }
    return "unknown";
}

constexpr std::optional<version> parse_version(std::string_view text) noexcept {
    // Strip an optional "TLSv" / "TLS" prefix, then accept "1.x" or "1_x".
    if (text.size() >= 4 && detail::iequals(text.substr(0, 4), "tlsv")) text.remove_prefix(4);
    else if (text.size() >= 3 && detail::iequals(text.substr(0, 3), "tls")) text.remove_prefix(3);
    if (text.size() != 3 || text[0] != '1' || (text[1] != '.' && text[1] != '_')) return std::nullopt;
    switch (text[2]) {
    case '0': return version::tls1_0;
    case '1': return version::tls1_1;
    case '2': return version::tls1_2;
    case '3': return version::tls1_3;
    default: return std::nullopt;
    }
}

constexpr int to_protocol_version(version v) noexcept {
    switch (v) {
    case version::tls1_0: return TLS1_VERSION;
    case version::tls1_1: return TLS1_1_VERSION;
    case version::tls1_2: return TLS1_2_VERSION;
    case version::tls1_3: return TLS1_3_VERSION;
    }
    return TLS1_3_VERSION;
}

constexpr std::optional<version> from_protocol_version(int wire) noexcept {
    switch (wire) {
    case TLS1_VERSION: return version::tls1_0;
    case TLS1_1_VERSION: return version::tls1_1;
    case TLS1_2_VERSION: return version::tls1_2;
    case TLS1_3_VERSION: return version::tls1_3;
    default: return std::nullopt;
    }
}

constexpr std::string_view to_string(mode m) noexcept {
    switch (m) {
    case mode::plaintext: return "plaintext";
    case mode::opportunistic: return "opportunistic";
    case mode::required: return "required";
    case mode::implicit: return "implicit";
    }
    return "unknown";
}

constexpr std::string_view to_string(verify_result r) noexcept {
    switch (r) {
    case verify_result::ok: return "ok";
    case verify_result::starttls_not_supported: return "starttls-not-supported";
    case verify_result::certificate_host_mismatch: return "certificate-host-mismatch";
    case verify_result::certificate_expired: return "certificate-expired";
    case verify_result::certificate_not_yet_valid: return "certificate-not-yet-valid";
    case verify_result::certificate_not_trusted: return "certificate-not-trusted";
    case verify_result::validation_failure: return "validation-failure";
    case verify_result::tlsa_invalid: return "tlsa-invalid";
    case verify_result::dnssec_invalid: return "dnssec-invalid";
    case verify_result::dane_required: return "dane-required";
    case verify_result::sts_policy_fetch_error: return "sts-policy-fetch-error";
    case verify_result::sts_policy_invalid: return "sts-policy-invalid";
    case verify_result::sts_webpki_invalid: return "sts-webpki-invalid";
    case verify_result::handshake_failure: return "handshake-failure";
    }
    return "unknown";
}

constexpr std::optional<verify_result> parse_verify_result(std::string_view text) noexcept {
    for (int i = static_cast<int>(verify_result::ok); i <= static_cast<int>(verify_result::handshake_failure); ++i) {
        const auto r = static_cast<verify_result>(i);
        if (text == to_string(r)) return r;
    }
    return std::nullopt;
}

} // namespace smtpio::tls

#endif // SMTPIO_TLS_IMPL_TYPES_HPP
