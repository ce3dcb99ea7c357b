//
// smtpio/auth.hpp -- credentials and SASL mechanisms for SMTP AUTH (RFC 4954).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_AUTH_HPP
#define SMTPIO_AUTH_HPP

#include <smtpio/error.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtpio {

/// SASL mechanisms smtpio speaks.
enum class auth_mechanism : std::uint8_t {
    automatic,     ///< The strongest both sides share: SCRAM-SHA-256, then CRAM-MD5 (only with
                   ///< `allow_cram_md5`), then PLAIN, then LOGIN; XOAUTH2, and only it, for
                   ///< OAuth 2.0 credentials.
    plain,         ///< PLAIN (RFC 4616): the password in one round; needs TLS.
    login,         ///< LOGIN (draft-murchison-sasl-login): user and password in two rounds; needs TLS.
    xoauth2,       ///< XOAUTH2 (Google/Microsoft): an OAuth 2.0 bearer token.
    scram_sha_256, ///< SCRAM-SHA-256 (RFC 7677): the password never crosses; the server proves itself.
    cram_md5,      ///< CRAM-MD5 (RFC 2195): obsolete; `automatic` picks it only with `allow_cram_md5`.
};

/// "PLAIN", "LOGIN", "XOAUTH2", "SCRAM-SHA-256", "CRAM-MD5"; "" for automatic.
constexpr std::string_view to_string(auth_mechanism m) noexcept {
    switch (m) {
    case auth_mechanism::automatic: return "";
    case auth_mechanism::plain: return "PLAIN";
    case auth_mechanism::login: return "LOGIN";
    case auth_mechanism::xoauth2: return "XOAUTH2";
    case auth_mechanism::scram_sha_256: return "SCRAM-SHA-256";
    case auth_mechanism::cram_md5: return "CRAM-MD5";
    }
    return "";
}

/// Parses a mechanism name, any case ("plain", "SCRAM-SHA-256", ...).
std::optional<auth_mechanism> parse_auth_mechanism(std::string_view name) noexcept;

/// Who to authenticate as.
///
/// The secret is a password, or an OAuth 2.0 access token for XOAUTH2.  Neither
/// may hold CR, LF or NUL (errc::invalid_credentials).  Secrets never appear in
/// transcripts.
struct credentials {
    std::string user;
    std::string secret;
    auth_mechanism mechanism = auth_mechanism::automatic; ///< A named mechanism is used or fails; no fallback.
    std::string authzid;          ///< Authorization identity (PLAIN, SCRAM), usually empty.
    bool allow_cram_md5 = false;  ///< Let `automatic` pick CRAM-MD5 (an obsolete, weak mechanism).
    bool oauth2_token = false;    ///< The secret is an OAuth 2.0 bearer token (XOAUTH2).

    credentials() = default;
    credentials(std::string u, std::string s, auth_mechanism m = auth_mechanism::automatic)
        : user(std::move(u)), secret(std::move(s)), mechanism(m) {}
    /// Credentials for XOAUTH2 with an OAuth 2.0 access token.
    static credentials oauth2(std::string user, std::string token) {
        credentials c(std::move(user), std::move(token), auth_mechanism::xoauth2);
        c.oauth2_token = true;
        return c;
    }
};

namespace sasl {

/// One SASL exchange, client side.  Challenges and responses are raw octets
/// (the AUTH algorithm does the base64).
class mechanism {
public:
    virtual ~mechanism() = default;
    /// The SASL name, e.g. "SCRAM-SHA-256".
    virtual std::string_view name() const noexcept = 0;
    /// The initial response sent with AUTH, if the mechanism has one.
    virtual std::optional<std::string> initial_response() = 0;
    /// Answers a server challenge; an error cancels the exchange ("*").
    virtual std::error_code step(std::string_view challenge, std::string& response) = 0;
    /// Called on 235: an error when the server has not proved itself (SCRAM).
    virtual std::error_code finish() { return {}; }
    /// The most 334 challenges the mechanism can legitimately need.
    virtual int max_rounds() const noexcept = 0;
};

/// Picks the mechanism for `creds` among what the server offers (upper-case
/// names).  Returns errc::auth_mechanism_unavailable when nothing fits.
std::error_code choose(const credentials& creds, const std::vector<std::string>& offered, auth_mechanism& chosen) noexcept;

/// Makes the client side of `m`; errc::invalid_credentials when the strings cannot be sent.
std::unique_ptr<mechanism> make(auth_mechanism m, const credentials& creds, std::error_code& ec);

/// SCRAM-SHA-256 with a given client nonce (tests use RFC 7677's vector).
std::unique_ptr<mechanism> make_scram_sha_256(const credentials& creds, std::string client_nonce, std::error_code& ec);

} // namespace sasl
} // namespace smtpio

#include <smtpio/impl/auth.hpp>

#endif // SMTPIO_AUTH_HPP
