//
// smtpio/tls/policy.hpp -- TLS policies: the policy concept, the built-in
// Postfix-style levels, a type-erased holder, and the named constructors in
// namespace smtpio::policy.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_POLICY_HPP
#define SMTPIO_TLS_POLICY_HPP

#include <smtpio/tls/context.hpp>
#include <smtpio/tls/types.hpp>
#include <smtpio/tls/verify.hpp>

#include <openssl/ssl.h>

#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace smtpio::tls {

/// What a session needs from a TLS policy.  A policy is pluggable: the built-in
/// `tls::policy` models it, and so can a user type.
///
/// - `mode()`: what the session does about TLS (plaintext, opportunistic STARTTLS,
///   required STARTTLS, implicit TLS).
/// - `tls_context()`: the context the session builds its `tls::stream` from;
///   null only when `mode()` is `plaintext`.
/// - `prepare(ssl, host)`: called on the fresh `SSL*` before the handshake:
///   SNI, versions, cipher suites, signature algorithms, the session to resume.
///   An error ends the session before the handshake.  With STARTTLS it is called
///   as the command is written, before the server's reply (the session builds
///   its ClientHello meanwhile), so it also runs when STARTTLS is then refused;
///   after an error or an exception there it is called once more, on a fresh
///   `SSL*`, when the handshake begins.
/// - `evaluate(ssl, host)`: called after a successful handshake; the session
///   writes nothing more unless the verdict is `accepted`.
/// - `name()`: a name for reports ("verify", or a user policy's own name).
///
/// `host` is the next-hop host name the caller gave the session (may be empty
/// for a raw stream).  The reference identity is the policy's configured name(s)
/// when set, else `host`: never a name learned from the server.  `prepare` and
/// `evaluate` are const and may be called concurrently for different
/// connections: a user policy must be thread-safe in the same way.
template <class P>
concept policy_type = std::copy_constructible<P> && requires(const P& p, SSL* ssl, std::string_view host) {
    { p.mode() } -> std::same_as<tls::mode>;
    { p.tls_context() } -> std::same_as<tls::context*>;
    { p.prepare(ssl, host) } -> std::same_as<std::error_code>;
    { p.evaluate(ssl, host) } -> std::same_as<tls::verdict>;
    { p.name() } -> std::convertible_to<std::string_view>;
};

/// The built-in policy: Postfix's security levels (`smtp_tls_security_level`).
/// See docs/policies.md for what each level protects against.  Build it with
/// the named constructors of namespace `smtpio::policy`, or `from_level`.
///
/// | level       | mode                        | peer accepted when                                   |
/// |-------------|-----------------------------|------------------------------------------------------|
/// | none        | plaintext                   | (no TLS)                                             |
/// | may         | opportunistic               | always (verification computed for the report only)  |
/// | encrypt     | required                    | always (verification computed for the report only)  |
/// | verify      | required                    | chain to a trust anchor + name matches a reference   |
/// | secure      | required                    | chain + name matches the next-hop domain or below    |
/// | fingerprint | required                    | leaf certificate or SPKI SHA-256 equals a pin        |
/// | dane        | required / opportunistic    | usable TLSA: DANE; only unusable: encrypt; none: may |
/// | dane_only   | required                    | DANE authentication (RFC 7672)                       |
///
/// Handshake settings: TLS 1.2 floor (`min_version`, 1.3 allowed), TLS 1.3
/// ceiling, renegotiation never, SNI always (A-label, no trailing dot; none
/// for an IP reference).  TLS 1.3 suites are always allowed.  At `may` and
/// `encrypt` the TLS 1.2 suites are the compatible set (ECDHE or RSA key
/// exchange, AES-GCM, ChaCha20-Poly1305 or AES-CBC; never RC4, 3DES, export,
/// NULL or anonymous suites).  At the strict levels (`is_strict`) only ECDHE
/// with an AEAD is offered, SHA-1 (and MD5) signature algorithms are not, and
/// keys must be RSA >= 2048 or EC >= P-256 (checked in `evaluate`).
///
/// The handshake itself never fails on a certificate: `evaluate()` does the
/// verification from `SSL_get_peer_full_cert_chain` against the context's trust
/// store, computes it at every level (so a report can say why an accepted peer
/// is not verified), and calls `context::finish_resumption`.
class policy {
public:
    /// A policy of level `lvl` that uses `ctx` (a copy of the handle is kept;
    /// for `level::none` the context is not used and `tls_context()` is null).
    policy(tls::level lvl, const context& ctx);

    /// As the constructor: for the CLI and configuration files.  `dane` and
    /// `dane_only` start with no TLSA record (add them with `tlsa_records`):
    /// `dane` then behaves as `may`, `dane_only` rejects every peer (dane-required).
    static policy from_level(tls::level lvl, const context& ctx);

    /// Level `none`: never STARTTLS.
    static policy plaintext();

    // ---- configuration: each returns *this --------------------------------------------

    /// Replaces the reference identities: DNS names (U-labels allowed; stored as
    /// A-labels), ".domain" for any subdomain, or IP addresses / SMTP address
    /// literals.  When empty, the session's `host` is the reference identity.
    /// Throws `std::invalid_argument` for a name that is neither.
    policy& reference_names(std::vector<std::string> names);
    /// Adds one reference identity (as `reference_names`).
    policy& add_reference_name(std::string name);
    /// The next-hop domain for `secure` (RFC 7672's "next-hop domain"; Postfix
    /// "nexthop, dot-nexthop"): the certificate must name it or a subdomain.
    /// Empty: the session's `host`.  Throws `std::invalid_argument` for a bad name.
    policy& nexthop(std::string domain);
    /// The pins of `fingerprint`.
    policy& pins(std::vector<pin> pins);
    /// The TLSA records of `dane` / `dane_only`, obtained by the caller from
    /// DNSSEC-validated DNS for the TLSA base domain (`_25._tcp.<mx host>`).
    policy& tlsa_records(std::vector<tlsa_record> records);
    /// The lowest TLS version: `tls1_2` (default) or `tls1_3`.  Lower values throw
    /// `std::invalid_argument`: use `dangerous_allow_tls10_and_11`.
    policy& min_version(version v);
    /// Lowers the floor to TLS 1.0 (RFC 8996 deprecates 1.0 and 1.1).  Takes
    /// effect only if the context was created with
    /// `context_options::dangerous_allow_tls10_and_11` too, and only at `may` and
    /// `encrypt` in practice (the strict suites need TLS 1.2).
    policy& dangerous_allow_tls10_and_11();
    /// TLS from the first byte (RFC 8314, port 465) instead of STARTTLS.
    /// Throws `std::invalid_argument` at level `none`.
    policy& implicit_tls(bool on = true);
    /// The name `name()` returns (reports); default: the level's name.
    policy& report_name(std::string name);

    // ---- the policy concept -------------------------------------------------------------

    /// `plaintext` for none; `implicit` when `implicit_tls()`; `opportunistic` for
    /// may and for dane without TLSA records; `required` otherwise.
    tls::mode mode() const noexcept;
    /// The context; null for level none.
    tls::context* tls_context() const noexcept;
    /// Configures `ssl` before the handshake: SNI, version range, suites,
    /// signature algorithms, renegotiation never, the accept-all verify callback,
    /// and the session to resume (`context::prepare_resumption`).
    /// Errors: `errc::invalid_option` (level none; fingerprint without pins; no
    /// reference identity at verify/secure), `errc::invalid_domain` /
    /// `errc::invalid_utf8` / `errc::domain_too_long` (bad `host`),
    /// `errc::tls_configuration_failed` (BoringSSL refused a setting).
    std::error_code prepare(SSL* ssl, std::string_view host) const;
    /// Checks the peer after the handshake, as the level says (see the table).
    verdict evaluate(SSL* ssl, std::string_view host) const;
    /// The report name: `report_name()` if set, else `to_string(level())`.
    std::string_view name() const noexcept;

    // ---- inspection ---------------------------------------------------------------------

    /// The configured level.
    tls::level level() const noexcept;
    /// The level in force: for `dane`, `may` without records, `encrypt` when no
    /// record is usable, `dane` otherwise; the configured level for the others.
    tls::level effective_level() const noexcept;
    /// True when the effective level authenticates the peer (`is_strict`).
    bool strict() const noexcept;
    /// The configured floor (before the context's own floor is applied).
    version min_version() const noexcept;
    /// The configured reference identities (normalised).
    const std::vector<std::string>& reference_names() const noexcept;
    /// The configured next-hop domain (normalised), or empty.
    const std::string& nexthop() const noexcept;
    /// The configured pins.
    const std::vector<pin>& pins() const noexcept;
    /// The configured TLSA records.
    const std::vector<tlsa_record>& tlsa_records() const noexcept;
    /// The reference identities used for a connection to `host`, normalised
    /// (A-labels, canonical IP text); empty if `host` is not a valid name and none is configured.
    std::vector<std::string> reference_identities(std::string_view host) const;
    /// The SNI host name sent for a connection to `host` (A-label, no trailing
    /// dot), or empty when none is sent (IP reference, no name).
    std::string server_name(std::string_view host) const;
    /// The resumption key: level, floor, reference identities, SNI, and a
    /// digest of pins / TLSA records.  Two policies that would judge a peer
    /// differently never share a key.
    std::string resumption_key(std::string_view host) const;

private:
    struct no_context_tag {};
    explicit policy(no_context_tag);
    static std::string normalise_name(std::string_view name, bool allow_dot);
    verdict evaluate_level(tls::level eff, SSL* ssl, const std::vector<std::string>& refs) const;
    std::size_t usable_records() const noexcept;

    tls::level level_;
    std::shared_ptr<context> ctx_;
    std::vector<std::string> names_;
    std::string nexthop_;
    std::vector<pin> pins_;
    std::vector<tlsa_record> tlsa_;
    version min_version_ = version::tls1_2;
    bool implicit_ = false;
    std::string report_name_;
};

/// A type-erased policy: holds any `policy_type` by value (shared, immutable:
/// copies are cheap and share the held policy) and satisfies the concept itself.
/// The session stores its policy as an `any_policy`.
class any_policy {
public:
    /// Holds a copy of `p`.
    template <class P>
        requires(!std::same_as<std::remove_cvref_t<P>, any_policy> && policy_type<std::remove_cvref_t<P>>)
    any_policy(P&& p); // NOLINT: implicit on purpose, so any policy converts

    tls::mode mode() const { return impl_->mode(); }
    tls::context* tls_context() const { return impl_->tls_context(); }
    std::error_code prepare(SSL* ssl, std::string_view host) const { return impl_->prepare(ssl, host); }
    tls::verdict evaluate(SSL* ssl, std::string_view host) const { return impl_->evaluate(ssl, host); }
    std::string_view name() const { return impl_->name(); }

    /// The level of a built-in policy (or of a user type with a `level()` member
    /// convertible to `tls::level`); `std::nullopt` otherwise.
    std::optional<tls::level> level() const { return impl_->level(); }
    /// Whether the held policy authenticates the peer: `strict()` of a built-in
    /// policy or of a user type that has one; false otherwise.
    bool strict() const { return impl_->strict(); }
    /// The held policy if it is a `P`, else null.
    template <class P>
    const P* target() const noexcept;
    /// The type of the held policy.
    const std::type_info& target_type() const noexcept { return impl_->type(); }

private:
    struct base {
        virtual ~base() = default;
        virtual tls::mode mode() const = 0;
        virtual tls::context* tls_context() const = 0;
        virtual std::error_code prepare(SSL*, std::string_view) const = 0;
        virtual tls::verdict evaluate(SSL*, std::string_view) const = 0;
        virtual std::string_view name() const = 0;
        virtual std::optional<tls::level> level() const = 0;
        virtual bool strict() const = 0;
        virtual const std::type_info& type() const noexcept = 0;
        virtual const void* get() const noexcept = 0;
    };
    template <class P>
    struct model;
    std::shared_ptr<const base> impl_;
};

static_assert(policy_type<policy>);
static_assert(policy_type<any_policy>);

} // namespace smtpio::tls

/// Named constructors of TLS policies.  The safe ones are short; those that
/// leave the connection open to an active attacker say so in their name.
/// Every one returns a `tls::policy` that may be configured further.
namespace smtpio::policy {

/// Mail submission on port 587 (RFC 6409): STARTTLS required (RFC 3207), peer
/// verified (`verify`: chain to the context's trust anchors and a name matching
/// `reference_name`, else the host the session connects to), TLS >= 1.2.
/// Protects against passive and active attackers as long as the trust anchors
/// and the reference name are right.  Does not protect against a trusted CA
/// that mis-issues, nor against a wrong `host` given to the session when no
/// reference name is configured.
tls::policy submission(const tls::context& ctx, std::string reference_name = {});

/// Submission with implicit TLS on port 465 (RFC 8314): TLS from the first
/// byte, peer verified as in `submission`.  Same protection; no STARTTLS
/// downgrade is even possible.
tls::policy implicit_tls(const tls::context& ctx, std::string reference_name = {});

/// Opportunistic TLS (`may`, RFC 7435): STARTTLS when offered, plaintext when not;
/// the peer is not authenticated (the report says whether it would have verified).
/// Protects against passive eavesdroppers only when the server offers STARTTLS.
/// An active attacker can strip STARTTLS (plaintext) or impersonate the server.
tls::policy opportunistic(const tls::context& ctx);

/// TLS required and the peer verified (`verify`): chain to a trust anchor and a
/// DNS-ID / IP-ID matching one of `reference_names` (else the session's host).
/// Protects against passive and active attackers, provided the reference names
/// do not come from insecure DNS (an MX host name from unsigned DNS can be
/// forged: then prefer `secure` or `dane`).
tls::policy verified(const tls::context& ctx, std::vector<std::string> reference_names = {});

/// Postfix's `secure`: TLS required, chain to a trust anchor, and the certificate
/// names `nexthop` (the recipient domain, not the MX host) or a subdomain of it,
/// or one of `extra_names`.  Protects against active attackers, including one
/// who forges MX records; does not protect against a mis-issuing trusted CA.
tls::policy secure(const tls::context& ctx, std::string nexthop, std::vector<std::string> extra_names = {});

/// TLS required and the peer's leaf certificate or public key matches one of
/// `pins` (SHA-256). Chain, names and dates are ignored.  Protects against
/// active attackers without trusting any CA; mail stops when the server's key
/// changes and the pins were not updated.
tls::policy fingerprint(const tls::context& ctx, std::vector<tls::pin> pins);

/// DANE for SMTP (RFC 7672) with the TLSA records the caller looked up with
/// DNSSEC: usable records -> TLS required and DANE authentication; records but
/// none usable -> TLS required, not authenticated (`encrypt`); no records ->
/// opportunistic (`may`).  Protects against active attackers when the records
/// are DNSSEC-validated; no protection beyond `may` when there are none.
tls::policy dane(const tls::context& ctx, std::vector<tls::tlsa_record> records,
                 std::vector<std::string> reference_names = {});

/// As `dane`, but DANE authentication is mandatory: no usable record means no
/// delivery (dane-required).
tls::policy dane_only(const tls::context& ctx, std::vector<tls::tlsa_record> records,
                      std::vector<std::string> reference_names = {});

/// TLS required but the peer NOT authenticated (`encrypt`).  Protects against
/// passive eavesdroppers; an active attacker can impersonate the server with any
/// certificate and read everything, credentials included.
tls::policy dangerous_unverified_tls(const tls::context& ctx);

/// No TLS at all (`none`).  Everything, credentials included, travels in clear
/// text: readable and alterable by anyone on the path.
tls::policy dangerous_plaintext();

} // namespace smtpio::policy

#include <smtpio/tls/impl/policy.hpp>

#endif // SMTPIO_TLS_POLICY_HPP
