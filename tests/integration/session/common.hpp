// Helpers for the loopback session tests: a client that connects to the scripted
// SMTP server on 127.0.0.1 with a TLS policy, with certificates made at run time.
#ifndef SMTPIO_TEST_INTEGRATION_SESSION_COMMON_HPP
#define SMTPIO_TEST_INTEGRATION_SESSION_COMMON_HPP

#include "cert_factory.hpp"
#include "session_ops.hpp"
#include "smtp_script_server.hpp"

#include <smtpio/connect.hpp>
#include <smtpio/session.hpp>
#include <smtpio/tls/policy.hpp>

#include <asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

namespace smtpio::test {

inline constexpr const char* mx_name = "mx.example.test";

/// One certificate authority and a valid leaf for mx.example.test per test binary.
inline const cert_factory& pki() {
    static const cert_factory f;
    return f;
}
inline const server_identity& valid_identity() {
    static const server_identity id = pki().make(cert_case::valid, mx_name);
    return id;
}
/// A client TLS context trusting the test root.
inline tls::context trusting_context() { return tls::context::with_ca_pem(pki().trust_pem()); }

/// A server script: STARTTLS offered in clear; after TLS the usual extensions and AUTH.
inline smtp_script starttls_script() {
    smtp_script s;
    s.extensions = {"PIPELINING", "STARTTLS", "ENHANCEDSTATUSCODES"};
    s.extensions_tls = std::vector<std::string>{"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SIZE 52428800",
                                                "AUTH PLAIN LOGIN SCRAM-SHA-256", "CHUNKING"};
    return s;
}

/// Server options presenting `id` (the valid leaf by default).
inline smtp_server_options server_options(smtp_script script, const server_identity& id = valid_identity(),
                                          std::size_t connections = 1) {
    smtp_server_options o;
    o.script = std::move(script);
    o.certificate_chain_pem = id.chain_pem();
    o.private_key_pem = id.key_pem();
    o.max_connections = connections;
    return o;
}

/// Session options for loopback clients: the reference name is mx.example.test
/// (we connect to 127.0.0.1), deadlines capped at a few seconds.
inline smtpio::session_options client_options() {
    smtpio::session_options o;
    o.helo_name = "client.example.org";
    o.host = mx_name;
    o.timeouts = smtpio::timeouts{}.capped(std::chrono::seconds(8));
    return o;
}

/// A client: async_connect to 127.0.0.1:port, then operations, each run to completion.
struct client : session_ops<client> {
    asio::io_context io;
    std::error_code open_error;
    std::optional<smtpio::session> s;

    void run() {
        io.restart();
        io.run_for(std::chrono::seconds(30));
    }

    template <class Policy>
    std::error_code connect(std::uint16_t port, Policy&& policy, smtpio::session_options o = client_options()) {
        bool done = false;
        smtpio::async_connect(io.get_executor(), "127.0.0.1", port, std::forward<Policy>(policy), std::move(o),
                              [&](std::error_code ec, smtpio::session ss) {
                                  open_error = ec;
                                  s.emplace(std::move(ss));
                                  done = true;
                              });
        run();
        REQUIRE(done);
        return open_error;
    }
};

inline smtpio::envelope simple_envelope() { return smtpio::envelope("a@example.org", {"b@example.com"}); }

/// True when `bytes` holds any of the commands that carry mail or credentials.
inline bool has_mail_or_auth(std::string_view bytes) {
    for (std::string_view w : {"MAIL", "RCPT", "AUTH", "DATA", "BDAT", "Subject:"})
        if (bytes.find(w) != std::string_view::npos) return true;
    return false;
}

} // namespace smtpio::test

#endif
