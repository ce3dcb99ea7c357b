//
// smtpio/detail/simd.hpp -- which vector instructions the scanners may use.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_DETAIL_SIMD_HPP
#define SMTPIO_DETAIL_SIMD_HPP

// SSE2 is part of every x86-64 CPU: used whenever the target has it (MSVC says
// so with _M_X64, or _M_IX86_FP for 32-bit x86; ARM64EC only emulates it).
#if defined(__SSE2__) || (defined(_M_X64) && !defined(_M_ARM64EC)) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <emmintrin.h>
#define SMTPIO_HAVE_SSE2 1
#endif
// AVX2 is not: code for it is compiled for any x86 CPU and used only when the
// CPU at hand has it (GCC and Clang target attributes).
#if defined(SMTPIO_HAVE_SSE2) && (defined(__GNUC__) || defined(__clang__)) &&                                \
    (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define SMTPIO_HAVE_AVX2_DISPATCH 1
#endif

#endif // SMTPIO_DETAIL_SIMD_HPP
