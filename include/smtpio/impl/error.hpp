//
// smtpio/impl/error.hpp -- definitions for smtpio/error.hpp (generated table kept by hand).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_IMPL_ERROR_HPP
#define SMTPIO_IMPL_ERROR_HPP

#include <cerrno>
#include <string>

namespace smtpio {
namespace detail {

struct errc_info {
    errc value;
    std::string_view name;
    std::string_view message;
    int condition; // 0: none, else a smtpio::condition value
};

// One row per errc value, in declaration order: the name is the enumerator,
// the message the sentence documented beside it.
inline constexpr errc_info errc_table[] = {
    {errc::invalid_address, "invalid_address", "The address is not an RFC 5321 mailbox (local-part \"@\" domain).", static_cast<int>(condition::permanent)},
    {errc::local_part_too_long, "local_part_too_long", "The local part is longer than 64 octets (RFC 5321 4.5.3.1.1).", static_cast<int>(condition::permanent)},
    {errc::domain_too_long, "domain_too_long", "The domain is longer than 255 octets (RFC 5321 4.5.3.1.2).", static_cast<int>(condition::permanent)},
    {errc::path_too_long, "path_too_long", "The path is longer than 256 octets (RFC 5321 4.5.3.1.3).", static_cast<int>(condition::permanent)},
    {errc::invalid_domain, "invalid_domain", "The domain or address literal is not valid RFC 5321 syntax.", static_cast<int>(condition::permanent)},
    {errc::utf8_not_requested, "utf8_not_requested", "The address has non-ASCII octets but SMTPUTF8 was not requested.", static_cast<int>(condition::permanent)},
    {errc::invalid_utf8, "invalid_utf8", "A string declared UTF-8 is not well-formed UTF-8.", static_cast<int>(condition::permanent)},
    {errc::control_character, "control_character", "A caller string holds CR, LF, NUL or another control character.", static_cast<int>(condition::permanent)},
    {errc::invalid_helo_name, "invalid_helo_name", "The EHLO/HELO name is neither a domain nor an address literal.", static_cast<int>(condition::permanent)},
    {errc::invalid_parameter, "invalid_parameter", "An ESMTP parameter (ENVID, ORCPT, NOTIFY, ...) is malformed.", static_cast<int>(condition::permanent)},
    {errc::command_too_long, "command_too_long", "The command line would exceed the length limit (RFC 5321 4.5.3.1.4).", static_cast<int>(condition::permanent)},
    {errc::no_recipients, "no_recipients", "The envelope has no recipient.", static_cast<int>(condition::permanent)},
    {errc::too_many_recipients, "too_many_recipients", "The envelope has more recipients than the configured limit.", static_cast<int>(condition::permanent)},
    {errc::invalid_credentials, "invalid_credentials", "A user name, password or token cannot be encoded for AUTH.", static_cast<int>(condition::permanent)},
    {errc::body_contains_nul, "body_contains_nul", "The message holds a NUL octet (allowed only with BINARYMIME).", static_cast<int>(condition::permanent)},
    {errc::body_line_too_long, "body_line_too_long", "A line of the message is longer than 998 octets (RFC 5322 2.1.1).", static_cast<int>(condition::permanent)},
    {errc::body_read_failed, "body_read_failed", "The message source could not be read (file missing, generator error).", static_cast<int>(condition::permanent)},
    {errc::invalid_option, "invalid_option", "Options that contradict each other, or a value out of range.", static_cast<int>(condition::permanent)},
    {errc::message_too_big, "message_too_big", "The message is larger than the server's SIZE limit (RFC 1870).", static_cast<int>(condition::permanent)},
    {errc::eightbit_not_supported, "eightbit_not_supported", "The message has 8-bit octets and the server lacks 8BITMIME (RFC 6152).", static_cast<int>(condition::permanent)},
    {errc::smtputf8_not_supported, "smtputf8_not_supported", "UTF-8 addresses need SMTPUTF8 and the server lacks it (RFC 6531).", static_cast<int>(condition::permanent)},
    {errc::binarymime_not_supported, "binarymime_not_supported", "BINARYMIME needs BINARYMIME and CHUNKING from the server (RFC 3030).", static_cast<int>(condition::permanent)},
    {errc::dsn_not_supported, "dsn_not_supported", "DSN parameters were given and the server lacks DSN (RFC 3461).", static_cast<int>(condition::permanent)},
    {errc::requiretls_unavailable, "requiretls_unavailable", "REQUIRETLS needs verified TLS and the server's REQUIRETLS (RFC 8689).", static_cast<int>(condition::policy_violation)},
    {errc::starttls_not_offered, "starttls_not_offered", "The server did not advertise STARTTLS.", static_cast<int>(condition::tls_failure)},
    {errc::starttls_refused, "starttls_refused", "The server answered STARTTLS with a 4xx or 5xx reply.", static_cast<int>(condition::tls_failure)},
    {errc::tls_handshake_failed, "tls_handshake_failed", "The TLS handshake failed (alert, protocol version, no shared cipher, ...).", static_cast<int>(condition::tls_failure)},
    {errc::certificate_untrusted, "certificate_untrusted", "The certificate chain does not lead to a trust anchor.", static_cast<int>(condition::tls_failure)},
    {errc::certificate_expired, "certificate_expired", "A certificate of the chain has expired.", static_cast<int>(condition::tls_failure)},
    {errc::certificate_not_yet_valid, "certificate_not_yet_valid", "A certificate of the chain is not yet valid.", static_cast<int>(condition::tls_failure)},
    {errc::certificate_name_mismatch, "certificate_name_mismatch", "No DNS-ID or IP-ID of the certificate matches the reference name (RFC 9525).", static_cast<int>(condition::tls_failure)},
    {errc::certificate_invalid, "certificate_invalid", "The certificate is malformed or otherwise unusable.", static_cast<int>(condition::tls_failure)},
    {errc::weak_key, "weak_key", "The peer's key is too weak for a strict level (RSA < 2048, EC < P-256).", static_cast<int>(condition::tls_failure)},
    {errc::fingerprint_mismatch, "fingerprint_mismatch", "Neither the certificate nor its public key matches a configured pin.", static_cast<int>(condition::tls_failure)},
    {errc::tlsa_mismatch, "tlsa_mismatch", "No usable TLSA record matches the peer's chain (RFC 7672).", static_cast<int>(condition::tls_failure)},
    {errc::tlsa_unusable, "tlsa_unusable", "No TLSA record is usable for SMTP (only PKIX usages, unknown types).", static_cast<int>(condition::tls_failure)},
    {errc::peer_rejected_by_policy, "peer_rejected_by_policy", "A custom TLS policy rejected the peer.", static_cast<int>(condition::tls_failure)},
    {errc::tls_configuration_failed, "tls_configuration_failed", "The TLS context or connection could not be configured.", static_cast<int>(condition::tls_failure)},
    {errc::plaintext_auth_refused, "plaintext_auth_refused", "AUTH over an unencrypted connection was not explicitly allowed.", static_cast<int>(condition::policy_violation)},
    {errc::demand_not_encrypted, "demand_not_encrypted", "The send demanded TLS and the session is not encrypted.", static_cast<int>(condition::policy_violation)},
    {errc::demand_not_verified, "demand_not_verified", "The send demanded a verified peer and the peer is not verified.", static_cast<int>(condition::policy_violation)},
    {errc::demand_tls_version, "demand_tls_version", "The send demanded a higher TLS version than the session has.", static_cast<int>(condition::policy_violation)},
    {errc::demand_not_authenticated_by_dane, "demand_not_authenticated_by_dane", "The send demanded DANE authentication and the peer was not DANE-verified.", static_cast<int>(condition::policy_violation)},
    {errc::reply_malformed, "reply_malformed", "A reply line is not \"[2-5][0-5][0-9]\" then SP, \"-\" or CRLF, or has a bare CR/LF.", static_cast<int>(condition::protocol_violation)},
    {errc::reply_code_mismatch, "reply_code_mismatch", "The lines of a multi-line reply carry different codes.", static_cast<int>(condition::protocol_violation)},
    {errc::reply_line_too_long, "reply_line_too_long", "A reply line exceeds the configured limit.", static_cast<int>(condition::protocol_violation)},
    {errc::reply_too_many_lines, "reply_too_many_lines", "A multi-line reply exceeds the configured number of lines.", static_cast<int>(condition::protocol_violation)},
    {errc::reply_too_large, "reply_too_large", "A multi-line reply exceeds the configured number of bytes.", static_cast<int>(condition::protocol_violation)},
    {errc::reply_truncated, "reply_truncated", "The connection ended in the middle of a reply.", static_cast<int>(condition::protocol_violation)},
    {errc::unexpected_reply, "unexpected_reply", "A reply code that the command cannot have (RFC 5321 4.3.2).", static_cast<int>(condition::protocol_violation)},
    {errc::response_injection, "response_injection", "Bytes arrived after the 220 to STARTTLS, before the handshake (RFC 3207 6).", static_cast<int>(condition::protocol_violation)},
    {errc::unsolicited_reply, "unsolicited_reply", "The server sent bytes when no reply was due.", static_cast<int>(condition::protocol_violation)},
    {errc::auth_malformed_challenge, "auth_malformed_challenge", "A 334 challenge is not valid base64 or not valid for the mechanism.", static_cast<int>(condition::protocol_violation)},
    {errc::auth_server_signature_invalid, "auth_server_signature_invalid", "The SCRAM server signature does not verify (RFC 5802 5.1).", static_cast<int>(condition::protocol_violation)},
    {errc::greeting_refused, "greeting_refused", "The server's greeting was not 220 (it does not want a session).", 0},
    {errc::hello_refused, "hello_refused", "Both EHLO and HELO were refused.", 0},
    {errc::service_not_available, "service_not_available", "The server answered 421: it is closing the session (RFC 5321 3.8).", static_cast<int>(condition::transient)},
    {errc::connection_closed, "connection_closed", "The server closed the connection when a reply was due.", static_cast<int>(condition::transient)},
    {errc::auth_not_offered, "auth_not_offered", "AUTH was asked for and the server did not advertise it.", 0},
    {errc::auth_mechanism_unavailable, "auth_mechanism_unavailable", "No mechanism acceptable to the caller is offered by the server.", 0},
    {errc::auth_failed, "auth_failed", "The server refused the credentials (535 or another 4xx/5xx).", 0},
    {errc::auth_too_many_rounds, "auth_too_many_rounds", "The server asked for more 334 rounds than the mechanism allows.", 0},
    {errc::auth_challenge_too_large, "auth_challenge_too_large", "A 334 challenge is larger than the configured limit.", 0},
    {errc::reset_failed, "reset_failed", "RSET was refused; the session was closed.", 0},
    {errc::not_open, "not_open", "The session is not open (never opened, closed, or broken).", 0},
    {errc::already_open, "already_open", "The session was already opened.", 0},
    {errc::operation_in_progress, "operation_in_progress", "Another operation is running on this session; one at a time.", 0},
    {errc::greeting_timeout, "greeting_timeout", "No complete greeting within the greeting deadline (RFC 5321 4.5.3.2.1).", static_cast<int>(condition::timeout)},
    {errc::command_timeout, "command_timeout", "No complete reply to a command within its deadline.", static_cast<int>(condition::timeout)},
    {errc::tls_handshake_timeout, "tls_handshake_timeout", "The TLS handshake did not finish within its deadline.", static_cast<int>(condition::timeout)},
    {errc::data_timeout, "data_timeout", "A block of message data could not be written within its deadline.", static_cast<int>(condition::timeout)},
    {errc::end_of_data_timeout, "end_of_data_timeout", "No reply to the end of data within its deadline (outcome unknown).", static_cast<int>(condition::timeout)},
    {errc::cancelled, "cancelled", "The operation was cancelled; the session is closed.", 0},
    {errc::resolve_failed, "resolve_failed", "The next hop's name could not be resolved.", static_cast<int>(condition::transient)},
    {errc::connect_failed, "connect_failed", "No address of the next hop accepted a connection.", static_cast<int>(condition::transient)},
};

constexpr const errc_info* find_errc(int v) noexcept {
    for (const auto& row : errc_table)
        if (static_cast<int>(row.value) == v) return &row;
    return nullptr;
}

class smtpio_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "smtpio"; }
    std::string message(int v) const override {
        if (const auto* row = find_errc(v)) return std::string(row->message);
        return "unknown smtpio error " + std::to_string(v);
    }
    std::error_condition default_error_condition(int v) const noexcept override {
        if (const auto* row = find_errc(v); row && row->condition != 0)
            return {row->condition, condition_category()};
        return {v, *this};
    }
    bool equivalent(int v, const std::error_condition& cond) const noexcept override {
        if (cond.category() != condition_category()) return std::error_category::equivalent(v, cond);
        const auto* row = find_errc(v);
        if (!row) return false;
        if (row->condition == cond.value()) return true;
        // Timeouts and connection loss are worth retrying too.
        if (cond.value() == static_cast<int>(condition::transient) &&
            row->condition == static_cast<int>(condition::timeout))
            return true;
        return false;
    }
};

class reply_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "smtp.reply"; }
    std::string message(int code) const override {
        std::string s = "SMTP reply " + std::to_string(code);
        if (code >= 400 && code < 500) s += " (transient failure)";
        else if (code >= 500 && code < 600) s += " (permanent failure)";
        else if (code >= 200 && code < 400) s += " (not a failure)";
        return s;
    }
    std::error_condition default_error_condition(int code) const noexcept override {
        if (code >= 400 && code < 500) return {static_cast<int>(condition::transient), condition_category()};
        if (code >= 500 && code < 600) return {static_cast<int>(condition::permanent), condition_category()};
        return {code, *this};
    }
};

// A connection lost or not made, as the system reports it: any error whose
// portable condition (std::generic_category) is one of these errno values, and on
// POSIX the system's and standalone Asio's socket errors ("asio.system", mapped to
// no std::errc) with these values.  Worth retrying, as connection_closed is.
inline bool is_connection_error(const std::error_code& ec) noexcept {
    int v = 0;
    if (const std::error_condition c = ec.default_error_condition(); c.category() == std::generic_category())
        v = c.value();
#if !defined(_WIN32)
    else if (ec.category() == std::system_category() ||
             std::string_view(ec.category().name()) == "asio.system")
        v = ec.value(); // errno values, some without a std::errc (EHOSTDOWN)
#endif
    else
        return false;
    switch (v) {
    case ECONNRESET:
    case ECONNABORTED:
    case ECONNREFUSED:
    case EPIPE:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETUNREACH:
    case ENETDOWN:
    case ENETRESET:
        return true;
    default:
        return false;
    }
}

class condition_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "smtpio.condition"; }
    bool equivalent(const std::error_code& code, int cond) const noexcept override {
        if (cond == static_cast<int>(condition::transient) && is_connection_error(code)) return true;
        return std::error_category::equivalent(code, cond);
    }
    std::string message(int v) const override {
        switch (static_cast<condition>(v)) {
        case condition::transient: return "transient failure: trying again later may succeed";
        case condition::permanent: return "permanent failure: trying again will not succeed as is";
        case condition::timeout: return "a deadline expired";
        case condition::tls_failure: return "the connection could not be protected as the TLS policy requires";
        case condition::policy_violation: return "a demand of the caller could not be met";
        case condition::protocol_violation: return "the server broke the SMTP protocol";
        }
        return "unknown smtpio condition " + std::to_string(v);
    }
};

} // namespace detail

constexpr std::string_view to_string(errc e) noexcept {
    if (const auto* row = detail::find_errc(static_cast<int>(e))) return row->name;
    return "unknown";
}

inline const std::error_category& smtpio_category() noexcept {
    static const detail::smtpio_category_impl instance;
    return instance;
}

inline const std::error_category& reply_category() noexcept {
    static const detail::reply_category_impl instance;
    return instance;
}

inline const std::error_category& condition_category() noexcept {
    static const detail::condition_category_impl instance;
    return instance;
}

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), smtpio_category()};
}

inline std::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

inline std::error_code make_reply_error(int reply_code) noexcept {
    return {reply_code, reply_category()};
}

} // namespace smtpio

#endif // SMTPIO_IMPL_ERROR_HPP
