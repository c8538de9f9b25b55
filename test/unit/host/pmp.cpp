// SPDX-License-Identifier: MIT
// The simulated hart's PMP (priv. spec 3.7): the CSRs' WARL rules and locks,
// and check tables with literal expected outcomes for TOR, NA4, NAPOT, the
// lock bit, accesses without a match and MPRV.
#include "vfm_catch.hpp"

#include <vfm/host/simulated_hart.hpp>

using namespace vfm;
using host::access_type;
using host::hart_config;
using host::simulated_hart;
using riscv::csr;
using riscv::privilege;

namespace {

constexpr auto M = privilege::machine;
constexpr auto S = privilege::supervisor;
constexpr auto U = privilege::user;
constexpr auto R = access_type::load;
constexpr auto W = access_type::store;
constexpr auto X = access_type::fetch;

struct check_row {
    u64 address;
    u64 size;
    access_type type;
    privilege mode;
    bool allowed;
    int entry;
};

void check_table(const simulated_hart& hw, std::initializer_list<check_row> rows) {
    for (const auto& row : rows) {
        INFO("address " << std::hex << row.address << " size " << std::dec << row.size << " type "
                        << static_cast<int>(row.type) << " mode " << riscv::name(row.mode));
        const auto d = hw.check_access(row.address, row.size, row.type, row.mode);
        CHECK(d.allowed == row.allowed);
        CHECK(d.entry == row.entry);
    }
}

}  // namespace

TEST_CASE("pmpcfg WARL: bits 6:5 zero, R=0 W=1 loses W (3.7.1)", "[host][pmp]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::pmpcfg0, 0x7f));  // RWX, NAPOT, bits 5 and 6
    CHECK(hw.csr_read(csr::pmpcfg0).value == 0x1f);
    CHECK(hw.csr_write(csr::pmpcfg0, 0x0a));  // W without R, TOR
    CHECK(hw.csr_read(csr::pmpcfg0).value == 0x08);
    CHECK(hw.csr_write(csr::pmpcfg0, 0x0e));  // WX without R
    CHECK(hw.csr_read(csr::pmpcfg0).value == 0x0c);
    CHECK(hw.csr_write(csr::pmpcfg2, 0x9f9f'9f9f'9f9f'9f9f));
    CHECK(hw.csr_read(csr::pmpcfg2).value == 0x9f9f'9f9f'9f9f'9f9f);
}

TEST_CASE("PMP CSRs beyond the implemented entries read zero", "[host][pmp]") {
    simulated_hart hw;  // 16 entries
    CHECK(hw.csr_write(csr::pmpcfg4, ~u64{0}));
    CHECK(hw.csr_read(csr::pmpcfg4).value == 0);
    CHECK(hw.csr_write(csr::pmpaddr16, ~u64{0}));
    CHECK(hw.csr_read(csr::pmpaddr16).value == 0);
    CHECK(hw.csr_write(csr::pmpaddr15, ~u64{0}));
    CHECK(hw.csr_read(csr::pmpaddr15).value == 0x003f'ffff'ffff'ffff);  // bits 53:0
    simulated_hart big{hart_config::full()};  // 64 entries
    CHECK(big.csr_write(csr::pmpcfg14, 0x0f));
    CHECK(big.csr_read(csr::pmpcfg14).value == 0x0f);
    CHECK(big.csr_write(csr::pmpaddr63, ~u64{0}));
    CHECK(big.csr_read(csr::pmpaddr63).value == 0x003f'ffff'ffff'ffff);
}

TEST_CASE("locked entries ignore writes, and so does the pmpaddr below a locked TOR entry (3.7.1.2)", "[host][pmp]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::pmpaddr0, 0x2000'0000));
    CHECK(hw.csr_write(csr::pmpaddr1, 0x2000'0400));
    CHECK(hw.csr_write(csr::pmpaddr2, 0x2000'0800));
    CHECK(hw.csr_write(csr::pmpcfg0, 0x00'89'00));  // entry 1: L, TOR, R
    CHECK(hw.csr_write(csr::pmpcfg0, 0x1f'1f'1f));  // entry 1 keeps its byte
    CHECK(hw.csr_read(csr::pmpcfg0).value == 0x1f'89'1f);
    CHECK(hw.csr_write(csr::pmpaddr1, 0x1234));
    CHECK(hw.csr_write(csr::pmpaddr0, 0x1234));  // the floor of a locked TOR entry
    CHECK(hw.csr_write(csr::pmpaddr2, 0x1234));  // not locked
    CHECK(hw.csr_read(csr::pmpaddr0).value == 0x2000'0000);
    CHECK(hw.csr_read(csr::pmpaddr1).value == 0x2000'0400);
    CHECK(hw.csr_read(csr::pmpaddr2).value == 0x1234);
    SECTION("a locked NAPOT entry does not lock the entry below") {
        CHECK(hw.csr_write(csr::pmpcfg2, 0x98));  // entry 8: L, NAPOT
        CHECK(hw.csr_write(csr::pmpaddr7, 0x55));
        CHECK(hw.csr_read(csr::pmpaddr7).value == 0x55);
    }
    SECTION("only reset unlocks") {
        hw.reset();
        CHECK(hw.csr_read(csr::pmpcfg0).value == 0);
        CHECK(hw.csr_write(csr::pmpaddr1, 0x1234));
        CHECK(hw.csr_read(csr::pmpaddr1).value == 0x1234);
    }
}

TEST_CASE("pmpaddr read-back with granularity G = 2 (3.7.1.1)", "[host][pmp]") {
    hart_config c;
    c.pmp_granularity = 2;  // 16-byte regions
    simulated_hart hw{c};
    CHECK(hw.csr_write(csr::pmpaddr0, 0x2000'0005));
    CHECK(hw.csr_read(csr::pmpaddr0).value == 0x2000'0004);  // OFF: bits 1:0 read zero
    CHECK(hw.csr_write(csr::pmpcfg0, 0x18));                // NAPOT
    CHECK(hw.csr_read(csr::pmpaddr0).value == 0x2000'0005);  // NAPOT: bit 0 reads one
    CHECK(hw.csr_write(csr::pmpaddr0, 0x2000'0004));
    CHECK(hw.csr_read(csr::pmpaddr0).value == 0x2000'0005);
    CHECK(hw.csr_write(csr::pmpcfg0, 0x08));                // TOR
    CHECK(hw.csr_read(csr::pmpaddr0).value == 0x2000'0004);
    CHECK(hw.csr_write(csr::pmpcfg0, 0x17));  // NA4 is not selectable with G >= 1: OFF
    CHECK(hw.csr_read(csr::pmpcfg0).value == 0x07);
    SECTION("TOR compares at the granularity") {
        CHECK(hw.csr_write(csr::pmpaddr0, 0x2000'0401));  // top 0x80001004 -> 0x80001000
        CHECK(hw.csr_write(csr::pmpcfg0, 0x09));          // TOR, R
        u64 lo = 0, hi = 0;
        REQUIRE(hw.pmp().range(0, lo, hi));
        CHECK(lo == 0);
        CHECK(hi == 0x8000'0fff);
    }
}

TEST_CASE("PMP checks: TOR, NA4, NAPOT, partial matches (3.7.1)", "[host][pmp]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::pmpaddr0, 0x2000'0000));           // 0x80000000, OFF: only a floor
    CHECK(hw.csr_write(csr::pmpaddr1, 0x2000'0400));           // TOR up to 0x80001000
    CHECK(hw.csr_write(csr::pmpaddr2, 0x2000'0800));           // NA4 at 0x80002000
    CHECK(hw.csr_write(csr::pmpaddr3, 0x003f'ffff'ffff'ffff));  // NAPOT, everything
    CHECK(hw.csr_write(csr::pmpcfg0, 0x1f'11'0d'00));  // 3: NAPOT RWX, 2: NA4 R, 1: TOR RX, 0: OFF
    check_table(hw, {
                        {0x8000'0000, 8, R, S, true, 1},
                        {0x8000'0000, 8, W, S, false, 1},
                        {0x8000'0ffc, 4, X, U, true, 1},
                        {0x8000'0ffc, 8, R, S, false, 1},  // straddles the top of entry 1
                        {0x7fff'fffc, 8, R, S, false, 1},  // straddles the floor of entry 1
                        {0x7fff'fff8, 8, W, S, true, 3},
                        {0x8000'2000, 4, R, S, true, 2},
                        {0x8000'2000, 4, W, S, false, 2},
                        {0x8000'2000, 8, R, S, false, 2},  // NA4 covers 4 bytes only
                        {0x8000'2004, 4, W, U, true, 3},
                        {0x9000'0000, 8, W, U, true, 3},
                        {0x8000'0000, 8, W, M, true, 1},  // unlocked: M-mode passes
                        {0x8000'2000, 8, W, M, false, 2},  // but a partial match fails even for M
                    });
}

TEST_CASE("PMP checks: NAPOT sizes and the TOR floor after a NAPOT entry", "[host][pmp]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::pmpaddr0, 0x2000'01ff));  // NAPOT 0x80000000, 4 KiB
    CHECK(hw.csr_write(csr::pmpaddr1, 0x2000'0800));  // TOR top 0x80002000
    CHECK(hw.csr_write(csr::pmpaddr2, 0x2000'0c00));  // NAPOT 0x80003000, 8 bytes (yyy...y0)
    CHECK(hw.csr_write(csr::pmpcfg0, 0x19'0b'18));   // 2: NAPOT R, 1: TOR RW, 0: NAPOT ---
    u64 lo = 0, hi = 0;
    REQUIRE(hw.pmp().range(0, lo, hi));
    CHECK(lo == 0x8000'0000);
    CHECK(hi == 0x8000'0fff);
    REQUIRE(hw.pmp().range(1, lo, hi));
    CHECK(lo == 0x8000'07fc);  // the floor is pmpaddr0 as stored, NAPOT ones included
    CHECK(hi == 0x8000'1fff);
    REQUIRE(hw.pmp().range(2, lo, hi));
    CHECK(lo == 0x8000'3000);
    CHECK(hi == 0x8000'3007);
    check_table(hw, {
                        {0x8000'0800, 4, R, S, false, 0},
                        {0x8000'0ffc, 8, R, S, false, 0},
                        {0x8000'1000, 8, W, S, true, 1},
                        {0x8000'3000, 8, R, U, true, 2},
                        {0x8000'3004, 8, R, U, false, 2},
                        {0x8000'3008, 8, R, U, false, -1},
                        {0x8000'3008, 8, R, M, true, -1},
                    });
}

TEST_CASE("PMP checks: no match fails S and U when entries exist, passes M (3.7.1)", "[host][pmp]") {
    SECTION("16 entries, all OFF") {
        simulated_hart hw;
        check_table(hw, {
                            {0x8000'0000, 8, R, S, false, -1},
                            {0x8000'0000, 8, X, U, false, -1},
                            {0x8000'0000, 8, W, M, true, -1},
                        });
    }
    SECTION("no PMP at all: everything passes") {
        hart_config c;
        c.pmp_entries = 0;
        simulated_hart hw{c};
        check_table(hw, {
                            {0x8000'0000, 8, R, S, true, -1},
                            {0x8000'0000, 8, W, U, true, -1},
                        });
    }
}

TEST_CASE("PMP checks: the L bit applies to M-mode too (3.7.1.2)", "[host][pmp]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::pmpaddr0, 0x2000'01ff));  // NAPOT 0x80000000, 4 KiB
    CHECK(hw.csr_write(csr::pmpcfg0, 0x99));          // L, NAPOT, R
    check_table(hw, {
                        {0x8000'0000, 8, R, M, true, 0},
                        {0x8000'0000, 8, W, M, false, 0},
                        {0x8000'0000, 4, X, M, false, 0},
                        {0x8000'1000, 8, W, M, true, -1},
                        {0x8000'0000, 8, R, S, true, 0},
                    });
}

TEST_CASE("PMP checks: MPRV makes M-mode loads and stores use MPP (3.1.6.3)", "[host][pmp]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::pmpaddr0, 0x2000'0400));  // TOR [0, 0x80001000)
    CHECK(hw.csr_write(csr::pmpcfg0, 0x09));          // TOR, R
    CHECK(hw.check_machine_access(0x8000'0000, 8, W).allowed);
    CHECK(hw.csr_write(csr::mstatus, 0x2'0800));  // MPRV, MPP = S
    CHECK_FALSE(hw.check_machine_access(0x8000'0000, 8, W).allowed);
    CHECK(hw.check_machine_access(0x8000'0000, 8, R).allowed);
    CHECK(hw.check_machine_access(0x8000'0000, 4, X).allowed);  // fetches ignore MPRV
    CHECK_FALSE(hw.check_machine_access(0x8000'1000, 8, R).allowed);
    CHECK(hw.csr_write(csr::mstatus, 0x2'1800));  // MPRV, MPP = M
    CHECK(hw.check_machine_access(0x8000'0000, 8, W).allowed);
}
