//
// examples/08_tls_demand.cpp -- a per-message TLS demand on an opportunistic
// session: "this message only over verified TLS 1.2 or later".
//
//   08_tls_demand HOST PORT CA_FILE
//
// The session uses opportunistic TLS (`may`, RFC 7435): it takes TLS when the
// server offers it and would go on in plaintext otherwise -- fine for a
// newsletter, not for a password reset.  Each send states what it needs in
// send_options::demand; the demand is checked before MAIL, and when the
// session cannot meet it nothing of that message is written and the error
// names the demand.  The session stays open for the next message.
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

#include <iostream>
#include <string>

asio::awaitable<int> run(std::string host, std::uint16_t port, smtpio::tls::context tls) {
    auto ex = co_await asio::this_coro::executor;
    auto session = co_await smtpio::async_connect(ex, host, port, smtpio::policy::opportunistic(tls),
                                                  asio::use_awaitable);
    const auto& rep = session.tls_report();
    // `may` does not require a verified peer, but it computes the verdict anyway.
    std::cout << "session: " << (rep.established ? rep.version : "plaintext") << ", peer verified: " << std::boolalpha
              << rep.verified << " (" << smtpio::tls::to_string(rep.result) << ")\n";

    // 1. A password reset: verified TLS 1.2 or later, or nothing.
    smtpio::send_options strict;
    strict.demand = smtpio::tls_demand::verified_tls(smtpio::tls::version::tls1_2);
    std::error_code ec;
    smtpio::envelope reset_env{"accounts@example.org", {"user@example.com"}};
    auto r1 = co_await session.async_send(std::move(reset_env), smtpio::body("Subject: reset\r\n\r\nYour code.\r\n"),
                                          strict, asio::redirect_error(asio::use_awaitable, ec));
    std::cout << "password reset: " << (ec ? "not sent: " + ec.message() : std::string(to_string(r1.outcome))) << "\n";
    const bool first_ok = !ec && r1.outcome == smtpio::message_outcome::delivered;

    // 2. A demand this session cannot meet: authentication by DANE (RFC 7672).
    //    Refused before MAIL: errc::demand_not_authenticated_by_dane.
    smtpio::send_options dane;
    dane.demand.dane = true;
    smtpio::envelope dane_env{"accounts@example.org", {"user@example.com"}};
    auto r2 = co_await session.async_send(std::move(dane_env), smtpio::body("Subject: dane\r\n\r\nHi.\r\n"), dane,
                                          asio::redirect_error(asio::use_awaitable, ec));
    const bool refused = ec == smtpio::errc::demand_not_authenticated_by_dane &&
                         r2.outcome == smtpio::message_outcome::not_sent;
    std::cout << "DANE-only message: " << (ec ? "not sent: " + ec.message() : std::string(to_string(r2.outcome)))
              << " (policy violation: " << (ec == smtpio::condition::policy_violation) << ")\n";

    // Nothing was written for it, so the session is still open.
    std::cout << "session still open: " << session.is_open() << "\n";
    co_await session.async_quit(asio::use_awaitable);
    co_return first_ok && refused ? 0 : 1;
}

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: " << argv[0] << " HOST PORT CA_FILE\n";
        return 2;
    }
    try {
        const auto port = static_cast<std::uint16_t>(std::stoul(argv[2]));
        auto tls = smtpio::tls::context::with_ca_file(argv[3]);
        asio::io_context io;
        int status = 1;
        asio::co_spawn(io, run(argv[1], port, tls), [&](std::exception_ptr e, int rc) {
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
