// SPDX-License-Identifier: MIT
// attack-mtvec: the firmware points its trap vector into the monitor's memory
// and takes a trap (docs/attacks.md). One scenario per image
// (ATTACK_MTVEC_SCENARIO), because under a monitor the run must end:
//
//   1 direct-ecall          mtvec = base (direct), ecall
//   2 direct-illegal        mtvec = the middle of the region, an illegal instruction
//   3 direct-timer          mtvec = the region's last word, a machine timer interrupt
//   4 vectored-ecall        mtvec = base | 1, ecall (exceptions go to base)
//   5 vectored-msi          mtvec = (base + 0x100) | 1, a software interrupt to
//                           itself (slot base + 0x100 + 4 * 3)
//   6 vectored-msi-edge     mtvec = (base - 8) | 1: the base is below RAM, the
//                           software interrupt's slot (base + 4) in the region
//   7 from-s-ecall          mtvec = base, an ecall from S-mode (the monitor's
//                           world switch into the firmware)
//
// Natively the hart runs whatever is at that address (priv. spec 3.1.7): the
// firmware first writes code there that re-enters the firmware at 0x80100000
// (nothing stops it; at base it is the jump stub, which does the same), and
// the re-entered firmware finds its marker in .data and reports it. Under a
// monitor the stores fault, and the trap must not run anything in the
// monitor's memory: the monitor stops the machine with one line
// ("vfm: panic: hart 0: the firmware faults at its own trap vector ...") and
// QEMU exit status 70 (test/attack/system/attack_check.py, --expect panic).
#include "common.hpp"

using namespace testfw;
namespace ms = riscv::mstatus;
namespace ip = riscv::mip;

#ifndef ATTACK_MTVEC_SCENARIO
#define ATTACK_MTVEC_SCENARIO 1
#endif

const char* const testfw::firmware_name = "attack-mtvec";
const char* const testfw::firmware_purpose = "the firmware's trap vector in the monitor's memory, then a trap";

namespace {

constexpr u64 marker_magic = 0x6d74'7665'632d'6174ull;
// In .data, not .bss: they must survive the re-entry, which clears .bss.
[[gnu::section(".data")]] volatile u64 g_marker = 0;
[[gnu::section(".data")]] volatile u64 g_target = 0;
[[gnu::section(".data")]] volatile u64 g_mtvec = 0;

const char* scenario_name() {
    switch (ATTACK_MTVEC_SCENARIO) {
        case 1: return "direct-ecall";
        case 2: return "direct-illegal";
        case 3: return "direct-timer";
        case 4: return "vectored-ecall";
        case 5: return "vectored-msi";
        case 6: return "vectored-msi-edge";
        case 7: return "from-s-ecall";
        default: return "?";
    }
}

u64 s_mode_ecall(u64) {
    asm volatile("li a0, 0\n li a7, 0x41\n ecall" ::: "a0", "a7", "memory");
    return 0;
}

/// Enables the interrupts in `mie_bits` and waits for one (bounded).
void take_interrupt(u64 mie_bits) {
    write<csr::mie>(mie_bits);
    asm volatile(
        "li a0, 0\n"
        "li t1, 100000000\n"
        "csrsi mstatus, 8\n"
        "1: addi t1, t1, -1\n"
        "bnez t1, 1b\n"
        "csrci mstatus, 8"
        :: : "a0", "t1", "memory");
}

}  // namespace

void testfw::firmware_main() {
    if (g_marker == marker_magic) {
        g_marker = 0;
        section("back at the firmware's entry");
        check(true, "[attack] mtvec %s: a trap with mtvec in the monitor's memory => real (the hart ran the code at "
              "%h, mtvec %h, and re-entered the firmware)", scenario_name(), g_target, g_mtvec);
        return;
    }
    const testfw::attack::targets targets = testfw::attack::find_targets();
    const testfw::attack::region region = targets.monitor;
    note("scenario %s", scenario_name());

    u64 mtvec = 0;
    u64 target = 0;
    switch (ATTACK_MTVEC_SCENARIO) {
        case 1: case 4: case 7: mtvec = region.base; target = region.base; break;
        case 2: mtvec = region.base + region.size / 2; target = mtvec; break;
        case 3: mtvec = region.end() - 4; target = mtvec; break;
        case 5: mtvec = region.base + 0x100; target = mtvec + 4 * riscv::irq::m_software; break;
        case 6: mtvec = region.base - 8; target = mtvec + 4 * riscv::irq::m_software; break;
        default: fail_now("no such scenario");
    }
    if (ATTACK_MTVEC_SCENARIO >= 4 && ATTACK_MTVEC_SCENARIO <= 6) mtvec |= 1;
    g_target = target;
    g_mtvec = mtvec;

    // Natively the landing code runs at the target; under a monitor these
    // stores fault.
    const unsigned planted = atk::plant_landing(target, region.end());
    impl_defined("landing code at %h: %u stores went through", target, planted);
    pmp::reset();
    pmp::open_all(0);
    if (ATTACK_MTVEC_SCENARIO == 7) atk::hand_over_once();
    g_marker = marker_magic;
    fence();
    section("the trap");
    impl_defined("mtvec <- %x, then the trap", mtvec);
    write<csr::mtvec>(mtvec);
    switch (ATTACK_MTVEC_SCENARIO) {
        case 1:
        case 4: asm volatile("li a0, 0\n ecall" ::: "a0", "memory"); break;
        case 2: asm volatile("li a0, 0\n .4byte 0x0000000b" ::: "a0", "memory"); break;
        case 3:
            set_mtimecmp(0, 0);
            take_interrupt(ip::mtip::mask);
            break;
        case 5:
        case 6:
            send_ipi(0);
            take_interrupt(ip::msip::mask);
            break;
        case 7: (void)atk::run_lower(privilege::supervisor, s_mode_ecall); break;
        default: break;
    }
    write<csr::mtvec>(direct_mtvec());
    g_marker = 0;
    fail_now("the trap came back to the firmware without running the code at mtvec");
}
