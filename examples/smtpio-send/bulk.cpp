//
// examples/smtpio-send/bulk.cpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "bulk.hpp"
#include "report.hpp"
#include "setup.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <sys/resource.h>
#include <unistd.h>

namespace smtpio_send {
namespace {

struct tally {
    std::uint64_t next = 0;      // messages claimed
    std::uint64_t done = 0;      // messages with an outcome
    std::uint64_t accepted = 0, rejected = 0, deferred = 0, unknown = 0;
    std::uint64_t delivered_messages = 0;
    std::uint64_t connections = 0, tls_new = 0, tls_resumed = 0;
    std::uint64_t sharers = 0; // connections yet to take their share (no --per-connection)
    // Sessions that went on in plaintext where the policy wanted TLS (may), by why.
    std::map<std::string, std::uint64_t> plaintext;
    std::map<std::string, std::uint64_t> errors;
    attempt worst;               // the first failure, for the exit code's class
    int worst_code = exit_delivered;
};

int rank(int code) {
    switch (code) {
    case exit_unknown: return 6;
    case exit_tls: return 5;
    case exit_protocol: return 4;
    case exit_usage: return 3;
    case exit_deferred: return 2;
    case exit_rejected: return 1;
    default: return 0;
    }
}

void note(tally& t, const attempt& a) {
    int c = classify(a);
    if (rank(c) > rank(t.worst_code)) {
        t.worst_code = c;
        t.worst = a;
    }
    std::error_code e = a.error ? a.error : (a.sent ? a.sent->error : std::error_code{});
    if (e) ++t.errors[error_name(e)];
}

// A message of exactly `size` octets: headers, then 76-octet lines.
std::string bulk_message(const options& o, std::uint64_t size) {
    std::string to;
    for (const auto& r : o.to) to += (to.empty() ? "" : ", ") + r;
    std::string m = "From: " + (o.from.empty() ? std::string("MAILER-DAEMON") : o.from) + "\r\nTo: " + to +
                    "\r\nSubject: smtpio-send bulk test\r\nDate: " + rfc5322_date() +
                    "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n";
    static const char line[] = "The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs";
    while (m.size() + 2 < size) {
        std::size_t room = size - m.size() - 2;
        m.append(line, std::min<std::size_t>(room, sizeof line - 1));
        m += "\r\n";
    }
    while (m.size() < size) m += "\r\n";
    m.resize(size);
    if (m.size() >= 2) m.replace(m.size() - 2, 2, "\r\n");
    return m;
}

asio::awaitable<void> worker(const options& o, setup& s, std::shared_ptr<const smtpio::prepared_text> text, tally& t) {
    const smtpio::envelope prototype = make_envelope(o);
    auto ex = co_await asio::this_coro::executor;
    const std::uint64_t total = *o.count;
    while (t.next < total) {
        // By default the messages are shared among the connections, as evenly as
        // they go (9 over 4: 3, 2, 2, 2); with --per-connection, M at a time.
        std::uint64_t block = 0;
        if (o.per_connection) {
            block = std::min(o.per_connection, total - t.next);
        } else {
            const std::uint64_t sharers = std::max<std::uint64_t>(t.sharers, 1);
            block = (total - t.next + sharers - 1) / sharers;
            if (t.sharers > 0) --t.sharers;
        }
        t.next += block;
        std::error_code ec;
        auto sess = co_await smtpio::async_connect(ex, s.connect_host, o.port, s.policy, s.session,
                                                   asio::redirect_error(asio::use_awaitable, ec));
        ++t.connections;
        const auto& rep = sess.tls_report();
        if (rep.established) ++(rep.resumed ? t.tls_resumed : t.tls_new);
        else if (!ec && rep.attempted)
            ++t.plaintext[std::string(smtpio::tls::to_string(rep.result))];
        if (!ec && o.auth_user) {
            smtpio::credentials c(*o.auth_user, *o.auth_password, o.auth_mech.value_or(smtpio::auth_mechanism::automatic));
            co_await sess.async_authenticate(std::move(c), asio::redirect_error(asio::use_awaitable, ec));
        }
        if (ec) {
            attempt a;
            a.error = ec;
            a.failing_reply = sess.last_reply();
            a.tls = sess.tls_report();
            a.tls_wanted = s.policy.mode() != smtpio::tls::mode::plaintext;
            a.recipients = o.to;
            note(t, a);
            int c = classify(a);
            auto n = block * o.to.size();
            (c == exit_rejected ? t.rejected : t.deferred) += n;
            t.done += block;
            continue;
        }
        // Batches of up to 64 messages.  The next batch's vector is reserved before
        // this batch is sent, and its envelopes are copied once this batch's
        // results are freed: the copies reuse the memory the sent messages and
        // the results just gave back, with no large allocation in between (glibc
        // merges freed small blocks first, after which each small one is slow).
        std::uint64_t left = block;
        std::vector<smtpio::message> msgs, next;
        auto fill = [&](std::vector<smtpio::message>& v, std::uint64_t n) {
            for (std::uint64_t i = 0; i < n; ++i) {
#if defined(__cpp_aggregate_paren_init)
                v.emplace_back(prototype, smtpio::body::prepared(text)); // made in place
#else
                v.push_back({prototype, smtpio::body::prepared(text), {}}); // (clang before 16)
#endif
            }
        };
        std::uint64_t batch = std::min<std::uint64_t>(left, 64);
        msgs.reserve(batch);
        fill(msgs, batch);
        while (left > 0) {
            std::error_code bec;
            next.reserve(std::min<std::uint64_t>(left - batch, 64));
            auto results = co_await sess.async_send_batch(std::move(msgs), asio::redirect_error(asio::use_awaitable, bec));
            left -= batch;
            batch = std::min<std::uint64_t>(left, 64);
            for (auto& r : results) {
                // One pass over the recipients, not one per outcome.  A message refused
                // before MAIL lists every recipient as deferred; each counts as its
                // refusal says (rejected when the server cannot take that message).
                const bool refused = r.outcome == smtpio::message_outcome::not_sent;
                const smtpio::outcome refused_as =
                    refused ? refused_recipient_outcome(r.error) : smtpio::outcome::deferred;
                for (const auto& rr : r.recipients) {
                    switch (refused ? refused_as : rr.outcome) {
                    case smtpio::outcome::accepted:
                        ++t.accepted;
                        break;
                    case smtpio::outcome::rejected:
                        ++t.rejected;
                        break;
                    case smtpio::outcome::deferred:
                        ++t.deferred;
                        break;
                    case smtpio::outcome::unknown:
                        ++t.unknown;
                        break;
                    }
                }
                if (r.outcome == smtpio::message_outcome::delivered) ++t.delivered_messages;
                if (r.outcome != smtpio::message_outcome::delivered) {
                    attempt a;
                    a.sent = std::move(r);
                    a.tls_wanted = s.policy.mode() != smtpio::tls::mode::plaintext;
                    note(t, a);
                }
                ++t.done;
            }
            results.clear();
            fill(next, batch);
            msgs = std::move(next);
            next.clear(); // (moved from: empty already, and without storage)
        }
        if (sess.is_open()) co_await sess.async_quit(asio::redirect_error(asio::use_awaitable, ec));
    }
}

} // namespace

int run_bulk(const options& o, const std::string* ca_pem) {
    setup s = make_setup(o, ca_pem);
    // One immutable text shared by every message: no copy each, no one can change it mid-send, and
    // it is scanned once (smtpio::prepared_text), not before every MAIL.
    auto text = std::make_shared<const smtpio::prepared_text>(bulk_message(o, o.size));
    tally t;
    t.sharers = o.connections;
    // One thread runs it, and only that thread touches its sockets and timers: the
    // reactor needs no locks per operation.  The scheduler needs its own only for
    // the resolver's thread, so not when the server is an address.
    asio::io_context io(smtpio::connect_needs_resolver(s.connect_host) ? ASIO_CONCURRENCY_HINT_UNSAFE_IO
                                                                       : ASIO_CONCURRENCY_HINT_UNSAFE);
    auto start = std::chrono::steady_clock::now();
    for (std::uint64_t c = 0; c < o.connections; ++c)
        asio::co_spawn(io, worker(o, s, text, t), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    const bool bar = !o.json && ::isatty(STDOUT_FILENO);
    asio::steady_timer tick(io);
    std::function<void()> draw;
    if (bar) {
        draw = [&] {
            tick.expires_after(std::chrono::milliseconds(200));
            tick.async_wait([&](std::error_code ec) {
                if (ec) return;
                double frac = static_cast<double>(t.done) / static_cast<double>(*o.count);
                int w = 40, fill = static_cast<int>(frac * w);
                std::printf("\r[%s%s] %llu/%llu", std::string(static_cast<std::size_t>(fill), '#').c_str(),
                            std::string(static_cast<std::size_t>(w - fill), ' ').c_str(),
                            static_cast<unsigned long long>(t.done), static_cast<unsigned long long>(*o.count));
                std::fflush(stdout);
                if (t.done < *o.count) draw();
            });
        };
        draw();
    }
    io.run();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (bar) std::printf("\r%60s\r", "");
    int code = t.worst_code;
    double rate = secs > 0 ? static_cast<double>(t.done) / secs : 0;
    if (o.json) {
        nlohmann::json j;
        std::string outcome = code == exit_delivered ? "delivered"
                              : code == exit_unknown ? "unknown"
                              : code == exit_tls     ? "tls_failed"
                              : code == exit_protocol ? "protocol_error"
                              : code == exit_deferred ? (t.accepted ? "partial" : "deferred")
                                                      : (t.accepted ? "partial" : "rejected");
        j["outcome"] = outcome;
        j["messages"] = t.done;
        j["messages_delivered"] = t.delivered_messages;
        j["recipients"] = {{"accepted", t.accepted}, {"rejected", t.rejected}, {"deferred", t.deferred}, {"unknown", t.unknown}};
        j["connections"] = t.connections;
        j["elapsed_seconds"] = secs;
        j["messages_per_second"] = rate;
        rusage ru{};
        getrusage(RUSAGE_SELF, &ru);
        j["cpu_seconds"] = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
        std::uint64_t plain = 0;
        for (const auto& [why, n] : t.plaintext)
            plain += n;
        j["tls_sessions"] = {{"new", t.tls_new},
                             {"resumed", t.tls_resumed},
                             {"plaintext", plain},
                             {"plaintext_reasons", t.plaintext}};
        j["errors"] = t.errors;
        j["exit_code"] = code;
        if (code != exit_delivered) j["first_failure"] = to_json(t.worst, code);
        std::cout << j.dump() << std::endl;
    } else {
        std::printf("messages: %llu in %.3f s (%.0f messages/s) over %llu connections\n",
                    static_cast<unsigned long long>(t.done), secs, rate, static_cast<unsigned long long>(t.connections));
        std::printf("recipients: %llu accepted, %llu rejected, %llu deferred, %llu unknown\n",
                    static_cast<unsigned long long>(t.accepted), static_cast<unsigned long long>(t.rejected),
                    static_cast<unsigned long long>(t.deferred), static_cast<unsigned long long>(t.unknown));
        std::printf("TLS sessions: %llu new, %llu resumed\n", static_cast<unsigned long long>(t.tls_new),
                    static_cast<unsigned long long>(t.tls_resumed));
        for (const auto& [why, n] : t.plaintext)
            std::printf("sessions in plaintext (TLS wanted, %s): %llu\n", why.c_str(),
                        static_cast<unsigned long long>(n));
        for (const auto& [name, n] : t.errors) std::printf("error %s: %llu\n", name.c_str(), static_cast<unsigned long long>(n));
        std::printf("exit %d\n", code);
    }
    return code;
}

} // namespace smtpio_send
