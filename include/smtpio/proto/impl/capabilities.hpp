//
// smtpio/proto/impl/capabilities.hpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_IMPL_CAPABILITIES_HPP
#define SMTPIO_PROTO_IMPL_CAPABILITIES_HPP

#include <algorithm>

namespace smtpio::proto {

namespace detail {

inline std::string to_upper_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return out;
}

// ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")  (RFC 5321 4.1.1.1)
inline bool is_ehlo_keyword(std::string_view k) noexcept {
    if (k.empty() || k.size() > 64) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    if (!alnum(k[0])) return false;
    return std::all_of(k.begin(), k.end(), [&](char c) { return alnum(c) || c == '-'; });
}

inline std::vector<std::string_view> split_spaces(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
        if (j > i) out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

} // namespace detail

inline capabilities capabilities::from_ehlo(const reply_view& r) {
    capabilities caps;
    if (r.lines == 0) return caps;
    // First line: Domain [ SP ehlo-greet ].
    std::string_view first = r.line(0);
    caps.server_name_ = std::string(first.substr(0, first.find(' ')));
    for (std::size_t i = 1; i < r.lines; ++i) {
        std::string_view line = r.line(i);
        // The pre-standard "AUTH=LOGIN PLAIN" form (some Microsoft servers) names AUTH too.
        // The keyword ends at the first space or tab: split_spaces() separates the
        // parameters at both, so a tab must not hide inside a keyword or an AUTH=
        // mechanism ("AUTH=PLAIN<TAB>LOGIN" is two mechanisms, not one).
        std::string_view kw_part = line.substr(0, line.find_first_of(" \t"));
        std::string_view rest = kw_part.size() < line.size() ? line.substr(kw_part.size() + 1) : std::string_view{};
        if (kw_part.size() > 5 && iequals(kw_part.substr(0, 5), "AUTH=")) {
            extension e{"AUTH", {}};
            e.params.emplace_back(kw_part.substr(5));
            for (auto p : detail::split_spaces(rest)) e.params.emplace_back(p);
            // Merge with a standard AUTH line if present.
            if (auto* existing = caps.find_mutable("AUTH")) {
                for (auto& p : e.params) existing->params.push_back(p);
            } else {
                caps.exts_.push_back(std::move(e));
            }
            continue;
        }
        if (!detail::is_ehlo_keyword(kw_part)) continue;
        extension e{detail::to_upper_ascii(kw_part), {}};
        for (auto p : detail::split_spaces(rest)) e.params.emplace_back(p);
        if (auto* existing = caps.find_mutable(e.keyword)) {
            for (auto& p : e.params) existing->params.push_back(p);
            continue;
        }
        caps.exts_.push_back(std::move(e));
    }
    caps.index();
    return caps;
}

inline void capabilities::index() {
    pipelining_ = has("PIPELINING");
    starttls_ = has("STARTTLS");
    eightbitmime_ = has("8BITMIME");
    smtputf8_ = has("SMTPUTF8");
    dsn_ = has("DSN");
    chunking_ = has("CHUNKING");
    binarymime_ = has("BINARYMIME");
    enhanced_ = has("ENHANCEDSTATUSCODES");
    requiretls_ = has("REQUIRETLS");
    size_limit_ = 0;
    size_advertised_ = false;
    if (const auto* e = find("SIZE")) {
        size_advertised_ = true;
        if (!e->params.empty()) {
            std::uint64_t v = 0;
            bool ok = !e->params[0].empty() && e->params[0].size() <= 19;
            for (char c : e->params[0]) {
                if (c < '0' || c > '9') { ok = false; break; }
                v = v * 10 + static_cast<std::uint64_t>(c - '0');
            }
            if (ok) size_limit_ = v;
        }
    }
    auth_.clear();
    if (const auto* e = find("AUTH")) {
        for (const auto& p : e->params) {
            std::string m = detail::to_upper_ascii(p);
            if (std::find(auth_.begin(), auth_.end(), m) == auth_.end()) auth_.push_back(std::move(m));
        }
    }
}

inline const extension* capabilities::find(std::string_view keyword) const noexcept {
    for (const auto& e : exts_)
        if (iequals(e.keyword, keyword)) return &e;
    return nullptr;
}

inline extension* capabilities::find_mutable(std::string_view keyword) noexcept {
    for (auto& e : exts_)
        if (iequals(e.keyword, keyword)) return &e;
    return nullptr;
}

inline bool capabilities::supports_auth(std::string_view mechanism) const noexcept {
    for (const auto& m : auth_)
        if (iequals(m, mechanism)) return true;
    return false;
}

inline void capabilities::disable(std::string_view keyword) {
    exts_.erase(std::remove_if(exts_.begin(), exts_.end(), [&](const extension& e) { return iequals(e.keyword, keyword); }),
                exts_.end());
    index();
}

} // namespace smtpio::proto

#endif // SMTPIO_PROTO_IMPL_CAPABILITIES_HPP
