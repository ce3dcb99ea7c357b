//
// smtpio/version.hpp -- the library's version.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_VERSION_HPP
#define SMTPIO_VERSION_HPP

/// The version as one number: major * 10000 + minor * 100 + patch.
#define SMTPIO_VERSION 100
/// The version as a string, "major.minor.patch".
#define SMTPIO_VERSION_STRING "0.1.0"

#endif // SMTPIO_VERSION_HPP
