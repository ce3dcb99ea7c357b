//
// smtpio/proto/command_algorithm.hpp -- one-shot commands: RSET, NOOP, QUIT.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_COMMAND_ALGORITHM_HPP
#define SMTPIO_PROTO_COMMAND_ALGORITHM_HPP

#include <smtpio/proto/algorithm.hpp>
#include <smtpio/proto/commands.hpp>

namespace smtpio::proto {

/// The simple commands a session can send between transactions.
enum class simple_command : std::uint8_t { rset, noop, quit };

/// Writes the command and reads its reply (RFC 5321 4.1.1.5, 4.1.1.9, 4.1.1.10).
///
/// RSET and NOOP expect 250: anything else is errc::reset_failed (RSET, the
/// session is then closed) or errc::unexpected_reply.  QUIT expects 221 and
/// then closes the connection; a server that closes without replying is fine.
class command_algorithm {
public:
    command_algorithm(connection_state& st, simple_command c) : st_(st), cmd_(c) {}

    next_action resume(std::error_code ec) {
        SMTPIO_CORO_BEGIN(coro_)
        if (!st_.opened || st_.broken) {
            if (cmd_ == simple_command::quit) {
                // Nothing to say on a dead connection; just close it.
                SMTPIO_CORO_YIELD(coro_, next_action::close());
                return next_action::done();
            }
            return next_action::done(errc::not_open);
        }
        if (st_.unsolicited() && cmd_ != simple_command::quit) return fail(errc::unsolicited_reply);
        st_.wbuf.clear();
        switch (cmd_) {
        case simple_command::rset: write_rset(st_.wbuf); break;
        case simple_command::noop: write_noop(st_.wbuf); break;
        case simple_command::quit: write_quit(st_.wbuf); break;
        }
        SMTPIO_CORO_YIELD(coro_, next_action::write(when()));
        if (ec) return fail(ec);
        SMTPIO_CORO_YIELD(coro_, next_action::read(when()));
        if (cmd_ == simple_command::quit) {
            // The session ends whatever was said.
            result_ = ec;
            if (!ec && st_.parser.get().code != 221) st_.last_reply = st_.parser.get().to_reply();
            st_.opened = false;
            st_.broken = true;
            SMTPIO_CORO_YIELD(coro_, next_action::close());
            return next_action::done(result_ == errc::connection_closed ? std::error_code{} : result_);
        }
        if (ec) return fail(ec);
        if (st_.parser.get().code == 250) {
            if (cmd_ == simple_command::rset) st_.in_transaction = false;
            return next_action::done();
        }
        st_.last_reply = st_.parser.get().to_reply();
        if (st_.parser.get().code == 421) return fail(errc::service_not_available);
        if (cmd_ == simple_command::rset) {
            // A session whose state cannot be reset cannot carry more mail: close it.
            result_ = errc::reset_failed;
            st_.broken = true;
            st_.wbuf.clear();
            write_quit(st_.wbuf);
            SMTPIO_CORO_YIELD(coro_, next_action::write(phase::quit));
            SMTPIO_CORO_YIELD(coro_, next_action::close());
            return next_action::done(result_);
        }
        return next_action::done(errc::unexpected_reply);
        SMTPIO_CORO_END(coro_, next_action::done());
    }

private:
    phase when() const noexcept {
        switch (cmd_) {
        case simple_command::rset: return phase::rset;
        case simple_command::noop: return phase::noop;
        case simple_command::quit: return phase::quit;
        }
        return phase::none;
    }
    next_action fail(std::error_code ec) {
        st_.broken = true;
        return next_action::done(ec);
    }

    connection_state& st_;
    simple_command cmd_;
    std::error_code result_;
    int coro_ = 0;
};

} // namespace smtpio::proto

#endif // SMTPIO_PROTO_COMMAND_ALGORITHM_HPP
