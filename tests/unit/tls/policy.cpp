// Policies without a network: named constructors, levels and modes, reference
// identities, SNI, resumption keys, prepare() on a fresh SSL, any_policy.
#include "cert_factory.hpp"

#include <smtpio/error.hpp>
#include <smtpio/tls/policy.hpp>

#include <catch2/catch.hpp>

using smtpio::errc;
namespace tls = smtpio::tls;
namespace test = smtpio::test;
namespace policy = smtpio::policy;

namespace {

tls::context& shared_context() {
    static test::cert_factory f;
    static tls::context ctx = tls::context::with_ca_pem(f.trust_pem());
    return ctx;
}

bssl::UniquePtr<SSL> fresh_ssl(const tls::context& ctx) { return bssl::UniquePtr<SSL>(SSL_new(ctx.native_handle())); }

const std::string some_hex(64, 'a');

} // namespace

TEST_CASE("named constructors set level, mode and strictness", "[tls][policy]") {
    auto& ctx = shared_context();
    struct row {
        tls::policy p;
        tls::level level;
        tls::mode mode;
        bool strict;
        std::string_view name;
    };
    const auto rec = tls::tlsa_record::from_string("3 1 1 " + some_hex);
    const row rows[] = {
        {policy::submission(ctx), tls::level::verify, tls::mode::required, true, "verify"},
        {policy::implicit_tls(ctx), tls::level::verify, tls::mode::implicit, true, "verify"},
        {policy::opportunistic(ctx), tls::level::may, tls::mode::opportunistic, false, "may"},
        {policy::verified(ctx, {"mx.example.test"}), tls::level::verify, tls::mode::required, true, "verify"},
        {policy::secure(ctx, "example.test"), tls::level::secure, tls::mode::required, true, "secure"},
        {policy::fingerprint(ctx, {tls::pin::from_string("sha256:" + some_hex)}), tls::level::fingerprint,
         tls::mode::required, true, "fingerprint"},
        {policy::dane(ctx, {rec}), tls::level::dane, tls::mode::required, true, "dane"},
        {policy::dane_only(ctx, {rec}), tls::level::dane_only, tls::mode::required, true, "dane-only"},
        {policy::dangerous_unverified_tls(ctx), tls::level::encrypt, tls::mode::required, false, "encrypt"},
        {policy::dangerous_plaintext(), tls::level::none, tls::mode::plaintext, false, "none"},
    };
    for (const auto& r : rows) {
        INFO(r.name);
        CHECK(r.p.level() == r.level);
        CHECK(r.p.mode() == r.mode);
        CHECK(r.p.strict() == r.strict);
        CHECK(r.p.name() == r.name);
        CHECK((r.p.tls_context() == nullptr) == (r.mode == tls::mode::plaintext));
        CHECK(r.p.min_version() == tls::version::tls1_2);
    }
    CHECK(policy::opportunistic(ctx).report_name("mx-policy").name() == "mx-policy");
}

TEST_CASE("dane degrades as RFC 7672 and Postfix say", "[tls][policy][dane]") {
    auto& ctx = shared_context();
    const auto usable = tls::tlsa_record::from_string("3 1 1 " + some_hex);
    const auto pkix = tls::tlsa_record::from_string("1 1 1 " + some_hex);

    const auto none = policy::dane(ctx, {});
    CHECK(none.effective_level() == tls::level::may);
    CHECK(none.mode() == tls::mode::opportunistic);
    CHECK_FALSE(none.strict());

    const auto unusable = policy::dane(ctx, {pkix});
    CHECK(unusable.effective_level() == tls::level::encrypt);
    CHECK(unusable.mode() == tls::mode::required);
    CHECK_FALSE(unusable.strict());

    const auto full = policy::dane(ctx, {pkix, usable});
    CHECK(full.effective_level() == tls::level::dane);
    CHECK(full.mode() == tls::mode::required);
    CHECK(full.strict());

    // dane-only never degrades.
    CHECK(policy::dane_only(ctx, {}).effective_level() == tls::level::dane_only);
    CHECK(policy::dane_only(ctx, {}).mode() == tls::mode::required);
    CHECK(tls::policy::from_level(tls::level::dane_only, ctx).mode() == tls::mode::required);
}

TEST_CASE("bad configuration is refused at once", "[tls][policy]") {
    auto& ctx = shared_context();
    auto p = policy::opportunistic(ctx);
    CHECK_THROWS_AS(p.min_version(tls::version::tls1_1), std::invalid_argument);
    CHECK_THROWS_AS(p.min_version(tls::version::tls1_0), std::invalid_argument);
    CHECK_NOTHROW(p.min_version(tls::version::tls1_3));
    CHECK(p.min_version() == tls::version::tls1_3);
    p.dangerous_allow_tls10_and_11();
    CHECK(p.min_version() == tls::version::tls1_0);

    CHECK_THROWS_AS(policy::dangerous_plaintext().implicit_tls(), std::invalid_argument);
    CHECK_THROWS_AS(policy::verified(ctx, {"bad name.test"}), std::invalid_argument);
    CHECK_THROWS_AS(policy::verified(ctx, {"mx.test\r\nMAIL FROM"}), std::invalid_argument);
    CHECK_THROWS_AS(policy::secure(ctx, "192.0.2.1"), std::invalid_argument);
    CHECK_THROWS_AS(policy::secure(ctx, ".example.test"), std::invalid_argument);
}

TEST_CASE("reference identities and SNI", "[tls][policy]") {
    auto& ctx = shared_context();
    using v = std::vector<std::string>;

    // Configured names win over the host; U-labels become A-labels.
    const auto p = policy::verified(ctx, {"B\xC3\xBC" "cher.Example.TEST.", "[192.0.2.1]"});
    CHECK(p.reference_names() == v{"xn--bcher-kva.example.test", "192.0.2.1"});
    CHECK(p.reference_identities("mx.attacker.test") == v{"xn--bcher-kva.example.test", "192.0.2.1"});
    CHECK(p.server_name("mx.attacker.test") == "xn--bcher-kva.example.test");

    // Without configured names, the host is the reference identity.
    const auto h = policy::verified(ctx);
    CHECK(h.reference_identities("MX.Example.Test.") == v{"mx.example.test"});
    CHECK(h.server_name("MX.Example.Test.") == "mx.example.test");
    CHECK(h.reference_identities("b\xC3\xBC" "cher.test") == v{"xn--bcher-kva.test"});
    CHECK(h.reference_identities("") == v{});
    // No SNI for an IP address (RFC 6066 section 3).
    CHECK(h.reference_identities("127.0.0.1") == v{"127.0.0.1"});
    CHECK(h.server_name("127.0.0.1").empty());
    CHECK(h.server_name("[IPv6:::1]").empty());

    // secure: next-hop domain and its subdomains; SNI names the host connected to.
    const auto s = policy::secure(ctx, "Example.TEST", {"backup.example.net"});
    CHECK(s.reference_identities("mx1.example.test") == v{"example.test", ".example.test", "backup.example.net"});
    CHECK(s.server_name("mx1.example.test") == "mx1.example.test");
    CHECK(s.server_name("192.0.2.1") == "example.test");
    const auto s_host = policy::secure(ctx, "");
    CHECK(s_host.reference_identities("example.test") == v{"example.test", ".example.test"});

    // submission with a reference name.
    CHECK(policy::submission(ctx, "smtp.example.net").server_name("10.0.0.1") == "smtp.example.net");
}

TEST_CASE("resumption keys separate destinations and policies", "[tls][policy]") {
    auto& ctx = shared_context();
    const auto a = policy::verified(ctx);
    CHECK(a.resumption_key("mx.example.test") == a.resumption_key("MX.example.test."));
    CHECK(a.resumption_key("mx.example.test") != a.resumption_key("mx2.example.test"));
    CHECK(a.resumption_key("mx.example.test") != policy::opportunistic(ctx).resumption_key("mx.example.test"));
    CHECK(a.resumption_key("mx.example.test") !=
          policy::verified(ctx).min_version(tls::version::tls1_3).resumption_key("mx.example.test"));
    const auto p1 = policy::fingerprint(ctx, {tls::pin::from_string("sha256:" + some_hex)});
    const auto p2 = policy::fingerprint(ctx, {tls::pin::from_string("sha256:" + std::string(64, 'b'))});
    CHECK(p1.resumption_key("mx.example.test") != p2.resumption_key("mx.example.test"));
    // Same configuration, same key.
    CHECK(p1.resumption_key("mx.example.test") ==
          policy::fingerprint(ctx, {tls::pin::from_string("sha256:" + some_hex)}).resumption_key("mx.example.test"));
}

TEST_CASE("prepare configures the SSL and refuses what cannot work", "[tls][policy]") {
    auto& ctx = shared_context();
    SECTION("SNI, versions") {
        auto ssl = fresh_ssl(ctx);
        REQUIRE_FALSE(policy::verified(ctx).prepare(ssl.get(), "B\xC3\xBC" "cher.example.test."));
        CHECK(std::string(SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name)) == "xn--bcher-kva.example.test");
        CHECK(SSL_get_min_proto_version(ssl.get()) == TLS1_2_VERSION);
        CHECK(SSL_get_max_proto_version(ssl.get()) == TLS1_3_VERSION);

        auto ssl13 = fresh_ssl(ctx);
        REQUIRE_FALSE(policy::verified(ctx).min_version(tls::version::tls1_3).prepare(ssl13.get(), "mx.example.test"));
        CHECK(SSL_get_min_proto_version(ssl13.get()) == TLS1_3_VERSION);
    }
    SECTION("no SNI for an IP address") {
        auto ssl = fresh_ssl(ctx);
        REQUIRE_FALSE(policy::verified(ctx).prepare(ssl.get(), "127.0.0.1"));
        CHECK(SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name) == nullptr);
    }
    SECTION("the floor never goes below the context's") {
        auto ssl = fresh_ssl(ctx);
        REQUIRE_FALSE(policy::opportunistic(ctx).dangerous_allow_tls10_and_11().prepare(ssl.get(), "mx.example.test"));
        CHECK(SSL_get_min_proto_version(ssl.get()) == TLS1_2_VERSION);

        const auto legacy = tls::context::with_ca_pem(test::cert_factory().trust_pem(),
                                                      tls::context_options::dangerous_allow_tls10_and_11);
        auto ssl2 = fresh_ssl(legacy);
        REQUIRE_FALSE(policy::opportunistic(legacy).dangerous_allow_tls10_and_11().prepare(ssl2.get(), "mx.example.test"));
        CHECK(SSL_get_min_proto_version(ssl2.get()) == TLS1_VERSION);
        auto ssl3 = fresh_ssl(legacy);
        REQUIRE_FALSE(policy::opportunistic(legacy).prepare(ssl3.get(), "mx.example.test"));
        CHECK(SSL_get_min_proto_version(ssl3.get()) == TLS1_2_VERSION);
    }
    SECTION("errors") {
        auto ssl = fresh_ssl(ctx);
        CHECK(policy::fingerprint(ctx, {}).prepare(ssl.get(), "mx.example.test") == errc::invalid_option);
        CHECK(policy::verified(ctx).prepare(ssl.get(), "") == errc::invalid_option);
        CHECK(policy::verified(ctx).prepare(ssl.get(), "bad host") == errc::invalid_domain);
        CHECK(policy::verified(ctx).prepare(ssl.get(), "\xFF.test") == errc::invalid_utf8);
        CHECK(policy::dangerous_plaintext().prepare(ssl.get(), "mx.example.test") == errc::invalid_option);
        CHECK(policy::verified(ctx).prepare(nullptr, "mx.example.test") == errc::tls_configuration_failed);
        // An SSL from another context cannot take this context's sessions.
        const tls::context other = tls::context::without_trust_anchors();
        auto foreign = fresh_ssl(other);
        CHECK(policy::verified(ctx).prepare(foreign.get(), "mx.example.test") == errc::tls_configuration_failed);
        // may with an empty host is fine (raw stream): no SNI, nothing to check against.
        auto raw = fresh_ssl(ctx);
        CHECK_FALSE(policy::opportunistic(ctx).prepare(raw.get(), ""));
    }
}

TEST_CASE("evaluate without a handshake rejects", "[tls][policy]") {
    auto& ctx = shared_context();
    auto ssl = fresh_ssl(ctx);
    const auto v = policy::verified(ctx).evaluate(ssl.get(), "mx.example.test");
    CHECK_FALSE(v.accepted);
    CHECK_FALSE(v.verified);
    CHECK(v.error == errc::certificate_invalid);
    CHECK(v.reference_name == "mx.example.test");
    const auto plain = policy::dangerous_plaintext().evaluate(ssl.get(), "mx.example.test");
    CHECK_FALSE(plain.accepted);
    CHECK(plain.error == errc::peer_rejected_by_policy);
}

namespace {

// A user policy: accepts any peer whose leaf has a given subject CN.
struct cn_policy {
    tls::context* ctx;
    std::string cn;
    tls::mode mode() const { return tls::mode::required; }
    tls::context* tls_context() const { return ctx; }
    std::error_code prepare(SSL*, std::string_view) const { return {}; }
    tls::verdict evaluate(SSL*, std::string_view) const {
        tls::verdict v;
        v.detail = "cn_policy";
        v.error = make_error_code(errc::peer_rejected_by_policy);
        return v;
    }
    std::string_view name() const { return "by-cn"; }
};

struct missing_evaluate {
    tls::mode mode() const { return tls::mode::required; }
    tls::context* tls_context() const { return nullptr; }
    std::error_code prepare(SSL*, std::string_view) const { return {}; }
    std::string_view name() const { return "x"; }
};

} // namespace

static_assert(tls::policy_type<cn_policy>);
static_assert(!tls::policy_type<missing_evaluate>);
static_assert(!tls::policy_type<int>);

TEST_CASE("any_policy holds built-in and user policies", "[tls][policy]") {
    auto& ctx = shared_context();
    tls::any_policy a = policy::secure(ctx, "example.test");
    CHECK(a.level() == tls::level::secure);
    CHECK(a.strict());
    CHECK(a.mode() == tls::mode::required);
    CHECK(a.name() == "secure");
    CHECK(a.tls_context() != nullptr);
    REQUIRE(a.target<tls::policy>() != nullptr);
    CHECK(a.target<tls::policy>()->nexthop() == "example.test");
    CHECK(a.target<cn_policy>() == nullptr);

    tls::any_policy copy = a; // shares the held policy
    CHECK(copy.target<tls::policy>() == a.target<tls::policy>());
    tls::any_policy nested(copy); // copying never wraps an any_policy in another
    CHECK(nested.target<tls::policy>() == a.target<tls::policy>());

    tls::any_policy u = cn_policy{&ctx, "mx"};
    CHECK_FALSE(u.level());
    CHECK_FALSE(u.strict());
    CHECK(u.name() == "by-cn");
    CHECK(u.target_type() == typeid(cn_policy));
    const auto v = u.evaluate(nullptr, "mx.example.test");
    CHECK_FALSE(v.accepted);
    CHECK(v.detail == "cn_policy");

    tls::any_policy plain = policy::dangerous_plaintext();
    CHECK(plain.mode() == tls::mode::plaintext);
    CHECK(plain.tls_context() == nullptr);
    CHECK(plain.level() == tls::level::none);
}
