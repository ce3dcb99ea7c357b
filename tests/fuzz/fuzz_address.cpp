//
// fuzz_address -- validation of mailboxes, domains and EHLO names (RFC 5321
// 4.1.2, RFC 6531) and the MAIL/RCPT/EHLO command writers on any string.
//
// Input: [flags] [split] [bytes...]
//   flags bit 0      allow UTF-8 (SMTPUTF8)
//   flags bits 1-2   RET (0 none, 1 FULL, 2 HDRS)
//   flags bits 3-6   NOTIFY bits (never, success, failure, delay)
//   flags bit 7      REQUIRETLS
//   split            the first `split % (n + 1)` octets are the address (also
//                    tried as a domain and an EHLO name); the rest is the ENVID
//                    and the ORCPT.
//
// Invariants:
//  - validate_mailbox/domain/helo_name and the path variants never crash and
//    return an smtpio error or nothing;
//  - a valid mailbox holds no control character, fits the path limit (256 with
//    the brackets), has a local part of at most 64 octets and a valid domain
//    after its last "@", is ASCII unless UTF-8 was allowed, and is well-formed
//    UTF-8;
//  - when the address validates, write_mail and write_rcpt give exactly one
//    line, "MAIL FROM:<addr>" / "RCPT TO:<addr>" then parameters, ending in the
//    only CRLF, with no CR, LF, NUL or other control character inside, within
//    the command limits; when they refuse, they append nothing;
//  - write_ehlo succeeds exactly when validate_helo_name does, with "EHLO name\r\n";
//  - xtext_encode (RFC 3461 4) decodes back to its input and uses only "!"-"~".
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "fuzz_common.hpp"

#include <smtpio/detail/utf8.hpp>
#include <smtpio/proto/commands.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using smtpio::fuzz::show;
namespace proto = smtpio::proto;

namespace {

void check_error(std::error_code ec) {
    if (ec) SMTPIO_FUZZ_CHECK(ec.category() == smtpio::smtpio_category(), ec.message());
}

bool has_controls(std::string_view s) {
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) return true;
    }
    return false;
}

// One command line: `prefix` first, the only CRLF last, no control octet between.
void check_line(std::string_view out, std::string_view prefix, std::size_t max) {
    SMTPIO_FUZZ_CHECK(out.size() <= max, std::to_string(out.size()) + " octets: " + show(out));
    SMTPIO_FUZZ_CHECK(out.substr(0, prefix.size()) == prefix, show(out) + " does not start with " + show(prefix));
    SMTPIO_FUZZ_CHECK(out.size() >= 2 && out.substr(out.size() - 2) == "\r\n", "no CRLF: " + show(out));
    SMTPIO_FUZZ_CHECK(!has_controls(out.substr(0, out.size() - 2)), "control octet in " + show(out));
}

std::string xtext_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '+') {
            out += s[i];
            continue;
        }
        SMTPIO_FUZZ_CHECK(i + 2 < s.size(), "truncated xtext " + show(s));
        auto hex = [&](char c) -> unsigned {
            SMTPIO_FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'), "xtext digit in " + show(s));
            return c <= '9' ? static_cast<unsigned>(c - '0') : static_cast<unsigned>(c - 'A' + 10);
        };
        out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
        i += 2;
    }
    return out;
}

void check_mailbox(std::string_view a, bool utf8) {
    auto ec = proto::validate_mailbox(a, utf8);
    check_error(ec);
    if (ec) return;
    SMTPIO_FUZZ_CHECK(!has_controls(a), show(a));
    SMTPIO_FUZZ_CHECK(a.size() + 2 <= proto::max_path_length, std::to_string(a.size()));
    SMTPIO_FUZZ_CHECK(utf8 || smtpio::detail::is_ascii(a), "UTF-8 accepted without SMTPUTF8: " + show(a));
    SMTPIO_FUZZ_CHECK(smtpio::detail::is_valid_utf8(a), "ill-formed UTF-8 accepted: " + show(a));
    std::size_t at = a.rfind('@');
    SMTPIO_FUZZ_CHECK(at != std::string_view::npos && at > 0, show(a));
    SMTPIO_FUZZ_CHECK(at <= proto::max_local_part_length, "local part of " + std::to_string(at));
    SMTPIO_FUZZ_CHECK(!proto::validate_domain(a.substr(at + 1), utf8), "domain of " + show(a));
    SMTPIO_FUZZ_CHECK(!proto::validate_forward_path(a, utf8) && !proto::validate_reverse_path(a, utf8), show(a));
    SMTPIO_FUZZ_CHECK(a.find('<') == std::string_view::npos || a.front() == '"', "'<' outside quotes: " + show(a));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t flags = data[0];
    const bool utf8 = (flags & 1) != 0;
    std::string_view rest = smtpio::fuzz::as_text(data + 2, size - 2);
    std::size_t cut = data[1] % (rest.size() + 1);
    std::string_view addr = rest.substr(0, cut);
    std::string_view extra = rest.substr(cut);

    // Validators: never crash, only smtpio errors.
    check_mailbox(addr, utf8);
    check_error(proto::validate_domain(addr, utf8));
    check_error(proto::validate_reverse_path(addr, utf8));
    check_error(proto::validate_forward_path(addr, utf8));
    check_error(proto::check_no_controls(addr));
    (void)proto::is_ipv4_address(addr);
    (void)proto::is_ipv6_address(addr);
    (void)proto::needs_quoting(addr, utf8);
    if (!proto::validate_domain(addr, utf8)) {
        SMTPIO_FUZZ_CHECK(!has_controls(addr) && addr.size() <= proto::max_domain_length, show(addr));
        SMTPIO_FUZZ_CHECK(utf8 || smtpio::detail::is_ascii(addr), show(addr));
    }

    // EHLO: written exactly when the name is valid.
    {
        auto ec = proto::validate_helo_name(addr);
        check_error(ec);
        proto::buffer out;
        out += "x";
        auto wec = proto::write_ehlo(out, addr);
        SMTPIO_FUZZ_CHECK(ec == wec, ec.message() + " vs " + wec.message());
        if (ec) {
            SMTPIO_FUZZ_CHECK(out.view() == "x", "write_ehlo appended on error");
        } else {
            SMTPIO_FUZZ_CHECK(out.view().substr(1) == "EHLO " + std::string(addr) + "\r\n", show(out.view()));
            check_line(out.view().substr(1), "EHLO ", proto::max_command_line);
            SMTPIO_FUZZ_CHECK(smtpio::detail::is_ascii(addr), show(addr));
        }
    }

    // MAIL FROM with parameters.
    const bool addr_ok = !proto::validate_mailbox(addr, utf8);
    {
        proto::mail_parameters p;
        p.smtputf8 = utf8;
        unsigned ret = (flags >> 1) & 3u;
        p.ret = ret == 1 ? smtpio::dsn_return::full : ret == 2 ? smtpio::dsn_return::headers : smtpio::dsn_return::unspecified;
        p.envid = extra.substr(0, extra.size() / 2);
        p.requiretls = (flags & 0x80) != 0;
        p.size = static_cast<std::uint64_t>(size) * 1000003u;
        p.body = smtpio::body_type::eight_bit;
        proto::buffer out;
        out += "x";
        auto ec = proto::write_mail(out, addr, p);
        check_error(ec);
        if (ec) {
            SMTPIO_FUZZ_CHECK(out.view() == "x", "write_mail appended on error: " + show(out.view()));
        } else {
            SMTPIO_FUZZ_CHECK(addr_ok || addr.empty(), "MAIL written for an invalid path " + show(addr));
            check_line(out.view().substr(1), "MAIL FROM:<" + std::string(addr) + ">", proto::max_mail_line);
        }
        if (addr_ok && !ec) {
            // The ENVID on the wire decodes to the caller's.
            std::string_view line = out.view().substr(1 + 11 + addr.size() + 1); // after "MAIL FROM:<addr>"
            std::size_t e = line.find(" ENVID=");
            if (!p.envid.empty()) {
                SMTPIO_FUZZ_CHECK(e != std::string_view::npos, show(line));
                std::string_view v = line.substr(e + 7);
                v = v.substr(0, v.find_first_of(" \r"));
                SMTPIO_FUZZ_CHECK(xtext_decode(v) == p.envid, show(v));
            }
        }
    }

    // RCPT TO with NOTIFY and ORCPT.
    {
        proto::rcpt_parameters p;
        p.smtputf8 = utf8;
        p.notify_on = static_cast<smtpio::notify>((flags >> 3) & 0x0f);
        p.orcpt = extra.substr(extra.size() / 2);
        proto::buffer out;
        auto ec = proto::write_rcpt(out, addr, p);
        check_error(ec);
        if (ec) {
            SMTPIO_FUZZ_CHECK(out.empty(), "write_rcpt appended on error: " + show(out.view()));
        } else {
            SMTPIO_FUZZ_CHECK(addr_ok || proto::iequals(addr, "postmaster"), "RCPT written for " + show(addr));
            check_line(out.view(), "RCPT TO:<" + std::string(addr) + ">", proto::max_rcpt_line);
        }
    }

    // xtext round trip, and the UTF-8 forms print no control octet.
    {
        std::string x = proto::xtext_encode(extra);
        for (char c : x) SMTPIO_FUZZ_CHECK(c >= '!' && c <= '~', show(x));
        SMTPIO_FUZZ_CHECK(xtext_decode(x) == extra, show(x));
        SMTPIO_FUZZ_CHECK(!has_controls(proto::utf8_addr_xtext_encode(extra, false)), show(extra));
        std::string u = proto::utf8_addr_xtext_encode(extra, false);
        for (char c : u) SMTPIO_FUZZ_CHECK(c >= '!' && c <= '~', "utf-8-addr-xtext " + show(u));
        SMTPIO_FUZZ_CHECK(!has_controls(proto::utf8_addr_xtext_encode(extra, true)), show(extra));
    }
    return 0;
}
