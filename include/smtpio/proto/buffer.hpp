//
// smtpio/proto/buffer.hpp -- a growable byte buffer with a consumed front.
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_PROTO_BUFFER_HPP
#define SMTPIO_PROTO_BUFFER_HPP

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <utility>

namespace smtpio::proto {

/// A contiguous byte buffer: `[consumed | readable | writable]`.
///
/// Used for a session's one read buffer and one write buffer: capacity is kept
/// between uses so steady-state traffic does not allocate, and growth does not
/// zero-fill (unlike `std::string::resize`), which matters for the DATA encoder.
class buffer {
public:
    buffer() noexcept = default;
    explicit buffer(std::size_t capacity) { reserve(capacity); }
    buffer(const buffer&) = delete;
    buffer& operator=(const buffer&) = delete;
    buffer(buffer&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), begin_(std::exchange(o.begin_, 0)),
          end_(std::exchange(o.end_, 0)), cap_(std::exchange(o.cap_, 0)) {}
    buffer& operator=(buffer&& o) noexcept {
        if (this != &o) {
            std::free(data_);
            data_ = std::exchange(o.data_, nullptr);
            begin_ = std::exchange(o.begin_, 0);
            end_ = std::exchange(o.end_, 0);
            cap_ = std::exchange(o.cap_, 0);
        }
        return *this;
    }
    ~buffer() { std::free(data_); }

    /// The readable bytes.
    const char* data() const noexcept { return data_ + begin_; }
    char* data() noexcept { return data_ + begin_; }
    std::size_t size() const noexcept { return end_ - begin_; }
    bool empty() const noexcept { return begin_ == end_; }
    std::string_view view() const noexcept { return {data(), size()}; }
    std::size_t capacity() const noexcept { return cap_; }

    /// Removes n readable bytes from the front.
    void consume(std::size_t n) noexcept {
        begin_ += n < size() ? n : size();
        if (begin_ == end_) begin_ = end_ = 0;
    }
    /// Keeps only the first n readable bytes.
    void truncate(std::size_t n) noexcept {
        if (n < size()) end_ = begin_ + n;
        if (begin_ == end_) begin_ = end_ = 0;
    }
    /// Removes every readable byte; keeps the capacity.
    void clear() noexcept { begin_ = end_ = 0; }

    /// Returns writable space for at least n bytes after the readable ones
    /// (uninitialised); call `commit()` with what was written.
    char* prepare(std::size_t n) {
        if (cap_ - end_ < n) grow(n);
        return data_ + end_;
    }
    /// Writable bytes available without growing.
    std::size_t writable() const noexcept { return cap_ - end_; }
    /// Makes n bytes written after `prepare()` readable.
    void commit(std::size_t n) noexcept { end_ += n; }

    // Small enough to inline: a literal's copy becomes a few moves; growing is out of line.
    void append(const char* p, std::size_t n) {
        if (cap_ - end_ < n) grow(n);
        if (n != 0) std::memcpy(data_ + end_, p, n);
        end_ += n;
    }
    void append(std::string_view s) { append(s.data(), s.size()); }
    void push_back(char c) {
        *prepare(1) = c;
        ++end_;
    }
    buffer& operator+=(std::string_view s) {
        append(s);
        return *this;
    }
    buffer& operator+=(char c) {
        push_back(c);
        return *this;
    }

    /// Ensures room for n bytes in total (readable + writable).
    void reserve(std::size_t n) {
        if (n > cap_ - begin_) grow(n - size());
    }
    /// Releases memory beyond `keep` bytes of capacity when the buffer holds no data.
    void shrink(std::size_t keep) noexcept {
        if (!empty() || cap_ <= keep) return;
        std::free(data_);
        data_ = nullptr;
        cap_ = begin_ = end_ = 0;
    }

    std::string str() const { return std::string(view()); }

private:
    [[gnu::noinline]] void grow(std::size_t n) {
        std::size_t used = size();
        // Move the readable bytes to the front first: often that is enough.
        if (begin_ > 0 && cap_ - used >= n) {
            std::memmove(data_, data_ + begin_, used);
            begin_ = 0;
            end_ = used;
            return;
        }
        std::size_t want = used + n;
        std::size_t cap = cap_ < 256 ? 256 : cap_;
        while (cap < want) cap += cap / 2 + 1;
        char* p = static_cast<char*>(std::malloc(cap));
        if (!p) throw std::bad_alloc();
        if (used) std::memcpy(p, data_ + begin_, used);
        std::free(data_);
        data_ = p;
        cap_ = cap;
        begin_ = 0;
        end_ = used;
    }

    char* data_ = nullptr;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::size_t cap_ = 0;
};

} // namespace smtpio::proto

#endif // SMTPIO_PROTO_BUFFER_HPP
