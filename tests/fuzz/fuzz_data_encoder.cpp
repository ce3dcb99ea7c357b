//
// fuzz_data_encoder -- smtpio::proto::data_encoder (DATA dot-stuffing, RFC 5321
// 4.5.2; BDAT normalisation, RFC 3030) and body_scanner on any message.
//
// Input: [flags] [split seed] [message...]
//   flags bits 0-1  mode: 0 and 3 dot_stuffed (DATA), 1 chunked (BDAT), 2 binary
//   flags bits 2-3  line limit: 0 the default 998, 1 disabled, 2 = 8, 3 = 64
//   split seed      how the message is cut into encode() calls (fuzz_common.hpp)
//
// Invariants (the reference below is the obvious octet-at-a-time definition):
//  - one piece, one octet at a time and the fuzzer's split give identical output
//    and the same error; the raw overload never writes past max_output(n);
//  - an error happens exactly when the message has a NUL or a line over the
//    limit (binary mode: never), it is the one met first, and the output before
//    it is a prefix of the error-free output;
//  - dot_stuffed: with the "\r\n" that ends the DATA command in front, the output
//    has CRLF line ends only, no NUL, no bare CR or LF, none of "\n.\n",
//    "\r.\r", "\r.\n", "\n.\r", and "\r\n.\r\n" only as its last five octets;
//    un-stuffing it gives back the normalised message (every CR LF, bare CR and
//    bare LF a CRLF; CR CR LF two line ends), with a CRLF added at the end when
//    the message did not end with a line end;
//  - chunked: the normalised message with that CRLF; binary: the message as is;
//  - body_scanner's facts (size, 8-bit, NUL, longest line) agree with the
//    reference in any split, and saw_8bit()/input_octets() with the encoder;
//  - encodes_verbatim() holds exactly when the output is the message itself
//    (plus "." CRLF for DATA), in any split: the session copies such bodies;
//  - reset() starts over: encoding again gives the same output.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "fuzz_common.hpp"

#include <smtpio/proto/data_encoder.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

using smtpio::errc;
using smtpio::proto::body_facts;
using smtpio::proto::body_scanner;
using smtpio::proto::data_encoder;
using smtpio::proto::encoder_limits;
using smtpio::proto::encoding;
using smtpio::fuzz::show;

namespace {

// ---- the reference ------------------------------------------------------------------

// Every CR LF, bare CR and bare LF becomes CRLF.
std::string normalise(std::string_view in) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\r') {
            out += "\r\n";
            if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
        } else if (in[i] == '\n') {
            out += "\r\n";
        } else {
            out += in[i];
        }
    }
    return out;
}

bool ends_with_crlf(std::string_view s) { return s.size() >= 2 && s.substr(s.size() - 2) == "\r\n"; }

// The facts and the first error, reading the normalised message's lines.
struct expectation {
    std::string normalised;   // with the final CRLF added when missing
    body_facts facts;
    std::error_code error;    // the first NUL or over-long line (not for binary)
};

expectation expect(std::string_view in, std::size_t max_line) {
    expectation x;
    x.normalised = normalise(in);
    if (!x.normalised.empty() && !ends_with_crlf(x.normalised)) x.normalised += "\r\n";
    x.facts.normalised_size = x.normalised.size();
    std::size_t len = 0;
    for (std::size_t i = 0; i < x.normalised.size(); ++i) {
        char c = x.normalised[i];
        if (c == '\r') { // always followed by '\n' here
            if (len > x.facts.longest_line) x.facts.longest_line = len;
            len = 0;
            ++i;
            continue;
        }
        ++len;
        if (c == '\0') x.facts.has_nul = true;
        if (static_cast<unsigned char>(c) >= 0x80) x.facts.eight_bit = true;
        if (!x.error) {
            // The encoder stops at a NUL before counting it, and at the first
            // octet that takes a line over the limit.
            if (c == '\0') x.error = errc::body_contains_nul;
            else if (max_line != 0 && len > max_line) x.error = errc::body_line_too_long;
        }
    }
    return x;
}

// What a receiver does with DATA (RFC 5321 4.5.2): remove the terminator, then
// one leading "." from every line.
std::string unstuff(std::string_view out) {
    SMTPIO_FUZZ_CHECK(out == ".\r\n" || (out.size() >= 5 && out.substr(out.size() - 5) == "\r\n.\r\n"),
                      "no terminator: " + show(out.substr(out.size() > 40 ? out.size() - 40 : 0)));
    std::string_view body = out.substr(0, out.size() - 3);
    std::string r;
    bool bol = true;
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (bol && body[i] == '.') {
            SMTPIO_FUZZ_CHECK(i + 1 < body.size() && body[i + 1] == '.', "an unstuffed leading dot at " + std::to_string(i));
            bol = false;
            continue;
        }
        r += body[i];
        bol = body[i] == '\n';
    }
    return r;
}

void check_smuggling(std::string_view out) {
    // The DATA command's CRLF precedes the data on the wire.
    std::string wire = "\r\n";
    wire += out;
    for (std::size_t i = 0; i < wire.size(); ++i) {
        char c = wire[i];
        SMTPIO_FUZZ_CHECK(c != '\0', "NUL at " + std::to_string(i));
        if (c == '\r') SMTPIO_FUZZ_CHECK(i + 1 < wire.size() && wire[i + 1] == '\n', "bare CR at " + std::to_string(i));
        if (c == '\n') SMTPIO_FUZZ_CHECK(i > 0 && wire[i - 1] == '\r', "bare LF at " + std::to_string(i));
    }
    // The terminator "\r\n.\r\n" holds "\n.\r": look before its last CRLF.
    std::string_view head = std::string_view(wire).substr(0, wire.size() - 2);
    for (std::string_view seq : {"\n.\n", "\r.\r", "\r.\n", "\n.\r"})
        SMTPIO_FUZZ_CHECK(head.find(seq) == std::string::npos, "smuggling sequence " + show(seq));
    std::size_t eod = wire.find("\r\n.\r\n");
    SMTPIO_FUZZ_CHECK(eod == wire.size() - 5, "end of data at " + std::to_string(eod) + " of " + std::to_string(wire.size()));
}

// ---- running the encoder --------------------------------------------------------------

struct encoded {
    std::string out;
    std::error_code error;
    bool eight_bit = false;
    std::uint64_t input = 0;
};

// Through the raw overload, each call into a heap block of exactly max_output(n)
// octets so that AddressSanitizer sees any write past it.
encoded encode_raw(data_encoder& enc, const std::vector<std::string_view>& pieces) {
    encoded r;
    std::uint64_t fed = 0;
    for (std::string_view p : pieces) {
        std::size_t cap = data_encoder::max_output(p.size());
        auto block = std::make_unique<char[]>(cap);
        std::error_code ec;
        std::size_t n = enc.encode(p.data(), p.size(), block.get(), ec);
        SMTPIO_FUZZ_CHECK(n <= cap, std::to_string(n) + " > " + std::to_string(cap));
        r.out.append(block.get(), n);
        fed += p.size();
        if (ec) {
            r.error = ec;
            break;
        }
    }
    if (!r.error) {
        char tail[5];
        std::size_t n = enc.finish(tail);
        SMTPIO_FUZZ_CHECK(n <= 5, std::to_string(n));
        r.out.append(tail, n);
    }
    r.eight_bit = enc.saw_8bit();
    r.input = enc.input_octets();
    SMTPIO_FUZZ_CHECK(r.input == fed, std::to_string(r.input) + " vs " + std::to_string(fed));
    return r;
}

// Through the buffer overload.
encoded encode_buffer(encoding mode, encoder_limits lim, const std::vector<std::string_view>& pieces) {
    data_encoder enc(mode, lim);
    smtpio::proto::buffer out;
    encoded r;
    for (std::string_view p : pieces) {
        if (auto ec = enc.encode(p, out)) {
            r.error = ec;
            break;
        }
    }
    if (!r.error) enc.finish(out);
    r.out = out.str();
    r.eight_bit = enc.saw_8bit();
    r.input = enc.input_octets();
    return r;
}

body_facts scan(const std::vector<std::string_view>& pieces) {
    body_scanner s;
    for (std::string_view p : pieces) s.scan(p);
    return s.facts();
}

std::string describe(const body_facts& f) {
    return "size=" + std::to_string(f.normalised_size) + " 8bit=" + std::to_string(f.eight_bit) +
           " nul=" + std::to_string(f.has_nul) + " longest=" + std::to_string(f.longest_line);
}

bool operator==(const body_facts& a, const body_facts& b) {
    return a.normalised_size == b.normalised_size && a.eight_bit == b.eight_bit && a.has_nul == b.has_nul &&
           a.longest_line == b.longest_line;
}

// Same error; without one, the same output.  (With an error, what each split
// wrote before it differs: octets of earlier calls are out already.  Each must
// still be a prefix of the error-free output, checked by the caller.)
void same(const encoded& a, const encoded& b, const char* what) {
    SMTPIO_FUZZ_CHECK(a.error == b.error, std::string(what) + ": " + a.error.message() + " vs " + b.error.message());
    if (a.error) return;
    SMTPIO_FUZZ_CHECK(a.out == b.out, std::string(what) + ":\n  " + show(a.out) + "\n  " + show(b.out));
    SMTPIO_FUZZ_CHECK(a.eight_bit == b.eight_bit, what);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const unsigned m = data[0] & 3u;
    const encoding mode = m == 1 ? encoding::chunked : m == 2 ? encoding::binary : encoding::dot_stuffed;
    const unsigned l = (data[0] >> 2) & 3u;
    const std::size_t max_line = l == 0 ? 998 : l == 1 ? 0 : l == 2 ? 8 : 64;
    const encoder_limits lim{max_line};
    const std::uint8_t seed = data[1];
    std::string_view msg = smtpio::fuzz::as_text(data + 2, size - 2);

    const std::vector<std::string_view> whole_p = msg.empty() ? std::vector<std::string_view>{} : std::vector{msg};
    const auto bytes_p = smtpio::fuzz::split(msg, 1);
    const auto chosen_p = smtpio::fuzz::split(msg, seed);

    // The scanner, in any split, against the reference.
    const expectation x = expect(msg, max_line);
    body_facts f = scan(whole_p);
    SMTPIO_FUZZ_CHECK(f == x.facts, "scanner " + describe(f) + " reference " + describe(x.facts));
    SMTPIO_FUZZ_CHECK(scan(bytes_p) == f, "scanner byte by byte " + describe(scan(bytes_p)));
    SMTPIO_FUZZ_CHECK(scan(chosen_p) == f, "scanner split " + describe(scan(chosen_p)));

    // The encoder, in any split, through both overloads.
    data_encoder enc(mode, lim);
    encoded whole = encode_raw(enc, whole_p);
    std::vector<encoded> others;
    {
        data_encoder e1(mode, lim), e2(mode, lim);
        others.push_back(encode_raw(e1, bytes_p));
        others.push_back(encode_raw(e2, chosen_p));
        others.push_back(encode_buffer(mode, lim, chosen_p));
        enc.reset();
        others.push_back(encode_raw(enc, chosen_p));
    }
    const char* names[] = {"byte by byte", "split", "buffer overload", "after reset()"};
    for (std::size_t i = 0; i < others.size(); ++i) same(whole, others[i], names[i]);
    SMTPIO_FUZZ_CHECK(enc.mode() == mode, "mode");

    if (mode == encoding::binary) {
        SMTPIO_FUZZ_CHECK(!whole.error, whole.error.message());
        SMTPIO_FUZZ_CHECK(whole.out == msg, "binary changed the message");
        SMTPIO_FUZZ_CHECK(whole.eight_bit == x.facts.eight_bit, "saw_8bit");
        return 0;
    }

    // The error is the first one in the message, and the output before it a prefix.
    SMTPIO_FUZZ_CHECK(whole.error == x.error, "encoder: '" + whole.error.message() + "' reference: '" + x.error.message() + "'");
    std::string expected = mode == encoding::chunked ? x.normalised : std::string{};
    if (mode == encoding::dot_stuffed) {
        // Forward definition of the stuffed output, to compare prefixes on error.
        bool bol = true;
        for (char c : x.normalised) {
            if (bol && c == '.') expected += '.';
            expected += c;
            bol = c == '\n';
        }
        expected += ".\r\n";
    }
    if (whole.error) {
        others.push_back(whole);
        for (const auto& o : others)
            SMTPIO_FUZZ_CHECK(o.out.size() <= expected.size() && expected.compare(0, o.out.size(), o.out) == 0,
                              "output before the error is not a prefix: " + show(o.out));
        return 0;
    }
    SMTPIO_FUZZ_CHECK(whole.eight_bit == x.facts.eight_bit, "saw_8bit");
    // The copy fast path: the facts say "verbatim" exactly when encoding changes
    // nothing but the end of data, in any split.
    const bool verbatim = whole.out == std::string(msg) + (mode == encoding::dot_stuffed ? ".\r\n" : "");
    SMTPIO_FUZZ_CHECK(f.encodes_verbatim(mode) == verbatim, "encodes_verbatim " + std::to_string(!verbatim));
    SMTPIO_FUZZ_CHECK(scan(bytes_p).encodes_verbatim(mode) == verbatim, "encodes_verbatim byte by byte");
    SMTPIO_FUZZ_CHECK(scan(chosen_p).encodes_verbatim(mode) == verbatim, "encodes_verbatim split");
    if (mode == encoding::chunked) {
        SMTPIO_FUZZ_CHECK(whole.out == x.normalised, show(whole.out) + "\n  vs " + show(x.normalised));
        SMTPIO_FUZZ_CHECK(whole.out.size() == f.normalised_size, "size fact");
        for (std::size_t i = 0; i < whole.out.size(); ++i) {
            if (whole.out[i] == '\r') SMTPIO_FUZZ_CHECK(i + 1 < whole.out.size() && whole.out[i + 1] == '\n', "bare CR");
            if (whole.out[i] == '\n') SMTPIO_FUZZ_CHECK(i > 0 && whole.out[i - 1] == '\r', "bare LF");
        }
        return 0;
    }
    check_smuggling(whole.out);
    std::string back = unstuff(whole.out);
    SMTPIO_FUZZ_CHECK(back == x.normalised, "unstuffed " + show(back) + "\n  normalised " + show(x.normalised));
    SMTPIO_FUZZ_CHECK(whole.out == expected, "stuffed " + show(whole.out) + "\n  expected " + show(expected));
    return 0;
}
