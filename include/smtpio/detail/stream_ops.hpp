//
// smtpio/detail/stream_ops.hpp -- closing any stream, local host name.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_DETAIL_STREAM_OPS_HPP
#define SMTPIO_DETAIL_STREAM_OPS_HPP

#include <smtpio/proto/address.hpp>

#include <string>
#include <system_error>

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
