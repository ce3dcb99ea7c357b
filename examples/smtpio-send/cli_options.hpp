//
// examples/smtpio-send/cli_options.hpp -- smtpio-send's options, parsed and
// checked before anything connects (exit 64 on any usage error).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_SEND_CLI_OPTIONS_HPP
#define SMTPIO_SEND_CLI_OPTIONS_HPP

#include <smtpio.hpp>

#include <cstdint>
#include <optional>
#include <variant>
#include <string>
#include <vector>

namespace smtpio_send {

/// A usage error: the message names the option or argument at fault.
struct usage_error {
    std::string code;    ///< An errc name ("invalid_address") or "usage".
    std::string message;
};

struct options {
    // Connection
    std::string host;
    std::uint16_t port = 0;
    bool port_given = false;
    std::optional<std::string> mx;
    bool implicit_tls = false;
    std::optional<std::string> helo;
    std::optional<double> timeout;
    // TLS
    std::optional<smtpio::tls::level> level;
    std::optional<std::string> ca_file;
    std::optional<std::string> servername;
    std::vector<smtpio::tls::pin> pins;
    std::vector<smtpio::tls::tlsa_record> tlsa;
    smtpio::tls::version tls_min = smtpio::tls::version::tls1_2;
    bool require_tls = false;
    bool no_resumption = false;
    bool chunking = false;
    // Envelope and message
    std::string from;
    bool from_given = false;
    std::vector<std::string> to;
    std::optional<std::string> data_path; ///< "-" for standard input
    std::string data_stdin;               ///< standard input, read before connecting
    std::optional<std::string> auth_user;
    std::optional<std::string> auth_password;
    std::optional<smtpio::auth_mechanism> auth_mech;
    bool allow_plaintext_auth = false;
    // Output
    bool json = false;
    bool transcript = false;
    // Bulk
    std::optional<std::uint64_t> count;
    std::uint64_t size = 2048;
    std::uint64_t connections = 1;
    std::uint64_t per_connection = 0; ///< 0: unlimited
    // Demo
    bool demo = false;

    /// The level in force: --tls, else may on port 25 and verify otherwise.
    smtpio::tls::level effective_level() const {
        if (level) return *level;
        return port == 25 && !implicit_tls ? smtpio::tls::level::may : smtpio::tls::level::verify;
    }
};

/// Parses argv.  Returns the options, or a usage error (the caller prints it,
/// exits 64).  `json_requested` is set as soon as --json is seen, so even a
/// usage error can be reported as JSON.
std::variant<options, usage_error> parse(int argc, char** argv, bool& json_requested, bool& help_printed);

} // namespace smtpio_send

#endif // SMTPIO_SEND_CLI_OPTIONS_HPP
