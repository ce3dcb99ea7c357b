//
// smtpio/impl/reply.hpp -- definitions for smtpio/reply.hpp.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_IMPL_REPLY_HPP
#define SMTPIO_IMPL_REPLY_HPP

#include <smtpio/detail/utf8.hpp>

namespace smtpio {

inline std::string enhanced_status::to_string() const {
    if (empty()) return {};
    return std::to_string(cls) + '.' + std::to_string(subject) + '.' + std::to_string(detail);
}

inline std::string escape(std::string_view text, bool keep_newlines) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f) {
            if (c == '\\') out += "\\\\";
            else out += static_cast<char>(c);
            ++i;
            continue;
        }
        if (c == '\n' && keep_newlines) {
            out += '\n';
            ++i;
            continue;
        }
        if (c >= 0x80) {
            std::size_t n = detail::utf8_sequence_length(text.substr(i));
            if (n > 0) {
                out.append(text.data() + i, n);
                i += n;
                continue;
            }
        }
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 0xf];
        ++i;
    }
    return out;
}

inline std::string reply::escaped_text() const { return escape(text); }

inline std::string reply::to_string() const {
    if (empty()) return {};
    std::string s = std::to_string(code);
    if (!enhanced.empty()) {
        s += ' ';
        s += enhanced.to_string();
    }
    if (!text.empty()) {
        s += ' ';
        s += escape(text);
    }
    return s;
}

} // namespace smtpio

#endif // SMTPIO_IMPL_REPLY_HPP
