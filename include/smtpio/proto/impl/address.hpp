//
// smtpio/proto/impl/address.hpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_IMPL_ADDRESS_HPP
#define SMTPIO_PROTO_IMPL_ADDRESS_HPP

#include <smtpio/detail/utf8.hpp>
#include <smtpio/proto/capabilities.hpp>

namespace smtpio::proto {
namespace detail {

constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// atext (RFC 5322 3.2.3): ALPHA / DIGIT / "!#$%&'*+-/=?^_`{|}~"
constexpr bool is_atext(char c) noexcept {
    if (is_alpha(c) || is_digit(c)) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}': case '~':
        return true;
    default:
        return false;
    }
}

// Dot-string = Atom *("." Atom); with UTF-8, atext also admits UTF8-non-ascii (RFC 6531 3.3).
inline bool is_dot_string(std::string_view s, bool utf8) noexcept {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    bool prev_dot = false;
    std::size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        if (c == '.') {
            if (prev_dot) return false;
            prev_dot = true;
            ++i;
            continue;
        }
        prev_dot = false;
        if (static_cast<unsigned char>(c) >= 0x80) {
            if (!utf8) return false;
            std::size_t n = smtpio::detail::utf8_sequence_length(s.substr(i));
            if (n == 0) return false;
            i += n;
            continue;
        }
        if (!is_atext(c)) return false;
        ++i;
    }
    return true;
}

// Quoted-string = DQUOTE *QcontentSMTP DQUOTE (RFC 5321 4.1.2)
// qtextSMTP = %d32-33 / %d35-91 / %d93-126; quoted-pairSMTP = "\" %d32-126
inline bool is_quoted_string(std::string_view s, bool utf8) noexcept {
    if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
    std::size_t i = 1, end = s.size() - 1;
    while (i < end) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '\\') {
            if (i + 1 >= end) return false;
            auto n = static_cast<unsigned char>(s[i + 1]);
            if (n < 32 || n > 126) return false;
            i += 2;
            continue;
        }
        if (c == '"') return false;
        if (c >= 0x80) {
            if (!utf8) return false;
            std::size_t n = smtpio::detail::utf8_sequence_length(s.substr(i, end - i));
            if (n == 0) return false;
            i += n;
            continue;
        }
        if (c < 32 || c > 126) return false;
        ++i;
    }
    return true;
}

// sub-domain = Let-dig [Ldh-str]; labels of at most 63 octets.  With UTF-8, a
// label may be a U-label (any well-formed UTF-8 beyond ASCII, RFC 6531 3.3).
inline bool is_domain_name(std::string_view s, bool utf8) noexcept {
    if (s.empty()) return false;
    std::size_t i = 0;
    while (true) {
        std::size_t j = s.find('.', i);
        std::string_view label = s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
        if (label.empty() || label.size() > 63) return false;
        bool ascii = smtpio::detail::is_ascii(label);
        if (ascii) {
            if (!is_alpha(label.front()) && !is_digit(label.front())) return false;
            if (!is_alpha(label.back()) && !is_digit(label.back())) return false;
            for (char c : label)
                if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
        } else {
            if (!utf8) return false;
            if (!smtpio::detail::is_valid_utf8(label)) return false;
            for (char c : label) {
                if (static_cast<unsigned char>(c) < 0x80 && !is_alpha(c) && !is_digit(c) && c != '-') return false;
            }
            if (label.front() == '-' || label.back() == '-') return false;
        }
        if (j == std::string_view::npos) return true;
        i = j + 1;
    }
}

inline bool is_address_literal(std::string_view s) noexcept {
    if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
    std::string_view inner = s.substr(1, s.size() - 2);
    if (inner.size() > 5 && iequals(inner.substr(0, 5), "IPv6:")) return is_ipv6_address(inner.substr(5));
    return is_ipv4_address(inner);
}

} // namespace detail

inline std::error_code check_no_controls(std::string_view s) noexcept {
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) return errc::control_character;
    }
    return {};
}

inline bool is_ipv4_address(std::string_view s) noexcept {
    int parts = 0;
    std::size_t i = 0;
    while (true) {
        std::size_t start = i;
        unsigned v = 0;
        while (i < s.size() && detail::is_digit(s[i]) && i - start < 3) v = v * 10 + static_cast<unsigned>(s[i++] - '0');
        std::size_t n = i - start;
        if (n == 0 || v > 255 || (n > 1 && s[start] == '0')) return false;
        ++parts;
        if (i == s.size()) return parts == 4;
        if (s[i] != '.' || parts == 4) return false;
        ++i;
    }
}

inline bool is_ipv6_address(std::string_view s) noexcept {
    // Counts 16-bit groups; "::" may stand for one or more zero groups, once.
    if (s.empty()) return false;
    int groups = 0;
    bool compressed = false;
    std::size_t i = 0;
    if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
        compressed = true;
        i = 2;
        if (i == s.size()) return true; // "::"
    } else if (s[0] == ':') {
        return false;
    }
    while (i < s.size()) {
        // An embedded IPv4 address ends the address.
        std::size_t dot = s.find('.', i);
        std::size_t colon = s.find(':', i);
        if (dot != std::string_view::npos && (colon == std::string_view::npos || dot < colon)) {
            if (!is_ipv4_address(s.substr(i))) return false;
            groups += 2;
            i = s.size();
            break;
        }
        std::size_t start = i;
        while (i < s.size() && detail::is_hex(s[i]) && i - start < 5) ++i;
        std::size_t n = i - start;
        if (n == 0 || n > 4) return false;
        ++groups;
        if (i == s.size()) break;
        if (s[i] != ':') return false;
        ++i;
        if (i < s.size() && s[i] == ':') {
            if (compressed) return false;
            compressed = true;
            ++i;
            if (i == s.size()) break;
        } else if (i == s.size()) {
            return false; // trailing single colon
        }
    }
    return compressed ? groups <= 7 : groups == 8;
}

inline bool needs_quoting(std::string_view local, bool allow_utf8) noexcept {
    return !detail::is_dot_string(local, allow_utf8);
}

inline std::error_code validate_domain(std::string_view d, bool allow_utf8) noexcept {
    if (auto ec = check_no_controls(d)) return ec;
    if (d.size() > max_domain_length) return errc::domain_too_long;
    if (!d.empty() && d.front() == '[') return detail::is_address_literal(d) ? std::error_code{} : make_error_code(errc::invalid_domain);
    if (!smtpio::detail::is_ascii(d)) {
        if (!smtpio::detail::is_valid_utf8(d)) return errc::invalid_utf8;
        if (!allow_utf8) return errc::utf8_not_requested;
    }
    return detail::is_domain_name(d, allow_utf8) ? std::error_code{} : make_error_code(errc::invalid_domain);
}

inline std::error_code validate_mailbox(std::string_view m, bool allow_utf8) noexcept {
    if (auto ec = check_no_controls(m)) return ec;
    if (!smtpio::detail::is_ascii(m)) {
        if (!smtpio::detail::is_valid_utf8(m)) return errc::invalid_utf8;
        if (!allow_utf8) return errc::utf8_not_requested;
    }
    if (m.size() + 2 > max_path_length) return errc::path_too_long;
    // The domain starts after the last "@" outside a quoted local part.
    std::size_t at = m.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == m.size()) return errc::invalid_address;
    std::string_view local = m.substr(0, at), domain = m.substr(at + 1);
    if (local.size() > max_local_part_length) return errc::local_part_too_long;
    if (!detail::is_dot_string(local, allow_utf8) && !detail::is_quoted_string(local, allow_utf8))
        return errc::invalid_address;
    return validate_domain(domain, allow_utf8);
}

inline std::error_code validate_reverse_path(std::string_view p, bool allow_utf8) noexcept {
    if (p.empty()) return {};
    return validate_mailbox(p, allow_utf8);
}

inline std::error_code validate_forward_path(std::string_view p, bool allow_utf8) noexcept {
    if (iequals(p, "postmaster")) return {};
    if (p.empty()) return errc::invalid_address;
    return validate_mailbox(p, allow_utf8);
}

inline std::error_code validate_helo_name(std::string_view n) noexcept {
    if (auto ec = check_no_controls(n)) return ec;
    if (n.empty() || n.size() > max_domain_length) return errc::invalid_helo_name;
    if (n.front() == '[') return detail::is_address_literal(n) ? std::error_code{} : make_error_code(errc::invalid_helo_name);
    return detail::is_domain_name(n, false) ? std::error_code{} : make_error_code(errc::invalid_helo_name);
}

} // namespace smtpio::proto

#endif // SMTPIO_PROTO_IMPL_ADDRESS_HPP
