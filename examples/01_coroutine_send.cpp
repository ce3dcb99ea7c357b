//
// examples/01_coroutine_send.cpp -- send one message from a C++20 coroutine
// over required, verified STARTTLS: mail submission on port 587 (RFC 6409).
//
//   01_coroutine_send HOST [PORT [CA_FILE]]
//
// PORT defaults to 587; CA_FILE (PEM trust anchors) to the system store.  The
// session refuses to write MAIL, RCPT, AUTH or a byte of the message unless the
// server offers STARTTLS, the handshake succeeds with TLS 1.2 or later, and the
// certificate chains to a trust anchor and names HOST (RFC 9525).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include <smtpio.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

asio::awaitable<int> send_one(std::string host, std::uint16_t port, smtpio::tls::context tls) {
    auto ex = co_await asio::this_coro::executor;

    // submission(): STARTTLS required, chain and name verified, TLS >= 1.2.
    // A failure here (no STARTTLS, bad certificate, ...) throws std::system_error
    // holding an smtpio::errc, and nothing of the message was sent.
    auto session = co_await smtpio::async_connect(ex, host, port, smtpio::policy::submission(tls),
                                                  asio::use_awaitable);

    // Build the envelope outside the co_await expression: GCC 12 cannot compile
    // a braced list of recipients inside one ("array used as initializer").
    smtpio::envelope env{"app@example.org", {"ops@example.com"}};
    smtpio::body message("From: app@example.org\r\n"
                         "To: ops@example.com\r\n"
                         "Subject: disk almost full\r\n"
                         "\r\n"
                         "/var is 93% full.\r\n");

    // With use_awaitable, async_send throws only when nothing was sent; what the
    // server said about each recipient comes back in the result.
    smtpio::send_result r = co_await session.async_send(std::move(env), std::move(message), asio::use_awaitable);
    for (const auto& rcpt : r.recipients)
        std::cout << rcpt.address << ": " << to_string(rcpt.outcome) << " (" << rcpt.reply.to_string() << ")\n";
    std::cout << "message: " << to_string(r.outcome) << "\n";
    std::cout << "protected by: " << r.tls.version << ' ' << r.tls.cipher << ", peer verified: " << std::boolalpha
              << r.tls.verified << "\n";
    std::cout << "received clause: " << r.tls.received_clause() << "\n";

    co_await session.async_quit(asio::use_awaitable);
    co_return r.outcome == smtpio::message_outcome::delivered ? 0 : 1;
}

int main(int argc, char** argv) {
    if (argc < 2 || argc > 4) {
        std::cerr << "usage: " << argv[0] << " HOST [PORT [CA_FILE]]\n";
        return 2;
    }
    try {
        const std::string host = argv[1];
        const auto port = static_cast<std::uint16_t>(argc > 2 ? std::stoul(argv[2]) : 587);
        // One context for the whole program: trust anchors and the TLS session cache.
        smtpio::tls::context tls = argc > 3 ? smtpio::tls::context::with_ca_file(argv[3]) : smtpio::tls::context();

        asio::io_context io;
        int status = 1;
        asio::co_spawn(io, send_one(host, port, tls), [&](std::exception_ptr e, int rc) {
            if (!e) {
                status = rc;
                return;
            }
            try {
                std::rethrow_exception(e);
            } catch (const std::system_error& se) {
                // e.g. "not sent: smtpio:starttls_not_offered: The server did not advertise STARTTLS."
                const std::error_code ec = se.code();
                std::cerr << "not sent: " << ec.category().name() << ':'
                          << (ec.category() == smtpio::smtpio_category()
                                  ? std::string(to_string(static_cast<smtpio::errc>(ec.value())))
                                  : std::to_string(ec.value()))
                          << ": " << ec.message() << "\n";
            } catch (const std::exception& other) {
                std::cerr << "not sent: " << other.what() << "\n";
            }
        });
        io.run();
        return status;
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 2;
    }
}
