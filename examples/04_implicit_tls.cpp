//
// examples/04_implicit_tls.cpp -- submission with implicit TLS on port 465
// (RFC 8314): TLS from the first byte, so there is no plaintext STARTTLS step
// for an attacker to strip.
//
//   04_implicit_tls HOST [PORT [CA_FILE]]
//
// PORT defaults to 465.  The peer is verified exactly as with STARTTLS on 587
// (chain to a trust anchor, a subjectAltName matching HOST, TLS >= 1.2).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include <smtpio.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <iostream>
#include <string>

asio::awaitable<void> run(std::string host, std::uint16_t port, smtpio::tls::context tls, int& status) {
    auto ex = co_await asio::this_coro::executor;
    auto session = co_await smtpio::async_connect(ex, host, port, smtpio::policy::implicit_tls(tls),
                                                  asio::use_awaitable);
    // The session was encrypted before the server's greeting was read.
    std::cout << "encrypted: " << std::boolalpha << session.is_encrypted() << ", "
              << session.tls_report().version << ", certificate " << session.tls_report().peer->subject << "\n";

    smtpio::envelope env{"app@example.org", {"ops@example.com"}};
    auto r = co_await session.async_send(std::move(env), smtpio::body("Subject: over 465\r\n\r\nHi.\r\n"),
                                         asio::use_awaitable);
    std::cout << "message: " << to_string(r.outcome) << " (" << r.reply.to_string() << ")\n";
    co_await session.async_quit(asio::use_awaitable);
    status = r.outcome == smtpio::message_outcome::delivered ? 0 : 1;
}

int main(int argc, char** argv) {
    if (argc < 2 || argc > 4) {
        std::cerr << "usage: " << argv[0] << " HOST [PORT [CA_FILE]]\n";
        return 2;
    }
    try {
        const auto port = static_cast<std::uint16_t>(argc > 2 ? std::stoul(argv[2]) : 465);
        smtpio::tls::context tls = argc > 3 ? smtpio::tls::context::with_ca_file(argv[3]) : smtpio::tls::context();
        asio::io_context io;
        int status = 1;
        asio::co_spawn(io, run(argv[1], port, tls, status), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e); // leaves io.run() with the exception
        });
        io.run();
        return status;
    } catch (const std::system_error& e) {
        std::cerr << "not sent: " << e.code().message() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 2;
    }
}
