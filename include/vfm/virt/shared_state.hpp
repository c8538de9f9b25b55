// SPDX-License-Identifier: MIT
/// What the harts' monitors share: the virtual CLINT the firmware sees (msip,
/// mtimecmp of every hart), the doorbell requests, the virtual harts.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/virt/hart.hpp>

namespace vfm::virt {

/// Work one hart's monitor asks of another's, signalled through the doorbell
/// (the physical msip): bits of shared_state::requests.
namespace request {
inline constexpr u32 timer = 1;   ///< the hart's virtual mtimecmp changed: reprogram the timer
inline constexpr u32 policy = 2;  ///< a policy has queued work for the hart
}  // namespace request

/// State shared by all harts: the virtual CLINT the firmware sees, the
/// doorbell requests, and the virtual harts themselves.
template <u32 MaxHarts>
struct shared_state {
    static constexpr u32 max_harts = MaxHarts;
    hart* harts[MaxHarts] = {};
    /// The firmware's mtimecmp of each hart; 0 at reset (as on QEMU), so MTIP
    /// is pending until the firmware first programs its timer.
    u64 mtimecmp[MaxHarts] = {};
    u32 msip[MaxHarts] = {};
    u32 requests[MaxHarts] = {};
};

}  // namespace vfm::virt
