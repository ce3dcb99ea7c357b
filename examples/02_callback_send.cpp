//
// examples/02_callback_send.cpp -- the same send with completion handlers
// (callbacks) instead of coroutines: connect, send, quit.
//
//   02_callback_send HOST [PORT [CA_FILE]]
//
// Every smtpio operation takes any Asio completion token; a callback gets the
// error code first.  The session must outlive its operations: here it lives in
// a std::optional owned by main() until io_context::run() returns.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include <smtpio.hpp>

#include <asio/io_context.hpp>

#include <iostream>
#include <optional>
#include <string>

static int run(int argc, char** argv) {
    const std::string host = argv[1];
    const auto port = static_cast<std::uint16_t>(argc > 2 ? std::stoul(argv[2]) : 587);
    smtpio::tls::context tls = argc > 3 ? smtpio::tls::context::with_ca_file(argv[3]) : smtpio::tls::context();

    asio::io_context io;
    std::optional<smtpio::session> session;
    int status = 1;

    auto on_sent = [&](std::error_code ec, smtpio::send_result r) {
        if (ec) {
            // Set only when nothing of the message was written (bad address, unmet demand, ...).
            std::cerr << "not sent: " << ec.message() << "\n";
        } else {
            for (const auto& rcpt : r.recipients)
                std::cout << rcpt.address << ": " << to_string(rcpt.outcome) << " (" << rcpt.reply.to_string() << ")\n";
            std::cout << "message: " << to_string(r.outcome) << " over " << r.tls.version << "\n";
            if (r.outcome == smtpio::message_outcome::delivered) status = 0;
        }
        // QUIT when the session is still usable; the handler ignores QUIT's result.
        if (session->is_open()) session->async_quit([](std::error_code) {});
    };

    smtpio::async_connect(io.get_executor(), host, port, smtpio::policy::submission(tls),
                          [&](std::error_code ec, smtpio::session s) {
                              session.emplace(std::move(s));
                              if (ec) {
                                  // The session is closed but still says what happened.
                                  std::cerr << "connect failed: " << ec.message() << "\n";
                                  if (!session->tls_report().detail.empty())
                                      std::cerr << "tls: " << session->tls_report().detail << "\n";
                                  return;
                              }
                              smtpio::envelope env{"app@example.org", {"ops@example.com"}};
                              session->async_send(std::move(env),
                                                  smtpio::body("Subject: hello from a callback\r\n\r\nHello.\r\n"),
                                                  on_sent);
                          });
    io.run();
    return status;
}

int main(int argc, char** argv) {
    if (argc < 2 || argc > 4) {
        std::cerr << "usage: " << argv[0] << " HOST [PORT [CA_FILE]]\n";
        return 2;
    }
    try {
        return run(argc, argv);
    } catch (const std::exception& e) { // a CA file that cannot be read, a bad port
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 2;
    }
}
