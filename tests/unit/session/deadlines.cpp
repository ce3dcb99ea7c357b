// Per-phase deadlines (RFC 5321 4.5.3.2) and cancellation, over the test stream.
// Short deadlines (200 ms) against servers that are silent or dribble one byte
// every 50 ms; the bounds checked are generous (seconds), so load cannot make
// them flaky.
#include "common.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>

using smtpio::errc;
using smtpio::message_outcome;
using smtpio::outcome;
using namespace std::chrono_literals;
namespace test = smtpio::test;
using clock_type = std::chrono::steady_clock;

namespace {

// Pushes `text` into the peer one byte every `every`, while the peer's client is open.
struct dribbler {
    asio::steady_timer timer;
    std::shared_ptr<test::test_peer> peer;
    std::string text;
    std::size_t pos = 0;
    std::chrono::milliseconds every;

    dribbler(asio::io_context& io, std::shared_ptr<test::test_peer> p, std::string t, std::chrono::milliseconds e)
        : timer(io), peer(std::move(p)), text(std::move(t)), every(e) {}
    void start() {
        timer.expires_after(every);
        timer.async_wait([this](std::error_code ec) {
            if (ec || peer->closed() || pos >= text.size()) return;
            peer->push(text.substr(pos++, 1));
            start();
        });
    }
};

smtpio::session_options short_options() {
    auto o = test::test_options();
    o.timeouts.greeting = 200ms;
    o.timeouts.command = 200ms;
    o.timeouts.mail = 200ms;
    o.timeouts.rcpt = 200ms;
    o.timeouts.data_init = 200ms;
    o.timeouts.data_block = 200ms;
    o.timeouts.data_end = 200ms;
    return o;
}

} // namespace

TEST_CASE("deadline: a silent server times out the greeting", "[session][deadline]") {
    test::smtp_script silent;
    silent.greeting = "";
    test::harness h(silent, short_options());
    auto t0 = clock_type::now();
    CHECK(h.open() == errc::greeting_timeout);
    auto took = clock_type::now() - t0;
    CHECK(took >= 190ms);
    CHECK(took < 5s);
    CHECK_FALSE(h.s->is_open());
    CHECK(h.peer->closed());
    CHECK(h.peer->written().empty());
}

TEST_CASE("deadline: a greeting dribbled a byte every 50 ms still times out", "[session][deadline]") {
    test::harness h({}, short_options(), false);
    dribbler d(h.io, h.peer, "220 mx.example.test ESMTP a very slow server that never quite finishes\r\n", 50ms);
    d.start();
    auto t0 = clock_type::now();
    CHECK(h.open() == errc::greeting_timeout);
    auto took = clock_type::now() - t0;
    CHECK(took >= 190ms);
    CHECK(took < 3s);
    CHECK(d.pos > 1);              // bytes did arrive...
    CHECK(d.pos < d.text.size());  // ...but the whole greeting did not in time
    CHECK(h.peer->closed());
}

TEST_CASE("deadline: a dribbled EHLO reply is a command timeout", "[session][deadline]") {
    test::harness h({}, short_options(), false);
    h.peer->push("220 mx ESMTP\r\n");
    dribbler d(h.io, h.peer, "250-mx.example.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n", 50ms);
    h.peer->on_write([&](test::test_peer&, std::string_view w) {
        if (w.rfind("EHLO", 0) == 0) d.start();
    });
    CHECK(h.open() == errc::command_timeout);
    CHECK(d.pos > 1);
    CHECK(d.pos < d.text.size());
    CHECK_FALSE(h.s->is_open());
    CHECK(h.peer->closed());
    // After a timeout the session says so, and stays closed.
    CHECK(h.open() == errc::not_open);
}

TEST_CASE("deadline: no reply to MAIL", "[session][deadline]") {
    test::smtp_script s;
    s.on_command = [](test::smtp_server_model&, std::string_view line,
                      const std::string&) -> std::optional<std::string> {
        // Silence from MAIL on (answering RCPT alone would be a reply out of order).
        if (line.rfind("MAIL", 0) == 0 || line.rfind("RCPT", 0) == 0 || line == "DATA") return std::string();
        return std::nullopt;
    };
    auto o = test::test_options();
    o.timeouts.mail = 200ms;
    test::harness h(s, o);
    REQUIRE_FALSE(h.open());
    auto [ec, r] = h.send(test::env({"b@example.com"}), "hi\r\n");
    CHECK_FALSE(ec); // bytes were written: the outcome is a value
    CHECK(r.error == errc::command_timeout);
    CHECK(r.outcome == message_outcome::deferred);
    CHECK(r.recipients[0].outcome == outcome::deferred);
    CHECK(h.model->messages().empty());
    CHECK(h.peer->closed());
}

TEST_CASE("deadline: no reply to the end of data: recipients unknown", "[session][deadline]") {
    test::smtp_script s;
    s.on_message = [](test::smtp_server_model&, const test::received_message&) -> std::optional<std::string> {
        return std::string(); // the message arrives; the reply never does
    };
    auto o = test::test_options();
    o.timeouts.data_end = 200ms;
    test::harness h(s, o);
    REQUIRE_FALSE(h.open());
    auto t0 = clock_type::now();
    auto [ec, r] = h.send(test::env({"b@example.com", "c@example.com"}), "Subject: x\r\n\r\nbody\r\n");
    CHECK(clock_type::now() - t0 < 5s);
    CHECK_FALSE(ec);
    CHECK(r.error == errc::end_of_data_timeout);
    CHECK(r.outcome == message_outcome::unknown);
    CHECK(r.recipients[0].outcome == outcome::unknown);
    CHECK(r.recipients[1].outcome == outcome::unknown);
    CHECK(h.model->messages().size() == 1); // it was delivered, as far as the server knows
    CHECK_FALSE(h.s->is_open());
}

TEST_CASE("deadline: a server that stops reading the data: data_timeout, deferred", "[session][deadline]") {
    auto o = test::test_options();
    o.timeouts.data_block = 200ms;
    o.block_size = 1024;
    test::harness h({}, o);
    h.model->script().on_command = [&](test::smtp_server_model&, std::string_view line,
                                       const std::string&) -> std::optional<std::string> {
        if (line == "DATA") h.peer->stall_writes(true); // the TCP window closes
        return std::nullopt;
    };
    REQUIRE_FALSE(h.open());
    std::string body;
    for (int i = 0; i < 200; ++i) body += std::string(60, 'x') + "\r\n";
    auto [ec, r] = h.send(test::env({"b@example.com"}), body);
    CHECK_FALSE(ec);
    CHECK(r.error == errc::data_timeout);
    CHECK(r.outcome == message_outcome::deferred);
    CHECK(r.recipients[0].outcome == outcome::deferred);
    CHECK(h.peer->closed());
}

TEST_CASE("deadline: each phase uses its own deadline", "[session][deadline]") {
    // A long greeting deadline: a reply after 300 ms is fine even though other
    // phases are at 200 ms.
    auto o = short_options();
    o.timeouts.greeting = 5s;
    test::harness h({}, o, false);
    asio::steady_timer later(h.io, 300ms);
    later.async_wait([&](std::error_code) { test::attach(*h.peer, h.model); });
    CHECK_FALSE(h.open());
    CHECK(h.s->is_open());
}

TEST_CASE("cancellation: terminal cancellation closes the session", "[session][cancel]") {
    SECTION("while waiting for the greeting") {
        test::harness h({}, test::test_options(), false);
        asio::cancellation_signal sig;
        std::optional<std::error_code> r;
        h.s->async_open(asio::bind_cancellation_slot(sig.slot(), [&](std::error_code ec) { r = ec; }));
        asio::post(h.io, [&] { sig.emit(asio::cancellation_type::terminal); });
        h.run();
        REQUIRE(r);
        CHECK(*r == errc::cancelled);
        CHECK_FALSE(h.s->is_open());
        CHECK(h.peer->closed());
    }
    SECTION("during a send, after the commands were written") {
        test::smtp_script s;
        s.on_command = [](test::smtp_server_model&, std::string_view line,
                          const std::string&) -> std::optional<std::string> {
            if (line == "DATA") return std::string(); // never answer
            return std::nullopt;
        };
        test::harness h(s);
        REQUIRE_FALSE(h.open());
        asio::cancellation_signal sig;
        std::optional<smtpio::send_result> res;
        std::optional<std::error_code> err;
        h.peer->on_write([&](test::test_peer& p, std::string_view w) {
            h.model->feed(w);
            auto out = h.model->take();
            p.push(out.bytes);
            if (w.find("DATA\r\n") != std::string_view::npos)
                asio::post(h.io, [&] { sig.emit(asio::cancellation_type::terminal); });
        });
        h.s->async_send(test::env({"b@example.com"}), "hi\r\n",
                        asio::bind_cancellation_slot(sig.slot(), [&](std::error_code ec, smtpio::send_result r) {
                            err = ec;
                            res = std::move(r);
                        }));
        h.run();
        REQUIRE(res);
        CHECK_FALSE(*err);
        CHECK(res->error == errc::cancelled);
        CHECK(res->outcome == message_outcome::deferred);
        CHECK_FALSE(h.s->is_open());
        CHECK(h.peer->closed());
    }
    SECTION("partial and total cancellation close the session too") {
        for (auto type : {asio::cancellation_type::partial, asio::cancellation_type::total}) {
            test::harness h({}, test::test_options(), false);
            asio::cancellation_signal sig;
            std::optional<std::error_code> r;
            h.s->async_open(asio::bind_cancellation_slot(sig.slot(), [&](std::error_code ec) { r = ec; }));
            asio::post(h.io, [&] { sig.emit(type); });
            h.run();
            REQUIRE(r);
            CHECK(*r == errc::cancelled);
            CHECK(h.peer->closed());
        }
    }
    SECTION("while the message data is being written") {
        auto o = test::test_options();
        o.block_size = 256;
        test::harness h({}, o);
        REQUIRE_FALSE(h.open());
        h.model->script().on_command = [&](test::smtp_server_model&, std::string_view line,
                                           const std::string&) -> std::optional<std::string> {
            if (line == "DATA") h.peer->stall_writes(true);
            return std::nullopt;
        };
        asio::cancellation_signal sig;
        std::optional<smtpio::send_result> res;
        std::string body;
        for (int i = 0; i < 100; ++i) body += "0123456789012345678901234567890123456789\r\n";
        h.s->async_send(test::env({"b@example.com"}), body,
                        asio::bind_cancellation_slot(sig.slot(), [&](std::error_code ec, smtpio::send_result r) {
                            CHECK_FALSE(ec);
                            res = std::move(r);
                        }));
        asio::steady_timer t(h.io, 50ms);
        t.async_wait([&](std::error_code) { sig.emit(asio::cancellation_type::terminal); });
        h.run();
        REQUIRE(res);
        CHECK(res->error == errc::cancelled);
        CHECK(res->outcome == message_outcome::deferred);
        CHECK(h.peer->closed());
        auto [ec2, r2] = h.send(test::env({"b@example.com"}), "x\r\n");
        CHECK(ec2 == errc::not_open);
    }
    SECTION("a slot that is never signalled changes nothing, and is released") {
        test::harness h;
        asio::cancellation_signal sig;
        std::optional<std::error_code> r;
        h.s->async_open(asio::bind_cancellation_slot(sig.slot(), [&](std::error_code ec) { r = ec; }));
        h.run();
        REQUIRE(r);
        CHECK_FALSE(*r);
        sig.emit(asio::cancellation_type::terminal); // after completion: no effect
        CHECK(h.s->is_open());
    }
}

TEST_CASE("deadline: an operation whose deadline closed the session fails with it, even if its read arrived",
          "[session][deadline]") {
    // A deadline that is over when the EHLO reply is read: the timer's close and
    // the read's completion are both ready, in either order.  Whichever runs first,
    // an open that ends on a closed session must say why, never succeed.
    int timed_out = 0;
    for (int i = 0; i < 200; ++i) {
        auto o = test::test_options();
        o.timeouts.command = std::chrono::nanoseconds(1);
        test::harness h({}, o);
        const std::error_code ec = h.open();
        INFO("run " << i << ": " << ec.message());
        if (ec) {
            CHECK(ec == errc::command_timeout);
            CHECK_FALSE(h.s->is_open());
            ++timed_out;
        } else {
            CHECK(h.s->is_open());
        }
    }
    WARN(timed_out << " of 200 opens timed out");
}
