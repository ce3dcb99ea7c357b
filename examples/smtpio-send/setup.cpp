//
// examples/smtpio-send/setup.cpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "setup.hpp"

#include <chrono>
#include <ctime>
#include <iostream>
#include <random>

namespace smtpio_send {

// Prints the conversation on stderr; credentials were already redacted by the library.
smtpio::transcript_hook make_transcript(bool on) {
    if (!on) return {};
    return [](const smtpio::transcript_event& e) {
        using k = smtpio::transcript_event::kind;
        switch (e.type) {
        case k::connected: std::cerr << "-- connected to " << e.text << "\n"; break;
        case k::command: std::cerr << "C: " << e.text << "\n"; break;
        case k::message_data: std::cerr << "C: <message data: " << e.octets << " octets>\n"; break;
        case k::reply: {
            std::string_view t = e.text;
            while (!t.empty()) {
                auto nl = t.find('\n');
                std::cerr << "S: " << t.substr(0, nl) << "\n";
                t.remove_prefix(nl == std::string_view::npos ? t.size() : nl + 1);
            }
            break;
        }
        case k::tls_established:
            std::cerr << "-- TLS established: " << e.tls->version << " " << e.tls->cipher
                      << (e.tls->group.empty() ? "" : " " + e.tls->group) << ", peer "
                      << (e.tls->verified ? "verified" : "not verified") << " ("
                      << smtpio::tls::to_string(e.tls->result) << ")" << (e.tls->resumed ? ", resumed" : "") << "\n";
            break;
        case k::tls_failed:
            std::cerr << "-- TLS failed: " << smtpio::tls::to_string(e.tls->result) << ": " << e.text << "\n";
            break;
        case k::outcome: break;
        case k::closed: std::cerr << "-- connection closed\n"; break;
        }
    };
}

std::string rfc5322_date() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return buf;
}

static std::string generated_message(const options& o) {
    std::mt19937_64 rng(std::random_device{}());
    std::string id = std::to_string(rng());
    std::string to;
    for (const auto& t : o.to) to += (to.empty() ? "" : ", ") + t;
    std::string m = "From: " + (o.from.empty() ? std::string("MAILER-DAEMON") : o.from) + "\r\n";
    m += "To: " + to + "\r\n";
    m += "Subject: smtpio-send test message\r\n";
    m += "Date: " + rfc5322_date() + "\r\n";
    m += "Message-ID: <" + id + "@smtpio-send>\r\n";
    m += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
    m += "This is a test message sent by smtpio-send " SMTPIO_VERSION_STRING ".\r\n";
    return m;
}

// Builds the TLS context and policy from the options.  Throws std::exception
// with a usable message (e.g. a CA file that does not parse).
setup make_setup(const options& o, const std::string* ca_pem) {
    setup s;
    auto lvl = o.effective_level();
    s.session.helo_name = o.helo.value_or("");
    s.session.host = o.servername.value_or(o.host);
    s.session.port = o.port;
    s.session.dangerous_allow_plaintext_auth = o.allow_plaintext_auth;
    s.session.extensions.chunking = o.chunking;
    if (o.timeout) {
        auto cap = std::chrono::duration_cast<smtpio::timeouts::duration>(std::chrono::duration<double>(*o.timeout));
        s.session.timeouts = smtpio::timeouts{}.capped(cap);
    }
    s.session.transcript = make_transcript(o.transcript);
    s.connect_host = o.host;
    if (lvl == smtpio::tls::level::none) {
        s.policy = smtpio::policy::dangerous_plaintext();
        return s;
    }
    // Trust anchors: --ca-file, else the system store.  Levels that do not need
    // them to decide (may, encrypt, fingerprint, dane) still report against them,
    // and go on without any when the system has no store.
    if (ca_pem) s.ctx = smtpio::tls::context::with_ca_pem(*ca_pem);
    else if (o.ca_file) s.ctx = smtpio::tls::context::with_ca_file(*o.ca_file);
    else if (lvl == smtpio::tls::level::verify || lvl == smtpio::tls::level::secure) s.ctx.emplace();
    else {
        try {
            s.ctx.emplace();
        } catch (const std::system_error&) {
            s.ctx = smtpio::tls::context::without_trust_anchors();
        }
    }
    if (o.no_resumption) s.ctx->enable_resumption(false);
    // A TLS 1.3 ticket serves one connection: keep one per connection that may be
    // opened to the server at once, so that none of them needs a full handshake.
    if (o.connections > s.ctx->sessions_per_destination()) s.ctx->set_sessions_per_destination(o.connections);
    auto p = smtpio::tls::policy::from_level(lvl, *s.ctx);
    p.min_version(o.tls_min);
    if (o.servername) p.reference_names({*o.servername});
    if (lvl == smtpio::tls::level::secure) p.nexthop(o.servername.value_or(o.host));
    if (!o.pins.empty()) p.pins(o.pins);
    if (!o.tlsa.empty()) p.tlsa_records(o.tlsa);
    if (o.implicit_tls) p.implicit_tls(true);
    s.policy = p;
    return s;
}

smtpio::body make_body(const options& o) {
    if (!o.data_path) return smtpio::body(generated_message(o));
    if (*o.data_path == "-") return smtpio::body(o.data_stdin);
    return smtpio::body::file(*o.data_path);
}

smtpio::envelope make_envelope(const options& o) {
    smtpio::envelope env;
    env.from = o.from;
    for (const auto& t : o.to) env.to.emplace_back(t);
    env.require_tls = o.require_tls;
    bool utf8 = !smtpio::detail::is_ascii(o.from);
    for (const auto& t : o.to) utf8 |= !smtpio::detail::is_ascii(t);
    env.smtputf8 = utf8;
    return env;
}

} // namespace smtpio_send
