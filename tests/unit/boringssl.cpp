// The build must never pick up OpenSSL's headers or libraries instead of BoringSSL.
#include <openssl/base.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <catch2/catch.hpp>

#include <string_view>

#ifndef OPENSSL_IS_BORINGSSL
#error "smtpio must be built against BoringSSL; OpenSSL's headers were found instead"
#endif
static_assert(BORINGSSL_API_VERSION >= 16, "BoringSSL too old");

TEST_CASE("the linked TLS library is BoringSSL", "[boringssl]") {
    // OpenSSL_version() in BoringSSL answers "BoringSSL"; OpenSSL's names itself.
    std::string_view v = OpenSSL_version(OPENSSL_VERSION);
    CHECK(v == "BoringSSL");
    // TLS_method and a context must be usable (the library links and initialises).
    SSL_CTX* ctx = SSL_CTX_new(TLS_method());
    REQUIRE(ctx != nullptr);
    SSL_CTX_free(ctx);
}
