//
// smtpio/proto/reply_parser.hpp -- a push parser for SMTP replies (RFC 5321 4.2).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_REPLY_PARSER_HPP
#define SMTPIO_PROTO_REPLY_PARSER_HPP

#include <smtpio/error.hpp>
#include <smtpio/reply.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smtpio::proto {

/// Hard limits on what a server may send in one reply.  A limit hit is an error,
/// never unbounded memory.
struct reply_limits {
    /// Octets per line, CRLF included.  RFC 5321 4.5.3.1.5 sets 512; real
    /// servers exceed it (long EHLO AUTH lines, verbose rejections), so the
    /// default tolerates up to 4 KiB.
    std::size_t max_line_length = 4096;
    /// Lines per multi-line reply.
    std::size_t max_lines = 1000;
    /// Octets per reply, all lines included.
    std::size_t max_reply_bytes = 64 * 1024;
};

/// A complete reply as parsed, valid until the next `put()` or `reset()`.
/// The text lives in the parser's reused storage: no allocation per reply.
struct reply_view {
    int code = 0;
    enhanced_status enhanced;
    std::string_view text;   ///< All lines' text joined with '\n' (enhanced codes split out).
    std::size_t lines = 0;   ///< Number of lines.

    /// The i-th line's text (0-based); empty past the end.
    std::string_view line(std::size_t i) const noexcept;
    /// An owning copy.
    reply to_reply() const { return reply{code, enhanced, std::string(text)}; }

    const std::uint32_t* line_ends_ = nullptr; // offsets into text; private to the parser
};

/// Parses SMTP replies from bytes pushed in any split (a byte at a time included).
///
/// Grammar (RFC 5321 4.2): each line is a code `[2-5][0-5][0-9]`, then `-` for
/// a continuation, a space or nothing for the last line, then text, then CRLF.
/// Every line of a reply must carry the same code.  A bare CR or a bare LF inside
/// a line, `250OK`, `2500`, `25O` and codes outside the range are protocol errors.
/// When enhanced status codes are enabled (the server advertised
/// ENHANCEDSTATUSCODES), an `x.y.z` prefix whose class matches the code's first
/// digit is split out of each line.
class reply_parser {
public:
    enum class status {
        need_more, ///< All input consumed; the reply is not complete yet.
        done,      ///< A reply is complete: see `get()`; input after it was not consumed.
        error,     ///< The input is not a valid reply; see `error()`.  Call `reset()` to reuse.
    };
    struct result {
        status state;
        std::size_t consumed; ///< Octets of the input used; always all of them for need_more.
    };

    explicit reply_parser(reply_limits limits = {}) : limits_(limits) {}

    /// Feeds input.  Returns after one reply is complete (the rest of the input is
    /// left for the next call), after an error, or when the input is used up.
    result put(std::string_view input);

    /// The last complete reply; valid after `put()` returned done.
    const reply_view& get() const noexcept { return view_; }
    /// Why `put()` returned error.
    std::error_code error() const noexcept { return ec_; }
    /// True when part of a reply has been received and the rest is due: the
    /// connection ending now truncates a reply (errc::reply_truncated).
    bool in_progress() const noexcept { return state_ == st_line && (lines_ > 0 || !partial_.empty()); }

    /// Split `x.y.z` enhanced status codes out of the text (RFC 2034).
    void set_enhanced_status_codes(bool on) noexcept { enhanced_ = on; }
    bool enhanced_status_codes() const noexcept { return enhanced_; }
    const reply_limits& limits() const noexcept { return limits_; }
    void set_limits(const reply_limits& l) noexcept { limits_ = l; }

    /// Forgets any partial reply and error.
    void reset() noexcept;

private:
    enum state_t : std::uint8_t { st_line, st_done_pending, st_error };
    bool fail(errc e) noexcept {
        ec_ = e;
        state_ = st_error;
        return false;
    }
    bool on_line(std::string_view line); // a line without its CRLF
    void complete_reply() noexcept; // makes the reply held the one get() shows
    void start_reply() noexcept;

    reply_limits limits_;
    bool enhanced_ = false;
    state_t state_ = st_line;
    int code_ = 0;
    std::size_t lines_ = 0;
    std::size_t bytes_ = 0;
    enhanced_status first_enhanced_;
    std::string partial_;               // a line not yet terminated
    std::string text_;                  // the reply's text, reused
    std::vector<std::uint32_t> ends_;   // end offsets of each line in text_, reused
    std::error_code ec_;
    reply_view view_;
};

} // namespace smtpio::proto

#include <smtpio/proto/impl/reply_parser.hpp>

#endif // SMTPIO_PROTO_REPLY_PARSER_HPP
