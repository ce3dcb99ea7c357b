//
// smtpio/tls/idna.hpp -- reference names: U-labels to A-labels (RFC 3492, RFC 5890), IP literals.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_IDNA_HPP
#define SMTPIO_TLS_IDNA_HPP

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace smtpio::tls {

/// Encodes a sequence of Unicode code points with Punycode (RFC 3492 section 6.3).
///
/// Basic code points (< 0x80) are copied as they are (their case is kept) and
/// followed by the delimiter "-" when there are any; no "xn--" prefix is added.
/// Returns `std::nullopt` for an invalid code point (a surrogate or > 0x10FFFF)
/// or on arithmetic overflow (RFC 3492 section 6.4).
std::optional<std::string> punycode_encode(std::u32string_view code_points);

/// Decodes UTF-8 into code points; `std::nullopt` when `utf8` is not well-formed
/// UTF-8 (overlong forms, surrogates and values above 0x10FFFF are refused).
std::optional<std::u32string> utf8_decode(std::string_view utf8);

/// Converts a domain name to its ASCII form, as sent in SNI and compared with
/// the DNS-IDs of certificates (RFC 5890 A-labels, RFC 9525 section 6.3).
///
/// - One trailing dot is removed; ASCII letters are lowered.
/// - A label with non-ASCII characters (a U-label) becomes "xn--" + Punycode.
///   The label is not re-normalised (no NFC, no IDNA2008 mapping beyond ASCII
///   case): pass U-labels in their IDNA2008 form (lower case, NFC).
/// - The ideographic full stops U+3002, U+FF0E and U+FF61 separate labels too.
/// - A leading "." (used by policies to mean "any subdomain of") is kept.
///
/// Errors (output left empty): `errc::invalid_utf8` for malformed UTF-8;
/// `errc::invalid_domain` for an empty label, a label longer than 63 octets, or
/// an ASCII character other than a letter, digit, "-" or "_" (so no wildcard:
/// reference identities never hold one), or a C0/C1 control character;
/// `errc::domain_too_long` above 253 octets.
std::error_code to_ascii_domain(std::string_view domain, std::string& out);

/// The address in a reference name that names an IP address, in the form that
/// `X509_check_ip_asc` takes ("192.0.2.1", "2001:db8::1"); `std::nullopt` for a
/// DNS name.  Accepts plain addresses and SMTP address literals
/// ("[192.0.2.1]", "[IPv6:2001:db8::1]", RFC 5321 section 4.1.3).
std::optional<std::string> ip_reference(std::string_view name);

} // namespace smtpio::tls

#include <smtpio/tls/impl/idna.hpp>

#endif // SMTPIO_TLS_IDNA_HPP
