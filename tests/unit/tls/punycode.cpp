// Punycode (RFC 3492) and A-label conversion of reference names.
#include <smtpio/error.hpp>
#include <smtpio/tls/idna.hpp>

#include <catch2/catch.hpp>

#include <string>

using smtpio::errc;
namespace tls = smtpio::tls;

namespace {

struct sample {
    const char* name;
    std::u32string_view input;
    std::string_view punycode;
};

// RFC 3492 section 7.1 sample strings (the expected values were also checked
// against an independent implementation, Python's "punycode" codec).
constexpr sample rfc3492_samples[] = {
    {"(A)", U"\u0644\u064A\u0647\u0645\u0627\u0628\u062A\u0643\u0644\u0645\u0648\u0634\u0639\u0631\u0628\u064A\u061F", "egbpdaj6bu4bxfgehfvwxn"},
    {"(B)", U"\u4ED6\u4EEC\u4E3A\u4EC0\u4E48\u4E0D\u8BF4\u4E2D\u6587", "ihqwcrb4cv8a8dqg056pqjye"},
    {"(C)", U"\u4ED6\u5011\u7232\u4EC0\u9EBD\u4E0D\u8AAA\u4E2D\u6587", "ihqwctvzc91f659drss3x8bo0yb"},
    {"(D)", U"Pro\u010Dprost\u011Bnemluv\u00ED\u010Desky", "Proprostnemluvesky-uyb24dma41a"},
    {"(E)", U"\u05DC\u05DE\u05D4\u05D4\u05DD\u05E4\u05E9\u05D5\u05D8\u05DC\u05D0\u05DE\u05D3\u05D1\u05E8\u05D9\u05DD\u05E2\u05D1\u05E8\u05D9\u05EA", "4dbcagdahymbxekheh6e0a7fei0b"},
    {"(F)", U"\u092F\u0939\u0932\u094B\u0917\u0939\u093F\u0928\u094D\u0926\u0940\u0915\u094D\u092F\u094B\u0902\u0928\u0939\u0940\u0902\u092C\u094B\u0932\u0938\u0915\u0924\u0947\u0939\u0948\u0902", "i1baa7eci9glrd9b2ae1bj0hfcgg6iyaf8o0a1dig0cd"},
    {"(G)", U"\u306A\u305C\u307F\u3093\u306A\u65E5\u672C\u8A9E\u3092\u8A71\u3057\u3066\u304F\u308C\u306A\u3044\u306E\u304B", "n8jok5ay5dzabd5bym9f0cm5685rrjetr6pdxa"},
    {"(H)", U"\uC138\uACC4\uC758\uBAA8\uB4E0\uC0AC\uB78C\uB4E4\uC774\uD55C\uAD6D\uC5B4\uB97C\uC774\uD574\uD55C\uB2E4\uBA74\uC5BC\uB9C8\uB098\uC88B\uC744\uAE4C", "989aomsvi5e83db1d2a355cv1e0vak1dwrv93d5xbh15a0dt30a5jpsd879ccm6fea98c"},
    {"(I)", U"\u043F\u043E\u0447\u0435\u043C\u0443\u0436\u0435\u043E\u043D\u0438\u043D\u0435\u0433\u043E\u0432\u043E\u0440\u044F\u0442\u043F\u043E\u0440\u0443\u0441\u0441\u043A\u0438", "b1abfaaepdrnnbgefbadotcwatmq2g4l"},
    {"(J)", U"Porqu\u00E9nopuedensimplementehablarenEspa\u00F1ol", "PorqunopuedensimplementehablarenEspaol-fmd56a"},
    {"(K)", U"T\u1EA1isaoh\u1ECDkh\u00F4ngth\u1EC3ch\u1EC9n\u00F3iti\u1EBFngVi\u1EC7t", "TisaohkhngthchnitingVit-kjcr8268qyxafd2f1b9g"},
    {"(L)", U"3\u5E74B\u7D44\u91D1\u516B\u5148\u751F", "3B-ww4c5e180e575a65lsy2b"},
    {"(M)", U"\u5B89\u5BA4\u5948\u7F8E\u6075-with-SUPER-MONKEYS", "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n"},
    {"(N)", U"Hello-Another-Way-\u305D\u308C\u305E\u308C\u306E\u5834\u6240", "Hello-Another-Way--fc4qua05auwb3674vfr0b"},
    {"(O)", U"\u3072\u3068\u3064\u5C4B\u6839\u306E\u4E0B2", "2-u9tlzr9756bt3uc0v"},
    {"(P)", U"Maji\u3067Koi\u3059\u308B5\u79D2\u524D", "MajiKoi5-783gue6qz075azm5e"},
    {"(Q)", U"\u30D1\u30D5\u30A3\u30FCde\u30EB\u30F3\u30D0", "de-jg4avhby1noc0d"},
    {"(R)", U"\u305D\u306E\u30B9\u30D4\u30FC\u30C9\u3067", "d9juau41awczczp"},
    {"(S)", U"-> $1.00 <-", "-> $1.00 <--"},
};

} // namespace

TEST_CASE("punycode encodes the RFC 3492 sample strings", "[tls][idna]") {
    for (const auto& s : rfc3492_samples) {
        INFO("sample " << s.name);
        const auto encoded = tls::punycode_encode(s.input);
        REQUIRE(encoded.has_value());
        CHECK(*encoded == s.punycode);
    }
}

TEST_CASE("punycode edge cases", "[tls][idna]") {
    CHECK(tls::punycode_encode(U"") == std::string());
    CHECK(tls::punycode_encode(U"abc") == std::string("abc-"));
    CHECK(tls::punycode_encode(U"b\u00FCcher") == std::string("bcher-kva"));
    CHECK(tls::punycode_encode(U"\u00FC") == std::string("tda"));
    CHECK(tls::punycode_encode(U"\U0001F600") == std::string("e28h"));
    // Surrogates and values above U+10FFFF are not code points.
    const char32_t surrogate[] = {0xD800, 0};
    CHECK_FALSE(tls::punycode_encode(surrogate).has_value());
    const char32_t too_big[] = {0x110000, 0};
    CHECK_FALSE(tls::punycode_encode(too_big).has_value());
}

TEST_CASE("utf8_decode accepts well-formed UTF-8 only", "[tls][idna]") {
    CHECK(tls::utf8_decode("b\xC3\xBC" "cher") == std::u32string(U"b\u00FCcher"));
    CHECK(tls::utf8_decode("\xF0\x9F\x98\x80") == std::u32string(U"\U0001F600"));
    CHECK_FALSE(tls::utf8_decode("\xC0\xAF").has_value());         // overlong "/"
    CHECK_FALSE(tls::utf8_decode("\xE0\x80\xAF").has_value());     // overlong
    CHECK_FALSE(tls::utf8_decode("\xED\xA0\x80").has_value());     // surrogate U+D800
    CHECK_FALSE(tls::utf8_decode("\xF4\x90\x80\x80").has_value()); // above U+10FFFF
    CHECK_FALSE(tls::utf8_decode("\xC3").has_value());             // truncated
    CHECK_FALSE(tls::utf8_decode("\x80").has_value());             // lone continuation
    CHECK_FALSE(tls::utf8_decode("\xFF").has_value());
}

TEST_CASE("to_ascii_domain produces A-labels", "[tls][idna]") {
    struct row {
        std::string_view in;
        std::string_view out;
    };
    const row rows[] = {
        {"mx.example.test", "mx.example.test"},
        {"MX.Example.TEST", "mx.example.test"},
        {"mx.example.test.", "mx.example.test"},              // one trailing dot removed
        {"b\xC3\xBC" "cher.example", "xn--bcher-kva.example"}, // U-label
        {"B\xC3\xBC" "cher.Example", "xn--bcher-kva.example"}, // ASCII case lowered before encoding
        {"xn--bcher-kva.example", "xn--bcher-kva.example"},   // A-label kept
        {"\xE4\xBE\x8B\xE3\x81\x88.\xE3\x83\x86\xE3\x82\xB9\xE3\x83\x88", "xn--r8jz45g.xn--zckzah"},
        {"\xE4\xBE\x8B\xE3\x81\x88\xE3\x80\x82\xE3\x83\x86\xE3\x82\xB9\xE3\x83\x88", "xn--r8jz45g.xn--zckzah"}, // U+3002
        {"stra\xC3\x9F" "e.example", "xn--strae-oqa.example"},
        {".example.test", ".example.test"}, // "any subdomain of" form
        {"_25._tcp.mx.example.test", "_25._tcp.mx.example.test"},
    };
    for (const auto& r : rows) {
        INFO(r.in);
        std::string out;
        REQUIRE_FALSE(tls::to_ascii_domain(r.in, out));
        CHECK(out == r.out);
    }
}

TEST_CASE("to_ascii_domain rejects bad names with a clear error", "[tls][idna]") {
    struct row {
        std::string in;
        errc expected;
    };
    const row rows[] = {
        {"", errc::invalid_domain},
        {".", errc::invalid_domain},
        {"a..b", errc::invalid_domain},
        {"a b.example", errc::invalid_domain},
        {"*.example.test", errc::invalid_domain},
        {"mx.example.test\r\nRCPT", errc::invalid_domain},
        {std::string("mx\0.test", 8), errc::invalid_domain},
        {"\xFF.example", errc::invalid_utf8},
        {"\xC2\x85.example", errc::invalid_domain}, // C1 control U+0085
        {std::string(64, 'a') + ".test", errc::invalid_domain},
        {std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." + std::string(63, 'd'),
         errc::domain_too_long},
    };
    for (const auto& r : rows) {
        INFO(r.in);
        std::string out = "unchanged";
        CHECK(tls::to_ascii_domain(r.in, out) == make_error_code(r.expected));
        CHECK(out.empty());
    }
    std::string ok;
    CHECK_FALSE(tls::to_ascii_domain(std::string(63, 'a') + ".test", ok));
}

TEST_CASE("ip_reference recognises addresses and SMTP address literals", "[tls][idna]") {
    CHECK(tls::ip_reference("127.0.0.1") == std::string("127.0.0.1"));
    CHECK(tls::ip_reference("[192.0.2.1]") == std::string("192.0.2.1"));
    CHECK(tls::ip_reference("::1") == std::string("::1"));
    CHECK(tls::ip_reference("[IPv6:2001:db8::1]") == std::string("2001:db8::1"));
    CHECK(tls::ip_reference("[ipv6:2001:DB8:0:0:0:0:0:1]") == std::string("2001:db8::1"));
    CHECK_FALSE(tls::ip_reference("mx.example.test"));
    CHECK_FALSE(tls::ip_reference("1.2.3"));
    CHECK_FALSE(tls::ip_reference("[IPv6:192.0.2.1]"));
    CHECK_FALSE(tls::ip_reference("fe80::1%eth0"));
    CHECK_FALSE(tls::ip_reference(""));
}
