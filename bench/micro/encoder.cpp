//
// bench/micro/encoder.cpp -- the DATA/BDAT encoder and the body scanner on a
// 10 MiB message, each next to memcpy of the same buffer in the same run.
//
//   build/<dir>/bench/smtpio_bench_encoder [--benchmark_filter=...]
//
// Cases: "typical" (RFC 5322 text, 60-78 octet lines, some UTF-8, CRLF),
// "typical_lf" (the same with bare LF line ends: every line end is rewritten),
// "all_dots" (every line starts with ".": the worst case for DATA).  The input
// is fed in 256 KiB pieces, as a session does with its default block size.
// Goal (issue 3): the DATA encoder at least 0.4x memcpy on typical text.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "micro_main.hpp"

#include <smtpio/proto/data_encoder.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

using smtpio::bench::text_kind;
using smtpio::proto::body_scanner;
using smtpio::proto::data_encoder;
using smtpio::proto::encoding;

constexpr std::size_t message_size = 10u << 20; // 10 MiB
constexpr std::size_t piece = 256u << 10;       // the session's default block size

const std::string& message(text_kind k) {
    static const std::string typical = smtpio::bench::make_message(message_size, text_kind::typical);
    static const std::string typical_lf = smtpio::bench::make_message(message_size, text_kind::typical_lf);
    static const std::string all_dots = smtpio::bench::make_message(message_size, text_kind::all_dots);
    return k == text_kind::typical ? typical : k == text_kind::typical_lf ? typical_lf : all_dots;
}

void encode(benchmark::State& state, text_kind kind, encoding mode) {
    const std::string& in = message(kind);
    std::unique_ptr<char[]> out(new char[data_encoder::max_output(in.size()) + 8]);
    std::memset(out.get(), 0, data_encoder::max_output(in.size()) + 8); // fault the pages in before timing
    std::size_t produced = 0;
    smtpio::bench::versus_memcpy(state, in, [&](std::string_view msg) {
        data_encoder enc(mode);
        char* o = out.get();
        std::error_code ec;
        for (std::size_t pos = 0; pos < msg.size(); pos += piece) {
            std::size_t n = msg.size() - pos < piece ? msg.size() - pos : piece;
            o += enc.encode(msg.data() + pos, n, o, ec);
            if (ec) {
                std::fprintf(stderr, "encode: %s\n", ec.message().c_str());
                std::abort();
            }
        }
        o += enc.finish(o);
        produced = static_cast<std::size_t>(o - out.get());
        return produced;
    });
    state.counters["out/in"] = benchmark::Counter(static_cast<double>(produced) / static_cast<double>(in.size()));
}

void scan(benchmark::State& state, text_kind kind) {
    const std::string& in = message(kind);
    smtpio::bench::versus_memcpy(state, in, [&](std::string_view msg) {
        body_scanner s;
        for (std::size_t pos = 0; pos < msg.size(); pos += piece) s.scan(msg.substr(pos, piece));
        auto f = s.facts();
        if (f.has_nul || f.longest_line > 998) std::abort();
        return f.normalised_size;
    });
}

void register_all() {
    struct kind_name {
        text_kind kind;
        const char* name;
    };
    for (auto [kind, name] : {kind_name{text_kind::typical, "typical"}, kind_name{text_kind::typical_lf, "typical_lf"},
                              kind_name{text_kind::all_dots, "all_dots"}}) {
        benchmark::RegisterBenchmark((std::string("encode_data/") + name).c_str(),
                                     [kind = kind](benchmark::State& s) { encode(s, kind, encoding::dot_stuffed); })
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((std::string("encode_bdat/") + name).c_str(),
                                     [kind = kind](benchmark::State& s) { encode(s, kind, encoding::chunked); })
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((std::string("scan/") + name).c_str(), [kind = kind](benchmark::State& s) { scan(s, kind); })
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
    }
}

} // namespace

int main(int argc, char** argv) {
    register_all();
    return smtpio::bench::run_main(argc, argv);
}
