#include <smtpio/error.hpp>

#include <asio/error.hpp>

#include <catch2/catch.hpp>

#include <cerrno>

#include <set>
#include <string>

using smtpio::condition;
using smtpio::errc;

TEST_CASE("4xx reply codes are transient, 5xx permanent", "[error]") {
    for (int code = 400; code < 600; ++code) {
        auto ec = smtpio::make_reply_error(code);
        INFO(code);
        CHECK(ec.category().name() == std::string("smtp.reply"));
        CHECK(ec.value() == code);
        if (code < 500) {
            CHECK(ec == condition::transient);
            CHECK(ec != condition::permanent);
        } else {
            CHECK(ec == condition::permanent);
            CHECK(ec != condition::transient);
        }
        CHECK(ec != condition::timeout);
        CHECK(ec != condition::protocol_violation);
    }
    CHECK(smtpio::make_reply_error(421).message().find("421") != std::string::npos);
}

TEST_CASE("the smtpio category names every value and gives a sentence", "[error]") {
    std::set<std::string> names;
    for (const auto& row : smtpio::detail::errc_table) {
        std::error_code ec = row.value;
        CHECK(ec.category().name() == std::string("smtpio"));
        CHECK(smtpio::to_string(row.value) == row.name);
        CHECK(names.insert(std::string(row.name)).second); // names are unique
        CHECK(ec.message().size() > 10);
        CHECK(ec.message().find('\n') == std::string::npos);
    }
    CHECK(smtpio::to_string(static_cast<errc>(9999)) == "unknown");
    CHECK(std::error_code(static_cast<errc>(9999)).message().find("9999") != std::string::npos);
}

TEST_CASE("smtpio codes map onto the documented conditions", "[error]") {
    CHECK(std::error_code(errc::greeting_timeout) == condition::timeout);
    CHECK(std::error_code(errc::end_of_data_timeout) == condition::timeout);
    CHECK(std::error_code(errc::command_timeout) == condition::transient);
    CHECK(std::error_code(errc::starttls_not_offered) == condition::tls_failure);
    CHECK(std::error_code(errc::certificate_name_mismatch) == condition::tls_failure);
    CHECK(std::error_code(errc::tlsa_mismatch) == condition::tls_failure);
    CHECK(std::error_code(errc::demand_not_verified) == condition::policy_violation);
    CHECK(std::error_code(errc::plaintext_auth_refused) == condition::policy_violation);
    CHECK(std::error_code(errc::response_injection) == condition::protocol_violation);
    CHECK(std::error_code(errc::reply_code_mismatch) == condition::protocol_violation);
    CHECK(std::error_code(errc::service_not_available) == condition::transient);
    CHECK(std::error_code(errc::invalid_address) == condition::permanent);
    CHECK(std::error_code(errc::invalid_address) != condition::transient);
    CHECK(std::error_code(errc::cancelled) != condition::transient);
    // Conditions have names and messages of their own.
    CHECK(smtpio::make_error_condition(condition::timeout).category().name() == std::string("smtpio.condition"));
    CHECK_FALSE(smtpio::make_error_condition(condition::tls_failure).message().empty());
}

TEST_CASE("a connection lost or refused, as the system reports it, is transient", "[error]") {
    using smtpio::condition;
    for (int e : {ECONNRESET, ECONNABORTED, ECONNREFUSED, EPIPE, ETIMEDOUT, EHOSTUNREACH, EHOSTDOWN,
                  ENETUNREACH, ENETDOWN, ENETRESET}) {
        INFO("errno " << e);
        CHECK(std::error_code(e, std::system_category()) == condition::transient);
        CHECK(std::error_code(e, std::generic_category()) == condition::transient);
        CHECK_FALSE(std::error_code(e, std::system_category()) == condition::permanent);
    }
    // Standalone Asio's socket errors: a category of its own, mapped to no std::errc.
    const std::error_code reset = asio::error::connection_reset;
    CHECK(reset.category() == asio::error::get_system_category());
    CHECK(reset == condition::transient);
    CHECK(std::error_code(asio::error::broken_pipe) == condition::transient);
    CHECK(std::error_code(asio::error::connection_refused) == condition::transient);
    // Other system errors are not.
    CHECK_FALSE(std::error_code(EACCES, std::system_category()) == condition::transient);
    CHECK_FALSE(std::error_code(asio::error::operation_aborted) == condition::transient);
    CHECK_FALSE(std::error_code(ENOMEM, std::generic_category()) == condition::transient);
    // A reply code whose number is an errno's is not a socket error.
    CHECK_FALSE(smtpio::make_reply_error(ECONNRESET) == condition::transient);
}
