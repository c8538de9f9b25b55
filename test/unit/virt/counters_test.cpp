// SPDX-License-Identifier: MIT
// The firmware's mcycle and minstret (virt::virtual_counters): the monitor's
// own work between two firmware instructions is not counted (priv. spec
// 3.1.10: minstret counts the instructions the hart retired; a CSR write takes
// effect after the writing instruction completes, so `csrw minstret, v` then N
// instructions reads v + N). The simulated monitor spends `monitor_work`
// cycles and instructions on each trap; the expected values count only the
// firmware's instructions, which the test lets pass with hw.tick.
#include "virt_support.hpp"

using namespace vt;

namespace {

constexpr u64 work = 1000;  // per trap, in the monitor

/// A booted hart whose monitor spends `work` on each trap.
struct counting_hart {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    counting_hart() {
        c.boot_with_vector();
        c.monitor_work = work;
    }
    /// The firmware runs n instructions that do not trap.
    void run(u64 n) { c.hw.tick(n, n); }
};

}  // namespace

TEST_CASE("csrw minstret, v then N instructions: the firmware reads v + N", "[virt][counters]") {
    counting_hart t;
    cpu& c = t.c;
    CHECK_FALSE(c.hw.counts_firmware_traps());  // no accounting before the firmware touches a counter
    c.csrw(csr::minstret, 0);
    CHECK(c.hw.counts_firmware_traps());
    CHECK(c.csrr(csr::minstret) == 0);  // the next instruction reads the value written (3.1.10)
    // That read retired: one instruction since the write.
    t.run(100);
    CHECK(c.csrr(csr::minstret) == 1 + 100);
    CHECK(c.csrr(csr::instret) == 1 + 100 + 1);  // the user alias, read in vM-mode

    SECTION("emulated instructions count one each, as natively") {
        const u64 before = c.csrr(csr::minstret);
        for (int i = 0; i < 10; ++i) (void)c.csrr(csr::mscratch);
        CHECK(c.csrr(csr::minstret) == before + 1 + 10);
    }
    SECTION("an instruction that raises an exception in the firmware does not retire") {
        const u64 before = c.csrr(csr::minstret);
        const u64 pc = c.pc();
        c.hw.place_instruction(pc, enc::ecall);
        c.trap(riscv::exception::ecall_from_u, 0);
        REQUIRE(c.pc() == firmware_vector);
        CHECK(c.csrr(csr::minstret) == before + 1);  // only the read before the ecall
    }
    SECTION("the OS reads the hardware counter: the monitor's work is in it") {
        const u64 firmware_view = c.csrr(csr::minstret);
        CHECK(c.hw.peek_csr(csr::minstret).value_or(0) >= firmware_view + work);
    }
}

TEST_CASE("mcycle: written, then the monitor's work is hidden", "[virt][counters]") {
    counting_hart t;
    cpu& c = t.c;
    c.csrw(csr::mcycle, 5000);
    CHECK(c.csrr(csr::mcycle) == 5000);
    t.run(40);
    CHECK(c.csrr(csr::cycle) == 5000 + 1 + 40);
}

TEST_CASE("csrrw minstret returns the old value and writes the new one", "[virt][counters]") {
    counting_hart t;
    cpu& c = t.c;
    c.csrw(csr::minstret, 77);
    t.run(3);
    c.h.x[6] = 1000;
    const step s = c.exec(enc::csrrw(7, csr::minstret, 6));
    REQUIRE(s.advanced);
    CHECK(c.h.x[7] == 77 + 3);
    CHECK(c.csrr(csr::minstret) == 1000);
}

TEST_CASE("an inhibited counter stands still under the monitor too (3.1.12)", "[virt][counters]") {
    counting_hart t;
    cpu& c = t.c;
    c.csrw(csr::minstret, 10);
    c.csrw(csr::mcountinhibit, 0x4);  // IR: the hardware counter stops (the simulated hart's does)
    const u64 stopped = c.csrr(csr::minstret);
    t.run(50);
    (void)c.csrr(csr::mscratch);
    CHECK(c.csrr(csr::minstret) == stopped);
    c.csrw(csr::mcountinhibit, 0);
    t.run(7);
    // The csrw that cleared IR retired while IR was set: it does not count (3.1.10).
    CHECK(c.csrr(csr::minstret) == stopped + 7);
}
