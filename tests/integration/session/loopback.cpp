// End-to-end sessions over TCP on 127.0.0.1 against the scripted SMTP server:
// STARTTLS and implicit TLS verified against the test CA, async_connect,
// TCP_NODELAY, the blocking smtpio::send, SCRAM-SHA-256, cancellation.
#include "common.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

using smtpio::errc;
using smtpio::message_outcome;
using smtpio::outcome;
namespace test = smtpio::test;
namespace tls = smtpio::tls;
namespace policy = smtpio::policy;

namespace {

const std::string ehlo = "EHLO client.example.org\r\n";
const std::string body_text = "Subject: loopback\r\nFrom: a@example.org\r\n\r\nHello over TLS.\r\n";

} // namespace

TEST_CASE("loopback: STARTTLS verified, AUTH, send, QUIT", "[integration][session][starttls]") {
    test::smtp_script_server server(test::server_options(test::starttls_script()));
    test::client c;
    REQUIRE_FALSE(c.connect(server.port(), policy::submission(test::trusting_context())));
    CHECK(c.s->is_open());
    CHECK(c.s->is_encrypted());
    const auto& rep = c.s->tls_report();
    CHECK(rep.attempted);
    CHECK(rep.established);
    CHECK(rep.verified);
    CHECK(rep.result == tls::verify_result::ok);
    CHECK(rep.version == "TLSv1.3");
    CHECK(rep.reference_name == test::mx_name);
    REQUIRE(rep.peer);
    CHECK(rep.peer->dns_names == std::vector<std::string>{test::mx_name});
    CHECK(rep.received_clause().rfind("version=TLS1_3 cipher=", 0) == 0);
    CHECK(c.s->capabilities().supports_auth("PLAIN"));
    CHECK_FALSE(c.s->capabilities().starttls());

    REQUIRE_FALSE(c.authenticate({"user", "pencil", smtpio::auth_mechanism::login}));
    CHECK(c.s->is_authenticated());
    auto [ec, r] = c.send(smtpio::envelope("a@example.org", {"b@example.com", "c@example.com"}), body_text);
    CHECK_FALSE(ec);
    CHECK(r.outcome == message_outcome::delivered);
    CHECK(r.tls.established);
    CHECK(r.tls.verified);
    CHECK(r.recipients[1].reply.enhanced.to_string() == "2.0.0");
    CHECK_FALSE(c.quit());

    auto rec = server.first();
    CHECK(rec.sni == std::optional<std::string>(test::mx_name));
    CHECK(rec.tls_version == "TLSv1.3");
    CHECK(rec.plaintext() == ehlo + "STARTTLS\r\n");
    CHECK(rec.encrypted() == ehlo + "AUTH LOGIN\r\ndXNlcg==\r\ncGVuY2ls\r\nMAIL FROM:<a@example.org> SIZE=" +
                                 std::to_string(body_text.size()) +
                                 "\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n" + body_text +
                                 ".\r\nQUIT\r\n");
    REQUIRE(rec.messages.size() == 1);
    CHECK(rec.messages[0].content == body_text);
    CHECK(rec.messages[0].rcpts == std::vector<std::string>{"b@example.com", "c@example.com"});
    CHECK(rec.authenticated_user == "user");
}

TEST_CASE("loopback: implicit TLS verified (RFC 8314)", "[integration][session][implicit]") {
    auto s = test::starttls_script();
    s.extensions = *s.extensions_tls;
    auto o = test::server_options(s);
    o.implicit_tls = true;
    test::smtp_script_server server(o);
    test::client c;
    REQUIRE_FALSE(c.connect(server.port(), policy::implicit_tls(test::trusting_context())));
    CHECK(c.s->is_encrypted());
    CHECK(c.s->tls_report().verified);
    auto [ec, r] = c.send(test::simple_envelope(), body_text);
    CHECK(r.outcome == message_outcome::delivered);
    CHECK_FALSE(c.quit());
    auto rec = server.first();
    CHECK(rec.plaintext().empty());
    CHECK(rec.encrypted().rfind(ehlo + "MAIL FROM:<a@example.org>", 0) == 0);
    CHECK(rec.sni == std::optional<std::string>(test::mx_name));
}

TEST_CASE("loopback: SCRAM-SHA-256 chosen automatically and verified both ways", "[integration][session][auth]") {
    test::smtp_script_server server(test::server_options(test::starttls_script(), test::valid_identity(), 2));
    {
        test::client c;
        REQUIRE_FALSE(c.connect(server.port(), policy::submission(test::trusting_context())));
        CHECK_FALSE(c.authenticate({"user", "pencil"}));
        CHECK(c.s->is_authenticated());
        CHECK_FALSE(c.quit());
    }
    {
        test::client c;
        REQUIRE_FALSE(c.connect(server.port(), policy::submission(test::trusting_context())));
        CHECK(c.authenticate({"user", "wrong"}) == errc::auth_failed);
        CHECK(c.s->last_reply().code == 535);
        CHECK(c.s->is_open());
        CHECK_FALSE(c.quit());
    }
    REQUIRE(server.wait_for(2));
    auto recs = server.records();
    CHECK(recs[0].authenticated_user == "user");
    REQUIRE(recs[0].commands.size() >= 4); // EHLO, STARTTLS, EHLO, AUTH ...
    CHECK(recs[0].commands[2].tls);
    CHECK(recs[0].commands[3].line.rfind("AUTH SCRAM-SHA-256 ", 0) == 0);
    CHECK(recs[0].commands[3].tls);
    CHECK(recs[1].authenticated_user.empty());
}

TEST_CASE("loopback: async_connect sets TCP_NODELAY and reports the peer", "[integration][session][connect]") {
    test::smtp_script_server server(test::server_options(test::starttls_script()));
    std::vector<std::string> connected;
    auto o = test::client_options();
    o.transcript = [&](const smtpio::transcript_event& e) {
        if (e.type == smtpio::transcript_event::kind::connected) connected.emplace_back(e.text);
    };
    test::client c;
    REQUIRE_FALSE(c.connect(server.port(), policy::submission(test::trusting_context()), o));
    asio::ip::tcp::no_delay nd;
    c.s->next_layer().get_option(nd);
    CHECK(nd.value());
    REQUIRE(connected.size() == 1);
    CHECK(connected[0] == "127.0.0.1:" + std::to_string(server.port()));
    CHECK_FALSE(c.quit());
}

TEST_CASE("connect_needs_resolver: addresses are connected to directly", "[integration][session][connect]") {
    CHECK_FALSE(smtpio::connect_needs_resolver("127.0.0.1"));
    CHECK_FALSE(smtpio::connect_needs_resolver("::1"));
    CHECK_FALSE(smtpio::connect_needs_resolver("[::1]"));
    CHECK_FALSE(smtpio::connect_needs_resolver("2001:db8::25"));
    CHECK(smtpio::connect_needs_resolver("localhost"));
    CHECK(smtpio::connect_needs_resolver("mx.example.com"));
    CHECK(smtpio::connect_needs_resolver("127.1")); // not an address to inet_pton: a name
    CHECK(smtpio::connect_needs_resolver("[mx.example.com]"));
    CHECK(smtpio::connect_needs_resolver(""));
    // What it says is what async_connect does: under ASIO_CONCURRENCY_HINT_UNSAFE,
    // Asio's resolver refuses to run, so only an address can be connected to.
    test::smtp_script_server server(test::server_options(test::smtp_script{}));
    const auto port = server.port(); // (asked once: the server may stop listening after its session)
    for (const char* host : {"127.0.0.1", "localhost"}) {
        CAPTURE(host);
        asio::io_context io(ASIO_CONCURRENCY_HINT_UNSAFE);
        std::error_code got = smtpio::errc::cancelled;
        smtpio::async_connect(io.get_executor(), host, port, policy::dangerous_plaintext(),
                              test::client_options(), [&](std::error_code ec, smtpio::session s) {
                                  got = ec;
                                  if (!ec) s.close();
                              });
        io.run_for(std::chrono::seconds(10));
        if (smtpio::connect_needs_resolver(host))
            CHECK(got == errc::resolve_failed);
        else
            CHECK_FALSE(got);
    }
}

TEST_CASE("write_now: a head and a buffer in one gather write, in part when the socket takes part",
          "[integration][session][write]") {
    asio::io_context io;
    asio::local::stream_protocol::socket a(io), b(io);
    asio::local::connect_pair(a, b);
    a.set_option(asio::socket_base::send_buffer_size(4096));
    const std::string head(3000, 'h');
    std::string tail(1 << 20, 't');
    tail[0] = 'T';
    std::string got;
    auto drain = [&] {
        std::error_code ec;
        b.non_blocking(true);
        char buf[65536];
        for (;;) {
            std::size_t n = b.read_some(asio::buffer(buf), ec);
            if (ec) break;
            got.append(buf, n);
        }
    };
    std::size_t done = 0;
    std::error_code ec;
    done = smtpio::detail::write_now(a, head, tail.data(), tail.size(), ec);
    REQUIRE_FALSE(ec);
    CHECK(a.non_blocking());
    CHECK(done > head.size());               // the head and the start of the tail in one write
    CHECK(done < head.size() + tail.size()); // the socket took part: no error, no wait
    // The rest from where it stopped, as the session goes on: gather_buffers skips what went.
    for (int rounds = 0; done < head.size() + tail.size() && rounds < 10000; ++rounds) {
        drain();
        auto rest = smtpio::detail::gather_buffers(head, tail.data(), tail.size(), done);
        CHECK(rest[1].size() == 0); // past the head: the tail alone
        std::size_t k = a.write_some(rest, ec);
        if (ec == asio::error::would_block) {
            ec.clear();
            continue;
        }
        REQUIRE_FALSE(ec);
        done += k;
    }
    drain();
    CHECK(got == head + tail);
    // A skip inside the head keeps both parts.
    auto mid = smtpio::detail::gather_buffers(head, tail.data(), tail.size(), 10);
    CHECK(mid[0].size() == head.size() - 10);
    CHECK(mid[1].size() == tail.size());
    auto none = smtpio::detail::gather_buffers({}, tail.data(), tail.size(), 0);
    CHECK(none[0].size() == tail.size());
    CHECK(none[1].size() == 0);
}

TEST_CASE("loopback: async_connect errors", "[integration][session][connect]") {
    std::uint16_t closed_port = 0;
    {
        asio::io_context io;
        asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        closed_port = a.local_endpoint().port();
    } // nothing listens there any more
    test::client c;
    CHECK(c.connect(closed_port, policy::dangerous_plaintext()) == errc::connect_failed);
    CHECK_FALSE(c.s->is_open());

    test::client c2;
    bool done = false;
    smtpio::async_connect(c2.io.get_executor(), "no-such-host.invalid", 25, policy::dangerous_plaintext(),
                          test::client_options(), [&](std::error_code ec, smtpio::session) {
                              CHECK(ec == errc::resolve_failed);
                              done = true;
                          });
    c2.run();
    CHECK(done);
}

TEST_CASE("loopback: async_connect with use_awaitable", "[integration][session][connect]") {
    test::smtp_script_server server(test::server_options(test::starttls_script()));
    asio::io_context io;
    auto ctx = test::trusting_context();
    std::optional<message_outcome> outcome;
    const auto port = server.port();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            auto s = co_await smtpio::async_connect(ex, "127.0.0.1", port, policy::submission(ctx),
                                                    test::client_options(), asio::use_awaitable);
            smtpio::credentials creds("user", "pencil");
            co_await s.async_authenticate(std::move(creds), asio::use_awaitable);
            smtpio::envelope env = test::simple_envelope();
            auto r = co_await s.async_send(std::move(env), smtpio::body(body_text), asio::use_awaitable);
            outcome = r.outcome;
            co_await s.async_quit(asio::use_awaitable);
        },
        asio::detached);
    io.run_for(std::chrono::seconds(30));
    CHECK(outcome == message_outcome::delivered);
    CHECK(server.first().messages.size() == 1);
}

TEST_CASE("loopback: smtpio::send, the blocking convenience", "[integration][session][blocking]") {
    const auto ctx = test::trusting_context();
    {
        test::smtp_script_server server(test::server_options(test::starttls_script()));
        auto r = smtpio::send("127.0.0.1", server.port(), policy::submission(ctx), test::simple_envelope(), body_text,
                              smtpio::credentials("user", "pencil"), test::client_options());
        CHECK(r.outcome == message_outcome::delivered);
        CHECK(r.tls.verified);
        auto rec = server.first();
        REQUIRE(rec.messages.size() == 1);
        CHECK(rec.authenticated_user == "user");
        CHECK(rec.encrypted().substr(rec.encrypted().size() - 6) == "QUIT\r\n");
    }
    {
        // Nothing written: an exception with the reason.
        auto s = test::starttls_script();
        s.extensions = {"PIPELINING"};
        test::smtp_script_server server(test::server_options(s));
        try {
            (void)smtpio::send("127.0.0.1", server.port(), policy::submission(ctx), test::simple_envelope(), body_text,
                               std::nullopt, test::client_options());
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == errc::starttls_not_offered);
        }
        CHECK(server.first().all() == ehlo);
    }
    {
        // A refusal by the server is a result, not an exception.
        auto s = test::starttls_script();
        s.on_command = [](test::smtp_server_model&, std::string_view line,
                          const std::string&) -> std::optional<std::string> {
            if (line.rfind("RCPT", 0) == 0) return std::string("550 5.1.1 no such user\r\n");
            return std::nullopt;
        };
        test::smtp_script_server server(test::server_options(s));
        auto r = smtpio::send("127.0.0.1", server.port(), policy::submission(ctx), test::simple_envelope(), body_text,
                              std::nullopt, test::client_options());
        CHECK(r.outcome == message_outcome::rejected);
        CHECK(r.recipients[0].reply.code == 550);
    }
}

TEST_CASE("loopback: cancellation and deadlines over TCP", "[integration][session][cancel]") {
    const auto ctx = test::trusting_context();
    SECTION("cancelled while waiting for the reply to DATA") {
        auto s = test::starttls_script();
        s.on_command = [](test::smtp_server_model&, std::string_view line,
                          const std::string&) -> std::optional<std::string> {
            if (line == "DATA") return std::string(); // silence
            return std::nullopt;
        };
        test::smtp_script_server server(test::server_options(s));
        test::client c;
        REQUIRE_FALSE(c.connect(server.port(), policy::submission(ctx)));
        asio::cancellation_signal sig;
        std::optional<smtpio::send_result> res;
        c.s->async_send(test::simple_envelope(), body_text,
                        asio::bind_cancellation_slot(sig.slot(), [&](std::error_code ec, smtpio::send_result r) {
                            CHECK_FALSE(ec);
                            res = std::move(r);
                        }));
        asio::steady_timer t(c.io, std::chrono::milliseconds(150));
        t.async_wait([&](std::error_code) { sig.emit(asio::cancellation_type::terminal); });
        c.run();
        REQUIRE(res);
        CHECK(res->error == errc::cancelled);
        CHECK(res->outcome == message_outcome::deferred);
        CHECK_FALSE(c.s->is_open());
    }
    SECTION("no reply to the end of data: unknown") {
        auto s = test::starttls_script();
        s.on_message = [](test::smtp_server_model&, const test::received_message&) -> std::optional<std::string> {
            return std::string();
        };
        test::smtp_script_server server(test::server_options(s));
        auto o = test::client_options();
        o.timeouts.data_end = std::chrono::milliseconds(300);
        test::client c;
        REQUIRE_FALSE(c.connect(server.port(), policy::submission(ctx), o));
        auto [ec, r] = c.send(test::simple_envelope(), body_text);
        CHECK_FALSE(ec);
        CHECK(r.error == errc::end_of_data_timeout);
        CHECK(r.outcome == message_outcome::unknown);
        CHECK(r.recipients[0].outcome == outcome::unknown);
        CHECK(server.first().messages.size() == 1);
    }
}

TEST_CASE("loopback: a write the socket takes only in part is finished asynchronously",
          "[integration][session][write]") {
    // The session writes a command group or a message's last block straight into
    // the socket when the socket takes it at once, and hands what it does not take
    // to an asynchronous write.  A small send buffer, a server that reads slowly
    // and whole 3 MiB bodies in one block make the bodies written after the
    // operation's first write (which is always asynchronous) take both paths:
    // with DATA every body, with BDAT the last (the first two go in that write).
    // With DATA, a body with no line that starts with a dot goes as it is, from
    // where it is (a gather write of the body and the end of data after it); one
    // with such lines is dot-stuffed into the write buffer.
    const bool chunking = GENERATE(false, true);
    const bool dot_lines = GENERATE(false, true);
    CAPTURE(chunking, dot_lines);
    auto script = test::smtp_script{};
    script.extensions = {"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"};
    if (chunking) script.extensions.push_back("CHUNKING");
    int slow = 0;
    script.on_data = [&slow](test::smtp_server_model&, std::size_t) -> std::optional<std::string> {
        if (slow < 20) {
            ++slow;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return std::nullopt;
    };
    auto so = test::server_options(script);
    test::smtp_script_server server(so);
    auto o = test::client_options();
    o.block_size = 8 * 1024 * 1024;
    test::client c;
    REQUIRE_FALSE(c.connect(server.port(), policy::dangerous_plaintext(), o));
    c.s->next_layer().set_option(asio::socket_base::send_buffer_size(8192));

    std::vector<std::string> bodies;
    std::vector<smtpio::message> msgs;
    for (int m = 0; m < 3; ++m) {
        std::string b = "Subject: part " + std::to_string(m) + "\r\n\r\n";
        for (int i = 0; b.size() < 3 * 1024 * 1024; ++i)
            b += (dot_lines && i % 10 == 0 ? "." : "") + std::to_string(m) + " line " + std::to_string(i) +
                 " of a body larger than any socket buffer here\r\n";
        bodies.push_back(b);
        smtpio::send_options opts;
        opts.chunking = chunking;
        msgs.push_back({test::simple_envelope(), smtpio::body(b), opts});
    }
    auto [ec, rs] = c.send_batch(std::move(msgs));
    REQUIRE_FALSE(ec);
    REQUIRE(rs.size() == 3);
    for (const auto& r : rs) {
        CHECK(r.outcome == message_outcome::delivered);
        CHECK_FALSE(r.error);
    }
    // After the writes the session's socket is in non-blocking mode (documented at next_layer()).
    CHECK(c.s->next_layer().non_blocking());
    CHECK_FALSE(c.quit());
    auto rec = server.first();
    REQUIRE(rec.messages.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(rec.messages[i].bdat == chunking);
        CHECK(rec.messages[i].content.size() == bodies[i].size());
        CHECK(rec.messages[i].content == bodies[i]);
    }
}

TEST_CASE("loopback: the transcript of a batch written from the bodies themselves",
          "[integration][session][transcript]") {
    // Over a socket, a body that needs no dot-stuffing is written from where it
    // is, with the end of data and the next message's commands after it.  The
    // transcript still counts each message's data and shows the commands that
    // follow it, never the content.
    auto script = test::smtp_script{};
    script.extensions = {"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"};
    test::smtp_script_server server(test::server_options(script));
    std::vector<std::uint64_t> data;
    std::vector<std::string> commands;
    auto o = test::client_options();
    o.transcript = [&](const smtpio::transcript_event& e) {
        if (e.type == smtpio::transcript_event::kind::message_data) data.push_back(e.octets);
        if (e.type == smtpio::transcript_event::kind::command) commands.emplace_back(e.text);
    };
    test::client c;
    REQUIRE_FALSE(c.connect(server.port(), policy::dangerous_plaintext(), o));
    const std::string first = "Subject: one\r\n\r\nsecret one\r\n";
    const std::string second = "Subject: two\r\n\r\nsecret two, longer\r\n";
    std::vector<smtpio::message> msgs;
    msgs.push_back({test::simple_envelope(), smtpio::body(first), {}});
    msgs.push_back({test::simple_envelope(), smtpio::body(second), {}});
    auto [ec, rs] = c.send_batch(std::move(msgs));
    REQUIRE_FALSE(ec);
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].outcome == message_outcome::delivered);
    CHECK(rs[1].outcome == message_outcome::delivered);
    CHECK(rs[0].data_octets == first.size() + 3);
    CHECK(rs[1].data_octets == second.size() + 3);
    CHECK(data == std::vector<std::uint64_t>{first.size() + 3, second.size() + 3});
    // MAIL, RCPT and DATA of each message, the second's written after the first's
    // data: no line of the data (nor its end, ".") shown as a command.
    std::vector<std::string> mail;
    for (const auto& l : commands)
        if (l.rfind("EHLO ", 0) != 0) mail.push_back(l);
    const std::vector<std::string> want = {"MAIL FROM:<a@example.org>", "RCPT TO:<b@example.com>", "DATA",
                                           "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.com>", "DATA"};
    CHECK(mail == want);
    CHECK_FALSE(c.quit());
    auto rec = server.first();
    REQUIRE(rec.messages.size() == 2);
    CHECK(rec.messages[0].content == first);
    CHECK(rec.messages[1].content == second);
}

TEST_CASE("loopback: a second open while STARTTLS's reply is on its way is refused, the first goes on",
          "[integration][session][starttls]") {
    // The session builds its ClientHello while the reply to STARTTLS is on its
    // way; a second async_open then, refused as busy, must leave that prepared
    // connection to the open that runs.
    auto script = test::starttls_script();
    script.on_command = [](test::smtp_server_model&, std::string_view line,
                           const std::string&) -> std::optional<std::string> {
        if (line == "STARTTLS") std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return std::nullopt;
    };
    test::smtp_script_server server(test::server_options(script));
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), server.port()});
    smtpio::session s(std::move(sock), policy::submission(test::trusting_context()), test::client_options());
    std::optional<std::error_code> first, second;
    s.async_open([&](std::error_code ec) { first = ec; });
    asio::steady_timer t(io, std::chrono::milliseconds(100));
    t.async_wait([&](std::error_code) {
        CHECK_FALSE(first); // still waiting for the 220 to STARTTLS
        s.async_open([&](std::error_code ec) { second = ec; });
    });
    io.run_for(std::chrono::seconds(20));
    REQUIRE(second);
    CHECK(*second == errc::operation_in_progress);
    REQUIRE(first);
    CHECK_FALSE(*first);
    CHECK(s.is_open());
    CHECK(s.is_encrypted());
    CHECK(s.tls_report().verified);
    // The connection works: a message goes over it.
    std::optional<smtpio::send_result> r;
    s.async_send(test::simple_envelope(), body_text,
                 [&](std::error_code, smtpio::send_result res) { r = std::move(res); });
    io.restart();
    io.run_for(std::chrono::seconds(20));
    REQUIRE(r);
    CHECK(r->outcome == message_outcome::delivered);
    CHECK(r->tls.established);
    std::optional<std::error_code> quit;
    s.async_quit([&](std::error_code ec) { quit = ec; });
    io.restart();
    io.run_for(std::chrono::seconds(20));
    REQUIRE(quit);
    CHECK_FALSE(*quit);
    CHECK(server.first().messages.size() == 1);
}
