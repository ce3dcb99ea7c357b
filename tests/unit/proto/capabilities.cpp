#include <smtpio/proto/capabilities.hpp>

#include <catch2/catch.hpp>

using smtpio::proto::capabilities;
using smtpio::proto::reply_parser;

namespace {
capabilities parse(std::string_view ehlo) {
    reply_parser p;
    auto r = p.put(ehlo);
    REQUIRE(r.state == reply_parser::status::done);
    return capabilities::from_ehlo(p.get());
}
} // namespace

TEST_CASE("EHLO capabilities: keywords case-insensitive, parameters split", "[proto][caps]") {
    auto c = parse("250-mx.example.org Hello client [127.0.0.1]\r\n"
                   "250-pipelining\r\n"
                   "250-SIZE 35882577\r\n"
                   "250-8BITMIME\r\n"
                   "250-StartTLS\r\n"
                   "250-AUTH PLAIN login SCRAM-SHA-256\r\n"
                   "250-ENHANCEDSTATUSCODES\r\n"
                   "250-SMTPUTF8\r\n"
                   "250-DSN\r\n"
                   "250-CHUNKING\r\n"
                   "250-BINARYMIME\r\n"
                   "250-REQUIRETLS\r\n"
                   "250 X-EXPS GSSAPI NTLM\r\n");
    CHECK(c.server_name() == "mx.example.org");
    CHECK(c.pipelining());
    CHECK(c.starttls());
    CHECK(c.eightbitmime());
    CHECK(c.smtputf8());
    CHECK(c.dsn());
    CHECK(c.chunking());
    CHECK(c.binarymime());
    CHECK(c.enhanced_status_codes());
    CHECK(c.requiretls());
    CHECK(c.size_advertised());
    CHECK(c.size_limit() == 35882577);
    CHECK(c.auth_mechanisms() == std::vector<std::string>{"PLAIN", "LOGIN", "SCRAM-SHA-256"});
    CHECK(c.supports_auth("scram-sha-256"));
    CHECK_FALSE(c.supports_auth("CRAM-MD5"));
    REQUIRE(c.find("x-exps") != nullptr);
    CHECK(c.find("X-EXPS")->params == std::vector<std::string>{"GSSAPI", "NTLM"});
    CHECK_FALSE(c.has("mx.example.org")); // the first line is not a capability
    c.disable("pipelining");
    CHECK_FALSE(c.pipelining());
    CHECK(c.starttls());
}

TEST_CASE("a single-line EHLO reply has no capabilities", "[proto][caps]") {
    auto c = parse("250 mx.example.org\r\n");
    CHECK(c.server_name() == "mx.example.org");
    CHECK(c.all().empty());
    CHECK_FALSE(c.starttls());
    CHECK_FALSE(c.size_advertised());
}

TEST_CASE("SIZE without a number, with 0, or garbage means no known limit", "[proto][caps]") {
    CHECK(parse("250-x\r\n250 SIZE\r\n").size_limit() == 0);
    CHECK(parse("250-x\r\n250 SIZE\r\n").size_advertised());
    CHECK(parse("250-x\r\n250 SIZE 0\r\n").size_limit() == 0);
    CHECK(parse("250-x\r\n250 SIZE 12ab\r\n").size_limit() == 0);
    CHECK(parse("250-x\r\n250 SIZE 99999999999999999999999\r\n").size_limit() == 0);
}

TEST_CASE("pre-standard AUTH= lines merge with AUTH; bad keywords are ignored", "[proto][caps]") {
    auto c = parse("250-x\r\n250-AUTH=LOGIN PLAIN\r\n250-AUTH PLAIN XOAUTH2\r\n250-*bad*\r\n250 -dash\r\n");
    CHECK(c.auth_mechanisms() == std::vector<std::string>{"LOGIN", "PLAIN", "XOAUTH2"});
    CHECK(c.all().size() == 1);
}

TEST_CASE("a tab separates AUTH= mechanisms like a space", "[proto][caps]") {
    auto c = parse("250-x\r\n250-AUTH=PLAIN\tLOGIN\r\n250 SIZE\t1000\r\n");
    CHECK(c.auth_mechanisms() == std::vector<std::string>{"PLAIN", "LOGIN"});
    CHECK(c.size_limit() == 1000);
}
