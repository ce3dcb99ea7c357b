// Levels, versions, modes, verify results and the mapping of X509 errors.
#include <smtpio/error.hpp>
#include <smtpio/tls/types.hpp>
#include <smtpio/tls/verify.hpp>

#include <catch2/catch.hpp>

#include <openssl/x509.h>

using smtpio::errc;
namespace tls = smtpio::tls;

TEST_CASE("levels have Postfix's names", "[tls][types]") {
    using tls::level;
    const std::pair<level, std::string_view> rows[] = {
        {level::none, "none"},     {level::may, "may"},         {level::encrypt, "encrypt"},
        {level::verify, "verify"}, {level::secure, "secure"},   {level::fingerprint, "fingerprint"},
        {level::dane, "dane"},     {level::dane_only, "dane-only"},
    };
    for (auto [l, name] : rows) {
        CHECK(tls::to_string(l) == name);
        CHECK(tls::parse_level(name) == l);
    }
    CHECK(tls::parse_level("dane_only") == level::dane_only);
    CHECK(tls::parse_level("DANE-ONLY") == level::dane_only);
    CHECK(tls::parse_level("Verify") == level::verify);
    CHECK_FALSE(tls::parse_level("strict"));
    CHECK_FALSE(tls::parse_level(""));
    CHECK_FALSE(tls::parse_level("verify "));

    CHECK_FALSE(tls::is_strict(level::none));
    CHECK_FALSE(tls::is_strict(level::may));
    CHECK_FALSE(tls::is_strict(level::encrypt));
    CHECK(tls::is_strict(level::verify));
    CHECK(tls::is_strict(level::secure));
    CHECK(tls::is_strict(level::fingerprint));
    CHECK(tls::is_strict(level::dane));
    CHECK(tls::is_strict(level::dane_only));
    static_assert(tls::parse_level("secure") == level::secure); // usable at compile time
}

TEST_CASE("versions and modes", "[tls][types]") {
    using tls::version;
    CHECK(tls::to_string(version::tls1_0) == "TLSv1.0");
    CHECK(tls::to_string(version::tls1_1) == "TLSv1.1");
    CHECK(tls::to_string(version::tls1_2) == "TLSv1.2");
    CHECK(tls::to_string(version::tls1_3) == "TLSv1.3");
    CHECK(tls::parse_version("TLSv1.2") == version::tls1_2);
    CHECK(tls::parse_version("tls1_3") == version::tls1_3);
    CHECK(tls::parse_version("TLS1.0") == version::tls1_0);
    CHECK(tls::parse_version("1.1") == version::tls1_1);
    CHECK_FALSE(tls::parse_version("1.4"));
    CHECK_FALSE(tls::parse_version("SSLv3"));
    CHECK(tls::to_protocol_version(version::tls1_2) == TLS1_2_VERSION);
    CHECK(tls::from_protocol_version(TLS1_3_VERSION) == version::tls1_3);
    CHECK_FALSE(tls::from_protocol_version(SSL3_VERSION));

    CHECK(tls::to_string(tls::mode::plaintext) == "plaintext");
    CHECK(tls::to_string(tls::mode::opportunistic) == "opportunistic");
    CHECK(tls::to_string(tls::mode::required) == "required");
    CHECK(tls::to_string(tls::mode::implicit) == "implicit");
}

TEST_CASE("verify results use the RFC 8460 spelling", "[tls][types]") {
    using tls::verify_result;
    const std::pair<verify_result, std::string_view> rows[] = {
        {verify_result::ok, "ok"},
        {verify_result::starttls_not_supported, "starttls-not-supported"},
        {verify_result::certificate_host_mismatch, "certificate-host-mismatch"},
        {verify_result::certificate_expired, "certificate-expired"},
        {verify_result::certificate_not_yet_valid, "certificate-not-yet-valid"},
        {verify_result::certificate_not_trusted, "certificate-not-trusted"},
        {verify_result::validation_failure, "validation-failure"},
        {verify_result::tlsa_invalid, "tlsa-invalid"},
        {verify_result::dnssec_invalid, "dnssec-invalid"},
        {verify_result::dane_required, "dane-required"},
        {verify_result::sts_policy_fetch_error, "sts-policy-fetch-error"},
        {verify_result::sts_policy_invalid, "sts-policy-invalid"},
        {verify_result::sts_webpki_invalid, "sts-webpki-invalid"},
        {verify_result::handshake_failure, "handshake-failure"},
    };
    for (auto [r, name] : rows) {
        CHECK(tls::to_string(r) == name);
        CHECK(tls::parse_verify_result(name) == r);
    }
    CHECK_FALSE(tls::parse_verify_result("certificate_expired"));
}

TEST_CASE("X509 verification errors map onto RFC 8460 results and smtpio errors", "[tls][types]") {
    using tls::verify_result;
    struct row {
        int x509;
        verify_result result;
        errc error;
    };
    const row rows[] = {
        {X509_V_ERR_CERT_HAS_EXPIRED, verify_result::certificate_expired, errc::certificate_expired},
        {X509_V_ERR_CERT_NOT_YET_VALID, verify_result::certificate_not_yet_valid, errc::certificate_not_yet_valid},
        {X509_V_ERR_HOSTNAME_MISMATCH, verify_result::certificate_host_mismatch, errc::certificate_name_mismatch},
        {X509_V_ERR_IP_ADDRESS_MISMATCH, verify_result::certificate_host_mismatch, errc::certificate_name_mismatch},
        {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, verify_result::certificate_not_trusted, errc::certificate_untrusted},
        {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, verify_result::certificate_not_trusted, errc::certificate_untrusted},
        {X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, verify_result::certificate_not_trusted, errc::certificate_untrusted},
        {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, verify_result::certificate_not_trusted, errc::certificate_untrusted},
        {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, verify_result::certificate_not_trusted, errc::certificate_untrusted},
        {X509_V_ERR_CERT_UNTRUSTED, verify_result::certificate_not_trusted, errc::certificate_untrusted},
        {X509_V_ERR_CERT_SIGNATURE_FAILURE, verify_result::validation_failure, errc::certificate_invalid},
        {X509_V_ERR_INVALID_CA, verify_result::validation_failure, errc::certificate_invalid},
        {X509_V_ERR_INVALID_PURPOSE, verify_result::validation_failure, errc::certificate_invalid},
        {X509_V_ERR_PATH_LENGTH_EXCEEDED, verify_result::validation_failure, errc::certificate_invalid},
        {X509_V_ERR_CERT_REVOKED, verify_result::validation_failure, errc::certificate_invalid},
    };
    for (const auto& r : rows) {
        INFO(X509_verify_cert_error_string(r.x509));
        CHECK(tls::map_verify_error(r.x509) == r.result);
        CHECK(tls::verify_error_code(r.x509) == r.error);
    }
    CHECK(tls::map_verify_error(X509_V_OK) == verify_result::ok);
    CHECK_FALSE(tls::verify_error_code(X509_V_OK));
}

TEST_CASE("TLS errors belong to the tls_failure condition", "[tls][types]") {
    for (errc e : {errc::certificate_expired, errc::certificate_untrusted, errc::certificate_name_mismatch,
                   errc::weak_key, errc::fingerprint_mismatch, errc::tlsa_mismatch, errc::tlsa_unusable}) {
        INFO(smtpio::to_string(e));
        CHECK(make_error_code(e) == smtpio::condition::tls_failure);
    }
}
