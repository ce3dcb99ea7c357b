// smtpio::body and smtpio::prepared_text: every kind of source reads the same
// text after any number of moves (text in memory lives inside the body), and a
// prepared text gives the facts a scan of it gives, without reading.
#include <smtpio/body.hpp>
#include <smtpio/reply.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstring>
#include <functional>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace {

std::string read_all(smtpio::body& b) {
    REQUIRE_FALSE(b.open());
    std::string out;
    for (int guard = 0; guard < 10000; ++guard) {
        std::error_code ec;
        auto piece = b.next(ec);
        REQUIRE_FALSE(ec);
        if (piece.empty()) return out;
        out.append(piece);
    }
    FAIL("the body never ended");
    return out;
}

smtpio::proto::body_facts scan_text(std::string_view text) {
    smtpio::proto::body_scanner s;
    s.scan(text);
    return s.facts();
}

bool same_facts(const smtpio::proto::body_facts& a, const smtpio::proto::body_facts& b) {
    return a.normalised_size == b.normalised_size && a.eight_bit == b.eight_bit && a.has_nul == b.has_nul &&
           a.longest_line == b.longest_line && a.bare_line_end == b.bare_line_end && a.dot_line == b.dot_line &&
           a.ends_with_line_end == b.ends_with_line_end;
}

const std::string short_text = "Hi\r\n";                       // fits std::string's own storage
const std::string long_text = std::string(3000, 'x') + "\r\n"; // on the heap

} // namespace

TEST_CASE("a body reads the same text after moves, for every kind of source", "[body]") {
    const std::string pieces_a = "Subject: x\r\n", pieces_b = "\r\nbody\r\n";
    auto path = std::filesystem::temp_directory_path() / ("smtpio_body_test_" + std::to_string(::getpid()) + ".eml");
    {
        std::ofstream f(path, std::ios::binary);
        f << long_text;
    }
    struct kind {
        const char* name;
        std::function<smtpio::body()> make;
        std::string text;
        bool in_memory, owns, rewindable;
    };
    std::vector<kind> kinds = {
        {"owned, short", [] { return smtpio::body(short_text); }, short_text, true, true, true},
        {"owned, long", [] { return smtpio::body(long_text); }, long_text, true, true, true},
        {"copy", [] { return smtpio::body::copy(short_text); }, short_text, true, true, true},
        {"view", [] { return smtpio::body::view(long_text); }, long_text, true, false, true},
        {"shared", [] { return smtpio::body::shared(std::make_shared<const std::string>(short_text)); }, short_text, true, true, true},
        {"shared null", [] { return smtpio::body::shared(nullptr); }, "", true, true, true},
        {"prepared", [] { return smtpio::body::prepared(std::make_shared<const smtpio::prepared_text>(long_text)); }, long_text, true, true, true},
        {"prepared null", [] { return smtpio::body::prepared(nullptr); }, "", true, true, true},
        {"empty", [] { return smtpio::body(); }, "", true, true, true},
        {"buffers", [&] { return smtpio::body::buffers({pieces_a, pieces_b}); }, pieces_a + pieces_b, true, false, true},
        {"file", [&] { return smtpio::body::file(path, 1000); }, long_text, false, false, true},
    };
    for (const auto& k : kinds) {
        INFO(k.name);
        smtpio::body a = k.make();
        smtpio::body b(std::move(a));          // move construction
        smtpio::body c("something else");
        c = std::move(b);                      // move assignment over another body
        std::vector<smtpio::body> v;
        for (int i = 0; i < 20; ++i) v.push_back(k.make()); // reallocations move them
        v.push_back(std::move(c));
        smtpio::body& last = v.back();
        auto& self = last;
        last = std::move(self);                // self-move leaves it as it was
        CHECK(read_all(last) == k.text);
        CHECK(read_all(last) == k.text);       // rewound by open()
        CHECK(last.in_memory() == k.in_memory);
        CHECK(last.owns_text() == k.owns);
        CHECK(last.rewindable() == k.rewindable);
        REQUIRE(last.size());
        CHECK(*last.size() == k.text.size());
        for (auto& x : v) CHECK(read_all(x) == k.text);
    }
    std::filesystem::remove(path);
}

TEST_CASE("a generator body is read once, after moves too", "[body]") {
    int calls = 0;
    smtpio::body g = smtpio::body::generator([&](char* out, std::size_t cap, std::error_code&) -> std::size_t {
        if (calls++ > 0 || cap < 4) return 0;
        std::memcpy(out, "ab\r\n", 4);
        return 4;
    });
    smtpio::body moved(std::move(g));
    CHECK_FALSE(moved.rewindable());
    CHECK(read_all(moved) == "ab\r\n");
    CHECK(moved.open() == smtpio::errc::body_read_failed); // a generator runs once
    smtpio::proto::body_facts f;
    CHECK(moved.scan(f) == smtpio::errc::body_read_failed);
}

TEST_CASE("a prepared text holds the facts of its scan, and bodies made of it give them without reading",
          "[body][prepared]") {
    const std::vector<std::string> texts = {
        "",
        "Subject: a\r\n\r\nplain\r\n",
        "no final line end",
        "bare\nLF\r\n",
        "bare\rCR\r\n",
        ".dot first\r\n.\r\n",
        "line\r\n.dotted\r\n",
        std::string("nul\0inside\r\n", 12),
        "8-bit \xc3\xa9t\xc3\xa9\r\n",
        std::string(1200, 'y') + "\r\n",
        long_text,
    };
    for (const auto& t : texts) {
        smtpio::reply shown;
        shown.text = t;
        INFO(shown.escaped_text());
        auto p = std::make_shared<const smtpio::prepared_text>(t);
        CHECK(p->text() == t);
        CHECK(same_facts(p->facts(), scan_text(t)));
        smtpio::body b = smtpio::body::prepared(p);
        smtpio::proto::body_facts f;
        f.normalised_size = 12345; // overwritten
        REQUIRE_FALSE(b.scan(f));
        CHECK(same_facts(f, scan_text(t)));
        // The same facts as scanning a body holding a copy.
        smtpio::body copy(t);
        smtpio::proto::body_facts g;
        REQUIRE_FALSE(copy.scan(g));
        CHECK(same_facts(f, g));
        CHECK(read_all(b) == t);
    }
    // A null prepared text is an empty message, with the facts of one.
    smtpio::body none = smtpio::body::prepared(nullptr);
    smtpio::proto::body_facts f;
    REQUIRE_FALSE(none.scan(f));
    CHECK(same_facts(f, scan_text("")));
    CHECK(read_all(none).empty());
}
