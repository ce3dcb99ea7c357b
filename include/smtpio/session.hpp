//
// smtpio/session.hpp -- basic_session<AsyncStream>: an SMTP client session over
// any Asio stream, with STARTTLS or implicit TLS under a pluggable TLS policy.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_SESSION_HPP
#define SMTPIO_SESSION_HPP

#include <smtpio/auth.hpp>
#include <smtpio/body.hpp>
#include <smtpio/envelope.hpp>
#include <smtpio/error.hpp>
#include <smtpio/options.hpp>
#include <smtpio/proto/algorithm.hpp>
#include <smtpio/proto/capabilities.hpp>
#include <smtpio/reply.hpp>
#include <smtpio/result.hpp>
#include <smtpio/tls/policy.hpp>
#include <smtpio/tls/report.hpp>
#include <smtpio/tls/stream.hpp>

#include <asio/async_result.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace smtpio {

/// The outcome of one send: per recipient, for the message, and what protected it.
struct send_result : transaction_result {
    /// The session's TLS report at the time of the send: version, cipher, peer
    /// certificate, verdict (`tls.attempted == false` for plaintext by policy).
    tls::report tls;
};

/// One message for `async_send_batch`.
struct message {
    smtpio::envelope envelope;
    smtpio::body content;
    send_options options;
};

namespace detail {
template <class AsyncStream>
struct session_impl;
}

/// An SMTP client session (RFC 5321) over `AsyncStream`: a connected
/// `asio::ip::tcp::socket`, a `asio::local::stream_protocol::socket`, a test
/// stream, or any type meeting Asio's AsyncReadStream and AsyncWriteStream
/// requirements.  STARTTLS and implicit TLS run `tls::stream` over it.  Deadlines and cancellation close the
/// stream: `lowest_layer().close()`, else `close()`, else `cancel()`.
///
/// The TLS policy decides, before a byte of mail is written, whether and how the
/// connection is protected (see `tls::policy`, `smtpio::policy::submission`).
/// Under any policy stricter than opportunistic, no MAIL, RCPT, AUTH or message
/// octet is written before the handshake succeeded and the policy accepted the
/// peer.
///
/// One operation at a time: starting a second while one runs fails with
/// errc::operation_in_progress.  Every operation takes any completion token
/// (callback, `asio::use_future`, `asio::use_awaitable`, `asio::deferred`, ...).
/// Cancellation (any type, through the handler's cancellation slot) and a
/// deadline's expiry close the session; the operation fails with errc::cancelled
/// or the phase's timeout error.  Handlers run on the session's executor; with a
/// multi-threaded `io_context`, use a strand executor for the stream.
///
/// The session must outlive its operations.  Moving a session moves its
/// connection (not while an operation runs).
template <class AsyncStream>
class basic_session {
public:
    using next_layer_type = AsyncStream;
    using executor_type = typename AsyncStream::executor_type;
    using default_token = asio::default_completion_token_t<executor_type>;

    /// A session over a connected `stream`, protected as `policy` says.
    template <class Policy>
        requires tls::policy_type<std::decay_t<Policy>>
    basic_session(AsyncStream stream, Policy&& policy, session_options options = {});

    basic_session(basic_session&&) noexcept = default;
    basic_session& operator=(basic_session&&) noexcept = default;
    basic_session(const basic_session&) = delete;
    basic_session& operator=(const basic_session&) = delete;
    /// Closes the connection (without QUIT).
    ~basic_session();

    executor_type get_executor() noexcept;
    /// The stream the session runs over.  An Asio stream socket (TCP or local)
    /// is put in non-blocking mode (`non_blocking(true)`) at the first write
    /// after an operation has waited once: the session writes a command group or
    /// a message's last block straight into the socket when it takes it at once,
    /// and starts an asynchronous write only for the rest.  Synchronous calls on
    /// the socket then fail with `would_block` instead of waiting.
    next_layer_type& next_layer() noexcept;
    const next_layer_type& next_layer() const noexcept;

    /// Open (greeting and EHLO done) and usable.
    bool is_open() const noexcept;
    /// TLS is established on the connection.
    bool is_encrypted() const noexcept;
    /// AUTH succeeded.
    bool is_authenticated() const noexcept;
    /// What the server advertised in its last EHLO (after TLS when TLS is used).
    const proto::capabilities& capabilities() const noexcept;
    /// What protects the connection: version, cipher, peer, verdict.
    const tls::report& tls_report() const noexcept;
    /// The TLS policy in force.
    const tls::any_policy& policy() const noexcept;
    const session_options& options() const noexcept;
    /// The server's reply that ended the last failed operation (empty if none).
    const reply& last_reply() const noexcept;
    /// Closes the connection now (no QUIT).  Pending operations fail.
    void close() noexcept;

    /// Reads the greeting, says EHLO (HELO if EHLO is refused), negotiates TLS as
    /// the policy says (STARTTLS, or implicit TLS before the greeting), and says
    /// EHLO again over TLS.  Signature: `void(std::error_code)`.
    /// Errors: greeting_refused, service_not_available, hello_refused,
    /// starttls_not_offered, starttls_refused, tls_handshake_failed, the policy's
    /// rejection (certificate_expired, ...), response_injection, timeouts, I/O.
    /// Under an opportunistic policy a missing or refused STARTTLS is not an
    /// error: the session continues in plaintext and `tls_report()` says why.
    template <class CompletionToken = default_token>
    auto async_open(CompletionToken&& token = default_token{});

    /// AUTH (RFC 4954) with the strongest shared mechanism, or the one named in
    /// `creds`; never falls back to a weaker one after a failure.  Refused with
    /// errc::plaintext_auth_refused on an unencrypted connection unless
    /// `dangerous_allow_plaintext_auth`.  Signature: `void(std::error_code)`.
    /// A refusal (errc::auth_failed) leaves the session open; `last_reply()` has it.
    template <class CompletionToken = default_token>
    auto async_authenticate(credentials creds, CompletionToken&& token = default_token{});

    /// Sends one message.  Signature: `void(std::error_code, send_result)`.
    ///
    /// The error is set only when nothing of the message was written (outcome
    /// `not_sent`): invalid addresses or parameters, an unmet TLS demand or
    /// REQUIRETLS, what the server does not support (SIZE, 8BITMIME, SMTPUTF8,
    /// DSN), a session that is not open.  Anything that reached the wire comes
    /// back as a value: per-recipient outcomes, the deciding reply, and
    /// `result.error` when the session failed (then outcomes are `deferred`, or
    /// `unknown` after the end of data was written).  With `asio::use_awaitable`
    /// an exception therefore always means "not sent".
    template <class CompletionToken = default_token>
    auto async_send(envelope env, body content, CompletionToken&& token = default_token{});
    /// As above, with options (BODY, TLS demands, chunking).
    template <class CompletionToken = default_token>
    auto async_send(envelope env, body content, send_options opts, CompletionToken&& token = default_token{});

    /// Sends several messages with pipelining across them (the end of one
    /// message's data, the next MAIL, RCPTs and DATA in one write).  Signature:
    /// `void(std::error_code, std::vector<send_result>)`, one result per message;
    /// the error is set only when the session could not start (not_open, busy).
    template <class CompletionToken = default_token>
    auto async_send_batch(std::vector<message> messages, CompletionToken&& token = default_token{});

    /// RSET (RFC 5321 4.1.1.5).  A refusal closes the session (errc::reset_failed).
    template <class CompletionToken = default_token>
    auto async_reset(CompletionToken&& token = default_token{});
    /// NOOP: checks that the server is there.
    template <class CompletionToken = default_token>
    auto async_noop(CompletionToken&& token = default_token{});
    /// QUIT, then close.  Succeeds when the server closes without replying.
    template <class CompletionToken = default_token>
    auto async_quit(CompletionToken&& token = default_token{});

private:
    std::shared_ptr<detail::session_impl<AsyncStream>> impl_;
};

/// A session over TCP.
using session = basic_session<asio::ip::tcp::socket>;

} // namespace smtpio

#include <smtpio/impl/session.hpp>

#endif // SMTPIO_SESSION_HPP
