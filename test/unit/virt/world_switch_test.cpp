// SPDX-License-Identifier: MIT
// A small world-switch scenario, as OpenSBI does it: boot, program delegation,
// PMP, mtvec and the timer, mret to S; the OS ecalls; the firmware handles it
// at mtvec and returns with mret to mepc + 4. Each physical CSR is checked on
// both sides against docs/virtual-hart.md ("Physical state per world").
#include "virt_support.hpp"

using namespace vt;
using host::access_type;

namespace {

constexpr u64 mtimecmp0 = 0x200'4000;
constexpr u64 os_satp = 0x8000'0000'0008'1000;  // Sv39, root table at 0x81000000

}  // namespace

TEST_CASE("world switch: firmware → OS → firmware → OS", "[virt][world]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();

    // ---- boot: a0 = hart id, a1 = device tree, a2 = fw_dynamic_info, at the entry in vM-mode.
    REQUIRE(c.boot() == boot_error::none);
    CHECK(c.pc() == firmware_entry);
    CHECK(c.mode() == privilege::user);
    CHECK(c.h.x[10] == 0);
    CHECK(c.h.x[11] == device_tree);
    CHECK(c.h.x[12] == boot_info);
    CHECK(c.hw.peek_csr(csr::satp).value() == 0);
    CHECK(c.hw.peek_csr(csr::medeleg).value() == 0);
    CHECK(c.hw.peek_csr(csr::mideleg).value() == 0x444);  // only the read-only VS bits
    CHECK(c.hw.peek_csr(csr::mcounteren).value() == 0);

    // ---- the firmware sets up the machine.
    c.csrw(csr::mtvec, firmware_vector);
    c.h.x[5] = ~u64{0};
    c.h.x[6] = mtimecmp0;
    REQUIRE(c.access(enc::sd(5, 6, 0)).advanced);  // no timer for now
    c.csrw(csr::medeleg, 0xb109);
    c.csrw(csr::mideleg, 0x222);
    c.csrw(csr::mcounteren, 0x7);
    c.csrw(csr::mie, 0x808);                         // MSIE, MEIE
    c.csrw(csr::pmpaddr0, 0x2000'7fff);              // NAPOT [0x80000000, +256 KiB): no access
    c.csrw(csr::pmpaddr1, 0x003f'ffff'ffff'ffff);    // NAPOT everything: RWX
    c.csrw(csr::pmpcfg0, 0x1f'18);
    c.csrs(csr::mstatus, 0x40'0000);                 // TSR for the OS
    c.csrw(csr::mscratch, 0x8011'0000);
    // Still the firmware's physical state.
    CHECK(c.hw.peek_csr(csr::medeleg).value() == 0);
    CHECK(c.hw.peek_csr(csr::mideleg).value() == 0x444);
    CHECK(c.hw.peek_csr(csr::mcounteren).value() == 0);
    CHECK(c.hw.peek_csr(csr::mie).value() == 0x88);  // the monitor's MSIE and MTIE (MIE = 0)
    CHECK(c.hw.check_access(0x8003'0000, 8, access_type::store, privilege::user).allowed);

    // ---- mret to S at the OS's entry.
    c.enter_os(os_entry);
    CHECK(c.mode() == privilege::supervisor);
    CHECK(c.hw.peek_csr(csr::satp).value() == 0);  // the OS's satp: still 0
    CHECK(c.hw.peek_csr(csr::medeleg).value() == 0xb109);
    CHECK(c.hw.peek_csr(csr::mideleg).value() == 0x666);
    CHECK(c.hw.peek_csr(csr::mcounteren).value() == 0x7);
    CHECK((c.hw.peek_csr(csr::mstatus).value() & 0x70'0000) == 0x40'0000);  // TSR only
    CHECK(c.hw.peek_csr(csr::mie).value() == 0x888);  // MEIE, MSIE and the monitor's MTIE
    CHECK(m.board.mtimecmp(0) == ~u64{0});
    // The OS's view of the PMP: the firmware's entries as written.
    CHECK(c.hw.check_access(os_entry, 4, access_type::fetch, privilege::supervisor).allowed);
    CHECK_FALSE(c.hw.check_access(0x8003'0000, 8, access_type::load, privilege::supervisor).allowed);
    CHECK(c.hw.check_access(0x8004'0000, 8, access_type::store, privilege::supervisor).allowed);
    CHECK_FALSE(c.hw.check_access(0x8000'0000, 8, access_type::load, privilege::supervisor).allowed);
    CHECK_FALSE(c.hw.check_access(0x200'0000, 4, access_type::load, privilege::supervisor).allowed);

    // ---- the OS sets its own satp (natively: TVM = 0) and makes an SBI call.
    c.hw.poke_csr(csr::satp, os_satp);
    c.hw.poke_csr(csr::sscratch, 0x5c5c);
    c.jump(os_entry + 0x20);
    c.h.x[17] = 0x10;  // a7: SBI base extension
    c.trap(riscv::exception::ecall_from_s, 0);

    // ---- the firmware takes it at mtvec.
    c.expect_delivered(9, 0, os_entry + 0x20);
    CHECK((c.csrr(csr::mstatus) & 0x1888) == 0x0800);  // MPP = S, MPIE = 0, MIE = 0
    CHECK(c.csrr(csr::satp) == os_satp);               // the OS's satp, kept virtual
    CHECK(c.csrr(csr::sscratch) == 0x5c5c);             // supervisor state as the OS left it
    CHECK(c.csrr(csr::mscratch) == 0x8011'0000);
    CHECK(c.h.x[17] == 0x10);                           // one register file: a7 as the OS set it
    CHECK(c.hw.peek_csr(csr::satp).value() == 0);
    CHECK(c.hw.peek_csr(csr::medeleg).value() == 0);
    CHECK(c.hw.peek_csr(csr::mideleg).value() == 0x444);
    CHECK(c.hw.peek_csr(csr::mcounteren).value() == 0);
    CHECK((c.hw.peek_csr(csr::mstatus).value() & 0x70'0000) == 0);  // no TVM, TW, TSR for the firmware
    CHECK(c.hw.peek_csr(csr::mie).value() == 0x88);
    CHECK(c.hw.check_access(0x8003'0000, 8, access_type::store, privilege::user).allowed);
    CHECK_FALSE(c.hw.check_access(0x8000'0000, 8, access_type::load, privilege::user).allowed);

    // ---- it answers and returns to mepc + 4.
    c.h.x[10] = 0;
    c.h.x[11] = 2;
    const u64 epc = c.csrr(csr::mepc);
    c.csrw(csr::mepc, epc + 4);
    c.exec(enc::mret);
    CHECK(c.pc() == os_entry + 0x24);
    CHECK(c.mode() == privilege::supervisor);
    CHECK(c.h.x[11] == 2);
    CHECK(c.hw.peek_csr(csr::satp).value() == os_satp);
    CHECK(c.hw.peek_csr(csr::medeleg).value() == 0xb109);
    CHECK(c.hw.peek_csr(csr::mideleg).value() == 0x666);
    CHECK(c.hw.peek_csr(csr::mcounteren).value() == 0x7);
    CHECK((c.hw.peek_csr(csr::mstatus).value() & 0x70'0000) == 0x40'0000);
    CHECK(c.hw.peek_csr(csr::sscratch).value() == 0x5c5c);
    CHECK_FALSE(c.hw.check_access(0x8003'0000, 8, access_type::load, privilege::supervisor).allowed);

    // The hart never saw a physical MPRV, and only the monitor's writes touched satp.
    for (const auto& w : c.hw.log().writes_to(csr::mstatus)) CHECK((w.new_value & 0x2'0000) == 0);
}

TEST_CASE("the OS's delegated interrupt enables are kept across a world switch", "[virt][world][interrupt]") {
    // The OS writes sie natively (a view of mie, 4.1.3); the firmware then sees
    // them in its mie, and they come back when the OS resumes.
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.h.x[5] = ~u64{0};
    c.h.x[6] = mtimecmp0;
    REQUIRE(c.access(enc::sd(5, 6, 0)).advanced);
    c.csrw(csr::mideleg, 0x222);
    c.csrw(csr::mie, 0x8);
    c.enter_os(os_entry);
    c.hw.poke_csr(csr::sie, 0x220);  // STIE, SEIE
    c.trap(riscv::exception::ecall_from_s, 0);
    c.expect_delivered(9, 0, os_entry);
    CHECK(c.csrr(csr::mie) == 0x228);
    CHECK(c.csrr(csr::sie) == 0x220);
    c.csrw(csr::mepc, os_entry + 4);
    c.exec(enc::mret);
    CHECK((c.hw.peek_csr(csr::mie).value() & 0x222) == 0x220);
}

TEST_CASE("a world switch rewrites only the PMP registers that differ", "[virt][world][pmp]") {
    // docs/pmp.md: only pmpcfg registers differ between the views, and a world
    // switch writes the ones that changed (each PMP write flushes QEMU's TLB).
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::pmpaddr0, 0x003f'ffff'ffff'ffff);
    c.csrw(csr::pmpcfg0, 0x1f);  // RWX for everyone: the same in both views
    c.enter_os(os_entry);
    c.hw.log().clear();
    c.trap(riscv::exception::ecall_from_s, 0);  // OS -> firmware
    const step s = c.exec(enc::mret);           // firmware -> OS (mepc = the ecall)
    CHECK(s.pc_after == os_entry);
    unsigned pmpaddr_writes = 0;
    for (unsigned n = 0; n < 64; ++n) pmpaddr_writes += c.hw.log().writes_to(static_cast<csr>(0x3b0 + n)).size();
    CHECK(pmpaddr_writes == 0);
    CHECK(c.hw.log().writes_to(csr::pmpcfg0).empty());       // entries 0-7: the same in both views
    CHECK(c.hw.log().writes_to(csr::pmpcfg2).size() == 2);  // entry 15, "everything": RWX / OFF
}
