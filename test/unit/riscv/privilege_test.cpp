// SPDX-License-Identifier: MIT
// Tests for vfm/riscv/privilege.hpp (priv. spec 1.2, table 1.1; mstatus.MPP 3.1.6.1).
#include <vfm/riscv/privilege.hpp>

#include <string>
#include <type_traits>

#include "vfm_catch.hpp"

namespace rv = vfm::riscv;

TEST_CASE("privilege: encodings of table 1.1", "[riscv][privilege]") {
    STATIC_REQUIRE(static_cast<int>(rv::privilege::user) == 0);
    STATIC_REQUIRE(static_cast<int>(rv::privilege::supervisor) == 1);
    STATIC_REQUIRE(static_cast<int>(rv::privilege::machine) == 3);
    STATIC_REQUIRE(sizeof(rv::privilege) == 1);
    STATIC_REQUIRE(!std::is_convertible_v<rv::privilege, int>);
}

TEST_CASE("privilege: names", "[riscv][privilege]") {
    STATIC_REQUIRE(*rv::name(rv::privilege::machine) == 'M');
    CHECK(std::string(rv::name(rv::privilege::user)) == "U");
    CHECK(std::string(rv::name(rv::privilege::supervisor)) == "S");
    CHECK(std::string(rv::name(rv::privilege::machine)) == "M");
    // The reserved encoding 2 is not a mode vfm produces.
    CHECK(std::string(rv::name(static_cast<rv::privilege>(2))) == "?");
}
