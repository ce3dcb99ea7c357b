//
// smtpio/envelope.hpp -- the SMTP envelope: sender, recipients, DSN and REQUIRETLS.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_ENVELOPE_HPP
#define SMTPIO_ENVELOPE_HPP

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smtpio {

/// When a delivery status notification is wanted for a recipient (RFC 3461 4.1).
/// Combine success, failure and delay with `|`; `never` stands alone.
enum class notify : std::uint8_t {
    unspecified = 0, ///< No NOTIFY parameter: the server's default (failure and delay).
    never = 1,       ///< NOTIFY=NEVER.
    success = 2,
    failure = 4,
    delay = 8,
};
constexpr notify operator|(notify a, notify b) noexcept {
    return static_cast<notify>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
constexpr bool has(notify set, notify flag) noexcept {
    return (static_cast<std::uint8_t>(set) & static_cast<std::uint8_t>(flag)) != 0;
}

/// How much of the message a DSN returns (RFC 3461 4.3, the RET parameter).
enum class dsn_return : std::uint8_t {
    unspecified, ///< No RET parameter.
    full,        ///< RET=FULL: the whole message.
    headers,     ///< RET=HDRS: the headers only.
};

/// One recipient: the forward-path and its DSN parameters.
struct recipient {
    std::string address;              ///< The mailbox, without angle brackets.
    notify notify_on = notify::unspecified; ///< NOTIFY (needs the server's DSN).
    /// ORCPT (RFC 3461 4.2): the address as originally given; sent as
    /// "rfc822;" + xtext, or "utf-8;" + utf-8-addr-xtext/unitext (RFC 6533) when not ASCII.
    std::string original_recipient;

    recipient() = default;
    recipient(std::string a) : address(std::move(a)) {}          // NOLINT: implicit on purpose
    recipient(const char* a) : address(a) {}                     // NOLINT
    recipient(std::string_view a) : address(a) {}                // NOLINT
    recipient(std::string a, notify n, std::string orcpt = {})
        : address(std::move(a)), notify_on(n), original_recipient(std::move(orcpt)) {}
};

/// The envelope of one message (RFC 5321 2.3.1): who it is from (the
/// reverse-path, empty for bounces), who it is for, and per-message parameters.
///
/// Every string is checked before anything is written: a malformed address,
/// or CR, LF, NUL or another control character anywhere, fails the send with a
/// distinct `errc` and nothing of the message reaches the wire.
struct envelope {
    std::string from;                 ///< Reverse-path; "" is the null sender.
    std::vector<recipient> to;        ///< Forward-paths; at least one.
    dsn_return ret = dsn_return::unspecified; ///< RET (needs DSN).
    std::string envid;                ///< ENVID (RFC 3461 4.4, printable ASCII, xtext-encoded on the wire).
    /// REQUIRETLS (RFC 8689): send only over verified TLS to a server that
    /// advertised REQUIRETLS after TLS; otherwise fail before MAIL.
    bool require_tls = false;
    /// Allow UTF-8 in addresses and declare SMTPUTF8 (RFC 6531); the server must
    /// advertise SMTPUTF8, else the send fails before MAIL.
    bool smtputf8 = false;

    envelope() = default;
    envelope(std::string sender, std::vector<recipient> recipients)
        : from(std::move(sender)), to(std::move(recipients)) {}
};

/// The BODY parameter (RFC 6152, RFC 3030).
enum class body_type : std::uint8_t {
    automatic,   ///< Declare 8BITMIME when the message has 8-bit octets (or cannot be scanned) and the server offers it.
    seven_bit,   ///< BODY=7BIT: the message must be 7-bit; an 8-bit octet fails the send.
    eight_bit,   ///< BODY=8BITMIME.
    binary,      ///< BODY=BINARYMIME: sent with BDAT, no normalisation; needs BINARYMIME and CHUNKING.
};

} // namespace smtpio

#endif // SMTPIO_ENVELOPE_HPP
