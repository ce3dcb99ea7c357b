//
// examples/support/smtp_server.hpp -- a small SMTP server on loopback, written
// with smtpio's own protocol types: the receiving side of `smtpio-send --demo`,
// of the CLI's tests and of the benchmarks' STARTTLS sink (`smtpio-sink`).
//
// Not part of the library.  It speaks enough ESMTP to exercise a client fully:
// PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN, ENHANCEDSTATUSCODES, CHUNKING,
// BINARYMIME, STARTTLS or implicit TLS, AUTH PLAIN/LOGIN over TLS, REQUIRETLS.
// Recipients whose local part starts with "reject" get 550, "defer" get 451.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_EXAMPLES_SMTP_SERVER_HPP
#define SMTPIO_EXAMPLES_SMTP_SERVER_HPP

#include <smtpio/detail/base64.hpp>
#include <smtpio/proto/address.hpp>
#include <smtpio/proto/buffer.hpp>
#include <smtpio/proto/capabilities.hpp>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace smtpio_examples {

/// A message as the server received it.
struct received_message {
    std::string helo;
    std::string from;
    std::vector<std::string> to;
    std::string data;            ///< As received (dot-stuffing removed), CRLF line ends.
    std::string mail_parameters; ///< Everything after "MAIL FROM:<...>".
    bool tls = false;
    std::string received_clause; ///< "version=TLS1_3 cipher=... bits=256/256" or "".
};

struct server_config {
    std::string hostname = "mail.loopback.test";
    std::string cert_chain_pem;     ///< Enables TLS (STARTTLS, or implicit with `implicit_tls`).
    std::string key_pem;
    bool implicit_tls = false;
    /// The highest TLS version offered (TLS1_2_VERSION, TLS1_3_VERSION); 0: TLS 1.3.
    std::uint16_t max_tls_version = 0;
    bool require_tls = false;       ///< Refuse MAIL (530) before STARTTLS.
    bool keep_messages = true;      ///< Keep message data for `on_message` (off for a sink).
    std::uint64_t size_limit = 64ull * 1024 * 1024;
    std::string auth_user, auth_password; ///< AUTH PLAIN/LOGIN over TLS when set.
    std::function<void(received_message&&)> on_message; ///< Called on the server's thread.
};

/// Counters, readable from any thread.
struct server_stats {
    std::atomic<std::uint64_t> connections{0}, quits{0}, messages{0}, octets{0}, tls_handshakes{0}, tls_resumed{0},
        tls13{0};
};

/// An SMTP server on 127.0.0.1 (port 0: the system picks a free one).
class smtp_server {
public:
    smtp_server(asio::io_context& io, server_config cfg, std::uint16_t port = 0, const std::string& address = "127.0.0.1")
        : io_(io), cfg_(std::move(cfg)), acceptor_(io, {asio::ip::make_address(address), port}),
          tls_ctx_(asio::ssl::context::tls_server) {
        if (!cfg_.cert_chain_pem.empty()) {
            tls_ctx_.use_certificate_chain(asio::buffer(cfg_.cert_chain_pem));
            tls_ctx_.use_private_key(asio::buffer(cfg_.key_pem), asio::ssl::context::pem);
            SSL_CTX_set_min_proto_version(tls_ctx_.native_handle(), TLS1_2_VERSION);
            if (cfg_.max_tls_version != 0)
                SSL_CTX_set_max_proto_version(tls_ctx_.native_handle(), cfg_.max_tls_version);
            tls_ = true;
        }
    }

    asio::ip::tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
    std::uint16_t port() const { return endpoint().port(); }
    const server_stats& stats() const noexcept { return stats_; }

    /// Starts accepting (on the io_context's threads).
    void start() { asio::co_spawn(io_, accept_loop(), asio::detached); }
    /// Stops accepting; open connections finish on their own.
    void stop() {
        asio::post(io_, [this] {
            std::error_code ec;
            acceptor_.close(ec);
        });
    }

private:
    struct conn {
        std::string helo;
        std::string from, mail_params;
        std::vector<std::string> to;
        bool in_mail = false;
        bool tls = false;
        bool authed = false;
        std::string clause;
        smtpio::proto::buffer in, out;
        // DATA / BDAT state
        enum class mode { commands, data, bdat } m = mode::commands;
        bool data_line_start = true;
        std::uint64_t bdat_left = 0;
        bool bdat_last = false;
        bool bdat_failed = false;
        std::string data;
        std::uint64_t size = 0;
        int auth_step = 0; // LOGIN: 1 = user asked, 2 = password asked; PLAIN: 3 = waiting
        std::string auth_user;
        bool quit = false;
        bool starttls = false;
    };

    asio::awaitable<void> accept_loop() {
        for (;;) {
            std::error_code ec;
            auto sock = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            ++stats_.connections;
            sock.set_option(asio::ip::tcp::no_delay(true), ec);
            asio::co_spawn(io_, serve(std::move(sock)), asio::detached);
        }
    }

    asio::awaitable<void> serve(asio::ip::tcp::socket sock) {
        conn c;
        try {
            if (cfg_.implicit_tls && tls_) {
                asio::ssl::stream<asio::ip::tcp::socket&> s(sock, tls_ctx_);
                co_await s.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
                note_tls(c, s.native_handle());
                c.out += "220 " + cfg_.hostname + " ESMTP smtpio loopback server\r\n";
                co_await run(s, c);
                co_return;
            }
            c.out += "220 " + cfg_.hostname + " ESMTP smtpio loopback server\r\n";
            co_await run(sock, c);
            if (c.starttls) {
                asio::ssl::stream<asio::ip::tcp::socket&> s(sock, tls_ctx_);
                co_await s.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
                note_tls(c, s.native_handle());
                c.starttls = false;
                c.helo.clear();
                c.in_mail = false;
                c.to.clear();
                co_await run(s, c);
            }
        } catch (const std::exception&) {
            // The client went away or the handshake failed: drop the connection.
        }
    }

    void note_tls(conn& c, SSL* ssl) {
        c.tls = true;
        ++stats_.tls_handshakes;
        if (SSL_session_reused(ssl)) ++stats_.tls_resumed;
        if (SSL_version(ssl) == TLS1_3_VERSION) ++stats_.tls13;
        const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
        int alg = 0;
        int bits = cipher ? SSL_CIPHER_get_bits(cipher, &alg) : 0;
        std::string v = SSL_get_version(ssl); // "TLSv1.3"
        std::string ver = "TLS" + v.substr(4);
        for (char& ch : ver)
            if (ch == '.') ch = '_';
        c.clause = "version=" + ver + " cipher=" + (cipher ? SSL_CIPHER_standard_name(cipher) : "") +
                   " bits=" + std::to_string(bits) + "/" + std::to_string(alg);
    }

    template <class Stream>
    asio::awaitable<void> run(Stream& s, conn& c) {
        for (;;) {
            process(c);
            if (!c.out.empty()) {
                co_await asio::async_write(s, asio::buffer(c.out.data(), c.out.size()), asio::use_awaitable);
                c.out.clear();
            }
            if (c.quit || c.starttls) co_return;
            char* p = c.in.prepare(64 * 1024);
            std::size_t n = co_await s.async_read_some(asio::buffer(p, c.in.writable()), asio::use_awaitable);
            c.in.commit(n);
        }
    }

    void reply(conn& c, std::string_view r) {
        c.out += r;
        c.out += "\r\n";
    }

    void end_message(conn& c) {
        ++stats_.messages;
        stats_.octets += c.size;
        if (cfg_.keep_messages && cfg_.on_message) {
            received_message m{c.helo, c.from, c.to, std::move(c.data), c.mail_params, c.tls, c.clause};
            cfg_.on_message(std::move(m));
        }
        c.data.clear();
        c.size = 0;
        c.in_mail = false;
        c.to.clear();
    }

    // Consumes what it can of c.in, appending replies to c.out.
    void process(conn& c) {
        while (!c.in.empty() && !c.quit && !c.starttls) {
            if (c.m == conn::mode::data) {
                if (!consume_data(c)) return;
                continue;
            }
            if (c.m == conn::mode::bdat) {
                std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(c.bdat_left, c.in.size()));
                if (cfg_.keep_messages) c.data.append(c.in.data(), n);
                c.size += n;
                c.in.consume(n);
                c.bdat_left -= n;
                if (c.bdat_left > 0) return;
                finish_chunk(c);
                continue;
            }
            std::string_view v = c.in.view();
            std::size_t eol = v.find("\r\n");
            if (eol == std::string_view::npos) {
                if (v.size() > 4096) {
                    reply(c, "500 5.5.2 Line too long");
                    c.quit = true;
                }
                return;
            }
            std::string line(v.substr(0, eol));
            c.in.consume(eol + 2);
            command(c, line);
        }
    }

    void finish_chunk(conn& c) {
        c.m = conn::mode::commands;
        if (c.bdat_failed) {
            reply(c, "503 5.5.1 BDAT after a failed transaction");
        } else if (c.bdat_last) {
            if (c.size > cfg_.size_limit) {
                reply(c, "552 5.3.4 Message size exceeds fixed limit");
                c.data.clear();
                c.size = 0;
                c.in_mail = false;
                c.to.clear();
                return;
            }
            reply(c, "250 2.0.0 Ok: message accepted");
            end_message(c);
        } else {
            reply(c, "250 2.0.0 Ok: chunk accepted");
        }
    }

    // DATA content: ends at a line holding only ".".  Returns false when more input is needed.
    bool consume_data(conn& c) {
        std::string_view v = c.in.view();
        std::size_t pos = 0;
        while (pos < v.size()) {
            if (c.data_line_start) {
                if (v.size() - pos < 3 && v[pos] == '.') {
                    c.in.consume(pos);
                    return false; // maybe the end: wait for more
                }
                if (v.substr(pos, 3) == ".\r\n") {
                    c.in.consume(pos + 3);
                    c.m = conn::mode::commands;
                    if (c.size > cfg_.size_limit) {
                        reply(c, "552 5.3.4 Message size exceeds fixed limit");
                        c.data.clear();
                        c.size = 0;
                        c.in_mail = false;
                        c.to.clear();
                    } else {
                        reply(c, "250 2.0.0 Ok: queued");
                        end_message(c);
                    }
                    return true;
                }
                if (v[pos] == '.') ++pos; // un-stuff
            }
            std::size_t nl = v.find('\n', pos);
            std::size_t end = nl == std::string_view::npos ? v.size() : nl + 1;
            if (cfg_.keep_messages) c.data.append(v.data() + pos, end - pos);
            c.size += end - pos;
            c.data_line_start = nl != std::string_view::npos;
            pos = end;
        }
        c.in.consume(pos);
        return false;
    }

    static std::string_view upper_word(const std::string& line, std::string& buf) {
        std::size_t sp = line.find(' ');
        buf = line.substr(0, sp);
        for (char& ch : buf)
            if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
        return buf;
    }

    static bool extract_path(const std::string& line, std::size_t colon, std::string& path, std::string& rest) {
        std::size_t lt = line.find('<', colon);
        std::size_t gt = line.find('>', lt == std::string::npos ? colon : lt);
        if (lt == std::string::npos || gt == std::string::npos) return false;
        path = line.substr(lt + 1, gt - lt - 1);
        rest = gt + 1 < line.size() ? line.substr(gt + 1) : std::string();
        return true;
    }

    void command(conn& c, const std::string& line) {
        if (c.auth_step > 0) return auth_continue(c, line);
        std::string w;
        std::string_view verb = upper_word(line, w);
        namespace proto = smtpio::proto;
        if (verb == "EHLO" || verb == "HELO") {
            c.helo = line.size() > 5 ? line.substr(5) : "";
            c.in_mail = false;
            c.to.clear();
            if (verb == "HELO") return reply(c, "250 " + cfg_.hostname);
            std::string r = "250-" + cfg_.hostname + " greets " + c.helo + "\r\n";
            r += "250-PIPELINING\r\n250-SIZE " + std::to_string(cfg_.size_limit) + "\r\n";
            r += "250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n";
            r += "250-CHUNKING\r\n250-BINARYMIME\r\n";
            if (tls_ && !c.tls) r += "250-STARTTLS\r\n";
            if (c.tls && !cfg_.auth_user.empty()) r += "250-AUTH PLAIN LOGIN\r\n";
            if (c.tls) r += "250-REQUIRETLS\r\n";
            r += "250 HELP";
            return reply(c, r);
        }
        if (c.helo.empty() && verb != "QUIT" && verb != "NOOP" && verb != "RSET")
            return reply(c, "503 5.5.1 Say EHLO first");
        if (verb == "STARTTLS") {
            if (!tls_ || c.tls) return reply(c, "502 5.5.1 STARTTLS not available");
            reply(c, "220 2.0.0 Ready to start TLS");
            c.starttls = true;
            return;
        }
        if (verb == "AUTH") {
            if (cfg_.auth_user.empty() || !c.tls) return reply(c, "503 5.5.1 AUTH not available");
            std::string rest = line.size() > 5 ? line.substr(5) : "";
            std::string mech = rest.substr(0, rest.find(' '));
            std::string ir = rest.find(' ') == std::string::npos ? "" : rest.substr(rest.find(' ') + 1);
            for (char& ch : mech)
                if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
            if (mech == "PLAIN") {
                if (ir.empty()) {
                    c.auth_step = 3;
                    return reply(c, "334 ");
                }
                return auth_plain(c, ir);
            }
            if (mech == "LOGIN") {
                c.auth_step = 1;
                return reply(c, "334 VXNlcm5hbWU6");
            }
            return reply(c, "504 5.5.4 Mechanism not supported");
        }
        if (verb == "MAIL") {
            if (cfg_.require_tls && !c.tls) return reply(c, "530 5.7.0 Must issue a STARTTLS command first");
            if (c.in_mail) return reply(c, "503 5.5.1 Nested MAIL command");
            std::string path, rest;
            if (line.size() < 10 || !proto::iequals(std::string_view(line).substr(0, 10), "MAIL FROM:") ||
                !extract_path(line, 10, path, rest))
                return reply(c, "501 5.5.4 Syntax: MAIL FROM:<address>");
            if (proto::validate_reverse_path(path, true)) return reply(c, "553 5.1.7 Bad sender address syntax");
            c.from = path;
            c.mail_params = rest;
            c.in_mail = true;
            c.to.clear();
            c.bdat_failed = false;
            return reply(c, "250 2.1.0 Ok");
        }
        if (verb == "RCPT") {
            if (!c.in_mail) return reply(c, "503 5.5.1 Need MAIL command");
            std::string path, rest;
            if (line.size() < 8 || !proto::iequals(std::string_view(line).substr(0, 8), "RCPT TO:") ||
                !extract_path(line, 8, path, rest))
                return reply(c, "501 5.5.4 Syntax: RCPT TO:<address>");
            if (proto::validate_forward_path(path, true)) return reply(c, "553 5.1.3 Bad recipient address syntax");
            if (path.rfind("reject", 0) == 0) return reply(c, "550 5.1.1 <" + path + ">: Recipient address rejected");
            if (path.rfind("defer", 0) == 0) return reply(c, "451 4.2.0 <" + path + ">: Try again later");
            c.to.push_back(path);
            return reply(c, "250 2.1.5 Ok");
        }
        if (verb == "DATA") {
            if (!c.in_mail) return reply(c, "503 5.5.1 Need MAIL command");
            if (c.to.empty()) return reply(c, "554 5.5.1 No valid recipients");
            c.m = conn::mode::data;
            c.data_line_start = true;
            c.data.clear();
            c.size = 0;
            return reply(c, "354 End data with <CR><LF>.<CR><LF>");
        }
        if (verb == "BDAT") {
            std::string rest = line.size() > 5 ? line.substr(5) : "";
            std::uint64_t n = 0;
            std::size_t i = 0;
            while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') n = n * 10 + static_cast<std::uint64_t>(rest[i++] - '0');
            if (i == 0) return reply(c, "501 5.5.4 Syntax: BDAT size [LAST]");
            c.bdat_last = rest.find("LAST", i) != std::string::npos;
            c.bdat_left = n;
            c.bdat_failed = !c.in_mail || c.to.empty();
            c.m = conn::mode::bdat;
            if (n == 0) finish_chunk(c); // an empty chunk completes at once
            return;
        }
        if (verb == "RSET") {
            c.in_mail = false;
            c.to.clear();
            c.data.clear();
            return reply(c, "250 2.0.0 Ok");
        }
        if (verb == "NOOP") return reply(c, "250 2.0.0 Ok");
        if (verb == "VRFY") return reply(c, "252 2.0.0 Cannot VRFY user");
        if (verb == "QUIT") {
            reply(c, "221 2.0.0 Bye");
            ++stats_.quits;
            c.quit = true;
            return;
        }
        reply(c, "502 5.5.2 Command not recognized");
    }

    void auth_plain(conn& c, const std::string& b64) {
        c.auth_step = 0;
        auto raw = smtpio::detail::base64_decode(b64);
        if (!raw) return reply(c, "501 5.5.2 Cannot decode response");
        std::size_t a = raw->find('\0'), b = raw->find('\0', a == std::string::npos ? 0 : a + 1);
        if (a == std::string::npos || b == std::string::npos) return reply(c, "501 5.5.2 Malformed PLAIN response");
        if (raw->substr(a + 1, b - a - 1) == cfg_.auth_user && raw->substr(b + 1) == cfg_.auth_password) {
            c.authed = true;
            return reply(c, "235 2.7.0 Authentication successful");
        }
        reply(c, "535 5.7.8 Authentication credentials invalid");
    }

    void auth_continue(conn& c, const std::string& line) {
        if (line == "*") {
            c.auth_step = 0;
            return reply(c, "501 5.0.0 Authentication cancelled");
        }
        if (c.auth_step == 3) return auth_plain(c, line);
        auto raw = smtpio::detail::base64_decode(line);
        if (!raw) {
            c.auth_step = 0;
            return reply(c, "501 5.5.2 Cannot decode response");
        }
        if (c.auth_step == 1) {
            c.auth_user = *raw;
            c.auth_step = 2;
            return reply(c, "334 UGFzc3dvcmQ6");
        }
        c.auth_step = 0;
        if (c.auth_user == cfg_.auth_user && *raw == cfg_.auth_password) {
            c.authed = true;
            return reply(c, "235 2.7.0 Authentication successful");
        }
        reply(c, "535 5.7.8 Authentication credentials invalid");
    }

    asio::io_context& io_;
    server_config cfg_;
    asio::ip::tcp::acceptor acceptor_;
    asio::ssl::context tls_ctx_;
    bool tls_ = false;
    server_stats stats_;
};

} // namespace smtpio_examples

#endif // SMTPIO_EXAMPLES_SMTP_SERVER_HPP
