// SPDX-License-Identifier: MIT
// Tests for vfm/platform/board_support.hpp, the helpers every board shares.
// napot_cover's expectations are the regions one NAPOT PMP entry describes
// (priv. spec 3.7.1.2: a naturally aligned power of two, at least 8 bytes),
// written out by hand.
#include <vfm/platform/board_support.hpp>

#include "vfm_catch.hpp"

using vfm::u64;
using vfm::platforms::hart_table;
using vfm::platforms::napot_cover;

TEST_CASE("napot_cover: the smallest naturally aligned power of two over a range") {
    struct row {
        u64 base, end, cover_base, cover_size;
    };
    const row rows[] = {
        {0x8000'0000, 0x8000'0001, 0x8000'0000, 8},             // one byte: the 8-byte minimum
        {0x8000'0000, 0x8001'0000, 0x8000'0000, 0x1'0000},      // exactly 64 KiB, aligned
        {0x8000'0000, 0x8001'0001, 0x8000'0000, 0x2'0000},      // one byte more doubles it
        {0x8000'f000, 0x8001'1000, 0x8000'0000, 0x2'0000},      // straddles 64 KiB boundaries
        {0x200'0000, 0x201'0000, 0x200'0000, 0x1'0000},         // QEMU virt's CLINT
        {0x0ff8, 0x1008, 0, 0x2000},                            // 16 bytes across 4 KiB: from 0
        {0x8000'0000, 0x8001'c000, 0x8000'0000, 0x2'0000},      // an image and its .bss
    };
    for (const row& r : rows) {
        INFO("range [" << std::hex << r.base << ", " << r.end << ")");
        const vfm::region cover = napot_cover(r.base, r.end);
        CHECK(cover.base == r.cover_base);
        CHECK(cover.size == r.cover_size);
        CHECK(cover.contains(r.base));
        CHECK(cover.contains(r.end - 1));
    }
}

TEST_CASE("hart_table: dense indices in the order found, lookup by hart id") {
    hart_table<3> harts;
    CHECK(harts.count() == 0);
    vfm::u64 index = 99;
    CHECK_FALSE(harts.index_of(0, index));
    CHECK(index == 99);

    REQUIRE(harts.add(4));
    REQUIRE(harts.add(1));
    REQUIRE(harts.add(7));
    CHECK_FALSE(harts.add(9));  // full: more harts than max_harts
    CHECK(harts.count() == 3);
    CHECK(harts.id(0) == 4);
    CHECK(harts.id(1) == 1);
    CHECK(harts.id(2) == 7);
    CHECK(harts.index_of(7, index));
    CHECK(index == 2);
    CHECK(harts.index_of(4, index));
    CHECK(index == 0);
    CHECK_FALSE(harts.index_of(9, index));

    harts.clear();
    CHECK(harts.count() == 0);
    CHECK_FALSE(harts.index_of(4, index));
}
