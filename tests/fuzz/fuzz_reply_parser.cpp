//
// fuzz_reply_parser -- smtpio::proto::reply_parser (RFC 5321 4.2) on any bytes,
// in any split.
//
// Input: [flags] [split seed] [server bytes...]
//   flags bit 0     enhanced status codes on (RFC 2034)
//   flags bits 1-2  limits: 0 the defaults, 1-3 small limits that the fuzzer can hit
//   split seed      how the bytes are cut into put() calls (see fuzz_common.hpp)
//
// Invariants:
//  - put() never consumes more than it was given; need_more consumes everything;
//    done consumes at least one octet; after an error put() keeps failing and
//    consumes nothing;
//  - every reply has a code [2-5][0-5][0-9] (200-559), 1..max_lines lines, each
//    line within max_line_length with no CR or LF in it, text = lines joined by
//    '\n' within max_reply_bytes, and an enhanced code only of the reply's class;
//  - the same bytes in one piece, one octet at a time, and in the fuzzer's split
//    give identical replies, the same error and the same in_progress();
//  - the result equals an independent, line-at-a-time reading of the grammar
//    and the limits (a differential check).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "fuzz_common.hpp"

#include <smtpio/proto/reply_parser.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using smtpio::errc;
using smtpio::proto::reply_limits;
using smtpio::proto::reply_parser;
using smtpio::fuzz::show;

namespace {

struct parsed_reply {
    int code = 0;
    smtpio::enhanced_status enhanced;
    std::vector<std::string> lines;
    std::string text;
    friend bool operator==(const parsed_reply&, const parsed_reply&) = default;
};

struct run_result {
    std::vector<parsed_reply> replies;
    std::error_code error;       // empty when no error
    bool in_progress = false;    // a reply was cut by the end of the input
    friend bool operator==(const run_result&, const run_result&) = default;
};

std::string describe(const run_result& r) {
    std::string s = std::to_string(r.replies.size()) + " replies";
    for (const auto& p : r.replies) {
        s += " [" + std::to_string(p.code) + " " + p.enhanced.to_string() + " '" + show(p.text, 80) + "' lines=" +
             std::to_string(p.lines.size()) + "]";
    }
    s += r.error ? " error=" + r.error.message() : std::string(" no error");
    s += r.in_progress ? " in_progress" : "";
    return s;
}

reply_limits limits_for(unsigned profile) {
    switch (profile) {
    case 1: return {32, 4, 100};
    case 2: return {512, 3, 1024};
    case 3: return {6, 2, 12};
    default: return {};
    }
}

void check_reply(const smtpio::proto::reply_view& v, const reply_limits& lim, parsed_reply& out) {
    SMTPIO_FUZZ_CHECK(v.code >= 200 && v.code <= 559, "code " + std::to_string(v.code));
    SMTPIO_FUZZ_CHECK(v.code % 100 / 10 <= 5, "second digit of " + std::to_string(v.code));
    SMTPIO_FUZZ_CHECK(v.lines >= 1 && v.lines <= lim.max_lines, "lines " + std::to_string(v.lines));
    SMTPIO_FUZZ_CHECK(v.text.size() <= lim.max_reply_bytes, "text of " + std::to_string(v.text.size()));
    SMTPIO_FUZZ_CHECK(v.enhanced.cls == 0 || v.enhanced.cls == static_cast<unsigned>(v.code / 100),
                      "enhanced class " + v.enhanced.to_string() + " for " + std::to_string(v.code));
    SMTPIO_FUZZ_CHECK(v.enhanced.subject <= 999 && v.enhanced.detail <= 999, v.enhanced.to_string());
    std::string joined;
    for (std::size_t i = 0; i < v.lines; ++i) {
        std::string_view l = v.line(i);
        // "ddd-" + text + CRLF is at most the line limit.
        SMTPIO_FUZZ_CHECK(l.size() + 6 <= lim.max_line_length || (l.empty() && lim.max_line_length >= 5),
                          "line " + std::to_string(i) + " of " + std::to_string(l.size()));
        SMTPIO_FUZZ_CHECK(l.find('\r') == std::string_view::npos && l.find('\n') == std::string_view::npos, show(l));
        if (i) joined += '\n';
        joined += l;
        out.lines.emplace_back(l);
    }
    SMTPIO_FUZZ_CHECK(joined == v.text, show(joined) + " vs " + show(v.text));
    SMTPIO_FUZZ_CHECK(v.line(v.lines).empty(), "a line past the end");
    out.code = v.code;
    out.enhanced = v.enhanced;
    out.text = std::string(v.text);
    // The owning copy says the same.
    auto owned = v.to_reply();
    SMTPIO_FUZZ_CHECK(owned.code == v.code && owned.text == v.text && owned.enhanced == v.enhanced, "to_reply");
}

run_result feed(const std::vector<std::string_view>& pieces, const reply_limits& lim, bool enhanced) {
    reply_parser p(lim);
    p.set_enhanced_status_codes(enhanced);
    run_result out;
    for (std::string_view piece : pieces) {
        std::size_t guard = piece.size() + 2;
        for (;;) {
            SMTPIO_FUZZ_CHECK(guard-- > 0, "put() makes no progress");
            auto r = p.put(piece);
            SMTPIO_FUZZ_CHECK(r.consumed <= piece.size(),
                              std::to_string(r.consumed) + " consumed of " + std::to_string(piece.size()));
            if (r.state == reply_parser::status::error) {
                out.error = p.error();
                SMTPIO_FUZZ_CHECK(out.error.category() == smtpio::smtpio_category(), out.error.message());
                // An error sticks until reset().
                auto again = p.put(piece.substr(r.consumed));
                SMTPIO_FUZZ_CHECK(again.state == reply_parser::status::error && again.consumed == 0, "error not sticky");
                SMTPIO_FUZZ_CHECK(p.error() == out.error, "error changed");
                return out;
            }
            if (r.state == reply_parser::status::need_more) {
                SMTPIO_FUZZ_CHECK(r.consumed == piece.size(), "need_more left input unconsumed");
                break;
            }
            SMTPIO_FUZZ_CHECK(r.consumed >= 1, "a reply from no input");
            parsed_reply pr;
            check_reply(p.get(), lim, pr);
            out.replies.push_back(std::move(pr));
            piece.remove_prefix(r.consumed);
            if (piece.empty()) break;
        }
    }
    out.in_progress = p.in_progress();
    // reset() makes the parser usable again.
    p.reset();
    SMTPIO_FUZZ_CHECK(!p.in_progress() && !p.error(), "reset");
    auto r = p.put("250\r\n"); // 5 octets: within every limit profile
    SMTPIO_FUZZ_CHECK(r.state == reply_parser::status::done && p.get().code == 250 && p.get().text.empty(),
                      "parser unusable after reset");
    return out;
}

// ---- the reference: the grammar read one whole line at a time --------------------------

bool ref_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 3463 "c.s.d " at the start of t: class 2/4/5, 1-3 digits each, then a space or the end.
std::optional<std::pair<smtpio::enhanced_status, std::size_t>> ref_enhanced(std::string_view t) {
    if (t.size() < 5 || (t[0] != '2' && t[0] != '4' && t[0] != '5') || t[1] != '.') return std::nullopt;
    std::size_t i = 2;
    unsigned parts[2] = {0, 0};
    for (int k = 0; k < 2; ++k) {
        std::size_t start = i;
        while (i < t.size() && ref_digit(t[i])) parts[k] = parts[k] * 10 + static_cast<unsigned>(t[i++] - '0');
        if (i == start || i - start > 3) return std::nullopt;
        if (k == 0) {
            if (i >= t.size() || t[i] != '.') return std::nullopt;
            ++i;
        }
    }
    if (i < t.size() && t[i] != ' ') return std::nullopt;
    smtpio::enhanced_status es{static_cast<std::uint16_t>(t[0] - '0'), static_cast<std::uint16_t>(parts[0]),
                               static_cast<std::uint16_t>(parts[1])};
    return std::make_pair(es, i < t.size() ? i + 1 : i);
}

run_result reference(std::string_view s, const reply_limits& lim, bool enhanced) {
    run_result out;
    parsed_reply cur;
    std::size_t bytes = 0;
    std::size_t pos = 0;
    while (pos < s.size()) {
        std::size_t lf = s.find('\n', pos);
        // A limit is broken by the octet that takes the line or the reply over it;
        // when one octet breaks both, the line limit is reported.
        std::size_t len = lf == std::string_view::npos ? s.size() - pos : lf - pos + 1;
        std::size_t line_breaker = lim.max_line_length;        // index in the line of the octet that breaks it
        std::size_t reply_breaker = lim.max_reply_bytes - bytes; // the same for the reply
        if (len > line_breaker || len > reply_breaker) {
            out.error = line_breaker <= reply_breaker ? errc::reply_line_too_long : errc::reply_too_large;
            return out;
        }
        if (lf == std::string_view::npos) {
            out.in_progress = true;
            return out;
        }
        bytes += len;
        if (len < 2 || s[lf - 1] != '\r') {
            out.error = errc::reply_malformed;
            return out;
        }
        std::string_view line = s.substr(pos, len - 2);
        pos = lf + 1;
        if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || !ref_digit(line[2])) {
            out.error = errc::reply_malformed;
            return out;
        }
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        bool last = line.size() == 3 || line[3] == ' ';
        if (line.size() > 3 && line[3] != ' ' && line[3] != '-') {
            out.error = errc::reply_malformed;
            return out;
        }
        std::string_view text = line.size() > 3 ? line.substr(4) : std::string_view{};
        if (text.find('\r') != std::string_view::npos) {
            out.error = errc::reply_malformed;
            return out;
        }
        if (!cur.lines.empty() && code != cur.code) {
            out.error = errc::reply_code_mismatch;
            return out;
        }
        cur.code = code;
        if (cur.lines.size() + 1 > lim.max_lines) {
            out.error = errc::reply_too_many_lines;
            return out;
        }
        if (enhanced) {
            auto e = ref_enhanced(text);
            if (e && e->first.cls == static_cast<unsigned>(code / 100)) {
                if (cur.lines.empty()) cur.enhanced = e->first;
                text.remove_prefix(e->second);
            }
        }
        if (!cur.lines.empty()) cur.text += '\n';
        cur.text += text;
        cur.lines.emplace_back(text);
        if (last) {
            out.replies.push_back(std::move(cur));
            cur = {};
            bytes = 0;
        }
    }
    out.in_progress = !cur.lines.empty();
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const bool enhanced = (data[0] & 1) != 0;
    const reply_limits lim = limits_for((data[0] >> 1) & 3u);
    const std::uint8_t seed = data[1];
    std::string_view input = smtpio::fuzz::as_text(data + 2, size - 2);

    run_result whole = feed({input}, lim, enhanced);
    run_result bytewise = feed(smtpio::fuzz::split(input, 1), lim, enhanced);
    run_result chosen = feed(smtpio::fuzz::split(input, seed), lim, enhanced);
    SMTPIO_FUZZ_CHECK(whole == bytewise, "whole: " + describe(whole) + "\n  byte by byte: " + describe(bytewise));
    SMTPIO_FUZZ_CHECK(whole == chosen, "whole: " + describe(whole) + "\n  split: " + describe(chosen));

    run_result ref = reference(input, lim, enhanced);
    SMTPIO_FUZZ_CHECK(whole == ref, "parser: " + describe(whole) + "\n  reference: " + describe(ref));
    return 0;
}
