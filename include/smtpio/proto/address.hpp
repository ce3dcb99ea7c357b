//
// smtpio/proto/address.hpp -- validation of mailboxes, domains and EHLO names (RFC 5321 4.1.2).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_ADDRESS_HPP
#define SMTPIO_PROTO_ADDRESS_HPP

#include <smtpio/error.hpp>

#include <string_view>

namespace smtpio::proto {

/// Length limits of RFC 5321 4.5.3.1.
inline constexpr std::size_t max_local_part_length = 64;
inline constexpr std::size_t max_domain_length = 255;
inline constexpr std::size_t max_path_length = 256; ///< "<" mailbox ">"

/// Checks that `s` holds no control character (C0, DEL); CR, LF and NUL above all.
/// Returns errc::control_character when it does.
std::error_code check_no_controls(std::string_view s) noexcept;

/// Validates a Mailbox = Local-part "@" ( Domain / address-literal ).
///
/// Local-part: Dot-string (atoms of atext joined by single dots) or a
/// Quoted-string.  Domain: LDH labels of 1-63 octets joined by dots, no trailing
/// dot.  Address literals: `[192.0.2.1]` and `[IPv6:2001:db8::1]` (General
/// address literals are refused).  With `allow_utf8` (SMTPUTF8, RFC 6531), UTF-8
/// may appear in atoms, quoted strings and labels; it must be well-formed.
/// Errors: control_character, utf8_not_requested, invalid_utf8,
/// local_part_too_long, domain_too_long, path_too_long, invalid_domain,
/// invalid_address.
std::error_code validate_mailbox(std::string_view mailbox, bool allow_utf8 = false) noexcept;

/// Like `validate_mailbox`, but the empty reverse-path "" (null sender, used for
/// bounces) is valid too.
std::error_code validate_reverse_path(std::string_view path, bool allow_utf8 = false) noexcept;

/// Like `validate_mailbox`, but "Postmaster" (any case) without a domain is valid
/// too (RFC 5321 4.1.1.3).
std::error_code validate_forward_path(std::string_view path, bool allow_utf8 = false) noexcept;

/// Validates a Domain or an address literal (the part after "@").
std::error_code validate_domain(std::string_view domain, bool allow_utf8 = false) noexcept;

/// Validates an EHLO/HELO argument: a Domain or an address literal, ASCII only
/// (RFC 5321 4.1.1.1).  Errors: control_character, invalid_helo_name.
std::error_code validate_helo_name(std::string_view name) noexcept;

/// True for a dotted-quad IPv4 address, each part 0-255, no leading zeros beyond "0".
bool is_ipv4_address(std::string_view s) noexcept;
/// True for an IPv6 address in any RFC 4291 2.2 text form (with an embedded IPv4 tail allowed).
bool is_ipv6_address(std::string_view s) noexcept;

/// True when the local part needs the quoted form (it is not a valid Dot-string).
bool needs_quoting(std::string_view local_part, bool allow_utf8 = false) noexcept;

} // namespace smtpio::proto

#include <smtpio/proto/impl/address.hpp>

#endif // SMTPIO_PROTO_ADDRESS_HPP
