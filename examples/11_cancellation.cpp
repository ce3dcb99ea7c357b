//
// examples/11_cancellation.cpp -- stopping an operation: cancel a send with a
// cancellation signal (asio::bind_cancellation_slot), and bound a phase with a
// deadline (session_options::timeouts).
//
//   11_cancellation HOST PORT CA_FILE
//
// 1. Sends an endless message to HOST:PORT and cancels it after 300 ms, as an
//    application does on shutdown.  Any type of cancellation closes the
//    session.  The message was not finished, so the recipient is *deferred*
//    (never delivered, safe to retry) and `result.error` is errc::cancelled.
// 2. Connects to a server that accepts and then says nothing (started here, on
//    127.0.0.1) with a 1-second greeting deadline: errc::greeting_timeout,
//    which compares equal to smtpio::condition::timeout and ::transient.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include <smtpio.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>

using namespace std::chrono_literals;

// Part 1: cancel a send in progress.
static bool cancel_a_send(const std::string& host, std::uint16_t port, smtpio::tls::context& tls) {
    asio::io_context io;
    std::optional<smtpio::session> session;
    asio::cancellation_signal stop;
    asio::steady_timer timer(io);
    bool ok = false;

    // A message without end: 78-octet lines, produced on demand.
    auto endless = smtpio::body::generator([](char* out, std::size_t capacity, std::error_code&) {
        static const char line[] = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tem\r\n";
        std::size_t n = 0;
        while (capacity - n >= sizeof line - 1) {
            std::memcpy(out + n, line, sizeof line - 1);
            n += sizeof line - 1;
        }
        return n;
    });

    smtpio::async_connect(io.get_executor(), host, port, smtpio::policy::submission(tls),
                          [&](std::error_code ec, smtpio::session s) {
                              session.emplace(std::move(s));
                              if (ec) {
                                  std::cerr << "connect failed: " << ec.message() << "\n";
                                  return;
                              }
                              smtpio::envelope env{"app@example.org", {"ops@example.com"}};
                              session->async_send(
                                  std::move(env), std::move(endless),
                                  asio::bind_cancellation_slot(stop.slot(), [&](std::error_code sec, smtpio::send_result r) {
                                      timer.cancel();
                                      std::cout << "cancelled send: " << to_string(r.outcome) << ", "
                                                << r.data_octets << " octets written, error "
                                                << (r.error ? r.error.message() : "none") << "\n";
                                      std::cout << "session open after cancellation: " << std::boolalpha
                                                << session->is_open() << "\n";
                                      ok = !sec && r.error == smtpio::errc::cancelled &&
                                           r.recipients[0].outcome == smtpio::outcome::deferred && !session->is_open();
                                  }));
                              // Cancel after 300 ms.  Terminal, partial or total: all close the session.
                              timer.expires_after(300ms);
                              timer.async_wait([&](std::error_code tec) {
                                  if (!tec) stop.emit(asio::cancellation_type::terminal);
                              });
                          });
    io.run();
    return ok;
}

// Part 2: a deadline.  The server here accepts the connection and never speaks.
static bool time_out_a_greeting(smtpio::tls::context& tls) {
    asio::io_context io;
    asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket held(io);
    silent.async_accept(held, [](std::error_code) {});

    smtpio::session_options options;
    options.timeouts.greeting = 1s; // RFC 5321 says 5 minutes; we are impatient
    bool ok = false;
    auto started = std::chrono::steady_clock::now();
    smtpio::async_connect(io.get_executor(), "127.0.0.1", silent.local_endpoint().port(),
                          smtpio::policy::submission(tls), options, [&](std::error_code ec, smtpio::session) {
                              auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - started);
                              std::cout << "silent server: " << ec.message() << " after " << ms.count() << " ms\n";
                              std::cout << "timeout: " << std::boolalpha << (ec == smtpio::condition::timeout)
                                        << ", transient: " << (ec == smtpio::condition::transient) << "\n";
                              ok = ec == smtpio::errc::greeting_timeout;
                              std::error_code ignored;
                              held.close(ignored);
                              silent.close(ignored);
                          });
    io.run();
    return ok;
}

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: " << argv[0] << " HOST PORT CA_FILE\n";
        return 2;
    }
    try {
        const auto port = static_cast<std::uint16_t>(std::stoul(argv[2]));
        auto tls = smtpio::tls::context::with_ca_file(argv[3]);
        bool a = cancel_a_send(argv[1], port, tls);
        bool b = time_out_a_greeting(tls);
        return a && b ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 2;
    }
}
