// SPDX-License-Identifier: MIT
// A vfm monitor for QEMU `spike`, built outside vfm's tree from the
// vfm-metal dependency (docs/porting.md, "Worked example"): the board is
// spike.hpp, the rest is this file.
#include <vfm/metal/entry_points.hpp>
#include <vfm/monitor.hpp>

#include "spike.hpp"

namespace {

using board_type = spike::board<VFM_MAX_HARTS>;
using monitor_type = vfm::monitor<vfm::metal::hart_backend, board_type>;

constinit board_type board;
constinit monitor_type monitor{board};

/// The port's main, on the first hart before any hart boots.
const char* setup_board(const vfm::metal::boot_context& boot) {
    return board.init(boot.device_tree, boot.image, SPIKE_FIRMWARE_ADDRESS);
}

}  // namespace

VFM_METAL_ENTRY_POINTS(monitor, setup_board);
