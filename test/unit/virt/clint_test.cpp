// SPDX-License-Identifier: MIT
// The virtual CLINT the firmware sees (SiFive CLINT layout: msip of hart i at
// 0x2000000 + 4i, mtimecmp at 0x2004000 + 8i, mtime at 0x200bff8; priv. spec
// 3.2.1 machine timer registers, 3.1.9 MTIP / MSIP) and wfi (3.3.3).
// The firmware's loads and stores to it fault on the hart (PMP) and are
// emulated; the physical mtimecmp and msip belong to the monitor.
#include "virt_support.hpp"

using namespace vt;

namespace {

constexpr u64 msip_base = 0x200'0000;
constexpr u64 mtimecmp_base = 0x200'4000;
constexpr u64 mtime_address = 0x200'bff8;
constexpr u64 mie_bit = 0x8;

constexpr u64 irq(u64 code) { return 0x8000'0000'0000'0000 | code; }

/// The firmware stores `value` (width 4 or 8) at `address`; it must be emulated.
void store(cpu& c, u64 address, u64 value, unsigned width = 8) {
    c.h.x[6] = address;
    c.h.x[5] = value;
    const step s = c.access(width == 8 ? enc::sd(5, 6, 0) : enc::sw(5, 6, 0));
    INFO("store of " << hex(value) << " to " << hex(address));
    REQUIRE(s.advanced);
}

/// The firmware loads from `address` with `op` (rd = x10, rs1 = x6).
u64 load(cpu& c, u64 address, const enc::mem_op& op) {
    c.h.x[6] = address;
    c.h.x[10] = 0x5a5a;
    const step s = c.access(op);
    INFO("load from " << hex(address));
    REQUIRE(s.advanced);
    return c.h.x[10];
}

u64 ld(cpu& c, u64 address) { return load(c, address, enc::ld(10, 6, 0)); }
u64 lw(cpu& c, u64 address) { return load(c, address, enc::lw(10, 6, 0)); }

}  // namespace

TEST_CASE("the CLINT is not reachable directly: its accesses trap and are emulated", "[virt][clint]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    check_not_reachable(c, {msip_base, mtimecmp_base, mtime_address, u64{0x200'fff8}}, 4);
}

TEST_CASE("mtime: 8- and 4-byte loads, sign extension, compressed forms", "[virt][clint]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    m.board.set_time(0x0000'0001'8000'0010);
    CHECK(ld(c, mtime_address) == 0x0000'0001'8000'0010);
    CHECK(lw(c, mtime_address) == 0xffff'ffff'8000'0010);  // lw sign-extends (unpriv. 2.6)
    CHECK(load(c, mtime_address, enc::lwu(10, 6, 0)) == 0x8000'0010);
    CHECK(lw(c, mtime_address + 4) == 1);
    SECTION("c.ld and c.lw advance the pc by 2") {
        c.h.x[9] = mtime_address - 8;
        const step s = c.access(enc::c_ld(10, 9, 8));
        CHECK(s.pc_after == s.pc_before + 2);
        CHECK(c.h.x[10] == 0x0000'0001'8000'0010);
        const step t = c.access(enc::c_lw(11, 9, 12));
        CHECK(t.pc_after == t.pc_before + 2);
        CHECK(c.h.x[11] == 1);
    }
    SECTION("rd = x0 is not written") {
        c.h.x[6] = mtime_address;
        CHECK(c.access(enc::ld(0, 6, 0)).advanced);
        CHECK(c.h.x[0] == 0);
    }
    SECTION("a negative offset from a base register") {
        c.h.x[6] = mtime_address + 0x10;
        CHECK(c.access(enc::ld(12, 6, -16)).advanced);
        CHECK(c.h.x[12] == 0x0000'0001'8000'0010);
    }
}

TEST_CASE("mtimecmp of this hart: 8- and 4-byte stores and loads, the physical timer", "[virt][clint]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    CHECK(ld(c, mtimecmp_base) == 0);  // resets to 0 (docs/virtual-hart.md)
    store(c, mtimecmp_base, 0x0000'0123'4567'89ab);
    CHECK(ld(c, mtimecmp_base) == 0x0000'0123'4567'89ab);
    CHECK(lw(c, mtimecmp_base) == 0x4567'89ab);
    CHECK(lw(c, mtimecmp_base + 4) == 0x123);
    store(c, mtimecmp_base + 4, 0x9, 4);
    store(c, mtimecmp_base, 0xfedc'ba98, 4);
    CHECK(ld(c, mtimecmp_base) == 0x0000'0009'fedc'ba98);
    CHECK(lw(c, mtimecmp_base) == 0xffff'ffff'fedc'ba98);
    // The firmware cannot take its timer (MIE = 0, MTIE = 0): the physical timer stays off.
    CHECK(m.board.mtimecmp(0) == ~u64{0});
    c.csrw(csr::mie, 0x80);
    c.csrs(csr::mstatus, mie_bit);
    CHECK(m.board.mtimecmp(0) == 0x0000'0009'fedc'ba98);
}

TEST_CASE("MTIP: delivered when the time passes the firmware's mtimecmp", "[virt][clint][interrupt]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    store(c, mtimecmp_base, 500);
    CHECK((c.csrr(csr::mip) & 0x80) == 0);
    c.csrw(csr::mie, 0x80);
    c.csrs(csr::mstatus, mie_bit);
    CHECK(m.board.mtimecmp(0) == 500);
    c.jump(0x8010'0c00);
    m.board.advance_time(499);
    c.settle();
    CHECK(c.pc() == 0x8010'0c00);
    m.board.advance_time(1);  // mtime >= mtimecmp: MTIP (3.2.1)
    c.settle();
    c.expect_delivered(irq(7), 0, 0x8010'0c00);
    CHECK((c.csrr(csr::mip) & 0x80) == 0x80);
    // The handler moves the deadline: MTIP clears, the physical timer follows after mret.
    store(c, mtimecmp_base, 1500);
    CHECK((c.csrr(csr::mip) & 0x80) == 0);
    c.exec(enc::mret);
    CHECK(c.pc() == 0x8010'0c00);
    CHECK(m.board.mtimecmp(0) == 1500);
    CHECK_FALSE(m.board.mtip(0));
}

TEST_CASE("msip of this hart: bit 0 only, MSIP follows it", "[virt][clint][interrupt]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    CHECK(lw(c, msip_base) == 0);
    store(c, msip_base, 1, 4);
    CHECK(lw(c, msip_base) == 1);
    CHECK((c.csrr(csr::mip) & 0x8) == 0x8);
    CHECK_FALSE(m.board.msip(0));  // the physical msip is the monitor's doorbell, not rung for oneself
    store(c, msip_base, 0xffff'fffe, 4);
    CHECK(lw(c, msip_base) == 0);
    CHECK((c.csrr(csr::mip) & 0x8) == 0);
    store(c, msip_base, 1, 4);
    c.csrw(csr::mie, 0x8);
    const step s = c.exec(enc::csrrsi(0, csr::mstatus, 8));
    c.expect_delivered(irq(3), 0, s.pc_before + 4);
}

TEST_CASE("msip of another hart rings its doorbell; it takes MSI", "[virt][clint][interrupt][smp]") {
    machine m{qemu_h::make(), 2};
    cpu& a = m[0];
    cpu& b = m[1];
    a.boot_with_vector();
    b.boot_with_vector();
    CHECK(b.csrr(csr::mhartid) == 1);
    store(b, mtimecmp_base + 8, ~u64{0});  // hart 1 quiets its own timer
    b.csrw(csr::mie, 0x8);

    SECTION("the other hart runs its firmware with MIE = 1") {
        b.csrs(csr::mstatus, mie_bit);
        b.jump(0x8010'0d00);
        store(a, msip_base + 4, 1, 4);
        CHECK(m.board.msip(1));        // the doorbell: hart 1's physical msip
        CHECK_FALSE(m.board.msip(0));
        CHECK((a.csrr(csr::mip) & 0x8) == 0);
        b.settle();                    // hart 1 takes the physical MSI
        CHECK_FALSE(m.board.msip(1));  // the monitor answered the doorbell
        b.expect_delivered(irq(3), 0, 0x8010'0d00);
        CHECK(lw(b, msip_base + 4) == 1);
        store(b, msip_base + 4, 0, 4);
        CHECK((b.csrr(csr::mip) & 0x8) == 0);
    }
    SECTION("the other hart runs its firmware with MIE = 0: pending, not taken") {
        b.jump(0x8010'0d00);
        store(a, msip_base + 4, 1, 4);
        b.settle();
        CHECK(b.pc() == 0x8010'0d00);
        CHECK((b.csrr(csr::mip) & 0x8) == 0x8);
        const step s = b.exec(enc::csrrsi(0, csr::mstatus, 8));
        b.expect_delivered(irq(3), 0, s.pc_before + 4);
    }
    SECTION("the other hart runs the OS: taken whatever MIE") {
        b.enter_os(os_entry);
        store(a, msip_base + 4, 1, 4);
        b.settle();
        b.expect_delivered(irq(3), 0, os_entry);
    }
}

TEST_CASE("mtimecmp of another hart: its monitor reprograms its timer", "[virt][clint][smp]") {
    machine m{qemu_h::make(), 2};
    cpu& a = m[0];
    cpu& b = m[1];
    a.boot_with_vector();
    b.boot_with_vector();
    store(b, mtimecmp_base + 8, ~u64{0});
    b.csrw(csr::mie, 0x80);
    b.csrs(csr::mstatus, mie_bit);
    CHECK(m.board.mtimecmp(1) == ~u64{0});
    store(a, mtimecmp_base + 8, 0x700);
    CHECK(ld(a, mtimecmp_base + 8) == 0x700);
    CHECK(ld(b, mtimecmp_base + 8) == 0x700);
    b.settle();  // the doorbell (if any) is answered
    // Hart 1's physical timer carries its firmware's new deadline.
    CHECK(m.board.mtimecmp(1) == 0x700);
    b.jump(0x8010'0e00);
    m.board.advance_time(0x700);
    b.settle();
    b.expect_delivered(irq(7), 0, 0x8010'0e00);
}

TEST_CASE("hart ids that are not indices address the CLINT by hart id", "[virt][clint][smp]") {
    // One hart whose id is 7: its msip is at 0x200001c, its mtimecmp at 0x2004038.
    host::hart_config config = rv64gc::make();
    config.mhartid = 7;
    board_type b7{1};
    b7.set_hart_ids({7});
    monitor_type mon{b7};
    host::simulated_hart hw{config};
    b7.connect(0, hw);
    virt::hart h{};
    REQUIRE(mon.boot_hart(hw, h, 0, 7, device_tree, boot_info) == boot_error::none);
    CHECK(h.x[10] == 7);  // a0 = hart id
    hw.resume(h);
    // The firmware stores 1 to msip of hart 7 (0x200001c) and reads mhartid.
    const u64 pc = hw.peek_csr(csr::mepc).value();
    hw.place_instruction(pc, enc::sw(5, 6, 0).bits);
    h.x[5] = 1;
    h.x[6] = msip_base + 4 * 7;
    hw.trap(riscv::exception::store_access_fault, msip_base + 4 * 7, privilege::user, false, pc);
    if (!mon.fast_trap(hw, h)) mon.handle_trap(hw, h);
    CHECK(hw.peek_csr(csr::mepc).value() == pc + 4);
    hw.resume(h);
    // mip.MSIP is set for this hart (3.1.9) ...
    hw.place_instruction(pc + 4, enc::csrrs(7, csr::mip, 0));
    hw.trap(riscv::exception::illegal_instruction, enc::csrrs(7, csr::mip, 0), privilege::user, false, pc + 4);
    if (!mon.fast_trap(hw, h)) mon.handle_trap(hw, h);
    CHECK((h.x[7] & 0x8) == 0x8);
    CHECK(hw.peek_csr(csr::mepc).value() == pc + 8);
}

TEST_CASE("CLINT accesses of other sizes or misaligned are access faults", "[virt][clint]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // The CLINT's registers are 32 and 64 bits wide; QEMU faults other sizes.
    SECTION("sh to msip") {
        c.h.x[6] = msip_base;
        const u64 pc = c.pc();
        c.access(enc::sh(5, 6, 0));
        c.expect_delivered(7, msip_base, pc);
    }
    SECTION("lb from mtime") {
        c.h.x[6] = mtime_address;
        const u64 pc = c.pc();
        c.access(enc::lb(10, 6, 1));
        c.expect_delivered(5, mtime_address + 1, pc);
    }
    SECTION("misaligned lw from mtimecmp: bytes 2..5, as QEMU's CLINT gives them natively") {
        store(c, mtimecmp_base, 0x1122'3344'5566'7788);
        c.h.x[6] = mtimecmp_base + 2;
        CHECK(c.access(enc::lw(10, 6, 0)).advanced);
        CHECK(c.h.x[10] == 0x3344'5566);
    }
}

TEST_CASE("wfi from the firmware", "[virt][clint][wfi]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    store(c, mtimecmp_base, ~u64{0});  // no timer
    c.hw.log().clear();

    SECTION("nothing enabled in mie: a nop (3.3.3 allows it)") {
        const step s = c.exec(enc::wfi);
        CHECK(s.advanced);
        CHECK(c.hw.log().count<host::wfi_event>() == 0);
        CHECK(m.board.read_time() == 0);
    }
    SECTION("an enabled interrupt already pending: returns at once") {
        store(c, msip_base, 1, 4);
        c.csrw(csr::mie, 0x8);
        const step s = c.exec(enc::wfi);
        CHECK(s.advanced);
        CHECK(c.hw.log().count<host::wfi_event>() == 0);
    }
    SECTION("MTIE enabled, MIE = 0: sleeps until the deadline, then goes on") {
        store(c, mtimecmp_base, 2000);
        c.csrw(csr::mie, 0x80);
        const step s = c.exec(enc::wfi);
        CHECK(s.advanced);
        CHECK(m.board.read_time() == 2000);
        CHECK(c.hw.log().count<host::wfi_event>() >= 1);
        CHECK((c.csrr(csr::mip) & 0x80) == 0x80);
    }
    SECTION("MTIE enabled, MIE = 1: the interrupt is taken after the wfi") {
        store(c, mtimecmp_base, 2000);
        c.csrw(csr::mie, 0x80);
        c.csrs(csr::mstatus, mie_bit);
        const step s = c.exec(enc::wfi);
        c.expect_delivered(irq(7), 0, s.pc_before + 4);
        CHECK(m.board.read_time() == 2000);
    }
    SECTION("no spurious wake-up: physical wakes before the deadline keep it asleep") {
        // Natively the hart sleeps until its interrupt; OpenSBI 1.1's HSM
        // wait loop is only correct if it does (docs/virtual-hart.md).
        const u64 deadline = u64{1} << 40;
        store(c, mtimecmp_base, deadline);
        c.csrw(csr::mie, 0x80);
        unsigned wakes = 0;
        c.hw.set_wfi_hook([&](host::simulated_hart&) {
            ++wakes;
            if (wakes < 3)
                m.board.advance_time(10'000'000);  // a second each time, nothing pending
            else
                m.board.write_time(deadline);
        });
        const step s = c.exec(enc::wfi);
        CHECK(s.advanced);
        CHECK(wakes == 3);
        CHECK(m.board.read_time() == deadline);
        CHECK((c.csrr(csr::mip) & 0x80) == 0x80);
    }
    SECTION("a delegated interrupt enabled in mie wakes it, and is not taken (3.3.3)") {
        c.csrw(csr::mideleg, 0x2);
        c.csrw(csr::mie, 0x2);
        c.csrs(csr::mstatus, mie_bit);
        c.csrs(csr::mip, 0x2);
        const step s = c.exec(enc::wfi);
        CHECK(s.advanced);
    }
}

TEST_CASE("wfi wakes when another hart rings msip", "[virt][clint][wfi][smp]") {
    machine m{qemu_h::make(), 2};
    cpu& a = m[0];
    cpu& b = m[1];
    a.boot_with_vector();
    b.boot_with_vector();
    store(a, mtimecmp_base, u64{1} << 40);
    store(b, mtimecmp_base + 8, u64{1} << 40);
    a.csrw(csr::mie, 0x88);
    // While hart 0 sleeps, hart 1's firmware stores 1 to hart 0's msip. The
    // hook runs inside the monitor's wfi: no test assertions there.
    bool rang = false;
    a.hw.set_wfi_hook([&](host::simulated_hart&) {
        if (rang) return;
        rang = true;
        const u64 pc = b.hw.peek_csr(csr::mepc).value();
        b.hw.place_instruction(pc, enc::sw(5, 6, 0).bits);
        b.h.x[5] = 1;
        b.h.x[6] = msip_base;
        b.hw.trap(riscv::exception::store_access_fault, msip_base, privilege::user, false, pc);
        if (!m.monitor.fast_trap(b.hw, b.h)) m.monitor.handle_trap(b.hw, b.h);
        b.hw.resume(b.h);
    });
    const step s = a.exec(enc::wfi);
    CHECK(rang);
    CHECK(s.advanced);
    CHECK(m.board.read_time() == 0);
    CHECK((a.csrr(csr::mip) & 0x8) == 0x8);
    CHECK_FALSE(m.board.msip(0));  // the doorbell was answered
}

TEST_CASE("a store that makes MTIP pending is followed by the interrupt", "[virt][clint][interrupt]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    store(c, mtimecmp_base, ~u64{0});
    c.csrw(csr::mie, 0x80);
    c.csrs(csr::mstatus, mie_bit);
    m.board.set_time(50);
    c.h.x[6] = mtimecmp_base;
    c.h.x[5] = 50;
    const step s = c.access(enc::sd(5, 6, 0));
    c.expect_delivered(irq(7), 0, s.pc_before + 4);  // mepc after the store (it completed)
    SECTION("a compressed store: mepc = pc + 2") {
        store(c, mtimecmp_base, ~u64{0});
        c.return_to(0x8010'1000);
        c.h.x[8] = mtimecmp_base;
        c.h.x[9] = 0;
        const step t = c.access(enc::c_sd(9, 8, 0));
        c.expect_delivered(irq(7), 0, t.pc_before + 2);
    }
}

TEST_CASE("the OS reaches the CLINT where the firmware's PMP lets it, as natively", "[virt][clint][world]") {
    // Natively an S-mode access to the CLINT succeeds when the firmware's PMP
    // allows it (3.7.1); under the monitor the OS then sees the CLINT the
    // firmware sees.
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    store(c, mtimecmp_base, 0x4444);
    m.board.set_time(0x1234);
    SECTION("PMP lets S read and write everything") {
        c.csrw(csr::pmpaddr0, 0x003f'ffff'ffff'ffff);
        c.csrw(csr::pmpcfg0, 0x1f);
        c.enter_os(os_entry);
        CHECK(ld(c, mtime_address) == 0x1234);
        CHECK(ld(c, mtimecmp_base) == 0x4444);
        CHECK(c.mode() == privilege::supervisor);
    }
    SECTION("PMP gives S nothing there: the access fault goes to the firmware") {
        c.csrw(csr::pmpaddr0, 0x2017'ffff);  // RAM only
        c.csrw(csr::pmpcfg0, 0x1f);
        c.enter_os(os_entry);
        c.h.x[6] = mtime_address;
        c.access(enc::ld(10, 6, 0));
        c.expect_delivered(5, mtime_address, os_entry);
    }
}

TEST_CASE("mtime writes move the board's time; the other harts are told", "[virt][clint][smp]") {
    machine m{qemu_h::make(), 2};
    cpu& a = m[0];
    cpu& b = m[1];
    a.boot_with_vector();
    b.boot_with_vector();
    m.board.set_time(0x0000'0002'0000'0010);
    const u64 doorbells = m.board.ipis_sent();
    store(a, mtime_address, 0x5000);
    CHECK(m.board.read_time() == 0x5000);
    CHECK(m.board.ipis_sent() > doorbells);  // hart 1 must reprogram its timer
    CHECK(m.board.msip(1));
    store(a, mtime_address + 4, 0x3, 4);  // the high half only
    CHECK(m.board.read_time() == 0x0000'0003'0000'5000);
    CHECK(ld(b, mtime_address) == 0x0000'0003'0000'5000);
}

TEST_CASE("mtime at 2^64-1: the monitor takes no timer interrupt nobody asked for", "[virt][clint][interrupt][smp]") {
    // Fuzz finding F1. MTIP is pending while mtime >= mtimecmp (3.2.1): at
    // mtime = 2^64-1 it is pending for every mtimecmp, all ones included, so
    // no comparator value means "never". Nothing here asked for a timer
    // interrupt (the firmware's MTIE is 0, the monitor has no deadline): every
    // hart goes on running its guest. The firmware still reads MTIP pending
    // in its mip, as the hardware would show it.
    machine m{qemu_h::make(), 2};
    cpu& a = m[0];
    cpu& b = m[1];
    a.boot_with_vector();
    b.boot_with_vector();
    b.jump(0x8010'0c00);
    store(a, mtime_address, ~u64{0});  // the firmware's emulated store (settles after it)
    CHECK(m.board.read_time() == ~u64{0});
    const u64 after_store = a.pc();
    a.settle();
    CHECK(a.pc() == after_store);
    b.settle();  // its doorbell: the monitor reprograms its timer, then b runs on
    CHECK(b.pc() == 0x8010'0c00);
    CHECK(b.mode() == privilege::user);
    store(a, mtimecmp_base, ~u64{0});
    CHECK((a.csrr(csr::mip) & 0x80) == 0x80);  // 2^64-1 >= 2^64-1
    a.enter_os(os_entry);
    a.settle();
    CHECK(a.pc() == os_entry);
    CHECK(a.mode() == privilege::supervisor);
}

TEST_CASE("an access fault at an FP load to the CLINT while FS = Off: delivered, no f register touched",
          "[virt][clint][fp]") {
    // Fuzz finding F5. With mstatus.FS = Off an FP load or store is an
    // illegal instruction (3.1.6.6), never an access fault: an access fault
    // at a pc that holds one means the instruction changed after the trap
    // (another hart rewrote it). The monitor, which reads the instruction
    // back, must not emulate it: the f registers are off limits with FS =
    // Off (in M-mode too), and the fault the hart raised is delivered.
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrc(csr::mstatus, 0x6000);  // FS = Off
    constexpr u32 flw_f8_x6 = (6u << 15) | (2u << 12) | (8u << 7) | 0x07;  // flw f8, 0(x6)
    c.jump(0x8010'0c00);
    c.hw.poke<u32>(0x8010'0c00, flw_f8_x6);
    c.h.x[6] = mtime_address;
    c.trap(riscv::exception::load_access_fault, mtime_address);
    c.expect_delivered(5, mtime_address, 0x8010'0c00);
    CHECK(c.hw.misuses().empty());
}

TEST_CASE("reading another hart's msip and mtimecmp; harts that do not exist", "[virt][clint][smp]") {
    machine m{rv64gc::make(), 2};
    cpu& a = m[0];
    cpu& b = m[1];
    a.boot_with_vector();
    b.boot_with_vector();
    store(b, msip_base + 4, 1, 4);
    store(b, mtimecmp_base + 8, 0x0000'0077'0000'0066);
    CHECK(lw(a, msip_base + 4) == 1);
    CHECK(ld(a, mtimecmp_base + 8) == 0x0000'0077'0000'0066);
    CHECK(lw(a, mtimecmp_base + 12) == 0x77);
    // Hart id 2 does not exist on this board: reads zero, writes do nothing.
    store(a, msip_base + 8, 1, 4);
    CHECK(lw(a, msip_base + 8) == 0);
    store(a, mtimecmp_base + 16, 0x99);
    CHECK(ld(a, mtimecmp_base + 16) == 0);
    CHECK(m.board.misuses().empty());
}
