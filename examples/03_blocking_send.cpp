//
// examples/03_blocking_send.cpp -- one call, no Asio in sight: smtpio::send()
// connects, opens (STARTTLS as the policy says), sends, says QUIT and returns.
//
//   03_blocking_send HOST [PORT [CA_FILE]]
//
// For scripts and simple programs.  It runs its own io_context, so it blocks
// the calling thread; a program that sends a lot uses the asynchronous API.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include <smtpio.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
    if (argc < 2 || argc > 4) {
        std::cerr << "usage: " << argv[0] << " HOST [PORT [CA_FILE]]\n";
        return 2;
    }
    try {
        const std::string host = argv[1];
        const auto port = static_cast<std::uint16_t>(argc > 2 ? std::stoul(argv[2]) : 587);
        smtpio::tls::context tls = argc > 3 ? smtpio::tls::context::with_ca_file(argv[3]) : smtpio::tls::context();

        smtpio::envelope env{"app@example.org", {"ops@example.com", "oncall@example.com"}};
        smtpio::send_result r = smtpio::send(host, port, smtpio::policy::submission(tls), std::move(env),
                                             smtpio::body("Subject: nightly report\r\n\r\nAll jobs succeeded.\r\n"));

        // Returned: the message reached the wire.  Each recipient has its outcome.
        std::cout << "message: " << to_string(r.outcome) << "\n";
        for (const auto& rcpt : r.recipients)
            std::cout << "  " << rcpt.address << ": " << to_string(rcpt.outcome) << "\n";
        if (r.error) std::cout << "the session failed: " << r.error.message() << "\n";
        return r.outcome == smtpio::message_outcome::delivered ? 0 : 1;
    } catch (const std::system_error& e) {
        // Thrown: nothing of the message was written (connection, TLS policy, AUTH, bad input).
        std::cerr << "not sent: " << e.code().message() << "\n";
        if (e.code() == smtpio::condition::tls_failure) std::cerr << "(the TLS policy was not satisfied)\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 2;
    }
}
