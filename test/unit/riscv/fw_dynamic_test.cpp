// SPDX-License-Identifier: MIT
// Tests for vfm/riscv/fw_dynamic.hpp against OpenSBI's fw_dynamic interface
// (docs/firmware/fw_dynamic.md): six XLEN words, magic "OSBI", version <= 2.
#include <vfm/riscv/fw_dynamic.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "vfm_catch.hpp"

namespace rv = vfm::riscv;

TEST_CASE("fw_dynamic: field offsets", "[riscv][fw_dynamic]") {
    STATIC_REQUIRE(std::is_standard_layout_v<rv::fw_dynamic_info>);
    STATIC_REQUIRE(sizeof(rv::fw_dynamic_info) == 48);
    STATIC_REQUIRE(offsetof(rv::fw_dynamic_info, magic) == 0);
    STATIC_REQUIRE(offsetof(rv::fw_dynamic_info, version) == 8);
    STATIC_REQUIRE(offsetof(rv::fw_dynamic_info, next_addr) == 16);
    STATIC_REQUIRE(offsetof(rv::fw_dynamic_info, next_mode) == 24);
    STATIC_REQUIRE(offsetof(rv::fw_dynamic_info, options) == 32);
    STATIC_REQUIRE(offsetof(rv::fw_dynamic_info, boot_hart) == 40);
}

TEST_CASE("fw_dynamic: magic is \"OSBI\" in little-endian byte order", "[riscv][fw_dynamic]") {
    STATIC_REQUIRE(rv::fw_dynamic_magic == 0x4942534f);
    // The same four bytes as they lie in memory.
    const unsigned char bytes[8] = {'O', 'S', 'B', 'I', 0, 0, 0, 0};
    std::uint64_t from_memory = 0;
    for (int n = 7; n >= 0; --n) from_memory = (from_memory << 8) | bytes[n];
    CHECK(from_memory == rv::fw_dynamic_magic);
    STATIC_REQUIRE(rv::fw_dynamic_version_max == 2);
    STATIC_REQUIRE(rv::fw_dynamic_option_no_banner == 1);
}

TEST_CASE("fw_dynamic: is_valid", "[riscv][fw_dynamic]") {
    // What QEMU's reset code hands a -bios image: version 2, next stage in S-mode.
    constexpr rv::fw_dynamic_info qemu = {0x4942534f, 2, 0x8020'0000, 1, 0, ~std::uint64_t{0}};
    STATIC_REQUIRE(rv::is_valid(qemu));
    constexpr rv::fw_dynamic_info v1 = {0x4942534f, 1, 0x8020'0000, 1, 0, 0};
    CHECK(rv::is_valid(v1));
    constexpr rv::fw_dynamic_info v0 = {0x4942534f, 0, 0x8020'0000, 1, 0, 0};
    CHECK(!rv::is_valid(v0));
    constexpr rv::fw_dynamic_info v3 = {0x4942534f, 3, 0x8020'0000, 1, 0, 0};
    CHECK(!rv::is_valid(v3));
    constexpr rv::fw_dynamic_info wrong_magic = {0x4f534249, 2, 0x8020'0000, 1, 0, 0};
    STATIC_REQUIRE(!rv::is_valid(wrong_magic));
    CHECK(!rv::is_valid(wrong_magic));
}
