// SPDX-License-Identifier: MIT
// The PMP layout's pure functions (virt/pmp_layout.hpp, docs/pmp.md): the
// bus masters' tail (add_tail_denial's encodings), the permissions of each
// view, the slots of a layout that fits (plan_fit) and of the caches. Every expected value is a literal worked
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

}  // namespace

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

TEST_CASE("pmp views: what a virtual entry grants in each view (priv. spec 3.7.1)", "[pmp][views]") {
    struct expected {
        u8 cfg;
        u8 firmware, firmware_mprv, os, mprv_access;
    };
    for (const expected& e : {
             expected{0x00, 0xff, 0xff, 0xff, 0xff},  // OFF: no entry at all
             expected{0x07, 0xff, 0xff, 0xff, 0xff},  // OFF with permissions: still none
             expected{0x19, 7, 4, 1, 1},              // NAPOT R, unlocked: M-mode unbound
             expected{0x99, 1, 0, 1, 1},              // NAPOT R, locked: binds M-mode too
             expected{0x9d, 5, 4, 5, 5},              // NAPOT RX, locked
             expected{0x08, 7, 4, 0, 0},              // TOR, no permission, unlocked
             expected{0x13, 7, 4, 3, 3},              // NA4 RW
         }) {
        INFO("cfg 0x" << std::hex << unsigned{e.cfg});
        CHECK(pmp_view_perms(e.cfg, pmp_view::firmware) == e.firmware);
        CHECK(pmp_view_perms(e.cfg, pmp_view::firmware_mprv) == e.firmware_mprv);
        CHECK(pmp_view_perms(e.cfg, pmp_view::os) == e.os);
        CHECK(pmp_view_perms(e.cfg, pmp_view::mprv_access) == e.mprv_access);
    }
    // No match: M-mode passes, S and U fail (3.7.1); X only under virtual MPRV.
    CHECK(pmp_default_perms(pmp_view::firmware) == 7);
    CHECK(pmp_default_perms(pmp_view::firmware_mprv) == 4);
    CHECK(pmp_default_perms(pmp_view::os) == 0);
    CHECK(pmp_default_perms(pmp_view::mprv_access) == 0);
}

namespace {
struct program {
    u8 cfg[64] = {};
    u64 addr[64] = {};
    [[nodiscard]] virtual_pmp view(unsigned count, unsigned g = 0) const { return {cfg, addr, count, g}; }
};
u64 cfg_register(const pmp_plan& p, pmp_view view, unsigned r) { return p.cfg[static_cast<unsigned>(view)][r]; }
}  // namespace

TEST_CASE("pmp plan: OpenSBI 1.1's two entries fit after QEMU virt's tail", "[pmp][plan]") {
    // Entry 0: NAPOT [0x80000000, +2 MiB), no permission (OpenSBI's own region);
    // entry 1: NAPOT over everything, RWX.
    program p;
    p.cfg[0] = 0x18;
    p.addr[0] = 0x2003'ffff;
    p.cfg[1] = 0x1f;
    p.addr[1] = 0x3f'ffff'ffff'ffff;
    const pmp_layout l = qemu_layout(16, true);
    pmp_plan plan;
    REQUIRE(plan_fit(l, p.view(16), plan));
    // Slots: 0-1 the monitor and the CLINT, 2-7 the tail, 8-9 the two entries, 15 everything.
    CHECK(plan.addr[0] == 0x2000'3fff);
    CHECK(plan.addr[7] == 0x1'7fff'ffff);
    CHECK(plan.addr[8] == 0x2003'ffff);
    CHECK(plan.addr[9] == 0x3f'ffff'ffff'ffff);
    CHECK(plan.addr[10] == 0);
    CHECK(plan.addr[15] == 0x3f'ffff'ffff'ffff);
    // pmpcfg0: the firmware's views have the tail (NAPOT none, OFF, TOR none, OFF, TOR none, NAPOT none).
    CHECK(cfg_register(plan, pmp_view::firmware, 0) == 0x1808'0008'0018'1818);
    CHECK(cfg_register(plan, pmp_view::firmware_mprv, 0) == 0x1808'0008'0018'1818);
    CHECK(cfg_register(plan, pmp_view::os, 0) == 0x0000'0000'0000'1818);
    CHECK(cfg_register(plan, pmp_view::mprv_access, 0) == 0x0000'0000'0000'1818);
    // pmpcfg2: entry 0 is RWX for the firmware (unlocked), X under MPRV, as written for the OS.
    CHECK(cfg_register(plan, pmp_view::firmware, 1) == 0x1f00'0000'0000'1f1f);
    CHECK(cfg_register(plan, pmp_view::firmware_mprv, 1) == 0x1c00'0000'0000'1c1c);
    CHECK(cfg_register(plan, pmp_view::os, 1) == 0x0000'0000'0000'1f18);
    CHECK(cfg_register(plan, pmp_view::mprv_access, 1) == 0x0000'0000'0000'1f18);
}

TEST_CASE("pmp plan: a TOR entry whose base slot is gone gets an OFF entry holding it", "[pmp][plan]") {
    program p;
    p.cfg[0] = 0x00;  // OFF: its address is entry 1's base, 0x90000000
    p.addr[0] = 0x2400'0000;
    p.cfg[1] = 0x0b;  // TOR RW up to 0x90001000
    p.addr[1] = 0x2400'0400;
    const pmp_layout l = qemu_layout(16, false);
    pmp_plan plan;
    REQUIRE(plan_fit(l, p.view(16), plan));
    CHECK(plan.addr[2] == 0x2400'0000);
    CHECK(plan.cfg_of(2, pmp_view::os) == 0x00);
    CHECK(plan.addr[3] == 0x2400'0400);
    CHECK(plan.cfg_of(3, pmp_view::os) == 0x0b);
    CHECK(plan.cfg_of(3, pmp_view::firmware) == 0x0f);
    CHECK(plan.cfg_of(4, pmp_view::os) == 0x00);
}

TEST_CASE("pmp plan: OFF, empty and wholly shadowed entries take no slot", "[pmp][plan]") {
    program p;
    p.cfg[0] = 0x19;  // NAPOT [0x90000000, +4 KiB) R
    p.addr[0] = 0x2400'01ff;
    p.cfg[1] = 0x13;  // NA4 at 0x90000010 RW: inside entry 0
    p.addr[1] = 0x2400'0004;
    p.cfg[2] = 0x0f;  // TOR [0x90000010, 0x90000000): empty
    p.addr[2] = 0x2400'0000;
    p.cfg[3] = 0x1b;  // NAPOT [0x90000000, +8 KiB) RW: half shadowed, kept
    p.addr[3] = 0x2400'03ff;
    const pmp_layout l = qemu_layout(16, false);
    pmp_plan plan;
    REQUIRE(plan_fit(l, p.view(16), plan));
    CHECK(plan.addr[2] == 0x2400'01ff);
    CHECK(plan.addr[3] == 0x2400'03ff);
    CHECK(plan.cfg_of(3, pmp_view::os) == 0x1b);
    CHECK(plan.cfg_of(4, pmp_view::os) == 0x00);
    CHECK_FALSE(virtual_entry_decides(p.view(16), 1));
    CHECK_FALSE(virtual_entry_decides(p.view(16), 2));
    CHECK(virtual_entry_decides(p.view(16), 3));
}

TEST_CASE("pmp plan: 16 distinct regions do not fit after the monitor's entries and the tail", "[pmp][plan]") {
    program p;
    for (unsigned i = 0; i < 16; ++i) {
        p.cfg[i] = 0x19;
        p.addr[i] = riscv::pmp::napot_encode(0x9000'0000 + i * 0x1000, 0x1000);
    }
    pmp_plan plan;
    CHECK_FALSE(plan_fit(qemu_layout(16, true), p.view(16), plan));
    CHECK_FALSE(plan_fit(qemu_layout(16, false), p.view(16), plan));  // 2 + 16 + 1 > 16
    CHECK(plan_fit(qemu_layout(16, false), p.view(13), plan));         // 2 + 13 + 1 = 16
}

TEST_CASE("pmp decide: the lowest entry decides, a partial match fails, and the range it alone decides", "[pmp][decide]") {
    program p;
    p.cfg[0] = 0x19;  // NAPOT [0x90000000, +4 KiB) R
    p.addr[0] = 0x2400'01ff;
    p.cfg[1] = 0x1f;  // everything RWX
    p.addr[1] = 0x3f'ffff'ffff'ffff;
    const pmp_layout l = qemu_layout(16, true);
    const virtual_pmp v = p.view(16);

    pmp_decision d = pmp_decide(l, v, pmp_view::os, 0x9000'0000, 8, pmp_r);
    CHECK(d.allowed);
    CHECK(d.decider == 0);
    CHECK(d.base == 0x9000'0000);
    CHECK(d.end == 0x9000'1000);
    CHECK_FALSE(pmp_decide(l, v, pmp_view::os, 0x9000'0000, 8, pmp_w).allowed);
    CHECK_FALSE(pmp_decide(l, v, pmp_view::os, 0x8fff'fffc, 8, pmp_r).allowed);  // partly in entry 0
    d = pmp_decide(l, v, pmp_view::os, 0x9000'1000, 4, pmp_w);
    CHECK(d.allowed);
    CHECK(d.decider == 1);
    CHECK(d.base == 0x9000'1000);
    CHECK(d.end == pmp_address_limit);
    d = pmp_decide(l, v, pmp_view::os, 0x10, 4, pmp_x);
    CHECK(d.base == 0);
    CHECK(d.end == 0x9000'0000);
    // The OS may use the bus masters; the firmware may not (the tail comes first).
    CHECK(pmp_decide(l, v, pmp_view::os, 0x1000'1000, 4, pmp_w).allowed);
    CHECK_FALSE(pmp_decide(l, v, pmp_view::firmware, 0x1000'1000, 4, pmp_w).allowed);
    // The UART, for the firmware: between the PCI I/O window and virtio-mmio.
    d = pmp_decide(l, v, pmp_view::firmware, 0x1000'0000, 1, pmp_w);
    CHECK(d.allowed);
    CHECK(d.decider == 1);
    CHECK(d.base == 0x301'0000);
    CHECK(d.end == 0x1000'1000);
    // Entry 0 unlocked: the firmware may write it; not under virtual MPRV.
    CHECK(pmp_decide(l, v, pmp_view::firmware, 0x9000'0000, 8, pmp_w).allowed);
    CHECK_FALSE(pmp_decide(l, v, pmp_view::firmware_mprv, 0x9000'0000, 8, pmp_r).allowed);
    CHECK(pmp_decide(l, v, pmp_view::firmware_mprv, 0x9000'0000, 4, pmp_x).allowed);
    // Locked, it binds the firmware.
    p.cfg[0] = 0x99;
    CHECK_FALSE(pmp_decide(l, v, pmp_view::firmware, 0x9000'0000, 8, pmp_w).allowed);
    CHECK(pmp_decide(l, v, pmp_view::firmware, 0x9000'0000, 8, pmp_r).allowed);
    // With no entry, M-mode passes and S/U fail.
    p.cfg[0] = 0;
    p.cfg[1] = 0;
    d = pmp_decide(l, v, pmp_view::firmware, 0x9000'0000, 8, pmp_w);
    CHECK(d.allowed);
    CHECK(d.decider == pmp_decision::default_decider);
    CHECK(d.base == 0x8000'0000);  // between the tail's [0x30000000, 0x80000000) and 64-bit window
    CHECK(d.end == 0x4'0000'0000);
    CHECK_FALSE(pmp_decide(l, v, pmp_view::os, 0x9000'0000, 8, pmp_r).allowed);
}

TEST_CASE("pmp cache: least recently used ranges make room; encodings", "[pmp][cache]") {
    constexpr pmp_family os = pmp_family::os, fw = pmp_family::firmware;
    pmp_cache c;
    REQUIRE(c.install(os, 0x9000'0000, 0x9000'1000, pmp_r, 0, 4));      // NAPOT: 1 slot
    REQUIRE(c.install(os, 0x9000'1000, 0x9000'3000, pmp_rwx, 0, 4));    // 8 KiB at 4 KiB: TOR pair
    REQUIRE(c.install(fw, 0x9000'4000, 0x9000'4004, pmp_rwx, 0, 4));    // NA4: 1 slot
    CHECK(c.slots_used() == 4);
    CHECK(c.find(0x9000'4000, os) == -1);                               // the firmware's only
    REQUIRE(c.install(fw, 0x9000'0000, 0x9000'1000, pmp_rwx, 0, 4));    // the same range: shared
    CHECK(c.slots_used() == 4);
    REQUIRE(c.find(0x9000'0010, fw) == c.find(0x9000'0010, os));
    REQUIRE(c.install(os, 0xa000'0000, 0xa000'0008, pmp_r, 0, 4));     // evicts the TOR pair
    CHECK(c.count == 3);
    CHECK(c.find(0x9000'1000, os) == -1);
    CHECK(c.find(0x9000'0000, os) >= 0);
    CHECK(c.find(0x9000'4000, fw) >= 0);
    CHECK(c.find(0xa000'0004, os) >= 0);
    CHECK(c.slots_used() == 3);
    // In the slots: OFF in the views of a world a range does not serve.
    pmp_layout l;
    l.physical_count = 8;
    (void)l.add_napot(0x8000'0000, 0x2'0000, pmp_none, pmp_none);
    pmp_plan plan;
    plan_reserved(l, plan);
    plan_cache(l, c, plan);
    // Least recently used first: the NA4 range, the shared one (used again), the newest.
    CHECK(plan.addr[1] == 0x2400'1000);  // NA4 at 0x90004000: the firmware's
    CHECK(plan.cfg_of(1, pmp_view::firmware) == 0x17);
    CHECK(plan.cfg_of(1, pmp_view::os) == 0x00);
    CHECK(plan.addr[2] == 0x2400'01ff);  // [0x90000000, +4 KiB): R for the OS, RWX for the firmware
    CHECK(plan.cfg_of(2, pmp_view::firmware) == 0x1f);
    CHECK(plan.cfg_of(2, pmp_view::firmware_mprv) == 0x1c);
    CHECK(plan.cfg_of(2, pmp_view::os) == 0x19);
    CHECK(plan.cfg_of(2, pmp_view::mprv_access) == 0x19);
    CHECK(plan.addr[3] == 0x2800'0000);  // NAPOT 8 bytes at 0xa0000000 (no trailing one): the OS's
    CHECK(plan.cfg_of(3, pmp_view::firmware) == 0x00);
    CHECK(plan.cfg_of(3, pmp_view::os) == 0x19);
    CHECK(plan.cfg_of(4, pmp_view::os) == 0x00);
    CHECK(pmp_cache::slots_for(0x9000'4000, 0x9000'4004, 1) == 2);     // no NA4 at G >= 1
    CHECK(cacheable_end(0x9000'1000, pmp_address_limit, 0) == pmp_address_limit - 4);
    CHECK(cacheable_end(0, pmp_address_limit, 0) == pmp_address_limit);  // NAPOT reaches it
    // A larger range of a family takes the place of its blocks inside it.
    REQUIRE(c.install(fw, 0x9000'0000, 0x9000'8000, pmp_rwx, 0, 4));
    CHECK(c.find(0x9000'4000, fw) >= 0);
    CHECK(c.ranges[static_cast<unsigned>(c.find(0x9000'4000, fw))].end == 0x9000'8000);
    CHECK(c.find(0x9000'0000, os) >= 0);  // the OS's block stays
    u64 b = 0, e = 0;
    CHECK(napot_block_within(0x80c6'5500, 1, 0x8016'0000, pmp_address_limit, 2, b, e));
    CHECK(b == 0x8080'0000);
    CHECK(e == 0x8100'0000);
    CHECK_FALSE(napot_block_within(0x9000'0004, 8, 0x9000'0004, 0x9000'0010, 0, b, e));
}
