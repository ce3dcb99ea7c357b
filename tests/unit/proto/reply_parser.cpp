#include <smtpio/proto/reply_parser.hpp>

#include <catch2/catch.hpp>

#include <string>
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
