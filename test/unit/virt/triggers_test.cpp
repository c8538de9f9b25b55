// SPDX-License-Identifier: MIT
// The firmware's debug triggers (virt/triggers.hpp, Debug spec 1.0 ch. 5):
// the CSRs as the firmware sees them, and what the physical hart holds in each
// world. Expected tdata1 values are literals from the spec's layouts:
//   mcontrol  (type 2, 5.7.3): m 6, s 4, u 3, execute 2, store 1, load 0, action 15:12, dmode 59
//   mcontrol6 (type 6, 5.7.4): as mcontrol, plus vs 24, vu 23
//   icount    (type 3, 5.7.5): vs 26, vu 25, count 23:10, m 9, s 7, u 6, action 5:0
// While the firmware runs (physically U-mode) only u may be set, for its m;
// while the OS runs, its s, u, vs, vu; m never.
#include "virt_support.hpp"

using namespace vt;

namespace {

constexpr u64 type2 = u64{2} << 60;
constexpr u64 type3 = u64{3} << 60;
constexpr u64 type6 = u64{6} << 60;
constexpr u64 bit(unsigned n) { return u64{1} << n; }

/// QEMU 7.2 virt's hart with its two triggers (types 2 and 6, tinfo).
host::hart_config with_triggers(unsigned types = (1u << 2) | (1u << 6)) {
    host::hart_config c = qemu_h::make();
    c.triggers = 2;
    c.trigger_types = types;
    return c;
}

/// Where the tests' breakpoints point (firmware code, any address will do).
constexpr u64 watched = 0x8012'3450;

}  // namespace

TEST_CASE("discovery finds the triggers, their types and privilege bits", "[virt][triggers]") {
    machine m{with_triggers()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    CHECK(c.h.features.trigger_count == 2);
    CHECK(c.h.features.has_tinfo);
    CHECK(c.h.features.trigger_types == 0x44);
    CHECK(c.h.features.trigger_modes[2] == (1 | 2 | 8));            // u, s, m
    CHECK(c.h.features.trigger_modes[6] == (1 | 2 | 8 | 16 | 32));  // and vu, vs (H)
    // The probe put trigger 0 back as reset left it, and tselect at 0.
    CHECK(c.hw.tdata1_of(0) == type2);
    CHECK(c.hw.tdata1_of(1) == type2);
    CHECK(c.hw.tselect_value() == 0);
    CHECK_FALSE(c.h.triggers_active);
}

TEST_CASE("a hart without triggers: tselect, tdata1 and tinfo are illegal in vM-mode", "[virt][triggers]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    CHECK(c.h.features.trigger_count == 0);
    for (const csr n : {csr::tselect, csr::tdata1, csr::tdata2, csr::tinfo}) {
        const u32 insn = enc::csrrs(5, n, 0);
        const u64 pc = c.pc();
        c.exec(insn);
        c.expect_delivered(2, insn, pc);
        c.return_to(pc + 4);
    }
}

TEST_CASE("tselect, tdata2, tinfo are the hardware's; tcontrol stays illegal", "[virt][triggers]") {
    machine m{with_triggers()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::tselect, 1);
    CHECK(c.csrr(csr::tselect) == 1);
    CHECK(c.hw.tselect_value() == 1);
    c.csrw(csr::tdata2, watched);
    CHECK(c.hw.tdata2_of(1) == watched);
    CHECK(c.csrr(csr::tdata2) == watched);
    CHECK(c.csrr(csr::tinfo) == ((u64{1} << 24) | 0x44));  // version 1 (Debug spec 1.0), types 2 and 6
    c.csrw(csr::tinfo, 0);  // read-only: the write is ignored, as by the hardware
    CHECK(c.csrr(csr::tinfo) == ((u64{1} << 24) | 0x44));

    SECTION("tselect beyond the triggers keeps its value (WARL, 5.7.1)") {
        for (const u64 v : {u64{2}, u64{16}, u64{200}, ~u64{0}}) {
            c.csrw(csr::tselect, v);
            CHECK(c.csrr(csr::tselect) == 1);
            CHECK(c.hw.tselect_value() == 1);
        }
    }
    SECTION("tcontrol and mcontext: absent, as on QEMU 7.2") {
        for (const csr n : {csr::tcontrol, csr::mcontext}) {
            const u32 insn = enc::csrrs(5, n, 0);
            const u64 pc = c.pc();
            c.exec(insn);
            c.expect_delivered(2, insn, pc);
        }
    }
}

TEST_CASE("a trigger for M-mode is a trigger for U-mode while the firmware runs, none while the OS runs",
          "[virt][triggers]") {
    machine m{with_triggers()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::tselect, 0);
    c.csrw(csr::tdata2, watched);
    c.csrw(csr::tdata1, type2 | bit(6) | bit(2));  // m, execute
    CHECK(c.csrr(csr::tdata1) == (type2 | bit(6) | bit(2)));
    CHECK(c.hw.tdata1_of(0) == (type2 | bit(3) | bit(2)));  // u, execute
    CHECK(c.hw.trigger_enabled_in(0, privilege::user));
    CHECK_FALSE(c.hw.trigger_enabled_in(0, privilege::machine));
    CHECK(c.h.triggers_active);

    c.enter_os(os_entry);
    CHECK(c.hw.tdata1_of(0) == (type2 | bit(2)));  // no privilege bit: fires nowhere
    CHECK_FALSE(c.hw.trigger_enabled_in(0, privilege::supervisor));
    CHECK_FALSE(c.hw.trigger_enabled_in(0, privilege::user));

    // The OS calls the firmware: the trigger is the firmware's again.
    c.trap(riscv::exception::ecall_from_s, 0);
    REQUIRE(c.pc() == firmware_vector);
    CHECK(c.hw.tdata1_of(0) == (type2 | bit(3) | bit(2)));
    CHECK(c.csrr(csr::tdata1) == (type2 | bit(6) | bit(2)));
    CHECK(c.hw.tselect_value() == 0);
}

TEST_CASE("triggers for S and U (and VS, VU) fire in the OS only", "[virt][triggers]") {
    machine m{with_triggers()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::tselect, 1);
    c.csrw(csr::tdata2, watched);
    const u64 requested = type6 | bit(24) | bit(23) | bit(4) | bit(3) | bit(0);  // vs, vu, s, u, load
    c.csrw(csr::tdata1, requested);
    CHECK(c.csrr(csr::tdata1) == requested);
    CHECK(c.hw.tdata1_of(1) == (type6 | bit(0)));  // the firmware's U-mode is not the OS's
    CHECK_FALSE(c.hw.trigger_enabled_in(1, privilege::user));
    c.csrw(csr::tselect, 0);

    c.enter_os(os_entry);
    CHECK(c.hw.tdata1_of(1) == requested);
    CHECK(c.hw.trigger_enabled_in(1, privilege::supervisor));
    CHECK(c.hw.trigger_enabled_in(1, privilege::user));
    CHECK(c.hw.trigger_enabled_in(1, privilege::supervisor, true));
    CHECK_FALSE(c.hw.trigger_enabled_in(1, privilege::machine));
    CHECK(c.hw.tselect_value() == 0);  // the firmware's tselect is kept across the switch

    SECTION("the OS's breakpoint exception goes to the firmware as natively (medeleg[3] = 0)") {
        c.trap(riscv::exception::breakpoint, 0);
        c.expect_delivered(3, 0, os_entry);
        CHECK(c.hw.tdata1_of(1) == (type6 | bit(0)));
    }
}

TEST_CASE("a breakpoint exception of the firmware reaches it with the hardware's mtval", "[virt][triggers]") {
    machine m{with_triggers()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::tdata2, watched);
    c.csrw(csr::tdata1, type2 | bit(6) | bit(1));  // m, store
    c.return_to(firmware_entry);
    const u64 pc = c.pc();
    c.trap(riscv::exception::breakpoint, watched);
    c.expect_delivered(3, watched, pc);
    CHECK(riscv::mstatus::mpp::extract(c.csrr(csr::mstatus)) == 3);
}

TEST_CASE("a firmware cannot make a trigger fire in M-mode", "[virt][triggers][attack]") {
    machine m{with_triggers()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::tdata2, watched);

    SECTION("dmode and action 1 (Debug Mode): dmode 0, action 0 (breakpoint)") {
        c.csrw(csr::tdata1, type2 | bit(59) | (u64{1} << 12) | bit(6) | bit(2));
        CHECK(c.hw.tdata1_of(0) == (type2 | bit(3) | bit(2)));
        CHECK(c.csrr(csr::tdata1) == (type2 | bit(6) | bit(2)));
    }
    SECTION("mcontrol's timing 1 (after the instruction) becomes 0: the action could follow the trap into the monitor") {
        c.csrw(csr::tdata1, type2 | bit(18) | bit(6) | bit(1));
        CHECK(c.hw.tdata1_of(0) == (type2 | bit(3) | bit(1)));
        CHECK(c.csrr(csr::tdata1) == (type2 | bit(6) | bit(1)));
    }
    SECTION("every bit set, in every world: the hart never holds m") {
        c.csrw(csr::tdata1, type2 | (bit(59) - 1));
        CHECK((c.hw.tdata1_of(0) & bit(6)) == 0);
        CHECK((c.hw.tdata1_of(0) & bit(59)) == 0);
        CHECK((c.hw.tdata1_of(0) & (u64{0xf} << 12)) == 0);
        CHECK_FALSE(c.hw.trigger_enabled_in(0, privilege::machine));
        c.csrw(csr::tselect, 1);
        c.csrw(csr::tdata1, type6 | (bit(59) - 1));
        CHECK_FALSE(c.hw.trigger_enabled_in(1, privilege::machine));
        c.enter_os(os_entry);
        CHECK_FALSE(c.hw.trigger_enabled_in(0, privilege::machine));
        CHECK_FALSE(c.hw.trigger_enabled_in(1, privilege::machine));
        CHECK(c.hw.trigger_enabled_in(0, privilege::supervisor));  // the s bit was asked for too
    }
    SECTION("csrs and csrc on tdata1 keep m virtual") {
        c.csrw(csr::tdata1, type2 | bit(2));
        c.csrs(csr::tdata1, bit(6));
        CHECK(c.hw.tdata1_of(0) == (type2 | bit(3) | bit(2)));
        CHECK(c.csrr(csr::tdata1) == (type2 | bit(6) | bit(2)));
        c.csrc(csr::tdata1, bit(6));
        CHECK(c.hw.tdata1_of(0) == (type2 | bit(2)));
        CHECK_FALSE(c.h.triggers_active);
    }
    SECTION("a type the firmware may not program (legacy 1, itrigger 4, etrigger 5, tmexttrigger 7, reserved 9) is ignored") {
        c.csrw(csr::tdata1, type2 | bit(6) | bit(2));
        for (const u64 type : {u64{1}, u64{4}, u64{5}, u64{7}, u64{9}}) {
            c.csrw(csr::tdata1, (type << 60) | (bit(59) - 1));
            CHECK(c.hw.tdata1_of(0) == (type2 | bit(3) | bit(2)));
            CHECK(c.csrr(csr::tdata1) == (type2 | bit(6) | bit(2)));
        }
    }
    SECTION("writing 0 disables the trigger (5.7.2): no privilege bit is left") {
        c.csrw(csr::tdata1, type2 | bit(6) | bit(2));
        c.csrw(csr::tdata1, 0);
        CHECK(c.hw.tdata1_of(0) == (u64{15} << 60));
        CHECK(c.csrr(csr::tdata1) == (u64{15} << 60));
        CHECK_FALSE(c.h.triggers_active);
    }
    SECTION("a type the hart lacks (icount here) changes nothing") {
        c.csrw(csr::tdata1, type2 | bit(6) | bit(2));
        c.csrw(csr::tdata1, type3 | bit(9) | (u64{5} << 10));
        CHECK(c.hw.tdata1_of(0) == (type2 | bit(3) | bit(2)));
        CHECK(c.csrr(csr::tdata1) == (type2 | bit(6) | bit(2)));
    }
}

TEST_CASE("icount keeps its privilege bits at 9, 7, 6", "[virt][triggers]") {
    machine m{with_triggers((1u << 2) | (1u << 3) | (1u << 6))};
    cpu& c = m.hart0();
    c.boot_with_vector();
    CHECK(c.h.features.trigger_modes[3] == (1 | 2 | 8 | 16 | 32));
    const u64 count = u64{5} << 10;
    c.csrw(csr::tdata1, type3 | bit(9) | bit(7) | count);  // m, s, count 5
    CHECK(c.hw.tdata1_of(0) == (type3 | bit(6) | count));  // u only
    CHECK(c.csrr(csr::tdata1) == (type3 | bit(9) | bit(7) | count));
    c.enter_os(os_entry);
    CHECK(c.hw.tdata1_of(0) == (type3 | bit(7) | count));  // s only
}

TEST_CASE("a trigger left for M-mode at boot is the firmware's, held for U-mode", "[virt][triggers][attack]") {
    machine m{with_triggers()};
    cpu& c = m.hart0();
    c.hw.set_tdata1(1, type2 | bit(6) | bit(4) | bit(2));  // m, s, execute: a previous stage's
    c.boot_with_vector();
    CHECK(c.hw.tdata1_of(1) == (type2 | bit(3) | bit(2)));
    c.csrw(csr::tselect, 1);
    CHECK(c.csrr(csr::tdata1) == (type2 | bit(6) | bit(4) | bit(2)));
    CHECK(c.h.triggers_active);
}

TEST_CASE("without a trigger set, the world switches leave the triggers alone", "[virt][triggers]") {
    machine m{with_triggers()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::tdata1, type2 | bit(2));  // no privilege bit
    CHECK_FALSE(c.h.triggers_active);
    const std::size_t before = c.hw.log().size();
    c.enter_os(os_entry);
    c.trap(riscv::exception::ecall_from_s, 0);
    bool touched = false;
    for (std::size_t i = before; i < c.hw.log().size(); ++i)
        if (const auto* w = std::get_if<host::csr_write_event>(&c.hw.log()[i]))
            touched |= w->number == csr::tselect || w->number == csr::tdata1;
    CHECK_FALSE(touched);
}
