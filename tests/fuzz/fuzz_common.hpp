//
// tests/fuzz/fuzz_common.hpp -- helpers shared by smtpio's libFuzzer targets.
//
// Each target checks invariants, not only the absence of crashes: a broken
// invariant prints what was expected and aborts, so libFuzzer reports a crash
// and saves the input (see docs/fuzzing.md).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_FUZZ_COMMON_HPP
#define SMTPIO_FUZZ_COMMON_HPP

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace smtpio::fuzz {

/// Reports a broken invariant and aborts (libFuzzer saves the input).
[[noreturn]] inline void invariant_failed(const char* file, int line, const char* what, const std::string& detail) {
    std::fprintf(stderr, "\n%s:%d: invariant broken: %s\n", file, line, what);
    if (!detail.empty()) std::fprintf(stderr, "  %s\n", detail.c_str());
    std::fflush(stderr);
    std::abort();
}

/// `s` with every octet outside printable ASCII as \xHH, for messages.
inline std::string show(std::string_view s, std::size_t max = 400) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < max; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    if (s.size() > max) out += "...(" + std::to_string(s.size()) + " octets)";
    return out;
}

/// Splits `data` into pieces whose sizes `seed` decides: 0 gives one piece, 1
/// gives one octet per piece, any other value pseudo-random sizes from 1 to a
/// maximum that grows with the seed (up to several KiB), so that the fuzzer
/// explores the split points through one byte.
inline std::vector<std::string_view> split(std::string_view data, std::uint8_t seed) {
    std::vector<std::string_view> out;
    if (data.empty()) return out;
    if (seed == 0) {
        out.push_back(data);
        return out;
    }
    std::size_t max = seed < 128 ? seed : static_cast<std::size_t>(seed - 127) * 64;
    std::uint32_t x = 0x9e3779b9u ^ (static_cast<std::uint32_t>(seed) * 2654435761u);
    std::size_t pos = 0;
    while (pos < data.size()) {
        // xorshift32: deterministic, the same sizes for the same seed.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        std::size_t n = seed == 1 ? 1 : 1 + x % max;
        if (n > data.size() - pos) n = data.size() - pos;
        out.push_back(data.substr(pos, n));
        pos += n;
    }
    return out;
}

/// The input as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) noexcept {
    return {reinterpret_cast<const char*>(data), size};
}

} // namespace smtpio::fuzz

/// Checks an invariant; `detail` (a std::string expression) is evaluated only on failure.
#define SMTPIO_FUZZ_CHECK(cond, detail)                                                                          \
    do {                                                                                                         \
        if (!(cond)) ::smtpio::fuzz::invariant_failed(__FILE__, __LINE__, #cond, (detail));                    \
    } while (false)

#endif // SMTPIO_FUZZ_COMMON_HPP
