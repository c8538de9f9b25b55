// SPDX-License-Identifier: MIT
// vfm::virt::discover (virt/discovery.hpp) over the host backend's simulated
// hart: what the monitor learns about the physical hart at boot, here the
// A/D probe. Whether a hart sets a PTE's A and D bits itself (Svadu) or
// raises a page fault (Svade) is the hart's configuration, set by the test;
// the probe must find it and leave nothing behind (satp, PMP entry 0, the
// scratch page all as before).
#include "vfm_catch.hpp"

#include <vfm/host/simulated_hart.hpp>
#include <vfm/virt/discovery.hpp>

using namespace vfm;
using host::hart_config;
using host::simulated_hart;
using riscv::csr;

namespace {

constexpr u64 scratch = 0x8020'0000;  // a page of the simulated RAM (from 0x80000000)

hart_config with(bool svadu, unsigned pmp_entries = 16) {
    hart_config c;
    c.svadu = svadu;
    c.pmp_entries = pmp_entries;
    return c;
}

/// Nothing of the probe is left: satp Bare, PMP entry 0 OFF at address 0, the scratch page zero.
void check_put_back(simulated_hart& hw, unsigned pmp_entries) {
    CHECK(hw.peek_csr(csr::satp).value() == 0);
    if (pmp_entries != 0) {
        CHECK(hw.peek_csr(csr::pmpcfg0).value() == 0);
        CHECK(hw.peek_csr(csr::pmpaddr0).value() == 0);
    }
    const u8* page = hw.physical(scratch, 4096);
    REQUIRE(page != nullptr);
    for (unsigned i = 0; i < 4096; ++i)
        if (page[i] != 0) FAIL("scratch byte " << i << " left at " << int{page[i]});
}

}  // namespace

TEST_CASE("discovery: a hart that sets A and D itself (Svadu) is found so", "[virt][discovery]") {
    for (unsigned entries : {16u, 0u}) {
        simulated_hart hw{with(true, entries)};
        const virt::hart_features f = virt::discover(hw, scratch, 0);
        CHECK(f.updates_accessed_dirty);
        CHECK(f.pmp_count == entries);
        check_put_back(hw, entries);
    }
}

TEST_CASE("discovery: a hart that faults on a clear A (Svade) is found so", "[virt][discovery]") {
    for (unsigned entries : {16u, 0u}) {
        simulated_hart hw{with(false, entries)};
        const virt::hart_features f = virt::discover(hw, scratch, 3);
        CHECK_FALSE(f.updates_accessed_dirty);
        check_put_back(hw, entries);
    }
}

TEST_CASE("discovery: without a scratch page or S-mode the A/D default stands", "[virt][discovery]") {
    SECTION("no scratch page: the QEMU-like default (hardware updates)") {
        simulated_hart hw{with(false)};
        CHECK(virt::discover(hw).updates_accessed_dirty);
    }
    SECTION("a scratch page outside RAM") {
        simulated_hart hw{with(false)};
        CHECK(virt::discover(hw, 0x1000'0000, 0).updates_accessed_dirty);
    }
    SECTION("an M/U hart: no translation to ask about") {
        hart_config c = with(false);
        c.s = false;
        simulated_hart hw{c};
        CHECK(virt::discover(hw, scratch, 0).updates_accessed_dirty);
    }
    SECTION("a hart without Sv39") {
        hart_config c = with(false);
        c.sv39 = false;
        simulated_hart hw{c};
        CHECK(virt::discover(hw, scratch, 0).updates_accessed_dirty);
        CHECK(hw.peek_csr(csr::satp).value() == 0);
    }
}

TEST_CASE("discovery: the probe keeps to its hart's own root entry", "[virt][discovery]") {
    // Two harts probing the same page at once use entries 1 + index: the
    // other entries of the page stay as they were (here, a marker).
    simulated_hart hw{with(true)};
    u8* page = hw.physical(scratch, 4096);
    REQUIRE(page != nullptr);
    page[8 * 1] = 0xaa;  // hart 0's entry would be 1: hart 5 uses 6
    CHECK(virt::discover(hw, scratch, 5).updates_accessed_dirty);
    CHECK(page[8 * 1] == 0xaa);
    page[8 * 1] = 0;
    check_put_back(hw, 16);
}

TEST_CASE("discovery: paging is found by satp taking Sv39 (priv. 4.1.11)", "[virt][discovery]") {
    simulated_hart with_mmu{with(true)};
    CHECK(virt::discover(with_mmu, scratch, 0).has_paging);
    CHECK(with_mmu.peek_csr(csr::satp).value() == 0);
    hart_config bare = with(true);
    bare.sv39 = false;  // satp takes only Bare
    simulated_hart without_mmu{bare};
    CHECK_FALSE(virt::discover(without_mmu, scratch, 0).has_paging);
    CHECK(without_mmu.peek_csr(csr::satp).value() == 0);
    hart_config mu = with(true);
    mu.s = false;  // an M/U hart (the FU540's E51): no satp at all
    simulated_hart monitor_core{mu};
    CHECK_FALSE(virt::discover(monitor_core, scratch, 0).has_paging);
}
