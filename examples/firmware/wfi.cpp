// SPDX-License-Identifier: MIT
// wfi: wait for interrupt (priv. spec 3.3.3). wfi resumes when an interrupt
// is pending and enabled in mie, even with mstatus.MIE = 0, and then the
// interrupt is not taken until MIE is set. In S-mode wfi is allowed when
// mstatus.TW = 0 and raises an illegal instruction when TW = 1 (no
// interrupt will end the wait); in U-mode it raises one (S-mode exists).
#include "testfw/testfw.hpp"

using namespace testfw;
namespace ip = riscv::mip;
namespace ms = riscv::mstatus;

const char* const testfw::firmware_name = "wfi";
const char* const testfw::firmware_purpose = "wfi wake-up with interrupts masked, and wfi below M-mode";

namespace {

constexpr u64 never = ~u64{0};
constexpr u64 timer_cause = (u64{1} << 63) | riscv::irq::m_timer;
using platform::ms_ticks;

struct irq_record {
    volatile u64 count;
    u64 cause;
    u64 epc;
    u64 mpp;
};
irq_record g_irq;

bool on_interrupt(trap_frame& f) {
    if (!f.is_interrupt()) return false;
    g_irq.count = g_irq.count + 1;
    g_irq.cause = f.cause;
    g_irq.epc = f.epc;
    g_irq.mpp = f.mpp();
    if (f.code() == riscv::irq::m_timer) set_mtimecmp(hartid(), never);
    if (f.code() == riscv::irq::m_software) clear_ipi(hartid());
    return true;
}

probe g_result;
u64 lower_wfi(u64) {
    g_result = insn_probe<encoding::wfi>();
    return 1;
}

/// wfi in a loop until the M-mode handler has counted an interrupt.
/// (Counting, not reading mtime, bounds the wait; wfi_until, because the
/// interrupt may come before the wfi and its handler disarms the timer.)
u64 lower_wfi_until_interrupt(u64) { return wfi_until(g_irq.count, 1, lower_spin_limit); }

/// On a hart without S-mode, U-mode may wait in wfi when mstatus.TW = 0
/// (priv. 3.1.6.5: only "when S-mode is implemented" must it trap).
void without_s_mode() {
    const u64 h = hartid();
    section("wfi in U-mode, mstatus.TW = 0, no S-mode");
    g_irq = {};
    write<csr::mie>(ip::mtip::mask);
    set_mtimecmp(h, mtime() + ms_ticks());
    const u64 traps_before = self().m_traps;
    const u64 seen = run_in(privilege::user, lower_wfi_until_interrupt);
    check(seen == 1 && g_irq.cause == timer_cause && g_irq.mpp == 0,
          "wfi in U-mode waited for the machine timer: taken %u time(s), MPP = %u", seen, g_irq.mpp);
    check(self().m_traps - traps_before == 2, "no illegal instruction from wfi in U-mode: %b",
          self().m_traps - traps_before == 2);
    write<csr::mie>(0);
    set_mtimecmp(h, never);

    section("wfi in U-mode, mstatus.TW = 1");
    set<csr::mstatus>(ms::tw::mask);
    g_result = {};
    run_in(privilege::user, lower_wfi);
    expect_illegal(g_result, encoding::wfi, "wfi in U-mode with TW = 1");
    clear<csr::mstatus>(ms::tw::mask);
}

}  // namespace

void testfw::firmware_main() {
    const u64 h = hartid();
    set_m_handler(on_interrupt);
    set_mtimecmp(h, never);

    section("wfi with mstatus.MIE = 0 (priv. 3.3.3)");
    g_irq = {};
    clear<csr::mstatus>(ms::mie::mask);
    write<csr::mie>(ip::mtip::mask);
    const u64 cmp = mtime() + ms_ticks();
    set_mtimecmp(h, cmp);
    const u64 traps = self().m_traps;
    wfi();
    const bool waited = mtime() >= cmp;
    const deadline until = deadline::in_ms(1000);
    while ((read<csr::mip>() & ip::mtip::mask) == 0 && !until.passed()) wfi();
    check((read<csr::mip>() & ip::mtip::mask) != 0 && self().m_traps == traps && g_irq.count == 0,
          "wfi resumed with mip.MTIP = %u and no trap taken: %b", (read<csr::mip>() & ip::mtip::mask) != 0,
          self().m_traps == traps);
    check(true, "the first wfi returned once mtime reached mtimecmp: %b", waited);

    // Setting MIE takes the pending interrupt before the next instruction.
    u64 next_pc;
    asm volatile(
        "la %0, 1f\n"
        "csrsi mstatus, 8\n"
        "1: nop\n"
        "csrci mstatus, 8\n"
        : "=&r"(next_pc)
        :
        : "memory");
    check(g_irq.count == 1 && g_irq.cause == timer_cause, "setting mstatus.MIE took it: %u time(s), mcause %x",
          g_irq.count, g_irq.cause);
    check(g_irq.epc == next_pc, "mepc is the instruction after the csrsi: %b", g_irq.epc == next_pc);

    section("wfi with an interrupt already pending and enabled");
    g_irq = {};
    write<csr::mie>(ip::msip::mask);
    send_ipi(h);
    wfi();
    check((read<csr::mip>() & ip::msip::mask) != 0 && g_irq.count == 0, "wfi returned with mip.MSIP = %u, not taken",
          (read<csr::mip>() & ip::msip::mask) != 0);
    clear_ipi(h);

    section("a pending interrupt that mie does not enable does not end wfi");
    g_irq = {};
    set<csr::mip>(ip::ssip::mask);
    write<csr::mie>(ip::mtip::mask);
    const u64 cmp2 = mtime() + ms_ticks();
    set_mtimecmp(h, cmp2);
    wfi();
    const bool waited2 = mtime() >= cmp2;
    while ((read<csr::mip>() & ip::mtip::mask) == 0) wfi();
    check(true, "wfi with mip.SSIP pending but not enabled waited for the timer: %b", waited2);
    clear<csr::mip>(ip::ssip::mask);
    set_mtimecmp(h, never);
    write<csr::mie>(0);

    pmp::reset();
    pmp::open_all(0);
    if (!has_s_mode()) {
        section("wfi in S-mode");
        absent_here("S-mode");
        without_s_mode();
        set_m_handler(nullptr);
        pmp::reset();
        return;
    }
    section("wfi in S-mode, mstatus.TW = 0");
    g_irq = {};
    write<csr::mie>(ip::mtip::mask);
    set_mtimecmp(h, mtime() + ms_ticks());
    const u64 traps_before = self().m_traps;
    const u64 seen = run_in(privilege::supervisor, lower_wfi_until_interrupt);
    check(seen == 1 && g_irq.cause == timer_cause && g_irq.mpp == 1,
          "wfi in S-mode waited for the machine timer: taken %u time(s), MPP = %u", seen, g_irq.mpp);
    // Two traps: the interrupt and the exit ecall; no illegal instruction.
    check(self().m_traps - traps_before == 2, "no illegal instruction from wfi in S-mode: %b",
          self().m_traps - traps_before == 2);
    write<csr::mie>(0);
    set_mtimecmp(h, never);

    section("wfi in S-mode, mstatus.TW = 1");
    set<csr::mstatus>(ms::tw::mask);
    g_result = {};
    run_in(privilege::supervisor, lower_wfi);
    expect_illegal(g_result, encoding::wfi, "wfi in S-mode with TW = 1");
    clear<csr::mstatus>(ms::tw::mask);

    section("wfi in U-mode");
    g_result = {};
    run_in(privilege::user, lower_wfi);
    expect_illegal(g_result, encoding::wfi, "wfi in U-mode with TW = 0");
    set_m_handler(nullptr);
    pmp::reset();
}
