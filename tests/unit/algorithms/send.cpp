// Scripted tests of proto::send_algorithm: pipelined and lock-step transactions,
// every outcome, DATA and BDAT, batches, early replies, lost connections.  Every
// write is compared byte for byte.
#include "common.hpp"

#include <smtpio/envelope.hpp>
#include <smtpio/proto/send_algorithm.hpp>
#include <smtpio/result.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

using smtpio::errc;
using smtpio::message_outcome;
using smtpio::outcome;
using smtpio::proto::phase;
namespace proto = smtpio::proto;
namespace test = smtpio::test;

namespace {

using driver = test::algo_driver<proto::send_algorithm>;

constexpr std::string_view caps_pipe = "250-mx.example.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n";
constexpr std::string_view caps_lockstep = "250-mx.example.test\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n";
constexpr std::string_view caps_chunking =
    "250-mx.example.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250 ENHANCEDSTATUSCODES\r\n";

// A body source that returns the given pieces, then the end; optionally fails at a piece.
struct pieces_body final : proto::body_source {
    std::vector<std::string> pieces;
    std::size_t next_piece = 0;
    std::optional<std::size_t> fail_at;
    std::string_view next(std::error_code& ec) override {
        ec.clear();
        if (fail_at && next_piece == *fail_at) {
            ec = std::make_error_code(std::errc::io_error);
            return {};
        }
        if (next_piece < pieces.size()) return pieces[next_piece++];
        return {};
    }
};

// One message: envelope, body, result, plan.
struct msg {
    smtpio::envelope env;
    pieces_body body;
    smtpio::transaction_result result;

    msg(std::string from, std::vector<smtpio::recipient> to, std::vector<std::string> pieces = {"Subject: t\r\n\r\nhello\r\n"}) {
        env.from = std::move(from);
        env.to = std::move(to);
        body.pieces = std::move(pieces);
    }
    proto::message_plan plan(proto::encoding enc = proto::encoding::dot_stuffed) {
        proto::message_plan p;
        p.env = &env;
        p.body = &body;
        p.result = &result;
        p.enc = enc;
        if (enc == proto::encoding::binary) p.mail.body = smtpio::body_type::binary;
        return p;
    }
};

constexpr std::string_view body_wire = "Subject: t\r\n\r\nhello\r\n.\r\n";

struct fixture {
    proto::connection_state st;
    std::vector<proto::message_plan> plans;
    std::optional<proto::send_algorithm> algo;
    std::optional<driver> d;

    fixture(std::string_view caps, std::vector<proto::message_plan> p, proto::send_config cfg = {}) : plans(std::move(p)) {
        test::make_open(st, caps, true);
        cfg.pipelining = st.caps.pipelining();
        algo.emplace(st, std::span<proto::message_plan>(plans), cfg);
        d.emplace(st, *algo);
    }
};

void check_outcomes(const smtpio::transaction_result& r, std::vector<outcome> want) {
    REQUIRE(r.recipients.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO("recipient " << i << " " << r.recipients[i].address);
        CHECK(r.recipients[i].outcome == want[i]);
    }
}

} // namespace

TEST_CASE("send: pipelined MAIL, RCPTs and DATA in one write", "[algorithms][send]") {
    msg m("a@example.org", {"b@example.com", "c@example.com"});
    fixture f(caps_pipe, {m.plan()});
    auto& d = *f.d;
    d.expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n",
                   phase::mail);
    d.expect_read(phase::mail).reply("250 2.1.0 ok\r\n").expect_read(phase::rcpt);
    d.reply("250 2.1.5 ok\r\n250 2.1.5 ok\r\n").expect_read(phase::data_init).reply("354 go ahead\r\n");
    d.expect_data_write(body_wire, false, body_wire.size()).expect_read(phase::data_end);
    d.reply("250 2.0.0 queued as 1\r\n").expect_done();
    CHECK(m.result.outcome == message_outcome::delivered);
    check_outcomes(m.result, {outcome::accepted, outcome::accepted});
    CHECK(m.result.recipients[0].reply.code == 250);
    CHECK(m.result.recipients[0].reply.text == "queued as 1");
    CHECK(m.result.recipients[0].reply.enhanced.to_string() == "2.0.0");
    CHECK(m.result.reply.code == 250);
    CHECK_FALSE(m.result.error);
    CHECK(m.result.data_octets == body_wire.size());
    CHECK_FALSE(f.st.in_transaction);
    CHECK_FALSE(f.st.broken);
}

TEST_CASE("send: a rejected recipient in the middle", "[algorithms][send]") {
    msg m("a@example.org", {"b@example.com", "bad@example.com", "d@example.com"});
    fixture f(caps_pipe, {m.plan()});
    auto& d = *f.d;
    d.expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<bad@example.com>\r\n"
                   "RCPT TO:<d@example.com>\r\nDATA\r\n");
    d.reply("250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n");
    d.expect_data_write(body_wire, false).reply("250 2.0.0 queued\r\n").expect_done();
    CHECK(m.result.outcome == message_outcome::partial);
    check_outcomes(m.result, {outcome::accepted, outcome::rejected, outcome::accepted});
    CHECK(m.result.recipients[1].reply.code == 550);
    CHECK(m.result.recipients[1].reply.enhanced.to_string() == "5.1.1");
    CHECK(m.result.recipients[1].reply.text == "no such user");
    CHECK(m.result.recipients[2].reply.code == 250);
}

TEST_CASE("send: every recipient rejected and 354 to DATA: only the dot is sent", "[algorithms][send]") {
    msg m("a@example.org", {"x@example.com", "y@example.com"});
    fixture f(caps_pipe, {m.plan()});
    auto& d = *f.d;
    d.expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<x@example.com>\r\nRCPT TO:<y@example.com>\r\nDATA\r\n");
    d.reply("250 ok\r\n550 5.1.1 no\r\n450 4.2.1 busy\r\n354 go\r\n");
    d.expect_data_write(".\r\n", false, 3).reply("554 5.5.1 no valid recipients\r\n").expect_done();
    check_outcomes(m.result, {outcome::rejected, outcome::deferred});
    CHECK(m.result.outcome == message_outcome::deferred);
    CHECK(m.result.recipients[0].reply.code == 550);
    CHECK(m.result.recipients[1].reply.code == 450);
    CHECK(m.body.next_piece == 0); // the body was never read
    CHECK_FALSE(f.st.in_transaction);
    CHECK_FALSE(f.st.broken);
}

TEST_CASE("send: every recipient rejected and DATA refused", "[algorithms][send]") {
    msg m("a@example.org", {"x@example.com"});
    fixture f(caps_pipe, {m.plan()});
    auto& d = *f.d;
    d.expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n");
    d.reply("250 ok\r\n550 5.1.1 no\r\n554 5.5.1 no valid recipients\r\n").expect_done();
    CHECK(m.result.outcome == message_outcome::rejected);
    CHECK(f.st.in_transaction); // MAIL was accepted: RSET is due before the next transaction
}

TEST_CASE("send: 452 after N recipients leaves the rest deferred", "[algorithms][send]") {
    SECTION("pipelined: each RCPT gets its 452") {
        msg m("a@example.org", {"r1@example.com", "r2@example.com", "r3@example.com", "r4@example.com"});
        fixture f(caps_pipe, {m.plan()});
        auto& d = *f.d;
        d.expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<r1@example.com>\r\nRCPT TO:<r2@example.com>\r\n"
                       "RCPT TO:<r3@example.com>\r\nRCPT TO:<r4@example.com>\r\nDATA\r\n");
        d.reply("250 ok\r\n250 ok\r\n250 ok\r\n452 4.5.3 too many recipients\r\n452 4.5.3 too many recipients\r\n"
                "354 go\r\n");
        d.expect_data_write(body_wire, false).reply("250 queued\r\n").expect_done();
        check_outcomes(m.result, {outcome::accepted, outcome::accepted, outcome::deferred, outcome::deferred});
        CHECK(m.result.outcome == message_outcome::partial);
        CHECK(m.result.recipients[3].reply.code == 452);
    }
    SECTION("lock-step: the first 452 stops the RCPTs") {
        msg m("a@example.org", {"r1@example.com", "r2@example.com", "r3@example.com"});
        fixture f(caps_lockstep, {m.plan()});
        auto& d = *f.d;
        d.expect_write("MAIL FROM:<a@example.org>\r\n").reply("250 ok\r\n");
        d.expect_write("RCPT TO:<r1@example.com>\r\n").reply("250 ok\r\n");
        d.expect_write("RCPT TO:<r2@example.com>\r\n").reply("452 4.5.3 too many recipients\r\n");
        d.expect_write("DATA\r\n").reply("354 go\r\n");
        d.expect_data_write(body_wire, false).reply("250 queued\r\n").expect_done();
        check_outcomes(m.result, {outcome::accepted, outcome::deferred, outcome::deferred});
        CHECK(m.result.recipients[2].reply.code == 452);
    }
    SECTION("100 recipients, 452 after 50") {
        std::vector<smtpio::recipient> to;
        std::string cmds = "MAIL FROM:<a@example.org>\r\n", replies = "250 ok\r\n";
        for (int i = 0; i < 100; ++i) {
            to.emplace_back("r" + std::to_string(i) + "@example.com");
            cmds += "RCPT TO:<r" + std::to_string(i) + "@example.com>\r\n";
            replies += i < 50 ? "250 ok\r\n" : "452 4.5.3 too many\r\n";
        }
        msg m("a@example.org", to);
        fixture f(caps_pipe, {m.plan()});
        auto& d = *f.d;
        d.expect_write(cmds + "DATA\r\n").reply(replies + "354 go\r\n");
        d.expect_data_write(body_wire, false).reply("250 queued\r\n").expect_done();
        CHECK(m.result.count(outcome::accepted) == 50);
        CHECK(m.result.count(outcome::deferred) == 50);
        CHECK(m.result.recipients[50].outcome == outcome::deferred);
    }
}

TEST_CASE("send: command groups are bounded by max_group", "[algorithms][send]") {
    msg m("a@example.org", {"r1@example.com", "r2@example.com", "r3@example.com"});
    proto::send_config cfg;
    cfg.max_group = 2;
    fixture f(caps_pipe, {m.plan()}, cfg);
    auto& d = *f.d;
    d.expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<r1@example.com>\r\n").reply("250 ok\r\n250 ok\r\n");
    d.expect_write("RCPT TO:<r2@example.com>\r\nRCPT TO:<r3@example.com>\r\n").reply("250 ok\r\n250 ok\r\n");
    d.expect_write("DATA\r\n").reply("354 go\r\n").expect_data_write(body_wire, false).reply("250 ok\r\n");
    d.expect_done();
    CHECK(m.result.outcome == message_outcome::delivered);
}

TEST_CASE("send: 421 at every stage defers every open recipient and ends the session", "[algorithms][send]") {
    const std::string group = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n";
    SECTION("to MAIL") {
        msg m("a@example.org", {"b@example.com", "c@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->expect_write(group).reply("421 4.3.2 closing\r\n").expect_done(errc::service_not_available);
        check_outcomes(m.result, {outcome::deferred, outcome::deferred});
        CHECK(m.result.outcome == message_outcome::deferred);
        CHECK(m.result.error == errc::service_not_available);
        CHECK(m.result.recipients[0].reply.code == 421);
        CHECK(f.st.broken);
    }
    SECTION("to the second RCPT") {
        msg m("a@example.org", {"b@example.com", "c@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n421 4.3.2 closing\r\n").expect_done(errc::service_not_available);
        check_outcomes(m.result, {outcome::deferred, outcome::deferred});
        CHECK(f.st.broken);
    }
    SECTION("to DATA") {
        msg m("a@example.org", {"b@example.com", "c@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n250 ok\r\n421 4.3.2 closing\r\n");
        f.d->expect_done(errc::service_not_available);
        check_outcomes(m.result, {outcome::deferred, outcome::deferred});
    }
    SECTION("to the end of data: deferred, not unknown (the server answered)") {
        msg m("a@example.org", {"b@example.com", "c@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n").expect_data_write(body_wire, false);
        f.d->reply("421 4.3.2 closing\r\n").expect_done(errc::service_not_available);
        check_outcomes(m.result, {outcome::deferred, outcome::deferred});
        CHECK(m.result.outcome == message_outcome::deferred);
        CHECK(f.st.broken);
    }
    SECTION("lock-step, to RCPT") {
        msg m("a@example.org", {"b@example.com", "c@example.com"});
        fixture f(caps_lockstep, {m.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\n").reply("250 ok\r\n");
        f.d->expect_write("RCPT TO:<b@example.com>\r\n").reply("421 4.3.2 closing\r\n");
        f.d->expect_done(errc::service_not_available);
        check_outcomes(m.result, {outcome::deferred, outcome::deferred});
        CHECK(f.st.wbuf.empty());
    }
}

TEST_CASE("send: MAIL rejected", "[algorithms][send]") {
    SECTION("pipelined: the RCPT and DATA replies only echo it") {
        msg m("a@example.org", {"b@example.com", "c@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n");
        f.d->reply("550 5.7.1 sender refused\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n");
        f.d->expect_done();
        CHECK(m.result.outcome == message_outcome::rejected);
        check_outcomes(m.result, {outcome::rejected, outcome::rejected});
        CHECK(m.result.recipients[0].reply.code == 550);
        CHECK(m.result.reply.code == 550);
        CHECK_FALSE(m.result.error);
        CHECK_FALSE(f.st.in_transaction);
        CHECK_FALSE(f.st.broken);
    }
    SECTION("pipelined: a temporary refusal defers") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
        f.d->reply("451 4.3.0 try later\r\n503 need MAIL\r\n503 need MAIL\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::deferred);
        CHECK(m.result.recipients[0].reply.code == 451);
    }
    SECTION("lock-step: nothing more is written") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_lockstep, {m.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\n").reply("553 5.1.8 bad sender\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::rejected);
        CHECK(m.result.recipients[0].reply.code == 553);
    }
}

TEST_CASE("send: DATA rejected defers or rejects the accepted recipients", "[algorithms][send]") {
    msg m("a@example.org", {"b@example.com", "c@example.com"});
    fixture f(caps_pipe, {m.plan()});
    f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n");
    f.d->reply("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n451 4.3.0 local error\r\n").expect_done();
    check_outcomes(m.result, {outcome::deferred, outcome::rejected});
    CHECK(m.result.recipients[0].reply.code == 451);
    CHECK(m.result.reply.code == 451);
    CHECK(m.result.outcome == message_outcome::deferred);
    CHECK(f.st.in_transaction);
}

TEST_CASE("send: lock-step without PIPELINING", "[algorithms][send]") {
    msg m("a@example.org", {"b@example.com", "c@example.com"});
    fixture f(caps_lockstep, {m.plan()});
    auto& d = *f.d;
    d.expect_write("MAIL FROM:<a@example.org>\r\n").reply("250 ok\r\n");
    d.expect_write("RCPT TO:<b@example.com>\r\n").expect_read(phase::rcpt).reply("550 no\r\n");
    d.expect_write("RCPT TO:<c@example.com>\r\n").reply("250 ok\r\n");
    d.expect_write("DATA\r\n").expect_read(phase::data_init).reply("354 go\r\n");
    d.expect_data_write(body_wire, false).reply("250 ok\r\n").expect_done();
    check_outcomes(m.result, {outcome::rejected, outcome::accepted});

    SECTION("no recipient accepted: no DATA, RSET before the next message") {
        msg a("a@example.org", {"x@example.com"});
        msg b("a@example.org", {"y@example.com"});
        fixture g(caps_lockstep, {a.plan(), b.plan()});
        g.d->expect_write("MAIL FROM:<a@example.org>\r\n").reply("250 ok\r\n");
        g.d->expect_write("RCPT TO:<x@example.com>\r\n").reply("550 no\r\n");
        g.d->expect_write("RSET\r\n", phase::rset).reply("250 ok\r\n");
        g.d->expect_write("MAIL FROM:<a@example.org>\r\n").reply("250 ok\r\n");
        g.d->expect_write("RCPT TO:<y@example.com>\r\n").reply("250 ok\r\n");
        g.d->expect_write("DATA\r\n").reply("354 go\r\n").expect_data_write(body_wire, false).reply("250 ok\r\n");
        g.d->expect_done();
        CHECK(a.result.outcome == message_outcome::rejected);
        CHECK(b.result.outcome == message_outcome::delivered);
    }
}

TEST_CASE("send: a batch ends one message and starts the next in one write", "[algorithms][send][batch]") {
    msg a("a@example.org", {"b@example.com"});
    msg b("a@example.org", {"c@example.com", "d@example.com"});
    fixture f(caps_pipe, {a.plan(), b.plan()});
    auto& d = *f.d;
    d.expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
    d.reply("250 ok\r\n250 ok\r\n354 go\r\n");
    const std::string batch = std::string(body_wire) +
                              "MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\nRCPT TO:<d@example.com>\r\nDATA\r\n";
    d.expect_data_write(batch, false, body_wire.size()).expect_read(phase::data_end);
    d.reply("250 2.0.0 queued as A\r\n250 ok\r\n250 ok\r\n550 5.1.1 no\r\n354 go\r\n");
    d.expect_data_write(body_wire, false).reply("250 2.0.0 queued as B\r\n").expect_done();
    CHECK(a.result.outcome == message_outcome::delivered);
    CHECK(a.result.reply.text == "queued as A");
    CHECK(b.result.outcome == message_outcome::partial);
    check_outcomes(b.result, {outcome::accepted, outcome::rejected});
    CHECK(b.result.recipients[0].reply.text == "queued as B");
    CHECK(a.result.data_octets == body_wire.size());
}

TEST_CASE("send: RSET before the next transaction only when one is left open", "[algorithms][send][batch]") {
    SECTION("after a delivered message: none") {
        msg a("a@example.org", {"b@example.com"});
        msg b("a@example.org", {"c@example.com"});
        fixture f(caps_pipe, {a.plan(), b.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
        f.d->reply("250 ok\r\n250 ok\r\n354 go\r\n");
        f.d->expect_data_write(std::string(body_wire) + "MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n",
                               false);
        f.d->reply("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n").expect_data_write(body_wire, false).reply("250 ok\r\n");
        f.d->expect_done();
    }
    SECTION("after MAIL was refused: none (no transaction was open)") {
        msg a("a@example.org", {"b@example.com"});
        msg b("a@example.org", {"c@example.com"});
        fixture f(caps_pipe, {a.plan(), b.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
        f.d->reply("550 no\r\n503 no\r\n503 no\r\n");
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n");
        f.d->reply("250 ok\r\n250 ok\r\n354 go\r\n").expect_data_write(body_wire, false).reply("250 ok\r\n");
        f.d->expect_done();
        CHECK(a.result.outcome == message_outcome::rejected);
        CHECK(b.result.outcome == message_outcome::delivered);
    }
    SECTION("after DATA was refused: RSET alone, then the next group") {
        msg a("a@example.org", {"b@example.com"});
        msg b("a@example.org", {"c@example.com"});
        fixture f(caps_pipe, {a.plan(), b.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
        f.d->reply("250 ok\r\n250 ok\r\n451 4.3.0 later\r\n");
        f.d->expect_write("RSET\r\n", phase::rset).expect_read(phase::rset).reply("250 ok\r\n");
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n");
        f.d->reply("250 ok\r\n250 ok\r\n354 go\r\n").expect_data_write(body_wire, false).reply("250 ok\r\n");
        f.d->expect_done();
        CHECK(a.result.outcome == message_outcome::deferred);
        CHECK(b.result.outcome == message_outcome::delivered);
    }
    SECTION("RSET refused ends the batch") {
        msg a("a@example.org", {"b@example.com"});
        msg b("a@example.org", {"c@example.com"});
        fixture f(caps_pipe, {a.plan(), b.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
        f.d->reply("250 ok\r\n250 ok\r\n451 4.3.0 later\r\n");
        f.d->expect_write("RSET\r\n").reply("500 what\r\n").expect_done(errc::reset_failed);
        CHECK(a.result.outcome == message_outcome::deferred);
        CHECK(b.result.outcome == message_outcome::deferred);
        CHECK(b.result.error == errc::reset_failed);
        CHECK(f.st.broken);
    }
}

TEST_CASE("send: BDAT", "[algorithms][send][bdat]") {
    SECTION("a small message goes whole with BDAT LAST in the command group") {
        msg m("a@example.org", {"b@example.com"}, {"Subject: t\n\n.hello\n"});
        fixture f(caps_chunking, {m.plan(proto::encoding::chunked)});
        // Line ends normalised, no dot-stuffing (RFC 3030).
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 22 LAST\r\n"
                          "Subject: t\r\n\r\n.hello\r\n",
                          phase::data_block);
        f.d->reply("250 ok\r\n250 ok\r\n").expect_read(phase::data_end).reply("250 2.0.0 queued\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::delivered);
        CHECK(m.result.data_octets == 22);
        CHECK_FALSE(f.st.in_transaction);
    }
    SECTION("a large message goes in chunks, each with its reply") {
        msg m("a@example.org", {"b@example.com"}, {"0123456789", "abcdefghij\r\n"});
        proto::send_config cfg;
        cfg.block_size = 8;
        fixture f(caps_chunking, {m.plan(proto::encoding::chunked)}, cfg);
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n").reply("250 ok\r\n250 ok\r\n");
        f.d->expect_data_write("BDAT 8\r\n01234567", false).expect_read(phase::data_block).reply("250 8 octets\r\n");
        f.d->expect_data_write("BDAT 8\r\n89abcdef", false).reply("250 16 octets\r\n");
        f.d->expect_data_write("BDAT 6 LAST\r\nghij\r\n", false).expect_read(phase::data_end).reply("250 queued\r\n");
        f.d->expect_done();
        CHECK(m.result.outcome == message_outcome::delivered);
        CHECK(m.result.data_octets == 22);
    }
    SECTION("BINARYMIME: octets unchanged, BODY=BINARYMIME") {
        std::string raw("bin\0ary\nline\r", 13);
        msg m("a@example.org", {"b@example.com"}, {raw});
        fixture f(caps_chunking, {m.plan(proto::encoding::binary)});
        f.d->expect_write("MAIL FROM:<a@example.org> BODY=BINARYMIME\r\nRCPT TO:<b@example.com>\r\nBDAT 13 LAST\r\n" + raw);
        f.d->reply("250 ok\r\n250 ok\r\n250 ok\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::delivered);
    }
    SECTION("a failed chunk stops the chunks; RSET is due") {
        msg m("a@example.org", {"b@example.com"}, {"0123456789abcdefghij\r\n"});
        proto::send_config cfg;
        cfg.block_size = 8;
        fixture f(caps_chunking, {m.plan(proto::encoding::chunked)}, cfg);
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n").reply("250 ok\r\n250 ok\r\n");
        f.d->expect_data_write("BDAT 8\r\n01234567", false).reply("552 5.3.4 too big\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::rejected);
        CHECK(m.result.reply.code == 552);
        CHECK(f.st.in_transaction);
    }
    SECTION("inline BDAT LAST with every recipient refused") {
        msg m("a@example.org", {"x@example.com"});
        fixture f(caps_chunking, {m.plan(proto::encoding::chunked)});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<x@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n");
        f.d->reply("250 ok\r\n550 no\r\n554 5.5.1 no valid recipients\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::rejected);
        CHECK(m.result.recipients[0].reply.code == 550);
        CHECK(f.st.in_transaction); // RFC 3030: after a failed BDAT, RSET
    }
    SECTION("lock-step BDAT") {
        msg m("a@example.org", {"b@example.com"});
        fixture f("250-mx\r\n250 CHUNKING\r\n", {m.plan(proto::encoding::chunked)});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\n").reply("250 ok\r\n");
        f.d->expect_write("RCPT TO:<b@example.com>\r\n").reply("250 ok\r\n");
        f.d->expect_data_write("BDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n", false).reply("250 ok\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::delivered);
    }
}

TEST_CASE("send: the connection lost before the end of data: deferred", "[algorithms][send][faults]") {
    const std::string group = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n";
    SECTION("writing the group") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->fail_write(group, errc::connection_closed, 10).expect_done(errc::connection_closed);
        check_outcomes(m.result, {outcome::deferred});
        CHECK(m.result.error == errc::connection_closed);
        CHECK(f.st.broken);
    }
    SECTION("reading the replies") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->expect_write(group).reply("250 ok\r\n").read_error(errc::command_timeout).expect_done(errc::command_timeout);
        check_outcomes(m.result, {outcome::deferred});
        CHECK(m.result.outcome == message_outcome::deferred);
    }
    SECTION("writing the data, end of data not fully written") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n354 go\r\n");
        f.d->fail_write(body_wire, errc::connection_closed, body_wire.size() - 1).expect_done(errc::connection_closed);
        check_outcomes(m.result, {outcome::deferred});
    }
    SECTION("the body source fails") {
        msg m("a@example.org", {"b@example.com"}, {"part one\r\n", "part two\r\n"});
        m.body.fail_at = 1;
        proto::send_config cfg;
        cfg.block_size = 4;
        fixture f(caps_pipe, {m.plan()}, cfg);
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n354 go\r\n");
        f.d->expect_data_write("part", true).expect_data_write(" one", true);
        f.d->expect_done(errc::body_read_failed);
        check_outcomes(m.result, {outcome::deferred});
        CHECK(m.result.error == errc::body_read_failed);
        CHECK(f.st.broken); // DATA cannot be ended cleanly
    }
}

TEST_CASE("send: the connection lost after the end of data: unknown", "[algorithms][send][faults]") {
    const std::string group = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n";
    SECTION("no reply to the end of data") {
        msg m("a@example.org", {"b@example.com", "c@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n").expect_data_write(body_wire, false);
        f.d->read_error(errc::end_of_data_timeout).expect_done(errc::end_of_data_timeout);
        check_outcomes(m.result, {outcome::unknown, outcome::rejected});
        CHECK(m.result.outcome == message_outcome::unknown);
        CHECK(m.result.error == errc::end_of_data_timeout);
    }
    SECTION("a truncated reply to the end of data") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
        f.d->reply("250 ok\r\n250 ok\r\n354 go\r\n").expect_data_write(body_wire, false).reply("250 que");
        f.d->read_error(errc::reply_truncated).expect_done(errc::reply_truncated);
        check_outcomes(m.result, {outcome::unknown});
    }
    SECTION("BDAT LAST written, no reply") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_chunking, {m.plan(proto::encoding::chunked)});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n");
        f.d->reply("250 ok\r\n250 ok\r\n").read_error(errc::connection_closed).expect_done(errc::connection_closed);
        check_outcomes(m.result, {outcome::unknown});
    }
    SECTION("BDAT LAST not fully written") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_chunking, {m.plan(proto::encoding::chunked)});
        const std::string all =
            "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n";
        f.d->fail_write(all, errc::connection_closed, all.size() - 1).expect_done(errc::connection_closed);
        check_outcomes(m.result, {outcome::deferred});
    }
    SECTION("in a batch: the first message's end of data went out, the next MAIL did not") {
        msg a("a@example.org", {"b@example.com"});
        msg b("a@example.org", {"c@example.com"});
        fixture f(caps_pipe, {a.plan(), b.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n").reply("250 ok\r\n250 ok\r\n354 go\r\n");
        const std::string batch = std::string(body_wire) + "MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n";
        f.d->fail_write(batch, errc::connection_closed, body_wire.size() + 4).expect_done(errc::connection_closed);
        CHECK(a.result.outcome == message_outcome::unknown);
        CHECK(b.result.outcome == message_outcome::deferred);
        CHECK(b.result.error == errc::connection_closed);
    }
}

TEST_CASE("send: a reply while the data is still being written decides the message", "[algorithms][send][early]") {
    const std::string group = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n";
    auto start = [&](msg& m, fixture& f) {
        (void)m;
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n354 go\r\n");
    };
    proto::send_config cfg;
    cfg.block_size = 8;
    SECTION("552: stop writing, rejected") {
        msg m("a@example.org", {"b@example.com"}, {std::string(64, 'x') + "\r\n"});
        fixture f(caps_pipe, {m.plan()}, cfg);
        start(m, f);
        f.d->expect_data_write("xxxxxxxx", true, 8).expect_write_with_early("xxxxxxxx", "552 5.3.4 message too big\r\n");
        f.d->expect_done();
        check_outcomes(m.result, {outcome::rejected});
        CHECK(m.result.reply.code == 552);
        CHECK(m.result.outcome == message_outcome::rejected);
        CHECK(f.st.broken); // the data was not ended: the connection cannot be reused
    }
    SECTION("the server closes: deferred") {
        msg m("a@example.org", {"b@example.com"}, {std::string(64, 'x') + "\r\n"});
        fixture f(caps_pipe, {m.plan()}, cfg);
        start(m, f);
        f.d->expect_write_with_early("xxxxxxxx", "", errc::connection_closed).expect_done(errc::connection_closed);
        check_outcomes(m.result, {outcome::deferred});
    }
    SECTION("421: deferred") {
        msg m("a@example.org", {"b@example.com"}, {std::string(64, 'x') + "\r\n"});
        fixture f(caps_pipe, {m.plan()}, cfg);
        start(m, f);
        f.d->expect_write_with_early("xxxxxxxx", "421 4.3.2 closing\r\n").expect_done(errc::service_not_available);
        check_outcomes(m.result, {outcome::deferred});
        CHECK(m.result.recipients[0].reply.code == 421);
    }
    SECTION("a partial reply: keep writing") {
        msg m("a@example.org", {"b@example.com"}, {std::string(16, 'x') + "\r\n"});
        fixture f(caps_pipe, {m.plan()}, cfg);
        start(m, f);
        f.d->expect_write_with_early("xxxxxxxx", "552 5.3.4 mess");
        f.d->expect_write_with_early("xxxxxxxx", "age too big\r\n").expect_done();
        check_outcomes(m.result, {outcome::rejected});
    }
    SECTION("a partial reply before the last block: the end of data waits for it") {
        // The end of data must not go out while a reply sent before it is half read:
        // the server's 552 would be taken for the answer to the end of data.
        msg m("a@example.org", {"b@example.com"}, {std::string(8, 'x') + "\r\n"});
        fixture f(caps_pipe, {m.plan()}, cfg);
        start(m, f);
        f.d->expect_write_with_early("xxxxxxxx", "552 5.3.4 mess");
        f.d->expect_read(phase::data_block).reply("age too big\r\n").expect_done();
        check_outcomes(m.result, {outcome::rejected});
        CHECK(m.result.reply.code == 552);
        CHECK(m.result.data_octets == 8); // the dot never went out
        CHECK(f.st.broken);
    }
    SECTION("a partial reply before the last block, then the server closes") {
        msg m("a@example.org", {"b@example.com"}, {std::string(8, 'x') + "\r\n"});
        fixture f(caps_pipe, {m.plan()}, cfg);
        start(m, f);
        f.d->expect_write_with_early("xxxxxxxx", "552 5.3.4 mess");
        f.d->expect_read(phase::data_block).read_error(errc::connection_closed).expect_done(errc::connection_closed);
        check_outcomes(m.result, {outcome::deferred});
    }
    SECTION("garbage") {
        msg m("a@example.org", {"b@example.com"}, {std::string(64, 'x') + "\r\n"});
        fixture f(caps_pipe, {m.plan()}, cfg);
        start(m, f);
        f.d->expect_write_with_early("xxxxxxxx", "hello\r\n").expect_done(errc::reply_malformed);
        check_outcomes(m.result, {outcome::deferred});
    }
    SECTION("an unsolicited 250") {
        msg m("a@example.org", {"b@example.com"}, {std::string(64, 'x') + "\r\n"});
        fixture f(caps_pipe, {m.plan()}, cfg);
        start(m, f);
        f.d->expect_write_with_early("xxxxxxxx", "250 ok\r\n").expect_done(errc::unsolicited_reply);
        check_outcomes(m.result, {outcome::deferred});
    }
}

TEST_CASE("send: data blocks are written duplex, the last one not", "[algorithms][send]") {
    msg m("a@example.org", {"b@example.com"}, {"0123456789abcdef\r\n"});
    proto::send_config cfg;
    cfg.block_size = 8;
    fixture f(caps_pipe, {m.plan()}, cfg);
    f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n").reply("250 ok\r\n250 ok\r\n354 go\r\n");
    f.d->expect_data_write("01234567", true, 8).expect_data_write("89abcdef", true, 8);
    f.d->expect_data_write("\r\n.\r\n", false, 5).reply("250 ok\r\n").expect_done();
    CHECK(m.result.outcome == message_outcome::delivered);
    CHECK(m.result.data_octets == 21);
}

TEST_CASE("send: dot-stuffing and smuggling sequences on the wire", "[algorithms][send][security]") {
    msg m("a@example.org", {"b@example.com"},
          {".starts with a dot\r\nsmuggle\n.\nMAIL FROM:<x@y>\r\n", "bare\rcr\r\n.\r\n", "end"});
    fixture f(caps_pipe, {m.plan()});
    f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n").reply("250 ok\r\n250 ok\r\n354 go\r\n");
    f.d->expect_data_write("..starts with a dot\r\nsmuggle\r\n..\r\nMAIL FROM:<x@y>\r\nbare\r\ncr\r\n..\r\nend\r\n.\r\n", false);
    f.d->reply("250 ok\r\n").expect_done();
}

TEST_CASE("send: not open, and skipped plans", "[algorithms][send]") {
    SECTION("not open") {
        msg m("a@example.org", {"b@example.com"});
        std::vector<proto::message_plan> plans{m.plan()};
        proto::connection_state st;
        proto::send_algorithm algo(st, plans);
        driver d(st, algo);
        d.expect_done(errc::not_open);
        CHECK(m.result.outcome == message_outcome::not_sent);
        CHECK(m.result.error == errc::not_open);
    }
    SECTION("a skipped plan is left alone") {
        msg a("a@example.org", {"b@example.com"});
        msg b("a@example.org", {"c@example.com"});
        auto pa = a.plan();
        pa.skip = true;
        a.result.outcome = message_outcome::not_sent;
        a.result.error = errc::message_too_big;
        fixture f(caps_pipe, {pa, b.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n").reply("250 ok\r\n250 ok\r\n354 go\r\n");
        f.d->expect_data_write(body_wire, false).reply("250 ok\r\n").expect_done();
        CHECK(a.result.outcome == message_outcome::not_sent);
        CHECK(a.result.error == errc::message_too_big);
        CHECK(b.result.outcome == message_outcome::delivered);
    }
}

TEST_CASE("send: replies out of step and reply codes", "[algorithms][send][unsolicited]") {
    SECTION("lock-step: an extra reply after MAIL's ends the session before RCPT") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_lockstep, {m.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\n").reply("250 ok\r\n250 extra\r\n");
        f.d->expect_done(errc::unsolicited_reply);
        check_outcomes(m.result, {outcome::deferred});
        CHECK(m.result.error == errc::unsolicited_reply);
        CHECK(f.st.wbuf.empty());
        CHECK(f.st.broken);
    }
    SECTION("251 and 252 to RCPT accept the recipient") {
        msg m("a@example.org", {"b@example.com", "c@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n");
        f.d->reply("250 ok\r\n251 2.1.5 will forward\r\n252 2.1.5 cannot verify, will try\r\n354 go\r\n");
        f.d->expect_data_write(body_wire, false).reply("250 ok\r\n").expect_done();
        check_outcomes(m.result, {outcome::accepted, outcome::accepted});
    }
    SECTION("a 2yz that is not 25x to MAIL is a protocol error") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_lockstep, {m.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\n").reply("220 what\r\n").expect_done(errc::unexpected_reply);
        check_outcomes(m.result, {outcome::deferred});
        CHECK(f.st.broken);
    }
    SECTION("354 to the end of data is a protocol error, recipients unknown") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_pipe, {m.plan()});
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n").reply("250 ok\r\n250 ok\r\n354 go\r\n");
        f.d->expect_data_write(body_wire, false).reply("354 again?\r\n").expect_done(errc::unexpected_reply);
        // The end of data went out and no valid reply came: it may have been delivered.
        check_outcomes(m.result, {outcome::unknown});
    }
}

TEST_CASE("send: BDAT window: several small messages in one write", "[algorithms][send][bdat][window]") {
    const std::string one = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n";
    const std::string two = "RSET\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n";
    const std::string three = "RSET\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<d@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n";
    msg a("a@example.org", {"b@example.com"});
    msg b("a@example.org", {"c@example.com"});
    msg c("a@example.org", {"d@example.com"});
    auto plans = [&] {
        return std::vector<proto::message_plan>{a.plan(proto::encoding::chunked), b.plan(proto::encoding::chunked),
                                                c.plan(proto::encoding::chunked)};
    };
    SECTION("every message delivered, one write, one read of every reply") {
        fixture f(caps_chunking, plans());
        f.d->expect_write(one + two + three, phase::data_block);
        f.d->reply("250 ok\r\n250 ok\r\n250 2.0.0 queued as A\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 2.0.0 queued as B\r\n"
                   "250 ok\r\n250 ok\r\n250 ok\r\n250 2.0.0 queued as C\r\n");
        f.d->expect_done();
        CHECK(a.result.outcome == message_outcome::delivered);
        CHECK(b.result.outcome == message_outcome::delivered);
        CHECK(c.result.outcome == message_outcome::delivered);
        CHECK(a.result.reply.text == "queued as A");
        CHECK(b.result.recipients[0].reply.text == "queued as B");
        CHECK(c.result.recipients[0].reply.text == "queued as C");
        CHECK(c.result.data_octets == 21);
        CHECK_FALSE(f.st.in_transaction);
    }
    SECTION("a refused MAIL in the middle: its 503s echo it, the next message is delivered") {
        fixture f(caps_chunking, plans());
        f.d->expect_write(one + two + three);
        f.d->reply("250 ok\r\n250 ok\r\n250 queued A\r\n250 ok\r\n550 5.7.1 sender refused\r\n503 5.5.1 no MAIL\r\n"
                   "503 5.5.1 no MAIL\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 queued C\r\n");
        f.d->expect_done();
        CHECK(a.result.outcome == message_outcome::delivered);
        CHECK(b.result.outcome == message_outcome::rejected);
        CHECK(b.result.reply.code == 550);
        CHECK(b.result.recipients[0].reply.code == 550);
        CHECK(c.result.outcome == message_outcome::delivered);
    }
    SECTION("a failed BDAT LAST: the RSET after it clears the transaction") {
        fixture f(caps_chunking, plans());
        f.d->expect_write(one + two + three);
        f.d->reply("250 ok\r\n250 ok\r\n452 4.3.1 out of space\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 queued B\r\n"
                   "250 ok\r\n250 ok\r\n250 ok\r\n554 5.6.0 content refused\r\n");
        f.d->expect_done();
        CHECK(a.result.outcome == message_outcome::deferred);
        CHECK(a.result.reply.code == 452);
        CHECK(b.result.outcome == message_outcome::delivered);
        CHECK(c.result.outcome == message_outcome::rejected);
        CHECK(c.result.recipients[0].reply.code == 554);
        CHECK(f.st.in_transaction); // the last BDAT failed: RSET is due before anything else
    }
    SECTION("RSET refused in the window: reset_failed, the messages after it unknown") {
        fixture f(caps_chunking, plans());
        f.d->expect_write(one + two + three);
        f.d->reply("250 ok\r\n250 ok\r\n250 queued A\r\n500 what\r\n").expect_done(errc::reset_failed);
        CHECK(a.result.outcome == message_outcome::delivered);
        CHECK(b.result.outcome == message_outcome::unknown);
        CHECK(c.result.outcome == message_outcome::unknown);
        CHECK(f.st.broken);
    }
    SECTION("the connection lost after the write: answered messages keep their outcome, the rest are unknown") {
        fixture f(caps_chunking, plans());
        f.d->expect_write(one + two + three);
        f.d->reply("250 ok\r\n250 ok\r\n250 queued A\r\n250 ok\r\n250 ok\r\n").read_error(errc::connection_closed);
        f.d->expect_done(errc::connection_closed);
        CHECK(a.result.outcome == message_outcome::delivered);
        CHECK_FALSE(a.result.error);
        check_outcomes(b.result, {outcome::unknown}); // RCPT accepted, the data sent, no final reply
        check_outcomes(c.result, {outcome::unknown}); // no reply at all, but every octet went out
        CHECK(c.result.error == errc::connection_closed);
    }
    SECTION("421 in the window: the messages from there on are deferred (the server takes nothing after it)") {
        fixture f(caps_chunking, plans());
        f.d->expect_write(one + two + three);
        f.d->reply("250 ok\r\n250 ok\r\n250 queued A\r\n250 ok\r\n421 4.3.2 shutting down\r\n");
        f.d->expect_done(errc::service_not_available);
        CHECK(a.result.outcome == message_outcome::delivered);
        check_outcomes(b.result, {outcome::deferred});
        CHECK(b.result.recipients[0].reply.code == 421);
        check_outcomes(c.result, {outcome::deferred});
    }
    SECTION("the write fails part way: messages wholly written are unknown, the rest deferred") {
        fixture f(caps_chunking, plans());
        f.d->fail_write(one + two + three, errc::connection_closed, one.size() + two.size() - 1);
        f.d->expect_done(errc::connection_closed);
        check_outcomes(a.result, {outcome::unknown});
        check_outcomes(b.result, {outcome::deferred});
        check_outcomes(c.result, {outcome::deferred});
    }
    SECTION("a message too large for one chunk ends the window; its chunks follow its replies") {
        msg big("a@example.org", {"c@example.com"}, {"0123456789012345678901234567890123456789\r\n"});
        proto::send_config cfg;
        cfg.block_size = 32;
        fixture f(caps_chunking, {a.plan(proto::encoding::chunked), big.plan(proto::encoding::chunked),
                                  c.plan(proto::encoding::chunked)}, cfg);
        f.d->expect_write(one);
        f.d->reply("250 ok\r\n250 ok\r\n250 queued A\r\n");
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\n").reply("250 ok\r\n250 ok\r\n");
        f.d->expect_data_write("BDAT 32\r\n01234567890123456789012345678901", false).reply("250 32 octets\r\n");
        f.d->expect_data_write("BDAT 10 LAST\r\n23456789\r\n", false).reply("250 queued big\r\n");
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<d@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n");
        f.d->reply("250 ok\r\n250 ok\r\n250 queued C\r\n").expect_done();
        CHECK(a.result.outcome == message_outcome::delivered);
        CHECK(big.result.outcome == message_outcome::delivered);
        CHECK(big.result.data_octets == 42);
        CHECK(c.result.outcome == message_outcome::delivered);
    }
    SECTION("max_group bounds the window") {
        proto::send_config cfg;
        cfg.max_group = 7; // room for the first message (3) and one more (4), not a third
        fixture f(caps_chunking, plans(), cfg);
        f.d->expect_write(one + two);
        f.d->reply("250 ok\r\n250 ok\r\n250 queued A\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 queued B\r\n");
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<d@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n");
        f.d->reply("250 ok\r\n250 ok\r\n250 queued C\r\n").expect_done();
        CHECK(c.result.outcome == message_outcome::delivered);
    }
    SECTION("bdat_window off: one message per write") {
        proto::send_config cfg;
        cfg.bdat_window = false;
        fixture f(caps_chunking, plans(), cfg);
        f.d->expect_write(one).reply("250 ok\r\n250 ok\r\n250 queued A\r\n");
        f.d->expect_write(one.substr(0, 27) + "RCPT TO:<c@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n");
        f.d->reply("250 ok\r\n250 ok\r\n250 queued B\r\n");
        f.d->expect_write(one.substr(0, 27) + "RCPT TO:<d@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n");
        f.d->reply("250 ok\r\n250 ok\r\n250 queued C\r\n").expect_done();
        CHECK(c.result.outcome == message_outcome::delivered);
    }
    SECTION("a body that cannot be read ends the window and fails when its turn comes") {
        msg bad("a@example.org", {"c@example.com"});
        bad.body.fail_at = 0;
        fixture f(caps_chunking, {a.plan(proto::encoding::chunked), bad.plan(proto::encoding::chunked),
                                  c.plan(proto::encoding::chunked)});
        f.d->expect_write(one).reply("250 ok\r\n250 ok\r\n250 queued A\r\n");
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\n").reply("250 ok\r\n250 ok\r\n");
        f.d->expect_done(errc::body_read_failed);
        CHECK(a.result.outcome == message_outcome::delivered);
        CHECK(bad.result.error == errc::body_read_failed);
        CHECK(bad.result.outcome == message_outcome::deferred);
        CHECK(c.result.outcome == message_outcome::deferred);
    }
}

TEST_CASE("send: BDAT window edges", "[algorithms][send][bdat][window]") {
    const std::string one = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n";
    const std::string two = "RSET\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n";
    SECTION("421 to the RSET: the message behind it is deferred") {
        msg a("a@example.org", {"b@example.com"});
        msg b("a@example.org", {"c@example.com"});
        fixture f(caps_chunking, {a.plan(proto::encoding::chunked), b.plan(proto::encoding::chunked)});
        f.d->expect_write(one + two).reply("250 ok\r\n250 ok\r\n250 queued A\r\n421 4.3.2 bye\r\n");
        f.d->expect_done(errc::service_not_available);
        CHECK(a.result.outcome == message_outcome::delivered);
        check_outcomes(b.result, {outcome::deferred});
    }
    SECTION("the window's last BDAT LAST fails, then a DATA message: RSET alone first") {
        msg a("a@example.org", {"b@example.com"});
        msg b("a@example.org", {"c@example.com"});
        msg c("a@example.org", {"d@example.com"});
        fixture f(caps_chunking, {a.plan(proto::encoding::chunked), b.plan(proto::encoding::chunked), c.plan()});
        f.d->expect_write(one + two);
        f.d->reply("250 ok\r\n250 ok\r\n250 queued A\r\n250 ok\r\n250 ok\r\n250 ok\r\n554 5.6.0 no\r\n");
        f.d->expect_write("RSET\r\n", phase::rset).reply("250 ok\r\n");
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<d@example.com>\r\nDATA\r\n").reply("250 ok\r\n250 ok\r\n354 go\r\n");
        f.d->expect_data_write(body_wire, false).reply("250 queued C\r\n").expect_done();
        CHECK(b.result.outcome == message_outcome::rejected);
        CHECK(c.result.outcome == message_outcome::delivered);
    }
    SECTION("a large message's MAIL refused after the window: the next sends its own body") {
        msg a("a@example.org", {"b@example.com"});
        msg big("a@example.org", {"c@example.com"}, {"0123456789012345678901234567890123456789\r\n"});
        msg c("a@example.org", {"d@example.com"});
        proto::send_config cfg;
        cfg.block_size = 32;
        fixture f(caps_chunking, {a.plan(proto::encoding::chunked), big.plan(proto::encoding::chunked),
                                  c.plan(proto::encoding::chunked)}, cfg);
        f.d->expect_write(one).reply("250 ok\r\n250 ok\r\n250 queued A\r\n");
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\n").reply("550 5.7.1 no\r\n503 5.5.1 no\r\n");
        f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<d@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n");
        f.d->reply("250 ok\r\n250 ok\r\n250 queued C\r\n").expect_done();
        CHECK(big.result.outcome == message_outcome::rejected);
        CHECK(big.result.data_octets == 0);
        CHECK(c.result.outcome == message_outcome::delivered);
    }
    SECTION("a window stays within block_size octets") {
        msg a("a@example.org", {"b@example.com"});
        msg b("a@example.org", {"c@example.com"});
        proto::send_config cfg;
        cfg.block_size = static_cast<std::size_t>(one.size() + 10); // room for a, not for a and b
        fixture f(caps_chunking, {a.plan(proto::encoding::chunked), b.plan(proto::encoding::chunked)}, cfg);
        f.d->expect_write(one).reply("250 ok\r\n250 ok\r\n250 queued A\r\n");
        f.d->expect_write(two.substr(6)).reply("250 ok\r\n250 ok\r\n250 queued B\r\n").expect_done();
        CHECK(b.result.outcome == message_outcome::delivered);
    }
}

TEST_CASE("send: a verbatim plan is copied, not encoded", "[algorithms][send][verbatim]") {
    // The planner sets `verbatim` only when encoding would change nothing; the
    // machine then trusts it: a bare LF goes out as it is (here, to show the copy).
    msg m("a@example.org", {"b@example.com"}, {"Subject: t\r\n\r\nraw\n", "x\r\n"});
    auto p = m.plan();
    p.verbatim = true;
    fixture f(caps_pipe, {p});
    f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n").reply("250 ok\r\n250 ok\r\n354 go\r\n");
    f.d->expect_data_write("Subject: t\r\n\r\nraw\nx\r\n.\r\n", false).reply("250 ok\r\n").expect_done();
    CHECK(m.result.outcome == message_outcome::delivered);
}

TEST_CASE("send: with gather writes, a verbatim DATA body goes out from where it is",
          "[algorithms][send][verbatim]") {
    // The driver writes whead, then wbuf, in one gather write: the body is not
    // copied, and the end of data and the next group follow it in wbuf.
    const std::string group = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n";
    auto verbatim = [](msg& m) {
        auto p = m.plan();
        p.verbatim = true;
        p.stable_pieces = true; // (the test's pieces stay where they are)
        return p;
    };
    auto in_body = [](const msg& m, std::string_view v, std::size_t at, std::size_t n) {
        const std::string& piece = m.body.pieces[0];
        return v.data() == piece.data() + at && v.size() == n;
    };
    SECTION("one message: the body from the body, the end of data after it") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_pipe, {verbatim(m)});
        f.st.gather_writes = true;
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n354 go\r\n");
        CHECK(in_body(m, f.st.whead, 0, m.body.pieces[0].size()));
        CHECK(f.st.wbuf.view() == ".\r\n");
        f.d->expect_data_write(body_wire, false, body_wire.size());
        CHECK(f.st.whead.empty());
        f.d->reply("250 2.0.0 queued\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::delivered);
        CHECK(m.result.data_octets == body_wire.size());
    }
    SECTION("a source whose pieces may move is copied: the look-ahead may reuse its storage") {
        msg m("a@example.org", {"b@example.com"});
        auto p = verbatim(m);
        p.stable_pieces = false;
        fixture f(caps_pipe, {p});
        f.st.gather_writes = true;
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n354 go\r\n");
        CHECK(f.st.whead.empty());
        CHECK(f.st.wbuf.view() == body_wire);
        f.d->expect_data_write(body_wire, false, body_wire.size()).reply("250 ok\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::delivered);
    }
    SECTION("without gather writes the body is copied into wbuf") {
        msg m("a@example.org", {"b@example.com"});
        fixture f(caps_pipe, {verbatim(m)});
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n354 go\r\n");
        CHECK(f.st.whead.empty());
        CHECK(f.st.wbuf.view() == body_wire);
        f.d->expect_data_write(body_wire, false, body_wire.size()).reply("250 ok\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::delivered);
    }
    SECTION("a batch: the next group after the end of data; octets counted over both parts") {
        msg a("a@example.org", {"b@example.com"});
        msg b("a@example.org", {"c@example.com"});
        fixture f(caps_pipe, {verbatim(a), verbatim(b)});
        f.st.gather_writes = true;
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n354 go\r\n");
        const std::string next = "MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n";
        CHECK(in_body(a, f.st.whead, 0, a.body.pieces[0].size()));
        CHECK(f.st.wbuf.view() == ".\r\n" + next);
        SECTION("all of it written") {
            f.d->expect_data_write(std::string(body_wire) + next, false, body_wire.size());
            f.d->reply("250 queued A\r\n250 ok\r\n250 ok\r\n354 go\r\n");
            CHECK(in_body(b, f.st.whead, 0, b.body.pieces[0].size()));
            f.d->expect_data_write(body_wire, false, body_wire.size())
                .reply("250 queued B\r\n")
                .expect_done();
            CHECK(a.result.outcome == message_outcome::delivered);
            CHECK(b.result.outcome == message_outcome::delivered);
            CHECK(a.result.reply.text == "queued A");
            CHECK(b.result.reply.text == "queued B");
        }
        SECTION("the end of data written, the next MAIL not: unknown, then deferred") {
            f.d->fail_write(std::string(body_wire) + next, errc::connection_closed, body_wire.size() + 4);
            f.d->expect_done(errc::connection_closed);
            CHECK(a.result.outcome == message_outcome::unknown);
            CHECK(b.result.outcome == message_outcome::deferred);
        }
        SECTION("the write fails inside the body: deferred") {
            f.d->fail_write(std::string(body_wire) + next, errc::connection_closed, 5);
            f.d->expect_done(errc::connection_closed);
            CHECK(a.result.outcome == message_outcome::deferred);
            CHECK(b.result.outcome == message_outcome::deferred);
        }
        SECTION("the write fails in the dot: deferred") {
            f.d->fail_write(std::string(body_wire) + next, errc::connection_closed, body_wire.size() - 1);
            f.d->expect_done(errc::connection_closed);
            CHECK(a.result.outcome == message_outcome::deferred);
        }
    }
    SECTION("a body larger than a block: each block a view of its part") {
        msg m("a@example.org", {"b@example.com"}, {std::string(16, 'x') + "\r\n"});
        proto::send_config cfg;
        cfg.block_size = 8;
        fixture f(caps_pipe, {verbatim(m)}, cfg);
        f.st.gather_writes = true;
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n354 go\r\n");
        CHECK(in_body(m, f.st.whead, 0, 8));
        f.d->expect_data_write("xxxxxxxx", true, 8);
        CHECK(in_body(m, f.st.whead, 8, 8));
        f.d->expect_data_write("xxxxxxxx", true, 8);
        CHECK(in_body(m, f.st.whead, 16, 2));
        f.d->expect_data_write("\r\n.\r\n", false, 5).reply("250 ok\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::delivered);
        CHECK(m.result.data_octets == 16 + 5);
    }
    SECTION("a body in several pieces: the first from where it is, the next ones copied after it") {
        msg m("a@example.org", {"b@example.com"}, {"Subject: t\r\n\r\n", "hello\r\n", "more\r\n"});
        fixture f(caps_pipe, {verbatim(m)});
        f.st.gather_writes = true;
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n354 go\r\n");
        CHECK(in_body(m, f.st.whead, 0, m.body.pieces[0].size()));
        CHECK(f.st.wbuf.view() == "hello\r\nmore\r\n.\r\n"); // one write, not one per piece
        f.d->expect_data_write("Subject: t\r\n\r\nhello\r\nmore\r\n.\r\n", false)
            .reply("250 ok\r\n")
            .expect_done();
        CHECK(m.result.outcome == message_outcome::delivered);
    }
    SECTION("pieces across blocks: each block a view, then copies up to the block size") {
        msg m("a@example.org", {"b@example.com"}, {"Subject: t\r\n\r\n", "hello\r\n", "more\r\n"});
        proto::send_config cfg;
        cfg.block_size = 16;
        fixture f(caps_pipe, {verbatim(m)}, cfg);
        f.st.gather_writes = true;
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n354 go\r\n");
        CHECK(in_body(m, f.st.whead, 0, 14));
        CHECK(f.st.wbuf.view() == "he");
        f.d->expect_data_write("Subject: t\r\n\r\nhe", true, 16);
        CHECK(f.st.whead == "llo\r\n");
        CHECK(f.st.whead.data() == m.body.pieces[1].data() + 2);
        CHECK(f.st.wbuf.view() == "more\r\n.\r\n");
        f.d->expect_data_write("llo\r\nmore\r\n.\r\n", false).reply("250 ok\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::delivered);
        CHECK(m.result.data_octets == 27 + 3);
    }
    SECTION("a reply half read before the last block: nothing of that block is left to write") {
        msg m("a@example.org", {"b@example.com"}, {std::string(8, 'x') + "\r\n"});
        proto::send_config cfg;
        cfg.block_size = 8;
        fixture f(caps_pipe, {verbatim(m)}, cfg);
        f.st.gather_writes = true;
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n354 go\r\n");
        f.d->expect_write_with_early("xxxxxxxx", "552 5.3.4 mess");
        f.d->expect_read(phase::data_block);
        CHECK(f.st.whead.empty());
        CHECK(f.st.wbuf.empty());
        f.d->reply("age too big\r\n").expect_done();
        CHECK(m.result.outcome == message_outcome::rejected);
        CHECK(m.result.data_octets == 8);
    }
    SECTION("the body fails after a block was given as a view: nothing of it is left to write") {
        msg m("a@example.org", {"b@example.com"}, {"part one\r\n", "part two\r\n"});
        m.body.fail_at = 1;
        fixture f(caps_pipe, {verbatim(m)});
        f.st.gather_writes = true;
        f.d->expect_write(group).reply("250 ok\r\n250 ok\r\n354 go\r\n");
        f.d->expect_done(errc::body_read_failed);
        CHECK(f.st.whead.empty());
        CHECK(f.st.broken);
        check_outcomes(m.result, {outcome::deferred});
    }
}

TEST_CASE("send: verbatim BDAT bodies of known size go straight into the write", "[algorithms][send][bdat][verbatim]") {
    const std::string one = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n";
    const std::string two = "RSET\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\nBDAT 21 LAST\r\nSubject: t\r\n\r\nhello\r\n";
    msg a("a@example.org", {"b@example.com"}, {"Subject: t\r\n", "\r\nhello\r\n"}); // in pieces
    msg b("a@example.org", {"c@example.com"});
    auto verbatim = [](msg& m, std::uint64_t octets) {
        auto p = m.plan(proto::encoding::chunked);
        p.verbatim = true;
        p.octets = octets;
        return p;
    };
    SECTION("the same wire as the staged path, and the octets counted") {
        fixture f(caps_chunking, {verbatim(a, 21), verbatim(b, 21)});
        f.d->expect_write(one + two, phase::data_block);
        f.d->reply("250 ok\r\n250 ok\r\n250 queued A\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 queued B\r\n").expect_done();
        CHECK(a.result.outcome == message_outcome::delivered);
        CHECK(b.result.outcome == message_outcome::delivered);
        CHECK(a.result.data_octets == 21);
        CHECK(b.result.data_octets == 21);
    }
    SECTION("a mixed window: a verbatim message after a staged one") {
        fixture f(caps_chunking, {a.plan(proto::encoding::chunked), verbatim(b, 21)});
        f.d->expect_write(one + two, phase::data_block);
        f.d->reply("250 ok\r\n250 ok\r\n250 queued A\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 queued B\r\n").expect_done();
        CHECK(b.result.outcome == message_outcome::delivered);
    }
    SECTION("the window ends where the next whole chunk would pass block_size, as with staging") {
        const std::size_t chunk = std::string("BDAT 21 LAST\r\n").size() + 21;
        for (std::size_t room : {chunk - 1, chunk}) {
            for (bool direct : {true, false}) {
                INFO("room " << room << (direct ? " direct" : " staged"));
                msg x("a@example.org", {"b@example.com"});
                msg y("a@example.org", {"c@example.com"});
                proto::send_config cfg;
                cfg.block_size = one.size() + room; // the writes so far, and room for y's chunk or not
                auto py = direct ? verbatim(y, 21) : y.plan(proto::encoding::chunked);
                fixture f(caps_chunking, {verbatim(x, 21), py}, cfg);
                if (room == chunk) {
                    f.d->expect_write(one + two, phase::data_block);
                    f.d->reply("250 ok\r\n250 ok\r\n250 queued A\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 queued B\r\n");
                } else {
                    f.d->expect_write(one, phase::data_block).reply("250 ok\r\n250 ok\r\n250 queued A\r\n");
                    f.d->expect_write(two.substr(6), phase::data_block); // no RSET: the transaction ended cleanly
                    f.d->reply("250 ok\r\n250 ok\r\n250 queued B\r\n");
                }
                f.d->expect_done();
                CHECK(x.result.outcome == message_outcome::delivered);
                CHECK(y.result.outcome == message_outcome::delivered);
            }
        }
    }
    SECTION("a body that reads more or fewer octets than planned fails before its BDAT line goes out") {
        for (std::uint64_t wrong : {20u, 22u}) {
            INFO("planned " << wrong);
            msg x("a@example.org", {"b@example.com"});
            msg y("a@example.org", {"c@example.com"});
            y.result = {};
            fixture f(caps_chunking, {verbatim(x, 21), verbatim(y, wrong)});
            // x's window stops before y (its body failed); y's MAIL and RCPT go, never a chunk.
            f.d->expect_write(one, phase::data_block).reply("250 ok\r\n250 ok\r\n250 queued A\r\n");
            f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\n", phase::mail);
            f.d->reply("250 ok\r\n250 ok\r\n").expect_done(errc::body_read_failed);
            CHECK(x.result.outcome == message_outcome::delivered);
            CHECK(y.result.outcome == message_outcome::deferred);
            CHECK(y.result.error == errc::body_read_failed);
            CHECK(f.st.broken);
        }
    }
}

TEST_CASE("send: recipients listed by the planner keep their addresses", "[algorithms][send]") {
    msg m("a@example.org", {"b@example.com", "c@example.com"});
    auto p = m.plan();
    // The planner moved the addresses into the result (the envelope's are gone).
    m.result.recipients.resize(2);
    m.result.recipients[0].address = "b@example.com";
    m.result.recipients[1].address = "c@example.com";
    m.result.recipients[1].outcome = outcome::accepted; // stale: reset by the algorithm
    m.env.to[0].address.clear();
    m.env.to[1].address.clear();
    p.recipients_listed = true;
    p.envelope_lines = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\n";
    fixture f(caps_pipe, {p});
    f.d->expect_write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n");
    f.d->reply("250 ok\r\n550 5.1.1 no\r\n250 ok\r\n354 go\r\n");
    f.d->expect_data_write(body_wire, false).reply("250 2.0.0 queued\r\n").expect_done();
    REQUIRE(m.result.recipients.size() == 2);
    CHECK(m.result.recipients[0].address == "b@example.com");
    CHECK(m.result.recipients[0].outcome == outcome::rejected);
    CHECK(m.result.recipients[1].address == "c@example.com");
    CHECK(m.result.recipients[1].outcome == outcome::accepted);
    CHECK(m.result.outcome == message_outcome::partial);
}

TEST_CASE("send: planned MAIL and RCPT lines go at once when they fit the group, else line by line",
          "[algorithms][send]") {
    const std::string mail = "MAIL FROM:<a@example.org>\r\n";
    const std::vector<std::string> rcpts = {"RCPT TO:<r1@example.com>\r\n", "RCPT TO:<r2@example.com>\r\n",
                                            "RCPT TO:<r3@example.com>\r\n"};
    const std::string lines = mail + rcpts[0] + rcpts[1] + rcpts[2];
    // max_group 4 is exactly MAIL and the three RCPTs; 3 is one short, 2 splits twice.
    for (std::size_t group : {2u, 3u, 4u, 5u, 256u}) {
        INFO("max_group " << group);
        msg m("a@example.org", {"r1@example.com", "r2@example.com", "r3@example.com"});
        auto p = m.plan();
        p.envelope_lines = lines;
        proto::send_config cfg;
        cfg.max_group = group;
        fixture f(caps_pipe, {p}, cfg);
        auto& d = *f.d;
        if (group >= 5) {
            d.expect_write(lines + "DATA\r\n")
                .reply("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n250 ok\r\n354 go\r\n");
        } else if (group == 4) {
            d.expect_write(lines).reply("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n250 ok\r\n");
            d.expect_write("DATA\r\n").reply("354 go\r\n");
        } else if (group == 3) {
            d.expect_write(mail + rcpts[0] + rcpts[1]).reply("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n");
            d.expect_write(rcpts[2] + "DATA\r\n").reply("250 ok\r\n354 go\r\n");
        } else {
            d.expect_write(mail + rcpts[0]).reply("250 ok\r\n250 ok\r\n");
            d.expect_write(rcpts[1] + rcpts[2]).reply("550 5.1.1 no\r\n250 ok\r\n");
            d.expect_write("DATA\r\n").reply("354 go\r\n");
        }
        d.expect_data_write(body_wire, false).reply("250 queued\r\n").expect_done();
        // Each reply went to its own command, however the lines were grouped.
        check_outcomes(m.result, {outcome::accepted, outcome::rejected, outcome::accepted});
        CHECK(m.result.recipients[1].reply.code == 550);
        CHECK(m.result.outcome == message_outcome::partial);
    }
}
