//
// examples/06_recipient_outcomes.cpp -- one message, several recipients, and
// what to do with each outcome.
//
//   06_recipient_outcomes HOST PORT CA_FILE RECIPIENT...
//
// Each recipient ends accepted, rejected (5xx: bounce it, do not retry as is),
// deferred (4xx, or the session failed before the end of data: retry later) or
// unknown (the connection broke after the end of data was written: it may have
// been delivered; retrying risks a duplicate, RFC 1047).  The message outcome
// summarises them: delivered, partial, rejected, deferred, unknown.
//
// Against smtpio-sink, recipients starting with "reject" get 550 and those
// starting with "defer" get 451.
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
#include <vector>

asio::awaitable<void> run(std::string host, std::uint16_t port, smtpio::tls::context tls,
                          std::vector<std::string> recipients) {
    auto ex = co_await asio::this_coro::executor;
    auto session = co_await smtpio::async_connect(ex, host, port, smtpio::policy::submission(tls), asio::use_awaitable);

    smtpio::envelope env;
    env.from = "newsletter@example.org";
    for (const auto& r : recipients) env.to.emplace_back(r);
    auto r = co_await session.async_send(std::move(env), smtpio::body("Subject: news\r\n\r\nNews.\r\n"),
                                         asio::use_awaitable);

    for (const auto& rcpt : r.recipients) {
        std::cout << rcpt.address << ": " << to_string(rcpt.outcome);
        // The reply that decided it: RCPT's when RCPT failed, else the end of data's.
        if (!rcpt.reply.empty()) std::cout << " -- " << rcpt.reply.to_string();
        switch (rcpt.outcome) {
        case smtpio::outcome::accepted: std::cout << " => done"; break;
        case smtpio::outcome::rejected: std::cout << " => bounce, remove the address"; break;
        case smtpio::outcome::deferred: std::cout << " => queue for a later retry"; break;
        case smtpio::outcome::unknown: std::cout << " => may be delivered: do not resend blindly"; break;
        }
        std::cout << "\n";
    }
    std::cout << "message: " << to_string(r.outcome) << " (" << r.count(smtpio::outcome::accepted) << " accepted, "
              << r.count(smtpio::outcome::rejected) << " rejected, " << r.count(smtpio::outcome::deferred)
              << " deferred, " << r.count(smtpio::outcome::unknown) << " unknown)\n";
    // Set when the session failed mid-transaction (then outcomes are deferred or unknown).
    if (r.error) std::cout << "session error: " << r.error.message() << "\n";
    if (session.is_open()) co_await session.async_quit(asio::use_awaitable);
}

int main(int argc, char** argv) {
    if (argc < 5) {
        std::cerr << "usage: " << argv[0] << " HOST PORT CA_FILE RECIPIENT...\n";
        return 2;
    }
    try {
        const auto port = static_cast<std::uint16_t>(std::stoul(argv[2]));
        auto tls = smtpio::tls::context::with_ca_file(argv[3]);
        std::vector<std::string> recipients(argv + 4, argv + argc);
        asio::io_context io;
        asio::co_spawn(io, run(argv[1], port, tls, recipients), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
        io.run();
        return 0;
    } catch (const std::system_error& e) {
        std::cerr << "not sent: " << e.code().message() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 2;
    }
}
