//
// examples/07_reuse_and_batch.cpp -- several messages over one connection:
// first one async_send after another, then a batch with async_send_batch,
// which pipelines across messages (the end of one message's data and the next
// MAIL, RCPTs and DATA share one write: one round trip per message when the
// server offers PIPELINING, RFC 2920); then the same batch with BDAT (CHUNKING,
// RFC 3030), which needs no go-ahead: several whole messages go in one write,
// RSET between them, so a batch of small messages costs a fraction of a round
// trip each.
//
//   07_reuse_and_batch HOST PORT CA_FILE [MESSAGES]
//
// MESSAGES (default 5) is the size of the batch.  A second connection made
// with the same tls::context resumes the first one's TLS session.
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

asio::awaitable<int> run(std::string host, std::uint16_t port, smtpio::tls::context tls, std::size_t batch_size) {
    auto ex = co_await asio::this_coro::executor;
    auto session = co_await smtpio::async_connect(ex, host, port, smtpio::policy::submission(tls), asio::use_awaitable);
    std::size_t delivered = 0;

    // 1. One after another on the same session.  A session runs one operation
    //    at a time: wait for each send before starting the next.
    for (int i = 1; i <= 3; ++i) {
        smtpio::envelope env{"app@example.org", {"user" + std::to_string(i) + "@example.com"}};
        std::string text = "Subject: message " + std::to_string(i) + "\r\n\r\nHello.\r\n";
        auto r = co_await session.async_send(std::move(env), smtpio::body(std::move(text)), asio::use_awaitable);
        std::cout << "send " << i << ": " << to_string(r.outcome) << "\n";
        if (r.outcome == smtpio::message_outcome::delivered) ++delivered;
        // A session that failed mid-transaction (r.error set) is closed: reconnect.
        if (!session.is_open()) co_return 1;
    }

    // 2. A batch: one result per message, in order.  Messages refused before
    //    MAIL (say, a bad address) come back `not_sent` with their error; the
    //    others are sent anyway.
    //    Then one text to every recipient, a transaction each, with BDAT where
    //    the server offers CHUNKING (for every message of a session:
    //    session_options::extensions.chunking).  A prepared_text is shared by
    //    all those messages and scanned once, not before every MAIL.
    auto newsletter = std::make_shared<const smtpio::prepared_text>(std::string("Subject: news\r\n\r\nHello, all.\r\n"));
    std::vector<smtpio::message> batch, bdat_batch;
    for (std::size_t i = 1; i <= batch_size; ++i) {
        for (auto* b : {&batch, &bdat_batch}) {
            smtpio::message m;
            m.envelope.from = "app@example.org";
            m.envelope.to.emplace_back("batch" + std::to_string(i) + "@example.com");
            if (b == &batch) {
                m.content = smtpio::body("Subject: batch " + std::to_string(i) + "\r\n\r\nHello.\r\n");
            } else {
                m.content = smtpio::body::prepared(newsletter);
                m.options.chunking = true;
            }
            b->push_back(std::move(m));
        }
    }
    auto results = co_await session.async_send_batch(std::move(batch), asio::use_awaitable);
    for (std::size_t i = 0; i < results.size(); ++i) {
        std::cout << "batch " << i + 1 << ": " << to_string(results[i].outcome);
        if (results[i].error) std::cout << " (" << results[i].error.message() << ")";
        std::cout << "\n";
        if (results[i].outcome == smtpio::message_outcome::delivered) ++delivered;
    }
    auto bdat_results = co_await session.async_send_batch(std::move(bdat_batch), asio::use_awaitable);
    for (std::size_t i = 0; i < bdat_results.size(); ++i) {
        std::cout << "BDAT batch " << i + 1 << ": " << to_string(bdat_results[i].outcome) << "\n";
        if (bdat_results[i].outcome == smtpio::message_outcome::delivered) ++delivered;
    }
    co_await session.async_quit(asio::use_awaitable);

    // 3. A new connection with the same context resumes the TLS session.
    auto again = co_await smtpio::async_connect(ex, host, port, smtpio::policy::submission(tls), asio::use_awaitable);
    std::cout << "second connection: TLS session resumed: " << std::boolalpha << again.tls_report().resumed << "\n";
    co_await again.async_quit(asio::use_awaitable);

    std::cout << "delivered " << delivered << " of " << 3 + 2 * batch_size << " messages\n";
    co_return delivered == 3 + 2 * batch_size ? 0 : 1;
}

int main(int argc, char** argv) {
    if (argc < 4 || argc > 5) {
        std::cerr << "usage: " << argv[0] << " HOST PORT CA_FILE [MESSAGES]\n";
        return 2;
    }
    try {
        const auto port = static_cast<std::uint16_t>(std::stoul(argv[2]));
        auto tls = smtpio::tls::context::with_ca_file(argv[3]);
        const std::size_t n = argc > 4 ? std::stoul(argv[4]) : 5;
        asio::io_context io;
        int status = 1;
        asio::co_spawn(io, run(argv[1], port, tls, n), [&](std::exception_ptr e, int rc) {
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
