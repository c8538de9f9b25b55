// SPDX-License-Identifier: MIT
// Tests for vfm/riscv/pmp.hpp: address encodings of priv. spec 3.7.1
// (table 3.10, NAPOT range encoding) and the granularity rules of 3.7.1.1.
// The pmpaddr values are worked out by hand from the spec: pmpaddr holds
// address bits [55:2]; a NAPOT region of 2^(k+3) bytes has k trailing ones.
#include <vfm/riscv/pmp.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

#include "vfm_catch.hpp"

namespace {

namespace rv = vfm::riscv;
namespace pmp = vfm::riscv::pmp;
using vfm::u64;
using vfm::u8;

constexpr u8 off_rwx = 0x07;    // A = OFF, RWX
constexpr u8 tor_rwx = 0x0f;    // A = TOR, RWX
constexpr u8 na4_rw = 0x13;     // A = NA4, RW
constexpr u8 napot_rwx = 0x1f;  // A = NAPOT, RWX
constexpr u8 napot_r_locked = 0x99;

std::string describe(const pmp::range& r) {
    char out[96];
    if (r.empty) return "empty";
    std::snprintf(out, sizeof out, "[0x%llx, 0x%llx)", static_cast<unsigned long long>(r.base),
                  static_cast<unsigned long long>(r.end));
    return out;
}

constexpr bool same(const pmp::range& r, u64 base, u64 end) { return !r.empty && r.base == base && r.end == end; }

}  // namespace

TEST_CASE("pmp: constants (priv. spec 3.7.1)", "[riscv][pmp]") {
    STATIC_REQUIRE(pmp::address_mask == 0x003f'ffff'ffff'ffff);  // 54 bits: address [55:2]
    STATIC_REQUIRE(pmp::entries_per_cfg == 8);
    STATIC_REQUIRE(pmp::max_entries == 64);
}

TEST_CASE("pmp: configuration bytes (priv. spec fig. 3.33)", "[riscv][pmp]") {
    STATIC_REQUIRE(pmp::make_cfg(rv::pmpcfg::a_napot, true, true, true) == napot_rwx);
    STATIC_REQUIRE(pmp::make_cfg(rv::pmpcfg::a_napot, true, false, false, true) == napot_r_locked);
    CHECK(pmp::make_cfg(rv::pmpcfg::a_tor, true, true, true) == tor_rwx);
    CHECK(pmp::make_cfg(rv::pmpcfg::a_na4, true, true, false) == na4_rw);
    CHECK(pmp::make_cfg(rv::pmpcfg::a_off, false, false, false) == 0x00);
    CHECK(pmp::make_cfg(rv::pmpcfg::a_off, false, false, true) == 0x04);
    CHECK(pmp::make_cfg(rv::pmpcfg::a_off, false, true, false) == 0x02);
    CHECK(pmp::mode(napot_r_locked) == rv::pmpcfg::a_napot);
    CHECK(pmp::mode(tor_rwx) == rv::pmpcfg::a_tor);
    CHECK(pmp::mode(na4_rw) == rv::pmpcfg::a_na4);
    CHECK(pmp::mode(off_rwx) == rv::pmpcfg::a_off);
}

TEST_CASE("pmp: bytes of a pmpcfg register (RV64: eight entries per register)", "[riscv][pmp]") {
    STATIC_REQUIRE(pmp::cfg_byte(0x0807'0605'0403'0201, 0) == 0x01);
    STATIC_REQUIRE(pmp::cfg_byte(0x0807'0605'0403'0201, 7) == 0x08);
    CHECK(pmp::cfg_byte(0x0807'0605'0403'0201, 3) == 0x04);
    CHECK(pmp::with_cfg_byte(0, 2, 0x9f) == 0x9f'0000);
    CHECK(pmp::with_cfg_byte(0xffff'ffff'ffff'ffff, 7, 0x00) == 0x00ff'ffff'ffff'ffff);
    CHECK(pmp::with_cfg_byte(0x0807'0605'0403'0201, 4, 0x1f) == 0x0807'061f'0403'0201);
}

TEST_CASE("pmp: NAPOT encoding (priv. spec table 3.10)", "[riscv][pmp]") {
    // 8 bytes: yyyy...yyy0.
    STATIC_REQUIRE(pmp::napot_encode(0x1000, 8) == 0x400);
    // 16 bytes: yyyy...yy01.
    STATIC_REQUIRE(pmp::napot_encode(0x1000, 16) == 0x401);
    CHECK(pmp::napot_encode(0x1000, 32) == 0x403);
    CHECK(pmp::napot_encode(0x8000'0000, 0x20'0000) == 0x2003'ffff);        // 2 MiB at 2 GiB
    CHECK(pmp::napot_encode(0x8000'0000, 0x8000'0000) == 0x2fff'ffff);      // 2 GiB at 2 GiB
    CHECK(pmp::napot_encode(0x0, u64{1} << 56) == 0x001f'ffff'ffff'ffff);   // the whole 56-bit space
}

TEST_CASE("pmp: NAPOT decoding", "[riscv][pmp]") {
    STATIC_REQUIRE(same(pmp::napot_decode(0x400), 0x1000, 0x1008));
    STATIC_REQUIRE(same(pmp::napot_decode(0x2003'ffff), 0x8000'0000, 0x8020'0000));
    CHECK(describe(pmp::napot_decode(0x400)) == "[0x1000, 0x1008)");
    CHECK(describe(pmp::napot_decode(0x401)) == "[0x1000, 0x1010)");
    CHECK(describe(pmp::napot_decode(0x403)) == "[0x1000, 0x1020)");
    CHECK(describe(pmp::napot_decode(0x2003'ffff)) == "[0x80000000, 0x80200000)");
    CHECK(describe(pmp::napot_decode(0x2fff'ffff)) == "[0x80000000, 0x100000000)");
    // 0111...1 (53 ones over the 54 bits): 2^56 bytes from 0.
    CHECK(describe(pmp::napot_decode(0x001f'ffff'ffff'ffff)) == "[0x0, 0x100000000000000)");
    // Bits above the 54 that pmpaddr holds (WARL zero on RV64) are ignored.
    CHECK(describe(pmp::napot_decode(0xffc0'0000'0000'0400)) == "[0x1000, 0x1008)");
}

TEST_CASE("pmp: NA4 and TOR encodings", "[riscv][pmp]") {
    STATIC_REQUIRE(pmp::na4_encode(0x1004) == 0x401);
    STATIC_REQUIRE(pmp::tor_encode(0x8020'0000) == 0x2008'0000);
    CHECK(pmp::tor_encode(0x00ff'ffff'ffff'fffc) == 0x003f'ffff'ffff'ffff);
    CHECK(pmp::na4_encode(0x8000'0000) == 0x2000'0000);
}

TEST_CASE("pmp: decode() by mode (priv. spec 3.7.1, granularity 4 bytes)", "[riscv][pmp]") {
    SECTION("TOR uses the previous pmpaddr as the floor") {
        STATIC_REQUIRE(same(pmp::decode(tor_rwx, 0x2008'0000, 0x2000'0000), 0x8000'0000, 0x8020'0000));
        CHECK(describe(pmp::decode(tor_rwx, 0x2008'0000, 0x2000'0000)) == "[0x80000000, 0x80200000)");
        // Entry 0 in TOR mode: the floor is address 0.
        CHECK(describe(pmp::decode(tor_rwx, 0x400, 0)) == "[0x0, 0x1000)");
    }
    SECTION("TOR with pmpaddr(i-1) >= pmpaddr(i) matches nothing") {
        STATIC_REQUIRE(pmp::decode(tor_rwx, 0x2000'0000, 0x2008'0000).empty);
        CHECK(pmp::decode(tor_rwx, 0x2000'0000, 0x2000'0000).empty);
        CHECK(pmp::decode(tor_rwx, 0, 0).empty);
    }
    SECTION("NA4 covers four bytes") {
        STATIC_REQUIRE(same(pmp::decode(na4_rw, 0x401, 0x12345), 0x1004, 0x1008));
        CHECK(describe(pmp::decode(na4_rw, 0x401, 0)) == "[0x1004, 0x1008)");
    }
    SECTION("NAPOT ignores the previous entry") {
        CHECK(describe(pmp::decode(napot_rwx, 0x2003'ffff, 0x2003'ffff)) == "[0x80000000, 0x80200000)");
        CHECK(describe(pmp::decode(napot_r_locked, 0x400, 0x9999)) == "[0x1000, 0x1008)");
    }
    SECTION("OFF matches nothing") {
        STATIC_REQUIRE(pmp::decode(off_rwx, 0x2003'ffff, 0).empty);
        CHECK(pmp::decode(0x00, 0x2003'ffff, 0).empty);
    }
}

TEST_CASE("pmp: granularity read-back rules (priv. spec 3.7.1.1)", "[riscv][pmp]") {
    SECTION("G = 0: pmpaddr reads as stored") {
        STATIC_REQUIRE(pmp::read_pmpaddr(0x401, napot_rwx, 0) == 0x401);
        CHECK(pmp::read_pmpaddr(0x407, tor_rwx, 0) == 0x407);
        CHECK(pmp::read_pmpaddr(0xffff'ffff'ffff'ffff, off_rwx, 0) == 0x003f'ffff'ffff'ffff);
    }
    SECTION("G = 1: NAPOT has no bits to force; OFF and TOR read bit 0 as zero") {
        STATIC_REQUIRE(pmp::read_pmpaddr(0x400, napot_rwx, 1) == 0x400);
        CHECK(pmp::read_pmpaddr(0x401, napot_rwx, 1) == 0x401);
        CHECK(pmp::read_pmpaddr(0x401, tor_rwx, 1) == 0x400);
        CHECK(pmp::read_pmpaddr(0x403, off_rwx, 1) == 0x402);
    }
    SECTION("G >= 2: NAPOT reads bits [G-2:0] as ones; OFF and TOR read bits [G-1:0] as zeros") {
        STATIC_REQUIRE(pmp::read_pmpaddr(0x400, napot_rwx, 2) == 0x401);
        STATIC_REQUIRE(pmp::read_pmpaddr(0x407, tor_rwx, 2) == 0x404);
        CHECK(pmp::read_pmpaddr(0x400, napot_rwx, 3) == 0x403);
        CHECK(pmp::read_pmpaddr(0x407, off_rwx, 3) == 0x400);
        CHECK(pmp::read_pmpaddr(0x40f, tor_rwx, 3) == 0x408);
        // G = 10 (4 KiB granules): a NAPOT region reads as at least 4 KiB.
        CHECK(pmp::read_pmpaddr(0x2000'0000, napot_rwx, 10) == 0x2000'01ff);
        CHECK(pmp::read_pmpaddr(0x2000'03ff, tor_rwx, 10) == 0x2000'0000);
    }
    SECTION("the stored bit G-1 shows again when the mode returns to NAPOT") {
        // G = 3, stored 0x404: bit 2 = G-1 is kept by the register.
        CHECK(pmp::read_pmpaddr(0x404, tor_rwx, 3) == 0x400);
        CHECK(pmp::read_pmpaddr(0x404, napot_rwx, 3) == 0x407);
    }
}

TEST_CASE("pmp: decode() at coarser granularity (priv. spec 3.7.1.1)", "[riscv][pmp]") {
    SECTION("NAPOT at G = 2 covers at least 16 bytes") {
        STATIC_REQUIRE(same(pmp::decode(napot_rwx, 0x400, 0, 2), 0x1000, 0x1010));
        CHECK(describe(pmp::decode(napot_rwx, 0x400, 0, 2)) == "[0x1000, 0x1010)");
        CHECK(describe(pmp::decode(napot_rwx, 0x2003'ffff, 0, 2)) == "[0x80000000, 0x80200000)");
    }
    SECTION("NAPOT at G = 1 keeps 8-byte regions") {
        CHECK(describe(pmp::decode(napot_rwx, 0x400, 0, 1)) == "[0x1000, 0x1008)");
    }
    SECTION("TOR at G = 2 ignores the low two bits of both bounds") {
        STATIC_REQUIRE(same(pmp::decode(tor_rwx, 0x2008'0003, 0x2000'0001, 2), 0x8000'0000, 0x8020'0000));
        CHECK(describe(pmp::decode(tor_rwx, 0x2008'0003, 0x2000'0001, 2)) == "[0x80000000, 0x80200000)");
        // Both bounds fall into the same 16-byte granule: empty.
        CHECK(pmp::decode(tor_rwx, 0x403, 0x401, 2).empty);
    }
    SECTION("NA4 is not selectable when G >= 1") {
        STATIC_REQUIRE(pmp::decode(na4_rw, 0x401, 0, 1).empty);
        CHECK(pmp::decode(na4_rw, 0x401, 0, 2).empty);
        CHECK(pmp::decode(na4_rw, 0x401, 0, 10).empty);
    }
}

TEST_CASE("pmp: range::contains", "[riscv][pmp]") {
    constexpr pmp::range r{0x1000, 0x1010, false};
    STATIC_REQUIRE(r.contains(0x1000, 16));
    STATIC_REQUIRE(!r.contains(0x1000, 17));
    CHECK(r.contains(0x1008, 8));
    CHECK(r.contains(0x100f, 1));
    CHECK(!r.contains(0x100c, 8));
    CHECK(!r.contains(0xfff, 1));
    CHECK(!r.contains(0xfff, 2));
    CHECK(!r.contains(0x1010, 1));
    CHECK(!(pmp::range{}.contains(0, 1)));
    // An address far below the base must not wrap into the range.
    CHECK(!r.contains(0xffff'ffff'ffff'fff8, 8));

    constexpr pmp::range whole = {0, u64{1} << 56, false};
    CHECK(whole.contains(0x00ff'ffff'ffff'fff8, 8));
    CHECK(!whole.contains(0x00ff'ffff'ffff'fffc, 8));
    CHECK(!whole.contains(u64{1} << 56, 1));
}
