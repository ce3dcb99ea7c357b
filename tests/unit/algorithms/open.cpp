// Scripted tests of proto::open_algorithm: greeting, EHLO/HELO, STARTTLS per mode,
// implicit TLS.  No I/O: every action is checked, every write byte for byte.
#include "common.hpp"

#include <smtpio/proto/command_algorithm.hpp>
#include <smtpio/proto/open_algorithm.hpp>

#include <catch2/catch.hpp>

using smtpio::errc;
using smtpio::proto::phase;
using smtpio::proto::starttls_mode;
using smtpio::proto::starttls_status;
namespace proto = smtpio::proto;
namespace test = smtpio::test;

namespace {

using driver = test::algo_driver<proto::open_algorithm>;

constexpr std::string_view greeting = "220 mx.example.test ESMTP\r\n";
constexpr std::string_view ehlo = "EHLO client.example.org\r\n";
constexpr std::string_view caps_plain = "250-mx.example.test\r\n"
                                        "250-PIPELINING\r\n"
                                        "250-STARTTLS\r\n"
                                        "250-AUTH PLAIN LOGIN\r\n"
                                        "250 8BITMIME\r\n";
constexpr std::string_view caps_tls = "250-mx.example.test\r\n"
                                      "250-PIPELINING\r\n"
                                      "250-ENHANCEDSTATUSCODES\r\n"
                                      "250 CHUNKING\r\n";

} // namespace

TEST_CASE("open: greeting and EHLO in plaintext", "[algorithms][open]") {
    proto::connection_state st;
    proto::open_algorithm algo(st, "client.example.org", starttls_mode::never);
    driver d(st, algo);
    d.expect_read(phase::greeting).reply(greeting).expect_write(ehlo, phase::ehlo).expect_read(phase::ehlo);
    d.reply(caps_plain).expect_done();
    CHECK(st.opened);
    CHECK_FALSE(st.broken);
    CHECK(st.esmtp);
    CHECK_FALSE(st.tls_active);
    CHECK(st.caps.pipelining());
    CHECK(st.caps.eightbitmime());
    CHECK(st.caps.starttls()); // advertised, but mode never does not use it
    CHECK(algo.tls_status() == starttls_status::not_attempted);
}

TEST_CASE("open: a reply split anywhere is put together", "[algorithms][open]") {
    const std::string multi = "220-mx.example.test ESMTP\r\n220-no UCE\r\n220 ready\r\n";
    for (std::size_t cut = 1; cut < multi.size(); ++cut) {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::never);
        driver d(st, algo);
        d.reply(multi.substr(0, cut)).expect_read(phase::greeting);
        d.reply(multi.substr(cut)).expect_write(ehlo);
    }
}

TEST_CASE("open: greeting refusals", "[algorithms][open]") {
    SECTION("554: no service") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::never);
        driver d(st, algo);
        d.reply("554 mx.example.test no SMTP service here\r\n").expect_done(errc::greeting_refused);
        CHECK(st.broken);
        CHECK_FALSE(st.opened);
        CHECK(st.last_reply.code == 554);
        CHECK(st.wbuf.empty());
    }
    SECTION("421: closing") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::required);
        driver d(st, algo);
        d.reply("421 4.3.2 try later\r\n").expect_done(errc::service_not_available);
        CHECK(st.broken);
        CHECK(st.last_reply.code == 421);
    }
    SECTION("an I/O error while waiting") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::never);
        driver d(st, algo);
        d.read_error(errc::greeting_timeout).expect_done(errc::greeting_timeout);
        CHECK(st.broken);
    }
    SECTION("a malformed greeting") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::never);
        driver d(st, algo);
        d.reply("22O hello\r\n").expect_done(errc::reply_malformed);
        CHECK(st.broken);
    }
}

TEST_CASE("open: an invalid EHLO name fails before any I/O", "[algorithms][open]") {
    for (std::string name : {std::string("bad\r\nMAIL FROM:<x>"), std::string("a\0b", 3), std::string("under_score"),
                             std::string("")}) {
        proto::connection_state st;
        proto::open_algorithm algo(st, name, starttls_mode::never);
        driver d(st, algo);
        INFO(test::show_bytes(name));
        REQUIRE(d.done());
        CHECK(d.action().ec);
        CHECK(st.wbuf.empty());
    }
}

TEST_CASE("open: HELO fallback when EHLO is refused", "[algorithms][open]") {
    SECTION("plaintext mode") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::never);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply("502 5.5.2 command not recognized\r\n");
        d.expect_write("HELO client.example.org\r\n", phase::ehlo).reply("250 mx.example.test\r\n").expect_done();
        CHECK(st.opened);
        CHECK_FALSE(st.esmtp);
        CHECK(st.caps.all().empty());
    }
    SECTION("opportunistic mode: HELO, then no STARTTLS is reported") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::opportunistic);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply("500 what?\r\n");
        d.expect_write("HELO client.example.org\r\n").reply("250 ok\r\n").expect_done();
        CHECK(st.opened);
        CHECK(algo.tls_status() == starttls_status::not_offered);
    }
    SECTION("required mode: no HELO (it cannot negotiate TLS)") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::required);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply("502 5.5.2 no EHLO\r\n").expect_done(errc::starttls_not_offered);
        CHECK(st.broken);
        CHECK_FALSE(st.opened);
    }
    SECTION("both refused") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::never);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply("502 no\r\n").expect_write("HELO client.example.org\r\n");
        d.reply("550 go away\r\n").expect_done(errc::hello_refused);
        CHECK(st.broken);
        CHECK(st.last_reply.code == 550);
    }
    SECTION("421 to EHLO") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::never);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply("421 4.7.0 bye\r\n").expect_done(errc::service_not_available);
        CHECK(st.broken);
    }
    SECTION("an impossible reply to EHLO") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::never);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply("354 go ahead\r\n").expect_done(errc::unexpected_reply);
        CHECK(st.broken);
    }
}

TEST_CASE("open: STARTTLS, handshake, capabilities forgotten, EHLO again", "[algorithms][open][starttls]") {
    for (auto mode : {starttls_mode::required, starttls_mode::opportunistic}) {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", mode);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply(caps_plain);
        CHECK(st.caps.supports_auth("PLAIN"));
        d.expect_write("STARTTLS\r\n", phase::starttls).expect_read(phase::starttls);
        d.reply("220 2.0.0 go ahead\r\n").expect_handshake();
        // RFC 3207 4.2: the plaintext capabilities are gone before the new EHLO is read.
        CHECK(st.caps.all().empty());
        CHECK_FALSE(st.caps.auth());
        CHECK(st.tls_active);
        d.expect_write(ehlo, phase::ehlo).reply(caps_tls).expect_done();
        CHECK(st.opened);
        CHECK(algo.tls_status() == starttls_status::established);
        CHECK(st.caps.chunking());
        CHECK_FALSE(st.caps.auth()); // AUTH offered only in plaintext is not kept
        CHECK_FALSE(st.caps.starttls());
        CHECK(st.parser.enhanced_status_codes());
    }
}

TEST_CASE("open: bytes after the 220 to STARTTLS are response injection", "[algorithms][open][starttls][security]") {
    for (auto mode : {starttls_mode::required, starttls_mode::opportunistic}) {
        for (std::string_view injected : {"250-mx\r\n250 AUTH PLAIN\r\n", "2", "\r\n"}) {
            proto::connection_state st;
            proto::open_algorithm algo(st, "client.example.org", mode);
            driver d(st, algo);
            d.reply(greeting).expect_write(ehlo).reply(caps_plain).expect_write("STARTTLS\r\n");
            d.reply(std::string("220 2.0.0 go ahead\r\n") + std::string(injected));
            // No handshake, nothing written: the session ends.
            d.expect_done(errc::response_injection);
            CHECK(st.broken);
            CHECK_FALSE(st.opened);
            CHECK_FALSE(st.tls_active);
            CHECK(st.wbuf.empty());
        }
    }
}

TEST_CASE("open: STARTTLS absent", "[algorithms][open][starttls]") {
    constexpr std::string_view no_tls = "250-mx.example.test\r\n250 PIPELINING\r\n";
    SECTION("required: TLS-policy error, nothing more written") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::required);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply(no_tls).expect_done(errc::starttls_not_offered);
        CHECK(st.broken);
        CHECK_FALSE(st.opened);
        CHECK(algo.tls_status() == starttls_status::not_offered);
    }
    SECTION("opportunistic: plaintext, and the status says why") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::opportunistic);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply(no_tls).expect_done();
        CHECK(st.opened);
        CHECK_FALSE(st.tls_active);
        CHECK(algo.tls_status() == starttls_status::not_offered);
    }
}

TEST_CASE("open: STARTTLS refused", "[algorithms][open][starttls]") {
    SECTION("required: 454 is a TLS-policy error") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::required);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply(caps_plain).expect_write("STARTTLS\r\n");
        d.reply("454 4.7.0 TLS not available\r\n").expect_done(errc::starttls_refused);
        CHECK(st.broken);
        CHECK(algo.tls_status() == starttls_status::refused);
        CHECK(algo.starttls_reply().code == 454);
    }
    SECTION("opportunistic: 454 continues in plaintext, reported") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::opportunistic);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply(caps_plain).expect_write("STARTTLS\r\n");
        d.reply("454 4.7.0 TLS not available\r\n").expect_done();
        CHECK(st.opened);
        CHECK_FALSE(st.tls_active);
        CHECK(algo.tls_status() == starttls_status::refused);
        CHECK(algo.starttls_reply().code == 454);
        CHECK(st.caps.supports_auth("PLAIN")); // the plaintext EHLO still holds without TLS
    }
    SECTION("421 to STARTTLS closes in every mode") {
        for (auto mode : {starttls_mode::required, starttls_mode::opportunistic}) {
            proto::connection_state st;
            proto::open_algorithm algo(st, "client.example.org", mode);
            driver d(st, algo);
            d.reply(greeting).expect_write(ehlo).reply(caps_plain).expect_write("STARTTLS\r\n");
            d.reply("421 4.3.2 shutting down\r\n").expect_done(errc::service_not_available);
            CHECK(st.broken);
        }
    }
    SECTION("a 3xx to STARTTLS is a protocol error") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::opportunistic);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply(caps_plain).expect_write("STARTTLS\r\n");
        d.reply("354 huh\r\n").expect_done(errc::unexpected_reply);
        CHECK(st.broken);
    }
}

TEST_CASE("open: a failed handshake ends the session in every mode", "[algorithms][open][starttls]") {
    for (auto mode : {starttls_mode::required, starttls_mode::opportunistic}) {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", mode);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply(caps_plain).expect_write("STARTTLS\r\n");
        d.reply("220 go\r\n").expect_handshake(errc::certificate_expired).expect_done(errc::certificate_expired);
        CHECK(st.broken);
        CHECK_FALSE(st.opened);
        CHECK_FALSE(st.tls_active);
    }
}

TEST_CASE("open: after TLS, EHLO refused is final (no HELO over TLS)", "[algorithms][open][starttls]") {
    proto::connection_state st;
    proto::open_algorithm algo(st, "client.example.org", starttls_mode::required);
    driver d(st, algo);
    d.reply(greeting).expect_write(ehlo).reply(caps_plain).expect_write("STARTTLS\r\n").reply("220 go\r\n");
    d.expect_handshake().expect_write(ehlo).reply("502 no\r\n").expect_done(errc::hello_refused);
    CHECK(st.broken);
}

TEST_CASE("open: implicit TLS handshakes before the greeting, never sends STARTTLS", "[algorithms][open]") {
    proto::connection_state st;
    proto::open_algorithm algo(st, "client.example.org", starttls_mode::implicit);
    driver d(st, algo);
    d.expect_handshake();
    CHECK(st.tls_active);
    d.expect_read(phase::greeting).reply(greeting).expect_write(ehlo).reply(caps_plain).expect_done();
    CHECK(st.opened);
    CHECK(algo.tls_status() == starttls_status::established);

    proto::connection_state st2;
    proto::open_algorithm failing(st2, "client.example.org", starttls_mode::implicit);
    test::algo_driver<proto::open_algorithm> d2(st2, failing);
    d2.expect_handshake(errc::tls_handshake_failed).expect_done(errc::tls_handshake_failed);
    CHECK(st2.broken);
}

TEST_CASE("open: never mode ignores an advertised STARTTLS", "[algorithms][open]") {
    proto::connection_state st;
    proto::open_algorithm algo(st, "client.example.org", starttls_mode::never);
    driver d(st, algo);
    d.reply(greeting).expect_write(ehlo).reply(caps_plain).expect_done();
    CHECK(st.opened);
    CHECK_FALSE(st.tls_active);
}

TEST_CASE("open: only once per connection", "[algorithms][open]") {
    proto::connection_state st;
    st.opened = true;
    proto::open_algorithm again(st, "client.example.org", starttls_mode::never);
    driver d(st, again);
    d.expect_done(errc::already_open);

    proto::connection_state broken;
    broken.broken = true;
    proto::open_algorithm dead(broken, "client.example.org", starttls_mode::never);
    test::algo_driver<proto::open_algorithm> d2(broken, dead);
    d2.expect_done(errc::not_open);
}

// ---- RSET, NOOP, QUIT -----------------------------------------------------------------

TEST_CASE("command: RSET, NOOP and QUIT", "[algorithms][command]") {
    using cdriver = test::algo_driver<proto::command_algorithm>;
    SECTION("RSET ends a transaction") {
        proto::connection_state st;
        test::make_open(st, "250 mx\r\n", false);
        st.in_transaction = true;
        proto::command_algorithm c(st, proto::simple_command::rset);
        cdriver d(st, c);
        d.expect_write("RSET\r\n", phase::rset).reply("250 2.0.0 ok\r\n").expect_done();
        CHECK_FALSE(st.in_transaction);
        CHECK_FALSE(st.broken);
    }
    SECTION("RSET refused: QUIT and close, reset_failed") {
        proto::connection_state st;
        test::make_open(st, "250 mx\r\n", false);
        proto::command_algorithm c(st, proto::simple_command::rset);
        cdriver d(st, c);
        d.expect_write("RSET\r\n").reply("500 no\r\n").expect_write("QUIT\r\n", phase::quit).expect_close();
        d.expect_done(errc::reset_failed);
        CHECK(st.broken);
        CHECK(st.last_reply.code == 500);
    }
    SECTION("NOOP: 250, or unexpected_reply, or 421") {
        proto::connection_state st;
        test::make_open(st, "250 mx\r\n", false);
        proto::command_algorithm c(st, proto::simple_command::noop);
        cdriver d(st, c);
        d.expect_write("NOOP\r\n", phase::noop).reply("250 ok\r\n").expect_done();
        proto::command_algorithm c2(st, proto::simple_command::noop);
        cdriver d2(st, c2);
        d2.expect_write("NOOP\r\n").reply("502 not here\r\n").expect_done(errc::unexpected_reply);
        CHECK_FALSE(st.broken);
        proto::command_algorithm c3(st, proto::simple_command::noop);
        cdriver d3(st, c3);
        d3.expect_write("NOOP\r\n").reply("421 bye\r\n").expect_done(errc::service_not_available);
        CHECK(st.broken);
    }
    SECTION("QUIT: 221 then close; a server that just closes is fine") {
        proto::connection_state st;
        test::make_open(st, "250 mx\r\n", false);
        proto::command_algorithm c(st, proto::simple_command::quit);
        cdriver d(st, c);
        d.expect_write("QUIT\r\n", phase::quit).reply("221 2.0.0 bye\r\n").expect_close().expect_done();
        CHECK_FALSE(st.opened);

        proto::connection_state st2;
        test::make_open(st2, "250 mx\r\n", false);
        proto::command_algorithm q2(st2, proto::simple_command::quit);
        cdriver d2(st2, q2);
        d2.expect_write("QUIT\r\n").read_error(errc::connection_closed).expect_close().expect_done();
    }
    SECTION("QUIT on a dead connection only closes") {
        proto::connection_state st;
        st.broken = true;
        proto::command_algorithm c(st, proto::simple_command::quit);
        cdriver d(st, c);
        d.expect_close().expect_done();
        proto::command_algorithm r(st, proto::simple_command::rset);
        cdriver d2(st, r);
        d2.expect_done(errc::not_open);
    }
}

TEST_CASE("open and commands: a reply nobody asked for ends the session", "[algorithms][open][unsolicited]") {
    SECTION("after the greeting, before EHLO") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::opportunistic);
        driver d(st, algo);
        d.reply(std::string(greeting) + "250 nobody asked\r\n").expect_done(errc::unsolicited_reply);
        CHECK(st.broken);
        CHECK(st.wbuf.empty());
    }
    SECTION("after EHLO, before STARTTLS") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::required);
        driver d(st, algo);
        d.reply(greeting).expect_write(ehlo).reply(std::string(caps_plain) + "220 2.0.0 go ahead\r\n");
        d.expect_done(errc::unsolicited_reply);
        CHECK(st.wbuf.empty());
    }
    SECTION("a partial line counts too") {
        proto::connection_state st;
        proto::open_algorithm algo(st, "client.example.org", starttls_mode::never);
        driver d(st, algo);
        d.reply(std::string(greeting) + "25").expect_done(errc::unsolicited_reply);
    }
    SECTION("before NOOP and RSET; QUIT still goes") {
        using cdriver = test::algo_driver<proto::command_algorithm>;
        proto::connection_state st;
        test::make_open(st, "250 mx\r\n", false);
        st.rbuf.append("250 stray\r\n");
        proto::command_algorithm noop(st, proto::simple_command::noop);
        cdriver d(st, noop);
        d.expect_done(errc::unsolicited_reply);
        CHECK(st.broken);
        CHECK(st.wbuf.empty());
    }
}
