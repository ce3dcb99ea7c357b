//
// smtpio/impl/session.hpp -- the driver: moves bytes between the stream and the
// protocol algorithms, runs the TLS handshake, arms deadlines.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_IMPL_SESSION_HPP
#define SMTPIO_IMPL_SESSION_HPP

#include <smtpio/detail/stream_ops.hpp>
#include <smtpio/proto/auth_algorithm.hpp>
#include <smtpio/proto/command_algorithm.hpp>
#include <smtpio/proto/open_algorithm.hpp>
#include <smtpio/proto/send_algorithm.hpp>

#include <asio/associated_executor.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/compose.hpp>
#include <asio/post.hpp>
#include <asio/ssl/error.hpp>
#include <asio/write.hpp>

#include <array>
#include <charconv>
#include <chrono>

namespace smtpio {
namespace detail {

// A composed operation parked while a read started earlier (during a
// write_and_read) is still in flight; that read's handler resumes it.
struct parked_base {
    virtual ~parked_base() = default;
    virtual void resume() = 0;
};

template <class Self>
struct parked final : parked_base {
    explicit parked(Self&& s) : self(std::move(s)) {}
    void resume() override {
        Self s = std::move(self);
        s();
    }
    Self self;
};

// Where the parked operation waits: owned by the background read's handler, not
// by the session, so that if that handler is destroyed without running (the
// io_context destroyed first) the parked operation goes with it instead of
// keeping the session alive through a reference cycle.
struct parked_slot {
    std::unique_ptr<parked_base> op;
};

template <class AsyncStream>
struct session_impl : std::enable_shared_from_this<session_impl<AsyncStream>> {
    using clock = std::chrono::steady_clock;

    AsyncStream next;
    std::optional<tls::stream<AsyncStream&>> tls;
    bool tls_on = false; // the handshake began: the stream is `tls` from now on
    asio::steady_timer timer;
    proto::connection_state st;
    tls::any_policy policy;
    session_options opts;
    tls::report report;
    bool busy = false;
    bool cancelled = false;
    bool timed_out = false;
    bool closed = false;
    std::weak_ptr<parked_slot> parked; // the slot of the background read in flight
    // Deadlines: one timer, re-armed lazily (only when a deadline moves earlier).
    clock::time_point deadline = clock::time_point::max();
    proto::phase deadline_phase = proto::phase::none;
    std::uint64_t timer_gen = 0;
    bool timer_waiting = false;

    session_impl(AsyncStream&& s, tls::any_policy p, session_options o)
        : next(std::move(s)), timer(next.get_executor()), policy(std::move(p)), opts(std::move(o)) {
        if (opts.helo_name.empty()) opts.helo_name = local_helo_name();
        st.parser.set_limits(opts.reply_limits);
        st.driver_sees_replies = static_cast<bool>(opts.transcript); // trace_reply() records each one
        st.gather_writes = gathers_writes<AsyncStream>::value;       // a socket's sendmsg (until TLS begins)
        st.rbuf.reserve(1024);
        report = tls::make_plaintext_report(policy.name());
        if (policy.mode() != tls::mode::plaintext) {
            // TLS is wanted; nothing negotiated yet: no verdict, no detail.
            report.attempted = true;
            report.result = tls::verify_result::validation_failure;
            report.detail.clear();
            report.reference_name = opts.host;
        }
    }

    ~session_impl() { close_transport(); }

    template <class F>
    decltype(auto) with_stream(F&& f) {
        if (tls_on) return f(*tls);
        return f(next);
    }

    void close_transport() noexcept {
        if (closed) return;
        closed = true;
        st.broken = true;
        st.opened = false;
        close_stream(next);
        if (opts.transcript) emit({transcript_event::kind::closed, {}});
    }

    void emit(const transcript_event& e) {
        if (!opts.transcript) return;
        try {
            opts.transcript(e);
        } catch (...) {
            // A logging hook must not break the session.
        }
    }

    // ---- deadlines --------------------------------------------------------------------
    void arm(proto::phase p) {
        deadline_phase = p;
        auto d = opts.timeouts.for_phase(p);
        auto now = clock::now();
        deadline = d >= clock::time_point::max() - now ? clock::time_point::max() : now + d;
        if (deadline == clock::time_point::max()) return;
        if (!timer_waiting || deadline < timer.expiry()) start_wait();
    }
    // Between operations no wait may stay pending: it would keep io_context::run() busy.
    void disarm() noexcept {
        deadline = clock::time_point::max();
        if (timer_waiting) {
            ++timer_gen;
            timer_waiting = false;
            timer.cancel();
        }
    }
    void start_wait() {
        ++timer_gen;
        timer_waiting = true;
        timer.expires_at(deadline); // cancels a pending wait: its handler sees an old generation
        timer.async_wait([w = this->weak_from_this(), gen = timer_gen](std::error_code) {
            auto self = w.lock();
            if (!self || gen != self->timer_gen) return;
            self->timer_waiting = false;
            if (self->deadline == clock::time_point::max()) return;
            if (clock::now() >= self->deadline) {
                self->timed_out = true;
                self->close_transport();
                return;
            }
            self->start_wait();
        });
    }

    // Writes what is to be written into a socket that takes it without waiting
    // (detail::can_write_now), from the start.  True when the write is over:
    // wholly written (ec clear, the buffers emptied) or failed (ec set, as the
    // algorithms see it).  False when an asynchronous write must finish it, from
    // octet `written`; also for any other stream, and over TLS.
    bool try_write_now(std::size_t& written, std::error_code& ec, proto::phase p) {
        written = 0;
        if constexpr (can_write_now<AsyncStream>::value) {
            if (tls_on || closed) return false;
            std::error_code e;
            const std::size_t total = st.write_size();
            written = write_now(next, st.whead, st.wbuf.data(), st.wbuf.size(), e);
            if (e) {
                st.last_write_octets = written; // what went out before the error, as async_write says
                st.whead = {};
                ec = map_error(e, p);
                return true;
            }
            if (written < total) return false;
            st.last_write_octets = written;
            st.clear_write();
            return true;
        } else {
            (void)ec;
            (void)p;
            return false;
        }
    }

    // An I/O error as the algorithms see it.
    std::error_code map_error(std::error_code ec, proto::phase p) {
        if (timed_out) return proto::timeout_error(p);
        if (cancelled) return errc::cancelled;
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
            return st.parser.in_progress() ? make_error_code(errc::reply_truncated) : make_error_code(errc::connection_closed);
        if (ec == asio::error::operation_aborted && closed) return errc::connection_closed;
        return ec;
    }

    // ---- reads running during a write (write_and_read) ---------------------------------
    template <class Executor>
    void start_background_read(const Executor& ex) {
        st.read_in_flight = true;
        char* p = st.rbuf.prepare(4096);
        std::size_t cap = st.rbuf.writable();
        auto slot = std::make_shared<parked_slot>();
        parked = slot;
        // The read holds the session (its buffer and stream) while it is in flight, and
        // lets go before it resumes the operation parked on it, which holds the session
        // itself: the operation must be able to let go last (run_op::finisher).
        auto handler = [self = this->shared_from_this(), slot](std::error_code ec, std::size_t n) mutable {
            self->st.read_in_flight = false;
            if (!ec) self->st.rbuf.commit(n);
            self->st.early_read_done = true;
            self->st.early_error = ec ? self->map_error(ec, self->deadline_phase) : std::error_code{};
            auto op = std::move(slot->op);
            if (!op) return;
            self.reset();
            op->resume();
        };
        with_stream([&](auto& s) { s.async_read_some(asio::buffer(p, cap), asio::bind_executor(ex, std::move(handler))); });
    }

    // ---- TLS -----------------------------------------------------------------------------
    // Creates the TLS connection and lets the policy configure it.
    std::error_code make_tls() {
        tls::context* ctx = policy.tls_context();
        if (!ctx) return errc::tls_configuration_failed;
        tls.emplace(next, ctx->native_handle());
        SSL* ssl = tls->native_handle();
        if (opts.port) tls::set_peer_port(ssl, opts.port);
        return policy.prepare(ssl, opts.host);
    }

    // While STARTTLS's reply is on its way (a round trip the client would idle
    // through), builds the TLS connection and its ClientHello.  Nothing is sent
    // before the reply says 220: then the handshake sends it.  Any failure here
    // is left for begin_handshake to meet again and report.
    void prepare_handshake() noexcept {
        if (tls) return;
        try {
            if (make_tls() || tls->prepare_handshake()) tls.reset();
        } catch (...) {
            tls.reset(); // a policy that throws does it again in begin_handshake
        }
    }

    // The handshake starts: from now on the stream is TLS.
    std::error_code begin_handshake() {
        if (!policy.tls_context()) return errc::tls_configuration_failed;
        if (!tls) {
            if (std::error_code e = make_tls()) {
                report = tls::make_failure_report(tls::verify_result::validation_failure,
                                                  "the TLS policy could not configure the connection: " + e.message(),
                                                  policy.name(), opts.host);
                return e;
            }
        }
        // After STARTTLS, the client speaks first (EHLO): its Finished goes with it.
        tls->hold_final_flight(policy.mode() != tls::mode::implicit);
        tls_on = true;
        st.gather_writes = false; // one record per buffer: message data is copied into wbuf
        return {};
    }

    // STARTTLS was refused or never sent: a connection prepared for it goes.
    void drop_unused_tls() noexcept {
        if (!tls_on) tls.reset();
    }

    std::error_code finish_handshake(std::error_code ec) {
        SSL* ssl = tls->native_handle();
        if (ec) {
            std::error_code e = timed_out ? make_error_code(errc::tls_handshake_timeout)
                                : cancelled ? make_error_code(errc::cancelled)
                                            : make_error_code(errc::tls_handshake_failed);
            report = tls::make_handshake_failure_report(ssl, ec, policy.name(), opts.host);
            emit({transcript_event::kind::tls_failed, report.detail, 0, &report});
            return e;
        }
        tls::verdict v = policy.evaluate(ssl, opts.host);
        report = tls::make_report(ssl, v, policy.name());
        if (!v.accepted) {
            emit({transcript_event::kind::tls_failed, report.detail, 0, &report});
            return v.error ? v.error : make_error_code(errc::peer_rejected_by_policy);
        }
        emit({transcript_event::kind::tls_established, {}, 0, &report});
        return {};
    }

    // ---- transcript ----------------------------------------------------------------------
    void trace_write(const proto::next_action& a) {
        if (!opts.transcript) return;
        std::string_view data = st.wbuf.view();
        if (a.message_data && a.data_length > 0) {
            // The message data: all of whead (a body written from where it is), then wbuf's start.
            emit({transcript_event::kind::message_data, {}, a.data_length});
            const std::size_t in_wbuf = a.data_length > st.whead.size() ? a.data_length - st.whead.size() : 0;
            data.remove_prefix(in_wbuf < data.size() ? in_wbuf : data.size());
        }
        while (!data.empty()) {
            std::size_t eol = data.find("\r\n");
            std::string_view line = data.substr(0, eol);
            data.remove_prefix(eol == std::string_view::npos ? data.size() : eol + 2);
            if (a.sensitive) {
                std::string red;
                if (line.substr(0, 5) == "AUTH ") {
                    std::size_t sp = line.find(' ', 5);
                    red = std::string(line.substr(0, sp));
                    if (sp != std::string_view::npos) red += " <redacted>";
                } else {
                    red = line == "*" ? "*" : "<redacted>";
                }
                emit({transcript_event::kind::command, red});
                continue;
            }
            emit({transcript_event::kind::command, escape(line)});
            if (line.substr(0, 5) == "BDAT ") {
                std::uint64_t n = 0;
                std::string_view num = line.substr(5, line.find(' ', 5) - 5);
                std::from_chars(num.data(), num.data() + num.size(), n);
                emit({transcript_event::kind::message_data, {}, n});
                data.remove_prefix(n < data.size() ? n : data.size());
            }
        }
    }

    void trace_reply() {
        if (!opts.transcript) return;
        const auto& r = st.parser.get();
        std::string out;
        for (std::size_t i = 0; i < r.lines; ++i) {
            if (i) out += '\n';
            out += std::to_string(r.code);
            out += i + 1 < r.lines ? '-' : ' ';
            if (i == 0 && !r.enhanced.empty()) {
                out += r.enhanced.to_string();
                out += ' ';
            }
            out += escape(r.line(i));
        }
        emit({transcript_event::kind::reply, out});
    }
};

// Runs one job (an algorithm plus how it completes) on a session.  The one
// driver of every operation: it writes what the algorithm put in the write
// buffer, reads until the parser has a reply, runs the TLS handshake, arms the
// deadline of each action, and closes the connection when the algorithm says
// the session is broken.
template <class AsyncStream, class Job>
struct run_op {
    std::shared_ptr<session_impl<AsyncStream>> impl;
    Job job;
    enum class at : std::uint8_t {
        start,
        post_complete,
        post_done,
        wrote,
        read,
        handshake,
        bg_wait
    } where = at::start;
    bool read_armed = false; // the deadline of the reply being read is set
    bool resumed = false;    // an asynchronous step ran: completing now is not inside the initiation
    std::size_t written_now = 0; // octets of the write in flight written before it began
    proto::next_action act{};
    std::error_code early{};

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
        auto& s = *impl;
        if (where == at::post_complete) {
            job.complete(early, false, finisher(self));
            return;
        }
        if (where == at::post_done) {
            job.complete(early, true, finisher(self));
            return;
        }
        if (where != at::start) resumed = true;
        if (where == at::start) {
            if (s.busy) {
                // Never complete inside the initiating function: post first.
                early = errc::operation_in_progress;
                where = at::post_complete;
                asio::post(s.next.get_executor(), std::move(self));
                return;
            }
            s.busy = true;
            s.cancelled = false;
            // Every type of cancellation (terminal, partial, total) closes the session.
            self.reset_cancellation_state(asio::enable_total_cancellation());
            ec = {};
        }
        // Asio clears the slot's handler each time a composed operation resumes:
        // install it for this step.
        watch_cancellation(self);
        // The deadline or a cancellation closed the session while this completion
        // waited in the queue: the operation fails as they say, even though its own
        // I/O went through (it ends on a closed session).
        if (s.closed && where == at::bg_wait) {
            ec = s.st.early_error ? s.st.early_error : s.map_error(asio::error::operation_aborted, act.when);
            s.st.early_read_done = false;
            s.st.early_error.clear();
            step(self, ec);
            return;
        }
        if (s.closed && !ec && (where == at::wrote || where == at::read || where == at::handshake))
            ec = asio::error::operation_aborted;
        switch (where) {
        case at::start:
        case at::post_complete:
        case at::post_done:
            break;
        case at::wrote:
            s.st.last_write_octets = written_now + n;
            s.st.whead = {}; // (a view into a body that is not the session's to keep)
            if (ec) ec = s.map_error(ec, act.when);
            else s.st.wbuf.clear();
            break;
        case at::read:
            if (ec) {
                ec = s.map_error(ec, act.when);
                break;
            }
            s.st.rbuf.commit(n);
            if (!continue_read(self, ec)) return;
            break;
        case at::handshake:
            ec = s.finish_handshake(ec);
            break;
        case at::bg_wait:
            if (!continue_read(self, ec)) return;
            break;
        }
        step(self, ec);
    }

    // Installs, in the operation's cancellation slot, the handler that closes the
    // session when the operation is cancelled.
    template <class Self>
    void watch_cancellation(Self& self) {
        auto slot = self.get_cancellation_state().slot();
        if (!slot.is_connected()) return;
        slot.assign([w = std::weak_ptr<session_impl<AsyncStream>>(impl)](asio::cancellation_type) {
            if (auto p = w.lock()) {
                p->cancelled = true;
                p->close_transport();
            }
        });
    }

    // The handler given to stream operations: this operation, with no cancellation
    // slot.  The slot keeps the handler of watch_cancellation (which closes the
    // transport, completing every pending stream operation): a stream operation or
    // asio::async_write would otherwise install its own handler in the same slot,
    // replacing ours, and a cancellation would be lost or reported as a bare
    // operation_aborted.
    template <class Self>
    static auto child(Self& self) {
        return asio::bind_cancellation_slot(asio::cancellation_slot(), std::move(self));
    }

    // With bytes buffered: a complete reply (true, ec clear), an error (true, ec
    // set), or a read was started (false).
    template <class Self>
    bool continue_read(Self& self, std::error_code& ec) {
        auto& s = *impl;
        if (s.st.early_read_done) {
            s.st.early_read_done = false;
            if (s.st.early_error) {
                ec = s.st.early_error;
                s.st.early_error.clear();
                return true;
            }
        }
        if (s.st.take_reply(ec)) {
            if (!ec && s.opts.transcript) s.trace_reply();
            return true;
        }
        if (!read_armed) {
            // Only now, with the reply not (wholly) buffered, can the deadline matter.
            s.arm(act.when);
            read_armed = true;
        }
        where = at::read;
        char* p = s.st.rbuf.prepare(2048);
        std::size_t cap = s.st.rbuf.writable();
        s.with_stream([&](auto& stream) { stream.async_read_some(asio::buffer(p, cap), child(self)); });
        return false;
    }

    template <class Self>
    void step(Self& self, std::error_code ec) {
        auto& s = *impl;
        for (;;) {
            act = job.resume(ec);
            ec.clear();
            switch (act.kind) {
            case proto::next_action::type::write:
            case proto::next_action::type::write_and_read:
                s.trace_write(act);
                written_now = 0;
                if (act.kind == proto::next_action::type::write && resumed) {
                    // A socket that takes the whole group now needs no asynchronous write
                    // (and no deadline); what it does not take goes the usual way.
                    if (s.try_write_now(written_now, ec, act.when)) {
                        if (act.when == proto::phase::starttls) s.prepare_handshake();
                        continue;
                    }
                }
                s.arm(act.when);
                if (act.kind == proto::next_action::type::write_and_read && !s.st.read_in_flight && !s.st.early_read_done)
                    s.start_background_read(self.get_executor());
                where = at::wrote;
                s.with_stream([&](auto& stream) {
                    asio::async_write(
                        stream, gather_buffers(s.st.whead, s.st.wbuf.data(), s.st.wbuf.size(), written_now),
                        child(self));
                });
                if (act.when == proto::phase::starttls) s.prepare_handshake();
                return;
            case proto::next_action::type::read:
                read_armed = false;
                if (auto slot = s.st.read_in_flight ? s.parked.lock() : nullptr) {
                    s.arm(act.when);
                    read_armed = true;
                    where = at::bg_wait;
                    slot->op = std::make_unique<parked<Self>>(std::move(self));
                    return;
                }
                if (!continue_read(self, ec)) return;
                continue;
            case proto::next_action::type::tls_handshake:
                s.arm(act.when);
                if (auto e = s.begin_handshake()) {
                    ec = e;
                    continue;
                }
                where = at::handshake;
                s.tls->async_handshake(child(self));
                return;
            case proto::next_action::type::close:
                s.close_transport();
                continue;
            case proto::next_action::type::done:
                s.disarm();
                if (s.st.broken) s.close_transport();
                self.get_cancellation_state().slot().clear();
                s.busy = false;
                if (!resumed) {
                    // Done without waiting once (refused before any I/O: not open, a
                    // bad envelope): never complete inside the initiating function.
                    early = act.ec;
                    where = at::post_done;
                    asio::post(s.next.get_executor(), std::move(self));
                    return;
                }
                job.complete(act.ec, true, finisher(self));
                return;
            }
        }
    }

    // What a job calls, last, with its completion's arguments.  The operation
    // lets go of the session before the handler runs: a handler may destroy the
    // session and its execution context at once (after `future::get()`, say),
    // and the operation itself is destroyed only after the handler returns,
    // possibly on another thread.  Past this call, the job's `s` may dangle.
    template <class Self>
    auto finisher(Self& self) {
        return [this, &self](auto&&... args) {
            impl.reset();
            self.complete(std::forward<decltype(args)>(args)...);
        };
    }
};

// ---- jobs: an algorithm plus what its completion handler receives -------------------

template <class AsyncStream>
struct open_job {
    session_impl<AsyncStream>* s;
    std::optional<proto::open_algorithm> algo;

    proto::next_action resume(std::error_code ec) {
        if (!algo) {
            proto::starttls_mode m = proto::starttls_mode::never;
            switch (s->policy.mode()) {
            case tls::mode::plaintext: m = proto::starttls_mode::never; break;
            case tls::mode::opportunistic:
                m = s->opts.opportunistic_fallback.empty() ? proto::starttls_mode::opportunistic
                                                           : proto::starttls_mode::never;
                break;
            case tls::mode::required: m = proto::starttls_mode::required; break;
            case tls::mode::implicit: m = proto::starttls_mode::implicit; break;
            }
            algo.emplace(s->st, s->opts.helo_name, m);
        }
        return algo->resume(ec);
    }

    template <class Done>
    void complete(std::error_code ec, bool ran, Done&& done) {
        if (ran) s->drop_unused_tls(); // (not when refused as busy: the running open may need it)
        if (ran && algo) {
            auto status = algo->tls_status();
            std::string_view name = s->policy.name();
            if (!s->opts.opportunistic_fallback.empty() && s->policy.mode() == tls::mode::opportunistic) {
                s->report = tls::make_failure_report(tls::verify_result::handshake_failure,
                                                     s->opts.opportunistic_fallback, name, s->opts.host);
                s->emit({transcript_event::kind::tls_failed, s->report.detail, 0, &s->report});
            } else if (status == proto::starttls_status::not_offered) {
                s->report = tls::make_failure_report(tls::verify_result::starttls_not_supported,
                                                     "the server did not offer STARTTLS", name, s->opts.host);
            } else if (status == proto::starttls_status::refused) {
                s->report = tls::make_failure_report(tls::verify_result::starttls_not_supported,
                                                     "the server refused STARTTLS: " + algo->starttls_reply().to_string(),
                                                     name, s->opts.host);
            }
            if (s->report.attempted && !s->report.established &&
                (status == proto::starttls_status::not_offered || status == proto::starttls_status::refused))
                s->emit({transcript_event::kind::tls_failed, s->report.detail, 0, &s->report});
            if (!s->opts.extensions.enhanced_status_codes) s->st.parser.set_enhanced_status_codes(false);
            auto& caps = s->st.caps;
            const auto& x = s->opts.extensions;
            if (!x.pipelining) caps.disable("PIPELINING");
            // CHUNKING stays: `chunking` only says whether text goes as BDAT; BINARYMIME needs it.
            if (!x.size) caps.disable("SIZE");
            if (!x.eightbitmime) caps.disable("8BITMIME");
            if (!x.smtputf8) caps.disable("SMTPUTF8");
            if (!x.dsn) caps.disable("DSN");
        }
        done(ec);
    }
};

template <class AsyncStream>
struct auth_job {
    session_impl<AsyncStream>* s;
    credentials creds;
    std::unique_ptr<sasl::mechanism> mech;
    std::optional<proto::auth_algorithm> algo;
    std::error_code pre;

    proto::next_action resume(std::error_code ec) {
        if (!algo && !pre) {
            if (!s->st.opened || s->st.broken) return proto::next_action::done(errc::not_open);
            if (!s->st.tls_active && !s->opts.dangerous_allow_plaintext_auth)
                return proto::next_action::done(errc::plaintext_auth_refused);
            if (!s->st.caps.auth()) return proto::next_action::done(errc::auth_not_offered);
            auth_mechanism m = auth_mechanism::automatic;
            if (auto e = sasl::choose(creds, s->st.caps.auth_mechanisms(), m)) return proto::next_action::done(e);
            mech = sasl::make(m, creds, pre);
            if (pre) return proto::next_action::done(pre);
            algo.emplace(s->st, *mech, s->opts.dangerous_allow_plaintext_auth);
        }
        if (pre) return proto::next_action::done(pre);
        return algo->resume(ec);
    }

    template <class Done>
    void complete(std::error_code ec, bool, Done&& done) {
        mech.reset();
        done(ec);
    }
};

template <class AsyncStream>
struct command_job {
    session_impl<AsyncStream>* s;
    proto::simple_command cmd;
    std::optional<proto::command_algorithm> algo;

    proto::next_action resume(std::error_code ec) {
        if (!algo) algo.emplace(s->st, cmd);
        return algo->resume(ec);
    }
    template <class Done>
    void complete(std::error_code ec, bool, Done&& done) {
        done(ec);
    }
};

// The reverse-path most recently validated in a batch, with its SMTPUTF8 flag:
// a batch from one sender checks it once.  It views into the envelope of that
// message: nothing may move or change an envelope's `from` until the batch is
// planned (the recipients' addresses move into the results; the sender stays).
struct checked_sender {
    std::string_view path;
    bool smtputf8 = false;
    bool valid = false;
    bool same(std::string_view p, bool utf8) const noexcept { return valid && utf8 == smtputf8 && p == path; }
};

// Prepares one message for the transaction machine: every check that can be
// made before MAIL (DESIGN: nothing of the message is sent when one fails).  The
// MAIL and RCPT lines go into `lines` (the plan's envelope_lines, once the batch
// is planned: [lines_begin, lines_end)), so each address is checked once.
template <class AsyncStream>
std::error_code plan_message(session_impl<AsyncStream>& s, message& m, proto::message_plan& plan,
                             proto::buffer& lines, std::size_t& lines_begin, std::size_t& lines_end,
                             checked_sender& sender) {
    const auto& caps = s.st.caps;
    const auto& env = m.envelope;
    const auto& x = s.opts.extensions;
    if (s.opts.block_size == 0) return errc::invalid_option; // (no message data would ever go out)
    if (env.to.empty()) return errc::no_recipients;
    if (env.to.size() > s.opts.max_recipients) return errc::too_many_recipients;
    // Every address first; the parameters are checked when the lines are written.
    // (The parameters are built in the plan, which is skipped if this fails.)
    proto::mail_parameters& mp = plan.mail;
    mp = {};
    mp.smtputf8 = env.smtputf8;
    mp.ret = env.ret;
    mp.envid = env.envid;
    mp.requiretls = env.require_tls;
    if (!sender.same(env.from, env.smtputf8)) {
        if (auto e = proto::validate_reverse_path(env.from, env.smtputf8)) return e;
        sender = {env.from, env.smtputf8, true};
    }
    if (auto e = proto::check_mail_parameters(mp)) return e;
    bool dsn_used = env.ret != dsn_return::unspecified || !env.envid.empty();
    for (const auto& r : env.to) {
        if (auto e = proto::validate_forward_path(r.address, env.smtputf8)) return e;
        if (!r.original_recipient.empty() || r.notify_on != notify::unspecified) {
            proto::rcpt_parameters rp;
            rp.notify_on = r.notify_on;
            rp.orcpt = r.original_recipient;
            rp.smtputf8 = env.smtputf8;
            if (auto e = proto::check_rcpt_parameters(rp)) return e;
        }
        if (r.notify_on != notify::unspecified || !r.original_recipient.empty()) dsn_used = true;
    }
    // What the session's TLS must be.
    if (auto e = m.options.demand.check(s.report)) return e;
    if (env.require_tls) {
        // RFC 8689 4.1: only over TLS with a verified peer, to a server that
        // advertised REQUIRETLS after TLS.
        if (!s.report.established || !s.report.verified || !caps.requiretls()) return errc::requiretls_unavailable;
    }
    if (env.smtputf8 && !caps.smtputf8()) return errc::smtputf8_not_supported;
    if (dsn_used && !caps.dsn()) return errc::dsn_not_supported;

    // The message itself.
    if (auto e = m.content.open()) return e;
    proto::body_facts facts;
    bool scanned = false;
    if (m.content.rewindable()) {
        if (auto e = m.content.scan(facts)) return e;
        scanned = true;
    }
    bool chunk = m.options.chunking.value_or(x.chunking) && caps.chunking();
    plan.enc = proto::encoding::dot_stuffed;
    switch (m.options.body) {
    case body_type::binary:
        if (!caps.binarymime() || !caps.chunking()) return errc::binarymime_not_supported;
        plan.enc = proto::encoding::binary;
        mp.body = body_type::binary;
        break;
    case body_type::seven_bit:
        if (scanned && facts.eight_bit) return errc::invalid_option;
        mp.body = caps.eightbitmime() ? std::optional<body_type>(body_type::seven_bit) : std::nullopt;
        break;
    case body_type::eight_bit:
        if (!caps.eightbitmime()) return errc::eightbit_not_supported;
        mp.body = body_type::eight_bit;
        break;
    case body_type::automatic:
        if (scanned ? facts.eight_bit : caps.eightbitmime()) {
            if (!caps.eightbitmime()) return errc::eightbit_not_supported;
            mp.body = body_type::eight_bit;
        }
        break;
    }
    if (plan.enc != proto::encoding::binary && scanned) {
        if (facts.has_nul) return errc::body_contains_nul;
        if (facts.longest_line > 998) return errc::body_line_too_long;
    }
    if (chunk && plan.enc == proto::encoding::dot_stuffed) plan.enc = proto::encoding::chunked;
    // A message in memory that encoding would not change is copied as it is: for
    // BDAT (length-framed: its text cannot end the data early) from any memory,
    // for DATA only from text the body holds (a borrowed text changed after this
    // scan must still be dot-stuffed: DESIGN rule 6).
    plan.verbatim = scanned && plan.enc != proto::encoding::binary && facts.encodes_verbatim(plan.enc) &&
                    (plan.enc == proto::encoding::chunked ? m.content.in_memory() : m.content.owns_text());
    if (plan.verbatim) plan.octets = m.content.size().value_or(0);
    plan.stable_pieces = m.content.in_memory();
    if (caps.size_advertised() && scanned) {
        std::uint64_t size = plan.enc == proto::encoding::binary ? *m.content.size() : facts.normalised_size;
        if (caps.size_limit() > 0 && size > caps.size_limit()) return errc::message_too_big;
        mp.size = size;
    }
    mp.envid = m.envelope.envid; // view into the message, which outlives the plan
    lines_begin = lines.size();
    auto written = [&]() -> std::error_code {
        if (auto e = proto::write_mail_checked_path(lines, env.from, mp)) return e;
        for (const auto& r : env.to) {
            proto::rcpt_parameters rp;
            rp.notify_on = r.notify_on;
            rp.orcpt = r.original_recipient;
            rp.smtputf8 = env.smtputf8;
            if (auto e = proto::write_rcpt_checked_path(lines, r.address, rp)) return e;
        }
        return {};
    }();
    if (written) {
        lines.truncate(lines_begin);
        return written;
    }
    lines_end = lines.size();
    plan.env = &m.envelope;
    plan.body = &m.content;
    return {};
}

// About the octets of the MAIL and RCPT lines of `messages` (what parameters
// usually add included), so that the buffer for them is allocated once.
// (Messages with more recipients than allowed are refused: they count for none.)
inline std::size_t envelope_lines_estimate(const std::vector<message>& messages,
                                           std::size_t max_recipients) noexcept {
    std::size_t n = 0;
    for (const auto& m : messages) {
        n += 64 + m.envelope.from.size() + m.envelope.envid.size();
        if (m.envelope.to.size() > max_recipients) continue;
        for (const auto& r : m.envelope.to)
            n += 16 + r.address.size() + r.original_recipient.size();
    }
    return n;
}

template <class AsyncStream>
struct send_state {
    std::vector<message> messages;
    std::vector<proto::message_plan> plans;
    std::vector<send_result> results;
    proto::buffer envelope_lines; // every plan's MAIL and RCPT lines
    std::optional<proto::send_algorithm> algo;
    bool single = false;
    bool any_to_send = false;
};

// `to = from` for a report just made (its strings empty), as every result's is:
// a plaintext session's report has four empty strings of six, and assigning an
// empty string costs about as much as copying a short one.  The structured
// binding names every member: one added to tls::report breaks the build here
// until it is copied too.
inline void copy_into_fresh(tls::report& to, const tls::report& from) {
    const auto& [attempted, established, version, cipher, group, cipher_bits, cipher_alg_bits, peer,
                 chain_length, verified, dane_authenticated, result, detail, policy, resumed,
                 reference_name] = from;
    auto copy = [](std::string& t, const std::string& f) {
        if (!f.empty()) t = f;
    };
    to.attempted = attempted;
    to.established = established;
    copy(to.version, version);
    copy(to.cipher, cipher);
    copy(to.group, group);
    to.cipher_bits = cipher_bits;
    to.cipher_alg_bits = cipher_alg_bits;
    to.peer = peer;
    to.chain_length = chain_length;
    to.verified = verified;
    to.dane_authenticated = dane_authenticated;
    to.result = result;
    copy(to.detail, detail);
    copy(to.policy, policy);
    to.resumed = resumed;
    copy(to.reference_name, reference_name);
}

template <class AsyncStream, bool Batch>
struct send_job {
    session_impl<AsyncStream>* s;
    std::unique_ptr<send_state<AsyncStream>> state;

    proto::next_action resume(std::error_code ec) {
        auto& st = *state;
        if (!st.algo) {
            const std::size_t n = st.messages.size();
            st.results.resize(n);
            if (!s->st.opened || s->st.broken) {
                for (auto& r : st.results) {
                    r.outcome = message_outcome::not_sent;
                    r.error = errc::not_open;
                }
                return proto::next_action::done(errc::not_open);
            }
            // Everything sized by the batch is allocated first, then what each
            // message needs: the allocator is not made to merge the small blocks
            // of the messages in between.
            st.plans.resize(n);
            std::vector<std::pair<std::size_t, std::size_t>> spans(n);
            checked_sender sender;
            st.envelope_lines.reserve(envelope_lines_estimate(st.messages, s->opts.max_recipients));
            proto::send_config cfg;
            cfg.pipelining = s->st.caps.pipelining();
            cfg.block_size = s->opts.block_size;
            st.algo.emplace(s->st, std::span<proto::message_plan>(st.plans), cfg);
            for (std::size_t i = 0; i < st.messages.size(); ++i) {
                auto& plan = st.plans[i];
                plan.result = &st.results[i];
                auto& [lines_begin, lines_end] = spans[i];
                if (auto e = plan_message(*s, st.messages[i], plan, st.envelope_lines, lines_begin, lines_end,
                                          sender)) {
                    plan.skip = true;
                    st.results[i].outcome = message_outcome::not_sent;
                    st.results[i].error = e;
                    for (const auto& r : st.messages[i].envelope.to)
                        st.results[i].recipients.push_back({r.address, outcome::deferred, {}});
                } else {
                    // The addresses move into the result: the envelope's lines are
                    // written and the message is ours until it completes.  (The
                    // sender stays: `sender` may view it.)
                    auto& to = st.messages[i].envelope.to;
                    auto& listed = st.results[i].recipients;
                    listed.resize(to.size());
                    for (std::size_t k = 0; k < to.size(); ++k) listed[k].address = std::move(to[k].address);
                    plan.recipients_listed = true;
                    st.any_to_send = true;
                }
            }
            // The buffer is complete: now its views stay valid.
            for (std::size_t i = 0; i < st.plans.size(); ++i)
                if (!st.plans[i].skip)
                    st.plans[i].envelope_lines =
                        st.envelope_lines.view().substr(spans[i].first, spans[i].second - spans[i].first);
            if (!st.any_to_send) return proto::next_action::done(st.single ? st.results[0].error : std::error_code{});
        }
        return st.algo->resume(ec);
    }

    template <class Done>
    void complete(std::error_code ec, bool ran, Done&& done) {
        auto& st = *state;
        st.results.resize(st.messages.size());
        for (std::size_t i = 0; i < st.results.size(); ++i) {
            auto& r = st.results[i];
            if (!ran) {
                r.outcome = message_outcome::not_sent;
                r.error = ec;
            }
            // Refused as a whole (not open, busy): every recipient is listed all the same.
            if (r.outcome == message_outcome::not_sent && r.recipients.empty())
                for (const auto& to : st.messages[i].envelope.to) r.recipients.push_back({to.address, outcome::deferred, {}});
        }
        for (auto& r : st.results) {
            copy_into_fresh(r.tls, s->report);
            s->emit({transcript_event::kind::outcome, {}, 0, nullptr, &r});
        }
        if constexpr (!Batch) {
            std::error_code e = st.results[0].outcome == message_outcome::not_sent ? st.results[0].error : std::error_code{};
            if (!e && st.results[0].outcome == message_outcome::not_sent) e = ec;
            send_result r = std::move(st.results[0]);
            state.reset();
            done(e, std::move(r));
        } else {
            std::vector<send_result> rs = std::move(st.results);
            bool started = ran && ec != errc::not_open;
            state.reset();
            done(started ? std::error_code{} : ec, std::move(rs));
        }
    }
};

} // namespace detail

// ---- basic_session --------------------------------------------------------------------

template <class AsyncStream>
template <class Policy>
    requires tls::policy_type<std::decay_t<Policy>>
basic_session<AsyncStream>::basic_session(AsyncStream stream, Policy&& policy, session_options options)
    : impl_(std::make_shared<detail::session_impl<AsyncStream>>(std::move(stream), tls::any_policy(std::forward<Policy>(policy)),
                                                                std::move(options))) {}

template <class AsyncStream>
basic_session<AsyncStream>::~basic_session() {
    if (impl_) impl_->close_transport();
}

template <class AsyncStream>
auto basic_session<AsyncStream>::get_executor() noexcept -> executor_type {
    return impl_->next.get_executor();
}

template <class AsyncStream>
AsyncStream& basic_session<AsyncStream>::next_layer() noexcept {
    return impl_->next;
}

template <class AsyncStream>
const AsyncStream& basic_session<AsyncStream>::next_layer() const noexcept {
    return impl_->next;
}

template <class AsyncStream>
bool basic_session<AsyncStream>::is_open() const noexcept {
    return impl_ && impl_->st.opened && !impl_->st.broken;
}

template <class AsyncStream>
bool basic_session<AsyncStream>::is_encrypted() const noexcept {
    return impl_ && impl_->st.tls_active && !impl_->st.broken;
}

template <class AsyncStream>
bool basic_session<AsyncStream>::is_authenticated() const noexcept {
    return impl_ && impl_->st.authenticated;
}

template <class AsyncStream>
const proto::capabilities& basic_session<AsyncStream>::capabilities() const noexcept {
    return impl_->st.caps;
}

template <class AsyncStream>
const tls::report& basic_session<AsyncStream>::tls_report() const noexcept {
    return impl_->report;
}

template <class AsyncStream>
const tls::any_policy& basic_session<AsyncStream>::policy() const noexcept {
    return impl_->policy;
}

template <class AsyncStream>
const session_options& basic_session<AsyncStream>::options() const noexcept {
    return impl_->opts;
}

template <class AsyncStream>
const reply& basic_session<AsyncStream>::last_reply() const noexcept {
    return impl_->st.last_reply;
}

template <class AsyncStream>
void basic_session<AsyncStream>::close() noexcept {
    if (impl_) impl_->close_transport();
}

template <class AsyncStream>
template <class CompletionToken>
auto basic_session<AsyncStream>::async_open(CompletionToken&& token) {
    using job = detail::open_job<AsyncStream>;
    return asio::async_compose<CompletionToken, void(std::error_code)>(
        detail::run_op<AsyncStream, job>{impl_, job{impl_.get(), {}}}, token, impl_->next);
}

template <class AsyncStream>
template <class CompletionToken>
auto basic_session<AsyncStream>::async_authenticate(credentials creds, CompletionToken&& token) {
    using job = detail::auth_job<AsyncStream>;
    return asio::async_compose<CompletionToken, void(std::error_code)>(
        detail::run_op<AsyncStream, job>{impl_, job{impl_.get(), std::move(creds), {}, {}, {}}}, token, impl_->next);
}

template <class AsyncStream>
template <class CompletionToken>
auto basic_session<AsyncStream>::async_send(envelope env, body content, CompletionToken&& token) {
    return async_send(std::move(env), std::move(content), send_options{}, std::forward<CompletionToken>(token));
}

template <class AsyncStream>
template <class CompletionToken>
auto basic_session<AsyncStream>::async_send(envelope env, body content, send_options opts, CompletionToken&& token) {
    using job = detail::send_job<AsyncStream, false>;
    auto state = std::make_unique<detail::send_state<AsyncStream>>();
    state->messages.push_back(message{std::move(env), std::move(content), std::move(opts)});
    state->single = true;
    return asio::async_compose<CompletionToken, void(std::error_code, send_result)>(
        detail::run_op<AsyncStream, job>{impl_, job{impl_.get(), std::move(state)}}, token, impl_->next);
}

template <class AsyncStream>
template <class CompletionToken>
auto basic_session<AsyncStream>::async_send_batch(std::vector<message> messages, CompletionToken&& token) {
    using job = detail::send_job<AsyncStream, true>;
    auto state = std::make_unique<detail::send_state<AsyncStream>>();
    state->messages = std::move(messages);
    return asio::async_compose<CompletionToken, void(std::error_code, std::vector<send_result>)>(
        detail::run_op<AsyncStream, job>{impl_, job{impl_.get(), std::move(state)}}, token, impl_->next);
}

template <class AsyncStream>
template <class CompletionToken>
auto basic_session<AsyncStream>::async_reset(CompletionToken&& token) {
    using job = detail::command_job<AsyncStream>;
    return asio::async_compose<CompletionToken, void(std::error_code)>(
        detail::run_op<AsyncStream, job>{impl_, job{impl_.get(), proto::simple_command::rset, {}}}, token, impl_->next);
}

template <class AsyncStream>
template <class CompletionToken>
auto basic_session<AsyncStream>::async_noop(CompletionToken&& token) {
    using job = detail::command_job<AsyncStream>;
    return asio::async_compose<CompletionToken, void(std::error_code)>(
        detail::run_op<AsyncStream, job>{impl_, job{impl_.get(), proto::simple_command::noop, {}}}, token, impl_->next);
}

template <class AsyncStream>
template <class CompletionToken>
auto basic_session<AsyncStream>::async_quit(CompletionToken&& token) {
    using job = detail::command_job<AsyncStream>;
    return asio::async_compose<CompletionToken, void(std::error_code)>(
        detail::run_op<AsyncStream, job>{impl_, job{impl_.get(), proto::simple_command::quit, {}}}, token, impl_->next);
}

} // namespace smtpio

#endif // SMTPIO_IMPL_SESSION_HPP
