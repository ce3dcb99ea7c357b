// Blocking wrappers for tests: each runs one session operation to completion on
// the test's io_context and returns its result.  A test fixture derives from
// session_ops<Fixture> and provides `s` (an optional session of any stream) and
// `run()` (runs the io_context, bounded).
#ifndef SMTPIO_TEST_SUPPORT_SESSION_OPS_HPP
#define SMTPIO_TEST_SUPPORT_SESSION_OPS_HPP

#include <smtpio/auth.hpp>
#include <smtpio/body.hpp>
#include <smtpio/envelope.hpp>
#include <smtpio/options.hpp>
#include <smtpio/result.hpp>
#include <smtpio/session.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <system_error>
#include <utility>
#include <vector>

namespace smtpio::test {

template <class Fixture>
struct session_ops {
    std::error_code authenticate(smtpio::credentials c) {
        return await_ec([&](auto h) { self().s->async_authenticate(std::move(c), h); });
    }
    std::pair<std::error_code, smtpio::send_result> send(smtpio::envelope env, smtpio::body b, smtpio::send_options so = {}) {
        std::optional<std::pair<std::error_code, smtpio::send_result>> r;
        self().s->async_send(std::move(env), std::move(b), std::move(so),
                             [&](std::error_code ec, smtpio::send_result res) { r.emplace(ec, std::move(res)); });
        self().run();
        REQUIRE(r);
        return std::move(*r);
    }
    std::pair<std::error_code, std::vector<smtpio::send_result>> send_batch(std::vector<smtpio::message> msgs) {
        std::optional<std::pair<std::error_code, std::vector<smtpio::send_result>>> r;
        self().s->async_send_batch(std::move(msgs), [&](std::error_code ec, std::vector<smtpio::send_result> v) {
            r.emplace(ec, std::move(v));
        });
        self().run();
        REQUIRE(r);
        return std::move(*r);
    }
    std::error_code quit() {
        return await_ec([&](auto h) { self().s->async_quit(h); });
    }
    std::error_code reset() {
        return await_ec([&](auto h) { self().s->async_reset(h); });
    }

private:
    Fixture& self() { return static_cast<Fixture&>(*this); }
    template <class Start>
    std::error_code await_ec(Start start) {
        std::optional<std::error_code> r;
        start([&r](std::error_code ec) { r = ec; });
        self().run();
        REQUIRE(r);
        return *r;
    }
};

} // namespace smtpio::test

#endif
