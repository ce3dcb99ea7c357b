//
// smtpio/proto/impl/data_encoder.hpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_IMPL_DATA_ENCODER_HPP
#define SMTPIO_PROTO_IMPL_DATA_ENCODER_HPP

#include <cstring>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define SMTPIO_HAVE_SSE2 1
#endif

namespace smtpio::proto {
namespace detail {

inline bool is_special(unsigned char c) noexcept { return c == '\r' || c == '\n' || c == 0; }

// Copies octets from p to o until the first CR, LF or NUL (or end), returning the
// number copied.  May store up to 15 octets past the copied run into o (the
// caller reserves slack).  ORs the high bits seen into `high`.
inline std::size_t copy_run(const char* p, const char* end, char* o, unsigned& high) noexcept {
    const char* start = p;
#ifdef SMTPIO_HAVE_SSE2
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)), _mm_cmpeq_epi8(v, zero));
        auto mask = static_cast<unsigned>(_mm_movemask_epi8(m));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o + (p - start)), v);
        if (mask != 0) {
            unsigned k = static_cast<unsigned>(__builtin_ctz(mask));
            high |= static_cast<unsigned>(_mm_movemask_epi8(v)) & ((1u << k) - 1u);
            return static_cast<std::size_t>(p - start) + k;
        }
        high |= static_cast<unsigned>(_mm_movemask_epi8(v));
        p += 16;
    }
#endif
    while (p < end && !is_special(static_cast<unsigned char>(*p))) {
        high |= static_cast<unsigned char>(*p) & 0x80u;
        o[p - start] = *p;
        ++p;
    }
    return static_cast<std::size_t>(p - start);
}

} // namespace detail

inline void data_encoder::reset() noexcept {
    line_start_ = true;
    skip_lf_ = false;
    eight_bit_ = false;
    line_len_ = 0;
    in_total_ = 0;
}

inline std::size_t data_encoder::encode(const char* in, std::size_t n, char* out, std::error_code& ec) noexcept {
    ec.clear();
    in_total_ += n;
    if (mode_ == encoding::binary) {
        std::memcpy(out, in, n);
        for (std::size_t i = 0; i < n && !eight_bit_; ++i)
            if (static_cast<unsigned char>(in[i]) >= 0x80) eight_bit_ = true;
        line_start_ = n == 0 ? line_start_ : in[n - 1] == '\n';
        return n;
    }
    const char* p = in;
    const char* end = in + n;
    char* o = out;
    const bool stuff = mode_ == encoding::dot_stuffed;
    const std::size_t max_line = limits_.max_line_length;
    unsigned high = 0;
    while (p < end) {
        if (skip_lf_) {
            // A CR ended the previous line; a LF right after it belongs to the same line end.
            skip_lf_ = false;
            if (*p == '\n') {
                ++p;
                continue;
            }
        }
        if (line_start_) {
            // RFC 5321 4.5.2: a line starting with "." gets one more.
            if (stuff && *p == '.') *o++ = '.';
            line_start_ = false;
        }
        std::size_t run = detail::copy_run(p, end, o, high);
        line_len_ += run;
        if (max_line != 0 && line_len_ > max_line) {
            ec = errc::body_line_too_long;
            break;
        }
        o += run;
        p += run;
        if (p == end) break;
        unsigned char c = static_cast<unsigned char>(*p++);
        if (c == 0) {
            ec = errc::body_contains_nul;
            break;
        }
        // CR or LF: either is a line end; every one becomes CRLF.
        *o++ = '\r';
        *o++ = '\n';
        line_len_ = 0;
        line_start_ = true;
        skip_lf_ = c == '\r';
    }
    if (high) eight_bit_ = true;
    return static_cast<std::size_t>(o - out);
}

inline std::error_code data_encoder::encode(std::string_view in, buffer& out) {
    std::error_code ec;
    char* o = out.prepare(max_output(in.size()));
    out.commit(encode(in.data(), in.size(), o, ec));
    return ec;
}

inline std::size_t data_encoder::finish(char* out) noexcept {
    char* o = out;
    if (mode_ == encoding::binary) return 0;
    if (!line_start_) {
        *o++ = '\r';
        *o++ = '\n';
        line_start_ = true;
        line_len_ = 0;
    }
    if (mode_ == encoding::dot_stuffed) {
        *o++ = '.';
        *o++ = '\r';
        *o++ = '\n';
    }
    skip_lf_ = false;
    return static_cast<std::size_t>(o - out);
}

inline void data_encoder::finish(buffer& out) { out.commit(finish(out.prepare(8))); }

inline void body_scanner::scan(std::string_view chunk) noexcept {
    for (std::size_t i = 0; i < chunk.size(); ++i) {
        auto c = static_cast<unsigned char>(chunk[i]);
        any_ = true;
        if (skip_lf_) {
            skip_lf_ = false;
            if (c == '\n') continue;
        }
        if (c == '\r' || c == '\n') {
            f_.normalised_size += 2;
            if (line_len_ > f_.longest_line) f_.longest_line = line_len_;
            line_len_ = 0;
            line_start_ = true;
            skip_lf_ = c == '\r';
            continue;
        }
        line_start_ = false;
        if (c == 0) f_.has_nul = true;
        if (c >= 0x80) f_.eight_bit = true;
        ++line_len_;
        ++f_.normalised_size;
    }
}

inline body_facts body_scanner::facts() const noexcept {
    body_facts f = f_;
    if (line_len_ > f.longest_line) f.longest_line = line_len_;
    if (!line_start_) f.normalised_size += 2; // the CRLF finish() adds
    return f;
}

} // namespace smtpio::proto

#endif // SMTPIO_PROTO_IMPL_DATA_ENCODER_HPP
