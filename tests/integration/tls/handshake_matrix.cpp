// Every level against every certificate case, over a real TLS handshake on
// loopback: the client is a tls::stream (what sessions use) configured by policy.prepare()
// and judged by policy.evaluate(); the server is the scripted test server.
#include "cert_factory.hpp"
#include "tls_client.hpp"
#include "tls_server.hpp"

#include <smtpio/error.hpp>
#include <smtpio/tls/policy.hpp>

#include <catch2/catch.hpp>

#include <openssl/digest.h>

#include <map>
#include <optional>

using smtpio::errc;
namespace tls = smtpio::tls;
namespace test = smtpio::test;
namespace policy = smtpio::policy;
using test::cert_case;
using tls::verify_result;

namespace {

constexpr const char* host = "mx.example.test";

struct expectation {
    bool accepted;
    bool verified;
    verify_result result;
    std::optional<errc> error; // the verdict's error when not verified
};

constexpr expectation accept_verified{true, true, verify_result::ok, std::nullopt};
constexpr expectation reject(verify_result r, errc e) { return {false, false, r, e}; }

// What PKIX verification against "mx.example.test" says about each case.
std::map<cert_case, expectation> pkix_failures() {
    return {
        {cert_case::expired, reject(verify_result::certificate_expired, errc::certificate_expired)},
        {cert_case::not_yet_valid, reject(verify_result::certificate_not_yet_valid, errc::certificate_not_yet_valid)},
        {cert_case::wrong_name, reject(verify_result::certificate_host_mismatch, errc::certificate_name_mismatch)},
        {cert_case::self_signed, reject(verify_result::certificate_not_trusted, errc::certificate_untrusted)},
        {cert_case::untrusted_root, reject(verify_result::certificate_not_trusted, errc::certificate_untrusted)},
        {cert_case::missing_intermediate, reject(verify_result::certificate_not_trusted, errc::certificate_untrusted)},
        {cert_case::cn_only, reject(verify_result::certificate_host_mismatch, errc::certificate_name_mismatch)},
        {cert_case::partial_wildcard, reject(verify_result::certificate_host_mismatch, errc::certificate_name_mismatch)},
        {cert_case::double_wildcard, reject(verify_result::certificate_host_mismatch, errc::certificate_name_mismatch)},
    };
}

std::vector<std::uint8_t> digest(const EVP_MD* md, const std::vector<std::uint8_t>& in) {
    std::vector<std::uint8_t> out(EVP_MD_size(md));
    unsigned len = 0;
    EVP_Digest(in.data(), in.size(), out.data(), &len, md, nullptr);
    out.resize(len);
    return out;
}

tls::tlsa_record tlsa(std::uint8_t usage, const test::credential& c) {
    return tls::tlsa_record{usage, 1, 1, digest(EVP_sha256(), c.spki_der())};
}

struct column {
    std::string name;
    tls::policy policy;
    std::map<cert_case, expectation> expected; // cases not listed: accepted and verified
    bool unverified_default = false;           // may/encrypt: cases listed are accepted, unverified
};

void run_column(const column& col, const test::cert_factory& f) {
    for (cert_case c : test::all_cert_cases) {
        const auto id = f.make(c, host);
        test::tls_server_options o;
        o.certificate_chain_pem = id.chain_pem();
        o.private_key_pem = id.key_pem();
        test::tls_server server(o);

        const auto out = test::connect_with_policy(col.policy, server.port(), host);
        INFO("level " << col.name << ", certificate " << test::to_string(c) << ": " << out.verdict.detail);
        REQUIRE_FALSE(out.connect_error);
        REQUIRE_FALSE(out.prepare_error);
        REQUIRE_FALSE(out.handshake_error); // the handshake never fails on a certificate
        REQUIRE(out.evaluated);

        expectation e = accept_verified;
        if (auto it = col.expected.find(c); it != col.expected.end()) e = it->second;
        CHECK(out.verdict.accepted == e.accepted);
        CHECK(out.verdict.verified == e.verified);
        CHECK(out.verdict.result == e.result);
        if (e.error) CHECK(out.verdict.error == *e.error);
        else CHECK_FALSE(out.verdict.error);
        CHECK(out.report.verified == e.verified);
        CHECK(out.report.established);
        CHECK(out.report.policy == col.policy.name());
        // Only an accepted peer gets to talk: the client reads the greeting only then.
        CHECK((out.first_line == "hello") == e.accepted);
    }
}

} // namespace

TEST_CASE("matrix: may and encrypt accept every certificate and report why it is not verified",
          "[tls][matrix][integration]") {
    test::cert_factory f;
    const auto ctx = tls::context::with_ca_pem(f.trust_pem());
    auto unverified = pkix_failures();
    for (auto& [c, e] : unverified) e.accepted = true;
    // Strict-only checks (weak key, SHA-1) do not apply to may/encrypt.
    run_column({"may", policy::opportunistic(ctx), unverified}, f);
    run_column({"encrypt", policy::dangerous_unverified_tls(ctx), unverified}, f);
    // dane without TLSA records is may; with only unusable records it is encrypt.
    run_column({"dane (no records)", policy::dane(ctx, {}), unverified}, f);
    const auto pkix_ee = tls::tlsa_record{1, 1, 1, std::vector<std::uint8_t>(32, 0)};
    run_column({"dane (unusable records)", policy::dane(ctx, {pkix_ee}), unverified}, f);
}

TEST_CASE("matrix: verify", "[tls][matrix][integration]") {
    test::cert_factory f;
    const auto ctx = tls::context::with_ca_pem(f.trust_pem());
    auto e = pkix_failures();
    e[cert_case::rsa_1024] = reject(verify_result::validation_failure, errc::weak_key);
    e[cert_case::sha1_signed] = reject(verify_result::validation_failure, errc::certificate_invalid);
    run_column({"verify (host)", policy::verified(ctx), e}, f);
    run_column({"verify (configured name)", policy::verified(ctx, {"other.test", host}), e}, f);
    run_column({"submission", policy::submission(ctx), e}, f);
}

TEST_CASE("matrix: secure accepts the next-hop domain and its subdomains", "[tls][matrix][integration]") {
    test::cert_factory f;
    const auto ctx = tls::context::with_ca_pem(f.trust_pem());
    auto e = pkix_failures();
    e[cert_case::rsa_1024] = reject(verify_result::validation_failure, errc::weak_key);
    e[cert_case::sha1_signed] = reject(verify_result::validation_failure, errc::certificate_invalid);
    e.erase(cert_case::wrong_name); // "other.example.test" is below "example.test"
    run_column({"secure", policy::secure(ctx, "example.test"), e}, f);

    // With another next-hop domain, every name is wrong (the name is checked
    // before the strict-level key and signature checks).
    auto other = e;
    for (cert_case c : {cert_case::valid, cert_case::ip_address, cert_case::wrong_name, cert_case::wildcard,
                        cert_case::ec_p256, cert_case::ec_p384, cert_case::rsa_2048, cert_case::rsa_1024,
                        cert_case::sha1_signed})
        other[c] = reject(verify_result::certificate_host_mismatch, errc::certificate_name_mismatch);
    run_column({"secure (other next hop)", policy::secure(ctx, "example.org"), other}, f);
}

TEST_CASE("matrix: fingerprint pins the leaf, ignoring chain, names and dates", "[tls][matrix][integration]") {
    test::cert_factory f;
    const auto ctx = tls::context::without_trust_anchors(); // no CA needed
    for (cert_case c : test::all_cert_cases) {
        const auto id = f.make(c, host);
        test::tls_server_options o;
        o.certificate_chain_pem = id.chain_pem();
        o.private_key_pem = id.key_pem();
        o.max_connections = 3;
        test::tls_server server(o);
        INFO("certificate " << test::to_string(c));
        const bool weak = c == cert_case::rsa_1024;

        const auto by_key = test::connect_with_policy(
            policy::fingerprint(ctx, {tls::pin::of_public_key(id.leaf.cert.get())}), server.port(), host);
        CHECK(by_key.verdict.accepted == !weak);
        CHECK(by_key.verdict.error == (weak ? make_error_code(errc::weak_key) : std::error_code()));

        const auto by_cert = test::connect_with_policy(
            policy::fingerprint(ctx, {tls::pin::of_certificate(id.leaf.cert.get())}), server.port(), host);
        CHECK(by_cert.verdict.accepted == !weak);

        const auto wrong = test::connect_with_policy(
            policy::fingerprint(ctx, {tls::pin::of_certificate(f.intermediate().cert.get())}), server.port(), host);
        CHECK_FALSE(wrong.verdict.accepted);
        CHECK(wrong.verdict.error == errc::fingerprint_mismatch);
        CHECK(wrong.verdict.result == verify_result::validation_failure);
    }
}

TEST_CASE("matrix: DANE-EE, DANE-TA and dane-only", "[tls][matrix][dane][integration]") {
    test::cert_factory f;
    const auto ctx = tls::context::without_trust_anchors(); // DANE needs no CA
    const auto ta = tlsa(2, f.intermediate());
    for (cert_case c : test::all_cert_cases) {
        const auto id = f.make(c, host);
        test::tls_server_options o;
        o.certificate_chain_pem = id.chain_pem();
        o.private_key_pem = id.key_pem();
        o.max_connections = 5;
        test::tls_server server(o);
        INFO("certificate " << test::to_string(c));
        const bool weak = c == cert_case::rsa_1024;

        // DANE-EE(3): the leaf's key decides; names and dates are ignored.
        for (auto level : {tls::level::dane, tls::level::dane_only}) {
            auto p = tls::policy::from_level(level, ctx);
            p.tlsa_records({tlsa(3, id.leaf)});
            const auto out = test::connect_with_policy(p, server.port(), host);
            INFO("DANE-EE at " << tls::to_string(level) << ": " << out.verdict.detail);
            CHECK(out.verdict.accepted == !weak);
            CHECK(out.verdict.dane_authenticated == !weak);
            CHECK(out.report.dane_authenticated == !weak);
        }

        // DANE-TA(2) = the intermediate: chain, dates and name are checked.
        const auto out = test::connect_with_policy(policy::dane(ctx, {ta}), server.port(), host);
        INFO("DANE-TA: " << out.verdict.detail);
        std::optional<expectation> e;
        switch (c) {
        case cert_case::expired: e = reject(verify_result::certificate_expired, errc::certificate_expired); break;
        case cert_case::not_yet_valid:
            e = reject(verify_result::certificate_not_yet_valid, errc::certificate_not_yet_valid);
            break;
        case cert_case::wrong_name:
        case cert_case::cn_only:
        case cert_case::partial_wildcard:
        case cert_case::double_wildcard:
            e = reject(verify_result::certificate_host_mismatch, errc::certificate_name_mismatch);
            break;
        case cert_case::self_signed:
        case cert_case::untrusted_root:
        case cert_case::missing_intermediate: e = reject(verify_result::tlsa_invalid, errc::tlsa_mismatch); break;
        case cert_case::rsa_1024: e = reject(verify_result::validation_failure, errc::weak_key); break;
        case cert_case::sha1_signed: e = reject(verify_result::validation_failure, errc::certificate_invalid); break;
        default: e = accept_verified;
        }
        CHECK(out.verdict.accepted == e->accepted);
        CHECK(out.verdict.result == e->result);
        if (e->error) CHECK(out.verdict.error == *e->error);
        CHECK(out.verdict.dane_authenticated == e->accepted);

        // A record for another key: tlsa-invalid.
        const auto miss = test::connect_with_policy(policy::dane(ctx, {tlsa(3, f.root())}), server.port(), host);
        CHECK_FALSE(miss.verdict.accepted);
        CHECK(miss.verdict.result == verify_result::tlsa_invalid);
        CHECK(miss.verdict.error == errc::tlsa_mismatch);

        // dane-only without usable records: dane-required, whatever the certificate.
        const auto required = test::connect_with_policy(policy::dane_only(ctx, {}), server.port(), host);
        CHECK_FALSE(required.verdict.accepted);
        CHECK(required.verdict.result == verify_result::dane_required);
        CHECK(required.verdict.error == errc::tlsa_unusable);
    }
}

TEST_CASE("IP-address reference identities", "[tls][matrix][integration]") {
    test::cert_factory f;
    const auto ctx = tls::context::with_ca_pem(f.trust_pem());
    for (cert_case c : {cert_case::valid, cert_case::ip_address}) {
        const auto id = f.make(c, host);
        test::tls_server_options o;
        o.certificate_chain_pem = id.chain_pem();
        o.private_key_pem = id.key_pem();
        test::tls_server server(o);
        const auto out = test::connect_with_policy(policy::verified(ctx), server.port(), "127.0.0.1");
        INFO(test::to_string(c) << ": " << out.verdict.detail);
        CHECK(out.verdict.accepted == (c == cert_case::ip_address));
        CHECK(out.verdict.reference_name == "127.0.0.1");
        if (c == cert_case::valid) CHECK(out.verdict.result == verify_result::certificate_host_mismatch);
    }
}
