//
// tests/support/tls_client.hpp -- a TLS client driven by an smtpio TLS policy,
// exactly as the session drives it: prepare(), handshake, evaluate(), and only
// when the verdict accepts the peer, read/write.  For loopback tests.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TEST_TLS_CLIENT_HPP
#define SMTPIO_TEST_TLS_CLIENT_HPP

#include <smtpio/tls/context.hpp>
#include <smtpio/tls/policy.hpp>
#include <smtpio/tls/report.hpp>
#include <smtpio/tls/stream.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/ssl.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace smtpio::test {

/// What happened on one client connection.
struct client_outcome {
    std::error_code connect_error;   ///< TCP connect.
    std::error_code prepare_error;   ///< `policy.prepare()`.
    std::error_code handshake_error; ///< The TLS handshake.
    bool evaluated = false;          ///< `evaluate()` ran (the handshake succeeded).
    tls::verdict verdict;            ///< Its verdict.
    tls::report report;              ///< The report (`make_report` or `make_handshake_failure_report`).
    std::string first_line;          ///< The server's first line, read only when the peer was accepted.

    /// TCP connected and prepare() succeeded, then the TLS handshake failed.
    bool handshake_failed() const noexcept { return !connect_error && !prepare_error && handshake_error; }
    /// The handshake succeeded and the policy accepted the peer.
    bool accepted() const noexcept { return evaluated && verdict.accepted; }
};

/// Runs `op` on `io` until `done` or the deadline; false on timeout.
template <class Done>
bool run_until(asio::io_context& io, Done done, std::chrono::milliseconds timeout) {
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (io.run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline) return false;
    }
    return true;
}

/// Connects to 127.0.0.1:`port`, runs the policy as the session would with
/// `host` as the next-hop name, and when accepted reads the server's first line
/// (which also lets TLS 1.3 session tickets arrive).  The connection is closed
/// before returning unless `keep` is given, in which case it is moved there.
template <tls::policy_type Policy>
client_outcome connect_with_policy(const Policy& policy, unsigned short port, std::string_view host,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                   std::optional<tls::stream<asio::ip::tcp::socket>>* keep = nullptr,
                                   asio::io_context* io_ptr = nullptr) {
    client_outcome out;
    asio::io_context local_io;
    asio::io_context& io = io_ptr ? *io_ptr : local_io;
    tls::context* ctx = policy.tls_context();
    if (!ctx) {
        out.prepare_error = make_error_code(errc::invalid_option);
        return out;
    }
    // The stream smtpio's sessions use; a kept one is built in place (it cannot move)
    // and needs an io_context that outlives it.
    std::optional<tls::stream<asio::ip::tcp::socket>> local;
    auto& slot = keep && io_ptr ? *keep : local;
    slot.emplace(asio::ip::tcp::socket(io), ctx->native_handle());
    auto& stream = *slot;
    // Only an accepted connection stays in `keep`; any other is closed on return.
    struct drop_unless_kept {
        std::optional<tls::stream<asio::ip::tcp::socket>>& slot;
        bool kept = false;
        ~drop_unless_kept() {
            if (!kept) slot.reset();
        }
    } guard{slot};
    {
        std::optional<std::error_code> r;
        stream.next_layer().async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                          [&](std::error_code ec) { r = ec; });
        if (!run_until(io, [&] { return r.has_value(); }, timeout)) r = std::make_error_code(std::errc::timed_out);
        out.connect_error = *r;
        if (out.connect_error) return out;
    }
    tls::set_peer_port(stream.native_handle(), port);
    out.prepare_error = policy.prepare(stream.native_handle(), host);
    if (out.prepare_error) return out;

    std::optional<std::error_code> hs;
    stream.async_handshake([&](std::error_code ec) { hs = ec; });
    if (!run_until(io, [&] { return hs.has_value(); }, timeout)) {
        stream.next_layer().close();
        run_until(io, [&] { return hs.has_value(); }, std::chrono::seconds(5));
        hs = std::make_error_code(std::errc::timed_out);
    }
    out.handshake_error = *hs;
    if (out.handshake_error) {
        out.report = tls::make_handshake_failure_report(stream.native_handle(), out.handshake_error, policy.name());
        return out;
    }
    out.evaluated = true;
    out.verdict = policy.evaluate(stream.native_handle(), host);
    out.report = tls::make_report(stream.native_handle(), out.verdict, policy.name());
    if (!out.verdict.accepted) return out; // nothing is written or read after a rejection

    std::string buf;
    std::optional<std::error_code> rd;
    std::size_t n = 0;
    asio::async_read_until(stream, asio::dynamic_buffer(buf), "\r\n", [&](std::error_code ec, std::size_t bytes) {
        rd = ec;
        n = bytes;
    });
    if (run_until(io, [&] { return rd.has_value(); }, timeout) && !*rd) out.first_line = buf.substr(0, n - 2);
    guard.kept = true;
    return out;
}

} // namespace smtpio::test

#endif // SMTPIO_TEST_TLS_CLIENT_HPP
