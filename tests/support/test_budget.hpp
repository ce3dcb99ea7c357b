// How much of a randomized test's budget a build runs: all of it, or a part under
// AddressSanitizer or ThreadSanitizer, whose builds run each input several times
// slower.  The dev build runs every round, and the fuzzers search far wider.
#ifndef SMTPIO_TEST_SUPPORT_TEST_BUDGET_HPP
#define SMTPIO_TEST_SUPPORT_TEST_BUDGET_HPP

namespace smtpio::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool sanitized_build = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool sanitized_build = true;
#else
inline constexpr bool sanitized_build = false;
#endif
#else
inline constexpr bool sanitized_build = false;
#endif

/// `full` rounds, or `full / divisor` in a sanitized build.
constexpr int rounds(int full, int divisor) noexcept { return sanitized_build ? full / divisor : full; }

} // namespace smtpio::test

#endif
