// SPDX-License-Identifier: MIT
// delegation: medeleg and mideleg (priv. spec 3.1.8, 4.1). Delegated
// exceptions from S- and U-mode go to stvec with scause, sepc and stval set
// as M-mode would see them and sstatus.SPP the previous mode; undelegated
// ones and every trap from M-mode stay in M. A delegated interrupt is taken
// in S-mode (when sstatus.SIE and sie allow) and never in M-mode. Last, the
// supervisor timer the way OpenSBI provides it: mideleg.STIP set, the
// M-mode timer handler injects mip.STIP, the S-mode handler asks M-mode
// (ecall) to clear it; once with the deadline 1 ms ahead, then with it
// swept tick by tick across the whole path from S-mode's call to its wfi,
// so that it also passes in M-mode's handler, in the mret back and between
// S-mode's check and its wfi (deterministic under -icount: the
// delegation-icount run).
#include "testfw/testfw.hpp"

using namespace testfw;
using riscv::exception;
namespace ip = riscv::mip;
namespace ms = riscv::mstatus;

const char* const testfw::firmware_name = "delegation";
const char* const testfw::firmware_purpose = "medeleg and mideleg: traps to S-mode, STIP injection";

namespace {

constexpr u64 bit(unsigned n) { return u64{1} << n; }
constexpr u64 never = ~u64{0};
constexpr u64 ssi_cause = bit(63) | riscv::irq::s_software;
constexpr u64 sti_cause = bit(63) | riscv::irq::s_timer;
constexpr u64 mti_cause = bit(63) | riscv::irq::m_timer;
constexpr u32 csrr_mstatus = 0x3000'2573;

/// The S-mode services M-mode offers here (a7 of an ecall from S).
constexpr u64 call_set_timer = 0x54494d45;  ///< a0 = ticks from now (never = cancel); clears mip.STIP
constexpr u64 call_raise_ssip = 0x53534950;

u32 g_denied;  // a word S-mode may not touch (PMP entry 0)

probe g_result;
u64 g_load_address;

u64 lower_illegal(u64) {
    g_result = insn_probe<csrr_mstatus>();
    return 1;
}
u64 lower_ebreak(u64) {
    g_result = insn_probe<encoding::ebreak>();
    return 1;
}
u64 lower_ecall(u64) {
    g_result = insn_probe<encoding::ecall>();
    return 1;
}
u64 lower_load(u64) {
    g_result = load_probe(g_load_address, 4);
    return 1;
}

bool expect_in_s(const probe& p, exception cause, u64 tval, u64 spp, const char* what) {
    const u64 c = static_cast<u64>(cause);
    const bool ok = p.trapped && p.count == 1 && p.level == 1 && p.cause == c && p.epc == p.site && p.tval == tval &&
                    ms::spp::extract(p.status) == spp;
    return check(ok, "%s: %s, taken in %s-mode, sepc at the instruction: %b, stval %x, SPP = %u", what,
                 cause_name(p.cause), p.level == 1 ? "S" : p.level == 3 ? "M" : "no", p.epc == p.site, p.tval,
                 ms::spp::extract(p.status));
}

// --- interrupts --------------------------------------------------------------

struct record {
    volatile u64 count;
    u64 cause;
    u64 epc;
    u64 level;
};
record g_s_irq;
record g_m_irq;
volatile u64 g_timer_events[4];
volatile u64 g_timer_event_count;
volatile u64 g_mti_epc;  ///< mepc of the last machine timer interrupt

void log_event(u64 e) {
    if (g_timer_event_count < 4) g_timer_events[g_timer_event_count] = e;
    g_timer_event_count = g_timer_event_count + 1;
}

/// M-mode: the S-mode services, the timer (inject STIP), undelegated SSI.
bool m_handler(trap_frame& f) {
    if (f.cause == static_cast<u64>(exception::ecall_from_s) && f.x[17] == call_set_timer) {
        clear<csr::mip>(ip::stip::mask);
        set_mtimecmp(hartid(), f.x[10] == never ? never : mtime() + f.x[10]);
        if (f.x[10] != never) set<csr::mie>(ip::mtip::mask);
        f.epc += 4;
        return true;
    }
    if (f.cause == static_cast<u64>(exception::ecall_from_s) && f.x[17] == call_raise_ssip) {
        set<csr::mip>(ip::ssip::mask);
        f.epc += 4;
        return true;
    }
    if (f.cause == mti_cause) {
        log_event(mti_cause);
        g_mti_epc = f.epc;
        clear<csr::mie>(ip::mtip::mask);
        set_mtimecmp(hartid(), never);
        set<csr::mip>(ip::stip::mask);
        return true;
    }
    if (f.cause == ssi_cause) {
        g_m_irq.count = g_m_irq.count + 1;
        g_m_irq.cause = f.cause;
        g_m_irq.level = 3;
        clear<csr::mip>(ip::ssip::mask);
        return true;
    }
    return false;
}

/// S-mode: delegated interrupts.
bool s_handler(trap_frame& f) {
    if (f.cause == ssi_cause) {
        g_s_irq.count = g_s_irq.count + 1;
        g_s_irq.cause = f.cause;
        g_s_irq.epc = f.epc;
        g_s_irq.level = 1;
        clear<csr::sip>(ip::ssip::mask);
        return true;
    }
    if (f.cause == sti_cause) {
        log_event(sti_cause);
        (void)ecall(call_set_timer, never);
        return true;
    }
    return false;
}

/// S-mode: enable SSI, ask M-mode to raise it; the interrupt comes right
/// after the ecall.
u64 lower_ssi_from_m(u64) {
    set<csr::sie>(ip::ssip::mask);
    set<csr::sstatus>(ms::sie::mask);
    (void)ecall(call_raise_ssip);
    clear<csr::sstatus>(ms::sie::mask);
    return g_s_irq.count;
}

/// S-mode: raise SSI itself through sip.
u64 lower_ssi_self(u64) {
    set<csr::sie>(ip::ssip::mask);
    set<csr::sip>(ip::ssip::mask);
    const u64 before = g_s_irq.count;
    set<csr::sstatus>(ms::sie::mask);
    clear<csr::sstatus>(ms::sie::mask);
    return g_s_irq.count - before;
}

/// S-mode: with SIE = 0 the delegated interrupt stays pending.
u64 lower_ssi_masked(u64) {
    set<csr::sie>(ip::ssip::mask);
    set<csr::sip>(ip::ssip::mask);
    const u64 pending = read<csr::sip>() & ip::ssip::mask;
    clear<csr::sip>(ip::ssip::mask);
    return pending != 0 ? 1 : 0;
}

/// S-mode: SSI raised by M-mode with mideleg clear: taken in M.
u64 lower_ssi_undelegated(u64) {
    (void)ecall(call_raise_ssip);
    return 1;
}

/// S-mode: the supervisor timer through SBI-like calls, `ticks` ahead.
/// Both interrupts may come before the wfi: wfi_until does not lose them.
u64 lower_timer(u64 ticks) {
    set<csr::sie>(ip::stip::mask);
    set<csr::sstatus>(ms::sie::mask);
    (void)ecall(call_set_timer, ticks);
    (void)wfi_until(g_timer_event_count, 2, lower_spin_limit);
    clear<csr::sstatus>(ms::sie::mask);
    return g_timer_event_count;
}

/// The sweep: the deadline 0, 1, 2, ... ticks ahead, until it fell in
/// S-mode's wfi `sweep_in_a_row` times in a row (the whole path is then
/// behind it), at most `sweep_max_ticks` ahead: 4 ms, more than twice the
/// path under the monitor at -icount shift=10 (1,500 instructions of 1 us;
/// at shift=7, 0.2 ms).
constexpr u64 sweep_in_a_row = 32;
[[nodiscard]] u64 sweep_max_ticks() { return 4 * platform::ms_ticks(); }
struct sweep_result {
    u64 failed;      ///< deadlines not taken as M-mode then S-mode, STIP cleared
    u64 first_failed;
    u64 first_count;
    u64 first_events[2];
    u64 before_wfi;  ///< deadlines that passed before S-mode's wfi
    u64 in_a_row;    ///< deadlines in a row that fell in the wfi
};
sweep_result g_sweep;

/// S-mode: the sweep.
u64 lower_timer_sweep(u64) {
    set<csr::sie>(ip::stip::mask);
    set<csr::sstatus>(ms::sie::mask);
    u64 ticks = 0;
    for (; ticks <= sweep_max_ticks() && g_sweep.in_a_row < sweep_in_a_row; ++ticks) {
        g_timer_event_count = 0;
        g_mti_epc = 0;
        (void)ecall(call_set_timer, ticks);
        (void)wfi_until(g_timer_event_count, 2, lower_spin_limit);
        const bool in_wfi = g_mti_epc == wfi_until_wake_address();
        const bool ok = g_timer_event_count == 2 && g_timer_events[0] == mti_cause &&
                        g_timer_events[1] == sti_cause && (read<csr::sip>() & ip::stip::mask) == 0;
        if (!ok && g_sweep.failed++ == 0) {
            g_sweep.first_failed = ticks;
            g_sweep.first_count = g_timer_event_count;
            g_sweep.first_events[0] = g_timer_events[0];
            g_sweep.first_events[1] = g_timer_events[1];
        }
        if (!in_wfi) ++g_sweep.before_wfi;
        g_sweep.in_a_row = in_wfi ? g_sweep.in_a_row + 1 : 0;
    }
    clear<csr::sstatus>(ms::sie::mask);
    return ticks;
}

}  // namespace

void testfw::firmware_main() {
    // Delegation needs S-mode: without it there is no medeleg or mideleg
    // (priv. 3.1.8; QEMU sifive_u's E51).
    if (!has_s_mode()) {
        absent_here("S-mode (medeleg, mideleg)");
        return;
    }
    pmp::reset();
    pmp::set(0, pmp::make_cfg(pmp::na4, false, false, false), pmp::na4_encode(reinterpret_cast<u64>(&g_denied)));
    pmp::open_all(1);
    write<csr::stvec>(s_trap_entry());
    set_m_handler(m_handler);

    section("medeleg: exceptions from S- and U-mode to S-mode (priv. 3.1.8)");
    const u64 delegated = bit(2) | bit(3) | bit(5) | bit(8);
    write<csr::medeleg>(delegated);
    check((read<csr::medeleg>() & delegated) == delegated, "medeleg <- illegal, breakpoint, load fault, U ecall: %x",
          read<csr::medeleg>());
    u64 m_traps = self().m_traps;
    g_result = {};
    run_in(privilege::supervisor, lower_illegal);
    expect_in_s(g_result, exception::illegal_instruction, g_result.tval, 1, "csrr mstatus in S-mode");
    check(g_result.tval == 0 || g_result.tval == csrr_mstatus, "its stval is 0 or the instruction: %b",
          g_result.tval == 0 || g_result.tval == csrr_mstatus);
    g_result = {};
    run_in(privilege::supervisor, lower_ebreak);
    expect_in_s(g_result, exception::breakpoint, g_result.tval, 1, "ebreak in S-mode");
    check(g_result.tval == 0 || g_result.tval == g_result.site, "its stval is 0 or its address: %b",
          g_result.tval == 0 || g_result.tval == g_result.site);
    g_load_address = reinterpret_cast<u64>(&g_denied);
    g_result = {};
    run_in(privilege::supervisor, lower_load);
    expect_in_s(g_result, exception::load_access_fault, g_load_address, 1, "load denied by PMP in S-mode");
    g_result = {};
    run_in(privilege::user, lower_ecall);
    expect_in_s(g_result, exception::ecall_from_u, 0, 0, "ecall in U-mode");
    g_result = {};
    run_in(privilege::user, lower_illegal);
    expect_in_s(g_result, exception::illegal_instruction, g_result.tval, 0, "csrr mstatus in U-mode");
    // Each run_in ends with one exit ecall to M-mode (from U-mode: through S).
    check(self().m_traps - m_traps == 5, "M-mode saw only the exit ecalls: %u traps", self().m_traps - m_traps);

    g_result = {};
    run_in(privilege::supervisor, lower_ecall);
    expect_exception(g_result, exception::ecall_from_s, 0, 3, "ecall in S-mode (not delegated)");
    g_result = insn_probe<encoding::ebreak>();
    expect_exception(g_result, exception::breakpoint, g_result.tval, 3, "ebreak in M-mode (delegated, still M)");
    write<csr::medeleg>(0);

    section("mideleg: the supervisor software interrupt (priv. 3.1.9)");
    write<csr::mideleg>(ip::ssip::mask);
    set_s_handler(s_handler);
    g_s_irq = {};
    u64 n = run_in(privilege::supervisor, lower_ssi_from_m);
    check(n == 1 && g_s_irq.cause == ssi_cause && g_s_irq.level == 1,
          "raised by M-mode: taken in S-mode %u time(s), scause %x", n, g_s_irq.cause);
    g_s_irq = {};
    n = run_in(privilege::supervisor, lower_ssi_self);
    check(n == 1 && g_s_irq.cause == ssi_cause, "raised through sip by S-mode: taken when SIE was set: %u", n);
    n = run_in(privilege::supervisor, lower_ssi_masked);
    check(n == 1 && g_s_irq.count == 1, "with sstatus.SIE = 0: pending in sip, not taken: %b", n == 1);

    g_s_irq = {};
    g_m_irq = {};
    set<csr::mie>(ip::ssip::mask);
    set<csr::mip>(ip::ssip::mask);
    set<csr::mstatus>(ms::mie::mask);
    delay_ticks(100);
    clear<csr::mstatus>(ms::mie::mask);
    check(g_m_irq.count == 0 && g_s_irq.count == 0, "delegated and pending while in M-mode with MIE = 1: not taken: %b",
          g_m_irq.count == 0 && g_s_irq.count == 0);
    clear<csr::mip>(ip::ssip::mask);

    write<csr::mideleg>(0);
    g_m_irq = {};
    run_in(privilege::supervisor, lower_ssi_undelegated);
    check(g_m_irq.count == 1 && g_m_irq.cause == ssi_cause && g_s_irq.count == 0,
          "not delegated (mideleg = 0, mie.SSIE = 1): taken in M-mode from S-mode: %u time(s)", g_m_irq.count);
    write<csr::mie>(0);

    section("the supervisor timer through mideleg.STIP and M-mode injection");
    write<csr::mideleg>(ip::stip::mask);
    clear<csr::mip>(ip::stip::mask);
    set_mtimecmp(hartid(), never);
    g_timer_event_count = 0;
    n = run_in(privilege::supervisor, lower_timer, platform::ms_ticks());
    check(n == 2 && g_timer_events[0] == mti_cause && g_timer_events[1] == sti_cause,
          "M-mode took %x, then S-mode took %x", g_timer_events[0], g_timer_events[1]);
    check((read<csr::mip>() & ip::stip::mask) == 0 && get_mtimecmp(hartid()) == never,
          "S-mode's call cleared mip.STIP and cancelled the timer: %b", (read<csr::mip>() & ip::stip::mask) == 0);

    section("the supervisor timer, its deadline swept across the path from the call to wfi");
    g_sweep = {};
    const u64 swept = run_in(privilege::supervisor, lower_timer_sweep);
    if (g_sweep.failed != 0)
        note("%u of %u deadlines went wrong; the first, %u ticks ahead: %u interrupt(s), %x then %x", g_sweep.failed,
             swept, g_sweep.first_failed, g_sweep.first_count, g_sweep.first_events[0], g_sweep.first_events[1]);
    check(g_sweep.failed == 0, "0, 1, 2, ... ticks ahead: M-mode took each, then S-mode, and STIP was cleared: %b",
          g_sweep.failed == 0);
    check(g_sweep.before_wfi > 0, "the earliest passed before S-mode's wfi: %b", g_sweep.before_wfi > 0);
    check(g_sweep.in_a_row == sweep_in_a_row, "then %u in a row fell in the wfi, within 4 ms: %b", sweep_in_a_row,
          g_sweep.in_a_row == sweep_in_a_row);
    check((read<csr::mip>() & ip::stip::mask) == 0 && get_mtimecmp(hartid()) == never,
          "mip.STIP clear and the timer cancelled after the sweep: %b", (read<csr::mip>() & ip::stip::mask) == 0);
    write<csr::mideleg>(0);
    write<csr::mie>(0);
    set_s_handler(nullptr);
    set_m_handler(nullptr);
    pmp::reset();
}
