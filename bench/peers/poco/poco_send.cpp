// bench/run peer: POCO's SecureSMTPClientSession (Debian's libpoco-dev, POCO 1.11).
//
// Used the way an application uses it: one SMTPClientSession command per call (MAIL FROM, RCPT
// TO, DATA, then sendMessage(std::istream&) for the content and the final dot), each waiting for
// its reply: four round trips per message.  The message is given pre-built, so POCO sends the
// same bytes as every other peer and spends no time building MIME.
//
// STARTTLS: SecureSMTPClientSession::startTLS(context) takes the name it verifies from the host
// name the session was constructed with, which would make POCO resolve that name; this peer
// connects to the --host address instead, so a small subclass does what startTLS() does (send
// STARTTLS, then SecureStreamSocket::attach on the session's socket) with --servername as the
// peer host name: SNI and the RFC 6125 name check use it, and the chain is verified against
// --ca-file only (VERIFY_STRICT, no default CAs), TLS 1.3 only.  POCO's other defaults are kept.
//
// --nodelay sets TCP_NODELAY on the socket.  Without it (POCO as shipped) the content goes out
// in 1 KiB pieces (SocketOutputStream's buffer) and Nagle's algorithm, waiting for a delayed
// ACK, stalls every message by up to ~40 ms.
//
// Options and the one-line JSON report are those of every bench peer (../peer_common.py): "elapsed"
// and "cpu" (getrusage) cover the sends only, from before the first connect to after the last QUIT.
//
// Build (bench/run does this):
//   g++ -std=c++17 -O2 poco_send.cpp -o poco-send
//       -lPocoNetSSL -lPocoNet -lPocoCrypto -lPocoFoundation -lssl -lcrypto

#include <Poco/Net/Context.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureSMTPClientSession.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Version.h>

#include <openssl/ssl.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

namespace {

struct tls_info {
    std::string version;
    std::string cipher;
};

// User + system CPU seconds of this process so far.
double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct options {
    std::string host = "127.0.0.1";
    unsigned port = 0;
    long count = -1;
    std::string message;
    std::string from = "bench@client.bench.test";
    std::string to = "sink@mx.bench.test";
    std::string helo = "client.bench.test";
    bool tls = false;
    std::string ca_file;
    std::string servername = "mx.bench.test";
    std::string mode = "reuse";
    bool nodelay = false;
};

[[noreturn]] void usage(const std::string& msg) {
    std::cerr << "poco-send: " << msg << "\n"
              << "usage: poco-send --port P --count N --message FILE [--host ADDR] [--from A] [--to B]\n"
                 "                 [--helo NAME] [--tls --ca-file CA [--servername NAME]]\n"
                 "                 [--mode reuse|session] [--nodelay]\n";
    std::exit(64);
}

long to_number(const std::string& opt, const std::string& value, long lo, long hi) {
    char* end = nullptr;
    long n = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || n < lo || n > hi) usage(opt + " wants a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + value + "'");
    return n;
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--tls") { o.tls = true; continue; }
        if (a == "--nodelay") { o.nodelay = true; continue; }
        if (i + 1 >= argc) usage(a + " needs a value (or is unknown)");
        std::string v = argv[++i];
        if (a == "--host") o.host = v;
        else if (a == "--port") o.port = static_cast<unsigned>(to_number(a, v, 1, 65535));
        else if (a == "--count") o.count = to_number(a, v, 0, 100000000);
        else if (a == "--message") o.message = v;
        else if (a == "--from") o.from = v;
        else if (a == "--to") o.to = v;
        else if (a == "--helo") o.helo = v;
        else if (a == "--ca-file") o.ca_file = v;
        else if (a == "--servername") o.servername = v;
        else if (a == "--mode") o.mode = v;
        else if (a == "--connections") to_number(a, v, 1, 1);  // accepted for uniformity; one only
        else usage("unknown option " + a);
    }
    if (o.port == 0) usage("--port is required");
    if (o.count < 0) usage("--count is required");
    if (o.message.empty()) usage("--message is required");
    if (o.mode != "reuse" && o.mode != "session") usage("--mode: reuse or session");
    if (o.tls && o.ca_file.empty()) usage("--tls needs --ca-file");
    return o;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') { out += '\\'; out += c; }
        else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += buf;
        } else out += c;
    }
    return out + "\"";
}

// SecureSMTPClientSession with startTLS() verifying a given name (see the top of this file).
class session : public Poco::Net::SecureSMTPClientSession {
public:
    using Poco::Net::SecureSMTPClientSession::SecureSMTPClientSession;

    tls_info start_tls(const std::string& servername, Poco::Net::Context::Ptr ctx) {
        std::string response;
        const int status = sendCommand("STARTTLS", response);
        if (status != 220) throw std::runtime_error("STARTTLS refused: " + response);
        Poco::Net::SecureStreamSocket secure = Poco::Net::SecureStreamSocket::attach(socket(), servername, ctx);
        socket() = secure;
        tls_info info;
        if (Poco::Net::Session::Ptr s = secure.currentSession()) {
            const SSL_SESSION* ssl_session = s->sslSession();
            const int version = SSL_SESSION_get_protocol_version(ssl_session);
            info.version = version == TLS1_3_VERSION ? "TLSv1.3" : version == TLS1_2_VERSION ? "TLSv1.2" : "other";
            info.cipher = SSL_CIPHER_get_name(SSL_SESSION_get0_cipher(ssl_session));
        }
        return info;
    }
};

class sender {
public:
    sender(const options& o, Poco::Net::Context::Ptr ctx) : o_(o), ctx_(std::move(ctx)) {}

    // Connects, reads the greeting, EHLO, and (with --tls) STARTTLS and EHLO again.
    std::unique_ptr<session> open() {
        Poco::Net::StreamSocket socket(Poco::Net::SocketAddress(o_.host, static_cast<Poco::UInt16>(o_.port)));
        if (o_.nodelay) socket.setNoDelay(true);
        auto s = std::make_unique<session>(socket);
        s->login(o_.helo);  // greeting, EHLO
        if (o_.tls) {
            info_ = s->start_tls(o_.servername, ctx_);
            s->login(o_.helo);  // RFC 3207 4.2: EHLO again after TLS
        }
        return s;
    }

    // MAIL, RCPT, DATA, content: four commands, each awaiting its reply (POCO's model).
    void send(session& session, const std::string& body) {
        std::string response;
        int status = session.sendCommand("MAIL FROM:<" + o_.from + ">", response);
        if (status / 100 != 2) throw std::runtime_error("MAIL refused: " + response);
        status = session.sendCommand("RCPT TO:<" + o_.to + ">", response);
        if (status / 100 != 2) throw std::runtime_error("RCPT refused: " + response);
        status = session.sendCommand("DATA", response);
        if (status != 354) throw std::runtime_error("DATA refused: " + response);
        std::istringstream in(body);
        session.sendMessage(in);  // throws SMTPException unless 2xx
    }

    const tls_info& info() const { return info_; }

private:
    const options& o_;
    Poco::Net::Context::Ptr ctx_;
    tls_info info_;
};

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    std::ifstream file(o.message, std::ios::binary);
    if (!file) usage("cannot read --message " + o.message);
    const std::string body{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};

    Poco::Net::initializeSSL();
    Poco::Net::Context::Ptr ctx;
    if (o.tls) {
        Poco::Net::Context::Params params;
        params.caLocation = o.ca_file;
        params.loadDefaultCAs = false;
        params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
        ctx = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
        ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_3);
        // A verification failure must fail the session, never ask anyone.
        Poco::Net::SSLManager::InvalidCertificateHandlerPtr reject(new Poco::Net::RejectCertificateHandler(false));
        Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, ctx);
    }

    long accepted = 0;
    long connections = 0;
    std::string error;
    sender s(o, ctx);
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    try {
        if (o.count > 0 && o.mode == "reuse") {
            auto session = s.open();
            ++connections;
            for (long i = 0; i < o.count; ++i) {
                s.send(*session, body);
                ++accepted;
            }
            session->close();  // QUIT
        } else if (o.count > 0) {
            for (long i = 0; i < o.count; ++i) {
                auto session = s.open();
                ++connections;
                s.send(*session, body);
                ++accepted;
                session->close();
            }
        }
    } catch (const Poco::Exception& e) {
        error = e.displayText();
    } catch (const std::exception& e) {
        error = e.what();
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = cpu_seconds() - cpu_start;

    std::string tls = "null";
    if (!s.info().version.empty())
        tls = "{\"version\": " + json_string(s.info().version) + ", \"cipher\": " + json_string(s.info().cipher) + "}";
    char elapsed_text[64];
    std::snprintf(elapsed_text, sizeof elapsed_text, "%.6f, \"cpu\": %.6f", elapsed, cpu);
    std::cout << "{\"peer\": \"poco\", \"version\": \"" << POCO_VERSION / 0x1000000 << '.'
              << (POCO_VERSION >> 16 & 0xff) << '.' << (POCO_VERSION >> 8 & 0xff)
              << (o.nodelay ? " +TCP_NODELAY" : " as shipped (Nagle)") << "\", \"mode\": \"" << o.mode
              << "\", \"count\": " << o.count << ", \"accepted\": " << accepted
              << ", \"connections\": " << connections << ", \"tls\": " << tls << ", \"elapsed\": " << elapsed_text
              << ", \"error\": " << (error.empty() ? std::string("null") : json_string(error)) << "}" << std::endl;
    Poco::Net::uninitializeSSL();
    return accepted == o.count && error.empty() ? 0 : 1;
}
