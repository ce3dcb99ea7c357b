// SHA-256 pins and DANE TLSA records: parsing, matching, and the DANE checks.
#include "cert_factory.hpp"

#include <smtpio/error.hpp>
#include <smtpio/tls/verify.hpp>

#include <catch2/catch.hpp>

#include <openssl/digest.h>

#include <initializer_list>
#include <string>
#include <vector>

using smtpio::errc;
namespace tls = smtpio::tls;
namespace test = smtpio::test;

namespace {

// SHA-256 / SHA-512 through the EVP interface, independent of tls::sha256.
std::vector<std::uint8_t> digest(const EVP_MD* md, const std::vector<std::uint8_t>& in) {
    std::vector<std::uint8_t> out(EVP_MD_size(md));
    unsigned len = 0;
    REQUIRE(EVP_Digest(in.data(), in.size(), out.data(), &len, md, nullptr));
    out.resize(len);
    return out;
}

std::string hex(const std::vector<std::uint8_t>& v) { return tls::to_hex(v); }

tls::tlsa_record record(std::uint8_t usage, std::uint8_t selector, std::uint8_t matching, const test::credential& c) {
    const auto selected = selector == 0 ? c.der() : c.spki_der();
    tls::tlsa_record r;
    r.usage = usage;
    r.selector = selector;
    r.matching = matching;
    if (matching == 0) r.data = selected;
    else if (matching == 1) r.data = digest(EVP_sha256(), selected);
    else r.data = digest(EVP_sha512(), selected);
    return r;
}

} // namespace

// ---- pins ---------------------------------------------------------------------------------

TEST_CASE("parse_pin accepts sha256:HEX in any case, with colons", "[tls][pin]") {
    const std::string h = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    auto p = tls::parse_pin("sha256:" + h);
    REQUIRE(p);
    CHECK(p->to_string() == "sha256:" + h);
    CHECK(p->sha256[0] == 0x01);
    CHECK(p->sha256[31] == 0xef);

    std::string upper = "SHA256:";
    for (char c : h) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    CHECK(tls::parse_pin(upper) == p);

    std::string colons = "sha256:";
    for (std::size_t i = 0; i < h.size(); i += 2) colons += (i ? ":" : "") + h.substr(i, 2);
    CHECK(tls::parse_pin(colons) == p);
    CHECK(tls::pin::from_string(colons) == *p);
}

TEST_CASE("parse_pin rejects malformed pins with a reason", "[tls][pin]") {
    const std::string h = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const std::string bad[] = {
        h,                                  // no prefix
        "sha1:" + h,                        // wrong algorithm
        "sha256:" + h.substr(1),            // 63 digits
        "sha256:" + h + "0",                // 65 digits
        "sha256:" + h.substr(2) + "zz",     // not hex
        "sha256:0:1" + h.substr(3),         // colon inside an octet
        "sha256::" + h,                     // leading colon
        "sha256:" + h + ":",                // trailing colon
        "sha256:",                          // empty
    };
    for (const auto& b : bad) {
        INFO(b);
        std::string why;
        CHECK_FALSE(tls::parse_pin(b, &why));
        CHECK_FALSE(why.empty());
        CHECK_THROWS_AS(tls::pin::from_string(b), std::invalid_argument);
    }
}

TEST_CASE("pins match the leaf certificate or its public key", "[tls][pin]") {
    test::cert_factory f;
    const auto id = f.make(test::cert_case::valid);
    const auto other = f.make(test::cert_case::valid);
    X509* leaf = id.leaf.cert.get();

    // Independent computation of both digests.
    const auto cert_digest = digest(EVP_sha256(), id.leaf.der());
    const auto spki_digest = digest(EVP_sha256(), id.leaf.spki_der());
    CHECK(tls::pin::of_certificate(leaf).to_string() == "sha256:" + hex(cert_digest));
    CHECK(tls::pin::of_public_key(leaf).to_string() == "sha256:" + hex(spki_digest));

    const auto by_cert = tls::pin::from_string("sha256:" + hex(cert_digest));
    const auto by_key = tls::pin::from_string("sha256:" + hex(spki_digest));
    CHECK(by_cert.matches(leaf));
    CHECK(by_key.matches(leaf));
    CHECK_FALSE(by_cert.matches(other.leaf.cert.get()));

    auto presented = id.presented();
    CHECK(tls::check_pins(presented.get(), std::vector<tls::pin>{by_cert}).ok());
    CHECK(tls::check_pins(presented.get(), std::vector<tls::pin>{tls::pin::of_certificate(other.leaf.cert.get()), by_key}).ok());
    // A pin of the intermediate does not authenticate the leaf.
    const auto r = tls::check_pins(presented.get(), std::vector<tls::pin>{tls::pin::of_certificate(f.intermediate().cert.get())});
    CHECK(r.error == errc::fingerprint_mismatch);
    CHECK(r.result == tls::verify_result::validation_failure);
    CHECK(r.detail.find(hex(cert_digest)) != std::string::npos);
    CHECK(tls::check_pins(presented.get(), {}).error == errc::fingerprint_mismatch);
}

// ---- TLSA parsing ---------------------------------------------------------------------------

TEST_CASE("parse_tlsa_record reads the presentation form", "[tls][tlsa]") {
    const std::string h = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    auto r = tls::parse_tlsa_record("3 1 1 " + h);
    REQUIRE(r);
    CHECK(r->usage == 3);
    CHECK(r->selector == 1);
    CHECK(r->matching == 1);
    CHECK(r->data.size() == 32);
    CHECK(r->to_string() == "3 1 1 " + h);
    CHECK(r->usable());

    // Mnemonics (RFC 7218), white space inside the data, upper-case hex, a leading "TLSA".
    auto m = tls::parse_tlsa_record("TLSA DANE-EE spki SHA2-256 " + h.substr(0, 20) + " \t" + h.substr(20, 44));
    REQUIRE(m);
    CHECK(*m == *r);
    std::string upper = h;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(tls::parse_tlsa_record("3 1 1 " + upper) == r);
    CHECK(tls::parse_tlsa_record("  2  0  2  " + h + h + "  ")->usage == 2);
    CHECK(tls::tlsa_record::from_string("DANE-TA Cert Full 3082") .data == std::vector<std::uint8_t>{0x30, 0x82});
}

TEST_CASE("parse_tlsa_record rejects bad input with a reason", "[tls][tlsa]") {
    const char* bad[] = {
        "",                  // nothing
        "3 1 1",             // no data
        "3 1",               // too short
        "256 1 1 00",        // usage out of range
        "3 -1 1 00",         // not a number
        "DANE-XX 1 1 00",    // unknown mnemonic
        "3 1 1 0g",          // not hex
        "3 1 1 abc",         // odd number of digits
        "3 1 1 ab:cd",       // separator inside the data
        "1000 1 1 00",       // too many digits
    };
    for (const char* b : bad) {
        INFO(b);
        std::string why;
        CHECK_FALSE(tls::parse_tlsa_record(b, &why));
        CHECK_FALSE(why.empty());
        CHECK_THROWS_AS(tls::tlsa_record::from_string(b), std::invalid_argument);
    }
}

TEST_CASE("TLSA usability for SMTP (RFC 7672 3.1)", "[tls][tlsa]") {
    struct row {
        std::uint8_t usage, selector, matching;
        std::size_t len;
        bool usable;
    };
    const row rows[] = {
        {3, 1, 1, 32, true},  {3, 0, 1, 32, true},  {2, 0, 1, 32, true},  {2, 1, 2, 64, true},
        {3, 1, 0, 91, true},  {2, 0, 0, 500, true}, {0, 1, 1, 32, false}, // PKIX-TA
        {1, 1, 1, 32, false},                                             // PKIX-EE
        {4, 1, 1, 32, false}, {255, 1, 1, 32, false}, {3, 2, 1, 32, false}, {3, 1, 3, 32, false},
        {3, 1, 1, 31, false}, {3, 1, 1, 64, false}, {3, 1, 2, 32, false}, {3, 1, 0, 0, false},
    };
    for (const auto& r : rows) {
        tls::tlsa_record rec{r.usage, r.selector, r.matching, std::vector<std::uint8_t>(r.len, 0xAB)};
        INFO(rec.to_string().substr(0, 12) << " len " << r.len);
        CHECK(rec.usable() == r.usable);
    }
}

// ---- TLSA matching --------------------------------------------------------------------------

TEST_CASE("every selector and matching type matches the right certificate only", "[tls][tlsa]") {
    test::cert_factory f;
    const auto id = f.make(test::cert_case::valid);
    const auto other = f.make(test::cert_case::valid);
    for (std::uint8_t usage : std::initializer_list<std::uint8_t>{0, 1, 2, 3}) {
        for (std::uint8_t selector : std::initializer_list<std::uint8_t>{0, 1}) {
            for (std::uint8_t matching : std::initializer_list<std::uint8_t>{0, 1, 2}) {
                const auto rec = record(usage, selector, matching, id.leaf);
                INFO(int(usage) << " " << int(selector) << " " << int(matching));
                CHECK(rec.matches(id.leaf.cert.get()));
                CHECK_FALSE(rec.matches(other.leaf.cert.get()));
                CHECK_FALSE(rec.matches(f.intermediate().cert.get()));
                CHECK(rec.usable() == (usage >= 2));
            }
        }
    }
}

TEST_CASE("DANE-EE(3) authenticates the leaf whatever its names and dates", "[tls][tlsa][dane]") {
    test::cert_factory f;
    test::cert_spec s;
    s.dns_names = {"somewhere.else.test"};
    s.not_before = -30L * 24 * 3600;
    s.not_after = -24L * 3600; // expired
    const auto id = test::server_identity{test::issue(s, nullptr), {}}; // self-signed, wrong name, expired
    auto presented = id.presented();
    const std::vector<std::string> refs = {"mx.example.test"};
    for (std::uint8_t selector : std::initializer_list<std::uint8_t>{0, 1}) {
        for (std::uint8_t matching : std::initializer_list<std::uint8_t>{0, 1, 2}) {
            INFO("3 " << int(selector) << " " << int(matching));
            const std::vector<tls::tlsa_record> recs = {record(3, selector, matching, id.leaf)};
            CHECK(tls::check_dane(presented.get(), recs, refs).ok());
        }
    }
    // A DANE-EE record of the intermediate does not authenticate the leaf.
    const auto valid = f.make(test::cert_case::valid);
    auto chain = valid.presented();
    const std::vector<tls::tlsa_record> ee_of_intermediate = {record(3, 1, 1, f.intermediate())};
    const auto r = tls::check_dane(chain.get(), ee_of_intermediate, refs);
    CHECK(r.result == tls::verify_result::tlsa_invalid);
    CHECK(r.error == errc::tlsa_mismatch);
}

TEST_CASE("DANE-TA(2) needs a valid chain up to the anchor and a matching name", "[tls][tlsa][dane]") {
    test::cert_factory f;
    const std::vector<std::string> refs = {"mx.example.test"};
    const auto valid = f.make(test::cert_case::valid);
    auto chain = valid.presented(); // leaf, intermediate

    SECTION("anchor = the intermediate, every selector and matching type") {
        for (std::uint8_t selector : std::initializer_list<std::uint8_t>{0, 1}) {
            for (std::uint8_t matching : std::initializer_list<std::uint8_t>{0, 1, 2}) {
                INFO("2 " << int(selector) << " " << int(matching));
                const std::vector<tls::tlsa_record> recs = {record(2, selector, matching, f.intermediate())};
                CHECK(tls::check_dane(chain.get(), recs, refs).ok());
            }
        }
    }
    SECTION("the name must match") {
        const std::vector<tls::tlsa_record> recs = {record(2, 1, 1, f.intermediate())};
        const auto r = tls::check_dane(chain.get(), recs, std::vector<std::string>{"other.example.test"});
        CHECK(r.result == tls::verify_result::certificate_host_mismatch);
        CHECK(r.error == errc::certificate_name_mismatch);
    }
    SECTION("dates are checked") {
        const auto expired = f.make(test::cert_case::expired);
        auto c = expired.presented();
        const std::vector<tls::tlsa_record> recs = {record(2, 1, 1, f.intermediate())};
        const auto r = tls::check_dane(c.get(), recs, refs);
        CHECK(r.result == tls::verify_result::certificate_expired);
        CHECK(r.error == errc::certificate_expired);
    }
    SECTION("no SHA-1 signature below the anchor") {
        const auto sha1 = f.make(test::cert_case::sha1_signed);
        auto c = sha1.presented();
        const std::vector<tls::tlsa_record> recs = {record(2, 1, 1, f.intermediate())};
        const auto r = tls::check_dane(c.get(), recs, refs);
        CHECK(r.result == tls::verify_result::validation_failure);
        CHECK(r.error == errc::certificate_invalid);
        CHECK(r.detail.find("SHA1") != std::string::npos);
    }
    SECTION("an anchor that was not presented cannot be used by digest") {
        const std::vector<tls::tlsa_record> recs = {record(2, 1, 1, f.root())};
        const auto r = tls::check_dane(chain.get(), recs, refs);
        CHECK(r.result == tls::verify_result::tlsa_invalid);
        CHECK(r.error == errc::tlsa_mismatch);
    }
    SECTION("2 0 0 carries the anchor itself") {
        const std::vector<tls::tlsa_record> recs = {record(2, 0, 0, f.root())};
        CHECK(tls::check_dane(chain.get(), recs, refs).ok());
    }
    SECTION("the root, when presented, is a usable anchor") {
        X509_up_ref(f.root().cert.get());
        REQUIRE(sk_X509_push(chain.get(), f.root().cert.get()));
        const std::vector<tls::tlsa_record> recs = {record(2, 1, 1, f.root())};
        CHECK(tls::check_dane(chain.get(), recs, refs).ok());
    }
    SECTION("a chain from another CA does not lead to the anchor") {
        const auto foreign = f.make(test::cert_case::untrusted_root);
        auto c = foreign.presented();
        const std::vector<tls::tlsa_record> recs = {record(2, 1, 1, f.intermediate())};
        CHECK(tls::check_dane(c.get(), recs, refs).error == errc::tlsa_mismatch);
    }
}

TEST_CASE("unusable TLSA records are ignored", "[tls][tlsa][dane]") {
    test::cert_factory f;
    const auto valid = f.make(test::cert_case::valid);
    auto chain = valid.presented();
    const std::vector<std::string> refs = {"mx.example.test"};

    // PKIX-EE(1) and PKIX-TA(0) match, but are unusable for SMTP.
    const std::vector<tls::tlsa_record> pkix = {record(1, 1, 1, valid.leaf), record(0, 1, 1, f.intermediate())};
    const auto r = tls::check_dane(chain.get(), pkix, refs);
    CHECK(r.result == tls::verify_result::tlsa_invalid);
    CHECK(r.error == errc::tlsa_unusable);

    // One usable record among unusable ones is enough.
    auto mixed = pkix;
    mixed.push_back(record(3, 1, 1, valid.leaf));
    CHECK(tls::check_dane(chain.get(), mixed, refs).ok());

    // A usable record that matches nothing.
    const auto other = f.make(test::cert_case::valid);
    const std::vector<tls::tlsa_record> miss = {record(3, 1, 1, other.leaf), record(3, 0, 2, other.leaf)};
    CHECK(tls::check_dane(chain.get(), miss, refs).error == errc::tlsa_mismatch);
    CHECK(tls::check_dane(chain.get(), {}, refs).error == errc::tlsa_unusable);
}
