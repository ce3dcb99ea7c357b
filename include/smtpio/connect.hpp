//
// smtpio/connect.hpp -- connect to a next hop by name and open a session; the
// blocking one-call send.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_CONNECT_HPP
#define SMTPIO_CONNECT_HPP

#include <smtpio/session.hpp>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smtpio {

/// Resolves `host` (a name, or an IP address: "192.0.2.1", "::1"), connects to
/// `port` trying each address in turn, sets TCP_NODELAY (each command group is
/// written at once; Nagle's algorithm would delay it by up to 40 ms), and opens
/// the session under `policy` (`session::async_open`).  `host` becomes the
/// session's reference name for certificate checks and SNI unless `options.host`
/// is set.  Signature: `void(std::error_code, session)`; on error the session is
/// closed and holds the TLS report and last reply of what happened.  Errors:
/// errc::resolve_failed, errc::connect_failed (with `timeouts.connect`), and
/// everything `async_open` reports.  Cancellation closes the connection.
///
/// This function resolves the next hop's name once; it does not look up MX
/// records (that is the delivery layer's job).
template <class Policy, class CompletionToken = asio::default_completion_token_t<asio::any_io_executor>>
    requires tls::policy_type<std::decay_t<Policy>>
auto async_connect(asio::any_io_executor ex, std::string host, std::uint16_t port, Policy&& policy,
                   session_options options, CompletionToken&& token = {});

/// As above with default options.
template <class Policy, class CompletionToken = asio::default_completion_token_t<asio::any_io_executor>>
    requires tls::policy_type<std::decay_t<Policy>>
auto async_connect(asio::any_io_executor ex, std::string host, std::uint16_t port, Policy&& policy,
                   CompletionToken&& token = {});

/// False when `async_connect` connects to `host` directly: an IP address
/// ("192.0.2.1", "2001:db8::1", "[2001:db8::1]").  True for a name, which it
/// resolves with Asio's resolver.  That resolver runs its lookups on a thread of
/// its own, so an `io_context` that connects only to addresses can run on one
/// thread without the scheduler's lock (`ASIO_CONCURRENCY_HINT_UNSAFE`, as
/// `smtpio-send` does in bulk mode).
bool connect_needs_resolver(std::string_view host) noexcept;

/// Sends one message and waits: connect, open, AUTH when `creds` is set, send,
/// QUIT.  For simple programs; it runs its own `io_context`.
///
/// Throws `std::system_error` when nothing of the message was written
/// (connection, TLS policy, AUTH, invalid input: the same errors as the
/// asynchronous operations).  Otherwise returns the result, whatever it says.
send_result send(const std::string& host, std::uint16_t port, tls::any_policy policy, envelope env, body content,
                 std::optional<credentials> creds = std::nullopt, session_options options = {},
                 send_options send_opts = {});

} // namespace smtpio

#include <smtpio/impl/connect.hpp>

#endif // SMTPIO_CONNECT_HPP
