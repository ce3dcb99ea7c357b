// The TLS report: received clause, certificate description, failure reports.
#include "cert_factory.hpp"

#include <smtpio/tls/report.hpp>

#include <catch2/catch.hpp>

#include <openssl/digest.h>


namespace tls = smtpio::tls;
namespace test = smtpio::test;

namespace {

// "YYYY-MM-DDTHH:MM:SSZ", checked by hand (std::regex trips a false GCC 12
// maybe-uninitialized warning in sanitizer builds).
bool is_iso8601(const std::string& s) {
    const std::string_view shape = "dddd-dd-ddTdd:dd:ddZ";
    if (s.size() != shape.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i]) return false;
    return true;
}

} // namespace

TEST_CASE("received_clause is stamped like a receiving server", "[tls][report]") {
    tls::report r;
    r.attempted = r.established = true;
    r.version = "TLSv1.3";
    r.cipher = "TLS_AES_256_GCM_SHA384";
    r.cipher_bits = 256;
    r.cipher_alg_bits = 256;
    CHECK(r.received_clause() == "version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256");

    r.version = "TLSv1.2";
    r.cipher = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
    r.cipher_bits = r.cipher_alg_bits = 128;
    CHECK(r.received_clause() == "version=TLS1_2 cipher=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 bits=128/128");

    r.version = "TLSv1.0";
    CHECK(r.received_clause().rfind("version=TLS1_0 ", 0) == 0);

    r.established = false;
    CHECK(r.received_clause().empty());
    CHECK(tls::report{}.received_clause().empty());
}

TEST_CASE("reports for connections without a TLS session", "[tls][report]") {
    const auto no_starttls = tls::make_failure_report(tls::verify_result::starttls_not_supported,
                                                      "the server did not advertise STARTTLS", "may", "mx.example.test");
    CHECK(no_starttls.attempted);
    CHECK_FALSE(no_starttls.established);
    CHECK_FALSE(no_starttls.verified);
    CHECK(no_starttls.result == tls::verify_result::starttls_not_supported);
    CHECK(no_starttls.policy == "may");
    CHECK(no_starttls.reference_name == "mx.example.test");
    CHECK(no_starttls.received_clause().empty());
    CHECK_FALSE(no_starttls.peer);

    const auto plain = tls::make_plaintext_report("none");
    CHECK_FALSE(plain.attempted);
    CHECK_FALSE(plain.established);
    CHECK(plain.policy == "none");

    const auto hs = tls::make_handshake_failure_report(nullptr, std::make_error_code(std::errc::connection_reset),
                                                       "verify");
    CHECK(hs.attempted);
    CHECK_FALSE(hs.established);
    CHECK(hs.result == tls::verify_result::handshake_failure);
    CHECK(hs.detail.find("handshake") != std::string::npos);
}

TEST_CASE("describe_certificate", "[tls][report]") {
    test::cert_factory f;
    test::cert_spec s;
    s.common_name = "mx.example.test";
    s.dns_names = {"mx.example.test", "*.mail.example.test"};
    s.ip_addresses = {"192.0.2.7", "2001:db8::25"};
    s.key = test::key_kind::ec_p384;
    const auto id = f.leaf(s);
    const auto info = tls::describe_certificate(id.leaf.cert.get());

    CHECK(info.subject == "CN=mx.example.test,O=smtpio tests");
    CHECK(info.issuer == "CN=smtpio test intermediate,O=smtpio tests");
    CHECK(info.dns_names == std::vector<std::string>{"mx.example.test", "*.mail.example.test"});
    CHECK(info.ip_addresses == std::vector<std::string>{"192.0.2.7", "2001:db8::25"});
    CHECK(is_iso8601(info.not_before));
    CHECK(is_iso8601(info.not_after));
    CHECK(info.not_before < info.not_after);
    CHECK(info.key_type == "EC");
    CHECK(info.key_curve == "P-384");
    CHECK(info.key_bits == 384);
    CHECK(info.signature_algorithm == "ecdsa-with-SHA256");

    // Digests, computed independently through EVP.
    auto hex_digest = [](const std::vector<std::uint8_t>& in) {
        std::vector<std::uint8_t> md(32);
        unsigned len = 0;
        REQUIRE(EVP_Digest(in.data(), in.size(), md.data(), &len, EVP_sha256(), nullptr));
        return tls::to_hex(md);
    };
    CHECK(info.sha256 == hex_digest(id.leaf.der()));
    CHECK(info.spki_sha256 == hex_digest(id.leaf.spki_der()));
    CHECK(info.sha256.size() == 64);

    const auto rsa = tls::describe_certificate(f.make(test::cert_case::rsa_2048).leaf.cert.get());
    CHECK(rsa.key_type == "RSA");
    CHECK(rsa.key_bits == 2048);
    CHECK(rsa.key_curve.empty());

    const auto sha1 = tls::describe_certificate(f.make(test::cert_case::sha1_signed).leaf.cert.get());
    CHECK(sha1.signature_algorithm == "ecdsa-with-SHA1");

    CHECK(tls::describe_certificate(nullptr).subject.empty());
}

TEST_CASE("make_report without a connection", "[tls][report]") {
    tls::verdict v;
    v.accepted = true;
    v.verified = true;
    v.result = tls::verify_result::ok;
    v.reference_name = "mx.example.test";
    const auto r = tls::make_report(nullptr, v, "verify");
    CHECK(r.attempted);
    CHECK_FALSE(r.established);
    CHECK(r.reference_name == "mx.example.test");
    CHECK(r.result == tls::verify_result::handshake_failure);
}

TEST_CASE("report::peer reads like an optional and is shared by copies", "[tls][report]") {
    tls::report r;
    CHECK_FALSE(r.peer);
    CHECK_FALSE(r.peer.has_value());
    CHECK(r.peer == std::nullopt);
    CHECK_THROWS_AS(r.peer.value(), std::bad_optional_access);

    tls::certificate_info c;
    c.subject = "CN=mx.example.test,O=smtpio tests";
    c.sha256 = std::string(64, 'a');
    r.peer = c;
    REQUIRE(r.peer);
    CHECK(r.peer.has_value());
    CHECK_FALSE(r.peer == std::nullopt);
    CHECK(r.peer->subject == c.subject);
    CHECK((*r.peer).sha256 == c.sha256);
    CHECK(r.peer.value().subject == c.subject);

    // A copy of the report (one per message's result) holds the same certificate, not a copy.
    const tls::report copy = r;
    REQUIRE(copy.peer);
    CHECK(&*copy.peer == &*r.peer);
    CHECK(copy.peer->subject == c.subject);

    r.peer.reset();
    CHECK_FALSE(r.peer);
    CHECK(copy.peer); // the copy keeps it
    r.peer = std::nullopt;
    CHECK_FALSE(r.peer.has_value());
}
