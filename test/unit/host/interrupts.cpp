// SPDX-License-Identifier: MIT
// Interrupt state of the simulated hart: mip's writable bits and platform
// lines, SEIP's two sources, STIP with Sstc, the H extension's VS-level bits,
// and which interrupt the hart would take (priv. spec 3.1.9, 4.1.3, H 9.2.3,
// 9.4.3, Sstc).
#include "vfm_catch.hpp"

#include <vfm/host/simulated_hart.hpp>

using namespace vfm;
using host::hart_config;
using host::simulated_hart;
using riscv::csr;

TEST_CASE("mip: M-mode writes SSIP, STIP, SEIP; MSIP, MTIP, MEIP follow the lines", "[host][irq]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::mip, ~u64{0}));
    CHECK(hw.csr_read(csr::mip).value == 0x222);
    hw.set_msip(true);
    hw.set_mtip(true);
    hw.set_meip(true);
    CHECK(hw.csr_read(csr::mip).value == 0xaaa);
    CHECK(hw.csr_write(csr::mip, 0));
    CHECK(hw.csr_read(csr::mip).value == 0x888);  // the M-level bits are read-only
    hw.set_msip(false);
    hw.set_mtip(false);
    hw.set_meip(false);
    CHECK(hw.csr_read(csr::mip).value == 0);
}

TEST_CASE("mip.SEIP: software bit OR the external line; csrrs/csrrc modify only the software bit", "[host][irq]") {
    simulated_hart hw;
    hw.set_seip_line(true);
    CHECK(hw.csr_read(csr::mip).value == 0x200);

    SECTION("csrrs of another bit does not latch the line into the software bit") {
        const auto r = hw.csr_set(csr::mip, 0x2);  // SSIP
        CHECK(r.value == 0x200);                   // the old value as read: with the line
        CHECK(hw.csr_read(csr::mip).value == 0x202);
        hw.set_seip_line(false);
        CHECK(hw.csr_read(csr::mip).value == 0x002);
    }
    SECTION("csrrc of SEIP cannot clear the line") {
        CHECK(hw.csr_clear(csr::mip, 0x200).ok);
        CHECK(hw.csr_read(csr::mip).value == 0x200);
    }
    SECTION("csrrw writes the software bit as given") {
        CHECK(hw.csr_write(csr::mip, 0x200));
        hw.set_seip_line(false);
        CHECK(hw.csr_read(csr::mip).value == 0x200);
        CHECK(hw.csr_clear(csr::mip, 0x200).ok);
        CHECK(hw.csr_read(csr::mip).value == 0);
    }
    SECTION("sip shows SEIP only when delegated, and cannot write it") {
        CHECK(hw.csr_read(csr::sip).value == 0);
        CHECK(hw.csr_write(csr::mideleg, 0x222));
        CHECK(hw.csr_read(csr::sip).value == 0x200);
        CHECK(hw.csr_write(csr::sip, 0));
        CHECK(hw.csr_read(csr::sip).value == 0x200);
        CHECK(hw.csr_write(csr::sip, ~u64{0}));
        CHECK(hw.csr_read(csr::sip).value == 0x202);  // only SSIP is writable in sip
    }
}

TEST_CASE("sie holds only delegated S-level bits (4.1.3)", "[host][irq]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::sie, ~u64{0}));
    CHECK(hw.csr_read(csr::sie).value == 0);
    CHECK(hw.csr_write(csr::mideleg, 0x020));  // STI
    CHECK(hw.csr_write(csr::sie, ~u64{0}));
    CHECK(hw.csr_read(csr::sie).value == 0x020);
    CHECK(hw.csr_read(csr::mie).value == 0x020);
}

TEST_CASE("mip.STIP with Sstc: read-only (time >= stimecmp) while menvcfg.STCE = 1", "[host][irq]") {
    hart_config c;
    c.sstc = true;
    simulated_hart hw{c};
    CHECK(hw.csr_write(csr::mip, 0x20));
    CHECK(hw.csr_read(csr::mip).value == 0x20);  // STCE = 0: STIP is the software bit
    CHECK(hw.csr_write(csr::menvcfg, u64{1} << 63));
    CHECK(hw.csr_read(csr::stimecmp).value == ~u64{0});
    CHECK(hw.csr_read(csr::mip).value == 0);  // time 0 < stimecmp
    CHECK(hw.csr_write(csr::stimecmp, 100));
    hw.set_time(99);
    CHECK(hw.csr_read(csr::mip).value == 0);
    hw.set_time(100);
    CHECK(hw.csr_read(csr::mip).value == 0x20);
    CHECK(hw.csr_write(csr::mip, 0));
    CHECK(hw.csr_read(csr::mip).value == 0x20);  // not writable
    hw.set_time(50);
    CHECK(hw.csr_write(csr::mip, 0x20));
    CHECK(hw.csr_read(csr::mip).value == 0);  // still the comparison
    CHECK(hw.csr_write(csr::menvcfg, 0));
    CHECK(hw.csr_read(csr::mip).value == 0x20);  // the software bit again, as last written with STCE = 0
}

TEST_CASE("H: VS-level interrupt bits of mip, hip, hvip and vsip (9.2.3, 9.2.12, 9.4.3)", "[host][irq]") {
    simulated_hart hw{hart_config::full()};  // GEILEN = 2, Sstc
    SECTION("hvip drives the VS bits; mip.VSSIP and hip.VSSIP alias hvip.VSSIP") {
        CHECK(hw.csr_write(csr::hvip, 0x444));
        CHECK(hw.csr_read(csr::mip).value == 0x444);
        CHECK(hw.csr_read(csr::hip).value == 0x444);
        CHECK(hw.csr_write(csr::mip, 0));  // clears VSSIP only
        CHECK(hw.csr_read(csr::hvip).value == 0x440);
        CHECK(hw.csr_write(csr::hip, ~u64{0}));
        CHECK(hw.csr_read(csr::hvip).value == 0x444);
    }
    SECTION("vsip shows the delegated VS bits shifted to the S positions") {
        CHECK(hw.csr_write(csr::hvip, 0x444));
        CHECK(hw.csr_read(csr::vsip).value == 0);
        CHECK(hw.csr_write(csr::hideleg, 0x444));
        CHECK(hw.csr_read(csr::vsip).value == 0x222);
        CHECK(hw.csr_write(csr::vsip, 0));  // only SSIP is writable
        CHECK(hw.csr_read(csr::vsip).value == 0x220);
    }
    SECTION("VSEIP from the guest external line selected by hstatus.VGEIN; SGEIP from hgeip & hgeie") {
        hw.set_hgeip(0x4);
        CHECK(hw.csr_read(csr::hgeip).value == 0x4);
        CHECK(hw.csr_read(csr::mip).value == 0);
        CHECK(hw.csr_write(csr::hstatus, 0x2000));  // VGEIN = 2
        CHECK(hw.csr_read(csr::mip).value == 0x400);
        CHECK(hw.csr_write(csr::hgeie, 0x4));
        CHECK(hw.csr_read(csr::mip).value == 0x1400);
        CHECK(hw.csr_read(csr::hip).value == 0x1400);
    }
    SECTION("VSTIP from vstimecmp when menvcfg.STCE and henvcfg.STCE are set") {
        CHECK(hw.csr_write(csr::vstimecmp, 1000));
        CHECK(hw.csr_write(csr::htimedelta, 500));
        hw.set_time(500);
        CHECK(hw.csr_read(csr::mip).value == 0);
        CHECK(hw.csr_write(csr::menvcfg, u64{1} << 63));
        CHECK(hw.csr_write(csr::henvcfg, u64{1} << 63));
        CHECK(hw.csr_read(csr::mip).value == 0x40);  // time + htimedelta = 1000 >= vstimecmp
        hw.set_time(499);
        CHECK(hw.csr_read(csr::mip).value == 0);
    }
}

TEST_CASE("the interrupt the hart would take into M-mode (3.1.9)", "[host][irq]") {
    simulated_hart hw;
    CHECK_FALSE(hw.pending_interrupt());
    hw.set_mtip(true);
    CHECK_FALSE(hw.pending_interrupt());  // not enabled in mie
    CHECK(hw.csr_write(csr::mie, 0x880));
    CHECK_FALSE(hw.pending_interrupt());  // M-mode with MIE = 0
    hw.set_mode(riscv::privilege::supervisor, false);
    CHECK(hw.pending_interrupt() == 7u);  // below M: taken regardless of MIE
    hw.set_meip(true);
    CHECK(hw.pending_interrupt() == 11u);  // MEI before MTI
    CHECK(hw.csr_write(csr::mie, 0x222));
    CHECK(hw.csr_write(csr::mip, 0x20));
    CHECK(hw.pending_interrupt() == 5u);
    CHECK(hw.csr_write(csr::mideleg, 0x20));
    CHECK_FALSE(hw.pending_interrupt());  // delegated to S
    SECTION("take it") {
        CHECK(hw.csr_write(csr::mideleg, 0));
        CHECK(hw.csr_write(csr::mtvec, 0x8000'0001));
        const auto handler = hw.take_pending_interrupt(0x8020'0000);
        REQUIRE(handler);
        CHECK(*handler == 0x8000'0014);
        CHECK(hw.csr_read(csr::mcause).value == 0x8000'0000'0000'0005);
        CHECK(hw.privilege() == riscv::privilege::machine);
    }
}
