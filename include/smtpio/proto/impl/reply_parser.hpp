//
// smtpio/proto/impl/reply_parser.hpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_IMPL_REPLY_PARSER_HPP
#define SMTPIO_PROTO_IMPL_REPLY_PARSER_HPP

#include <smtpio/detail/simd.hpp>

#include <bit>
#include <cstdint>
#include <cstring>

// The per-line helpers below are inlined where they are used, in the loop of
// put(): a call there costs about as much as what they do (GCC and Clang).
#if defined(__GNUC__) || defined(__clang__)
#define SMTPIO_DETAIL_LINE_INLINE __attribute__((always_inline)) inline
#else
#define SMTPIO_DETAIL_LINE_INLINE inline
#endif

namespace smtpio::proto {

inline std::string_view reply_view::line(std::size_t i) const noexcept {
    if (i >= lines || !line_ends_) return {};
    std::size_t begin = i == 0 ? 0 : line_ends_[i - 1] + 1; // skip the '\n' joining lines
    return text.substr(begin, line_ends_[i] - begin);
}

namespace detail {

// The offset of the first CR or LF in p[0, n), or n when there is none.  Replies
// are short: with SSE2, one pass for both octets costs less than two memchr
// calls; elsewhere the C library's memchr does it, for LF and then for CR before it.
inline std::size_t find_cr_or_lf(const char* p, std::size_t n) noexcept {
#ifdef SMTPIO_HAVE_SSE2
    std::size_t i = 0;
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    for (; i + 16 <= n; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        const __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf));
        if (const auto m = static_cast<unsigned>(_mm_movemask_epi8(hit)); m != 0)
            return i + static_cast<std::size_t>(std::countr_zero(m));
    }
    for (; i < n; ++i)
        if (p[i] == '\r' || p[i] == '\n') return i;
    return n;
#else
    if (n == 0) return 0; // (memchr wants a pointer, even for no octets)
    const void* lf = std::memchr(p, '\n', n);
    const std::size_t end = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - p) : n;
    const void* cr = std::memchr(p, '\r', end);
    return cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - p) : end;
#endif
}

// The reply code in the first three octets of p (RFC 5321 4.2: 2-5, 0-5, 0-9),
// or 0 when they are not one.
inline int parse_reply_code(const char* p) noexcept {
    auto digit = [p](int i) noexcept { return static_cast<unsigned>(static_cast<unsigned char>(p[i])) - '0'; };
    const unsigned d0 = digit(0), d1 = digit(1), d2 = digit(2); // octets below '0' wrap around
    if (d0 - 2 > 3 || d1 > 5 || d2 > 9) return 0;
    return static_cast<int>(d0 * 100 + d1 * 10 + d2);
}

// Parses "c.sss.ddd" at the start of text (RFC 3463: class 2/4/5, subject and
// detail 1-3 digits each) followed by a space or the end.  Returns the length
// consumed, including one following space, or 0.
SMTPIO_DETAIL_LINE_INLINE std::size_t parse_enhanced(std::string_view t, enhanced_status& out) noexcept {
    const std::size_t n = t.size();
    if (n < 5) return 0; // "c.s.d" at least: t[0] to t[4] exist below
    auto digit = [&t](std::size_t i) noexcept { return static_cast<unsigned>(static_cast<unsigned char>(t[i])) - '0'; };
    const unsigned cls = digit(0);
    if ((cls != 2 && cls != 4 && cls != 5) || t[1] != '.') return 0;
    unsigned subject = digit(2), detail = 0, d = digit(3);
    if (subject > 9) return 0;
    // The usual form, one digit each: "2.0.0", "5.7.1".
    if (t[3] == '.' && (detail = digit(4)) <= 9 && (n == 5 || t[5] == ' ')) {
        out = {static_cast<std::uint16_t>(cls), static_cast<std::uint16_t>(subject), static_cast<std::uint16_t>(detail)};
        return n == 5 ? 5 : 6;
    }
    std::size_t i = 3;
    if (d <= 9) {
        subject = subject * 10 + d;
        i = 4;
        if ((d = digit(4)) <= 9) {
            subject = subject * 10 + d;
            i = 5;
            if (i == n) return 0;
        }
    }
    if (t[i] != '.') return 0; // a fourth digit too
    if (++i == n || (detail = digit(i)) > 9) return 0;
    for (const std::size_t stop = i + 3; ++i < n && i < stop && (d = digit(i)) <= 9;) detail = detail * 10 + d;
    if (i < n && t[i++] != ' ') return 0; // a fourth digit too
    out = {static_cast<std::uint16_t>(cls), static_cast<std::uint16_t>(subject), static_cast<std::uint16_t>(detail)};
    return i;
}

} // namespace detail

inline void reply_parser::reset() noexcept {
    state_ = st_line;
    code_ = 0;
    lines_ = 0;
    bytes_ = 0;
    first_enhanced_ = {};
    partial_.clear();
    text_.clear();
    ends_.clear();
    ec_.clear();
}

inline void reply_parser::start_reply() noexcept {
    code_ = 0;
    lines_ = 0;
    bytes_ = 0;
    first_enhanced_ = {};
    text_.clear();
    ends_.clear();
}

inline void reply_parser::complete_reply() noexcept {
    view_.code = code_;
    view_.enhanced = first_enhanced_;
    view_.text = text_;
    view_.lines = lines_;
    view_.line_ends_ = ends_.data();
    state_ = st_done_pending;
}

SMTPIO_DETAIL_LINE_INLINE bool reply_parser::on_line(std::string_view line) {
    // line excludes the final CRLF.  RFC 5321 4.2: Reply-code [ SP textstring ] CRLF,
    // or Reply-code "-" [ textstring ] CRLF for every line but the last.
    const std::size_t n = line.size();
    if (n < 3) return fail(errc::reply_malformed);
    const int code = detail::parse_reply_code(line.data());
    if (code == 0) return fail(errc::reply_malformed);
    bool last = true; // a bare code with no text is valid
    std::string_view text;
    if (n > 3) {
        if (line[3] == '-') last = false;
        else if (line[3] != ' ') return fail(errc::reply_malformed); // "250OK", "2500"
        text = std::string_view(line.data() + 4, n - 4);
    }
    if (text.find('\r') != std::string_view::npos) return fail(errc::reply_malformed); // a bare CR
    if (lines_ == 0) code_ = code;
    else if (code != code_) return fail(errc::reply_code_mismatch);
    if (++lines_ > limits_.max_lines) return fail(errc::reply_too_many_lines);
    if (enhanced_ && text.size() >= 5 && text[1] == '.') {
        enhanced_status es;
        if (std::size_t k = detail::parse_enhanced(text, es); k > 0 && es.cls == static_cast<unsigned>(line[0] - '0')) {
            if (lines_ == 1) first_enhanced_ = es;
            text.remove_prefix(k);
        }
    }
    if (lines_ > 1) text_ += '\n';
    text_ += text;
    ends_.push_back(static_cast<std::uint32_t>(text_.size()));
    if (last) complete_reply();
    return true;
}

inline reply_parser::result reply_parser::put(std::string_view input) {
    if (state_ == st_error) return {status::error, 0};
    if (state_ == st_done_pending) {
        // The previous reply was delivered; this call starts the next one.
        start_reply();
        state_ = st_line;
    }
    // Of n octets about to join the current line, the limit that the earliest of
    // them breaks (the line limit on a tie), as if they came one at a time: the
    // error must not depend on how the input was split.
    auto over_limit = [this](std::size_t n) noexcept -> errc {
        std::size_t line_room = limits_.max_line_length > partial_.size() ? limits_.max_line_length - partial_.size() : 0;
        std::size_t reply_room = limits_.max_reply_bytes > bytes_ ? limits_.max_reply_bytes - bytes_ : 0;
        if (n <= line_room && n <= reply_room) return errc{};
        return line_room <= reply_room ? errc::reply_line_too_long : errc::reply_too_large;
    };
    if (input.empty()) return {status::need_more, 0}; // (memchr wants a pointer, even for no octets)
    // Fast path: the first line of a reply, whole at the start of the input,
    // "ddd SP text CRLF", "ddd CRLF" or "ddd-text CRLF" with no other CR or LF,
    // within the limits.  It does what the loop below does for that line, less
    // the checks its shape settles; any other input takes the loop, which decides.
    std::size_t pos = 0;
    const void* nl = nullptr; // the first line's end, once known
    bool nl_known = false;
    if (lines_ == 0 && partial_.empty()) {
        const char* p = input.data();
        const std::size_t n = input.size();
        const std::size_t k = detail::find_cr_or_lf(p, n); // the first CR or LF
        const std::size_t len = k + 2;                     // the line with its CRLF
        int code;
        if (len >= 5 && len <= n && p[k] == '\r' && p[k + 1] == '\n' &&
            (len == 5 || p[3] == ' ' || p[3] == '-') && over_limit(len) == errc{} && limits_.max_lines >= 1 &&
            (code = detail::parse_reply_code(p)) != 0) {
            bytes_ += len;
            code_ = code;
            lines_ = 1;
            std::string_view text = len == 5 ? std::string_view{} : std::string_view(p + 4, len - 6);
            if (enhanced_ && text.size() >= 5 && text[1] == '.') {
                enhanced_status es;
                const std::size_t skip = detail::parse_enhanced(text, es);
                if (skip > 0 && es.cls == static_cast<unsigned>(p[0] - '0')) {
                    first_enhanced_ = es;
                    text.remove_prefix(skip);
                }
            }
            text_ += text;
            ends_.push_back(static_cast<std::uint32_t>(text_.size()));
            if (len == 5 || p[3] == ' ') {
                complete_reply();
                return {status::done, len};
            }
            pos = len; // a continuation line: the loop takes the next ones
        } else {
            // Not for the fast path: the loop decides.  Where the line ends is known
            // up to the first CR (a bare CR is searched past).
            nl_known = true;
            if (k == n)
                nl = nullptr;
            else if (p[k] == '\n')
                nl = p + k;
            else if (k + 1 < n && p[k + 1] == '\n')
                nl = p + k + 1;
            else
                nl = k + 1 < n ? std::memchr(p + k + 1, '\n', n - k - 1) : nullptr;
        }
    }
    if (pos == 0) {
        if (!nl_known) nl = std::memchr(input.data(), '\n', input.size()); // the first line's end
        if (!nl) {
            // No line end yet: keep the partial line, within the limits.  (The loop
            // below does the same; here it costs less when input comes in small pieces.)
            if (errc e = over_limit(input.size()); e != errc{}) {
                fail(e);
                return {status::error, 0};
            }
            partial_.append(input.data(), input.size());
            bytes_ += input.size();
            return {status::need_more, input.size()};
        }
    }
    while (pos < input.size()) {
        const char* start = input.data() + pos;
        std::size_t avail = input.size() - pos;
        if (pos != 0) nl = std::memchr(start, '\n', avail); // at 0, known already
        if (!nl) {
            // No line end yet: keep the partial line, within the limits.
            if (errc e = over_limit(avail); e != errc{}) {
                fail(e);
                return {status::error, pos};
            }
            partial_.append(start, avail);
            bytes_ += avail;
            return {status::need_more, input.size()};
        }
        std::size_t len = static_cast<std::size_t>(static_cast<const char*>(nl) - start) + 1; // with LF
        if (errc e = over_limit(len); e != errc{}) {
            fail(e);
            return {status::error, pos};
        }
        bytes_ += len;
        pos += len;
        std::string_view line(start, len);
        if (!partial_.empty()) {
            partial_.append(start, len);
            line = partial_;
        }
        if (line.size() < 2 || line[line.size() - 2] != '\r') { // a bare LF ends no SMTP line
            fail(errc::reply_malformed);
            return {status::error, pos};
        }
        bool ok = on_line(line.substr(0, line.size() - 2));
        partial_.clear();
        if (!ok) return {status::error, pos};
        if (state_ == st_done_pending) return {status::done, pos};
    }
    return {status::need_more, pos};
}

} // namespace smtpio::proto

#undef SMTPIO_DETAIL_LINE_INLINE

#endif // SMTPIO_PROTO_IMPL_REPLY_PARSER_HPP
