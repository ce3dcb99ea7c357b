//
// smtpio/tls/stream.hpp -- a lean TLS client stream over any Asio stream, with
// BoringSSL.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TLS_STREAM_HPP
#define SMTPIO_TLS_STREAM_HPP

#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/compose.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/ssl/error.hpp>
#include <asio/write.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <type_traits>
#include <utility>

namespace smtpio::tls {

namespace detail {

// A byte queue that owns its storage only while it holds bytes (or is about to):
// an idle connection keeps no buffer at all.
class byte_queue {
public:
    byte_queue() = default;
    byte_queue(const byte_queue&) = delete;
    byte_queue& operator=(const byte_queue&) = delete;
    ~byte_queue() { std::free(data_); }

    std::size_t size() const noexcept { return end_ - begin_; }
    bool empty() const noexcept { return begin_ == end_; }
    const std::uint8_t* data() const noexcept { return data_ + begin_; }

    // Room for at least n more bytes at the end; returns where they go.
    std::uint8_t* prepare(std::size_t n) {
        if (cap_ - end_ < n) {
            if (begin_ > 0) { // compact first
                std::memmove(data_, data_ + begin_, end_ - begin_);
                end_ -= begin_;
                begin_ = 0;
            }
            if (cap_ - end_ < n) {
                std::size_t want = end_ + n;
                std::size_t grow = cap_ + cap_ / 2;
                std::size_t cap = want > grow ? want : grow;
                auto* p = static_cast<std::uint8_t*>(std::realloc(data_, cap));
                if (!p) throw std::bad_alloc();
                data_ = p;
                cap_ = cap;
            }
        }
        return data_ + end_;
    }
    std::size_t room() const noexcept { return cap_ - end_; }
    void commit(std::size_t n) noexcept { end_ += n; }
    void append(const void* p, std::size_t n) {
        std::memcpy(prepare(n), p, n);
        end_ += n;
    }
    void consume(std::size_t n) noexcept {
        begin_ += n;
        if (begin_ >= end_) begin_ = end_ = 0;
    }
    // Gives the storage back when nothing is queued.
    void release_if_empty() noexcept {
        if (begin_ != end_ || !data_) return;
        std::free(data_);
        data_ = nullptr;
        begin_ = end_ = cap_ = 0;
    }
    void swap(byte_queue& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(begin_, o.begin_);
        std::swap(end_, o.end_);
        std::swap(cap_, o.cap_);
    }

private:
    std::uint8_t* data_ = nullptr;
    std::size_t begin_ = 0, end_ = 0, cap_ = 0;
};

// What the BIO of a stream reads from and writes to.
struct stream_io {
    byte_queue in;  // ciphertext read from the next layer, not yet taken by BoringSSL
    byte_queue out; // ciphertext written by BoringSSL, not yet handed to the next layer
};

inline int stream_bio_write(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    if (len <= 0) return 0;
    auto* io = static_cast<stream_io*>(BIO_get_data(b));
    try {
        io->out.append(data, static_cast<std::size_t>(len));
    } catch (...) {
        return -1;
    }
    return len;
}

inline int stream_bio_read(BIO* b, char* data, int len) {
    BIO_clear_retry_flags(b);
    if (len <= 0) return 0;
    auto* io = static_cast<stream_io*>(BIO_get_data(b));
    if (io->in.empty()) {
        BIO_set_retry_read(b);
        return -1;
    }
    std::size_t n = io->in.size() < static_cast<std::size_t>(len) ? io->in.size() : static_cast<std::size_t>(len);
    std::memcpy(data, io->in.data(), n);
    io->in.consume(n);
    return static_cast<int>(n);
}

inline long stream_bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

inline int stream_bio_create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
}

inline const BIO_METHOD* stream_bio_method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "smtpio stream");
        if (m) {
            BIO_meth_set_write(m, &stream_bio_write);
            BIO_meth_set_read(m, &stream_bio_read);
            BIO_meth_set_ctrl(m, &stream_bio_ctrl);
            BIO_meth_set_create(m, &stream_bio_create);
        }
        return m;
    }();
    return method;
}

} // namespace detail

/// A TLS client stream over `NextLayer` (any Asio AsyncReadStream and
/// AsyncWriteStream; a reference type such as `tcp::socket&` keeps the next layer
/// outside), driving a BoringSSL `SSL` directly.
///
/// It is what a session upgrades to after STARTTLS (or starts with for implicit
/// TLS).  Next to `asio::ssl::stream` it keeps no fixed buffers: ciphertext is
/// queued only while an operation needs it, so an idle connection holds the
/// `SSL` object and nothing else, and a write goes to the next layer in one piece
/// (every record of it).
///
/// One handshake, then at most one read and one write in flight at a time (as
/// for any Asio stream); the read and the write may overlap.  Errors: what the
/// next layer reports; TLS errors in Asio's SSL category (`asio::error::
/// get_ssl_category()`, with BoringSSL's packed error code, as `asio::ssl::stream`
/// reports them); `asio::error::eof` after the peer's close_notify;
/// `asio::ssl::error::stream_truncated` when the next layer ends without one.
///
/// Not movable: the `SSL` object's I/O points into it.
template <class NextLayer>
class stream {
public:
    using next_layer_type = std::remove_reference_t<NextLayer>;
    using executor_type = typename next_layer_type::executor_type;

    /// A client connection from `ctx` over `next`.  `native_handle()` is null if
    /// BoringSSL could not allocate it (the first operation then fails).
    template <class Arg>
    stream(Arg&& next, SSL_CTX* ctx) : next_(std::forward<Arg>(next)) {
        ssl_ = ctx ? SSL_new(ctx) : nullptr;
        if (!ssl_) return;
        BIO* bio = BIO_new(detail::stream_bio_method());
        if (!bio) {
            SSL_free(ssl_);
            ssl_ = nullptr;
            return;
        }
        BIO_set_data(bio, &io_);
        SSL_set_bio(ssl_, bio, bio); // one BIO both ways: SSL_set_bio takes the one reference for both
        SSL_set_connect_state(ssl_);
    }
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;
    ~stream() {
        if (ssl_) SSL_free(ssl_);
    }

    /// The BoringSSL connection: configure it before the handshake (SNI, versions, verification).
    SSL* native_handle() const noexcept { return ssl_; }
    next_layer_type& next_layer() noexcept { return next_; }
    const next_layer_type& next_layer() const noexcept { return next_; }
    executor_type get_executor() noexcept { return next_.get_executor(); }

    /// Octets of ciphertext this stream holds right now (queued in or out); 0
    /// between operations, except for a ClientHello built by `prepare_handshake`
    /// or a final flight held by `hold_final_flight`, until they are sent.
    std::size_t buffered() const noexcept { return io_.in.size() + io_.out.size() + flushing_.size(); }

    /// Builds the client's first flight (the ClientHello) now, without sending
    /// it: the next `async_handshake` sends it and goes on.  Optional; it lets a
    /// caller spend a wait for the peer (STARTTLS's reply) on the key share and
    /// the ClientHello.  Nothing reaches the next layer before `async_handshake`.
    /// After an error the stream is unusable (its handshake fails): make another.
    std::error_code prepare_handshake() {
        std::size_t ignored = 0;
        std::error_code e;
        if (perform([&] { return SSL_do_handshake(ssl_); }, e, ignored) == want::failed) return e;
        return {};
    }

    /// When the handshake ends with the client's own flight (TLS 1.3's Finished,
    /// or a resumed TLS 1.2 session's; a full TLS 1.2 handshake ends with the
    /// server's), keep that flight queued for the next write instead of writing it alone: the peer gets it
    /// with the first application data, in one piece.  Only for a protocol whose client writes first after
    /// the handshake, as SMTP after STARTTLS (EHLO); a read alone would never send it.
    void hold_final_flight(bool on) noexcept { hold_final_ = on; }

    /// The client handshake.  Signature: `void(std::error_code)`.
    template <class CompletionToken>
    auto async_handshake(CompletionToken&& token) {
        return asio::async_compose<CompletionToken, void(std::error_code)>(
            handshake_op{io_op_base{this}}, token, next_);
    }

    /// Reads plaintext into the first non-empty buffer of `buffers`.
    /// Signature: `void(std::error_code, std::size_t)`.
    template <class MutableBufferSequence, class CompletionToken>
    auto async_read_some(const MutableBufferSequence& buffers, CompletionToken&& token) {
        asio::mutable_buffer b = first_of<asio::mutable_buffer>(buffers);
        return asio::async_compose<CompletionToken, void(std::error_code, std::size_t)>(
            read_op{io_op_base{this}, b}, token, next_);
    }

    /// Writes the first non-empty buffer of `buffers`, all of it, as TLS records;
    /// completes when the next layer took every record.
    /// Signature: `void(std::error_code, std::size_t)`.
    template <class ConstBufferSequence, class CompletionToken>
    auto async_write_some(const ConstBufferSequence& buffers, CompletionToken&& token) {
        asio::const_buffer b = first_of<asio::const_buffer>(buffers);
        return asio::async_compose<CompletionToken, void(std::error_code, std::size_t)>(
            write_op{io_op_base{this}, b}, token, next_);
    }

private:
    template <class Buffer, class Sequence>
    static Buffer first_of(const Sequence& seq) {
        for (auto it = asio::buffer_sequence_begin(seq); it != asio::buffer_sequence_end(seq); ++it) {
            Buffer b(*it);
            if (b.size() != 0) return b;
        }
        return Buffer();
    }

    // What one call into BoringSSL left to do.
    enum class want : std::uint8_t { done, input, failed };

    template <class Call>
    want perform(Call&& call, std::error_code& ec, std::size_t& n) {
        if (!ssl_) {
            ec = asio::error::no_memory;
            return want::failed;
        }
        ERR_clear_error();
        int r = call();
        int err = SSL_get_error(ssl_, r);
        auto sys = static_cast<int>(ERR_get_error());
        ERR_clear_error();
        switch (err) {
        case SSL_ERROR_NONE:
            n = r > 0 ? static_cast<std::size_t>(r) : 0;
            return want::done;
        case SSL_ERROR_WANT_READ: return want::input;
        case SSL_ERROR_ZERO_RETURN: ec = asio::error::eof; return want::failed;
        case SSL_ERROR_SSL: ec = std::error_code(sys, asio::error::get_ssl_category()); return want::failed;
        case SSL_ERROR_SYSCALL:
            ec = sys ? std::error_code(sys, asio::error::get_ssl_category())
                     : std::error_code(asio::ssl::error::unspecified_system_error);
            return want::failed;
        default: ec = asio::ssl::error::unexpected_result; return want::failed;
        }
    }

    // The end of the next layer: a clean end only after the peer's close_notify.
    std::error_code map_next_error(std::error_code ec) const {
        if (ec == asio::error::eof && !(ssl_ && (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN)))
            return asio::ssl::error::stream_truncated;
        return ec;
    }

    void release_idle() noexcept {
        io_.in.release_if_empty();
        io_.out.release_if_empty();
        flushing_.release_if_empty();
    }

    // Shared by the operations: the stream, whether the operation has suspended
    // yet (an operation that would complete at once is posted first), and the
    // result kept across a flush.
    struct io_op_base {
        stream* owner;
        bool suspended = false;
        std::error_code result{};
        std::size_t bytes = 0;
        want after_flush = want::done;

        // Reads ciphertext from the next layer.
        template <class Self>
        void fill(Self& self) {
            suspended = true;
            std::uint8_t* p = owner->io_.in.prepare(read_size);
            owner->next_.async_read_some(asio::buffer(p, owner->io_.in.room()), std::move(self));
        }
        // Hands the queued ciphertext to the next layer.  The queue is swapped out
        // first: the other direction may queue more (an alert, a key update) while
        // this write is in flight.
        template <class Self>
        void flush(Self& self) {
            suspended = true;
            owner->flushing_.swap(owner->io_.out);
            owner->writing_ = true;
            asio::async_write(owner->next_, asio::buffer(owner->flushing_.data(), owner->flushing_.size()), std::move(self));
        }
        void flushed() noexcept {
            owner->writing_ = false;
            owner->flushing_.consume(owner->flushing_.size());
            // Keep the storage for the next flush.
            if (owner->io_.out.empty()) owner->io_.out.swap(owner->flushing_);
        }
        template <class Self, class... Args>
        void finish(Self& self, Args... args) {
            if (!suspended) {
                // Never complete inside the initiating function.
                suspended = true;
                posted = true;
                asio::post(owner->next_.get_executor(), std::move(self));
                return;
            }
            if (!owner->writing_ && !owner->reading_) owner->release_idle();
            self.complete(args...);
        }
        bool posted = false;
    };

    static constexpr std::size_t read_size = 4096;

    struct handshake_op : io_op_base {
        enum class at : std::uint8_t { start, flushed, filled } where = at::start;

        template <class Self>
        void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
            stream& s = *this->owner;
            if (this->posted) return self.complete(this->result);
            switch (where) {
            case at::start: break;
            case at::flushed:
                this->flushed();
                // A failed handshake reports why it failed, not whether its alert got out.
                if (this->after_flush == want::failed) return done(self, this->result);
                if (ec) return done(self, ec);
                if (this->after_flush == want::done) return done(self, {});
                break;
            case at::filled:
                if (ec) return done(self, s.map_next_error(ec));
                s.io_.in.commit(n);
                break;
            }
            for (;;) {
                std::size_t ignored = 0;
                std::error_code e;
                want w = s.perform([&] { return SSL_do_handshake(s.ssl_); }, e, ignored);
                if (!s.io_.out.empty() && !(w == want::done && s.hold_final_)) {
                    // The next flight (or an alert) first.
                    this->after_flush = w;
                    this->result = e;
                    where = at::flushed;
                    return this->flush(self);
                }
                if (w == want::done) return done(self, {});
                if (w == want::failed) return done(self, e);
                where = at::filled;
                return this->fill(self);
            }
        }
        template <class Self>
        void done(Self& self, std::error_code ec) {
            this->result = ec;
            this->finish(self, ec);
        }
    };

    struct read_op : io_op_base {
        asio::mutable_buffer buf;
        enum class at : std::uint8_t { start, filled } where = at::start;

        template <class Self>
        void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
            stream& s = *this->owner;
            if (this->posted) return self.complete(this->result, this->bytes);
            if (where == at::start) {
                s.reading_ = true;
                if (buf.size() == 0) return done(self, {}, 0);
            } else {
                if (ec) return done(self, s.map_next_error(ec), 0);
                s.io_.in.commit(n);
            }
            std::size_t got = 0;
            std::error_code e;
            const int len = buf.size() > INT_MAX ? INT_MAX : static_cast<int>(buf.size());
            want w = s.perform([&] { return SSL_read(s.ssl_, buf.data(), len); }, e, got);
            // Output that reading produced (a key update, an alert) waits for the
            // next write: the read direction never writes.
            if (w == want::done) return done(self, {}, got);
            if (w == want::failed) return done(self, e, 0);
            where = at::filled;
            this->fill(self);
        }
        template <class Self>
        void done(Self& self, std::error_code ec, std::size_t n) {
            this->owner->reading_ = false;
            this->result = ec;
            this->bytes = n;
            this->finish(self, ec, n);
        }
    };

    struct write_op : io_op_base {
        asio::const_buffer buf;
        enum class at : std::uint8_t { start, flushed } where = at::start;

        template <class Self>
        void operator()(Self& self, std::error_code ec = {}, std::size_t = 0) {
            stream& s = *this->owner;
            if (this->posted) return self.complete(this->result, this->bytes);
            if (where == at::start) {
                if (buf.size() == 0) return done(self, {}, 0);
                const int len = buf.size() > INT_MAX ? INT_MAX : static_cast<int>(buf.size());
                // Room for every record of it: 16 KiB of plaintext per record, at
                // most ~ 29 octets of header, tag and padding each.
                s.io_.out.prepare(static_cast<std::size_t>(len) + (static_cast<std::size_t>(len) / 16384 + 1) * 64);
                std::size_t put = 0;
                std::error_code e;
                want w = s.perform([&] { return SSL_write(s.ssl_, buf.data(), len); }, e, put);
                if (w == want::failed) return done(self, e, 0);
                if (w == want::input) return done(self, asio::ssl::error::unexpected_result, 0);
                this->bytes = put;
                where = at::flushed;
                return this->flush(self);
            }
            this->flushed();
            if (ec) return done(self, ec, 0);
            // A read queued output meanwhile: it goes now too.
            if (!s.io_.out.empty()) return this->flush(self);
            done(self, {}, this->bytes);
        }
        template <class Self>
        void done(Self& self, std::error_code ec, std::size_t n) {
            this->result = ec;
            this->bytes = n;
            this->finish(self, ec, n);
        }
    };

    NextLayer next_;
    SSL* ssl_ = nullptr;
    detail::stream_io io_;
    detail::byte_queue flushing_;
    bool writing_ = false;
    bool reading_ = false;
    bool hold_final_ = false;
};

} // namespace smtpio::tls

#endif // SMTPIO_TLS_STREAM_HPP
