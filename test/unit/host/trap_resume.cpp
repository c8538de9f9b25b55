// SPDX-License-Identifier: MIT
// Trap entry into M-mode and the mret of `resume`, as the privileged spec
// describes them (3.1.6.1, 3.1.7, 3.3.2; H extension 9.4.1, 9.6).
#include "vfm_catch.hpp"

#include <vfm/host/simulated_hart.hpp>

using namespace vfm;
using host::hart_config;
using host::simulated_hart;
using riscv::csr;
using riscv::privilege;

namespace {

/// The engine's context type is opaque to the host backend, which only records
/// its address: any storage stands in for it here.
alignas(64) unsigned char context_storage[64];
virt::hart& some_context() { return *reinterpret_cast<virt::hart*>(context_storage); }

}  // namespace

TEST_CASE("trap entry: mepc, mcause, mtval, MPIE = MIE, MIE = 0, MPP = from", "[host][trap]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::mstatus, 0x8));  // MIE = 1, MPP = U
    CHECK(hw.csr_write(csr::mtvec, 0x8000'0100));
    hw.set_mode(privilege::user, false);
    const u64 handler = hw.trap(riscv::exception::illegal_instruction, 0x3020'0073, privilege::user, false,
                                0x8020'0004);
    CHECK(handler == 0x8000'0100);
    CHECK(hw.csr_read(csr::mepc).value == 0x8020'0004);
    CHECK(hw.csr_read(csr::mcause).value == 2);
    CHECK(hw.csr_read(csr::mtval).value == 0x3020'0073);
    CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0000'0080);  // MPIE = 1, MIE = 0, MPP = U
    CHECK(hw.privilege() == privilege::machine);
    const auto traps = hw.log().traps();
    REQUIRE(traps.size() == 1);
    CHECK(traps[0].cause == 2);
    CHECK(traps[0].handler == 0x8000'0100);

    SECTION("a second trap from S with MIE = 0 leaves MPIE = 0") {
        hw.trap(riscv::exception::ecall_from_s, 0, privilege::supervisor, false, 0x8020'1000);
        CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0000'0800);
        CHECK(hw.csr_read(csr::mcause).value == 9);
    }
}

TEST_CASE("trap entry: vectored mtvec sends interrupts to base + 4 x cause (3.1.7)", "[host][trap]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::mtvec, 0x8000'0001));
    CHECK(hw.raise_interrupt(riscv::interrupt::machine_timer, privilege::supervisor, false, 0x8020'0000) ==
          0x8000'001c);
    CHECK(hw.csr_read(csr::mcause).value == 0x8000'0000'0000'0007);
    CHECK(hw.csr_read(csr::mtval).value == 0);
    CHECK(hw.trap(riscv::exception::load_access_fault, 0x1000, privilege::supervisor, false, 0x8020'0000) ==
          0x8000'0000);
    CHECK(hw.raise_interrupt(riscv::interrupt::machine_external, privilege::machine, false, 0x8000'0040) ==
          0x8000'002c);
}

TEST_CASE("trap entry with H: MPV, GVA, mtval2, mtinst (9.4.1, 9.4.4, 9.4.5)", "[host][trap]") {
    simulated_hart hw{hart_config::full()};
    hw.trap(riscv::exception::load_guest_page_fault, 0x4000'1234, privilege::supervisor, true, 0x8040'0000,
            0x2000'0048, 0x0000'3003, true);
    // MPV (39), GVA (38), MPP = S, SXL = UXL = 2
    CHECK(hw.csr_read(csr::mstatus).value == 0x0000'00ca'0000'0800);
    CHECK(hw.csr_read(csr::mcause).value == 21);
    CHECK(hw.csr_read(csr::mtval).value == 0x4000'1234);
    CHECK(hw.csr_read(csr::mtval2).value == 0x2000'0048);
    CHECK(hw.csr_read(csr::mtinst).value == 0x3003);
    SECTION("a trap from HS clears MPV, GVA and mtval2") {
        hw.trap(riscv::exception::ecall_from_s, 0, privilege::supervisor, false, 0x8020'0000);
        CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0000'0800);
        CHECK(hw.csr_read(csr::mtval2).value == 0);
    }
}

TEST_CASE("resume applies mret: MIE = MPIE, MPIE = 1, MPP = U, MPRV = 0 when MPP != M (3.3.2)", "[host][trap]") {
    simulated_hart hw;
    virt::hart& context = some_context();
    CHECK(hw.csr_write(csr::mepc, 0x8020'0000));
    CHECK(hw.csr_write(csr::mstatus, 0x2'0880));  // MPRV, MPP = S, MPIE
    hw.log().clear();
    hw.resume(context);
    CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0000'0088);  // MIE, MPIE, MPP = U, MPRV = 0
    CHECK(hw.privilege() == privilege::supervisor);
    CHECK_FALSE(hw.virtualized());
    const auto& entry = hw.log().last_entry();
    REQUIRE(std::holds_alternative<host::resume_event>(entry));
    const auto& resume = std::get<host::resume_event>(entry);
    CHECK(resume.pc == 0x8020'0000);
    CHECK(resume.privilege == privilege::supervisor);
    CHECK_FALSE(resume.virtualized);
    CHECK(resume.context == &context);
    CHECK(hw.log().size() == 1);

    SECTION("to M-mode MPRV stays") {
        CHECK(hw.csr_write(csr::mstatus, 0x2'1800));  // MPRV, MPP = M, MPIE = 0
        hw.resume(context);
        CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0002'0080);
        CHECK(hw.privilege() == privilege::machine);
    }
}

TEST_CASE("resume without U-mode leaves MPP = M (3.3.2)", "[host][trap]") {
    simulated_hart hw{hart_config::m_only()};
    virt::hart& context = some_context();
    CHECK(hw.csr_write(csr::mstatus, 0x80));
    hw.resume(context);
    CHECK(hw.csr_read(csr::mstatus).value == 0x1888);
}

TEST_CASE("resume with H enters VS when MPV = 1 and clears MPV (9.6.4)", "[host][trap]") {
    simulated_hart hw{hart_config::full()};
    virt::hart& context = some_context();
    CHECK(hw.csr_write(csr::mepc, 0x8040'0000));
    CHECK(hw.csr_write(csr::mstatus, 0x80'0000'0800));  // MPV, MPP = S
    hw.resume(context);
    CHECK(hw.privilege() == privilege::supervisor);
    CHECK(hw.virtualized());
    CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0000'0080);
    const auto resume = hw.log().last<host::resume_event>();
    REQUIRE(resume);
    CHECK(resume->virtualized);
    SECTION("then a trap from VS records MPV = 1") {
        hw.trap(riscv::exception::ecall_from_vs, 0, hw.privilege(), hw.virtualized(), 0x8040'0010);
        CHECK(hw.csr_read(csr::mstatus).value == 0x0000'008a'0000'0800);  // MPIE = MIE = 0
        CHECK_FALSE(hw.virtualized());
    }
}
