// SPDX-License-Identifier: MIT
// The access log: what is recorded, in which order, the query helpers, fmt
// formatting, and the `log` sink used with the core's format_to.
#include <string>

#include "vfm_catch.hpp"

#include <fmt/format.h>

#include <vfm/detail/format.hpp>
#include <vfm/host/simulated_hart.hpp>

using namespace vfm;
using host::hart_config;
using host::simulated_hart;
using riscv::csr;
using riscv::privilege;

TEST_CASE("the log records side effects in order", "[host][log]") {
    simulated_hart hw{hart_config::full()};
    CHECK(hw.csr_write(csr::mie, ~u64{0}));
    hw.fence_i();
    hw.sfence_vma({0x4000'0000, 3, false, false});
    hw.hfence_vvma({});
    hw.hfence_gvma({0x1000, 7, false, true});
    hw.wait_for_interrupt();
    CHECK(hw.csr_set(csr::mstatus, 0x8).ok);
    CHECK_FALSE(hw.csr_read(csr::tselect).ok);
    REQUIRE(hw.log().size() == 8);

    const auto writes = hw.log().writes_to(csr::mie);
    REQUIRE(writes.size() == 1);
    CHECK(writes[0].op == host::csr_op::write);
    CHECK(writes[0].old_value == 0);
    CHECK(writes[0].written == ~u64{0});
    CHECK(writes[0].new_value == 0x3eee);
    CHECK(hw.log().last_written(csr::mie) == u64{0x3eee});
    CHECK_FALSE(hw.log().last_written(csr::mip));

    const auto fences = hw.log().fences();
    REQUIRE(fences.size() == 4);
    CHECK(fences[1].kind == host::fence_kind::sfence_vma);
    CHECK(fences[1].address == 0x4000'0000);
    CHECK(fences[1].id == 3);
    CHECK_FALSE(fences[1].all_addresses);
    CHECK(fences[2].all_addresses);
    CHECK(fences[2].all_ids);
    CHECK(fences[3].kind == host::fence_kind::hfence_gvma);
    CHECK(fences[3].address == 0x1000);
    CHECK(fences[3].id == 0);
    CHECK(fences[3].all_ids);
    CHECK(hw.log().count<host::wfi_event>() == 1);
    CHECK(hw.log().last<host::csr_trap_event>()->number == csr::tselect);
    CHECK(std::holds_alternative<host::csr_trap_event>(hw.log().last_entry()));

    hw.log().clear();
    CHECK(hw.log().empty());
}

TEST_CASE("reads are logged only when asked", "[host][log]") {
    simulated_hart hw;
    CHECK(hw.csr_read(csr::mstatus).ok);
    CHECK(hw.log().empty());
    hw.log().record_reads(true);
    CHECK(hw.csr_read(csr::mstatus).ok);
    const auto reads = hw.log().reads_of(csr::mstatus);
    REQUIRE(reads.size() == 1);
    CHECK(reads[0].value == 0x0000'000a'0000'1800);
    SECTION("peek and poke leave no trace") {
        hw.log().clear();
        CHECK(hw.poke_csr(csr::mscratch, 5));
        CHECK(hw.peek_csr(csr::mscratch) == u64{5});
        CHECK_FALSE(hw.peek_csr(csr::hstatus));
        CHECK_FALSE(hw.poke_csr(csr::mhartid, 1));
        CHECK(hw.log().empty());
    }
}

TEST_CASE("wfi runs the test's hook, which can make an interrupt arrive", "[host][log]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::mie, 0x80));
    int calls = 0;
    hw.set_wfi_hook([&](simulated_hart& h) {
        ++calls;
        h.set_mtip(true);
    });
    hw.wait_for_interrupt();
    CHECK(calls == 1);
    const auto wfi = hw.log().last<host::wfi_event>();
    REQUIRE(wfi);
    CHECK(wfi->pending == 0x80);
    CHECK(hw.csr_read(csr::mip).value == 0x80);
}

TEST_CASE("entries format with fmt", "[host][log]") {
    simulated_hart hw;
    CHECK(hw.csr_write(csr::mie, ~u64{0}));
    CHECK(fmt::format("{}", hw.log().last_entry()) ==
          "csr write mie (csrw): 0x0 -> 0xaaa (operand 0xffffffffffffffff)");
    const auto w = hw.log().writes_to(csr::mie).at(0);
    CHECK(fmt::format("{}", w) == "csr write mie (csrw): 0x0 -> 0xaaa (operand 0xffffffffffffffff)");
    CHECK_FALSE(hw.csr_write(csr::mhartid, 1));
    CHECK(fmt::format("{}", hw.log().last_entry()) == "csr trap mhartid (csrw 0x1): read-only");
    CHECK_FALSE(hw.csr_read(static_cast<csr>(0x7c0)).ok);
    CHECK(fmt::format("{}", hw.log().last_entry()) == "csr trap csr0x7c0 (csrr 0x0): absent");
    hw.sfence_vma({});
    CHECK(fmt::format("{}", hw.log().last_entry()) == "sfence.vma x0, x0");
    hw.sfence_vma({0x4000'0000, 0, false, false});
    CHECK(fmt::format("{}", hw.log().last_entry()) == "sfence.vma 0x40000000, 0x0");
    const auto load = hw.load({privilege::supervisor, false, false}, 0x8000'0000, 8);
    CHECK_FALSE(load.ok);
    CHECK(fmt::format("{}", hw.log().last_entry()) == "load S 0x80000000 width 8: fault cause 5 tval 0x80000000");
    CHECK(hw.csr_write(csr::mtvec, 0x8000'0000));
    hw.trap(riscv::exception::ecall_from_s, 0, privilege::supervisor, false, 0x8020'0000);
    CHECK(fmt::format("{}", hw.log().last_entry()) ==
          "trap cause 0x9 tval 0x0 from S at 0x80200000 -> 0x80000000");
    const std::string all = fmt::format("{}", hw.log());
    CHECK(all.find("   0: csr write mie") == 0);
    CHECK(all.find("   7: trap cause 0x9") != std::string::npos);
}

TEST_CASE("the log sink works with the core's format_to", "[host][log]") {
    host::log sink;
    detail::format_to(sink, "hart {} pc {:#x} mode {}\n", 3, u64{0x8000'0000}, "S");
    CHECK(sink.str() == "hart 3 pc 0x80000000 mode S\n");
    sink.clear();
    CHECK(sink.str().empty());
}
