// SPDX-License-Identifier: MIT
// Loads and stores on behalf of a less privileged mode: PMP, RAM bounds,
// misaligned accesses, injected faults, Sv39 translation; and the monitor's
// own view of RAM (priv. spec 3.1.6.3, 3.7, 4.3).
#include "vfm_catch.hpp"

#include <vfm/host/simulated_hart.hpp>

using namespace vfm;
using host::hart_config;
using host::simulated_hart;
using riscv::csr;
using riscv::privilege;

namespace {

constexpr access_mode as_s{privilege::supervisor, false, false};
constexpr access_mode as_u{privilege::user, false, false};

hart_config without_pmp() {
    hart_config c;
    c.pmp_entries = 0;
    return c;
}

}  // namespace

TEST_CASE("loads and stores on behalf reach RAM and are logged", "[host][memory]") {
    simulated_hart hw{without_pmp()};
    const auto s = hw.store(as_s, 0x8000'1000, 8, 0x1122'3344'5566'7788);
    CHECK(s.ok);
    CHECK(hw.peek<u64>(0x8000'1000) == 0x1122'3344'5566'7788);
    CHECK(hw.load(as_u, 0x8000'1000, 4).value == 0x5566'7788);
    CHECK(hw.load(as_u, 0x8000'1006, 2).value == 0x1122);
    CHECK(hw.load(as_s, 0x8000'1007, 1).value == 0x11);
    const auto accesses = hw.log().memory_accesses();
    REQUIRE(accesses.size() == 4);
    CHECK(accesses[0].store);
    CHECK(accesses[0].address == 0x8000'1000);
    CHECK(accesses[0].width == 8);
    CHECK(accesses[1].how.privilege == privilege::user);
    CHECK(accesses[1].value == 0x5566'7788);
}

TEST_CASE("accesses outside RAM raise access faults", "[host][memory]") {
    simulated_hart hw{without_pmp()};
    auto r = hw.load(as_s, 0x1000, 8);
    CHECK_FALSE(r.ok);
    CHECK(r.cause == 5);
    CHECK(r.tval == 0x1000);
    r = hw.store(as_s, 0x8800'0000, 4, 0);  // one past 128 MiB
    CHECK(r.cause == 7);
    CHECK(hw.load(as_s, 0x87ff'fff8, 8).ok);
}

TEST_CASE("PMP denies on behalf of S and U", "[host][memory]") {
    simulated_hart hw;  // 16 entries, all OFF: S and U have no access
    auto r = hw.load(as_s, 0x8000'0000, 8);
    CHECK_FALSE(r.ok);
    CHECK(r.cause == 5);
    CHECK(r.tval == 0x8000'0000);
    CHECK(hw.csr_write(csr::pmpaddr0, 0x2000'0400));  // TOR [0, 0x80001000)
    CHECK(hw.csr_write(csr::pmpcfg0, 0x09));          // R
    CHECK(hw.load(as_s, 0x8000'0ff8, 8).ok);
    r = hw.store(as_u, 0x8000'0ff8, 8, 1);
    CHECK(r.cause == 7);
    CHECK(r.tval == 0x8000'0ff8);
    CHECK(hw.peek<u64>(0x8000'0ff8) == 0);  // nothing written
    CHECK(hw.load({privilege::machine, false, false}, 0x8000'2000, 8).ok);  // M: no match passes
}

TEST_CASE("misaligned accesses: performed, or trapped by configuration", "[host][memory]") {
    SECTION("performed byte by byte") {
        simulated_hart hw{without_pmp()};
        CHECK(hw.store(as_s, 0x8000'0003, 4, 0xaabb'ccdd).ok);
        CHECK(hw.peek<u64>(0x8000'0000) == 0xaabb'ccdd'00'0000);
        CHECK(hw.load(as_s, 0x8000'0001, 8).value == 0x00aa'bbcc'dd00'00);
    }
    SECTION("each byte checked: the fault names the first byte that fails") {
        simulated_hart hw;
        CHECK(hw.csr_write(csr::pmpaddr0, 0x2000'0400));  // TOR [0, 0x80001000), RW
        CHECK(hw.csr_write(csr::pmpcfg0, 0x0b));
        const auto r = hw.load(as_s, 0x8000'0ffe, 4);
        CHECK(r.cause == 5);
        CHECK(r.tval == 0x8000'1000);
    }
    SECTION("trapped") {
        hart_config c = without_pmp();
        c.misaligned = host::misaligned_policy::trap;
        simulated_hart hw{c};
        auto r = hw.load(as_s, 0x8000'0002, 4);
        CHECK(r.cause == 4);
        CHECK(r.tval == 0x8000'0002);
        r = hw.store(as_s, 0x8000'0001, 2, 0);
        CHECK(r.cause == 6);
        CHECK(hw.load(as_s, 0x8000'0004, 4).ok);
    }
}

TEST_CASE("injected faults", "[host][memory]") {
    simulated_hart hw{without_pmp()};
    hw.inject_fault(0x8000'2000, 0x1000, riscv::exception::load_page_fault, host::fault_on::loads);
    auto r = hw.load(as_s, 0x8000'2ff8, 8);
    CHECK_FALSE(r.ok);
    CHECK(r.cause == 13);
    CHECK(r.tval == 0x8000'2ff8);
    CHECK(hw.store(as_s, 0x8000'2000, 8, 5).ok);  // loads only
    CHECK(hw.load(as_s, 0x8000'1ffc, 8).cause == 13);  // touches the range
    CHECK(hw.load(as_s, 0x8000'3000, 8).ok);
    hw.inject_fault({0x8000'4000, 8, 23, host::fault_on::stores, 0x2000'1000, 0x3023});
    r = hw.store({privilege::user, false, false}, 0x8000'4000, 4, 0);
    CHECK(r.cause == 23);
    CHECK(r.tval2 == 0x2000'1000);
    CHECK(r.tinst == 0x3023);
    hw.clear_injected_faults();
    CHECK(hw.load(as_s, 0x8000'2000, 8).ok);
}

TEST_CASE("Sv39 translation on behalf of S and U (4.3, 4.4)", "[host][memory]") {
    simulated_hart hw{without_pmp()};
    // Root table at 0x80010000: VPN[2] = 1 -> gigapage at PA 0x80000000 (V R W X A D, no U),
    // VPN[2] = 2 -> gigapage at PA 0x80000000 with U, R only, A set, D clear.
    hw.poke<u64>(0x8001'0008, (u64{0x80000} << 10) | 0xcf);
    hw.poke<u64>(0x8001'0010, (u64{0x80000} << 10) | 0x53);
    CHECK(hw.csr_write(csr::satp, 0x8000'0000'0008'0010));
    hw.poke<u64>(0x8000'1000, 0x1234'5678);
    SECTION("S reads and writes the supervisor page") {
        CHECK(hw.load(as_s, 0x4000'1000, 8).value == 0x1234'5678);
        CHECK(hw.store(as_s, 0x4000'1008, 8, 7).ok);
        CHECK(hw.peek<u64>(0x8000'1008) == 7);
    }
    SECTION("U may not touch a supervisor page") {
        const auto r = hw.load(as_u, 0x4000'1000, 8);
        CHECK(r.cause == 13);
        CHECK(r.tval == 0x4000'1000);
    }
    SECTION("U reads its page; a store needs W (and D)") {
        CHECK(hw.load(as_u, 0x8000'1000, 8).value == 0x1234'5678);
        CHECK(hw.store(as_u, 0x8000'1000, 8, 0).cause == 15);
    }
    SECTION("S reaches a user page only with SUM") {
        CHECK(hw.load(as_s, 0x8000'1000, 8).cause == 13);
        CHECK(hw.csr_write(csr::sstatus, 0x4'0000));  // SUM
        CHECK(hw.load(as_s, 0x8000'1000, 8).ok);
    }
    SECTION("an invalid PTE and a non-canonical address fault") {
        CHECK(hw.load(as_s, 0x0000'1000, 8).cause == 13);
        CHECK(hw.store(as_s, 0x40'0000'0000, 8, 0).cause == 15);
    }
    SECTION("M-mode accesses are not translated") {
        CHECK(hw.load({privilege::machine, false, false}, 0x8000'1000, 8).value == 0x1234'5678);
    }
}

TEST_CASE("Sv48 translation through four levels to a 4 KiB page (4.5)", "[host][memory]") {
    simulated_hart hw{without_pmp()};
    // VA 0x80_0000_1000: VPN[3] = 1, VPN[2] = 0, VPN[1] = 0, VPN[0] = 1.
    hw.poke<u64>(0x8002'0008, 0x2000'8401);  // -> table at 0x80021000
    hw.poke<u64>(0x8002'1000, 0x2000'8801);  // -> table at 0x80022000
    hw.poke<u64>(0x8002'2000, 0x2000'8c01);  // -> table at 0x80023000
    hw.poke<u64>(0x8002'3008, 0x2000'14c7);  // leaf: PA 0x80005000, V R W A D
    CHECK(hw.csr_write(csr::satp, 0x9000'0000'0008'0020));
    CHECK(hw.store(as_s, 0x80'0000'1008, 8, 0x55).ok);
    CHECK(hw.peek<u64>(0x8000'5008) == 0x55);
    CHECK(hw.load(as_s, 0x80'0000'2000, 8).cause == 13);  // VPN[0] = 2: invalid
    SECTION("page-table reads are S-level accesses checked by PMP (3.7.1)") {
        hart_config c;
        simulated_hart pmp{c};  // 16 entries: grant S the data page only
        pmp.poke<u64>(0x8002'0008, 0x2000'8401);
        pmp.poke<u64>(0x8002'1000, 0x2000'8801);
        pmp.poke<u64>(0x8002'2000, 0x2000'8c01);
        pmp.poke<u64>(0x8002'3008, 0x2000'14c7);
        CHECK(pmp.csr_write(csr::satp, 0x9000'0000'0008'0020));
        CHECK(pmp.csr_write(csr::pmpaddr0, 0x2000'13ff));  // NAPOT 0x80004000, 8 KiB
        CHECK(pmp.csr_write(csr::pmpcfg0, 0x1b));          // R W
        const auto r = pmp.load(as_s, 0x80'0000'1008, 8);
        CHECK(r.cause == 5);
        CHECK(r.tval == 0x80'0000'1008);
        CHECK(pmp.csr_write(csr::pmpaddr1, 0x2000'7fff));  // NAPOT 0x80000000, 256 KiB: the tables too
        CHECK(pmp.csr_write(csr::pmpcfg0, 0x19'1b));       // entry 1: R
        CHECK(pmp.load(as_s, 0x80'0000'1008, 8).ok);
    }
}

TEST_CASE("physical() and direct RAM access", "[host][memory]") {
    simulated_hart hw;
    u8* p = hw.physical(0x8000'0000, 16);
    REQUIRE(p != nullptr);
    p[0] = 0x42;
    CHECK(hw.peek<u8>(0x8000'0000) == 0x42);
    CHECK(hw.physical(0x87ff'fff0, 16) != nullptr);
    CHECK(hw.physical(0x87ff'fff0, 17) == nullptr);
    CHECK(hw.physical(0x7fff'ffff, 2) == nullptr);
    CHECK(hw.physical(0, 1) == nullptr);
    CHECK(hw.log().empty());
    SECTION("instructions: 2 or 4 bytes by their low bits") {
        const u64 next = hw.place_instructions(0x8010'0000, {0x3020'0073, 0x9002, 0x0000'0073});
        CHECK(next == 0x8010'000a);
        CHECK(hw.peek<u32>(0x8010'0000) == 0x3020'0073);
        CHECK(hw.peek<u16>(0x8010'0004) == 0x9002);
        CHECK(hw.peek<u32>(0x8010'0006) == 0x0000'0073);
    }
    SECTION("outside RAM the test helpers throw") {
        bool threw = false;
        try {
            (void)hw.peek<u32>(0x1000);
        } catch (const std::out_of_range&) {
            threw = true;
        }
        CHECK(threw);
    }
}
