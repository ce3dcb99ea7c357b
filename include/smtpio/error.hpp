//
// smtpio/error.hpp -- the error model.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_ERROR_HPP
#define SMTPIO_ERROR_HPP

#include <string_view>
#include <system_error>

namespace smtpio {

/// Every error smtpio itself reports, in the category named `"smtpio"`.
///
/// Errors are grouped by who caused them.  Caller errors are detected before a
/// byte is written; TLS and policy errors end an open before any MAIL, RCPT, AUTH
/// or message byte is written; protocol errors mean the server broke RFC 5321 and
/// the session was closed.  Server text never travels inside `message()`: it is
/// kept in the session's diagnostics and in the send result, beside the code.
///
/// `to_string(errc)` gives the enumerator's name (stable, used in JSON output).
enum class errc {
    // ---- Caller input: rejected before anything is written -------------------
    invalid_address = 1,            ///< The address is not an RFC 5321 mailbox (local-part "@" domain).
    local_part_too_long,            ///< The local part is longer than 64 octets (RFC 5321 4.5.3.1.1).
    domain_too_long,                ///< The domain is longer than 255 octets (RFC 5321 4.5.3.1.2).
    path_too_long,                  ///< The path is longer than 256 octets (RFC 5321 4.5.3.1.3).
    invalid_domain,                 ///< The domain or address literal is not valid RFC 5321 syntax.
    utf8_not_requested,             ///< The address has non-ASCII octets but SMTPUTF8 was not requested.
    invalid_utf8,                   ///< A string declared UTF-8 is not well-formed UTF-8.
    control_character,              ///< A caller string holds CR, LF, NUL or another control character.
    invalid_helo_name,              ///< The EHLO/HELO name is neither a domain nor an address literal.
    invalid_parameter,              ///< An ESMTP parameter (ENVID, ORCPT, NOTIFY, ...) is malformed.
    command_too_long,               ///< The command line would exceed the length limit (RFC 5321 4.5.3.1.4).
    no_recipients,                  ///< The envelope has no recipient.
    too_many_recipients,            ///< The envelope has more recipients than the configured limit.
    invalid_credentials,            ///< A user name, password or token cannot be encoded for AUTH.
    body_contains_nul,              ///< The message holds a NUL octet (allowed only with BINARYMIME).
    body_line_too_long,             ///< A line of the message is longer than 998 octets (RFC 5322 2.1.1).
    body_read_failed,               ///< The message source could not be read (file missing, generator error).
    invalid_option,                 ///< Options that contradict each other, or a value out of range.

    // ---- What the server advertised does not allow the message ----------------
    message_too_big,                ///< The message is larger than the server's SIZE limit (RFC 1870).
    eightbit_not_supported,         ///< The message has 8-bit octets and the server lacks 8BITMIME (RFC 6152).
    smtputf8_not_supported,         ///< UTF-8 addresses need SMTPUTF8 and the server lacks it (RFC 6531).
    binarymime_not_supported,       ///< BINARYMIME needs BINARYMIME and CHUNKING from the server (RFC 3030).
    dsn_not_supported,              ///< DSN parameters were given and the server lacks DSN (RFC 3461).
    requiretls_unavailable,         ///< REQUIRETLS needs verified TLS and the server's REQUIRETLS (RFC 8689).

    // ---- TLS: the connection could not be protected as the policy demands -----
    starttls_not_offered,           ///< The server did not advertise STARTTLS.
    starttls_refused,               ///< The server answered STARTTLS with a 4xx or 5xx reply.
    tls_handshake_failed,           ///< The TLS handshake failed (alert, protocol version, no shared cipher, ...).
    certificate_untrusted,          ///< The certificate chain does not lead to a trust anchor.
    certificate_expired,            ///< A certificate of the chain has expired.
    certificate_not_yet_valid,      ///< A certificate of the chain is not yet valid.
    certificate_name_mismatch,      ///< No DNS-ID or IP-ID of the certificate matches the reference name (RFC 9525).
    certificate_invalid,            ///< The certificate is malformed or otherwise unusable.
    weak_key,                       ///< The peer's key is too weak for a strict level (RSA < 2048, EC < P-256).
    fingerprint_mismatch,           ///< Neither the certificate nor its public key matches a configured pin.
    tlsa_mismatch,                  ///< No usable TLSA record matches the peer's chain (RFC 7672).
    tlsa_unusable,                  ///< No TLSA record is usable for SMTP (only PKIX usages, unknown types).
    peer_rejected_by_policy,        ///< A custom TLS policy rejected the peer.
    tls_configuration_failed,       ///< The TLS context or connection could not be configured.

    // ---- Policy: what the caller demanded could not be met --------------------
    plaintext_auth_refused,         ///< AUTH over an unencrypted connection was not explicitly allowed.
    demand_not_encrypted,           ///< The send demanded TLS and the session is not encrypted.
    demand_not_verified,            ///< The send demanded a verified peer and the peer is not verified.
    demand_tls_version,             ///< The send demanded a higher TLS version than the session has.
    demand_not_authenticated_by_dane, ///< The send demanded DANE authentication and the peer was not DANE-verified.

    // ---- The server broke the protocol: the session is closed -----------------
    reply_malformed,                ///< A reply line is not "[2-5][0-5][0-9]" then SP, "-" or CRLF, or has a bare CR/LF.
    reply_code_mismatch,            ///< The lines of a multi-line reply carry different codes.
    reply_line_too_long,            ///< A reply line exceeds the configured limit.
    reply_too_many_lines,           ///< A multi-line reply exceeds the configured number of lines.
    reply_too_large,                ///< A multi-line reply exceeds the configured number of bytes.
    reply_truncated,                ///< The connection ended in the middle of a reply.
    unexpected_reply,               ///< A reply code that the command cannot have (RFC 5321 4.3.2).
    response_injection,             ///< Bytes arrived after the 220 to STARTTLS, before the handshake (RFC 3207 6).
    unsolicited_reply,              ///< The server sent bytes when no reply was due.
    auth_malformed_challenge,       ///< A 334 challenge is not valid base64 or not valid for the mechanism.
    auth_server_signature_invalid,  ///< The SCRAM server signature does not verify (RFC 5802 5.1).

    // ---- The server refused, or the session cannot go on ------------------------
    greeting_refused,               ///< The server's greeting was not 220 (it does not want a session).
    hello_refused,                  ///< Both EHLO and HELO were refused.
    service_not_available,          ///< The server answered 421: it is closing the session (RFC 5321 3.8).
    connection_closed,              ///< The server closed the connection when a reply was due.
    auth_not_offered,               ///< AUTH was asked for and the server did not advertise it.
    auth_mechanism_unavailable,     ///< No mechanism acceptable to the caller is offered by the server.
    auth_failed,                    ///< The server refused the credentials (535 or another 4xx/5xx).
    auth_too_many_rounds,           ///< The server asked for more 334 rounds than the mechanism allows.
    auth_challenge_too_large,       ///< A 334 challenge is larger than the configured limit.
    reset_failed,                   ///< RSET was refused; the session was closed.

    // ---- Session state, timeouts, cancellation ----------------------------------
    not_open,                       ///< The session is not open (never opened, closed, or broken).
    already_open,                   ///< The session was already opened.
    operation_in_progress,          ///< Another operation is running on this session; one at a time.
    greeting_timeout,               ///< No complete greeting within the greeting deadline (RFC 5321 4.5.3.2.1).
    command_timeout,                ///< No complete reply to a command within its deadline.
    tls_handshake_timeout,          ///< The TLS handshake did not finish within its deadline.
    data_timeout,                   ///< A block of message data could not be written within its deadline.
    end_of_data_timeout,            ///< No reply to the end of data within its deadline (outcome unknown).
    cancelled,                      ///< The operation was cancelled; the session is closed.
    resolve_failed,                 ///< The next hop's name could not be resolved.
    connect_failed,                 ///< No address of the next hop accepted a connection.
};

/// The name of an enumerator, e.g. `"starttls_not_offered"`; `"unknown"` for other values.
constexpr std::string_view to_string(errc e) noexcept;

/// Broad classes of errors, for `ec == smtpio::condition::transient` checks.
///
/// Reply codes (category `reply_category()`) compare equal to `transient` (4xx)
/// or `permanent` (5xx).  smtpio's own codes map as documented on each value.
enum class condition {
    transient = 1,       ///< Trying again later may succeed: 4xx replies, 421, connection loss, timeouts.
    permanent,           ///< Trying again will not succeed as is: 5xx replies, caller input errors.
    timeout,             ///< A phase deadline expired.
    tls_failure,         ///< The connection could not be protected as the policy required.
    policy_violation,    ///< A demand of the caller could not be met (per-call TLS demands, plaintext AUTH).
    protocol_violation,  ///< The server broke the SMTP protocol.
};

/// The category of `errc` values; its `name()` is `"smtpio"`.
const std::error_category& smtpio_category() noexcept;

/// The category of SMTP reply codes: the value of an error code in this category
/// is the server's 3-digit reply code (e.g. 550).  Its `name()` is `"smtp.reply"`.
const std::error_category& reply_category() noexcept;

/// The category of `condition` values; its `name()` is `"smtpio.condition"`.
const std::error_category& condition_category() noexcept;

/// An error code for an `errc` value.
std::error_code make_error_code(errc e) noexcept;

/// An error condition for a `condition` value.
std::error_condition make_error_condition(condition c) noexcept;

/// An error code holding a server reply code (400-599) in `reply_category()`.
std::error_code make_reply_error(int reply_code) noexcept;

} // namespace smtpio

namespace std {
template <> struct is_error_code_enum<smtpio::errc> : true_type {};
template <> struct is_error_condition_enum<smtpio::condition> : true_type {};
} // namespace std

#include <smtpio/impl/error.hpp>

#endif // SMTPIO_ERROR_HPP
