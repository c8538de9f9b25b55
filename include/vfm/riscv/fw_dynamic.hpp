// SPDX-License-Identifier: MIT
/// The `fw_dynamic_info` structure that a previous boot stage passes in a2 to
/// OpenSBI's fw_dynamic firmware (OpenSBI docs/firmware/fw_dynamic.md);
/// QEMU's reset code builds one for `-bios` images.
#pragma once

#include <vfm/detail/types.hpp>

namespace vfm::riscv {

struct fw_dynamic_info {
    u64 magic;      ///< fw_dynamic_magic
    u64 version;    ///< 1 or 2 (version 2 adds boot_hart)
    u64 next_addr;  ///< where the firmware jumps after its own initialisation
    u64 next_mode;  ///< privilege for next_addr: 0 U, 1 S, 3 M
    u64 options;    ///< fw_dynamic_option_* bits
    u64 boot_hart;  ///< version 2: preferred boot hart, or -1 to let the firmware choose
};

/// "OSBI" in little-endian byte order.
inline constexpr u64 fw_dynamic_magic = 0x4942534f;
inline constexpr u64 fw_dynamic_version_max = 2;
/// options: do not print the boot banner.
inline constexpr u64 fw_dynamic_option_no_banner = 1;

static_assert(sizeof(fw_dynamic_info) == 48, "fw_dynamic_info is six XLEN words");

[[nodiscard]] constexpr bool is_valid(const fw_dynamic_info& info) noexcept {
    return info.magic == fw_dynamic_magic && info.version >= 1 && info.version <= fw_dynamic_version_max;
}

}  // namespace vfm::riscv
