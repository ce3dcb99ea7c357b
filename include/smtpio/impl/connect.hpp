//
// smtpio/impl/connect.hpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_IMPL_CONNECT_HPP
#define SMTPIO_IMPL_CONNECT_HPP

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <stdexcept>

namespace smtpio {
namespace detail {

// `host` without the brackets of an IPv6 literal given as "[::1]".
inline std::string_view unbracketed(std::string_view host) noexcept {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return host;
}

struct connect_state {
    explicit connect_state(const asio::any_io_executor& ex) : resolver(ex), timer(ex) {}
    asio::ip::tcp::resolver resolver;
    asio::steady_timer timer;
    std::optional<session> s;
    bool timed_out = false;
    bool finished = false;
};

struct connect_op {
    asio::any_io_executor ex;
    std::string host;
    std::uint16_t port;
    tls::any_policy policy;
    session_options opts;
    std::shared_ptr<connect_state> st;
    enum class at : std::uint8_t { start, resolved, connected, opened } where = at::start;

    template <class Self>
    void operator()(Self& self) {
        // start
        if (opts.host.empty()) opts.host = host;
        if (opts.port == 0) opts.port = port;
        st = std::make_shared<connect_state>(ex);
        st->s.emplace(asio::ip::tcp::socket(ex), policy, opts);
        auto slot = self.get_cancellation_state().slot();
        if (slot.is_connected()) {
            slot.assign([w = std::weak_ptr<connect_state>(st)](asio::cancellation_type) {
                if (auto p = w.lock()) {
                    p->resolver.cancel();
                    p->s->close();
                }
            });
        }
        resolve(self);
    }

    // Resolves the next hop, with the connection deadline armed.
    template <class Self>
    void resolve(Self& self) {
        st->timer.expires_after(opts.timeouts.connect);
        st->timer.async_wait([w = std::weak_ptr<connect_state>(st)](std::error_code ec) {
            auto p = w.lock();
            if (ec || !p || p->finished) return;
            p->timed_out = true;
            p->resolver.cancel();
            std::error_code ignored;
            p->s->next_layer().close(ignored);
        });
        // An address needs no resolver (whose lookups run on a thread of their own).
        std::string name(unbracketed(host));
        std::error_code not_address;
        auto address = asio::ip::make_address(name, not_address);
        if (!not_address) {
            where = at::connected;
            auto one = asio::ip::tcp::resolver::results_type::create(asio::ip::tcp::endpoint(address, port), name,
                                                                     std::to_string(port));
            asio::async_connect(st->s->next_layer(), one, std::move(self));
            return;
        }
        where = at::resolved;
        st->resolver.async_resolve(name, std::to_string(port), std::move(self));
    }

    template <class Self>
    void operator()(Self& self, std::error_code ec, asio::ip::tcp::resolver::results_type results) {
        if (ec && cancelled(self)) return finish(self, errc::cancelled);
        if (ec) return finish(self, st->timed_out ? errc::connect_failed : errc::resolve_failed);
        where = at::connected;
        asio::async_connect(st->s->next_layer(), results, std::move(self));
    }

    template <class Self>
    void operator()(Self& self, std::error_code ec, const asio::ip::tcp::endpoint&) {
        if (ec && cancelled(self)) return finish(self, errc::cancelled);
        if (ec) return finish(self, errc::connect_failed);
        st->finished = true;
        st->timer.cancel();
        std::error_code ignored;
        st->s->next_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
        if (opts.transcript) {
            auto ep = st->s->next_layer().remote_endpoint(ignored);
            std::string peer = ep.address().to_string() + ":" + std::to_string(ep.port());
            opts.transcript({transcript_event::kind::connected, peer});
        }
        where = at::opened;
        st->s->async_open(std::move(self));
    }

    template <class Self>
    void operator()(Self& self, std::error_code ec) {
        // Opportunistic TLS: a handshake that failed must not stop the mail
        // (RFC 7435 3).  Retry once, on a new connection, in plaintext; the
        // session's report keeps saying why.
        if ((ec == errc::tls_handshake_failed || ec == errc::tls_handshake_timeout) &&
            policy.mode() == tls::mode::opportunistic && opts.opportunistic_fallback.empty()) {
            std::string why = "the TLS handshake failed (" + st->s->tls_report().detail +
                              "); delivered in plaintext on a new connection (opportunistic policy)";
            opts.opportunistic_fallback = why;
            st->s.emplace(asio::ip::tcp::socket(ex), policy, opts);
            st->finished = false;
            st->timed_out = false;
            resolve(self);
            return;
        }
        finish(self, ec);
    }

    template <class Self>
    static bool cancelled(Self& self) {
        return self.get_cancellation_state().cancelled() != asio::cancellation_type::none;
    }

    template <class Self>
    void finish(Self& self, std::error_code ec) {
        st->finished = true;
        st->timer.cancel();
        self.get_cancellation_state().slot().clear();
        if (ec) st->s->close();
        session out = std::move(*st->s);
        st.reset();
        self.complete(ec, std::move(out));
    }
};

} // namespace detail

inline bool connect_needs_resolver(std::string_view host) noexcept {
    try {
        std::error_code not_address;
        (void)asio::ip::make_address(std::string(detail::unbracketed(host)), not_address);
        return static_cast<bool>(not_address);
    } catch (...) { // (out of memory making the string)
        return true;
    }
}

template <class Policy, class CompletionToken>
    requires tls::policy_type<std::decay_t<Policy>>
auto async_connect(asio::any_io_executor ex, std::string host, std::uint16_t port, Policy&& policy,
                   session_options options, CompletionToken&& token) {
    return asio::async_compose<CompletionToken, void(std::error_code, session)>(
        detail::connect_op{ex, std::move(host), port, tls::any_policy(std::forward<Policy>(policy)), std::move(options), {}},
        token, ex);
}

template <class Policy, class CompletionToken>
    requires tls::policy_type<std::decay_t<Policy>>
auto async_connect(asio::any_io_executor ex, std::string host, std::uint16_t port, Policy&& policy,
                   CompletionToken&& token) {
    return async_connect(std::move(ex), std::move(host), port, std::forward<Policy>(policy), session_options{},
                         std::forward<CompletionToken>(token));
}

inline send_result send(const std::string& host, std::uint16_t port, tls::any_policy policy, envelope env, body content,
                        std::optional<credentials> creds, session_options options, send_options send_opts) {
    asio::io_context io;
    std::error_code failure;
    std::optional<send_result> result;
    std::optional<session> keep;
    async_connect(io.get_executor(), host, port, policy, std::move(options), [&](std::error_code ec, session s) {
        keep.emplace(std::move(s));
        if (ec) {
            failure = ec;
            return;
        }
        auto do_send = [&] {
            keep->async_send(std::move(env), std::move(content), send_opts, [&](std::error_code sec, send_result r) {
                if (sec) {
                    failure = sec;
                } else {
                    result = std::move(r);
                }
                keep->async_quit([](std::error_code) {});
            });
        };
        if (creds) {
            keep->async_authenticate(*creds, [&, do_send](std::error_code aec) {
                if (aec) {
                    failure = aec;
                    keep->async_quit([](std::error_code) {});
                    return;
                }
                do_send();
            });
        } else {
            do_send();
        }
    });
    io.run();
    if (!result) throw std::system_error(failure ? failure : make_error_code(errc::not_open), "smtpio::send");
    return std::move(*result);
}

} // namespace smtpio

#endif // SMTPIO_IMPL_CONNECT_HPP
