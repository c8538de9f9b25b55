// SPDX-License-Identifier: MIT
// Tests for vfm/riscv/sbi.hpp against the RISC-V SBI specification v2.0
// (chapters 3 to 16) and, for FWFT, DBTR, MPXY and the newer error codes, v3.0.
#include <vfm/riscv/sbi.hpp>

#include <cstdint>

#include "vfm_catch.hpp"

namespace sbi = vfm::riscv::sbi;

TEST_CASE("sbi: legacy extension IDs (SBI spec chapter 5)", "[riscv][sbi]") {
    STATIC_REQUIRE(sbi::eid::legacy_set_timer == 0x00);
    STATIC_REQUIRE(sbi::eid::legacy_console_putchar == 0x01);
    STATIC_REQUIRE(sbi::eid::legacy_console_getchar == 0x02);
    STATIC_REQUIRE(sbi::eid::legacy_clear_ipi == 0x03);
    STATIC_REQUIRE(sbi::eid::legacy_send_ipi == 0x04);
    STATIC_REQUIRE(sbi::eid::legacy_remote_fence_i == 0x05);
    STATIC_REQUIRE(sbi::eid::legacy_remote_sfence_vma == 0x06);
    STATIC_REQUIRE(sbi::eid::legacy_remote_sfence_vma_asid == 0x07);
    STATIC_REQUIRE(sbi::eid::legacy_shutdown == 0x08);
}

TEST_CASE("sbi: extension IDs", "[riscv][sbi]") {
    STATIC_REQUIRE(sbi::eid::base == 0x10);
    STATIC_REQUIRE(sbi::eid::time == 0x54494d45);
    STATIC_REQUIRE(sbi::eid::ipi == 0x735049);
    STATIC_REQUIRE(sbi::eid::rfence == 0x52464e43);
    STATIC_REQUIRE(sbi::eid::hsm == 0x48534d);
    STATIC_REQUIRE(sbi::eid::srst == 0x53525354);
    STATIC_REQUIRE(sbi::eid::pmu == 0x504d55);
    STATIC_REQUIRE(sbi::eid::dbcn == 0x4442434e);
    STATIC_REQUIRE(sbi::eid::susp == 0x53555350);
    STATIC_REQUIRE(sbi::eid::cppc == 0x43505043);
    STATIC_REQUIRE(sbi::eid::nacl == 0x4e41434c);
    STATIC_REQUIRE(sbi::eid::sta == 0x535441);
    STATIC_REQUIRE(sbi::eid::fwft == 0x46574654);
    STATIC_REQUIRE(sbi::eid::dbtr == 0x44425452);
    STATIC_REQUIRE(sbi::eid::mpxy == 0x4d505859);
}

TEST_CASE("sbi: function IDs", "[riscv][sbi]") {
    SECTION("base (chapter 4)") {
        STATIC_REQUIRE(sbi::base_fid::get_spec_version == 0);
        STATIC_REQUIRE(sbi::base_fid::get_impl_id == 1);
        STATIC_REQUIRE(sbi::base_fid::get_impl_version == 2);
        STATIC_REQUIRE(sbi::base_fid::probe_extension == 3);
        STATIC_REQUIRE(sbi::base_fid::get_mvendorid == 4);
        STATIC_REQUIRE(sbi::base_fid::get_marchid == 5);
        STATIC_REQUIRE(sbi::base_fid::get_mimpid == 6);
    }
    SECTION("timer, IPI, RFENCE (chapters 6 to 8)") {
        STATIC_REQUIRE(sbi::time_fid::set_timer == 0);
        STATIC_REQUIRE(sbi::ipi_fid::send_ipi == 0);
        STATIC_REQUIRE(sbi::rfence_fid::remote_fence_i == 0);
        STATIC_REQUIRE(sbi::rfence_fid::remote_sfence_vma == 1);
        STATIC_REQUIRE(sbi::rfence_fid::remote_sfence_vma_asid == 2);
        STATIC_REQUIRE(sbi::rfence_fid::remote_hfence_gvma_vmid == 3);
        STATIC_REQUIRE(sbi::rfence_fid::remote_hfence_gvma == 4);
        STATIC_REQUIRE(sbi::rfence_fid::remote_hfence_vvma_asid == 5);
        STATIC_REQUIRE(sbi::rfence_fid::remote_hfence_vvma == 6);
    }
    SECTION("HSM, SRST (chapters 9, 10)") {
        STATIC_REQUIRE(sbi::hsm_fid::hart_start == 0);
        STATIC_REQUIRE(sbi::hsm_fid::hart_stop == 1);
        STATIC_REQUIRE(sbi::hsm_fid::hart_get_status == 2);
        STATIC_REQUIRE(sbi::hsm_fid::hart_suspend == 3);
        STATIC_REQUIRE(sbi::srst_fid::system_reset == 0);
    }
    SECTION("PMU (chapter 11)") {
        STATIC_REQUIRE(sbi::pmu_fid::num_counters == 0);
        STATIC_REQUIRE(sbi::pmu_fid::counter_get_info == 1);
        STATIC_REQUIRE(sbi::pmu_fid::counter_config_matching == 2);
        STATIC_REQUIRE(sbi::pmu_fid::counter_start == 3);
        STATIC_REQUIRE(sbi::pmu_fid::counter_stop == 4);
        STATIC_REQUIRE(sbi::pmu_fid::counter_fw_read == 5);
        STATIC_REQUIRE(sbi::pmu_fid::counter_fw_read_hi == 6);
        STATIC_REQUIRE(sbi::pmu_fid::snapshot_set_shmem == 7);
        STATIC_REQUIRE(sbi::pmu_fid::event_get_info == 8);  // SBI v3.0
    }
    SECTION("DBCN, SUSP (chapters 12, 13)") {
        STATIC_REQUIRE(sbi::dbcn_fid::console_write == 0);
        STATIC_REQUIRE(sbi::dbcn_fid::console_read == 1);
        STATIC_REQUIRE(sbi::dbcn_fid::console_write_byte == 2);
        STATIC_REQUIRE(sbi::susp_fid::system_suspend == 0);
    }
}

TEST_CASE("sbi: standard error codes (SBI spec 3.2, table 1)", "[riscv][sbi]") {
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::success) == 0);
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::failed) == -1);
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::not_supported) == -2);
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::invalid_param) == -3);
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::denied) == -4);
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::invalid_address) == -5);
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::already_available) == -6);
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::already_started) == -7);
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::already_stopped) == -8);
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::no_shmem) == -9);
    // SBI v3.0 additions.
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::invalid_state) == -10);
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::bad_range) == -11);
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::timeout) == -12);
    STATIC_REQUIRE(static_cast<std::int64_t>(sbi::error::io) == -13);
    // As returned in a0 (XLEN bits).
    CHECK(static_cast<std::uint64_t>(sbi::error::not_supported) == 0xffff'ffff'ffff'fffe);
}

TEST_CASE("sbi: hart mask base -1 selects all harts (SBI spec 3.1)", "[riscv][sbi]") {
    STATIC_REQUIRE(sbi::hart_mask_all == 0xffff'ffff'ffff'ffff);
}
