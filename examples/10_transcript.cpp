//
// examples/10_transcript.cpp -- watch the conversation: a transcript hook in
// session_options receives every command, reply, TLS event and outcome.
//
//   10_transcript HOST PORT CA_FILE
//
// Server text arrives escaped (no raw control characters reach your log), AUTH
// data is redacted, and message data is reported as a count of octets, never
// as content.  The hook runs on the session's executor; keep it quick.
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

// Prints one event per line, like `smtpio-send --transcript`.
void log_event(const smtpio::transcript_event& e) {
    using kind = smtpio::transcript_event::kind;
    switch (e.type) {
    case kind::connected: std::cout << "-- connected to " << e.text << "\n"; break;
    case kind::command: std::cout << "C: " << e.text << "\n"; break;
    case kind::message_data: std::cout << "C: <" << e.octets << " octets of message data>\n"; break;
    case kind::reply: {
        // A multi-line reply comes as one event, its lines joined with '\n'.
        std::string_view text = e.text;
        for (std::size_t nl; (nl = text.find('\n')) != std::string_view::npos; text.remove_prefix(nl + 1))
            std::cout << "S: " << text.substr(0, nl) << "\n";
        std::cout << "S: " << text << "\n";
        break;
    }
    case kind::tls_established:
        std::cout << "-- TLS " << e.tls->version << ' ' << e.tls->cipher << ", peer "
                  << (e.tls->verified ? "verified" : "not verified") << " (policy " << e.tls->policy << ")\n";
        break;
    case kind::tls_failed: std::cout << "-- TLS failed: " << e.text << "\n"; break;
    case kind::outcome: std::cout << "-- outcome: " << to_string(e.result->outcome) << "\n"; break;
    case kind::closed: std::cout << "-- closed" << (e.text.empty() ? "" : ": ") << e.text << "\n"; break;
    }
}

asio::awaitable<int> run(std::string host, std::uint16_t port, smtpio::tls::context tls) {
    auto ex = co_await asio::this_coro::executor;
    smtpio::session_options options;
    options.transcript = log_event;
    options.helo_name = "client.example.org";
    auto session = co_await smtpio::async_connect(ex, host, port, smtpio::policy::submission(tls), options,
                                                  asio::use_awaitable);
    smtpio::envelope env{"app@example.org", {"ops@example.com"}};
    auto r = co_await session.async_send(std::move(env), smtpio::body("Subject: traced\r\n\r\n.leading dot\r\n"),
                                         asio::use_awaitable);
    co_await session.async_quit(asio::use_awaitable);
    co_return r.outcome == smtpio::message_outcome::delivered ? 0 : 1;
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
