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

#include <cstddef>
#include <string_view>

namespace smtpio::proto {
namespace detail {

constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Octet classes for one table look-up per octet instead of a chain of compares.
// Only ASCII octets have a class; every octet >= 0x80 and every control has none.
enum char_class : unsigned char {
    cc_atext = 1,   // atext (RFC 5322 3.2.3): ALPHA / DIGIT / "!#$%&'*+-/=?^_`{|}~"
    cc_ldh = 2,     // Let-dig / "-" (RFC 5321 4.1.2 Ldh-str)
    cc_let_dig = 4, // ALPHA / DIGIT (RFC 5321 4.1.2 Let-dig)
};

struct char_class_table {
    unsigned char v[256];
};

constexpr char_class_table make_char_classes() noexcept {
    char_class_table t{};
    for (int i = 0; i < 128; ++i) {
        char c = static_cast<char>(i);
        unsigned k = 0;
        if (is_alpha(c) || is_digit(c)) k |= cc_atext | cc_ldh | cc_let_dig;
        if (c == '-') k |= cc_ldh;
        t.v[i] = static_cast<unsigned char>(k);
    }
    for (char c : std::string_view("!#$%&'*+-/=?^_`{|}~"))
        t.v[static_cast<unsigned char>(c)] = static_cast<unsigned char>(t.v[static_cast<unsigned char>(c)] | cc_atext);
    return t;
}

inline constexpr char_class_table char_classes = make_char_classes();

constexpr unsigned char_class_of(char c) noexcept { return char_classes.v[static_cast<unsigned char>(c)]; }

// atext (RFC 5322 3.2.3): ALPHA / DIGIT / "!#$%&'*+-/=?^_`{|}~"
constexpr bool is_atext(char c) noexcept { return (char_class_of(c) & cc_atext) != 0; }

// The fast paths below walk a string once, one table look-up per octet, four
// octets per step while four remain.  They index from the end with a negative
// offset, so that the bound is zero.

// The index of the first octet from end[i] on (i <= 0) whose class has none of
// the bits of `mask`, or 0 when every octet up to the end has one.
inline std::ptrdiff_t skip_class(const char* end, std::ptrdiff_t i, unsigned mask) noexcept {
    for (; i <= -4; i += 4) {
        if (!(char_class_of(end[i]) & mask)) return i;
        if (!(char_class_of(end[i + 1]) & mask)) return i + 1;
        if (!(char_class_of(end[i + 2]) & mask)) return i + 2;
        if (!(char_class_of(end[i + 3]) & mask)) return i + 3;
    }
    for (; i != 0; ++i)
        if (!(char_class_of(end[i]) & mask)) return i;
    return 0;
}

// The common domain: ASCII sub-domains of 1-63 octets, each Let-dig [Ldh-str]
// (RFC 5321 4.1.2; RFC 1035 2.3.4), joined by single dots.  True only for names
// that is_domain_name() accepts too, in either mode; false says nothing (the
// name may be valid with U-labels, or not valid).
inline bool is_ldh_domain(const char* p, const char* end) noexcept {
    std::ptrdiff_t i = p - end;
    for (;;) {
        const std::ptrdiff_t label = i;
        i = skip_class(end, i, cc_ldh);
        // [label, i) holds only Let-dig and "-": 1-63 of them, "-" at neither end.
        if (i == label || i - label > 63 || end[label] == '-' || end[i - 1] == '-') return false;
        if (i == 0) return true;
        if (end[i] != '.') return false;
        ++i;
    }
}

// The common mailbox: Atom *("." Atom) "@" Domain with an ASCII local part of at
// most 64 octets and an is_ldh_domain() domain, within max_path_length with the
// brackets.  True only for mailboxes that the full validation accepts (the one
// "@" is then also the last one); false says nothing.
inline bool is_plain_mailbox(std::string_view m) noexcept {
    if (m.size() > max_path_length - 2) return false;
    const char* end = m.data() + m.size();
    const std::ptrdiff_t begin = -static_cast<std::ptrdiff_t>(m.size());
    std::ptrdiff_t i = begin;
    for (;;) {
        const std::ptrdiff_t atom = i;
        i = skip_class(end, i, cc_atext);
        // An empty atom is a leading, doubled or trailing dot, or no local part.
        if (i == atom || i == 0) return false;
        if (end[i] == '@') break;
        if (end[i] != '.') return false;
        ++i;
    }
    if (i - begin > static_cast<std::ptrdiff_t>(max_local_part_length)) return false;
    return is_ldh_domain(end + i + 1, end);
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

// is_domain_name() without its fast path.
inline bool is_domain_name_full(std::string_view s, bool utf8) noexcept {
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

// sub-domain = Let-dig [Ldh-str]; labels of at most 63 octets.  With UTF-8, a
// label may be a U-label (any well-formed UTF-8 beyond ASCII, RFC 6531 3.3).
inline bool is_domain_name(std::string_view s, bool utf8) noexcept {
    return is_ldh_domain(s.data(), s.data() + s.size()) || is_domain_name_full(s, utf8);
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

namespace detail {
// validate_domain() without its fast path.
inline std::error_code validate_domain_full(std::string_view d, bool allow_utf8) noexcept {
    if (auto ec = check_no_controls(d)) return ec;
    if (d.size() > max_domain_length) return errc::domain_too_long;
    if (!d.empty() && d.front() == '[') return detail::is_address_literal(d) ? std::error_code{} : make_error_code(errc::invalid_domain);
    if (!smtpio::detail::is_ascii(d)) {
        if (!smtpio::detail::is_valid_utf8(d)) return errc::invalid_utf8;
        if (!allow_utf8) return errc::utf8_not_requested;
    }
    return detail::is_domain_name_full(d, allow_utf8) ? std::error_code{} : make_error_code(errc::invalid_domain);
}
} // namespace detail

inline std::error_code validate_domain(std::string_view d, bool allow_utf8) noexcept {
    // Fast path: a plain LDH name is valid; anything else takes the full checks,
    // which choose the error.
    if (d.size() <= max_domain_length && detail::is_ldh_domain(d.data(), d.data() + d.size())) return {};
    return detail::validate_domain_full(d, allow_utf8);
}

namespace detail {
// validate_mailbox() without its fast path.
inline std::error_code validate_mailbox_full(std::string_view m, bool allow_utf8) noexcept {
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
} // namespace detail

inline std::error_code validate_mailbox(std::string_view m, bool allow_utf8) noexcept {
    // Fast path: most mailboxes are ASCII dot-atoms at LDH domains, checked in
    // one pass.  Anything else (quoted local parts, UTF-8, address literals,
    // invalid input) takes the full checks, which choose the error.
    if (detail::is_plain_mailbox(m)) return {};
    return detail::validate_mailbox_full(m, allow_utf8);
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

namespace detail {
// validate_helo_name() without its fast path.
inline std::error_code validate_helo_name_full(std::string_view n) noexcept {
    if (auto ec = check_no_controls(n)) return ec;
    if (n.empty() || n.size() > max_domain_length) return errc::invalid_helo_name;
    if (n.front() == '[') return detail::is_address_literal(n) ? std::error_code{} : make_error_code(errc::invalid_helo_name);
    return detail::is_domain_name_full(n, false) ? std::error_code{} : make_error_code(errc::invalid_helo_name);
}
} // namespace detail

inline std::error_code validate_helo_name(std::string_view n) noexcept {
    // Fast path: a plain LDH name (ASCII by construction) is valid.
    if (n.size() <= max_domain_length && detail::is_ldh_domain(n.data(), n.data() + n.size())) return {};
    return detail::validate_helo_name_full(n);
}

} // namespace smtpio::proto

#endif // SMTPIO_PROTO_IMPL_ADDRESS_HPP
