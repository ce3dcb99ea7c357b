//
// smtpio.hpp -- the one include most users need.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_HPP
#define SMTPIO_HPP

#include <smtpio/version.hpp>
#include <smtpio/error.hpp>
#include <smtpio/reply.hpp>
#include <smtpio/envelope.hpp>
#include <smtpio/body.hpp>
#include <smtpio/result.hpp>
#include <smtpio/auth.hpp>
#include <smtpio/options.hpp>
#include <smtpio/tls/context.hpp>
#include <smtpio/tls/policy.hpp>
#include <smtpio/tls/report.hpp>
#include <smtpio/tls/stream.hpp>
#include <smtpio/session.hpp>
#include <smtpio/connect.hpp>

#endif // SMTPIO_HPP
