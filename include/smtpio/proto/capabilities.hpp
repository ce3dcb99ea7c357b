//
// smtpio/proto/capabilities.hpp -- what a server advertised in its EHLO reply.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_CAPABILITIES_HPP
#define SMTPIO_PROTO_CAPABILITIES_HPP

#include <smtpio/proto/reply_parser.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtpio::proto {

/// One advertised extension: its keyword (upper-cased) and its parameters.
struct extension {
    std::string keyword;              ///< e.g. "AUTH", "SIZE", "X-FOO" (ASCII upper case).
    std::vector<std::string> params;  ///< Space-separated parameters, as sent.
};

/// The service extensions a server advertised in a 250 reply to EHLO
/// (RFC 5321 4.1.1.1): the first line names the server and is not a capability;
/// every other line is `keyword *(SP param)`, keywords compared case-insensitively.
class capabilities {
public:
    capabilities() = default;

    /// Parses the lines of a 250 EHLO reply.  Lines that are not valid ehlo-lines
    /// (a keyword of letters, digits and '-') are ignored rather than trusted.
    static capabilities from_ehlo(const reply_view& r);

    /// The domain (or text) from the first line of the EHLO reply.
    const std::string& server_name() const noexcept { return server_name_; }
    /// True when `keyword` (any case) was advertised.
    bool has(std::string_view keyword) const noexcept { return find(keyword) != nullptr; }
    /// The extension with that keyword (any case), or null.
    const extension* find(std::string_view keyword) const noexcept;
    /// Every advertised extension, in the server's order.
    const std::vector<extension>& all() const noexcept { return exts_; }

    bool pipelining() const noexcept { return pipelining_; }     ///< RFC 2920
    bool starttls() const noexcept { return starttls_; }         ///< RFC 3207
    bool eightbitmime() const noexcept { return eightbitmime_; } ///< RFC 6152
    bool smtputf8() const noexcept { return smtputf8_; }         ///< RFC 6531
    bool dsn() const noexcept { return dsn_; }                   ///< RFC 3461
    bool chunking() const noexcept { return chunking_; }         ///< RFC 3030
    bool binarymime() const noexcept { return binarymime_; }     ///< RFC 3030
    bool enhanced_status_codes() const noexcept { return enhanced_; } ///< RFC 2034
    bool requiretls() const noexcept { return requiretls_; }     ///< RFC 8689
    bool size_advertised() const noexcept { return size_advertised_; } ///< RFC 1870
    /// The SIZE limit in octets; 0 when SIZE was not advertised, had no value or said 0 (no limit).
    std::uint64_t size_limit() const noexcept { return size_limit_; }
    bool auth() const noexcept { return !auth_.empty(); }        ///< RFC 4954
    /// SASL mechanisms from AUTH (and the pre-standard "AUTH=" form), upper-cased.
    const std::vector<std::string>& auth_mechanisms() const noexcept { return auth_; }
    /// True when `mechanism` (any case) is among the AUTH mechanisms.
    bool supports_auth(std::string_view mechanism) const noexcept;

    /// Turns an advertised extension off (for servers that advertise one and break it).
    void disable(std::string_view keyword);

private:
    void index();
    extension* find_mutable(std::string_view keyword) noexcept;

    std::string server_name_;
    std::vector<extension> exts_;
    std::vector<std::string> auth_;
    std::uint64_t size_limit_ = 0;
    bool pipelining_ = false, starttls_ = false, eightbitmime_ = false, smtputf8_ = false, dsn_ = false,
         chunking_ = false, binarymime_ = false, enhanced_ = false, requiretls_ = false,
         size_advertised_ = false;
};

/// ASCII case-insensitive equality.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
        if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
        if (x != y) return false;
    }
    return true;
}

} // namespace smtpio::proto

#include <smtpio/proto/impl/capabilities.hpp>

#endif // SMTPIO_PROTO_CAPABILITIES_HPP
