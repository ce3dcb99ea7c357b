//
// smtpio/tls/impl/policy.hpp -- definitions for smtpio/tls/policy.hpp.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_IMPL_POLICY_HPP
#define SMTPIO_TLS_IMPL_POLICY_HPP

#include <smtpio/error.hpp>
#include <smtpio/tls/idna.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace smtpio::tls {
namespace detail {

// Signature algorithms a strict client accepts from the server: no SHA-1, no MD5.
inline constexpr std::uint16_t strict_verify_algorithms[] = {
    SSL_SIGN_ECDSA_SECP256R1_SHA256, SSL_SIGN_RSA_PSS_RSAE_SHA256, SSL_SIGN_RSA_PKCS1_SHA256,
    SSL_SIGN_ECDSA_SECP384R1_SHA384, SSL_SIGN_RSA_PSS_RSAE_SHA384, SSL_SIGN_RSA_PKCS1_SHA384,
    SSL_SIGN_ECDSA_SECP521R1_SHA512, SSL_SIGN_RSA_PSS_RSAE_SHA512, SSL_SIGN_RSA_PKCS1_SHA512,
    SSL_SIGN_ED25519,
};

inline bool is_dns_name(std::string_view n) { return !n.empty() && n.front() != '.' && !ip_reference(n); }

template <class P>
concept has_level = requires(const P& p) {
    { p.level() } -> std::convertible_to<tls::level>;
};
template <class P>
concept has_strict = requires(const P& p) {
    { p.strict() } -> std::convertible_to<bool>;
};

} // namespace detail

// ---- policy: construction and configuration ----------------------------------------------

inline policy::policy(tls::level lvl, const context& ctx)
    : level_(lvl), ctx_(lvl == tls::level::none ? nullptr : std::make_shared<context>(ctx)) {}

inline policy policy::from_level(tls::level lvl, const context& ctx) { return policy(lvl, ctx); }

inline policy::policy(no_context_tag) : level_(tls::level::none) {}

inline policy policy::plaintext() { return policy(no_context_tag{}); }

inline std::string policy::normalise_name(std::string_view name, bool allow_dot) {
    if (auto ip = ip_reference(name)) return *ip;
    std::string out;
    if (auto ec = to_ascii_domain(name, out))
        throw std::invalid_argument("smtpio::tls::policy: \"" + detail::printable(name, 80) +
                                    "\" is not a valid host name or IP address (" + ec.message() + ")");
    if (!allow_dot && out.front() == '.')
        throw std::invalid_argument("smtpio::tls::policy: \"" + detail::printable(name, 80) +
                                    "\" must not start with a dot");
    return out;
}

inline policy& policy::reference_names(std::vector<std::string> names) {
    std::vector<std::string> out;
    out.reserve(names.size());
    for (const auto& n : names) out.push_back(normalise_name(n, true));
    names_ = std::move(out);
    return *this;
}

inline policy& policy::add_reference_name(std::string name) {
    names_.push_back(normalise_name(name, true));
    return *this;
}

inline policy& policy::nexthop(std::string domain) {
    if (domain.empty()) {
        nexthop_.clear();
        return *this;
    }
    auto n = normalise_name(domain, false);
    if (ip_reference(n)) throw std::invalid_argument("smtpio::tls::policy: the next-hop domain must be a domain name");
    nexthop_ = std::move(n);
    return *this;
}

inline policy& policy::pins(std::vector<pin> p) {
    pins_ = std::move(p);
    return *this;
}

inline policy& policy::tlsa_records(std::vector<tlsa_record> r) {
    tlsa_ = std::move(r);
    return *this;
}

inline policy& policy::min_version(version v) {
    if (v != version::tls1_2 && v != version::tls1_3)
        throw std::invalid_argument(
            "smtpio::tls::policy: the floor is TLS 1.2 or TLS 1.3; use dangerous_allow_tls10_and_11() to go lower");
    min_version_ = v;
    return *this;
}

inline policy& policy::dangerous_allow_tls10_and_11() {
    min_version_ = version::tls1_0;
    return *this;
}

inline policy& policy::implicit_tls(bool on) {
    if (on && level_ == tls::level::none)
        throw std::invalid_argument("smtpio::tls::policy: implicit TLS with level none is a contradiction");
    implicit_ = on;
    return *this;
}

inline policy& policy::report_name(std::string name) {
    report_name_ = std::move(name);
    return *this;
}

// ---- inspection --------------------------------------------------------------------------

inline tls::level policy::level() const noexcept { return level_; }

inline std::size_t policy::usable_records() const noexcept {
    return static_cast<std::size_t>(std::count_if(tlsa_.begin(), tlsa_.end(), [](const auto& r) { return r.usable(); }));
}

inline tls::level policy::effective_level() const noexcept {
    if (level_ != tls::level::dane) return level_;
    // RFC 7672 section 2.2: no TLSA records -> opportunistic; records but none
    // usable -> TLS without authentication (Postfix: "encrypt").
    if (tlsa_.empty()) return tls::level::may;
    if (usable_records() == 0) return tls::level::encrypt;
    return tls::level::dane;
}

inline bool policy::strict() const noexcept { return is_strict(effective_level()); }

inline version policy::min_version() const noexcept { return min_version_; }

inline const std::vector<std::string>& policy::reference_names() const noexcept { return names_; }

inline const std::string& policy::nexthop() const noexcept { return nexthop_; }

inline const std::vector<pin>& policy::pins() const noexcept { return pins_; }

inline const std::vector<tlsa_record>& policy::tlsa_records() const noexcept { return tlsa_; }

inline std::vector<std::string> policy::reference_identities(std::string_view host) const {
    std::vector<std::string> refs;
    std::string h;
    if (!host.empty()) {
        if (auto ip = ip_reference(host)) h = *ip;
        else if (to_ascii_domain(host, h)) h.clear();
        if (!h.empty() && h.front() == '.') h.clear();
    }
    if (level_ == tls::level::secure) {
        // Postfix "nexthop, dot-nexthop": the next-hop domain and any name below it.
        const std::string& base = nexthop_.empty() ? h : nexthop_;
        if (!base.empty()) {
            refs.push_back(base);
            if (!ip_reference(base)) refs.push_back("." + base);
        }
        refs.insert(refs.end(), names_.begin(), names_.end());
        return refs;
    }
    if (!names_.empty()) return names_;
    if (!h.empty()) refs.push_back(h);
    return refs;
}

inline std::string policy::server_name(std::string_view host) const {
    std::string h;
    if (!host.empty() && !ip_reference(host) && !to_ascii_domain(host, h) && !detail::is_dns_name(h)) h.clear();
    if (level_ == tls::level::secure) {
        // The server is named by `host` (the MX host); the next-hop domain is
        // the reference identity, and only a fallback for SNI.
        if (!h.empty()) return h;
        if (!nexthop_.empty()) return nexthop_;
    }
    for (const auto& n : names_)
        if (detail::is_dns_name(n)) return n;
    return h;
}

inline std::string policy::resumption_key(std::string_view host) const {
    std::string key = "smtpio1|";
    key += to_string(effective_level());
    key += "|";
    key += to_string(min_version_);
    key += "|sni=" + server_name(host) + "|ref=";
    for (const auto& r : reference_identities(host)) key += r + ",";
    if (!pins_.empty() || !tlsa_.empty()) {
        std::vector<std::uint8_t> material;
        for (const auto& p : pins_) material.insert(material.end(), p.sha256.begin(), p.sha256.end());
        for (const auto& r : tlsa_) {
            material.push_back(r.usage);
            material.push_back(r.selector);
            material.push_back(r.matching);
            material.insert(material.end(), r.data.begin(), r.data.end());
            material.push_back(0xFF);
        }
        const auto digest = tls::sha256(material);
        key += "|auth=" + to_hex(std::span<const std::uint8_t>(digest.data(), 12));
    }
    return key;
}

// ---- the concept -------------------------------------------------------------------------

inline tls::mode policy::mode() const noexcept {
    const tls::level eff = effective_level();
    if (eff == tls::level::none) return tls::mode::plaintext;
    if (implicit_) return tls::mode::implicit;
    if (eff == tls::level::may) return tls::mode::opportunistic;
    return tls::mode::required;
}

inline tls::context* policy::tls_context() const noexcept { return ctx_.get(); }

inline std::string_view policy::name() const noexcept {
    if (!report_name_.empty()) return report_name_;
    return to_string(level_);
}

inline std::error_code policy::prepare(SSL* ssl, std::string_view host) const {
    if (!ssl) return make_error_code(errc::tls_configuration_failed);
    const tls::level eff = effective_level();
    if (eff == tls::level::none || !ctx_) return make_error_code(errc::invalid_option);
    if (eff == tls::level::fingerprint && pins_.empty()) return make_error_code(errc::invalid_option);

    // The host must be a valid name or address when it is used at all.
    if (!host.empty() && !ip_reference(host)) {
        std::string ascii;
        if (auto ec = to_ascii_domain(host, ascii)) return ec;
    }
    if ((eff == tls::level::verify || eff == tls::level::secure) && reference_identities(host).empty())
        return make_error_code(errc::invalid_option);

    // Versions: the policy's floor, but never below the context's (two opt-ins for < 1.2).
    const int floor = std::max(to_protocol_version(min_version_), to_protocol_version(ctx_->min_version()));
    if (!SSL_set_min_proto_version(ssl, static_cast<std::uint16_t>(floor)) ||
        !SSL_set_max_proto_version(ssl, TLS1_3_VERSION))
        return make_error_code(errc::tls_configuration_failed);
    SSL_set_renegotiate_mode(ssl, ssl_renegotiate_never);
    SSL_set_custom_verify(ssl, SSL_VERIFY_PEER, &detail::accept_for_policy);

    const bool strict_handshake = is_strict(eff);
    if (!detail::has_cipher_list(ssl, strict_handshake) &&
        !SSL_set_strict_cipher_list(ssl, strict_handshake ? detail::strict_cipher_list
                                                          : detail::compatible_cipher_list)) {
        ERR_clear_error();
        return make_error_code(errc::tls_configuration_failed);
    }
    if (strict_handshake &&
        !SSL_set_verify_algorithm_prefs(ssl, detail::strict_verify_algorithms, std::size(detail::strict_verify_algorithms))) {
        ERR_clear_error();
        return make_error_code(errc::tls_configuration_failed);
    }

    // SNI (RFC 6066 section 3): the A-label host name, never an IP address.
    if (const std::string sni = server_name(host); !sni.empty()) {
        if (!SSL_set_tlsext_host_name(ssl, sni.c_str())) {
            ERR_clear_error();
            return make_error_code(errc::tls_configuration_failed);
        }
    }
    return ctx_->prepare_resumption(ssl, resumption_key(host));
}

namespace detail {
// Every certificate of the peer's chain is within its dates now.
inline bool chain_dates_valid(SSL* ssl) {
    STACK_OF(X509)* chain = SSL_get_peer_full_cert_chain(ssl);
    if (!chain || sk_X509_num(chain) == 0) return false;
    for (std::size_t i = 0; i < sk_X509_num(chain); ++i) {
        X509* c = sk_X509_value(chain, i);
        if (X509_cmp_current_time(X509_get0_notBefore(c)) >= 0 || X509_cmp_current_time(X509_get0_notAfter(c)) <= 0)
            return false;
    }
    return true;
}
} // namespace detail

inline verdict policy::evaluate(SSL* ssl, std::string_view host) const {
    // A resumed session was accepted under this very policy (the resumption key
    // says so): its verdict holds while the certificates are within their dates.
    if (const verdict* earlier = ssl ? context::resumed_verdict(ssl) : nullptr;
        earlier && earlier->accepted && detail::chain_dates_valid(ssl)) {
        verdict v = *earlier;
        context::finish_resumption(ssl, v);
        return v;
    }
    const auto refs = reference_identities(host);
    verdict v = evaluate_level(effective_level(), ssl, refs);
    if (!refs.empty()) v.reference_name = refs.front();
    if (v.accepted && v.verified) {
        v.result = verify_result::ok;
        v.error.clear();
    }
    context::finish_resumption(ssl, v);
    return v;
}

inline verdict policy::evaluate_level(tls::level eff, SSL* ssl, const std::vector<std::string>& refs) const {
    verdict v;
    if (!ssl || !ctx_ || eff == tls::level::none) {
        v.error = make_error_code(errc::peer_rejected_by_policy);
        v.detail = "the policy does not use TLS";
        return v;
    }
    STACK_OF(X509)* chain = SSL_get_peer_full_cert_chain(ssl);
    X509* leaf = chain && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : nullptr;
    auto take = [&v](const check_result& r, std::string what) {
        v.result = r.result;
        v.error = r.error;
        v.detail = r.ok() ? std::move(what) : r.detail;
    };

    switch (eff) {
    case tls::level::may:
    case tls::level::encrypt: {
        // Not enforced, but computed so the report can say why the peer is not verified.
        const auto r = check_pkix(ctx_->trust_store(), chain, refs, false);
        take(r, "verified: chain and name");
        v.accepted = true;
        v.verified = r.ok();
        if (!r.ok()) v.detail = "not verified (" + std::string(to_string(eff)) + " does not require it): " + v.detail;
        if (level_ == tls::level::dane)
            v.detail = (tlsa_.empty() ? "no TLSA records, opportunistic TLS; " : "no usable TLSA record, TLS not authenticated; ") + v.detail;
        return v;
    }
    case tls::level::verify:
    case tls::level::secure: {
        const auto r = check_pkix(ctx_->trust_store(), chain, refs, true);
        take(r, "verified: chain and name");
        v.accepted = v.verified = r.ok();
        return v;
    }
    case tls::level::fingerprint: {
        auto r = check_pins(chain, pins_);
        if (r.ok()) r = check_key_strength(leaf);
        take(r, "verified: pin matched");
        v.accepted = v.verified = r.ok();
        return v;
    }
    case tls::level::dane:
    case tls::level::dane_only: {
        if (usable_records() == 0) {
            // Only dane-only gets here: dane without usable records is may/encrypt.
            v.result = verify_result::dane_required;
            v.error = make_error_code(errc::tlsa_unusable);
            v.detail = tlsa_.empty() ? "dane-only: no TLSA record"
                                     : "dane-only: none of the " + std::to_string(tlsa_.size()) +
                                           " TLSA records is usable for SMTP (RFC 7672 3.1)";
            return v;
        }
        auto r = check_dane(chain, tlsa_, refs);
        if (r.ok()) r = check_key_strength(leaf);
        take(r, "verified: DANE TLSA record matched");
        v.accepted = v.verified = v.dane_authenticated = r.ok();
        return v;
    }
    case tls::level::none: break;
    }
    v.error = make_error_code(errc::peer_rejected_by_policy);
    v.detail = "unknown level";
    return v;
}

// ---- any_policy ----------------------------------------------------------------------------

template <class P>
struct any_policy::model final : any_policy::base {
    explicit model(P p) : held(std::move(p)) {}
    tls::mode mode() const override { return held.mode(); }
    tls::context* tls_context() const override { return held.tls_context(); }
    std::error_code prepare(SSL* ssl, std::string_view host) const override { return held.prepare(ssl, host); }
    tls::verdict evaluate(SSL* ssl, std::string_view host) const override { return held.evaluate(ssl, host); }
    std::string_view name() const override { return held.name(); }
    std::optional<tls::level> level() const override {
        if constexpr (detail::has_level<P>) return static_cast<tls::level>(held.level());
        else return std::nullopt;
    }
    bool strict() const override {
        if constexpr (detail::has_strict<P>) return static_cast<bool>(held.strict());
        else return false;
    }
    const std::type_info& type() const noexcept override { return typeid(P); }
    const void* get() const noexcept override { return &held; }
    P held;
};

template <class P>
    requires(!std::same_as<std::remove_cvref_t<P>, any_policy> && policy_type<std::remove_cvref_t<P>>)
any_policy::any_policy(P&& p)
    : impl_(std::make_shared<const model<std::remove_cvref_t<P>>>(std::remove_cvref_t<P>(std::forward<P>(p)))) {}

template <class P>
const P* any_policy::target() const noexcept {
    if (impl_->type() != typeid(P)) return nullptr;
    return static_cast<const P*>(impl_->get());
}

} // namespace smtpio::tls

namespace smtpio::policy {

inline tls::policy submission(const tls::context& ctx, std::string reference_name) {
    tls::policy p(tls::level::verify, ctx);
    if (!reference_name.empty()) p.add_reference_name(std::move(reference_name));
    return p;
}

inline tls::policy implicit_tls(const tls::context& ctx, std::string reference_name) {
    auto p = submission(ctx, std::move(reference_name));
    p.implicit_tls(true);
    return p;
}

inline tls::policy opportunistic(const tls::context& ctx) { return tls::policy(tls::level::may, ctx); }

inline tls::policy verified(const tls::context& ctx, std::vector<std::string> reference_names) {
    tls::policy p(tls::level::verify, ctx);
    p.reference_names(std::move(reference_names));
    return p;
}

inline tls::policy secure(const tls::context& ctx, std::string nexthop, std::vector<std::string> extra_names) {
    tls::policy p(tls::level::secure, ctx);
    p.nexthop(std::move(nexthop));
    p.reference_names(std::move(extra_names));
    return p;
}

inline tls::policy fingerprint(const tls::context& ctx, std::vector<tls::pin> pins) {
    tls::policy p(tls::level::fingerprint, ctx);
    p.pins(std::move(pins));
    return p;
}

inline tls::policy dane(const tls::context& ctx, std::vector<tls::tlsa_record> records,
                        std::vector<std::string> reference_names) {
    tls::policy p(tls::level::dane, ctx);
    p.tlsa_records(std::move(records));
    p.reference_names(std::move(reference_names));
    return p;
}

inline tls::policy dane_only(const tls::context& ctx, std::vector<tls::tlsa_record> records,
                             std::vector<std::string> reference_names) {
    tls::policy p(tls::level::dane_only, ctx);
    p.tlsa_records(std::move(records));
    p.reference_names(std::move(reference_names));
    return p;
}

inline tls::policy dangerous_unverified_tls(const tls::context& ctx) { return tls::policy(tls::level::encrypt, ctx); }

inline tls::policy dangerous_plaintext() { return tls::policy::plaintext(); }

} // namespace smtpio::policy

#endif // SMTPIO_TLS_IMPL_POLICY_HPP
