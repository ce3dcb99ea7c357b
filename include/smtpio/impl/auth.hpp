//
// smtpio/impl/auth.hpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_IMPL_AUTH_HPP
#define SMTPIO_IMPL_AUTH_HPP

#include <smtpio/detail/base64.hpp>
#include <smtpio/proto/capabilities.hpp>

#include <openssl/digest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>

namespace smtpio {

inline std::optional<auth_mechanism> parse_auth_mechanism(std::string_view n) noexcept {
    using proto::iequals;
    if (iequals(n, "auto") || iequals(n, "automatic")) return auth_mechanism::automatic;
    if (iequals(n, "PLAIN")) return auth_mechanism::plain;
    if (iequals(n, "LOGIN")) return auth_mechanism::login;
    if (iequals(n, "XOAUTH2")) return auth_mechanism::xoauth2;
    if (iequals(n, "SCRAM-SHA-256")) return auth_mechanism::scram_sha_256;
    if (iequals(n, "CRAM-MD5")) return auth_mechanism::cram_md5;
    return std::nullopt;
}

namespace sasl {
namespace detail {

inline bool has_cr_lf_nul(std::string_view s) noexcept {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

inline std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md, key.data(), key.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
}

inline std::string sha256(std::string_view data) {
    unsigned char out[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
    return std::string(reinterpret_cast<char*>(out), sizeof out);
}

class plain final : public mechanism {
public:
    plain(std::string authzid, std::string user, std::string pass)
        : msg_(std::move(authzid) + '\0' + std::move(user) + '\0' + std::move(pass)) {}
    ~plain() override { OPENSSL_cleanse(msg_.data(), msg_.size()); }
    std::string_view name() const noexcept override { return "PLAIN"; }
    std::optional<std::string> initial_response() override { return msg_; }
    std::error_code step(std::string_view, std::string& response) override {
        // Only reached when the initial response could not go on the AUTH line.
        if (sent_) return errc::auth_too_many_rounds;
        sent_ = true;
        response = msg_;
        return {};
    }
    int max_rounds() const noexcept override { return 1; }

private:
    std::string msg_;
    bool sent_ = false;
};

class login final : public mechanism {
public:
    login(std::string user, std::string pass) : user_(std::move(user)), pass_(std::move(pass)) {}
    ~login() override { OPENSSL_cleanse(pass_.data(), pass_.size()); }
    std::string_view name() const noexcept override { return "LOGIN"; }
    std::optional<std::string> initial_response() override { return std::nullopt; }
    std::error_code step(std::string_view, std::string& response) override {
        // The challenges ("Username:", "Password:") vary by server; the order does not.
        if (round_ == 0) response = user_;
        else if (round_ == 1) response = pass_;
        else return errc::auth_too_many_rounds;
        ++round_;
        return {};
    }
    int max_rounds() const noexcept override { return 2; }

private:
    std::string user_, pass_;
    int round_ = 0;
};

class xoauth2 final : public mechanism {
public:
    xoauth2(std::string user, std::string token)
        : msg_("user=" + std::move(user) + "\x01" "auth=Bearer " + std::move(token) + "\x01\x01") {}
    ~xoauth2() override { OPENSSL_cleanse(msg_.data(), msg_.size()); }
    std::string_view name() const noexcept override { return "XOAUTH2"; }
    std::optional<std::string> initial_response() override { return msg_; }
    std::error_code step(std::string_view, std::string& response) override {
        // A challenge after the token carries a JSON error; the client answers
        // with an empty line and the server then sends its failure reply.
        if (++round_ > 1) return errc::auth_too_many_rounds;
        response.clear();
        return {};
    }
    int max_rounds() const noexcept override { return 1; }

private:
    std::string msg_;
    int round_ = 0;
};

class cram_md5 final : public mechanism {
public:
    cram_md5(std::string user, std::string pass) : user_(std::move(user)), pass_(std::move(pass)) {}
    ~cram_md5() override { OPENSSL_cleanse(pass_.data(), pass_.size()); }
    std::string_view name() const noexcept override { return "CRAM-MD5"; }
    std::optional<std::string> initial_response() override { return std::nullopt; }
    std::error_code step(std::string_view challenge, std::string& response) override {
        if (done_) return errc::auth_too_many_rounds;
        done_ = true;
        std::string mac = hmac(EVP_md5(), pass_, challenge);
        static constexpr char hex[] = "0123456789abcdef";
        response = user_ + ' ';
        for (char ch : mac) {
            auto c = static_cast<unsigned char>(ch);
            response += hex[c >> 4];
            response += hex[c & 15];
        }
        return {};
    }
    int max_rounds() const noexcept override { return 1; }

private:
    std::string user_, pass_;
    bool done_ = false;
};

// SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash), without channel binding ("n,,").
class scram_sha_256 final : public mechanism {
public:
    scram_sha_256(std::string authzid, std::string user, std::string pass, std::string nonce)
        : authzid_(std::move(authzid)), user_(std::move(user)), pass_(std::move(pass)), nonce_(std::move(nonce)) {}
    ~scram_sha_256() override {
        OPENSSL_cleanse(pass_.data(), pass_.size());
        OPENSSL_cleanse(server_signature_.data(), server_signature_.size());
    }
    std::string_view name() const noexcept override { return "SCRAM-SHA-256"; }

    std::optional<std::string> initial_response() override {
        gs2_ = authzid_.empty() ? "n,," : "n,a=" + escape(authzid_) + ",";
        first_bare_ = "n=" + escape(user_) + ",r=" + nonce_;
        return gs2_ + first_bare_;
    }

    std::error_code step(std::string_view challenge, std::string& response) override {
        if (round_ == 0) {
            ++round_;
            return client_final(challenge, response);
        }
        if (round_ == 1) {
            ++round_;
            // server-final-message = "v=" base64(ServerSignature) / "e=" error
            if (challenge.substr(0, 2) != "v=") return errc::auth_server_signature_invalid;
            auto v = smtpio::detail::base64_decode(field_value(challenge, 'v'));
            if (!v || *v != server_signature_) return errc::auth_server_signature_invalid;
            verified_ = true;
            response.clear();
            return {};
        }
        return errc::auth_too_many_rounds;
    }

    std::error_code finish() override {
        // RFC 5802 5.1: the client MUST verify the server's signature; a server
        // that skips it has not proved that it knows the password.
        return verified_ ? std::error_code{} : make_error_code(errc::auth_server_signature_invalid);
    }
    int max_rounds() const noexcept override { return 2; }

private:
    static std::string escape(std::string_view s) {
        std::string out;
        for (char c : s) {
            if (c == '=') out += "=3D";
            else if (c == ',') out += "=2C";
            else out += c;
        }
        return out;
    }
    static std::string_view field_value(std::string_view msg, char name) {
        std::size_t pos = 0;
        while (pos < msg.size()) {
            std::size_t end = msg.find(',', pos);
            std::string_view f = msg.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
            if (f.size() >= 2 && f[0] == name && f[1] == '=') return f.substr(2);
            if (end == std::string_view::npos) break;
            pos = end + 1;
        }
        return {};
    }

    std::error_code client_final(std::string_view server_first, std::string& response) {
        // server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
        if (server_first.substr(0, 2) == "m=") return errc::auth_malformed_challenge;
        std::string_view r = field_value(server_first, 'r');
        std::string_view s = field_value(server_first, 's');
        std::string_view i = field_value(server_first, 'i');
        if (r.size() <= nonce_.size() || r.substr(0, nonce_.size()) != nonce_) return errc::auth_malformed_challenge;
        auto salt = smtpio::detail::base64_decode(s);
        if (!salt || salt->empty()) return errc::auth_malformed_challenge;
        unsigned iterations = 0;
        auto [p, e] = std::from_chars(i.data(), i.data() + i.size(), iterations);
        // RFC 7677 4: at least 4096.  An upper bound keeps a hostile server from
        // making the client burn CPU.
        if (e != std::errc() || p != i.data() + i.size() || iterations < 4096 || iterations > 1000000)
            return errc::auth_malformed_challenge;
        unsigned char salted[32];
        if (!PKCS5_PBKDF2_HMAC(pass_.data(), pass_.size(), reinterpret_cast<const unsigned char*>(salt->data()),
                               salt->size(), iterations, EVP_sha256(), sizeof salted, salted))
            return errc::auth_malformed_challenge;
        std::string_view salted_sv(reinterpret_cast<char*>(salted), sizeof salted);
        std::string client_key = hmac(EVP_sha256(), salted_sv, "Client Key");
        std::string stored_key = sha256(client_key);
        std::string without_proof = "c=" + smtpio::detail::base64_encode(gs2_) + ",r=" + std::string(r);
        std::string auth_message = first_bare_ + "," + std::string(server_first) + "," + without_proof;
        std::string client_sig = hmac(EVP_sha256(), stored_key, auth_message);
        std::string proof = client_key;
        for (std::size_t k = 0; k < proof.size(); ++k) proof[k] = static_cast<char>(proof[k] ^ client_sig[k]);
        std::string server_key = hmac(EVP_sha256(), salted_sv, "Server Key");
        server_signature_ = hmac(EVP_sha256(), server_key, auth_message);
        OPENSSL_cleanse(salted, sizeof salted);
        response = without_proof + ",p=" + smtpio::detail::base64_encode(proof);
        return {};
    }

    std::string authzid_, user_, pass_, nonce_;
    std::string gs2_, first_bare_, server_signature_;
    int round_ = 0;
    bool verified_ = false;
};

inline std::string random_nonce() {
    unsigned char raw[18];
    RAND_bytes(raw, sizeof raw);
    return smtpio::detail::base64_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
}

} // namespace detail

inline std::error_code choose(const credentials& c, const std::vector<std::string>& offered, auth_mechanism& chosen) noexcept {
    auto offers = [&](std::string_view n) {
        return std::any_of(offered.begin(), offered.end(), [&](const std::string& o) { return proto::iequals(o, n); });
    };
    if (c.mechanism != auth_mechanism::automatic) {
        if (!offers(to_string(c.mechanism))) return errc::auth_mechanism_unavailable;
        chosen = c.mechanism;
        return {};
    }
    if (c.oauth2_token) {
        if (!offers("XOAUTH2")) return errc::auth_mechanism_unavailable;
        chosen = auth_mechanism::xoauth2;
        return {};
    }
    // Strongest first.  A 535 to the chosen one never falls back to a weaker one.
    for (auto m : {auth_mechanism::scram_sha_256, auth_mechanism::cram_md5, auth_mechanism::plain, auth_mechanism::login}) {
        if (m == auth_mechanism::cram_md5 && !c.allow_cram_md5) continue;
        if (offers(to_string(m))) {
            chosen = m;
            return {};
        }
    }
    return errc::auth_mechanism_unavailable;
}

inline std::unique_ptr<mechanism> make_scram_sha_256(const credentials& c, std::string nonce, std::error_code& ec) {
    ec.clear();
    if (detail::has_cr_lf_nul(c.user) || detail::has_cr_lf_nul(c.secret) || detail::has_cr_lf_nul(c.authzid) ||
        c.user.empty()) {
        ec = errc::invalid_credentials;
        return nullptr;
    }
    return std::make_unique<detail::scram_sha_256>(c.authzid, c.user, c.secret, std::move(nonce));
}

inline std::unique_ptr<mechanism> make(auth_mechanism m, const credentials& c, std::error_code& ec) {
    ec.clear();
    if (detail::has_cr_lf_nul(c.user) || detail::has_cr_lf_nul(c.secret) || detail::has_cr_lf_nul(c.authzid) ||
        c.user.empty()) {
        ec = errc::invalid_credentials;
        return nullptr;
    }
    switch (m) {
    case auth_mechanism::plain: return std::make_unique<detail::plain>(c.authzid, c.user, c.secret);
    case auth_mechanism::login: return std::make_unique<detail::login>(c.user, c.secret);
    case auth_mechanism::xoauth2:
        if (c.user.find('\x01') != std::string::npos || c.secret.find('\x01') != std::string::npos) {
            ec = errc::invalid_credentials;
            return nullptr;
        }
        return std::make_unique<detail::xoauth2>(c.user, c.secret);
    case auth_mechanism::scram_sha_256: return make_scram_sha_256(c, detail::random_nonce(), ec);
    case auth_mechanism::cram_md5: return std::make_unique<detail::cram_md5>(c.user, c.secret);
    case auth_mechanism::automatic: break;
    }
    ec = errc::auth_mechanism_unavailable;
    return nullptr;
}

} // namespace sasl
} // namespace smtpio

#endif // SMTPIO_IMPL_AUTH_HPP
