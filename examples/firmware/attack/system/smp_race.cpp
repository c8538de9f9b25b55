// SPDX-License-Identifier: MIT
// attack-smp-race: one hart reprograms its PMP and the CLINT in a tight loop
// while every other hart traps and probes the monitor's memory
// (docs/attacks.md). Run with 2, 4 and 8 harts.
//
//   the last hart   rewrites its PMP entries (NAPOT over the monitor, TOR from
//                   0 over it, NA4 on its base, all memory, off: every write a
//                   trap into a monitor), raises and clears the other harts'
//                   msip, sets their mtimecmp to now and back to never, sets
//                   its own, and every few rounds probes the monitor's memory
//   the others      take those interrupts (MIE = 1) and in a loop: CSR
//                   accesses (mscratch is left alone: the trap entry uses it),
//                   ecalls, loads with MPRV = 1 (MPP = S) from the monitor's
//                   memory, M-mode loads, stores and fetches there, and now and
//                   then an S-mode load there (a world switch under a monitor)
//
// Each hart probes its own addresses (its hart id picks the offsets), so
// natively every probe is real: the load reads the bytes there, the store
// lands (and is put back), the fetch runs code planted there. Under a monitor
// every probe on every hart must be contained, whatever the other harts are
// doing to the monitor at that moment, and the run must end (the rounds are
// counted, not timed).
#include "common.hpp"

using namespace testfw;
namespace ms = riscv::mstatus;
namespace ip = riscv::mip;
namespace rp = vfm::riscv::pmp;

const char* const testfw::firmware_name = "attack-smp-race";
const char* const testfw::firmware_purpose = "one hart reprograms PMP and the CLINT while the others trap and probe";

namespace {

constexpr u64 trap_rounds = 600;
constexpr u64 storm_ecall = 0x5707;
constexpr u64 software_cause = (u64{1} << 63) | riscv::irq::m_software;
constexpr u64 timer_cause = (u64{1} << 63) | riscv::irq::m_timer;

testfw::attack::region g_monitor;
unsigned g_harts;
unsigned g_reprogrammer;
volatile u64 g_stop;
volatile u64 g_ready;

/// What each hart did (counts are timing-dependent: "~" lines).
struct alignas(64) hart_tally {
    volatile u64 interrupts;
    volatile u64 ecalls;
    volatile u64 csr_reads;
    volatile u64 pmp_writes;
    volatile u64 clint_writes;
    volatile u64 rounds;
    volatile u64 done;
};
hart_tally g_tally[TESTFW_MAX_HARTS];

bool race_handler(trap_frame& f) {
    hart_tally& t = g_tally[hartid()];
    if (f.is_interrupt()) {
        if (f.cause == software_cause) clear_ipi(hartid());
        if (f.cause == timer_cause) set_mtimecmp(hartid(), ~u64{0});
        t.interrupts = t.interrupts + 1;
        return true;
    }
    if (f.code() == static_cast<u64>(riscv::exception::ecall_from_m) && f.x[17] == storm_ecall) {
        t.ecalls = t.ecalls + 1;
        f.epc += 4;
        return true;
    }
    return false;
}

/// This hart's probe addresses: 8-byte aligned, apart from every other hart's.
u64 probe_address(unsigned which) {
    const u64 h = hartid();
    switch (which) {
        case 0: return g_monitor.base + 0x40 * h + 0x100;
        case 1: return g_monitor.base + g_monitor.size / 2 + 0x40 * h;
        default: return g_monitor.end() - 0x40 * (h + 1);
    }
}

/// A load with MPRV = 1 and MPP = S (priv. 3.1.6.3), judged like lower_attempt.
atk::verdict mprv_load(u64 address) {
    u8 bytes[8] = {};
    const bool known = testfw::attack::read_bytes(address, 8, bytes);
    u64 old = 0;
    for (unsigned i = 0; i < 8; ++i) old |= u64{bytes[i]} << (8 * i);
    u64 out = 0;
    u64 site = 0;
    expect_arm();
    asm volatile(
        "li t0, %[mpp_s]\n"
        "li t1, %[mpp]\n"
        "csrc mstatus, t1\n"
        "csrs mstatus, t0\n"
        "li t0, %[mprv]\n"
        "mv a0, %[s]\n"
        "la %[site], 1f\n"
        "csrs mstatus, t0\n"
        "1: ld a0, 0(%[a])\n"
        "csrc mstatus, t0\n"
        "mv %[out], a0"
        : [out] "=r"(out), [site] "=&r"(site)
        : [s] "r"(probe_sentinel), [a] "r"(address), [mprv] "i"(ms::mprv::mask), [mpp] "i"(ms::mpp::mask),
          [mpp_s] "i"(ms::mpp::make(1))
        : "t0", "t1", "a0", "memory");
    const probe p = expect_result(site, out);
    atk::verdict v;
    if (p.trapped) {
        const bool ok = p.count == 1 && p.level == 3 && p.epc == p.site && p.tval == address &&
                        p.cause == static_cast<u64>(riscv::exception::load_access_fault);
        v.what = ok ? atk::outcome::contained : atk::outcome::wrong;
        format(v.detail, sizeof v.detail, "MPRV load %h: %s, mtval %h", address, cause_name(p.cause), p.tval);
    } else {
        v.what = known && p.value == old ? atk::outcome::real : known ? atk::outcome::wrong : atk::outcome::leaked;
        format(v.detail, sizeof v.detail, "MPRV load %h: no trap, a0 %h", address, p.value);
    }
    return v;
}

/// The verdicts a hart gathers, printed by hart 0 at the end.
struct hart_groups {
    atk::group m{""};
    atk::group mprv{""};
    atk::group s{""};
};
hart_groups g_groups[TESTFW_MAX_HARTS];

u64 trapper(u64) {
    const unsigned h = static_cast<unsigned>(hartid());
    hart_tally& t = g_tally[h];
    hart_groups& g = g_groups[h];
    char what[112];
    format(what, sizeof what, "hart %u: M-mode loads, stores, fetches in the monitor's memory during the race", h);
    g.m = atk::group(what);
    format(what, sizeof what, "hart %u: MPRV (MPP = S) loads from the monitor's memory during the race", h);
    g.mprv = atk::group(what);
    format(what, sizeof what, "hart %u: S-mode loads from the monitor's memory during the race", h);
    g.s = atk::group(what);
    set_m_handler(race_handler);
    pmp::reset();
    pmp::open_all(0);
    write<csr::mie>(ip::msip::mask | ip::mtip::mask);
    set_mtimecmp(h, ~u64{0});
    __atomic_fetch_add(&g_ready, 1, __ATOMIC_SEQ_CST);
    while (g_ready < g_harts) {
    }
    set<csr::mstatus>(ms::mie::mask);
    for (u64 round = 0; round < trap_rounds; ++round) {
        // CSR accesses and an ecall.
        write<csr::sscratch>(round);
        u64 sum = read<csr::sscratch>() + read<csr::mstatus>() + read<csr::mie>() + read<csr::mcause>();
        write<csr::mtval>(sum);
        t.csr_reads = t.csr_reads + 4;
        (void)ecall(storm_ecall);
        g.mprv.add(mprv_load(probe_address(round % 3)));
        const atk::lower_kind kinds[] = {atk::lower_kind::load, atk::lower_kind::store, atk::lower_kind::fetch};
        g.m.add(atk::lower_attempt(privilege::machine, kinds[round % 3], probe_address((round / 3) % 3)));
        if (round % 20 == 0) {
            clear<csr::mstatus>(ms::mie::mask);
            g.s.add(atk::lower_attempt(privilege::supervisor, atk::lower_kind::load, probe_address(round % 3)));
            set<csr::mstatus>(ms::mie::mask);
        }
        t.rounds = round + 1;
    }
    clear<csr::mstatus>(ms::mie::mask);
    write<csr::mie>(0);
    clear_ipi(h);
    set_mtimecmp(h, ~u64{0});
    set_m_handler(nullptr);
    fence();
    t.done = 1;
    return 0;
}

atk::group g_reprogrammer_group{""};

u64 reprogrammer(u64) {
    const unsigned h = static_cast<unsigned>(hartid());
    hart_tally& t = g_tally[h];
    char what[112];
    format(what, sizeof what, "hart %u: M-mode loads in the monitor's memory between its own PMP rewrites", h);
    g_reprogrammer_group = atk::group(what);
    set_m_handler(race_handler);
    const u64 base = g_monitor.base;
    const u64 size = g_monitor.size;
    const u8 napot = pmp::make_cfg(pmp::napot, true, true, true);
    const u8 tor = pmp::make_cfg(pmp::tor, true, true, true);
    const u8 na4 = pmp::make_cfg(pmp::na4, true, true, true);
    __atomic_fetch_add(&g_ready, 1, __ATOMIC_SEQ_CST);
    while (g_ready < g_harts) {
    }
    u64 round = 0;
    for (; g_stop == 0 && round < 1'000'000; ++round) {
        switch (round % 5) {
            case 0: pmp::set(0, napot, rp::napot_encode(base, size)); break;
            case 1: pmp::set(0, tor, rp::tor_encode(g_monitor.end())); break;
            case 2: pmp::set(1, na4, rp::na4_encode(base)); break;
            case 3: pmp::set(2, napot, ~u64{0} >> 10); break;
            default: pmp::reset(); break;
        }
        t.pmp_writes = t.pmp_writes + 1;
        for (unsigned other = 0; other < g_harts; ++other) {
            if (other == h) continue;
            if (round % 3 == 0) send_ipi(other);
            if (round % 3 == 1) clear_ipi(other);
            if (round % 7 == 0) set_mtimecmp(other, mtime());
            if (round % 7 == 3) set_mtimecmp(other, ~u64{0});
            t.clint_writes = t.clint_writes + 1;
        }
        set_mtimecmp(h, round % 2 == 0 ? ~u64{0} : mtime() + platform::timebase());
        if (round % 16 == 0) g_reprogrammer_group.add(
            atk::lower_attempt(privilege::machine, atk::lower_kind::load, probe_address(round % 3)));
    }
    pmp::reset();
    pmp::open_all(0);
    set_mtimecmp(h, ~u64{0});
    for (unsigned other = 0; other < g_harts; ++other) clear_ipi(other);
    set_m_handler(nullptr);
    t.rounds = round;
    fence();
    t.done = 1;
    return 0;
}

}  // namespace

void testfw::firmware_main() {
    g_harts = hart_count() < TESTFW_MAX_HARTS ? hart_count() : TESTFW_MAX_HARTS;
    const unsigned online = wait_for_secondaries();
    const testfw::attack::targets targets = testfw::attack::find_targets();
    g_monitor = targets.monitor;
    if (!check(g_harts >= 2 && online == g_harts - 1, "harts: %u, secondaries registered: %u", g_harts, online))
        return;
    write<csr::medeleg>(0);
    write<csr::mideleg>(0);
    pmp::reset();
    pmp::open_all(0);
    atk::hand_over_once();

    g_reprogrammer = g_harts - 1;
    for (unsigned h = 1; h < g_harts; ++h) post_work(h, h == g_reprogrammer ? reprogrammer : trapper, 0);
    (void)trapper(0);
    // The others finish their rounds; then the reprogrammer stops.
    for (unsigned h = 1; h < g_reprogrammer; ++h) {
        const deadline until = deadline::in_ms(120'000);
        while (g_tally[h].done == 0 && !until.passed()) {
        }
    }
    g_stop = 1;
    fence();
    bool finished = true;
    for (unsigned h = 1; h < g_harts; ++h) {
        const deadline until = deadline::in_ms(60'000);
        while (g_tally[h].done == 0 && !until.passed()) {
        }
        finished = finished && g_tally[h].done != 0;
    }
    check(finished, "every hart finished its rounds");

    section("the race");
    note("hart %u reprograms its PMP and the CLINT; harts 0 to %u trap and probe", g_reprogrammer, g_reprogrammer - 1);
    for (unsigned h = 0; h < g_harts; ++h) {
        const hart_tally& t = g_tally[h];
        impl_defined("hart %u: %u rounds, %u interrupts taken, %u ecalls, %u CSR accesses, %u PMP rewrites, %u CLINT "
                     "writes", h, t.rounds, t.interrupts, t.ecalls, t.csr_reads, t.pmp_writes, t.clint_writes);
    }
    for (unsigned h = 0; h < g_reprogrammer; ++h) {
        (void)g_groups[h].m.finish();
        (void)g_groups[h].mprv.finish();
        (void)g_groups[h].s.finish();
    }
    (void)g_reprogrammer_group.finish();

    section("afterwards");
    u64 sum = 0;
    for (u64 i = 0; i < 1000; ++i) sum += i;
    check(sum == 499500, "the firmware still runs: %u", sum);
}
