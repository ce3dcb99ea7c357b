//
// smtpio/proto/open_algorithm.hpp -- opening a session: greeting, EHLO (HELO
// fallback), STARTTLS per policy, EHLO again over TLS.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_OPEN_ALGORITHM_HPP
#define SMTPIO_PROTO_OPEN_ALGORITHM_HPP

#include <smtpio/proto/algorithm.hpp>
#include <smtpio/proto/commands.hpp>

#include <string>

namespace smtpio::proto {

/// How the opening negotiates TLS (decided by the session's TLS policy).
enum class starttls_mode : std::uint8_t {
    never,         ///< Plaintext: STARTTLS is not sent even when offered.
    opportunistic, ///< STARTTLS when offered; plaintext when absent or refused (reported).
    required,      ///< STARTTLS must be offered, accepted and the peer verified.
    implicit,      ///< TLS from the first byte (RFC 8314): handshake before the greeting.
};

/// What happened with STARTTLS during the opening, for the TLS report.
enum class starttls_status : std::uint8_t {
    not_attempted, ///< Policy never asked for TLS.
    established,   ///< TLS is up (STARTTLS or implicit).
    not_offered,   ///< The server did not advertise STARTTLS.
    refused,       ///< The server answered STARTTLS with 4xx/5xx.
};

/// Greeting, EHLO, STARTTLS per `mode`, EHLO again (RFC 5321 3.1, 4.1.1.1; RFC 3207).
///
/// Security rules enforced here: after the 220 to STARTTLS, any byte already
/// received is response injection (RFC 3207 6) and ends the session; after the
/// handshake the plaintext capabilities are forgotten and EHLO is sent again;
/// under `required` a missing STARTTLS or a 4xx/5xx to it is a TLS error and
/// nothing else is written.
class open_algorithm {
public:
    open_algorithm(connection_state& st, std::string helo_name, starttls_mode mode)
        : st_(st), helo_(std::move(helo_name)), mode_(mode) {}

    next_action resume(std::error_code ec);

    starttls_status tls_status() const noexcept { return status_; }
    /// The reply to STARTTLS when it was refused.
    const reply& starttls_reply() const noexcept { return starttls_reply_; }

private:
    next_action fail(errc e) {
        st_.broken = true;
        st_.last_reply = st_.parser.get().to_reply();
        return next_action::done(e);
    }

    connection_state& st_;
    std::string helo_;
    starttls_mode mode_;
    starttls_status status_ = starttls_status::not_attempted;
    reply starttls_reply_;
    int coro_ = 0;
    bool tried_helo_ = false;
};

inline next_action open_algorithm::resume(std::error_code ec) {
    SMTPIO_CORO_BEGIN(coro_)
    if (st_.opened) return next_action::done(errc::already_open);
    if (st_.broken) return next_action::done(errc::not_open);
    {
        // Check the EHLO name before anything is written.
        buffer probe;
        if (auto e = write_ehlo(probe, helo_)) return next_action::done(e);
    }
    if (mode_ == starttls_mode::implicit) {
        SMTPIO_CORO_YIELD(coro_, next_action::handshake());
        if (ec) {
            st_.broken = true;
            return next_action::done(ec);
        }
        st_.tls_active = true;
        status_ = starttls_status::established;
    }

    // RFC 5321 3.1: the server speaks first.
    SMTPIO_CORO_YIELD(coro_, next_action::read(phase::greeting));
    if (ec) {
        st_.broken = true;
        return next_action::done(ec);
    }
    if (st_.parser.get().code == 421) return fail(errc::service_not_available);
    if (st_.parser.get().code != 220) return fail(errc::greeting_refused);

ehlo:
    if (st_.unsolicited()) return fail(errc::unsolicited_reply);
    st_.wbuf.clear();
    (void)write_ehlo(st_.wbuf, helo_);
    SMTPIO_CORO_YIELD(coro_, next_action::write(phase::ehlo));
    if (ec) {
        st_.broken = true;
        return next_action::done(ec);
    }
    SMTPIO_CORO_YIELD(coro_, next_action::read(phase::ehlo));
    if (ec) {
        st_.broken = true;
        return next_action::done(ec);
    }
    if (st_.parser.get().code == 421) return fail(errc::service_not_available);
    if (st_.parser.get().code == 250) {
        st_.caps = capabilities::from_ehlo(st_.parser.get());
        st_.esmtp = true;
    } else if (st_.parser.get().code >= 400 && st_.parser.get().code < 600) {
        // RFC 5321 3.2: a server that does not know EHLO gets HELO.  Not when TLS
        // is needed: HELO cannot negotiate STARTTLS, and after TLS it is too late.
        if (mode_ == starttls_mode::required && !st_.tls_active) return fail(errc::starttls_not_offered);
        if (st_.tls_active || tried_helo_) return fail(errc::hello_refused);
        tried_helo_ = true;
        if (st_.unsolicited()) return fail(errc::unsolicited_reply);
        st_.wbuf.clear();
        (void)write_helo(st_.wbuf, helo_);
        SMTPIO_CORO_YIELD(coro_, next_action::write(phase::ehlo));
        if (ec) {
            st_.broken = true;
            return next_action::done(ec);
        }
        SMTPIO_CORO_YIELD(coro_, next_action::read(phase::ehlo));
        if (ec) {
            st_.broken = true;
            return next_action::done(ec);
        }
        if (st_.parser.get().code == 421) return fail(errc::service_not_available);
        if (st_.parser.get().code != 250) return fail(errc::hello_refused);
        st_.caps = capabilities{};
        st_.esmtp = false;
    } else {
        return fail(errc::unexpected_reply);
    }
    st_.parser.set_enhanced_status_codes(st_.caps.enhanced_status_codes());

    if (st_.tls_active || mode_ == starttls_mode::never) {
        st_.opened = true;
        return next_action::done();
    }
    if (!st_.caps.starttls()) {
        status_ = starttls_status::not_offered;
        if (mode_ == starttls_mode::required) {
            st_.broken = true;
            return next_action::done(errc::starttls_not_offered);
        }
        st_.opened = true; // opportunistic: plaintext, reported by the session
        return next_action::done();
    }

    if (st_.unsolicited()) return fail(errc::unsolicited_reply);
    st_.wbuf.clear();
    write_starttls(st_.wbuf);
    SMTPIO_CORO_YIELD(coro_, next_action::write(phase::starttls));
    if (ec) {
        st_.broken = true;
        return next_action::done(ec);
    }
    SMTPIO_CORO_YIELD(coro_, next_action::read(phase::starttls));
    if (ec) {
        st_.broken = true;
        return next_action::done(ec);
    }
    {
        int code = st_.parser.get().code;
        if (code == 220) {
            // RFC 3207 6: bytes received before the handshake are a man-in-the-
            // middle's; never read them as replies over TLS.
            if (!st_.rbuf.empty()) return fail(errc::response_injection);
        } else if (code == 421) {
            return fail(errc::service_not_available);
        } else if (code >= 400) {
            starttls_reply_ = st_.parser.get().to_reply();
            status_ = starttls_status::refused;
            if (mode_ == starttls_mode::required) return fail(errc::starttls_refused);
            st_.opened = true; // opportunistic: continue in plaintext, reported
            return next_action::done();
        } else {
            return fail(errc::unexpected_reply);
        }
    }
    SMTPIO_CORO_YIELD(coro_, next_action::handshake());
    if (ec) {
        st_.broken = true;
        return next_action::done(ec);
    }
    st_.tls_active = true;
    status_ = starttls_status::established;
    // RFC 3207 4.2: discard all knowledge obtained before TLS; EHLO again.
    st_.caps = capabilities{};
    st_.parser.reset();
    st_.parser.set_enhanced_status_codes(false);
    goto ehlo;
    SMTPIO_CORO_END(coro_, next_action::done());
}

} // namespace smtpio::proto

#endif // SMTPIO_PROTO_OPEN_ALGORITHM_HPP
