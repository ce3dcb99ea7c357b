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

#endif // SMTPIO_HPP
