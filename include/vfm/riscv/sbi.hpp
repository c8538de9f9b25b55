// SPDX-License-Identifier: MIT
/// SBI extension and function numbers and error codes (RISC-V SBI spec v2.0).
/// a7 holds the extension ID (EID), a6 the function ID (FID); a0/a1 return
/// the error and value.
#pragma once

#include <vfm/detail/types.hpp>

namespace vfm::riscv::sbi {

/// Extension IDs (SBI spec chapter 3 onwards).
namespace eid {
inline constexpr u64 legacy_set_timer = 0x00;
inline constexpr u64 legacy_console_putchar = 0x01;
inline constexpr u64 legacy_console_getchar = 0x02;
inline constexpr u64 legacy_clear_ipi = 0x03;
inline constexpr u64 legacy_send_ipi = 0x04;
inline constexpr u64 legacy_remote_fence_i = 0x05;
inline constexpr u64 legacy_remote_sfence_vma = 0x06;
inline constexpr u64 legacy_remote_sfence_vma_asid = 0x07;
inline constexpr u64 legacy_shutdown = 0x08;
inline constexpr u64 base = 0x10;
inline constexpr u64 time = 0x54494D45;    ///< "TIME"
inline constexpr u64 ipi = 0x735049;       ///< "sPI"
inline constexpr u64 rfence = 0x52464E43;  ///< "RFNC"
inline constexpr u64 hsm = 0x48534D;       ///< "HSM"
inline constexpr u64 srst = 0x53525354;    ///< "SRST"
inline constexpr u64 pmu = 0x504D55;       ///< "PMU"
inline constexpr u64 dbcn = 0x4442434E;    ///< "DBCN"
inline constexpr u64 susp = 0x53555350;    ///< "SUSP"
inline constexpr u64 cppc = 0x43505043;    ///< "CPPC"
inline constexpr u64 nacl = 0x4E41434C;    ///< "NACL"
inline constexpr u64 sta = 0x535441;       ///< "STA"
inline constexpr u64 fwft = 0x46574654;    ///< "FWFT"
inline constexpr u64 dbtr = 0x44425452;    ///< "DBTR"
inline constexpr u64 mpxy = 0x4D505859;    ///< "MPXY"
}  // namespace eid

/// Base extension functions.
namespace base_fid {
inline constexpr u64 get_spec_version = 0;
inline constexpr u64 get_impl_id = 1;
inline constexpr u64 get_impl_version = 2;
inline constexpr u64 probe_extension = 3;
inline constexpr u64 get_mvendorid = 4;
inline constexpr u64 get_marchid = 5;
inline constexpr u64 get_mimpid = 6;
}  // namespace base_fid

namespace time_fid {
inline constexpr u64 set_timer = 0;
}
namespace ipi_fid {
inline constexpr u64 send_ipi = 0;
}
namespace rfence_fid {
inline constexpr u64 remote_fence_i = 0;
inline constexpr u64 remote_sfence_vma = 1;
inline constexpr u64 remote_sfence_vma_asid = 2;
inline constexpr u64 remote_hfence_gvma_vmid = 3;
inline constexpr u64 remote_hfence_gvma = 4;
inline constexpr u64 remote_hfence_vvma_asid = 5;
inline constexpr u64 remote_hfence_vvma = 6;
}  // namespace rfence_fid
namespace hsm_fid {
inline constexpr u64 hart_start = 0;
inline constexpr u64 hart_stop = 1;
inline constexpr u64 hart_get_status = 2;
inline constexpr u64 hart_suspend = 3;
}  // namespace hsm_fid
namespace srst_fid {
inline constexpr u64 system_reset = 0;
}
namespace dbcn_fid {
inline constexpr u64 console_write = 0;
inline constexpr u64 console_read = 1;
inline constexpr u64 console_write_byte = 2;
}  // namespace dbcn_fid
namespace pmu_fid {
inline constexpr u64 num_counters = 0;
inline constexpr u64 counter_get_info = 1;
inline constexpr u64 counter_config_matching = 2;
inline constexpr u64 counter_start = 3;
inline constexpr u64 counter_stop = 4;
inline constexpr u64 counter_fw_read = 5;
inline constexpr u64 counter_fw_read_hi = 6;
inline constexpr u64 snapshot_set_shmem = 7;
inline constexpr u64 event_get_info = 8;
}  // namespace pmu_fid
namespace susp_fid {
inline constexpr u64 system_suspend = 0;
}

/// Standard SBI error codes (SBI spec 3.2).
enum class error : i64 {
    success = 0,
    failed = -1,
    not_supported = -2,
    invalid_param = -3,
    denied = -4,
    invalid_address = -5,
    already_available = -6,
    already_started = -7,
    already_stopped = -8,
    no_shmem = -9,
    invalid_state = -10,
    bad_range = -11,
    timeout = -12,
    io = -13,
};

/// Hart-mask convention (SBI spec 3.1): hart_mask_base = -1 means all harts.
inline constexpr u64 hart_mask_all = ~u64{0};

}  // namespace vfm::riscv::sbi
