// The TLS context: defaults, trust anchors and their errors, the resumption cache.
#include "cert_factory.hpp"

#include <smtpio/error.hpp>
#include <smtpio/tls/context.hpp>
#include <smtpio/tls/policy.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using smtpio::errc;
namespace tls = smtpio::tls;
namespace test = smtpio::test;

namespace {

std::size_t anchors(const tls::context& c) { return sk_X509_OBJECT_num(X509_STORE_get0_objects(c.trust_store())); }

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        path = std::filesystem::temp_directory_path() /
               ("smtpio-tls-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
        std::filesystem::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name, std::ios::binary) << text;
        return (path / name).string();
    }
};

} // namespace

TEST_CASE("context defaults", "[tls][context]") {
    test::cert_factory f;
    const auto c = tls::context::with_ca_pem(f.trust_pem());
    CHECK(SSL_CTX_get_min_proto_version(c.native_handle()) == TLS1_2_VERSION);
    CHECK(SSL_CTX_get_max_proto_version(c.native_handle()) == TLS1_3_VERSION);
    CHECK(c.min_version() == tls::version::tls1_2);
    CHECK(c.options() == tls::context_options::none);
    CHECK(c.asio_context().native_handle() == c.native_handle());
    CHECK(anchors(c) == 1);
    CHECK(c.resumption_enabled());
    CHECK(c.resumption_capacity() == 1024);
    CHECK(c.sessions_per_destination() == 4);

    const auto legacy = tls::context::with_ca_pem(f.trust_pem(), tls::context_options::dangerous_allow_tls10_and_11);
    CHECK(SSL_CTX_get_min_proto_version(legacy.native_handle()) == TLS1_VERSION);
    CHECK(legacy.min_version() == tls::version::tls1_0);

    // Copies are handles to the same state.
    tls::context copy = c;
    CHECK(copy.native_handle() == c.native_handle());
    copy.enable_resumption(false);
    CHECK_FALSE(c.resumption_enabled());
    copy.set_sessions_per_destination(32);
    CHECK(c.sessions_per_destination() == 32);
}

TEST_CASE("the system trust store is loaded explicitly", "[tls][context]") {
    if (!std::filesystem::exists("/etc/ssl/certs/ca-certificates.crt")) {
        WARN("no /etc/ssl/certs/ca-certificates.crt on this machine");
        return;
    }
    const tls::context c;
    CHECK(anchors(c) > 50);
    CHECK(anchors(tls::context::with_system_trust()) == anchors(c));
    CHECK(anchors(tls::context::without_trust_anchors()) == 0);
}

TEST_CASE("trust anchors from files, directories and PEM text", "[tls][context]") {
    test::cert_factory f;
    temp_dir dir;
    const auto two = f.trust_pem() + "some comment between blocks\n" + f.untrusted_root().cert_pem();

    SECTION("a PEM file") {
        const auto c = tls::context::with_ca_file(dir.write("ca.pem", two));
        CHECK(anchors(c) == 2);
    }
    SECTION("PEM text") {
        CHECK(anchors(tls::context::with_ca_pem(two)) == 2);
        auto c = tls::context::without_trust_anchors();
        CHECK_FALSE(c.add_ca_pem(f.trust_pem()));
        CHECK_FALSE(c.add_ca_pem(f.trust_pem())); // a duplicate is not an error
        CHECK(anchors(c) == 1);
    }
    SECTION("a directory") {
        const auto c = tls::context::with_ca_directory(dir.path.string());
        CHECK(c.native_handle() != nullptr);
    }
    SECTION("errors") {
        auto c = tls::context::without_trust_anchors();
        std::string why;
        CHECK(c.add_ca_file((dir.path / "missing.pem").string(), &why) == std::errc::no_such_file_or_directory);
        CHECK(why.find("missing.pem") != std::string::npos);
        CHECK(c.add_ca_file(dir.path.string(), &why) == std::errc::io_error);
        CHECK(c.add_ca_file(dir.write("empty.pem", ""), &why) == errc::certificate_invalid);
        CHECK(c.add_ca_file(dir.write("junk.pem", "not a certificate\n"), &why) == errc::certificate_invalid);
        CHECK(why.find("no PEM") != std::string::npos);
        // A block whose base64 is damaged.
        std::string broken = f.trust_pem();
        broken[broken.find('\n') + 10] = '*';
        CHECK(c.add_ca_pem(broken, &why) == errc::certificate_invalid);
        CHECK(why.find("certificate #1") != std::string::npos);
        CHECK(c.add_ca_directory((dir.path / "nope").string(), &why) == std::errc::no_such_file_or_directory);
        CHECK(c.add_ca_directory(dir.write("file", "x"), &why) == std::errc::not_a_directory);
        CHECK(anchors(c) == 0);

        try {
            (void)tls::context::with_ca_file((dir.path / "missing.pem").string());
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::no_such_file_or_directory);
            CHECK(std::string(e.what()).find("missing.pem") != std::string::npos);
        }
        CHECK_THROWS_AS(tls::context::with_ca_pem("garbage"), std::system_error);
    }
}

TEST_CASE("the session cache is bounded, expires and hands out TLS 1.3 sessions once", "[tls][context]") {
    const auto ctx = tls::context::without_trust_anchors();
    auto make = [&](std::uint16_t version, std::uint64_t created, std::uint32_t lifetime) {
        bssl::UniquePtr<SSL_SESSION> s(SSL_SESSION_new(ctx.native_handle()));
        REQUIRE(s);
        REQUIRE(SSL_SESSION_set_protocol_version(s.get(), version));
        SSL_SESSION_set_time(s.get(), created);
        SSL_SESSION_set_timeout(s.get(), lifetime);
        return s;
    };
    const auto now = static_cast<std::uint64_t>(std::time(nullptr));
    tls::detail::session_cache cache;

    SECTION("TLS 1.2 sessions are reusable, TLS 1.3 ones are taken") {
        cache.put("a", make(TLS1_2_VERSION, now, 3600));
        CHECK(cache.take("a").session != nullptr);
        CHECK(cache.take("a").session != nullptr);
        CHECK(cache.size() == 1);
        cache.put("b", make(TLS1_3_VERSION, now, 3600));
        CHECK(cache.take("b").session != nullptr);
        CHECK(cache.take("b").session == nullptr);
        CHECK(cache.size() == 1);
    }
    SECTION("newest first, at most four per key") {
        for (int i = 0; i < 6; ++i) cache.put("k", make(TLS1_3_VERSION, now - 10 + static_cast<std::uint64_t>(i), 3600));
        CHECK(cache.size() == 4);
        auto first = cache.take("k");
        REQUIRE(first.session);
        CHECK(SSL_SESSION_get_time(first.session.get()) == now - 5);
    }
    SECTION("the sessions kept per key can be raised and lowered") {
        cache.set_per_key(16);
        CHECK(cache.per_key() == 16);
        for (int i = 0; i < 20; ++i)
            cache.put("k", make(TLS1_3_VERSION, now - 30 + static_cast<std::uint64_t>(i), 3600));
        cache.put("other", make(TLS1_3_VERSION, now, 3600));
        CHECK(cache.size() == 17);
        // Lowering keeps the newest of each key.
        cache.set_per_key(2);
        CHECK(cache.size() == 3);
        CHECK(SSL_SESSION_get_time(cache.take("k").session.get()) == now - 11);
        CHECK(SSL_SESSION_get_time(cache.take("k").session.get()) == now - 12);
        CHECK(cache.take("k").session == nullptr);
        // None: nothing is stored, and what was stored is gone.
        cache.set_per_key(0);
        CHECK(cache.size() == 0);
        CHECK(cache.take("other").session == nullptr);
        cache.put("k", make(TLS1_2_VERSION, now, 3600));
        CHECK(cache.size() == 0);
        CHECK(cache.take("k").session == nullptr);
        // Raised again, with more keys than the cache holds: the oldest key goes.
        cache.set_per_key(3);
        cache.set_capacity(2);
        for (const char* key : {"a", "b", "c"})
            for (int i = 0; i < 4; ++i)
                cache.put(key, make(TLS1_3_VERSION, now, 3600));
        CHECK(cache.size() == 6);
        CHECK(cache.take("a").session == nullptr);
        CHECK(cache.take("b").session != nullptr);
        CHECK(cache.take("c").session != nullptr);
        CHECK(cache.size() == 4);
    }
    SECTION("a key keeps only its newest TLS 1.2 session, which is reused") {
        cache.set_per_key(16);
        for (int i = 0; i < 5; ++i)
            cache.put("k", make(TLS1_2_VERSION, now - 10 + static_cast<std::uint64_t>(i), 3600));
        CHECK(cache.size() == 1);
        cache.put("k", make(TLS1_3_VERSION, now - 3, 3600));
        cache.put("k", make(TLS1_3_VERSION, now - 2, 3600));
        CHECK(cache.size() == 3);
        cache.put("k", make(TLS1_2_VERSION, now - 1, 3600));
        CHECK(cache.size() == 3); // the TLS 1.2 session of now - 6 went
        CHECK(SSL_SESSION_get_time(cache.take("k").session.get()) == now - 1);
        CHECK(SSL_SESSION_get_time(cache.take("k").session.get()) == now - 1);
        CHECK(cache.size() == 3);
    }
    SECTION("expired sessions are dropped") {
        cache.put("old", make(TLS1_2_VERSION, now - 7200, 3600));
        CHECK(cache.take("old").session == nullptr);
        CHECK(cache.size() == 0);
    }
    SECTION("the least recently used key is evicted") {
        cache.set_capacity(2);
        cache.put("a", make(TLS1_2_VERSION, now, 3600));
        cache.put("b", make(TLS1_2_VERSION, now, 3600));
        CHECK(cache.take("a").session != nullptr); // a is now more recent than b
        cache.put("c", make(TLS1_2_VERSION, now, 3600));
        CHECK(cache.take("b").session == nullptr);
        CHECK(cache.take("a").session != nullptr);
        CHECK(cache.take("c").session != nullptr);
        cache.erase("a");
        CHECK(cache.size() == 1);
        cache.clear();
        CHECK(cache.size() == 0);
    }
}

TEST_CASE("a policy's TLS 1.2 suites are its own, whatever the context's", "[tls][context][ciphers]") {
    const auto ctx = tls::context::without_trust_anchors();
    auto suites = [](const STACK_OF(SSL_CIPHER) * list) {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < sk_SSL_CIPHER_num(list); ++i)
            out.emplace_back(SSL_CIPHER_standard_name(sk_SSL_CIPHER_value(list, i)));
        return out;
    };
    const std::vector<std::string> strict = {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",       "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"};
    // The context starts with the strict suites.
    CHECK(suites(SSL_CTX_get_ciphers(ctx.native_handle())) == strict);

    auto prepared = [&](const auto& p) {
        bssl::UniquePtr<SSL> ssl(SSL_new(ctx.native_handle()));
        REQUIRE(ssl);
        REQUIRE_FALSE(p.prepare(ssl.get(), "mx.example.test"));
        return suites(SSL_get_ciphers(ssl.get()));
    };
    auto check_policies = [&] {
        CHECK(prepared(smtpio::policy::verified(ctx)) == strict);
        const auto may = prepared(smtpio::policy::opportunistic(ctx));
        REQUIRE(may.size() > strict.size());
        CHECK(std::equal(strict.begin(), strict.end(), may.begin()));
        CHECK(std::find(may.begin(), may.end(), "TLS_RSA_WITH_AES_128_CBC_SHA") != may.end());
        CHECK(std::find(may.begin(), may.end(), "TLS_RSA_WITH_3DES_EDE_CBC_SHA") == may.end());
    };
    check_policies();
    // Whatever the application does to the context's list, a policy's connection
    // gets the policy's suites.
    for (const char* other :
         {"AES256-SHA:AES128-SHA", "ECDHE-RSA-AES128-GCM-SHA256",
          "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
          "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"}) {
        INFO(other);
        REQUIRE(SSL_CTX_set_strict_cipher_list(ctx.native_handle(), other));
        check_policies();
    }
}
