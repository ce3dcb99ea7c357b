#include "test_budget.hpp"

#include <smtpio/proto/address.hpp>
#include <smtpio/detail/utf8.hpp>
#include <smtpio/reply.hpp>

#include <catch2/catch.hpp>

#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using smtpio::errc;
using namespace smtpio::proto;

TEST_CASE("valid RFC 5321 mailboxes", "[proto][address]") {
    for (std::string a : {"user@example.org", "first.last@sub.example.org", "a@b", "x+tag@example.org",
                          "!#$%&'*+-/=?^_`{|}~@example.org", "\"quoted string\"@example.org",
                          "\"a@b\"@example.org", "\"esc\\\"aped\"@example.org", "user@[192.0.2.1]",
                          "user@[IPv6:2001:db8::1]", "user@[IPv6:::1]", "user@[IPv6:::ffff:192.0.2.1]",
                          "user@xn--caf-dma.example", "u@123.example", "u@a-b.c-d.example"}) {
        INFO(a);
        CHECK_FALSE(validate_mailbox(a));
    }
}

TEST_CASE("invalid mailboxes are rejected with a distinct reason", "[proto][address]") {
    struct row {
        std::string a;
        errc e;
    };
    std::vector<row> rows = {
        {"", errc::invalid_address},
        {"user", errc::invalid_address},
        {"@example.org", errc::invalid_address},
        {"user@", errc::invalid_address},
        {".user@example.org", errc::invalid_address},
        {"user.@example.org", errc::invalid_address},
        {"us..er@example.org", errc::invalid_address},
        {"us er@example.org", errc::invalid_address},
        {"us(er@example.org", errc::invalid_address},
        {"\"unterminated@example.org", errc::invalid_address},
        {"<user@example.org>", errc::invalid_address},
        {"user@example.org.", errc::invalid_domain},
        {"user@-example.org", errc::invalid_domain},
        {"user@example-.org", errc::invalid_domain},
        {"user@exa_mple.org", errc::invalid_domain},
        {"user@example..org", errc::invalid_domain},
        {"user@[300.1.1.1]", errc::invalid_domain},
        {"user@[1.2.3]", errc::invalid_domain},
        {"user@[01.2.3.4]", errc::invalid_domain},
        {"user@[IPv6:2001:db8::1::2]", errc::invalid_domain},
        {"user@[IPv6:1:2:3:4:5:6:7]", errc::invalid_domain},
        {"user@[IPv6:12345::]", errc::invalid_domain},
        {"user@[tag:content]", errc::invalid_domain},
        {"user@" + std::string(64, 'a') + ".org", errc::invalid_domain}, // label > 63
        {std::string(65, 'a') + "@example.org", errc::local_part_too_long},
        {"a@" + std::string(255, 'b'), errc::path_too_long},
        {"user@example.org\r\nRCPT TO:<x@y>", errc::control_character},
        {"user\n@example.org", errc::control_character},
        {std::string("us\0er@example.org", 17), errc::control_character},
        {"us\x7f" "er@example.org", errc::control_character},
        {"us\ter@example.org", errc::control_character},
        {"j\xc3\xb6rg@example.org", errc::utf8_not_requested},
        {"user@b\xc3\xbc" "cher.example", errc::utf8_not_requested},
        {"us\xff" "er@example.org", errc::invalid_utf8},
        {"us\xc3" "er@example.org", errc::invalid_utf8},
    };
    for (const auto& r : rows) {
        INFO(r.a);
        CHECK(validate_mailbox(r.a) == r.e);
    }
    // Domain longer than 255 inside a path that is itself too long is reported as the path.
    std::string dom;
    while (dom.size() < 260) dom += "abcdefghij.";
    dom += "org";
    CHECK(validate_domain(dom) == errc::domain_too_long);
}

TEST_CASE("UTF-8 addresses only with SMTPUTF8", "[proto][address]") {
    std::string a = "j\xc3\xb6rg@b\xc3\xbc" "cher.example";
    CHECK(validate_mailbox(a) == errc::utf8_not_requested);
    CHECK_FALSE(validate_mailbox(a, true));
    CHECK_FALSE(validate_mailbox("\"caf\xc3\xa9\"@example.org", true));
    CHECK(validate_mailbox("\xed\xa0\x80@example.org", true) == errc::invalid_utf8); // surrogate
    CHECK(validate_mailbox("\xc0\xaf@example.org", true) == errc::invalid_utf8);     // overlong
}

TEST_CASE("reverse and forward paths", "[proto][address]") {
    CHECK_FALSE(validate_reverse_path(""));
    CHECK(validate_forward_path("") == errc::invalid_address);
    CHECK_FALSE(validate_forward_path("Postmaster"));
    CHECK_FALSE(validate_forward_path("postmaster"));
    CHECK(validate_reverse_path("postmaster") == errc::invalid_address);
}

TEST_CASE("EHLO names: domains and address literals, ASCII only", "[proto][address]") {
    for (std::string n : {"client.example.org", "localhost", "[127.0.0.1]", "[IPv6:::1]", "a1-b2.example"}) {
        INFO(n);
        CHECK_FALSE(validate_helo_name(n));
    }
    CHECK(validate_helo_name("") == errc::invalid_helo_name);
    CHECK(validate_helo_name("bad name") == errc::invalid_helo_name);
    CHECK(validate_helo_name("under_score.example") == errc::invalid_helo_name);
    CHECK_FALSE(validate_helo_name("127.0.0.1")); // digits are valid LDH labels
    CHECK(validate_helo_name("client\r\nMAIL FROM:<x@y>") == errc::control_character);
    CHECK(validate_helo_name("b\xc3\xbc" "cher.example") == errc::invalid_helo_name);
}

TEST_CASE("IP address text forms", "[proto][address]") {
    CHECK(is_ipv4_address("0.0.0.0"));
    CHECK(is_ipv4_address("255.255.255.255"));
    CHECK_FALSE(is_ipv4_address("256.1.1.1"));
    CHECK_FALSE(is_ipv4_address("1.1.1.1.1"));
    CHECK_FALSE(is_ipv4_address("1.1.1."));
    CHECK(is_ipv6_address("::"));
    CHECK(is_ipv6_address("1::"));
    CHECK(is_ipv6_address("1:2:3:4:5:6:7:8"));
    CHECK(is_ipv6_address("1:2:3:4:5:6:1.2.3.4"));
    CHECK(is_ipv6_address("fe80::1:2"));
    CHECK_FALSE(is_ipv6_address("1:2:3:4:5:6:7:8:9"));
    CHECK_FALSE(is_ipv6_address(":1:2"));
    CHECK_FALSE(is_ipv6_address("1:"));
    CHECK_FALSE(is_ipv6_address("g::1"));
    CHECK_FALSE(is_ipv6_address("1:2:3:4:5:6:7::8:9"));
}

// ---- The one-pass fast paths: their edges, and a comparison with the code they sit in front of ----

namespace {

// The validation as it was before the fast paths (only test code calls it): every
// input must give the same result, error code included, through the library.
namespace old_impl {

constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr bool is_atext(char c) noexcept {
    if (is_alpha(c) || is_digit(c)) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}': case '~':
        return true;
    default:
        return false;
    }
}

bool is_dot_string(std::string_view s, bool utf8) noexcept {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    bool prev_dot = false;
    std::size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        if (c == '.') {
            if (prev_dot) return false;
            prev_dot = true;
            ++i;
            continue;
        }
        prev_dot = false;
        if (static_cast<unsigned char>(c) >= 0x80) {
            if (!utf8) return false;
            std::size_t n = smtpio::detail::utf8_sequence_length(s.substr(i));
            if (n == 0) return false;
            i += n;
            continue;
        }
        if (!is_atext(c)) return false;
        ++i;
    }
    return true;
}

bool is_quoted_string(std::string_view s, bool utf8) noexcept {
    if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
    std::size_t i = 1, end = s.size() - 1;
    while (i < end) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '\\') {
            if (i + 1 >= end) return false;
            auto n = static_cast<unsigned char>(s[i + 1]);
            if (n < 32 || n > 126) return false;
            i += 2;
            continue;
        }
        if (c == '"') return false;
        if (c >= 0x80) {
            if (!utf8) return false;
            std::size_t n = smtpio::detail::utf8_sequence_length(s.substr(i, end - i));
            if (n == 0) return false;
            i += n;
            continue;
        }
        if (c < 32 || c > 126) return false;
        ++i;
    }
    return true;
}

bool is_domain_name(std::string_view s, bool utf8) noexcept {
    if (s.empty()) return false;
    std::size_t i = 0;
    while (true) {
        std::size_t j = s.find('.', i);
        std::string_view label = s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
        if (label.empty() || label.size() > 63) return false;
        bool ascii = smtpio::detail::is_ascii(label);
        if (ascii) {
            if (!is_alpha(label.front()) && !is_digit(label.front())) return false;
            if (!is_alpha(label.back()) && !is_digit(label.back())) return false;
            for (char c : label)
                if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
        } else {
            if (!utf8) return false;
            if (!smtpio::detail::is_valid_utf8(label)) return false;
            for (char c : label) {
                if (static_cast<unsigned char>(c) < 0x80 && !is_alpha(c) && !is_digit(c) && c != '-') return false;
            }
            if (label.front() == '-' || label.back() == '-') return false;
        }
        if (j == std::string_view::npos) return true;
        i = j + 1;
    }
}

std::error_code check_no_controls(std::string_view s) noexcept {
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) return errc::control_character;
    }
    return {};
}

// (Address literals are checked by code the fast paths left alone.)
std::error_code validate_domain(std::string_view d, bool allow_utf8) noexcept {
    if (auto ec = check_no_controls(d)) return ec;
    if (d.size() > max_domain_length) return errc::domain_too_long;
    if (!d.empty() && d.front() == '[') return detail::is_address_literal(d) ? std::error_code{} : make_error_code(errc::invalid_domain);
    if (!smtpio::detail::is_ascii(d)) {
        if (!smtpio::detail::is_valid_utf8(d)) return errc::invalid_utf8;
        if (!allow_utf8) return errc::utf8_not_requested;
    }
    return is_domain_name(d, allow_utf8) ? std::error_code{} : make_error_code(errc::invalid_domain);
}

std::error_code validate_mailbox(std::string_view m, bool allow_utf8) noexcept {
    if (auto ec = check_no_controls(m)) return ec;
    if (!smtpio::detail::is_ascii(m)) {
        if (!smtpio::detail::is_valid_utf8(m)) return errc::invalid_utf8;
        if (!allow_utf8) return errc::utf8_not_requested;
    }
    if (m.size() + 2 > max_path_length) return errc::path_too_long;
    std::size_t at = m.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == m.size()) return errc::invalid_address;
    std::string_view local = m.substr(0, at), domain = m.substr(at + 1);
    if (local.size() > max_local_part_length) return errc::local_part_too_long;
    if (!is_dot_string(local, allow_utf8) && !is_quoted_string(local, allow_utf8)) return errc::invalid_address;
    return validate_domain(domain, allow_utf8);
}

std::error_code validate_helo_name(std::string_view n) noexcept {
    if (auto ec = check_no_controls(n)) return ec;
    if (n.empty() || n.size() > max_domain_length) return errc::invalid_helo_name;
    if (n.front() == '[') return detail::is_address_literal(n) ? std::error_code{} : make_error_code(errc::invalid_helo_name);
    return is_domain_name(n, false) ? std::error_code{} : make_error_code(errc::invalid_helo_name);
}

} // namespace old_impl

// Every validator, new and old, on one string, both with and without SMTPUTF8.
void check_same_as_old(std::string_view s) {
    for (bool utf8 : {false, true}) {
        INFO("utf8 " << utf8);
        REQUIRE(validate_mailbox(s, utf8) == old_impl::validate_mailbox(s, utf8));
        REQUIRE(validate_domain(s, utf8) == old_impl::validate_domain(s, utf8));
        REQUIRE(needs_quoting(s, utf8) == !old_impl::is_dot_string(s, utf8));
        REQUIRE(detail::is_domain_name(s, utf8) == old_impl::is_domain_name(s, utf8));
    }
    REQUIRE(validate_helo_name(s) == old_impl::validate_helo_name(s));
}

std::string label(std::size_t n, char c = 'a') { return std::string(n, c); }

} // namespace

TEST_CASE("mailbox fast path: the edges it must accept and those it must leave to the full checks", "[proto][address]") {
    struct row {
        std::string a;
        std::error_code e; // empty: valid
    };
    const std::string l63 = label(63), l64 = label(64);
    std::vector<row> rows = {
        // Labels of 63 octets are valid, 64 not; first, middle and last label.
        {"u@" + l63, {}},
        {"u@" + l63 + ".org", {}},
        {"u@a." + l63 + ".org", {}},
        {"u@a." + l63, {}},
        {"u@" + l64, errc::invalid_domain},
        {"u@" + l64 + ".org", errc::invalid_domain},
        {"u@a." + l64 + ".org", errc::invalid_domain},
        {"u@a." + l64, errc::invalid_domain},
        {"u@" + label(62) + "-b", errc::invalid_domain}, // 64 with a hyphen
        // Local parts of 64 octets are valid, 65 not, also with dots.
        {label(64, 'x') + "@example.org", {}},
        {label(65, 'x') + "@example.org", errc::local_part_too_long},
        {label(31, 'x') + "." + label(32, 'y') + "@example.org", {}},
        {label(32, 'x') + "." + label(32, 'y') + "@example.org", errc::local_part_too_long},
        {"\"" + label(62, 'x') + "\"@example.org", {}},
        {"\"" + label(63, 'x') + "\"@example.org", errc::local_part_too_long},
        // The path limit: 254 octets plus the brackets is 256, the most.
        {"u@" + l63 + "." + l63 + "." + l63 + "." + label(60), {}},                       // 254
        {"u@" + l63 + "." + l63 + "." + l63 + "." + label(61), errc::path_too_long},     // 255
        {label(64, 'x') + "@" + l63 + "." + l63 + "." + label(61), {}},                   // 254
        {label(64, 'x') + "@" + l63 + "." + l63 + "." + label(62), errc::path_too_long}, // 255
        {"a@" + std::string(300, 'b'), errc::path_too_long},
        // Dots at the edges and doubled, in either part.
        {".u@example.org", errc::invalid_address},
        {"u.@example.org", errc::invalid_address},
        {"u..v@example.org", errc::invalid_address},
        {"u.v.w@example.org", {}},
        {".@example.org", errc::invalid_address},
        {"u@.example.org", errc::invalid_domain},
        {"u@example.org.", errc::invalid_domain},
        {"u@example..org", errc::invalid_domain},
        {"u@.", errc::invalid_domain},
        {"u@..", errc::invalid_domain},
        // Hyphens: inside a label only.
        {"u@a-b.example", {}},
        {"u@a--b.example", {}},
        {"u@-a.example", errc::invalid_domain},
        {"u@a-.example", errc::invalid_domain},
        {"u@example.a-", errc::invalid_domain},
        {"u@example.-a", errc::invalid_domain},
        {"u@-", errc::invalid_domain},
        {"-u-@example.org", {}}, // a hyphen is atext in the local part
        // Labels of digits only, and single octets.
        {"u@123.456", {}},
        {"u@0", {}},
        {"1@2.3", {}},
        {"u@192.0.2.1", {}}, // a name of digit labels, not an address literal
        // Every atext special, and what is not atext.
        {"!#$%&'*+-/=?^_`{|}~@example.org", {}},
        {"a(b@example.org", errc::invalid_address},
        {"a,b@example.org", errc::invalid_address},
        {"a[b@example.org", errc::invalid_address},
        {"a b@example.org", errc::invalid_address},
        {"u@exa mple.org", errc::invalid_domain},
        {"u@exa_mple.org", errc::invalid_domain},
        {"u@exa+mple.org", errc::invalid_domain},
        // "@": the last one outside the quotes splits.
        {"\"a@b\"@example.org", {}},
        {"\"@\"@example.org", {}},
        {"a@b@example.org", errc::invalid_address},
        {"u@example.org@", errc::invalid_address},
        {"@", errc::invalid_address},
        {"@@", errc::invalid_address},
        {"u@", errc::invalid_address},
        {"u@[192.0.2.1]", {}},
        {"u@[192.0.2.1", errc::invalid_domain},
        // UTF-8 takes the full checks.
        {"j\xc3\xb6rg@example.org", errc::utf8_not_requested},
        {"u@b\xc3\xbc" "cher.example", errc::utf8_not_requested},
        {"u@example.org\xff", errc::invalid_utf8},
        // Controls anywhere, even where the fast path would stop first.
        {"u@example.org\r\n", errc::control_character},
        {"\x01u@example.org", errc::control_character},
        {"u\x7f@example.org", errc::control_character},
        {"u@exam\tple.org", errc::control_character},
        {"u.@example.org\n", errc::control_character},
        {std::string("u@example.org\0", 14), errc::control_character},
        {"", errc::invalid_address},
    };
    for (const auto& r : rows) {
        INFO(r.a << " (" << r.a.size() << " octets)");
        CHECK(validate_mailbox(r.a) == r.e);
        check_same_as_old(r.a);
    }
    // With SMTPUTF8 the UTF-8 forms are valid (the full checks decide).
    CHECK_FALSE(validate_mailbox("j\xc3\xb6rg@b\xc3\xbc" "cher.example", true));
    CHECK_FALSE(validate_mailbox("u@b\xc3\xbc" "cher." + l63, true));
    CHECK(validate_mailbox("u@b\xc3\xbc" + label(62), true) == errc::invalid_domain); // a 64-octet U-label
}

TEST_CASE("domain and EHLO-name fast path edges", "[proto][address]") {
    const std::string l63 = label(63);
    std::string d255 = l63 + "." + l63 + "." + l63 + "." + label(63); // 255 octets
    REQUIRE(d255.size() == 255);
    CHECK_FALSE(validate_domain(d255));
    CHECK_FALSE(validate_helo_name(d255));
    CHECK(validate_domain(d255 + "a") == errc::domain_too_long);
    CHECK(validate_helo_name(d255 + "a") == errc::invalid_helo_name);
    CHECK(validate_domain(label(64)) == errc::invalid_domain);
    CHECK(validate_helo_name(label(64)) == errc::invalid_helo_name);
    CHECK_FALSE(validate_helo_name(l63));
    CHECK(validate_helo_name("a-") == errc::invalid_helo_name);
    CHECK(validate_helo_name("a.") == errc::invalid_helo_name);
    CHECK(validate_helo_name(".a") == errc::invalid_helo_name);
    CHECK(validate_helo_name("a\r\n") == errc::control_character);
    CHECK(validate_helo_name("a..b") == errc::invalid_helo_name);
    CHECK(validate_domain("") == errc::invalid_domain);
    CHECK(validate_domain("a\x7f") == errc::control_character);
    CHECK(validate_domain(std::string(300, '\n')) == errc::control_character); // controls before the length
    CHECK(validate_domain(std::string(300, 'a')) == errc::domain_too_long);
    for (std::string d : {std::string("0"), std::string("a"), std::string("1-1"), l63, d255, std::string("a.b.c"),
                          std::string("xn--bcher-kva.example"), std::string("[127.0.0.1]")}) {
        INFO(d);
        check_same_as_old(d);
    }
}

TEST_CASE("the octet class table agrees with the character classes", "[proto][address]") {
    for (int i = 0; i < 256; ++i) {
        const char c = static_cast<char>(i);
        INFO("octet " << i);
        CHECK(detail::is_atext(c) == old_impl::is_atext(c));
        const unsigned k = detail::char_class_of(c);
        CHECK(((k & detail::cc_let_dig) != 0) == (old_impl::is_alpha(c) || old_impl::is_digit(c)));
        CHECK(((k & detail::cc_ldh) != 0) == (old_impl::is_alpha(c) || old_impl::is_digit(c) || c == '-'));
        if (i >= 0x80 || i < 0x20 || i == 0x7f) CHECK(k == 0); // no class for controls or non-ASCII
    }
}

TEST_CASE("validation equals the code before the fast paths on random and mutated strings", "[proto][address]") {
    // Octets the grammar cares about, weighted towards the common ones.
    static constexpr std::string_view common = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789......----@@";
    static constexpr std::string_view rare = "!#$%&'*+/=?^_`{|}~\"\\ ()<>[]:;,\t\r\n\x7f";
    static constexpr std::string_view utf8[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3", "\xff",
                                                "\xed\xa0\x80", "\xc0\xaf", "\x80"};
    const std::vector<std::string> seeds = {
        "user@example.org", "first.last@sub.example.org", "a@b", "\"quoted string\"@example.org",
        "\"a@b\"@example.org", "user@[192.0.2.1]", "user@[IPv6:2001:db8::1]", "u@123.example",
        "j\xc3\xb6rg@b\xc3\xbc" "cher.example", "x+tag@a-b.c-d.example", label(64, 'x') + "@" + label(63) + ".org",
        "u@" + label(63) + "." + label(63) + "." + label(63) + "." + label(60),
    };
    std::mt19937_64 rng(0x5eed'ad0d'e55'2026ull);
    auto pick = [&rng](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    auto random_octets = [&](std::string& s, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            std::size_t r = pick(100);
            if (r < 80) s += common[pick(common.size())];
            else if (r < 95) s += rare[pick(rare.size())];
            else s += utf8[pick(std::size(utf8))];
        }
    };
    constexpr int rounds = smtpio::test::rounds(200'000, 4);
    for (int round = 0; round < rounds; ++round) {
        std::string s;
        switch (pick(4)) {
        case 0: // random octets, short or around the limits
            random_octets(s, pick(4) == 0 ? 240 + pick(30) : pick(24));
            break;
        case 1: { // a valid-looking shape: atoms "@" labels, sizes around the limits
            std::size_t atoms = 1 + pick(3), labels = 1 + pick(5);
            for (std::size_t i = 0; i < atoms; ++i) s += (i ? "." : "") + label(pick(4) == 0 ? 20 + pick(46) : 1 + pick(8), static_cast<char>('a' + pick(26)));
            s += '@';
            for (std::size_t i = 0; i < labels; ++i) s += (i ? "." : "") + label(pick(4) == 0 ? 60 + pick(6) : 1 + pick(10), static_cast<char>('a' + pick(26)));
            break;
        }
        default: { // a seed with a few edits
            s = seeds[pick(seeds.size())];
            for (std::size_t edits = pick(4); edits > 0; --edits) {
                std::string ins;
                random_octets(ins, 1 + pick(2));
                std::size_t at = s.empty() ? 0 : pick(s.size() + 1);
                switch (pick(3)) {
                case 0: s.insert(at, ins); break;
                case 1: if (at < s.size()) s.erase(at, 1 + pick(2)); break;
                default: if (at < s.size()) s.replace(at, 1, ins); break;
                }
            }
        }
        }
        INFO("round " << round << ": " << smtpio::escape(s));
        check_same_as_old(s);
    }
}
