// SPDX-License-Identifier: MIT
// mret and sret executed by the firmware in vM-mode (priv. spec 3.3.2; H ext.
// 8.6.4): to M the firmware stays in vM-mode; to S or U the monitor switches
// the physical hart to the OS (docs/virtual-hart.md, "Physical state per world").
#include "virt_support.hpp"

using namespace vt;

namespace {

constexpr u64 mie_bit = 0x8;
constexpr u64 mpie_bit = 0x80;
constexpr u64 mpp_m = 0x1800;
constexpr u64 mpp_s = 0x0800;
constexpr u64 mprv_bit = 0x2'0000;
constexpr u64 mpv_bit = u64{1} << 39;
constexpr u64 status_bits = mie_bit | mpie_bit | mpp_m | mprv_bit;

}  // namespace

TEST_CASE("mret to M stays in vM-mode: MIE = MPIE, MPIE = 1, MPP = U", "[virt][mret]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::mepc, 0x8010'0800);

    SECTION("MPIE = 1") {
        c.csrw(csr::mstatus, mpp_m | mpie_bit);
        c.exec(enc::mret);
        CHECK(c.pc() == 0x8010'0800);
        CHECK(c.mode() == privilege::user);  // physically still U-mode: vM-mode
        CHECK(c.h.world == virt::world::firmware);
        CHECK((c.csrr(csr::mstatus) & status_bits) == (mie_bit | mpie_bit));  // MPP = U (0)
    }
    SECTION("MPIE = 0") {
        c.csrw(csr::mstatus, mpp_m | mie_bit);
        c.exec(enc::mret);
        CHECK(c.pc() == 0x8010'0800);
        CHECK((c.csrr(csr::mstatus) & status_bits) == mpie_bit);
    }
    SECTION("MPRV stays set when mret goes to M (3.3.2: cleared only when MPP != M)") {
        c.csrw(csr::mstatus, mpp_m | mprv_bit);
        c.exec(enc::mret);
        CHECK(c.pc() == 0x8010'0800);
        CHECK((c.csrr(csr::mstatus) & status_bits) == (mprv_bit | mpie_bit));
    }
    SECTION("without U, MPP stays M after mret (least privileged mode)") {
        // No such hart can run the monitor (it needs U-mode for the firmware); the
        // rule is checked on the configurations that exist: mu resets MPP to U.
        machine mm{mu::make()};
        cpu& d = mm.hart0();
        d.boot_with_vector();
        d.csrw(csr::mepc, 0x8010'0800);
        d.csrw(csr::mstatus, mpp_m);
        d.exec(enc::mret);
        CHECK(d.pc() == 0x8010'0800);
        CHECK((d.csrr(csr::mstatus) & mpp_m) == 0);
    }
}

TEST_CASE("mret to S switches the hart to the OS", "[virt][mret][world]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // The firmware's view of the OS: delegation, counters, trap virtualization, satp.
    c.csrw(csr::medeleg, 0xb109);
    c.csrw(csr::mideleg, 0x222);
    c.csrw(csr::mcounteren, 0x5);
    c.csrw(csr::satp, 0x8000'0000'0008'1000);  // Sv39, root page at 0x81000000
    CHECK(c.hw.peek_csr(csr::satp).value() == 0);  // Bare while the firmware runs
    c.csrs(csr::mstatus, 0x20'0000 | mprv_bit | mpie_bit);  // TW, MPRV, MPIE
    c.hw.log().clear();
    c.enter_os(os_entry, privilege::supervisor);

    const auto entry = c.hw.log().last<host::resume_event>();
    REQUIRE(entry);
    CHECK(entry->pc == os_entry);
    CHECK(entry->privilege == privilege::supervisor);
    CHECK_FALSE(entry->virtualized);
    CHECK(c.mode() == privilege::supervisor);
    CHECK(c.hw.peek_csr(csr::satp).value() == 0x8000'0000'0008'1000);
    CHECK(c.hw.peek_csr(csr::medeleg).value() == 0xb109);
    CHECK(c.hw.peek_csr(csr::mideleg).value() == 0x666);  // + the read-only VS bits
    CHECK(c.hw.peek_csr(csr::mcounteren).value() == 0x5);
    // mstatus.TW is the firmware's (the OS's wfi then traps); the hart's MPRV is
    // never set; after the mret MPP = U, MIE = MPIE (the hart's, from the trap), MPIE = 1.
    const u64 physical = c.hw.peek_csr(csr::mstatus).value();
    CHECK((physical & 0x20'0000) == 0x20'0000);
    CHECK((physical & (mprv_bit | mpp_m)) == 0);

    SECTION("the firmware sees MPRV cleared, MIE = MPIE, and the OS's trap") {
        c.trap(riscv::exception::ecall_from_s, 0);
        c.expect_delivered(9, 0, os_entry);
        // 3.3.2: mret to S cleared MPRV and set MIE = 1 (MPIE was 1); the ecall
        // then set MPIE = 1, MIE = 0, MPP = S.
        CHECK((c.csrr(csr::mstatus) & status_bits) == (mpie_bit | mpp_s));
        CHECK(c.csrr(csr::satp) == 0x8000'0000'0008'1000);
        CHECK(c.hw.peek_csr(csr::satp).value() == 0);
    }
}

TEST_CASE("mret to U runs the OS's user mode", "[virt][mret][world]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.enter_os(0x8040'0000, privilege::user);
    CHECK(c.mode() == privilege::user);
    CHECK(c.h.world == virt::world::os);
    c.trap(riscv::exception::ecall_from_u, 0);
    c.expect_delivered(8, 0, 0x8040'0000);  // ecall from U, not from M
    CHECK((c.csrr(csr::mstatus) & mpp_m) == 0);
}

TEST_CASE("mret with MPV = 1 enters VS-mode (H)", "[virt][mret][world]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.enter_os(os_entry, privilege::supervisor, true);
    const auto entry = c.hw.log().last<host::resume_event>();
    REQUIRE(entry);
    CHECK(entry->privilege == privilege::supervisor);
    CHECK(entry->virtualized);
    CHECK(c.hw.virtualized());
    // The guest's ecall from VS (10) reaches the firmware with MPV = 1, MPP = S.
    c.trap(riscv::exception::ecall_from_vs, 0);
    c.expect_delivered(10, 0, os_entry);
    const u64 status = c.csrr(csr::mstatus);
    CHECK((status & (mpv_bit | mpp_m)) == (mpv_bit | mpp_s));

    SECTION("mret to M ignores MPV and clears it (H ext. 8.6.4)") {
        c.csrw(csr::mepc, 0x8010'0900);
        c.csrs(csr::mstatus, mpp_m);
        c.exec(enc::mret);
        CHECK(c.pc() == 0x8010'0900);
        CHECK(c.mode() == privilege::user);
        CHECK_FALSE(c.hw.virtualized());
        CHECK((c.csrr(csr::mstatus) & mpv_bit) == 0);
    }
    SECTION("mret back to VS, then MPV reads 0") {
        c.csrw(csr::mepc, os_entry + 4);
        c.exec(enc::mret);
        CHECK(c.hw.virtualized());
        CHECK(c.pc() == os_entry + 4);
        c.trap(riscv::exception::ecall_from_vs, 0);
        c.expect_delivered(10, 0, os_entry + 4);
    }
}

TEST_CASE("sret from vM-mode returns to SPP with SIE = SPIE (3.3.2)", "[virt][mret][world]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::sepc, os_entry + 0x40);
    // sstatus: SPP = S, SPIE = 1, SIE = 0; MPRV set in mstatus.
    c.csrw(csr::sstatus, 0x120);
    c.csrs(csr::mstatus, mprv_bit | mpp_m);

    c.exec(enc::sret);
    CHECK(c.pc() == os_entry + 0x40);
    CHECK(c.mode() == privilege::supervisor);
    CHECK(c.h.world == virt::world::os);
    // SIE = SPIE = 1, SPIE = 1, SPP = U.
    CHECK((c.hw.peek_csr(csr::sstatus).value() & 0x122) == 0x22);

    c.trap(riscv::exception::ecall_from_s, 0);
    c.expect_delivered(9, 0, os_entry + 0x40);
    // sret to S cleared MPRV (1.12: xRET to a mode below M clears MPRV).
    CHECK((c.csrr(csr::mstatus) & mprv_bit) == 0);

    SECTION("SPP = U goes to the OS's user mode") {
        c.csrw(csr::sepc, 0x8040'0000);
        c.csrw(csr::sstatus, 0);
        c.exec(enc::sret);
        CHECK(c.pc() == 0x8040'0000);
        CHECK(c.mode() == privilege::user);
    }
}

TEST_CASE("sret without S is an illegal instruction", "[virt][mret]") {
    machine m{mu::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    const u64 pc = c.pc();
    c.exec(enc::sret);
    c.expect_delivered(2, enc::sret, pc);
}

TEST_CASE("TVM, TW and TSR do not apply to vM-mode (3.1.6.5)", "[virt][mret]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrs(csr::mstatus, 0x70'0000);  // TVM, TW, TSR
    CHECK(c.exec(enc::csrrs(7, csr::satp, 0)).advanced);
    CHECK(c.exec(enc::sfence_vma(0, 0)).advanced);
    CHECK(c.exec(enc::wfi).advanced);  // nothing enabled: a nop, not an illegal instruction
    c.csrw(csr::sepc, os_entry);
    c.csrw(csr::sstatus, 0x100);
    c.exec(enc::sret);
    CHECK(c.pc() == os_entry);
    CHECK(c.mode() == privilege::supervisor);
    // The OS gets them: its wfi, sret, satp access trap to the firmware (illegal instruction).
    CHECK((c.hw.peek_csr(csr::mstatus).value() & 0x70'0000) == 0x70'0000);
    c.exec(enc::wfi);
    c.expect_delivered(2, enc::wfi, os_entry);
}

TEST_CASE("sret from vM-mode with hstatus.SPV = 1 enters VS-mode (H)", "[virt][mret][world]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::sepc, os_entry + 8);
    c.csrw(csr::sstatus, 0x100);  // SPP = S
    c.csrw(csr::hstatus, 0x80);   // SPV
    c.exec(enc::sret);
    CHECK(c.pc() == os_entry + 8);
    CHECK(c.mode() == privilege::supervisor);
    CHECK(c.hw.virtualized());
    // H ext. 8.6.4: SRET clears hstatus.SPV.
    CHECK((c.hw.peek_csr(csr::hstatus).value() & 0x80) == 0);
    c.trap(riscv::exception::ecall_from_vs, 0);
    c.expect_delivered(10, 0, os_entry + 8);
    CHECK((c.csrr(csr::mstatus) & (u64{1} << 39)) == (u64{1} << 39));  // MPV
}
