// SPDX-License-Identifier: MIT
// The core scenarios on every hart configuration of the tests: RV64GC with H
// and Sstc (16 and 64 PMP entries), without H, and M/U only. What differs
// between them is written out per configuration (column order: qemu_h,
// rv64gc, mu, h64).
#include "virt_support.hpp"

using namespace vt;
using host::access_type;

namespace {

constexpr u64 msip0 = 0x200'0000;
constexpr u64 mtimecmp0 = 0x200'4000;

constexpr u64 irq(u64 code) { return 0x8000'0000'0000'0000 | code; }

/// The virtual PMP entries the firmware gets: all of the hart's (docs/pmp.md).
constexpr unsigned virtual_entries[4] = {16, 16, 16, 64};

}  // namespace

TEMPLATE_TEST_CASE("boot: the firmware's registers and the hart's state", "[virt][config]", qemu_h, rv64gc, mu, h64) {
    machine m{TestType::make()};
    cpu& c = m.hart0();
    REQUIRE(c.boot() == boot_error::none);
    CHECK(c.pc() == firmware_entry);
    CHECK(c.mode() == privilege::user);
    CHECK(c.h.x[10] == 0);
    CHECK(c.h.x[11] == device_tree);
    CHECK(c.h.x[12] == boot_info);
    for (unsigned r : {1u, 2u, 5u, 9u, 13u, 31u}) CHECK(c.h.x[r] == 0);
    // The hart: MPP = U, no MPRV, the monitor's MSIE only (no deadline yet:
    // MTIE stays clear, since MTIP fires for every mtimecmp once mtime is
    // 2^64-1, 3.2.1).
    const u64 status = c.hw.peek_csr(csr::mstatus).value();
    CHECK((status & 0x2'1800) == 0);
    CHECK(c.hw.peek_csr(csr::mie).value() == 0x8);
    if (c.hw.implemented(csr::satp)) {
        CHECK(c.hw.peek_csr(csr::satp).value() == 0);
        CHECK(c.hw.peek_csr(csr::medeleg).value() == 0);
    }
    CHECK(c.hw.peek_csr(csr::mcounteren).value() == 0);
    // The virtual PMP is all OFF, with the number of entries of this configuration.
    const unsigned n = virtual_entries[TestType::column];
    c.csrw(static_cast<csr>(0x3b0 + n - 1), 0x1000);
    CHECK(c.csrr(static_cast<csr>(0x3b0 + n - 1)) == 0x1000);
    if (n < 64) {  // pmpaddr63 is the last PMP CSR there is
        c.csrw(static_cast<csr>(0x3b0 + n), 0x1000);
        CHECK(c.csrr(static_cast<csr>(0x3b0 + n)) == 0);
    }
}

TEMPLATE_TEST_CASE("exceptions from vM-mode are delivered at mtvec", "[virt][config]", qemu_h, rv64gc, mu, h64) {
    machine m{TestType::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    const u64 pc = c.pc();
    SECTION("ecall") {
        c.trap(riscv::exception::ecall_from_u, 0);
        c.expect_delivered(11, 0, pc);
        CHECK((c.csrr(csr::mstatus) & 0x1888) == 0x1800);
    }
    SECTION("an absent CSR") {
        c.exec(enc::csrrs(10, csr::tselect, 0));
        c.expect_delivered(2, 0x7a00'2573, pc);
    }
    SECTION("a store to the monitor") {
        c.h.x[11] = 0x8000'0040;
        c.access(enc::sw(10, 11, 0));
        c.expect_delivered(7, 0x8000'0040, pc);
    }
}

TEMPLATE_TEST_CASE("mret to M, then to U and back through an ecall from U", "[virt][config][world]", qemu_h, rv64gc,
                   mu, h64) {
    machine m{TestType::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.h.x[5] = ~u64{0};
    c.h.x[6] = mtimecmp0;
    REQUIRE(c.access(enc::sd(5, 6, 0)).advanced);
    c.return_to(0x8010'0400);
    CHECK(c.mode() == privilege::user);
    c.csrw(csr::pmpaddr0, 0x2017'ffff);  // NAPOT [0x80400000, +4 MiB) R W X for U
    c.csrw(csr::pmpcfg0, 0x1f);
    c.enter_os(0x8040'0000, privilege::user);
    CHECK(c.h.world == virt::world::os);
    CHECK(c.hw.check_access(0x8040'0000, 4, access_type::fetch, privilege::user).allowed);
    CHECK_FALSE(c.hw.check_access(0x8010'0000, 4, access_type::fetch, privilege::user).allowed);
    c.jump(0x8040'0010);
    c.trap(riscv::exception::ecall_from_u, 0);
    c.expect_delivered(8, 0, 0x8040'0010);
    CHECK((c.csrr(csr::mstatus) & 0x1800) == 0);
    CHECK(c.hw.check_access(0x8010'0000, 4, access_type::fetch, privilege::user).allowed);
    c.csrw(csr::mepc, 0x8040'0014);
    c.exec(enc::mret);
    CHECK(c.pc() == 0x8040'0014);
    CHECK(c.mode() == privilege::user);
    CHECK(c.h.world == virt::world::os);
}

TEMPLATE_TEST_CASE("the virtual CLINT and wfi", "[virt][config][clint]", qemu_h, rv64gc, mu, h64) {
    machine m{TestType::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.h.x[5] = 300;
    c.h.x[6] = mtimecmp0;
    REQUIRE(c.access(enc::sd(5, 6, 0)).advanced);
    c.csrw(csr::mie, 0x80);
    const step w = c.exec(enc::wfi);
    CHECK(w.advanced);
    CHECK(m.board.read_time() == 300);
    CHECK(c.csrr(csr::mip) == 0x80);
    c.h.x[5] = 1;
    c.h.x[6] = msip0;
    REQUIRE(c.access(enc::sw(5, 6, 0)).advanced);
    CHECK(c.csrr(csr::mip) == 0x88);
    c.csrw(csr::mie, 0x8);
    const step s = c.exec(enc::csrrsi(0, csr::mstatus, 8));
    c.expect_delivered(irq(3), 0, s.pc_before + 4);
}

TEMPLATE_TEST_CASE("the monitor and the CLINT stay closed", "[virt][config][pmp]", qemu_h, rv64gc, mu, h64) {
    machine m{TestType::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::pmpaddr0, 0x003f'ffff'ffff'ffff);
    c.csrw(csr::pmpcfg0, 0x9f);  // locked NAPOT RWX over everything
    for (const privilege p : {privilege::user, privilege::supervisor}) {
        if (p == privilege::supervisor && !c.hw.implemented(csr::satp)) continue;
        for (const access_type t : {access_type::load, access_type::store, access_type::fetch}) {
            CHECK_FALSE(c.hw.check_access(0x8000'0000, 4, t, p).allowed);
            CHECK_FALSE(c.hw.check_access(0x8001'fffc, 4, t, p).allowed);
            CHECK_FALSE(c.hw.check_access(0x200'4000, 8, t, p).allowed);
            CHECK(c.hw.check_access(0x8002'0000, 4, t, p).allowed);
        }
    }
}
