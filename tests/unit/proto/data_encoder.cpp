#include <smtpio/proto/data_encoder.hpp>
#include <smtpio/reply.hpp>

#include <catch2/catch.hpp>

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
    for (int iter = 0; iter < 40000; ++iter) {
        std::size_t len = rng() % 200;
        std::string text;
        for (std::size_t i = 0; i < len; ++i) text += alphabet[rng() % sizeof alphabet];
        if (iter % 3 == 0) {
            // Mostly well-formed text too: CRLF lines, some starting with a dot.
            text.clear();
            for (std::size_t l = rng() % 12; l > 0; --l) text += (rng() % 5 == 0 ? ".x" : "line") + std::string("\r\n");
        }
        if (iter % 400 == 0) text = std::string(130, 'q') + "\r\n" + std::string(70, 'z') + "\r\n.\r\n"; // long runs, SIMD blocks
        body_scanner sc;
        std::size_t at = 0;
        while (at < text.size()) {
            std::size_t n = 1 + rng() % (text.size() - at);
            sc.scan(std::string_view(text).substr(at, n));
            at += n;
        }
        body_facts f = sc.facts();
        for (encoding mode : {encoding::dot_stuffed, encoding::chunked}) {
            data_encoder enc(mode);
            buffer out;
            REQUIRE_FALSE(enc.encode(text, out));
            std::string body_only(out.view());
            enc.finish(out);
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
