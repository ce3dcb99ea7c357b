//
// smtpio/proto/data_encoder.hpp -- the message body on the wire: line ends
// normalised, dot-stuffed for DATA (RFC 5321 4.5.2), chunked for BDAT (RFC 3030).
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_DATA_ENCODER_HPP
#define SMTPIO_PROTO_DATA_ENCODER_HPP

#include <smtpio/error.hpp>
#include <smtpio/proto/buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace smtpio::proto {

/// How the encoder transforms the message.
enum class encoding : std::uint8_t {
    dot_stuffed, ///< For DATA: normalise line ends, dot-stuff, terminate with CRLF "." CRLF.
    chunked,     ///< For BDAT with 7BIT/8BITMIME: normalise line ends, no dot-stuffing.
    binary,      ///< For BDAT with BINARYMIME: octets pass unchanged (NUL allowed, no line limit).
};

/// Limits applied while encoding.
struct encoder_limits {
    /// Longest line in octets, CRLF excluded (RFC 5322 2.1.1 and RFC 5321
    /// 4.5.3.1.6 set 998); 0 disables the check.
    std::size_t max_line_length = 998;
};

/// A streaming encoder for the message body.
///
/// Input may arrive in chunks of any size; state (a CR at the end of a chunk, the
/// position in the line) carries across chunks.  Every bare CR and every bare LF
/// becomes CRLF, so the output has CRLF line ends only; CR CR LF is two line ends.
/// With `dot_stuffed`, a line that starts with "." gets another "." in front.
/// Hence no input can place "CRLF . CRLF" anywhere but at the end written by
/// `finish()`, nor any of the sequences receivers have misread as the end of
/// data (`LF . LF`, `CR . CR`, `LF . CRLF`, ...: SMTP smuggling).  A NUL octet is
/// an error (errc::body_contains_nul) except in `binary` mode; a line longer than
/// the limit is errc::body_line_too_long.  On error the output of that call is
/// incomplete and the message must not be terminated: abort the transaction.
///
/// The message is read in 64-octet blocks (SSE2, or AVX2 when the CPU has it);
/// a CRLF that needs no change is copied with the text around it, so ordinary
/// CRLF text costs about twice a memcpy (bench/micro/encoder.cpp measures it).
class data_encoder {
public:
    explicit data_encoder(encoding mode = encoding::dot_stuffed, encoder_limits limits = {}) noexcept
        : mode_(mode), limits_(limits) {}

    /// The most output `encode()` can produce for n input octets, plus slack the
    /// block copy needs.  Reserve this much before calling the raw overload.
    static constexpr std::size_t max_output(std::size_t n) noexcept { return 2 * n + 32; }

    /// Encodes n octets from `in` into `out`, which must have `max_output(n)`
    /// writable octets.  Returns the octets written; sets `ec` on error.
    std::size_t encode(const char* in, std::size_t n, char* out, std::error_code& ec) noexcept;

    /// Encodes `in`, appending to `out`.
    std::error_code encode(std::string_view in, buffer& out);

    /// Appends the end of the data: in `dot_stuffed` mode a CRLF when the body did
    /// not end with a line end, then "." CRLF; in `chunked` mode only the CRLF
    /// (RFC 3030 does not require it, but a message must end with a line end);
    /// nothing in `binary` mode.  At most 5 octets.
    void finish(buffer& out);
    /// Raw overload of `finish()`: `out` must have 5 writable octets.
    std::size_t finish(char* out) noexcept;

    /// True once an octet above 0x7F was seen.
    bool saw_8bit() const noexcept { return eight_bit_; }
    /// Input octets consumed so far.
    std::uint64_t input_octets() const noexcept { return in_total_; }
    /// Starts a new message.
    void reset() noexcept;

    encoding mode() const noexcept { return mode_; }

private:
    encoding mode_;
    encoder_limits limits_;
    bool line_start_ = true;
    bool skip_lf_ = false;  // the last octet was a CR already written as CRLF
    bool eight_bit_ = false;
    std::size_t line_len_ = 0;
    std::uint64_t in_total_ = 0;
};

/// Facts about a message found by scanning it before sending (so that SIZE,
/// BODY= and errors are decided before MAIL).
struct body_facts {
    std::uint64_t normalised_size = 0; ///< Octets with CRLF line ends, before dot-stuffing.
    bool eight_bit = false;            ///< An octet above 0x7F occurs.
    bool has_nul = false;              ///< A NUL occurs.
    std::size_t longest_line = 0;      ///< Longest line in octets, CRLF excluded.
    bool bare_line_end = false;        ///< A CR or LF that is not part of a CRLF occurs.
    bool dot_line = false;             ///< A line begins with "." (DATA would stuff it).
    bool ends_with_line_end = true;    ///< The message ends with CRLF (or is empty).

    /// True when encoding in `mode` would change nothing but add the end of data:
    /// CRLF line ends only, ending with one, and for DATA no line beginning with "."
    /// (NUL octets and long lines are the caller's to refuse first).
    bool encodes_verbatim(encoding mode) const noexcept {
        if (mode == encoding::binary) return true;
        return !bare_line_end && ends_with_line_end && (mode == encoding::chunked || !dot_line);
    }
};

/// Incremental scanner computing `body_facts` over chunks, with the same line
/// end rules as the encoder.
class body_scanner {
public:
    void scan(std::string_view chunk) noexcept;
    /// The facts so far (call after the last chunk).
    body_facts facts() const noexcept;

private:
    body_facts f_;               // normalised_size counts the completed lines only
    std::size_t line_len_ = 0;   // octets of the current line so far
    bool skip_lf_ = false;       // the last octet was a CR: a LF next is part of its line end
};

} // namespace smtpio::proto

#include <smtpio/proto/impl/data_encoder.hpp>

#endif // SMTPIO_PROTO_DATA_ENCODER_HPP
