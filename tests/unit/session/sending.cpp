// Sending over the test stream: connection reuse and RSET, batches pipelined
// across messages, checks made before any byte is written, the transcript.
#include "common.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using smtpio::errc;
using smtpio::message_outcome;
using smtpio::outcome;
namespace test = smtpio::test;

namespace {

const std::string body_text = "Subject: hi\r\n\r\nhello\r\n";

std::size_t count_of(const std::vector<std::string>& v, const std::string& s) {
    return static_cast<std::size_t>(std::count(v.begin(), v.end(), s));
}

} // namespace

TEST_CASE("reuse: the next message needs no RSET after a delivered one", "[session][reuse]") {
    test::harness h;
    REQUIRE_FALSE(h.open());
    for (int i = 0; i < 3; ++i) {
        auto [ec, r] = h.send(test::env({"b@example.com"}), body_text);
        CHECK_FALSE(ec);
        CHECK(r.outcome == message_outcome::delivered);
    }
    CHECK(count_of(h.model->command_lines(), "RSET") == 0);
    CHECK(h.model->messages().size() == 3);
}

TEST_CASE("reuse: RSET first when the last transaction was left open", "[session][reuse]") {
    test::smtp_script s;
    int data_seen = 0;
    s.on_command = [&](test::smtp_server_model&, std::string_view line, const std::string&) -> std::optional<std::string> {
        if (line == "DATA" && data_seen++ == 0) return std::string("451 4.3.0 temporary failure\r\n");
        return std::nullopt;
    };
    test::harness h(s);
    REQUIRE_FALSE(h.open());
    auto [ec1, r1] = h.send(test::env({"b@example.com"}), body_text);
    CHECK_FALSE(ec1);
    CHECK(r1.outcome == message_outcome::deferred);
    CHECK(r1.reply.code == 451);
    CHECK_FALSE(r1.error);
    h.peer->clear_written();
    auto [ec2, r2] = h.send(test::env({"c@example.com"}), body_text);
    CHECK(r2.outcome == message_outcome::delivered);
    // RSET went alone, before the next group.
    REQUIRE(h.peer->write_log().size() >= 2);
    CHECK(h.peer->write_log()[0] == "RSET\r\n");
    CHECK(h.peer->write_log()[1].rfind("MAIL FROM:<a@example.org>", 0) == 0);
}

TEST_CASE("reuse: a refused RSET closes the session", "[session][reuse]") {
    test::smtp_script s;
    s.on_command = [](test::smtp_server_model&, std::string_view line, const std::string&) -> std::optional<std::string> {
        if (line == "DATA") return std::string("554 5.7.1 no\r\n");
        if (line == "RSET") return std::string("500 5.5.1 RSET? never heard of it\r\n");
        return std::nullopt;
    };
    test::harness h(s);
    REQUIRE_FALSE(h.open());
    auto [ec1, r1] = h.send(test::env({"b@example.com"}), body_text);
    CHECK(r1.outcome == message_outcome::rejected);
    auto [ec2, r2] = h.send(test::env({"c@example.com"}), body_text);
    CHECK(r2.outcome == message_outcome::deferred);
    CHECK(r2.error == errc::reset_failed);
    CHECK_FALSE(h.s->is_open());
    // Nothing of the second message was written.
    CHECK(h.peer->written().find("RCPT TO:<c@example.com>") == std::string::npos);
}

TEST_CASE("reset and noop between messages", "[session][reuse]") {
    test::harness h;
    REQUIRE_FALSE(h.open());
    CHECK_FALSE(h.reset());
    std::optional<std::error_code> noop;
    h.s->async_noop([&](std::error_code ec) { noop = ec; });
    h.run();
    CHECK(noop == std::error_code{});
    CHECK(h.peer->written() == "EHLO client.example.org\r\nRSET\r\nNOOP\r\n");
}

TEST_CASE("batch: the end of one message and the next group go in one write", "[session][batch]") {
    test::harness h;
    REQUIRE_FALSE(h.open());
    h.peer->clear_written();
    std::vector<smtpio::message> msgs;
    msgs.push_back({test::env({"b@example.com"}), body_text, {}});
    msgs.push_back({test::env({"bad address"}), body_text, {}});
    msgs.push_back({test::env({"c@example.com", "d@example.com"}), body_text, {}});
    auto [batch_ec, results] = h.send_batch(std::move(msgs));
    CHECK_FALSE(batch_ec);
    const auto* rs = &results;
    REQUIRE(rs->size() == 3);
    CHECK((*rs)[0].outcome == message_outcome::delivered);
    CHECK((*rs)[1].outcome == message_outcome::not_sent);
    CHECK((*rs)[1].error == errc::invalid_address);
    CHECK((*rs)[2].outcome == message_outcome::delivered);
    const std::string size = " SIZE=" + std::to_string(body_text.size());
    const auto& log = h.peer->write_log();
    REQUIRE(log.size() == 3);
    CHECK(log[0] == "MAIL FROM:<a@example.org>" + size + "\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
    CHECK(log[1] == body_text + ".\r\nMAIL FROM:<a@example.org>" + size +
                        "\r\nRCPT TO:<c@example.com>\r\nRCPT TO:<d@example.com>\r\nDATA\r\n");
    CHECK(log[2] == body_text + ".\r\n");
    CHECK(h.model->messages().size() == 2);
}

TEST_CASE("nothing is written when a send is refused before MAIL", "[session][input][security]") {
    test::smtp_script s;
    s.extensions = {"PIPELINING", "SIZE 1000"};
    test::harness h(s);
    REQUIRE_FALSE(h.open());
    const std::string before = h.peer->written();
    struct bad_case {
        const char* what;
        smtpio::envelope env;
        std::string body;
        smtpio::send_options so;
        errc want;
    };
    smtpio::envelope with_envid = test::env({"b@example.com"});
    with_envid.envid = "id\r\nRSET";
    smtpio::envelope utf8 = test::env({"b@example.com"}, "j\xc3\xb6rg@example.org");
    utf8.smtputf8 = true;
    smtpio::envelope notify = test::env({smtpio::recipient("b@example.com", smtpio::notify::success)});
    smtpio::send_options verified;
    verified.demand = smtpio::tls_demand::verified_tls();
    smtpio::send_options eight;
    eight.body = smtpio::body_type::eight_bit;
    std::vector<bad_case> cases{
        {"CRLF in the sender", test::env({"b@example.com"}, "a@example.org>\r\nRCPT TO:<x@evil"), body_text, {},
         errc::control_character},
        {"LF in a recipient", test::env({"b@example.com\nDATA"}), body_text, {}, errc::control_character},
        {"NUL in a recipient", test::env({std::string("b@exa\0mple.com", 14)}), body_text, {}, errc::control_character},
        {"CR in ENVID", with_envid, body_text, {}, errc::control_character},
        {"no recipients", test::env({}), body_text, {}, errc::no_recipients},
        {"too big for SIZE", test::env({"b@example.com"}), std::string(20, 'x') + std::string(600, '\n'), {}, errc::message_too_big},
        {"NUL in the body", test::env({"b@example.com"}), std::string("a\0b\r\n", 5), {}, errc::body_contains_nul},
        {"a line over 998 octets", test::env({"b@example.com"}), std::string(999, 'y') + "\r\n", {}, errc::body_line_too_long},
        {"SMTPUTF8 not offered", utf8, body_text, {}, errc::smtputf8_not_supported},
        {"DSN not offered", notify, body_text, {}, errc::dsn_not_supported},
        {"8BITMIME not offered", test::env({"b@example.com"}), "caf\xc3\xa9\r\n", eight, errc::eightbit_not_supported},
        {"verified TLS demanded", test::env({"b@example.com"}), body_text, verified, errc::demand_not_encrypted},
    };
    for (auto& c : cases) {
        INFO(c.what);
        auto [ec, r] = h.send(c.env, c.body, c.so);
        CHECK(ec);
        CHECK(ec == c.want);
        CHECK(r.outcome == message_outcome::not_sent);
        CHECK(h.peer->written() == before);
    }
    CHECK(h.s->is_open()); // refused locally: the session is untouched
    auto [ec, r] = h.send(test::env({"b@example.com"}), body_text);
    CHECK(r.outcome == message_outcome::delivered);
}

TEST_CASE("a block size of zero refuses every message before MAIL", "[session][input]") {
    // With no octets per write no message data could ever go out: refused, not a hang.
    auto o = test::test_options();
    o.block_size = 0;
    test::harness h(test::smtp_script{}, o);
    REQUIRE_FALSE(h.open());
    const std::string before = h.peer->written();
    auto [ec, r] = h.send(test::env({"b@example.com"}), body_text);
    CHECK(ec == errc::invalid_option);
    CHECK(r.outcome == message_outcome::not_sent);
    CHECK(h.peer->written() == before);
    CHECK(h.s->is_open());
}

TEST_CASE("an EHLO name or credentials with CR/LF are refused before any byte", "[session][input][security]") {
    auto o = test::test_options();
    o.helo_name = "client.example.org\r\nMAIL FROM:<x@y>";
    test::harness h({}, o);
    auto ec = h.open();
    CHECK(ec == errc::control_character);
    CHECK(h.peer->written().empty());

    test::smtp_script s;
    s.extensions = {"AUTH PLAIN LOGIN"};
    auto o2 = test::test_options();
    o2.dangerous_allow_plaintext_auth = true;
    test::harness h2(s, o2);
    REQUIRE_FALSE(h2.open());
    const std::string before = h2.peer->written();
    CHECK(h2.authenticate({"user\r\nMAIL FROM:<x@y>", "pencil"}) == errc::invalid_credentials);
    CHECK(h2.authenticate({"user", std::string("pen\0cil", 7)}) == errc::invalid_credentials);
    CHECK(h2.peer->written() == before);
    CHECK(h2.s->is_open());
}

TEST_CASE("AUTH over the test stream: plaintext refused unless allowed, 535 kept", "[session][auth]") {
    test::smtp_script s;
    s.extensions = {"AUTH PLAIN LOGIN SCRAM-SHA-256"};
    {
        test::harness h(s);
        REQUIRE_FALSE(h.open());
        CHECK(h.authenticate({"user", "pencil"}) == errc::plaintext_auth_refused);
        CHECK(h.peer->written() == "EHLO client.example.org\r\n");
        CHECK(h.s->is_open());
    }
    auto o = test::test_options();
    o.dangerous_allow_plaintext_auth = true;
    {
        test::harness h(s, o);
        REQUIRE_FALSE(h.open());
        CHECK_FALSE(h.authenticate({"user", "pencil"})); // automatic: SCRAM-SHA-256 is the strongest
        CHECK(h.s->is_authenticated());
        CHECK(h.model->command_lines()[1].rfind("AUTH SCRAM-SHA-256 ", 0) == 0);
    }
    {
        test::harness h(s, o);
        REQUIRE_FALSE(h.open());
        CHECK(h.authenticate({"user", "wrong", smtpio::auth_mechanism::plain}) == errc::auth_failed);
        CHECK(h.s->last_reply().code == 535);
        CHECK(h.s->is_open());
        CHECK_FALSE(h.s->is_authenticated());
        // No fallback: exactly one AUTH was sent.
        auto lines = h.model->command_lines();
        CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("AUTH", 0) == 0; }) == 1);
    }
    {
        test::smtp_script bad = s;
        bad.scram_bad_signature = true;
        test::harness h(bad, o);
        REQUIRE_FALSE(h.open());
        CHECK(h.authenticate({"user", "pencil", smtpio::auth_mechanism::scram_sha_256}) ==
              errc::auth_server_signature_invalid);
        CHECK_FALSE(h.s->is_authenticated());
    }
}

TEST_CASE("the transcript redacts AUTH data and counts message data", "[session][transcript]") {
    test::smtp_script s;
    s.extensions = {"PIPELINING", "AUTH PLAIN LOGIN"};
    s.greeting = "220 mx \x1b[31mred\x1b[0m\r\n";
    std::vector<std::pair<smtpio::transcript_event::kind, std::string>> events;
    std::uint64_t data_octets = 0;
    auto o = test::test_options();
    o.dangerous_allow_plaintext_auth = true;
    o.transcript = [&](const smtpio::transcript_event& e) {
        events.emplace_back(e.type, std::string(e.text));
        if (e.type == smtpio::transcript_event::kind::message_data) data_octets += e.octets;
    };
    test::harness h(s, o);
    REQUIRE_FALSE(h.open());
    REQUIRE_FALSE(h.authenticate({"user", "pencil", smtpio::auth_mechanism::login}));
    auto [ec, r] = h.send(test::env({"b@example.com"}), body_text);
    CHECK(r.outcome == message_outcome::delivered);
    std::string all;
    for (const auto& [k, t] : events) all += t + "\n";
    INFO(all);
    CHECK(all.find("pencil") == std::string::npos);
    CHECK(all.find("cGVuY2ls") == std::string::npos);   // base64("pencil")
    CHECK(all.find("dXNlcg==") == std::string::npos);   // base64("user")
    CHECK(all.find("AUTH LOGIN") != std::string::npos);
    CHECK(all.find("<redacted>") != std::string::npos);
    CHECK(all.find('\x1b') == std::string::npos);       // server text escaped
    CHECK(all.find("hello") == std::string::npos);      // message content is counted, not shown
    CHECK(data_octets == body_text.size() + 3);
    CHECK(std::any_of(events.begin(), events.end(),
                      [](const auto& e) { return e.first == smtpio::transcript_event::kind::outcome; }));
}

TEST_CASE("batch with CHUNKING: small messages share one write, each keeps its outcome", "[session][batch][bdat]") {
    test::smtp_script s;
    s.extensions = {"PIPELINING", "CHUNKING", "ENHANCEDSTATUSCODES"};
    s.on_command = [](test::smtp_server_model&, std::string_view line, const std::string&) -> std::optional<std::string> {
        if (line == "MAIL FROM:<refused@example.org>") return std::string("550 5.7.1 sender refused\r\n");
        return std::nullopt;
    };
    smtpio::session_options o = test::test_options();
    o.extensions.chunking = true;
    test::harness h(s, o);
    REQUIRE_FALSE(h.open());
    h.peer->clear_written();
    std::vector<smtpio::message> msgs;
    for (int i = 0; i < 5; ++i)
        msgs.push_back({test::env({"r" + std::to_string(i) + "@example.com"}, i == 2 ? "refused@example.org" : "a@example.org"),
                        "Subject: " + std::to_string(i) + "\r\n\r\nbody " + std::to_string(i) + "\r\n", {}});
    auto [batch_ec, results] = h.send_batch(std::move(msgs));
    CHECK_FALSE(batch_ec);
    const auto* rs = &results;
    REQUIRE(rs->size() == 5);
    for (int i = 0; i < 5; ++i) {
        INFO("message " << i);
        CHECK((*rs)[static_cast<std::size_t>(i)].outcome ==
              (i == 2 ? message_outcome::rejected : message_outcome::delivered));
    }
    CHECK((*rs)[2].recipients[0].reply.code == 550);
    // Every message in one write, RSET before each after the first.
    REQUIRE(h.peer->write_log().size() == 1);
    const std::string& w = h.peer->write_log()[0];
    CHECK(w.rfind("MAIL FROM:<a@example.org>\r\nRCPT TO:<r0@example.com>\r\nBDAT 22 LAST\r\nSubject: 0\r\n\r\nbody 0\r\n"
                  "RSET\r\nMAIL FROM:<a@example.org>\r\n",
                  0) == 0);
    CHECK(count_of(h.model->command_lines(), "RSET") == 4);
    // The server kept the four messages it accepted, byte for byte.
    const auto& got = h.model->messages();
    REQUIRE(got.size() == 4);
    CHECK(got[0].content == "Subject: 0\r\n\r\nbody 0\r\n");
    CHECK(got[2].content == "Subject: 3\r\n\r\nbody 3\r\n");
    CHECK(got[3].rcpts == std::vector<std::string>{"r4@example.com"});
    // The session is clean: a later send needs no RSET of its own.
    h.peer->clear_written();
    auto [ec, r] = h.send(test::env({"z@example.com"}), body_text);
    CHECK(r.outcome == message_outcome::delivered);
    CHECK(h.peer->write_log()[0].rfind("MAIL FROM:", 0) == 0);
}

TEST_CASE("copied, not encoded: only what cannot change, and never past DESIGN rule 6", "[session][security][verbatim]") {
    // CRLF lines only, ending in CRLF: encoding would change nothing but the end of data.
    const std::string clean = "Subject: v\r\n\r\none\r\nX\r\nQUIT\r\n";
    const std::string stuffed_wire = "Subject: v\r\n\r\none\r\n..\r\nQUIT\r\n.\r\n";
    SECTION("a borrowed text changed after the scan is still dot-stuffed (DATA)") {
        std::string text = clean;
        test::smtp_script s;
        s.on_command = [&](test::smtp_server_model&, std::string_view line, const std::string&) -> std::optional<std::string> {
            if (line == "DATA") text[text.find('X')] = '.'; // the caller breaks the contract mid-send
            return std::nullopt;
        };
        test::harness h(s);
        REQUIRE_FALSE(h.open());
        h.peer->clear_written();
        auto [ec, r] = h.send(test::env({"b@example.com"}), smtpio::body::view(text));
        CHECK(r.outcome == message_outcome::delivered);
        const auto& log = h.peer->write_log();
        REQUIRE(log.size() == 2);
        CHECK(log[1] == stuffed_wire); // the "." line went out as "..": the data did not end early
        REQUIRE(h.model->messages().size() == 1);
        CHECK(h.model->messages()[0].content == "Subject: v\r\n\r\none\r\n.\r\nQUIT\r\n");
        CHECK(count_of(h.model->command_lines(), "QUIT") == 0);
    }
    SECTION("a text split across buffers at CR | LF . is stuffed") {
        const std::string a = "Subject: v\r\n\r\none\r", b = "\n.x\r\n";
        test::harness h;
        REQUIRE_FALSE(h.open());
        h.peer->clear_written();
        auto [ec, r] = h.send(test::env({"b@example.com"}), smtpio::body::buffers({a, b}));
        CHECK(r.outcome == message_outcome::delivered);
        REQUIRE(h.peer->write_log().size() == 2);
        CHECK(h.peer->write_log()[1] == "Subject: v\r\n\r\none\r\n..x\r\n.\r\n");
    }
    SECTION("owned and shared texts without dot lines go as they are; with one, stuffed") {
        for (bool shared : {false, true}) {
            INFO("shared " << shared);
            test::harness h;
            REQUIRE_FALSE(h.open());
            h.peer->clear_written();
            auto make = [&](const std::string& t) {
                return shared ? smtpio::body::shared(std::make_shared<const std::string>(t)) : smtpio::body(t);
            };
            auto [ec1, r1] = h.send(test::env({"b@example.com"}), make(clean));
            CHECK(r1.outcome == message_outcome::delivered);
            auto [ec2, r2] = h.send(test::env({"b@example.com"}), make("Subject: v\r\n\r\n.\r\n"));
            CHECK(r2.outcome == message_outcome::delivered);
            const auto& log = h.peer->write_log();
            REQUIRE(log.size() == 4);
            CHECK(log[1] == clean + ".\r\n");
            CHECK(log[3] == "Subject: v\r\n\r\n..\r\n.\r\n");
        }
    }
    SECTION("BDAT: a borrowed text is length-framed, so it may be copied") {
        test::smtp_script s;
        s.extensions = {"PIPELINING", "CHUNKING"};
        smtpio::session_options o = test::test_options();
        o.extensions.chunking = true;
        test::harness h(s, o);
        REQUIRE_FALSE(h.open());
        h.peer->clear_written();
        const std::string dotted = "Subject: v\r\n\r\n.\r\nQUIT\r\n";
        auto [ec, r] = h.send(test::env({"b@example.com"}), smtpio::body::view(dotted));
        CHECK(r.outcome == message_outcome::delivered);
        REQUIRE(h.peer->write_log().size() == 1);
        CHECK(h.peer->write_log()[0] == "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 23 LAST\r\n" + dotted);
        CHECK(h.model->messages()[0].content == dotted);
        CHECK(count_of(h.model->command_lines(), "QUIT") == 0);
    }
}

TEST_CASE("batch: a sender repeated is checked once, a sender or SMTPUTF8 that changes is checked again",
          "[session][batch][input][security]") {
    test::smtp_script s;
    s.extensions = {"PIPELINING", "SMTPUTF8", "8BITMIME"};
    test::harness h(s);
    REQUIRE_FALSE(h.open());
    const std::string utf8_sender = "j\xc3\xb6rg@example.org";
    auto make = [&](const std::string& from, bool smtputf8) {
        smtpio::envelope e = test::env({"b@example.com"}, from);
        e.smtputf8 = smtputf8;
        return smtpio::message{e, body_text, {}};
    };
    // What each bad sender gets when it is sent alone.
    auto alone = [&](const std::string& from, bool smtputf8) {
        auto m = make(from, smtputf8);
        auto [ec, r] = h.send(m.envelope, body_text);
        CHECK(r.outcome == message_outcome::not_sent);
        return r.error;
    };
    const std::error_code utf8_without = alone(utf8_sender, false);
    const std::error_code two_ats = alone("bad@@example.org", false);
    REQUIRE(utf8_without);
    REQUIRE(two_ats);
    h.peer->clear_written();

    std::vector<smtpio::message> msgs;
    msgs.push_back(make(utf8_sender, true));         // 0: valid with SMTPUTF8
    msgs.push_back(make(utf8_sender, false));        // 1: the same octets, without it: refused
    msgs.push_back(make(utf8_sender, true));         // 2: valid again
    msgs.push_back(make("a@example.org", false));    // 3
    msgs.push_back(make("a@example.org", false));    // 4: the same, checked once
    msgs.push_back(make("bad@@example.org", false)); // 5: refused
    msgs.push_back(
        make("bad@@example.org", false));         // 6: refused again (a refusal is not remembered as a pass)
    msgs.push_back(make("a@example.org", false)); // 7
    auto [batch_ec, results] = h.send_batch(std::move(msgs));
    CHECK_FALSE(batch_ec);
    REQUIRE(results.size() == 8);
    const std::vector<bool> delivered = {true, false, true, true, true, false, false, true};
    for (std::size_t i = 0; i < results.size(); ++i) {
        INFO("message " << i);
        if (delivered[i]) {
            CHECK(results[i].outcome == message_outcome::delivered);
        } else {
            CHECK(results[i].outcome == message_outcome::not_sent);
        }
    }
    CHECK(results[1].error == utf8_without);
    CHECK(results[5].error == two_ats);
    CHECK(results[6].error == two_ats);
    // Nothing of the refused messages went out.
    CHECK(h.peer->written().find("bad@@") == std::string::npos);
    std::size_t utf8_mail = 0;
    for (const auto& line : h.model->command_lines())
        if (line.rfind("MAIL FROM:<" + utf8_sender + ">", 0) == 0) {
            ++utf8_mail;
            CHECK(line.find("SMTPUTF8") != std::string::npos);
        }
    CHECK(utf8_mail == 2);
    CHECK(h.model->messages().size() == 5);
}

// What every result's `tls` gets: the session's report, field by field (a fresh
// report's empty strings are left alone).
TEST_CASE("session: a result's TLS report is the session's, every field", "[session][send]") {
    smtpio::tls::report from;
    from.attempted = true;
    from.established = true;
    from.version = "TLSv1.3";
    from.cipher = "TLS_AES_256_GCM_SHA384";
    from.group = "X25519";
    from.cipher_bits = 256;
    from.cipher_alg_bits = 255;
    from.chain_length = 3;
    from.verified = true;
    from.dane_authenticated = false;
    from.result = smtpio::tls::verify_result::certificate_host_mismatch;
    from.detail = "a detail longer than any inline string storage";
    from.policy = "verify";
    from.resumed = true;
    from.reference_name = "mx.example.test";
    smtpio::tls::report to;
    smtpio::detail::copy_into_fresh(to, from);
    CHECK(to.attempted);
    CHECK(to.established);
    CHECK(to.version == from.version);
    CHECK(to.cipher == from.cipher);
    CHECK(to.group == from.group);
    CHECK(to.cipher_bits == 256);
    CHECK(to.cipher_alg_bits == 255);
    CHECK(to.chain_length == 3);
    CHECK(to.verified);
    CHECK_FALSE(to.dane_authenticated);
    CHECK(to.result == smtpio::tls::verify_result::certificate_host_mismatch);
    CHECK(to.detail == from.detail);
    CHECK(to.policy == from.policy);
    CHECK(to.resumed);
    CHECK(to.reference_name == from.reference_name);
    CHECK(to.received_clause() == from.received_clause());
    from.dane_authenticated = true;
    from.verified = false;
    smtpio::tls::report to2;
    smtpio::detail::copy_into_fresh(to2, from);
    CHECK(to2.dane_authenticated);
    CHECK_FALSE(to2.verified);
}
