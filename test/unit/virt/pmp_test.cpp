// SPDX-License-Identifier: MIT
// PMP multiplexing (docs/pmp.md): whatever the firmware programs in its
// virtual PMP, the hart's own PMP checker (the host backend's, written from
// priv. spec 3.7.1 independently of the engine) must give
//   - while the OS runs (physical S/U accesses): exactly what the spec's
//     matching rules give for the firmware's virtual entries;
//   - while the firmware runs (physical U-mode = vM-mode): no restriction from
//     unlocked entries, the restriction of locked ones (L binds M-mode);
//   - never any access to the monitor (0x80000000-0x8001ffff) or the CLINT.
// The expected decisions are written out per address from the spec.
#include <vector>

#include "virt_support.hpp"

#include <initializer_list>

using namespace vt;
using host::access_type;

namespace {

using namespace pmp_access;

/// Neither the monitor nor the CLINT, by any mode, for any access.
void check_monitor_and_clint_closed(cpu& c) {
    for (const privilege p : {privilege::user, privilege::supervisor}) {
        for (const access_type t : {R, W, X}) {
            check_pmp(c, p, {{0x8000'0000, 4, t, false}, {0x8000'1000, 8, t, false}, {0x8001'fff8, 8, t, false},
                         {0x8001'fffc, 8, t, false},  // straddles the end of the monitor
                         {0x7fff'fffc, 8, t, false},  // straddles its start
                         {0x200'0000, 4, t, false}, {0x200'4000, 8, t, false}, {0x200'bff8, 8, t, false}});
        }
    }
}

}  // namespace

TEST_CASE("unlocked NAPOT, TOR and NA4 entries: as written for the OS, open for the firmware", "[virt][pmp]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // entry 0: NAPOT [0x80200000, +2 MiB) R X
    // entry 1: OFF, pmpaddr = 0x80400000 (the floor of entry 2)
    // entry 2: TOR [0x80400000, 0x80500000) R W
    // entry 3: NA4 [0x80600000, +4) R
    c.csrw(csr::pmpaddr0, 0x200b'ffff);
    c.csrw(csr::pmpaddr1, 0x2010'0000);
    c.csrw(csr::pmpaddr2, 0x2014'0000);
    c.csrw(csr::pmpaddr3, 0x2018'0000);
    c.csrw(csr::pmpcfg0, 0x11'0b'00'1d);

    SECTION("the firmware runs: unlocked entries do not restrict it") {
        REQUIRE(c.mode() == privilege::user);
        check_pmp(c, privilege::user,
              {{0x8020'0000, 4, W, true}, {0x8040'0000, 4, X, true}, {0x8060'0004, 4, W, true},
               {0x8050'0000, 8, R, true}, {0x8700'0000, 8, W, true},
               // 3.7.1: an entry matching only some bytes fails the access, even in
               // M-mode and unlocked; natively too.
               {0x803f'fffc, 8, R, false}});
        check_monitor_and_clint_closed(c);
    }
    SECTION("the OS runs: the entries apply as written (3.7.1)") {
        c.enter_os(os_entry);
        for (const privilege p : {privilege::supervisor, privilege::user}) {
            check_pmp(c, p,
                  {
                      {0x8020'0000, 4, R, true},  {0x8020'0000, 4, W, false}, {0x8020'0000, 4, X, true},
                      {0x803f'fffc, 4, R, true},  // the last word of entry 0
                      {0x803f'fffc, 8, R, false},  // matches entry 0 partly: fails
                      {0x8040'0000, 8, R, true},  {0x8040'0000, 8, W, true},  {0x8040'0000, 4, X, false},
                      {0x804f'fff8, 8, W, true},  {0x8050'0000, 4, R, false},  // no match: fails for S/U
                      {0x8060'0000, 4, R, true},  {0x8060'0000, 4, W, false}, {0x8060'0004, 4, R, false},
                      {0x8060'0000, 8, R, false},  // NA4 covers 4 bytes only
                      {0x8010'0000, 4, X, false},  // the firmware's own memory: no entry
                  });
        }
        check_monitor_and_clint_closed(c);
    }
}

TEST_CASE("locked entries bind the firmware too", "[virt][pmp]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // entry 0: NAPOT [0x80200000, +2 MiB) R X L; entry 1: NAPOT [0x80400000, +4 MiB) R W X
    c.csrw(csr::pmpaddr0, 0x200b'ffff);
    c.csrw(csr::pmpaddr1, 0x2017'ffff);
    c.csrw(csr::pmpcfg0, 0x1f'9d);

    SECTION("the firmware runs") {
        check_pmp(c, privilege::user,
              {{0x8020'0000, 4, R, true}, {0x8020'0000, 4, X, true}, {0x8020'0000, 4, W, false},
               {0x803f'fff8, 8, W, false}, {0x8040'0000, 8, W, true}, {0x8060'0000, 8, W, true}});
        check_monitor_and_clint_closed(c);
        // Its store there faults and is delivered to it (store access fault, 3.7.1).
        c.h.x[11] = 0x8020'0010;
        const u64 pc = c.pc();
        c.access(enc::sd(10, 11, 0));
        c.expect_delivered(7, 0x8020'0010, pc);
    }
    SECTION("the OS runs") {
        c.enter_os(os_entry);
        check_pmp(c, privilege::supervisor,
              {{0x8020'0000, 4, R, true}, {0x8020'0000, 4, W, false}, {0x8040'0000, 8, W, true},
               {0x807f'fff8, 8, X, true}, {0x8080'0000, 4, R, false}, {0x803f'fffc, 8, R, false}});
        check_monitor_and_clint_closed(c);
    }
    SECTION("a locked entry stays as it is: the firmware cannot unlock it") {
        c.csrw(csr::pmpcfg0, 0x1f'1f);
        c.csrw(csr::pmpaddr0, 0x3fff'ffff);
        CHECK(c.csrr(csr::pmpcfg0) == 0x1f'9d);
        CHECK(c.csrr(csr::pmpaddr0) == 0x200b'ffff);
        check_pmp(c, privilege::user, {{0x8020'0000, 4, W, false}});
    }
}

TEST_CASE("TOR as virtual entry 0 has the floor 0", "[virt][pmp]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::pmpaddr0, 0x2018'0000);  // TOR [0, 0x80600000) R W X
    c.csrw(csr::pmpcfg0, 0x0f);
    c.enter_os(os_entry);
    check_pmp(c, privilege::supervisor,
          {{0x0, 8, R, true}, {0x1000, 4, X, true}, {0x8002'0000, 8, W, true}, {0x805f'fff8, 8, W, true},
           {0x8060'0000, 4, R, false}, {0x805f'fffc, 8, R, false}});
    // The monitor's entries come first: the TOR range does not open them.
    check_monitor_and_clint_closed(c);

    SECTION("and locked") {
        machine m2{qemu_h::make()};
        cpu& d = m2.hart0();
        d.boot_with_vector();
        d.csrw(csr::pmpaddr0, 0x2018'0000);
        d.csrw(csr::pmpcfg0, 0x89);  // L TOR R
        check_pmp(d, privilege::user, {{0x1000, 4, R, true}, {0x1000, 4, W, false}, {0x8060'0000, 4, W, true}});
        check_monitor_and_clint_closed(d);
    }
}

TEST_CASE("the monitor stays closed whatever the firmware programs", "[virt][pmp]") {
    struct setup {
        const char* what;
        u64 pmpaddr0;
        u64 pmpcfg0;
    };
    for (const setup& s : {
             setup{"NAPOT RWX over 0x80000000-0xffffffff", 0x2fff'ffff, 0x1f},
             setup{"the same, locked", 0x2fff'ffff, 0x9f},
             setup{"TOR RWX from 0 to the top of the address space", 0x003f'ffff'ffff'ffff, 0x0f},
             setup{"NAPOT RWX over the whole address space, locked", 0x003f'ffff'ffff'ffff, 0x9f},
             setup{"NA4 RWX on the monitor's first word, locked", 0x2000'0000, 0x97},
         }) {
        DYNAMIC_SECTION(s.what) {
            machine m{qemu_h::make()};
            cpu& c = m.hart0();
            c.boot_with_vector();
            c.csrw(csr::pmpaddr0, s.pmpaddr0);
            c.csrw(csr::pmpcfg0, s.pmpcfg0);
            check_monitor_and_clint_closed(c);  // the firmware runs
            c.enter_os(os_entry);
            check_monitor_and_clint_closed(c);  // the OS runs
            c.trap(riscv::exception::ecall_from_s, 0);
            check_monitor_and_clint_closed(c);  // the firmware again
        }
    }
}

TEST_CASE("the last virtual entry: 11 of 16, 59 of 64", "[virt][pmp]") {
    SECTION("16 PMP entries") {
        machine m{qemu_h::make()};
        cpu& c = m.hart0();
        c.boot_with_vector();
        c.csrw(csr::pmpaddr11, 0x201c'1fff);  // NAPOT [0x80700000, +64 KiB)
        c.csrw(csr::pmpcfg2, 0x1b'00'00'00);  // entry 11: NAPOT R W
        CHECK(c.csrr(csr::pmpcfg2) == 0x1b'00'00'00);
        c.enter_os(os_entry);
        check_pmp(c, privilege::supervisor,
              {{0x8070'0000, 8, W, true}, {0x8070'fff8, 8, R, true}, {0x8071'0000, 4, R, false},
               {0x8070'0000, 4, X, false}});
    }
    SECTION("64 PMP entries") {
        machine m{h64::make()};
        cpu& c = m.hart0();
        c.boot_with_vector();
        c.csrw(csr::pmpaddr59, 0x201c'1fff);
        c.csrw(csr::pmpcfg14, 0x1b'00'00'00);  // entry 59
        CHECK(c.csrr(csr::pmpcfg14) == 0x1b'00'00'00);
        c.enter_os(os_entry);
        check_pmp(c, privilege::supervisor, {{0x8070'0000, 8, W, true}, {0x8071'0000, 4, R, false}});
        check_monitor_and_clint_closed(c);
    }
}

TEST_CASE("every hart protects the monitor before its firmware runs", "[virt][pmp][smp]") {
    machine m{rv64gc::make(), 3};
    for (u32 i = 0; i < 3; ++i) {
        m[i].boot_with_vector();
        INFO("hart " << i);
        check_monitor_and_clint_closed(m[i]);
    }
}

TEST_CASE("virtual MPRV: the firmware's loads and stores as MPP with the OS's PMP", "[virt][pmp][mprv]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // For S and U: [0x80200000, +2 MiB) R W; nothing else.
    c.csrw(csr::pmpaddr0, 0x200b'ffff);
    c.csrw(csr::pmpcfg0, 0x1b);
    c.hw.poke<u64>(0x8020'0000, 0x8877'6655'9abc'def0);
    c.hw.poke<u64>(0x8060'0000, 0x1111'2222'3333'4444);
    // MPRV = 1, MPP = S (3.1.6.3): loads and stores as S-mode; fetches as M.
    c.csrs(csr::mstatus, 0x2'0000 | 0x0800);
    c.hw.log().clear();

    // The firmware's own data accesses no longer go through natively ...
    CHECK_FALSE(c.hw.check_access(0x8020'0000, 8, R, privilege::user).allowed);
    CHECK_FALSE(c.hw.check_access(0x8060'0000, 8, W, privilege::user).allowed);
    // ... but it still fetches its code.
    CHECK(c.hw.check_access(c.pc(), 4, X, privilege::user).allowed);

    SECTION("an S-allowed load is performed as S") {
        c.h.x[11] = 0x8020'0000;
        const step s = c.access(enc::ld(10, 11, 0));
        CHECK(s.advanced);
        CHECK(c.h.x[10] == 0x8877'6655'9abc'def0);
        // The instruction is read back in M-mode; the data access is S's.
        std::vector<host::memory_event> accesses;
        for (const auto& e : c.hw.log().memory_accesses())
            if (e.how.privilege != privilege::machine) accesses.push_back(e);
        REQUIRE(accesses.size() == 1);
        CHECK(accesses[0].how.privilege == privilege::supervisor);
        CHECK(accesses[0].address == 0x8020'0000);
        CHECK(accesses[0].width == 8);
        const step t = c.access(enc::lw(12, 11, 4));  // sign-extended
        CHECK(t.advanced);
        CHECK(c.h.x[12] == 0xffff'ffff'8877'6655);
    }
    SECTION("an S-allowed store is performed as S") {
        c.h.x[11] = 0x8020'0000;
        c.h.x[10] = 0x0102'0304'0506'0708;
        CHECK(c.access(enc::sd(10, 11, 8)).advanced);
        CHECK(c.hw.peek<u64>(0x8020'0008) == 0x0102'0304'0506'0708);
        c.h.x[9] = 0xabcd;
        CHECK(c.access(enc::c_sw(9, 11, 16)).advanced);  // a compressed store: pc + 2
        CHECK(c.hw.peek<u32>(0x8020'0010) == 0xabcd);
    }
    SECTION("an S-denied load faults, delivered to the firmware's mtvec") {
        c.h.x[11] = 0x8060'0000;
        const u64 pc = c.pc();
        c.access(enc::ld(10, 11, 0));
        c.expect_delivered(5, 0x8060'0000, pc);
        // The trap set MPP = M: MPRV stays 1 but means M-mode accesses now.
        CHECK((c.csrr(csr::mstatus) & 0x2'1800) == 0x2'1800);
        c.h.x[11] = 0x8060'0000;
        CHECK(c.access(enc::ld(10, 11, 0)).advanced);
        CHECK(c.h.x[10] == 0x1111'2222'3333'4444);
    }
    SECTION("an S-denied store faults with cause 7") {
        c.h.x[11] = 0x8060'0000;
        const u64 pc = c.pc();
        c.access(enc::sw(10, 11, 4));
        c.expect_delivered(7, 0x8060'0004, pc);
        CHECK(c.hw.peek<u64>(0x8060'0000) == 0x1111'2222'3333'4444);
    }
    SECTION("the monitor stays closed under MPRV") {
        c.h.x[11] = 0x8000'0000;
        const u64 pc = c.pc();
        c.access(enc::ld(10, 11, 0));
        c.expect_delivered(5, 0x8000'0000, pc);
    }
    SECTION("clearing MPRV gives the firmware its own accesses back") {
        c.csrc(csr::mstatus, 0x2'0000);
        CHECK(c.hw.check_access(0x8060'0000, 8, W, privilege::user).allowed);
        c.h.x[11] = 0x8060'0000;
        c.hw.log().clear();
        CHECK(c.access(enc::ld(10, 11, 0)).advanced);
        CHECK(c.hw.log().memory_accesses().empty());  // native: no trap
    }
    SECTION("MPRV with MPP = M does nothing") {
        c.csrs(csr::mstatus, 0x1800);
        CHECK(c.hw.check_access(0x8060'0000, 8, W, privilege::user).allowed);
    }
}

TEST_CASE("virtual MPRV uses the OS's translation (satp), not the firmware's Bare one", "[virt][pmp][mprv]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // S may read and write [0x80400000, +4 MiB), which holds the page table too
    // (page-table reads are S-level accesses checked by PMP, 3.7.1).
    c.csrw(csr::pmpaddr0, 0x2017'ffff);
    c.csrw(csr::pmpcfg0, 0x1b);
    // Sv39 (4.4): root table at 0x80500000; VPN[2] = 1 maps the gigapage
    // 0x40000000 -> 0x80000000 (PTE: PPN 0x80000, D A W R V, not U).
    c.hw.poke<u64>(0x8050'0000 + 8 * 1, 0x2000'00c7);
    c.hw.poke<u64>(0x8060'0000, 0x0bad'f00d'1234'5678);
    c.csrw(csr::satp, 0x8000'0000'0008'0500);
    CHECK(c.hw.peek_csr(csr::satp).value() == 0);  // Bare while the firmware runs
    c.csrs(csr::mstatus, 0x2'0800);               // MPRV, MPP = S

    SECTION("a load through the mapping") {
        c.h.x[11] = 0x4060'0000;
        c.hw.log().clear();
        CHECK(c.access(enc::ld(10, 11, 0)).advanced);
        CHECK(c.h.x[10] == 0x0bad'f00d'1234'5678);
        // Translated by the monitor in software (virt/guest_memory.hpp): the
        // root PTE is read as S, then the data at the physical address, as S.
        std::vector<host::memory_event> accesses;
        for (const auto& e : c.hw.log().memory_accesses())
            if (e.how.privilege != privilege::machine) accesses.push_back(e);
        REQUIRE(accesses.size() == 2);
        CHECK(accesses[0].address == 0x8050'0000 + 8 * 1);  // the root PTE (a gigapage leaf)
        CHECK(accesses[0].width == 8);
        CHECK(accesses[1].address == 0x8060'0000);  // the physical address
        CHECK(accesses[1].how.privilege == privilege::supervisor);
        CHECK(c.hw.peek_csr(csr::satp).value() == 0);  // Bare again for the firmware
    }
    SECTION("an unmapped address: load page fault, mtval = the virtual address") {
        c.h.x[11] = 0x1000;
        const u64 pc = c.pc();
        c.access(enc::lw(10, 11, 8));
        c.expect_delivered(13, 0x1008, pc);
    }
    SECTION("a store through the mapping") {
        c.h.x[11] = 0x4060'0000;
        c.h.x[10] = 0x77;
        CHECK(c.access(enc::sb(10, 11, 3)).advanced);
        CHECK(c.hw.peek<u64>(0x8060'0000) == 0x0bad'f00d'7734'5678);
    }
}

TEST_CASE("MXR set with virtual MPRV reads execute-only pages (OpenSBI's instruction fetch)", "[virt][pmp][mprv]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::pmpaddr0, 0x2017'ffff);
    c.csrw(csr::pmpcfg0, 0x1f);
    // Gigapage 0x40000000 -> 0x80000000, execute-only (X A V).
    c.hw.poke<u64>(0x8050'0000 + 8 * 1, 0x2000'0049);
    c.hw.poke<u32>(0x8060'0000, 0x0000'0073);
    c.csrw(csr::satp, 0x8000'0000'0008'0500);
    c.h.x[11] = 0x4060'0000;
    SECTION("without MXR: load page fault") {
        c.csrs(csr::mstatus, 0x2'0800);
        const u64 pc = c.pc();
        c.access(enc::lw(10, 11, 0));
        c.expect_delivered(13, 0x4060'0000, pc);
    }
    SECTION("with MXR (4.3.1): the load succeeds") {
        c.csrs(csr::mstatus, 0x8'0000 | 0x2'0800);  // MXR, MPRV, MPP = S in one csrs
        CHECK(c.access(enc::load(5, 10, 11, 0)).advanced);  // lhu
        CHECK(c.h.x[10] == 0x0073);
    }
}

TEST_CASE("an AMO under virtual MPRV is performed with MPP's privilege", "[virt][pmp][mprv]") {
    // (Found by this test and fixed: the monitor decoded only integer loads and
    // stores here.) Priv. spec 3.1.6.3: with MPRV = 1, *all* explicit memory
    // accesses (loads, stores, AMOs) are made with MPP's privilege and
    // translation; natively this AMO succeeds.
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::pmpaddr0, 0x200b'ffff);  // S: [0x80200000, +2 MiB) R W
    c.csrw(csr::pmpcfg0, 0x1b);
    c.hw.poke<u32>(0x8020'0100, 40);
    c.csrs(csr::mstatus, 0x2'0800);  // MPRV, MPP = S
    constexpr u32 amoadd_w = 0x0055'a52f;  // amoadd.w a0, t0, (a1)
    c.h.x[5] = 2;
    c.h.x[11] = 0x8020'0100;
    const u64 pc = c.pc();
    c.hw.place_instruction(pc, amoadd_w);
    REQUIRE_FALSE(c.hw.check_access(0x8020'0100, 4, W, privilege::user).allowed);
    c.trap(riscv::exception::store_access_fault, 0x8020'0100);  // an AMO reports a store/AMO fault
    CHECK(c.pc() == pc + 4);
    CHECK(c.h.x[10] == 40);
    CHECK(c.hw.peek<u32>(0x8020'0100) == 42);
}

TEST_CASE("a load at the trap vector that faults only under MPRV is not an endless loop",
          "[virt][pmp][mprv]") {
    // (Found by this test and fixed.) The engine stopped the machine ("the firmware
    // faults at its own trap vector") for any exception whose mepc is the
    // handler's base, assuming the instruction would fault again for ever. With
    // MPRV = 1 and MPP = S the trap itself sets MPP = M (3.1.6.1), so the same
    // load, re-executed at the vector, is an M-mode access and succeeds
    // natively: the firmware goes on, the monitor stops the machine.
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::pmpaddr0, 0x200b'ffff);  // S: [0x80200000, +2 MiB) only
    c.csrw(csr::pmpcfg0, 0x1b);
    c.hw.poke<u64>(0x8060'0000, 0x600d);
    c.csrs(csr::mstatus, 0x2'0800);  // MPRV, MPP = S
    c.jump(firmware_vector);
    c.h.x[11] = 0x8060'0000;
    c.access(enc::ld(10, 11, 0));  // as S: denied; delivered to the vector, MPP = M
    REQUIRE(c.pc() == firmware_vector);
    c.access(enc::ld(10, 11, 0));  // the same instruction again: as M now
    CHECK(c.pc() == firmware_vector + 4);
    CHECK(c.h.x[10] == 0x600d);
    CHECK(c.csrr(csr::mcause) == 5);
    CHECK(c.csrr(csr::mepc) == firmware_vector);
}
