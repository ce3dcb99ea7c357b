// Scripted tests of proto::auth_algorithm with each SASL mechanism (RFC 4954).
// The expected base64 was computed independently (Python's base64/hmac/hashlib).
#include "common.hpp"
#include "smtp_script_server.hpp" // b64_encode / b64_decode

#include <smtpio/auth.hpp>
#include <smtpio/proto/auth_algorithm.hpp>

#include <catch2/catch.hpp>

#include <memory>

using smtpio::errc;
using smtpio::proto::phase;
namespace proto = smtpio::proto;
namespace sasl = smtpio::sasl;
namespace test = smtpio::test;

namespace {

using driver = test::algo_driver<proto::auth_algorithm>;

constexpr std::string_view all_mechs =
    "250-mx.example.test\r\n250-AUTH PLAIN LOGIN XOAUTH2 SCRAM-SHA-256 CRAM-MD5\r\n250 ENHANCEDSTATUSCODES\r\n";

std::unique_ptr<sasl::mechanism> make(smtpio::auth_mechanism m, const smtpio::credentials& c) {
    std::error_code ec;
    auto mech = sasl::make(m, c, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(mech);
    return mech;
}

// RFC 7677 section 3: user "user", password "pencil", client nonce "rOprNGfwEbeRWgbNEkqO".
constexpr std::string_view scram_client_first = "biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=";
constexpr std::string_view scram_server_first =
    "cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=";
constexpr std::string_view scram_client_final =
    "Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8laHZZRHBXVWEyUmFUQ0FmdXhGSWxqKWhObEYkazAscD1kSHpiWmFwV0lrNGpVaE4rVXRlOXl0YWc5"
    "empmTUhnc3FtbWl6N0FuZFZRPQ==";
constexpr std::string_view scram_server_final = "dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==";

std::unique_ptr<sasl::mechanism> rfc7677_scram() {
    std::error_code ec;
    auto m = sasl::make_scram_sha_256(smtpio::credentials("user", "pencil"), "rOprNGfwEbeRWgbNEkqO", ec);
    REQUIRE_FALSE(ec);
    return m;
}

std::string line(std::string_view s) { return std::string(s) + "\r\n"; }

} // namespace

TEST_CASE("auth: PLAIN with the initial response", "[algorithms][auth]") {
    proto::connection_state st;
    test::make_open(st, all_mechs, true);
    auto mech = make(smtpio::auth_mechanism::plain, {"user", "pencil"});
    proto::auth_algorithm a(st, *mech, false);
    driver d(st, a);
    d.expect_sensitive_write("AUTH PLAIN AHVzZXIAcGVuY2ls\r\n").expect_read(phase::auth);
    d.reply("235 2.7.0 Authentication successful\r\n").expect_done();
    CHECK(st.authenticated);
    CHECK_FALSE(st.broken);

    proto::connection_state st2;
    test::make_open(st2, all_mechs, true);
    smtpio::credentials c("user", "pencil");
    c.authzid = "admin";
    auto m2 = make(smtpio::auth_mechanism::plain, c);
    proto::auth_algorithm a2(st2, *m2, false);
    test::algo_driver<proto::auth_algorithm> d2(st2, a2);
    d2.expect_sensitive_write("AUTH PLAIN YWRtaW4AdXNlcgBwZW5jaWw=\r\n").reply("235 ok\r\n").expect_done();
}

TEST_CASE("auth: an initial response too long for the AUTH line goes after an empty 334", "[algorithms][auth]") {
    proto::connection_state st;
    test::make_open(st, all_mechs, true);
    std::string secret(600, 'p');
    auto mech = make(smtpio::auth_mechanism::plain, {"user", secret});
    proto::auth_algorithm a(st, *mech, false);
    driver d(st, a);
    d.expect_sensitive_write("AUTH PLAIN\r\n").reply("334 \r\n");
    REQUIRE(d.action().kind == proto::next_action::type::write);
    CHECK(d.action().sensitive);
    std::string sent = st.wbuf.str();
    CHECK(sent.size() > 800);
    CHECK(test::b64_decode(sent.substr(0, sent.size() - 2)) == std::string("\0user\0", 6) + secret);
    d.expect_sensitive_write(sent).reply("235 ok\r\n").expect_done();
    CHECK(st.authenticated);
}

TEST_CASE("auth: LOGIN in two rounds", "[algorithms][auth]") {
    proto::connection_state st;
    test::make_open(st, all_mechs, true);
    auto mech = make(smtpio::auth_mechanism::login, {"user", "pencil"});
    proto::auth_algorithm a(st, *mech, false);
    driver d(st, a);
    d.expect_sensitive_write("AUTH LOGIN\r\n").reply("334 VXNlcm5hbWU6\r\n");
    d.expect_sensitive_write("dXNlcg==\r\n").reply("334 UGFzc3dvcmQ6 \r\n"); // trailing space tolerated
    d.expect_sensitive_write("cGVuY2ls\r\n").reply("235 2.7.0 ok\r\n").expect_done();
    CHECK(st.authenticated);
}

TEST_CASE("auth: XOAUTH2, and its error challenge", "[algorithms][auth]") {
    SECTION("accepted") {
        proto::connection_state st;
        test::make_open(st, all_mechs, true);
        auto mech = make(smtpio::auth_mechanism::xoauth2, smtpio::credentials::oauth2("user", "pencil"));
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_sensitive_write("AUTH XOAUTH2 dXNlcj11c2VyAWF1dGg9QmVhcmVyIHBlbmNpbAEB\r\n");
        d.reply("235 2.7.0 Accepted\r\n").expect_done();
        CHECK(st.authenticated);
    }
    SECTION("refused: empty response to the JSON challenge, then 535") {
        proto::connection_state st;
        test::make_open(st, all_mechs, true);
        auto mech = make(smtpio::auth_mechanism::xoauth2, smtpio::credentials::oauth2("user", "pencil"));
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_sensitive_write("AUTH XOAUTH2 dXNlcj11c2VyAWF1dGg9QmVhcmVyIHBlbmNpbAEB\r\n");
        d.reply("334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=\r\n").expect_sensitive_write("\r\n");
        d.reply("535 5.7.8 Username and Password not accepted\r\n").expect_done(errc::auth_failed);
        CHECK_FALSE(st.authenticated);
        CHECK(st.last_reply.code == 535);
    }
}

TEST_CASE("auth: SCRAM-SHA-256 with RFC 7677's test vector", "[algorithms][auth][scram]") {
    proto::connection_state st;
    test::make_open(st, all_mechs, true);
    auto mech = rfc7677_scram();
    proto::auth_algorithm a(st, *mech, false);
    driver d(st, a);
    d.expect_sensitive_write("AUTH SCRAM-SHA-256 " + line(scram_client_first));
    d.reply("334 " + line(scram_server_first)).expect_sensitive_write(line(scram_client_final));
    d.reply("334 " + line(scram_server_final)).expect_sensitive_write("\r\n");
    d.reply("235 2.7.0 Authentication successful\r\n").expect_done();
    CHECK(st.authenticated);
    CHECK_FALSE(st.broken);
}

TEST_CASE("auth: SCRAM-SHA-256 server proof failures", "[algorithms][auth][scram][security]") {
    SECTION("a wrong server signature cancels the exchange") {
        proto::connection_state st;
        test::make_open(st, all_mechs, true);
        auto mech = rfc7677_scram();
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_sensitive_write("AUTH SCRAM-SHA-256 " + line(scram_client_first));
        d.reply("334 " + line(scram_server_first)).expect_sensitive_write(line(scram_client_final));
        d.reply("334 dj1BQUFBVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==\r\n");
        d.expect_sensitive_write("*\r\n").reply("501 5.7.0 cancelled\r\n");
        d.expect_done(errc::auth_server_signature_invalid);
        CHECK_FALSE(st.authenticated);
    }
    SECTION("a server error (e=) cancels the exchange") {
        proto::connection_state st;
        test::make_open(st, all_mechs, true);
        auto mech = rfc7677_scram();
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_sensitive_write("AUTH SCRAM-SHA-256 " + line(scram_client_first));
        d.reply("334 " + line(scram_server_first)).expect_sensitive_write(line(scram_client_final));
        d.reply("334 ZT1pbnZhbGlkLXByb29m\r\n").expect_sensitive_write("*\r\n").reply("501 cancelled\r\n");
        d.expect_done(errc::auth_server_signature_invalid);
    }
    SECTION("235 without the server's proof is not trusted") {
        proto::connection_state st;
        test::make_open(st, all_mechs, true);
        auto mech = rfc7677_scram();
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_sensitive_write("AUTH SCRAM-SHA-256 " + line(scram_client_first));
        d.reply("334 " + line(scram_server_first)).expect_sensitive_write(line(scram_client_final));
        d.reply("235 2.7.0 ok\r\n").expect_done(errc::auth_server_signature_invalid);
        CHECK_FALSE(st.authenticated);
        CHECK(st.broken);
    }
    SECTION("a server nonce that does not extend ours, or too few iterations") {
        for (std::string_view sf : {"r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                                    "r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1",
                                    "m=ext,r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                                    "r=rOprNGfwEbeRWgbNEkqO%hv,s=,i=4096"}) {
            proto::connection_state st;
            test::make_open(st, all_mechs, true);
            auto mech = rfc7677_scram();
            proto::auth_algorithm a(st, *mech, false);
            driver d(st, a);
            INFO(sf);
            d.expect_sensitive_write("AUTH SCRAM-SHA-256 " + line(scram_client_first));
            d.reply("334 " + line(test::b64_encode(sf))).expect_sensitive_write("*\r\n").reply("501 cancelled\r\n");
            d.expect_done(errc::auth_malformed_challenge);
        }
    }
}

TEST_CASE("auth: CRAM-MD5 (RFC 2195's example)", "[algorithms][auth]") {
    proto::connection_state st;
    test::make_open(st, all_mechs, true);
    smtpio::credentials c("tim", "tanstaaftanstaaf", smtpio::auth_mechanism::cram_md5);
    auto mech = make(smtpio::auth_mechanism::cram_md5, c);
    proto::auth_algorithm a(st, *mech, false);
    driver d(st, a);
    d.expect_sensitive_write("AUTH CRAM-MD5\r\n");
    d.reply("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");
    d.expect_sensitive_write("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n").reply("235 ok\r\n").expect_done();
    CHECK(st.authenticated);
}

TEST_CASE("auth: refused in plaintext unless allowed", "[algorithms][auth][security]") {
    proto::connection_state st;
    test::make_open(st, all_mechs, false);
    auto mech = make(smtpio::auth_mechanism::plain, {"user", "pencil"});
    proto::auth_algorithm refused(st, *mech, false);
    driver d(st, refused);
    d.expect_done(errc::plaintext_auth_refused);
    CHECK(st.wbuf.empty());
    CHECK_FALSE(st.broken);

    proto::auth_algorithm allowed(st, *mech, true);
    driver d2(st, allowed);
    d2.expect_sensitive_write("AUTH PLAIN AHVzZXIAcGVuY2ls\r\n").reply("235 ok\r\n").expect_done();
}

TEST_CASE("auth: 535 is final (no retry, no fallback)", "[algorithms][auth]") {
    proto::connection_state st;
    test::make_open(st, all_mechs, true);
    auto mech = make(smtpio::auth_mechanism::login, {"user", "wrong"});
    proto::auth_algorithm a(st, *mech, false);
    driver d(st, a);
    d.expect_sensitive_write("AUTH LOGIN\r\n").reply("334 VXNlcm5hbWU6\r\n").expect_sensitive_write("dXNlcg==\r\n");
    d.reply("334 UGFzc3dvcmQ6\r\n").expect_sensitive_write("d3Jvbmc=\r\n");
    d.reply("535 5.7.8 Authentication credentials invalid\r\n").expect_done(errc::auth_failed);
    CHECK(st.last_reply.code == 535);
    CHECK(st.last_reply.enhanced.cls == 5);
    CHECK_FALSE(st.authenticated);
    CHECK_FALSE(st.broken); // the session stays usable
    CHECK(st.wbuf.empty());
}

TEST_CASE("auth: 4xx, 421 and impossible replies", "[algorithms][auth]") {
    SECTION("454 is auth_failed, session kept") {
        proto::connection_state st;
        test::make_open(st, all_mechs, true);
        auto mech = make(smtpio::auth_mechanism::plain, {"user", "pencil"});
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_sensitive_write("AUTH PLAIN AHVzZXIAcGVuY2ls\r\n").reply("454 4.7.0 try later\r\n");
        d.expect_done(errc::auth_failed);
        CHECK_FALSE(st.broken);
    }
    SECTION("421 closes") {
        proto::connection_state st;
        test::make_open(st, all_mechs, true);
        auto mech = make(smtpio::auth_mechanism::plain, {"user", "pencil"});
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_sensitive_write("AUTH PLAIN AHVzZXIAcGVuY2ls\r\n").reply("421 4.3.2 bye\r\n");
        d.expect_done(errc::service_not_available);
        CHECK(st.broken);
    }
    SECTION("250 to AUTH is a protocol error") {
        proto::connection_state st;
        test::make_open(st, all_mechs, true);
        auto mech = make(smtpio::auth_mechanism::plain, {"user", "pencil"});
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_sensitive_write("AUTH PLAIN AHVzZXIAcGVuY2ls\r\n").reply("250 ok\r\n");
        d.expect_done(errc::unexpected_reply);
        CHECK(st.broken);
    }
    SECTION("an I/O error breaks the session") {
        proto::connection_state st;
        test::make_open(st, all_mechs, true);
        auto mech = make(smtpio::auth_mechanism::plain, {"user", "pencil"});
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_sensitive_write("AUTH PLAIN AHVzZXIAcGVuY2ls\r\n").read_error(errc::command_timeout);
        d.expect_done(errc::command_timeout);
        CHECK(st.broken);
    }
}

TEST_CASE("auth: too many rounds are cancelled with '*'", "[algorithms][auth]") {
    proto::connection_state st;
    test::make_open(st, all_mechs, true);
    auto mech = make(smtpio::auth_mechanism::login, {"user", "pencil"});
    proto::auth_algorithm a(st, *mech, false);
    driver d(st, a);
    d.expect_sensitive_write("AUTH LOGIN\r\n").reply("334 VXNlcm5hbWU6\r\n").expect_sensitive_write("dXNlcg==\r\n");
    d.reply("334 UGFzc3dvcmQ6\r\n").expect_sensitive_write("cGVuY2ls\r\n");
    d.reply("334 QWdhaW46\r\n").expect_sensitive_write("*\r\n").reply("501 5.7.0 cancelled\r\n");
    d.expect_done(errc::auth_too_many_rounds);
    CHECK(st.last_reply.code == 501);
    CHECK_FALSE(st.authenticated);
}

TEST_CASE("auth: oversized and malformed challenges are cancelled with '*'", "[algorithms][auth][security]") {
    SECTION("larger than the limit") {
        proto::connection_state st;
        test::make_open(st, all_mechs, true);
        auto mech = make(smtpio::auth_mechanism::login, {"user", "pencil"});
        proto::auth_limits lim;
        lim.max_challenge = 16;
        proto::auth_algorithm a(st, *mech, false, lim);
        driver d(st, a);
        d.expect_sensitive_write("AUTH LOGIN\r\n");
        d.reply("334 " + line(test::b64_encode(std::string(64, 'x')))).expect_sensitive_write("*\r\n");
        d.reply("501 cancelled\r\n").expect_done(errc::auth_challenge_too_large);
    }
    SECTION("not base64") {
        for (std::string_view bad : {"VXNlcm5hbWU", "V*Nlcm5hbWU6", "VXNl cm5hbWU6", "===="}) {
            proto::connection_state st;
            test::make_open(st, all_mechs, true);
            auto mech = make(smtpio::auth_mechanism::login, {"user", "pencil"});
            proto::auth_algorithm a(st, *mech, false);
            driver d(st, a);
            INFO(bad);
            d.expect_sensitive_write("AUTH LOGIN\r\n").reply("334 " + line(bad)).expect_sensitive_write("*\r\n");
            d.reply("501 cancelled\r\n").expect_done(errc::auth_malformed_challenge);
        }
    }
    SECTION("421 in answer to the cancel closes") {
        proto::connection_state st;
        test::make_open(st, all_mechs, true);
        auto mech = make(smtpio::auth_mechanism::login, {"user", "pencil"});
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_sensitive_write("AUTH LOGIN\r\n").reply("334 !!!!\r\n").expect_sensitive_write("*\r\n");
        d.reply("421 bye\r\n").expect_done(errc::auth_malformed_challenge);
        CHECK(st.broken);
    }
}

TEST_CASE("auth: preconditions", "[algorithms][auth]") {
    auto mech = make(smtpio::auth_mechanism::scram_sha_256, {"user", "pencil"});
    SECTION("not open") {
        proto::connection_state st;
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_done(errc::not_open);
    }
    SECTION("AUTH not advertised") {
        proto::connection_state st;
        test::make_open(st, "250-mx\r\n250 PIPELINING\r\n", true);
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_done(errc::auth_not_offered);
    }
    SECTION("mechanism not advertised") {
        proto::connection_state st;
        test::make_open(st, "250-mx\r\n250 AUTH PLAIN LOGIN\r\n", true);
        proto::auth_algorithm a(st, *mech, false);
        driver d(st, a);
        d.expect_done(errc::auth_mechanism_unavailable);
        CHECK(st.wbuf.empty());
    }
}

TEST_CASE("auth: choosing a mechanism", "[algorithms][auth]") {
    smtpio::auth_mechanism m{};
    smtpio::credentials c("user", "pencil");
    CHECK_FALSE(sasl::choose(c, {"PLAIN", "LOGIN", "SCRAM-SHA-256"}, m));
    CHECK(m == smtpio::auth_mechanism::scram_sha_256);
    CHECK_FALSE(sasl::choose(c, {"LOGIN", "PLAIN", "CRAM-MD5"}, m));
    CHECK(m == smtpio::auth_mechanism::plain); // CRAM-MD5 only when allowed
    c.allow_cram_md5 = true;
    CHECK_FALSE(sasl::choose(c, {"LOGIN", "PLAIN", "CRAM-MD5"}, m));
    CHECK(m == smtpio::auth_mechanism::cram_md5);
    CHECK(sasl::choose(c, {"GSSAPI"}, m) == errc::auth_mechanism_unavailable);
    smtpio::credentials named("user", "pencil", smtpio::auth_mechanism::login);
    CHECK(sasl::choose(named, {"PLAIN"}, m) == errc::auth_mechanism_unavailable);
    std::error_code ec;
    CHECK_FALSE(sasl::make(smtpio::auth_mechanism::plain, {"us\ner", "x"}, ec));
    CHECK(ec == errc::invalid_credentials);
    CHECK_FALSE(sasl::make(smtpio::auth_mechanism::plain, {"user", std::string("a\0b", 3)}, ec));
    CHECK(ec == errc::invalid_credentials);
}
