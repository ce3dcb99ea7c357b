//
// bench/micro/parser.cpp -- reply_parser throughput in replies per second on a
// realistic mix of server replies, fed whole, in TCP-segment-sized pieces, and
// one octet at a time.
//
//   build/<dir>/bench/smtpio_bench_parser [--benchmark_filter=...]
//
// The mix is what a Postfix-like server sends over sessions of 10 messages with
// 3 recipients each: the greeting, an 11-line EHLO reply, single-line 250s with
// enhanced status codes (RFC 3463), 354, queue ids, some 550/451 rejections, and
// 221 -- about 1 MiB in all.  Enhanced status codes are split out, as after a
// server advertised ENHANCEDSTATUSCODES.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "micro_main.hpp"

#include <smtpio/proto/reply_parser.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using smtpio::proto::reply_parser;

struct reply_stream {
    std::string bytes;
    std::size_t replies = 0;
};

const reply_stream& mix() {
    static const reply_stream s = [] {
        reply_stream r;
        smtpio::bench::rng g(7);
        auto add = [&](std::string_view text) {
            r.bytes += text;
            ++r.replies;
        };
        while (r.bytes.size() < (1u << 20)) {
            add("220 mx.example.net ESMTP Postfix (Debian/GNU)\r\n");
            add("250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
                "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
                "250 CHUNKING\r\n");
            for (int m = 0; m < 10; ++m) {
                add("250 2.1.0 Ok\r\n");
                for (int k = 0; k < 3; ++k) {
                    switch (g.below(20)) {
                    case 0: add("550 5.1.1 <r@example.net>: Recipient address rejected: User unknown in virtual mailbox table\r\n"); break;
                    case 1: add("451 4.7.1 <r@example.net>: Recipient address rejected: Greylisted, see https://postgrey.example/\r\n"); break;
                    default: add("250 2.1.5 Ok\r\n"); break;
                    }
                }
                add("354 End data with <CR><LF>.<CR><LF>\r\n");
                char queued[64];
                std::snprintf(queued, sizeof queued, "250 2.0.0 Ok: queued as %08llX%02X\r\n",
                              static_cast<unsigned long long>(g.next() & 0xffffffffu), static_cast<unsigned>(g.below(256)));
                add(queued);
            }
            add("221 2.0.0 Bye\r\n");
        }
        return r;
    }();
    return s;
}

// Feeds the mix in pieces of `step` octets (0: whole), counting replies.
void parse(benchmark::State& state, std::size_t step) {
    const reply_stream& s = mix();
    reply_parser p;
    p.set_enhanced_status_codes(true);
    std::size_t total = 0;
    for (auto _ : state) {
        std::size_t replies = 0;
        std::string_view all = s.bytes;
        std::size_t n = step == 0 ? all.size() : step;
        for (std::size_t pos = 0; pos < all.size(); pos += n) {
            std::string_view piece = all.substr(pos, n);
            while (!piece.empty()) {
                auto r = p.put(piece);
                if (r.state == reply_parser::status::error) {
                    std::fprintf(stderr, "parse error: %s\n", p.error().message().c_str());
                    std::abort();
                }
                if (r.state == reply_parser::status::done) {
                    ++replies;
                    benchmark::DoNotOptimize(p.get().code);
                }
                piece.remove_prefix(r.consumed);
            }
        }
        if (replies != s.replies) std::abort();
        total += replies;
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(s.bytes.size()) * state.iterations());
    state.counters["replies/s"] = benchmark::Counter(static_cast<double>(total), benchmark::Counter::kIsRate);
}

} // namespace

int main(int argc, char** argv) {
    benchmark::RegisterBenchmark("parse/whole", [](benchmark::State& s) { parse(s, 0); })->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("parse/segments_1460", [](benchmark::State& s) { parse(s, 1460); })->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("parse/bytes_1", [](benchmark::State& s) { parse(s, 1); })->Unit(benchmark::kMillisecond);
    return smtpio::bench::run_main(argc, argv);
}
