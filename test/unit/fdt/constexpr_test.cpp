// SPDX-License-Identifier: MIT
// The same questions asked at compile time and at run time, on board.dts
// embedded as a constexpr array (board_blob.hpp is generated from board.dtb).
#include <vfm/fdt/discover.hpp>
#include <vfm/fdt/editor.hpp>
#include <vfm/fdt/tree.hpp>

#include "board_blob.hpp"
#include "vfm_catch.hpp"

using namespace vfm;
using namespace vfm::fdt;

namespace {

constexpr bool reads_board() {
    const tree t(board_blob, sizeof board_blob);
    if (!t.ok() || t.reservation_count() != 2) return false;
    if (hart_count(t) != 4 || hart_count(t, true) != 2) return false;
    if (hart_id(t, next_hart(t, first_hart(t))).value() != 1) return false;
    if (!has_extension(t, first_hart(t), "sstc") || has_extension(t, first_hart(t), "v")) return false;
    if (!has_extension(t, find_hart(t, 1), "svpbmt")) return false;
    if (timebase_frequency(t).value() != 10000000) return false;
    if (!(clint_region(t).value() == region{0x2000000, 0x10000})) return false;
    if (!(device_region(t, "vfm,gpio").value() == region{0x40003000, 0x100})) return false;
    region regions[3] = {};
    if (memory_regions(t, regions, 3) != 3 || !(regions[2] == region{0x200000000, 0x100000000})) return false;
    if (t.find_path("/soc/clint") != t.find_path("/soc/clint@2000000")) return false;
    if (t.find_path("serial0") != t.find_path("/soc/uart@10000000")) return false;
    if (t.find_path("/twin")) return false;
    return t.find_property(t.find_path("/props"), "list").contains("gamma");
}

/// Copies the board into a buffer with room, reserves memory, edits a
/// property, removes a node, and reads everything back.
constexpr bool edits_board() {
    u8 buffer[sizeof board_blob + 512] = {};
    for (usize i = 0; i < sizeof board_blob; ++i) buffer[i] = board_blob[i];
    editor e(buffer, sizeof buffer);
    if (!e.ok()) return false;
    const result<node> reserved = reserve_memory(e, "vfm", 0x80000000, 0x200000);
    if (!reserved) return false;
    if (e.add_memory_reservation(0x87e00000, 0x1000) != error::none) return false;
    if (e.set_string(e.view().find_path("/chosen"), "bootargs", "quiet") != error::none) return false;
    if (e.remove_node(e.view().find_path("/twin@1")) != error::none) return false;

    const tree t(buffer, sizeof buffer);
    if (!t.ok()) return false;
    const node vfm = t.find_path("/reserved-memory/vfm@80000000");
    if (!(t.reg(vfm).value() == region{0x80000000, 0x200000})) return false;
    if (!t.find_property(vfm, "no-map").is_empty()) return false;
    if (!(t.reservation(2).value() == region{0x87e00000, 0x1000})) return false;
    if (!t.find_property(t.find_path("/chosen"), "bootargs").string_equals("quiet")) return false;
    if (t.find_property(t.find_path("/twin"), "value").as_u32().value() != 2) return false;
    return hart_count(t) == 4 && clint_region(t).value().base == 0x2000000;
}

constexpr bool rejects_corruption() {
    u8 buffer[sizeof board_blob] = {};
    for (usize i = 0; i < sizeof board_blob; ++i) buffer[i] = board_blob[i];
    buffer[0] = 0;
    if (tree(buffer, sizeof buffer).status() != error::bad_magic) return false;
    buffer[0] = board_blob[0];
    return tree(buffer, sizeof buffer - 1).status() == error::truncated;
}

}  // namespace

TEST_CASE("constexpr: the reader at compile time and at run time") {
    STATIC_REQUIRE(reads_board());
    REQUIRE(reads_board());
}

TEST_CASE("constexpr: the editor at compile time and at run time") {
    STATIC_REQUIRE(edits_board());
    REQUIRE(edits_board());
}

TEST_CASE("constexpr: rejection at compile time and at run time") {
    STATIC_REQUIRE(rejects_corruption());
    REQUIRE(rejects_corruption());
}
