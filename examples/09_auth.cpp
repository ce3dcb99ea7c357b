//
// examples/09_auth.cpp -- SMTP AUTH (RFC 4954) after verified STARTTLS.
//
//   SMTP_PASSWORD=... 09_auth HOST PORT CA_FILE USER
//
// The password comes from the environment, not the command line (where other
// users of the machine can read it).  smtpio picks the strongest mechanism both
// sides share (SCRAM-SHA-256, then PLAIN, then LOGIN) unless one is named, never
// falls back to a weaker one after a failure, and refuses AUTH on a connection
// that is not encrypted unless `dangerous_allow_plaintext_auth` is set.
// Transcripts never show the secret.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include <smtpio.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

asio::awaitable<int> run(std::string host, std::uint16_t port, smtpio::tls::context tls, std::string user,
                         std::string password) {
    auto ex = co_await asio::this_coro::executor;
    auto session = co_await smtpio::async_connect(ex, host, port, smtpio::policy::submission(tls), asio::use_awaitable);

    // What the server offers, after TLS (the plaintext EHLO's list was forgotten).
    std::cout << "AUTH mechanisms offered:";
    for (const auto& m : session.capabilities().auth_mechanisms()) std::cout << ' ' << m;
    std::cout << "\n";

    std::error_code ec;
    co_await session.async_authenticate(smtpio::credentials(user, password),
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec == smtpio::errc::auth_failed) {
        // Refused: the session stays open and last_reply() says why (535 5.7.8, 454 4.7.0, ...).
        const smtpio::reply& why = session.last_reply();
        std::cerr << "authentication refused: " << why.to_string() << (why.transient() ? " (try later)" : "") << "\n";
        co_await session.async_quit(asio::use_awaitable);
        co_return 1;
    }
    if (ec) {
        std::cerr << "authentication failed: " << ec.message() << "\n"; // auth_not_offered, plaintext_auth_refused, ...
        co_return 1;
    }
    std::cout << "authenticated: " << std::boolalpha << session.is_authenticated() << "\n";

    smtpio::envelope env{user + "@example.org", {"ops@example.com"}};
    auto r = co_await session.async_send(std::move(env), smtpio::body("Subject: authenticated\r\n\r\nHi.\r\n"),
                                         asio::use_awaitable);
    std::cout << "message: " << to_string(r.outcome) << "\n";
    co_await session.async_quit(asio::use_awaitable);
    co_return r.outcome == smtpio::message_outcome::delivered ? 0 : 1;
}

int main(int argc, char** argv) {
    const char* password = std::getenv("SMTP_PASSWORD");
    if (argc != 5 || !password) {
        std::cerr << "usage: SMTP_PASSWORD=... " << argv[0] << " HOST PORT CA_FILE USER\n";
        return 2;
    }
    try {
        const auto port = static_cast<std::uint16_t>(std::stoul(argv[2]));
        auto tls = smtpio::tls::context::with_ca_file(argv[3]);
        asio::io_context io;
        int status = 1;
        asio::co_spawn(io, run(argv[1], port, tls, argv[4], password), [&](std::exception_ptr e, int rc) {
            if (e) std::rethrow_exception(e);
            status = rc;
        });
        io.run();
        return status;
    } catch (const std::system_error& e) {
        std::cerr << "failed: " << e.code().message() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 2;
    }
}
