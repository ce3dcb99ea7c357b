//
// smtpio/proto/send_algorithm.hpp -- mail transactions: MAIL, RCPT, DATA or BDAT,
// pipelined per RFC 2920 when advertised, with exact per-recipient outcomes.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_SEND_ALGORITHM_HPP
#define SMTPIO_PROTO_SEND_ALGORITHM_HPP

#include <smtpio/envelope.hpp>
#include <smtpio/proto/algorithm.hpp>
#include <smtpio/proto/commands.hpp>
#include <smtpio/proto/data_encoder.hpp>
#include <smtpio/result.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace smtpio::proto {

/// Where message octets come from.  The protocol layer only pulls; the
/// implementation (memory, file, generator) lives above it.
class body_source {
public:
    virtual ~body_source() = default;
    /// The next piece of the raw message; an empty view (with no error) ends it.
    /// The view stays valid until the next call.
    virtual std::string_view next(std::error_code& ec) = 0;
};

/// One message to send, prepared by the caller: addresses already checked
/// against what the server offers, MAIL parameters decided.
struct message_plan {
    const envelope* env = nullptr;
    mail_parameters mail;                      ///< SIZE, BODY, SMTPUTF8, RET, ENVID, REQUIRETLS.
    encoding enc = encoding::dot_stuffed;      ///< dot_stuffed: DATA; chunked or binary: BDAT.
    body_source* body = nullptr;
    /// The body needs no change for `enc` (body_facts::encodes_verbatim of a
    /// scan of exactly these octets): it is written as it is, not encoded.
    bool verbatim = false;
    /// The body's pieces stay where they are, unchanged, until the message
    /// completes (memory, not a source that reuses its storage).  With
    /// `verbatim` and connection_state::gather_writes, DATA blocks are then
    /// written from there, not copied.
    bool stable_pieces = false;
    /// With `verbatim`: the body's size in octets, when known (0: unknown).  A
    /// BDAT chunk then carries exactly these (a body that reads otherwise fails
    /// with errc::body_read_failed).
    std::uint64_t octets = 0;
    transaction_result* result = nullptr;      ///< Filled by the algorithm.
    /// `result->recipients` already lists the envelope's recipients in order, with
    /// their addresses (the planner moved them there, saving a copy each): the
    /// algorithm keeps the addresses and sets the rest.
    bool recipients_listed = false;
    bool skip = false;                         ///< Refused before sending; `result` already says why.
    /// The MAIL line, then one RCPT line per recipient in order, each ending in
    /// CRLF, as the planner wrote and checked them (`mail` and the recipients'
    /// parameters included); sent as they are.  Empty: the algorithm writes them
    /// from `env` and `mail`.
    std::string_view envelope_lines;
};

/// Knobs of the transaction machine.
struct send_config {
    bool pipelining = true;               ///< Use RFC 2920 (only when the server advertised it).
    /// Raw octets per write of message data, and per BDAT chunk (0 counts as 1).
    std::size_t block_size = 256 * 1024;
    std::size_t max_group = 256;          ///< Most commands written before their replies are read.
    /// With PIPELINING and CHUNKING: several whole messages (each with its body in
    /// one BDAT LAST chunk, each after the first preceded by RSET) in one write,
    /// up to `max_group` commands and `block_size` octets.  Off: one message per
    /// round trip, as with DATA.
    bool bdat_window = true;
    encoder_limits limits;
};

/// Runs one or more mail transactions on an open session.
///
/// With PIPELINING, MAIL, every RCPT and DATA go in one write (RFC 2920 3.1),
/// every reply of the group is checked, and the end of one message's data is
/// written together with the next message's MAIL, RCPTs and DATA, so a reused
/// connection costs one round trip per message.  Without it, commands go one by
/// one.  When every RCPT failed but DATA got 354, only the final "." is sent.
/// A 452 leaves the recipients it names deferred.  A 421 defers every open
/// recipient and ends the session.  When the connection fails after the end of
/// data was written and before its reply, the accepted recipients are *unknown*
/// (RFC 1047); before that, *deferred*.  A reply that arrives while message data
/// is still being written (a 552, say) stops the writing and decides the message.
///
/// With BDAT and PIPELINING, messages whose bodies fit one chunk go several to a
/// write: MAIL, RCPTs, "BDAT n LAST" and the body, then "RSET" and the next
/// message, so a batch of small messages costs a fraction of a round trip each.
/// The RSET makes every message start from a clean state whatever happened to the
/// one before (RFC 3030 2 leaves a transaction open after a failed BDAT).  When
/// the connection fails after a message's last chunk was written and before its
/// final reply, its open recipients are *unknown*.
class send_algorithm {
public:
    send_algorithm(connection_state& st, std::span<message_plan> plans, send_config cfg = {})
        : st_(st), plans_(plans), cfg_(cfg) {
        if (cfg_.block_size == 0) cfg_.block_size = 1; // (a block of none would never end)
        // The jobs' state and the queue of expected replies are allocated here,
        // before the caller fills the plans (which allocates per message), and not
        // while sending.  The queue holds one write's commands (up to max_group and
        // an end of data); a message with many recipients may still grow it.  The
        // recipients' states wait for the plans (resume()): one allocation then.
        js_.resize(plans_.size());
        q_.reserve(std::min(cfg_.max_group, 4 * plans_.size()) + 4);
    }

    next_action resume(std::error_code ec);

private:
    enum class cmd : std::uint8_t { mail, rcpt, data, eod, bdat, bdat_last, rset };
    struct expect {
        cmd c;
        std::uint32_t job;
        std::uint32_t rcpt;
    };
    enum class rcpt_state : std::uint8_t { open, accepted_pending, final };
    enum class cursor : std::uint8_t { mail, rcpt, data, done };
    struct job_state {
        std::span<rcpt_state> rs;   // its recipients' states in rs_all_ (empty until start_job)
        std::size_t rs_at = 0;      // where they begin there
        cursor at = cursor::mail;
        std::size_t next_rcpt = 0;
        std::size_t line_pos = 0;   // next unsent line of the plan's envelope_lines
        std::size_t accepted = 0;
        bool started = false;       // commands were written
        bool mail_ok = false;
        bool mail_failed = false;
        bool data_ok = false;       // DATA got 354
        bool body_inline = false;   // BDAT LAST with the whole body went in the group
        bool eod_written = false;
        std::size_t eod_end = 0;    // offset in wbuf just past its last chunk (inline BDAT)
        bool finished = false;      // a final reply (end of data, BDAT LAST or a failure) decided it
        reply mail_reply;
    };

    bool bdat(std::size_t j) const noexcept { return plans_[j].enc != encoding::dot_stuffed; }
    // Appends the next of job j's planned envelope lines.
    void append_planned_line(std::size_t j) {
        auto lines = plans_[j].envelope_lines;
        std::size_t& pos = js_[j].line_pos;
        std::size_t end = lines.find('\n', pos);
        end = end == std::string_view::npos ? lines.size() : end + 1;
        st_.wbuf.append(lines.substr(pos, end - pos));
        pos = end;
    }
    std::size_t next_job(std::size_t from) const noexcept;
    void start_job(std::size_t j);
    bool append_commands(std::size_t j);   // false: nothing (more) to write for j's commands
    bool apply(const expect& e, const reply_view& r);
    void settle_pending(std::size_t j, const reply& r, outcome o);
    void finish_job(std::size_t j);
    void abort_from(std::size_t j, std::error_code ec, const reply* r);
    std::error_code fill_block(std::size_t j, buffer& out, bool& last) {
        return fill_block(j, out, last, cfg_.block_size);
    }
    std::error_code fill_block(std::size_t j, buffer& out, bool& last, std::size_t room);
    std::error_code view_block(std::size_t j, std::string_view& head, buffer& out, bool& last);
    bool refill(std::size_t j, std::error_code& e);
    next_action early_reply();
    void stage_bdat(std::size_t j);
    // A verbatim body that fits one chunk goes straight into wbuf, not via stage_.
    bool direct_bdat(std::size_t j) const noexcept {
        return plans_[j].verbatim && bdat(j) && plans_[j].octets != 0 && plans_[j].octets <= cfg_.block_size;
    }
    bool write_direct_bdat(std::size_t j);
    void append_window();
    void note_window_written(bool complete);
    static outcome outcome_of(int code) noexcept { return code >= 500 ? outcome::rejected : outcome::deferred; }
    // Text into a result's string: made anew when the string is empty or the
    // text does not fit (in storage of exactly its size), else in place.
    // (libstdc++'s assign() rounds a string growing out of its inline room up to
    // 31 octets; with glibc a text of 16 to 23 octets then takes a larger block
    // than the addresses of the result, whose freed blocks the allocator could
    // otherwise hand out again.  And into an empty string, a string made and
    // moved costs less than assign(), which libstdc++ does not inline.)
    static void store_text(std::string& to, std::string_view text) {
        if (to.empty() || text.size() > to.capacity())
            to = std::string(text);
        else
            to.assign(text.data(), text.size());
    }
    // Stores a reply's fields one by one (no temporary reply).
    static void store_reply(reply& to, const reply_view& rv) {
        to.code = rv.code;
        to.enhanced = rv.enhanced;
        store_text(to.text, rv.text);
    }
    static void store_reply(reply& to, const reply& r) {
        to.code = r.code;
        to.enhanced = r.enhanced;
        store_text(to.text, r.text);
    }
    static phase phase_of(cmd c) noexcept;

    connection_state& st_;
    std::span<message_plan> plans_;
    send_config cfg_;
    std::vector<job_state> js_;
    std::vector<rcpt_state> rs_all_; // every job's recipient states, one allocation per batch
    std::vector<expect> q_;
    std::size_t qhead_ = 0;
    std::size_t job_ = 0;
    std::size_t eod_end_ = 0; // offset in the write (whead, wbuf) past the end of data
    static constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::size_t window_end_ = 0;    // one past the last job of the write in flight
    data_encoder enc_;
    std::string_view pending_;      // unread part of the body source's current piece
    std::size_t body_job_ = none;   // the job enc_ and pending_ belong to
    bool last_block_ = false;
    bool duplex_ = false;
    buffer stage_;                  // a BDAT chunk with max_bdat_line octets of head room for its command
    std::size_t staged_job_ = none; // the job stage_ (or its failure) belongs to
    bool staged_ = false;
    std::error_code stage_error_;   // why staging job staged_job_'s chunk failed
    bool staged_last_ = false;
    std::size_t staged_octets_ = 0; // message octets in the staged chunk (its BDAT line excluded)
    int coro_ = 0;
};

inline phase send_algorithm::phase_of(cmd c) noexcept {
    switch (c) {
    case cmd::mail: return phase::mail;
    case cmd::rcpt: return phase::rcpt;
    case cmd::data: return phase::data_init;
    case cmd::eod:
    case cmd::bdat_last: return phase::data_end;
    case cmd::bdat: return phase::data_block;
    case cmd::rset: return phase::rset;
    }
    return phase::none;
}

inline std::size_t send_algorithm::next_job(std::size_t from) const noexcept {
    while (from < plans_.size() && plans_[from].skip) ++from;
    return from;
}

inline void send_algorithm::start_job(std::size_t j) {
    auto& js = js_[j];
    auto& res = *plans_[j].result;
    const auto& to = plans_[j].env->to;
    if (plans_[j].recipients_listed && res.recipients.size() == to.size()) {
        for (auto& rr : res.recipients) {
            rr.outcome = outcome::deferred;
            rr.reply = {};
        }
    } else {
        res.recipients.clear();
        res.recipients.reserve(to.size());
        for (const auto& r : to) res.recipients.emplace_back().address = r.address; // deferred, no reply yet
    }
    res.outcome = message_outcome::deferred;
    res.error.clear();
    res.reply = {};
    res.data_octets = 0;
    js.rs = std::span<rcpt_state>(rs_all_).subspan(js.rs_at, to.size());
    std::fill(js.rs.begin(), js.rs.end(), rcpt_state::open);
}

// Appends the commands of job j that may go now: with pipelining, MAIL, RCPTs
// (at most max_group per write) and DATA (or the whole message with BDAT LAST
// when it fits one block); without, the single next command.
inline bool send_algorithm::append_commands(std::size_t j) {
    auto& js = js_[j];
    const auto& plan = plans_[j];
    bool any = false;
    std::size_t budget = cfg_.pipelining ? cfg_.max_group : 1;
    while (budget > 0 && js.at != cursor::done) {
        switch (js.at) {
        case cursor::mail:
            if (!plan.envelope_lines.empty() && budget > plan.env->to.size()) {
                // MAIL and every RCPT go in this write: their planned lines at once.
                const std::size_t n = plan.env->to.size();
                st_.wbuf.append(plan.envelope_lines);
                js.line_pos = plan.envelope_lines.size();
                q_.push_back({cmd::mail, static_cast<std::uint32_t>(j), 0});
                for (std::size_t r = 0; r < n; ++r)
                    q_.push_back({cmd::rcpt, static_cast<std::uint32_t>(j), static_cast<std::uint32_t>(r)});
                js.next_rcpt = n;
                js.at = n == 0 ? cursor::done : cursor::data;
                js.started = true;
                budget -= n; // and one for MAIL below
                break;
            }
            if (!plan.envelope_lines.empty()) append_planned_line(j);
            else (void)write_mail(st_.wbuf, plan.env->from, plan.mail); // validated by the caller
            q_.push_back({cmd::mail, static_cast<std::uint32_t>(j), 0});
            js.at = plan.env->to.empty() ? cursor::done : cursor::rcpt;
            js.started = true;
            break;
        case cursor::rcpt: {
            if (!plan.envelope_lines.empty()) {
                append_planned_line(j);
            } else {
                const auto& r = plan.env->to[js.next_rcpt];
                rcpt_parameters rp;
                rp.notify_on = r.notify_on;
                rp.orcpt = r.original_recipient;
                rp.smtputf8 = plan.mail.smtputf8;
                (void)write_rcpt(st_.wbuf, r.address, rp);
            }
            q_.push_back({cmd::rcpt, static_cast<std::uint32_t>(j), static_cast<std::uint32_t>(js.next_rcpt)});
            if (++js.next_rcpt == plan.env->to.size()) js.at = cursor::data;
            break;
        }
        case cursor::data:
            if (!cfg_.pipelining) {
                // Lock-step: DATA only when a recipient was accepted (and MAIL too).
                if (js.accepted == 0 || !js.mail_ok) {
                    js.at = cursor::done;
                    return any;
                }
            }
            if (bdat(j)) {
                // BDAT needs no go-ahead.  With pipelining and a body that fits one
                // block, the whole message goes in this write; otherwise the chunks
                // follow once the recipients' replies are in.
                js.at = cursor::done;
                if (cfg_.pipelining) {
                    if (staged_job_ != j && direct_bdat(j)) {
                        if (!write_direct_bdat(j)) return any; // its failure waits for its turn
                        js.body_inline = true;
                        q_.push_back({cmd::bdat_last, static_cast<std::uint32_t>(j), 0});
                        return true;
                    }
                    if (staged_job_ != j) stage_bdat(j); // a window may have staged it already
                    if (staged_ && staged_last_) {
                        st_.wbuf.append(stage_.view());
                        plans_[j].result->data_octets += staged_octets_;
                        staged_ = false;
                        js.body_inline = true;
                        q_.push_back({cmd::bdat_last, static_cast<std::uint32_t>(j), 0});
                        return true;
                    }
                }
                return any;
            }
            write_data(st_.wbuf);
            q_.push_back({cmd::data, static_cast<std::uint32_t>(j), 0});
            js.at = cursor::done;
            break;
        case cursor::done: break;
        }
        any = true;
        --budget;
    }
    return any;
}

inline void send_algorithm::settle_pending(std::size_t j, const reply& r, outcome o) {
    auto& js = js_[j];
    auto& res = *plans_[j].result;
    for (std::size_t i = 0; i < js.rs.size(); ++i) {
        if (js.rs[i] == rcpt_state::accepted_pending) {
            js.rs[i] = rcpt_state::final;
            res.recipients[i].outcome = o;
            store_reply(res.recipients[i].reply, r);
        }
    }
}

inline void send_algorithm::finish_job(std::size_t j) {
    auto& js = js_[j];
    auto& res = *plans_[j].result;
    // Recipients never answered (lock-step stopped early) share the reason.
    for (std::size_t i = 0; i < js.rs.size(); ++i) {
        if (js.rs[i] == rcpt_state::open) {
            js.rs[i] = rcpt_state::final;
            res.recipients[i].outcome = js.mail_failed ? outcome_of(js.mail_reply.code) : outcome::deferred;
            res.recipients[i].reply = js.mail_failed ? js.mail_reply : res.reply;
        }
        if (js.rs[i] == rcpt_state::accepted_pending) {
            // Accepted at RCPT but the data never went: not delivered.
            js.rs[i] = rcpt_state::final;
            res.recipients[i].outcome = outcome::deferred;
        }
    }
    js.finished = true;
    res.summarise();
}

inline bool send_algorithm::apply(const expect& e, const reply_view& rv) {
    auto& js = js_[e.job];
    auto& res = *plans_[e.job].result;
    int code = rv.code;
    bool fail_class = code >= 400 && code < 600;
    // RFC 5321 4.3.2: MAIL, RCPT and the end of data succeed with 250 (RCPT also
    // 251, "will forward"); any other 2xx, or a 3xx, answers no such command.
    bool ok = code >= 250 && code <= 259;
    switch (e.c) {
    case cmd::mail:
        if (ok) {
            js.mail_ok = true;
            st_.in_transaction = true;
        } else if (fail_class) {
            js.mail_failed = true;
            js.mail_reply = rv.to_reply();
            res.reply = js.mail_reply;
            if (!cfg_.pipelining) js.at = cursor::done;
        } else {
            return false;
        }
        return true;
    case cmd::rcpt: {
        auto& rr = res.recipients[e.rcpt];
        if (!ok && !fail_class) return false;
        if (js.mail_failed) {
            // The RCPT reply (503, bad sequence) only echoes MAIL's failure.
            js.rs[e.rcpt] = rcpt_state::final;
            rr.outcome = outcome_of(js.mail_reply.code);
            rr.reply = js.mail_reply;
            return true;
        }
        store_reply(rr.reply, rv);
        if (ok) {
            js.rs[e.rcpt] = rcpt_state::accepted_pending;
            ++js.accepted;
        } else {
            js.rs[e.rcpt] = rcpt_state::final;
            rr.outcome = outcome_of(code);
            if (code == 452 && !cfg_.pipelining) {
                // RFC 5321 4.5.3.1.10: too many recipients; the rest go in a later
                // transaction.  Leave them deferred with this reply.
                for (std::size_t i = e.rcpt + 1; i < js.rs.size(); ++i) {
                    js.rs[i] = rcpt_state::final;
                    res.recipients[i].outcome = outcome::deferred;
                    res.recipients[i].reply = rr.reply;
                }
                js.next_rcpt = js.rs.size();
                js.at = cursor::data;
            }
        }
        return true;
    }
    case cmd::data:
        if (code == 354) {
            js.data_ok = true;
            return true;
        }
        if (!fail_class) return false;
        if (js.mail_failed) return true; // MAIL's reply decided the message already
        res.reply = rv.to_reply();
        settle_pending(e.job, res.reply, outcome_of(code));
        return true;
    case cmd::bdat:
        if (ok) return true;
        if (!fail_class) return false;
        // RFC 3030 2: a failed chunk fails the transaction; send no more chunks.
        res.reply = rv.to_reply();
        settle_pending(e.job, res.reply, outcome_of(code));
        return true;
    case cmd::rset:
        if (code != 250) return false;
        st_.in_transaction = false;
        return true;
    case cmd::eod:
    case cmd::bdat_last:
        if (!ok && !fail_class) return false;
        if (js.mail_failed) {
            // 503 after a refused MAIL: MAIL's reply decided the message.
            js.finished = true;
            return true;
        }
        store_reply(res.reply, rv);
        settle_pending(e.job, res.reply, ok ? outcome::accepted : outcome_of(code));
        // The final reply ends the transaction (RFC 5321 4.1.1.4), except a failed
        // BDAT, after which RSET is due (RFC 3030 2).
        if (e.c == cmd::eod || ok) st_.in_transaction = false;
        js.finished = true;
        return true;
    }
    return false;
}

// The session failed (I/O, deadline, protocol, 421): every open recipient of
// every job from j on gets its outcome now.  Jobs already decided keep theirs.
inline void send_algorithm::abort_from(std::size_t j, std::error_code ec, const reply* r) {
    st_.broken = true;
    for (std::size_t k = j; k < plans_.size(); ++k) {
        if (plans_[k].skip) continue;
        auto& js = js_[k];
        auto& res = *plans_[k].result;
        if (js.rs.size() != plans_[k].env->to.size()) start_job(k);
        if (!js.finished) {
            for (std::size_t i = 0; i < js.rs.size(); ++i) {
                if (js.rs[i] == rcpt_state::final) continue;
                // The last of the data went out and no final reply came: the server
                // may have taken the message (RFC 1047), even for a recipient whose
                // RCPT reply is still unread (inline BDAT).
                bool unknown = js.eod_written && !js.mail_failed;
                js.rs[i] = rcpt_state::final;
                res.recipients[i].outcome = unknown ? outcome::unknown : outcome::deferred;
                if (r) res.recipients[i].reply = *r;
            }
            if (r && res.reply.empty()) res.reply = *r;
            res.error = ec;
            js.finished = true;
        }
        finish_job(k);
    }
}

// Makes pending_ hold the rest of job j's body's current piece, reading the next
// piece when it is used up.  False at the end of the body (`e` clear) or when
// the body fails (`e` = body_read_failed).
inline bool send_algorithm::refill(std::size_t j, std::error_code& e) {
    if (!pending_.empty()) return true;
    std::error_code ec;
    pending_ = plans_[j].body->next(ec);
    if (ec) {
        e = errc::body_read_failed;
        return false;
    }
    return !pending_.empty();
}

// Encodes up to `room` raw octets of the body into out (appending).  `last`: the
// body ended (each block looks ahead, so the last one is known as such).
inline std::error_code send_algorithm::fill_block(std::size_t j, buffer& out, bool& last, std::size_t room) {
    std::error_code e;
    last = false;
    while (room > 0) {
        if (!refill(j, e)) {
            last = !e;
            return e;
        }
        std::size_t n = pending_.size() < room ? pending_.size() : room;
        if (plans_[j].verbatim) out.append(pending_.substr(0, n));
        else if (auto ec = enc_.encode(pending_.substr(0, n), out)) return ec;
        pending_.remove_prefix(n);
        room -= n;
    }
    if (!refill(j, e)) last = !e;
    return e;
}

// With a verbatim body whose pieces stay put: the next block of up to
// block_size octets, its first piece as a view into the body itself (`head`:
// valid while the message is ours, the driver writes it from there), the
// pieces after it that fit copied into `out`, as fill_block does.  (A view stays
// valid past the next call to next(), so the look-ahead may make it.)
inline std::error_code send_algorithm::view_block(std::size_t j, std::string_view& head, buffer& out,
                                                  bool& last) {
    std::error_code e;
    last = false;
    head = {};
    if (!refill(j, e)) {
        last = !e;
        return e;
    }
    head = pending_.substr(0, cfg_.block_size);
    pending_.remove_prefix(head.size());
    if (!refill(j, e)) {
        last = !e;
        return e;
    }
    // More pieces: those that fit the block go after the view, copied.
    return head.size() < cfg_.block_size ? fill_block(j, out, last, cfg_.block_size - head.size())
                                         : std::error_code{};
}

// Encodes the next BDAT chunk of job j into stage_, with max_bdat_line octets of head room in
// front for its "BDAT n [LAST]" line.  Sets staged_, or stage_error_ on a body
// error (then reported through abort when j's turn comes).
inline void send_algorithm::stage_bdat(std::size_t j) {
    if (body_job_ != j) {
        enc_ = data_encoder(plans_[j].enc, cfg_.limits);
        pending_ = {};
        body_job_ = j;
    }
    staged_job_ = j;
    stage_error_.clear();
    stage_.clear();
    stage_.prepare(max_bdat_line);
    stage_.commit(max_bdat_line);
    bool last = false;
    if (auto ec = fill_block(j, stage_, last)) {
        staged_ = false;
        stage_error_ = ec;
        stage_.clear();
        return;
    }
    if (last) enc_.finish(stage_);
    std::size_t n = stage_.size() - max_bdat_line;
    char head[max_bdat_line];
    std::size_t h = format_bdat(head, n, last);
    std::memcpy(stage_.data() + max_bdat_line - h, head, h);
    stage_.consume(max_bdat_line - h);
    staged_octets_ = n;
    staged_ = true;
    staged_last_ = last;
}

// Writes "BDAT n LAST" and job j's verbatim body (n = its planned octets) into
// wbuf.  A body that reads otherwise (it cannot change size: it is in memory)
// leaves wbuf as it was and its failure in stage_error_, for its turn.
inline bool send_algorithm::write_direct_bdat(std::size_t j) {
    const std::size_t mark = st_.wbuf.size();
    const std::uint64_t n = plans_[j].octets;
    st_.wbuf.commit(format_bdat(st_.wbuf.prepare(max_bdat_line), n, true));
    const std::size_t body_at = st_.wbuf.size();
    body_job_ = j;
    pending_ = {};
    bool last = false;
    std::error_code ec = fill_block(j, st_.wbuf, last);
    if (!ec && (!last || st_.wbuf.size() - body_at != n)) ec = errc::body_read_failed;
    if (ec) {
        st_.wbuf.truncate(mark);
        staged_job_ = j;
        staged_ = false;
        stage_error_ = ec;
        return false;
    }
    plans_[j].result->data_octets += n;
    return true;
}

// After job_'s commands and whole body went into wbuf (BDAT LAST): appends the
// following messages whose bodies fit one chunk, each as RSET, MAIL, RCPTs and
// BDAT LAST, while the group stays within max_group commands and block_size
// octets.  A message whose body does not fit (or cannot be read) ends the window;
// its first chunk (or its failure) waits in stage_ for its turn.
inline void send_algorithm::append_window() {
    window_end_ = job_ + 1;
    js_[job_].eod_end = st_.wbuf.size();
    if (!cfg_.bdat_window) return;
    for (;;) {
        std::size_t nj = next_job(window_end_);
        if (nj >= plans_.size() || !bdat(nj) || plans_[nj].env->to.empty()) return;
        if (q_.size() + 3 + plans_[nj].env->to.size() > cfg_.max_group) return;
        if (st_.wbuf.size() >= cfg_.block_size) return;
        if (direct_bdat(nj)) {
            // Its whole chunk, command line included, must fit this write.
            if (st_.wbuf.size() + bdat_line_length(plans_[nj].octets, true) + plans_[nj].octets > cfg_.block_size) return;
        } else {
            stage_bdat(nj);
            // It waits in stage_ for its turn when it does not fit (whole, and in this write).
            if (!staged_ || !staged_last_ || st_.wbuf.size() + stage_.size() > cfg_.block_size) return;
        }
        const std::size_t mark = st_.wbuf.size(), qmark = q_.size();
        start_job(nj);
        write_rset(st_.wbuf);
        q_.push_back({cmd::rset, static_cast<std::uint32_t>(nj), 0});
        append_commands(nj);
        if (!js_[nj].body_inline) {
            // Its body did not read as planned: out of the window again; the
            // failure waits in stage_error_ for its turn, as a staged one would.
            st_.wbuf.truncate(mark);
            q_.resize(qmark);
            const std::size_t at = js_[nj].rs_at;
            js_[nj] = job_state{};
            js_[nj].rs_at = at;
            return;
        }
        js_[nj].eod_end = st_.wbuf.size();
        window_end_ = nj + 1;
    }
}

// The write of a window ended: every job whose last chunk went out (all of them
// when `complete`, else those within the octets written) has its end of data
// written.
inline void send_algorithm::note_window_written(bool complete) {
    for (std::size_t k = job_; k < window_end_; ++k) {
        auto& js = js_[k];
        if (plans_[k].skip || !js.body_inline) continue;
        if (complete || st_.last_write_octets >= js.eod_end) js.eod_written = true;
    }
}

// A complete reply came while the data of job_ was being written, before its
// end: it cannot accept the message.  A 4xx or 5xx decides it (552 and the
// like); anything else breaks the protocol.  The data was not ended, so the
// connection cannot be reused either way.
inline next_action send_algorithm::early_reply() {
    const auto& rv = st_.parser.get();
    st_.last_reply = rv.to_reply();
    if (rv.code >= 400 && rv.code < 600 && rv.code != 421) {
        auto& res = *plans_[job_].result;
        res.reply = st_.last_reply;
        settle_pending(job_, res.reply, outcome_of(rv.code));
        js_[job_].finished = true;
        abort_from(job_, {}, nullptr);
        abort_from(next_job(job_ + 1), errc::unsolicited_reply, &st_.last_reply);
        return next_action::done();
    }
    std::error_code e = rv.code == 421 ? errc::service_not_available : errc::unsolicited_reply;
    abort_from(job_, e, &st_.last_reply);
    return next_action::done(e);
}

inline next_action send_algorithm::resume(std::error_code ec) {
    SMTPIO_CORO_BEGIN(coro_)
    if (!st_.opened || st_.broken) {
        for (auto& p : plans_)
            if (!p.skip) {
                p.result->outcome = message_outcome::not_sent;
                p.result->error = errc::not_open;
            }
        return next_action::done(errc::not_open);
    }
    {
        std::size_t recipients = 0;
        for (std::size_t k = 0; k < plans_.size(); ++k) {
            js_[k].rs_at = recipients;
            if (!plans_[k].skip) recipients += plans_[k].env->to.size();
        }
        rs_all_.assign(recipients, rcpt_state::open);
    }
    job_ = next_job(0);
    if (job_ < plans_.size()) start_job(job_);
    while (job_ < plans_.size()) {
        // 1. Replies first: every command written is answered before anything else.
        if (qhead_ < q_.size()) {
            if (!st_.take_buffered_reply(ec))
                SMTPIO_CORO_YIELD(coro_, next_action::read(phase_of(q_[qhead_].c)));
            if (ec) {
                abort_from(job_, ec, nullptr);
                return next_action::done(ec);
            }
            {
                const auto& rv = st_.parser.get();
                expect e = q_[qhead_++];
                if (rv.code == 421) {
                    // RFC 5321 3.8: the server is closing and takes nothing after this
                    // command; whatever is open is deferred, including a message whose
                    // end of data this 421 answers and the messages of a BDAT window
                    // behind it, written but never taken.
                    st_.last_reply = rv.to_reply();
                    for (std::size_t k = e.job; k < js_.size(); ++k) js_[k].eod_written = false;
                    abort_from(job_, errc::service_not_available, &st_.last_reply);
                    return next_action::done(errc::service_not_available);
                }
                if (!apply(e, rv)) {
                    st_.last_reply = rv.to_reply();
                    std::error_code bad = e.c == cmd::rset ? errc::reset_failed : errc::unexpected_reply;
                    abort_from(job_, bad, &st_.last_reply);
                    return next_action::done(bad);
                }
            }
            continue;
        }
        q_.clear();
        qhead_ = 0;

        // 2. The current job is decided: summarise, move on.
        if (js_[job_].finished) {
            finish_job(job_);
            job_ = next_job(job_ + 1);
            if (job_ < plans_.size() && js_[job_].rs.empty()) start_job(job_);
            continue;
        }

        // 3. A previous transaction was left open (failed DATA or BDAT, or no
        //    recipient): RSET first, alone, so that a refusal cannot mix with
        //    the next transaction's replies.
        if (st_.unsolicited()) {
            // Bytes no command asked for: the replies would no longer line up.
            abort_from(job_, errc::unsolicited_reply, nullptr);
            return next_action::done(errc::unsolicited_reply);
        }
        if (!js_[job_].started && st_.in_transaction) {
            st_.wbuf.clear();
            write_rset(st_.wbuf);
            SMTPIO_CORO_YIELD(coro_, next_action::write(phase::rset));
            if (ec) {
                abort_from(job_, ec, nullptr);
                return next_action::done(ec);
            }
            SMTPIO_CORO_YIELD(coro_, next_action::read(phase::rset));
            if (ec) {
                abort_from(job_, ec, nullptr);
                return next_action::done(ec);
            }
            if (st_.parser.get().code != 250) {
                st_.last_reply = st_.parser.get().to_reply();
                ec = st_.parser.get().code == 421 ? errc::service_not_available : errc::reset_failed;
                abort_from(job_, ec, nullptr);
                return next_action::done(ec);
            }
            st_.in_transaction = false;
            continue;
        }

        // 4. Commands still to write for this job (all of them with pipelining,
        //    the next one without).
        if (js_[job_].at != cursor::done) {
            st_.wbuf.clear();
            window_end_ = job_ + 1;
            if (!append_commands(job_)) continue;
            if (js_[job_].body_inline) append_window();
            SMTPIO_CORO_YIELD(coro_, next_action::write(js_[job_].body_inline ? phase::data_block : phase::mail));
            note_window_written(!ec);
            if (ec) {
                abort_from(job_, ec, nullptr);
                return next_action::done(ec);
            }
            continue;
        }

        // 5. DATA got 354: the message data, then "." (and the next group).
        if (!bdat(job_) && js_[job_].data_ok && !js_[job_].eod_written) {
            if (js_[job_].accepted == 0 || !js_[job_].mail_ok) {
                // 354 with no recipient: end the data at once (RFC 2920 3.1).
                st_.clear_write();
                st_.wbuf += ".\r\n";
                last_block_ = true;
                duplex_ = false;
            } else {
                enc_ = data_encoder(encoding::dot_stuffed, cfg_.limits);
                pending_ = {};
                body_job_ = job_;
                duplex_ = false;
                last_block_ = false;
            }
            for (;;) {
                if (js_[job_].accepted != 0 && js_[job_].mail_ok) {
                    st_.clear_write();
                    // A body that needs no dot-stuffing goes as it is; with a gather
                    // write, from where it is (the end of data follows in wbuf).
                    if (auto e = plans_[job_].verbatim && plans_[job_].stable_pieces && st_.gather_writes
                                     ? view_block(job_, st_.whead, st_.wbuf, last_block_)
                                     : fill_block(job_, st_.wbuf, last_block_)) {
                        // Mid-DATA the data cannot be ended cleanly: drop the connection.
                        st_.clear_write();
                        abort_from(job_, e, nullptr);
                        return next_action::done(e);
                    }
                    if (last_block_) enc_.finish(st_.wbuf);
                    else duplex_ = true;
                }
                if (last_block_ && st_.unsolicited()) {
                    // Part of a reply came while the data was written.  It was sent
                    // before the end of data, so it cannot answer it: the end of data
                    // does not go out before that reply is complete (it would be
                    // taken for the answer).  Read the rest of it and decide.
                    st_.clear_write(); // (none of this block goes out)
                    SMTPIO_CORO_YIELD(coro_, next_action::read(phase::data_block));
                    if (ec) {
                        abort_from(job_, ec, nullptr);
                        return next_action::done(ec);
                    }
                    return early_reply();
                }
                plans_[job_].result->data_octets += st_.write_size();
                if (last_block_) {
                    eod_end_ = st_.write_size();
                    q_.push_back({cmd::eod, static_cast<std::uint32_t>(job_), 0});
                    // RFC 2920 3.1: the end of the data may start the next group.
                    if (cfg_.pipelining) {
                        std::size_t nj = next_job(job_ + 1);
                        if (nj < plans_.size() && !bdat(nj)) {
                            start_job(nj);
                            append_commands(nj);
                        }
                    }
                }
                SMTPIO_CORO_YIELD(coro_, next_action::write_data(phase::data_block, duplex_ && !last_block_,
                                                                 last_block_ ? eod_end_ : st_.write_size()));
                if (ec) {
                    if (last_block_ && st_.last_write_octets >= eod_end_) js_[job_].eod_written = true;
                    abort_from(job_, ec, nullptr);
                    return next_action::done(ec);
                }
                if (last_block_) {
                    js_[job_].eod_written = true;
                    break;
                }
                if (st_.early_read_done) {
                    // The server spoke while the data was still being written.
                    st_.early_read_done = false;
                    if (st_.early_error) {
                        abort_from(job_, st_.early_error, nullptr);
                        return next_action::done(st_.early_error);
                    }
                    auto s = st_.try_reply();
                    if (s == reply_parser::status::error) {
                        abort_from(job_, st_.parser.error(), nullptr);
                        return next_action::done(st_.parser.error());
                    }
                    if (s == reply_parser::status::done) return early_reply();
                }
            }
            continue; // read the reply to the end of data (and the next group's)
        }

        // 6. BDAT chunks after the recipients' replies, each chunk with its reply.
        if (bdat(job_) && !js_[job_].body_inline && js_[job_].mail_ok && js_[job_].accepted > 0) {
            for (;;) {
                if (st_.unsolicited()) {
                    abort_from(job_, errc::unsolicited_reply, nullptr);
                    return next_action::done(errc::unsolicited_reply);
                }
                if (!staged_ && !(staged_job_ == job_ && stage_error_)) stage_bdat(job_);
                if (!staged_) {
                    ec = stage_error_;
                    abort_from(job_, ec, nullptr);
                    return next_action::done(ec);
                }
                staged_ = false;
                st_.wbuf.clear();
                std::swap(st_.wbuf, stage_);
                plans_[job_].result->data_octets += staged_octets_;
                eod_end_ = st_.wbuf.size();
                last_block_ = staged_last_;
                SMTPIO_CORO_YIELD(coro_, next_action::write_data(phase::data_block, false, 0));
                if (ec) {
                    if (last_block_ && st_.last_write_octets >= eod_end_) js_[job_].eod_written = true;
                    abort_from(job_, ec, nullptr);
                    return next_action::done(ec);
                }
                if (last_block_) js_[job_].eod_written = true;
                SMTPIO_CORO_YIELD(coro_, next_action::read(last_block_ ? phase::data_end : phase::data_block));
                if (ec) {
                    abort_from(job_, ec, nullptr);
                    return next_action::done(ec);
                }
                {
                    const auto& rv = st_.parser.get();
                    if (rv.code == 421) {
                        st_.last_reply = rv.to_reply();
                        js_[job_].eod_written = false;
                        abort_from(job_, errc::service_not_available, &st_.last_reply);
                        return next_action::done(errc::service_not_available);
                    }
                    expect e{last_block_ ? cmd::bdat_last : cmd::bdat, static_cast<std::uint32_t>(job_), 0};
                    if (!apply(e, rv)) {
                        st_.last_reply = rv.to_reply();
                        abort_from(job_, errc::unexpected_reply, &st_.last_reply);
                        return next_action::done(errc::unexpected_reply);
                    }
                    if (last_block_ || rv.code >= 400) break;
                }
            }
        }
        // 7. Nothing more for this job (MAIL, RCPTs or DATA failed; or BDAT done).
        js_[job_].finished = true;
    }
    SMTPIO_CORO_END(coro_, next_action::done());
}

} // namespace smtpio::proto

#endif // SMTPIO_PROTO_SEND_ALGORITHM_HPP
