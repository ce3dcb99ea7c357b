//
// examples/05_custom_policy.cpp -- a TLS policy of your own: any copyable type
// with mode(), tls_context(), prepare(), evaluate() and name() satisfies
// smtpio::tls::policy_type, and a session takes it like a built-in one.
//
//   05_custom_policy HOST PORT CA_FILE sha256:PIN...
//
// This one is "verify, and pin": the built-in `verify` level (chain to a trust
// anchor, name, TLS >= 1.2) AND the leaf certificate or its public key must
// match one of the SHA-256 pins.  A mis-issuing CA alone cannot pass it, and a
// stolen key alone cannot either.  It logs every verdict, accepted or not.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include <smtpio.hpp>

#include <asio/io_context.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

class verify_and_pin {
public:
    verify_and_pin(smtpio::tls::policy verified, std::vector<smtpio::tls::pin> pins)
        : inner_(std::move(verified)), pins_(std::move(pins)) {}

    // What the session does about TLS: the inner policy's (required STARTTLS).
    smtpio::tls::mode mode() const { return inner_.mode(); }
    smtpio::tls::context* tls_context() const { return inner_.tls_context(); }

    // Before the handshake: SNI, versions, strict cipher suites, the TLS session
    // to resume -- all as the built-in `verify` level does.
    std::error_code prepare(SSL* ssl, std::string_view host) const { return inner_.prepare(ssl, host); }

    // After the handshake, before the session writes anything more.  May run
    // concurrently for different connections: it only reads this object.
    smtpio::tls::verdict evaluate(SSL* ssl, std::string_view host) const {
        smtpio::tls::verdict v = inner_.evaluate(ssl, host);
        if (v.accepted) {
            smtpio::tls::check_result pinned = smtpio::tls::check_pins(SSL_get_peer_full_cert_chain(ssl), pins_);
            if (pinned.ok()) {
                v.detail += "; pin matched";
            } else {
                v.accepted = v.verified = false;
                v.result = pinned.result;
                v.error = pinned.error; // errc::fingerprint_mismatch
                v.detail = pinned.detail;
                // inner_.evaluate() cached this connection's TLS session for
                // resumption; a peer we reject must not be resumed: drop it.
                smtpio::tls::context::finish_resumption(ssl, false);
            }
        }
        std::clog << "[policy " << name() << "] " << host << ": " << (v.accepted ? "accepted" : "rejected") << " ("
                  << smtpio::tls::to_string(v.result) << "): " << v.detail << "\n";
        return v;
    }

    // The name in reports (send_result::tls.policy).
    std::string_view name() const { return "verify+pin"; }

private:
    smtpio::tls::policy inner_;
    std::vector<smtpio::tls::pin> pins_;
};

static_assert(smtpio::tls::policy_type<verify_and_pin>);

int main(int argc, char** argv) {
    if (argc < 5) {
        std::cerr << "usage: " << argv[0] << " HOST PORT CA_FILE sha256:PIN...\n";
        return 2;
    }
    try {
        const std::string host = argv[1];
        const auto port = static_cast<std::uint16_t>(std::stoul(argv[2]));
        auto tls = smtpio::tls::context::with_ca_file(argv[3]);
        std::vector<smtpio::tls::pin> pins;
        for (int i = 4; i < argc; ++i) pins.push_back(smtpio::tls::pin::from_string(argv[i])); // throws on bad input

        verify_and_pin policy(smtpio::policy::verified(tls), std::move(pins));

        asio::io_context io;
        std::optional<smtpio::session> session;
        int status = 1;
        smtpio::async_connect(io.get_executor(), host, port, policy, [&](std::error_code ec, smtpio::session s) {
            session.emplace(std::move(s));
            if (ec) {
                // A pin mismatch ends here: errc::fingerprint_mismatch, nothing sent.
                std::cerr << "not sent: " << ec.message() << "\n";
                return;
            }
            smtpio::envelope env{"app@example.org", {"ops@example.com"}};
            session->async_send(std::move(env), smtpio::body("Subject: pinned\r\n\r\nHi.\r\n"),
                                [&](std::error_code sec, smtpio::send_result r) {
                                    if (sec) {
                                        std::cerr << "not sent: " << sec.message() << "\n";
                                        return;
                                    }
                                    std::cout << "message: " << to_string(r.outcome) << ", policy " << r.tls.policy
                                              << ", verified " << std::boolalpha << r.tls.verified << "\n";
                                    if (r.outcome == smtpio::message_outcome::delivered) status = 0;
                                    session->async_quit([](std::error_code) {});
                                });
        });
        io.run();
        return status;
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 2;
    }
}
