//
// bench/micro/micro_main.hpp -- what smtpio's micro-benchmarks share: test data,
// a benchmark that times a function and memcpy of the same input side by side,
// and a main() that repeats each benchmark and prints the medians as ratios.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_BENCH_MICRO_MAIN_HPP
#define SMTPIO_BENCH_MICRO_MAIN_HPP

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace smtpio::bench {

/// splitmix64: a fixed sequence, so every run measures the same bytes.
class rng {
public:
    explicit rng(std::uint64_t seed) : s_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

private:
    std::uint64_t s_;
};

/// How the generated message's lines look.
enum class text_kind {
    typical,   ///< RFC 5322 text: lines of 60-78 octets, paragraphs, ~4% of lines with UTF-8, CRLF.
    typical_lf,///< The same with bare LF line ends (a file written on Unix).
    all_dots,  ///< The worst case for DATA: every line starts with ".".
};

/// A message of at least `size` octets: headers, a blank line, then the body.
inline std::string make_message(std::size_t size, text_kind kind) {
    static const char* const words[] = {
        "the",     "of",     "and",    "to",       "in",      "is",       "that",    "for",    "it",     "as",
        "with",    "was",    "on",     "be",       "at",      "by",       "this",    "had",    "not",    "are",
        "but",     "from",   "or",     "have",     "an",      "they",     "which",   "one",    "you",    "were",
        "message", "server", "relay",  "delivery", "meeting", "tomorrow", "report",  "please", "thanks", "invoice",
        "attached","quarter","results","customer", "account", "schedule", "project", "review", "update", "regards"};
    static const char* const eight_bit[] = {"caf\xc3\xa9", "na\xc3\xafve", "M\xc3\xbcller", "\xc3\xa0 bient\xc3\xb4t",
                                            "stra\xc3\x9f" "e", "\xe2\x82\xac" "42"};
    const std::string_view eol = kind == text_kind::typical_lf ? "\n" : "\r\n";
    std::string m;
    m.reserve(size + 256);
    for (const char* h : {"From: Alice Example <alice@example.org>", "To: Bob Example <bob@example.net>",
                          "Subject: Quarterly report and the meeting tomorrow", "Date: Sun, 29 Nov 2026 08:00:00 +0000",
                          "Message-ID: <20261129080000.12345@example.org>", "MIME-Version: 1.0",
                          "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"}) {
        m += h;
        m += eol;
    }
    m += eol;
    rng r(42);
    std::size_t line_no = 0;
    while (m.size() < size) {
        ++line_no;
        if (kind != text_kind::all_dots && line_no % 12 == 0) { // a paragraph break
            m += eol;
            continue;
        }
        std::size_t target = 60 + r.below(19);
        std::size_t start = m.size();
        if (kind == text_kind::all_dots) m += '.';
        bool utf8 = kind != text_kind::all_dots && r.below(25) == 0;
        while (m.size() - start < target) {
            if (m.size() != start && m[m.size() - 1] != '.') m += ' ';
            if (utf8 && r.below(4) == 0) {
                m += eight_bit[r.below(std::size(eight_bit))];
                utf8 = false;
            } else {
                m += words[r.below(std::size(words))];
            }
        }
        m += eol;
    }
    return m;
}

/// Times `fn(input)` and `memcpy` of the same input, alternating which goes
/// first, in the same iterations; reports the function's time (manual time)
/// and the counters GB/s, memcpy_GB/s and vs_memcpy (memcpy time / function
/// time: 1.0 means as fast as a copy).
template <class Fn>
void versus_memcpy(benchmark::State& state, std::string_view input, Fn&& fn) {
    using clock = std::chrono::steady_clock;
    std::vector<char> copy(input.size());
    std::memset(copy.data(), 1, copy.size()); // fault the pages in before timing
    double t_copy = 0, t_fn = 0;
    bool copy_first = true;
    for (auto _ : state) {
        auto time_copy = [&] {
            auto t0 = clock::now();
            std::memcpy(copy.data(), input.data(), input.size());
            benchmark::ClobberMemory();
            t_copy += std::chrono::duration<double>(clock::now() - t0).count();
        };
        double t = 0;
        auto time_fn = [&] {
            auto t0 = clock::now();
            benchmark::DoNotOptimize(fn(input));
            benchmark::ClobberMemory();
            t = std::chrono::duration<double>(clock::now() - t0).count();
            t_fn += t;
        };
        if (copy_first) {
            time_copy();
            time_fn();
        } else {
            time_fn();
            time_copy();
        }
        copy_first = !copy_first;
        state.SetIterationTime(t);
    }
    const double bytes = static_cast<double>(input.size()) * static_cast<double>(state.iterations());
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
    state.counters["GB/s"] = benchmark::Counter(bytes / t_fn / 1e9);
    state.counters["memcpy_GB/s"] = benchmark::Counter(bytes / t_copy / 1e9);
    state.counters["vs_memcpy"] = benchmark::Counter(t_copy / t_fn);
}

/// The console reporter, plus a summary at the end: for every benchmark with a
/// `vs_memcpy` or `replies/s` counter, its median over the repetitions.
class summary_reporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& r : runs) {
            std::string name = r.run_name.function_name + (r.run_name.args.empty() ? "" : "/" + r.run_name.args);
            for (const char* key : {"vs_memcpy", "replies/s", "GB/s"}) {
                auto it = r.counters.find(key);
                if (it == r.counters.end()) continue;
                auto& slot = results_[name][key];
                if (r.run_type == Run::RT_Aggregate) {
                    if (r.aggregate_name == "median") slot.median = it->second.value;
                } else {
                    slot.samples.push_back(it->second.value);
                }
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }

    void print_summary() const {
        std::printf("\nsummary (median of %s):\n", "the repetitions");
        for (const auto& [name, counters] : results_) {
            std::string line = "  " + name;
            for (const auto& [key, v] : counters) {
                char buf[96];
                double m = v.median_or_middle();
                if (std::string_view(key) == "vs_memcpy") std::snprintf(buf, sizeof buf, "  /memcpy = %.2f", m);
                else if (std::string_view(key) == "replies/s") std::snprintf(buf, sizeof buf, "  %.2f M replies/s", m / 1e6);
                else std::snprintf(buf, sizeof buf, "  %.2f GB/s", m);
                line += buf;
            }
            std::printf("%s\n", line.c_str());
        }
    }

private:
    struct values {
        double median = -1;
        std::vector<double> samples;
        double median_or_middle() const {
            if (median >= 0 || samples.empty()) return median;
            std::vector<double> s = samples;
            std::sort(s.begin(), s.end());
            return s[s.size() / 2];
        }
    };
    std::map<std::string, std::map<std::string, values>> results_;
};

/// main(): 5 repetitions unless the command line says otherwise, the usual
/// output, then the summary of medians.
inline int run_main(int argc, char** argv) {
    std::vector<char*> args(argv, argv + argc);
    bool reps = false;
    for (int i = 1; i < argc; ++i)
        if (std::string_view(argv[i]).substr(0, 24) == "--benchmark_repetitions=") reps = true;
    static char default_reps[] = "--benchmark_repetitions=5";
    if (!reps) args.push_back(default_reps);
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
    summary_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.print_summary();
    benchmark::Shutdown();
    return 0;
}

} // namespace smtpio::bench

#endif // SMTPIO_BENCH_MICRO_MAIN_HPP
