// SPDX-License-Identifier: MIT
// The PMP layout's pure functions (virt/pmp_layout.hpp, docs/pmp.md) with the
// bus masters' tail: add_tail_denial's encodings, physical_cfg_of_virtual and
// compute_pmpcfg for the four views. Every expected value is a literal worked
// out from priv. spec 3.7.1: pmpcfg byte = L[7] A[4:3] X[2] W[1] R[0] with A =
// OFF 0, TOR 1, NA4 2, NAPOT 3; pmpaddr = address[55:2]; a NAPOT range of 2^k
// bytes at base has pmpaddr = base >> 2 | (2^(k-3) - 1); granularity 2^(G+2).
#include <vfm/virt/pmp_layout.hpp>

#include <initializer_list>

#include "vfm_catch.hpp"

using namespace vfm;
using namespace vfm::virt;

namespace {

/// QEMU virt's bus masters, merged (fdt::bus_master_ranges of its tree).
struct bus_master {
    u64 base;
    u64 end;
};
constexpr bus_master qemu_bus_masters[] = {
    {0x300'0000, 0x301'0000},          // the PCI I/O window: NAPOT
    {0x1000'1000, 0x1010'0018},        // virtio-mmio and fw_cfg: TOR
    {0x3000'0000, 0x8000'0000},        // ECAM and the 32-bit window: TOR (5 * 256 MiB)
    {0x4'0000'0000, 0x8'0000'0000},    // the 64-bit window: NAPOT
};

/// QEMU virt's layout on a hart with `entries` PMP entries: the monitor (128 KiB
/// at 0x80000000) and the CLINT (64 KiB at 0x2000000) denied in both worlds,
/// and the tail of QEMU's bus masters at granularity 0 when `tail`.
constexpr pmp_layout qemu_layout(unsigned entries, bool tail) {
    pmp_layout l;
    l.physical_count = entries;
    (void)l.add_napot(0x8000'0000, 0x2'0000, pmp_none, pmp_none);
    (void)l.add_napot(0x200'0000, 0x1'0000, pmp_none, pmp_none);
    if (tail)
        for (const bus_master& b : qemu_bus_masters) (void)l.add_tail_denial(b.base, b.end, 0);
    return l;
}

/// An OpenSBI-like program of 8 entries (virtual 0..7), the last two in tail
/// slots on a 16-entry hart: 0-2 M-only NAPOT regions, 3 a NAPOT RW device,
/// 4 a NAPOT RW window over bus masters, 5 OFF, 6 TOR RW, 7 NAPOT RWX over all.
constexpr u8 opensbi_cfg[12] = {0x18, 0x18, 0x18, 0x1b, 0x1b, 0x00, 0x0b, 0x1f, 0, 0, 0, 0};
constexpr u64 opensbi_over = 0x90;  // entries 4 and 7 overlap a bus master

struct views {
    u64 r[4][8] = {};
};
constexpr views compute(const pmp_layout& l, const u8* cfg, u64 over) {
    views v;
    for (unsigned i = 0; i < 4; ++i) compute_pmpcfg(l, cfg, static_cast<pmp_view>(i), v.r[i], over);
    return v;
}
constexpr unsigned firmware = 0, firmware_mprv = 1, os = 2, mprv_access = 3;

/// pmpcfg0 and pmpcfg2 (the two registers of a 16-entry hart) expected in each
/// view, in the order firmware, firmware_mprv, os, mprv_access.
using first_two = u64[4][2];
void check_first_two(const views& v, const first_two& expected) {
    static constexpr const char* names[4] = {"firmware", "firmware_mprv", "os", "mprv_access"};
    for (unsigned view = 0; view < 4; ++view) {
        INFO("view " << names[view]);
        CHECK(v.r[view][0] == expected[view][0]);
        CHECK(v.r[view][1] == expected[view][1]);
    }
}

// The same scenarios at compile time (Bareflank-style): the tail of QEMU virt
// and the firmware's view of the OpenSBI-like program.
static_assert(qemu_layout(16, true).tail_count == 6);
static_assert(qemu_layout(16, true).tail_addr[0] == 0xc0'1fff);
static_assert(qemu_layout(16, true).tail_addr[5] == 0x1'7fff'ffff);
static_assert(compute(qemu_layout(16, true), opensbi_cfg, opensbi_over).r[firmware][0] == 0x001f'1f1f'1f00'1818);
static_assert(compute(qemu_layout(16, true), opensbi_cfg, opensbi_over).r[firmware][1] == 0x1f18'0800'0800'1800);

}  // namespace

// ---- add_tail_denial ----

TEST_CASE("pmp tail: QEMU virt's bus masters, NAPOT where they are naturally aligned powers of two", "[pmp][tail]") {
    const pmp_layout l = qemu_layout(16, true);
    REQUIRE(l.tail_count == 6);
    // [0x3000000, 0x3010000): 64 KiB, aligned: NAPOT, no permissions.
    CHECK(l.tail_addr[0] == 0xc0'1fff);
    CHECK(l.tail_cfg[0] == 0x18);
    // [0x10001000, 0x10100018): an OFF entry holding the base, then TOR, no permissions.
    CHECK(l.tail_addr[1] == 0x400'0400);
    CHECK(l.tail_cfg[1] == 0x00);
    CHECK(l.tail_addr[2] == 0x404'0006);
    CHECK(l.tail_cfg[2] == 0x08);
    // [0x30000000, 0x80000000): 1.25 GiB, not a power of two: TOR.
    CHECK(l.tail_addr[3] == 0xc00'0000);
    CHECK(l.tail_cfg[3] == 0x00);
    CHECK(l.tail_addr[4] == 0x2000'0000);
    CHECK(l.tail_cfg[4] == 0x08);
    // [0x400000000, 0x800000000): 16 GiB at 16 GiB: NAPOT.
    CHECK(l.tail_addr[5] == 0x1'7fff'ffff);
    CHECK(l.tail_cfg[5] == 0x18);
    // The monitor's entries are untouched.
    CHECK(l.reserved_count == 2);
    CHECK(l.reserved_addr[0] == 0x2000'3fff);
    CHECK(l.reserved_addr[1] == 0x80'1fff);
}

TEST_CASE("pmp tail: encodings at granularity 4 bytes (G = 0)", "[pmp][tail]") {
    struct expected {
        u64 base, end;
        unsigned count;
        u64 addr[2];
        u8 cfg[2];
    };
    for (const expected& e : {
             // 8 bytes, aligned: the smallest NAPOT
             expected{0x1000'0008, 0x1000'0010, 1, {0x400'0002, 0}, {0x18, 0}},
             // 4 bytes: NA4 is not used, a TOR pair
             expected{0x1000'0004, 0x1000'0008, 2, {0x400'0001, 0x400'0002}, {0x00, 0x08}},
             // 12 KiB: not a power of two
             expected{0x1000'1000, 0x1000'4000, 2, {0x400'0400, 0x400'1000}, {0x00, 0x08}},
             // 8 KiB at a 4 KiB boundary: not naturally aligned
             expected{0x1000'1000, 0x1000'3000, 2, {0x400'0400, 0x400'0c00}, {0x00, 0x08}},
             // widened outwards to whole words: [0x10000000, 0x10000008), NAPOT
             expected{0x1000'0001, 0x1000'0007, 1, {0x400'0000, 0}, {0x18, 0}},
             // 2 GiB at 2 GiB
             expected{0x8000'0000, 0x1'0000'0000, 1, {0x2fff'ffff, 0}, {0x18, 0}},
         }) {
        INFO(std::hex << "[0x" << e.base << ", 0x" << e.end << ")");
        pmp_layout l;
        l.physical_count = 16;
        REQUIRE(l.add_tail_denial(e.base, e.end, 0));
        REQUIRE(l.tail_count == e.count);
        for (unsigned i = 0; i < e.count; ++i) {
            CHECK(l.tail_addr[i] == e.addr[i]);
            CHECK(l.tail_cfg[i] == e.cfg[i]);
        }
    }
}

TEST_CASE("pmp tail: widened outwards to the granularity 2^(G+2)", "[pmp][tail]") {
    struct expected {
        unsigned g;
        u64 base, end;
        unsigned count;
        u64 addr[2];
        u8 cfg[2];
    };
    for (const expected& e : {
             // G = 10 (4 KiB): fw_cfg's 0x18 bytes become the page, NAPOT
             expected{10, 0x1010'0000, 0x1010'0018, 1, {0x404'01ff, 0}, {0x18, 0}},
             // G = 10: [0x10000ff0, 0x10001010) becomes [0x10000000, 0x10002000), NAPOT 8 KiB
             expected{10, 0x1000'0ff0, 0x1000'1010, 1, {0x400'03ff, 0}, {0x18, 0}},
             // G = 10: [0x10001010, 0x10002ff0) becomes [0x10001000, 0x10003000): TOR
             expected{10, 0x1000'1010, 0x1000'2ff0, 2, {0x400'0400, 0x400'0c00}, {0x00, 0x08}},
             // G = 1 (8 bytes): 4 bytes become 8, NAPOT
             expected{1, 0x1000'1004, 0x1000'1008, 1, {0x400'0400, 0}, {0x18, 0}},
             // G = 1: [0x10001004, 0x10001014) becomes [0x10001000, 0x10001018): TOR
             expected{1, 0x1000'1004, 0x1000'1014, 2, {0x400'0400, 0x400'0406}, {0x00, 0x08}},
             // G = 2 (16 bytes): 4 bytes become 16, NAPOT
             expected{2, 0x1000'1004, 0x1000'1008, 1, {0x400'0401, 0}, {0x18, 0}},
             // G = 10: a range already whole pages keeps its bounds
             expected{10, 0x300'0000, 0x301'0000, 1, {0xc0'1fff, 0}, {0x18, 0}},
         }) {
        INFO("G = " << e.g << std::hex << " [0x" << e.base << ", 0x" << e.end << ")");
        pmp_layout l;
        l.physical_count = 16;
        REQUIRE(l.add_tail_denial(e.base, e.end, e.g));
        REQUIRE(l.tail_count == e.count);
        for (unsigned i = 0; i < e.count; ++i) {
            CHECK(l.tail_addr[i] == e.addr[i]);
            CHECK(l.tail_cfg[i] == e.cfg[i]);
        }
    }
}

TEST_CASE("pmp tail: at most max_tail_pmp_entries (16) entries", "[pmp][tail]") {
    REQUIRE(max_tail_pmp_entries == 16);
    pmp_layout l;
    l.physical_count = 64;
    for (u64 i = 0; i < 15; ++i) REQUIRE(l.add_tail_denial(0x1000'0000 + i * 0x1000, 0x1000'1000 + i * 0x1000, 0));
    CHECK(l.tail_count == 15);
    // A TOR pair needs two: refused, nothing written.
    CHECK_FALSE(l.add_tail_denial(0x2000'1000, 0x2000'4000, 0));
    CHECK(l.tail_count == 15);
    CHECK(l.tail_addr[15] == 0);
    CHECK(l.tail_cfg[15] == 0);
    // One NAPOT still fits, then nothing.
    CHECK(l.add_tail_denial(0x3000'0000, 0x3000'1000, 0));
    CHECK(l.tail_count == 16);
    CHECK(l.tail_addr[15] == 0xc00'01ff);
    CHECK_FALSE(l.add_tail_denial(0x3000'1000, 0x3000'2000, 0));
    CHECK(l.tail_count == 16);
}

TEST_CASE("pmp tail: it fits in the virtual slots, the last ones", "[pmp][tail]") {
    pmp_layout l = qemu_layout(16, false);
    REQUIRE(l.virtual_count() == 12);  // 16 - monitor - CLINT - floor - everything
    CHECK(l.tail_fits());
    CHECK(l.first_tail_virtual() == 12);  // no tail
    l.tail_count = 6;
    CHECK(l.tail_fits());
    CHECK(l.first_tail_virtual() == 6);
    l.tail_count = 12;
    CHECK(l.tail_fits());
    CHECK(l.first_tail_virtual() == 0);
    l.tail_count = 13;
    CHECK_FALSE(l.tail_fits());

    const pmp_layout wide = qemu_layout(64, true);
    CHECK(wide.virtual_count() == 60);
    CHECK(wide.first_tail_virtual() == 54);
    CHECK(wide.tail_fits());
}

// ---- physical_cfg_of_virtual ----

TEST_CASE("pmp views: one virtual entry in each view, over a bus master or not", "[pmp][tail]") {
    struct expected {
        u8 cfg;
        bool over;
        u8 firmware, firmware_mprv, os, mprv_access;
    };
    for (const expected& e : {
             expected{0x00, false, 0x00, 0x00, 0x00, 0x00},  // OFF
             expected{0x00, true, 0x00, 0x00, 0x00, 0x00},
             // unlocked: RWX for the firmware (M-mode is not bound), X only under
             // virtual MPRV, as written for the OS; OFF over a bus master while
             // the firmware runs
             expected{0x19, false, 0x1f, 0x1c, 0x19, 0x19},  // NAPOT R
             expected{0x19, true, 0x00, 0x00, 0x19, 0x19},
             expected{0x0b, false, 0x0f, 0x0c, 0x0b, 0x0b},  // TOR RW
             expected{0x0b, true, 0x00, 0x00, 0x0b, 0x0b},
             expected{0x10, false, 0x17, 0x14, 0x10, 0x10},  // NA4, no permission
             // locked: as written without L (it binds the firmware); OFF over a
             // bus master when it grants something, kept when it grants nothing
             expected{0x9d, false, 0x1d, 0x1c, 0x1d, 0x1d},  // NAPOT R X L
             expected{0x9d, true, 0x00, 0x00, 0x1d, 0x1d},
             expected{0x98, false, 0x18, 0x18, 0x18, 0x18},  // NAPOT L, nothing
             expected{0x98, true, 0x18, 0x18, 0x18, 0x18},
             expected{0x8b, false, 0x0b, 0x08, 0x0b, 0x0b},  // TOR R W L
             expected{0x8b, true, 0x00, 0x00, 0x0b, 0x0b},
         }) {
        INFO(std::hex << "cfg 0x" << unsigned{e.cfg} << (e.over ? " over a bus master" : ""));
        CHECK(physical_cfg_of_virtual(e.cfg, pmp_view::firmware, e.over) == e.firmware);
        CHECK(physical_cfg_of_virtual(e.cfg, pmp_view::firmware_mprv, e.over) == e.firmware_mprv);
        CHECK(physical_cfg_of_virtual(e.cfg, pmp_view::os, e.over) == e.os);
        CHECK(physical_cfg_of_virtual(e.cfg, pmp_view::mprv_access, e.over) == e.mprv_access);
    }
    // The default is "not over a bus master".
    CHECK(physical_cfg_of_virtual(0x19, pmp_view::firmware) == 0x1f);
    CHECK(physical_cfg_of_virtual(0x9d, pmp_view::firmware) == 0x1d);
}

TEST_CASE("pmp views: the firmware's views run with the tail's addresses", "[pmp][tail]") {
    CHECK(firmware_addresses(pmp_view::firmware));
    CHECK(firmware_addresses(pmp_view::firmware_mprv));
    CHECK_FALSE(firmware_addresses(pmp_view::os));
    CHECK_FALSE(firmware_addresses(pmp_view::mprv_access));
}

// ---- compute_pmpcfg ----
// Physical entries on a 16-entry hart: 0 monitor, 1 CLINT, 2 floor, 3-14 the
// virtual entries 0-11 (the tail in 9-14: virtual 6-11), 15 everything.

TEST_CASE("pmp views: the four views of an OpenSBI-like program with QEMU virt's tail", "[pmp][tail]") {
    const views v = compute(qemu_layout(16, true), opensbi_cfg, opensbi_over);
    check_first_two(v, {
        // firmware: 0-1 no access, 2 floor OFF, virtual 0-3 RWX, 4 over a bus master
        // OFF, 5 OFF, then the tail (NAPOT, OFF, TOR, OFF, TOR, NAPOT: none), everything RWX.
        {0x001f'1f1f'1f00'1818, 0x1f18'0800'0800'1800},
        // firmware_mprv: the same with X only; the tail denies everything.
        {0x001c'1c1c'1c00'1818, 0x1c18'0800'0800'1800},
        // os: every virtual entry as written (4 and 7 too), in its own slot; everything OFF.
        {0x1b1b'1818'1800'1818, 0x0000'0000'001f'0b00},
        // mprv_access: the OS's view of the virtual entries, the monitor's firmware-side entries.
        {0x1b1b'1818'1800'1818, 0x0000'0000'001f'0b00},
    });
    // Only two registers on a 16-entry hart: the rest stay as they were.
    CHECK(v.r[firmware][2] == 0);
}

TEST_CASE("pmp views: over-bus-master bits of tail slots change nothing while the firmware runs", "[pmp][tail]") {
    const pmp_layout l = qemu_layout(16, true);
    const views only_4 = compute(l, opensbi_cfg, 0x10);
    const views with_7 = compute(l, opensbi_cfg, 0x90);
    for (unsigned view = 0; view < 4; ++view) {
        INFO("view " << view);
        CHECK(only_4.r[view][0] == with_7.r[view][0]);
        CHECK(only_4.r[view][1] == with_7.r[view][1]);
    }
    // Without any bit: entry 4 is RWX for the firmware again.
    const views none = compute(l, opensbi_cfg, 0);
    CHECK(none.r[firmware][0] == 0x1f1f'1f1f'1f00'1818);
    CHECK(none.r[firmware_mprv][0] == 0x1c1c'1c1c'1c00'1818);
    CHECK(none.r[os][0] == 0x1b1b'1818'1800'1818);
}

TEST_CASE("pmp views: without a tail or bus masters, the views are as before", "[pmp][tail]") {
    const views v = compute(qemu_layout(16, false), opensbi_cfg, 0);
    const first_two expected = {
        {0x1f1f'1f1f'1f00'1818, 0x1f00'0000'001f'0f00},  // 6 TOR RWX, 7 NAPOT RWX, everything RWX
        {0x1c1c'1c1c'1c00'1818, 0x1c00'0000'001c'0c00},
        {0x1b1b'1818'1800'1818, 0x0000'0000'001f'0b00},
        {0x1b1b'1818'1800'1818, 0x0000'0000'001f'0b00},
    };
    check_first_two(v, expected);
    // The OS's views do not depend on the tail at all.
    const views tail = compute(qemu_layout(16, true), opensbi_cfg, opensbi_over);
    for (const unsigned view : {os, mprv_access}) {
        CHECK(tail.r[view][0] == expected[view][0]);
        CHECK(tail.r[view][1] == expected[view][1]);
    }
}

TEST_CASE("pmp views: locked entries over bus masters", "[pmp][tail]") {
    // 0: NAPOT R X L over a bus master; 1: NAPOT L (nothing) over one;
    // 2: NAPOT R X L; 3: TOR R W L.
    const u8 cfg[12] = {0x9d, 0x98, 0x9d, 0x8b};
    const views v = compute(qemu_layout(16, false), cfg, 0x3);
    check_first_two(v, {
        {0x000b'1d18'0000'1818, 0x1f00'0000'0000'0000},
        {0x0008'1c18'0000'1818, 0x1c00'0000'0000'0000},
        {0x000b'1d18'1d00'1818, 0},
        {0x000b'1d18'1d00'1818, 0},
    });
}

TEST_CASE("pmp views: a 64-entry hart keeps the tail in the last virtual slots", "[pmp][tail]") {
    // Physical 0-1 monitor and CLINT, 2 floor, 3-62 virtual 0-59, 63 everything;
    // the tail in virtual 54-59 = physical 57-62: pmpcfg14 (entries 56-63).
    u8 cfg[60] = {};  // compute_pmpcfg reads one byte per virtual entry
    for (unsigned i = 0; i < 12; ++i) cfg[i] = opensbi_cfg[i];
    const views v = compute(qemu_layout(64, true), cfg, opensbi_over);
    CHECK(v.r[firmware][0] == 0x001f'1f1f'1f00'1818);
    // Virtual 6 and 7 are no tail slots here: 6 TOR RWX, 7 over bus masters OFF.
    CHECK(v.r[firmware][1] == 0x0000'0000'0000'0f00);
    for (unsigned r = 2; r < 7; ++r) CHECK(v.r[firmware][r] == 0);
    CHECK(v.r[firmware][7] == 0x1f18'0800'0800'1800);
    CHECK(v.r[firmware_mprv][1] == 0x0000'0000'0000'0c00);
    CHECK(v.r[firmware_mprv][7] == 0x1c18'0800'0800'1800);
    CHECK(v.r[os][0] == 0x1b1b'1818'1800'1818);
    CHECK(v.r[os][1] == 0x0000'0000'001f'0b00);
    CHECK(v.r[os][7] == 0);
    CHECK(v.r[mprv_access][7] == 0);
}
