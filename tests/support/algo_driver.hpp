//
// tests/support/algo_driver.hpp -- runs an I/O-free smtpio algorithm from a script.
//
// An algorithm (open, auth, send, command) asks its driver for actions: write
// `state.wbuf`, read a reply, TLS handshake, close, done (see
// smtpio/proto/algorithm.hpp).  `algo_driver` plays the driver from a script
// written in the test, in order, and fails the test on any action the script did
// not expect:
//
//     algo_driver d(st, algo);
//     d.expect_read(phase::greeting).reply("220 hi\r\n")
//      .expect_write("EHLO client.test\r\n")
//      .reply("250 mx\r\n")
//      .expect_done();
//
// `reply()` appends server bytes to the read buffer and completes every read the
// algorithm asks for while a complete reply is buffered (so pipelined replies
// are given in one call).  Writes are compared byte for byte.  Like the real
// driver, a write forgets `whead`, a successful one clears `wbuf` too, and each
// sets `last_write_octets`.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_TEST_ALGO_DRIVER_HPP
#define SMTPIO_TEST_ALGO_DRIVER_HPP

#include <smtpio/proto/algorithm.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

namespace smtpio::test {

/// Shows bytes with CR, LF and other controls escaped, for failure messages.
inline std::string show_bytes(std::string_view s, std::size_t max = 600) {
    std::string out;
    for (char ch : s.substr(0, max)) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c == '\\') out += "\\\\";
        else if (c < 0x20 || c >= 0x7F) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else out += ch;
    }
    if (s.size() > max) out += "...(" + std::to_string(s.size()) + " octets)";
    return out;
}

/// What a write action writes: `whead`, then `wbuf`.
inline std::string written(const proto::connection_state& st) {
    std::string w(st.whead);
    w += st.wbuf.view();
    return w;
}

/// A readable description of an action.
inline std::string describe(const proto::next_action& a, const proto::connection_state& st) {
    using t = proto::next_action::type;
    std::ostringstream o;
    switch (a.kind) {
    case t::write: o << "write"; break;
    case t::write_and_read: o << "write_and_read"; break;
    case t::read: o << "read"; break;
    case t::tls_handshake: o << "tls_handshake"; break;
    case t::close: o << "close"; break;
    case t::done: o << "done"; break;
    }
    o << "(phase=" << proto::to_string(a.when);
    if (a.kind == t::write || a.kind == t::write_and_read) o << ", \"" << show_bytes(written(st)) << "\"";
    if (a.kind == t::done) o << ", ec=" << (a.ec ? a.ec.message() : std::string("none"));
    o << ")";
    return o.str();
}

/// Scripts the driver side of an algorithm (see the file comment).  `Algorithm`
/// has `next_action resume(std::error_code)`.
template <class Algorithm>
class algo_driver {
public:
    using type = proto::next_action::type;

    /// Starts the algorithm (its first resume).
    algo_driver(proto::connection_state& st, Algorithm& algo) : st_(st), algo_(algo) { resume({}); }

    /// The action the algorithm asks for now.
    const proto::next_action& action() const noexcept { return act_; }
    proto::connection_state& state() noexcept { return st_; }

    /// Expects a write (or write_and_read) of exactly `bytes`; completes it.
    algo_driver& expect_write(std::string_view bytes, std::optional<proto::phase> p = std::nullopt) {
        require_write(bytes, p);
        complete_write({}, st_.write_size());
        return *this;
    }
    /// As expect_write, and checks the `sensitive` flag (AUTH data).
    algo_driver& expect_sensitive_write(std::string_view bytes) {
        require_write(bytes, std::nullopt);
        CHECK(act_.sensitive);
        complete_write({}, st_.write_size());
        return *this;
    }
    /// Expects a write of message data: exactly `bytes`, `duplex` (write_and_read)
    /// or not, with `data_length` leading octets of message data.
    algo_driver& expect_data_write(std::string_view bytes, bool duplex, std::optional<std::size_t> data_length = {}) {
        require_write(bytes, std::nullopt);
        CHECK(act_.message_data);
        CHECK((act_.kind == type::write_and_read) == duplex);
        if (data_length) CHECK(act_.data_length == *data_length);
        complete_write({}, st_.write_size());
        return *this;
    }
    /// Expects a write of `bytes` (when not empty) and fails it with `ec` after
    /// `octets` were written.
    algo_driver& fail_write(std::string_view bytes, std::error_code ec, std::size_t octets = 0) {
        require_write(bytes, std::nullopt);
        complete_write(ec, octets);
        return *this;
    }
    /// Expects a write of `bytes` during which the server sent `early` (and
    /// possibly closed: `early_error`), as the session's background read delivers it.
    algo_driver& expect_write_with_early(std::string_view bytes, std::string_view early,
                                         std::error_code early_error = {}) {
        require_write(bytes, std::nullopt);
        REQUIRE(act_.kind == type::write_and_read);
        st_.rbuf.append(early);
        st_.early_read_done = true;
        st_.early_error = early_error;
        complete_write({}, st_.write_size());
        return *this;
    }

    /// Expects a read (of a reply in phase `p`, if given) with nothing buffered.
    algo_driver& expect_read(std::optional<proto::phase> p = std::nullopt) {
        INFO("action: " << describe(act_, st_));
        REQUIRE(act_.kind == type::read);
        if (p) CHECK(act_.when == *p);
        return *this;
    }

    /// Server bytes: appended to the read buffer; every read asked for while a
    /// complete reply is buffered is completed.  A malformed reply completes
    /// the read with the parser's error, as the driver does.
    algo_driver& reply(std::string_view bytes) {
        st_.rbuf.append(bytes);
        INFO("action: " << describe(act_, st_) << " given \"" << show_bytes(bytes) << "\"");
        REQUIRE(act_.kind == type::read);
        pump();
        return *this;
    }
    /// As reply(), without requiring a read first (bytes that arrive unasked).
    algo_driver& buffer(std::string_view bytes) {
        st_.rbuf.append(bytes);
        pump();
        return *this;
    }
    /// Completes the pending read with an I/O error.
    algo_driver& read_error(std::error_code ec) {
        INFO("action: " << describe(act_, st_));
        REQUIRE(act_.kind == type::read);
        resume(ec);
        return *this;
    }

    /// Expects a TLS handshake; completes it with `ec`.
    algo_driver& expect_handshake(std::error_code ec = {}) {
        INFO("action: " << describe(act_, st_));
        REQUIRE(act_.kind == type::tls_handshake);
        CHECK(act_.when == proto::phase::tls_handshake);
        resume(ec);
        return *this;
    }
    /// Expects a close; completes it.
    algo_driver& expect_close() {
        INFO("action: " << describe(act_, st_));
        REQUIRE(act_.kind == type::close);
        resume({});
        return *this;
    }
    /// Expects the end with `ec` (none by default).
    algo_driver& expect_done(std::error_code ec = {}) {
        INFO("action: " << describe(act_, st_));
        REQUIRE(act_.kind == type::done);
        CHECK(act_.ec == ec);
        return *this;
    }

    /// True when the algorithm finished.
    bool done() const noexcept { return act_.kind == type::done; }

private:
    void require_write(std::string_view bytes, std::optional<proto::phase> p) {
        INFO("action: " << describe(act_, st_));
        REQUIRE((act_.kind == type::write || act_.kind == type::write_and_read));
        if (p) CHECK(act_.when == *p);
        INFO("expected \"" << show_bytes(bytes) << "\"");
        REQUIRE(show_bytes(written(st_), 1u << 30) == show_bytes(bytes, 1u << 30));
    }
    void complete_write(std::error_code ec, std::size_t octets) {
        st_.last_write_octets = octets;
        st_.whead = {};
        if (!ec) st_.wbuf.clear();
        resume(ec);
    }
    void pump() {
        while (act_.kind == type::read) {
            auto s = st_.try_reply();
            if (s == proto::reply_parser::status::need_more) return;
            resume(s == proto::reply_parser::status::error ? st_.parser.error() : std::error_code{});
        }
    }
    void resume(std::error_code ec) {
        act_ = algo_.resume(ec);
        if (++steps_ > 100000) FAIL("the algorithm does not finish");
    }

    proto::connection_state& st_;
    Algorithm& algo_;
    proto::next_action act_{};
    std::size_t steps_ = 0;
};

} // namespace smtpio::test

#endif // SMTPIO_TEST_ALGO_DRIVER_HPP
