//
// smtpio/tls/context.hpp -- the TLS client context shared by many sessions:
// trust anchors, protocol floor, TLS session resumption cache.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_CONTEXT_HPP
#define SMTPIO_TLS_CONTEXT_HPP

#include <smtpio/tls/types.hpp>

#include <asio/ssl/context.hpp>
#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace smtpio::tls {

/// Options fixed when a context is created; combine with `|`.
enum class context_options : unsigned {
    none = 0,
    /// Allows TLS 1.0 and TLS 1.1 on this context's connections.  Both are
    /// deprecated (RFC 8996): their handshakes rely on MD5/SHA-1 and CBC suites.
    /// A connection goes below TLS 1.2 only if its policy asks for it too
    /// (`tls::policy::dangerous_allow_tls10_and_11()`): two explicit opt-ins.
    dangerous_allow_tls10_and_11 = 1u << 0,
};

constexpr context_options operator|(context_options a, context_options b) noexcept {
    return static_cast<context_options>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr context_options operator&(context_options a, context_options b) noexcept {
    return static_cast<context_options>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
/// True when `set` holds every bit of `option`.
constexpr bool has_option(context_options set, context_options option) noexcept {
    return (set & option) == option && option != context_options::none;
}

/// A TLS client context: an `asio::ssl::context` (BoringSSL `SSL_CTX`) with
/// smtpio's defaults, the trust anchors, and a cache of TLS sessions to resume.
///
/// A `context` is a handle: copies share the same state, so it is cheap to copy
/// and to keep in every policy.  Configure it first (trust anchors, resumption
/// settings); after that it may be used by any number of sessions on any
/// threads at once.  The `add_*`/`load_*` functions and `set_resumption_capacity`
/// must not run concurrently with handshakes.
///
/// Defaults: client method; TLS 1.2 floor (`SSL_CTX_set_min_proto_version`), TLS
/// 1.3 ceiling; renegotiation never; no compression (BoringSSL has none); the
/// strict TLS 1.2 suites (ECDHE with an AEAD; each `tls::policy` still sets its
/// level's suites on every connection that does not have exactly them); the
/// handshake never rejects a certificate by itself (a custom verify callback
/// that accepts): the policy's `evaluate()` decides after the handshake, before
/// the session sends anything (see tls/policy.hpp).
///
/// Trust anchors are loaded once: the system store (default constructor and
/// `with_system_trust`), a PEM file, a hashed directory (`c_rehash` layout), or
/// PEM text.  Named constructors throw `std::system_error` with a clear message;
/// the `add_*` members return a `std::error_code` and a detail string instead.
///
/// Resumption: sessions (TLS 1.3 tickets, TLS 1.2 tickets or session IDs) are
/// cached under a key that the policy computes (policy identity, reference
/// names, and the port given with `set_peer_port`), so a session is only ever
/// offered to the same destination under the same policy.  A session is stored
/// only after the policy accepted the peer (`finish_resumption`); TLS 1.3
/// tickets are used once; expired sessions are dropped; the cache holds at most
/// `resumption_capacity()` keys (least recently used evicted) with up to
/// `sessions_per_destination()` sessions each (default 4).  A session is stored
/// with the verdict that accepted its peer; `tls::policy` reuses it for a
/// connection that resumes the session while every certificate of the chain is
/// still within its dates, and evaluates the chain again otherwise.
class context {
public:
    /// A context that trusts the system's certificate store (see `load_system_trust`).
    /// Throws `std::system_error` when no system store can be loaded.
    context();

    /// As `context()`, with options.
    explicit context(context_options options);

    /// A context trusting the system store. Throws `std::system_error`.
    static context with_system_trust(context_options options = context_options::none);

    /// A context trusting only the PEM certificates of `path`.
    /// Throws `std::system_error` (missing file, unreadable, no certificate, bad PEM).
    static context with_ca_file(const std::string& path, context_options options = context_options::none);

    /// A context trusting the certificates of a hashed directory (OpenSSL `c_rehash`
    /// layout, looked up at verification time). Throws `std::system_error` if it is not a directory.
    static context with_ca_directory(const std::string& path, context_options options = context_options::none);

    /// A context trusting the PEM certificates in `pem`. Throws `std::system_error`.
    static context with_ca_pem(std::string_view pem, context_options options = context_options::none);

    /// A context with no trust anchor at all: only pins (`fingerprint`) and DANE
    /// can authenticate a peer; `verify`/`secure` always fail with certificate_untrusted.
    static context without_trust_anchors(context_options options = context_options::none);

    /// Adds the system's trust anchors: the file named by `SSL_CERT_FILE`, else the
    /// first bundle found among /etc/ssl/certs/ca-certificates.crt (Debian, Ubuntu),
    /// /etc/pki/tls/certs/ca-bundle.crt (Fedora, RHEL), /etc/ssl/ca-bundle.pem
    /// (openSUSE), /etc/pki/tls/cacert.pem, /etc/ssl/cert.pem (Alpine, BSD), else the
    /// directory `SSL_CERT_DIR` or /etc/ssl/certs.  BoringSSL's compiled-in default
    /// path is not relied on.  Error: `errc::tls_configuration_failed`.
    std::error_code load_system_trust(std::string* detail = nullptr);

    /// Adds the PEM certificates of a file.  Errors: `std::errc::no_such_file_or_directory`,
    /// `std::errc::io_error` (unreadable), `errc::certificate_invalid` (no certificate, bad PEM).
    std::error_code add_ca_file(const std::string& path, std::string* detail = nullptr);

    /// Adds a hashed certificate directory. Errors: `std::errc::no_such_file_or_directory`,
    /// `std::errc::not_a_directory`, `errc::tls_configuration_failed`.
    std::error_code add_ca_directory(const std::string& path, std::string* detail = nullptr);

    /// Adds every PEM "CERTIFICATE" block of `pem` (text outside blocks is ignored).
    /// Error: `errc::certificate_invalid` when there is no block or a block does not decode.
    std::error_code add_ca_pem(std::string_view pem, std::string* detail = nullptr);

    /// The Asio context, for `asio::ssl::stream<Next&>(next, ctx.asio_context())`.
    asio::ssl::context& asio_context() const noexcept;
    /// The BoringSSL context.
    SSL_CTX* native_handle() const noexcept;
    /// The trust anchors (the context's `X509_STORE`), used by `evaluate()`.
    X509_STORE* trust_store() const noexcept;
    /// The options the context was created with.
    context_options options() const noexcept;
    /// The lowest version this context permits: TLS 1.2, or TLS 1.0 with
    /// `dangerous_allow_tls10_and_11`.
    version min_version() const noexcept;

    /// Turns resumption on (the default) or off.  Off: no session is offered
    /// and none is stored; cached sessions are kept until cleared.
    void enable_resumption(bool on) noexcept;
    /// Whether resumption is on.
    bool resumption_enabled() const noexcept;
    /// The most keys (destinations) the cache holds; the least recently used go first. Default 1024.
    void set_resumption_capacity(std::size_t keys);
    /// See `set_resumption_capacity`.
    std::size_t resumption_capacity() const;
    /// The most sessions the cache keeps per key (destination and policy), newest
    /// first; default 4.  A TLS 1.3 ticket is used once and a connection
    /// receives new ones (two from most servers), so a key needs about as many
    /// sessions as connections to that destination are opened at once: with
    /// fewer, the connections opened together beyond that number make full
    /// handshakes.  Lowering it drops the oldest sessions now; 0 keeps none, so
    /// nothing is resumed (`resumption_enabled()` still says true, and sessions
    /// received are dropped).  A TLS 1.2 session is reused rather than taken, so
    /// a key keeps only its newest one.
    void set_sessions_per_destination(std::size_t sessions);
    /// See `set_sessions_per_destination`.
    std::size_t sessions_per_destination() const;
    /// The number of sessions in the cache (all keys).
    std::size_t cached_sessions() const;
    /// Drops every cached session.
    void clear_resumption_cache();

    /// For policies, in `prepare()`: tags `ssl` with the resumption key
    /// (`key` plus the port set by `set_peer_port`, if any) and, when resumption
    /// is on, offers the newest cached session for that key (`SSL_set_session`).
    /// Error: `errc::tls_configuration_failed` when `ssl` is null or was not created from this context.
    std::error_code prepare_resumption(SSL* ssl, std::string_view key) const;

    /// For policies, at the end of `evaluate()`: when `accepted`, the sessions
    /// received on `ssl` (and later TLS 1.3 tickets) are stored under its key;
    /// otherwise they are discarded, later ones ignored, and every session cached
    /// under that key is dropped.  Does nothing for an untagged `ssl`.
    static void finish_resumption(SSL* ssl, bool accepted);
    /// As `finish_resumption(ssl, v.accepted)`, and the sessions are stored with
    /// `v`: a later connection that resumes one of them gets it back from
    /// `resumed_verdict`.
    static void finish_resumption(SSL* ssl, const verdict& v);

    /// For policies, in `evaluate()`: when `ssl` resumed a session that was
    /// stored with a verdict (`finish_resumption(ssl, verdict)`), that verdict;
    /// else null.  The session was stored under the same resumption key (same
    /// policy, names, pins, TLSA records and port), after that verdict accepted
    /// the peer that holds its secret, so a policy may reuse the verdict instead
    /// of verifying the same chain again (checking what can change: dates).
    static const verdict* resumed_verdict(SSL* ssl);

private:
    struct state;
    struct no_trust_tag {};
    context(context_options options, no_trust_tag);
    static void finish(SSL* ssl, const verdict& v, bool keep_verdict);
    std::shared_ptr<state> state_;
};

/// Tells the policy which TCP port `ssl` is connected to, so that it becomes
/// part of the resumption key (587 and 465 of one host are different caches).
/// The session calls it before `prepare()`; optional.
void set_peer_port(SSL* ssl, std::uint16_t port);

/// The port given with `set_peer_port`, or 0.
std::uint16_t peer_port(const SSL* ssl) noexcept;

} // namespace smtpio::tls

#include <smtpio/tls/impl/context.hpp>

#endif // SMTPIO_TLS_CONTEXT_HPP
