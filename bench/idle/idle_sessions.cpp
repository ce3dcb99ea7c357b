//
// bench/idle/idle_sessions.cpp -- memory per idle session (issue 8, goal 5).
//
// Opens sessions to a sink on loopback, on one thread and one io_context, and
// keeps them open and idle (greeting, EHLO, STARTTLS and EHLO again done).  At
// each step (default 1,000 2,500 5,000 10,000 sessions) it prints the process's
// resident set size and the growth per session since the first step:
//
//   smtpio_bench_idle --port 2526 [--tls --ca-file ca.pem --servername mx.bench.test]
//                     [--steps 1000,10000] [--parallel 64]
//
// One JSON object per step on stdout:
//   {"sessions":N,"rss_kib":R,"per_session_bytes":B,"per_session_since_first_bytes":S}
// "per_session_bytes" divides the growth since the empty baseline (after the
// TLS context was built) by N; "since_first" divides the growth between the
// first step and this one by the sessions added, which cancels what is paid once
// (the first pages of the allocator's arenas, the resolver).  The sink must be
// able to hold the sessions (smtpio-sink does; raise its descriptor limit).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include <smtpio.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

long rss_kib() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}

[[noreturn]] void usage(const char* why) {
    std::cerr << "smtpio_bench_idle: " << why
              << "\nusage: smtpio_bench_idle --port PORT [--host 127.0.0.1] [--tls --ca-file FILE --servername NAME]"
                 " [--steps 1000,2500,5000,10000] [--parallel 64]\n";
    std::exit(64);
}

std::vector<std::size_t> parse_steps(const std::string& s) {
    std::vector<std::size_t> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
        std::size_t n = std::strtoul(item.c_str(), nullptr, 10);
        if (n == 0 || (!out.empty() && n <= out.back())) usage("--steps: increasing positive numbers");
        out.push_back(n);
    }
    if (out.empty()) usage("--steps: empty");
    return out;
}

struct state {
    std::vector<smtpio::session> sessions;
    std::size_t started = 0;
    std::size_t failed = 0;
    std::string first_error;
};

asio::awaitable<void> opener(state& st, std::size_t target, const std::string& host, std::uint16_t port,
                             const smtpio::tls::any_policy& policy, const smtpio::session_options& so) {
    auto ex = co_await asio::this_coro::executor;
    while (st.started < target) {
        ++st.started;
        std::error_code ec;
        auto s = co_await smtpio::async_connect(ex, host, port, policy, so, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (st.failed++ == 0) st.first_error = ec.message();
            continue;
        }
        st.sessions.push_back(std::move(s));
    }
}

} // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1", ca_file, servername, steps_text = "1000,2500,5000,10000";
    std::uint16_t port = 0;
    bool tls = false;
    std::size_t parallel = 64;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--port") port = static_cast<std::uint16_t>(std::strtoul(value().c_str(), nullptr, 10));
        else if (a == "--host") host = value();
        else if (a == "--tls") tls = true;
        else if (a == "--ca-file") ca_file = value();
        else if (a == "--servername") servername = value();
        else if (a == "--steps") steps_text = value();
        else if (a == "--parallel") parallel = std::strtoul(value().c_str(), nullptr, 10);
        else usage(("unknown option " + a).c_str());
    }
    if (port == 0) usage("--port is required");
    if (tls && ca_file.empty()) usage("--tls needs --ca-file");
    if (parallel == 0) parallel = 1;
    auto steps = parse_steps(steps_text);

    // Room for the descriptors: one per session, and some.
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t want = steps.back() + 256;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = std::max<rlim_t>(want, rl.rlim_cur);
        if (rl.rlim_max < rl.rlim_cur) rl.rlim_max = rl.rlim_cur;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            std::cerr << "smtpio_bench_idle: cannot raise the descriptor limit to " << want << "\n";
            return 1;
        }
    }

    std::optional<smtpio::tls::context> ctx;
    smtpio::tls::any_policy policy = smtpio::policy::dangerous_plaintext();
    if (tls) {
        ctx = smtpio::tls::context::with_ca_file(ca_file);
        auto p = smtpio::tls::policy::from_level(smtpio::tls::level::verify, *ctx);
        if (!servername.empty()) p.reference_names({servername});
        policy = p;
    }
    smtpio::session_options so;
    so.helo_name = "idle.bench.test";
    so.host = servername.empty() ? host : servername;
    so.port = port;

    asio::io_context io(1);
    state st;
    st.sessions.reserve(steps.back());
    const long base = rss_kib();
    long first_rss = 0;
    std::size_t first_n = 0;
    for (std::size_t target : steps) {
        std::size_t workers = std::min(parallel, target - st.started);
        for (std::size_t w = 0; w < workers; ++w)
            asio::co_spawn(io, opener(st, target, host, port, policy, so), asio::detached);
        io.restart();
        io.run();
        if (st.failed) {
            std::cerr << "smtpio_bench_idle: " << st.failed << " sessions failed to open, the first: " << st.first_error << "\n";
            return 1;
        }
        for (auto& s : st.sessions)
            if (!s.is_open() || (tls && !s.tls_report().established)) {
                std::cerr << "smtpio_bench_idle: a session is not open" << (tls ? " on TLS" : "") << "\n";
                return 1;
            }
        long now = rss_kib();
        if (!first_n) {
            first_n = st.sessions.size();
            first_rss = now;
        }
        double per = static_cast<double>(now - base) * 1024.0 / static_cast<double>(st.sessions.size());
        double since = st.sessions.size() > first_n
                           ? static_cast<double>(now - first_rss) * 1024.0 / static_cast<double>(st.sessions.size() - first_n)
                           : per;
        std::printf("{\"sessions\":%zu,\"tls\":%s,\"rss_kib\":%ld,\"baseline_kib\":%ld,\"per_session_bytes\":%.0f,"
                    "\"per_session_since_first_bytes\":%.0f}\n",
                    st.sessions.size(), tls ? "true" : "false", now, base, per, since);
        std::fflush(stdout);
    }
    return 0;
}
