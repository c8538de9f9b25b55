// SPDX-License-Identifier: MIT
// Trap delivery into the virtual firmware, exactly as the hardware would take
// the trap in M-mode (priv. spec 3.1.6.1 MIE/MPIE/MPP, 3.1.7 mtvec, 3.1.9
// interrupt priority and enables, 3.1.14-3.1.16 mepc, mcause, mtval).
#include "virt_support.hpp"

using namespace vt;

namespace {

constexpr u64 mstatus_mie = 0x8;
constexpr u64 mstatus_mpie = 0x80;
constexpr u64 mstatus_mpp = 0x1800;
constexpr u64 msip0 = 0x200'0000;
constexpr u64 mtimecmp0 = 0x200'4000;

/// mcause of interrupt `code` (3.1.15: interrupt bit 63).
constexpr u64 irq(u64 code) { return 0x8000'0000'0000'0000 | code; }

}  // namespace

TEST_CASE("ecall from vM-mode is an environment call from M-mode (cause 11)", "[virt][trap]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrs(csr::mstatus, mstatus_mie);
    const u64 pc = c.pc();
    c.hw.place_instruction(pc, enc::ecall);
    c.trap(riscv::exception::ecall_from_u, 0);  // what the hart reports: ecall from U (8)
    c.expect_delivered(11, 0, pc);
    // 3.1.6.1: MPIE = old MIE (1), MIE = 0, MPP = M.
    CHECK((c.csrr(csr::mstatus) & (mstatus_mie | mstatus_mpie | mstatus_mpp)) == 0x1880);

    SECTION("a nested trap in the handler: MPIE = 0 now") {
        c.jump(firmware_vector + 0x40);
        c.trap(riscv::exception::ecall_from_u, 0);
        c.expect_delivered(11, 0, firmware_vector + 0x40);
        CHECK((c.csrr(csr::mstatus) & (mstatus_mie | mstatus_mpie | mstatus_mpp)) == 0x1800);
    }
}

TEST_CASE("ebreak, illegal instructions and faults from vM-mode keep their cause and mtval", "[virt][trap]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    const u64 pc = c.pc();

    SECTION("ebreak: breakpoint (3), mtval as the hart reported it") {
        c.hw.place_instruction(pc, enc::ebreak);
        c.trap(riscv::exception::breakpoint, pc);
        c.expect_delivered(3, pc, pc);
    }
    SECTION("an illegal instruction that is not SYSTEM: mtval = its bits") {
        c.exec(0x0000'000b);  // custom-0
        c.expect_delivered(2, 0x0000'000b, pc);
    }
    SECTION("a load from the monitor's memory: load access fault, mtval = the address") {
        c.h.x[11] = 0x8000'0100;
        const step s = c.access(enc::lw(10, 11, 0));
        CHECK_FALSE(s.advanced);
        c.expect_delivered(5, 0x8000'0100, pc);
    }
    SECTION("a store to the monitor's memory: store access fault") {
        c.h.x[11] = 0x8001'fff8;
        c.access(enc::sd(10, 11, 0));
        c.expect_delivered(7, 0x8001'fff8, pc);
    }
    SECTION("a compressed load outside memory: mtval = the address, mepc = its pc") {
        c.h.x[11] = 0x1000'0000;  // no memory there; the hart reports an access fault
        c.access(enc::c_lw(10, 11, 4));
        c.expect_delivered(5, 0x1000'0004, pc);
    }
    SECTION("an instruction fetch from the monitor's memory") {
        c.jump(0x8000'0000);
        c.trap(riscv::exception::instruction_access_fault, 0x8000'0000);
        c.expect_delivered(1, 0x8000'0000, 0x8000'0000);
    }
    SECTION("a misaligned load that the hart traps") {
        c.trap(riscv::exception::load_address_misaligned, 0x8030'0003);
        c.expect_delivered(4, 0x8030'0003, pc);
    }
}

TEST_CASE("a trap at the firmware's own trap vector stops the machine with one line", "[virt][trap]") {
    // An exception at the first instruction of the handler would come back to
    // the same instruction for ever (docs/virtual-hart.md): the monitor stops.
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.jump(firmware_vector);
    c.hw.place_instruction(firmware_vector, 0x0000'000b);
    CHECK(c.trap_stops(riscv::cause_value(riscv::exception::illegal_instruction), 0x0000'000b));
    CHECK(m.board.exit_code() == std::optional<u32>{70});
    CHECK(m.board.console().find("the firmware faults at its own trap vector") != std::string::npos);
}

TEST_CASE("traps from the OS: MPP = the OS's mode, mepc = the OS's pc", "[virt][trap]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();

    SECTION("ecall from S (9); virtual MIE was 1 in the OS") {
        c.csrs(csr::mstatus, mstatus_mpie);  // mret sets MIE = MPIE = 1
        c.enter_os(os_entry, privilege::supervisor);
        c.jump(os_entry + 0x10);
        c.trap(riscv::exception::ecall_from_s, 0);
        c.expect_delivered(9, 0, os_entry + 0x10);
        // MPIE = MIE (1), MIE = 0, MPP = S.
        CHECK((c.csrr(csr::mstatus) & (mstatus_mie | mstatus_mpie | mstatus_mpp)) == 0x0880);
    }
    SECTION("ecall from U (8) stays 8 when the OS's user mode makes it") {
        c.enter_os(0x8040'0000, privilege::user);
        c.trap(riscv::exception::ecall_from_u, 0);
        c.expect_delivered(8, 0, 0x8040'0000);
        CHECK((c.csrr(csr::mstatus) & (mstatus_mie | mstatus_mpie | mstatus_mpp)) == 0);
    }
    SECTION("a load access fault from S: mtval = the address") {
        c.enter_os(os_entry, privilege::supervisor);
        c.h.x[11] = 0x8000'0000;
        c.access(enc::ld(10, 11, 8));
        c.expect_delivered(5, 0x8000'0008, os_entry);
        CHECK((c.csrr(csr::mstatus) & mstatus_mpp) == 0x0800);
    }
    SECTION("an illegal instruction from S: mtval = its bits") {
        c.enter_os(os_entry, privilege::supervisor);
        c.exec(enc::csrrs(10, csr::mstatus, 0));  // csrr a0, mstatus from S
        c.expect_delivered(2, 0x3000'2573, os_entry);
    }
}

TEST_CASE("mtvec direct and vectored: interrupts at base + 4 x cause, exceptions at base", "[virt][trap]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::mtvec, firmware_vector | 1);  // vectored

    SECTION("an exception goes to base") {
        const u64 pc = c.pc();
        c.trap(riscv::exception::ecall_from_u, 0);
        c.expect_delivered(11, 0, pc, firmware_vector);
    }
    SECTION("the machine timer interrupt goes to base + 0x1c") {
        // mtimecmp resets to 0 (docs/virtual-hart.md): MTIP is pending.
        c.csrw(csr::mie, 0x80);
        const step s = c.exec(enc::csrrsi(0, csr::mstatus, 8));
        c.expect_delivered(irq(7), 0, s.pc_before + 4, firmware_vector + 0x1c);
    }
    SECTION("the machine external interrupt goes to base + 0x2c") {
        c.csrw(csr::mie, 0x800);
        c.csrs(csr::mstatus, mstatus_mie);
        c.jump(0x8010'0800);
        c.hw.set_meip(true);  // the PLIC raises MEIP: the hart takes it now
        c.settle();
        c.expect_delivered(irq(11), 0, 0x8010'0800, firmware_vector + 0x2c);
    }
    SECTION("direct mode: interrupts go to base too") {
        c.csrw(csr::mtvec, firmware_vector);
        c.csrw(csr::mie, 0x80);
        const step s = c.exec(enc::csrrsi(0, csr::mstatus, 8));
        c.expect_delivered(irq(7), 0, s.pc_before + 4, firmware_vector);
    }
}

TEST_CASE("interrupt priority: MEI > MSI > MTI > SEI > SSI > STI", "[virt][trap][interrupt]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // All six pending at once, all enabled, MIE = 0.
    c.csrw(csr::mie, 0xaaa);
    c.h.x[5] = 1;
    c.h.x[6] = msip0;
    REQUIRE(c.access(enc::sw(5, 6, 0)).advanced);  // the firmware's own msip: MSIP
    // mtimecmp = 0 after reset: MTIP.
    c.csrs(csr::mip, 0x222);                        // SSIP, STIP, SEIP (software-writable)
    c.hw.set_meip(true);                            // MEIP from the PLIC
    CHECK(c.csrr(csr::mip) == 0xaaa);
    const step enable = c.exec(enc::csrrsi(0, csr::mstatus, 8));
    const u64 epc = enable.pc_before + 4;
    // 3.1.9: MEI, MSI, MTI, SEI, SSI, STI. Each handler disables the one it
    // got and returns (mret: MIE = MPIE = 1), and the next is taken at once.
    for (const u64 code : {11u, 3u, 7u, 9u, 1u, 5u}) {
        INFO("expected interrupt " << code);
        c.expect_delivered(irq(code), 0, epc);
        CHECK((c.csrr(csr::mstatus) & (mstatus_mie | mstatus_mpie)) == mstatus_mpie);
        c.csrc(csr::mie, u64{1} << code);
        c.exec(enc::mret);
    }
    CHECK(c.pc() == epc);
    CHECK((c.csrr(csr::mstatus) & mstatus_mie) == mstatus_mie);
}

TEST_CASE("masked interrupts wait for the firmware to enable them", "[virt][trap][interrupt]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // MTIP is pending (mtimecmp = 0); MIE = 0.
    SECTION("enabled in mie first, then MIE: taken after the csrs of mstatus") {
        CHECK(c.exec(enc::csrrsi(0, csr::mie, 0)).advanced);
        c.csrw(csr::mie, 0x80);
        CHECK(c.csrr(csr::mscratch) == 0);  // nothing taken yet
        // The physical timer is not armed for an interrupt the firmware cannot take.
        CHECK(m.board.mtimecmp(0) == ~u64{0});
        const step s = c.exec(enc::csrrsi(0, csr::mstatus, 8));
        CHECK_FALSE(s.advanced);
        c.expect_delivered(irq(7), 0, s.pc_before + 4);
    }
    SECTION("MIE first, then mie: taken after the csrw of mie") {
        c.csrs(csr::mstatus, mstatus_mie);
        c.h.x[6] = 0x80;
        const step s = c.exec(enc::csrrs(0, csr::mie, 6));
        c.expect_delivered(irq(7), 0, s.pc_before + 4);
    }
    SECTION("an external interrupt that arrives while masked is not taken physically") {
        c.csrw(csr::mie, 0x800);
        c.hw.set_meip(true);
        c.settle();
        CHECK(c.csrr(csr::mip) == 0x880);  // pending: MEIP and MTIP
        // The physical mie must not let MEIP in while the firmware's MIE is 0.
        CHECK((c.hw.peek_csr(csr::mie).value() & 0x800) == 0);
        CHECK_FALSE(c.hw.pending_interrupt().has_value());
        const step s = c.exec(enc::csrrsi(0, csr::mstatus, 8));
        c.expect_delivered(irq(11), 0, s.pc_before + 4);
    }
    SECTION("mret with MPIE = 1 takes it at the mret's target") {
        c.csrw(csr::mie, 0x80);
        c.csrw(csr::mepc, 0x8010'0600);
        c.csrs(csr::mstatus, mstatus_mpie | mstatus_mpp);
        c.exec(enc::mret);
        c.expect_delivered(irq(7), 0, 0x8010'0600);
    }
}

TEST_CASE("M-level interrupts are taken while the OS runs, whatever MIE says", "[virt][trap][interrupt]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();

    SECTION("external: MEIE set, MIE = 0") {
        c.csrw(csr::mie, 0x800);
        c.enter_os(os_entry);  // MPIE = 0: MIE stays 0
        c.jump(os_entry + 0x100);
        c.hw.set_meip(true);
        c.settle();
        c.expect_delivered(irq(11), 0, os_entry + 0x100);
        // Taken from S: MPP = S, MPIE = old MIE = 0.
        CHECK((c.csrr(csr::mstatus) & (mstatus_mie | mstatus_mpie | mstatus_mpp)) == 0x0800);
    }
    SECTION("timer: the firmware's deadline reaches the physical timer while the OS runs") {
        c.h.x[5] = 1000;
        c.h.x[6] = mtimecmp0;
        REQUIRE(c.access(enc::sd(5, 6, 0)).advanced);
        c.csrw(csr::mie, 0x80);
        c.enter_os(os_entry);
        CHECK(m.board.mtimecmp(0) == 1000);
        m.board.advance_time(999);
        c.settle();
        CHECK(c.pc() == os_entry);
        m.board.advance_time(1);
        c.settle();
        c.expect_delivered(irq(7), 0, os_entry);
        CHECK((c.csrr(csr::mstatus) & mstatus_mpp) == 0x0800);
    }
}

TEST_CASE("delegated interrupts are not taken by the firmware", "[virt][trap][interrupt]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::mideleg, 0x222);
    c.csrw(csr::mie, 0x222);
    c.csrs(csr::mstatus, mstatus_mie);
    // 3.1.8: an interrupt delegated to S is never taken in M-mode.
    CHECK(c.exec(enc::csrrs(0, csr::mip, 0)).advanced);
    c.csrs(csr::mip, 0x2);  // SSIP
    CHECK(c.csrr(csr::mip) == 0x82);
    CHECK(c.csrr(csr::mscratch) == 0);
    SECTION("the OS gets it natively, not through the monitor") {
        c.enter_os(os_entry);
        CHECK(c.hw.peek_csr(csr::mideleg).value() == 0x222);
        CHECK_FALSE(c.hw.pending_interrupt().has_value());  // nothing for M-mode
    }
}

TEST_CASE("a guest-page fault from VS: mtval2, mtinst, GVA and MPV reach the firmware", "[virt][trap]") {
    // H ext. 8.4.1 (MPV, GVA), 8.4.4-8.4.5 (mtval2, mtinst).
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.enter_os(os_entry, privilege::supervisor, true);
    c.trap_h(21, 0x4000'1234, 0x2000'0048, 0x3003, true);
    c.expect_delivered(21, 0x4000'1234, os_entry);
    CHECK(c.csrr(csr::mtval2) == 0x2000'0048);
    CHECK(c.csrr(csr::mtinst) == 0x3003);
    // MPV (39), GVA (38), MPP = S.
    CHECK((c.csrr(csr::mstatus) & 0x0000'00c0'0000'1800) == 0x0000'00c0'0000'0800);
    // The hart runs the firmware with MPV = GVA = 0.
    CHECK((c.hw.peek_csr(csr::mstatus).value() & 0x0000'00c0'0000'0000) == 0);

    SECTION("an exception of the firmware itself clears GVA, MPV, mtval2 and mtinst") {
        c.jump(firmware_vector + 0x80);
        c.trap(riscv::exception::ecall_from_u, 0);
        c.expect_delivered(11, 0, firmware_vector + 0x80);
        CHECK(c.csrr(csr::mtval2) == 0);
        CHECK(c.csrr(csr::mtinst) == 0);
        CHECK((c.csrr(csr::mstatus) & 0x0000'00c0'0000'1800) == 0x1800);
    }
}

TEST_CASE("an interrupt the firmware stops delegating is taken at once", "[virt][trap][interrupt]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::mideleg, 0x2);
    c.csrw(csr::mie, 0x2);
    c.csrs(csr::mstatus, mstatus_mie);
    c.csrs(csr::mip, 0x2);  // SSIP, delegated: not for M-mode
    CHECK(c.csrr(csr::mscratch) == 0);
    const step s = c.exec(enc::csrrci(0, csr::mideleg, 0x2));
    c.expect_delivered(irq(1), 0, s.pc_before + 4);
}

TEST_CASE("Sstc: stimecmp drives STIP; not delegated, the firmware takes STI", "[virt][trap][interrupt]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    m.board.set_time(1000);
    c.csrw(csr::menvcfg, 0x8000'0000'0000'0000);  // STCE
    CHECK(c.hw.peek_csr(csr::menvcfg).value() == 0x8000'0000'0000'0000);
    c.csrw(csr::stimecmp, 2000);
    CHECK((c.csrr(csr::mip) & 0x20) == 0);
    c.csrw(csr::stimecmp, 1000);  // time >= stimecmp: STIP (Sstc)
    CHECK((c.csrr(csr::mip) & 0x20) == 0x20);
    c.csrw(csr::mie, 0x20);
    const step s = c.exec(enc::csrrsi(0, csr::mstatus, 8));
    c.expect_delivered(irq(5), 0, s.pc_before + 4);
}

TEST_CASE("interrupts pending for M when the firmware enters the OS are taken at the OS's entry",
          "[virt][trap][interrupt][world]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    SECTION("MTI (mtimecmp = 0 after reset)") {
        c.csrw(csr::mie, 0x80);
        c.csrw(csr::mepc, os_entry);
        c.csrs(csr::mstatus, 0x0800);  // MPP = S
        c.exec(enc::mret);  // the interrupt is taken before the OS's first instruction
        c.expect_delivered(irq(7), 0, os_entry);
        CHECK((c.csrr(csr::mstatus) & mstatus_mpp) == 0x0800);
    }
    SECTION("a supervisor interrupt the firmware does not delegate") {
        c.csrw(csr::mtvec, firmware_vector);
        c.h.x[5] = ~u64{0};
        c.h.x[6] = mtimecmp0;
        REQUIRE(c.access(enc::sd(5, 6, 0)).advanced);
        c.csrw(csr::mie, 0x2);
        c.csrs(csr::mip, 0x2);
        c.csrw(csr::mepc, os_entry);
        c.csrs(csr::mstatus, 0x0800);
        c.exec(enc::mret);
        c.expect_delivered(irq(1), 0, os_entry);
    }
}
