//
// smtpio/impl/body.hpp
//
// Copyright (c) 2026 the smtpio authors. Distributed under the Boost Software
// License, Version 1.0 (see LICENSE or https://www.boost.org/LICENSE_1_0.txt).
//
#ifndef SMTPIO_IMPL_BODY_HPP
#define SMTPIO_IMPL_BODY_HPP

#include <cerrno>
#include <cstdio>

namespace smtpio {

struct body::source {
    virtual ~source() = default;
    virtual std::optional<std::uint64_t> size() const = 0;
    virtual bool rewindable() const noexcept { return true; }
    virtual bool in_memory() const noexcept { return false; }
    virtual bool owns_text() const noexcept { return false; }
    virtual const proto::body_facts* known_facts() const noexcept { return nullptr; } // computed before
    // For sources kept inside a body: move-constructs *this at `where`.
    virtual source* move_to(void* /*where*/) noexcept { return nullptr; }
    virtual std::error_code open() = 0; // (re)start from the beginning
    virtual std::string_view next(std::error_code& ec) = 0;
};

namespace detail {

// A text in memory, given whole by the first next() after open().
class one_piece_source : public body::source {
public:
    std::optional<std::uint64_t> size() const override { return view_.size(); }
    bool in_memory() const noexcept override { return true; }
    std::error_code open() override {
        done_ = false;
        return {};
    }
    std::string_view next(std::error_code& ec) override {
        ec.clear();
        if (done_) return {};
        done_ = true;
        return view_;
    }

protected:
    one_piece_source() = default;
    explicit one_piece_source(std::string_view v) : view_(v) {}
    std::string_view view_;
    bool done_ = false;
};

class memory_source final : public one_piece_source {
public:
    // view_ may point into owned_: move_to (a body moved, with its source kept
    // inside it) points it at the new owned_.  A message is not moved while it
    // is sent, so views of its text stay valid for the whole send.
    explicit memory_source(std::string owned) : owned_(std::move(owned)) { view_ = owned_; }
    explicit memory_source(std::string_view borrowed) : one_piece_source(borrowed), owns_(false) {}
    explicit memory_source(std::shared_ptr<const std::string> shared) : shared_(std::move(shared)) {
        if (shared_) view_ = *shared_;
    }
    memory_source(const memory_source&) = delete;
    memory_source& operator=(const memory_source&) = delete;
    source* move_to(void* where) noexcept override {
        auto* m = ::new (where) memory_source(std::string_view());
        const bool into_owned = owns_ && !shared_;
        m->owned_ = std::move(owned_);
        m->shared_ = std::move(shared_);
        m->view_ = into_owned ? std::string_view(m->owned_) : view_;
        m->owns_ = owns_;
        m->done_ = done_;
        return m;
    }
    bool owns_text() const noexcept override { return owns_; }

private:
    std::string owned_;
    std::shared_ptr<const std::string> shared_;
    bool owns_ = true; // owned_ or shared_: nobody can change the text during a send
};

// A prepared text: shared, immutable, its facts known.
class prepared_source final : public one_piece_source {
public:
    explicit prepared_source(std::shared_ptr<const prepared_text> p) : p_(std::move(p)) {
        if (p_) view_ = p_->text();
    }
    prepared_source(const prepared_source&) = delete;
    prepared_source& operator=(const prepared_source&) = delete;
    source* move_to(void* where) noexcept override {
        auto* m = ::new (where) prepared_source(std::move(p_));
        m->done_ = done_;
        return m;
    }
    bool owns_text() const noexcept override { return true; }
    const proto::body_facts* known_facts() const noexcept override {
        return p_ ? &p_->facts() : &empty_facts();
    }

private:
    static const proto::body_facts& empty_facts() noexcept {
        static const proto::body_facts none = proto::body_scanner{}.facts();
        return none;
    }
    std::shared_ptr<const prepared_text> p_;
};

class buffers_source final : public body::source {
public:
    explicit buffers_source(std::vector<std::string_view> p) : pieces_(std::move(p)) {}
    bool in_memory() const noexcept override { return true; }
    std::optional<std::uint64_t> size() const override {
        std::uint64_t n = 0;
        for (auto p : pieces_) n += p.size();
        return n;
    }
    std::error_code open() override {
        i_ = 0;
        return {};
    }
    std::string_view next(std::error_code& ec) override {
        ec.clear();
        while (i_ < pieces_.size() && pieces_[i_].empty()) ++i_;
        if (i_ >= pieces_.size()) return {};
        return pieces_[i_++];
    }

private:
    std::vector<std::string_view> pieces_;
    std::size_t i_ = 0;
};

class file_source final : public body::source {
public:
    file_source(std::filesystem::path p, std::size_t chunk) : path_(std::move(p)), chunk_(chunk ? chunk : 65536) {}
    ~file_source() override {
        if (f_) std::fclose(f_);
    }
    std::optional<std::uint64_t> size() const override {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path_, ec)) return std::nullopt;
        auto n = std::filesystem::file_size(path_, ec);
        if (ec) return std::nullopt;
        return n;
    }
    std::error_code open() override {
        if (f_) {
            std::fclose(f_);
            f_ = nullptr;
        }
        f_ = std::fopen(path_.c_str(), "rb");
        if (!f_) return errc::body_read_failed;
        buf_.resize(chunk_);
        return {};
    }
    std::string_view next(std::error_code& ec) override {
        ec.clear();
        if (!f_ && open()) {
            ec = errc::body_read_failed;
            return {};
        }
        std::size_t n = std::fread(buf_.data(), 1, buf_.size(), f_);
        if (n == 0 && std::ferror(f_)) {
            ec = errc::body_read_failed;
            return {};
        }
        return {buf_.data(), n};
    }

private:
    std::filesystem::path path_;
    std::size_t chunk_;
    std::FILE* f_ = nullptr;
    std::string buf_;
};

class generator_source final : public body::source {
public:
    generator_source(body::generator_fn fn, std::size_t chunk) : fn_(std::move(fn)), buf_(chunk ? chunk : 65536, '\0') {}
    std::optional<std::uint64_t> size() const override { return std::nullopt; }
    bool rewindable() const noexcept override { return false; }
    std::error_code open() override {
        if (started_) return errc::body_read_failed; // a generator runs once
        return {};
    }
    std::string_view next(std::error_code& ec) override {
        ec.clear();
        started_ = true;
        if (ended_) return {};
        std::size_t n = fn_ ? fn_(buf_.data(), buf_.size(), ec) : 0;
        if (ec) {
            ec = errc::body_read_failed;
            return {};
        }
        if (n > buf_.size()) {
            ec = errc::body_read_failed;
            return {};
        }
        if (n == 0) ended_ = true;
        return {buf_.data(), n};
    }

private:
    body::generator_fn fn_;
    std::string buf_;
    bool started_ = false;
    bool ended_ = false;
};

} // namespace detail

template <class Source, class... Args>
inline body body::make_inline(Args&&... args) {
    static_assert(sizeof(Source) <= inline_size && alignof(Source) <= alignof(std::max_align_t));
    body b(nullptr);
    b.src_ = ::new (static_cast<void*>(b.buf_)) Source(std::forward<Args>(args)...);
    return b;
}

inline body::body() : body(std::string()) {}
inline body::body(std::string text) : src_(::new (static_cast<void*>(buf_)) detail::memory_source(std::move(text))) {}
inline body::body(const char* text) : body(std::string(text ? text : "")) {}
inline body body::view(std::string_view text) { return make_inline<detail::memory_source>(text); }
inline body body::copy(std::string text) { return body(std::move(text)); }
inline body body::shared(std::shared_ptr<const std::string> text) {
    return make_inline<detail::memory_source>(std::move(text));
}
inline body body::prepared(std::shared_ptr<const prepared_text> text) {
    return make_inline<detail::prepared_source>(std::move(text));
}

inline void body::destroy() noexcept {
    if (is_inline()) src_->~source();
    else delete src_;
    src_ = nullptr;
}
inline void body::take(body& o) noexcept {
    if (o.is_inline()) {
        src_ = o.src_->move_to(buf_);
        o.destroy();
    } else {
        src_ = o.src_;
        o.src_ = nullptr;
    }
}
inline body::body(body&& o) noexcept { take(o); }
inline body& body::operator=(body&& o) noexcept {
    if (this != &o) {
        destroy();
        take(o);
    }
    return *this;
}
inline body::~body() { destroy(); }
inline body body::buffers(std::vector<std::string_view> p) {
    return body(std::make_unique<detail::buffers_source>(std::move(p)));
}
inline body body::file(std::filesystem::path path, std::size_t chunk) {
    return body(std::make_unique<detail::file_source>(std::move(path), chunk));
}
inline body body::generator(generator_fn fn, std::size_t chunk) {
    return body(std::make_unique<detail::generator_source>(std::move(fn), chunk));
}

inline std::optional<std::uint64_t> body::size() const { return src_->size(); }
inline bool body::rewindable() const noexcept { return src_->rewindable(); }
inline bool body::in_memory() const noexcept { return src_->in_memory(); }
inline bool body::owns_text() const noexcept { return src_->owns_text(); }
inline std::error_code body::open() { return src_->open(); }
inline std::string_view body::next(std::error_code& ec) { return src_->next(ec); }

inline prepared_text::prepared_text(std::string text) : text_(std::move(text)) {
    proto::body_scanner s;
    s.scan(text_);
    facts_ = s.facts();
}

inline std::error_code body::scan(proto::body_facts& facts) {
    if (const proto::body_facts* known = src_->known_facts()) {
        facts = *known;
        return src_->open();
    }
    if (!src_->rewindable()) return errc::body_read_failed;
    if (auto ec = src_->open()) return ec;
    proto::body_scanner s;
    for (;;) {
        std::error_code ec;
        auto piece = src_->next(ec);
        if (ec) return ec;
        if (piece.empty()) break;
        s.scan(piece);
    }
    facts = s.facts();
    return src_->open();
}

} // namespace smtpio

#endif // SMTPIO_IMPL_BODY_HPP
