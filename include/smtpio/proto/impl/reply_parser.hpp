//
// smtpio/proto/impl/reply_parser.hpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_IMPL_REPLY_PARSER_HPP
#define SMTPIO_PROTO_IMPL_REPLY_PARSER_HPP

#include <cstring>

namespace smtpio::proto {

inline std::string_view reply_view::line(std::size_t i) const noexcept {
    if (i >= lines || !line_ends_) return {};
    std::size_t begin = i == 0 ? 0 : line_ends_[i - 1] + 1; // skip the '\n' joining lines
    return text.substr(begin, line_ends_[i] - begin);
}

namespace detail {

// Parses "c.sss.ddd" at the start of text (RFC 3463: class 2/4/5, subject and
// detail 1-3 digits each) followed by a space or the end.  Returns the length
// consumed, including one following space, or 0.
inline std::size_t parse_enhanced(std::string_view t, enhanced_status& out) noexcept {
    if (t.size() < 5) return 0;
    if (t[0] != '2' && t[0] != '4' && t[0] != '5') return 0;
    if (t[1] != '.') return 0;
    std::size_t i = 2;
    auto number = [&](std::uint16_t& v) {
        std::size_t start = i;
        v = 0;
        while (i < t.size() && i - start < 4 && t[i] >= '0' && t[i] <= '9')
            v = static_cast<std::uint16_t>(v * 10 + (t[i++] - '0'));
        return i - start >= 1 && i - start <= 3;
    };
    std::uint16_t subject = 0, detail = 0;
    if (!number(subject)) return 0;
    if (i >= t.size() || t[i] != '.') return 0;
    ++i;
    if (!number(detail)) return 0;
    if (i < t.size() && t[i] != ' ') return 0;
    out = {static_cast<std::uint16_t>(t[0] - '0'), subject, detail};
    return i < t.size() ? i + 1 : i;
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

inline bool reply_parser::on_line(std::string_view line) {
    // line excludes the final CRLF.  RFC 5321 4.2: Reply-code [ SP textstring ] CRLF,
    // or Reply-code "-" [ textstring ] CRLF for every line but the last.
    if (line.size() < 3) return fail(errc::reply_malformed);
    char d0 = line[0], d1 = line[1], d2 = line[2];
    if (d0 < '2' || d0 > '5' || d1 < '0' || d1 > '5' || d2 < '0' || d2 > '9')
        return fail(errc::reply_malformed);
    int code = (d0 - '0') * 100 + (d1 - '0') * 10 + (d2 - '0');
    bool last;
    std::string_view text;
    if (line.size() == 3) {
        last = true; // a bare code with no text is valid
    } else if (line[3] == ' ') {
        last = true;
        text = line.substr(4);
    } else if (line[3] == '-') {
        last = false;
        text = line.substr(4);
    } else {
        return fail(errc::reply_malformed); // "250OK", "2500"
    }
    if (text.find('\r') != std::string_view::npos) return fail(errc::reply_malformed); // a bare CR
    if (lines_ == 0) code_ = code;
    else if (code != code_) return fail(errc::reply_code_mismatch);
    if (++lines_ > limits_.max_lines) return fail(errc::reply_too_many_lines);
    if (enhanced_) {
        enhanced_status es;
        if (std::size_t n = detail::parse_enhanced(text, es); n > 0 && es.cls == static_cast<unsigned>(code / 100)) {
            if (lines_ == 1) first_enhanced_ = es;
            text.remove_prefix(n);
        }
    }
    if (lines_ > 1) text_ += '\n';
    text_ += text;
    ends_.push_back(static_cast<std::uint32_t>(text_.size()));
    if (last) {
        view_.code = code_;
        view_.enhanced = first_enhanced_;
        view_.text = text_;
        view_.lines = lines_;
        view_.line_ends_ = ends_.data();
        state_ = st_done_pending;
    }
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
    std::size_t pos = 0;
    while (pos < input.size()) {
        const char* start = input.data() + pos;
        std::size_t avail = input.size() - pos;
        const void* nl = std::memchr(start, '\n', avail);
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
        bool ok;
        if (partial_.empty()) {
            std::string_view line(start, len);
            if (len < 2 || line[len - 2] != '\r') { // a bare LF ends no SMTP line
                fail(errc::reply_malformed);
                return {status::error, pos};
            }
            ok = on_line(line.substr(0, len - 2));
        } else {
            partial_.append(start, len);
            if (partial_.size() < 2 || partial_[partial_.size() - 2] != '\r') {
                fail(errc::reply_malformed);
                return {status::error, pos};
            }
            ok = on_line(std::string_view(partial_).substr(0, partial_.size() - 2));
            partial_.clear();
        }
        if (!ok) return {status::error, pos};
        if (state_ == st_done_pending) return {status::done, pos};
    }
    return {status::need_more, pos};
}

} // namespace smtpio::proto

#endif // SMTPIO_PROTO_IMPL_REPLY_PARSER_HPP
