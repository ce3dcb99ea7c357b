#include "test_budget.hpp"

#include <smtpio/proto/data_encoder.hpp>
#include <smtpio/reply.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using smtpio::errc;
using namespace smtpio::proto;

namespace {

// The obvious byte-at-a-time definition the fast encoder must agree with.
std::string reference_normalise(std::string_view in) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '\r') {
            out += "\r\n";
            if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
        } else if (c == '\n') {
            out += "\r\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string reference_stuff(const std::string& normalised) {
    std::string out;
    bool bol = true;
    for (std::size_t i = 0; i < normalised.size(); ++i) {
        if (bol && normalised[i] == '.') out += '.';
        out += normalised[i];
        bol = normalised[i] == '\n';
    }
    if (!out.empty() && !(out.size() >= 2 && out.substr(out.size() - 2) == "\r\n")) out += "\r\n";
    out += ".\r\n";
    return out;
}

std::string encode_in_chunks(std::string_view in, std::size_t step, encoding mode = encoding::dot_stuffed,
                             std::error_code* err = nullptr) {
    data_encoder enc(mode);
    buffer out;
    for (std::size_t pos = 0; pos < in.size(); pos += step) {
        auto ec = enc.encode(in.substr(pos, step), out);
        if (ec) {
            if (err) *err = ec;
            return out.str();
        }
    }
    enc.finish(out);
    return out.str();
}

// Undo dot-stuffing and remove the terminator: what a receiver reconstructs.
std::string unstuff(const std::string& wire) {
    REQUIRE(wire.size() >= 3);
    REQUIRE(wire.substr(wire.size() - 3) == ".\r\n");
    std::string body = wire.substr(0, wire.size() - 3);
    std::string out;
    bool bol = true;
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (bol && body[i] == '.') {
            REQUIRE(i + 1 < body.size());
            REQUIRE(body[i + 1] == '.'); // a lone leading dot would end the data
            ++i;
        }
        out += body[i];
        bol = body[i] == '\n';
    }
    return out;
}

bool only_crlf_line_ends(const std::string& s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return false;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
    }
    return true;
}

// The body facts by their definition, an octet at a time over the whole text:
// normalise (CR LF, bare CR, bare LF each a CRLF; a CRLF added at the end when
// missing), then read the lines.
body_facts reference_facts(std::string_view in) {
    body_facts f;
    std::string n;
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '\r' || c == '\n') {
            n += "\r\n";
            if (c == '\r' && i + 1 < in.size() && in[i + 1] == '\n') ++i;
            else f.bare_line_end = true;
            continue;
        }
        n += c;
        if (c == '\0') f.has_nul = true;
        if (static_cast<unsigned char>(c) >= 0x80) f.eight_bit = true;
    }
    if (!n.empty() && (n.size() < 2 || n.compare(n.size() - 2, 2, "\r\n") != 0)) n += "\r\n";
    f.normalised_size = n.size();
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < n.size(); ++i) {
        if (n[i] != '\r') continue;
        f.longest_line = std::max(f.longest_line, i - line_start);
        if (n[line_start] == '.') f.dot_line = true;
        line_start = i + 2;
        ++i;
    }
    f.ends_with_line_end = in.empty() || in.back() == '\n';
    return f;
}

std::string describe(const body_facts& f) {
    return "size " + std::to_string(f.normalised_size) + " 8bit " + std::to_string(f.eight_bit) + " nul " +
           std::to_string(f.has_nul) + " longest " + std::to_string(f.longest_line) + " bare " +
           std::to_string(f.bare_line_end) + " dot " + std::to_string(f.dot_line) + " ends " +
           std::to_string(f.ends_with_line_end);
}

bool same_facts(const body_facts& a, const body_facts& b) {
    return a.normalised_size == b.normalised_size && a.eight_bit == b.eight_bit && a.has_nul == b.has_nul &&
           a.longest_line == b.longest_line && a.bare_line_end == b.bare_line_end && a.dot_line == b.dot_line &&
           a.ends_with_line_end == b.ends_with_line_end;
}

// Scans `text` cut at the offsets in `cuts` (ascending).
body_facts scan_cut(std::string_view text, const std::vector<std::size_t>& cuts) {
    body_scanner sc;
    std::size_t at = 0;
    for (std::size_t c : cuts) {
        sc.scan(text.substr(at, c - at));
        at = c;
    }
    sc.scan(text.substr(at));
    return sc.facts();
}

// The scanner agrees with reference_facts() on `text` in one piece, an octet at
// a time, cut once at every offset, and cut twice around every block edge.
void check_every_split(const std::string& text) {
    const body_facts want = reference_facts(text);
    INFO(smtpio::escape(text) << " (" << text.size() << " octets)");
    INFO("reference: " << describe(want));
    body_scanner whole;
    whole.scan(text);
    INFO("one piece: " << describe(whole.facts()));
    CHECK(same_facts(whole.facts(), want));
    body_scanner bytes;
    for (char c : text) bytes.scan(std::string_view(&c, 1));
    INFO("octet by octet: " << describe(bytes.facts()));
    CHECK(same_facts(bytes.facts(), want));
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
        body_facts got = scan_cut(text, {cut});
        if (!same_facts(got, want)) {
            FAIL_CHECK("cut at " << cut << ": " << describe(got));
            return;
        }
    }
    for (std::size_t edge = 64; edge < text.size() + 2; edge += 64) {
        for (std::size_t a = edge - 3; a <= edge + 1 && a <= text.size(); ++a) {
            for (std::size_t b = a; b <= a + 66 && b <= text.size(); b += 1 + b % 5) {
                body_facts got = scan_cut(text, {a, b});
                if (!same_facts(got, want)) {
                    FAIL_CHECK("cut at " << a << " and " << b << ": " << describe(got));
                    return;
                }
            }
        }
    }
}

std::string lines_of(std::size_t count, std::size_t len, char fill = 'x') {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) out += std::string(len, fill) + "\r\n";
    return out;
}

} // namespace

TEST_CASE("exact encoder output", "[proto][encoder]") {
    struct row {
        std::string in, out;
    };
    std::vector<row> rows = {
        {"", ".\r\n"},
        {"a", "a\r\n.\r\n"},
        {"a\r\n", "a\r\n.\r\n"},
        {"a\n", "a\r\n.\r\n"},
        {"a\r", "a\r\n.\r\n"},
        {".", "..\r\n.\r\n"},
        {".\r\n", "..\r\n.\r\n"},
        {"..", "...\r\n.\r\n"},
        {"a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n"},
        {"a\r\n.b\r\n", "a\r\n..b\r\n.\r\n"},
        {"a.b\r\n", "a.b\r\n.\r\n"},
        {"\r\n\r\n", "\r\n\r\n.\r\n"},
        {"\n.\n", "\r\n..\r\n.\r\n"},
        {"\r.\r", "\r\n..\r\n.\r\n"},
        {"\r.\n", "\r\n..\r\n.\r\n"},
        {"\n.\r", "\r\n..\r\n.\r\n"},
        {"\r\n.\n", "\r\n..\r\n.\r\n"},
        {"\n.\r\n", "\r\n..\r\n.\r\n"},
        {"\r.\r\n", "\r\n..\r\n.\r\n"},
        {"\r\n.\r", "\r\n..\r\n.\r\n"},
        {"\r\r\n", "\r\n\r\n.\r\n"},
        {"x\r\r\n.\r\r\n", "x\r\n\r\n..\r\n\r\n.\r\n"},
        {"\n\n", "\r\n\r\n.\r\n"},
        {"\r\r", "\r\n\r\n.\r\n"},
        {"a\n\rb", "a\r\n\r\nb\r\n.\r\n"},
    };
    for (const auto& r : rows) {
        for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{1000}}) {
            INFO("input " << smtpio::escape(r.in) << " step " << step);
            CHECK(encode_in_chunks(r.in, step) == r.out);
        }
    }
}

TEST_CASE("every smuggling sequence, anywhere in a body, is neutralised", "[proto][encoder]") {
    std::vector<std::string> seqs = {"\n.\n", "\r.\r", "\r.\n", "\n.\r", "\r\n.\n", "\n.\r\n",
                                     "\r.\r\n", "\r\n.\r", "\r\r\n", "\r\n.\r\n", "\n..\n", ".\r\n"};
    for (const auto& seq : seqs) {
        for (const std::string& pre : {std::string(""), std::string("x"), std::string(40, 'a'), std::string("a\r\n")}) {
            for (const std::string& post : {std::string(""), std::string("MAIL FROM:<evil@x>\r\n"), std::string("y")}) {
                std::string in = pre + seq + post;
                for (std::size_t step : {std::size_t{1}, std::size_t{5}, std::size_t{17}, in.size() + 1}) {
                    std::string wire = encode_in_chunks(in, step);
                    INFO(smtpio::escape(in) << " step " << step << " -> " << smtpio::escape(wire));
                    CHECK(only_crlf_line_ends(wire));
                    // The only "CRLF . CRLF" is the final one.
                    std::string framed = "\r\n" + wire;
                    CHECK(framed.find("\r\n.\r\n") == framed.size() - 5);
                    CHECK(unstuff(wire) == reference_normalise(in) +
                                               (reference_normalise(in).empty() ||
                                                        reference_normalise(in).substr(reference_normalise(in).size() - 2) == "\r\n"
                                                    ? ""
                                                    : "\r\n"));
                }
            }
        }
    }
}

TEST_CASE("NUL octets and long lines are errors", "[proto][encoder]") {
    std::error_code ec;
    encode_in_chunks(std::string("ab\0cd", 5), 2, encoding::dot_stuffed, &ec);
    CHECK(ec == errc::body_contains_nul);
    ec.clear();
    encode_in_chunks(std::string(998, 'x') + "\r\n", 100, encoding::dot_stuffed, &ec);
    CHECK_FALSE(ec);
    encode_in_chunks(std::string(999, 'x') + "\r\n", 100, encoding::dot_stuffed, &ec);
    CHECK(ec == errc::body_line_too_long);
    ec.clear();
    // The limit counts octets before stuffing: a 998-octet line starting with "." is fine.
    encode_in_chunks("." + std::string(997, 'x'), 7, encoding::dot_stuffed, &ec);
    CHECK_FALSE(ec);
    // Binary mode passes NUL and long lines through unchanged, without a terminator.
    std::string bin = std::string("a\0\r\n.\n\r", 7) + std::string(2000, 'z');
    CHECK(encode_in_chunks(bin, 13, encoding::binary) == bin);
}

TEST_CASE("chunked mode normalises without dot-stuffing", "[proto][encoder]") {
    CHECK(encode_in_chunks(".a\n.\r\rb", 1, encoding::chunked) == ".a\r\n.\r\n\r\nb\r\n");
    CHECK(encode_in_chunks("a\r\n", 1, encoding::chunked) == "a\r\n");
    CHECK(encode_in_chunks("", 1, encoding::chunked) == "");
}

TEST_CASE("random inputs agree with the reference in any chunking", "[proto][encoder]") {
    std::mt19937 rng(12345);
    const char alphabet[] = {'a', 'b', '.', '\r', '\n', ' ', '\xc3', '\xa9', 'z'};
    for (int iter = 0; iter < 2000; ++iter) {
        std::size_t len = rng() % 200;
        std::string in;
        for (std::size_t i = 0; i < len; ++i) in += alphabet[rng() % sizeof alphabet];
        std::size_t step = 1 + rng() % 40;
        std::string got = encode_in_chunks(in, step);
        INFO(smtpio::escape(in) << " step " << step);
        REQUIRE(got == reference_stuff(reference_normalise(in)));
    }
}

TEST_CASE("8-bit detection and the body scanner", "[proto][encoder]") {
    data_encoder enc;
    buffer out;
    REQUIRE_FALSE(enc.encode("plain ascii\r\n" + std::string(40, 'x'), out));
    CHECK_FALSE(enc.saw_8bit());
    REQUIRE_FALSE(enc.encode(std::string(20, 'y') + "caf\xc3\xa9", out));
    CHECK(enc.saw_8bit());

    body_scanner s;
    s.scan("ab\r");
    s.scan("\ncd\n");
    s.scan(std::string("e\0", 2));
    auto f = s.facts();
    CHECK(f.normalised_size == std::string("ab\r\ncd\r\ne\0\r\n", 12).size());
    CHECK(f.has_nul);
    CHECK_FALSE(f.eight_bit);
    CHECK(f.longest_line == 2);
    body_scanner s2;
    s2.scan(std::string(1200, 'q') + "\xff\n");
    CHECK(s2.facts().longest_line == 1201);
    CHECK(s2.facts().eight_bit);
}

// The copy-instead-of-encode fast path is only as safe as these facts: whenever the
// scanner says a body encodes verbatim, encoding it must give back exactly its
// octets (plus the end of data).  Checked against the encoder itself on random
// bodies over an alphabet of line ends and dots, scanned in random pieces.
TEST_CASE("scanner: encodes_verbatim agrees with the encoder, in any split", "[proto][scanner][security]") {
    std::mt19937 rng(20261129);
    const char alphabet[] = {'a', 'b', '.', '\r', '\n', '\r', '\n', '.'};
    int verbatim_seen[2] = {0, 0};
    for (int iter = 0, iters = smtpio::test::rounds(40000, 2); iter < iters; ++iter) {
        std::size_t len = rng() % 200;
        std::string text;
        for (std::size_t i = 0; i < len; ++i) text += alphabet[rng() % sizeof alphabet];
        if (iter % 3 == 0) {
            // Mostly well-formed text too: CRLF lines, some starting with a dot.
            text.clear();
            for (std::size_t l = rng() % 12; l > 0; --l) text += (rng() % 5 == 0 ? ".x" : "line") + std::string("\r\n");
        }
        if (iter % 400 == 0) text = std::string(130, 'q') + "\r\n" + std::string(70, 'z') + "\r\n.\r\n"; // long runs, SIMD blocks
        if (iter % 3 == 1) {
            // Several blocks of clean CRLF text, lines of any length up to a
            // few blocks (the scanner's bit-operation path), with rare defects:
            // a bare CR or LF, a CR CR LF, a dot or 8-bit octet after a line end.
            text.clear();
            const std::size_t size = 64 + rng() % 700;
            while (text.size() < size) {
                const std::size_t r = rng() % 100;
                const std::size_t line_len = r < 70 ? 60 + rng() % 20 : r < 90 ? rng() % 8 : rng() % 200;
                text += std::string(line_len, static_cast<char>('a' + rng() % 26)) + "\r\n";
            }
            for (std::size_t d = rng() % 4 == 0 ? 1 + rng() % 2 : 0; d > 0; --d) {
                const char* const defects[] = {"\r", "\n", "\r\r\n", "\r\n.", ".", "\xc3\xa9", "\n."};
                text.insert(rng() % (text.size() + 1), defects[rng() % 7]);
            }
            if (rng() % 8 == 0) text.resize(rng() % text.size()); // end anywhere
        }
        body_scanner sc;
        std::string cuts;
        std::size_t at = 0;
        while (at < text.size()) {
            // Pieces of any size, or (odd iterations) of at most two blocks.
            std::size_t n = 1 + rng() % (iter % 2 == 0 || text.size() - at < 130 ? text.size() - at : 130);
            sc.scan(std::string_view(text).substr(at, n));
            at += n;
            cuts += " " + std::to_string(at);
        }
        body_facts f = sc.facts();
        INFO("text " << smtpio::escape(text) << " cut at" << cuts);
        INFO("scanner " << describe(f) << ", reference " << describe(reference_facts(text)));
        REQUIRE(same_facts(f, reference_facts(text)));
        for (encoding mode : {encoding::dot_stuffed, encoding::chunked}) {
            data_encoder enc(mode);
            buffer out;
            REQUIRE_FALSE(enc.encode(text, out));
            std::string body_only(out.view());
            enc.finish(out);
            // Chunked mode writes the normalised body (with the CRLF finish() adds).
            if (mode == encoding::chunked) CHECK(out.view().size() == f.normalised_size);
            std::string tail = std::string(out.view()).substr(body_only.size());
            bool same = body_only == text && tail == (mode == encoding::dot_stuffed ? ".\r\n" : "");
            INFO("mode " << static_cast<int>(mode) << " text " << smtpio::escape(text));
            CHECK(f.encodes_verbatim(mode) == same);
            if (same) ++verbatim_seen[mode == encoding::chunked];
        }
    }
    CHECK(verbatim_seen[0] > 1000); // both outcomes were exercised
    CHECK(verbatim_seen[1] > 1000);
}

// The scanner reads 64-octet blocks; most take a few bit operations (no line
// end, or CRLF pairs only) and the rest the exact octet rules.  Each case puts
// something at a block or chunk edge; check_every_split() cuts everywhere.
TEST_CASE("scanner: block and chunk edges", "[proto][scanner]") {
    const std::string a63(63, 'a'), a62(62, 'a'), a61(61, 'a'), b100(100, 'b');
    SECTION("CRLF across a block edge") {
        check_every_split(a63 + "\r\n" + b100 + "\r\n");          // CR last in block 0, LF first in block 1
        check_every_split(a63 + "\r\n" + a63 + "\r\n" + b100);    // and again one octet later
        check_every_split(a62 + "\r\n" + b100 + "\r\n");          // LF last in block 0
        check_every_split(std::string(127, 'c') + "\r\n" + b100); // CR last in block 1
    }
    SECTION("a CR last in a block or chunk, then no LF") {
        check_every_split(a63 + "\rX" + b100 + "\r\n");
        check_every_split(a63 + "\r\r\n" + b100 + "\r\n");
        check_every_split(a63 + "\r.\r\n" + b100);
        check_every_split(a63 + "\r");
        check_every_split(std::string(200, 'd') + "\r");
        check_every_split(b100 + "\r\n" + a63 + "\r" + b100);
    }
    SECTION("bare LF at block edges") {
        check_every_split(a63 + "\n" + b100 + "\r\n");
        check_every_split(std::string(64, 'a') + "\n" + b100 + "\r\n");
        check_every_split(a62 + "\r\n\n" + b100 + "\r\n");
        check_every_split(b100 + "\r\n" + std::string(64, 'a') + "\n");
    }
    SECTION("a dot after a CRLF at block edges") {
        check_every_split(a62 + "\r\n." + b100 + "\r\n");   // the dot opens block 1
        check_every_split(a63 + "\r\n." + b100 + "\r\n");   // CRLF across the edge, then the dot
        check_every_split(a61 + "\r\n." + b100 + "\r\n");   // the dot last in block 0
        check_every_split(std::string(60, 'a') + "\r\n." + b100);
        check_every_split(b100 + "\r\n" + std::string(24, 'e') + "\r\n."); // the dot last in the chunk
        check_every_split("." + b100 + "\r\n");                           // the first line
        check_every_split(lines_of(3, 62) + ".\r\n");
    }
    SECTION("lines of 63, 64, 65, 998 and 999 octets") {
        for (std::size_t len : {std::size_t{62}, std::size_t{63}, std::size_t{64}, std::size_t{65}, std::size_t{127},
                                std::size_t{128}, std::size_t{998}, std::size_t{999}}) {
            std::string text = "short\r\n" + std::string(len, 'L') + "\r\n" + lines_of(3, 10);
            check_every_split(text);
            CHECK(reference_facts(text).longest_line == len);
            body_scanner sc;
            sc.scan(text);
            CHECK(sc.facts().longest_line == len);
            check_every_split(std::string(len, 'L') + "\r\n");
            check_every_split(std::string(len, 'L')); // the last line without its CRLF
        }
    }
    SECTION("short lines only") {
        check_every_split(lines_of(100, 0));
        check_every_split(lines_of(60, 1));
        check_every_split(lines_of(40, 3) + lines_of(5, 2));
        check_every_split(std::string("\r\n.\r\n..\r\n") + lines_of(30, 1, '.'));
        body_scanner sc;
        sc.scan(lines_of(200, 2));
        CHECK(sc.facts().longest_line == 2);
        CHECK(sc.facts().normalised_size == 800);
        CHECK(sc.facts().encodes_verbatim(encoding::dot_stuffed));
    }
    SECTION("8-bit and NUL octets in blocks of CRLF text") {
        const std::string text = lines_of(12, 70);
        for (std::size_t at : {std::size_t{0}, std::size_t{5}, std::size_t{63}, std::size_t{64}, std::size_t{100},
                               std::size_t{500}, text.size() - 40, text.size() - 3}) {
            std::string high = text, nul = text;
            high[at] = '\xe9';
            nul[at] = '\0';
            check_every_split(high);
            check_every_split(nul);
            body_scanner h, z;
            h.scan(high);
            z.scan(nul);
            CHECK(h.facts().eight_bit);
            CHECK_FALSE(h.facts().has_nul);
            CHECK(z.facts().has_nul);
            CHECK_FALSE(z.facts().eight_bit);
        }
        body_scanner plain;
        plain.scan(text);
        CHECK_FALSE(plain.facts().eight_bit);
        CHECK_FALSE(plain.facts().has_nul);
        CHECK(plain.facts().encodes_verbatim(encoding::dot_stuffed));
    }
    SECTION("a realistic message") {
        std::string msg = "From: a@example.org\r\nTo: b@example.net\r\nSubject: report\r\n\r\n";
        for (int i = 0; i < 25; ++i) msg += std::string(static_cast<std::size_t>(70 + i % 7), static_cast<char>('a' + i)) + "\r\n";
        check_every_split(msg);
        check_every_split(msg + ".\r\n");
        check_every_split(msg.substr(0, msg.size() - 1)); // ends with a CR
    }
}

#if defined(SMTPIO_HAVE_AVX2_DISPATCH)
// The AVX2 block loop runs on this CPU when it can; the SSE2 one must give
// the same state for the same chunk from the same starting state.
TEST_CASE("scanner: the SSE2 and AVX2 block loops agree", "[proto][scanner]") {
    if (!detail::cpu_has_avx2_bmi2()) {
        WARN("no AVX2 here: only the SSE2 loop runs (the other scanner tests check it)");
        return;
    }
    std::mt19937 rng(77);
    const char defects[] = {'\r', '\n', '.', '\0', '\xc3', 'x'};
    for (int iter = 0; iter < 3000; ++iter) {
        std::string text;
        const std::size_t size = rng() % 400;
        while (text.size() < size) text += std::string(rng() % 90, 'w') + (rng() % 6 == 0 ? "\r\n." : "\r\n");
        for (std::size_t d = rng() % 3; d > 0 && !text.empty(); --d) text[rng() % text.size()] = defects[rng() % sizeof defects];
        const std::size_t first = !text.empty() && rng() % 4 == 0 ? 1 : 0; // as after a CR that ended the last chunk
        if (first == 1) text[0] = '\n';
        const std::size_t carried = rng() % 3 == 0 ? rng() % 2000 : 0;        // octets of the line in earlier chunks
        auto run = [&](std::size_t (*blocks)(detail::scan_state&, std::size_t)) {
            detail::scan_state st{text.data(), text.size(), first - carried};
            st.longest = 40;
            detail::scan_tail(st, blocks(st, first));
            return st;
        };
        detail::scan_state a = run(detail::scan_blocks_sse2), b = run(detail::scan_blocks_avx2);
        INFO(smtpio::escape(text) << " from " << first << " carrying " << carried);
        REQUIRE(a.vlb == b.vlb);
        REQUIRE(a.extra == b.extra);
        REQUIRE(a.longest == b.longest);
        REQUIRE(a.skip_lf == b.skip_lf);
        REQUIRE(a.bare == b.bare);
        REQUIRE(a.dot == b.dot);
        REQUIRE(a.high == b.high);
        REQUIRE(a.nul == b.nul);
    }
}
#endif
