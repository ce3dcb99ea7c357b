//
// smtpio/proto/commands.hpp -- SMTP command writers.  Every argument is checked
// before a byte is produced; on error nothing is appended.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_COMMANDS_HPP
#define SMTPIO_PROTO_COMMANDS_HPP

#include <smtpio/envelope.hpp>
#include <smtpio/error.hpp>
#include <smtpio/proto/address.hpp>
#include <smtpio/proto/buffer.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smtpio::proto {

/// Command line limits (RFC 5321 4.5.3.1.4: 512 octets with CRLF), raised for
/// MAIL and RCPT by what each extension allows (RFC 1870: SIZE; RFC 3461: 100 for
/// RET and ENVID on MAIL, 500 for NOTIFY and ORCPT on RCPT; RFC 6152, 6531, 8689).
inline constexpr std::size_t max_command_line = 512;
inline constexpr std::size_t max_mail_line = 512 + 26 + 100 + 16 + 9 + 11;
inline constexpr std::size_t max_rcpt_line = 512 + 500;
/// The most an ENVID value may take once xtext-encoded (RFC 3461 4.4).
inline constexpr std::size_t max_envid_length = 100;

/// Parameters of MAIL FROM.
struct mail_parameters {
    std::optional<std::uint64_t> size;   ///< SIZE=n (RFC 1870), when the server advertised SIZE.
    std::optional<body_type> body;       ///< BODY=7BIT|8BITMIME|BINARYMIME; `automatic` is not allowed here.
    bool smtputf8 = false;               ///< SMTPUTF8 (RFC 6531).
    dsn_return ret = dsn_return::unspecified; ///< RET=FULL|HDRS (RFC 3461).
    std::string_view envid;              ///< ENVID=xtext (RFC 3461).
    bool requiretls = false;             ///< REQUIRETLS (RFC 8689).
};

/// Parameters of RCPT TO.
struct rcpt_parameters {
    notify notify_on = notify::unspecified; ///< NOTIFY= (RFC 3461).
    std::string_view orcpt;                 ///< ORCPT= the original recipient's address (RFC 3461, RFC 6533).
    bool smtputf8 = false;                  ///< The transaction uses SMTPUTF8: UTF-8 allowed.
};

/// `EHLO name` (RFC 5321 4.1.1.1).  Errors: control_character, invalid_helo_name.
std::error_code write_ehlo(buffer& out, std::string_view name);
/// `HELO name`.
std::error_code write_helo(buffer& out, std::string_view name);
/// `STARTTLS` (RFC 3207).
void write_starttls(buffer& out);
/// `AUTH mechanism [initial-response]` (RFC 4954).  The mechanism must be a SASL
/// name (A-Z, 0-9, '-', '_'; at most 20); the initial response base64 or "=".
std::error_code write_auth(buffer& out, std::string_view mechanism, std::optional<std::string_view> initial_response);
/// A response line to a 334 challenge: base64, or "*" to cancel.
std::error_code write_auth_response(buffer& out, std::string_view base64);
/// `MAIL FROM:<path> params` with every parameter validated.
std::error_code write_mail(buffer& out, std::string_view reverse_path, const mail_parameters& p);
/// `RCPT TO:<path> params` with every parameter validated.
std::error_code write_rcpt(buffer& out, std::string_view forward_path, const rcpt_parameters& p);
/// The checks `write_mail` makes of its parameters (ENVID, BODY), without writing.
std::error_code check_mail_parameters(const mail_parameters& p);
/// The checks `write_rcpt` makes of its parameters (NOTIFY, ORCPT), without writing.
std::error_code check_rcpt_parameters(const rcpt_parameters& p);
/// `write_mail` for a reverse-path already checked by `validate_reverse_path(path,
/// p.smtputf8)`: the parameters and the line length are still checked.
std::error_code write_mail_checked_path(buffer& out, std::string_view reverse_path, const mail_parameters& p);
/// `write_rcpt` for a forward-path already checked by `validate_forward_path(path,
/// p.smtputf8)`: the parameters and the line length are still checked.
std::error_code write_rcpt_checked_path(buffer& out, std::string_view forward_path, const rcpt_parameters& p);
/// `DATA`
void write_data(buffer& out);
/// `BDAT n` or `BDAT n LAST` (RFC 3030); the n octets follow, written by the caller.
void write_bdat(buffer& out, std::uint64_t size, bool last);
/// The longest BDAT line `format_bdat` writes.
inline constexpr std::size_t max_bdat_line = 32;
/// Writes the BDAT line into `out` (at least max_bdat_line octets); returns its length.
std::size_t format_bdat(char* out, std::uint64_t size, bool last) noexcept;
/// The length of the line `format_bdat` writes for these arguments.
constexpr std::size_t bdat_line_length(std::uint64_t size, bool last) noexcept {
    std::size_t digits = 1;
    for (; size >= 10; size /= 10) ++digits;
    return 5 + digits + (last ? 5 : 0) + 2; // "BDAT " size [" LAST"] CRLF
}
/// `RSET`
void write_rset(buffer& out);
/// `NOOP`
void write_noop(buffer& out);
/// `QUIT`
void write_quit(buffer& out);

/// xtext encoding (RFC 3461 4): "!" to "~" as-is except "+" and "=", the rest as "+XX".
std::string xtext_encode(std::string_view s);
/// utf-8-addr-xtext (RFC 6533 3): printable ASCII but "+", "=", "\" as-is; other
/// characters as `\x{HEX}`.  With `unitext`, UTF-8 stays as-is (utf-8-addr-unitext).
std::string utf8_addr_xtext_encode(std::string_view s, bool unitext);

} // namespace smtpio::proto

#include <smtpio/proto/impl/commands.hpp>

#endif // SMTPIO_PROTO_COMMANDS_HPP
