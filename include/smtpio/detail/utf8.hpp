//
// smtpio/detail/utf8.hpp -- UTF-8 well-formedness (RFC 3629), no allocation.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_DETAIL_UTF8_HPP
#define SMTPIO_DETAIL_UTF8_HPP

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace smtpio::detail {

// Length of the well-formed UTF-8 sequence at the start of s (1-4), or 0 when the
// octets there are not one (overlong forms, surrogates and values above U+10FFFF
// are rejected, per RFC 3629 section 4).
constexpr std::size_t utf8_sequence_length(std::string_view s) noexcept {
    if (s.empty()) return 0;
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    unsigned char c = b(0);
    if (c < 0x80) return 1;
    auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2)) return 0;
        if (c == 0xE0 && b(1) < 0xA0) return 0; // overlong
        if (c == 0xED && b(1) > 0x9F) return 0; // surrogates
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        if (c == 0xF0 && b(1) < 0x90) return 0; // overlong
        if (c == 0xF4 && b(1) > 0x8F) return 0; // above U+10FFFF
        return 4;
    }
    return 0;
}

// True when the whole string is well-formed UTF-8.
constexpr bool is_valid_utf8(std::string_view s) noexcept {
    while (!s.empty()) {
        std::size_t n = utf8_sequence_length(s);
        if (n == 0) return false;
        s.remove_prefix(n);
    }
    return true;
}

// True when every octet is ASCII (< 0x80).
constexpr bool is_ascii(std::string_view s) noexcept {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

// Decodes the code point of a well-formed sequence of length n (from utf8_sequence_length).
constexpr std::uint32_t utf8_decode(std::string_view s, std::size_t n) noexcept {
    auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i])); };
    switch (n) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    case 4: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    default: return 0;
    }
}

} // namespace smtpio::detail

#endif // SMTPIO_DETAIL_UTF8_HPP
