//
// examples/smtpio-send/bulk.hpp -- bulk mode: --count N --size BYTES
// --connections C --per-connection M.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_SEND_BULK_HPP
#define SMTPIO_SEND_BULK_HPP

#include "cli_options.hpp"

namespace smtpio_send {

/// Sends N generated messages over C concurrent connections, M per connection,
/// pipelined across messages; prints a progress bar on a terminal and a summary
/// (JSON with --json).  Returns the exit code over all recipients.
int run_bulk(const options& o, const std::string* ca_pem = nullptr);

} // namespace smtpio_send

#endif // SMTPIO_SEND_BULK_HPP
