// Helpers shared by the scripted algorithm tests.
#ifndef SMTPIO_TEST_ALGORITHMS_COMMON_HPP
#define SMTPIO_TEST_ALGORITHMS_COMMON_HPP

#include "algo_driver.hpp"

#include <smtpio/proto/algorithm.hpp>
#include <smtpio/proto/capabilities.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace smtpio::test {

/// The capabilities of an EHLO reply given as wire text ("250-mx\r\n250 PIPELINING\r\n").
inline proto::capabilities caps_of(std::string_view ehlo_reply) {
    proto::reply_parser p;
    auto r = p.put(ehlo_reply);
    REQUIRE(r.state == proto::reply_parser::status::done);
    return proto::capabilities::from_ehlo(p.get());
}

/// A connection state as after a successful open with `ehlo_reply`.
inline void make_open(proto::connection_state& st, std::string_view ehlo_reply, bool tls) {
    st.caps = caps_of(ehlo_reply);
    st.opened = true;
    st.tls_active = tls;
    st.esmtp = true;
    st.parser.set_enhanced_status_codes(st.caps.enhanced_status_codes());
}

} // namespace smtpio::test

#endif
