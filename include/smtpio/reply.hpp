//
// smtpio/reply.hpp -- an SMTP reply: code, enhanced status code, text.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_REPLY_HPP
#define SMTPIO_REPLY_HPP

#include <cstdint>
#include <string>
#include <string_view>

namespace smtpio {

/// An enhanced mail system status code (RFC 3463), `class.subject.detail`, e.g. 5.1.1.
///
/// Present only when the server advertised ENHANCEDSTATUSCODES (RFC 2034) and the
/// reply text started with a code whose class matches the reply code's first digit.
struct enhanced_status {
    std::uint16_t cls = 0;     ///< 2, 4 or 5; 0 when absent.
    std::uint16_t subject = 0; ///< 0-999.
    std::uint16_t detail = 0;  ///< 0-999.

    /// True when no enhanced status code was present.
    constexpr bool empty() const noexcept { return cls == 0; }
    /// "5.1.1", or "" when absent.
    std::string to_string() const;
    friend constexpr bool operator==(const enhanced_status&, const enhanced_status&) = default;
};

/// A complete SMTP reply (RFC 5321 4.2): a 3-digit code and the text of all its lines.
///
/// The text is what the server sent after the code and separator of each line, with
/// the enhanced status code (when split out) removed; lines are joined with '\n'.
/// It is untrusted server data: it may hold any octet but CR and LF.  Show it with
/// `escaped_text()`, never raw on a terminal or in a log.
struct reply {
    int code = 0;              ///< 200-559; 0 when there is no reply.
    enhanced_status enhanced;  ///< Split out when advertised and present.
    std::string text;          ///< The lines' text, '\n'-separated.

    /// True when no reply is held (code 0).
    bool empty() const noexcept { return code == 0; }
    /// 2xx: the command succeeded.
    bool positive() const noexcept { return code >= 200 && code < 300; }
    /// 3xx: the server waits for more (354 after DATA, 334 during AUTH).
    bool intermediate() const noexcept { return code >= 300 && code < 400; }
    /// 4xx: a transient failure; trying again later may succeed.
    bool transient() const noexcept { return code >= 400 && code < 500; }
    /// 5xx: a permanent failure.
    bool permanent() const noexcept { return code >= 500 && code < 600; }
    /// The text with control characters and non-UTF-8 octets escaped (see `escape()`).
    std::string escaped_text() const;
    /// "550 5.1.1 text" on one line, escaped; "" when empty.
    std::string to_string() const;
};

/// Escapes untrusted text for display: printable ASCII and well-formed UTF-8 stay,
/// '\n' stays when `keep_newlines`, everything else becomes `\xHH` (and '\\' becomes `\\`).
std::string escape(std::string_view text, bool keep_newlines = false);

} // namespace smtpio

#include <smtpio/impl/reply.hpp>

#endif // SMTPIO_REPLY_HPP
