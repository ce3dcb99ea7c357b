//
// smtpio/proto/impl/data_encoder.hpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_IMPL_DATA_ENCODER_HPP
#define SMTPIO_PROTO_IMPL_DATA_ENCODER_HPP

#include <cstdint>
#include <cstring>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define SMTPIO_HAVE_SSE2 1
#endif
#if defined(SMTPIO_HAVE_SSE2) && (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define SMTPIO_HAVE_AVX2_DISPATCH 1 // compiled for any x86 CPU, used when the CPU has AVX2
#endif

namespace smtpio::proto {
namespace detail {

inline bool is_special(unsigned char c) noexcept { return c == '\r' || c == '\n' || c == 0; }

// The result of one `encode_run`.
struct run_result {
    std::size_t in = 0;       // input octets consumed
    std::size_t out = 0;      // output octets produced
    std::size_t line_out = 0; // output offset where the current line begins (0: before this run)
};

// The encoder's fast path: encodes from p, a block at a time, and stops at the
// first octet that needs the caller (or at the end): a NUL, a line end that
// ends a line longer than `max_line` (0: no limit), a CR that is the last
// octet (is a LF next?), a line end that is last when `stuff` (does the next
// line start with "."?), or a CR, LF or NUL in the last block-size octets.
//
// Text is copied a block at a time; a CRLF that needs no change is copied with
// the text around it; a bare CR or bare LF becomes CRLF and, when `stuff`, a
// line that starts with "." gets another one (RFC 5321 4.5.2), after which the
// copy goes on from the next line.  The line at p must have been started by the
// caller (its dot-stuffing done), and p must not be a LF that ends a CRLF.
// `line_len` is the length of the current line at p on entry and at the stop on
// return.  Writes at most 2 octets per input octet, and may store octets of a
// block past the produced ones, within o[0, 2 * (end - p)).  ORs the high bits
// of the consumed octets into `high`.
//
// One loop over 64-octet blocks, as four SSE2 or two AVX2 vectors (a block
// that usually holds one line end keeps the branches predictable):
// LOAD_STORE_MASKS loads the block at p, stores it at o, and sets the 64-bit
// `mask` (CR, LF, NUL) and `hi` (octets above 0x7F).
#define SMTPIO_DETAIL_ENCODE_RUN_BODY(WIDTH, LOAD_STORE_MASKS)                                                 \
    const char* const start = p;                                                                               \
    char* const out0 = o;                                                                                      \
    const char* line_begin = p; /* line_len counts the octets of the line before line_begin */                \
    char* line_out = o;                                                                                        \
    while (end - p >= (WIDTH)) {                                                                               \
        std::uint64_t mask, hi;                                                                                \
        LOAD_STORE_MASKS                                                                                       \
        if (mask == 0) {                                                                                       \
            high |= hi;                                                                                        \
            p += (WIDTH);                                                                                      \
            o += (WIDTH);                                                                                      \
            continue;                                                                                          \
        }                                                                                                      \
        const char* next = p + (WIDTH); /* where the next block starts, in and out */                          \
        char* onext = o + (WIDTH);                                                                             \
        bool aligned = true;            /* the stored block is still the output */                            \
        while (mask != 0) {                                                                                    \
            unsigned k = static_cast<unsigned>(__builtin_ctzll(mask));                                         \
            const char* q = p + k;                                                                             \
            char* oq = o + k;                                                                                  \
            std::size_t len = line_len + static_cast<std::size_t>(q - line_begin);                             \
            std::size_t eol = 1;                                                                               \
            bool stop = *q == '\0' || (max_line != 0 && len > max_line);                                        \
            if (!stop && *q == '\r') {                                                                         \
                if (end - q < 2) stop = true;                                                                  \
                else if (q[1] == '\n') eol = 2;                                                                \
            }                                                                                                  \
            const char* nl = q + eol; /* the next line */                                                      \
            if (!stop && stuff && nl == end) stop = true;                                                      \
            if (stop) {                                                                                        \
                high |= hi & ((std::uint64_t{1} << k) - 1u);                                                   \
                line_len = len;                                                                                \
                return {static_cast<std::size_t>(q - start), static_cast<std::size_t>(oq - out0),              \
                        static_cast<std::size_t>(line_out - out0)};                                            \
            }                                                                                                  \
            bool dot = stuff && *nl == '.';                                                                    \
            oq[0] = '\r';                                                                                      \
            oq[1] = '\n';                                                                                      \
            if (dot) oq[2] = '.';                                                                              \
            line_len = 0;                                                                                      \
            line_begin = nl;                                                                                   \
            line_out = oq + 2;                                                                                 \
            if (eol == 2 && !dot) {                                                                            \
                /* A CRLF the wire takes as is: the block's store holds it. */                                 \
                mask &= ~(std::uint64_t{3} << k);                                                              \
                if (nl > next) { /* its LF began the next block */                                             \
                    next = nl;                                                                                 \
                    onext = oq + 2;                                                                            \
                }                                                                                              \
                continue;                                                                                      \
            }                                                                                                  \
            /* A CR or LF became CRLF, or a dot was added: go on from the next line. */                        \
            high |= hi & ((std::uint64_t{1} << k) - 1u);                                                       \
            next = nl;                                                                                         \
            onext = oq + (dot ? 3 : 2);                                                                        \
            aligned = false;                                                                                   \
            break;                                                                                             \
        }                                                                                                      \
        if (aligned) high |= hi;                                                                               \
        p = next;                                                                                              \
        o = onext;                                                                                             \
    }                                                                                                          \
    while (p < end && !is_special(static_cast<unsigned char>(*p))) {                                          \
        high |= static_cast<unsigned char>(*p) & 0x80u;                                                        \
        *o++ = *p++;                                                                                           \
    }                                                                                                          \
    line_len += static_cast<std::size_t>(p - line_begin);                                                     \
    return {static_cast<std::size_t>(p - start), static_cast<std::size_t>(o - out0),                          \
            static_cast<std::size_t>(line_out - out0)};

inline run_result encode_run_sse2(const char* p, const char* end, char* o, std::uint64_t& high, std::size_t& line_len,
                                  std::size_t max_line, bool stuff) noexcept {
#ifdef SMTPIO_HAVE_SSE2
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    SMTPIO_DETAIL_ENCODE_RUN_BODY(64, {
        mask = hi = 0;
        for (unsigned i = 0; i < 64; i += 16) {
            __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(o + i), v);
            __m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)), _mm_cmpeq_epi8(v, zero));
            mask |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(sp))) << i;
            hi |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(v))) << i;
        }
    })
#else
    // No SIMD: copy up to the next CR, LF or NUL; the caller handles it.
    (void)max_line;
    (void)stuff;
    const char* const start = p;
    char* const out0 = o;
    while (p < end && !is_special(static_cast<unsigned char>(*p))) {
        high |= static_cast<unsigned char>(*p) & 0x80u;
        *o++ = *p++;
    }
    line_len += static_cast<std::size_t>(p - start);
    return {static_cast<std::size_t>(p - start), static_cast<std::size_t>(o - out0), 0};
#endif
}

#ifdef SMTPIO_HAVE_AVX2_DISPATCH
__attribute__((target("avx2"))) inline run_result encode_run_avx2(const char* p, const char* end, char* o, std::uint64_t& high,
                                                                  std::size_t& line_len, std::size_t max_line,
                                                                  bool stuff) noexcept {
    const __m256i cr = _mm256_set1_epi8('\r'), lf = _mm256_set1_epi8('\n'), zero = _mm256_setzero_si256();
    SMTPIO_DETAIL_ENCODE_RUN_BODY(64, {
        __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), v0);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 32), v1);
        __m256i s0 = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v0, cr), _mm256_cmpeq_epi8(v0, lf)),
                                     _mm256_cmpeq_epi8(v0, zero));
        __m256i s1 = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v1, cr), _mm256_cmpeq_epi8(v1, lf)),
                                     _mm256_cmpeq_epi8(v1, zero));
        mask = static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_epi8(s0))) |
               static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_epi8(s1))) << 32;
        hi = static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_epi8(v0))) |
             static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_epi8(v1))) << 32;
    })
}

// True when the CPU running the program has AVX2 (asked once).
inline bool cpu_has_avx2() noexcept {
    static const bool yes = __builtin_cpu_supports("avx2") != 0;
    return yes;
}
#endif

#undef SMTPIO_DETAIL_ENCODE_RUN_BODY

inline run_result encode_run(const char* p, const char* end, char* o, std::uint64_t& high, std::size_t& line_len,
                             std::size_t max_line, bool stuff) noexcept {
#ifdef SMTPIO_HAVE_AVX2_DISPATCH
    if (cpu_has_avx2()) return encode_run_avx2(p, end, o, high, line_len, max_line, stuff);
#endif
    return encode_run_sse2(p, end, o, high, line_len, max_line, stuff);
}

// The body scanner's state while it reads one chunk.
struct scan_state {
    const char* end;
    const char* line_begin;      // where the current line begins in the chunk
    std::size_t carry;           // octets of the current line before line_begin (earlier chunks)
    std::uint64_t normalised;    // octets of the completed lines, with CRLF line ends
    std::size_t longest;
    bool skip_lf;                // the chunk ended with a CR: a LF next belongs to it
    bool bare = false;           // a CR or LF not part of a CRLF
    bool dot = false;            // a line (after the first) begins with "."

    // A CR or LF at q ends a line (CRLF on the wire); a CR takes the LF right
    // after it along.  Returns where the next line begins.
    const char* at_line_end(const char* q) noexcept {
        std::size_t len = carry + static_cast<std::size_t>(q - line_begin);
        if (len > longest) longest = len;
        normalised += len + 2;
        carry = 0;
        const char* next = q + 1;
        if (*q == '\r') {
            if (q + 1 == end) {
                skip_lf = true;
                return end;
            }
            if (q[1] == '\n') next = q + 2;
            else bare = true;
        } else {
            bare = true; // a LF here never follows its CR: those are skipped
        }
        if (next < end && *next == '.') dot = true;
        return next;
    }
};

// Scans 64-octet blocks from p for line ends, as four SSE2 or two AVX2 vectors;
// returns where it stopped (fewer than 64 octets before the end).  ORs into
// `high` and `nul` whether octets above 0x7F or NULs occur.  LOAD_MASKS loads
// the block at p and sets `mask` (CR, LF), `hi` and `nz`.
#define SMTPIO_DETAIL_SCAN_BODY(LOAD_MASKS)                                                                    \
    std::uint64_t any_high = 0, any_nul = 0;                                                                   \
    while (st.end - p >= 64) {                                                                                 \
        std::uint64_t mask, hi, nz;                                                                            \
        LOAD_MASKS                                                                                             \
        any_high |= hi;                                                                                        \
        any_nul |= nz;                                                                                         \
        const char* next = p + 64;                                                                             \
        while (mask != 0) {                                                                                    \
            const char* q = p + __builtin_ctzll(mask);                                                         \
            mask &= mask - 1;                                                                                  \
            if (q < st.line_begin) continue; /* the LF of a CRLF, taken with its CR */                         \
            st.line_begin = st.at_line_end(q);                                                                 \
            if (st.line_begin > next) next = st.line_begin; /* a CRLF across blocks */                         \
        }                                                                                                      \
        p = next;                                                                                              \
    }                                                                                                          \
    high = high || any_high != 0;                                                                              \
    nul = nul || any_nul != 0;                                                                                 \
    return p;

inline const char* scan_blocks_sse2(const char* p, scan_state& st, bool& high, bool& nul) noexcept {
#ifdef SMTPIO_HAVE_SSE2
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    SMTPIO_DETAIL_SCAN_BODY({
        mask = hi = nz = 0;
        for (unsigned i = 0; i < 64; i += 16) {
            __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
            auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf))));
            mask |= static_cast<std::uint64_t>(m) << i;
            hi |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(v))) << i;
            nz |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)))) << i;
        }
    })
#else
    (void)st;
    (void)high;
    (void)nul;
    return p;
#endif
}

#ifdef SMTPIO_HAVE_AVX2_DISPATCH
__attribute__((target("avx2"))) inline const char* scan_blocks_avx2(const char* p, scan_state& st, bool& high,
                                                                    bool& nul) noexcept {
    const __m256i cr = _mm256_set1_epi8('\r'), lf = _mm256_set1_epi8('\n'), zero = _mm256_setzero_si256();
    SMTPIO_DETAIL_SCAN_BODY({
        __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
        auto m0 = static_cast<unsigned>(_mm256_movemask_epi8(_mm256_or_si256(_mm256_cmpeq_epi8(v0, cr), _mm256_cmpeq_epi8(v0, lf))));
        auto m1 = static_cast<unsigned>(_mm256_movemask_epi8(_mm256_or_si256(_mm256_cmpeq_epi8(v1, cr), _mm256_cmpeq_epi8(v1, lf))));
        mask = static_cast<std::uint64_t>(m0) | static_cast<std::uint64_t>(m1) << 32;
        hi = static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_epi8(v0))) |
             static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_epi8(v1))) << 32;
        nz = static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v0, zero)))) |
             static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v1, zero)))) << 32;
    })
}
#endif

#undef SMTPIO_DETAIL_SCAN_BODY

inline const char* scan_blocks(const char* p, scan_state& st, bool& high, bool& nul) noexcept {
#ifdef SMTPIO_HAVE_AVX2_DISPATCH
    if (cpu_has_avx2()) return scan_blocks_avx2(p, st, high, nul);
#endif
    return scan_blocks_sse2(p, st, high, nul);
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
    std::uint64_t high = 0;
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
        detail::run_result run = detail::encode_run(p, end, o, high, line_len_, max_line, stuff);
        p += run.in;
        if (max_line != 0 && line_len_ > max_line) {
            // Keep the complete lines before the one that is too long.
            o += run.line_out;
            ec = errc::body_line_too_long;
            break;
        }
        o += run.out;
        if (run.in != 0 && line_len_ == 0) line_start_ = true; // the run ended with a line end (chunked mode)
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
    const char* p = chunk.data();
    const char* const end = p + chunk.size();
    if (p == end) return;
    if (skip_lf_) {
        if (*p == '\n') ++p; // the LF of a CRLF cut between two chunks
        else f_.bare_line_end = true;
    }
    if (line_len_ == 0 && p < end && *p == '.') f_.dot_line = true; // a line begins in this chunk
    detail::scan_state st{end, p, line_len_, f_.normalised_size, f_.longest_line, false};
    p = detail::scan_blocks(p, st, f_.eight_bit, f_.has_nul);
    while (p < end) {
        auto c = static_cast<unsigned char>(*p);
        if (c == '\r' || c == '\n') {
            if (p >= st.line_begin) st.line_begin = st.at_line_end(p);
            p = st.line_begin > p ? st.line_begin : p + 1;
            continue;
        }
        if (c >= 0x80) f_.eight_bit = true;
        if (c == 0) f_.has_nul = true;
        ++p;
    }
    f_.normalised_size = st.normalised;
    f_.longest_line = st.longest;
    f_.bare_line_end = f_.bare_line_end || st.bare;
    f_.dot_line = f_.dot_line || st.dot;
    skip_lf_ = st.skip_lf;
    line_len_ = st.carry + static_cast<std::size_t>(end - st.line_begin);
}

inline body_facts body_scanner::facts() const noexcept {
    body_facts f = f_;
    if (line_len_ > f.longest_line) f.longest_line = line_len_;
    if (line_len_ > 0) f.normalised_size += line_len_ + 2; // the last line, with the CRLF finish() adds
    if (skip_lf_) f.bare_line_end = true;                   // it ends with a CR
    f.ends_with_line_end = line_len_ == 0 && !skip_lf_;
    return f;
}

} // namespace smtpio::proto

#endif // SMTPIO_PROTO_IMPL_DATA_ENCODER_HPP
