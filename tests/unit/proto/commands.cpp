#include <smtpio/proto/commands.hpp>

#include <catch2/catch.hpp>

using smtpio::errc;
using namespace smtpio;
using namespace smtpio::proto;

TEST_CASE("simple commands", "[proto][commands]") {
    buffer b;
    REQUIRE_FALSE(write_ehlo(b, "client.example.org"));
    write_starttls(b);
    write_data(b);
    write_bdat(b, 1234, false);
    write_bdat(b, 0, true);
    write_rset(b);
    write_noop(b);
    write_quit(b);
    REQUIRE_FALSE(write_helo(b, "[127.0.0.1]"));
    CHECK(b.view() == "EHLO client.example.org\r\nSTARTTLS\r\nDATA\r\nBDAT 1234\r\nBDAT 0 LAST\r\n"
                      "RSET\r\nNOOP\r\nQUIT\r\nHELO [127.0.0.1]\r\n");
}

TEST_CASE("MAIL FROM with every parameter", "[proto][commands]") {
    buffer b;
    mail_parameters p;
    p.size = 12345;
    p.body = body_type::eight_bit;
    p.smtputf8 = true;
    p.ret = dsn_return::headers;
    p.envid = "QQ314159+x=y";
    p.requiretls = true;
    REQUIRE_FALSE(write_mail(b, "s\xc3\xa9nder@example.org", p));
    CHECK(b.view() == "MAIL FROM:<s\xc3\xa9nder@example.org> SIZE=12345 BODY=8BITMIME SMTPUTF8 RET=HDRS "
                      "ENVID=QQ314159+2Bx+3Dy REQUIRETLS\r\n");
    b.clear();
    REQUIRE_FALSE(write_mail(b, "", {}));
    CHECK(b.view() == "MAIL FROM:<>\r\n");
    b.clear();
    mail_parameters bin;
    bin.body = body_type::binary;
    REQUIRE_FALSE(write_mail(b, "a@b.example", bin));
    CHECK(b.view() == "MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n");
}

TEST_CASE("RCPT TO with NOTIFY and ORCPT", "[proto][commands]") {
    buffer b;
    rcpt_parameters p;
    p.notify_on = notify::success | notify::failure | notify::delay;
    p.orcpt = "Joe+Smith@example.org";
    REQUIRE_FALSE(write_rcpt(b, "joe@example.org", p));
    CHECK(b.view() == "RCPT TO:<joe@example.org> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;Joe+2BSmith@example.org\r\n");
    b.clear();
    p = {};
    p.notify_on = notify::never;
    REQUIRE_FALSE(write_rcpt(b, "Postmaster", p));
    CHECK(b.view() == "RCPT TO:<Postmaster> NOTIFY=NEVER\r\n");
    b.clear();
    p = {};
    p.orcpt = "j\xc3\xb6rg@example.org";
    p.smtputf8 = false;
    REQUIRE_FALSE(write_rcpt(b, "jorg@example.org", p));
    CHECK(b.view() == "RCPT TO:<jorg@example.org> ORCPT=utf-8;j\\x{F6}rg@example.org\r\n");
    b.clear();
    p.smtputf8 = true;
    REQUIRE_FALSE(write_rcpt(b, "j\xc3\xb6rg@example.org", p));
    CHECK(b.view() == "RCPT TO:<j\xc3\xb6rg@example.org> ORCPT=utf-8;j\xc3\xb6rg@example.org\r\n");
}

TEST_CASE("invalid arguments produce no bytes and a distinct error", "[proto][commands]") {
    buffer b;
    b += "PREFIX";
    CHECK(write_ehlo(b, "x\r\nMAIL FROM:<a@b>") == errc::control_character);
    CHECK(write_ehlo(b, "bad name") == errc::invalid_helo_name);
    CHECK(write_mail(b, "a@b\r\nRCPT TO:<c@d>", {}) == errc::control_character);
    CHECK(write_mail(b, "not-an-address", {}) == errc::invalid_address);
    CHECK(write_mail(b, "j\xc3\xb6rg@example.org", {}) == errc::utf8_not_requested);
    mail_parameters p;
    p.envid = "id\r\nX";
    CHECK(write_mail(b, "a@b.example", p) == errc::control_character);
    std::string pluses(60, '+'); // 180 octets once encoded
    p.envid = pluses;
    CHECK(write_mail(b, "a@b.example", p) == errc::invalid_parameter);
    p.envid = "caf\xc3\xa9";
    CHECK(write_mail(b, "a@b.example", p) == errc::invalid_parameter);
    mail_parameters autobody;
    autobody.body = body_type::automatic;
    CHECK(write_mail(b, "a@b.example", autobody) == errc::invalid_option);
    rcpt_parameters r;
    r.notify_on = notify::never | notify::success;
    CHECK(write_rcpt(b, "a@b.example", r) == errc::invalid_parameter);
    r = {};
    r.orcpt = "x\ny@z";
    CHECK(write_rcpt(b, "a@b.example", r) == errc::control_character);
    CHECK(write_rcpt(b, "", {}) == errc::invalid_address);
    CHECK(write_auth(b, "PL AIN", std::nullopt) == errc::invalid_parameter);
    CHECK(write_auth(b, "PLAIN", std::string_view("not base64!")) == errc::invalid_credentials);
    CHECK(write_auth(b, "PLAIN", std::string_view("AAAA\r\nMAIL")) == errc::control_character);
    CHECK(write_auth(b, "PLAIN", std::string_view(std::string(600, 'A'))) == errc::command_too_long);
    CHECK(write_auth_response(b, "abc\r\n") == errc::control_character);
    CHECK(b.view() == "PREFIX");
}

TEST_CASE("AUTH lines", "[proto][commands]") {
    buffer b;
    REQUIRE_FALSE(write_auth(b, "PLAIN", std::string_view("AGFwcABzZWNyZXQ=")));
    REQUIRE_FALSE(write_auth(b, "LOGIN", std::nullopt));
    REQUIRE_FALSE(write_auth(b, "EXTERNAL", std::string_view("=")));
    REQUIRE_FALSE(write_auth_response(b, "dXNlcg=="));
    REQUIRE_FALSE(write_auth_response(b, "*"));
    CHECK(b.view() == "AUTH PLAIN AGFwcABzZWNyZXQ=\r\nAUTH LOGIN\r\nAUTH EXTERNAL =\r\ndXNlcg==\r\n*\r\n");
}

TEST_CASE("xtext encodings", "[proto][commands]") {
    CHECK(xtext_encode("a+b=c d") == "a+2Bb+3Dc+20d");
    CHECK(xtext_encode("") == "");
    CHECK(utf8_addr_xtext_encode("a+b\\c", false) == "a\\x{2B}b\\x{5C}c");
    CHECK(utf8_addr_xtext_encode("\xe2\x82\xac", false) == "\\x{20AC}");
    CHECK(utf8_addr_xtext_encode("\xe2\x82\xac", true) == "\xe2\x82\xac");
}

TEST_CASE("parameter checks without writing, and writers for checked paths", "[proto][commands]") {
    namespace proto = smtpio::proto;
    proto::mail_parameters mp;
    CHECK_FALSE(proto::check_mail_parameters(mp));
    mp.envid = "id\r\nRSET";
    CHECK(proto::check_mail_parameters(mp) == smtpio::errc::control_character);
    mp.envid = std::string_view("caf\xc3\xa9");
    CHECK(proto::check_mail_parameters(mp) == smtpio::errc::invalid_parameter);
    mp.envid = {};
    mp.body = smtpio::body_type::automatic;
    CHECK(proto::check_mail_parameters(mp) == smtpio::errc::invalid_option);

    proto::rcpt_parameters rp;
    CHECK_FALSE(proto::check_rcpt_parameters(rp));
    rp.notify_on = smtpio::notify::never | smtpio::notify::success;
    CHECK(proto::check_rcpt_parameters(rp) == smtpio::errc::invalid_parameter);
    rp.notify_on = smtpio::notify::unspecified;
    rp.orcpt = "b@example.com\n";
    CHECK(proto::check_rcpt_parameters(rp) == smtpio::errc::control_character);

    // The checked-path writers still check every parameter and the line length,
    // and write exactly what write_mail / write_rcpt write.
    proto::buffer a, b;
    proto::mail_parameters ok;
    ok.size = 1234;
    ok.envid = "x+y";
    REQUIRE_FALSE(proto::write_mail(a, "a@example.org", ok));
    REQUIRE_FALSE(proto::write_mail_checked_path(b, "a@example.org", ok));
    CHECK(a.view() == b.view());
    CHECK(b.view() == "MAIL FROM:<a@example.org> SIZE=1234 ENVID=x+2By\r\n");
    proto::buffer c;
    CHECK(proto::write_mail_checked_path(c, "a@example.org", mp) == smtpio::errc::invalid_option);
    CHECK(c.size() == 0);
    proto::rcpt_parameters r2;
    r2.notify_on = smtpio::notify::failure;
    r2.orcpt = "b@example.com";
    proto::buffer d;
    REQUIRE_FALSE(proto::write_rcpt_checked_path(d, "b@example.com", r2));
    CHECK(d.view() == "RCPT TO:<b@example.com> NOTIFY=FAILURE ORCPT=rfc822;b@example.com\r\n");
    rp.orcpt = {};
    rp.notify_on = smtpio::notify::never | smtpio::notify::delay;
    proto::buffer e;
    CHECK(proto::write_rcpt_checked_path(e, "b@example.com", rp) == smtpio::errc::invalid_parameter);
    CHECK(e.size() == 0);
}

TEST_CASE("BDAT lines", "[proto][commands]") {
    buffer b;
    write_bdat(b, 0, true);
    write_bdat(b, 65536, false);
    write_bdat(b, 18446744073709551615ull, true);
    CHECK(b.view() == "BDAT 0 LAST\r\nBDAT 65536\r\nBDAT 18446744073709551615 LAST\r\n");
    char line[max_bdat_line];
    CHECK(format_bdat(line, 18446744073709551615ull, true) == max_bdat_line); // the longest fits exactly
    // bdat_line_length predicts format_bdat's length for every number of digits.
    std::uint64_t n = 0;
    for (int digits = 1; digits <= 20; ++digits) {
        for (std::uint64_t v : {n, n + 1, n * 10 + 9 > n ? n * 10 + 9 : n}) {
            for (bool last : {true, false}) {
                INFO(v << (last ? " LAST" : ""));
                CHECK(bdat_line_length(v, last) == format_bdat(line, v, last));
            }
        }
        n = n * 10 + 9; // 9, 99, 999, ...
    }
    CHECK(bdat_line_length(18446744073709551615ull, true) == max_bdat_line);
}
