// Sessions on strands of a multi-threaded io_context, sharing one tls::context
// (trust anchors and the resumption cache), against the loopback server; and
// the session cache itself hammered from several threads.
#include "cert_factory.hpp"
#include "smtp_server.hpp"

#include <smtpio.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace test = smtpio::test;
namespace tls = smtpio::tls;

namespace {

constexpr const char* mx = "mx.example.test";

struct tally {
    std::atomic<int> delivered{0}, failed{0}, resumed{0}, verified{0};
    std::mutex m;
    std::string first_error;
    void fail(const std::string& why) {
        ++failed;
        std::lock_guard lock(m);
        if (first_error.empty()) first_error = why;
    }
};

asio::awaitable<void> client(std::uint16_t port, tls::any_policy policy, int messages, tally& t) {
    auto ex = co_await asio::this_coro::executor;
    smtpio::session_options o;
    o.helo_name = "client.example.org";
    o.host = mx;
    o.timeouts = smtpio::timeouts{}.capped(std::chrono::seconds(20));
    std::error_code ec;
    auto s = co_await smtpio::async_connect(ex, "127.0.0.1", port, policy, o, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        t.fail("connect: " + ec.message());
        co_return;
    }
    if (s.tls_report().resumed) ++t.resumed;
    if (s.tls_report().verified) ++t.verified;
    for (int i = 0; i < messages; ++i) {
        smtpio::envelope env{"a@example.org", {"b@example.com"}};
        auto r = co_await s.async_send(std::move(env), smtpio::body("Subject: c\r\n\r\nmessage " + std::to_string(i) + "\r\n"),
                                       asio::redirect_error(asio::use_awaitable, ec));
        if (ec || r.outcome != smtpio::message_outcome::delivered) t.fail("send: " + (ec ? ec.message() : r.error.message()));
        else ++t.delivered;
    }
    co_await s.async_quit(asio::redirect_error(asio::use_awaitable, ec));
}

} // namespace

TEST_CASE("sessions on strands of four threads share one TLS context", "[concurrency][integration]") {
    const test::cert_factory f;
    const auto id = f.make(test::cert_case::valid, mx);

    asio::io_context server_io(1);
    smtpio_examples::server_config cfg;
    cfg.cert_chain_pem = id.chain_pem();
    cfg.key_pem = id.key_pem();
    cfg.keep_messages = false;
    smtpio_examples::smtp_server server(server_io, cfg);
    server.start();
    std::thread server_thread([&] { server_io.run(); });

    auto ctx = tls::context::with_ca_pem(f.trust_pem());
    const tls::any_policy policy = tls::policy::from_level(tls::level::verify, ctx);
    constexpr int sessions = 24, messages = 4, threads = 4;
    tally t;
    // Two waves: the second one's sessions find the first one's tickets in the cache.
    for (int wave = 0; wave < 2; ++wave) {
        asio::io_context io(threads);
        for (int i = 0; i < sessions / 2; ++i)
            asio::co_spawn(asio::make_strand(io), client(server.port(), policy, messages, t), asio::detached);
        std::vector<std::thread> pool;
        for (int i = 0; i < threads; ++i) pool.emplace_back([&] { io.run_for(std::chrono::seconds(60)); });
        for (auto& th : pool) th.join();
    }
    server.stop();
    server_io.stop();
    server_thread.join();

    INFO("first failure: " << t.first_error);
    CHECK(t.failed == 0);
    CHECK(t.delivered == sessions * messages);
    CHECK(t.verified == sessions);
    CHECK(t.resumed > 0); // the second wave resumed the first one's tickets
    CHECK(server.stats().messages == static_cast<std::uint64_t>(sessions * messages));
    CHECK(server.stats().tls_handshakes == static_cast<std::uint64_t>(sessions));
}

TEST_CASE("the resumption cache under concurrent puts and takes", "[concurrency]") {
    tls::detail::session_cache cache;
    cache.set_capacity(8);
    bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
    REQUIRE(ctx);
    constexpr int threads = 4, rounds = 2000;
    std::vector<std::thread> pool;
    std::atomic<int> taken{0};
    for (int n = 0; n < threads; ++n) {
        pool.emplace_back([&, n] {
            for (int i = 0; i < rounds; ++i) {
                const std::string key = "k" + std::to_string((i + n) % 12);
                if (i % 3 == 0) {
                    if (cache.take(key).session) ++taken;
                } else {
                    bssl::UniquePtr<SSL_SESSION> s(SSL_SESSION_new(ctx.get()));
                    SSL_SESSION_set_protocol_version(s.get(), TLS1_2_VERSION);
                    SSL_SESSION_set_time(s.get(), static_cast<std::uint64_t>(std::time(nullptr)));
                    SSL_SESSION_set_timeout(s.get(), 3600);
                    cache.put(key, std::move(s));
                }
            }
        });
    }
    for (auto& th : pool) th.join();
    CHECK(taken > 0);
    CHECK(cache.size() <= 8 * tls::detail::session_cache::default_sessions_per_key);
}
