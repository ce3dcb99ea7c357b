// RFC 9525 name matching: DNS-IDs and IP-IDs only, no CN fallback, one
// wildcard as the whole left-most label, A-labels, case-insensitive.
#include "cert_factory.hpp"

#include <smtpio/error.hpp>
#include <smtpio/tls/verify.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using smtpio::errc;
namespace tls = smtpio::tls;
namespace test = smtpio::test;

namespace {

test::credential cert_with(std::vector<std::string> dns, std::vector<std::string> ips = {}, std::string cn = {}) {
    test::cert_spec s;
    s.common_name = std::move(cn);
    s.dns_names = std::move(dns);
    s.ip_addresses = std::move(ips);
    return test::issue(s, nullptr);
}

struct name_row {
    std::vector<std::string> dns;
    std::vector<std::string> ips;
    std::string cn;
    std::string reference;
    bool matches;
    const char* why;
};

} // namespace

TEST_CASE("RFC 9525 reference identity matching", "[tls][names]") {
    const name_row rows[] = {
        // DNS-ID, exact
        {{"mx.example.test"}, {}, "", "mx.example.test", true, "exact DNS-ID"},
        {{"mx.example.test"}, {}, "", "MX.Example.TEST", true, "case-insensitive"},
        {{"MX.EXAMPLE.TEST"}, {}, "", "mx.example.test", true, "presented upper case"},
        {{"mx.example.test"}, {}, "", "mx.example.test.", true, "trailing dot of the reference ignored"},
        {{"mx.example.test"}, {}, "", "mx2.example.test", false, "different name"},
        {{"mx.example.test"}, {}, "", "example.test", false, "parent domain"},
        {{"mx.example.test"}, {}, "", "a.mx.example.test", false, "subdomain"},
        {{"other.example.test", "mx.example.test"}, {}, "", "mx.example.test", true, "second DNS-ID"},
        // wildcards
        {{"*.example.test"}, {}, "", "mx.example.test", true, "wildcard left-most label"},
        {{"*.example.test"}, {}, "", "MX.EXAMPLE.TEST", true, "wildcard, case-insensitive"},
        {{"*.example.test"}, {}, "", "example.test", false, "wildcard needs one label"},
        {{"*.example.test"}, {}, "", "a.b.example.test", false, "wildcard is exactly one label"},
        {{"f*.example.test"}, {}, "", "foo.example.test", false, "partial wildcard f*"},
        {{"m*.example.test"}, {}, "", "mx.example.test", false, "partial wildcard m*"},
        {{"*x.example.test"}, {}, "", "mx.example.test", false, "partial wildcard *x"},
        {{"*.*.example.test"}, {}, "", "a.b.example.test", false, "two wildcards"},
        {{"mx.*.example.test"}, {}, "", "mx.a.example.test", false, "wildcard not left-most"},
        {{"*.test"}, {}, "", "example.test", false, "wildcard over a single-label parent"},
        // CN is never used (RFC 9525 6.3)
        {{}, {}, "mx.example.test", "mx.example.test", false, "CN-only certificate"},
        {{"other.example.test"}, {}, "mx.example.test", "mx.example.test", false, "CN with non-matching SAN"},
        {{}, {}, "127.0.0.1", "127.0.0.1", false, "CN holding an IP"},
        // IDN: references in U-labels are compared as A-labels
        {{"xn--bcher-kva.example.test"}, {}, "", "b\xC3\xBC" "cher.example.test", true, "U-label reference"},
        {{"xn--bcher-kva.example.test"}, {}, "", "xn--bcher-kva.example.test", true, "A-label reference"},
        {{"xn--bcher-kva.example.test"}, {}, "", "bucher.example.test", false, "different label"},
        {{"*.example.test"}, {}, "", "b\xC3\xBC" "cher.example.test", true, "wildcard over an A-label"},
        // IP-ID
        {{"mx.example.test"}, {"127.0.0.1"}, "", "127.0.0.1", true, "IPv4 IP-ID"},
        {{"mx.example.test"}, {"127.0.0.1"}, "", "[127.0.0.1]", true, "SMTP address literal"},
        {{"mx.example.test"}, {"127.0.0.1"}, "", "127.0.0.2", false, "other IPv4"},
        {{"127.0.0.1"}, {}, "", "127.0.0.1", false, "an IP in a dNSName is not an IP-ID"},
        {{}, {"::1"}, "", "::1", true, "IPv6 IP-ID"},
        {{}, {"::1"}, "", "[IPv6:0:0:0:0:0:0:0:1]", true, "IPv6 address literal, long form"},
        {{}, {"::1"}, "", "::2", false, "other IPv6"},
        {{}, {"127.0.0.1"}, "", "mx.example.test", false, "IP-ID does not match a DNS name"},
        // "dot-nexthop": any subdomain
        {{"mx.example.test"}, {}, "", ".example.test", true, "subdomain of .example.test"},
        {{"a.b.example.test"}, {}, "", ".example.test", true, "deeper subdomain"},
        {{"example.test"}, {}, "", ".example.test", false, "the domain itself is not a subdomain"},
        {{"*.example.test"}, {}, "", ".example.test", true, "wildcard below the domain"},
        {{"*.test"}, {}, "", ".example.test", false, "wildcard above the domain"},
        {{"mxexample.test"}, {}, "", ".example.test", false, "suffix without a dot"},
        {{"mx.example.test.evil"}, {}, "", ".example.test", false, "domain inside another name"},
        {{}, {}, "mx.example.test", ".example.test", false, "dot-nexthop ignores the CN too"},
    };
    for (const auto& r : rows) {
        INFO(r.why << ": reference " << r.reference);
        const auto c = cert_with(r.dns, r.ips, r.cn);
        CHECK(tls::matches_reference(c.cert.get(), r.reference) == r.matches);
    }
}

TEST_CASE("check_names reports the mismatch with the presented names", "[tls][names]") {
    const auto c = cert_with({"mx.example.test", "mail.example.test"});
    const std::vector<std::string> good = {"other.test", "mail.example.test"};
    CHECK(tls::check_names(c.cert.get(), good).ok());

    const std::vector<std::string> bad = {"smtp.example.org"};
    const auto r = tls::check_names(c.cert.get(), bad);
    CHECK_FALSE(r.ok());
    CHECK(r.result == tls::verify_result::certificate_host_mismatch);
    CHECK(r.error == errc::certificate_name_mismatch);
    CHECK(r.detail.find("smtp.example.org") != std::string::npos);
    CHECK(r.detail.find("mx.example.test") != std::string::npos);

    const auto none = tls::check_names(c.cert.get(), std::vector<std::string>{});
    CHECK(none.error == errc::certificate_name_mismatch);
}

TEST_CASE("presented names with control characters are not echoed raw", "[tls][names]") {
    // A hostile certificate name must not inject line breaks into logs.
    const auto c = cert_with({"evil.test"}, {}, "");
    const auto r = tls::check_names(c.cert.get(), std::vector<std::string>{"a\r\nb.test"});
    CHECK(r.detail.find('\r') == std::string::npos);
    CHECK(r.detail.find('\n') == std::string::npos);
}
