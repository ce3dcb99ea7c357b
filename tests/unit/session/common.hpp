// Helpers shared by the session tests over the test stream.
#ifndef SMTPIO_TEST_SESSION_COMMON_HPP
#define SMTPIO_TEST_SESSION_COMMON_HPP

#include "session_ops.hpp"
#include "smtp_script_server.hpp"
#include "test_stream.hpp"

#include <smtpio/session.hpp>

#include <asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace smtpio::test {

using stream_session = smtpio::basic_session<test_stream>;

/// Options for test sessions: a fixed EHLO name, every deadline capped so that a
/// test that goes wrong fails in seconds rather than minutes.
inline smtpio::session_options test_options() {
    smtpio::session_options o;
    o.helo_name = "client.example.org";
    o.host = "mx.example.test";
    o.timeouts = smtpio::timeouts{}.capped(std::chrono::seconds(8));
    return o;
}

/// A session over a test stream with the scripted model behind it.
struct harness : session_ops<harness> {
    asio::io_context io;
    std::shared_ptr<smtp_server_model> model;
    std::shared_ptr<test_peer> peer;
    std::optional<stream_session> s;

    explicit harness(smtp_script script = {}, smtpio::session_options o = test_options(), bool attach_model = true) {
        test_stream stream(io.get_executor());
        peer = stream.peer();
        s.emplace(std::move(stream), smtpio::policy::dangerous_plaintext(), std::move(o));
        model = std::make_shared<smtp_server_model>(std::move(script));
        if (attach_model) attach(*peer, model);
    }

    /// Runs the io_context until it has no more work (bounded).
    void run(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
        io.restart();
        io.run_for(limit);
    }

    std::error_code open() {
        std::optional<std::error_code> r;
        s->async_open([&](std::error_code ec) { r = ec; });
        run();
        REQUIRE(r);
        return *r;
    }
};

/// A simple envelope.
inline smtpio::envelope env(std::vector<smtpio::recipient> to, std::string from = "a@example.org") {
    return smtpio::envelope(std::move(from), std::move(to));
}

} // namespace smtpio::test

#endif
