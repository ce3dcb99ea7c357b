//
// smtpio/tls/impl/idna.hpp -- definitions for smtpio/tls/idna.hpp.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_IMPL_IDNA_HPP
#define SMTPIO_TLS_IMPL_IDNA_HPP

#include <smtpio/error.hpp>
#include <smtpio/tls/types.hpp>

#include <asio/ip/address.hpp>

#include <cstdint>
#include <limits>

namespace smtpio::tls {
namespace detail::punycode {

// Parameter values for Punycode (RFC 3492 section 5).
inline constexpr std::uint32_t base = 36;
inline constexpr std::uint32_t tmin = 1;
inline constexpr std::uint32_t tmax = 26;
inline constexpr std::uint32_t skew = 38;
inline constexpr std::uint32_t damp = 700;
inline constexpr std::uint32_t initial_bias = 72;
inline constexpr std::uint32_t initial_n = 0x80;

// Bias adaptation (RFC 3492 section 6.1).
constexpr std::uint32_t adapt(std::uint32_t delta, std::uint32_t numpoints, bool firsttime) noexcept {
    delta = firsttime ? delta / damp : delta / 2;
    delta += delta / numpoints;
    std::uint32_t k = 0;
    while (delta > ((base - tmin) * tmax) / 2) {
        delta /= base - tmin;
        k += base;
    }
    return k + (((base - tmin + 1) * delta) / (delta + skew));
}

constexpr char encode_digit(std::uint32_t d) noexcept {
    // 0..25 -> "a".."z", 26..35 -> "0".."9" (RFC 3492 section 5).
    return d < 26 ? static_cast<char>('a' + d) : static_cast<char>('0' + (d - 26));
}

} // namespace detail::punycode

inline std::optional<std::string> punycode_encode(std::u32string_view input) {
    using namespace detail::punycode;
    constexpr std::uint32_t maxint = std::numeric_limits<std::uint32_t>::max();
    if (input.size() >= maxint) return std::nullopt;
    std::string out;
    for (char32_t c : input) {
        if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return std::nullopt;
        if (c < 0x80) out.push_back(static_cast<char>(c));
    }
    const auto b = static_cast<std::uint32_t>(out.size());
    std::uint32_t h = b;
    if (b > 0) out.push_back('-');

    // Encoding procedure (RFC 3492 section 6.3), with the overflow checks of 6.4.
    std::uint32_t n = initial_n;
    std::uint32_t delta = 0;
    std::uint32_t bias = initial_bias;
    const auto length = static_cast<std::uint32_t>(input.size());
    while (h < length) {
        std::uint32_t m = maxint;
        for (char32_t c : input)
            if (static_cast<std::uint32_t>(c) >= n && static_cast<std::uint32_t>(c) < m) m = static_cast<std::uint32_t>(c);
        if (m - n > (maxint - delta) / (h + 1)) return std::nullopt;
        delta += (m - n) * (h + 1);
        n = m;
        for (char32_t ch : input) {
            const auto c = static_cast<std::uint32_t>(ch);
            if (c < n) {
                if (delta == maxint) return std::nullopt;
                ++delta;
            }
            if (c == n) {
                std::uint32_t q = delta;
                for (std::uint32_t k = base;; k += base) {
                    const std::uint32_t t = k <= bias ? tmin : (k >= bias + tmax ? tmax : k - bias);
                    if (q < t) break;
                    out.push_back(encode_digit(t + (q - t) % (base - t)));
                    q = (q - t) / (base - t);
                }
                out.push_back(encode_digit(q));
                bias = adapt(delta, h + 1, h == b);
                delta = 0;
                ++h;
            }
        }
        if (delta == maxint || n == maxint) return std::nullopt;
        ++delta;
        ++n;
    }
    return out;
}

inline std::optional<std::u32string> utf8_decode(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        if (b0 < 0x80) {
            out.push_back(b0);
            ++i;
            continue;
        }
        std::size_t len = 0;
        char32_t cp = 0;
        char32_t min = 0;
        if ((b0 & 0xE0) == 0xC0) { len = 2; cp = b0 & 0x1Fu; min = 0x80; }
        else if ((b0 & 0xF0) == 0xE0) { len = 3; cp = b0 & 0x0Fu; min = 0x800; }
        else if ((b0 & 0xF8) == 0xF0) { len = 4; cp = b0 & 0x07u; min = 0x10000; }
        else return std::nullopt;
        if (i + len > s.size()) return std::nullopt;
        for (std::size_t k = 1; k < len; ++k) {
            const auto bk = static_cast<unsigned char>(s[i + k]);
            if ((bk & 0xC0) != 0x80) return std::nullopt;
            cp = (cp << 6) | (bk & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
        out.push_back(cp);
        i += len;
    }
    return out;
}

inline std::error_code to_ascii_domain(std::string_view domain, std::string& out) {
    out.clear();
    const auto cps = utf8_decode(domain);
    if (!cps) return make_error_code(errc::invalid_utf8);
    std::u32string name = *cps;
    for (auto& c : name)
        if (c == U'\u3002' || c == U'\uFF0E' || c == U'\uFF61') c = U'.';

    std::string result;
    std::u32string_view rest = name;
    if (!rest.empty() && rest.front() == U'.') {
        result.push_back('.');
        rest.remove_prefix(1);
    }
    if (!rest.empty() && rest.back() == U'.') rest.remove_suffix(1);
    if (rest.empty()) return make_error_code(errc::invalid_domain);

    while (true) {
        const auto dot = rest.find(U'.');
        std::u32string label(rest.substr(0, dot));
        if (label.empty()) return make_error_code(errc::invalid_domain);
        bool ascii = true;
        for (auto& c : label) {
            if (c < 0x80) {
                const auto a = static_cast<char>(c);
                const bool ok = (a >= 'a' && a <= 'z') || (a >= 'A' && a <= 'Z') || (a >= '0' && a <= '9') ||
                                a == '-' || a == '_';
                if (!ok) return make_error_code(errc::invalid_domain);
                c = static_cast<char32_t>(detail::ascii_lower(a));
            } else {
                if (c <= 0x9F) return make_error_code(errc::invalid_domain); // C1 controls
                ascii = false;
            }
        }
        std::string encoded;
        if (ascii) {
            for (char32_t c : label) encoded.push_back(static_cast<char>(c));
        } else {
            auto p = punycode_encode(label);
            if (!p) return make_error_code(errc::invalid_domain);
            encoded = "xn--" + *p;
        }
        if (encoded.size() > 63) return make_error_code(errc::invalid_domain);
        result += encoded;
        if (dot == std::u32string_view::npos) break;
        result.push_back('.');
        rest.remove_prefix(dot + 1);
    }
    if (result.size() > 253) return make_error_code(errc::domain_too_long);
    out = std::move(result);
    return {};
}

inline std::optional<std::string> ip_reference(std::string_view name) {
    if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
        name = name.substr(1, name.size() - 2);
        if (name.size() >= 5 && detail::iequals(name.substr(0, 5), "IPv6:")) {
            name.remove_prefix(5);
            if (name.find(':') == std::string_view::npos) return std::nullopt;
        }
    }
    if (name.empty() || name.size() > 64 || name.find('%') != std::string_view::npos) return std::nullopt;
    std::error_code ec;
    const auto addr = asio::ip::make_address(std::string(name), ec);
    if (ec) return std::nullopt;
    return addr.to_string();
}

} // namespace smtpio::tls

#endif // SMTPIO_TLS_IMPL_IDNA_HPP
