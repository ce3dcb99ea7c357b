//
// smtpio/proto/auth_algorithm.hpp -- SMTP AUTH (RFC 4954) driven by a SASL mechanism.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_AUTH_ALGORITHM_HPP
#define SMTPIO_PROTO_AUTH_ALGORITHM_HPP

#include <smtpio/auth.hpp>
#include <smtpio/detail/base64.hpp>
#include <smtpio/proto/algorithm.hpp>
#include <smtpio/proto/commands.hpp>

namespace smtpio::proto {

/// Limits on what the server may ask during AUTH.
struct auth_limits {
    std::size_t max_challenge = 8192; ///< Decoded octets per 334 challenge.
};

/// One AUTH exchange.  Refuses to run in plaintext unless `allow_plaintext`
/// (DESIGN rule 7).  A 4xx/5xx ends it with errc::auth_failed and the reply in
/// `state.last_reply`; it never retries with a weaker mechanism.
class auth_algorithm {
public:
    auth_algorithm(connection_state& st, sasl::mechanism& mech, bool allow_plaintext, auth_limits limits = {})
        : st_(st), mech_(mech), allow_plaintext_(allow_plaintext), limits_(limits) {}

    next_action resume(std::error_code ec);

private:
    next_action io_failed(std::error_code ec) {
        st_.broken = true;
        return next_action::done(ec);
    }

    connection_state& st_;
    sasl::mechanism& mech_;
    bool allow_plaintext_;
    auth_limits limits_;
    int coro_ = 0;
    int rounds_ = 0;
    std::optional<std::string> pending_ir_;
    std::error_code cancel_reason_;
};

inline next_action auth_algorithm::resume(std::error_code ec) {
    SMTPIO_CORO_BEGIN(coro_)
    if (!st_.opened || st_.broken) return next_action::done(errc::not_open);
    if (!st_.tls_active && !allow_plaintext_) return next_action::done(errc::plaintext_auth_refused);
    if (!st_.caps.auth()) return next_action::done(errc::auth_not_offered);
    if (!st_.caps.supports_auth(mech_.name())) return next_action::done(errc::auth_mechanism_unavailable);
    if (st_.unsolicited()) {
        st_.broken = true;
        return next_action::done(errc::unsolicited_reply);
    }
    {
        st_.wbuf.clear();
        auto ir = mech_.initial_response();
        std::error_code e;
        if (ir) {
            std::string b64 = ir->empty() ? std::string("=") : smtpio::detail::base64_encode(*ir);
            e = write_auth(st_.wbuf, mech_.name(), std::string_view(b64));
            if (e == errc::command_too_long) {
                // RFC 4954 4: too long for the AUTH line: send it after an empty 334.
                pending_ir_ = std::move(*ir);
                e = write_auth(st_.wbuf, mech_.name(), std::nullopt);
            }
        } else {
            e = write_auth(st_.wbuf, mech_.name(), std::nullopt);
        }
        if (e) return next_action::done(e);
    }
    SMTPIO_CORO_YIELD(coro_, next_action::write(phase::auth, true));
    if (ec) return io_failed(ec);
    for (;;) {
        SMTPIO_CORO_YIELD(coro_, next_action::read(phase::auth));
        if (ec) return io_failed(ec);
        {
            const auto& r = st_.parser.get();
            if (cancel_reason_) {
                // The reply to our "*" (normally 501); the exchange is over.
                st_.last_reply = r.to_reply();
                if (r.code == 421) st_.broken = true;
                return next_action::done(cancel_reason_);
            }
            if (r.code == 235) {
                if (auto e = mech_.finish()) {
                    // Authenticated, but the server did not prove itself: do not trust it.
                    st_.broken = true;
                    return next_action::done(e);
                }
                st_.authenticated = true;
                return next_action::done();
            }
            if (r.code == 421) {
                st_.last_reply = r.to_reply();
                st_.broken = true;
                return next_action::done(errc::service_not_available);
            }
            if (r.code >= 400) {
                st_.last_reply = r.to_reply();
                return next_action::done(errc::auth_failed);
            }
            if (r.code != 334) {
                st_.last_reply = r.to_reply();
                st_.broken = true;
                return next_action::done(errc::unexpected_reply);
            }
            // 334 challenge: base64 in the text (one line).
            if (st_.unsolicited()) {
                st_.broken = true;
                return next_action::done(errc::unsolicited_reply);
            }
            st_.wbuf.clear();
            std::string response;
            if (++rounds_ > mech_.max_rounds() + (pending_ir_ ? 1 : 0)) {
                cancel_reason_ = errc::auth_too_many_rounds;
            } else if (r.text.size() > (limits_.max_challenge + 2) / 3 * 4 + 4) {
                cancel_reason_ = errc::auth_challenge_too_large;
            } else if (pending_ir_) {
                response = std::move(*pending_ir_);
                pending_ir_.reset();
            } else {
                std::string_view text = r.text;
                while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
                auto challenge = smtpio::detail::base64_decode(text);
                if (!challenge) cancel_reason_ = errc::auth_malformed_challenge;
                else if (auto e = mech_.step(*challenge, response)) cancel_reason_ = e;
            }
            if (cancel_reason_) {
                write_auth_response(st_.wbuf, "*"); // RFC 4954 4: cancel the exchange
            } else if (auto e = write_auth_response(st_.wbuf, smtpio::detail::base64_encode(response))) {
                cancel_reason_ = e;
                st_.wbuf.clear();
                write_auth_response(st_.wbuf, "*");
            }
        }
        SMTPIO_CORO_YIELD(coro_, next_action::write(phase::auth, true));
        if (ec) return io_failed(ec);
    }
    SMTPIO_CORO_END(coro_, next_action::done());
}

} // namespace smtpio::proto

#endif // SMTPIO_PROTO_AUTH_ALGORITHM_HPP
