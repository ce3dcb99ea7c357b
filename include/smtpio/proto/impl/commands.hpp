//
// smtpio/proto/impl/commands.hpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_IMPL_COMMANDS_HPP
#define SMTPIO_PROTO_IMPL_COMMANDS_HPP

#include <smtpio/detail/utf8.hpp>

#include <charconv>
#include <cstring>

namespace smtpio::proto {
namespace detail {

// Writes a command line into room the caller reserved for its longest form
// (buffer::prepare): no per-piece checks; literals become fixed-size copies.
struct line_writer {
    char* p;
    template <std::size_t N>
    void put(const char (&lit)[N]) noexcept {
        std::memcpy(p, lit, N - 1);
        p += N - 1;
    }
    void put(std::string_view s) noexcept {
        if (!s.empty()) std::memcpy(p, s.data(), s.size());
        p += s.size();
    }
    void put(char c) noexcept { *p++ = c; }
    void number(std::uint64_t v) noexcept { p = std::to_chars(p, p + 20, v).ptr; }
};

inline void append_number(buffer& out, std::uint64_t v) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    out.append(tmp, static_cast<std::size_t>(r.ptr - tmp));
}

inline bool is_sasl_name(std::string_view m) noexcept {
    if (m.empty() || m.size() > 20) return false;
    for (char c : m)
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
    return true;
}

inline bool is_base64_or_eq(std::string_view s) noexcept {
    if (s == "=") return true;
    if (s.size() % 4 != 0) return false;
    std::size_t pad = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (c == '=') {
            if (i + 2 < s.size()) return false;
            ++pad;
        } else if (!b64 || pad > 0) {
            return false;
        }
    }
    return pad <= 2;
}

} // namespace detail

inline std::string xtext_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c >= '!' && c <= '~' && c != '+' && c != '=') {
            out += ch;
        } else {
            out += '+';
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    return out;
}

inline std::string utf8_addr_xtext_encode(std::string_view s, bool unitext) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            // QCHAR = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e
            if (c >= 0x21 && c <= 0x7e && c != '+' && c != '=' && c != '\\') {
                out += static_cast<char>(c);
            } else {
                out += "\\x{";
                if (c >= 16) out += hex[c >> 4];
                out += hex[c & 0xf];
                out += '}';
            }
            ++i;
            continue;
        }
        std::size_t n = smtpio::detail::utf8_sequence_length(s.substr(i));
        if (n == 0) { // not UTF-8: validated earlier; encode the octet defensively
            out += "\\x{";
            out += hex[c >> 4];
            out += hex[c & 0xf];
            out += '}';
            ++i;
            continue;
        }
        if (unitext) {
            out.append(s.data() + i, n);
        } else {
            std::uint32_t cp = smtpio::detail::utf8_decode(s.substr(i), n);
            char tmp[8];
            auto r = std::to_chars(tmp, tmp + sizeof tmp, cp, 16);
            out += "\\x{";
            for (char* p = tmp; p != r.ptr; ++p) out += static_cast<char>(*p >= 'a' ? *p - 32 : *p);
            out += '}';
        }
        i += n;
    }
    return out;
}

inline std::error_code write_ehlo(buffer& out, std::string_view name) {
    if (auto ec = validate_helo_name(name)) return ec;
    out += "EHLO ";
    out += name;
    out += "\r\n";
    return {};
}

inline std::error_code write_helo(buffer& out, std::string_view name) {
    if (auto ec = validate_helo_name(name)) return ec;
    out += "HELO ";
    out += name;
    out += "\r\n";
    return {};
}

inline void write_starttls(buffer& out) { out += "STARTTLS\r\n"; }

inline std::error_code write_auth(buffer& out, std::string_view mechanism, std::optional<std::string_view> ir) {
    if (auto ec = check_no_controls(mechanism)) return ec;
    if (!detail::is_sasl_name(mechanism)) return errc::invalid_parameter;
    std::size_t len = 5 + mechanism.size() + 2;
    if (ir) {
        if (auto ec = check_no_controls(*ir)) return ec;
        if (!detail::is_base64_or_eq(*ir)) return errc::invalid_credentials;
        len += 1 + ir->size();
    }
    // RFC 4954 4: an initial response longer than the line limit is sent after a
    // 334 instead; the caller decides, here it is an error.
    if (len > max_command_line) return errc::command_too_long;
    out += "AUTH ";
    out += mechanism;
    if (ir) {
        out += ' ';
        out += *ir;
    }
    out += "\r\n";
    return {};
}

inline std::error_code write_auth_response(buffer& out, std::string_view b64) {
    if (auto ec = check_no_controls(b64)) return ec;
    if (b64 != "*" && !(b64.empty() || detail::is_base64_or_eq(b64))) return errc::invalid_credentials;
    // RFC 4954 4: responses are not bound by the 512 limit (12288 is a common server limit).
    if (b64.size() + 2 > 12288) return errc::command_too_long;
    out += b64;
    out += "\r\n";
    return {};
}

inline std::error_code write_mail(buffer& out, std::string_view path, const mail_parameters& p) {
    if (auto ec = validate_reverse_path(path, p.smtputf8)) return ec;
    return write_mail_checked_path(out, path, p);
}

inline std::error_code check_mail_parameters(const mail_parameters& p) {
    if (!p.envid.empty()) {
        if (auto ec = check_no_controls(p.envid)) return ec;
        if (!smtpio::detail::is_ascii(p.envid)) return errc::invalid_parameter;
        if (xtext_encode(p.envid).size() > max_envid_length) return errc::invalid_parameter;
    }
    if (p.body && *p.body == body_type::automatic) return errc::invalid_option;
    return {};
}

inline std::error_code check_rcpt_parameters(const rcpt_parameters& p) {
    if (!p.orcpt.empty()) {
        if (auto ec = check_no_controls(p.orcpt)) return ec;
        if (!smtpio::detail::is_ascii(p.orcpt) && !smtpio::detail::is_valid_utf8(p.orcpt)) return errc::invalid_utf8;
    }
    auto n = static_cast<std::uint8_t>(p.notify_on);
    if ((n & static_cast<std::uint8_t>(notify::never)) && (n & ~static_cast<std::uint8_t>(notify::never)))
        return errc::invalid_parameter; // NEVER cannot be combined (RFC 3461 4.1)
    if (n & ~0x0f) return errc::invalid_parameter;
    return {};
}

inline std::error_code write_mail_checked_path(buffer& out, std::string_view path, const mail_parameters& p) {
    if (auto ec = check_mail_parameters(p)) return ec;
    std::string envid = p.envid.empty() ? std::string() : xtext_encode(p.envid);
    // Written in one go into room for the longest line these parts make; nothing
    // is committed when the line is too long.
    detail::line_writer w{out.prepare(11 + path.size() + 1 + 26 + 15 + 9 + 9 + 7 + envid.size() + 11 + 2)};
    char* const begin = w.p;
    w.put("MAIL FROM:<");
    w.put(path);
    w.put('>');
    if (p.size) {
        w.put(" SIZE=");
        w.number(*p.size);
    }
    if (p.body) {
        switch (*p.body) {
        case body_type::seven_bit: w.put(" BODY=7BIT"); break;
        case body_type::eight_bit: w.put(" BODY=8BITMIME"); break;
        case body_type::binary: w.put(" BODY=BINARYMIME"); break;
        case body_type::automatic: break;
        }
    }
    if (p.smtputf8) w.put(" SMTPUTF8");
    if (p.ret == dsn_return::full) w.put(" RET=FULL");
    else if (p.ret == dsn_return::headers) w.put(" RET=HDRS");
    if (!envid.empty()) {
        w.put(" ENVID=");
        w.put(envid);
    }
    if (p.requiretls) w.put(" REQUIRETLS");
    w.put("\r\n");
    const auto n = static_cast<std::size_t>(w.p - begin);
    if (n > max_mail_line) return errc::command_too_long;
    out.commit(n);
    return {};
}

inline std::error_code write_rcpt(buffer& out, std::string_view path, const rcpt_parameters& p) {
    if (auto ec = validate_forward_path(path, p.smtputf8)) return ec;
    return write_rcpt_checked_path(out, path, p);
}

inline std::error_code write_rcpt_checked_path(buffer& out, std::string_view path, const rcpt_parameters& p) {
    if (auto ec = check_rcpt_parameters(p)) return ec;
    std::string orcpt;
    if (!p.orcpt.empty()) {
        orcpt = smtpio::detail::is_ascii(p.orcpt) ? "rfc822;" + xtext_encode(p.orcpt)
                                                  : "utf-8;" + utf8_addr_xtext_encode(p.orcpt, p.smtputf8);
        if (orcpt.size() > 500) return errc::invalid_parameter;
    }
    detail::line_writer w{out.prepare(9 + path.size() + 1 + 29 + 7 + orcpt.size() + 2)};
    char* const begin = w.p;
    w.put("RCPT TO:<");
    w.put(path);
    w.put('>');
    if (p.notify_on != notify::unspecified) {
        w.put(" NOTIFY=");
        if (has(p.notify_on, notify::never)) {
            w.put("NEVER");
        } else {
            bool first = true;
            auto add = [&](notify f, std::string_view name) {
                if (!has(p.notify_on, f)) return;
                if (!first) w.put(',');
                w.put(name);
                first = false;
            };
            add(notify::success, "SUCCESS");
            add(notify::failure, "FAILURE");
            add(notify::delay, "DELAY");
        }
    }
    if (!orcpt.empty()) {
        w.put(" ORCPT=");
        w.put(orcpt);
    }
    w.put("\r\n");
    const auto n = static_cast<std::size_t>(w.p - begin);
    if (n > max_rcpt_line) return errc::command_too_long;
    out.commit(n);
    return {};
}

inline void write_data(buffer& out) { out += "DATA\r\n"; }

inline std::size_t format_bdat(char* out, std::uint64_t size, bool last) noexcept {
    char* p = out;
    std::memcpy(p, "BDAT ", 5);
    p = std::to_chars(p + 5, out + max_bdat_line, size).ptr; // 20 digits at most
    if (last) {
        std::memcpy(p, " LAST", 5);
        p += 5;
    }
    std::memcpy(p, "\r\n", 2);
    return static_cast<std::size_t>(p + 2 - out);
}

inline void write_bdat(buffer& out, std::uint64_t size, bool last) {
    char line[max_bdat_line];
    out.append(line, format_bdat(line, size, last));
}

inline void write_rset(buffer& out) { out += "RSET\r\n"; }
inline void write_noop(buffer& out) { out += "NOOP\r\n"; }
inline void write_quit(buffer& out) { out += "QUIT\r\n"; }

} // namespace smtpio::proto

#endif // SMTPIO_PROTO_IMPL_COMMANDS_HPP
