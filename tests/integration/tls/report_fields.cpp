// The report of real connections: version, cipher, group, peer certificate
// (its fingerprint checked against the PEM the server was given), verdict;
// and the memory an idle TLS client costs.
#include "cert_factory.hpp"
#include "tls_client.hpp"
#include "tls_server.hpp"

#include <smtpio/tls/policy.hpp>

#include <catch2/catch.hpp>

#include <openssl/base64.h>
#include <openssl/digest.h>

#include <malloc.h>

#include <iostream>

#if defined(__SANITIZE_ADDRESS__)
#define SMTPIO_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMTPIO_TEST_ASAN 1
#endif
#endif

namespace tls = smtpio::tls;
namespace test = smtpio::test;
namespace policy = smtpio::policy;
using test::cert_case;

namespace {

constexpr const char* host = "mx.example.test";

// SHA-256 of the first certificate of a PEM text, decoding the base64 by hand
// (independent of the X509 code paths used by the library).
std::string first_pem_sha256(const std::string& pem) {
    const std::string begin = "-----BEGIN CERTIFICATE-----";
    const auto b = pem.find(begin);
    const auto e = pem.find("-----END CERTIFICATE-----");
    REQUIRE(b != std::string::npos);
    REQUIRE(e != std::string::npos);
    std::string b64;
    for (char c : pem.substr(b + begin.size(), e - b - begin.size()))
        if (c != '\n' && c != '\r') b64.push_back(c);
    std::size_t max = 0;
    REQUIRE(EVP_DecodedLength(&max, b64.size()));
    std::vector<std::uint8_t> der(max);
    std::size_t len = 0;
    REQUIRE(EVP_DecodeBase64(der.data(), &len, max, reinterpret_cast<const std::uint8_t*>(b64.data()), b64.size()));
    der.resize(len);
    std::vector<std::uint8_t> md(32);
    unsigned mdlen = 0;
    REQUIRE(EVP_Digest(der.data(), der.size(), md.data(), &mdlen, EVP_sha256(), nullptr));
    return tls::to_hex(md);
}

test::tls_server_options server_for(const test::server_identity& id) {
    test::tls_server_options o;
    o.certificate_chain_pem = id.chain_pem();
    o.private_key_pem = id.key_pem();
    return o;
}

} // namespace

TEST_CASE("report of a verified TLS 1.3 connection", "[tls][report][integration]") {
    test::cert_factory f;
    auto ctx = tls::context::with_ca_pem(f.trust_pem());
    const auto id = f.make(cert_case::ip_address, host);
    test::tls_server server(server_for(id));
    const auto out = test::connect_with_policy(policy::verified(ctx), server.port(), host);
    REQUIRE(out.verdict.accepted);
    const auto& r = out.report;
    CHECK(r.attempted);
    CHECK(r.established);
    CHECK(r.version == "TLSv1.3");
    CHECK((r.cipher == "TLS_AES_128_GCM_SHA256" || r.cipher == "TLS_AES_256_GCM_SHA384" ||
           r.cipher == "TLS_CHACHA20_POLY1305_SHA256"));
    CHECK(r.group == "X25519");
    CHECK((r.cipher_bits == 128 || r.cipher_bits == 256));
    CHECK(r.cipher_alg_bits == r.cipher_bits);
    CHECK(r.chain_length == 2);
    CHECK(r.verified);
    CHECK_FALSE(r.dane_authenticated);
    CHECK(r.result == tls::verify_result::ok);
    CHECK(r.policy == "verify");
    CHECK(r.reference_name == host);
    CHECK_FALSE(r.resumed);
    CHECK(r.received_clause() == "version=TLS1_3 cipher=" + r.cipher + " bits=" + std::to_string(r.cipher_bits) + "/" +
                                     std::to_string(r.cipher_alg_bits));

    REQUIRE(r.peer);
    CHECK(r.peer->sha256 == first_pem_sha256(id.chain_pem()));
    CHECK(r.peer->subject == "CN=mx.example.test,O=smtpio tests");
    CHECK(r.peer->issuer == "CN=smtpio test intermediate,O=smtpio tests");
    CHECK(r.peer->dns_names == std::vector<std::string>{host});
    CHECK(r.peer->ip_addresses == std::vector<std::string>{"127.0.0.1", "::1"});
    CHECK(r.peer->key_type == "EC");
    CHECK(r.peer->key_curve == "P-256");
    CHECK(r.peer->signature_algorithm == "ecdsa-with-SHA256");
    CHECK(r.peer->spki_sha256 == tls::to_hex(tls::sha256(id.leaf.spki_der())));
}

TEST_CASE("report of a TLS 1.2 connection and of an unverified one", "[tls][report][integration]") {
    test::cert_factory f;
    auto ctx = tls::context::with_ca_pem(f.trust_pem());
    {
        auto o = server_for(f.make(cert_case::rsa_2048, host));
        o.max_version = TLS1_2_VERSION;
        o.cipher_list = "ECDHE-RSA-AES128-GCM-SHA256";
        test::tls_server server(o);
        const auto out = test::connect_with_policy(policy::verified(ctx), server.port(), host);
        REQUIRE(out.verdict.accepted);
        CHECK(out.report.version == "TLSv1.2");
        CHECK(out.report.cipher == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        CHECK(out.report.group == "X25519");
        CHECK(out.report.received_clause() == "version=TLS1_2 cipher=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 bits=128/128");
        REQUIRE(out.report.peer);
        CHECK(out.report.peer->key_type == "RSA");
        CHECK(out.report.peer->key_bits == 2048);
    }
    {
        test::tls_server server(server_for(f.make(cert_case::untrusted_root, host)));
        const auto out = test::connect_with_policy(policy::opportunistic(ctx), server.port(), host);
        REQUIRE(out.verdict.accepted);
        CHECK(out.report.established);
        CHECK_FALSE(out.report.verified);
        CHECK(out.report.result == tls::verify_result::certificate_not_trusted);
        CHECK(out.report.detail.rfind("not verified", 0) == 0);
        CHECK(out.report.chain_length == 1);
        CHECK(out.report.policy == "may");
    }
}

TEST_CASE("memory of an idle TLS client session (informative)", "[tls][memory][integration]") {
#if defined(SMTPIO_TEST_ASAN)
    SUCCEED("not measured under AddressSanitizer (its allocator pads every block)");
#else
    test::cert_factory f;
    auto ctx = tls::context::with_ca_pem(f.trust_pem());
    constexpr std::size_t n = 64;
    auto o = server_for(f.make(cert_case::valid, host));
    o.max_connections = n + 1;
    o.session_tickets = false;
    test::tls_server server(o, [](test::tls_connection& c) {
        c.write_line("hello");
        std::error_code ignored;
        c.socket().close(ignored); // leave at once: server memory is released
    });
    SSL_CTX_set_session_cache_mode(server.ssl_context().native_handle(), SSL_SESS_CACHE_OFF);
    auto p = policy::verified(ctx);
    ctx.enable_resumption(false);

    asio::io_context io;
    std::vector<std::optional<tls::stream<asio::ip::tcp::socket>>> clients(n + 1);
    // One connection first, so that one-time allocations are not counted.
    REQUIRE(test::connect_with_policy(p, server.port(), host, std::chrono::seconds(10), &clients[n], &io).verdict.accepted);
    REQUIRE(server.wait_for(1));
    const auto before = mallinfo2().uordblks;
    for (std::size_t i = 0; i < n; ++i)
        REQUIRE(test::connect_with_policy(p, server.port(), host, std::chrono::seconds(10), &clients[i], &io).verdict.accepted);
    REQUIRE(server.wait_for(n + 1));
    const auto after = mallinfo2().uordblks;
    const auto per_session = (after - before) / n;
    std::cout << "[tls memory] idle verified TLS 1.3 client (tls::stream + SSL + peer chain): " << per_session
              << " bytes per session (" << n << " sessions)\n";
    CHECK(per_session > 1000);
    CHECK(per_session < 256 * 1024);
#endif
}
