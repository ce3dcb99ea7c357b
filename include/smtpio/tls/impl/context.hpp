//
// smtpio/tls/impl/context.hpp -- definitions for smtpio/tls/context.hpp.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_IMPL_CONTEXT_HPP
#define SMTPIO_TLS_IMPL_CONTEXT_HPP

#include <smtpio/error.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <list>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

namespace smtpio::tls {
namespace detail {

// TLS 1.2 suites of the strict levels: ECDHE key exchange with an AEAD only.
inline constexpr const char* strict_cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                                  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                                  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// TLS 1.2 (and 1.0/1.1) suites of may/encrypt: the strict ones first, then CBC
// and static-RSA suites for old servers.  Never RC4, 3DES, export, NULL, anonymous.
inline constexpr const char* compatible_cipher_list =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
    "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA";

// The suites of a cipher list as BoringSSL parses it, once per process.  An SSL
// starts with a copy of its context's list; a policy whose list that already is
// need not parse its own again for every connection.
inline std::vector<const SSL_CIPHER*> parse_cipher_list(const char* list) {
    std::vector<const SSL_CIPHER*> out;
    bssl::UniquePtr<SSL_CTX> scratch(SSL_CTX_new(TLS_method()));
    if (scratch && SSL_CTX_set_strict_cipher_list(scratch.get(), list)) {
        const STACK_OF(SSL_CIPHER)* suites = SSL_CTX_get_ciphers(scratch.get());
        for (std::size_t i = 0; i < sk_SSL_CIPHER_num(suites); ++i)
            out.push_back(sk_SSL_CIPHER_value(suites, i));
    }
    ERR_clear_error();
    return out;
}

// `ssl` offers exactly the strict (or else the compatible) suites, in their order.
inline bool has_cipher_list(const SSL* ssl, bool strict) {
    static const auto strict_suites = parse_cipher_list(strict_cipher_list);
    static const auto compatible_suites = parse_cipher_list(compatible_cipher_list);
    const auto& want = strict ? strict_suites : compatible_suites;
    const STACK_OF(SSL_CIPHER)* have = SSL_get_ciphers(ssl);
    if (want.empty() || !have || sk_SSL_CIPHER_num(have) != want.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i)
        if (sk_SSL_CIPHER_value(have, i) != want[i]) return false;
    return true;
}

// A cached session and the verdict of the connection that established it.
struct stored_session {
    bssl::UniquePtr<SSL_SESSION> session;
    std::shared_ptr<const verdict> established; // null: evaluate a resumed connection in full
};

// Cache of resumable sessions, keyed by the policy's resumption key.
class session_cache {
public:
    static constexpr std::size_t default_sessions_per_key = 4;

    void put(const std::string& key, bssl::UniquePtr<SSL_SESSION> session, std::shared_ptr<const verdict> established = {}) {
        std::lock_guard lock(mutex_);
        if (per_key_ == 0) return;
        auto it = map_.find(key);
        if (it == map_.end()) {
            while (!map_.empty() && map_.size() >= capacity_) evict_oldest();
            if (capacity_ == 0) return;
            lru_.push_front(key);
            it = map_.emplace(key, entry{{}, lru_.begin()}).first;
        } else {
            touch(it->second);
        }
        auto& sessions = it->second.sessions;
        // A reusable session (TLS 1.2) is offered again and again, newest first: an
        // older reusable one would never be taken, so it goes.
        if (!SSL_SESSION_should_be_single_use(session.get())) {
            const auto old = std::remove_if(sessions.begin(), sessions.end(), [](const stored_session& s) {
                return !SSL_SESSION_should_be_single_use(s.session.get());
            });
            count_ -= static_cast<std::size_t>(sessions.end() - old);
            sessions.erase(old, sessions.end());
        }
        sessions.push_front({std::move(session), std::move(established)});
        ++count_;
        trim(sessions); // (per_key_ >= 1 here: the newest stays)
    }

    // The newest session still valid for `key`; a single-use session (TLS 1.3) is removed.
    stored_session take(const std::string& key) {
        std::lock_guard lock(mutex_);
        auto it = map_.find(key);
        if (it == map_.end()) return {};
        auto& sessions = it->second.sessions;
        const auto now = static_cast<std::uint64_t>(std::time(nullptr));
        for (auto s = sessions.begin(); s != sessions.end();) {
            const std::uint64_t expiry = SSL_SESSION_get_time(s->session.get()) + SSL_SESSION_get_timeout(s->session.get());
            if (expiry <= now) {
                s = sessions.erase(s);
                --count_;
            } else {
                ++s;
            }
        }
        if (sessions.empty()) {
            drop(it);
            return {};
        }
        touch(it->second);
        stored_session out;
        if (SSL_SESSION_should_be_single_use(sessions.front().session.get())) {
            out = std::move(sessions.front());
            sessions.pop_front();
            --count_;
        } else {
            SSL_SESSION_up_ref(sessions.front().session.get());
            out.session.reset(sessions.front().session.get());
            out.established = sessions.front().established;
        }
        return out;
    }

    void erase(const std::string& key) {
        std::lock_guard lock(mutex_);
        if (auto it = map_.find(key); it != map_.end()) drop(it);
    }

    void clear() {
        std::lock_guard lock(mutex_);
        map_.clear();
        lru_.clear();
        count_ = 0;
    }

    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return count_;
    }

    void set_capacity(std::size_t keys) {
        std::lock_guard lock(mutex_);
        capacity_ = keys;
        while (map_.size() > capacity_) evict_oldest();
    }

    std::size_t capacity() const {
        std::lock_guard lock(mutex_);
        return capacity_;
    }

    // At most `n` sessions per key (newest kept); 0 stores none.
    void set_per_key(std::size_t n) {
        std::lock_guard lock(mutex_);
        per_key_ = n;
        for (auto it = map_.begin(); it != map_.end();) {
            trim(it->second.sessions);
            it = it->second.sessions.empty() ? drop(it) : std::next(it);
        }
    }

    std::size_t per_key() const {
        std::lock_guard lock(mutex_);
        return per_key_;
    }

private:
    struct entry {
        std::deque<stored_session> sessions;
        std::list<std::string>::iterator lru;
    };

    using map_type = std::unordered_map<std::string, entry>;

    void touch(entry& e) { lru_.splice(lru_.begin(), lru_, e.lru); }

    void trim(std::deque<stored_session>& sessions) {
        while (sessions.size() > per_key_) {
            sessions.pop_back();
            --count_;
        }
    }

    map_type::iterator drop(map_type::iterator it) {
        count_ -= it->second.sessions.size();
        lru_.erase(it->second.lru);
        return map_.erase(it);
    }

    void evict_oldest() { drop(map_.find(lru_.back())); }

    mutable std::mutex mutex_;
    std::size_t capacity_ = 1024;
    std::size_t per_key_ = default_sessions_per_key;
    std::size_t count_ = 0;
    std::list<std::string> lru_; // most recently used first
    map_type map_;
};

// What smtpio attaches to each SSL (ex_data): resumption key, port, and the
// sessions received before the policy decided about the peer.
struct connection_tag {
    enum class phase { handshaking, accepted, rejected };
    std::shared_ptr<session_cache> cache;
    std::string key;
    std::uint16_t port = 0;
    phase state = phase::handshaking;
    std::vector<bssl::UniquePtr<SSL_SESSION>> pending;
    std::shared_ptr<const verdict> accepted;  // this connection's verdict, once accepted
    std::shared_ptr<const verdict> offered;   // the verdict stored with the session offered to resume
    const SSL_SESSION* offered_session =
        nullptr; // that session (the SSL holds a reference), for identity only
};

inline void free_connection_tag(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
    delete static_cast<connection_tag*>(ptr);
}

inline int connection_tag_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_connection_tag);
    return index;
}

inline connection_tag* find_tag(const SSL* ssl) {
    if (!ssl || connection_tag_index() < 0) return nullptr;
    return static_cast<connection_tag*>(SSL_get_ex_data(ssl, connection_tag_index()));
}

// The certificates SSL_get_session(ssl) holds came with this connection's own
// handshake: not those of a session offered to resume (before the server answers,
// SSL_get_session is that session) or accepted for resumption (a copy of it).
inline bool peer_chain_received(const SSL* ssl) {
    if (SSL_session_reused(ssl) == 1) return false;
    const auto* tag = find_tag(ssl);
    return !tag || !tag->offered_session || SSL_get_session(ssl) != tag->offered_session;
}

inline connection_tag* ensure_tag(SSL* ssl) {
    if (auto* t = find_tag(ssl)) return t;
    if (!ssl || connection_tag_index() < 0) return nullptr;
    auto tag = std::make_unique<connection_tag>();
    if (!SSL_set_ex_data(ssl, connection_tag_index(), tag.get())) return nullptr;
    return tag.release();
}

// SSL_CTX_sess_set_new_cb: a session (TLS 1.2 at the end of the handshake, TLS
// 1.3 per NewSessionTicket) arrived. Returning 1 takes ownership of `session`.
inline int on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* tag = find_tag(ssl);
    if (!tag || !tag->cache || tag->key.empty() || tag->state == connection_tag::phase::rejected) return 0;
    if (!SSL_SESSION_is_resumable(session)) return 0;
    bssl::UniquePtr<SSL_SESSION> owned(session);
    if (tag->state == connection_tag::phase::accepted) {
        tag->cache->put(tag->key, std::move(owned), tag->accepted);
    } else if (tag->pending.size() < tag->cache->per_key()) {
        tag->pending.push_back(std::move(owned));
    }
    return 1;
}

// The handshake accepts every certificate: the policy decides in evaluate(),
// before the session writes anything (see tls/policy.hpp).
inline ssl_verify_result_t accept_for_policy(SSL*, std::uint8_t*) { return ssl_verify_ok; }

inline std::string openssl_error_text() {
    const std::uint32_t e = ERR_peek_last_error();
    std::string out;
    if (e != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out = buf;
    }
    ERR_clear_error();
    return out;
}

inline void set_detail(std::string* detail, std::string text) {
    if (detail) *detail = std::move(text);
}

} // namespace detail

struct context::state {
    explicit state(context_options o) : asio(asio::ssl::context::tls_client), options(o) {
        SSL_CTX* ctx = asio.native_handle();
        const int floor = has_option(o, context_options::dangerous_allow_tls10_and_11) ? TLS1_VERSION : TLS1_2_VERSION;
        if (!SSL_CTX_set_min_proto_version(ctx, static_cast<std::uint16_t>(floor)) ||
            !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION))
            throw std::system_error(make_error_code(errc::tls_configuration_failed),
                                    "smtpio::tls::context: cannot set the protocol versions");
        // The strict levels' TLS 1.2 suites: each policy sets its own on a connection
        // unless it has them already (detail::has_cipher_list).
        if (!SSL_CTX_set_strict_cipher_list(ctx, detail::strict_cipher_list))
            throw std::system_error(make_error_code(errc::tls_configuration_failed),
                                    "smtpio::tls::context: cannot set the cipher suites");
        SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_SSLv3);
        SSL_CTX_set_custom_verify(ctx, SSL_VERIFY_PEER, &detail::accept_for_policy);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
        SSL_CTX_sess_set_new_cb(ctx, &detail::on_new_session);
        (void)detail::connection_tag_index(); // allocate the ex_data index before any concurrent use
    }

    asio::ssl::context asio;
    context_options options;
    std::shared_ptr<detail::session_cache> cache = std::make_shared<detail::session_cache>();
    std::atomic<bool> resumption{true};
};

inline context::context(context_options options, no_trust_tag) : state_(std::make_shared<state>(options)) {}

inline context::context() : context(context_options::none) {}

inline context::context(context_options options) : context(options, no_trust_tag{}) {
    std::string why;
    if (auto ec = load_system_trust(&why)) throw std::system_error(ec, "smtpio::tls::context: " + why);
}

inline context context::with_system_trust(context_options options) { return context(options); }

inline context context::with_ca_file(const std::string& path, context_options options) {
    context c(options, no_trust_tag{});
    std::string why;
    if (auto ec = c.add_ca_file(path, &why)) throw std::system_error(ec, "smtpio::tls::context: " + why);
    return c;
}

inline context context::with_ca_directory(const std::string& path, context_options options) {
    context c(options, no_trust_tag{});
    std::string why;
    if (auto ec = c.add_ca_directory(path, &why)) throw std::system_error(ec, "smtpio::tls::context: " + why);
    return c;
}

inline context context::with_ca_pem(std::string_view pem, context_options options) {
    context c(options, no_trust_tag{});
    std::string why;
    if (auto ec = c.add_ca_pem(pem, &why)) throw std::system_error(ec, "smtpio::tls::context: " + why);
    return c;
}

inline context context::without_trust_anchors(context_options options) { return context(options, no_trust_tag{}); }

inline std::error_code context::load_system_trust(std::string* detail) {
    std::string tried;
    auto try_file = [&](const std::string& path) -> bool {
        std::error_code fs;
        if (path.empty() || !std::filesystem::is_regular_file(path, fs)) {
            if (!path.empty()) tried += (tried.empty() ? "" : ", ") + path;
            return false;
        }
        std::string why;
        if (add_ca_file(path, &why)) {
            tried += (tried.empty() ? "" : ", ") + why;
            return false;
        }
        return true;
    };
    if (const char* env = std::getenv("SSL_CERT_FILE"); env && *env) {
        if (try_file(env)) return {};
    }
    static constexpr const char* bundles[] = {
        "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
        "/etc/pki/tls/cacert.pem", "/etc/ssl/cert.pem",
    };
    for (const char* b : bundles)
        if (try_file(b)) return {};
    std::string dir = "/etc/ssl/certs";
    if (const char* env = std::getenv("SSL_CERT_DIR"); env && *env) dir = env;
    std::error_code fs;
    if (std::filesystem::is_directory(dir, fs) && !add_ca_directory(dir)) return {};
    tried += (tried.empty() ? "" : ", ") + dir;
    detail::set_detail(detail, "no system trust store found (tried " + tried + ")");
    return make_error_code(errc::tls_configuration_failed);
}

inline std::error_code context::add_ca_file(const std::string& path, std::string* detail) {
    std::error_code fs;
    const auto status = std::filesystem::status(path, fs);
    if (fs || !std::filesystem::exists(status)) {
        detail::set_detail(detail, "CA file " + path + " does not exist");
        return std::make_error_code(std::errc::no_such_file_or_directory);
    }
    if (!std::filesystem::is_regular_file(status)) {
        detail::set_detail(detail, "CA file " + path + " is not a regular file");
        return std::make_error_code(std::errc::io_error);
    }
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) {
        detail::set_detail(detail, "CA file " + path + " cannot be read");
        return std::make_error_code(std::errc::io_error);
    }
    std::string why;
    if (auto ec = add_ca_pem(text, &why)) {
        detail::set_detail(detail, "CA file " + path + ": " + why);
        return ec;
    }
    return {};
}

inline std::error_code context::add_ca_directory(const std::string& path, std::string* detail) {
    std::error_code fs;
    const auto status = std::filesystem::status(path, fs);
    if (fs || !std::filesystem::exists(status)) {
        detail::set_detail(detail, "CA directory " + path + " does not exist");
        return std::make_error_code(std::errc::no_such_file_or_directory);
    }
    if (!std::filesystem::is_directory(status)) {
        detail::set_detail(detail, "CA directory " + path + " is not a directory");
        return std::make_error_code(std::errc::not_a_directory);
    }
    if (!X509_STORE_load_locations(trust_store(), nullptr, path.c_str())) {
        detail::set_detail(detail, "CA directory " + path + ": " + detail::openssl_error_text());
        return make_error_code(errc::tls_configuration_failed);
    }
    return {};
}

inline std::error_code context::add_ca_pem(std::string_view pem, std::string* detail) {
    ERR_clear_error();
    if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        detail::set_detail(detail, "PEM text too large");
        return make_error_code(errc::certificate_invalid);
    }
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        detail::set_detail(detail, "out of memory");
        return make_error_code(errc::tls_configuration_failed);
    }
    std::size_t count = 0;
    while (true) {
        bssl::UniquePtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!cert) {
            const std::uint32_t e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                ERR_clear_error(); // the end of the input
                break;
            }
            detail::set_detail(detail, "certificate #" + std::to_string(count + 1) +
                                           " does not decode: " + detail::openssl_error_text());
            return make_error_code(errc::certificate_invalid);
        }
        if (!X509_STORE_add_cert(trust_store(), cert.get())) {
            const std::uint32_t e = ERR_peek_last_error();
            if (!(ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_CERT_ALREADY_IN_HASH_TABLE)) {
                detail::set_detail(detail, "certificate #" + std::to_string(count + 1) +
                                               " cannot be added: " + detail::openssl_error_text());
                return make_error_code(errc::tls_configuration_failed);
            }
            ERR_clear_error();
        }
        ++count;
    }
    if (count == 0) {
        detail::set_detail(detail, "no PEM \"CERTIFICATE\" block found");
        return make_error_code(errc::certificate_invalid);
    }
    return {};
}

inline asio::ssl::context& context::asio_context() const noexcept { return state_->asio; }

inline SSL_CTX* context::native_handle() const noexcept { return state_->asio.native_handle(); }

inline X509_STORE* context::trust_store() const noexcept { return SSL_CTX_get_cert_store(native_handle()); }

inline context_options context::options() const noexcept { return state_->options; }

inline version context::min_version() const noexcept {
    return has_option(state_->options, context_options::dangerous_allow_tls10_and_11) ? version::tls1_0
                                                                                      : version::tls1_2;
}

inline void context::enable_resumption(bool on) noexcept { state_->resumption.store(on); }

inline bool context::resumption_enabled() const noexcept { return state_->resumption.load(); }

inline void context::set_resumption_capacity(std::size_t keys) { state_->cache->set_capacity(keys); }

inline std::size_t context::resumption_capacity() const { return state_->cache->capacity(); }

inline void context::set_sessions_per_destination(std::size_t sessions) {
    state_->cache->set_per_key(sessions);
}

inline std::size_t context::sessions_per_destination() const {
    return state_->cache->per_key();
}

inline std::size_t context::cached_sessions() const { return state_->cache->size(); }

inline void context::clear_resumption_cache() { state_->cache->clear(); }

inline std::error_code context::prepare_resumption(SSL* ssl, std::string_view key) const {
    if (!ssl || SSL_get_SSL_CTX(ssl) != native_handle()) return make_error_code(errc::tls_configuration_failed);
    auto* tag = detail::ensure_tag(ssl);
    if (!tag) return make_error_code(errc::tls_configuration_failed);
    tag->cache = state_->cache;
    tag->state = detail::connection_tag::phase::handshaking;
    tag->pending.clear();
    tag->accepted.reset();
    tag->offered.reset();
    tag->offered_session = nullptr;
    if (!resumption_enabled() || key.empty()) {
        tag->key.clear();
        return {};
    }
    tag->key = std::string(key);
    if (tag->port != 0) tag->key += "|port=" + std::to_string(tag->port);
    if (auto stored = tag->cache->take(tag->key); stored.session) {
        if (!SSL_set_session(ssl, stored.session.get())) return make_error_code(errc::tls_configuration_failed);
        tag->offered = std::move(stored.established);
        tag->offered_session = stored.session.get();
    }
    return {};
}

inline void context::finish_resumption(SSL* ssl, bool accepted) {
    verdict v;
    v.accepted = accepted;
    finish(ssl, v, false);
}

inline void context::finish_resumption(SSL* ssl, const verdict& v) { finish(ssl, v, true); }

inline const verdict* context::resumed_verdict(SSL* ssl) {
    auto* tag = detail::find_tag(ssl);
    if (!tag || !tag->offered || SSL_session_reused(ssl) != 1) return nullptr;
    return tag->offered.get();
}

inline void context::finish(SSL* ssl, const verdict& v, bool keep_verdict) {
    auto* tag = detail::find_tag(ssl);
    if (!tag || !tag->cache || tag->key.empty()) return;
    if (v.accepted) {
        tag->state = detail::connection_tag::phase::accepted;
        if (keep_verdict) tag->accepted = std::make_shared<const verdict>(v);
        for (auto& s : tag->pending) tag->cache->put(tag->key, std::move(s), tag->accepted);
    } else {
        tag->state = detail::connection_tag::phase::rejected;
        tag->cache->erase(tag->key);
    }
    tag->pending.clear();
}

inline void set_peer_port(SSL* ssl, std::uint16_t port) {
    if (auto* tag = detail::ensure_tag(ssl)) tag->port = port;
}

inline std::uint16_t peer_port(const SSL* ssl) noexcept {
    const auto* tag = detail::find_tag(ssl);
    return tag ? tag->port : 0;
}

} // namespace smtpio::tls

#endif // SMTPIO_TLS_IMPL_CONTEXT_HPP
