// tls::stream, the TLS stream sessions run over, against a real TLS server on
// loopback: large writes, a read and a write in flight together, how a
// connection ends, completion never inside the initiating function, and no
// buffer kept while idle.
#include "cert_factory.hpp"
#include "tls_client.hpp"
#include "tls_server.hpp"

#include <smtpio/tls/context.hpp>
#include <smtpio/tls/policy.hpp>
#include <smtpio/tls/stream.hpp>

#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

namespace tls = smtpio::tls;
namespace test = smtpio::test;
using test::cert_case;

namespace {

constexpr const char* host = "mx.example.test";
constexpr auto timeout = std::chrono::seconds(20);

struct client {
    asio::io_context io;
    tls::context ctx;
    std::optional<tls::stream<asio::ip::tcp::socket>> s;

    explicit client(const test::cert_factory& f) : ctx(tls::context::with_ca_pem(f.trust_pem())) {}

    std::error_code connect(unsigned short port, int max_version = TLS1_3_VERSION) {
        s.emplace(asio::ip::tcp::socket(io), ctx.native_handle());
        std::optional<std::error_code> r;
        s->next_layer().async_connect({asio::ip::make_address("127.0.0.1"), port}, [&](std::error_code ec) { r = ec; });
        REQUIRE(test::run_until(io, [&] { return r.has_value(); }, timeout));
        if (*r) return *r;
        SSL_set_tlsext_host_name(s->native_handle(), host);
        SSL_set_max_proto_version(s->native_handle(), static_cast<std::uint16_t>(max_version));
        std::optional<std::error_code> hs;
        s->async_handshake([&](std::error_code ec) { hs = ec; });
        REQUIRE(test::run_until(io, [&] { return hs.has_value(); }, timeout));
        return *hs;
    }

    std::string read_line(std::string& buf, std::error_code& ec) {
        std::optional<std::error_code> r;
        std::size_t n = 0;
        asio::async_read_until(*s, asio::dynamic_buffer(buf), "\r\n", [&](std::error_code e, std::size_t k) {
            r = e;
            n = k;
        });
        REQUIRE(test::run_until(io, [&] { return r.has_value(); }, timeout));
        ec = *r;
        if (ec) return {};
        std::string line = buf.substr(0, n - 2);
        buf.erase(0, n);
        return line;
    }
};

test::tls_server_options server_for(const test::server_identity& id) {
    test::tls_server_options o;
    o.certificate_chain_pem = id.chain_pem();
    o.private_key_pem = id.key_pem();
    return o;
}

} // namespace

TEST_CASE("tls::stream: a large write while a read is in flight, echoed back intact", "[tls][stream][integration]") {
    test::cert_factory f;
    const auto id = f.make(cert_case::valid, host);
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        INFO("max version " << version);
        test::tls_server server(server_for(id)); // greets, then echoes up to 1000 lines
        client c(f);
        REQUIRE_FALSE(c.connect(server.port(), version));

        // 600 lines of 1000 octets in one write: ~37 records.  The server echoes
        // while the client is still writing, so the read must run at the same
        // time or both sides stall on full socket buffers.
        std::string out;
        for (int i = 0; i < 600; ++i) {
            std::string line = std::to_string(i) + ":";
            line.append(998 - line.size(), static_cast<char>('a' + i % 26));
            out += line + "\r\n";
        }
        std::string in;
        std::optional<std::error_code> wrote, read;
        std::size_t wrote_n = 0;
        const std::size_t want = std::string("hello\r\n").size() + out.size();
        asio::async_read(*c.s, asio::dynamic_buffer(in), asio::transfer_exactly(want), [&](std::error_code ec, std::size_t) { read = ec; });
        asio::async_write(*c.s, asio::buffer(out), [&](std::error_code ec, std::size_t n) {
            wrote = ec;
            wrote_n = n;
        });
        REQUIRE(test::run_until(c.io, [&] { return wrote.has_value() && read.has_value(); }, timeout));
        CHECK_FALSE(*wrote);
        CHECK(wrote_n == out.size());
        CHECK_FALSE(*read);
        REQUIRE(in.size() == want);
        CHECK(in.substr(0, 7) == "hello\r\n");
        CHECK(in.substr(7) == out);
        CHECK(c.s->buffered() == 0); // idle again: no ciphertext held
    }
}

TEST_CASE("tls::stream: close_notify is end of file, a bare close is truncation", "[tls][stream][integration]") {
    test::cert_factory f;
    const auto id = f.make(cert_case::valid, host);
    SECTION("close_notify") {
        test::tls_server server(server_for(id), [](test::tls_connection& conn) {
            conn.write_line("bye");
            conn.close(); // close_notify, then the socket
        });
        client c(f);
        REQUIRE_FALSE(c.connect(server.port()));
        std::string buf;
        std::error_code ec;
        CHECK(c.read_line(buf, ec) == "bye");
        REQUIRE_FALSE(ec);
        c.read_line(buf, ec);
        CHECK(ec == asio::error::eof);
    }
    SECTION("the TCP connection closed without close_notify") {
        test::tls_server server(server_for(id), [](test::tls_connection& conn) {
            conn.write_line("bye");
            std::error_code ignored;
            conn.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
            conn.socket().close(ignored);
        });
        client c(f);
        REQUIRE_FALSE(c.connect(server.port()));
        std::string buf;
        std::error_code ec;
        CHECK(c.read_line(buf, ec) == "bye");
        REQUIRE_FALSE(ec);
        c.read_line(buf, ec);
        CHECK(ec == asio::ssl::error::stream_truncated);
    }
}

TEST_CASE("tls::stream: a failed handshake reports BoringSSL's reason", "[tls][stream][integration]") {
    test::cert_factory f;
    auto o = server_for(f.make(cert_case::valid, host));
    o.min_version = o.max_version = TLS1_1_VERSION; // below the context's floor
    test::tls_server server(o);
    client c(f);
    std::error_code ec = c.connect(server.port());
    REQUIRE(ec);
    CHECK(ec.category() == asio::error::get_ssl_category());
    CHECK_THAT(ec.message(), Catch::Contains("VERSION", Catch::CaseSensitive::No));
    REQUIRE(server.wait_for(1));
    CHECK_FALSE(server.records()[0].handshake_done); // the client's alert ended it
}

TEST_CASE("tls::stream: completions never run inside the initiating call", "[tls][stream][integration]") {
    test::cert_factory f;
    test::tls_server server(server_for(f.make(cert_case::valid, host)), [](test::tls_connection& conn) {
        conn.write("one\r\ntwo\r\n"); // one record: the second read is served from BoringSSL's buffer
        conn.read_line();
    });
    client c(f);
    REQUIRE_FALSE(c.connect(server.port()));
    char byte = 0;
    std::string got;
    for (int i = 0; i < 10; ++i) {
        bool inside = true, called = false;
        std::error_code ec;
        c.s->async_read_some(asio::buffer(&byte, 1), [&](std::error_code e, std::size_t n) {
            CHECK_FALSE(inside);
            called = true;
            ec = e;
            if (n == 1) got += byte;
        });
        inside = false;
        REQUIRE(test::run_until(c.io, [&] { return called; }, timeout));
        REQUIRE_FALSE(ec);
    }
    CHECK(got == "one\r\ntwo\r\n");
    // Empty buffers complete at once with 0, also posted.
    bool inside = true, called = false;
    std::size_t n0 = 99;
    c.s->async_read_some(asio::mutable_buffer(), [&](std::error_code, std::size_t n) {
        CHECK_FALSE(inside);
        called = true;
        n0 = n;
    });
    c.s->async_write_some(asio::const_buffer(), [&](std::error_code, std::size_t) { CHECK_FALSE(inside); });
    inside = false;
    REQUIRE(test::run_until(c.io, [&] { return called; }, timeout));
    CHECK(n0 == 0);
    std::optional<std::error_code> w;
    asio::async_write(*c.s, asio::buffer(std::string_view("done\r\n")), [&](std::error_code e, std::size_t) { w = e; });
    REQUIRE(test::run_until(c.io, [&] { return w.has_value(); }, timeout));
    CHECK_FALSE(*w);
    CHECK(c.s->buffered() == 0);
}

TEST_CASE("tls::stream: a ClientHello built ahead, and a final flight held for the first write",
          "[tls][stream][integration]") {
    test::cert_factory f;
    const auto id = f.make(cert_case::valid, host);
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        for (bool hold : {false, true}) {
            INFO("max version " << version << (hold ? ", final flight held" : ""));
            // The client speaks first: the server answers each line.
            test::tls_server server(server_for(id), [](test::tls_connection& conn) {
                for (int i = 0; i < 2; ++i) conn.write_line("got " + conn.read_line());
            });
            client c(f);
            c.s.emplace(asio::ip::tcp::socket(c.io), c.ctx.native_handle());
            SSL_set_tlsext_host_name(c.s->native_handle(), host);
            SSL_set_max_proto_version(c.s->native_handle(), static_cast<std::uint16_t>(version));
            // Built before the connection even exists: queued, not sent.
            REQUIRE_FALSE(c.s->prepare_handshake());
            CHECK(c.s->buffered() > 100);
            c.s->hold_final_flight(hold);
            std::optional<std::error_code> r;
            c.s->next_layer().async_connect({asio::ip::make_address("127.0.0.1"), server.port()},
                                            [&](std::error_code ec) { r = ec; });
            REQUIRE(test::run_until(c.io, [&] { return r.has_value(); }, timeout));
            REQUIRE_FALSE(*r);
            std::optional<std::error_code> hs;
            c.s->async_handshake([&](std::error_code ec) { hs = ec; });
            REQUIRE(test::run_until(c.io, [&] { return hs.has_value(); }, timeout));
            REQUIRE_FALSE(*hs);
            // TLS 1.3 ends with the client's Finished: held, it waits in the stream.
            // A full TLS 1.2 handshake ends with the server's: nothing to hold.
            const bool held = hold && version == TLS1_3_VERSION;
            CHECK((c.s->buffered() > 0) == held);
            for (const char* line : {"EHLO one", "EHLO two"}) {
                std::optional<std::error_code> w;
                std::string out = std::string(line) + "\r\n";
                asio::async_write(*c.s, asio::buffer(out), [&](std::error_code ec, std::size_t) { w = ec; });
                REQUIRE(test::run_until(c.io, [&] { return w.has_value(); }, timeout));
                REQUIRE_FALSE(*w);
                CHECK(c.s->buffered() == 0); // the held flight went with it
                std::string buf;
                std::error_code ec;
                CHECK(c.read_line(buf, ec) == "got " + std::string(line));
                CHECK_FALSE(ec);
            }
            REQUIRE(server.wait_for(1));
            const auto rec = server.records()[0];
            CHECK(rec.handshake_done);
            CHECK(rec.sni == std::optional<std::string>(host));
            CHECK(rec.lines == std::vector<std::string>{"EHLO one", "EHLO two"});
        }
    }
}

TEST_CASE("tls::stream: a resumed TLS 1.2 session's final flight is held for the first write",
          "[tls][stream][integration]") {
    // An abbreviated TLS 1.2 handshake ends with the client's ChangeCipherSpec
    // and Finished: held, they wait in the stream and go with the first write.
    test::cert_factory f;
    auto o = server_for(f.make(cert_case::valid, host));
    o.max_version = TLS1_2_VERSION;
    o.max_connections = 2;
    test::tls_server server(o,
                            [](test::tls_connection& conn) { conn.write_line("got " + conn.read_line()); });
    client c(f);
    REQUIRE_FALSE(c.connect(server.port(), TLS1_2_VERSION));
    bssl::UniquePtr<SSL_SESSION> saved(SSL_get1_session(c.s->native_handle()));
    REQUIRE(saved);
    for (const char* line : {"first", "second"}) {
        if (std::string_view(line) == "second") {
            // Resume on a new connection, the final flight held.
            c.s.emplace(asio::ip::tcp::socket(c.io), c.ctx.native_handle());
            SSL_set_tlsext_host_name(c.s->native_handle(), host);
            SSL_set_max_proto_version(c.s->native_handle(), TLS1_2_VERSION);
            REQUIRE(SSL_set_session(c.s->native_handle(), saved.get()) == 1);
            c.s->hold_final_flight(true);
            std::optional<std::error_code> r;
            c.s->next_layer().async_connect({asio::ip::make_address("127.0.0.1"), server.port()},
                                            [&](std::error_code ec) { r = ec; });
            REQUIRE(test::run_until(
                c.io, [&] { return r.has_value(); }, timeout));
            REQUIRE_FALSE(*r);
            std::optional<std::error_code> hs;
            c.s->async_handshake([&](std::error_code ec) { hs = ec; });
            REQUIRE(test::run_until(
                c.io, [&] { return hs.has_value(); }, timeout));
            REQUIRE_FALSE(*hs);
            CHECK(SSL_session_reused(c.s->native_handle()) == 1);
            CHECK(c.s->buffered() > 0); // ChangeCipherSpec and Finished, held
        }
        std::optional<std::error_code> w;
        std::string out = std::string(line) + "\r\n";
        asio::async_write(*c.s, asio::buffer(out), [&](std::error_code ec, std::size_t) { w = ec; });
        REQUIRE(test::run_until(
            c.io, [&] { return w.has_value(); }, timeout));
        REQUIRE_FALSE(*w);
        CHECK(c.s->buffered() == 0);
        std::string buf;
        std::error_code ec;
        CHECK(c.read_line(buf, ec) == "got " + std::string(line));
        CHECK_FALSE(ec);
    }
    REQUIRE(server.wait_for(2));
    const auto recs = server.records();
    CHECK_FALSE(recs[0].resumed);
    CHECK(recs[1].resumed);
    CHECK(recs[1].handshake_done);
    CHECK(recs[1].version == "TLSv1.2");
    CHECK(recs[1].lines == std::vector<std::string>{"second"});
}
