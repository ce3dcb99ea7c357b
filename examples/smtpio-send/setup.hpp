//
// examples/smtpio-send/setup.hpp -- from options to a TLS context, a policy,
// session options, an envelope and a message.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_SEND_SETUP_HPP
#define SMTPIO_SEND_SETUP_HPP

#include "cli_options.hpp"

#include <smtpio.hpp>

#include <optional>
#include <string>

namespace smtpio_send {

struct setup {
    std::optional<smtpio::tls::context> ctx;
    smtpio::tls::any_policy policy = smtpio::policy::dangerous_plaintext();
    smtpio::session_options session;
    std::string connect_host;
};

/// The transcript printer for --transcript (empty when off).
smtpio::transcript_hook make_transcript(bool on);
/// Context, policy and session options.  Throws std::exception with a usable
/// message (a CA file that does not parse, ...).  `ca_pem` replaces --ca-file.
setup make_setup(const options& o, const std::string* ca_pem = nullptr);
/// The message of --data, or a small generated one.
smtpio::body make_body(const options& o);
/// The envelope of --from/--to/--require-tls (SMTPUTF8 when an address needs it).
smtpio::envelope make_envelope(const options& o);
/// An RFC 5322 date for now.
std::string rfc5322_date();

} // namespace smtpio_send

#endif // SMTPIO_SEND_SETUP_HPP
