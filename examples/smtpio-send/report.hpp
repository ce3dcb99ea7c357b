//
// examples/smtpio-send/report.hpp -- what smtpio-send prints and how it exits.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_SEND_REPORT_HPP
#define SMTPIO_SEND_REPORT_HPP

#include "cli_options.hpp"

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <optional>
#include <string>

namespace smtpio_send {

/// Exit codes (the CLI's contract).
enum exit_code : int {
    exit_delivered = 0, ///< Every recipient accepted.
    exit_rejected = 1,  ///< Some rejected permanently; none unknown or deferred.
    exit_deferred = 2,  ///< Deferred: 4xx, or connection loss or timeout before the end of data.
    exit_tls = 3,       ///< TLS or policy failure; nothing of the message sent.
    exit_unknown = 4,   ///< Outcome unknown: lost or timed out after the end of data.
    exit_protocol = 5,  ///< Protocol violation by the server before the end of data.
    exit_usage = 64,    ///< Bad option or address, detected before connecting.
};

/// Everything known about one attempt to send, whatever stage it reached.
struct attempt {
    std::error_code error;                   ///< Why it stopped early (connect, open, AUTH, send), if it did.
    smtpio::reply failing_reply;             ///< The reply that ended it early, if any.
    std::optional<smtpio::send_result> sent; ///< The send's result, when the send ran.
    smtpio::tls::report tls;                 ///< The session's TLS report.
    bool tls_wanted = false;                 ///< The policy wanted TLS (level above none).
    std::vector<std::string> recipients;
};

/// The exit code of an attempt (precedence 4, 3, 5, 2, 1, 0).
int classify(const attempt& a);
/// The JSON object of the contract.
nlohmann::json to_json(const attempt& a, int code);
/// The JSON of a usage error.
nlohmann::json usage_json(const usage_error& e);
/// A readable summary of the attempt.
void print_human(std::ostream& out, const attempt& a, int code);
/// What each recipient of a message refused before MAIL (`message_outcome::not_sent`)
/// counts as: `rejected` when the refusal is permanent for that message (what the
/// server cannot take), else `deferred`.  The rule of exit codes 1 and 2.
smtpio::outcome refused_recipient_outcome(std::error_code refusal);
/// An errc name ("starttls_not_offered") or a system error's name.
std::string error_name(std::error_code ec);
/// The JSON `tls` object (or null).
nlohmann::json tls_json(const smtpio::tls::report& r, bool wanted);

} // namespace smtpio_send

#endif // SMTPIO_SEND_REPORT_HPP
