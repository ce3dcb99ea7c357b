// The session's operations with every kind of completion token, and one
// operation at a time.
#include "common.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <asio/version.hpp>
#if ASIO_VERSION >= 102400
#include <asio/deferred.hpp>
#else
#include <asio/experimental/deferred.hpp>
#endif

#include <catch2/catch.hpp>

#include <functional>
#include <future>
#include <memory>
#include <type_traits>
#include <vector>

using smtpio::errc;
using smtpio::message_outcome;
namespace test = smtpio::test;

namespace {

#if ASIO_VERSION >= 102400
constexpr auto deferred_token = asio::deferred;
#else
constexpr auto deferred_token = asio::experimental::deferred;
#endif

// A custom completion token: the handler records the error codes; the initiating
// function returns a `receipt` instead of void.  Proves that the session goes
// through async_result/async_initiate for every operation.
struct recording_token {
    std::shared_ptr<std::vector<std::error_code>> log;
};
struct receipt {
    int started = 0;
};

} // namespace

template <class... Args>
struct asio::async_result<recording_token, void(std::error_code, Args...)> {
    using return_type = receipt;
    template <class Initiation, class... InitArgs>
    static receipt initiate(Initiation&& init, recording_token token, InitArgs&&... args) {
        auto log = token.log;
        std::forward<Initiation>(init)([log](std::error_code ec, Args...) { log->push_back(ec); },
                                       std::forward<InitArgs>(args)...);
        return receipt{1};
    }
};

namespace {

const std::string body_text = "Subject: tokens\r\n\r\nhello\r\n";

} // namespace

TEST_CASE("session: callbacks", "[session][tokens]") {
    test::harness h;
    REQUIRE_FALSE(h.open());
    CHECK(h.s->is_open());
    CHECK_FALSE(h.s->is_encrypted());
    auto [ec, r] = h.send(test::env({"b@example.com"}), body_text);
    CHECK_FALSE(ec);
    CHECK(r.outcome == message_outcome::delivered);
    CHECK_FALSE(r.tls.attempted);
    CHECK_FALSE(h.quit());
    CHECK_FALSE(h.s->is_open());
    REQUIRE(h.model->messages().size() == 1);
    CHECK(h.model->messages()[0].content == body_text);
    CHECK(h.peer->written() ==
          "EHLO client.example.org\r\nMAIL FROM:<a@example.org> SIZE=" + std::to_string(body_text.size()) +
              "\r\nRCPT TO:<b@example.com>\r\nDATA\r\n" + body_text + ".\r\nQUIT\r\n");
}

TEST_CASE("session: asio::use_future", "[session][tokens]") {
    test::harness h;
    auto opened = h.s->async_open(asio::use_future);
    h.run();
    REQUIRE(opened.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
    CHECK_NOTHROW(opened.get());
    auto sent = h.s->async_send(test::env({"b@example.com"}), body_text, asio::use_future);
    h.run();
    auto r = sent.get();
    CHECK(r.outcome == message_outcome::delivered);
    auto quit = h.s->async_quit(asio::use_future);
    h.run();
    CHECK_NOTHROW(quit.get());

    // An error becomes the future's exception.
    test::smtp_script refuse;
    refuse.greeting = "554 5.3.2 not now\r\n";
    test::harness h2(refuse);
    auto failed = h2.s->async_open(asio::use_future);
    h2.run();
    try {
        failed.get();
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == errc::greeting_refused);
    }
}

// With use_future, every step runs on Asio's system thread, which destroys the
// finished operation only after the future is ready, while the caller may already
// destroy the session and its io_context.  So an operation lets go of the session
// before its handler runs: a handler that destroys the session destroys the stream
// with it, there and then.
TEST_CASE("session: an operation lets go of the session before its handler runs", "[session][tokens]") {
    using done_fn = std::function<void()>;
    using start_fn = std::function<void(test::stream_session&, done_fn)>;
    auto check = [](const char* what, bool open_first, start_fn start) {
        INFO(what);
        smtpio::session_options o = test::test_options();
        o.dangerous_allow_plaintext_auth = true; // the test stream has no TLS
        test::smtp_script script;
        script.extensions.push_back("AUTH PLAIN LOGIN");
        test::harness h(script, o);
        if (open_first) REQUIRE_FALSE(h.open());
        std::weak_ptr<test::test_peer> peer = h.peer;
        h.peer.reset(); // the stream (in the session) now holds the peer alone
        std::optional<bool> stream_gone;
        start(*h.s, [&] {
            h.s.reset();
            stream_gone = peer.expired();
        });
        h.run();
        REQUIRE(stream_gone);
        CHECK(*stream_gone);
    };
    // The handlers are std::functions: one instantiation of each operation serves every check.
    using ec_handler = std::function<void(std::error_code)>;
    using result_handler = std::function<void(std::error_code, smtpio::send_result)>;
    using batch_handler = std::function<void(std::error_code, std::vector<smtpio::send_result>)>;
    auto expect_ok = [](done_fn d) {
        return ec_handler([d](std::error_code ec) {
            CHECK_FALSE(ec);
            d();
        });
    };
    check("open", false, [&](auto& s, done_fn d) { s.async_open(expect_ok(d)); });
    check("send", true, [](auto& s, done_fn d) {
        s.async_send(test::env({"b@example.com"}), body_text, result_handler([d](std::error_code ec, smtpio::send_result r) {
                         CHECK_FALSE(ec);
                         CHECK(r.outcome == message_outcome::delivered);
                         d();
                     }));
    });
    check("batch", true, [](auto& s, done_fn d) {
        std::vector<smtpio::message> batch;
        batch.push_back({test::env({"b@example.com"}), body_text, {}});
        batch.push_back({test::env({"c@example.com"}), body_text, {}});
        s.async_send_batch(std::move(batch), batch_handler([d](std::error_code ec, std::vector<smtpio::send_result> rs) {
                               CHECK_FALSE(ec);
                               CHECK(rs.size() == 2);
                               d();
                           }));
    });
    check("authenticate", true, [&](auto& s, done_fn d) {
        s.async_authenticate({"user", "pencil", smtpio::auth_mechanism::plain}, expect_ok(d));
    });
    check("reset", true, [&](auto& s, done_fn d) { s.async_reset(expect_ok(d)); });
    check("noop", true, [&](auto& s, done_fn d) { s.async_noop(expect_ok(d)); });
    check("quit", true, [&](auto& s, done_fn d) { s.async_quit(expect_ok(d)); });
    // Refused before any I/O: sending on a session that was never opened.
    check("refused", false, [](auto& s, done_fn d) {
        s.async_send(test::env({"b@example.com"}), body_text, result_handler([d](std::error_code ec, smtpio::send_result) {
                         CHECK(ec == errc::not_open);
                         d();
                     }));
    });
}

// The same when the final reply comes through the read that runs while a long body
// is written: that read holds the session while in flight, and must let go before
// it resumes the operation waiting on it.
TEST_CASE("session: an operation completed through its background read lets go of the session too",
          "[session][tokens]") {
    smtpio::session_options o = test::test_options();
    o.block_size = 512; // the body goes in blocks, with a read running meanwhile
    test::harness h({}, o, /*attach_model=*/false);
    // The server answers at once up to the 354, then holds its replies until the
    // client has written everything and waits on that read.
    bool hold = false;
    std::string held;
    h.model->start();
    h.peer->push(h.model->take().bytes);
    h.peer->on_write([&](test::test_peer& p, std::string_view data) {
        h.model->feed(data);
        std::string out = h.model->take().bytes;
        if (hold) {
            held += out;
            return;
        }
        p.push(out);
        if (out.find("354") != std::string::npos) hold = true;
    });
    REQUIRE_FALSE(h.open());
    std::weak_ptr<test::test_peer> peer = h.peer;
    h.peer.reset();
    std::string big = "Subject: blocks\r\n\r\n";
    for (int i = 0; i < 200; ++i)
        big += "line " + std::to_string(i) + " of a body written in blocks\r\n";
    std::optional<bool> stream_gone;
    std::optional<message_outcome> outcome;
    h.s->async_send(test::env({"b@example.com"}), std::move(big),
                    [&](std::error_code ec, smtpio::send_result r) {
                        CHECK_FALSE(ec);
                        outcome = r.outcome;
                        h.s.reset();
                        stream_gone = peer.expired();
                    });
    h.run(std::chrono::milliseconds(300)); // everything written; the operation waits on the read
    REQUIRE_FALSE(outcome);
    REQUIRE(hold);
    REQUIRE_FALSE(held.empty());
    auto p = peer.lock();
    REQUIRE(p);
    REQUIRE(p->read_pending());
    p->push(held);
    p.reset();
    h.run();
    REQUIRE(stream_gone);
    CHECK(outcome == message_outcome::delivered);
    CHECK(*stream_gone);
}

TEST_CASE("session: asio::use_awaitable", "[session][tokens]") {
    test::harness h;
    std::optional<message_outcome> outcome;
    std::optional<std::error_code> not_sent;
    bool finished = false;
    auto& s = *h.s;
    asio::co_spawn(
        h.io,
        [&]() -> asio::awaitable<void> {
            // (Envelopes are built outside the co_await expressions: g++ 12 rejects
            // string-literal temporaries there.)
            smtpio::envelope good = test::env({std::string("b@example.com")});
            smtpio::envelope bad = test::env({std::string("bad\r\nRCPT TO:<x@y>")});
            co_await s.async_open(asio::use_awaitable);
            auto r = co_await s.async_send(std::move(good), body_text, asio::use_awaitable);
            outcome = r.outcome;
            try {
                // Nothing of this message can be written: the awaitable throws.
                co_await s.async_send(std::move(bad), body_text, asio::use_awaitable);
            } catch (const std::system_error& e) {
                not_sent = e.code();
            }
            co_await s.async_quit(asio::use_awaitable);
            finished = true;
        },
        asio::detached);
    h.run();
    CHECK(finished);
    CHECK(outcome == message_outcome::delivered);
    REQUIRE(not_sent);
    CHECK(*not_sent == errc::control_character);
    CHECK(h.model->messages().size() == 1);
}

TEST_CASE("session: deferred", "[session][tokens]") {
    test::harness h;
    auto open_op = h.s->async_open(deferred_token);
    // Nothing happens until the deferred operation is launched.
    h.run();
    CHECK(h.peer->written().empty());
    std::optional<std::error_code> opened;
    std::move(open_op)([&](std::error_code ec) { opened = ec; });
    h.run();
    REQUIRE(opened);
    CHECK_FALSE(*opened);

    std::optional<message_outcome> outcome;
    auto send_op = h.s->async_send(test::env({"b@example.com"}), body_text, deferred_token);
    std::move(send_op)([&](std::error_code ec, smtpio::send_result r) {
        CHECK_FALSE(ec);
        outcome = r.outcome;
    });
    h.run();
    CHECK(outcome == message_outcome::delivered);
}

TEST_CASE("session: a custom completion token", "[session][tokens]") {
    test::harness h;
    auto log = std::make_shared<std::vector<std::error_code>>();
    auto r1 = h.s->async_open(recording_token{log});
    static_assert(std::is_same_v<decltype(r1), receipt>);
    CHECK(r1.started == 1);
    h.run();
    auto r2 = h.s->async_send(test::env({"b@example.com"}), body_text, recording_token{log});
    static_assert(std::is_same_v<decltype(r2), receipt>);
    h.run();
    auto r3 = h.s->async_noop(recording_token{log});
    h.run();
    auto r4 = h.s->async_send(test::env({"bad@@example.com"}), body_text, recording_token{log});
    h.run();
    (void)r3;
    (void)r4;
    REQUIRE(log->size() == 4);
    CHECK_FALSE((*log)[0]);
    CHECK_FALSE((*log)[1]);
    CHECK_FALSE((*log)[2]);
    CHECK((*log)[3] == errc::invalid_address);
    CHECK(h.model->messages().size() == 1);
}

TEST_CASE("session: a second operation while one runs fails with operation_in_progress", "[session][tokens]") {
    test::harness h({}, test::test_options(), false); // the server is silent until told
    std::optional<std::error_code> opened, noop, authed;
    std::optional<std::pair<std::error_code, smtpio::send_result>> sent;
    std::optional<std::pair<std::error_code, std::vector<smtpio::send_result>>> batch;
    h.s->async_open([&](std::error_code ec) { opened = ec; });
    h.s->async_noop([&](std::error_code ec) { noop = ec; });
    h.s->async_authenticate({"user", "pencil"}, [&](std::error_code ec) { authed = ec; });
    h.s->async_send(test::env({"b@example.com"}), body_text,
                    [&](std::error_code ec, smtpio::send_result r) { sent.emplace(ec, std::move(r)); });
    std::vector<smtpio::message> msgs;
    msgs.push_back({test::env({"b@example.com"}), body_text, {}});
    h.s->async_send_batch(std::move(msgs), [&](std::error_code ec, std::vector<smtpio::send_result> rs) {
        batch.emplace(ec, std::move(rs));
    });
    // Never completed inside the initiating function.
    CHECK_FALSE(noop);
    CHECK_FALSE(sent);
    h.io.restart();
    h.io.poll();
    REQUIRE(noop);
    CHECK(*noop == errc::operation_in_progress);
    CHECK(authed == errc::operation_in_progress);
    REQUIRE(sent);
    CHECK(sent->first == errc::operation_in_progress);
    CHECK(sent->second.outcome == message_outcome::not_sent);
    REQUIRE(batch);
    CHECK(batch->first == errc::operation_in_progress);
    REQUIRE(batch->second.size() == 1);
    CHECK(batch->second[0].outcome == message_outcome::not_sent);
    CHECK_FALSE(opened);
    // The first operation goes on undisturbed.
    test::attach(*h.peer, h.model);
    h.run();
    REQUIRE(opened);
    CHECK_FALSE(*opened);
    CHECK(h.peer->written() == "EHLO client.example.org\r\n");
    CHECK(h.s->is_open());
}

TEST_CASE("session: operations on a session that is not open", "[session][tokens]") {
    test::harness h;
    auto [ec, r] = h.send(test::env({"b@example.com"}), body_text);
    CHECK(ec == errc::not_open);
    CHECK(r.outcome == message_outcome::not_sent);
    CHECK(h.authenticate({"user", "pencil"}) == errc::not_open);
    CHECK(h.reset() == errc::not_open);
    CHECK_FALSE(h.quit()); // QUIT on a connection that was never opened just closes it
    CHECK(h.peer->written().empty());
    CHECK(h.open() == errc::not_open);
}

// Refused before any I/O, an operation still completes after its initiating
// function returned (Asio's rule for asynchronous operations), never inside it.
TEST_CASE("session: an operation refused before any I/O completes after its initiation returns",
          "[session][tokens]") {
    test::harness h;
    int completed = 0;
    auto count = [&completed](std::error_code ec, auto&&...) {
        CHECK(ec == errc::not_open);
        ++completed;
    };
    h.s->async_send(test::env({"b@example.com"}), body_text, count);
    CHECK(completed == 0);
    std::vector<smtpio::message> batch;
    batch.push_back({test::env({"b@example.com"}), smtpio::body(body_text), {}});
    h.s->async_send_batch(std::move(batch),
                          [&completed](std::error_code, std::vector<smtpio::send_result> rs) {
                              REQUIRE(rs.size() == 1);
                              CHECK(rs[0].error == errc::not_open);
                              ++completed;
                          });
    CHECK(completed == 0);
    h.s->async_authenticate(smtpio::credentials("user", "pencil"), count);
    h.s->async_reset(count);
    CHECK(completed == 0);
    h.io.run();
    CHECK(completed == 4);
}
