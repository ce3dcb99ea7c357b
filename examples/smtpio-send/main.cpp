//
// examples/smtpio-send/main.cpp -- smtpio-send: send mail with the TLS you choose.
//
// Everything here goes through smtpio's public API (the loopback server of
// --demo lives in examples/support).  The options, exit codes and JSON are a
// contract: see docs/cli.md.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "../support/demo_pki.hpp"
#include "../support/smtp_server.hpp"
#include "bulk.hpp"
#include "cli_options.hpp"
#include "report.hpp"
#include "setup.hpp"

#include <smtpio.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <ctime>
#include <iostream>
#include <random>
#include <thread>
#include <variant>

namespace smtpio_send {

// One message: connect, open, AUTH, send, QUIT.
attempt send_once(const options& o, setup& s) {
    attempt a;
    a.recipients = o.to;
    a.tls_wanted = s.policy.mode() != smtpio::tls::mode::plaintext;
    asio::io_context io;
    std::optional<smtpio::session> sess;
    smtpio::envelope env = make_envelope(o);
    smtpio::body content = make_body(o);
    smtpio::send_options so;
    if (o.require_tls) so.demand = smtpio::tls_demand::verified_tls(o.tls_min);

    smtpio::async_connect(io.get_executor(), s.connect_host, o.port, s.policy, s.session,
                          [&](std::error_code ec, smtpio::session se) {
                              sess.emplace(std::move(se));
                              a.tls = sess->tls_report();
                              if (ec) {
                                  a.error = ec;
                                  a.failing_reply = sess->last_reply();
                                  return;
                              }
                              auto do_send = [&] {
                                  sess->async_send(std::move(env), std::move(content), so,
                                                   [&](std::error_code sec, smtpio::send_result r) {
                                                       a.sent = std::move(r);
                                                       (void)sec;
                                                       a.tls = sess->tls_report();
                                                       if (sess->is_open()) sess->async_quit([](std::error_code) {});
                                                   });
                              };
                              if (o.auth_user) {
                                  smtpio::credentials c(*o.auth_user, *o.auth_password,
                                                        o.auth_mech.value_or(smtpio::auth_mechanism::automatic));
                                  if (c.mechanism == smtpio::auth_mechanism::cram_md5) c.allow_cram_md5 = true;
                                  sess->async_authenticate(std::move(c), [&, do_send](std::error_code aec) {
                                      if (aec) {
                                          a.error = aec;
                                          a.failing_reply = sess->last_reply();
                                          if (sess->is_open()) sess->async_quit([](std::error_code) {});
                                          return;
                                      }
                                      do_send();
                                  });
                              } else {
                                  do_send();
                              }
                          });
    io.run();
    return a;
}

int finish(const options& o, const attempt& a) {
    int code = classify(a);
    if (o.json) std::cout << to_json(a, code).dump() << std::endl;
    else print_human(std::cout, a, code);
    return code;
}

int run_demo(options& o) {
    // The embedded server: STARTTLS with a certificate from a CA made in memory now.
    const std::string name = "mail.loopback.test";
    auto pki = smtpio_examples::demo_pki::make({name, "localhost", "127.0.0.1"});
    asio::io_context server_io;
    smtpio_examples::server_config cfg;
    cfg.hostname = name;
    cfg.cert_chain_pem = pki.server_cert_pem;
    cfg.key_pem = pki.server_key_pem;
    cfg.implicit_tls = o.implicit_tls;
    std::string stamped;
    cfg.on_message = [&](smtpio_examples::received_message&& m) { stamped = m.received_clause; };
    smtpio_examples::smtp_server server(server_io, cfg);
    server.start();
    std::thread server_thread([&] { server_io.run(); });

    o.host = "127.0.0.1";
    o.port = server.port();
    if (!o.level) o.level = smtpio::tls::level::verify;
    if (!o.servername) o.servername = name;
    if (!o.json && !o.count) o.transcript = true;
    if (!o.json)
        std::cout << "smtpio-send --demo: loopback server on 127.0.0.1:" << o.port << " (" << name
                  << "), certificate from an in-memory CA; sending with --tls "
                  << smtpio::tls::to_string(*o.level) << "\n";
    int code = exit_deferred;
    try {
        if (o.count) {
            code = run_bulk(o, &pki.ca_cert_pem);
        } else {
            setup s = make_setup(o, &pki.ca_cert_pem);
            attempt a = send_once(o, s);
            code = finish(o, a);
        }
        if (!o.json && !stamped.empty()) std::cout << "  the server stamped: " << stamped << "\n";
    } catch (const std::exception& e) {
        std::cerr << "smtpio-send: " << e.what() << "\n";
    }
    server.stop();
    server_io.stop();
    server_thread.join();
    return code;
}

int main(int argc, char** argv) {
    bool json = false, help = false;
    auto parsed = parse(argc, argv, json, help);
    if (help) return 0;
    if (auto* u = std::get_if<usage_error>(&parsed)) {
        if (json) std::cout << usage_json(*u).dump() << std::endl;
        else std::cerr << "smtpio-send: " << u->message << "\n(smtpio-send --help lists the options)\n";
        return exit_usage;
    }
    auto& o = std::get<options>(parsed);
    try {
        if (o.demo) return run_demo(o);
        if (o.count) return run_bulk(o);
        setup s = make_setup(o);
        return finish(o, send_once(o, s));
    } catch (const std::system_error& e) {
        usage_error u{error_name(e.code()), e.what()};
        if (o.json) std::cout << usage_json(u).dump() << std::endl;
        else std::cerr << "smtpio-send: " << e.what() << "\n";
        return exit_usage;
    } catch (const std::exception& e) {
        usage_error u{"usage", e.what()};
        if (o.json) std::cout << usage_json(u).dump() << std::endl;
        else std::cerr << "smtpio-send: " << e.what() << "\n";
        return exit_usage;
    }
}

} // namespace smtpio_send

int main(int argc, char** argv) { return smtpio_send::main(argc, argv); }
