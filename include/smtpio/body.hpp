//
// smtpio/body.hpp -- where a message comes from: memory, buffers, a file, a generator.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_BODY_HPP
#define SMTPIO_BODY_HPP

#include <smtpio/error.hpp>
#include <smtpio/proto/send_algorithm.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtpio {

/// A message text that many sends share, scanned once.  Bulk senders often send
/// one text in many transactions (a transaction per recipient for per-recipient
/// bounce addresses, VERP); body::shared spares the copy, and a prepared text
/// also spares the scan that every send does before MAIL (line ends, NULs, line
/// lengths, 8-bit octets: about one instruction per octet).  The text is
/// immutable: the facts stay true for every send that carries it, from any
/// thread.  Make one with std::make_shared<const prepared_text>(text) and send
/// it with body::prepared.
class prepared_text {
public:
    /// Takes `text` and scans it once.
    explicit prepared_text(std::string text);
    /// The message text.
    std::string_view text() const noexcept { return text_; }
    /// What the scan found (see proto::body_facts).
    const proto::body_facts& facts() const noexcept { return facts_; }

private:
    std::string text_;
    proto::body_facts facts_;
};

/// A message as it should be delivered: headers, a blank line, the body, in
/// RFC 5322 form.  Line ends may be CRLF, LF or CR: they are normalised to CRLF
/// on the wire, lines starting with "." are dot-stuffed, and the end of data
/// cannot be forged from inside the message.
///
/// A body is read once per send, in pieces, so a large file is never loaded
/// whole.  Rewindable sources (memory, buffers, files) are also scanned before
/// MAIL, so that SIZE, BODY=8BITMIME and errors (NUL octets, lines over 998
/// octets) are decided before anything is written.  A generator cannot be
/// scanned: problems it produces are found while sending and abort the
/// transaction (the message is then *deferred*, never half-delivered).
class body : public proto::body_source {
public:
    /// Produces up to `capacity` octets into `out`; returns how many (0 ends the
    /// message).  Set `ec` on failure.
    using generator_fn = std::function<std::size_t(char* out, std::size_t capacity, std::error_code& ec)>;

    /// An empty message.
    body();
    /// The message held in `text` (owned).
    body(std::string text); // NOLINT: implicit on purpose
    body(const char* text); // NOLINT

    /// The message in `text`, borrowed: it must outlive the send, unchanged.
    static body view(std::string_view text);
    /// The message held in `text` (owned).
    static body copy(std::string text);
    /// The message in `text`, shared and immutable: one text for many sends
    /// (bulk mail) without a copy each.  A null pointer is an empty message.
    static body shared(std::shared_ptr<const std::string> text);
    /// The message in a prepared text, shared and immutable, whose facts were
    /// computed once: neither copied nor scanned again for this send.  A null
    /// pointer is an empty message.
    static body prepared(std::shared_ptr<const prepared_text> text);
    /// A message made of several borrowed pieces, in order (they must outlive the
    /// send, unchanged).
    static body buffers(std::vector<std::string_view> pieces);
    /// The message in a file, read in pieces of `chunk` octets.
    static body file(std::filesystem::path path, std::size_t chunk = 256 * 1024);
    /// A message produced on demand (not rewindable: no scan before MAIL).
    static body generator(generator_fn fn, std::size_t chunk = 64 * 1024);

    /// The raw size when known without reading (memory, buffers, regular files).
    std::optional<std::uint64_t> size() const;
    /// True when the body can be read more than once (everything but generators).
    bool rewindable() const noexcept;
    /// True for memory and buffers (never a file, which can change between the
    /// scan before MAIL and the send, nor a generator).
    bool in_memory() const noexcept;
    /// True when the body holds its text (owned or shared const), so that no one
    /// can change it between the scan and the send; borrowed views and buffers do
    /// not (their text must outlive the send and stay unchanged until it ends).
    bool owns_text() const noexcept;
    /// Opens the source (a file) and positions it at the start; call before reading.
    std::error_code open();
    /// The next piece; empty at the end.  See proto::body_source.
    std::string_view next(std::error_code& ec) override;
    /// Reads the whole source once to compute its facts, then rewinds (a
    /// prepared text gives the facts it holds, without reading).
    /// Errors: errc::body_read_failed (and the source is not rewindable).
    std::error_code scan(proto::body_facts& facts);

    body(body&& o) noexcept;
    body& operator=(body&& o) noexcept;
    ~body() override;

    struct source; // implementation detail

private:
    // Text in memory (owned, borrowed, shared, prepared) lives in the body itself:
    // no allocation per message; files, buffers and generators on the heap.
    static constexpr std::size_t inline_size = 96;
    explicit body(std::unique_ptr<source> s) noexcept : src_(s.release()) {}
    template <class Source, class... Args>
    static body make_inline(Args&&... args);
    bool is_inline() const noexcept { return static_cast<const void*>(src_) == static_cast<const void*>(buf_); }
    void destroy() noexcept;
    void take(body& o) noexcept;

    source* src_ = nullptr;
    alignas(std::max_align_t) unsigned char buf_[inline_size];
};

} // namespace smtpio

#include <smtpio/impl/body.hpp>

#endif // SMTPIO_BODY_HPP
