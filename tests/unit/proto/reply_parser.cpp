#include "test_budget.hpp"

#include <smtpio/proto/algorithm.hpp>
#include <smtpio/proto/reply_parser.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using smtpio::errc;
using smtpio::proto::reply_parser;
using status = reply_parser::status;

namespace {

struct parsed {
    std::vector<smtpio::reply> replies;
    std::error_code ec;
    bool partial = false;
};

// Feeds `input` in pieces of at most `step` octets (0: all at once).
parsed parse_all(std::string_view input, std::size_t step, bool enhanced = false, smtpio::proto::reply_limits lim = {}) {
    reply_parser p(lim);
    p.set_enhanced_status_codes(enhanced);
    parsed out;
    std::size_t pos = 0;
    while (pos < input.size()) {
        std::size_t n = step == 0 ? input.size() - pos : std::min(step, input.size() - pos);
        std::string_view piece = input.substr(pos, n);
        while (!piece.empty()) {
            auto r = p.put(piece);
            piece.remove_prefix(r.consumed);
            if (r.state == status::done) {
                out.replies.push_back(p.get().to_reply());
            } else if (r.state == status::error) {
                out.ec = p.error();
                return out;
            } else {
                REQUIRE(piece.empty());
            }
        }
        pos += n;
    }
    out.partial = p.in_progress();
    return out;
}

// Every split of the input into two pieces, and one byte at a time, give the same result.
parsed parse_every_split(std::string_view input, bool enhanced = false) {
    parsed whole = parse_all(input, 0, enhanced);
    parsed bytewise = parse_all(input, 1, enhanced);
    auto same = [](const parsed& a, const parsed& b) {
        if (a.ec != b.ec || a.replies.size() != b.replies.size() || a.partial != b.partial) return false;
        for (std::size_t i = 0; i < a.replies.size(); ++i) {
            if (a.replies[i].code != b.replies[i].code || a.replies[i].text != b.replies[i].text ||
                a.replies[i].enhanced != b.replies[i].enhanced)
                return false;
        }
        return true;
    };
    CHECK(same(whole, bytewise));
    for (std::size_t cut = 1; cut < input.size(); ++cut) {
        reply_parser p;
        p.set_enhanced_status_codes(enhanced);
        parsed out;
        for (std::string_view piece : {input.substr(0, cut), input.substr(cut)}) {
            while (!piece.empty() && !out.ec) {
                auto r = p.put(piece);
                piece.remove_prefix(r.consumed);
                if (r.state == status::done) out.replies.push_back(p.get().to_reply());
                else if (r.state == status::error) out.ec = p.error();
            }
        }
        out.partial = !out.ec && p.in_progress();
        INFO("cut at " << cut);
        CHECK(same(whole, out));
    }
    return whole;
}

} // namespace

TEST_CASE("valid replies parse identically for every split of the input", "[proto][parser]") {
    struct row {
        std::string input;
        int code;
        std::string text;
        std::size_t lines;
    };
    std::vector<row> rows = {
        {"250 OK\r\n", 250, "OK", 1},
        {"250\r\n", 250, "", 1},
        {"220 mail.example.org ESMTP ready\r\n", 220, "mail.example.org ESMTP ready", 1},
        {"250-mail.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n", 250, "mail.example.org\nPIPELINING\n8BITMIME", 3},
        {"250-\r\n250 \r\n", 250, "\n", 2},
        {"354 Start mail input; end with <CRLF>.<CRLF>\r\n", 354, "Start mail input; end with <CRLF>.<CRLF>", 1},
        {"421 4.3.2 closing\r\n", 421, "4.3.2 closing", 1},
        {"559 x\r\n", 559, "x", 1},
        {"200 tab\there\r\n", 200, "tab\there", 1},
        {"250 utf8 \xc3\xa9\r\n", 250, "utf8 \xc3\xa9", 1},
    };
    for (const auto& r : rows) {
        INFO(r.input);
        auto out = parse_every_split(r.input);
        REQUIRE_FALSE(out.ec);
        REQUIRE(out.replies.size() == 1);
        CHECK(out.replies[0].code == r.code);
        CHECK(out.replies[0].text == r.text);
        CHECK_FALSE(out.partial);
    }
}

TEST_CASE("malformed replies are protocol errors for every split", "[proto][parser]") {
    struct row {
        std::string input;
        errc expected;
    };
    std::vector<row> rows = {
        {"25O OK\r\n", errc::reply_malformed},
        {"2500 OK\r\n", errc::reply_malformed},
        {"250OK\r\n", errc::reply_malformed},
        {"600 nope\r\n", errc::reply_malformed},
        {"199 nope\r\n", errc::reply_malformed},
        {"260 nope\r\n", errc::reply_malformed},
        {"25\r\n", errc::reply_malformed},
        {"\r\n", errc::reply_malformed},
        {" 250 OK\r\n", errc::reply_malformed},
        {"250 OK\n", errc::reply_malformed},          // bare LF
        {"250 O\rK\r\n", errc::reply_malformed},       // lone CR inside a line
        {"250-a\r\n251 b\r\n", errc::reply_code_mismatch},
        {"250-a\r\n550-b\r\n250 c\r\n", errc::reply_code_mismatch},
        {"250-a\r\n250Xb\r\n", errc::reply_malformed},
    };
    for (const auto& r : rows) {
        INFO(r.input);
        auto out = parse_every_split(r.input);
        CHECK(out.ec == r.expected);
        CHECK(out.ec == smtpio::condition::protocol_violation);
    }
}

TEST_CASE("several replies in one segment are returned one at a time", "[proto][parser]") {
    auto out = parse_every_split("250 2.1.0 ok\r\n250-a\r\n250 b\r\n354 go\r\n", true);
    REQUIRE_FALSE(out.ec);
    REQUIRE(out.replies.size() == 3);
    CHECK(out.replies[0].enhanced == smtpio::enhanced_status{2, 1, 0});
    CHECK(out.replies[0].text == "ok");
    CHECK(out.replies[1].text == "a\nb");
    CHECK(out.replies[2].code == 354);
}

TEST_CASE("a reply cut by the end of the stream is in progress", "[proto][parser]") {
    for (std::string in : {"250-first\r\n", "250 no end", "2", "250-a\r\n250 b"}) {
        auto out = parse_all(in, 0);
        INFO(in);
        CHECK_FALSE(out.ec);
        CHECK(out.replies.empty());
        CHECK(out.partial);
    }
    auto complete = parse_all("250 ok\r\n", 0);
    CHECK_FALSE(complete.partial);
}

TEST_CASE("enhanced status codes are split out only when enabled and matching", "[proto][parser]") {
    auto on = parse_all("550-5.1.1 no such user\r\n550 5.1.1 really\r\n", 0, true);
    REQUIRE(on.replies.size() == 1);
    CHECK(on.replies[0].enhanced.to_string() == "5.1.1");
    CHECK(on.replies[0].text == "no such user\nreally");

    auto off = parse_all("550 5.1.1 no such user\r\n", 0, false);
    CHECK(off.replies[0].enhanced.empty());
    CHECK(off.replies[0].text == "5.1.1 no such user");

    // Class must match the reply code's first digit; malformed codes stay text.
    for (std::string in : {"550 4.1.1 x\r\n", "550 5.1 x\r\n", "550 5.1.1000 x\r\n", "550 5.a.1 x\r\n", "550 5.1.1x\r\n"}) {
        auto r = parse_all(in, 0, true);
        INFO(in);
        REQUIRE(r.replies.size() == 1);
        CHECK(r.replies[0].enhanced.empty());
        CHECK(r.replies[0].text == in.substr(4, in.size() - 6));
    }
    auto bare = parse_all("250 2.0.0\r\n", 0, true);
    CHECK(bare.replies[0].enhanced == smtpio::enhanced_status{2, 0, 0});
    CHECK(bare.replies[0].text.empty());
}

TEST_CASE("limits are errors, never unbounded memory", "[proto][parser]") {
    smtpio::proto::reply_limits lim;
    lim.max_line_length = 64;
    lim.max_lines = 3;
    lim.max_reply_bytes = 100;
    CHECK(parse_all("250 " + std::string(100, 'x') + "\r\n", 0, false, lim).ec == errc::reply_line_too_long);
    CHECK(parse_all("250 " + std::string(100, 'x'), 7, false, lim).ec == errc::reply_line_too_long); // no CRLF yet
    CHECK(parse_all("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", 1, false, lim).ec == errc::reply_too_many_lines);
    std::string big;
    for (int i = 0; i < 3; ++i) big += "250-" + std::string(40, 'y') + "\r\n";
    CHECK(parse_all(big, 0, false, lim).ec == errc::reply_too_large);
    // A line that breaks both limits at once reports the one its earliest octet
    // breaks, whatever the split: here the reply limit (100) comes first.
    {
        smtpio::proto::reply_limits both;
        both.max_line_length = 80;
        both.max_reply_bytes = 100;
        std::string in = "250-" + std::string(60, 'a') + "\r\n250 " + std::string(90, 'b') + "\r\n";
        for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{70}}) {
            INFO("step " << step);
            CHECK(parse_all(in, step, false, both).ec == errc::reply_too_large);
        }
        // The line limit first: a long first line.
        std::string in2 = "250 " + std::string(120, 'c') + "\r\n";
        for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{13}}) {
            INFO("step " << step);
            CHECK(parse_all(in2, step, false, both).ec == errc::reply_line_too_long);
        }
    }
    // Defaults: 4 KiB lines are fine, a 1 MiB line is not.
    CHECK_FALSE(parse_all("250 " + std::string(4000, 'z') + "\r\n", 0).ec);
    CHECK(parse_all("250 " + std::string(1 << 20, 'z') + "\r\n", 4096).ec == errc::reply_line_too_long);
    // An endless multi-line reply stops at the line limit (1000 by default).
    std::string endless;
    for (int i = 0; i < 1200; ++i) endless += "250-x\r\n";
    CHECK(parse_all(endless, 0).ec == errc::reply_too_many_lines);
}

TEST_CASE("after an error the parser stays failed until reset", "[proto][parser]") {
    reply_parser p;
    auto r = p.put("25x\r\n");
    CHECK(r.state == status::error);
    CHECK(p.put("250 ok\r\n").state == status::error);
    p.reset();
    auto ok = p.put("250 ok\r\n");
    CHECK(ok.state == status::done);
    CHECK(p.get().code == 250);
}

TEST_CASE("reply views give each line; escaping neutralises control octets", "[proto][parser]") {
    reply_parser p;
    auto r = p.put("250-one\r\n250-two\r\n250 three\r\n");
    REQUIRE(r.state == status::done);
    const auto& v = p.get();
    CHECK(v.lines == 3);
    CHECK(v.line(0) == "one");
    CHECK(v.line(1) == "two");
    CHECK(v.line(2) == "three");
    CHECK(v.line(3).empty());
    CHECK(smtpio::escape("a\x1b[31mb\x7f\\") == "a\\x1b[31mb\\x7f\\\\");
    CHECK(smtpio::escape("caf\xc3\xa9 \xff") == "caf\xc3\xa9 \\xff");
    smtpio::reply rep{550, {5, 7, 1}, "no\x07pe"};
    CHECK(rep.to_string() == "550 5.7.1 no\\x07pe");
    CHECK(rep.permanent());
}

// ---- The fast path for a reply's first line: its edges, and a comparison with the parser before it ----

namespace {

// The parser as it was before the fast path (only test code uses it): for every
// input, split in any way, the library must give the same results and errors.
namespace old_impl {

using smtpio::enhanced_status;
using smtpio::proto::reply_limits;
using smtpio::proto::reply_view;

std::size_t parse_enhanced(std::string_view t, enhanced_status& out) noexcept {
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

class reply_parser {
public:
    using status = smtpio::proto::reply_parser::status;
    using result = smtpio::proto::reply_parser::result;

    explicit reply_parser(reply_limits limits = {}) : limits_(limits) {}
    result put(std::string_view input);
    const reply_view& get() const noexcept { return view_; }
    std::error_code error() const noexcept { return ec_; }
    bool in_progress() const noexcept { return state_ == st_line && (lines_ > 0 || !partial_.empty()); }
    void set_enhanced_status_codes(bool on) noexcept { enhanced_ = on; }
    void reset() noexcept {
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

private:
    enum state_t : std::uint8_t { st_line, st_done_pending, st_error };
    bool fail(errc e) noexcept {
        ec_ = e;
        state_ = st_error;
        return false;
    }
    bool on_line(std::string_view line);
    void start_reply() noexcept {
        code_ = 0;
        lines_ = 0;
        bytes_ = 0;
        first_enhanced_ = {};
        text_.clear();
        ends_.clear();
    }

    reply_limits limits_;
    bool enhanced_ = false;
    state_t state_ = st_line;
    int code_ = 0;
    std::size_t lines_ = 0;
    std::size_t bytes_ = 0;
    enhanced_status first_enhanced_;
    std::string partial_;
    std::string text_;
    std::vector<std::uint32_t> ends_;
    std::error_code ec_;
    reply_view view_;
};

bool reply_parser::on_line(std::string_view line) {
    if (line.size() < 3) return fail(errc::reply_malformed);
    char d0 = line[0], d1 = line[1], d2 = line[2];
    if (d0 < '2' || d0 > '5' || d1 < '0' || d1 > '5' || d2 < '0' || d2 > '9') return fail(errc::reply_malformed);
    int code = (d0 - '0') * 100 + (d1 - '0') * 10 + (d2 - '0');
    bool last;
    std::string_view text;
    if (line.size() == 3) {
        last = true;
    } else if (line[3] == ' ') {
        last = true;
        text = line.substr(4);
    } else if (line[3] == '-') {
        last = false;
        text = line.substr(4);
    } else {
        return fail(errc::reply_malformed);
    }
    if (text.find('\r') != std::string_view::npos) return fail(errc::reply_malformed);
    if (lines_ == 0) code_ = code;
    else if (code != code_) return fail(errc::reply_code_mismatch);
    if (++lines_ > limits_.max_lines) return fail(errc::reply_too_many_lines);
    if (enhanced_) {
        enhanced_status es;
        if (std::size_t n = parse_enhanced(text, es); n > 0 && es.cls == static_cast<unsigned>(code / 100)) {
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

reply_parser::result reply_parser::put(std::string_view input) {
    if (state_ == st_error) return {status::error, 0};
    if (state_ == st_done_pending) {
        start_reply();
        state_ = st_line;
    }
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
            if (errc e = over_limit(avail); e != errc{}) {
                fail(e);
                return {status::error, pos};
            }
            partial_.append(start, avail);
            bytes_ += avail;
            return {status::need_more, input.size()};
        }
        std::size_t len = static_cast<std::size_t>(static_cast<const char*>(nl) - start) + 1;
        if (errc e = over_limit(len); e != errc{}) {
            fail(e);
            return {status::error, pos};
        }
        bytes_ += len;
        pos += len;
        bool ok;
        if (partial_.empty()) {
            std::string_view line(start, len);
            if (len < 2 || line[len - 2] != '\r') {
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

} // namespace old_impl

// A reply view as plain values.
struct view_values {
    int code;
    smtpio::enhanced_status enhanced;
    std::string text;
    std::vector<std::string> lines;
    friend bool operator==(const view_values&, const view_values&) = default;
};

view_values values_of(const smtpio::proto::reply_view& v) {
    view_values out{v.code, v.enhanced, std::string(v.text), {}};
    for (std::size_t i = 0; i <= v.lines; ++i) out.lines.emplace_back(v.line(i)); // one past the end too
    return out;
}

// Feeds `input` to the library's parser and to the old one in the pieces `cuts`
// gives, calling put() on what each left, and requires the same result from every
// call: state, octets consumed, the reply, the error, in_progress().
void check_same_as_old(std::string_view input, const std::vector<std::size_t>& cuts, bool enhanced,
                       const smtpio::proto::reply_limits& lim) {
    reply_parser now(lim);
    old_impl::reply_parser before(lim);
    now.set_enhanced_status_codes(enhanced);
    before.set_enhanced_status_codes(enhanced);
    std::size_t from = 0;
    for (std::size_t k = 0; k <= cuts.size(); ++k) {
        const std::size_t to = k < cuts.size() ? std::min(cuts[k], input.size()) : input.size();
        if (to < from) continue;
        std::string_view piece = input.substr(from, to - from);
        from = to;
        for (int guard = 0; guard <= static_cast<int>(piece.size()) + 1; ++guard) {
            auto a = now.put(piece);
            auto b = before.put(piece);
            INFO("piece " << k << " '" << smtpio::escape(piece) << "'");
            REQUIRE(a.state == b.state);
            REQUIRE(a.consumed == b.consumed);
            REQUIRE(now.in_progress() == before.in_progress());
            if (a.state == status::error) {
                REQUIRE(now.error() == before.error());
                return;
            }
            if (a.state == status::done) REQUIRE(values_of(now.get()) == values_of(before.get()));
            piece.remove_prefix(a.consumed);
            if (a.state == status::need_more || piece.empty()) break;
        }
    }
}

} // namespace

TEST_CASE("first-line fast path: the shapes it takes and the ones it leaves to the loop", "[proto][parser]") {
    struct row {
        std::string input;
        int code;            // 0: an error
        std::string text;
        std::size_t lines;
    };
    std::vector<row> rows = {
        {"250\r\n", 250, "", 1},
        {"250 \r\n", 250, "", 1},
        {"250 Ok\r\n", 250, "Ok", 1},
        {"250-first\r\n250 second\r\n", 250, "first\nsecond", 2},
        {"250-\r\n250\r\n", 250, "\n", 2},
        {"250-a\r\n250-b\r\n250 c\r\n", 250, "a\nb\nc", 3},
        {"559 x\r\n", 559, "x", 1},
        {"200 \x80\xff\x01\r\n", 200, "\x80\xff\x01", 1},
        {std::string("250 a\0b\r\n", 9), 250, std::string("a\0b", 3), 1},
    };
    for (const auto& r : rows) {
        INFO(smtpio::escape(r.input));
        auto out = parse_every_split(r.input);
        REQUIRE_FALSE(out.ec);
        REQUIRE(out.replies.size() == 1);
        CHECK(out.replies[0].code == r.code);
        CHECK(out.replies[0].text == r.text);
        check_same_as_old(r.input, {}, false, {});
    }
    struct bad {
        std::string input;
        errc expected;
    };
    std::vector<bad> bads = {
        {"250 a\rb\r\n", errc::reply_malformed},    // a bare CR in the text
        {"250\r\r\n", errc::reply_malformed},       // a CR where the separator goes
        {"250 ok\r\r\n", errc::reply_malformed},
        {"\r250 ok\r\n", errc::reply_malformed},
        {"250 ok\n", errc::reply_malformed},        // a bare LF
        {"250 ok\n\r\n", errc::reply_malformed},
        {"25\r\n", errc::reply_malformed},
        {"2500\r\n", errc::reply_malformed},
        {"250_ok\r\n", errc::reply_malformed},
        {"2\x80" "0 ok\r\n", errc::reply_malformed},
        {"650 ok\r\n", errc::reply_malformed},
        {"260 ok\r\n", errc::reply_malformed},
        {"25: ok\r\n", errc::reply_malformed},
        {"250-a\r\n251 b\r\n", errc::reply_code_mismatch}, // after a first line taken fast
        {"250-a\r\n250 b\rc\r\n", errc::reply_malformed},
    };
    for (const auto& b : bads) {
        INFO(smtpio::escape(b.input));
        CHECK(parse_every_split(b.input).ec == b.expected);
        check_same_as_old(b.input, {}, false, {});
    }
}

TEST_CASE("first-line fast path: limits at their edges, whatever the split", "[proto][parser]") {
    using smtpio::proto::reply_limits;
    const std::string line10 = "250 " + std::string(4, 'x') + "\r\n"; // 10 octets with CRLF
    struct row {
        reply_limits lim;
        std::string input;
        std::error_code expected;
    };
    std::vector<row> rows = {
        {{10, 5, 100}, line10, {}},                                   // exactly the line limit
        {{9, 5, 100}, line10, errc::reply_line_too_long},             // one octet over
        {{100, 5, 10}, line10, {}},                                   // exactly the reply limit
        {{100, 5, 9}, line10, errc::reply_too_large},
        {{9, 5, 9}, line10, errc::reply_line_too_long},               // both at once: the line limit
        {{9, 5, 8}, line10, errc::reply_too_large},                   // the reply limit comes first
        {{100, 0, 100}, line10, errc::reply_too_many_lines},          // no line allowed at all
        {{100, 1, 100}, "250-a\r\n250 b\r\n", errc::reply_too_many_lines},
        {{100, 2, 100}, "250-a\r\n250 b\r\n", {}},
        {{100, 5, 14}, "250-a\r\n250 b\r\n", {}},                     // 14 octets in all
        {{100, 5, 13}, "250-a\r\n250 b\r\n", errc::reply_too_large},
        {{0, 5, 100}, "250\r\n", errc::reply_line_too_long},
        {{5, 5, 5}, "250\r\n", {}},
        {{4, 5, 5}, "250\r\n", errc::reply_line_too_long},
    };
    for (const auto& r : rows) {
        INFO(smtpio::escape(r.input) << " limits " << r.lim.max_line_length << "/" << r.lim.max_lines << "/"
                                     << r.lim.max_reply_bytes);
        for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
            auto out = parse_all(r.input, step, false, r.lim);
            CHECK(out.ec == r.expected);
            if (!r.expected) CHECK(out.replies.size() == 1);
        }
        for (std::size_t cut = 0; cut <= r.input.size(); ++cut) check_same_as_old(r.input, {cut}, false, r.lim);
    }
}

TEST_CASE("first-line fast path: enhanced codes at their edges", "[proto][parser]") {
    struct row {
        std::string input;
        smtpio::enhanced_status enhanced;
        std::string text;
    };
    std::vector<row> rows = {
        {"250 2.0.0 Ok\r\n", {2, 0, 0}, "Ok"},
        {"250 2.0.0\r\n", {2, 0, 0}, ""},
        {"250 2.0.0 \r\n", {2, 0, 0}, ""},
        {"250 2.0.0  x\r\n", {2, 0, 0}, " x"},
        {"250 2.10.100 x\r\n", {2, 10, 100}, "x"},
        {"250 2.999.999\r\n", {2, 999, 999}, ""},
        {"250 2.000.000 x\r\n", {2, 0, 0}, "x"},
        {"550 5.7.1 no\r\n", {5, 7, 1}, "no"},
        {"450 4.2.0 later\r\n", {4, 2, 0}, "later"},
        {"250 2.0.0x\r\n", {}, "2.0.0x"},
        {"250 5.0.0 x\r\n", {}, "5.0.0 x"},       // class differs from the code's
        {"250 3.0.0 x\r\n", {}, "3.0.0 x"},
        {"250 2.0.0000 x\r\n", {}, "2.0.0000 x"},
        {"250 2.0000.0 x\r\n", {}, "2.0000.0 x"},
        {"250 2..0 x\r\n", {}, "2..0 x"},
        {"250 2.0. x\r\n", {}, "2.0. x"},
        {"250 2.0\r\n", {}, "2.0"},
        {"250 2.x.0\r\n", {}, "2.x.0"},
        {"250 .2.0.0\r\n", {}, ".2.0.0"},
        {"250-2.1.0 a\r\n250 2.1.5 b\r\n", {2, 1, 0}, "a\nb"},
        {"250-a\r\n250 2.1.5 b\r\n", {}, "a\nb"},
    };
    for (const auto& r : rows) {
        INFO(r.input);
        auto out = parse_every_split(r.input, true);
        REQUIRE_FALSE(out.ec);
        REQUIRE(out.replies.size() == 1);
        CHECK(out.replies[0].enhanced == r.enhanced);
        CHECK(out.replies[0].text == r.text);
        check_same_as_old(r.input, {}, true, {});
    }
}

TEST_CASE("reply codes and enhanced codes parse as before on every short string", "[proto][parser]") {
    // Every three octets from a set around the digit ranges.
    static constexpr std::string_view octets = "/0123456789:- \x80\xff";
    for (char a : octets)
        for (char b : octets)
            for (char c : octets) {
                const char code[3] = {a, b, c};
                const bool valid = a >= '2' && a <= '5' && b >= '0' && b <= '5' && c >= '0' && c <= '9';
                INFO(smtpio::escape(std::string_view(code, 3)));
                CHECK(smtpio::proto::detail::parse_reply_code(code) ==
                      (valid ? (a - '0') * 100 + (b - '0') * 10 + (c - '0') : 0));
            }
    // Every string of up to 7 octets over the characters of an enhanced code.
    const std::string_view alphabet = "24501.9 x";
    std::string s;
    std::size_t checked = 0;
    auto visit = [&](auto& self, std::size_t depth) -> void {
        smtpio::enhanced_status a{9, 9, 9}, b{9, 9, 9};
        const std::size_t n = smtpio::proto::detail::parse_enhanced(s, a);
        if (n != old_impl::parse_enhanced(s, b) || a != b) FAIL_CHECK("'" << s << "'");
        ++checked;
        if (depth == 7) return;
        for (char c : alphabet) {
            s.push_back(c);
            self(self, depth + 1);
            s.pop_back();
        }
    };
    visit(visit, 0);
    CHECK(checked == 5380840); // (9^8 - 1) / 8
}

TEST_CASE("replies parse as before on random and mutated input, split at random", "[proto][parser]") {
    using smtpio::proto::reply_limits;
    std::mt19937_64 rng(0x2e91'1e5'0a57'2026ull);
    auto pick = [&rng](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    static constexpr std::string_view codes[] = {"250", "220", "354", "421", "550", "235", "251", "559", "199",
                                                 "600", "2x0", "25",  "2500", "",   "260", "5 0"};
    static constexpr std::string_view enh[] = {"2.0.0 ", "2.1.5 ", "5.7.1 ", "4.2.0", "2.10.100 ", "2.0.0",
                                               "5.1.1x", "2.0000.0 ", "2..0 ", "3.0.0 ", "2.999.999 "};
    static constexpr std::string_view text_octets = "abcdefghij OK.queued-as_0123456789\t\x01\x7f\x80\xc3\xa9";
    static constexpr std::string_view ends[] = {"\r\n", "\r\n", "\r\n", "\r\n", "\r\n", "\r\n", "\n", "\r", "\r\r\n", ""};
    const reply_limits limit_set[] = {{}, {32, 4, 100}, {6, 2, 12}, {80, 3, 100}, {12, 1, 40}, {20, 0, 20}, {512, 3, 1024}};
    auto random_line = [&](std::string& out, std::string_view code, char sep) {
        out += code;
        if (sep) out += sep;
        if (pick(3) == 0) out += enh[pick(std::size(enh))];
        for (std::size_t n = pick(4) == 0 ? pick(60) : pick(12); n > 0; --n) {
            std::size_t r = pick(200);
            out += r == 0 ? '\r' : r == 1 ? '\n' : text_octets[pick(text_octets.size())];
        }
        out += ends[pick(std::size(ends))];
    };
    constexpr int rounds = smtpio::test::rounds(150'000, 4);
    for (int round = 0; round < rounds; ++round) {
        std::string in;
        for (std::size_t replies = 1 + pick(3); replies > 0; --replies) {
            std::string_view code = pick(8) == 0 ? codes[pick(std::size(codes))] : codes[pick(4)];
            for (std::size_t more = pick(3) == 0 ? pick(4) : 0; more > 0; --more)
                random_line(in, pick(10) == 0 ? codes[pick(std::size(codes))] : code, '-');
            const std::size_t s = pick(10);
            random_line(in, code, s == 0 ? '\0' : s == 1 ? '-' : s == 2 ? 'x' : ' ');
        }
        for (std::size_t flips = pick(4) == 0 ? 1 + pick(3) : 0; flips > 0 && !in.empty(); --flips)
            in[pick(in.size())] = static_cast<char>(rng());
        std::vector<std::size_t> cuts;
        switch (pick(4)) {
        case 0: break; // whole
        case 1:
            for (std::size_t i = 1; i < in.size(); ++i) cuts.push_back(i); // one octet at a time
            break;
        default:
            for (std::size_t at = pick(8); at < in.size(); at += 1 + pick(12)) cuts.push_back(at);
        }
        const bool enhanced = pick(2) == 0;
        const reply_limits& lim = limit_set[pick(std::size(limit_set))];
        INFO("round " << round << " enhanced " << enhanced << " limits " << lim.max_line_length << "/" << lim.max_lines
                      << "/" << lim.max_reply_bytes << ": " << smtpio::escape(in));
        check_same_as_old(in, cuts, enhanced, lim);
    }
}

TEST_CASE("empty input, null data included, changes nothing but starting the next reply", "[proto][parser]") {
    reply_parser p;
    old_impl::reply_parser before;
    auto same = [&](std::string_view in) {
        auto a = p.put(in);
        auto b = before.put(in);
        REQUIRE(a.state == b.state);
        REQUIRE(a.consumed == b.consumed);
        REQUIRE(p.in_progress() == before.in_progress());
        return a;
    };
    CHECK(same(std::string_view{}).state == status::need_more); // data() is null
    CHECK(same("250 ok\r\n").state == status::done);
    CHECK(same(std::string_view{}).state == status::need_more);
    CHECK(same("250-a\r\n").state == status::need_more);
    CHECK(same(std::string_view{}).state == status::need_more);
    CHECK(p.in_progress());
    CHECK(same("250 b\r\n").state == status::done);
    CHECK(p.get().text == "a\nb");
    smtpio::proto::connection_state st; // its read buffer starts with no storage at all
    CHECK(st.try_reply() == status::need_more);
}

TEST_CASE("the first CR or LF is found at every offset, across 16-octet blocks", "[proto][parser]") {
    using smtpio::proto::detail::find_cr_or_lf;
    for (std::size_t n = 0; n <= 50; ++n) {
        const std::string plain(n, 'x');
        CHECK(find_cr_or_lf(plain.data(), n) == n);
        for (std::size_t at = 0; at < n; ++at) {
            for (char c : {'\r', '\n'}) {
                std::string s = plain;
                s[at] = c;
                // A later CR or LF and octets that differ from them by one bit change nothing.
                if (at + 1 < n) s[n - 1] = c == '\r' ? '\n' : '\r';
                for (std::size_t k = 0; k < at; ++k)
                    s[k] = "\x0c\x0b\x8d\x8a\x0e"[k % 5];
                INFO("length " << n << ", at " << at << ", " << (c == '\r' ? "CR" : "LF"));
                CHECK(find_cr_or_lf(s.data(), n) == at);
            }
        }
    }
    // Octets past the length are not looked at, whether the length ends inside a
    // 16-octet block or on its edge.
    for (char c : {'\r', '\n'}) {
        for (std::size_t n = 0; n <= 48; ++n) {
            std::string s(64, 'x');
            std::fill(s.begin() + static_cast<std::ptrdiff_t>(n), s.end(), c);
            INFO("length " << n << ", " << (c == '\r' ? "CR" : "LF") << " after it");
            CHECK(find_cr_or_lf(s.data(), n) == n);
        }
    }
}

TEST_CASE("first-line fast path: a first line longer than one block, ended at every offset",
          "[proto][parser]") {
    for (std::size_t len = 5; len <= 70; ++len) {
        std::string line = "250";
        if (len > 5) line += ' ' + std::string(len - 6, 'a');
        line += "\r\n";
        REQUIRE(line.size() == len);
        for (const std::string& rest : {std::string(), std::string("250 next\r\n"), std::string("25")}) {
            INFO("line of " << len << " octets, then " << smtpio::escape(rest));
            reply_parser p;
            auto r = p.put(line + rest);
            REQUIRE(r.state == status::done);
            CHECK(r.consumed == len);
            CHECK(p.get().code == 250);
            CHECK(p.get().text == (len > 6 ? std::string(len - 6, 'a') : std::string()));
            check_same_as_old(line + rest, {}, false, {});
            // Cut anywhere (a CRLF across two calls and block edges included).
            for (std::size_t cut = 1; cut < len + rest.size(); ++cut)
                check_same_as_old(line + rest, {cut}, false, {});
        }
        // The same line as the first of a multiline reply, and with a bare CR or LF inside it.
        std::string cont = line;
        cont[3] = '-';
        check_same_as_old(cont + "250 last\r\n", {}, false, {});
        if (len > 8) {
            for (std::size_t at = 4; at + 2 < len; ++at) {
                for (char c : {'\r', '\n'}) {
                    std::string bad = line;
                    bad[at] = c;
                    INFO("line of " << len << " octets, " << (c == '\r' ? "CR" : "LF") << " at " << at);
                    CHECK(parse_every_split(bad).ec == errc::reply_malformed);
                    check_same_as_old(bad, {}, false, {});
                }
            }
        }
    }
}
