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
    CHECK(c.hw.peek_csr(csr::mie).value() == 0x8);  // the monitor's MSIE (MIE = 0; no deadline: no MTIE)
    CHECK(c.hw.check_access(0x8003'0000, 8, access_type::store, privilege::user).allowed);

    // ---- mret to S at the OS's entry.
    c.enter_os(os_entry);
    CHECK(c.mode() == privilege::supervisor);
    CHECK(c.hw.peek_csr(csr::satp).value() == 0);  // the OS's satp: still 0
    CHECK(c.hw.peek_csr(csr::medeleg).value() == 0xb109);
    CHECK(c.hw.peek_csr(csr::mideleg).value() == 0x666);
    CHECK(c.hw.peek_csr(csr::mcounteren).value() == 0x7);
    CHECK((c.hw.peek_csr(csr::mstatus).value() & 0x70'0000) == 0x40'0000);  // TSR only
    CHECK(c.hw.peek_csr(csr::mie).value() == 0x808);  // MEIE and the monitor's MSIE (no timer wanted: no MTIE)
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
    CHECK(c.hw.peek_csr(csr::mie).value() == 0x8);
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

// ---- the trap handler's first instruction, run during the world switch ----

TEST_CASE("a world switch runs the firmware's first csrrw tp, mscratch, tp itself", "[virt][world][vector]") {
    // Natively the firmware executes it first thing in its handler (unpriv.
    // spec 9.1: rd = the CSR's old value, the CSR = rs1's old value): it then
    // stands at mtvec + 4 with tp and mscratch swapped, as after the monitor's switch.
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    REQUIRE(c.boot() == boot_error::none);
    c.hw.place_instruction(firmware_vector, enc::csrrw(4, csr::mscratch, 4));
    c.csrw(csr::mtvec, firmware_vector);
    c.csrw(csr::mscratch, 0x8011'0000);
    c.enter_os(os_entry);
    c.h.x[4] = 0x7777;  // the OS's tp
    c.trap(riscv::exception::ecall_from_s, 0);
    CHECK(c.pc() == firmware_vector + 4);
    CHECK(c.mode() == privilege::user);
    CHECK(c.h.x[4] == 0x8011'0000);
    CHECK(c.csrr(csr::mscratch) == 0x7777);
    CHECK(c.csrr(csr::mepc) == os_entry);
    CHECK(c.csrr(csr::mcause) == 9);
    // The firmware swaps back and returns; the next call does the same.
    c.csrw(csr::mscratch, 0x8011'0000);
    c.h.x[4] = 0x7777;
    c.csrw(csr::mepc, os_entry + 4);
    c.exec(enc::mret);
    REQUIRE(c.mode() == privilege::supervisor);
    c.trap(riscv::exception::ecall_from_s, 0);
    CHECK(c.pc() == firmware_vector + 4);
    CHECK(c.h.x[4] == 0x8011'0000);
    // The instruction is read at every switch: rewritten, it is the firmware's to run.
    c.csrw(csr::mscratch, 0x8011'0000);
    c.h.x[4] = 0x7777;
    c.hw.place_instruction(firmware_vector, 0x0000'0013);  // nop
    c.csrw(csr::mepc, os_entry + 8);
    c.exec(enc::mret);
    c.trap(riscv::exception::ecall_from_s, 0);
    CHECK(c.pc() == firmware_vector);
    CHECK(c.h.x[4] == 0x7777);
}

TEST_CASE("the firmware runs its first instruction itself where the monitor must not", "[virt][world][vector]") {
    struct variant {
        const char* what;
        u32 first;        // the instruction at the vector
        u64 vector;       // mtvec
        bool lock_vector; // a locked PMP entry (R, no X) over the vector: M-mode cannot fetch there (3.7.1)
    };
    const variant variants[] = {
        {"csrrw with rd != rs1", enc::csrrw(2, csr::mscratch, 4), firmware_vector, false},
        {"csrrw x0, mscratch, x0", enc::csrrw(0, csr::mscratch, 0), firmware_vector, false},
        {"csrrw tp, mepc, tp", enc::csrrw(4, csr::mepc, 4), firmware_vector, false},
        {"a vector the firmware may not execute", enc::csrrw(4, csr::mscratch, 4), firmware_vector, true},
        {"a vector outside RAM", enc::csrrw(4, csr::mscratch, 4), 0x1000, false},
    };
    for (const variant& v : variants) {
        INFO(v.what);
        machine m{qemu_h::make()};
        cpu& c = m.hart0();
        REQUIRE(c.boot() == boot_error::none);
        if (v.vector == firmware_vector) c.hw.place_instruction(firmware_vector, v.first);
        c.csrw(csr::mtvec, v.vector);
        c.csrw(csr::mscratch, 0x8011'0000);
        if (v.lock_vector) {
            c.csrw(csr::pmpaddr0, (firmware_vector >> 2) | 0x1ff);  // NAPOT, 4 KiB
            c.csrw(csr::pmpaddr1, 0x003f'ffff'ffff'ffff);           // NAPOT, everything
            c.csrw(csr::pmpcfg0, 0x1f'99);                          // L|NAPOT|R; NAPOT|RWX
        }
        c.enter_os(os_entry);
        c.h.x[4] = 0x7777;
        c.h.x[2] = 0x2222;
        c.trap(riscv::exception::ecall_from_s, 0);
        CHECK(c.pc() == v.vector);
        CHECK(c.h.x[4] == 0x7777);
        CHECK(c.h.x[2] == 0x2222);
        CHECK(c.h.csr.mscratch == 0x8011'0000);
    }
}

TEST_CASE("an interrupt entering a vectored handler is not run by the monitor", "[virt][world][vector]") {
    // Vectored mode: the machine timer interrupt enters at base + 4 * 7 (3.1.7).
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    REQUIRE(c.boot() == boot_error::none);
    c.hw.place_instruction(firmware_vector, enc::csrrw(4, csr::mscratch, 4));
    c.hw.place_instruction(firmware_vector + 28, enc::csrrw(4, csr::mscratch, 4));
    c.csrw(csr::mtvec, firmware_vector | 1);
    c.csrw(csr::mscratch, 0x8011'0000);
    c.h.x[5] = 0x9000;
    c.h.x[6] = mtimecmp0;
    REQUIRE(c.access(enc::sd(5, 6, 0)).advanced);
    c.csrw(csr::mie, 0x80);
    c.enter_os(os_entry);
    c.h.x[4] = 0x7777;
    m.board.set_time(0x9000);
    c.settle();
    CHECK(c.pc() == firmware_vector + 28);
    CHECK(c.csrr(csr::mcause) == (riscv::mcause::interrupt::mask | 7));
    CHECK(c.h.x[4] == 0x7777);
}

TEST_CASE("an mret into the OS takes the firmware's timer before a lower-priority interrupt", "[virt][world][interrupt]") {
    // Both pending and enabled when the OS starts: MTI comes before SSI
    // (priv. spec 3.1.9), even where the physical timer has not fired yet.
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    REQUIRE(c.boot() == boot_error::none);
    c.csrw(csr::mtvec, firmware_vector);
    m.board.set_time(0x9000);
    c.h.x[5] = 0x100;
    c.h.x[6] = mtimecmp0;
    REQUIRE(c.access(enc::sd(5, 6, 0)).advanced);  // the deadline has passed
    c.csrw(csr::mie, 0x82);                          // MTIE, SSIE
    c.csrs(csr::mip, 0x2);                           // SSIP
    c.csrw(csr::mepc, os_entry);
    c.csrc(csr::mstatus, riscv::mstatus::mpp::mask);
    c.csrs(csr::mstatus, riscv::mstatus::mpp::make(1));
    c.exec(enc::mret);  // the interrupt is taken at the OS's first instruction
    c.settle();
    CHECK(c.pc() == firmware_vector);
    CHECK(c.csrr(csr::mcause) == (riscv::mcause::interrupt::mask | 7));
    CHECK(c.csrr(csr::mepc) == os_entry);
}

// ---- the fast path's world switches against the general path ----

namespace {

/// A small deterministic generator (the runs must be reproducible).
struct lcg {
    u64 state;
    u64 next() noexcept {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return state >> 33;
    }
    bool coin() noexcept { return (next() & 1) != 0; }
    u64 pick(std::initializer_list<u64> values) noexcept {
        return values.begin()[next() % values.size()];
    }
};

/// Everything a trap can change: the virtual hart, the physical hart, the timer.
void check_same(machine& a, machine& b) {
    cpu& x = a.hart0();
    cpu& y = b.hart0();
    CHECK(x.h.pc == y.h.pc);
    check_same_state(x, y, {static_cast<u16>(csr::mstatus), static_cast<u16>(csr::mie), static_cast<u16>(csr::mip),
                            static_cast<u16>(csr::mepc), static_cast<u16>(csr::satp), static_cast<u16>(csr::medeleg),
                            static_cast<u16>(csr::mideleg), static_cast<u16>(csr::mcounteren),
                            static_cast<u16>(csr::pmpcfg0), static_cast<u16>(csr::pmpcfg2),
                            static_cast<u16>(csr::sstatus), static_cast<u16>(csr::sepc)});
    CHECK(a.board.mtimecmp(0) == b.board.mtimecmp(0));
    CHECK(a.board.msip(0) == b.board.msip(0));
}

/// One scripted round of OS → firmware → OS with the choices `g` makes, played
/// on both machines alike.
void play_round(machine& a, machine& b, lcg& g) {
    const u64 time = 0x1000 + g.next() % 0x100;
    const u64 deadline = g.pick({time - 1, time + 0x100, ~u64{0}});
    const u64 fw_mie = g.pick({0x0, 0x8, 0x80, 0x88, 0x808, 0x888});
    const bool msip = g.next() % 4 == 0;
    const u64 vector_insn = g.pick({enc::csrrw(4, csr::mscratch, 4), enc::csrrw(2, csr::mscratch, 2),
                                    enc::csrrw(10, csr::mscratch, 11), 0x0000'0013});
    const u64 target_mode = g.pick({0, 1, 1, 1, 3});
    const bool mpie = g.coin();
    const bool mprv = g.coin();
    const u64 os_sie = g.pick({0x0, 0x2, 0x220, 0x222});
    u64 regs[32];
    for (u64& r : regs) r = g.next();
    for (machine* m : {&a, &b}) {
        cpu& c = m->hart0();
        m->board.set_time(time);
        c.hw.place_instruction(firmware_vector, static_cast<u32>(vector_insn));
        c.hw.poke_csr(csr::sie, os_sie);
        for (unsigned i = 1; i < 32; ++i) c.h.x[i] = regs[i];
        c.trap(riscv::exception::ecall_from_s, 0);  // the first world switch
        if (c.mode() != privilege::user) continue;  // (cannot happen: the firmware takes an ecall)
        if (c.pc() != firmware_vector && c.pc() != firmware_vector + 4) continue;
        // The firmware answers: its timer, its msip, mie, then mepc, mstatus, mret.
        c.h.x[5] = deadline;
        c.h.x[6] = mtimecmp0;
        (void)c.access(enc::sd(5, 6, 0));
        c.h.x[5] = msip ? 1 : 0;
        c.h.x[6] = 0x200'0000;
        (void)c.access(enc::sw(5, 6, 0));
        c.csrw(csr::mie, fw_mie);
        c.csrw(csr::mepc, c.h.csr.mepc + 4);
        u64 status = c.h.csr.mstatus;
        status = (status & ~u64{0x1800}) | (target_mode << 11);
        status = (status & ~u64{0x80}) | (mpie ? 0x80 : 0);
        status = (status & ~u64{0x2'0000}) | (mprv ? 0x2'0000 : 0);
        c.csrw(csr::mstatus, status);
        c.exec(enc::mret);  // the second world switch (or an mret within vM-mode)
        if (c.mode() == privilege::user && c.h.world == virt::world::firmware) {
            // Still the firmware (MPP = M, or an interrupt taken at once): back to the OS.
            c.csrw(csr::mie, 0);
            c.csrw(csr::mepc, os_entry);
            c.csrw(csr::mstatus, (c.h.csr.mstatus & ~u64{0x1800}) | 0x800);
            c.exec(enc::mret);
        }
        c.jump(os_entry + 0x100);
    }
}

template <class Config>
void compare_world_switches(u64 seed) {
    machine general{Config::make()};
    machine fast{Config::make()};
    general.hart0().fast_path = false;
    for (machine* m : {&general, &fast}) {
        cpu& c = m->hart0();
        REQUIRE(c.boot() == boot_error::none);
        c.csrw(csr::mtvec, firmware_vector);
        c.csrw(csr::mscratch, 0x8011'0000);
        c.csrw(csr::medeleg, 0xb109);
        c.csrw(csr::mideleg, 0x222);
        c.csrw(csr::mcounteren, 0x7);
        c.csrw(csr::pmpaddr0, 0x2000'7fff);
        c.csrw(csr::pmpaddr1, 0x003f'ffff'ffff'ffff);
        c.csrw(csr::pmpcfg0, 0x1f'18);
        c.enter_os(os_entry);
    }
    check_same(general, fast);
    lcg g{seed};
    for (int round = 0; round < 8; ++round) {
        INFO("seed " << seed << " round " << round);
        lcg same = g;
        play_round(general, fast, same);
        g = same;
        check_same(general, fast);
    }
}

}  // namespace

TEST_CASE("the fast path's world switches leave the state the general path leaves", "[virt][world][fast]") {
    for (u64 seed = 1; seed <= 40; ++seed) {
        compare_world_switches<qemu_h>(seed);
        compare_world_switches<rv64gc>(seed);
    }
}

TEST_CASE("a hart without S-mode runs the firmware with the physical mstatus.TW set", "[virt][world][wfi]") {
    // Priv. 3.1.6.5: without S-mode, wfi in U-mode traps only when TW = 1. The
    // firmware runs physically in U-mode, so its wfi reaches the monitor's
    // emulation only with TW set (QEMU sifive_u's E51 slept in it otherwise);
    // the OS, in U-mode, runs with the firmware's own TW.
    constexpr u64 tw = u64{1} << 21;
    machine m{mu::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    CHECK((c.hw.peek_csr(csr::mstatus).value() & tw) == tw);
    CHECK((c.csrr(csr::mstatus) & tw) == 0);  // the firmware's view: its own TW, 0 at reset

    c.enter_os(os_entry, privilege::user);
    REQUIRE(c.mode() == privilege::user);
    CHECK((c.hw.peek_csr(csr::mstatus).value() & tw) == 0);
    c.exec(0x0000'000b);  // custom-0: illegal, delivered to the firmware
    c.expect_delivered(2, 0x0000'000b, os_entry);
    CHECK((c.hw.peek_csr(csr::mstatus).value() & tw) == tw);

    c.csrs(csr::mstatus, tw);
    CHECK((c.hw.peek_csr(csr::mstatus).value() & tw) == tw);
    c.enter_os(os_entry, privilege::user);
    CHECK((c.hw.peek_csr(csr::mstatus).value() & tw) == tw);
    c.exec(0x0000'000b);
    c.expect_delivered(2, 0x0000'000b, os_entry);
    c.csrc(csr::mstatus, tw);
    CHECK((c.csrr(csr::mstatus) & tw) == 0);
    CHECK((c.hw.peek_csr(csr::mstatus).value() & tw) == tw);
    c.enter_os(os_entry, privilege::user);
    CHECK((c.hw.peek_csr(csr::mstatus).value() & tw) == 0);
    CHECK(c.hw.misuses().empty());
}
