//
// smtpio/detail/stream_ops.hpp -- closing any stream, local host name.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_DETAIL_STREAM_OPS_HPP
#define SMTPIO_DETAIL_STREAM_OPS_HPP

#include <smtpio/proto/address.hpp>

#include <asio/basic_stream_socket.hpp>
#include <asio/buffer.hpp>
#include <asio/error.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace smtpio::detail {

// Closes a stream so that its pending operations complete with an error: the
// lowest layer's close(), else close(), else cancel().
template <class Stream>
void close_stream(Stream& s) noexcept {
    std::error_code ec;
    if constexpr (requires { s.lowest_layer().close(ec); }) {
        s.lowest_layer().close(ec);
    } else if constexpr (requires { s.close(ec); }) {
        s.close(ec);
    } else if constexpr (requires { s.close(); }) {
        try {
            s.close();
        } catch (...) {
        }
    } else if constexpr (requires { s.cancel(); }) {
        try {
            s.cancel();
        } catch (...) {
        }
    } else {
        static_assert(sizeof(Stream) == 0, "smtpio needs close() or cancel() on the stream for deadlines");
    }
}

// Streams that can write without waiting: Asio's stream sockets (TCP, local),
// in non-blocking mode.  The session writes into them directly when they take
// a whole command group at once, and starts an asynchronous write only for what
// they do not take.
template <class Stream>
struct can_write_now : std::false_type {};
template <class Protocol, class Executor>
struct can_write_now<asio::basic_stream_socket<Protocol, Executor>> : std::true_type {};

// A stream that writes a sequence of buffers in one operation at no cost over
// one buffer (a socket's sendmsg): message data can then be written from where it
// is (connection_state::gather_writes).  A stream that takes a sequence a buffer
// at a time (TLS: a record each) is better given one buffer.  The tests
// specialize it for their in-memory stream.
template <class Stream>
struct gathers_writes : can_write_now<Stream> {};

// What is to be written, `head` then [p, p + n), less its first `skip` octets.
inline std::array<asio::const_buffer, 2> gather_buffers(std::string_view head, const char* p, std::size_t n,
                                                        std::size_t skip) noexcept {
    if (skip < head.size()) return {asio::buffer(head.data() + skip, head.size() - skip), asio::buffer(p, n)};
    skip -= head.size();
    return {asio::buffer(p + skip, n - skip), asio::const_buffer()};
}

// Writes as much of `head` and then [p, p + n) as `s` takes now, without
// waiting (one gather write while both have octets left); the octets written.
// Puts the socket in non-blocking mode first (once): a socket that cannot take
// anything now reports would_block instead of blocking the thread.
template <class Protocol, class Executor>
std::size_t write_now(asio::basic_stream_socket<Protocol, Executor>& s, std::string_view head, const char* p,
                      std::size_t n, std::error_code& ec) noexcept {
    ec.clear();
    if (!s.non_blocking()) {
        s.non_blocking(true, ec);
        if (ec) return 0;
    }
    const std::size_t total = head.size() + n;
    std::size_t done = 0;
    for (;;) {
        const std::size_t k = s.write_some(gather_buffers(head, p, n, done), ec);
        if (!ec) {
            done += k;
            if (done == total) return done;
            continue;
        }
        if (ec == asio::error::interrupted) continue;
        if (ec == asio::error::would_block || ec == asio::error::try_again) ec.clear();
        return done;
    }
}

// This host's name as an EHLO argument, or "localhost" when it is not a valid domain.
inline std::string local_helo_name() {
#if defined(__unix__) || defined(__APPLE__)
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) == 0) {
        std::string n(buf);
        if (!proto::validate_helo_name(n)) return n;
    }
#endif
    return "localhost";
}

} // namespace smtpio::detail

#endif // SMTPIO_DETAIL_STREAM_OPS_HPP
