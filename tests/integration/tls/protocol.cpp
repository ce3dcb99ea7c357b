// Protocol versions, cipher suites and SNI, over real handshakes on loopback.
#include "cert_factory.hpp"
#include "tls_client.hpp"
#include "tls_server.hpp"

#include <smtpio/error.hpp>
#include <smtpio/tls/policy.hpp>

#include <catch2/catch.hpp>

using smtpio::errc;
namespace tls = smtpio::tls;
namespace test = smtpio::test;
namespace policy = smtpio::policy;
using test::cert_case;

namespace {

constexpr const char* host = "mx.example.test";

test::tls_server_options server_for(const test::server_identity& id) {
    test::tls_server_options o;
    o.certificate_chain_pem = id.chain_pem();
    o.private_key_pem = id.key_pem();
    return o;
}

} // namespace

TEST_CASE("TLS 1.0 and 1.1 servers are refused unless both opt-ins are given", "[tls][versions][integration]") {
    test::cert_factory f;
    const auto ctx = tls::context::with_ca_pem(f.trust_pem());
    const auto legacy = tls::context::with_ca_pem(f.trust_pem(), tls::context_options::dangerous_allow_tls10_and_11);
    const auto id = f.make(cert_case::rsa_2048, host);

    for (int v : {TLS1_VERSION, TLS1_1_VERSION}) {
        auto o = server_for(id);
        o.min_version = o.max_version = v;
        o.max_connections = 7;
        test::tls_server server(o);
        INFO("server version " << std::hex << v);

        for (const auto& p : {policy::opportunistic(ctx), policy::verified(ctx), policy::dangerous_unverified_tls(ctx)}) {
            const auto out = test::connect_with_policy(p, server.port(), host);
            INFO(p.name() << ": " << out.handshake_error.message());
            CHECK(out.handshake_failed());
            CHECK_FALSE(out.evaluated);
            CHECK(out.report.attempted);
            CHECK_FALSE(out.report.established);
            CHECK(out.report.result == tls::verify_result::handshake_failure);
        }
        // Only the policy's opt-in: still refused (the context's floor holds).
        CHECK(test::connect_with_policy(policy::opportunistic(ctx).dangerous_allow_tls10_and_11(), server.port(), host)
                  .handshake_failed());
        // Only the context's opt-in: still refused (the policy's floor holds).
        CHECK(test::connect_with_policy(policy::opportunistic(legacy), server.port(), host).handshake_failed());
        // Both: the legacy version is negotiated, and reported.
        const auto both =
            test::connect_with_policy(policy::opportunistic(legacy).dangerous_allow_tls10_and_11(), server.port(), host);
        REQUIRE_FALSE(both.handshake_error);
        CHECK(both.verdict.accepted);
        CHECK(both.report.version == (v == TLS1_VERSION ? "TLSv1.0" : "TLSv1.1"));
        CHECK(both.report.received_clause().rfind(v == TLS1_VERSION ? "version=TLS1_0 " : "version=TLS1_1 ", 0) == 0);
        // Strict levels cannot use legacy versions: their suites need TLS 1.2.
        const auto strict =
            test::connect_with_policy(policy::verified(legacy).dangerous_allow_tls10_and_11(), server.port(), host);
        CHECK(strict.handshake_failed());
        REQUIRE(server.wait_for(7));
        for (const auto& rec : server.records()) CHECK(rec.handshake_done == !rec.version.empty());
        server.stop();
    }
}

TEST_CASE("a TLS 1.3 floor refuses a TLS 1.2-only server", "[tls][versions][integration]") {
    test::cert_factory f;
    const auto ctx = tls::context::with_ca_pem(f.trust_pem());
    auto o = server_for(f.make(cert_case::valid, host));
    o.max_version = TLS1_2_VERSION;
    o.max_connections = 2;
    test::tls_server server(o);
    const auto ok = test::connect_with_policy(policy::verified(ctx), server.port(), host);
    CHECK(ok.verdict.accepted);
    CHECK(ok.report.version == "TLSv1.2");
    const auto refused =
        test::connect_with_policy(policy::verified(ctx).min_version(tls::version::tls1_3), server.port(), host);
    CHECK(refused.handshake_failed());
}

TEST_CASE("weak TLS 1.2 suites: strict levels refuse them, may takes the acceptable ones",
          "[tls][ciphers][integration]") {
    test::cert_factory f;
    const auto ctx = tls::context::with_ca_pem(f.trust_pem());
    struct row {
        const char* server_suites;
        cert_case cert;
        bool may_accepts;
        const char* expected_cipher; // under may
    };
    const row rows[] = {
        {"AES128-SHA", cert_case::rsa_2048, true, "TLS_RSA_WITH_AES_128_CBC_SHA"},              // static RSA, CBC
        {"AES256-GCM-SHA384", cert_case::rsa_2048, true, "TLS_RSA_WITH_AES_256_GCM_SHA384"},    // static RSA
        {"ECDHE-ECDSA-AES128-SHA", cert_case::valid, true, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"}, // CBC
        {"DES-CBC3-SHA", cert_case::rsa_2048, false, ""},                                       // 3DES: never
    };
    for (const auto& r : rows) {
        INFO("server suites " << r.server_suites);
        auto o = server_for(f.make(r.cert, host));
        o.max_version = TLS1_2_VERSION;
        o.cipher_list = r.server_suites;
        o.max_connections = 6;
        std::optional<test::tls_server> server;
        try {
            server.emplace(o);
        } catch (const std::exception& e) {
            WARN("this BoringSSL has no " << r.server_suites << ": " << e.what());
            continue;
        }
        for (const auto& p : {policy::verified(ctx), policy::secure(ctx, "example.test"),
                              policy::fingerprint(ctx, {tls::pin::of_public_key(f.root().cert.get())}),
                              policy::dane(ctx, {tls::tlsa_record{3, 1, 1, std::vector<std::uint8_t>(32, 1)}})}) {
            const auto out = test::connect_with_policy(p, server->port(), host);
            INFO(p.name());
            CHECK(out.handshake_failed());
            CHECK(out.report.result == tls::verify_result::handshake_failure);
        }
        const auto may = test::connect_with_policy(policy::opportunistic(ctx), server->port(), host);
        REQUIRE_FALSE(may.connect_error);
        CHECK((!may.handshake_error) == r.may_accepts);
        if (r.may_accepts) {
            CHECK(may.verdict.accepted);
            CHECK(may.report.cipher == r.expected_cipher);
        }
        const auto encrypt = test::connect_with_policy(policy::dangerous_unverified_tls(ctx), server->port(), host);
        REQUIRE_FALSE(encrypt.connect_error);
        CHECK((!encrypt.handshake_error) == r.may_accepts);
    }
}

TEST_CASE("strict levels offer only ECDHE with AEAD for TLS 1.2", "[tls][ciphers][integration]") {
    test::cert_factory f;
    const auto ctx = tls::context::with_ca_pem(f.trust_pem());
    for (const char* suite : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                              "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
        auto o = server_for(f.make(cert_case::valid, host));
        o.max_version = TLS1_2_VERSION;
        o.cipher_list = suite;
        test::tls_server server(o);
        const auto out = test::connect_with_policy(policy::verified(ctx), server.port(), host);
        INFO(suite);
        REQUIRE_FALSE(out.handshake_error);
        CHECK(out.verdict.accepted);
        CHECK(out.report.version == "TLSv1.2");
    }
}

TEST_CASE("SNI: A-label, no trailing dot, none for an IP address", "[tls][sni][integration]") {
    test::cert_factory f;
    const auto ctx = tls::context::with_ca_pem(f.trust_pem());
    test::cert_spec s;
    s.dns_names = {"xn--bcher-kva.example.test", "smtp.example.net", "mx.example.test"};
    s.ip_addresses = {"127.0.0.1"};
    auto o = server_for(f.leaf(s));
    o.max_connections = 5;
    test::tls_server server(o);

    const auto idn = test::connect_with_policy(policy::verified(ctx), server.port(), "B\xC3\xBC" "cher.Example.TEST.");
    CHECK(idn.verdict.accepted);
    const auto ip = test::connect_with_policy(policy::verified(ctx), server.port(), "127.0.0.1");
    CHECK(ip.verdict.accepted);
    const auto configured = test::connect_with_policy(policy::submission(ctx, "smtp.example.net"), server.port(), "127.0.0.1");
    CHECK(configured.verdict.accepted);
    const auto may = test::connect_with_policy(policy::opportunistic(ctx), server.port(), "MX.example.test.");
    CHECK(may.verdict.accepted);
    const auto literal = test::connect_with_policy(policy::opportunistic(ctx), server.port(), "[127.0.0.1]");
    CHECK(literal.verdict.accepted);

    REQUIRE(server.wait_for(5));
    const auto seen = server.records();
    REQUIRE(seen.size() == 5);
    CHECK(seen[0].sni == std::optional<std::string>("xn--bcher-kva.example.test"));
    CHECK_FALSE(seen[1].sni.has_value());
    CHECK(seen[2].sni == std::optional<std::string>("smtp.example.net"));
    CHECK(seen[3].sni == std::optional<std::string>("mx.example.test"));
    CHECK_FALSE(seen[4].sni.has_value());
}

TEST_CASE("a rejected peer receives nothing after the handshake", "[tls][integration]") {
    test::cert_factory f;
    const auto ctx = tls::context::with_ca_pem(f.trust_pem());
    std::vector<std::string> received;
    auto o = server_for(f.make(cert_case::wrong_name, host));
    test::tls_server server(o, [&](test::tls_connection& c) {
        c.write_line("220 ready");
        while (!c.at_eof()) received.push_back(c.read_line());
    });
    asio::io_context io;
    std::optional<tls::stream<asio::ip::tcp::socket>> kept;
    const auto out = test::connect_with_policy(policy::verified(ctx), server.port(), host,
                                               std::chrono::seconds(10), &kept, &io);
    CHECK_FALSE(out.verdict.accepted);
    CHECK_FALSE(kept.has_value());
    REQUIRE(server.wait_for(1));
    CHECK(received.empty());
    CHECK(server.records()[0].handshake_done);
}
