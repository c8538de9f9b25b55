// SPDX-License-Identifier: MIT
// Tests for vfm/detail/bits.hpp: the typed bitfield and the bit helpers, with
// literal expectations.
#include <vfm/detail/bits.hpp>

#include <cstdint>

#include "vfm_catch.hpp"

namespace bits = vfm::bits;

TEST_CASE("bits: field<msb, lsb> geometry", "[detail][bits]") {
    using mpp = vfm::field<12, 11>;
    STATIC_REQUIRE(mpp::msb == 12);
    STATIC_REQUIRE(mpp::lsb == 11);
    STATIC_REQUIRE(mpp::width == 2);
    STATIC_REQUIRE(mpp::value_mask == 0x3);
    STATIC_REQUIRE(mpp::mask == 0x1800);

    using single = vfm::field<7>;
    STATIC_REQUIRE(single::lsb == 7);
    STATIC_REQUIRE(single::width == 1);
    STATIC_REQUIRE(single::mask == 0x80);

    using whole = vfm::field<63, 0>;
    STATIC_REQUIRE(whole::width == 64);
    STATIC_REQUIRE(whole::value_mask == 0xffff'ffff'ffff'ffff);
    STATIC_REQUIRE(whole::mask == 0xffff'ffff'ffff'ffff);

    using top = vfm::field<63>;
    STATIC_REQUIRE(top::mask == 0x8000'0000'0000'0000);
    using bottom = vfm::field<0>;
    STATIC_REQUIRE(bottom::mask == 0x1);
    using upper = vfm::field<63, 2>;
    STATIC_REQUIRE(upper::value_mask == 0x3fff'ffff'ffff'ffff);
    STATIC_REQUIRE(upper::mask == 0xffff'ffff'ffff'fffc);
}

TEST_CASE("bits: field operations", "[detail][bits]") {
    using mpp = vfm::field<12, 11>;
    using top = vfm::field<63>;
    using whole = vfm::field<63, 0>;
    STATIC_REQUIRE(mpp::extract(0x1880) == 3);
    STATIC_REQUIRE(mpp::insert(0xffff'ffff'ffff'ffff, 1) == 0xffff'ffff'ffff'efff);
    STATIC_REQUIRE(mpp::make(1) == 0x800);
    STATIC_REQUIRE(mpp::test(0x800));
    STATIC_REQUIRE(!mpp::test(0x8000'0000'0000'07ff));

    CHECK(mpp::extract(0x0880) == 1);
    CHECK(mpp::extract(0xffff'ffff'ffff'e7ff) == 0);
    CHECK(mpp::insert(0x0880, 3) == 0x1880);
    CHECK(mpp::insert(0x1880, 0) == 0x0080);
    // Excess bits of the value are dropped.
    CHECK(mpp::insert(0, 0x7) == 0x1800);
    CHECK(mpp::make(0x6) == 0x1000);
    CHECK(top::make(1) == 0x8000'0000'0000'0000);
    CHECK(top::extract(0x8000'0000'0000'0000) == 1);
    CHECK(top::insert(0xffff'ffff'ffff'ffff, 0) == 0x7fff'ffff'ffff'ffff);
    CHECK(whole::insert(0x1234, 0xdead'beef'0000'0001) == 0xdead'beef'0000'0001);
    CHECK(whole::extract(0xdead'beef'0000'0001) == 0xdead'beef'0000'0001);
}

TEST_CASE("bits: low_mask, bit, extract", "[detail][bits]") {
    STATIC_REQUIRE(bits::low_mask(0) == 0);
    STATIC_REQUIRE(bits::low_mask(12) == 0xfff);
    STATIC_REQUIRE(bits::low_mask(64) == 0xffff'ffff'ffff'ffff);
    CHECK(bits::low_mask(1) == 1);
    CHECK(bits::low_mask(54) == 0x003f'ffff'ffff'ffff);
    CHECK(bits::low_mask(63) == 0x7fff'ffff'ffff'ffff);
    CHECK(bits::low_mask(100) == 0xffff'ffff'ffff'ffff);

    STATIC_REQUIRE(bits::bit(0x8000'0000'0000'0000, 63) == 1);
    CHECK(bits::bit(0x5, 0) == 1);
    CHECK(bits::bit(0x5, 1) == 0);
    CHECK(bits::bit(0x5, 2) == 1);

    STATIC_REQUIRE(bits::extract(0x30059573, 31, 20) == 0x300);
    CHECK(bits::extract(0x30059573, 6, 0) == 0x73);
    CHECK(bits::extract(0x30059573, 11, 7) == 10);
    CHECK(bits::extract(0xffff'ffff'ffff'ffff, 63, 0) == 0xffff'ffff'ffff'ffff);
    CHECK(bits::extract(0xf000'0000'0000'0000, 63, 60) == 0xf);
}

TEST_CASE("bits: sign_extend", "[detail][bits]") {
    STATIC_REQUIRE(bits::sign_extend(0x800, 12) == 0xffff'ffff'ffff'f800);
    STATIC_REQUIRE(bits::sign_extend(0x7ff, 12) == 0x7ff);
    CHECK(bits::sign_extend(0xfff, 12) == 0xffff'ffff'ffff'ffff);
    CHECK(bits::sign_extend(0x1fff, 12) == 0xffff'ffff'ffff'ffff);  // bits above the width are ignored
    CHECK(bits::sign_extend(0xf7ff, 12) == 0x7ff);
    CHECK(bits::sign_extend(0x80, 8) == 0xffff'ffff'ffff'ff80);
    CHECK(bits::sign_extend(0x8000'0000, 32) == 0xffff'ffff'8000'0000);
    CHECK(bits::sign_extend(0x7fff'ffff, 32) == 0x7fff'ffff);
    CHECK(bits::sign_extend(1, 1) == 0xffff'ffff'ffff'ffff);
    CHECK(bits::sign_extend(0x8000'0000'0000'0000, 64) == 0x8000'0000'0000'0000);
}

TEST_CASE("bits: counting and powers of two", "[detail][bits]") {
    STATIC_REQUIRE(bits::count_trailing_ones(0) == 0);
    STATIC_REQUIRE(bits::count_trailing_ones(0x2003'ffff) == 18);
    STATIC_REQUIRE(bits::count_trailing_ones(0xffff'ffff'ffff'ffff) == 64);
    CHECK(bits::count_trailing_ones(0x7fff'ffff'ffff'ffff) == 63);
    CHECK(bits::count_trailing_ones(0xb) == 2);

    STATIC_REQUIRE(bits::count_trailing_zeros(0) == 64);
    STATIC_REQUIRE(bits::count_trailing_zeros(0x8000'0000'0000'0000) == 63);
    CHECK(bits::count_trailing_zeros(1) == 0);
    CHECK(bits::count_trailing_zeros(0x1000) == 12);

    STATIC_REQUIRE(bits::highest_set(0) == 64);
    STATIC_REQUIRE(bits::highest_set(1) == 0);
    CHECK(bits::highest_set(0x8000'0000'0000'0000) == 63);
    CHECK(bits::highest_set(0x1fff) == 12);

    STATIC_REQUIRE(!bits::is_power_of_two(0));
    STATIC_REQUIRE(bits::is_power_of_two(1));
    CHECK(bits::is_power_of_two(0x8000'0000'0000'0000));
    CHECK(bits::is_power_of_two(4096));
    CHECK(!bits::is_power_of_two(4095));
    CHECK(!bits::is_power_of_two(0x8000'0000'0000'0001));
}

TEST_CASE("bits: alignment", "[detail][bits]") {
    STATIC_REQUIRE(bits::align_down(0x8020'0fff, 0x1000) == 0x8020'0000);
    STATIC_REQUIRE(bits::align_up(0x8020'0001, 0x1000) == 0x8020'1000);
    CHECK(bits::align_up(0x8020'0000, 0x1000) == 0x8020'0000);
    CHECK(bits::align_down(0x8020'0000, 0x20'0000) == 0x8020'0000);
    CHECK(bits::align_up(0x8000'0001, 0x20'0000) == 0x8020'0000);
    CHECK(bits::align_down(7, 8) == 0);
    CHECK(bits::align_up(7, 8) == 8);
    CHECK(bits::align_up(0, 8) == 0);
}
