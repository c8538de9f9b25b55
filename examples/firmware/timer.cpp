// SPDX-License-Identifier: MIT
// timer: the machine timer (priv. spec 3.2.1, 3.1.9). mip.MTIP is pending
// while mtime >= mtimecmp; with mie.MTIE and mstatus.MIE set the interrupt
// is taken with mcause 0x8000000000000007, not before mtime reaches
// mtimecmp. Writing a later mtimecmp clears MTIP. The interrupt is taken
// from S-mode regardless of mstatus.MIE, and mtimecmp can be written as
// two 32-bit halves.
#include "testfw/testfw.hpp"

using namespace testfw;
namespace ip = riscv::mip;
namespace ms = riscv::mstatus;

const char* const testfw::firmware_name = "timer";
const char* const testfw::firmware_purpose = "machine timer interrupts through mtimecmp";

namespace {

constexpr u64 never = ~u64{0};
constexpr u64 timer_cause = (u64{1} << 63) | riscv::irq::m_timer;
using platform::ms_ticks;

struct timer_record {
    volatile u64 count;
    u64 cause;
    u64 mpp;
    u64 mpie;
    u64 early;       ///< interrupts taken while mtime < mtimecmp
    u64 rearm;       ///< how many more to take, each 1 ms after the last
};
timer_record g_timer;

bool on_timer(trap_frame& f) {
    if (f.cause != timer_cause) return false;
    const u64 now = mtime();
    const u64 cmp = get_mtimecmp(hartid());
    if (now < cmp) ++g_timer.early;
    g_timer.count = g_timer.count + 1;
    g_timer.cause = f.cause;
    g_timer.mpp = f.mpp();
    g_timer.mpie = ms::mpie::extract(f.status);
    if (g_timer.rearm > 0) {
        --g_timer.rearm;
        set_mtimecmp(hartid(), cmp + ms_ticks());
    } else {
        set_mtimecmp(hartid(), never);
    }
    return true;
}

/// Waits until `count` interrupts were taken: in wfi (wfi_until: an
/// interrupt between the check and the wfi, whose handler disarms the timer,
/// must not leave the hart asleep), or spinning for at most 1 s.
void wait_for(u64 count, bool use_wfi) {
    if (use_wfi) {
        (void)wfi_until(g_timer.count, count, lower_spin_limit);
        return;
    }
    const deadline until = deadline::in_ms(1000);
    while (g_timer.count < count && !until.passed()) {
    }
}

/// S-mode code waits by counting, not by reading mtime.
u64 lower_wait(u64 count) {
    for (u64 i = 0; i < lower_spin_limit && g_timer.count < count; ++i) {
        barrier();
    }
    return g_timer.count;
}

}  // namespace

void testfw::firmware_main() {
    const u64 h = hartid();
    section("reset state (priv. 3.2.1)");
    const u64 cmp0 = get_mtimecmp(h);
    const bool pending0 = (read<csr::mip>() & ip::mtip::mask) != 0;
    note("mtimecmp at entry: %x, mip.MTIP: %u", cmp0, pending0);
    check(pending0 == (mtime() >= cmp0), "mip.MTIP at entry is mtime >= mtimecmp: %b", pending0 == (mtime() >= cmp0));
    const u64 t0 = mtime();
    delay_ticks(10);
    const u64 t1 = mtime();
    check(t1 > t0, "mtime advances: %b", t1 > t0);

    section("MTIP follows mtimecmp");
    set_mtimecmp(h, never);
    check((read<csr::mip>() & ip::mtip::mask) == 0, "mtimecmp = all ones: mip.MTIP = %u",
          (read<csr::mip>() & ip::mtip::mask) != 0);
    set_mtimecmp(h, 0);
    check((read<csr::mip>() & ip::mtip::mask) != 0, "mtimecmp = 0: mip.MTIP = %u",
          (read<csr::mip>() & ip::mtip::mask) != 0);
    set_mtimecmp(h, never);
    const u64 cmp_readback = get_mtimecmp(h);
    check(cmp_readback == never, "mtimecmp reads back what was written: %b", cmp_readback == never);

    section("32-bit halves of mtimecmp");
    mmio::write<u32>(platform::mtimecmp(h), 0x89ab'cdef);
    mmio::write<u32>(platform::mtimecmp(h) + 4, 0x7654'3210);
    const u64 halves = get_mtimecmp(h);
    const u32 low = mmio::read<u32>(platform::mtimecmp(h));
    const u32 high = mmio::read<u32>(platform::mtimecmp(h) + 4);
    check(halves == 0x7654'3210'89ab'cdef && low == 0x89ab'cdef && high == 0x7654'3210,
          "mtimecmp written as two halves reads %x (halves %h, %h)", halves, low, high);
    set_mtimecmp(h, never);

    set_m_handler(on_timer);
    section("interrupt with wfi");
    g_timer = {};
    set_mtimecmp(h, mtime() + ms_ticks());
    set<csr::mie>(ip::mtip::mask);
    set<csr::mstatus>(ms::mie::mask);
    wait_for(1, true);
    clear<csr::mstatus>(ms::mie::mask);
    check(g_timer.count == 1 && g_timer.cause == timer_cause, "taken %u time(s), mcause %x", g_timer.count,
          g_timer.cause);
    check(g_timer.early == 0, "not before mtime reached mtimecmp: %b", g_timer.early == 0);
    check(g_timer.mpp == 3 && g_timer.mpie == 1, "from M-mode with MIE set: MPP = %u, MPIE = %u", g_timer.mpp,
          g_timer.mpie);
    check((read<csr::mip>() & ip::mtip::mask) == 0, "the handler's mtimecmp write cleared mip.MTIP: %b",
          (read<csr::mip>() & ip::mtip::mask) == 0);

    section("rearmed from the handler, spinning");
    g_timer = {};
    g_timer.rearm = 2;
    set_mtimecmp(h, mtime() + ms_ticks());
    set<csr::mstatus>(ms::mie::mask);
    wait_for(3, false);
    clear<csr::mstatus>(ms::mie::mask);
    check(g_timer.count == 3 && g_timer.early == 0, "three interrupts, 1 ms apart: %u, none early: %b",
          g_timer.count, g_timer.early == 0);

    section("mtimecmp in the past");
    g_timer = {};
    set<csr::mstatus>(ms::mie::mask);
    set_mtimecmp(h, 0);
    wait_for(1, false);
    clear<csr::mstatus>(ms::mie::mask);
    check(g_timer.count == 1, "taken at once: %u", g_timer.count);

    section("disabled in mie");
    g_timer = {};
    clear<csr::mie>(ip::mtip::mask);
    set_mtimecmp(h, 0);
    set<csr::mstatus>(ms::mie::mask);
    delay_ticks(ms_ticks());
    clear<csr::mstatus>(ms::mie::mask);
    check(g_timer.count == 0 && (read<csr::mip>() & ip::mtip::mask) != 0,
          "mie.MTIE = 0: not taken (%u), mip.MTIP = %u", g_timer.count, (read<csr::mip>() & ip::mtip::mask) != 0);
    set_mtimecmp(h, never);
    check((read<csr::mip>() & ip::mtip::mask) == 0, "mtimecmp = all ones again: mip.MTIP = %u",
          (read<csr::mip>() & ip::mtip::mask) != 0);

    // From U-mode on a hart without S-mode.
    const privilege mode = has_s_mode() ? privilege::supervisor : privilege::user;
    println("== taken from %s-mode with mstatus.MIE = 0 (priv. 3.1.6.1)", name(mode));
    pmp::reset();
    pmp::open_all(0);
    g_timer = {};
    set<csr::mie>(ip::mtip::mask);
    set_mtimecmp(h, mtime() + ms_ticks());
    const u64 seen = run_in(mode, lower_wait, 1);
    check(seen == 1 && g_timer.cause == timer_cause && g_timer.mpp == static_cast<u64>(mode) && g_timer.early == 0,
          "taken %u time(s) while in %s-mode, MPP = %u", seen, name(mode), g_timer.mpp);
    clear<csr::mie>(ip::mtip::mask);
    set_mtimecmp(h, never);
    set_m_handler(nullptr);
    pmp::reset();
}
