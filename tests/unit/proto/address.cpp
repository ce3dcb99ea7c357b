#include <smtpio/proto/address.hpp>

#include <catch2/catch.hpp>

#include <string>

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
