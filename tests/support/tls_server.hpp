//
// tests/support/tls_server.hpp -- a scripted TLS server on 127.0.0.1 for tests.
//
// It accepts on an ephemeral port, runs on its own thread with its own
// io_context, and for each connection does the TLS handshake (implicit TLS) or
// leaves it to the script (STARTTLS), then runs the script.  Every operation
// of a script blocks with a deadline; the destructor stops everything.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TEST_TLS_SERVER_HPP
#define SMTPIO_TEST_TLS_SERVER_HPP

#include <asio/buffer.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/ssl.hpp>
#include <asio/write.hpp>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace smtpio::test {

/// How a `tls_server` behaves.
struct tls_server_options {
    std::string certificate_chain_pem;  ///< Leaf first, then what the server sends after it.
    std::string private_key_pem;        ///< The leaf's key.
    int min_version = TLS1_2_VERSION;   ///< Lowest version offered (TLS1_VERSION for 1.0-only servers).
    int max_version = TLS1_3_VERSION;   ///< Highest version.
    std::string cipher_list;            ///< TLS 1.2-and-lower suites (BoringSSL syntax); empty: BoringSSL's default.
    bool implicit_tls = true;           ///< Handshake right after accept; false: the script calls `handshake()`.
    std::size_t max_connections = 1;    ///< Connections served before the accept loop ends.
    std::chrono::milliseconds io_timeout{10000}; ///< Deadline of every operation.
    bool session_tickets = true;        ///< Issue session tickets (resumption).
    std::string greeting = "hello";     ///< What the default script writes (a line) after the handshake.
};

/// What the server saw on one connection.
struct tls_connection_record {
    std::optional<std::string> sni;  ///< The server name the client sent, if any.
    bool handshake_done = false;     ///< The TLS handshake completed.
    std::error_code handshake_error; ///< Why it failed.
    std::string version;             ///< Negotiated version ("TLSv1.3").
    std::string cipher;              ///< Negotiated suite (IANA name).
    bool resumed = false;            ///< The client resumed a session.
    std::string script_error;        ///< An exception that ended the script, if any.
    std::vector<std::string> lines;  ///< Lines read by `read_line` (without CRLF).
};

class tls_server;

/// One accepted connection, as the script sees it.  All operations block with
/// the server's deadline and throw `std::system_error` on error or timeout.
class tls_connection {
public:
    using stream_type = asio::ssl::stream<asio::ip::tcp::socket>;

    /// The TLS stream (its next layer is the TCP socket).
    stream_type& stream() noexcept { return stream_; }
    /// The TCP socket.
    asio::ip::tcp::socket& socket() noexcept { return stream_.next_layer(); }
    /// Whether TLS is active (after `handshake()` or with implicit TLS).
    bool tls_active() const noexcept { return tls_; }
    /// What the server saw so far.
    tls_connection_record& record() noexcept { return record_; }

    /// The server side of the TLS handshake (for STARTTLS scripts).  Bytes
    /// already buffered by `read_line` are an error here (RFC 3207 section 6).
    void handshake();
    /// Reads one line ending in CRLF (returned without it), over TLS when active.
    std::string read_line();
    /// Writes all of `data`, over TLS when active.
    void write(std::string_view data);
    /// Writes `line` + CRLF.
    void write_line(std::string_view line) { write(std::string(line) + "\r\n"); }
    /// Sends close_notify (TLS) and shuts the socket down; errors are ignored.
    void close();
    /// True when the peer closed the connection (a read returns end of file).
    bool at_eof();

private:
    friend class tls_server;
    tls_connection(tls_server& server, asio::ip::tcp::socket socket, asio::ssl::context& ctx)
        : server_(server), stream_(std::move(socket), ctx) {}

    tls_server& server_;
    stream_type stream_;
    bool tls_ = false;
    std::string buffer_;
    tls_connection_record record_;
};

/// A TLS server for loopback tests.  The script runs on the server's thread;
/// the default one writes `options.greeting` as a line after the handshake and
/// then echoes lines until the client closes.
class tls_server {
public:
    using script = std::function<void(tls_connection&)>;

    explicit tls_server(tls_server_options options, script s = {})
        : options_(std::move(options)), script_(std::move(s)), ssl_(asio::ssl::context::tls_server),
          acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        configure_ssl();
        thread_ = std::thread([this] { run(); });
    }

    tls_server(const tls_server&) = delete;
    tls_server& operator=(const tls_server&) = delete;

    ~tls_server() { stop(); }

    /// The port on 127.0.0.1.
    unsigned short port() const noexcept { return acceptor_.local_endpoint().port(); }

    /// The server's `asio::ssl::context` (for tests that change it before connecting).
    asio::ssl::context& ssl_context() noexcept { return ssl_; }

    /// Records of the connections that ended (a copy).
    std::vector<tls_connection_record> records() const {
        std::lock_guard lock(mutex_);
        return records_;
    }

    /// Waits until `n` connections have ended; false on timeout.
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
        std::unique_lock lock(mutex_);
        return done_cv_.wait_for(lock, timeout, [&] { return records_.size() >= n; });
    }

    /// Stops accepting and aborts the current connection; joins the thread.
    void stop() {
        stopping_ = true;
        while (thread_.joinable() && !finished_) {
            io_.stop();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (thread_.joinable()) thread_.join();
    }

    /// Runs one asynchronous operation to completion on the server thread, with
    /// the deadline; on timeout or stop, `cancel` aborts it and the result is
    /// `timed_out` / `operation_canceled`.  For scripts that need their own operations.
    template <class Initiate, class Cancel>
    std::error_code run_op(Initiate&& initiate, Cancel&& cancel) {
        std::optional<std::error_code> result;
        initiate([&result](std::error_code ec, auto&&...) { result = ec; });
        io_.restart();
        const auto deadline = std::chrono::steady_clock::now() + options_.io_timeout;
        while (!result && !stopping_) {
            if (io_.run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline) break;
        }
        if (result) return *result;
        cancel();
        io_.restart();
        const auto drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!result && std::chrono::steady_clock::now() < drain_deadline)
            io_.run_one_until(drain_deadline);
        return stopping_ ? std::make_error_code(std::errc::operation_canceled)
                         : std::make_error_code(std::errc::timed_out);
    }

    /// The options the server runs with.
    const tls_server_options& options() const noexcept { return options_; }

private:
    friend class tls_connection;

    void configure_ssl() {
        SSL_CTX* ctx = ssl_.native_handle();
        ssl_.use_certificate_chain(asio::buffer(options_.certificate_chain_pem));
        ssl_.use_private_key(asio::buffer(options_.private_key_pem), asio::ssl::context::pem);
        SSL_CTX_set_min_proto_version(ctx, static_cast<std::uint16_t>(options_.min_version));
        SSL_CTX_set_max_proto_version(ctx, static_cast<std::uint16_t>(options_.max_version));
        if (!options_.cipher_list.empty() && !SSL_CTX_set_strict_cipher_list(ctx, options_.cipher_list.c_str()))
            throw std::runtime_error("tls_server: bad cipher list " + options_.cipher_list);
        static const unsigned char sid[] = "smtpio-test";
        SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        if (!options_.session_tickets) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }

    void run() {
        for (std::size_t i = 0; i < options_.max_connections && !stopping_; ++i) {
            asio::ip::tcp::socket socket(io_);
            auto saved = options_.io_timeout;
            options_.io_timeout = std::chrono::seconds(60); // waiting for a client is not an I/O deadline
            const auto ec = run_op([&](auto handler) { acceptor_.async_accept(socket, std::move(handler)); },
                                   [&] { acceptor_.close(); });
            options_.io_timeout = saved;
            if (ec) break;
            socket.set_option(asio::ip::tcp::no_delay(true));
            tls_connection conn(*this, std::move(socket), ssl_);
            try {
                if (options_.implicit_tls) conn.handshake();
                if (script_) script_(conn);
                else default_script(conn);
            } catch (const std::exception& e) {
                conn.record_.script_error = e.what();
            }
            conn.close();
            {
                std::lock_guard lock(mutex_);
                records_.push_back(std::move(conn.record_));
            }
            done_cv_.notify_all();
        }
        std::error_code ignored;
        acceptor_.close(ignored);
        finished_ = true;
    }

    void default_script(tls_connection& c) {
        if (!c.tls_active()) return; // handshake failed: recorded
        c.write_line(options_.greeting);
        for (int i = 0; i < 1000; ++i) { // bounded echo
            if (c.at_eof()) return;
            c.write_line(c.read_line());
        }
    }

    tls_server_options options_;
    script script_;
    asio::io_context io_;
    asio::ssl::context ssl_;
    asio::ip::tcp::acceptor acceptor_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> finished_{false};
    mutable std::mutex mutex_;
    mutable std::condition_variable done_cv_;
    std::vector<tls_connection_record> records_;
    std::thread thread_;
};

inline void tls_connection::handshake() {
    if (!buffer_.empty())
        throw std::system_error(std::make_error_code(std::errc::protocol_error),
                                "tls_server: plaintext bytes buffered before the TLS handshake");
    const auto ec = server_.run_op(
        [&](auto handler) { stream_.async_handshake(asio::ssl::stream_base::server, std::move(handler)); },
        [&] { socket().close(); });
    SSL* ssl = stream_.native_handle();
    if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) record_.sni = name;
    record_.handshake_error = ec;
    if (ec) throw std::system_error(ec, "tls_server: handshake");
    record_.handshake_done = true;
    tls_ = true;
    record_.version = SSL_get_version(ssl);
    if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) record_.cipher = SSL_CIPHER_standard_name(c);
    record_.resumed = SSL_session_reused(ssl) == 1;
}

inline std::string tls_connection::read_line() {
    std::size_t n = 0;
    auto dyn = asio::dynamic_buffer(buffer_, 64 * 1024);
    const auto ec = server_.run_op(
        [&](auto handler) {
            auto h = [&n, handler = std::move(handler)](std::error_code e, std::size_t bytes) mutable {
                n = bytes;
                handler(e);
            };
            if (tls_) asio::async_read_until(stream_, dyn, "\r\n", std::move(h));
            else asio::async_read_until(socket(), dyn, "\r\n", std::move(h));
        },
        [&] { socket().close(); });
    if (ec) throw std::system_error(ec, "tls_server: read_line");
    std::string line = buffer_.substr(0, n - 2);
    buffer_.erase(0, n);
    record_.lines.push_back(line);
    return line;
}

inline void tls_connection::write(std::string_view data) {
    const auto ec = server_.run_op(
        [&](auto handler) {
            auto h = [handler = std::move(handler)](std::error_code e, std::size_t) mutable { handler(e); };
            if (tls_) asio::async_write(stream_, asio::buffer(data), std::move(h));
            else asio::async_write(socket(), asio::buffer(data), std::move(h));
        },
        [&] { socket().close(); });
    if (ec) throw std::system_error(ec, "tls_server: write");
}

inline bool tls_connection::at_eof() {
    if (!buffer_.empty()) return false;
    std::size_t n = 0;
    std::string chunk(4096, '\0');
    const auto ec = server_.run_op(
        [&](auto handler) {
            auto h = [&n, handler = std::move(handler)](std::error_code e, std::size_t bytes) mutable {
                n = bytes;
                handler(e);
            };
            if (tls_) stream_.async_read_some(asio::buffer(chunk), std::move(h));
            else socket().async_read_some(asio::buffer(chunk), std::move(h));
        },
        [&] { socket().close(); });
    buffer_.append(chunk, 0, n);
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) return buffer_.empty();
    if (ec) throw std::system_error(ec, "tls_server: read");
    return false;
}

inline void tls_connection::close() {
    if (!socket().is_open()) return;
    if (tls_) {
        // close_notify, without waiting long for the peer's.
        auto saved = server_.options_.io_timeout;
        server_.options_.io_timeout = std::chrono::milliseconds(200);
        (void)server_.run_op([&](auto handler) { stream_.async_shutdown(std::move(handler)); },
                             [&] { socket().close(); });
        server_.options_.io_timeout = saved;
    }
    std::error_code ignored;
    socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
}

} // namespace smtpio::test

#endif // SMTPIO_TEST_TLS_SERVER_HPP
