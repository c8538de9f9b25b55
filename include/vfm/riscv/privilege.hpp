// SPDX-License-Identifier: MIT
/// Privilege modes (priv. spec 1.2) and their encoding in mstatus.MPP / SPP.
#pragma once

#include <vfm/detail/types.hpp>

namespace vfm::riscv {

/// A privilege level as encoded in mstatus.MPP. The value 2 is reserved (it is
/// the hypervisor level of old drafts) and never produced by vfm.
enum class privilege : u8 {
    user = 0,        ///< PRV_U
    supervisor = 1,  ///< PRV_S
    machine = 3,     ///< PRV_M
};

[[nodiscard]] constexpr const char* name(privilege p) noexcept {
    switch (p) {
        case privilege::user: return "U";
        case privilege::supervisor: return "S";
        case privilege::machine: return "M";
    }
    return "?";
}

}  // namespace vfm::riscv
