// Against a real SMTP server: aiosmtpd (python3-aiosmtpd) on 127.0.0.1 with
// STARTTLS required and AUTH PLAIN/LOGIN, started by each test (fork/exec of
// /usr/bin/python3 aiosmtpd_server.py) and stopped by PID when it ends.
#include "../session/common.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SMTPIO_AIOSMTPD_SCRIPT
#error "SMTPIO_AIOSMTPD_SCRIPT must name aiosmtpd_server.py"
#endif

using smtpio::errc;
using smtpio::message_outcome;
namespace test = smtpio::test;
namespace policy = smtpio::policy;
namespace fs = std::filesystem;

namespace {

constexpr const char* python = "/usr/bin/python3";

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

// The aiosmtpd process: certificates in a fresh temporary directory, the port it
// printed, and its PID.  The destructor stops it (SIGTERM, then SIGKILL after 5 s)
// and removes the directory.
class aiosmtpd_process {
public:
    aiosmtpd_process(const std::string& user, const std::string& password) {
        char tmpl[] = "/tmp/smtpio-aiosmtpd-XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
        fs::create_directories(dir_ / "store");
        write_file(dir_ / "chain.pem", test::valid_identity().chain_pem());
        write_file(dir_ / "key.pem", test::valid_identity().key_pem());

        int out[2], in[2];
        if (::pipe(out) != 0 || ::pipe(in) != 0) throw std::runtime_error("pipe failed");
        const std::string chain = (dir_ / "chain.pem").string(), key = (dir_ / "key.pem").string(),
                          store = (dir_ / "store").string();
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            ::close(in[0]);
            ::close(in[1]);
            ::close(out[0]);
            ::close(out[1]);
            ::execl(python, python, SMTPIO_AIOSMTPD_SCRIPT, "--cert", chain.c_str(), "--key", key.c_str(), "--store",
                    store.c_str(), "--user", user.c_str(), "--password", password.c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        stdin_ = in[1];
        stdout_ = out[0];
        port_ = read_port();
    }
    aiosmtpd_process(const aiosmtpd_process&) = delete;
    aiosmtpd_process& operator=(const aiosmtpd_process&) = delete;

    ~aiosmtpd_process() {
        if (stdin_ >= 0) ::close(stdin_); // the server also exits when its stdin closes
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            if (!wait_exit(std::chrono::seconds(5))) {
                ::kill(pid_, SIGKILL);
                (void)wait_exit(std::chrono::seconds(5));
            }
        }
        if (stdout_ >= 0) ::close(stdout_);
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    std::uint16_t port() const noexcept { return port_; }
    /// The stored message number n (1-based) and its envelope facts.
    std::string message(int n) const { return read_file(dir_ / "store" / (std::to_string(n) + ".eml")); }
    std::string envelope(int n) const { return read_file(dir_ / "store" / (std::to_string(n) + ".txt")); }
    std::size_t stored() const {
        std::size_t k = 0;
        for (const auto& e : fs::directory_iterator(dir_ / "store"))
            if (e.path().extension() == ".txt") ++k;
        return k;
    }

private:
    std::uint16_t read_port() {
        std::string got;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (got.find('\n') == std::string::npos) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) throw std::runtime_error("aiosmtpd did not start within 20 s");
            pollfd p{stdout_, POLLIN, 0};
            int r = ::poll(&p, 1, static_cast<int>(left.count()));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) continue;
            char buf[256];
            auto n = ::read(stdout_, buf, sizeof buf);
            if (n <= 0) throw std::runtime_error("aiosmtpd exited before it was ready (is python3-aiosmtpd installed?)");
            got.append(buf, static_cast<std::size_t>(n));
        }
        if (got.rfind("PORT ", 0) != 0) throw std::runtime_error("aiosmtpd said: " + got);
        return static_cast<std::uint16_t>(std::stoul(got.substr(5)));
    }
    bool wait_exit(std::chrono::seconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            int status = 0;
            pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_ || (r < 0 && errno == ECHILD)) {
                pid_ = -1;
                return true;
            }
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    fs::path dir_;
    pid_t pid_ = -1;
    int stdin_ = -1, stdout_ = -1;
    std::uint16_t port_ = 0;
};

// The message as a receiver must store it: CRLF line ends, no dot-stuffing left.
std::string normalised(std::string_view in) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\r') {
            out += "\r\n";
            if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
        } else if (in[i] == '\n') {
            out += "\r\n";
        } else {
            out += in[i];
        }
    }
    if (out.size() < 2 || out.substr(out.size() - 2) != "\r\n") out += "\r\n";
    return out;
}

const std::string tricky_body = "From: Anna <a@example.org>\r\nTo: b@example.com\r\nSubject: aiosmtpd test\r\n"
                                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                                "Grüße aus dem Test.\n.\n..two dots\r\n.leading dot\rbare CR\n\r\n.\r\nthe end";

} // namespace

TEST_CASE("aiosmtpd: verified STARTTLS, AUTH PLAIN, the message byte for byte", "[integration][aiosmtpd]") {
    aiosmtpd_process server("user", "pencil");
    test::client c;
    REQUIRE_FALSE(c.connect(server.port(), policy::submission(test::trusting_context())));
    CHECK(c.s->is_encrypted());
    CHECK(c.s->tls_report().verified);
    CHECK(c.s->capabilities().supports_auth("PLAIN"));
    CHECK(c.s->capabilities().supports_auth("LOGIN"));
    REQUIRE_FALSE(c.authenticate({"user", "pencil", smtpio::auth_mechanism::plain}));
    auto [ec, r] = c.send(smtpio::envelope("a@example.org", {"b@example.com", "c@example.com"}), tricky_body);
    CHECK_FALSE(ec);
    CHECK(r.outcome == message_outcome::delivered);
    CHECK(r.reply.text.find("stored as 1") != std::string::npos);
    CHECK_FALSE(c.quit());
    REQUIRE(server.stored() == 1);
    CHECK(server.message(1) == normalised(tricky_body));
    CHECK(server.envelope(1) == "from a@example.org\nrcpt b@example.com\nrcpt c@example.com\ntls True\nauth user\n");
}

TEST_CASE("aiosmtpd: AUTH LOGIN, two messages on one connection", "[integration][aiosmtpd]") {
    aiosmtpd_process server("user", "pencil");
    test::client c;
    REQUIRE_FALSE(c.connect(server.port(), policy::submission(test::trusting_context())));
    REQUIRE_FALSE(c.authenticate({"user", "pencil", smtpio::auth_mechanism::login}));
    auto [ec1, r1] = c.send(smtpio::envelope("a@example.org", {"b@example.com"}), "Subject: one\r\n\r\n1\r\n");
    auto [ec2, r2] = c.send(smtpio::envelope("", {"c@example.com"}), "Subject: two\r\n\r\n2\r\n");
    CHECK(r1.outcome == message_outcome::delivered);
    CHECK(r2.outcome == message_outcome::delivered);
    CHECK_FALSE(c.quit());
    REQUIRE(server.stored() == 2);
    CHECK(server.message(1) == "Subject: one\r\n\r\n1\r\n");
    CHECK(server.message(2) == "Subject: two\r\n\r\n2\r\n");
    CHECK(server.envelope(2).rfind("from <>\nrcpt c@example.com\n", 0) == 0);
}

TEST_CASE("aiosmtpd: a wrong password is auth_failed (535), with no fallback", "[integration][aiosmtpd]") {
    aiosmtpd_process server("user", "pencil");
    std::vector<std::string> commands;
    auto o = test::client_options();
    o.transcript = [&](const smtpio::transcript_event& e) {
        if (e.type == smtpio::transcript_event::kind::command) commands.emplace_back(e.text);
    };
    test::client c;
    REQUIRE_FALSE(c.connect(server.port(), policy::submission(test::trusting_context()), o));
    CHECK(c.authenticate({"user", "wrong"}) == errc::auth_failed); // automatic: PLAIN (the strongest offered)
    CHECK(c.s->last_reply().code == 535);
    CHECK(c.s->is_open());
    CHECK_FALSE(c.s->is_authenticated());
    std::size_t auths = 0;
    for (const auto& cmd : commands) auths += cmd.rfind("AUTH ", 0) == 0;
    CHECK(auths == 1);
    // The server wants AUTH before mail: the refusal comes back as a result.
    auto [ec, r] = c.send(test::simple_envelope(), "Subject: no\r\n\r\nno\r\n");
    CHECK_FALSE(ec);
    CHECK(r.outcome == message_outcome::rejected);
    CHECK(r.reply.code == 530);
    CHECK_FALSE(c.quit());
    CHECK(server.stored() == 0);
}

TEST_CASE("aiosmtpd: a large message streamed from a file", "[integration][aiosmtpd]") {
    aiosmtpd_process server("user", "pencil");
    char tmpl[] = "/tmp/smtpio-body-XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::string text = "Subject: big\r\n\r\n";
    for (int i = 0; i < 40000; ++i) text += (i % 7 == 0 ? "." : "") + std::to_string(i) + " the quick brown fox jumps\n";
    write_file(tmpl, text);
    test::client c;
    REQUIRE_FALSE(c.connect(server.port(), policy::submission(test::trusting_context())));
    REQUIRE_FALSE(c.authenticate({"user", "pencil"}));
    auto [ec, r] = c.send(test::simple_envelope(), smtpio::body::file(tmpl, 64 * 1024));
    std::error_code ignored;
    fs::remove(tmpl, ignored);
    CHECK_FALSE(ec);
    CHECK(r.outcome == message_outcome::delivered);
    CHECK_FALSE(c.quit());
    REQUIRE(server.stored() == 1);
    CHECK(server.message(1) == normalised(text));
}
