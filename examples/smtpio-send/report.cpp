//
// examples/smtpio-send/report.cpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "report.hpp"

#include <asio/error.hpp>

#include <ostream>

namespace smtpio_send {
namespace {

bool is_condition(std::error_code ec, smtpio::condition c) { return ec && ec == c; }

// Server text is untrusted: keep it valid UTF-8 with control octets escaped.
std::string clean(std::string_view s) { return smtpio::escape(s, true); }

nlohmann::json reply_json(const smtpio::reply& r) {
    if (r.empty()) return nullptr;
    return {{"code", r.code},
            {"enhanced", r.enhanced.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.enhanced.to_string())},
            {"text", clean(r.text)}};
}

// A failure before the message: what does it mean for its recipients?
int early_class(const attempt& a) {
    using smtpio::errc;
    std::error_code ec = a.error;
    if (!ec) return exit_delivered;
    if (is_condition(ec, smtpio::condition::tls_failure) || is_condition(ec, smtpio::condition::policy_violation))
        return exit_tls;
    if (is_condition(ec, smtpio::condition::protocol_violation)) return exit_protocol;
    if (ec == errc::service_not_available) return exit_deferred;
    const int code = a.failing_reply.code;
    if (ec == errc::greeting_refused || ec == errc::hello_refused || ec == errc::auth_failed)
        return code >= 400 && code < 500 ? exit_deferred : exit_rejected;
    if (ec == errc::auth_not_offered || ec == errc::auth_mechanism_unavailable || ec == errc::invalid_credentials)
        return exit_rejected;
    // What the server cannot take (SIZE, 8BITMIME, SMTPUTF8, DSN, BINARYMIME): refused as is.
    if (ec == errc::message_too_big || ec == errc::eightbit_not_supported || ec == errc::smtputf8_not_supported ||
        ec == errc::dsn_not_supported || ec == errc::binarymime_not_supported)
        return exit_rejected;
    if (ec.category() == smtpio::smtpio_category() && ec == smtpio::condition::permanent &&
        ec != errc::greeting_refused)
        return exit_usage; // caller input the server never saw
    return exit_deferred; // connection, timeouts, cancellation, 4xx
}

} // namespace

smtpio::outcome refused_recipient_outcome(std::error_code refusal) {
    attempt a;
    a.error = refusal;
    return early_class(a) == exit_rejected ? smtpio::outcome::rejected : smtpio::outcome::deferred;
}

std::string error_name(std::error_code ec) {
    if (!ec) return {};
    if (ec.category() == smtpio::smtpio_category()) return std::string(smtpio::to_string(static_cast<smtpio::errc>(ec.value())));
    if (ec.category() == smtpio::reply_category()) return "reply_" + std::to_string(ec.value());
    struct named {
        std::errc e;
        const char* name;
    };
    static const named names[] = {
        {std::errc::connection_refused, "connection_refused"},   {std::errc::connection_reset, "connection_reset"},
        {std::errc::broken_pipe, "broken_pipe"},                 {std::errc::timed_out, "timed_out"},
        {std::errc::host_unreachable, "host_unreachable"},       {std::errc::network_unreachable, "network_unreachable"},
        {std::errc::connection_aborted, "connection_aborted"},   {std::errc::operation_canceled, "operation_canceled"},
        {std::errc::address_not_available, "address_not_available"},
    };
    // Standalone Asio reports socket errors in its own category, which maps to no
    // std::errc: its values are errno's, so they are compared as system errors.
    const std::error_code sys = ec.category() == asio::error::get_system_category()
                                    ? std::error_code(ec.value(), std::system_category())
                                    : ec;
    for (const auto& n : names)
        if (sys == n.e) return n.name;
    return std::string(ec.category().name()) + "_" + std::to_string(ec.value());
}

int classify(const attempt& a) {
    bool unknown = false, tls = false, protocol = false, deferred = false, rejected = false, usage = false;
    if (a.sent) {
        const auto& r = *a.sent;
        if (r.outcome != smtpio::message_outcome::not_sent) {
            for (const auto& rc : r.recipients) {
                unknown |= rc.outcome == smtpio::outcome::unknown;
                deferred |= rc.outcome == smtpio::outcome::deferred;
                rejected |= rc.outcome == smtpio::outcome::rejected;
            }
        }
        if (r.outcome == smtpio::message_outcome::not_sent) {
            attempt early = a;
            early.error = r.error;
            int c = early_class(early);
            tls |= c == exit_tls;
            usage |= c == exit_usage;
            protocol |= c == exit_protocol;
            rejected |= c == exit_rejected;
            deferred |= c == exit_deferred;
        } else if (r.error) {
            if (is_condition(r.error, smtpio::condition::protocol_violation)) protocol = true;
        }
    } else {
        int c = early_class(a);
        tls = c == exit_tls;
        protocol = c == exit_protocol;
        deferred = c == exit_deferred;
        rejected = c == exit_rejected;
        usage = c == exit_usage;
    }
    if (unknown) return exit_unknown;
    if (tls) return exit_tls;
    if (protocol) return exit_protocol;
    if (usage) return exit_usage;
    if (deferred) return exit_deferred;
    if (rejected) return exit_rejected;
    return exit_delivered;
}

nlohmann::json tls_json(const smtpio::tls::report& r, bool wanted) {
    if (!wanted && !r.attempted) return nullptr;
    auto str_or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
    nlohmann::json j;
    j["version"] = str_or_null(r.version);
    j["cipher"] = str_or_null(r.cipher);
    j["group"] = str_or_null(r.group);
    j["verified"] = r.established && r.verified;
    // Unknown when the session ended before TLS was negotiated at all.
    bool known = r.established || !r.detail.empty();
    j["verify_result"] = known ? nlohmann::json(std::string(smtpio::tls::to_string(r.result))) : nlohmann::json(nullptr);
    j["detail"] = str_or_null(r.detail);
    j["peer_subject"] = r.peer ? str_or_null(r.peer->subject) : nlohmann::json(nullptr);
    j["peer_issuer"] = r.peer ? str_or_null(r.peer->issuer) : nlohmann::json(nullptr);
    j["peer_fingerprint_sha256"] = r.peer ? str_or_null(r.peer->sha256) : nlohmann::json(nullptr);
    j["peer_spki_sha256"] = r.peer ? str_or_null(r.peer->spki_sha256) : nlohmann::json(nullptr);
    j["policy"] = str_or_null(r.policy);
    j["resumed"] = r.resumed;
    j["dane"] = r.dane_authenticated;
    j["received_clause"] = str_or_null(r.received_clause());
    return j;
}

nlohmann::json to_json(const attempt& a, int code) {
    nlohmann::json j;
    std::string outcome;
    switch (code) {
    case exit_unknown: outcome = "unknown"; break;
    case exit_tls: outcome = "tls_failed"; break;
    case exit_protocol: outcome = "protocol_error"; break;
    case exit_usage: outcome = "usage_error"; break;
    default:
        if (a.sent && a.sent->outcome != smtpio::message_outcome::not_sent) outcome = std::string(to_string(a.sent->outcome));
        else outcome = code == exit_deferred ? "deferred" : code == exit_rejected ? "rejected" : "delivered";
    }
    j["outcome"] = outcome;
    std::error_code err = a.error;
    if (!err && a.sent) err = a.sent->error;
    j["error"] = err ? nlohmann::json{{"code", error_name(err)}, {"message", err.message()}} : nlohmann::json(nullptr);
    j["tls"] = tls_json(a.sent ? a.sent->tls : a.tls, a.tls_wanted);
    nlohmann::json rcpts = nlohmann::json::array();
    if (a.sent && a.sent->outcome == smtpio::message_outcome::not_sent) {
        // Refused before MAIL: every recipient shares the class of the refusal.
        std::string o = code == exit_rejected ? "rejected" : "deferred";
        for (const auto& r : a.sent->recipients)
            rcpts.push_back({{"address", r.address}, {"outcome", o}, {"code", nullptr}, {"enhanced", nullptr}, {"text", nullptr}});
        j["reply"] = nullptr;
    } else if (a.sent) {
        for (const auto& r : a.sent->recipients) {
            rcpts.push_back({{"address", r.address},
                             {"outcome", std::string(to_string(r.outcome))},
                             {"code", r.reply.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.reply.code)},
                             {"enhanced", r.reply.enhanced.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.reply.enhanced.to_string())},
                             {"text", r.reply.empty() ? nlohmann::json(nullptr) : nlohmann::json(clean(r.reply.text))}});
        }
        j["reply"] = reply_json(a.sent->reply);
    } else {
        // Stopped before the message: each recipient shares the stage's fate.
        std::string o = code == exit_rejected ? "rejected" : "deferred";
        for (const auto& addr : a.recipients) {
            const auto& r = a.failing_reply;
            rcpts.push_back({{"address", addr},
                             {"outcome", o},
                             {"code", r.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.code)},
                             {"enhanced", r.enhanced.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.enhanced.to_string())},
                             {"text", r.empty() ? nlohmann::json(nullptr) : nlohmann::json(clean(r.text))}});
        }
        j["reply"] = reply_json(a.failing_reply);
    }
    j["recipients"] = rcpts;
    j["exit_code"] = code;
    return j;
}

nlohmann::json usage_json(const usage_error& e) {
    return {{"outcome", "usage_error"},
            {"error", {{"code", e.code}, {"message", e.message}}},
            {"tls", nullptr},
            {"recipients", nlohmann::json::array()},
            {"reply", nullptr},
            {"exit_code", static_cast<int>(exit_usage)}};
}

void print_human(std::ostream& out, const attempt& a, int code) {
    auto j = to_json(a, code);
    out << "outcome: " << j["outcome"].get<std::string>() << " (exit " << code << ")\n";
    if (!j["error"].is_null())
        out << "error: " << j["error"]["code"].get<std::string>() << ": " << j["error"]["message"].get<std::string>() << "\n";
    for (const auto& r : j["recipients"]) {
        out << "recipient " << r["address"].get<std::string>() << ": " << r["outcome"].get<std::string>();
        if (!r["code"].is_null()) {
            out << " (" << r["code"].get<int>();
            if (!r["enhanced"].is_null()) out << ' ' << r["enhanced"].get<std::string>();
            out << ' ' << r["text"].get<std::string>() << ")";
        }
        out << "\n";
    }
    const auto& t = j["tls"];
    if (t.is_null()) {
        out << "tls: none (plaintext by policy)\n";
    } else if (t["version"].is_null()) {
        out << "tls: not established";
        if (!t["verify_result"].is_null()) out << " (" << t["verify_result"].get<std::string>() << ")";
        if (!t["detail"].is_null()) out << ": " << t["detail"].get<std::string>();
        out << "\n";
    } else {
        out << "tls: " << t["version"].get<std::string>() << " " << t["cipher"].get<std::string>();
        if (!t["group"].is_null()) out << " group " << t["group"].get<std::string>();
        out << (t["resumed"].get<bool>() ? " (resumed)" : "") << "\n";
        if (!t["peer_subject"].is_null()) out << "  peer: " << t["peer_subject"].get<std::string>() << "\n";
        if (!t["peer_fingerprint_sha256"].is_null())
            out << "  sha256: " << t["peer_fingerprint_sha256"].get<std::string>() << "\n";
        out << "  policy " << (t["policy"].is_null() ? "" : t["policy"].get<std::string>()) << ", verified: "
            << (t["verified"].get<bool>() ? "yes" : "no") << " ("
            << (t["verify_result"].is_null() ? "unknown" : t["verify_result"].get<std::string>()) << ")";
        if (!t["detail"].is_null() && !t["verified"].get<bool>()) out << ": " << t["detail"].get<std::string>();
        out << "\n  received clause: " << (t["received_clause"].is_null() ? "" : t["received_clause"].get<std::string>())
            << "\n";
    }
}

} // namespace smtpio_send
