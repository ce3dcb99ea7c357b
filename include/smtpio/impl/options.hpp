//
// smtpio/impl/options.hpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_IMPL_OPTIONS_HPP
#define SMTPIO_IMPL_OPTIONS_HPP

namespace smtpio {

inline std::error_code tls_demand::check(const tls::report& r) const {
    bool need_tls = encrypted || verified || min_version.has_value() || dane;
    if (need_tls && !r.established) return errc::demand_not_encrypted;
    if (verified && !r.verified) return errc::demand_not_verified;
    if (dane && !r.dane_authenticated) return errc::demand_not_authenticated_by_dane;
    if (min_version) {
        auto v = tls::parse_version(r.version);
        if (!v || static_cast<int>(*v) < static_cast<int>(*min_version)) return errc::demand_tls_version;
    }
    return {};
}

} // namespace smtpio

#endif // SMTPIO_IMPL_OPTIONS_HPP
