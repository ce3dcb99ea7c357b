//
// examples/smtpio-send/cli_options.cpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "cli_options.hpp"

#include <CLI/CLI.hpp>

#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <variant>

namespace smtpio_send {
namespace {

// CR, LF or NUL (or another control character) in an argument: rejected, never sent.
bool has_controls(const std::string& s) {
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) return true;
    }
    return false;
}

std::string name_of(std::error_code ec) {
    if (ec.category() == smtpio::smtpio_category()) return std::string(smtpio::to_string(static_cast<smtpio::errc>(ec.value())));
    return "usage";
}

usage_error bad(std::string code, std::string message) { return {std::move(code), std::move(message)}; }

// HOST[:PORT]; IPv6 as [::1]:PORT or a bare IPv6 address.
std::optional<usage_error> parse_server(const std::string& s, options& o) {
    std::string host = s, port;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string::npos) return bad("usage", "--server: missing ']' in '" + s + "'");
        host = s.substr(1, close - 1);
        if (close + 1 < s.size()) {
            if (s[close + 1] != ':') return bad("usage", "--server: expected ':PORT' after ']' in '" + s + "'");
            port = s.substr(close + 2);
        }
    } else if (std::count(s.begin(), s.end(), ':') == 1) {
        auto colon = s.find(':');
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
    }
    if (host.empty()) return bad("usage", "--server: no host in '" + s + "'");
    if (host.find(':') == std::string::npos) {
        if (auto ec = smtpio::proto::validate_domain(host, false); ec && !smtpio::proto::is_ipv4_address(host))
            return bad(name_of(ec), "--server: '" + host + "' is not a host name or IP address");
    } else if (!smtpio::proto::is_ipv6_address(host)) {
        return bad("usage", "--server: '" + host + "' is not an IPv6 address");
    }
    o.host = host;
    if (!port.empty()) {
        unsigned long v = 0;
        if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
            (v = std::stoul(port)) == 0 || v > 65535)
            return bad("usage", "--server: invalid port '" + port + "'");
        o.port = static_cast<std::uint16_t>(v);
        o.port_given = true;
    }
    return std::nullopt;
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return std::nullopt;
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

} // namespace

std::variant<options, usage_error> parse(int argc, char** argv, bool& json_requested, bool& help_printed) {
    for (int i = 1; i < argc; ++i)
        if (std::string_view(argv[i]) == "--json") json_requested = true;

    CLI::App app{"smtpio-send: send mail over SMTP with the TLS you choose (the smtpio library's CLI)", "smtpio-send"};
    app.set_version_flag("--version", SMTPIO_VERSION_STRING);
    options o;
    std::string server, tls_level, tls_min, auth_mech, password_file;
    std::vector<std::string> fingerprints, tlsa;
    std::optional<std::string> from;
    std::optional<std::string> mx;

    auto* g1 = "Connection";
    app.add_option("--server", server, "next hop HOST[:PORT] (default port 25; 465 with --implicit-tls); IPv6 as [::1]:PORT")->group(g1);
    app.add_option("--mx", mx, "deliver by MX lookup of DOMAIN instead of --server")->group(g1);
    app.add_flag("--implicit-tls", o.implicit_tls, "TLS from the first byte (RFC 8314)")->group(g1);
    app.add_option("--helo", o.helo, "EHLO name (default: the local host name)")->group(g1);
    app.add_option("--timeout", o.timeout, "upper bound for every phase deadline, in seconds")->group(g1);
    auto* g2 = "TLS policy";
    app.add_option("--tls", tls_level, "none | may | encrypt | verify | secure | fingerprint | dane | dane-only (default: may on port 25, verify otherwise)")->group(g2);
    app.add_option("--ca-file", o.ca_file, "trust anchors, PEM (default: the system store)")->group(g2);
    app.add_option("--servername", o.servername, "reference identity for SNI and name checks (default: HOST)")->group(g2);
    app.add_option("--fingerprint", fingerprints, "pin sha256:HEX on the certificate or its public key (repeatable)")->group(g2);
    app.add_option("--tlsa", tlsa, "TLSA record \"U S M HEX\" (repeatable; for dane and dane-only)")->group(g2);
    app.add_option("--tls-min", tls_min, "protocol floor: 1.2 or 1.3 (default 1.2)")->group(g2);
    app.add_flag("--require-tls", o.require_tls, "REQUIRETLS for this message (RFC 8689)")->group(g2);
    app.add_flag("--no-resumption", o.no_resumption, "never resume a TLS session (full handshakes; for benchmarks)")->group(g2);
    auto* g3 = "Envelope and message";
    app.add_option("--from", from, "envelope sender ('' allowed)")->group(g3);
    app.add_option("--to", o.to, "recipient (repeatable)")->group(g3);
    app.add_option("--data", o.data_path, "the message as-is, from FILE or - (standard input); default: a small generated message")->group(g3);
    app.add_flag("--chunking", o.chunking, "BDAT (RFC 3030) instead of DATA when the server offers CHUNKING (in bulk mode: several messages per write)")->group(g3);
    app.add_option("--auth-user", o.auth_user, "AUTH user name")->group(g3);
    app.add_option("--auth-password-file", password_file, "file holding the AUTH password (one trailing newline ignored)")->group(g3);
    app.add_option("--auth-mech", auth_mech, "PLAIN | LOGIN | XOAUTH2 | SCRAM-SHA-256 | CRAM-MD5 (default: the strongest shared)")->group(g3);
    app.add_flag("--allow-plaintext-auth", o.allow_plaintext_auth, "allow AUTH without TLS (credentials readable on the path)")->group(g3);
    auto* g4 = "Output";
    app.add_flag("--json", o.json, "one JSON object on stdout")->group(g4);
    app.add_flag("--transcript", o.transcript, "the conversation on stderr, credentials redacted")->group(g4);
    auto* g5 = "Bulk";
    app.add_option("--count", o.count, "send N generated messages")->group(g5);
    app.add_option("--size", o.size, "size of each generated message in octets (default 2048)")->group(g5);
    app.add_option("--connections", o.connections, "concurrent connections (default 1)")->group(g5);
    app.add_option("--per-connection", o.per_connection,
                   "messages per connection before reconnecting (default: N shared among the connections)")
        ->group(g5);
    auto* g6 = "Demo";
    app.add_flag("--demo", o.demo, "start the embedded loopback server and send to it over verified STARTTLS")->group(g6);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        help_printed = true;
        return o;
    } catch (const CLI::CallForVersion&) {
        std::cout << SMTPIO_VERSION_STRING << "\n";
        help_printed = true;
        return o;
    } catch (const CLI::ParseError& e) {
        return bad("usage", e.what());
    }

    // Every argument: no control characters anywhere.  Name the option at fault.
    for (int i = 1; i < argc; ++i) {
        if (!has_controls(argv[i])) continue;
        std::string arg = argv[i], opt;
        if (arg.rfind("--", 0) == 0) opt = arg.substr(0, arg.find('='));
        else if (i > 1 && std::string_view(argv[i - 1]).rfind("--", 0) == 0) opt = argv[i - 1];
        return bad("control_character", (opt.empty() ? "argument " + std::to_string(i) : opt) +
                                            ": the value holds a control character (CR, LF, NUL, ...): refused before connecting");
    }

    if (mx) return bad("usage", "--mx needs the delivery layer (MX lookup), which this build does not have yet; use --server");
    if (o.demo && !server.empty()) return bad("usage", "--demo sends to the embedded server: do not give --server");
    if (!o.demo && server.empty()) return bad("usage", "--server HOST[:PORT] is required (or --demo)");
    if (!server.empty()) {
        if (auto e = parse_server(server, o)) return *e;
    }
    if (!o.port_given) o.port = o.implicit_tls ? 465 : 25;

    if (!tls_level.empty()) {
        auto l = smtpio::tls::parse_level(tls_level);
        if (!l) return bad("usage", "--tls: unknown level '" + tls_level + "' (none, may, encrypt, verify, secure, fingerprint, dane, dane-only)");
        o.level = *l;
    }
    if (o.implicit_tls && o.effective_level() == smtpio::tls::level::none)
        return bad("usage", "--implicit-tls contradicts --tls none");
    if (!tls_min.empty()) {
        if (tls_min == "1.2") o.tls_min = smtpio::tls::version::tls1_2;
        else if (tls_min == "1.3") o.tls_min = smtpio::tls::version::tls1_3;
        else return bad("usage", "--tls-min: expected 1.2 or 1.3, not '" + tls_min + "'");
    }
    for (const auto& f : fingerprints) {
        std::string why;
        auto p = smtpio::tls::parse_pin(f, &why);
        if (!p) return bad("usage", "--fingerprint '" + f + "': " + (why.empty() ? "expected sha256: and 64 hex digits" : why));
        o.pins.push_back(*p);
    }
    for (const auto& t : tlsa) {
        std::string why;
        auto r = smtpio::tls::parse_tlsa_record(t, &why);
        if (!r) return bad("usage", "--tlsa '" + t + "': " + (why.empty() ? "expected \"U S M HEX\"" : why));
        o.tlsa.push_back(*r);
    }
    auto lvl = o.effective_level();
    if (lvl == smtpio::tls::level::fingerprint && o.pins.empty())
        return bad("usage", "--tls fingerprint needs at least one --fingerprint sha256:HEX");
    if (lvl == smtpio::tls::level::dane_only && o.tlsa.empty())
        return bad("usage", "--tls dane-only needs at least one --tlsa \"U S M HEX\" record");
    if (!o.pins.empty() && lvl != smtpio::tls::level::fingerprint)
        return bad("usage", "--fingerprint is used only with --tls fingerprint");
    if (!o.tlsa.empty() && lvl != smtpio::tls::level::dane && lvl != smtpio::tls::level::dane_only)
        return bad("usage", "--tlsa is used only with --tls dane or dane-only");
    if (o.servername) {
        // A trailing dot names the same host (an absolute name); SNI never carries it.
        if (o.servername->size() > 1 && o.servername->back() == '.') o.servername->pop_back();
        if (auto ec = smtpio::proto::validate_domain(*o.servername, true); ec && !smtpio::proto::is_ipv4_address(*o.servername) &&
                                                                              !smtpio::proto::is_ipv6_address(*o.servername))
            return bad(name_of(ec), "--servername: '" + *o.servername + "' is not a host name or IP address");
    }
    if (o.ca_file) {
        std::ifstream f(*o.ca_file);
        if (!f) return bad("usage", "--ca-file: cannot read '" + *o.ca_file + "'");
    }
    if (o.helo) {
        if (auto ec = smtpio::proto::validate_helo_name(*o.helo))
            return bad(name_of(ec), "--helo: '" + smtpio::escape(*o.helo) + "' is not a domain or address literal");
    }
    if (o.timeout && !(*o.timeout > 0 && std::isfinite(*o.timeout)))
        return bad("usage", "--timeout: expected a positive number of seconds");
    // Above every phase's default it bounds nothing; a day is far above them all,
    // and far below what the deadline's clock can hold.
    if (o.timeout) o.timeout = std::min(*o.timeout, 86400.0);

    // Envelope.
    if (from) {
        o.from = *from;
        o.from_given = true;
    } else {
        o.from = o.demo ? "demo@smtpio.test" : "";
    }
    if (o.to.empty() && o.demo) o.to.push_back("postmaster@loopback.test");
    if (o.to.empty()) return bad("no_recipients", "--to ADDR is required (at least one recipient)");
    if (o.from_given || o.demo) {
        if (auto ec = smtpio::proto::validate_reverse_path(o.from, true))
            return bad(name_of(ec), "--from: '" + smtpio::escape(o.from) + "': " + ec.message());
    }
    for (const auto& t : o.to) {
        if (auto ec = smtpio::proto::validate_forward_path(t, true))
            return bad(name_of(ec), "--to: '" + smtpio::escape(t) + "': " + ec.message());
    }
    // Addresses with UTF-8 ask for SMTPUTF8 (checked against the server later).
    // AUTH.
    if (!auth_mech.empty()) {
        auto m = smtpio::parse_auth_mechanism(auth_mech);
        if (!m) return bad("usage", "--auth-mech: unknown mechanism '" + auth_mech + "'");
        o.auth_mech = *m;
    }
    if (o.auth_user && password_file.empty()) return bad("usage", "--auth-user needs --auth-password-file");
    if (!password_file.empty() && !o.auth_user) return bad("usage", "--auth-password-file needs --auth-user");
    if (o.auth_user) {
        auto pw = read_file(password_file);
        if (!pw) return bad("usage", "--auth-password-file: cannot read '" + password_file + "'");
        if (!pw->empty() && pw->back() == '\n') pw->pop_back();
        if (!pw->empty() && pw->back() == '\r') pw->pop_back();
        if (pw->find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
            return bad("invalid_credentials", "--auth-password-file: the password holds CR, LF or NUL");
        if (o.auth_user->empty()) return bad("invalid_credentials", "--auth-user: empty user name");
        o.auth_password = std::move(*pw);
    }
    // Bulk.
    if (o.count) {
        // (A negative number arrives wrapped around: far above any of these bounds.)
        constexpr std::uint64_t most = 1'000'000'000'000;
        if (*o.count == 0 || *o.count > most) return bad("usage", "--count: expected 1 to 1000000000000");
        if (app.count("--per-connection") && (o.per_connection == 0 || o.per_connection > most))
            return bad("usage", "--per-connection: expected 1 to 1000000000000");
        if (o.size < 64 || o.size > 1024ull * 1024 * 1024) return bad("usage", "--size: expected 64 to 1073741824 octets");
        if (o.connections == 0 || o.connections > 100000) return bad("usage", "--connections: expected 1 to 100000");
        if (o.data_path) return bad("usage", "--count sends generated messages: do not give --data");
    }
    // The message: checked before connecting.
    if (o.data_path && *o.data_path == "-") {
        o.data_stdin.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    if (o.data_path) {
        smtpio::proto::body_scanner scan;
        if (*o.data_path == "-") {
            scan.scan(o.data_stdin);
        } else {
            std::ifstream f(*o.data_path, std::ios::binary);
            if (!f) return bad("body_read_failed", "--data: cannot read '" + *o.data_path + "'");
            std::string chunk(1 << 16, '\0');
            while (f) {
                f.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
                scan.scan(std::string_view(chunk.data(), static_cast<std::size_t>(f.gcount())));
            }
        }
        auto facts = scan.facts();
        if (facts.has_nul) return bad("body_contains_nul", "--data: the message holds a NUL octet");
        if (facts.longest_line > 998)
            return bad("body_line_too_long", "--data: a line is " + std::to_string(facts.longest_line) +
                                                 " octets long; SMTP allows 998 (RFC 5322 2.1.1)");
    }
    return o;
}

} // namespace smtpio_send
