//
// fuzz_session -- a whole smtpio::basic_session over the in-memory test stream
// (tests/support/test_stream.hpp), the fuzzer playing the server.
//
// The client opens (plaintext policy, smtpio::policy::dangerous_plaintext()),
// sends one message to three recipients (pipelining when the server offers it)
// and quits, each operation started by the previous one's handler.  The io_context
// is run with poll(): whenever no handler is ready, the next piece of the server's
// bytes is pushed; when none is left, the server closes (end of stream, or a
// reset).  Deadlines never fire (they are minutes away and poll() never waits).
//
// Input: [flags] [split seed] [server bytes...]
//   flags bits 0-1  the message: 0 short, 1 long (written in 64-octet blocks, so
//                   replies can arrive while it is written), 2 with 8-bit text,
//                   3 with bare LF line ends, a dotted line and no final line end
//   flags bit 2     PIPELINING switched off on the client
//   flags bit 3     BDAT (CHUNKING) asked for this message
//   flags bit 4     the server ends with a connection reset instead of a FIN
//   flags bits 5-7  each read returns at most 0:any, 1, 2, 3, 7, 16, 64, 512 octets
//   split seed      how the server's bytes are cut into pushes: 255 one complete
//                   reply per push (what a server that answers each command
//                   sends); 254 the same, and a push also after each write of
//                   the client (replies then arrive while the message is being
//                   written); anything else as in fuzz_common.hpp (0 all at
//                   once, 1 an octet at a time, ...)
//
// Invariants:
//  - every operation completes, within a bounded number of handlers, and the
//    io_context is then idle (no hang, no handler left behind);
//  - pairing the client's commands (read back from what it wrote) with the
//    server's replies in order, as RFC 5321 requires:
//      * no octet of the message is written before the 354 that answers DATA
//        was delivered to the client (DATA path);
//      * a recipient is `accepted` only if MAIL and its RCPT got 2xx and the end
//        of data (the final "." or BDAT LAST) was written and got a 2xx, every
//        octet of which reached the client after the end of data was written;
//      * `rejected` carries a 5xx reply; `unknown` only after the end of data was
//        written;
//      * the message outcome summarises the recipients; `not_sent` (or a send
//        error) means no MAIL was written;
//  - the client writes only CRLF-terminated command lines (besides message data)
//    and the message data is exactly the encoder's output.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#include "fuzz_common.hpp"
#include "test_stream.hpp"

#include <smtpio/session.hpp>

#include <asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using smtpio::fuzz::show;
namespace test = smtpio::test;
namespace proto = smtpio::proto;

namespace {

constexpr std::size_t max_handlers = 200000;

const char* const recipients[] = {"r1@example.net", "r2@example.net", "r3@example.net"};

std::string message_text(unsigned choice) {
    switch (choice) {
    case 1: {
        std::string m = "From: s@example.org\r\nTo: r1@example.net\r\nSubject: long\r\n\r\n";
        for (int i = 0; i < 12; ++i) m += (i % 3 == 0 ? "." : "") + std::string("line ") + std::to_string(i) + " of a longer body, to be written in blocks\r\n";
        return m;
    }
    case 2: return "From: s@example.org\r\nSubject: caf\xc3\xa9\r\n\r\n8-bit: d\xc3\xa9j\xc3\xa0 vu\r\n";
    case 3: return "From: s@example.org\nSubject: bare LF\n\n.a dotted line\n.\nno final line end";
    default: return "From: s@example.org\r\nTo: r1@example.net\r\nSubject: fuzz\r\n\r\nHello.\r\n.a dotted line\r\nBye.\r\n";
    }
}

// What the encoder sends for `text`, as the session would (its own fuzzer checks it).
std::string encode(std::string_view text, proto::encoding mode) {
    proto::data_encoder enc(mode);
    proto::buffer out;
    SMTPIO_FUZZ_CHECK(!enc.encode(text, out), "the test message does not encode");
    enc.finish(out);
    return out.str();
}

// ---- the server's replies, read independently of the client ---------------------------

struct server_reply {
    int code = 0;          // from the first line
    std::size_t end = 0;   // offset in the server's stream just past the reply
};

// Splits the server's bytes into replies: lines end with CRLF; a reply ends at a
// line that is a bare code or has a space after it.  Stops at the first line that
// is not well-formed (the client stops there too).
std::vector<server_reply> split_replies(std::string_view s) {
    std::vector<server_reply> out;
    std::size_t pos = 0;
    int code = -1;
    while (pos < s.size()) {
        std::size_t lf = s.find('\n', pos);
        if (lf == std::string_view::npos || lf == pos || s[lf - 1] != '\r') break;
        std::string_view line = s.substr(pos, lf - 1 - pos);
        pos = lf + 1;
        if (line.size() < 3) break;
        for (int k = 0; k < 3; ++k)
            if (line[static_cast<std::size_t>(k)] < '0' || line[static_cast<std::size_t>(k)] > '9') return out;
        int c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (code >= 0 && c != code) break;
        code = c;
        if (line.size() == 3 || line[3] == ' ') {
            out.push_back({c, pos});
            code = -1;
        } else if (line[3] != '-') {
            break;
        }
    }
    return out;
}

// ---- the client's commands, read back from what it wrote ------------------------------

struct client_command {
    enum kind_t { ehlo, helo, mail, rcpt, data, body, dot_only, bdat, bdat_last, rset, quit, other } kind = other;
    std::size_t begin = 0;      // offset in the client's stream
    std::size_t end = 0;        // just past it (message data included)
    std::size_t data_begin = 0; // body / bdat: where the message octets start
    bool complete = true;       // body / bdat: all its octets were written
    std::string line;
};

std::vector<client_command> split_commands(std::string_view w, std::string_view stuffed, std::string_view chunked) {
    std::vector<client_command> out;
    std::size_t pos = 0;
    std::size_t chunked_pos = 0; // how much of the chunked message the BDAT chunks carried
    bool after_data = false;
    while (pos < w.size()) {
        client_command c;
        c.begin = pos;
        std::string_view rest = w.substr(pos);
        if (after_data) {
            after_data = false;
            if (rest.substr(0, 3) == ".\r\n") {
                c.kind = client_command::dot_only;
                c.end = pos + 3;
                pos = c.end;
                out.push_back(c);
                continue;
            }
            if (!stuffed.empty() && rest.substr(0, 5) == stuffed.substr(0, 5)) {
                // The message: exactly the encoder's output, or a prefix of it when the
                // connection failed while it was written.
                std::size_t n = std::min(rest.size(), stuffed.size());
                SMTPIO_FUZZ_CHECK(rest.substr(0, n) == stuffed.substr(0, n),
                                  "message data differs from the encoder's: " + show(rest.substr(0, n)));
                c.kind = client_command::body;
                c.data_begin = pos;
                c.end = pos + n;
                c.complete = n == stuffed.size();
                pos = c.end;
                out.push_back(c);
                continue;
            }
        }
        std::size_t eol = rest.find("\r\n");
        if (eol == std::string_view::npos) {
            // A command cut by a failed write.
            c.line = std::string(rest);
            c.end = w.size();
            c.complete = false;
            out.push_back(c);
            break;
        }
        std::string_view line = rest.substr(0, eol);
        SMTPIO_FUZZ_CHECK(line.find('\r') == std::string_view::npos && line.find('\n') == std::string_view::npos &&
                              line.find('\0') == std::string_view::npos,
                          "a command line with CR, LF or NUL: " + show(line));
        c.line = std::string(line);
        c.end = pos + eol + 2;
        if (line.substr(0, 5) == "EHLO ") c.kind = client_command::ehlo;
        else if (line.substr(0, 5) == "HELO ") c.kind = client_command::helo;
        else if (line.substr(0, 10) == "MAIL FROM:") c.kind = client_command::mail;
        else if (line.substr(0, 8) == "RCPT TO:") c.kind = client_command::rcpt;
        else if (line == "DATA") c.kind = client_command::data, after_data = true;
        else if (line == "RSET") c.kind = client_command::rset;
        else if (line == "QUIT") c.kind = client_command::quit;
        else if (line.substr(0, 5) == "BDAT ") {
            std::string_view num = line.substr(5);
            bool last = num.size() > 5 && num.substr(num.size() - 5) == " LAST";
            if (last) num.remove_suffix(5);
            std::size_t n = 0;
            for (char d : num) {
                SMTPIO_FUZZ_CHECK(d >= '0' && d <= '9', "BDAT size " + show(line));
                n = n * 10 + static_cast<std::size_t>(d - '0');
            }
            c.kind = last ? client_command::bdat_last : client_command::bdat;
            c.data_begin = c.end;
            std::size_t avail = w.size() - c.end;
            std::size_t take = std::min(n, avail);
            SMTPIO_FUZZ_CHECK(w.substr(c.data_begin, take) == chunked.substr(chunked_pos, take),
                              "BDAT chunk differs from the encoder's output");
            chunked_pos += take;
            c.complete = take == n;
            c.end += take;
            if (last && c.complete)
                SMTPIO_FUZZ_CHECK(chunked_pos == chunked.size(), "BDAT LAST before the whole message");
        } else {
            SMTPIO_FUZZ_CHECK(false, "unexpected command " + show(line));
        }
        pos = c.end;
        out.push_back(c);
    }
    return out;
}

struct write_record {
    std::size_t end;       // offset in the client's stream just past this write
    std::size_t delivered; // server octets delivered to the client when it was written
};

// How many server octets the client had received when it wrote octet `offset`.
std::size_t delivered_at(const std::vector<write_record>& writes, std::size_t offset) {
    for (const auto& w : writes)
        if (offset < w.end) return w.delivered;
    smtpio::fuzz::invariant_failed(__FILE__, __LINE__, "a write holds every octet written", std::to_string(offset));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t flags = data[0];
    const unsigned body_choice = flags & 3u;
    const bool pipelining = (flags & 4u) == 0;
    const bool chunking = (flags & 8u) != 0;
    const bool end_with_reset = (flags & 16u) != 0;
    static constexpr std::size_t read_sizes[] = {0, 1, 2, 3, 7, 16, 64, 512};
    const std::size_t max_read = read_sizes[flags >> 5];
    std::string_view server = smtpio::fuzz::as_text(data + 2, size - 2);
    std::vector<std::string_view> pieces;
    const bool push_on_write = data[1] == 254;
    if (data[1] >= 254) {
        // One complete reply per push, then whatever is left.
        std::size_t from = 0;
        for (const auto& r : split_replies(server)) {
            pieces.push_back(server.substr(from, r.end - from));
            from = r.end;
        }
        if (from < server.size()) pieces.push_back(server.substr(from));
    } else {
        pieces = smtpio::fuzz::split(server, data[1]);
    }

    const std::string text = message_text(body_choice);
    const std::string stuffed = encode(text, proto::encoding::dot_stuffed);
    const std::string chunked = encode(text, proto::encoding::chunked);

    asio::io_context io;
    test::test_stream stream(io.get_executor());
    auto peer = stream.peer();
    if (max_read) peer->set_max_read(max_read);
    std::size_t pushed = 0, next_piece = 0;
    std::vector<write_record> writes;
    auto push_next = [&] {
        pushed += pieces[next_piece].size();
        peer->push(pieces[next_piece++]);
    };
    peer->on_write([&](test::test_peer& p, std::string_view) {
        writes.push_back({p.written().size(), pushed - p.unread()});
        if (push_on_write && next_piece < pieces.size()) push_next();
    });

    smtpio::session_options opts;
    opts.helo_name = "client.example.org";
    opts.host = "mx.example.test";
    opts.extensions.pipelining = pipelining;
    if (body_choice == 1) opts.block_size = 64;
    std::size_t events = 0;
    // With a transcript the session hands every reply to it; without, the send
    // algorithm takes replies already buffered itself.  Both ways are fuzzed.
    if ((data[1] & 0x40u) == 0)
        opts.transcript = [&](const smtpio::transcript_event& e) { events += e.text.size() + 1; };

    std::optional<std::error_code> open_ec, quit_ec;
    std::optional<std::pair<std::error_code, smtpio::send_result>> sent;
    {
        std::optional<smtpio::basic_session<test::test_stream>> s;
        s.emplace(std::move(stream), smtpio::policy::dangerous_plaintext(), std::move(opts));
        auto& session = *s;
        s->async_open([&](std::error_code ec) {
            open_ec = ec;
            smtpio::envelope env("s@example.org", {recipients[0], recipients[1], recipients[2]});
            smtpio::send_options so;
            if (chunking) so.chunking = true;
            session.async_send(std::move(env), smtpio::body(text), so, [&](std::error_code sec, smtpio::send_result r) {
                sent.emplace(sec, std::move(r));
                session.async_quit([&](std::error_code qec) { quit_ec = qec; });
            });
        });

        std::size_t handlers = 0;
        bool ended = false;
        while (!quit_ec) {
            if (io.stopped()) io.restart();
            std::size_t n = io.poll();
            handlers += n;
            SMTPIO_FUZZ_CHECK(handlers < max_handlers, "more than " + std::to_string(max_handlers) + " handlers");
            if (n != 0) continue;
            if (next_piece < pieces.size()) {
                push_next();
            } else if (!ended) {
                ended = true;
                if (end_with_reset) peer->reset();
                else peer->push_eof();
            } else {
                SMTPIO_FUZZ_CHECK(false, std::string("hang: nothing to run, no input left, ") +
                                             (!open_ec ? "open" : !sent ? "send" : "quit") + " not complete");
            }
        }
        SMTPIO_FUZZ_CHECK(!s->is_open(), "open after QUIT");
    }
    // The session is gone: whatever it left (a cancelled timer) runs now, and then nothing.
    io.restart();
    std::size_t left = io.poll();
    SMTPIO_FUZZ_CHECK(left < 16, std::to_string(left) + " handlers after the session ended");
    SMTPIO_FUZZ_CHECK(io.poll() == 0, "handlers keep coming after the session ended");

    // ---- the conversation, as the server saw it -----------------------------------------
    const std::string& w = peer->written();
    const std::string_view delivered = server.substr(0, pushed - peer->unread());
    const auto replies = split_replies(delivered);
    const auto cmds = split_commands(w, stuffed, chunked);
    auto reply_to = [&](std::size_t k) -> const server_reply* { // reply 0 is the greeting
        return k + 1 < replies.size() ? &replies[k + 1] : nullptr;
    };
    auto reply_begin = [&](std::size_t k) -> std::size_t { return replies[k].end; }; // of reply_to(k)
    auto positive = [](const server_reply* r) { return r && r->code >= 200 && r->code < 300; };

    std::optional<std::size_t> mail_k, data_k, eod_k;
    std::vector<std::size_t> rcpt_k, bdat_k;
    for (std::size_t k = 0; k < cmds.size(); ++k) {
        switch (cmds[k].kind) {
        case client_command::mail:
            SMTPIO_FUZZ_CHECK(!mail_k, "two MAIL commands");
            mail_k = k;
            break;
        case client_command::rcpt: rcpt_k.push_back(k); break;
        case client_command::data: data_k = k; break;
        case client_command::body:
            if (cmds[k].complete) eod_k = k;
            {
                // RFC 5321 3.3: no message octet before the 354 that answers DATA.
                SMTPIO_FUZZ_CHECK(data_k && *data_k + 1 == k, "message data not right after DATA");
                const server_reply* r = reply_to(*data_k);
                SMTPIO_FUZZ_CHECK(r && r->code == 354, "message data written without a 354 to DATA");
                SMTPIO_FUZZ_CHECK(delivered_at(writes, cmds[k].data_begin) >= r->end,
                                  "message data written before the 354 reached the client");
            }
            break;
        case client_command::dot_only: {
            SMTPIO_FUZZ_CHECK(data_k && *data_k + 1 == k, "'.' not right after DATA");
            const server_reply* r = reply_to(*data_k);
            SMTPIO_FUZZ_CHECK(r && r->code == 354, "'.' written without a 354 to DATA");
            SMTPIO_FUZZ_CHECK(delivered_at(writes, cmds[k].begin) >= r->end, "'.' written before the 354 arrived");
            break;
        }
        case client_command::bdat: bdat_k.push_back(k); break;
        case client_command::bdat_last:
            bdat_k.push_back(k);
            if (cmds[k].complete) eod_k = k;
            break;
        default: break;
        }
    }
    SMTPIO_FUZZ_CHECK(rcpt_k.size() <= 3, std::to_string(rcpt_k.size()) + " RCPT commands");
    // RFC 5321 3.1 and 4.1.1.1: EHLO after the greeting; RFC 2920 3.1: nothing after
    // EHLO/HELO (or STARTTLS, DATA, QUIT...) before its reply, and without PIPELINING
    // no command before the previous one's reply reached the client.
    if (!cmds.empty())
        SMTPIO_FUZZ_CHECK(!replies.empty() && delivered_at(writes, 0) >= replies[0].end, "EHLO before the greeting");
    for (std::size_t k = 1; k < cmds.size(); ++k) {
        auto prev = cmds[k - 1].kind;
        bool must_wait = !pipelining || prev == client_command::ehlo || prev == client_command::helo ||
                         prev == client_command::data || prev == client_command::quit;
        if (cmds[k].kind == client_command::body || cmds[k].kind == client_command::dot_only) continue; // checked above
        if (must_wait) {
            const server_reply* r = reply_to(k - 1);
            SMTPIO_FUZZ_CHECK(r && delivered_at(writes, cmds[k].begin) >= r->end,
                              show(cmds[k].line) + " written before the reply to " +
                                  show(cmds[k - 1].line));
        }
    }

    // ---- the outcomes ------------------------------------------------------------------
    SMTPIO_FUZZ_CHECK(open_ec && sent && quit_ec, "an operation did not complete");
    const auto& [send_ec, res] = *sent;
    if (send_ec || res.outcome == smtpio::message_outcome::not_sent) {
        SMTPIO_FUZZ_CHECK(res.outcome == smtpio::message_outcome::not_sent, "error with outcome");
        SMTPIO_FUZZ_CHECK(!mail_k, "MAIL written for a message not sent: " + send_ec.message());
        return 0;
    }
    SMTPIO_FUZZ_CHECK(!*open_ec, "a send after a failed open");
    SMTPIO_FUZZ_CHECK(res.recipients.size() == 3, std::to_string(res.recipients.size()) + " recipient results");
    if (!mail_k) {
        // The session failed before MAIL (unsolicited bytes, say): every recipient
        // is deferred and the error says why.
        SMTPIO_FUZZ_CHECK(res.error, "no MAIL written, no error");
        for (const auto& r : res.recipients)
            SMTPIO_FUZZ_CHECK(r.outcome == smtpio::outcome::deferred, "no MAIL written, yet " + std::string(to_string(r.outcome)));
    }
    for (std::size_t i = 0; i < res.recipients.size(); ++i) {
        const auto& r = res.recipients[i];
        SMTPIO_FUZZ_CHECK(r.address == recipients[i], r.address);
        switch (r.outcome) {
        case smtpio::outcome::accepted: {
            SMTPIO_FUZZ_CHECK(mail_k && positive(reply_to(*mail_k)), "accepted without a 2xx to MAIL");
            SMTPIO_FUZZ_CHECK(i < rcpt_k.size() && positive(reply_to(rcpt_k[i])),
                              "recipient " + std::to_string(i) + " accepted without a 2xx to its RCPT");
            SMTPIO_FUZZ_CHECK(eod_k, "accepted without the end of data written");
            SMTPIO_FUZZ_CHECK(positive(reply_to(*eod_k)), "accepted without a 2xx to the end of data");
            SMTPIO_FUZZ_CHECK(delivered_at(writes, cmds[*eod_k].end - 1) <= reply_begin(*eod_k),
                              "accepted by a reply that reached the client before the end of data was written");
            for (std::size_t k : bdat_k) SMTPIO_FUZZ_CHECK(positive(reply_to(k)), "accepted with a failed BDAT");
            SMTPIO_FUZZ_CHECK(reply_to(*eod_k)->code == r.reply.code, "the accepting reply");
            break;
        }
        case smtpio::outcome::rejected:
            SMTPIO_FUZZ_CHECK(r.reply.code >= 500 && r.reply.code <= 559,
                              "recipient " + std::to_string(i) + " rejected by " + std::to_string(r.reply.code));
            break;
        case smtpio::outcome::unknown:
            SMTPIO_FUZZ_CHECK(eod_k, "unknown before the end of data was written");
            SMTPIO_FUZZ_CHECK(res.error, "unknown without an error");
            break;
        case smtpio::outcome::deferred: break; // always allowed: try again later
        }
    }
    smtpio::transaction_result again;
    again.recipients = res.recipients;
    again.outcome = smtpio::message_outcome::deferred;
    again.summarise();
    SMTPIO_FUZZ_CHECK(again.outcome == res.outcome,
                      std::string(to_string(res.outcome)) + " vs " + std::string(to_string(again.outcome)));
    (void)events;
    return 0;
}
