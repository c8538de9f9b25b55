// SPDX-License-Identifier: MIT
// Must not compile: a board brings a device of its own (Platform::devices)
// that has no write. The engine checks every device of its list against the
// emulated_device concept (virt/engine/devices.hpp) where the monitor's trap
// path routes an access to them, and the notes name the member.
#ifdef VFM_COMPILE_FAIL
#define STUB_DEVICE_WITHOUT_WRITE
#endif
#include <vfm/monitor.hpp>

#include "stub_machine.hpp"

namespace {
struct board : stub::board {
    using devices = vfm::virt::device_list<stub::device>;
};
}  // namespace

void use_board() noexcept {
    board b;
    stub::hart hw;
    vfm::virt::hart h{};
    vfm::monitor<stub::hart, board> monitor(b);
    monitor.handle_trap(hw, h);
}
