// A program that uses smtpio the way a downstream project would.
#include <smtpio.hpp>

#include <cstdio>
#include <cstring>

int main() {
    std::error_code ec = smtpio::make_reply_error(451);
    if (ec != smtpio::condition::transient) return 1;
    if (std::strcmp(smtpio::smtpio_category().name(), "smtpio") != 0) return 1;
    std::printf("smtpio consumer ok (%s)\n", SMTPIO_VERSION_STRING);
    return 0;
}
