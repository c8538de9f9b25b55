// SPDX-License-Identifier: MIT
// The same scenarios across hart configurations: with and without the H
// extension, with 0, 16 and 64 PMP entries.
#include <string>
#include <vector>

#include "vfm_catch.hpp"

#include <vfm/host/simulated_hart.hpp>

using namespace vfm;
using host::hart_config;
using host::simulated_hart;
using riscv::csr;
using riscv::privilege;

namespace {

template <bool H, unsigned Pmp>
struct shape {
    static constexpr bool h = H;
    static constexpr unsigned pmp = Pmp;
    static hart_config make() {
        hart_config c = H ? hart_config::full() : hart_config::rv64gc();
        c.pmp_entries = Pmp;
        return c;
    }
};

using no_h_pmp0 = shape<false, 0>;
using no_h_pmp16 = shape<false, 16>;
using h_pmp16 = shape<true, 16>;
using h_pmp64 = shape<true, 64>;

}  // namespace

TEMPLATE_TEST_CASE("hart shapes: H CSRs and mstatus", "[host][config]", no_h_pmp0, no_h_pmp16, h_pmp16, h_pmp64) {
    simulated_hart hw{TestType::make()};
    CHECK(hw.implemented(csr::hstatus) == TestType::h);
    CHECK(hw.implemented(csr::mtval2) == TestType::h);
    CHECK(hw.csr_read(csr::vsatp).ok == TestType::h);
    CHECK(hw.csr_read(csr::misa).value == (TestType::h ? 0x8000'0000'0014'11ad : 0x8000'0000'0014'112d));
    CHECK(hw.csr_write(csr::mstatus, ~u64{0}));
    CHECK(hw.csr_read(csr::mstatus).value == (TestType::h ? 0x8000'00ca'007e'79aa : 0x8000'000a'007e'79aa));
    CHECK(hw.csr_write(csr::mideleg, 0));
    CHECK(hw.csr_read(csr::mideleg).value == (TestType::h ? 0x1444u : 0u));
}

TEMPLATE_TEST_CASE("hart shapes: PMP CSRs exist with the entries", "[host][config]", no_h_pmp0, no_h_pmp16, h_pmp16,
                   h_pmp64) {
    simulated_hart hw{TestType::make()};
    const bool any = TestType::pmp != 0;
    CHECK(hw.csr_read(csr::pmpcfg0).ok == any);
    CHECK(hw.csr_read(csr::pmpaddr63).ok == any);
    CHECK(hw.csr_read(csr::pmpcfg14).ok == any);
    if (any) {
        const auto last = static_cast<csr>(riscv::pmpaddr_number(TestType::pmp - 1));
        CHECK(hw.csr_write(last, ~u64{0}));
        CHECK(hw.csr_read(last).value == 0x003f'ffff'ffff'ffff);
        CHECK(hw.csr_write(csr::pmpcfg14, 0x0f0f));
        CHECK(hw.csr_read(csr::pmpcfg14).value == (TestType::pmp == 64 ? 0x0f0fu : 0u));
    }
}

TEMPLATE_TEST_CASE("hart shapes: S-mode access without a PMP match", "[host][config]", no_h_pmp0, no_h_pmp16,
                   h_pmp16, h_pmp64) {
    simulated_hart hw{TestType::make()};
    const bool pass = TestType::pmp == 0;
    CHECK(hw.check_access(0x8000'0000, 8, host::access_type::load, privilege::supervisor).allowed == pass);
    const auto r = hw.load({privilege::supervisor, false, false}, 0x8000'0000, 8);
    CHECK(r.ok == pass);
    CHECK(r.cause == (pass ? 0u : 5u));
    CHECK(hw.check_access(0x8000'0000, 8, host::access_type::store, privilege::machine).allowed);
}

TEMPLATE_TEST_CASE("hart shapes: a trap and the mret back", "[host][config]", no_h_pmp0, no_h_pmp16, h_pmp16,
                   h_pmp64) {
    simulated_hart hw{TestType::make()};
    alignas(64) static unsigned char storage[64];
    virt::hart& context = *reinterpret_cast<virt::hart*>(storage);
    CHECK(hw.csr_write(csr::mtvec, 0x8000'0000));
    CHECK(hw.csr_write(csr::mstatus, 0x8));  // MIE
    const u64 handler = hw.trap(riscv::exception::ecall_from_s, 0, privilege::supervisor, false, 0x8020'0100);
    CHECK(handler == 0x8000'0000);
    CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0000'0880);
    CHECK(hw.csr_write(csr::mepc, hw.csr_read(csr::mepc).value + 4));
    hw.resume(context);
    CHECK(hw.csr_read(csr::mstatus).value == 0x0000'000a'0000'0088);
    const auto resumes = hw.log().resumes();
    REQUIRE(resumes.size() == 1);
    CHECK(resumes[0].pc == 0x8020'0104);
    CHECK(resumes[0].privilege == privilege::supervisor);
    CHECK(hw.privilege() == privilege::supervisor);
}

namespace {

/// Core-style code: takes any backend through the concept and probes which
/// bits of a CSR hold a one, restoring the old value (as discovery does).
template <vfm::arch A>
u64 writable_bits(A& hw, csr number) {
    const csr_result old = hw.csr_swap(number, ~u64{0});
    if (!old.ok) return 0;
    const u64 ones = hw.csr_read(number).value;
    (void)hw.csr_write(number, old.value);
    return ones;
}

}  // namespace

TEMPLATE_TEST_CASE("hart shapes: probing through the arch concept", "[host][config]", no_h_pmp0, no_h_pmp16,
                   h_pmp16, h_pmp64) {
    simulated_hart hw{TestType::make()};
    CHECK(writable_bits(hw, csr::medeleg) == (TestType::h ? 0xf0'b7ffu : 0xb3ffu));
    CHECK(writable_bits(hw, csr::hedeleg) == (TestType::h ? 0xb1ffu : 0u));
    CHECK(writable_bits(hw, csr::pmpaddr0) == (TestType::pmp != 0 ? 0x003f'ffff'ffff'ffffu : 0u));
    CHECK(hw.csr_read(csr::medeleg).value == 0);
    // Each probe is one swap and one write back, both logged with old and new values.
    const auto writes = hw.log().writes_to(csr::medeleg);
    REQUIRE(writes.size() == 2);
    CHECK(writes[0].op == host::csr_op::swap);
    CHECK(writes[1].new_value == 0);
}

TEST_CASE("misuses are reported, not silently accepted", "[host][config]") {
    simulated_hart hw;  // no H
    std::vector<std::string> reported;
    hw.set_misuse_handler([&](const std::string& m) { reported.push_back(m); });
    hw.hfence_gvma({});
    CHECK(hw.load({privilege::supervisor, false, false}, 0x8000'0000, 3).cause == 5);
    CHECK(hw.load({privilege::supervisor, true, false}, 0x8000'0000, 8).cause == 5);
    REQUIRE(reported.size() == 3);
    CHECK(reported[0] == "hfence.gvma on a hart without the H extension (illegal instruction)");
    CHECK(reported[1] == "load of width 3");
    CHECK(reported[2] == "access on behalf of a virtualized mode without H, or of 'VM'");
    simulated_hart mu{hart_config::mu()};
    mu.set_misuse_handler([&](const std::string& m) { reported.push_back(m); });
    mu.trap(riscv::exception::ecall_from_s, 0, privilege::supervisor, false, 0);
    REQUIRE(reported.size() == 4);
    CHECK(reported[3] == "trap from S-mode, which this hart lacks");
}
