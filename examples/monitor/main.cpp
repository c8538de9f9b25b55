// SPDX-License-Identifier: MIT
// The reference monitor image for QEMU virt: takes M-mode on every hart, runs
// the firmware found at VFM_FIRMWARE_ADDRESS in vM-mode, and handles its traps.
// The entry points the metal shim calls come from VFM_METAL_ENTRY_POINTS; this
// file is the port's part: the board, the monitor and the board's setup
// (docs/porting.md).
#include <vfm/metal/entry_points.hpp>
#include <vfm/monitor.hpp>
#include <vfm/platform/qemu_virt.hpp>

#include "policies.hpp"

#ifndef VFM_FIRMWARE_ADDRESS
#define VFM_FIRMWARE_ADDRESS 0x80100000
#endif
#ifndef VFM_LOG_LEVEL
#define VFM_LOG_LEVEL 0
#endif
/// Bus masters (DMA) handed to the firmware, by device-tree node name
/// (-Dfirmware_bus_masters): containment is given up for them.
#ifndef VFM_FIRMWARE_BUS_MASTERS
#define VFM_FIRMWARE_BUS_MASTERS ""
#endif
/// Physical PMP entries the monitor may use, 0 for all (-Dpmp_entries, docs/pmp.md).
#ifndef VFM_PMP_ENTRIES
#define VFM_PMP_ENTRIES 0
#endif

namespace {

using board_type = vfm::platforms::qemu_virt<VFM_MAX_HARTS>;
using monitor_type = vfm::monitor<vfm::metal::hart_backend, board_type VFM_POLICIES>;

constinit board_type board;
constinit monitor_type monitor{board};

/// The first hart's board setup: the device tree gives everything, the
/// monitor's image is reserved in it.
const char* setup_board(const vfm::metal::boot_context& boot) {
    const char* error = board.init(boot.device_tree, boot.image, VFM_FIRMWARE_ADDRESS, VFM_FIRMWARE_BUS_MASTERS);
    if (error != nullptr) return error;
    board.limit_pmp_entries(VFM_PMP_ENTRIES);
    for (vfm::u32 i = 0; i < board.given_to_firmware(); ++i)
        monitor.print("vfm: warning: the firmware is given {}, a bus master: it can write any memory, the "
                      "monitor's included; containment is given up\n",
                      board.given_name(i));
    if (VFM_LOG_LEVEL >= 1)
        monitor.print("vfm: monitor {:#x}-{:#x} ({} bytes image), {} harts, firmware at {:#x}\n", boot.image.base,
                      boot.image.end(), boot.image_bytes, board.hart_count(), vfm::u64{VFM_FIRMWARE_ADDRESS});
    return nullptr;
}

}  // namespace

VFM_METAL_ENTRY_POINTS(monitor, setup_board);
