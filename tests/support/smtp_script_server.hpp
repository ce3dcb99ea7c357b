//
// tests/support/smtp_script_server.hpp -- a scripted SMTP server for tests.
//
// Two layers:
//
//  - `smtp_server_model`: an I/O-free SMTP server (RFC 5321, with PIPELINING,
//    STARTTLS, AUTH PLAIN/LOGIN/XOAUTH2/CRAM-MD5/SCRAM-SHA-256, DATA and BDAT).
//    Bytes in, replies out; it records every command and every message.  Every
//    reply can be overridden by a hook, so a test scripts exactly the server it
//    needs (a 421 at RCPT, a 552 in the middle of the data, STARTTLS refused,
//    bytes injected after the 220 to STARTTLS, ...).  `attach()` runs it behind
//    a `test_stream` (reactive mode).
//
//  - `smtp_script_server`: the model behind a real TCP listener on 127.0.0.1
//    (ephemeral port), with STARTTLS or implicit TLS through asio::ssl and
//    certificates from `cert_factory.hpp`.  It records every octet the client
//    wrote, split by whether it arrived in plaintext or over TLS, so security
//    tests assert on the exact bytes.  It runs on its own thread; every
//    operation has a deadline; the destructor stops it.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TEST_SMTP_SCRIPT_SERVER_HPP
#define SMTPIO_TEST_SMTP_SCRIPT_SERVER_HPP

#include "test_stream.hpp"

#include <asio/buffer.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/write.hpp>

#include <openssl/base64.h>
#include <openssl/digest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace smtpio::test {

// ---- small helpers (independent of the library under test) ---------------------------

/// Standard base64 (RFC 4648) with padding, via BoringSSL.
inline std::string b64_encode(std::string_view in) {
    std::size_t len = 0;
    if (!EVP_EncodedLength(&len, in.size())) throw std::length_error("b64_encode");
    std::string out(len, '\0');
    std::size_t n = EVP_EncodeBlock(reinterpret_cast<std::uint8_t*>(out.data()),
                                    reinterpret_cast<const std::uint8_t*>(in.data()), in.size());
    out.resize(n);
    return out;
}

/// Decodes standard base64; nullopt when malformed.
inline std::optional<std::string> b64_decode(std::string_view in) {
    std::size_t len = 0;
    if (!EVP_DecodedLength(&len, in.size())) return std::nullopt;
    std::string out(len, '\0');
    std::size_t n = 0;
    if (!EVP_DecodeBase64(reinterpret_cast<std::uint8_t*>(out.data()), &n, len,
                          reinterpret_cast<const std::uint8_t*>(in.data()), in.size()))
        return std::nullopt;
    out.resize(n);
    return out;
}

/// ASCII upper case.
inline std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

/// True when `s` starts with `prefix`, ASCII case-insensitively.
inline bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && upper(s.substr(0, prefix.size())) == upper(prefix);
}

/// The reply code at the start of a reply text, or 0.
inline int reply_code_of(std::string_view reply) {
    if (reply.size() < 3) return 0;
    int code = 0;
    for (int i = 0; i < 3; ++i) {
        char c = reply[static_cast<std::size_t>(i)];
        if (c < '0' || c > '9') return 0;
        code = code * 10 + (c - '0');
    }
    return code;
}

namespace detail {
inline std::string hmac_of(const EVP_MD* md, std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md, key.data(), key.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
}
inline std::string sha256_of(std::string_view data) {
    unsigned char out[32];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(out), len);
}
inline std::string scram_field(std::string_view msg, char name) {
    std::size_t pos = 0;
    while (pos <= msg.size()) {
        std::size_t end = msg.find(',', pos);
        if (end == std::string_view::npos) end = msg.size();
        std::string_view f = msg.substr(pos, end - pos);
        if (f.size() >= 2 && f[0] == name && f[1] == '=') return std::string(f.substr(2));
        pos = end + 1;
    }
    return {};
}
} // namespace detail

// ---- the model ----------------------------------------------------------------------------

/// One command line the server received.
struct command_record {
    std::string line; ///< Without CRLF.
    bool tls = false; ///< Received over TLS.
};

/// One message the server received completely (end of data or BDAT LAST).
struct received_message {
    std::string from;                ///< MAIL FROM path (without brackets), parameters cut.
    std::string mail_line;           ///< The whole MAIL command line.
    std::vector<std::string> rcpts;  ///< Accepted RCPT paths.
    std::string wire;                ///< The data as written on the wire (dot-stuffed for DATA, chunk payloads for BDAT).
    std::string content;             ///< The message: dot-unstuffed (DATA) or the concatenated chunks (BDAT).
    bool bdat = false;               ///< Sent with BDAT.
    bool tls = false;                ///< Received over TLS.
};

class smtp_server_model;

/// What a scripted SMTP server does.  Defaults: a well-behaved ESMTP server with
/// PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES, SIZE, accepting everything.
struct smtp_script {
    std::string hostname = "mx.example.test";
    /// The greeting line(s), CRLF included; empty: no greeting at all (a silent server).
    std::string greeting = "220 mx.example.test ESMTP smtpio test server\r\n";
    /// Extensions in the EHLO reply before TLS (or with implicit TLS).
    std::vector<std::string> extensions = {"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SIZE 52428800"};
    /// Extensions after STARTTLS; unset: `extensions` without STARTTLS.
    std::optional<std::vector<std::string>> extensions_tls;
    /// EHLO refused with 502 (HELO still works).
    bool ehlo_refused = false;
    /// The reply to STARTTLS (CRLF included).  A 220 starts the handshake.
    std::string starttls_reply = "220 2.0.0 Ready to start TLS\r\n";
    /// Written right after the 220 to STARTTLS, in the same write (response injection).
    std::string starttls_injection;
    /// The account for AUTH.
    std::string user = "user";
    std::string password = "pencil";
    /// SCRAM-SHA-256 server parameters (RFC 7677's test vector by default).
    std::string scram_salt_b64 = "W22ZaJ0SNY7soEsUEjb6gQ==";
    std::string scram_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    unsigned scram_iterations = 4096;
    /// Send a wrong SCRAM server signature.
    bool scram_bad_signature = false;
    /// Called for every command line with the reply the model would send;
    /// return a replacement (CRLF included; "" for no reply) or nullopt.  The
    /// model's state follows the reply actually sent (a 354 to DATA starts the
    /// data, a 2xx to RCPT adds the recipient, a 220 to STARTTLS starts TLS,
    /// a 221 or 421 closes).
    std::function<std::optional<std::string>(smtp_server_model&, std::string_view line, const std::string& reply)>
        on_command;
    /// The reply to a complete message (default "250 2.0.0 Ok: queued as N").
    std::function<std::optional<std::string>(smtp_server_model&, const received_message&)> on_message;
    /// Called while message data arrives with the octets received so far in this
    /// transaction; a reply returned is sent at once (a 552 in the middle of a
    /// large body) and the rest of this message's data is discarded.
    std::function<std::optional<std::string>(smtp_server_model&, std::size_t octets)> on_data;
};

/// An I/O-free SMTP server: `start()` gives the greeting, `feed()` takes client
/// octets and queues replies; `take()` hands them to the transport.
class smtp_server_model {
public:
    /// What the transport must do after `feed()`.
    struct output {
        std::string bytes;      ///< Write these.
        bool start_tls = false; ///< Then run the server side of the TLS handshake.
        bool close = false;     ///< Then close the connection.
    };

    explicit smtp_server_model(smtp_script s = {}) : script_(std::move(s)) {}

    smtp_script& script() noexcept { return script_; }

    /// The greeting (queued).  With implicit TLS, call `tls_started()` first.
    void start() {
        out_.bytes += script_.greeting;
        if (reply_code_of(script_.greeting) == 421) {
            out_.close = true;
            closed_ = true;
        }
    }
    /// The TLS handshake succeeded: forget the plaintext state (RFC 3207 4.2).
    void tls_started() {
        tls_ = true;
        reset_transaction();
        authenticated_.clear();
    }
    /// Takes the queued output.
    output take() { return std::exchange(out_, output{}); }
    /// Closes after the queued output (for hooks).
    void close_connection() { out_.close = true; }
    /// Queues bytes to send now (for hooks).
    void send(std::string_view bytes) { out_.bytes += bytes; }

    /// Feeds client octets.  Stops consuming at STARTTLS (what follows is kept in
    /// `bytes_after_starttls()`) and after QUIT / 421.
    void feed(std::string_view in) {
        if (closed_) {
            after_close_ += in;
            return;
        }
        if (awaiting_tls_) {
            after_starttls_ += in;
            return;
        }
        in_ += in;
        process();
    }

    // ---- records ----------------------------------------------------------------------
    const std::vector<command_record>& commands() const noexcept { return commands_; }
    /// The command lines only, in order.
    std::vector<std::string> command_lines() const {
        std::vector<std::string> v;
        for (const auto& c : commands_) v.push_back(c.line);
        return v;
    }
    const std::vector<received_message>& messages() const noexcept { return messages_; }
    /// Octets the client sent after STARTTLS and before the handshake (must be none).
    const std::string& bytes_after_starttls() const noexcept { return after_starttls_; }
    /// Octets the client sent after the server closed the session.
    const std::string& bytes_after_close() const noexcept { return after_close_; }
    /// Octets of message data received in the current transaction (DATA or BDAT).
    std::size_t data_octets() const noexcept { return data_wire_.size(); }
    bool tls() const noexcept { return tls_; }
    bool awaiting_tls() const noexcept { return awaiting_tls_; }
    /// The user that authenticated, if any.
    const std::string& authenticated_user() const noexcept { return authenticated_; }
    /// True after the server closed (QUIT, 421).
    bool closed() const noexcept { return closed_; }
    /// True while message data is being received.
    bool in_data() const noexcept { return mode_ == mode::data || mode_ == mode::bdat; }

private:
    enum class mode { command, data, bdat, auth_plain, auth_login_user, auth_login_pass, auth_xoauth2_error,
                      auth_cram, auth_scram_final, auth_scram_ack, discard_data };

    void process() {
        for (;;) {
            if (closed_ || awaiting_tls_) {
                if (!in_.empty()) (closed_ ? after_close_ : after_starttls_) += in_;
                in_.clear();
                return;
            }
            if (mode_ == mode::data || mode_ == mode::discard_data) {
                if (!consume_data()) return;
                continue;
            }
            if (mode_ == mode::bdat) {
                if (!consume_bdat()) return;
                continue;
            }
            std::size_t eol = in_.find("\r\n");
            if (eol == std::string::npos) return;
            std::string line = in_.substr(0, eol);
            in_.erase(0, eol + 2);
            if (mode_ == mode::command) {
                commands_.push_back({line, tls_});
                command(line);
            } else {
                commands_.push_back({line, tls_});
                auth_line(line);
            }
        }
    }

    void reply(std::string_view line, std::string r) {
        if (script_.on_command) {
            if (auto o = script_.on_command(*this, line, r)) r = std::move(*o);
        }
        last_reply_ = r;
        out_.bytes += r;
        int code = reply_code_of(r);
        if (code == 421 || (code == 221 && istarts_with(line, "QUIT"))) {
            out_.close = true;
            closed_ = true;
        }
    }

    std::string ehlo_reply() const {
        const auto& ext = tls_ && script_.extensions_tls ? *script_.extensions_tls : current_extensions();
        if (ext.empty()) return "250 " + script_.hostname + "\r\n";
        std::string r = "250-" + script_.hostname + "\r\n";
        for (std::size_t i = 0; i < ext.size(); ++i) r += (i + 1 < ext.size() ? "250-" : "250 ") + ext[i] + "\r\n";
        return r;
    }
    std::vector<std::string> current_extensions() const {
        if (!tls_) return script_.extensions;
        if (script_.extensions_tls) return *script_.extensions_tls;
        std::vector<std::string> v;
        for (const auto& e : script_.extensions)
            if (!istarts_with(e, "STARTTLS")) v.push_back(e);
        return v;
    }
    bool offers(std::string_view keyword) const {
        for (const auto& e : current_extensions())
            if (istarts_with(e, keyword)) return true;
        return false;
    }
    bool offers_auth(std::string_view mech) const {
        for (const auto& e : current_extensions()) {
            if (!istarts_with(e, "AUTH ")) continue;
            std::string u = " " + upper(e.substr(5)) + " ";
            if (u.find(" " + upper(mech) + " ") != std::string::npos) return true;
        }
        return false;
    }

    static std::string path_of(std::string_view line, std::size_t prefix) {
        std::string_view rest = line.substr(prefix);
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        if (!rest.empty() && rest.front() == '<') {
            auto close = rest.find('>');
            return std::string(rest.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
        }
        return std::string(rest.substr(0, rest.find(' ')));
    }

    void reset_transaction() {
        mail_.reset();
        rcpts_.clear();
        data_wire_.clear();
        data_content_.clear();
    }

    void command(const std::string& line) {
        std::string verb = upper(line.substr(0, line.find(' ')));
        if (verb == "EHLO") {
            if (script_.ehlo_refused) return reply(line, "502 5.5.2 EHLO not supported\r\n");
            reset_transaction();
            return reply(line, ehlo_reply());
        }
        if (verb == "HELO") {
            reset_transaction();
            return reply(line, "250 " + script_.hostname + "\r\n");
        }
        if (verb == "STARTTLS") {
            std::string r = tls_ ? std::string("503 5.5.1 TLS already active\r\n")
                            : !offers("STARTTLS") ? std::string("502 5.5.1 STARTTLS not offered\r\n")
                                                  : script_.starttls_reply;
            reply(line, r);
            if (reply_code_of(last_reply_) == 220 && !tls_) {
                out_.bytes += script_.starttls_injection;
                out_.start_tls = true;
                awaiting_tls_ = true;
                reset_transaction();
            }
            return;
        }
        if (verb == "AUTH") return auth_start(line);
        if (verb == "MAIL") {
            if (!istarts_with(line, "MAIL FROM:")) return reply(line, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
            if (mail_) return reply(line, "503 5.5.1 Nested MAIL command\r\n");
            reply(line, "250 2.1.0 Ok\r\n");
            if (reply_code_of(last_reply_) / 100 == 2) {
                received_message m;
                m.from = path_of(line, 10);
                m.mail_line = line;
                m.tls = tls_;
                mail_ = std::move(m);
            }
            return;
        }
        if (verb == "RCPT") {
            if (!istarts_with(line, "RCPT TO:")) return reply(line, "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
            if (!mail_) return reply(line, "503 5.5.1 Need MAIL command\r\n");
            reply(line, "250 2.1.5 Ok\r\n");
            if (reply_code_of(last_reply_) / 100 == 2) rcpts_.push_back(path_of(line, 8));
            return;
        }
        if (verb == "DATA") {
            std::string r = !mail_ ? "503 5.5.1 Need MAIL command\r\n"
                            : rcpts_.empty() ? "554 5.5.1 No valid recipients\r\n"
                                             : "354 End data with <CR><LF>.<CR><LF>\r\n";
            reply(line, r);
            if (reply_code_of(last_reply_) == 354) {
                mode_ = mode::data;
                data_wire_.clear();
            }
            return;
        }
        if (verb == "BDAT") {
            std::string_view rest = std::string_view(line).substr(4);
            while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
            std::size_t sp = rest.find(' ');
            std::string num(rest.substr(0, sp));
            bool last = sp != std::string_view::npos && upper(rest.substr(sp + 1)) == "LAST";
            if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos)
                return reply(line, "501 5.5.4 Syntax: BDAT size [LAST]\r\n");
            bdat_left_ = std::stoull(num);
            bdat_last_ = last;
            bdat_line_ = line;
            mode_ = mode::bdat;
            return;
        }
        if (verb == "RSET") {
            reset_transaction();
            return reply(line, "250 2.0.0 Ok\r\n");
        }
        if (verb == "NOOP") return reply(line, "250 2.0.0 Ok\r\n");
        if (verb == "QUIT") return reply(line, "221 2.0.0 Bye\r\n");
        return reply(line, "500 5.5.2 Command not recognised\r\n");
    }

    // DATA: up to CRLF "." CRLF; unstuffs leading dots.
    bool consume_data() {
        for (;;) {
            std::size_t eol = in_.find("\r\n");
            if (eol == std::string::npos) {
                // Keep a partial line; count it toward on_data only once complete.
                return false;
            }
            std::string line = in_.substr(0, eol);
            in_.erase(0, eol + 2);
            if (line == ".") {
                bool discarded = mode_ == mode::discard_data;
                mode_ = mode::command;
                if (discarded) {
                    reset_transaction();
                    return true;
                }
                finish_message(false);
                return true;
            }
            data_wire_ += line;
            data_wire_ += "\r\n";
            if (mode_ == mode::discard_data) continue;
            data_content_ += line.size() > 0 && line[0] == '.' ? line.substr(1) : line;
            data_content_ += "\r\n";
            if (early_reply()) return true;
        }
    }

    bool early_reply() {
        if (!script_.on_data) return false;
        if (auto r = script_.on_data(*this, data_wire_.size())) {
            out_.bytes += *r;
            last_reply_ = *r;
            mode_ = mode_ == mode::bdat ? mode::bdat : mode::discard_data;
            early_replied_ = true;
            if (reply_code_of(*r) == 421) {
                out_.close = true;
                closed_ = true;
            }
            return true;
        }
        return false;
    }

    bool consume_bdat() {
        std::size_t n = in_.size() < bdat_left_ ? in_.size() : static_cast<std::size_t>(bdat_left_);
        data_wire_.append(in_, 0, n);
        if (!early_replied_) data_content_.append(in_, 0, n);
        in_.erase(0, n);
        bdat_left_ -= n;
        if (!early_replied_ && n > 0 && early_reply()) {
            // The reply is out; the rest of the chunk is read and dropped.
        }
        if (bdat_left_ > 0) return false;
        mode_ = mode::command;
        if (early_replied_) {
            if (bdat_last_) {
                early_replied_ = false;
                reset_transaction();
            }
            return true;
        }
        if (!mail_) {
            reply(bdat_line_, "503 5.5.1 Need MAIL command\r\n");
        } else if (rcpts_.empty()) {
            reply(bdat_line_, "554 5.5.1 No valid recipients\r\n");
        } else if (bdat_last_) {
            finish_message(true);
        } else {
            reply(bdat_line_, "250 2.0.0 " + std::to_string(data_wire_.size()) + " octets received\r\n");
        }
        return true;
    }

    void finish_message(bool bdat) {
        early_replied_ = false;
        received_message m = *mail_;
        m.rcpts = rcpts_;
        m.wire = data_wire_;
        m.content = data_content_;
        m.bdat = bdat;
        m.tls = tls_;
        messages_.push_back(m);
        std::string r = "250 2.0.0 Ok: queued as " + std::to_string(messages_.size()) + "\r\n";
        if (script_.on_message) {
            if (auto o = script_.on_message(*this, messages_.back())) r = std::move(*o);
        }
        // Refused: not taken.  No reply at all (a stalling server): taken.
        if (reply_code_of(r) >= 400) messages_.pop_back();
        last_reply_ = r;
        out_.bytes += r;
        if (reply_code_of(r) == 421) {
            out_.close = true;
            closed_ = true;
        }
        reset_transaction();
    }

    // ---- AUTH (RFC 4954) ------------------------------------------------------------------
    void auth_start(const std::string& line) {
        std::string_view rest = std::string_view(line).substr(4);
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        std::size_t sp = rest.find(' ');
        std::string mech = upper(rest.substr(0, sp));
        std::optional<std::string> ir;
        if (sp != std::string_view::npos) ir = std::string(rest.substr(sp + 1));
        if (!authenticated_.empty()) return reply(line, "503 5.5.1 Already authenticated\r\n");
        if (!offers_auth(mech)) return reply(line, "504 5.5.4 Unrecognized authentication type\r\n");
        mech_ = mech;
        if (mech == "PLAIN") {
            if (!ir) return challenge(line, "", mode::auth_plain);
            return finish_plain(line, *ir);
        }
        if (mech == "LOGIN") {
            if (ir) {
                auto u = b64_decode(*ir);
                if (!u) return cannot_decode(line);
                login_user_ = *u;
                return challenge(line, "Password:", mode::auth_login_pass);
            }
            return challenge(line, "Username:", mode::auth_login_user);
        }
        if (mech == "XOAUTH2") {
            if (!ir) return challenge(line, "", mode::auth_plain);
            return finish_xoauth2(line, *ir);
        }
        if (mech == "CRAM-MD5") {
            cram_challenge_ = "<1896.697170952@" + script_.hostname + ">";
            return challenge(line, cram_challenge_, mode::auth_cram);
        }
        if (mech == "SCRAM-SHA-256") {
            if (!ir) return challenge(line, "", mode::auth_plain);
            return scram_first(line, *ir);
        }
        return reply(line, "504 5.5.4 Unrecognized authentication type\r\n");
    }

    void challenge(std::string_view line, std::string_view raw, mode next) {
        reply(line, "334 " + b64_encode(raw) + "\r\n");
        if (reply_code_of(last_reply_) == 334) mode_ = next;
        else mode_ = mode::command;
    }
    void auth_ok(std::string_view line, const std::string& user) {
        mode_ = mode::command;
        reply(line, "235 2.7.0 Authentication successful\r\n");
        if (reply_code_of(last_reply_) == 235) authenticated_ = user;
    }
    void auth_bad(std::string_view line) {
        mode_ = mode::command;
        reply(line, "535 5.7.8 Authentication credentials invalid\r\n");
    }

    void cannot_decode(std::string_view line) {
        mode_ = mode::command;
        reply(line, "501 5.5.2 Cannot decode\r\n");
    }

    void auth_line(const std::string& line) {
        if (line == "*") {
            mode_ = mode::command;
            return reply(line, "501 5.7.0 Authentication cancelled\r\n");
        }
        switch (mode_) {
        case mode::auth_plain:
            if (mech_ == "PLAIN") return finish_plain(line, line);
            if (mech_ == "XOAUTH2") return finish_xoauth2(line, line);
            return scram_first(line, line);
        case mode::auth_login_user: {
            auto u = b64_decode(line);
            if (!u) return cannot_decode(line);
            login_user_ = *u;
            return challenge(line, "Password:", mode::auth_login_pass);
        }
        case mode::auth_login_pass: {
            auto p = b64_decode(line);
            if (p && login_user_ == script_.user && *p == script_.password) return auth_ok(line, login_user_);
            return auth_bad(line);
        }
        case mode::auth_xoauth2_error: return auth_bad(line);
        case mode::auth_cram: {
            auto d = b64_decode(line);
            if (!d) return auth_bad(line);
            std::string mac = detail::hmac_of(EVP_md5(), script_.password, cram_challenge_);
            static constexpr char hex[] = "0123456789abcdef";
            std::string expect = script_.user + ' ';
            for (char ch : mac) {
                auto c = static_cast<unsigned char>(ch);
                expect += hex[c >> 4];
                expect += hex[c & 15];
            }
            if (*d == expect) return auth_ok(line, script_.user);
            return auth_bad(line);
        }
        case mode::auth_scram_final: return scram_final(line);
        case mode::auth_scram_ack:
            // The client's empty response after our server-final message.
            if (line.empty()) return auth_ok(line, script_.user);
            return auth_bad(line);
        default: mode_ = mode::command; return reply(line, "503 5.5.1 Bad sequence\r\n");
        }
    }

    void finish_plain(std::string_view line, std::string_view b64) {
        auto d = b64_decode(b64);
        if (!d) return cannot_decode(line);
        // authzid NUL authcid NUL passwd (RFC 4616)
        auto a = d->find('\0');
        auto b = a == std::string::npos ? a : d->find('\0', a + 1);
        if (b == std::string::npos) return auth_bad(line);
        std::string user = d->substr(a + 1, b - a - 1), pass = d->substr(b + 1);
        if (user == script_.user && pass == script_.password) return auth_ok(line, user);
        auth_bad(line);
    }

    void finish_xoauth2(std::string_view line, std::string_view b64) {
        auto d = b64_decode(b64);
        std::string expect = "user=" + script_.user + "\x01" "auth=Bearer " + script_.password + "\x01\x01";
        if (d && *d == expect) return auth_ok(line, script_.user);
        // Google's behaviour: a 334 with a JSON error, then 535 after the client's empty line.
        challenge(line, R"({"status":"401","schemes":"bearer"})", mode::auth_xoauth2_error);
    }

    void scram_first(std::string_view line, std::string_view b64) {
        auto d = b64_decode(b64);
        if (!d || d->rfind("n,", 0) != 0) return auth_bad(line);
        auto second = d->find(',', 2);
        if (second == std::string::npos) return auth_bad(line);
        scram_client_first_bare_ = d->substr(second + 1);
        scram_gs2_ = d->substr(0, second + 1);
        std::string user = detail::scram_field(scram_client_first_bare_, 'n');
        std::string cnonce = detail::scram_field(scram_client_first_bare_, 'r');
        if (user != script_.user || cnonce.empty()) return auth_bad(line);
        scram_nonce_ = cnonce + script_.scram_server_nonce;
        scram_server_first_ = "r=" + scram_nonce_ + ",s=" + script_.scram_salt_b64 + ",i=" +
                              std::to_string(script_.scram_iterations);
        challenge(line, scram_server_first_, mode::auth_scram_final);
    }

    void scram_final(std::string_view line) {
        auto d = b64_decode(line);
        if (!d) return auth_bad(line);
        auto p = d->rfind(",p=");
        if (p == std::string::npos) return auth_bad(line);
        std::string without_proof = d->substr(0, p);
        auto proof = b64_decode(std::string_view(*d).substr(p + 3));
        if (detail::scram_field(without_proof, 'r') != scram_nonce_ ||
            detail::scram_field(without_proof, 'c') != b64_encode(scram_gs2_) || !proof)
            return auth_bad(line);
        auto salt = b64_decode(script_.scram_salt_b64);
        unsigned char salted[32];
        PKCS5_PBKDF2_HMAC(script_.password.data(), script_.password.size(),
                          reinterpret_cast<const unsigned char*>(salt->data()), salt->size(), script_.scram_iterations,
                          EVP_sha256(), sizeof salted, salted);
        std::string_view salted_sv(reinterpret_cast<char*>(salted), sizeof salted);
        std::string client_key = detail::hmac_of(EVP_sha256(), salted_sv, "Client Key");
        std::string stored_key = detail::sha256_of(client_key);
        std::string auth_message = scram_client_first_bare_ + "," + scram_server_first_ + "," + without_proof;
        std::string client_sig = detail::hmac_of(EVP_sha256(), stored_key, auth_message);
        std::string expect = client_key;
        for (std::size_t i = 0; i < expect.size(); ++i) expect[i] = static_cast<char>(expect[i] ^ client_sig[i]);
        if (*proof != expect) return auth_bad(line);
        std::string server_key = detail::hmac_of(EVP_sha256(), salted_sv, "Server Key");
        std::string server_sig = detail::hmac_of(EVP_sha256(), server_key, auth_message);
        if (script_.scram_bad_signature) server_sig[0] = static_cast<char>(server_sig[0] ^ 1);
        challenge(line, "v=" + b64_encode(server_sig), mode::auth_scram_ack);
    }

    smtp_script script_;
    output out_;
    std::string in_;
    mode mode_ = mode::command;
    bool tls_ = false;
    bool awaiting_tls_ = false;
    bool closed_ = false;
    std::string after_starttls_, after_close_;
    std::string last_reply_;
    std::vector<command_record> commands_;
    std::vector<received_message> messages_;
    std::optional<received_message> mail_;
    std::vector<std::string> rcpts_;
    std::string data_wire_, data_content_;
    bool early_replied_ = false;
    std::uint64_t bdat_left_ = 0;
    bool bdat_last_ = false;
    std::string bdat_line_;
    std::string authenticated_, login_user_, mech_, cram_challenge_;
    std::string scram_client_first_bare_, scram_gs2_, scram_nonce_, scram_server_first_;

public:
    /// Call after the transport finished the handshake of a STARTTLS.
    void starttls_done() {
        awaiting_tls_ = false;
        tls_started();
    }
};

/// Runs `model` behind `peer` (reactive mode): the greeting is pushed now, and
/// each client write is answered as the model decides.  STARTTLS cannot be run
/// over a test stream: a 220 to it closes the connection.
inline void attach(test_peer& peer, const std::shared_ptr<smtp_server_model>& model) {
    model->start();
    auto flush = [](test_peer& p, smtp_server_model& m) {
        auto o = m.take();
        if (!o.bytes.empty()) p.push(o.bytes);
        if (o.close || o.start_tls) p.push_eof();
    };
    flush(peer, *model);
    peer.on_write([model, flush](test_peer& p, std::string_view data) {
        model->feed(data);
        flush(p, *model);
    });
}

// ---- the TCP server -------------------------------------------------------------------------

/// Octets the client wrote, in arrival order, marked plaintext or TLS.
struct wire_segment {
    bool tls = false;
    std::string bytes;
};

/// What the server saw on one connection.
struct smtp_connection_record {
    std::vector<wire_segment> segments;
    std::vector<command_record> commands;
    std::vector<received_message> messages;
    std::string bytes_after_starttls;   ///< Written by the client between STARTTLS and the handshake.
    bool handshake_attempted = false;
    bool handshake_done = false;
    std::error_code handshake_error;
    std::string tls_version;            ///< "TLSv1.3"
    std::optional<std::string> sni;
    std::string after_handshake_failure; ///< Octets read in clear after a failed handshake.
    std::string authenticated_user;
    std::string error;                   ///< Why the connection ended abnormally (timeout, I/O).

    /// Every octet the client wrote in clear (before TLS, or without it).
    std::string plaintext() const {
        std::string s;
        for (const auto& g : segments)
            if (!g.tls) s += g.bytes;
        return s;
    }
    /// Every octet the client wrote over TLS (decrypted).
    std::string encrypted() const {
        std::string s;
        for (const auto& g : segments)
            if (g.tls) s += g.bytes;
        return s;
    }
    /// Everything, in order.
    std::string all() const {
        std::string s;
        for (const auto& g : segments) s += g.bytes;
        return s;
    }
};

/// How an `smtp_script_server` runs.
struct smtp_server_options {
    smtp_script script;
    std::string certificate_chain_pem; ///< Leaf first; empty: no TLS (STARTTLS answered but handshake fails).
    std::string private_key_pem;
    bool implicit_tls = false;         ///< TLS right after accept (RFC 8314).
    int min_version = TLS1_2_VERSION;
    int max_version = TLS1_3_VERSION;
    std::size_t max_connections = 1;
    std::chrono::milliseconds io_timeout{10000};
};

/// The scripted SMTP server on 127.0.0.1 (see the file comment).
class smtp_script_server {
public:
    explicit smtp_script_server(smtp_server_options o)
        : opts_(std::move(o)), ssl_(asio::ssl::context::tls_server),
          acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        if (!opts_.certificate_chain_pem.empty()) {
            ssl_.use_certificate_chain(asio::buffer(opts_.certificate_chain_pem));
            ssl_.use_private_key(asio::buffer(opts_.private_key_pem), asio::ssl::context::pem);
        }
        SSL_CTX_set_min_proto_version(ssl_.native_handle(), static_cast<std::uint16_t>(opts_.min_version));
        SSL_CTX_set_max_proto_version(ssl_.native_handle(), static_cast<std::uint16_t>(opts_.max_version));
        thread_ = std::thread([this] { run(); });
    }
    smtp_script_server(const smtp_script_server&) = delete;
    smtp_script_server& operator=(const smtp_script_server&) = delete;
    ~smtp_script_server() { stop(); }

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    /// Waits until `n` connections ended; false on timeout.
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return records_.size() >= n; });
    }
    /// Records of the connections that ended.
    std::vector<smtp_connection_record> records() const {
        std::lock_guard lock(mutex_);
        return records_;
    }
    /// The record of the first connection (waits for it to end).
    smtp_connection_record first() const {
        if (!wait_for(1)) throw std::runtime_error("smtp_script_server: no connection ended in time");
        return records().front();
    }

    /// Stops accepting, aborts the current connection, joins the thread.
    void stop() {
        stopping_ = true;
        while (thread_.joinable() && !finished_) {
            io_.stop();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (thread_.joinable()) thread_.join();
    }

private:
    using tls_stream = asio::ssl::stream<asio::ip::tcp::socket>;

    // Runs one asynchronous operation with the deadline; returns its error or timed_out.
    template <class Initiate, class Cancel>
    std::error_code run_op(Initiate&& initiate, Cancel&& cancel, std::chrono::milliseconds timeout) {
        std::optional<std::error_code> result;
        initiate([&result](std::error_code ec, auto&&...) { result = ec; });
        io_.restart();
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!result && !stopping_) {
            if (io_.run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline) break;
        }
        if (result) return *result;
        cancel();
        io_.restart();
        const auto drain = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!result && std::chrono::steady_clock::now() < drain) io_.run_one_until(drain);
        return std::make_error_code(stopping_ ? std::errc::operation_canceled : std::errc::timed_out);
    }

    void run() {
        for (std::size_t i = 0; i < opts_.max_connections && !stopping_; ++i) {
            asio::ip::tcp::socket socket(io_);
            auto ec = run_op([&](auto h) { acceptor_.async_accept(socket, std::move(h)); }, [&] { acceptor_.close(); },
                             std::chrono::seconds(60));
            if (ec) break;
            socket.set_option(asio::ip::tcp::no_delay(true));
            tls_stream stream(std::move(socket), ssl_);
            smtp_connection_record rec;
            try {
                serve(stream, rec);
            } catch (const std::exception& e) {
                rec.error = e.what();
            }
            std::error_code ignored;
            stream.next_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
            stream.next_layer().close(ignored);
            {
                std::lock_guard lock(mutex_);
                records_.push_back(std::move(rec));
            }
            cv_.notify_all();
        }
        std::error_code ignored;
        acceptor_.close(ignored);
        finished_ = true;
    }

    bool handshake(tls_stream& s, smtp_connection_record& rec) {
        rec.handshake_attempted = true;
        auto ec = run_op([&](auto h) { s.async_handshake(asio::ssl::stream_base::server, std::move(h)); },
                         [&] { s.next_layer().close(); }, opts_.io_timeout);
        if (const char* n = SSL_get_servername(s.native_handle(), TLSEXT_NAMETYPE_host_name)) rec.sni = n;
        rec.handshake_error = ec;
        if (ec) {
            // The client closed the connection (it rejected the certificate, say): nothing
            // more can come, and a read would wait for its deadline.
            if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) return false;
            // Whatever the client writes now arrives in clear: record it (it must be nothing).
            // A client that goes on in clear after a failed handshake does so at once.
            for (int k = 0; k < 64; ++k) {
                std::string chunk(4096, '\0');
                std::size_t n = 0;
                auto e = run_op(
                    [&](auto h) {
                        s.next_layer().async_read_some(asio::buffer(chunk), [&n, h = std::move(h)](std::error_code x,
                                                                                                  std::size_t m) mutable {
                            n = m;
                            h(x);
                        });
                    },
                    [&] { s.next_layer().close(); }, std::chrono::milliseconds(500));
                rec.after_handshake_failure.append(chunk, 0, n);
                if (e) break;
            }
            return false;
        }
        rec.handshake_done = true;
        rec.tls_version = SSL_get_version(s.native_handle());
        return true;
    }

    void write_all(tls_stream& s, bool tls, const std::string& bytes) {
        if (bytes.empty()) return;
        auto ec = run_op(
            [&](auto h) {
                auto done = [h = std::move(h)](std::error_code e, std::size_t) mutable { h(e); };
                if (tls) asio::async_write(s, asio::buffer(bytes), std::move(done));
                else asio::async_write(s.next_layer(), asio::buffer(bytes), std::move(done));
            },
            [&] { s.next_layer().close(); }, opts_.io_timeout);
        if (ec) throw std::system_error(ec, "smtp_script_server: write");
    }

    void serve(tls_stream& s, smtp_connection_record& rec) {
        smtp_server_model model(opts_.script);
        struct sync {
            smtp_connection_record& r;
            smtp_server_model& m;
            ~sync() {
                r.commands = m.commands();
                r.messages = m.messages();
                r.bytes_after_starttls = m.bytes_after_starttls();
                r.authenticated_user = m.authenticated_user();
            }
        } keep{rec, model};
        bool tls = false;
        if (opts_.implicit_tls) {
            if (!handshake(s, rec)) return;
            tls = true;
            model.tls_started();
        }
        model.start();
        for (int turns = 0; turns < 100000; ++turns) {
            auto o = model.take();
            write_all(s, tls, o.bytes);
            if (o.close) {
                if (tls) {
                    (void)run_op([&](auto h) { s.async_shutdown(std::move(h)); }, [&] { s.next_layer().close(); },
                                 std::chrono::milliseconds(200));
                }
                return;
            }
            if (o.start_tls) {
                if (!handshake(s, rec)) return;
                tls = true;
                model.starttls_done();
                continue;
            }
            std::string chunk(16384, '\0');
            std::size_t n = 0;
            auto ec = run_op(
                [&](auto h) {
                    auto done = [&n, h = std::move(h)](std::error_code e, std::size_t m) mutable {
                        n = m;
                        h(e);
                    };
                    if (tls) s.async_read_some(asio::buffer(chunk), std::move(done));
                    else s.next_layer().async_read_some(asio::buffer(chunk), std::move(done));
                },
                [&] { s.next_layer().close(); }, opts_.io_timeout);
            if (n > 0) {
                chunk.resize(n);
                if (!rec.segments.empty() && rec.segments.back().tls == tls) rec.segments.back().bytes += chunk;
                else rec.segments.push_back({tls, chunk});
                model.feed(chunk);
            }
            if (ec) {
                if (ec != asio::error::eof && ec != asio::ssl::error::stream_truncated) rec.error = ec.message();
                return;
            }
        }
    }

    smtp_server_options opts_;
    asio::io_context io_;
    asio::ssl::context ssl_;
    asio::ip::tcp::acceptor acceptor_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> finished_{false};
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    std::vector<smtp_connection_record> records_;
    std::thread thread_;
};

} // namespace smtpio::test

#endif // SMTPIO_TEST_SMTP_SCRIPT_SERVER_HPP
