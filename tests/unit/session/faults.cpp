// Fault sweeps over the test stream: the n-th read or write fails, for every n,
// for a pipelined DATA send, a BDAT send, a batch and the opening; every run must
// end with a definite, correct outcome.  Plus 1-octet reads and writes for whole
// conversations, and a 552 that arrives while the body is still being written.
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

std::string make_body(std::size_t lines) {
    std::string b = "Subject: sweep\r\nFrom: a@example.org\r\n\r\n";
    for (std::size_t i = 0; i < lines; ++i) b += "line " + std::to_string(i) + " of the message body, long enough\r\n";
    b += ".a line that starts with a dot\r\n";
    return b;
}

test::smtp_script sweep_script() {
    test::smtp_script s;
    s.extensions = {"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SIZE 52428800", "CHUNKING"};
    return s;
}

using read_fault = test::test_peer::read_fault;

struct sweep_params {
    bool reads = true;
    std::error_code error;
    std::size_t max_write = 0; // 0: unlimited
    bool bdat = false;
    read_fault when = read_fault::at_start;
};

std::string describe(const sweep_params& p) {
    std::string s = p.reads ? "read fault" : "write fault";
    if (p.reads) s += p.when == read_fault::at_start ? " (at start)" : " (when the reply arrives)";
    return s + (p.bdat ? ", BDAT" : ", DATA");
}

// Runs sends with the n-th read/write failing for n = 1, 2, ... until a send
// completes without the fault firing.  Returns the number of faulty runs.
std::size_t sweep_send(const sweep_params& p) {
    const std::string body = make_body(12);
    for (std::size_t n = 1; n <= 400; ++n) {
        auto o = test::test_options();
        o.block_size = 128; // several blocks / chunks
        test::harness h(sweep_script(), o);
        REQUIRE_FALSE(h.open());
        if (p.max_write) h.peer->set_max_write(p.max_write);
        if (p.reads) h.peer->fail_read(n, p.error, p.when);
        else h.peer->fail_write(n, p.error);
        smtpio::send_options so;
        so.chunking = p.bdat;
        auto [ec, r] = h.send(test::env({"b@example.com", "c@example.com", "d@example.com"}), body, so);
        INFO(describe(p) << " n=" << n << " error=" << p.error.message() << " max_write=" << p.max_write);
        CHECK_FALSE(ec); // something was written every time: the outcome is a value
        REQUIRE(r.recipients.size() == 3);
        if (!h.peer->fault_fired()) {
            CHECK(r.outcome == message_outcome::delivered);
            CHECK_FALSE(r.error);
            REQUIRE(h.model->messages().size() == 1);
            CHECK(h.model->messages()[0].content == body);
            CHECK(h.s->is_open());
            return n - 1;
        }
        // The fault fired: the session is closed and the result is definite.
        CHECK(r.error);
        CHECK_FALSE(h.s->is_open());
        CHECK(h.peer->closed());
        const bool server_has_it = h.model->messages().size() == 1;
        if (server_has_it) CHECK(h.model->messages()[0].content == body);
        // RFC 1047: after the end of data went out and no reply was read, unknown;
        // before, deferred.  Never delivered, never rejected.
        const outcome want = server_has_it ? outcome::unknown : outcome::deferred;
        for (const auto& rc : r.recipients) CHECK(rc.outcome == want);
        CHECK(r.outcome == (server_has_it ? message_outcome::unknown : message_outcome::deferred));
    }
    FAIL("the sweep did not reach a send without the fault");
    return 0;
}

} // namespace

// Reads: the group's replies arrive in one read, the end of data's reply in the
// read that runs while the data is written: two reads per send.
TEST_CASE("fault sweep: pipelined DATA send, every read and every write", "[session][faults][sweep]") {
    for (auto err : {std::error_code(asio::error::connection_reset), std::error_code(asio::error::eof)}) {
        CHECK(sweep_send({true, err, 0, false, read_fault::at_start}) >= 2);
        CHECK(sweep_send({true, err, 0, false, read_fault::on_data}) >= 2);
        CHECK(sweep_send({false, err, 0, false}) >= 3);
    }
    // Small writes: the end of data spans several write_some calls, so a fault can
    // land in the middle of it (deferred: the server never saw the whole of it).
    CHECK(sweep_send({false, asio::error::connection_reset, 7, false}) > 20);
}

TEST_CASE("fault sweep: BDAT send, every read and every write", "[session][faults][sweep]") {
    for (auto err : {std::error_code(asio::error::connection_reset), std::error_code(asio::error::eof)}) {
        CHECK(sweep_send({true, err, 0, true, read_fault::at_start}) >= 3);
        CHECK(sweep_send({true, err, 0, true, read_fault::on_data}) >= 3);
        CHECK(sweep_send({false, err, 0, true}) >= 3);
    }
    CHECK(sweep_send({false, asio::error::connection_reset, 7, true}) > 20);
}

TEST_CASE("fault sweep: a batch of two messages", "[session][faults][sweep]") {
    const std::string body = make_body(4);
    for (int mode = 0; mode < 3; ++mode) {
        const bool reads = mode < 2;
        bool reached_end = false;
        for (std::size_t n = 1; n <= 200 && !reached_end; ++n) {
            test::harness h(sweep_script());
            REQUIRE_FALSE(h.open());
            h.peer->set_max_write(reads ? 1000000 : 11);
            if (reads) h.peer->fail_read(n, asio::error::connection_reset, mode == 0 ? read_fault::at_start : read_fault::on_data);
            else h.peer->fail_write(n);
            std::vector<smtpio::message> msgs;
            msgs.push_back({test::env({"b@example.com"}), body, {}});
            msgs.push_back({test::env({"c@example.com", "d@example.com"}), body, {}});
            std::optional<std::vector<smtpio::send_result>> rs;
            h.s->async_send_batch(std::move(msgs), [&](std::error_code ec, std::vector<smtpio::send_result> v) {
                CHECK_FALSE(ec);
                rs = std::move(v);
            });
            h.run();
            INFO("mode " << mode << " n=" << n);
            REQUIRE(rs);
            REQUIRE(rs->size() == 2);
            const auto& got = h.model->messages();
            for (std::size_t i = 0; i < 2; ++i) {
                const auto& r = (*rs)[i];
                INFO("message " << i);
                // Which messages did the server take?  Match by recipients.
                bool server_has_it = false;
                for (const auto& m : got) server_has_it |= m.rcpts.size() == r.recipients.size();
                if (server_has_it) {
                    CHECK((r.outcome == message_outcome::delivered || r.outcome == message_outcome::unknown));
                } else {
                    CHECK(r.outcome == message_outcome::deferred);
                    CHECK(r.error);
                }
                if (r.outcome == message_outcome::delivered) CHECK_FALSE(r.error);
            }
            if (!h.peer->fault_fired()) {
                reached_end = true;
                CHECK((*rs)[0].outcome == message_outcome::delivered);
                CHECK((*rs)[1].outcome == message_outcome::delivered);
                CHECK(h.s->is_open());
            } else {
                CHECK_FALSE(h.s->is_open());
            }
        }
        CHECK(reached_end);
    }
}

TEST_CASE("fault sweep: opening", "[session][faults][sweep]") {
    for (bool reads : {true, false}) {
        bool reached_end = false;
        for (std::size_t n = 1; n <= 50 && !reached_end; ++n) {
            test::harness h;
            h.peer->set_max_read(5);
            if (reads) h.peer->fail_read(n);
            else h.peer->fail_write(n);
            auto ec = h.open();
            INFO((reads ? "read" : "write") << " fault n=" << n);
            if (!h.peer->fault_fired()) {
                CHECK_FALSE(ec);
                CHECK(h.s->is_open());
                reached_end = true;
            } else {
                CHECK(ec);
                CHECK_FALSE(h.s->is_open());
                CHECK(h.peer->closed());
            }
        }
        CHECK(reached_end);
    }
}

TEST_CASE("one-octet reads and writes for a whole conversation", "[session][faults]") {
    for (int mode = 0; mode < 3; ++mode) {
        test::smtp_script s = sweep_script();
        s.extensions.push_back("AUTH PLAIN LOGIN");
        auto o = test::test_options();
        o.dangerous_allow_plaintext_auth = true; // the test stream has no TLS
        o.block_size = 100;
        test::harness h(s, o);
        if (mode != 1) h.peer->set_max_read(1);
        if (mode != 0) h.peer->set_max_write(1);
        INFO("mode " << mode);
        REQUIRE_FALSE(h.open());
        CHECK(h.s->capabilities().chunking());
        REQUIRE_FALSE(h.authenticate({"user", "pencil", smtpio::auth_mechanism::login}));
        const std::string body = make_body(10);
        auto [ec, r] = h.send(test::env({"b@example.com", "c@example.com"}), body);
        CHECK_FALSE(ec);
        CHECK(r.outcome == message_outcome::delivered);
        smtpio::send_options chunked;
        chunked.chunking = true;
        auto [ec2, r2] = h.send(test::env({"d@example.com"}), body, chunked);
        CHECK_FALSE(ec2);
        CHECK(r2.outcome == message_outcome::delivered);
        CHECK_FALSE(h.quit());
        REQUIRE(h.model->messages().size() == 2);
        CHECK(h.model->messages()[0].content == body);
        CHECK(h.model->messages()[1].content == body);
        CHECK(h.model->messages()[1].bdat);
        CHECK(h.model->authenticated_user() == "user");
        if (mode == 0) CHECK(h.peer->reads() > 300);
    }
}

TEST_CASE("a 552 while the body is being written stops the write and rejects the message", "[session][faults][early]") {
    test::smtp_script s;
    s.on_data = [](test::smtp_server_model& m, std::size_t octets) -> std::optional<std::string> {
        if (octets < 4096) return std::nullopt;
        m.close_connection();
        return std::string("552 5.3.4 Message size exceeds fixed maximum message size\r\n");
    };
    auto o = test::test_options();
    o.block_size = 1024;
    test::harness h(s, o);
    REQUIRE_FALSE(h.open());
    std::string body;
    for (int i = 0; i < 2000; ++i) body += "a line of a large message, one of two thousand lines.........\r\n";
    auto [ec, r] = h.send(test::env({"b@example.com", "c@example.com"}), body);
    CHECK_FALSE(ec);
    CHECK(r.outcome == message_outcome::rejected);
    CHECK(r.reply.code == 552);
    CHECK(r.reply.enhanced.to_string() == "5.3.4");
    for (const auto& rc : r.recipients) {
        CHECK(rc.outcome == outcome::rejected);
        CHECK(rc.reply.code == 552);
    }
    // The writing stopped soon after the reply: far from the whole body, no end of data.
    const auto& w = h.peer->written();
    CHECK(w.size() < body.size() / 4);
    CHECK(w.find("\r\n.\r\n") == std::string::npos);
    CHECK(r.data_octets < body.size() / 4);
    CHECK_FALSE(h.s->is_open());
    CHECK(h.model->messages().empty());
}

TEST_CASE("a 552 to a BDAT chunk stops the chunks", "[session][faults][early]") {
    test::smtp_script s = sweep_script();
    s.on_command = [](test::smtp_server_model&, std::string_view line, const std::string& r) -> std::optional<std::string> {
        if (line.rfind("BDAT", 0) == 0 && r.rfind("250", 0) == 0) return std::string("552 5.3.4 too big\r\n");
        return std::nullopt;
    };
    auto o = test::test_options();
    o.block_size = 1024;
    test::harness h(s, o);
    REQUIRE_FALSE(h.open());
    smtpio::send_options so;
    so.chunking = true;
    auto [ec, r] = h.send(test::env({"b@example.com"}), make_body(200), so);
    CHECK_FALSE(ec);
    CHECK(r.outcome == message_outcome::rejected);
    CHECK(r.reply.code == 552);
    // One chunk went, then RSET is due: the session is still usable.
    CHECK(h.s->is_open());
    auto [ec2, r2] = h.send(test::env({"b@example.com"}), "short\r\n"); // DATA: not affected by the hook
    CHECK_FALSE(ec2);
    CHECK(r2.outcome == message_outcome::delivered);
    auto lines = h.model->command_lines();
    REQUIRE(lines.size() >= 3);
    CHECK(std::count(lines.begin(), lines.end(), "RSET") == 1);
}

TEST_CASE("a pending operation is released when the session, then the io_context, are destroyed",
          "[session][faults][leak]") {
    // The usual shutdown order (the io_context declared first): the session goes
    // first, its operation's handlers are destroyed with the io_context without
    // running.  Nothing may keep the operation (and the caller's handler) alive.
    auto token = std::make_shared<int>(0);
    for (int variant = 0; variant < 3; ++variant) {
        INFO("variant " << variant);
        {
            test::smtp_script s;
            if (variant == 0) s.greeting.clear(); // waiting for the greeting
            if (variant == 2) {                    // waiting for the reply to the end of data, after a body in blocks
                s.on_message = [](test::smtp_server_model&, const test::received_message&) -> std::optional<std::string> {
                    return std::string();
                };
            }
            auto o = test::test_options();
            o.block_size = 256;
            test::harness h(s, o);
            if (variant == 0) {
                h.s->async_open([t = token](std::error_code) { ++*t; });
            } else {
                if (variant == 1) {
                    h.model->script().on_command = [](test::smtp_server_model&, std::string_view line,
                                                      const std::string&) -> std::optional<std::string> {
                        if (line == "DATA") return std::string(); // waiting for the 354
                        return std::nullopt;
                    };
                }
                REQUIRE_FALSE(h.open());
                h.s->async_send(test::env({"b@example.com"}), make_body(100),
                                [t = token](std::error_code, smtpio::send_result) { ++*t; });
            }
            h.run(std::chrono::milliseconds(200));
            CHECK(token.use_count() == 2); // the handler is held by the pending operation
        }
        CHECK(token.use_count() == 1);
        CHECK(*token == 0);
    }
}
