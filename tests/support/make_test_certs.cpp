// smtpio-make-test-certs: writes a test PKI as PEM files for scripts that start
// real servers (interop tests).  Made at run time with BoringSSL, nothing to ship.
//
//   smtpio-make-test-certs DIR [--name HOST] [--extra NAME]...
//
// Files: ca.pem (trust this), intermediate.pem, untrusted-ca.pem,
// server.pem + server.key (leaf + intermediate; DNS HOST, localhost, the extra
// names; IP 127.0.0.1 and ::1), and one <case>.pem/<case>.key per certificate
// case of tests/support/cert_factory.hpp (valid, expired, wrong-name, ...).
#include "cert_factory.hpp"

#include <exception>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    std::string dir;
    std::string name = "mx.example.test";
    std::vector<std::string> extra;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "--name" || a == "--extra") && i + 1 < argc) {
            (a == "--name" ? name : extra.emplace_back()) = argv[++i];
        } else if (a == "-h" || a == "--help") {
            std::cout << "usage: " << argv[0] << " DIR [--name HOST] [--extra NAME]...\n";
            return 0;
        } else if (dir.empty() && !a.empty() && a[0] != '-') {
            dir = a;
        } else {
            std::cerr << argv[0] << ": unexpected argument '" << a << "' (see --help)\n";
            return 2;
        }
    }
    if (dir.empty()) {
        std::cerr << "usage: " << argv[0] << " DIR [--name HOST] [--extra NAME]...\n";
        return 2;
    }
    try {
        smtpio::test::cert_factory f;
        f.write_pem_files(dir, name, extra);
        std::cout << "wrote test certificates for " << name << " to " << dir << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 1;
    }
}
