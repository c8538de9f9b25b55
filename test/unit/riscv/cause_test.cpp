// SPDX-License-Identifier: MIT
// Tests for vfm/riscv/cause.hpp against the privileged spec's table 3.6
// (mcause values after trap) and the H extension's additions (8.6.1).
#include <vfm/riscv/cause.hpp>

#include <cstdint>

#include "vfm_catch.hpp"

namespace rv = vfm::riscv;
using rv::exception;
using rv::interrupt;

TEST_CASE("cause: exception codes (priv. spec 3.1.15, table 3.6; H ext. table 8.6)", "[riscv][cause]") {
    struct row {
        exception e;
        std::uint64_t code;
    };
    constexpr row rows[] = {
        {exception::instruction_address_misaligned, 0},
        {exception::instruction_access_fault, 1},
        {exception::illegal_instruction, 2},
        {exception::breakpoint, 3},
        {exception::load_address_misaligned, 4},
        {exception::load_access_fault, 5},
        {exception::store_address_misaligned, 6},
        {exception::store_access_fault, 7},
        {exception::ecall_from_u, 8},
        {exception::ecall_from_s, 9},
        {exception::ecall_from_vs, 10},
        {exception::ecall_from_m, 11},
        {exception::instruction_page_fault, 12},
        {exception::load_page_fault, 13},
        {exception::store_page_fault, 15},
        {exception::instruction_guest_page_fault, 20},
        {exception::load_guest_page_fault, 21},
        {exception::virtual_instruction, 22},
        {exception::store_guest_page_fault, 23},
    };
    STATIC_REQUIRE(rv::cause_value(exception::illegal_instruction) == 2);
    STATIC_REQUIRE(rv::cause_value(exception::store_guest_page_fault) == 23);
    for (const row& r : rows) {
        CHECK(static_cast<std::uint64_t>(r.e) == r.code);
        CHECK(rv::cause_value(r.e) == r.code);
    }
}

TEST_CASE("cause: interrupt codes set the interrupt bit (priv. spec table 3.6; H ext., Sscofpmf)", "[riscv][cause]") {
    struct row {
        interrupt i;
        std::uint64_t mcause;
    };
    constexpr row rows[] = {
        {interrupt::supervisor_software, 0x8000'0000'0000'0001},
        {interrupt::virtual_supervisor_software, 0x8000'0000'0000'0002},
        {interrupt::machine_software, 0x8000'0000'0000'0003},
        {interrupt::supervisor_timer, 0x8000'0000'0000'0005},
        {interrupt::virtual_supervisor_timer, 0x8000'0000'0000'0006},
        {interrupt::machine_timer, 0x8000'0000'0000'0007},
        {interrupt::supervisor_external, 0x8000'0000'0000'0009},
        {interrupt::virtual_supervisor_external, 0x8000'0000'0000'000a},
        {interrupt::machine_external, 0x8000'0000'0000'000b},
        {interrupt::supervisor_guest_external, 0x8000'0000'0000'000c},
        {interrupt::counter_overflow, 0x8000'0000'0000'000d},
    };
    STATIC_REQUIRE(rv::cause_value(interrupt::machine_timer) == 0x8000'0000'0000'0007);
    STATIC_REQUIRE(rv::cause_value(interrupt::supervisor_external) == 0x8000'0000'0000'0009);
    for (const row& r : rows) CHECK(rv::cause_value(r.i) == r.mcause);
}

TEST_CASE("cause: delegable exceptions (priv. spec 3.1.8; H ext. 8.4.2)", "[riscv][cause]") {
    // medeleg: causes 0-9, 12, 13, 15; bit 11 (ecall from M) is read-only zero.
    STATIC_REQUIRE(rv::delegable_exceptions == 0xb3ff);
    STATIC_REQUIRE((rv::delegable_exceptions & (1u << 11)) == 0);
    // With H: ecall from VS (10) and the guest faults and virtual instruction (20-23).
    STATIC_REQUIRE(rv::delegable_exceptions_h == 0xf0'0400);
}

TEST_CASE("cause: interrupt priority (priv. spec 3.1.9; H ext. 8.4.3)", "[riscv][cause]") {
    // MEI, MSI, MTI, SEI, SSI, STI, SGEI, VSEI, VSSI, VSTI, LCOFI.
    constexpr unsigned expected[] = {11, 3, 7, 9, 1, 5, 12, 10, 2, 6, 13};
    STATIC_REQUIRE(sizeof(rv::interrupt_priority) == sizeof(expected));
    STATIC_REQUIRE(rv::interrupt_priority[0] == 11);
    STATIC_REQUIRE(rv::interrupt_priority[10] == 13);
    for (unsigned n = 0; n < sizeof(expected) / sizeof(expected[0]); ++n) CHECK(rv::interrupt_priority[n] == expected[n]);
}
