// TLS session resumption: resumed for the same destination and policy only,
// never after a rejected peer; a resumed connection keeps the verdict its
// session was established with (while the chain is within its dates).
#include "cert_factory.hpp"
#include "tls_client.hpp"
#include "tls_server.hpp"

#include <smtpio/tls/policy.hpp>

#include <thread>

#include <catch2/catch.hpp>

namespace tls = smtpio::tls;
namespace test = smtpio::test;
namespace policy = smtpio::policy;
using test::cert_case;

namespace {

test::tls_server_options server_for(const test::server_identity& id, int max_version, bool tickets,
                                    std::size_t connections) {
    test::tls_server_options o;
    o.certificate_chain_pem = id.chain_pem();
    o.private_key_pem = id.key_pem();
    o.max_version = max_version;
    o.session_tickets = tickets;
    o.max_connections = connections;
    return o;
}

} // namespace

TEST_CASE("sessions are resumed for the same name and policy only", "[tls][resumption][integration]") {
    struct variant {
        const char* name;
        int max_version;
        bool tickets;
    };
    const variant variants[] = {
        {"TLS 1.3 tickets", TLS1_3_VERSION, true},
        {"TLS 1.2 tickets", TLS1_2_VERSION, true},
        {"TLS 1.2 session IDs", TLS1_2_VERSION, false},
    };
    test::cert_factory f;
    test::cert_spec s;
    s.dns_names = {"mx.example.test", "mx2.example.test"};
    const auto id = f.leaf(s);

    for (const auto& v : variants) {
        INFO(v.name);
        auto ctx = tls::context::with_ca_pem(f.trust_pem());
        test::tls_server server(server_for(id, v.max_version, v.tickets, 6));
        const auto verify = policy::verified(ctx);

        const auto first = test::connect_with_policy(verify, server.port(), "mx.example.test");
        REQUIRE(first.verdict.accepted);
        CHECK_FALSE(first.report.resumed);
        CHECK(ctx.cached_sessions() >= 1);

        const auto second = test::connect_with_policy(verify, server.port(), "mx.example.test");
        REQUIRE(second.verdict.accepted);
        CHECK(second.report.resumed);
        // A resumed session is verified: by the verdict kept with it.
        CHECK(second.verdict.verified);
        REQUIRE(second.report.peer);
        CHECK(second.report.peer->sha256 == first.report.peer->sha256);
        // ... and its certificate is described once, for the session it came from.
        CHECK(&*second.report.peer == &*first.report.peer);

        // Another reference name: a different key, a full handshake.
        const auto other_name = test::connect_with_policy(verify, server.port(), "mx2.example.test");
        CHECK(other_name.verdict.accepted);
        CHECK_FALSE(other_name.report.resumed);
        REQUIRE(other_name.report.peer);
        CHECK(&*other_name.report.peer != &*first.report.peer);
        CHECK(other_name.report.peer->sha256 == first.report.peer->sha256);

        // Another policy for the same name: a different key, a full handshake.
        const auto other_policy = test::connect_with_policy(policy::opportunistic(ctx), server.port(), "mx.example.test");
        CHECK(other_policy.verdict.accepted);
        CHECK_FALSE(other_policy.report.resumed);

        // Resumption off: no session offered.
        ctx.enable_resumption(false);
        const auto off = test::connect_with_policy(verify, server.port(), "mx.example.test");
        CHECK(off.verdict.accepted);
        CHECK_FALSE(off.report.resumed);
        ctx.enable_resumption(true);

        REQUIRE(server.wait_for(5));
        const auto seen = server.records();
        CHECK_FALSE(seen[0].resumed);
        CHECK(seen[1].resumed);
        CHECK_FALSE(seen[2].resumed);
        CHECK_FALSE(seen[3].resumed);
        CHECK_FALSE(seen[4].resumed);
        server.stop();
    }
}

TEST_CASE("no session is kept from a rejected peer", "[tls][resumption][integration]") {
    test::cert_factory f;
    auto ctx = tls::context::with_ca_pem(f.trust_pem());
    test::tls_server server(server_for(f.make(cert_case::wrong_name), TLS1_2_VERSION, true, 2));
    const auto verify = policy::verified(ctx);
    const auto first = test::connect_with_policy(verify, server.port(), "mx.example.test");
    CHECK_FALSE(first.verdict.accepted);
    CHECK(ctx.cached_sessions() == 0);
    const auto second = test::connect_with_policy(verify, server.port(), "mx.example.test");
    CHECK_FALSE(second.verdict.accepted);
    CHECK_FALSE(second.report.resumed);
}

TEST_CASE("a TLS 1.3 ticket is used once", "[tls][resumption][integration]") {
    test::cert_factory f;
    auto ctx = tls::context::with_ca_pem(f.trust_pem());
    test::tls_server server(server_for(f.make(cert_case::valid), TLS1_3_VERSION, true, 4));
    const auto verify = policy::verified(ctx);
    REQUIRE(test::connect_with_policy(verify, server.port(), "mx.example.test").verdict.accepted);
    const std::size_t tickets = ctx.cached_sessions(); // BoringSSL servers send two
    REQUIRE(tickets >= 1);
    const auto resumed = test::connect_with_policy(verify, server.port(), "mx.example.test");
    CHECK(resumed.report.resumed);
    // One ticket was taken; the resumed connection brought new ones.
    CHECK(ctx.cached_sessions() >= tickets - 1);
    ctx.clear_resumption_cache();
    CHECK(ctx.cached_sessions() == 0);
    CHECK_FALSE(test::connect_with_policy(verify, server.port(), "mx.example.test").report.resumed);
}

TEST_CASE("a resumed connection gets the verdict its session was established with", "[tls][resumption][integration]") {
    test::cert_factory f;
    auto ctx = tls::context::with_ca_pem(f.trust_pem());
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        INFO("max version " << version);
        ctx.clear_resumption_cache();
        // Greets and leaves: the server serves one connection at a time.
        test::tls_server server(server_for(f.make(cert_case::valid, "mx.example.test"), version, true, 2),
                                [](test::tls_connection& c) {
                                    if (c.tls_active()) c.write_line("hello");
                                });
        const auto verify = policy::verified(ctx);
        asio::io_context io;
        std::optional<tls::stream<asio::ip::tcp::socket>> first_conn, second_conn;
        const auto first = test::connect_with_policy(verify, server.port(), "mx.example.test", std::chrono::seconds(10), &first_conn, &io);
        REQUIRE(first.verdict.accepted);
        REQUIRE(first_conn);
        CHECK(tls::context::resumed_verdict(first_conn->native_handle()) == nullptr); // a full handshake
        const auto second = test::connect_with_policy(verify, server.port(), "mx.example.test", std::chrono::seconds(10), &second_conn, &io);
        REQUIRE(second.verdict.accepted);
        REQUIRE(second_conn);
        CHECK(second.report.resumed);
        const tls::verdict* earlier = tls::context::resumed_verdict(second_conn->native_handle());
        REQUIRE(earlier != nullptr);
        CHECK(earlier->verified);
        CHECK(earlier->result == tls::verify_result::ok);
        CHECK(earlier->reference_name == "mx.example.test");
        CHECK(second.verdict.verified);
        CHECK(second.verdict.detail == first.verdict.detail);
        CHECK(second.report.verified);
        first_conn.reset();
        second_conn.reset();
        server.stop();
    }
}

TEST_CASE("the cache keeps as many TLS 1.3 tickets per destination as connections opened together need",
          "[tls][resumption][integration]") {
    test::cert_factory f;
    auto ctx = tls::context::with_ca_pem(f.trust_pem());
    const auto verify = policy::verified(ctx);
    // Each connection takes a ticket and brings two (BoringSSL's servers send two), so
    // one connection after another fills the destination's sessions up to the limit.
    auto fill = [&](std::size_t connections) {
        test::tls_server server(server_for(f.make(cert_case::valid), TLS1_3_VERSION, true, connections));
        const std::uint16_t port = server.port();
        for (std::size_t i = 0; i < connections; ++i)
            REQUIRE(test::connect_with_policy(verify, port, "mx.example.test").verdict.accepted);
        server.stop();
        return port;
    };
    // Connections opened together each take a session before any brings one: count
    // those that are offered one to resume.
    auto offered_at_once = [&](std::uint16_t port, int connections) {
        asio::io_context io;
        std::vector<std::unique_ptr<tls::stream<asio::ip::tcp::socket>>> streams;
        int offered = 0;
        for (int i = 0; i < connections; ++i) {
            streams.push_back(std::make_unique<tls::stream<asio::ip::tcp::socket>>(asio::ip::tcp::socket(io),
                                                                                   ctx.native_handle()));
            tls::set_peer_port(streams.back()->native_handle(), port);
            REQUIRE_FALSE(verify.prepare(streams.back()->native_handle(), "mx.example.test"));
            if (SSL_get_session(streams.back()->native_handle()) != nullptr) ++offered;
        }
        return offered;
    };

    SECTION("four by default") {
        CHECK(ctx.sessions_per_destination() == 4);
        const auto port = fill(10);
        CHECK(ctx.cached_sessions() == 4);
        CHECK(offered_at_once(port, 10) == 4);
        CHECK(ctx.cached_sessions() == 0);
    }
    SECTION("raised to ten: ten connections at once all resume") {
        ctx.set_sessions_per_destination(10);
        const auto port = fill(12);
        CHECK(ctx.cached_sessions() == 10);
        CHECK(offered_at_once(port, 12) == 10);
    }
    SECTION("zero: nothing is kept, nothing is offered") {
        ctx.set_sessions_per_destination(0);
        const auto port = fill(3);
        CHECK(ctx.cached_sessions() == 0);
        CHECK(offered_at_once(port, 2) == 0);
    }
}

TEST_CASE("a failed handshake that offered a session reports no certificate of its own",
          "[tls][resumption][integration]") {
    test::cert_factory f;
    auto ctx = tls::context::with_ca_pem(f.trust_pem());
    const auto verify = policy::verified(ctx);
    std::uint16_t port = 0;
    {
        test::tls_server server(server_for(f.make(cert_case::valid), TLS1_3_VERSION, true, 1));
        port = server.port();
        const auto first = test::connect_with_policy(verify, port, "mx.example.test");
        REQUIRE(first.verdict.accepted);
        REQUIRE(first.report.peer);
        server.stop();
    }
    const std::size_t cached = ctx.cached_sessions();
    REQUIRE(cached >= 1);
    // The same address and port now answers the ClientHello by hanging up: the
    // connection offered the cached session and received no certificate.
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io);
    const asio::ip::tcp::endpoint at(asio::ip::make_address("127.0.0.1"), port);
    acceptor.open(at.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(at);
    acceptor.listen();
    std::thread hang_up([&] {
        asio::ip::tcp::socket peer(io);
        std::error_code ec;
        acceptor.accept(peer, ec);
        if (ec) return;
        char hello[512];
        (void)peer.read_some(asio::buffer(hello), ec);
        peer.close(ec);
    });
    const auto failed = test::connect_with_policy(verify, port, "mx.example.test", std::chrono::seconds(10));
    hang_up.join();
    CHECK(ctx.cached_sessions() == cached - 1); // a session was offered
    REQUIRE(failed.handshake_error);
    CHECK(failed.report.result == tls::verify_result::handshake_failure);
    CHECK_FALSE(failed.report.resumed);
    CHECK_FALSE(failed.report.peer);
    CHECK(failed.report.chain_length == 0);
}
