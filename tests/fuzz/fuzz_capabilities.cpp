//
// fuzz_capabilities -- smtpio::proto::capabilities::from_ehlo (RFC 5321 4.1.1.1)
// on any EHLO reply.
//
// Input: [mode] [bytes...]
//   mode bit 0 = 0  the bytes are the server's reply, parsed by reply_parser
//                   (the first complete reply is used, whatever its code);
//   mode bit 0 = 1  the bytes are the reply's lines, one per '\n' (CR and LF
//                   removed), framed as a valid "250-"/"250 " reply, so that the
//                   fuzzer spends its time on the keywords rather than the framing.
//   mode bit 1      enhanced status codes on in the parser.
//
// Invariants:
//  - every keyword is 1-64 octets of upper-case ASCII letters, digits and '-',
//    starting with a letter or digit, and appears once; every parameter is
//    non-empty and holds no space or tab;
//  - has()/find() agree with all(), in any case; each typed flag (pipelining(),
//    starttls(), ...) equals has() of its keyword;
//  - SIZE: size_limit() is 0 unless SIZE was advertised with a first parameter
//    of 1-19 decimal digits, and then it is that number;
//  - AUTH: the mechanisms are the AUTH parameters upper-cased, without repeats;
//    auth() is true exactly when there is one; supports_auth() agrees;
//  - the server name holds no space;
//  - the same reply parsed twice gives the same capabilities; disable(k)
//    removes k and nothing else.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "fuzz_common.hpp"

#include <smtpio/proto/capabilities.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using smtpio::proto::capabilities;
using smtpio::proto::iequals;
using smtpio::proto::reply_parser;
using smtpio::fuzz::show;

namespace {

bool keyword_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'; }

std::string upper(std::string_view s) {
    std::string o(s);
    for (char& c : o)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return o;
}

std::string lower(std::string_view s) {
    std::string o(s);
    for (char& c : o)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return o;
}

bool same(const capabilities& a, const capabilities& b) {
    if (a.server_name() != b.server_name() || a.all().size() != b.all().size()) return false;
    for (std::size_t i = 0; i < a.all().size(); ++i)
        if (a.all()[i].keyword != b.all()[i].keyword || a.all()[i].params != b.all()[i].params) return false;
    return a.size_limit() == b.size_limit() && a.auth_mechanisms() == b.auth_mechanisms();
}

void check(const capabilities& caps) {
    SMTPIO_FUZZ_CHECK(caps.server_name().find(' ') == std::string::npos, show(caps.server_name()));
    const auto& all = caps.all();
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto& e = all[i];
        SMTPIO_FUZZ_CHECK(!e.keyword.empty() && e.keyword.size() <= 64, show(e.keyword));
        SMTPIO_FUZZ_CHECK(e.keyword[0] != '-', show(e.keyword));
        SMTPIO_FUZZ_CHECK(std::all_of(e.keyword.begin(), e.keyword.end(), keyword_char), "keyword " + show(e.keyword));
        for (const auto& p : e.params) {
            SMTPIO_FUZZ_CHECK(!p.empty(), "empty parameter of " + e.keyword);
            SMTPIO_FUZZ_CHECK(p.find(' ') == std::string::npos && p.find('\t') == std::string::npos,
                              "parameter " + show(p) + " of " + e.keyword);
        }
        for (std::size_t j = 0; j < i; ++j) SMTPIO_FUZZ_CHECK(all[j].keyword != e.keyword, "repeated " + e.keyword);
        SMTPIO_FUZZ_CHECK(caps.has(e.keyword) && caps.has(lower(e.keyword)), e.keyword);
        SMTPIO_FUZZ_CHECK(caps.find(lower(e.keyword)) == &e, e.keyword);
    }

    struct flag {
        const char* keyword;
        bool value;
    };
    const flag flags[] = {{"PIPELINING", caps.pipelining()},     {"STARTTLS", caps.starttls()},
                          {"8BITMIME", caps.eightbitmime()},     {"SMTPUTF8", caps.smtputf8()},
                          {"DSN", caps.dsn()},                   {"CHUNKING", caps.chunking()},
                          {"BINARYMIME", caps.binarymime()},     {"ENHANCEDSTATUSCODES", caps.enhanced_status_codes()},
                          {"REQUIRETLS", caps.requiretls()},     {"SIZE", caps.size_advertised()}};
    for (const auto& f : flags) SMTPIO_FUZZ_CHECK(f.value == caps.has(f.keyword), f.keyword);

    // SIZE (RFC 1870): the limit is the first parameter when it is a number.
    std::uint64_t expect_size = 0;
    if (const auto* e = caps.find("SIZE"); e && !e->params.empty()) {
        const std::string& v = e->params[0];
        bool digits = !v.empty() && v.size() <= 19 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (digits) {
            auto r = std::from_chars(v.data(), v.data() + v.size(), expect_size);
            SMTPIO_FUZZ_CHECK(r.ec == std::errc{}, v);
        }
    }
    SMTPIO_FUZZ_CHECK(caps.size_limit() == expect_size,
                      std::to_string(caps.size_limit()) + " vs " + std::to_string(expect_size));
    SMTPIO_FUZZ_CHECK(caps.size_advertised() || caps.size_limit() == 0, "a SIZE limit without SIZE");

    // AUTH (RFC 4954): the mechanisms, upper-cased, once each.
    std::vector<std::string> expect_auth;
    if (const auto* e = caps.find("AUTH"))
        for (const auto& p : e->params)
            if (std::find(expect_auth.begin(), expect_auth.end(), upper(p)) == expect_auth.end()) expect_auth.push_back(upper(p));
    SMTPIO_FUZZ_CHECK(caps.auth_mechanisms() == expect_auth, "AUTH mechanisms");
    SMTPIO_FUZZ_CHECK(caps.auth() == !expect_auth.empty(), "auth()");
    for (const auto& m : expect_auth) SMTPIO_FUZZ_CHECK(caps.supports_auth(lower(m)), m);
}

void check_disable(const capabilities& caps) {
    for (const auto& e : caps.all()) {
        capabilities c = caps;
        c.disable(lower(e.keyword));
        SMTPIO_FUZZ_CHECK(!c.has(e.keyword), "still has " + e.keyword);
        SMTPIO_FUZZ_CHECK(c.all().size() + 1 == caps.all().size(), "disable removed more than " + e.keyword);
        check(c);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool framed = (data[0] & 1) != 0;
    const bool enhanced = (data[0] & 2) != 0;
    std::string_view input = smtpio::fuzz::as_text(data + 1, size - 1);

    std::string wire;
    if (framed) {
        std::vector<std::string> lines;
        std::string cur;
        for (char c : input) {
            if (c == '\n') {
                lines.push_back(std::move(cur));
                cur.clear();
            } else if (c != '\r') {
                cur += c;
            }
        }
        lines.push_back(std::move(cur));
        for (std::size_t i = 0; i < lines.size(); ++i) {
            wire += i + 1 < lines.size() ? "250-" : "250 ";
            wire += lines[i];
            wire += "\r\n";
        }
        input = wire;
    }

    reply_parser p;
    p.set_enhanced_status_codes(enhanced);
    auto r = p.put(input);
    if (r.state != reply_parser::status::done) {
        // Only a framed reply must parse (unless a line is too long or there are too many).
        SMTPIO_FUZZ_CHECK(!framed || r.state == reply_parser::status::error, "framed reply not complete");
        return 0;
    }
    capabilities caps = capabilities::from_ehlo(p.get());
    check(caps);
    SMTPIO_FUZZ_CHECK(same(caps, capabilities::from_ehlo(p.get())), "not deterministic");
    check_disable(caps);
    return 0;
}
