//
// smtpio/result.hpp -- exact outcomes: one per recipient, one per message.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_RESULT_HPP
#define SMTPIO_RESULT_HPP

#include <smtpio/reply.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace smtpio {

/// What happened to one recipient.
enum class outcome : std::uint8_t {
    accepted, ///< The server took responsibility for delivery (2xx to the end of data).
    rejected, ///< A 5xx reply refused it (to MAIL, RCPT, DATA or the end of data); do not retry as is.
    deferred, ///< A 4xx reply, or the session failed before the end of data was written; retry later.
    unknown,  ///< The end of data was written and no complete reply came (RFC 1047): it may have been delivered.
};

/// What happened to the message as a whole.
enum class message_outcome : std::uint8_t {
    delivered, ///< Every recipient accepted.
    partial,   ///< Some recipients accepted, others rejected or deferred (none unknown).
    rejected,  ///< No recipient accepted and every one was rejected permanently.
    deferred,  ///< No recipient accepted and at least one was deferred (none unknown).
    unknown,   ///< At least one recipient's outcome is unknown (RFC 1047).
    not_sent,  ///< Nothing of the message was written: see `error` (bad input, unmet demand, server limits).
};

/// "accepted", "rejected", "deferred", "unknown".
constexpr std::string_view to_string(outcome o) noexcept {
    switch (o) {
    case outcome::accepted: return "accepted";
    case outcome::rejected: return "rejected";
    case outcome::deferred: return "deferred";
    case outcome::unknown: return "unknown";
    }
    return "unknown";
}

/// "delivered", "partial", "rejected", "deferred", "unknown", "not_sent".
constexpr std::string_view to_string(message_outcome o) noexcept {
    switch (o) {
    case message_outcome::delivered: return "delivered";
    case message_outcome::partial: return "partial";
    case message_outcome::rejected: return "rejected";
    case message_outcome::deferred: return "deferred";
    case message_outcome::unknown: return "unknown";
    case message_outcome::not_sent: return "not_sent";
    }
    return "unknown";
}

/// One recipient's outcome with the reply that decided it (the RCPT reply when
/// RCPT failed, the MAIL or DATA reply when those failed, else the reply to the
/// end of data; empty when the session failed before any reply).
struct recipient_result {
    std::string address;
    smtpio::outcome outcome = outcome::deferred;
    smtpio::reply reply;
};

/// The outcome of one mail transaction, as the protocol saw it.
struct transaction_result {
    message_outcome outcome = message_outcome::not_sent;
    std::vector<recipient_result> recipients; ///< In envelope order.
    /// The reply that decided the message: to the end of data, or to the MAIL or
    /// DATA command that failed it, or a 421; empty when none came.
    smtpio::reply reply;
    /// Why the transaction did not run to a reply for every command: the
    /// connection failed, a deadline expired, the server broke the protocol or
    /// closed with 421, or (with `not_sent`) the message was refused locally.
    /// Empty when every command got its reply, whatever they said.
    std::error_code error;
    /// Octets of message data written (after normalisation and dot-stuffing).
    std::uint64_t data_octets = 0;

    /// Computes `outcome` from the recipients (not for `not_sent`).
    void summarise() noexcept;
    /// Recipients with the given outcome.
    std::size_t count(smtpio::outcome o) const noexcept;
};

inline std::size_t transaction_result::count(smtpio::outcome o) const noexcept {
    std::size_t n = 0;
    for (const auto& r : recipients)
        if (r.outcome == o) ++n;
    return n;
}

inline void transaction_result::summarise() noexcept {
    if (recipients.empty()) return;
    std::size_t acc = count(outcome::accepted), rej = count(outcome::rejected), def = count(outcome::deferred),
                unk = count(outcome::unknown);
    if (unk > 0) outcome = message_outcome::unknown;
    else if (acc == recipients.size()) outcome = message_outcome::delivered;
    else if (acc > 0) outcome = message_outcome::partial;
    else if (def > 0) outcome = message_outcome::deferred;
    else outcome = rej > 0 ? message_outcome::rejected : message_outcome::deferred;
}

} // namespace smtpio

#endif // SMTPIO_RESULT_HPP
