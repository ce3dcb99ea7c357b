//
// examples/smtpio-sink/main.cpp -- smtpio-sink: the loopback SMTP server of
// examples/support as a program: a fast STARTTLS sink for benchmarks and a
// well-behaved peer for the CLI's tests.
//
//   smtpio-sink --listen 127.0.0.1:PORT [--cert CHAIN.pem --key KEY.pem]
//               [--implicit-tls] [--tls-max 1.2|1.3] [--require-tls] [--auth USER:PASSWORD]
//               [--threads N] [--keep DIR] [--hostname NAME]
//
// Prints "listening on ADDRESS:PORT" once ready, then counter lines
// "sess=N quit=N mesg=N bytes=N tls=N tls13=N resumed=N" every 100 ms while they
// change and once more at SIGINT/SIGTERM.  Recipients starting with "reject" get 550, with
// "defer" 451.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "../support/smtp_server.hpp"

#include <CLI/CLI.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <functional>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace {

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + path);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"smtpio-sink: a fast SMTP sink with STARTTLS, built on smtpio's protocol types", "smtpio-sink"};
    std::string listen = "127.0.0.1:0", cert, key, auth, keep, hostname = "mail.loopback.test",
                tls_max = "1.3";
    bool implicit = false, require_tls = false;
    unsigned threads = 1;
    app.add_option("--listen", listen, "ADDRESS:PORT (port 0: any free port)");
    app.add_option("--cert", cert, "certificate chain, PEM (enables STARTTLS)");
    app.add_option("--key", key, "private key, PEM");
    app.add_flag("--implicit-tls", implicit, "TLS from the first byte (port 465 style)");
    app.add_option("--tls-max", tls_max, "the highest TLS version offered: 1.2 or 1.3 (default 1.3)");
    app.add_flag("--require-tls", require_tls, "refuse MAIL before STARTTLS");
    app.add_option("--auth", auth, "USER:PASSWORD accepted by AUTH PLAIN/LOGIN (over TLS)");
    app.add_option("--threads", threads, "io_context threads (default 1)");
    app.add_option("--keep", keep, "write each message received to DIR/<n>.eml");
    app.add_option("--hostname", hostname, "the name in the greeting and EHLO reply");
    CLI11_PARSE(app, argc, argv);

    try {
        auto colon = listen.rfind(':');
        if (colon == std::string::npos) throw std::runtime_error("--listen: expected ADDRESS:PORT");
        std::string address = listen.substr(0, colon);
        if (address.size() > 2 && address.front() == '[') address = address.substr(1, address.size() - 2);
        auto port = static_cast<std::uint16_t>(std::stoul(listen.substr(colon + 1)));

        smtpio_examples::server_config cfg;
        cfg.hostname = hostname;
        if (!cert.empty()) {
            cfg.cert_chain_pem = slurp(cert);
            cfg.key_pem = slurp(key.empty() ? cert : key);
        }
        cfg.implicit_tls = implicit;
        if (tls_max == "1.2")
            cfg.max_tls_version = TLS1_2_VERSION;
        else if (tls_max != "1.3")
            throw std::runtime_error("--tls-max: expected 1.2 or 1.3, not '" + tls_max + "'");
        cfg.require_tls = require_tls;
        if (!auth.empty()) {
            auto c = auth.find(':');
            if (c == std::string::npos) throw std::runtime_error("--auth: expected USER:PASSWORD");
            cfg.auth_user = auth.substr(0, c);
            cfg.auth_password = auth.substr(c + 1);
        }
        std::uint64_t stored = 0;
        if (!keep.empty()) {
            std::filesystem::create_directories(keep);
            cfg.keep_messages = true;
            cfg.on_message = [&](smtpio_examples::received_message&& m) {
                std::ofstream out(keep + "/" + std::to_string(++stored) + ".eml", std::ios::binary);
                out << m.data;
                std::ofstream env(keep + "/" + std::to_string(stored) + ".env", std::ios::binary);
                env << "from " << m.from << "\nparams" << m.mail_parameters << "\n";
                for (const auto& t : m.to) env << "to " << t << "\n";
                env << "tls " << (m.tls ? m.received_clause : std::string("none")) << "\n";
            };
        } else {
            cfg.keep_messages = false;
        }
        asio::io_context io(static_cast<int>(threads));
        smtpio_examples::smtp_server server(io, cfg, port, address);
        server.start();
        std::cout << "listening on " << server.endpoint().address().to_string() << ":" << server.port() << std::endl;
        // Counter lines (like smtp-sink -c), every 100 ms while they change and at exit,
        // so a benchmark can check what was delivered.
        const auto& st = server.stats();
        auto counters = [&] {
            return "sess=" + std::to_string(st.connections) + " quit=" + std::to_string(st.quits) +
                   " mesg=" + std::to_string(st.messages) + " bytes=" + std::to_string(st.octets) +
                   " tls=" + std::to_string(st.tls_handshakes) + " tls13=" + std::to_string(st.tls13) +
                   " resumed=" + std::to_string(st.tls_resumed);
        };
        std::string last;
        asio::steady_timer tick(io);
        std::function<void()> report = [&] {
            tick.expires_after(std::chrono::milliseconds(100));
            tick.async_wait([&](std::error_code ec) {
                if (ec) return;
                std::string now = counters();
                if (now != last) {
                    std::cout << now << std::endl;
                    last = now;
                }
                report();
            });
        };
        report();
        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](std::error_code, int) {
            tick.cancel();
            io.stop();
        });
        std::vector<std::thread> pool;
        for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&] { io.run(); });
        io.run();
        for (auto& t : pool) t.join();
        std::cout << counters() << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "smtpio-sink: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
