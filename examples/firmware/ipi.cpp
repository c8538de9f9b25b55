// SPDX-License-Identifier: MIT
// ipi: machine software interrupts through the CLINT's msip registers
// (priv. spec 3.1.9; SiFive CLINT / ACLINT MSWI). msip[h] = 1 makes
// mip.MSIP pending on hart h and 0 clears it; to itself and to every other
// hart, which then interrupts the boot hart back. A hart asleep in wfi with
// mstatus.MIE = 0 wakes up; with MIE = 1 it takes the interrupt (mcause
// 0x8000000000000003). The boot hart also programs another hart's mtimecmp.
// Run with -smp 2 and -smp 4.
#include "testfw/testfw.hpp"

using namespace testfw;
namespace ip = riscv::mip;
namespace ms = riscv::mstatus;

const char* const testfw::firmware_name = "ipi";
const char* const testfw::firmware_purpose = "software interrupts through msip, to self and to other harts";

namespace {

constexpr u64 software_cause = (u64{1} << 63) | riscv::irq::m_software;
constexpr u64 timer_cause = (u64{1} << 63) | riscv::irq::m_timer;
constexpr u64 never = ~u64{0};

/// Per-hart interrupt bookkeeping (indexed by hart id).
struct irq_record {
    volatile u64 software;
    volatile u64 timer;
    volatile u64 armed;
    u64 last_cause;
};
irq_record g_irq[TESTFW_MAX_HARTS];

bool on_interrupt(trap_frame& f) {
    if (!f.is_interrupt()) return false;
    const u64 h = hartid();
    g_irq[h].last_cause = f.cause;
    if (f.cause == software_cause) {
        clear_ipi(h);
        g_irq[h].software = g_irq[h].software + 1;
        return true;
    }
    if (f.cause == timer_cause) {
        set_mtimecmp(h, never);
        g_irq[h].timer = g_irq[h].timer + 1;
        return true;
    }
    return false;
}

bool wait_until(volatile u64& counter, u64 value, u64 ms = 1000) {
    const deadline until = deadline::in_ms(ms);
    while (counter < value) {
        if (until.passed()) return false;
    }
    return true;
}

/// On a secondary hart: interrupt the boot hart.
u64 ping_boot_hart(u64) {
    send_ipi(boot_hart());
    return 1;
}

/// On a secondary hart: sleep in wfi with MIE = 0 until msip arrives;
/// returns mip as seen after waking (then clears msip).
u64 sleep_until_ipi(u64) {
    const u64 h = hartid();
    write<csr::mie>(ip::msip::mask);
    fence();
    g_irq[h].armed = 1;
    const deadline until = deadline::in_ms(1000);
    while ((read<csr::mip>() & ip::msip::mask) == 0 && !until.passed()) wfi();
    const u64 seen = read<csr::mip>();
    clear_ipi(h);
    const u64 after = read<csr::mip>();
    return (seen & ip::msip::mask ? 1 : 0) | (after & ip::msip::mask ? 0 : 2);
}

/// On a secondary hart: take software interrupts with MIE = 1.
u64 take_ipi(u64) {
    const u64 h = hartid();
    set_m_handler(on_interrupt);
    g_irq[h].software = 0;
    write<csr::mie>(ip::msip::mask);
    set<csr::mstatus>(ms::mie::mask);
    fence();
    g_irq[h].armed = 1;
    const bool taken = wait_until(g_irq[h].software, 1);
    clear<csr::mstatus>(ms::mie::mask);
    return taken ? g_irq[h].last_cause : 0;
}

/// On a secondary hart: take a timer interrupt that the boot hart programs.
u64 take_timer(u64) {
    const u64 h = hartid();
    set_m_handler(on_interrupt);
    g_irq[h].timer = 0;
    set_mtimecmp(h, never);
    write<csr::mie>(ip::mtip::mask | ip::msip::mask);
    set<csr::mstatus>(ms::mie::mask);
    fence();
    g_irq[h].armed = 1;
    const bool taken = wait_until(g_irq[h].timer, 1);
    clear<csr::mstatus>(ms::mie::mask);
    write<csr::mie>(ip::msip::mask);
    return taken ? g_irq[h].last_cause : 0;
}

bool wait_armed(u64 h) {
    return wait_until(g_irq[h].armed, 1);
}

}  // namespace

void testfw::firmware_main() {
    const unsigned harts = hart_count();
    const unsigned online = wait_for_secondaries();
    note("harts: %u", harts);
    check(online == harts - 1, "secondary harts registered: %u", online);
    set_m_handler(on_interrupt);
    const u64 me = boot_hart();

    println("== software interrupt to self (hart %u)", me);
    write<csr::mie>(0);
    send_ipi(me);
    check(read_msip(me) == 1 && (read<csr::mip>() & ip::msip::mask) != 0, "msip[%u] = 1: reads %u, mip.MSIP = %u",
          me, read_msip(me), (read<csr::mip>() & ip::msip::mask) != 0);
    clear_ipi(me);
    check(read_msip(me) == 0 && (read<csr::mip>() & ip::msip::mask) == 0, "msip[%u] = 0: reads %u, mip.MSIP = %u",
          me, read_msip(me), (read<csr::mip>() & ip::msip::mask) != 0);
    g_irq[me] = {};
    write<csr::mie>(ip::msip::mask);
    set<csr::mstatus>(ms::mie::mask);
    send_ipi(me);
    const bool self_taken = wait_until(g_irq[me].software, 1);
    check(self_taken && g_irq[me].last_cause == software_cause && read_msip(me) == 0,
          "with MSIE and MIE: taken, mcause %x, the handler cleared msip[%u]", g_irq[me].last_cause, me);

    for (u64 h = 0; h < harts && h < TESTFW_MAX_HARTS; ++h) {
        if (h == me) continue;
        println("== hart %u", h);
        u64 result = 0;
        // h interrupts the boot hart (MIE = 1 here).
        const u64 before = g_irq[me].software;
        const bool pinged = run_on(h, ping_boot_hart, 0, result);
        const bool back = wait_until(g_irq[me].software, before + 1);
        check(pinged && back && g_irq[me].software == before + 1, "hart %u -> hart %u: taken on hart %u, mcause %x",
              h, me, me, g_irq[me].last_cause);

        // The boot hart wakes h from wfi with MIE = 0 on h.
        g_irq[h] = {};
        post_work(h, sleep_until_ipi, 0);
        bool ok = wait_armed(h);
        delay_ticks(100);
        send_ipi(h);
        ok = ok && wait_work(h, result);
        check(ok && result == 3, "hart %u -> hart %u in wfi with MIE = 0: woke with mip.MSIP = %u, cleared: %b", me,
              h, (result & 1) != 0, (result & 2) != 0);

        // The boot hart interrupts h with MIE = 1 on h.
        g_irq[h] = {};
        post_work(h, take_ipi, 0);
        ok = wait_armed(h);
        send_ipi(h);
        ok = ok && wait_work(h, result);
        check(ok && result == software_cause && read_msip(h) == 0,
              "hart %u -> hart %u with MIE = 1: taken, mcause %x, msip[%u] cleared", me, h, result, h);

        // The boot hart programs h's mtimecmp.
        g_irq[h] = {};
        post_work(h, take_timer, 0);
        ok = wait_armed(h);
        set_mtimecmp(h, mtime() + platform::ms_ticks());
        ok = ok && wait_work(h, result);
        check(ok && result == timer_cause, "hart %u sets mtimecmp of hart %u: timer interrupt there, mcause %x", me,
              h, result);
    }
    clear<csr::mstatus>(ms::mie::mask);
    write<csr::mie>(0);
    set_m_handler(nullptr);
}
