// One test per security rule of DESIGN.md, over real TCP and TLS on 127.0.0.1.
// The scripted server records every octet the client wrote, split into what
// arrived in clear and what arrived over TLS; each test asserts on those bytes.
#include "common.hpp"

#include <smtpio/tls/verify.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using smtpio::errc;
using smtpio::message_outcome;
namespace test = smtpio::test;
namespace tls = smtpio::tls;
namespace policy = smtpio::policy;
using test::cert_case;

namespace {

const std::string ehlo = "EHLO client.example.org\r\n";
const std::string body_text = "Subject: secret\r\n\r\nthe secret message\r\n";

// The levels above `may`, each with a peer it accepts (the valid leaf) and one
// it rejects (`reject` presents the identity of `bad`).
struct strict_level {
    const char* name;
    tls::policy pol;
    std::optional<cert_case> bad; // none: the level accepts any certificate (encrypt)
};

std::vector<strict_level> strict_levels() {
    const auto ctx = test::trusting_context();
    X509* leaf = test::valid_identity().leaf.cert.get();
    auto spki = tls::pin::of_public_key(leaf);
    tls::tlsa_record ee;
    ee.usage = tls::tlsa_record::dane_ee;
    ee.selector = tls::tlsa_record::subject_public_key_info;
    ee.matching = tls::tlsa_record::sha2_256;
    ee.data.assign(spki.sha256.begin(), spki.sha256.end());
    return {
        {"encrypt", policy::dangerous_unverified_tls(ctx), std::nullopt},
        {"verify", policy::submission(ctx), cert_case::untrusted_root},
        {"verify (wrong name)", policy::verified(ctx), cert_case::wrong_name},
        {"secure", policy::secure(ctx, "example.test"), cert_case::expired},
        {"fingerprint", policy::fingerprint(ctx, {spki}), cert_case::ec_p256}, // another key
        {"dane", policy::dane(ctx, {ee}), cert_case::ec_p384},
        {"dane_only", policy::dane_only(ctx, {ee}), cert_case::self_signed},
    };
}

} // namespace

TEST_CASE("rule 1: above may, no MAIL, RCPT, AUTH or data byte before TLS is up and accepted",
          "[integration][session][security][rule1]") {
    for (const auto& lvl : strict_levels()) {
        INFO("level " << lvl.name);
        struct scenario {
            const char* what;
            test::smtp_server_options server;
            std::string plaintext;    // exactly what may go in clear
            bool handshake_completes; // on the server's side
        };
        // (A rejected certificate never completes the handshake on the server's side
        // either: with TLS 1.3, after STARTTLS the client's Finished waits for its
        // first write, and a peer the policy rejects gets none.)
        std::vector<scenario> scenarios;
        {
            auto s = test::starttls_script();
            s.extensions = {"PIPELINING", "AUTH PLAIN LOGIN", "8BITMIME"}; // no STARTTLS, AUTH in clear
            scenarios.push_back({"STARTTLS not offered", test::server_options(s), ehlo, false});
        }
        {
            auto s = test::starttls_script();
            s.extensions.push_back("AUTH PLAIN");
            s.starttls_reply = "454 4.7.0 TLS not available due to temporary reason\r\n";
            scenarios.push_back({"STARTTLS refused", test::server_options(s), ehlo + "STARTTLS\r\n", false});
        }
        {
            auto o = test::server_options(test::starttls_script());
            o.certificate_chain_pem.clear(); // the server cannot complete a handshake
            o.private_key_pem.clear();
            scenarios.push_back({"handshake fails", std::move(o), ehlo + "STARTTLS\r\n", false});
        }
        if (lvl.bad) {
            static std::vector<test::server_identity> keep;
            keep.push_back(test::pki().make(*lvl.bad, test::mx_name));
            scenarios.push_back({"certificate rejected", test::server_options(test::starttls_script(), keep.back()),
                                 ehlo + "STARTTLS\r\n", false});
        }
        for (auto& sc : scenarios) {
            INFO("scenario: " << sc.what);
            test::smtp_script_server server(sc.server);
            test::client c;
            auto ec = c.connect(server.port(), lvl.pol);
            CHECK(ec);
            CHECK_FALSE(c.s->is_open());
            // A caller that ignores the error gets nowhere.
            CHECK(c.authenticate({"user", "pencil"}) == errc::not_open);
            CHECK(c.send(test::simple_envelope(), body_text).first == errc::not_open);
            CHECK_FALSE(c.quit());
            auto rec = server.first();
            CHECK(rec.plaintext() == sc.plaintext);
            CHECK(rec.encrypted().empty());
            CHECK_FALSE(test::has_mail_or_auth(rec.after_handshake_failure));
            CHECK(rec.messages.empty());
            CHECK(rec.handshake_done == sc.handshake_completes);
            CHECK(c.s->tls_report().attempted);
        }
        // And with a peer the level accepts, everything but EHLO and STARTTLS is encrypted.
        test::smtp_script_server server(test::server_options(test::starttls_script()));
        test::client c;
        REQUIRE_FALSE(c.connect(server.port(), lvl.pol));
        CHECK(c.s->is_encrypted());
        CHECK_FALSE(c.authenticate({"user", "pencil", smtpio::auth_mechanism::plain}));
        auto [ec, r] = c.send(test::simple_envelope(), body_text);
        CHECK(r.outcome == message_outcome::delivered);
        CHECK_FALSE(c.quit());
        auto rec = server.first();
        CHECK(rec.plaintext() == ehlo + "STARTTLS\r\n");
        CHECK(rec.encrypted().rfind(ehlo + "AUTH PLAIN ", 0) == 0);
        REQUIRE(rec.messages.size() == 1);
        CHECK(rec.messages[0].tls);
        CHECK(rec.messages[0].content == body_text);
    }
}

TEST_CASE("rule 2: bytes after the 220 to STARTTLS are response injection", "[integration][session][security][rule2]") {
    const auto ctx = test::trusting_context();
    for (auto pol : {policy::submission(ctx), policy::opportunistic(ctx)}) {
        INFO("policy " << pol.name());
        auto s = test::starttls_script();
        s.starttls_injection = "250-mx.example.test\r\n250 AUTH PLAIN\r\n";
        test::smtp_script_server server(test::server_options(s));
        test::client c;
        CHECK(c.connect(server.port(), pol) == errc::response_injection);
        CHECK_FALSE(c.s->is_open());
        auto rec = server.first();
        // Nothing after STARTTLS: no handshake (the client closed), no reply parsed as post-TLS.
        CHECK(rec.plaintext() == ehlo + "STARTTLS\r\n");
        CHECK(rec.encrypted().empty());
        CHECK_FALSE(rec.handshake_done);
        CHECK(rec.after_handshake_failure.empty());
        CHECK(rec.bytes_after_starttls.empty());
    }
}

TEST_CASE("rule 3: after TLS, EHLO again and the plaintext capabilities are forgotten",
          "[integration][session][security][rule3]") {
    auto s = test::starttls_script();
    s.extensions = {"STARTTLS", "AUTH PLAIN LOGIN", "SIZE 1000", "CHUNKING"};
    s.extensions_tls = std::vector<std::string>{"PIPELINING", "ENHANCEDSTATUSCODES"};
    test::smtp_script_server server(test::server_options(s));
    test::client c;
    REQUIRE_FALSE(c.connect(server.port(), policy::submission(test::trusting_context())));
    const auto& caps = c.s->capabilities();
    CHECK(caps.pipelining());
    CHECK_FALSE(caps.auth());
    CHECK_FALSE(caps.size_advertised());
    CHECK_FALSE(caps.chunking());
    CHECK_FALSE(caps.starttls());
    // AUTH was offered only before TLS: it is not used.
    CHECK(c.authenticate({"user", "pencil"}) == errc::auth_not_offered);
    // SIZE 1000 was said before TLS only: a larger message is not refused.
    std::string big = "Subject: big\r\n\r\n";
    for (int i = 0; i < 40; ++i) big += "0123456789012345678901234567890123456789012345678\r\n";
    auto [ec, r] = c.send(test::simple_envelope(), big);
    CHECK_FALSE(ec);
    CHECK(r.outcome == message_outcome::delivered);
    CHECK_FALSE(c.quit());
    auto rec = server.first();
    CHECK(rec.plaintext() == ehlo + "STARTTLS\r\n");
    CHECK(rec.encrypted() == ehlo + "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n" + big +
                                 ".\r\nQUIT\r\n");
    CHECK(rec.all().find("AUTH") == std::string::npos);
    CHECK(rec.all().find("BDAT") == std::string::npos);
}

TEST_CASE("rule 4: opportunistic TLS reports a missing or refused STARTTLS", "[integration][session][security][rule4]") {
    const auto ctx = test::trusting_context();
    struct scenario {
        const char* what;
        test::smtp_script script;
        std::string plaintext_prefix;
        std::string detail_word;
    };
    auto absent = test::starttls_script();
    absent.extensions = {"PIPELINING", "8BITMIME"};
    auto refused = test::starttls_script();
    refused.starttls_reply = "454 4.7.0 TLS not available\r\n";
    for (auto& sc : std::vector<scenario>{{"absent", absent, ehlo + "MAIL FROM:", "offer"},
                                          {"refused", refused, ehlo + "STARTTLS\r\nMAIL FROM:", "refused"}}) {
        INFO(sc.what);
        test::smtp_script_server server(test::server_options(sc.script));
        std::vector<std::string> tls_failed_events;
        auto o = test::client_options();
        o.transcript = [&](const smtpio::transcript_event& e) {
            if (e.type == smtpio::transcript_event::kind::tls_failed) tls_failed_events.emplace_back(e.text);
        };
        test::client c;
        REQUIRE_FALSE(c.connect(server.port(), policy::opportunistic(ctx), o));
        CHECK(c.s->is_open());
        CHECK_FALSE(c.s->is_encrypted());
        const auto& rep = c.s->tls_report();
        CHECK(rep.attempted);
        CHECK_FALSE(rep.established);
        CHECK(rep.result == tls::verify_result::starttls_not_supported);
        CHECK(rep.detail.find(sc.detail_word) != std::string::npos);
        CHECK(tls_failed_events.size() == 1); // never silent
        auto [ec, r] = c.send(test::simple_envelope(), body_text);
        CHECK_FALSE(ec);
        CHECK(r.outcome == message_outcome::delivered);
        // The result says how the message went: in clear, and why.
        CHECK(r.tls.attempted);
        CHECK_FALSE(r.tls.established);
        CHECK(r.tls.result == tls::verify_result::starttls_not_supported);
        CHECK(tls::to_string(r.tls.result) == "starttls-not-supported");
        CHECK_FALSE(c.quit());
        auto rec = server.first();
        CHECK(rec.plaintext().rfind(sc.plaintext_prefix, 0) == 0);
        CHECK(rec.encrypted().empty());
    }
    // Under a required level the same servers are a TLS-policy error.
    for (auto& [script, want] : std::vector<std::pair<test::smtp_script, errc>>{{absent, errc::starttls_not_offered},
                                                                               {refused, errc::starttls_refused}}) {
        test::smtp_script_server server(test::server_options(script));
        test::client c;
        CHECK(c.connect(server.port(), policy::submission(ctx)) == want);
        CHECK(c.s->tls_report().result == tls::verify_result::starttls_not_supported);
    }
}

TEST_CASE("rule 5: CR, LF and NUL in caller strings are refused before any byte", "[integration][session][security][rule5]") {
    const auto ctx = test::trusting_context();
    SECTION("EHLO name") {
        for (std::string bad : {std::string("client.example.org\r\nMAIL FROM:<x@y>"), std::string("client\n"),
                                std::string("cli\0ent", 7)}) {
            test::smtp_script_server server(test::server_options(test::starttls_script()));
            auto o = test::client_options();
            o.helo_name = bad;
            test::client c;
            CHECK(c.connect(server.port(), policy::submission(ctx), o) == errc::control_character);
            auto rec = server.first();
            CHECK(rec.all().empty());
        }
    }
    SECTION("addresses, parameters, AUTH data") {
        test::smtp_script_server server(test::server_options(test::starttls_script()));
        test::client c;
        REQUIRE_FALSE(c.connect(server.port(), policy::submission(ctx)));
        struct bad_send {
            smtpio::envelope env;
            errc want;
        };
        smtpio::envelope envid = test::simple_envelope();
        envid.envid = "x\r\nRSET";
        smtpio::envelope orcpt("a@example.org", {smtpio::recipient("b@example.com", smtpio::notify::failure,
                                                                   "rfc822;b@example.com\r\nDATA")});
        for (auto& b : std::vector<bad_send>{
                 {smtpio::envelope("a@example.org>\r\nRCPT TO:<evil@example.net", {"b@example.com"}), errc::control_character},
                 {smtpio::envelope("a@example.org", {"b@example.com\r\nRCPT TO:<evil@example.net>"}), errc::control_character},
                 {smtpio::envelope("a@example.org", {"b@example.com", std::string("c@exa\0mple.com", 14)}),
                  errc::control_character},
                 {smtpio::envelope("a@exa\nmple.org", {"b@example.com"}), errc::control_character},
                 {envid, errc::control_character},
             }) {
            auto [ec, r] = c.send(b.env, body_text);
            CHECK(ec == b.want);
            CHECK(r.outcome == message_outcome::not_sent);
        }
        auto [ec, r] = c.send(orcpt, body_text);
        CHECK(ec); // control characters (or DSN missing): refused either way
        CHECK(r.outcome == message_outcome::not_sent);
        CHECK(c.authenticate({"user\r\nMAIL FROM:<x@y>", "pencil"}) == errc::invalid_credentials);
        CHECK(c.authenticate({"user", "pen\r\ncil"}) == errc::invalid_credentials);
        CHECK(c.authenticate({"user", std::string("pen\0cil", 7)}) == errc::invalid_credentials);
        CHECK(c.s->is_open());
        CHECK_FALSE(c.quit());
        auto rec = server.first();
        CHECK(rec.plaintext() == ehlo + "STARTTLS\r\n");
        CHECK(rec.encrypted() == ehlo + "QUIT\r\n");
    }
}

namespace {

// An independent reference for what DATA must carry: every bare CR or LF made
// CRLF, then lines that start with "." get another one.  (Not the library's code.)
std::string normalise(std::string_view in) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\r') {
            out += "\r\n";
            if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
        } else if (in[i] == '\n') {
            out += "\r\n";
        } else {
            out += in[i];
        }
    }
    if (!out.empty() && out.size() >= 2 && out.substr(out.size() - 2) != "\r\n") out += "\r\n";
    return out;
}
std::string dot_stuff(std::string_view normalised) {
    std::string out;
    bool line_start = true;
    for (char ch : normalised) {
        if (line_start && ch == '.') out += '.';
        out += ch;
        line_start = ch == '\n';
    }
    return out;
}

} // namespace

TEST_CASE("rule 6: the body is normalised and dot-stuffed; the end of data cannot be forged",
          "[integration][session][security][rule6]") {
    const std::string body = "Subject: smuggling\r\n\r\n"
                             "one\n.\nMAIL FROM:<smuggled@evil.example>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"
                             "two\r.\rthree\r\n.\nfour\n.\r\nfive\r\n..\r\n.\r\n"
                             ".leading dot\rbare cr\nbare lf\r\n.";
    const std::string expect_content = normalise(body);
    const std::string expect_wire = dot_stuff(expect_content);
    const auto ctx = test::trusting_context();
    for (bool bdat : {false, true}) {
        INFO((bdat ? "BDAT" : "DATA"));
        test::smtp_script_server server(test::server_options(test::starttls_script()));
        test::client c;
        REQUIRE_FALSE(c.connect(server.port(), policy::submission(ctx)));
        smtpio::send_options so;
        so.chunking = bdat;
        auto [ec, r] = c.send(test::simple_envelope(), body, so);
        CHECK_FALSE(ec);
        CHECK(r.outcome == message_outcome::delivered);
        CHECK_FALSE(c.quit());
        auto rec = server.first();
        REQUIRE(rec.messages.size() == 1);
        CHECK(rec.messages[0].content == expect_content);
        CHECK(rec.messages[0].wire == (bdat ? expect_content : expect_wire));
        CHECK(rec.messages[0].rcpts == std::vector<std::string>{"b@example.com"});
        // Nothing of the body was taken as a command.
        for (const auto& cmd : rec.commands) CHECK(cmd.line.find("smuggled") == std::string::npos);
        const std::string tail = bdat ? "QUIT\r\n" : expect_wire + ".\r\nQUIT\r\n";
        CHECK(rec.encrypted().size() >= tail.size());
        CHECK(rec.encrypted().substr(rec.encrypted().size() - tail.size()) == tail);
    }
}

TEST_CASE("rule 7: AUTH in plaintext only when the caller opts in", "[integration][session][security][rule7]") {
    auto plain = test::starttls_script();
    plain.extensions = {"PIPELINING", "AUTH PLAIN LOGIN"};
    {
        test::smtp_script_server server(test::server_options(plain));
        test::client c;
        REQUIRE_FALSE(c.connect(server.port(), policy::dangerous_plaintext()));
        CHECK(c.authenticate({"user", "pencil"}) == errc::plaintext_auth_refused);
        CHECK(c.s->is_open());
        CHECK_FALSE(c.quit());
        auto rec = server.first();
        CHECK(rec.all() == ehlo + "QUIT\r\n");
    }
    {
        // Opportunistic, STARTTLS stripped: still no AUTH in clear.
        test::smtp_script_server server(test::server_options(plain));
        test::client c;
        REQUIRE_FALSE(c.connect(server.port(), policy::opportunistic(test::trusting_context())));
        CHECK(c.authenticate({"user", "pencil"}) == errc::plaintext_auth_refused);
        CHECK_FALSE(c.quit());
        CHECK(server.first().all().find("AUTH") == std::string::npos);
    }
    {
        test::smtp_script_server server(test::server_options(plain));
        auto o = test::client_options();
        o.dangerous_allow_plaintext_auth = true;
        test::client c;
        REQUIRE_FALSE(c.connect(server.port(), policy::dangerous_plaintext(), o));
        CHECK_FALSE(c.authenticate({"user", "pencil", smtpio::auth_mechanism::plain}));
        CHECK_FALSE(c.quit());
        auto rec = server.first();
        CHECK(rec.plaintext() == ehlo + "AUTH PLAIN AHVzZXIAcGVuY2ls\r\nQUIT\r\n");
        CHECK(rec.authenticated_user == "user");
    }
}

TEST_CASE("rule 8: a TLS 1.0/1.1-only server is refused", "[integration][session][security][rule8]") {
    const auto ctx = test::trusting_context();
    static const auto rsa = test::pki().make(cert_case::rsa_2048, test::mx_name);
    for (int v : {TLS1_VERSION, TLS1_1_VERSION}) {
        for (bool implicit : {false, true}) {
            for (auto pol : {policy::opportunistic(ctx), policy::dangerous_unverified_tls(ctx), policy::submission(ctx)}) {
                if (implicit) pol.implicit_tls();
                // Opportunistic STARTTLS does not stop the mail (RFC 7435): async_connect
                // retries once on a new connection, in plaintext, and says why.
                const bool fallback = pol.mode() == tls::mode::opportunistic;
                INFO("version " << std::hex << v << std::dec << " implicit " << implicit << " policy " << pol.name());
                auto o = test::server_options(test::starttls_script(), rsa, fallback ? 2 : 1);
                o.min_version = o.max_version = v;
                o.implicit_tls = implicit;
                test::smtp_script_server server(o);
                test::client c;
                const auto ec = c.connect(server.port(), pol);
                const auto& rep = c.s->tls_report();
                CHECK(rep.result == tls::verify_result::handshake_failure);
                CHECK_FALSE(rep.established);
                CHECK(rep.version.empty());
                if (fallback) {
                    CHECK_FALSE(ec);
                    CHECK(c.s->is_open());
                    CHECK_FALSE(c.s->is_encrypted());
                    CHECK(rep.detail.find("plaintext") != std::string::npos);
                    auto [sec, r] = c.send(test::simple_envelope(), body_text);
                    CHECK(r.outcome == message_outcome::delivered);
                    CHECK(r.tls.result == tls::verify_result::handshake_failure);
                    CHECK_FALSE(c.quit());
                } else {
                    CHECK(ec == errc::tls_handshake_failed);
                    CHECK_FALSE(c.s->is_open());
                }
                REQUIRE(server.wait_for(fallback ? 2 : 1));
                auto recs = server.records();
                const auto& rec = recs[0];
                CHECK(rec.handshake_error);
                CHECK_FALSE(rec.handshake_done);
                CHECK(rec.tls_version.empty());
                CHECK(rec.plaintext() == (implicit ? std::string() : ehlo + "STARTTLS\r\n"));
                CHECK(rec.encrypted().empty());
                CHECK_FALSE(test::has_mail_or_auth(rec.after_handshake_failure));
                if (fallback) {
                    // The retry does not try TLS again; the report above says why.
                    CHECK_FALSE(recs[1].handshake_attempted);
                    CHECK(recs[1].plaintext().rfind(ehlo + "MAIL FROM:", 0) == 0);
                }
            }
        }
    }
    // TLS 1.2 is the floor, and it is accepted.
    auto o = test::server_options(test::starttls_script());
    o.max_version = TLS1_2_VERSION;
    test::smtp_script_server server(o);
    test::client c;
    REQUIRE_FALSE(c.connect(server.port(), policy::submission(ctx)));
    CHECK(c.s->tls_report().version == "TLSv1.2");
    CHECK_FALSE(c.quit());
}
