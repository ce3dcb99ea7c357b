//
// smtpio/proto/impl/data_encoder.hpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_IMPL_DATA_ENCODER_HPP
#define SMTPIO_PROTO_IMPL_DATA_ENCODER_HPP

#include <smtpio/detail/simd.hpp>

#include <cstdint>
#include <cstring>

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

// The body scanner's state while it reads one chunk.  Positions are offsets
// into the chunk.  `vlb` is where the current line begins, less the octets of
// it that earlier chunks held (modulo 2^N, so it may wrap below zero): a line
// that ends at offset q is q - vlb octets long, wherever it began.  Each CRLF
// moves `vlb` by exactly the octets it adds to the normalised size (the line
// and its CRLF), so ordinary text needs no other count; a bare CR or LF adds
// one octet more (it becomes CRLF), counted in `extra`.
struct scan_state {
    const char* base;            // the chunk
    std::size_t size;
    std::size_t vlb;
    std::uint64_t extra = 0;     // octets bare CRs and LFs add when they become CRLF
    std::size_t longest = 0;
    bool skip_lf = false;        // the chunk ended with a CR: a LF next belongs to it
    bool bare = false;           // a CR or LF not part of a CRLF
    bool dot = false;            // a line (after the first in the chunk) begins with "."
    bool high = false;           // an octet above 0x7F
    bool nul = false;            // a NUL
};

// The exact rules, for the CR, LF and NUL octets that `e` marks in the block at
// offset `at` (bit k: the octet at + k, which is in the chunk), in order.  A CR
// or LF ends a line (CRLF on the wire); a CR takes the LF right after it along,
// so a LF visited here never follows its CR.  The octet at `at` must not be a LF
// taken with an earlier CR.  Returns where the next block begins: at + 64, or
// one more when the block's last octet is a CR whose LF follows.
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline)) // kept out of the block loops, which call it rarely
#endif
inline std::size_t scan_visit(scan_state& st, std::size_t at, std::uint64_t e) noexcept {
    std::size_t next = at + 64;
    while (e != 0) {
        const std::size_t q = at + static_cast<unsigned>(__builtin_ctzll(e));
        e &= e - 1;
        const char c = st.base[q];
        if (c == '\0') {
            st.nul = true;
            continue;
        }
        const std::size_t len = q - st.vlb;
        if (len > st.longest) st.longest = len;
        std::size_t nl = q + 1; // where the next line begins
        if (c == '\r') {
            if (nl == st.size) { // the chunk's last octet: its LF may begin the next chunk
                st.skip_lf = true;
                ++st.extra;
                st.vlb = nl;
                return nl;
            }
            if (st.base[nl] == '\n') {
                ++nl;
                e &= e - 1; // the LF's bit, when it is in this block
                if (nl > next) next = nl;
            } else {
                st.bare = true;
            }
        } else {
            st.bare = true;
        }
        st.extra += q + 2 - nl; // 1 for a bare CR or LF, 0 for a CRLF
        st.vlb = nl;
        if (nl < st.size && st.base[nl] == '.') st.dot = true;
    }
    return next;
}

// Scans the chunk in 64-octet blocks from offset i to its end when it holds at
// least 64 octets (else returns i: scan_tail does the rest).  LOAD_MASK sets
// `e` for the 64 octets at `s`: a bit for each CR and LF (and NUL; or else NULs
// are found through vector accumulators), and gathers the 8-bit and NUL facts
// in vectors, which FINISH turns into st.high and st.nul and RESET clears.
// CTZ(x) is the index of the lowest set bit of x != 0.
//
// In text nearly every block holds no line end, or CRLF pairs only, and a few
// bit operations do for each pair (SMTPIO_DETAIL_SCAN_PAIRS): the CRLF at q
// ends a line of q - vlb octets (vlb as an address here), the next begins at
// q + 2 and is a dot line when the octet there is ".".  From the first other
// octet on (a bare CR or LF, a NUL) scan_visit does the block.  A CR as the
// block's last octet takes the LF after the block along; the next block then
// begins after that LF.  The last block is the chunk's last 64 octets, its
// bits for octets before i cleared.  `crlf` is "\r\n" read as a 16-bit integer
// on x86 (little-endian).
//
// SMTPIO_DETAIL_SCAN_PAIRS(CTZ, TAIL) takes the CRLF pairs from the bottom of
// `e` (not empty) until it meets another octet.  The octet after the block can
// be read, unless TAIL: then the block ends the chunk, so it stops at the last
// octet and looks for a dot only before the end.
#define SMTPIO_DETAIL_SCAN_PAIRS(CTZ, TAIL)                                                                    \
    do {                                                                                                       \
        const char* const q = s + CTZ(e);                                                                      \
        if ((TAIL) && q + 1 == end) break;                                                                     \
        std::uint16_t pair;                                                                                    \
        std::memcpy(&pair, q, 2);                                                                              \
        if (__builtin_expect(pair != crlf, 0)) break;                                                          \
        const std::size_t len = reinterpret_cast<std::uintptr_t>(q) - vlb;                                     \
        longest = len > longest ? len : longest;                                                               \
        vlb = reinterpret_cast<std::uintptr_t>(q) + 2;                                                         \
        if ((!(TAIL) || q + 2 != end) && __builtin_expect(q[2] == '.', 0)) st.dot = true;                      \
        e &= e - 1;                                                                                            \
        e &= e - 1; /* its LF */                                                                               \
    } while (e != 0);

#define SMTPIO_DETAIL_SCAN_BODY(LOAD_MASK, CTZ, FINISH, RESET)                                                 \
    const char* const base = st.base;                                                                          \
    const std::size_t size = st.size;                                                                          \
    if (size < 64) return i;                                                                                   \
    const char* const end = base + size;                                                                       \
    constexpr std::uint16_t crlf = 0x0a0d;                                                                     \
    const auto base_at = reinterpret_cast<std::uintptr_t>(base);                                               \
    std::uintptr_t vlb = base_at + st.vlb; /* st.vlb as an address (modulo 2^N too) */                         \
    std::size_t longest = st.longest;                                                                          \
    std::uint64_t e;                                                                                           \
    const char* s = base + i;                                                                                  \
    if (size - i >= 65) {                                                                                      \
        const char* const last = end - 65; /* the last block with an octet after it */                         \
        do {                                                                                                   \
            LOAD_MASK                                                                                          \
            if (e == 0) {                                                                                      \
                s += 64;                                                                                       \
                continue;                                                                                      \
            }                                                                                                  \
            if (__builtin_expect((e >> 63) == 0, 1)) {                                                         \
                SMTPIO_DETAIL_SCAN_PAIRS(CTZ, false)                                                           \
            } else if (s[63] != '\r') { /* a LF last: the CRLF before it is a pair */                          \
                SMTPIO_DETAIL_SCAN_PAIRS(CTZ, false)                                                           \
            } else { /* a CR last (rare): its LF, if any, begins the next block */                             \
                e &= ~(std::uint64_t{1} << 63);                                                                \
                if (e != 0) SMTPIO_DETAIL_SCAN_PAIRS(CTZ, false)                                               \
                if (e == 0 && s[64] == '\n' && s < last) {                                                     \
                    const char* const q = s + 63;                                                              \
                    const std::size_t len = reinterpret_cast<std::uintptr_t>(q) - vlb;                         \
                    longest = len > longest ? len : longest;                                                   \
                    vlb = reinterpret_cast<std::uintptr_t>(q) + 2;                                             \
                    if (q[2] == '.') st.dot = true; /* s < last: q + 2 < end */                                \
                    s += 65;                                                                                   \
                    continue;                                                                                  \
                }                                                                                              \
                e |= std::uint64_t{1} << 63; /* no LF, or the last block: scan_visit */                        \
            }                                                                                                  \
            if (e != 0) {                                                                                      \
                FINISH /* and RESET: no vector stays live across the call */                                   \
                RESET                                                                                          \
                st.vlb = vlb - base_at;                                                                        \
                st.longest = longest;                                                                          \
                s = base + (scan_visit(st, static_cast<std::size_t>(s - base), e) - 64);                       \
                vlb = base_at + st.vlb;                                                                        \
                longest = st.longest;                                                                          \
            }                                                                                                  \
            s += 64;                                                                                           \
        } while (s <= last);                                                                                   \
        i = static_cast<std::size_t>(s - base);                                                                \
    }                                                                                                          \
    if (i < size) {                                                                                            \
        const std::size_t at = size - 64;                                                                      \
        s = end - 64;                                                                                          \
        LOAD_MASK /* (the octets before i again: the accumulators do not mind) */                              \
        FINISH                                                                                                 \
        e &= ~std::uint64_t{0} << (i - at);                                                                    \
        if (e != 0) SMTPIO_DETAIL_SCAN_PAIRS(CTZ, true)                                                        \
        st.vlb = vlb - base_at;                                                                                \
        st.longest = longest;                                                                                  \
        if (e != 0) scan_visit(st, at, e);                                                                     \
    } else {                                                                                                   \
        FINISH                                                                                                 \
        st.vlb = vlb - base_at;                                                                                \
        st.longest = longest;                                                                                  \
    }                                                                                                          \
    return size;

#define SMTPIO_DETAIL_CTZ(x) static_cast<std::size_t>(static_cast<unsigned>(__builtin_ctzll(x)))

inline std::size_t scan_blocks_sse2(scan_state& st, std::size_t i) noexcept {
#ifdef SMTPIO_HAVE_SSE2
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    __m128i any_or = _mm_setzero_si128(); // OR of the octets: its top bits say "8-bit"
    __m128i any_min = _mm_set1_epi8(-1);  // the least octet: 0 says "NUL"
    SMTPIO_DETAIL_SCAN_BODY(
        {
            e = 0;
            for (unsigned j = 0; j < 64; j += 16) {
                __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + j));
                any_or = _mm_or_si128(any_or, v);
                any_min = _mm_min_epu8(any_min, v);
                auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf))));
                e |= static_cast<std::uint64_t>(m) << j;
            }
        },
        SMTPIO_DETAIL_CTZ,
        {
            st.high = st.high || _mm_movemask_epi8(any_or) != 0;
            st.nul = st.nul || _mm_movemask_epi8(_mm_cmpeq_epi8(any_min, _mm_setzero_si128())) != 0;
        },
        {
            any_or = _mm_setzero_si128();
            any_min = _mm_set1_epi8(-1);
        })
#else
    (void)st;
    return i;
#endif
}

#ifdef SMTPIO_HAVE_AVX2_DISPATCH
// True when the CPU has AVX2 and BMI1/BMI2 (every one with AVX2 so far has).
inline bool cpu_has_avx2_bmi2() noexcept {
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    return yes;
}

__attribute__((target("avx2,bmi,bmi2"))) inline std::size_t scan_blocks_avx2(scan_state& st, std::size_t i) noexcept {
    // One shuffle classifies an octet by its low four bits: the table holds, at
    // 0x0, 0xA and 0xD, the one octet below 0x80 with those bits that matters
    // (NUL, LF, CR) and 0xFF (matches nothing) elsewhere; octets from 0x80 up
    // shuffle to 0, which they never equal.  So e marks CR, LF and NUL.
    const __m256i table = _mm256_setr_epi8(0, -1, -1, -1, -1, -1, -1, -1, -1, -1, '\n', -1, -1, '\r', -1, -1, //
                                           0, -1, -1, -1, -1, -1, -1, -1, -1, -1, '\n', -1, -1, '\r', -1, -1);
    __m256i any_or = _mm256_setzero_si256();
    SMTPIO_DETAIL_SCAN_BODY(
        {
            __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
            __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 32));
            any_or = _mm256_or_si256(any_or, _mm256_or_si256(v0, v1));
            auto m0 = static_cast<unsigned>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, v0), v0)));
            auto m1 = static_cast<unsigned>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, v1), v1)));
            e = static_cast<std::uint64_t>(m0) | static_cast<std::uint64_t>(m1) << 32;
        },
        _tzcnt_u64, { st.high = st.high || _mm256_movemask_epi8(any_or) != 0; }, { any_or = _mm256_setzero_si256(); })
}
#endif

#undef SMTPIO_DETAIL_SCAN_BODY
#undef SMTPIO_DETAIL_SCAN_PAIRS
#undef SMTPIO_DETAIL_CTZ

inline std::size_t scan_blocks(scan_state& st, std::size_t i) noexcept {
#ifdef SMTPIO_HAVE_AVX2_DISPATCH
    if (cpu_has_avx2_bmi2()) return scan_blocks_avx2(st, i);
#endif
    return scan_blocks_sse2(st, i);
}

// The masks of one block for scan_tail: `e` marks CR, LF and NUL, `h` octets
// above 0x7F, among the n <= 64 octets at s (bits from n up are clear).
inline void scan_block_masks(const char* s, std::size_t n, std::uint64_t& e, std::uint64_t& h) noexcept {
#ifdef SMTPIO_HAVE_SSE2
    alignas(16) char pad[64];
    if (n < 64) { // a short chunk: the block is a copy, padded with spaces
        std::memset(pad, ' ', sizeof pad);
        std::memcpy(pad, s, n);
        s = pad;
    }
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    e = h = 0;
    for (unsigned j = 0; j < 64; j += 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + j));
        __m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)), _mm_cmpeq_epi8(v, zero));
        e |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(sp))) << j;
        h |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(v))) << j;
    }
#else
    e = h = 0;
    for (std::size_t j = 0; j < n; ++j) {
        const auto c = static_cast<unsigned char>(s[j]);
        if (c == '\r' || c == '\n' || c == 0) e |= std::uint64_t{1} << j;
        if (c >= 0x80) h |= std::uint64_t{1} << j;
    }
#endif
}

// The rest of the chunk from offset i, a block at a time: nothing after
// scan_blocks, except in a chunk shorter than a block (read from a padded
// copy) or without SSE2.
inline void scan_tail(scan_state& st, std::size_t i) noexcept {
    while (i < st.size) {
        std::size_t at = i;
        std::size_t n = st.size - i < 64 ? st.size - i : 64;
        if (n < 64 && st.size >= 64) {
            at = st.size - 64;
            n = 64;
        }
        std::uint64_t e, h;
        scan_block_masks(st.base + at, n, e, h);
        const std::uint64_t mine = ~std::uint64_t{0} << (i - at); // i - at < 64
        e &= mine;
        h &= mine;
        if (h != 0) st.high = true;
        i = scan_visit(st, at, e);
    }
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
    if (chunk.empty()) return;
    std::size_t i = 0;
    if (skip_lf_) {
        if (chunk[0] == '\n') i = 1; // the LF of a CRLF cut between two chunks
        else f_.bare_line_end = true;
    }
    if (line_len_ == 0 && i < chunk.size() && chunk[i] == '.') f_.dot_line = true; // a line begins in this chunk
    detail::scan_state st{chunk.data(), chunk.size(), i - line_len_};
    st.longest = f_.longest_line;
    const std::size_t vlb0 = st.vlb;
    detail::scan_tail(st, detail::scan_blocks(st, i));
    // The lines ended in this chunk, with CRLF: from vlb0 to the new line start, and one more octet per bare CR or LF.
    f_.normalised_size += static_cast<std::uint64_t>(st.vlb - vlb0) + st.extra;
    f_.longest_line = st.longest;
    f_.eight_bit = f_.eight_bit || st.high;
    f_.has_nul = f_.has_nul || st.nul;
    f_.bare_line_end = f_.bare_line_end || st.bare;
    f_.dot_line = f_.dot_line || st.dot;
    skip_lf_ = st.skip_lf;
    line_len_ = st.size - st.vlb;
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
