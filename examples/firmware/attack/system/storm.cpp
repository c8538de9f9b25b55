// SPDX-License-Identifier: MIT
// attack-storm: trap storms and nested traps (docs/attacks.md). The firmware
// makes the monitor work as hard as it can, and checks that every trap
// arrives as on bare hardware (priv. spec 3.1.6.1, 3.1.7, 3.1.9, 3.1.14-16,
// 3.3.2):
//
//   - 100,000 illegal instructions and 100,000 ecalls in M-mode (each taken at
//     the firmware's mtvec with mepc at the instruction);
//   - 300,000 CSR accesses in a tight loop (values checked);
//   - 20,000 ecalls from U-mode and 20,000 from S-mode (each a trap into
//     M-mode and an mret back: under a monitor, two world switches);
//   - 10,000 software interrupts to itself, enabled by toggling mstatus.MIE
//     (taken right after the csrsi), and 10,000 timer interrupts (mtimecmp in
//     the past);
//   - nested traps: a handler that, with MIE = 0, executes an ecall whose
//     handler executes an illegal instruction (three levels), each level
//     saving mepc, checking what the inner traps did to mepc/mcause/mstatus,
//     and returning with its saved mepc, 10,000 times;
//   - an interrupt pending during mret: a handler raises a software or timer
//     interrupt while MIE = 0, its mret sets MIE again (MPIE = 1) and the
//     interrupt is taken at once, at the instruction mret returned to; and
//     the same when mret returns to S-mode.
//
// The transcript holds counts and checks only, the same natively and under a
// monitor (test/attack compares them); then the monitor's memory is probed:
// the storms did not open it.
#include "common.hpp"

using namespace testfw;
using riscv::exception;
namespace ms = riscv::mstatus;
namespace ip = riscv::mip;

const char* const testfw::firmware_name = "attack-storm";
const char* const testfw::firmware_purpose = "trap storms, nested traps and interrupts pending at mret";

namespace {

constexpr u64 storm = 100'000;
constexpr u64 lower_storm = 20'000;
constexpr u64 interrupt_storm = 10'000;
constexpr u64 nested_rounds = 10'000;
constexpr u64 software_cause = (u64{1} << 63) | riscv::irq::m_software;
constexpr u64 timer_cause = (u64{1} << 63) | riscv::irq::m_timer;
constexpr u64 storm_ecall = 0x5707;  // a7 of the lower modes' storm ecalls

/// What the handler saw.
struct tally {
    volatile u64 illegal;
    volatile u64 ecall_m;
    volatile u64 ecall_lower;
    volatile u64 software;
    volatile u64 timer;
    volatile u64 bad;        ///< traps with an unexpected cause, mepc or mtval
    volatile u64 first_bad_cause;
    volatile u64 first_bad_epc;
    volatile u64 last_interrupt_epc;
};
tally g;

void bad(const trap_frame& f) {
    if (g.bad == 0) {
        g.first_bad_cause = f.cause;
        g.first_bad_epc = f.epc;
    }
    g.bad = g.bad + 1;
}

/// The storms' handler: counts and resumes.
bool storm_handler(trap_frame& f) {
    if (f.is_interrupt()) {
        g.last_interrupt_epc = f.epc;
        if (f.cause == software_cause) {
            clear_ipi(hartid());
            g.software = g.software + 1;
        } else if (f.cause == timer_cause) {
            set_mtimecmp(hartid(), ~u64{0});
            g.timer = g.timer + 1;
        } else {
            bad(f);
            write<csr::mie>(0);
        }
        return true;
    }
    switch (static_cast<exception>(f.code())) {
        case exception::illegal_instruction:
            if (f.mpp() != 3 || (f.tval != 0 && f.tval != 0x0000'000b)) bad(f);
            g.illegal = g.illegal + 1;
            f.epc += 4;
            return true;
        case exception::ecall_from_m:
            if (f.mpp() != 3 || f.tval != 0) bad(f);
            g.ecall_m = g.ecall_m + 1;
            f.epc += 4;
            return true;
        case exception::ecall_from_u:
        case exception::ecall_from_s:
            if (f.x[17] != storm_ecall) return false;  // the exit ecall of run_in (or of S for U)
            g.ecall_lower = g.ecall_lower + 1;
            f.x[10] = f.x[10] + 1;
            f.epc += 4;
            return true;
        default: return false;
    }
}

u64 illegal_storm(u64 n) {
    u64 left = n;
    asm volatile("1: .4byte 0x0000000b\n addi %0, %0, -1\n bnez %0, 1b" : "+r"(left) : : "memory");
    return n - left;
}

u64 ecall_storm(u64 n) {
    u64 left = n;
    asm volatile("1: ecall\n addi %0, %0, -1\n bnez %0, 1b" : "+r"(left) : : "memory");
    return n - left;
}

/// In S- or U-mode: ecalls the M-mode handler answers with a0 + 1.
u64 lower_ecalls(u64 n) {
    u64 value = 0;
    for (u64 i = 0; i < n; ++i) value = ecall(storm_ecall, value);
    return value;
}

/// mscratch, mepc, sscratch written and read back; mstatus and mie read.
u64 csr_storm(u64 n) {
    u64 sum = 0;
    for (u64 i = 0; i < n; ++i) {
        write<csr::mscratch>(i);
        sum += read<csr::mscratch>();
        write<csr::mepc>(i << 2);
        sum += read<csr::mepc>() >> 2;
        write<csr::sscratch>(i ^ 0x55);
        sum += read<csr::sscratch>() ^ 0x55;
        sum += read<csr::mstatus>() & ms::mie::mask;
        sum += read<csr::mie>() & 0;
    }
    write<csr::mscratch>(0);  // the trap entry relies on it (0 in M-mode)
    return sum;
}

// ---- nested traps -------------------------------------------------------------------------

struct nested_record {
    volatile u64 depth;
    volatile u64 max_depth;
    volatile u64 outer, middle, inner;
    volatile u64 wrong;  ///< a check inside the handlers failed
    volatile u64 first_wrong;
};
nested_record g_nest;

void nest_wrong(u64 what) {
    if (g_nest.wrong == 0) g_nest.first_wrong = what;
    g_nest.wrong = g_nest.wrong + 1;
}

/// mstatus after the mret of a trap taken with MIE = 0 (priv. 3.1.6.1):
/// MIE = MPIE = 0, MPIE = 1, MPP = the least privileged mode (U).
bool returned_from_nested(u64 status) {
    return ms::mie::extract(status) == 0 && ms::mpie::extract(status) == 1 && ms::mpp::extract(status) == 0;
}

bool nested_handler(trap_frame& f) {
    if (f.is_interrupt()) return false;
    g_nest.depth = g_nest.depth + 1;
    if (g_nest.depth > g_nest.max_depth) g_nest.max_depth = g_nest.depth;
    const u64 saved_epc = read<csr::mepc>();
    const u64 saved_cause = read<csr::mcause>();
    if (saved_epc != f.epc || saved_cause != f.cause) nest_wrong(1);
    const u64 status = read<csr::mstatus>();
    // Inside a trap handler: MIE = 0, MPP = M (every level here traps from M).
    if (ms::mie::extract(status) != 0 || ms::mpp::extract(status) != 3) nest_wrong(2);
    u64 site = 0;
    switch (static_cast<exception>(f.code())) {
        case exception::illegal_instruction:
            if (g_nest.depth == 1) {
                g_nest.outer = g_nest.outer + 1;
                // MPIE = the MIE the outer code had (1).
                if (ms::mpie::extract(status) != 1) nest_wrong(3);
                // Level 2: an ecall with MIE = 0.
                asm volatile("la %0, 1f\n1: ecall" : "=&r"(site) : : "memory");
                // The ecall's trap changed mepc and mcause: mepc holds where
                // its handler resumed (after the ecall), mcause the last
                // trap's (that handler's own illegal instruction).
                if (read<csr::mepc>() != site + 4 ||
                    read<csr::mcause>() != static_cast<u64>(exception::illegal_instruction))
                    nest_wrong(4);
                // Its mret: MIE = its MPIE (0), MPIE = 1, MPP = U (priv. 3.1.6.1).
                if (!returned_from_nested(read<csr::mstatus>())) nest_wrong(5);
                write<csr::mepc>(saved_epc);
            } else {
                g_nest.inner = g_nest.inner + 1;
                if (ms::mpie::extract(status) != 0) nest_wrong(6);
            }
            f.epc += 4;
            break;
        case exception::ecall_from_m:
            g_nest.middle = g_nest.middle + 1;
            if (ms::mpie::extract(status) != 0) nest_wrong(7);
            // Level 3: an illegal instruction.
            asm volatile("la %0, 1f\n1: .4byte 0x0000000b" : "=&r"(site) : : "memory");
            if (read<csr::mepc>() != site + 4 ||
                read<csr::mcause>() != static_cast<u64>(exception::illegal_instruction))
                nest_wrong(8);
            if (!returned_from_nested(read<csr::mstatus>())) nest_wrong(9);
            write<csr::mepc>(saved_epc);
            f.epc += 4;
            break;
        default:
            g_nest.depth = g_nest.depth - 1;
            return false;
    }
    g_nest.depth = g_nest.depth - 1;
    return true;
}

// ---- interrupts pending at mret -------------------------------------------------------------

struct mret_record {
    volatile u64 traps;
    volatile u64 interrupts;
    volatile u64 at_return;  ///< interrupts taken at the instruction mret returned to
    volatile u64 raise;      ///< 1: software interrupt, 2: timer
    volatile u64 return_to;
    volatile u64 mpp_seen;
};
mret_record g_mret;

bool mret_handler(trap_frame& f) {
    if (f.is_interrupt()) {
        g_mret.interrupts = g_mret.interrupts + 1;
        g_mret.mpp_seen = f.mpp();
        if (f.epc == g_mret.return_to) g_mret.at_return = g_mret.at_return + 1;
        if (f.cause == software_cause) clear_ipi(hartid());
        if (f.cause == timer_cause) set_mtimecmp(hartid(), ~u64{0});
        return true;
    }
    const u64 code = f.code();
    const bool lower = code == static_cast<u64>(exception::ecall_from_s) && f.x[17] == storm_ecall;
    if (code != static_cast<u64>(exception::illegal_instruction) && !lower) return false;
    g_mret.traps = g_mret.traps + 1;
    // Raise the interrupt now, with MIE = 0: it stays pending until mret.
    if (g_mret.raise == 1) send_ipi(hartid());
    if (g_mret.raise == 2) set_mtimecmp(hartid(), 0);
    f.epc += 4;
    g_mret.return_to = f.epc;
    return true;
}

/// In S-mode: one ecall after which an M-mode interrupt is pending.
u64 s_ecall_once(u64) { return ecall(storm_ecall); }

void interrupt_at_mret(const char* what, u64 raise, u64 mie_bit, u64 rounds) {
    g_mret = {};
    g_mret.raise = raise;
    set_m_handler(mret_handler);
    write<csr::mie>(mie_bit);
    set<csr::mstatus>(ms::mie::mask);
    for (u64 i = 0; i < rounds; ++i) asm volatile(".4byte 0x0000000b" ::: "memory");
    clear<csr::mstatus>(ms::mie::mask);
    check(g_mret.traps == rounds && g_mret.interrupts == rounds && g_mret.at_return == rounds,
          "%s raised in a handler with MIE = 0, %u times: taken right after mret %u times, at the instruction "
          "mret returned to %u times",
          what, rounds, g_mret.interrupts, g_mret.at_return);
    // Returning to S-mode: M-level interrupts are enabled there whatever MIE is.
    g_mret = {};
    g_mret.raise = raise;
    clear<csr::mstatus>(ms::mie::mask);
    for (u64 i = 0; i < 100; ++i) (void)atk::run_lower(privilege::supervisor, s_ecall_once);
    check(g_mret.traps == 100 && g_mret.interrupts == 100 && g_mret.at_return == 100 && g_mret.mpp_seen == 1,
          "%s raised in the handler of an S-mode ecall, 100 times: taken in S-mode (MPP %u) %u times, after the "
          "ecall %u times",
          what, g_mret.mpp_seen, g_mret.interrupts, g_mret.at_return);
    write<csr::mie>(0);
    set_m_handler(nullptr);
}

}  // namespace

void testfw::firmware_main() {
    const testfw::attack::targets targets = testfw::attack::find_targets();
    pmp::reset();
    pmp::open_all(0);
    write<csr::medeleg>(0);
    write<csr::mideleg>(0);
    write<csr::mie>(0);
    set_mtimecmp(0, ~u64{0});
    atk::hand_over_once();

    section("storms in M-mode");
    set_m_handler(storm_handler);
    g = {};
    u64 done = illegal_storm(storm);
    check(done == storm && g.illegal == storm && g.bad == 0,
          "%u illegal instructions: %u taken at mtvec, %u with a wrong mepc, MPP or mtval", storm, g.illegal, g.bad);
    g = {};
    done = ecall_storm(storm);
    check(done == storm && g.ecall_m == storm && g.bad == 0, "%u ecalls: %u taken (cause 11), %u wrong", storm,
          g.ecall_m, g.bad);
    const u64 n = storm;
    const u64 sum = csr_storm(n);
    const u64 expected = 3 * (n * (n - 1) / 2);
    check(sum == expected, "%u rounds of mscratch, mepc, sscratch writes and reads, mstatus and mie reads: sum %u",
          n, sum);

    section("storms from the lower modes");
    // Natively (nothing delegated) U-mode's ecalls reach M-mode; under the
    // sandbox policy they are the OS's own exceptions and go to S-mode: the
    // same handler answers both.
    set_s_handler(storm_handler);
    g = {};
    u64 value = atk::run_lower(privilege::user, lower_ecalls, lower_storm);
    check(value == lower_storm && g.ecall_lower == lower_storm, "%u ecalls from U-mode: %u answered, a0 = %u",
          lower_storm, g.ecall_lower, value);
    g = {};
    value = atk::run_lower(privilege::supervisor, lower_ecalls, lower_storm);
    check(value == lower_storm && g.ecall_lower == lower_storm, "%u ecalls from S-mode: %u answered, a0 = %u",
          lower_storm, g.ecall_lower, value);
    set_s_handler(nullptr);

    section("interrupt storms");
    g = {};
    write<csr::mie>(ip::msip::mask);
    u64 at_csrsi = 0;
    for (u64 i = 0; i < interrupt_storm; ++i) {
        send_ipi(0);
        u64 site;
        asm volatile("la %0, 1f\n csrsi mstatus, 8\n1: csrci mstatus, 8" : "=&r"(site) : : "memory");
        if (g.last_interrupt_epc == site) ++at_csrsi;
    }
    check(g.software == interrupt_storm && at_csrsi == interrupt_storm && g.bad == 0,
          "%u software interrupts to itself, MIE toggled: %u taken, %u right after the csrsi", interrupt_storm,
          g.software, at_csrsi);
    g = {};
    write<csr::mie>(ip::mtip::mask);
    at_csrsi = 0;
    for (u64 i = 0; i < interrupt_storm; ++i) {
        set_mtimecmp(0, 0);
        u64 site;
        asm volatile("la %0, 1f\n csrsi mstatus, 8\n1: csrci mstatus, 8" : "=&r"(site) : : "memory");
        if (g.last_interrupt_epc == site) ++at_csrsi;
    }
    check(g.timer == interrupt_storm && at_csrsi == interrupt_storm && g.bad == 0,
          "%u timer interrupts (mtimecmp 0), MIE toggled: %u taken, %u right after the csrsi", interrupt_storm,
          g.timer, at_csrsi);
    // Pending while masked: msip set with MIE = 0, then mie.MSIE toggled.
    g = {};
    write<csr::mie>(0);
    set<csr::mstatus>(ms::mie::mask);
    for (u64 i = 0; i < interrupt_storm; ++i) {
        send_ipi(0);
        write<csr::mie>(ip::msip::mask);
        write<csr::mie>(0);
    }
    clear<csr::mstatus>(ms::mie::mask);
    check(g.software == interrupt_storm && g.bad == 0,
          "%u software interrupts pending while mie.MSIE = 0, then enabled: %u taken", interrupt_storm, g.software);
    set_m_handler(nullptr);

    section("nested traps");
    g_nest = {};
    set_m_handler(nested_handler);
    set<csr::mstatus>(ms::mie::mask);
    for (u64 i = 0; i < nested_rounds; ++i) asm volatile(".4byte 0x0000000b" ::: "memory");
    clear<csr::mstatus>(ms::mie::mask);
    set_m_handler(nullptr);
    check(g_nest.outer == nested_rounds && g_nest.middle == nested_rounds && g_nest.inner == nested_rounds &&
              g_nest.max_depth == 3 && g_nest.depth == 0,
          "%u illegal instructions whose handler takes an ecall whose handler takes an illegal instruction: "
          "%u, %u, %u traps, depth %u",
          nested_rounds, g_nest.outer, g_nest.middle, g_nest.inner, g_nest.max_depth);
    check(g_nest.wrong == 0, "mepc, mcause and mstatus (MIE, MPIE, MPP) at each level as the spec says: %u wrong "
          "(first: check %u)", g_nest.wrong, g_nest.first_wrong);

    section("interrupts pending at mret");
    interrupt_at_mret("a software interrupt", 1, ip::msip::mask, interrupt_storm);
    interrupt_at_mret("a timer interrupt", 2, ip::mtip::mask, interrupt_storm);
    set_mtimecmp(0, ~u64{0});

    section("afterwards");
    u64 arithmetic = 0;
    for (u64 i = 0; i < 1000; ++i) arithmetic += i;
    check(arithmetic == 499500, "the firmware still runs: %u", arithmetic);
    const testfw::attack::region m = targets.monitor;
    const u64 addresses[] = {m.base, m.base + m.size / 2, m.end() - 8, m.end() - 4};
    const privilege modes[] = {privilege::machine, privilege::supervisor, privilege::user};
    for (const privilege mode : modes) {
        char what[96];
        format(what, sizeof what, "%s-mode loads and stores into the monitor's memory after the storms",
               mode == privilege::machine ? "M" : mode == privilege::supervisor ? "S" : "U");
        atk::group g(what);
        for (const u64 a : addresses) {
            g.add(atk::lower_attempt(mode, atk::lower_kind::load, a));
            g.add(atk::lower_attempt(mode, atk::lower_kind::store, a));
        }
        (void)g.finish();
    }
}
