//
// smtpio/options.hpp -- session options: deadlines, limits, extensions, transcript.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_OPTIONS_HPP
#define SMTPIO_OPTIONS_HPP

#include <smtpio/envelope.hpp>
#include <smtpio/proto/algorithm.hpp>
#include <smtpio/proto/reply_parser.hpp>
#include <smtpio/result.hpp>
#include <smtpio/tls/report.hpp>
#include <smtpio/tls/types.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace smtpio {

/// Per-phase deadlines.  Defaults are RFC 5321 4.5.3.2's minimums (and 2 minutes
/// for the TLS handshake).  A deadline covers a whole command and its reply, not
/// each read: a server that dribbles one byte every few seconds still times out.
/// On expiry the session is closed and the operation fails with a phase-specific
/// error (greeting_timeout, command_timeout, tls_handshake_timeout, data_timeout,
/// end_of_data_timeout).
struct timeouts {
    using duration = std::chrono::steady_clock::duration;
    duration connect = std::chrono::minutes(2);       ///< Name resolution and TCP connection (async_connect).
    duration greeting = std::chrono::minutes(5);      ///< 4.5.3.2.1
    duration command = std::chrono::minutes(5);       ///< EHLO, STARTTLS, AUTH, RSET, NOOP, QUIT
    duration tls_handshake = std::chrono::minutes(2);
    duration mail = std::chrono::minutes(5);          ///< 4.5.3.2.2
    duration rcpt = std::chrono::minutes(5);          ///< 4.5.3.2.3
    duration data_init = std::chrono::minutes(2);     ///< 4.5.3.2.4
    duration data_block = std::chrono::minutes(3);    ///< 4.5.3.2.5, per block written
    duration data_end = std::chrono::minutes(10);     ///< 4.5.3.2.6

    /// The deadline of a phase.
    duration for_phase(proto::phase p) const noexcept {
        switch (p) {
        case proto::phase::greeting: return greeting;
        case proto::phase::tls_handshake: return tls_handshake;
        case proto::phase::mail: return mail;
        case proto::phase::rcpt: return rcpt;
        case proto::phase::data_init: return data_init;
        case proto::phase::data_block: return data_block;
        case proto::phase::data_end: return data_end;
        default: return command;
        }
    }
    /// Every deadline bounded by `cap`: each phase gets min(its default, cap).
    timeouts capped(duration cap) const noexcept {
        timeouts t = *this;
        for (duration* d : {&t.connect, &t.greeting, &t.command, &t.tls_handshake, &t.mail, &t.rcpt, &t.data_init, &t.data_block,
                            &t.data_end})
            if (*d > cap) *d = cap;
        return t;
    }
};

/// Extensions the session may use when the server advertises them.  Turn one off
/// for a server that advertises an extension and breaks it.
struct extension_switches {
    bool pipelining = true;    ///< RFC 2920
    /// RFC 3030 BDAT for every message (always used for BINARYMIME).  With
    /// PIPELINING, `async_send_batch` then writes several small messages at once
    /// (RSET between them): the fastest way to send many small messages.
    bool chunking = false;
    bool size = true;          ///< RFC 1870: declare SIZE=, refuse a message over the limit before MAIL
    bool eightbitmime = true;  ///< RFC 6152
    bool smtputf8 = true;      ///< RFC 6531
    bool dsn = true;           ///< RFC 3461
    bool enhanced_status_codes = true; ///< RFC 2034
};

/// One event of a session's conversation, for logs and `--transcript`.
/// Server text is escaped; AUTH data is redacted; message data is counted.
struct transcript_event {
    enum class kind : std::uint8_t {
        connected,       ///< `text`: the peer ("127.0.0.1:25").
        command,         ///< `text`: one command line the client wrote, without CRLF ("AUTH PLAIN <redacted>").
        message_data,    ///< `octets`: message data written.
        reply,           ///< `text`: a reply as "250-..." lines joined with '\n', escaped.
        tls_established, ///< `tls`: the report.
        tls_failed,      ///< `tls`: the report; `text`: why.
        outcome,         ///< `result`: the outcome of a send.
        closed,          ///< The connection was closed; `text`: why, if not QUIT.
    };
    kind type;
    std::string_view text;
    std::uint64_t octets = 0;
    const tls::report* tls = nullptr;
    const transaction_result* result = nullptr;
};

/// Receives transcript events; called on the session's executor.
using transcript_hook = std::function<void(const transcript_event&)>;

/// How a session behaves.
struct session_options {
    /// The EHLO/HELO name: a domain or an address literal.  Empty: this host's
    /// name (gethostname), or "localhost" when that is not a valid domain.
    std::string helo_name;
    /// The next hop's name as the caller knows it: the default reference identity
    /// for certificate checks and SNI (never a name learned from the server).
    /// `async_connect` fills it in.
    std::string host;
    /// The next hop's port, for the TLS resumption key (587 and 465 differ).
    std::uint16_t port = 0;
    smtpio::timeouts timeouts;
    proto::reply_limits reply_limits;
    extension_switches extensions;
    /// Send AUTH over a connection that is not encrypted.  Off by default
    /// (DESIGN rule 7): credentials in clear can be read by anyone on the path.
    bool dangerous_allow_plaintext_auth = false;
    /// Raw message octets per write (at least 1: with 0, every message is refused
    /// with errc::invalid_option before anything of it is sent).
    std::size_t block_size = 256 * 1024;
    /// Most recipients per message (errc::too_many_recipients above it).
    std::size_t max_recipients = 100000;
    transcript_hook transcript;
    /// Opportunistic TLS after a failed handshake (RFC 7435 section 3: fall back
    /// rather than not deliver): when not empty, the session does not send
    /// STARTTLS, continues in plaintext, and its TLS report says
    /// `handshake-failure` with this text.  `async_connect` sets it when it
    /// retries on a new connection; set it yourself only for the same purpose.
    std::string opportunistic_fallback;
};

/// What a single send demands of the session's TLS, checked before MAIL: if
/// the session cannot meet it, nothing of the message is written and the error
/// names the demand (demand_not_encrypted, demand_not_verified,
/// demand_tls_version, demand_not_authenticated_by_dane).
struct tls_demand {
    bool encrypted = false;                       ///< TLS is established.
    bool verified = false;                        ///< ... and the peer was authenticated.
    std::optional<tls::version> min_version;      ///< ... with at least this version.
    bool dane = false;                            ///< ... by DANE (RFC 7672).

    /// Encrypted, authenticated, at least TLS `v`.
    static tls_demand verified_tls(tls::version v = tls::version::tls1_2) {
        tls_demand d;
        d.encrypted = true;
        d.verified = true;
        d.min_version = v;
        return d;
    }
    /// Why `r` falls short of the demand, or empty.
    std::error_code check(const tls::report& r) const;
};

/// Options of one send.
struct send_options {
    /// BODY=: automatic declares 8BITMIME only when the message needs it (or
    /// cannot be scanned) and the server offers it.
    body_type body = body_type::automatic;
    /// Demands on the session's TLS, checked before MAIL.
    tls_demand demand;
    /// Use BDAT (RFC 3030) for this message; default: the session's switch.
    std::optional<bool> chunking;
};

} // namespace smtpio

#include <smtpio/impl/options.hpp>

#endif // SMTPIO_OPTIONS_HPP
