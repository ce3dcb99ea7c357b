//
// smtpio/tls/impl/verify.hpp -- definitions for smtpio/tls/verify.hpp.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_IMPL_VERIFY_HPP
#define SMTPIO_TLS_IMPL_VERIFY_HPP

#include <smtpio/error.hpp>
#include <smtpio/tls/idna.hpp>

#include <openssl/err.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <stdexcept>

namespace smtpio::tls {
namespace detail {

// A printable form of text that may come from the peer (names in certificates):
// control characters and non-ASCII octets become '?', and it is cut at `max`.
inline std::string printable(std::string_view s, std::size_t max = 256) {
    std::string out;
    out.reserve(std::min(s.size(), max));
    for (char c : s) {
        if (out.size() >= max) {
            out += "...";
            break;
        }
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u >= 0x20 && u < 0x7F ? c : '?');
    }
    return out;
}

inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

inline bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

inline void set_error(std::string* error, std::string text) {
    if (error) *error = std::move(text);
}

// The dNSName subjectAltNames of a certificate, as presented (ASCII only; others skipped).
inline std::vector<std::string> dns_names(X509* cert) {
    std::vector<std::string> out;
    bssl::UniquePtr<GENERAL_NAMES> names(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) return out;
    for (std::size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        if (gn->type != GEN_DNS) continue;
        const ASN1_STRING* s = gn->d.dNSName;
        out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
    return out;
}

// Postfix's "dot-nexthop": does the presented DNS-ID `presented` name a proper
// subdomain of `domain` (or, as a wildcard "*.X", only names below `domain`)?
inline bool matches_subdomain(std::string_view presented, std::string_view domain) {
    std::string p;
    for (char c : presented) p.push_back(ascii_lower(c));
    if (!p.empty() && p.back() == '.') p.pop_back();
    std::string_view pv = p;
    if (pv.size() > 2 && pv.substr(0, 2) == "*.") pv.remove_prefix(2);
    if (pv.find('*') != std::string_view::npos || pv.empty()) return false;
    const bool wildcard = pv.size() != p.size();
    if (wildcard && pv == domain) return true; // "*.example.test" covers only subdomains
    return pv.size() > domain.size() + 1 && pv.substr(pv.size() - domain.size()) == domain &&
           pv[pv.size() - domain.size() - 1] == '.';
}

// A stack holding its own references to some certificates of another stack.
inline bssl::UniquePtr<STACK_OF(X509)> copy_stack(STACK_OF(X509) * from, std::size_t first) {
    bssl::UniquePtr<STACK_OF(X509)> out(sk_X509_new_null());
    if (!out) return out;
    for (std::size_t i = first; from && i < sk_X509_num(from); ++i) {
        X509* c = sk_X509_value(from, i);
        if (!sk_X509_push(out.get(), c)) return nullptr;
        X509_up_ref(c);
    }
    return out;
}

inline check_result failure(verify_result r, errc e, std::string detail) {
    return check_result{r, make_error_code(e), std::move(detail)};
}

inline std::string describe_subject(X509* cert) {
    char buf[256];
    if (!X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf)) return "?";
    return printable(buf);
}

// Runs X509_verify_cert for `leaf` with `untrusted` intermediates against `store`.
// Returns X509_V_OK or the error, with the depth and the built chain.
struct chain_outcome {
    int error = X509_V_OK;
    int depth = 0;
    bssl::UniquePtr<STACK_OF(X509)> chain; // leaf .. trust anchor, when verified
};

inline chain_outcome verify_chain(X509_STORE* store, X509* leaf, STACK_OF(X509) * untrusted, unsigned long flags) {
    chain_outcome out;
    bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
    if (!ctx || !X509_STORE_CTX_init(ctx.get(), store, leaf, untrusted)) {
        out.error = X509_V_ERR_OUT_OF_MEM;
        return out;
    }
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
    X509_STORE_CTX_set_trust(ctx.get(), X509_TRUST_SSL_SERVER);
    if (flags) X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx.get()), flags);
    const int rc = X509_verify_cert(ctx.get());
    out.error = X509_STORE_CTX_get_error(ctx.get());
    out.depth = X509_STORE_CTX_get_error_depth(ctx.get());
    if (rc == 1 && out.error == X509_V_OK) {
        out.chain.reset(X509_STORE_CTX_get1_chain(ctx.get()));
    } else if (out.error == X509_V_OK) {
        out.error = X509_V_ERR_UNSPECIFIED; // failed without saying why: never treat as success
    }
    ERR_clear_error();
    return out;
}

inline check_result chain_failure(const chain_outcome& o) {
    std::string d = "certificate at depth " + std::to_string(o.depth) + ": " +
                    X509_verify_cert_error_string(o.error);
    return check_result{map_verify_error(o.error), verify_error_code(o.error), std::move(d)};
}

// Signature algorithms the strict levels refuse in certificates below the anchor.
inline check_result check_signature_digest(X509* cert, int depth) {
    int digest = NID_undef;
    int pkey = NID_undef;
    const int sig = X509_get_signature_nid(cert);
    if (OBJ_find_sigid_algs(sig, &digest, &pkey) &&
        (digest == NID_sha1 || digest == NID_md5 || digest == NID_md5_sha1 || digest == NID_md4)) {
        return failure(verify_result::validation_failure, errc::certificate_invalid,
                       "certificate at depth " + std::to_string(depth) + " is signed with " +
                           OBJ_nid2ln(sig) + " (SHA-1 and MD5 are refused at strict levels)");
    }
    return {};
}

} // namespace detail

inline std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0x0F]);
    }
    return out;
}

inline std::vector<std::uint8_t> certificate_der(X509* cert) {
    std::vector<std::uint8_t> out;
    if (!cert) return out;
    const int len = i2d_X509(cert, nullptr);
    if (len <= 0) return out;
    out.resize(static_cast<std::size_t>(len));
    std::uint8_t* p = out.data();
    if (i2d_X509(cert, &p) != len) out.clear();
    return out;
}

inline std::vector<std::uint8_t> spki_der(X509* cert) {
    std::vector<std::uint8_t> out;
    if (!cert) return out;
    X509_PUBKEY* key = X509_get_X509_PUBKEY(cert);
    if (!key) return out;
    const int len = i2d_X509_PUBKEY(key, nullptr);
    if (len <= 0) return out;
    out.resize(static_cast<std::size_t>(len));
    std::uint8_t* p = out.data();
    if (i2d_X509_PUBKEY(key, &p) != len) out.clear();
    return out;
}

inline std::array<std::uint8_t, 32> sha256(std::span<const std::uint8_t> bytes) {
    std::array<std::uint8_t, 32> out{};
    SHA256(bytes.data(), bytes.size(), out.data());
    return out;
}

// ---- pins -------------------------------------------------------------------------

inline pin pin::of_certificate(X509* cert) { return pin{tls::sha256(certificate_der(cert))}; }

inline pin pin::of_public_key(X509* cert) { return pin{tls::sha256(spki_der(cert))}; }

inline pin pin::from_string(std::string_view text) {
    std::string why;
    auto p = parse_pin(text, &why);
    if (!p) throw std::invalid_argument(why);
    return *p;
}

inline bool pin::matches(X509* cert) const {
    if (!cert) return false;
    return *this == of_certificate(cert) || *this == of_public_key(cert);
}

inline std::string pin::to_string() const { return "sha256:" + to_hex(sha256); }

inline std::optional<pin> parse_pin(std::string_view text, std::string* error) {
    constexpr std::string_view prefix = "sha256:";
    if (text.size() < prefix.size() || !detail::iequals(text.substr(0, prefix.size()), prefix)) {
        detail::set_error(error, "pin \"" + detail::printable(text, 80) + "\": expected \"sha256:\" and 64 hex digits");
        return std::nullopt;
    }
    text.remove_prefix(prefix.size());
    pin p;
    std::size_t digits = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == ':') {
            // Separators only between two whole octets: "AB:CD", never "A:B" or "AB::CD".
            if (digits == 0 || digits % 2 != 0 || i + 1 == text.size() || text[i + 1] == ':') {
                detail::set_error(error, "pin: misplaced ':' at offset " + std::to_string(prefix.size() + i));
                return std::nullopt;
            }
            continue;
        }
        const int v = detail::hex_value(c);
        if (v < 0) {
            detail::set_error(error, "pin: '" + detail::printable(std::string_view(&c, 1)) +
                                         "' at offset " + std::to_string(prefix.size() + i) + " is not a hex digit");
            return std::nullopt;
        }
        if (digits >= 64) {
            detail::set_error(error, "pin: more than 64 hex digits (a SHA-256 digest is 32 octets)");
            return std::nullopt;
        }
        auto& byte = p.sha256[digits / 2];
        byte = static_cast<std::uint8_t>(digits % 2 == 0 ? v << 4 : byte | v);
        ++digits;
    }
    if (digits != 64) {
        detail::set_error(error, "pin: " + std::to_string(digits) + " hex digits, a SHA-256 digest needs 64");
        return std::nullopt;
    }
    return p;
}

// ---- TLSA -------------------------------------------------------------------------

inline tlsa_record tlsa_record::from_string(std::string_view text) {
    std::string why;
    auto r = parse_tlsa_record(text, &why);
    if (!r) throw std::invalid_argument(why);
    return std::move(*r);
}

inline bool tlsa_record::usable() const noexcept {
    if (usage != dane_ta && usage != dane_ee) return false;
    if (selector != full_certificate && selector != subject_public_key_info) return false;
    switch (matching) {
    case exact: return !data.empty();
    case sha2_256: return data.size() == 32;
    case sha2_512: return data.size() == 64;
    default: return false;
    }
}

inline bool tlsa_record::matches(X509* cert) const {
    if (!cert) return false;
    std::vector<std::uint8_t> selected;
    if (selector == full_certificate) selected = certificate_der(cert);
    else if (selector == subject_public_key_info) selected = spki_der(cert);
    else return false;
    if (selected.empty()) return false;
    switch (matching) {
    case exact: return selected == data;
    case sha2_256: {
        std::uint8_t md[SHA256_DIGEST_LENGTH];
        SHA256(selected.data(), selected.size(), md);
        return data.size() == sizeof md && std::equal(data.begin(), data.end(), md);
    }
    case sha2_512: {
        std::uint8_t md[SHA512_DIGEST_LENGTH];
        SHA512(selected.data(), selected.size(), md);
        return data.size() == sizeof md && std::equal(data.begin(), data.end(), md);
    }
    default: return false;
    }
}

inline std::string tlsa_record::to_string() const {
    return std::to_string(usage) + " " + std::to_string(selector) + " " + std::to_string(matching) + " " +
           to_hex(data);
}

inline std::optional<tlsa_record> parse_tlsa_record(std::string_view text, std::string* error) {
    std::vector<std::string_view> tokens;
    for (std::size_t i = 0; i < text.size();) {
        while (i < text.size() && detail::is_space(text[i])) ++i;
        const std::size_t start = i;
        while (i < text.size() && !detail::is_space(text[i])) ++i;
        if (i > start) tokens.push_back(text.substr(start, i - start));
    }
    if (!tokens.empty() && detail::iequals(tokens.front(), "TLSA")) tokens.erase(tokens.begin());
    if (tokens.size() < 4) {
        detail::set_error(error, "TLSA record \"" + detail::printable(text, 80) +
                                     "\": expected \"usage selector matching-type data\"");
        return std::nullopt;
    }
    struct mnemonic {
        std::string_view name;
        std::uint8_t value;
    };
    static constexpr mnemonic usages[] = {{"PKIX-TA", 0}, {"PKIX-EE", 1}, {"DANE-TA", 2}, {"DANE-EE", 3}, {"PrivCert", 255}};
    static constexpr mnemonic selectors[] = {{"Cert", 0}, {"SPKI", 1}, {"PrivSel", 255}};
    static constexpr mnemonic matchings[] = {{"Full", 0}, {"SHA2-256", 1}, {"SHA2-512", 2}, {"PrivMatch", 255}};
    auto field = [&](std::string_view tok, std::span<const mnemonic> names, const char* what,
                     std::uint8_t& out) -> bool {
        for (const auto& m : names)
            if (detail::iequals(tok, m.name)) {
                out = m.value;
                return true;
            }
        unsigned v = 0;
        bool ok = !tok.empty() && tok.size() <= 3;
        for (char c : tok) {
            if (c < '0' || c > '9') ok = false;
            else v = v * 10 + static_cast<unsigned>(c - '0');
        }
        if (!ok || v > 255) {
            detail::set_error(error, std::string("TLSA record: ") + what + " \"" + detail::printable(tok, 40) +
                                         "\" is neither a number 0-255 nor a mnemonic (RFC 7218)");
            return false;
        }
        out = static_cast<std::uint8_t>(v);
        return true;
    };
    tlsa_record r;
    if (!field(tokens[0], usages, "usage", r.usage) || !field(tokens[1], selectors, "selector", r.selector) ||
        !field(tokens[2], matchings, "matching type", r.matching))
        return std::nullopt;
    std::size_t digits = 0;
    for (std::size_t t = 3; t < tokens.size(); ++t) {
        for (char c : tokens[t]) {
            const int v = detail::hex_value(c);
            if (v < 0) {
                detail::set_error(error, "TLSA record: certificate association data has '" +
                                             detail::printable(std::string_view(&c, 1)) + "', not a hex digit");
                return std::nullopt;
            }
            if (digits % 2 == 0) r.data.push_back(static_cast<std::uint8_t>(v << 4));
            else r.data.back() = static_cast<std::uint8_t>(r.data.back() | v);
            ++digits;
        }
    }
    if (digits % 2 != 0) {
        detail::set_error(error, "TLSA record: certificate association data has an odd number of hex digits");
        return std::nullopt;
    }
    return r;
}

// ---- mapping of X509 errors -------------------------------------------------------------

inline verify_result map_verify_error(int e) noexcept {
    switch (e) {
    case X509_V_OK: return verify_result::ok;
    case X509_V_ERR_CERT_HAS_EXPIRED: return verify_result::certificate_expired;
    case X509_V_ERR_CERT_NOT_YET_VALID: return verify_result::certificate_not_yet_valid;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return verify_result::certificate_host_mismatch;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED: return verify_result::certificate_not_trusted;
    default: return verify_result::validation_failure;
    }
}

inline std::error_code verify_error_code(int e) noexcept {
    switch (map_verify_error(e)) {
    case verify_result::ok: return {};
    case verify_result::certificate_expired: return make_error_code(errc::certificate_expired);
    case verify_result::certificate_not_yet_valid: return make_error_code(errc::certificate_not_yet_valid);
    case verify_result::certificate_host_mismatch: return make_error_code(errc::certificate_name_mismatch);
    case verify_result::certificate_not_trusted: return make_error_code(errc::certificate_untrusted);
    default: return make_error_code(errc::certificate_invalid);
    }
}

// ---- names ----------------------------------------------------------------------------

inline bool matches_reference(X509* cert, std::string_view reference) {
    if (!cert || reference.empty()) return false;
    if (auto ip = ip_reference(reference)) return X509_check_ip_asc(cert, ip->c_str(), 0) == 1;
    std::string name;
    if (to_ascii_domain(reference, name)) return false;
    if (name.front() == '.') {
        const std::string_view domain = std::string_view(name).substr(1);
        for (const auto& presented : detail::dns_names(cert))
            if (detail::matches_subdomain(presented, domain)) return true;
        return false;
    }
    return X509_check_host(cert, name.data(), name.size(), host_check_flags, nullptr) == 1;
}

inline check_result check_names(X509* leaf, std::span<const std::string> references) {
    if (!leaf) return detail::failure(verify_result::validation_failure, errc::certificate_invalid, "no certificate");
    if (references.empty())
        return detail::failure(verify_result::certificate_host_mismatch, errc::certificate_name_mismatch,
                               "no reference identity to check the certificate against");
    for (const auto& r : references)
        if (matches_reference(leaf, r)) return {};
    std::string d = "no DNS-ID or IP-ID matches ";
    for (std::size_t i = 0; i < references.size(); ++i) d += (i ? ", " : "") + detail::printable(references[i], 80);
    d += " (presented:";
    std::size_t shown = 0;
    for (const auto& n : detail::dns_names(leaf)) {
        if (shown++ == 8) {
            d += " ...";
            break;
        }
        d += " " + detail::printable(n, 80);
    }
    if (shown == 0) d += " no DNS-ID";
    d += ")";
    return detail::failure(verify_result::certificate_host_mismatch, errc::certificate_name_mismatch, std::move(d));
}

// ---- key strength -----------------------------------------------------------------------

inline check_result check_key_strength(X509* cert) {
    bssl::UniquePtr<EVP_PKEY> key(cert ? X509_get_pubkey(cert) : nullptr);
    if (!key)
        return detail::failure(verify_result::validation_failure, errc::certificate_invalid,
                               "the certificate's public key cannot be decoded");
    switch (EVP_PKEY_id(key.get())) {
    case EVP_PKEY_RSA: {
        const int bits = EVP_PKEY_bits(key.get());
        if (bits < 2048)
            return detail::failure(verify_result::validation_failure, errc::weak_key,
                                   "RSA key of " + std::to_string(bits) + " bits (at least 2048 required)");
        return {};
    }
    case EVP_PKEY_EC: {
        const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key.get());
        const EC_GROUP* group = ec ? EC_KEY_get0_group(ec) : nullptr;
        const int curve = group ? EC_GROUP_get_curve_name(group) : NID_undef;
        if (curve == NID_X9_62_prime256v1 || curve == NID_secp384r1 || curve == NID_secp521r1) return {};
        return detail::failure(verify_result::validation_failure, errc::weak_key,
                               std::string("EC key on curve ") + (curve == NID_undef ? "?" : OBJ_nid2sn(curve)) +
                                   " (P-256, P-384 or P-521 required)");
    }
    case EVP_PKEY_ED25519: return {};
    default:
        return detail::failure(verify_result::validation_failure, errc::weak_key,
                               "unsupported public key type " + std::to_string(EVP_PKEY_id(key.get())));
    }
}

// ---- PKIX ---------------------------------------------------------------------------------

inline check_result check_pkix(X509_STORE* store, STACK_OF(X509) * presented, std::span<const std::string> references,
                               bool strict) {
    if (!presented || sk_X509_num(presented) == 0)
        return detail::failure(verify_result::validation_failure, errc::certificate_invalid,
                               "the peer presented no certificate");
    if (!store)
        return detail::failure(verify_result::certificate_not_trusted, errc::certificate_untrusted,
                               "no trust store");
    X509* leaf = sk_X509_value(presented, 0);
    auto untrusted = detail::copy_stack(presented, 1);
    if (!untrusted)
        return detail::failure(verify_result::validation_failure, errc::certificate_invalid, "out of memory");
    // Chain first (RFC 5280), then the name (RFC 9525), then the strict-level extras.
    auto outcome = detail::verify_chain(store, leaf, untrusted.get(), 0);
    if (outcome.error != X509_V_OK) return detail::chain_failure(outcome);
    if (auto names = check_names(leaf, references); !names.ok()) return names;
    if (strict && outcome.chain) {
        const std::size_t n = sk_X509_num(outcome.chain.get());
        // The trust anchor (last) is trusted by configuration: its own signature and key do not matter.
        for (std::size_t i = 0; i + 1 < n; ++i) {
            X509* c = sk_X509_value(outcome.chain.get(), i);
            if (auto k = check_key_strength(c); !k.ok()) {
                k.detail = "certificate at depth " + std::to_string(i) + ": " + k.detail;
                return k;
            }
            if (auto s = detail::check_signature_digest(c, static_cast<int>(i)); !s.ok()) return s;
        }
    }
    return {};
}

// ---- pins -----------------------------------------------------------------------------------

inline check_result check_pins(STACK_OF(X509) * presented, std::span<const pin> pins) {
    if (!presented || sk_X509_num(presented) == 0)
        return detail::failure(verify_result::validation_failure, errc::certificate_invalid,
                               "the peer presented no certificate");
    X509* leaf = sk_X509_value(presented, 0);
    const pin cert_pin = pin::of_certificate(leaf);
    const pin key_pin = pin::of_public_key(leaf);
    for (const auto& p : pins)
        if (p == cert_pin || p == key_pin) return {};
    return detail::failure(verify_result::validation_failure, errc::fingerprint_mismatch,
                           "no pin matches the certificate (" + cert_pin.to_string() + ") or its public key (" +
                               key_pin.to_string() + ")" + (pins.empty() ? "; no pin configured" : ""));
}

// ---- DANE -----------------------------------------------------------------------------------

inline check_result check_dane(STACK_OF(X509) * presented, std::span<const tlsa_record> records,
                               std::span<const std::string> references) {
    std::size_t usable = 0;
    for (const auto& r : records)
        if (r.usable()) ++usable;
    if (usable == 0)
        return detail::failure(verify_result::tlsa_invalid, errc::tlsa_unusable,
                               "none of the " + std::to_string(records.size()) +
                                   " TLSA records is usable for SMTP (RFC 7672 3.1)");
    if (!presented || sk_X509_num(presented) == 0)
        return detail::failure(verify_result::validation_failure, errc::certificate_invalid,
                               "the peer presented no certificate");
    X509* leaf = sk_X509_value(presented, 0);
    const std::size_t n = sk_X509_num(presented);

    // DANE-EE(3): the leaf's key or certificate is the whole authentication (RFC 7672 3.1.1).
    for (const auto& r : records)
        if (r.usable() && r.usage == tlsa_record::dane_ee && r.matches(leaf)) return {};

    // DANE-TA(2): a trust anchor from the records, then PKIX from the leaf up to it (RFC 7672 3.1.2).
    std::optional<check_result> ta_failure;
    auto untrusted = detail::copy_stack(presented, 1);
    if (!untrusted)
        return detail::failure(verify_result::validation_failure, errc::certificate_invalid, "out of memory");
    for (const auto& r : records) {
        if (!r.usable() || r.usage != tlsa_record::dane_ta) continue;
        std::vector<bssl::UniquePtr<X509>> anchors;
        for (std::size_t i = 0; i < n; ++i) {
            X509* c = sk_X509_value(presented, i);
            if (r.matches(c)) {
                X509_up_ref(c);
                anchors.emplace_back(c);
            }
        }
        if (anchors.empty() && r.selector == tlsa_record::full_certificate && r.matching == tlsa_record::exact) {
            // "2 0 0": the record is the trust anchor certificate itself; the server need not send it.
            const std::uint8_t* p = r.data.data();
            if (X509* c = d2i_X509(nullptr, &p, static_cast<long>(r.data.size())); c && p == r.data.data() + r.data.size())
                anchors.emplace_back(c);
            else if (c)
                X509_free(c);
            ERR_clear_error();
        }
        for (auto& anchor : anchors) {
            bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
            if (!store || !X509_STORE_add_cert(store.get(), anchor.get())) continue;
            // The anchor need not be self-signed: the chain ends where the record says (partial chain).
            auto outcome = detail::verify_chain(store.get(), leaf, untrusted.get(), X509_V_FLAG_PARTIAL_CHAIN);
            if (outcome.error != X509_V_OK) {
                auto f = detail::chain_failure(outcome);
                f.detail = "DANE-TA(2) anchor " + detail::describe_subject(anchor.get()) + " matched; " + f.detail;
                ta_failure = std::move(f);
                continue;
            }
            auto names = check_names(leaf, references);
            if (!names.ok()) {
                names.detail = "DANE-TA(2) chain valid; " + names.detail;
                ta_failure = std::move(names);
                continue;
            }
            // Below the anchor, as at every strict level: no MD5/SHA-1 signatures.
            std::optional<check_result> weak;
            const std::size_t built = outcome.chain ? sk_X509_num(outcome.chain.get()) : 0;
            for (std::size_t i = 0; i + 1 < built && !weak; ++i)
                if (auto sig = detail::check_signature_digest(sk_X509_value(outcome.chain.get(), i), static_cast<int>(i));
                    !sig.ok())
                    weak = std::move(sig);
            if (weak) {
                ta_failure = std::move(*weak);
                continue;
            }
            return {};
        }
    }
    if (ta_failure) return *ta_failure;
    return detail::failure(verify_result::tlsa_invalid, errc::tlsa_mismatch,
                           "no usable TLSA record (" + std::to_string(usable) +
                               ") matches the leaf or a certificate of the presented chain (" + std::to_string(n) +
                               " certificates)");
}

} // namespace smtpio::tls

#endif // SMTPIO_TLS_IMPL_VERIFY_HPP
