//
// smtpio/proto/algorithm.hpp -- the contract between I/O-free algorithms and the
// driver that runs them: connection state, phases, next actions.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_ALGORITHM_HPP
#define SMTPIO_PROTO_ALGORITHM_HPP

#include <smtpio/error.hpp>
#include <smtpio/proto/buffer.hpp>
#include <smtpio/proto/capabilities.hpp>
#include <smtpio/proto/reply_parser.hpp>

#include <cstdint>
#include <string_view>

namespace smtpio::proto {

/// The phase an action belongs to.  The driver arms one deadline per action from
/// the phase (RFC 5321 4.5.3.2) and turns its expiry into a phase-specific error.
enum class phase : std::uint8_t {
    none,
    greeting,      ///< Waiting for the 220 greeting (5 minutes).
    ehlo,          ///< EHLO/HELO and its reply.
    starttls,      ///< STARTTLS and its reply.
    tls_handshake, ///< The TLS handshake (2 minutes).
    auth,          ///< AUTH exchanges.
    mail,          ///< MAIL FROM and its reply (5 minutes).
    rcpt,          ///< RCPT TO and its reply (5 minutes).
    data_init,     ///< DATA and its 354 (2 minutes).
    data_block,    ///< Writing a block of message data (3 minutes each).
    data_end,      ///< Waiting for the reply to the end of data (10 minutes).
    rset,
    noop,
    quit,
};

/// "greeting", "ehlo", ... for messages and transcripts.
constexpr std::string_view to_string(phase p) noexcept {
    switch (p) {
    case phase::none: return "none";
    case phase::greeting: return "greeting";
    case phase::ehlo: return "ehlo";
    case phase::starttls: return "starttls";
    case phase::tls_handshake: return "tls_handshake";
    case phase::auth: return "auth";
    case phase::mail: return "mail";
    case phase::rcpt: return "rcpt";
    case phase::data_init: return "data_init";
    case phase::data_block: return "data_block";
    case phase::data_end: return "data_end";
    case phase::rset: return "rset";
    case phase::noop: return "noop";
    case phase::quit: return "quit";
    }
    return "none";
}

/// The timeout error for a phase.
constexpr errc timeout_error(phase p) noexcept {
    switch (p) {
    case phase::greeting: return errc::greeting_timeout;
    case phase::tls_handshake: return errc::tls_handshake_timeout;
    case phase::data_block: return errc::data_timeout;
    case phase::data_end: return errc::end_of_data_timeout;
    default: return errc::command_timeout;
    }
}

/// What an algorithm asks its driver to do next.
struct next_action {
    enum class type : std::uint8_t {
        write,          ///< Write `state.whead` then all of `state.wbuf`, then resume with the write's error.
        read,           ///< Make the next complete reply available in `state.parser.get()`, then resume.
        write_and_read, ///< As `write`, while reading what the server sends (see
                        ///< connection_state::early_read_done).
        tls_handshake,  ///< Run the TLS handshake and the policy's verdict; resume with its error.
        close,          ///< Close the connection; then resume.
        done,           ///< The algorithm finished with `ec`.
    };
    type kind = type::done;
    smtpio::proto::phase when = phase::none;
    std::error_code ec;
    /// For writes: the bytes hold secrets (AUTH); transcripts must redact them.
    bool sensitive = false;
    /// For writes: the bytes include message data (shown as a count, not content).
    bool message_data = false;
    /// With `message_data`: how many leading octets of the write are message data
    /// (the rest are commands pipelined after the end of data).
    std::size_t data_length = 0;

    static next_action write(smtpio::proto::phase p, bool sensitive = false) {
        return {type::write, p, {}, sensitive, false, 0};
    }
    static next_action write_data(smtpio::proto::phase p, bool duplex, std::size_t data_length) {
        return {duplex ? type::write_and_read : type::write, p, {}, false, true, data_length};
    }
    static next_action read(smtpio::proto::phase p) { return {type::read, p, {}, false, false, 0}; }
    static next_action handshake() { return {type::tls_handshake, phase::tls_handshake, {}, false, false, 0}; }
    static next_action close() { return {type::close, phase::none, {}, false, false, 0}; }
    static next_action done(std::error_code ec = {}) { return {type::done, phase::none, ec, false, false, 0}; }
};

/// Everything a session knows about its connection, shared by the algorithms
/// that run on it one after the other.  The driver owns the I/O; algorithms own
/// the decisions.
struct connection_state {
    buffer rbuf;            ///< Bytes read and not yet parsed.
    buffer wbuf;            ///< Bytes to write next.
    /// Message data to write before `wbuf`: a view into a message body that
    /// outlives the write, so the body goes out without a copy.  Algorithms set it
    /// only when `gather_writes`; the driver clears it with `wbuf` once written.
    std::string_view whead;
    /// Set by the driver when it writes `whead` and `wbuf` together in one gather
    /// write at no extra cost (a plain socket).  Clear over TLS, where each buffer
    /// would make a record of its own: message data is then copied into wbuf.
    bool gather_writes = false;
    /// The octets the next write carries: `whead`, then `wbuf`.
    std::size_t write_size() const noexcept { return whead.size() + wbuf.size(); }
    /// Forgets what was to be written (the driver calls it once it is written).
    void clear_write() noexcept {
        whead = {};
        wbuf.clear();
    }
    reply_parser parser;    ///< Reused for every reply.
    capabilities caps;      ///< From the last successful EHLO (cleared by STARTTLS).
    bool tls_active = false;      ///< TLS is established on this connection.
    bool opened = false;          ///< Greeting and EHLO/HELO succeeded.
    bool broken = false;          ///< The connection must not be used any more.
    bool esmtp = true;            ///< EHLO (not HELO) succeeded.
    bool authenticated = false;   ///< AUTH succeeded.
    bool in_transaction = false;  ///< MAIL was accepted and no final reply ended the transaction: RSET first.

    /// Set by the driver after each write: octets written, `whead` and `wbuf`
    /// together (all of them on success).
    std::size_t last_write_octets = 0;

    /// Set by the driver when it must see every reply (a transcript records
    /// them): algorithms then leave every read to it, even of a reply already
    /// buffered.
    bool driver_sees_replies = false;

    /// Set by the driver while a read into rbuf is in flight (the read that runs
    /// during a write_and_read): rbuf must not be consumed under it.
    bool read_in_flight = false;

    /// Set by the driver when a read that ran during a write_and_read completed:
    /// its bytes are in rbuf; `early_error` holds its error (end of stream included).
    bool early_read_done = false;
    std::error_code early_error;

    /// The last reply that ended an operation in failure, for diagnostics.
    reply last_reply;

    /// True when the server sent bytes that no command asked for: anything still
    /// buffered when the client is about to write (RFC 5321 4.2: one reply per
    /// command; RFC 2920 3.1: replies come in order).  Writing then would make
    /// every later reply answer the wrong command, so the session must end.
    bool unsolicited() const noexcept { return !rbuf.empty() || parser.in_progress(); }

    /// Tries to take a complete reply from rbuf without I/O.
    reply_parser::status try_reply() {
        auto r = parser.put(rbuf.view());
        rbuf.consume(r.consumed);
        return r.state;
    }

    /// What the driver does for a read when the reply is already buffered, for
    /// an algorithm about to ask for one: true when a complete reply was taken
    /// (ec clear) or a malformed one ended the parse (ec set); false when the
    /// driver must read (nothing or part of a reply buffered, a read of a
    /// write_and_read in flight or to account for, or `driver_sees_replies`).  One read
    /// often brings the replies of a whole command group.
    bool take_buffered_reply(std::error_code& ec) {
        if (driver_sees_replies || read_in_flight || early_read_done || rbuf.empty()) return false;
        return take_reply(ec);
    }

    /// try_reply() as an error code: true when a complete reply was taken (ec
    /// clear) or a malformed one ended the parse (ec set); false when more is due.
    bool take_reply(std::error_code& ec) {
        switch (try_reply()) {
        case reply_parser::status::done:
            ec.clear();
            return true;
        case reply_parser::status::error:
            ec = parser.error();
            return true;
        default:
            return false;
        }
    }
};

} // namespace smtpio::proto

// Stackless coroutine helpers for algorithms: state is an int member; each
// yield records its line so that resume() jumps back there.
#define SMTPIO_CORO_BEGIN(state) switch (state) { case 0:
#define SMTPIO_CORO_YIELD(state, ...)                                                                           \
    do {                                                                                                         \
        state = __LINE__;                                                                                        \
        return __VA_ARGS__;                                                                                      \
    case __LINE__:;                                                                                              \
    } while (false)
#define SMTPIO_CORO_END(state, ...)                                                                             \
    }                                                                                                            \
    state = -1;                                                                                                  \
    return __VA_ARGS__

#endif // SMTPIO_PROTO_ALGORITHM_HPP
