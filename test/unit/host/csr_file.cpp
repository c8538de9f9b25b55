// SPDX-License-Identifier: MIT
// The simulated hart's CSR file against literal values from the privileged
// spec v1.12 (with H, Sstc, Sscofpmf): which CSRs exist, their writable bits
// and WARL legalisation, and which accesses trap.
#include <string>
#include <vector>

#include "vfm_catch.hpp"

#include <vfm/host/simulated_hart.hpp>

using namespace vfm;
using host::hart_config;
using host::simulated_hart;
using riscv::csr;

namespace {

constexpr u64 all_ones = ~u64{0};

/// Writes all ones with csrw and returns what reads back.
u64 write_ones(simulated_hart& hw, csr number) {
    REQUIRE(hw.csr_write(number, all_ones));
    const auto r = hw.csr_read(number);
    REQUIRE(r.ok);
    return r.value;
}

}  // namespace

TEST_CASE("misa reports RV64 and the configured letters (3.1.1)", "[host][csr]") {
    simulated_hart gc;
    CHECK(gc.csr_read(csr::misa).value == 0x8000'0000'0014'112d);  // rv64imafdcsu
    simulated_hart full{hart_config::full()};
    CHECK(full.csr_read(csr::misa).value == 0x8000'0000'0014'11ad);  // rv64imafdchsu
    simulated_hart m{hart_config::m_only()};
    CHECK(m.csr_read(csr::misa).value == 0x8000'0000'0000'1105);  // rv64imac
    SECTION("misa is read-only WARL here: writes are ignored, not trapped") {
        CHECK(gc.csr_write(csr::misa, 0));
        CHECK(gc.csr_read(csr::misa).value == 0x8000'0000'0014'112d);
    }
}

TEST_CASE("mstatus writable bits and read-only fields (3.1.6)", "[host][csr]") {
    SECTION("reset: SXL = UXL = 2, MPP = M") {
        simulated_hart hw;
        CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0000'1800);
    }
    SECTION("rv64gc: all ones") {
        simulated_hart hw;
        // SIE SPIE MIE MPIE SPP MPP FS MPRV SUM MXR TVM TW TSR, SXL/UXL = 2, SD
        CHECK(write_ones(hw, csr::mstatus) == 0x8000'000a'007e'79aa);
    }
    SECTION("with H: MPV and GVA too") {
        simulated_hart hw{hart_config::full()};
        CHECK(write_ones(hw, csr::mstatus) == 0x8000'00ca'007e'79aa);
    }
    SECTION("M and U only: no S fields, no SXL; FS read-only zero without F") {
        simulated_hart hw{hart_config::mu()};
        // MIE MPIE MPP MPRV TW, UXL = 2
        CHECK(write_ones(hw, csr::mstatus) == 0x0000'0002'0022'1888);
    }
    SECTION("M only: MPP is read-only M") {
        simulated_hart hw{hart_config::m_only()};
        CHECK(write_ones(hw, csr::mstatus) == 0x0000'0000'0000'1888);
        CHECK(hw.csr_write(csr::mstatus, 0));
        CHECK(hw.csr_read(csr::mstatus).value == 0x1800);
    }
    SECTION("MPP holds only implemented modes; another value keeps the old MPP") {
        simulated_hart hw;
        CHECK(hw.csr_write(csr::mstatus, 0x0800));  // S
        CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0000'0800);
        CHECK(hw.csr_write(csr::mstatus, 0x1000));  // 2: reserved
        CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0000'0800);
        CHECK(hw.csr_write(csr::mstatus, 0x0000));  // U
        CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0000'0000);
        simulated_hart mu{hart_config::mu()};
        CHECK(mu.csr_write(csr::mstatus, 0x0800));  // S does not exist
        CHECK(mu.csr_read(csr::mstatus).value == 0x0000'0002'0000'1800);
    }
    SECTION("SXL and UXL cannot be changed") {
        simulated_hart hw;
        CHECK(hw.csr_write(csr::mstatus, 0x0000'0005'0000'1800));
        CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0000'1800);
    }
}

TEST_CASE("sstatus is the S-level view of mstatus (4.1.1)", "[host][csr]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::sstatus, all_ones));
    // SIE SPIE SPP FS SUM MXR, UXL = 2, SD
    CHECK(hw.csr_read(csr::sstatus).value == 0x8000'0002'000c'6122);
    CHECK(hw.csr_read(csr::mstatus).value == 0x8000'000a'000c'7922);
}

TEST_CASE("delegation registers (3.1.8, H 9.2.2, 9.4.2, 9.4.3)", "[host][csr]") {
    SECTION("rv64gc") {
        simulated_hart hw;
        CHECK(write_ones(hw, csr::medeleg) == 0xb3ff);  // bit 11 (ecall from M) read-only zero
        CHECK(write_ones(hw, csr::mideleg) == 0x222);
        CHECK(hw.csr_write(csr::mideleg, 0));
        CHECK(hw.csr_read(csr::mideleg).value == 0);
    }
    SECTION("with H, Sscofpmf and GEILEN = 2") {
        simulated_hart hw{hart_config::full()};
        CHECK(write_ones(hw, csr::medeleg) == 0xf0'b7ff);
        CHECK(write_ones(hw, csr::mideleg) == 0x3666);
        CHECK(hw.csr_write(csr::mideleg, 0));
        CHECK(hw.csr_read(csr::mideleg).value == 0x1444);  // VS bits and SGEI read-only one
        CHECK(write_ones(hw, csr::hedeleg) == 0xb1ff);
        CHECK(write_ones(hw, csr::hideleg) == 0x444);
    }
    SECTION("H without guest external interrupts: SGEI is not forced") {
        hart_config c = hart_config::full();
        c.guest_external_interrupts = 0;
        simulated_hart hw{c};
        CHECK(hw.csr_write(csr::mideleg, 0));
        CHECK(hw.csr_read(csr::mideleg).value == 0x444);
    }
}

TEST_CASE("mie writable bits (3.1.9)", "[host][csr]") {
    simulated_hart gc;
    CHECK(write_ones(gc, csr::mie) == 0xaaa);
    simulated_hart full{hart_config::full()};
    CHECK(write_ones(full, csr::mie) == 0x3eee);
    simulated_hart m{hart_config::m_only()};
    CHECK(write_ones(m, csr::mie) == 0x888);
}

TEST_CASE("trap vector, epc and cause registers (3.1.7, 3.1.14, 3.1.15)", "[host][csr]") {
    simulated_hart hw;
    SECTION("mtvec MODE >= 2 leaves mtvec unchanged") {
        CHECK(hw.csr_write(csr::mtvec, 0x8000'0001));
        CHECK(hw.csr_read(csr::mtvec).value == 0x8000'0001);
        CHECK(hw.csr_write(csr::mtvec, 0x8000'1002));
        CHECK(hw.csr_read(csr::mtvec).value == 0x8000'0001);
        CHECK(hw.csr_write(csr::mtvec, 0x8000'1003));
        CHECK(hw.csr_read(csr::mtvec).value == 0x8000'0001);
        CHECK(hw.csr_write(csr::stvec, 0x8020'0002));
        CHECK(hw.csr_read(csr::stvec).value == 0);
    }
    SECTION("mepc bit 0 is zero; bit 1 too without C") {
        CHECK(write_ones(hw, csr::mepc) == 0xffff'ffff'ffff'fffe);
        CHECK(write_ones(hw, csr::sepc) == 0xffff'ffff'ffff'fffe);
        hart_config c;
        c.c = false;
        simulated_hart no_c{c};
        CHECK(write_ones(no_c, csr::mepc) == 0xffff'ffff'ffff'fffc);
    }
    SECTION("mcause, mtval, mscratch hold any value") {
        CHECK(write_ones(hw, csr::mcause) == all_ones);
        CHECK(write_ones(hw, csr::mtval) == all_ones);
        CHECK(write_ones(hw, csr::mscratch) == all_ones);
    }
}

TEST_CASE("counter enables and inhibit are 32-bit WARL (3.1.11, 3.1.12)", "[host][csr]") {
    simulated_hart gc;
    CHECK(write_ones(gc, csr::mcounteren) == 0x7);
    CHECK(write_ones(gc, csr::scounteren) == 0x7);
    CHECK(write_ones(gc, csr::mcountinhibit) == 0x5);  // no bit for time
    simulated_hart full{hart_config::full()};  // hpm counters 3..6
    CHECK(write_ones(full, csr::mcounteren) == 0x7f);
    CHECK(write_ones(full, csr::hcounteren) == 0x7f);
    CHECK(write_ones(full, csr::mcountinhibit) == 0x7d);
}

TEST_CASE("counters (3.1.10, Zicntr, Zihpm, Sscofpmf)", "[host][csr]") {
    simulated_hart hw{hart_config::full()};
    SECTION("mcycle and minstret are writable; cycle and instret mirror them") {
        CHECK(hw.csr_write(csr::mcycle, 1000));
        CHECK(hw.csr_write(csr::minstret, 500));
        hw.tick(10, 3);
        CHECK(hw.csr_read(csr::cycle).value == 1010);
        CHECK(hw.csr_read(csr::instret).value == 503);
        CHECK(hw.csr_write(csr::mcountinhibit, 0x5));
        hw.tick(10, 3);
        CHECK(hw.csr_read(csr::mcycle).value == 1010);
        CHECK(hw.csr_read(csr::minstret).value == 503);
    }
    SECTION("implemented hpm counters hold values, the others read zero") {
        CHECK(write_ones(hw, csr::mhpmcounter3) == all_ones);
        CHECK(hw.csr_read(csr::hpmcounter3).value == all_ones);
        CHECK(write_ones(hw, csr::mhpmcounter7) == 0);
        CHECK(hw.csr_read(csr::hpmcounter31).value == 0);
        CHECK(write_ones(hw, csr::mhpmevent3) == 0xfcff'ffff'ffff'ffff);  // bits 57:56 reserved
        CHECK(write_ones(hw, csr::mhpmevent7) == 0);
    }
    SECTION("scountovf collects the OF bits") {
        CHECK(hw.csr_write(csr::mhpmevent4, u64{1} << 63));
        CHECK(hw.csr_read(csr::scountovf).value == 0x10);
    }
    SECTION("time reads the simulated time") {
        hw.set_time(0x1234);
        CHECK(hw.csr_read(csr::time).value == 0x1234);
        hart_config c;
        c.time_csr = false;
        simulated_hart no_time{c};
        CHECK_FALSE(no_time.csr_read(csr::time).ok);
    }
}

TEST_CASE("environment configuration registers (3.1.18, 4.1.4, 9.2.5)", "[host][csr]") {
    SECTION("only FIOM without the extensions") {
        simulated_hart hw;
        CHECK(write_ones(hw, csr::menvcfg) == 0x1);
        CHECK(write_ones(hw, csr::senvcfg) == 0x1);
    }
    SECTION("every field with Zicbom, Zicboz, Svpbmt and Sstc") {
        simulated_hart hw{hart_config::full()};
        CHECK(hw.csr_write(csr::henvcfg, all_ones));
        CHECK(hw.csr_read(csr::henvcfg).value == 0x4000'0000'0000'00f1);  // STCE read-only zero while menvcfg.STCE = 0
        CHECK(write_ones(hw, csr::menvcfg) == 0xc000'0000'0000'00f1);
        CHECK(write_ones(hw, csr::senvcfg) == 0xf1);
        CHECK(write_ones(hw, csr::henvcfg) == 0xc000'0000'0000'00f1);
    }
    SECTION("CBIE = 0b10 is reserved: the old CBIE stays") {
        simulated_hart hw{hart_config::full()};
        CHECK(hw.csr_write(csr::menvcfg, 0x10));
        CHECK(hw.csr_write(csr::menvcfg, 0x21));
        CHECK(hw.csr_read(csr::menvcfg).value == 0x11);
        CHECK(hw.csr_write(csr::menvcfg, 0x30));
        CHECK(hw.csr_read(csr::menvcfg).value == 0x30);
    }
}

TEST_CASE("satp, vsatp and hgatp (4.1.11, 9.2.10)", "[host][csr]") {
    simulated_hart hw{hart_config::full()};
    SECTION("satp: an unsupported MODE ignores the whole write") {
        CHECK(hw.csr_write(csr::satp, 0x8000'0000'0008'0010));  // Sv39
        CHECK(hw.csr_read(csr::satp).value == 0x8000'0000'0008'0010);
        CHECK(hw.csr_write(csr::satp, 0xa000'0000'0008'0020));  // Sv57: not supported
        CHECK(hw.csr_read(csr::satp).value == 0x8000'0000'0008'0010);
        CHECK(hw.csr_write(csr::satp, 0x9fff'f000'0008'0030));  // Sv48, ASID 0xffff
        CHECK(hw.csr_read(csr::satp).value == 0x9fff'f000'0008'0030);
        CHECK(hw.csr_write(csr::vsatp, 0x1000'0000'0000'0001));  // MODE 1: reserved
        CHECK(hw.csr_read(csr::vsatp).value == 0);
    }
    SECTION("hgatp: VMIDLEN 14, PPN[1:0] zero, an unsupported MODE keeps the old MODE") {
        CHECK(write_ones(hw, csr::hgatp) == 0x03ff'ffff'ffff'fffc);
        CHECK(hw.csr_write(csr::hgatp, 0x8000'0000'0008'0003));
        CHECK(hw.csr_read(csr::hgatp).value == 0x8000'0000'0008'0000);
        CHECK(hw.csr_write(csr::hgatp, 0xa000'0000'0008'0004));
        CHECK(hw.csr_read(csr::hgatp).value == 0x8000'0000'0008'0004);
    }
}

TEST_CASE("hypervisor CSRs (9.2)", "[host][csr]") {
    simulated_hart hw{hart_config::full()};  // GEILEN = 2
    SECTION("hstatus: VSXL = 2, VGEIN holds 0..GEILEN") {
        CHECK(hw.csr_read(csr::hstatus).value == 0x2'0000'0000);
        CHECK(write_ones(hw, csr::hstatus) == 0x2'0070'03c0);
        CHECK(hw.csr_write(csr::hstatus, 0x2000));
        CHECK(hw.csr_read(csr::hstatus).value == 0x2'0000'2000);
    }
    SECTION("hvip, hie, hgeie") {
        CHECK(write_ones(hw, csr::hvip) == 0x444);
        CHECK(write_ones(hw, csr::hie) == 0x1444);
        CHECK(hw.csr_read(csr::mie).value == 0x1444);
        CHECK(write_ones(hw, csr::hgeie) == 0x6);
        CHECK(write_ones(hw, csr::htimedelta) == all_ones);
    }
    SECTION("vsstatus: the sstatus layout with UXL = 2") {
        CHECK(hw.csr_read(csr::vsstatus).value == 0x2'0000'0000);
        CHECK(write_ones(hw, csr::vsstatus) == 0x8000'0002'000c'6122);
    }
    SECTION("vsie aliases the VS bits of mie delegated in hideleg") {
        CHECK(write_ones(hw, csr::vsie) == 0);  // nothing delegated yet
        CHECK(hw.csr_write(csr::hideleg, 0x040));  // VSTI only
        CHECK(write_ones(hw, csr::vsie) == 0x20);
        CHECK(hw.csr_read(csr::mie).value == 0x40);
    }
}

TEST_CASE("absent CSRs trap on every access", "[host][csr]") {
    SECTION("rv64gc lacks H, Sstc, Sscofpmf, vector, stateen, debug, mseccfg; odd pmpcfg do not exist on RV64") {
        simulated_hart hw;
        for (const csr n : {csr::hstatus, csr::hgatp, csr::vsatp, csr::mtval2, csr::mtinst, csr::stimecmp,
                            csr::scountovf, csr::vstart, csr::vl, csr::seed, csr::mstateen0, csr::tselect,
                            csr::mseccfg, static_cast<csr>(0x3a1), static_cast<csr>(0x7c0)}) {
            INFO(host::csr_name(n));
            CHECK_FALSE(hw.implemented(n));
            CHECK_FALSE(hw.csr_read(n).ok);
            CHECK_FALSE(hw.csr_write(n, 0));
            CHECK_FALSE(hw.csr_set(n, 0).ok);
            CHECK_FALSE(hw.csr_clear(n, 0).ok);
            CHECK_FALSE(hw.csr_swap(n, 0).ok);
        }
        CHECK(hw.log().csr_traps().size() == 15 * 5);
        CHECK(hw.log().csr_writes().empty());
    }
    SECTION("M only: no S CSRs, no delegation, no mcounteren / menvcfg, no PMP, no FP") {
        simulated_hart hw{hart_config::m_only()};
        for (const csr n : {csr::sstatus, csr::satp, csr::sip, csr::medeleg, csr::mideleg, csr::mcounteren,
                            csr::menvcfg, csr::pmpcfg0, csr::pmpaddr0, csr::fcsr}) {
            INFO(host::csr_name(n));
            CHECK_FALSE(hw.csr_read(n).ok);
        }
        for (const csr n : {csr::mstatus, csr::misa, csr::mie, csr::mip, csr::mtvec, csr::mscratch, csr::mepc,
                            csr::mcause, csr::mtval, csr::mcountinhibit, csr::mcycle, csr::minstret,
                            csr::mhpmcounter31, csr::mhpmevent31, csr::mconfigptr}) {
            INFO(host::csr_name(n));
            CHECK(hw.csr_read(n).ok);
        }
    }
}

TEST_CASE("writes to read-only CSRs trap; reads do not (2.1)", "[host][csr]") {
    hart_config c;
    c.mhartid = 3;
    c.mvendorid = 0x489;
    simulated_hart hw{c};
    CHECK(hw.csr_read(csr::mhartid).value == 3);
    CHECK(hw.csr_read(csr::mvendorid).value == 0x489);
    for (const csr n : {csr::mhartid, csr::mvendorid, csr::marchid, csr::mimpid, csr::mconfigptr, csr::cycle,
                        csr::time, csr::instret, csr::hpmcounter3}) {
        INFO(host::csr_name(n));
        CHECK(hw.csr_read(n).ok);
        CHECK_FALSE(hw.csr_write(n, 0));
        CHECK_FALSE(hw.csr_swap(n, 0).ok);
        // csrrs / csrrc with rs1 != x0 write even when the value is zero.
        CHECK_FALSE(hw.csr_set(n, 0).ok);
        CHECK_FALSE(hw.csr_clear(n, 0).ok);
    }
    const auto traps = hw.log().csr_traps();
    REQUIRE(traps.size() == 9 * 4);
    CHECK(traps[0].number == csr::mhartid);
    CHECK(traps[0].op == host::csr_op::write);
    CHECK(traps[0].fault == host::csr_fault::read_only);
}

TEST_CASE("csrrs / csrrc with zero still write a read-write CSR", "[host][csr]") {
    simulated_hart hw;
    const auto r = hw.csr_set(csr::mscratch, 0);
    CHECK(r.ok);
    const auto writes = hw.log().writes_to(csr::mscratch);
    REQUIRE(writes.size() == 1);
    CHECK(writes[0].op == host::csr_op::set);
    CHECK(writes[0].old_value == 0);
    CHECK(writes[0].new_value == 0);
    SECTION("csr_read never writes") {
        hw.log().clear();
        CHECK(hw.csr_read(csr::mscratch).ok);
        CHECK(hw.log().empty());
    }
}

TEST_CASE("FP CSRs trap while mstatus.FS = Off and dirty FS when written (3.1.6.6)", "[host][csr]") {
    simulated_hart hw;
    CHECK_FALSE(hw.csr_read(csr::fcsr).ok);
    REQUIRE(hw.log().csr_traps().size() == 1);
    CHECK(hw.log().csr_traps()[0].fault == host::csr_fault::fs_off);
    CHECK(hw.csr_write(csr::mstatus, 0x0000'2000 | 0x1800));  // FS = Initial
    CHECK(hw.csr_write(csr::frm, 0xff));
    CHECK(hw.csr_write(csr::fflags, 0xff));
    CHECK(hw.csr_read(csr::fcsr).value == 0xff);
    CHECK(hw.csr_read(csr::frm).value == 0x7);
    CHECK(hw.csr_read(csr::mstatus).value == 0x8000'000a'0000'7800);  // FS = Dirty, SD
    CHECK(write_ones(hw, csr::fcsr) == 0xff);
}

TEST_CASE("unguarded accessors: same semantics, misuse when they would trap", "[host][csr]") {
    simulated_hart hw;
    std::vector<std::string> reported;
    hw.set_misuse_handler([&](const std::string& m) { reported.push_back(m); });
    hw.write<csr::mie>(all_ones);
    CHECK(hw.read<csr::mie>() == 0xaaa);
    CHECK(hw.set<csr::mscratch>(0xf0) == 0);
    CHECK(hw.clear<csr::mscratch>(0x30) == 0xf0);
    CHECK(hw.swap<csr::mscratch>(1) == 0xc0);
    CHECK(hw.read<csr::mscratch>() == 1);
    CHECK(reported.empty());
    CHECK(hw.read<csr::hstatus>() == 0);  // absent on rv64gc
    hw.write<csr::mhartid>(1);            // read-only
    REQUIRE(reported.size() == 2);
    CHECK(reported[0] == "unguarded csrr of hstatus traps on this hart (absent)");
    CHECK(reported[1] == "unguarded csrw of mhartid traps on this hart (read-only)");
    CHECK(hw.misuses() == reported);
}

TEST_CASE("an illegal configuration is rejected", "[host][csr]") {
    hart_config c;
    c.u = false;  // S without U
    bool threw = false;
    try {
        simulated_hart hw{c};
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    CHECK(threw);
    hart_config p;
    p.pmp_entries = 8;
    CHECK(p.problem().has_value());
    CHECK_FALSE(hart_config::full().problem().has_value());
}
