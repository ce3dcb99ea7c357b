//
// tests/support/test_stream.hpp -- an in-memory Asio stream for session tests.
//
// `test_stream` is the client's end of a fake connection: an AsyncReadStream and
// AsyncWriteStream (any completion token) with `executor_type`, `get_executor()`,
// `lowest_layer()` and `close()`, so `smtpio::basic_session<test_stream>` runs on
// it.  The other end is a `test_peer`, which the test keeps: it pushes the
// server's bytes, sees every byte the client wrote, and injects faults:
//
//  - reads deliver at most `max_read` octets each (1: the whole conversation a
//    byte at a time); writes accept at most `max_write` octets per write_some;
//  - the n-th read or n-th write from now fails with a chosen error (a reset,
//    end of file, ...), after which the connection is dead: every later
//    operation fails too, as on a real socket;
//  - writes can be stalled (the server stops reading) until released;
//  - a "reactive" hook sees what the client wrote and decides what the server
//    sends next, so a test answers RCPT only after it was written.
//
// Completions are always posted to the handler's associated executor, never
// run inside the initiating function.  A pending operation does not count as
// outstanding work by itself (the session's composed operation does): run the
// io_context with a bound (`run_for`) in tests that may stall.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TEST_TEST_STREAM_HPP
#define SMTPIO_TEST_TEST_STREAM_HPP

#include <smtpio/detail/stream_ops.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>

#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace smtpio::test {

class test_peer;

namespace detail {

// A pending operation of the stream, type-erased (handlers are move-only).
struct pending_op {
    virtual ~pending_op() = default;
    // Reads: copies up to `max` octets of `from` into the operation's buffers and
    // returns how many.  Writes: not used.
    virtual std::size_t fill(std::string_view from, std::size_t max) = 0;
    // Posts the completion handler with (ec, n).
    virtual void complete(std::error_code ec, std::size_t n) = 0;
};

template <class Buffers, class Handler>
struct pending_op_impl final : pending_op {
    pending_op_impl(asio::any_io_executor ex, const Buffers& b, Handler&& h)
        : stream_ex(std::move(ex)), buffers(b), handler(std::move(h)) {}

    std::size_t fill(std::string_view from, std::size_t max) override {
        if constexpr (asio::is_mutable_buffer_sequence<Buffers>::value) {
            std::size_t n = from.size() < max ? from.size() : max;
            return asio::buffer_copy(buffers, asio::buffer(from.data(), n));
        } else {
            return 0; // a write operation: nothing to fill
        }
    }
    void complete(std::error_code ec, std::size_t n) override {
        auto ex = asio::get_associated_executor(handler, stream_ex);
        asio::post(ex, [h = std::move(handler), ec, n]() mutable { std::move(h)(ec, n); });
    }

    asio::any_io_executor stream_ex;
    Buffers buffers;
    Handler handler;
};

template <class Buffers, class Handler>
std::unique_ptr<pending_op> make_op(const asio::any_io_executor& ex, const Buffers& b, Handler&& h) {
    return std::make_unique<pending_op_impl<Buffers, std::decay_t<Handler>>>(ex, b, std::forward<Handler>(h));
}

} // namespace detail

/// The server's end of a `test_stream`: what the test scripts and inspects.
/// Shared by the stream and the test (`test_stream::peer()`); lives as long as either.
class test_peer : public std::enable_shared_from_this<test_peer> {
public:
    /// Called after each write_some with the peer and the octets just written.
    using write_hook = std::function<void(test_peer&, std::string_view)>;

    explicit test_peer(asio::any_io_executor ex) : ex_(std::move(ex)) {}

    // ---- the server side -------------------------------------------------------------

    /// Makes `bytes` available to the client's reads (completes a pending read).
    void push(std::string_view bytes) {
        inbound_.append(bytes);
        serve_read();
    }
    /// The server closes its side: once the pushed bytes are read, reads end with `eof`.
    void push_eof() {
        eof_ = true;
        serve_read();
    }
    /// The connection dies: pending and later operations fail with `ec`.
    void reset(std::error_code ec = asio::error::connection_reset) {
        dead_ = ec;
        inbound_.clear();
        fail_pending(ec);
    }

    /// Sets the hook called after each write (the "reactive" mode).
    void on_write(write_hook h) { hook_ = std::move(h); }

    // ---- fault injection -------------------------------------------------------------

    /// Each read delivers at most n octets (n >= 1).
    void set_max_read(std::size_t n) { max_read_ = n ? n : 1; }
    /// Each write_some accepts at most n octets (n >= 1).
    void set_max_write(std::size_t n) { max_write_ = n ? n : 1; }
    /// When an injected read failure strikes.
    enum class read_fault {
        at_start, ///< As the read is started.
        on_data,  ///< When the read would deliver the server's next bytes (the reply is lost).
    };
    /// The n-th read started from now (1-based) fails with `ec`; the connection is then dead.
    void fail_read(std::size_t n, std::error_code ec = asio::error::connection_reset,
                   read_fault when = read_fault::at_start) {
        fail_read_at_ = reads_ + n;
        fail_read_ec_ = ec;
        fail_read_when_ = when;
    }
    /// The n-th write_some started from now (1-based) fails with `ec`; the connection is then dead.
    void fail_write(std::size_t n, std::error_code ec = asio::error::connection_reset) {
        fail_write_at_ = writes_ + n;
        fail_write_ec_ = ec;
    }
    /// True once an injected read or write failure happened.
    bool fault_fired() const noexcept { return fault_fired_; }
    /// Client octets written before the injected fault (all of them if none fired).
    std::size_t written_before_fault() const noexcept { return fault_fired_ ? written_at_fault_ : written_.size(); }
    /// While stalled, writes stay pending (the server does not read); `stall_writes(false)` lets them go.
    void stall_writes(bool on) {
        stalled_ = on;
        if (!on && pending_write_) {
            auto op = std::move(pending_write_);
            auto n = accept_write(pending_write_data_);
            pending_write_data_.clear();
            op->complete({}, n);
        }
    }
    /// True while a write is held by `stall_writes`.
    bool write_pending() const noexcept { return pending_write_ != nullptr; }
    /// True while a read waits for bytes.
    bool read_pending() const noexcept { return pending_read_ != nullptr; }

    // ---- inspection ------------------------------------------------------------------

    /// Every octet the client wrote, in order.
    const std::string& written() const noexcept { return written_; }
    /// What each successful write_some carried, in order (to check what went in one write).
    const std::vector<std::string>& write_log() const noexcept { return write_log_; }
    /// Forgets what was written so far (keeps counting operations).
    void clear_written() {
        written_.clear();
        write_log_.clear();
    }
    /// Server octets not yet read by the client.
    std::size_t unread() const noexcept { return inbound_.size(); }
    /// Reads and write_somes started so far.
    std::size_t reads() const noexcept { return reads_; }
    std::size_t writes() const noexcept { return writes_; }
    /// The client closed its end.
    bool closed() const noexcept { return closed_; }
    /// The executor of the stream.
    const asio::any_io_executor& get_executor() const noexcept { return ex_; }

private:
    friend class test_stream;

    template <class Buffers, class Handler>
    void start_read(const Buffers& buffers, Handler&& handler) {
        ++reads_;
        auto op = detail::make_op(ex_, buffers, std::forward<Handler>(handler));
        if (closed_) return op->complete(asio::error::bad_descriptor, 0);
        if (pending_read_) return op->complete(asio::error::in_progress, 0); // one read at a time
        if (fail_read_at_ == reads_ && fail_read_when_ == read_fault::at_start) {
            fire(fail_read_ec_);
            return op->complete(fail_read_ec_, 0);
        }
        if (dead_) return op->complete(dead_, 0);
        doomed_ = fail_read_at_ == reads_;
        if (asio::buffer_size(buffers) == 0) return op->complete({}, 0);
        pending_read_ = std::move(op);
        serve_read();
    }

    template <class Buffers, class Handler>
    void start_write(const Buffers& buffers, Handler&& handler) {
        ++writes_;
        auto op = detail::make_op(ex_, buffers, std::forward<Handler>(handler));
        if (closed_) return op->complete(asio::error::bad_descriptor, 0);
        if (fail_write_at_ == writes_) {
            fire(fail_write_ec_);
            return op->complete(fail_write_ec_, 0);
        }
        if (dead_) return op->complete(write_error(dead_), 0);
        if (pending_write_) return op->complete(asio::error::in_progress, 0);
        std::string data;
        std::size_t want = asio::buffer_size(buffers);
        if (want > max_write_) want = max_write_;
        data.resize(want);
        asio::buffer_copy(asio::buffer(data), buffers);
        if (stalled_) {
            pending_write_ = std::move(op);
            pending_write_data_ = std::move(data);
            return;
        }
        auto n = accept_write(data);
        op->complete({}, n);
    }

    std::size_t accept_write(const std::string& data) {
        written_ += data;
        write_log_.push_back(data);
        if (hook_) {
            auto keep = shared_from_this(); // the hook may drop the last stream handle
            hook_(*this, data);
        }
        return data.size();
    }

    void serve_read() {
        if (!pending_read_) return;
        if (doomed_ && (!inbound_.empty() || eof_)) {
            doomed_ = false;
            inbound_.clear(); // the bytes never arrive
            auto op = std::move(pending_read_);
            fire(fail_read_ec_);
            op->complete(fail_read_ec_, 0);
            return;
        }
        if (!inbound_.empty()) {
            auto op = std::move(pending_read_);
            std::size_t n = op->fill(inbound_, max_read_);
            inbound_.erase(0, n);
            op->complete({}, n);
        } else if (dead_) {
            auto op = std::move(pending_read_);
            op->complete(dead_, 0);
        } else if (eof_) {
            auto op = std::move(pending_read_);
            op->complete(asio::error::eof, 0);
        }
    }

    void fire(std::error_code ec) {
        if (!fault_fired_) written_at_fault_ = written_.size();
        fault_fired_ = true;
        dead_ = ec;
        fail_pending(ec);
    }

    // A dead connection: reads give the error; writes after an end of file give a broken pipe.
    static std::error_code write_error(std::error_code dead) {
        return dead == asio::error::eof ? std::error_code(asio::error::broken_pipe) : dead;
    }

    void fail_pending(std::error_code ec) {
        if (pending_read_) std::exchange(pending_read_, nullptr)->complete(ec, 0);
        if (pending_write_) {
            pending_write_data_.clear();
            std::exchange(pending_write_, nullptr)->complete(write_error(ec), 0);
        }
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        if (pending_read_) std::exchange(pending_read_, nullptr)->complete(asio::error::operation_aborted, 0);
        if (pending_write_) {
            pending_write_data_.clear();
            std::exchange(pending_write_, nullptr)->complete(asio::error::operation_aborted, 0);
        }
    }

    asio::any_io_executor ex_;
    std::string inbound_;
    std::string written_;
    std::vector<std::string> write_log_;
    bool eof_ = false;
    bool closed_ = false;
    std::error_code dead_;
    write_hook hook_;
    std::size_t max_read_ = std::numeric_limits<std::size_t>::max();
    std::size_t max_write_ = std::numeric_limits<std::size_t>::max();
    std::size_t reads_ = 0, writes_ = 0;
    std::size_t fail_read_at_ = 0, fail_write_at_ = 0;
    std::error_code fail_read_ec_, fail_write_ec_;
    read_fault fail_read_when_ = read_fault::at_start;
    bool doomed_ = false; // the pending read fails when data arrives
    bool fault_fired_ = false;
    std::size_t written_at_fault_ = 0;
    bool stalled_ = false;
    std::unique_ptr<detail::pending_op> pending_read_;
    std::unique_ptr<detail::pending_op> pending_write_;
    std::string pending_write_data_;
};

/// The client's end: an Asio AsyncReadStream + AsyncWriteStream over a `test_peer`.
class test_stream {
public:
    using executor_type = asio::any_io_executor;
    using lowest_layer_type = test_stream;

    /// A stream with a fresh peer.
    explicit test_stream(executor_type ex) : peer_(std::make_shared<test_peer>(std::move(ex))) {}
    /// A stream on an existing peer.
    explicit test_stream(std::shared_ptr<test_peer> p) : peer_(std::move(p)) {}

    test_stream(test_stream&&) noexcept = default;
    test_stream& operator=(test_stream&&) noexcept = default;
    test_stream(const test_stream&) = delete;
    test_stream& operator=(const test_stream&) = delete;
    ~test_stream() = default;

    executor_type get_executor() const noexcept { return peer_->get_executor(); }
    lowest_layer_type& lowest_layer() noexcept { return *this; }
    const lowest_layer_type& lowest_layer() const noexcept { return *this; }

    /// The server side of this stream.
    const std::shared_ptr<test_peer>& peer() const noexcept { return peer_; }

    /// Closes the client's end: pending operations complete with operation_aborted.
    void close() {
        if (peer_) peer_->close();
    }
    void close(std::error_code& ec) {
        ec.clear();
        close();
    }
    bool is_open() const noexcept { return peer_ && !peer_->closed(); }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        return asio::async_initiate<ReadToken, void(std::error_code, std::size_t)>(
            [](auto handler, std::shared_ptr<test_peer> p, const MutableBufferSequence& b) {
                p->start_read(b, std::move(handler));
            },
            token, peer_, buffers);
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        return asio::async_initiate<WriteToken, void(std::error_code, std::size_t)>(
            [](auto handler, std::shared_ptr<test_peer> p, const ConstBufferSequence& b) {
                p->start_write(b, std::move(handler));
            },
            token, peer_, buffers);
    }

private:
    std::shared_ptr<test_peer> peer_;
};

} // namespace smtpio::test

// The test stream writes a sequence of buffers in one write_some, as a socket
// does: message data goes from where it is over it too.
template <>
struct smtpio::detail::gathers_writes<smtpio::test::test_stream> : std::true_type {};

#endif // SMTPIO_TEST_TEST_STREAM_HPP
