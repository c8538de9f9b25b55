// SPDX-License-Identifier: MIT
// Must not compile: a board brings a device of its own (Platform::devices)
// that has no write. The engine checks every device of its list against the
// emulated_device concept (virt/engine/devices.hpp) where the monitor's trap
// path routes an access to them, and the notes name the member.
#include <vfm/monitor.hpp>

#include "stub_machine.hpp"

namespace {

/// A register at 0x2000000 with every member but write (the control has it).
struct device {
    static constexpr bool atomics = false;
    static constexpr bool floats = false;
    template <class Engine>
    static bool contains(Engine&, vfm::u64 address, unsigned width) noexcept {
        return address >= 0x200'0000 && address + width <= 0x200'0008;
    }
    template <class Engine>
    static bool read(Engine&, vfm::u64, unsigned, vfm::u64& value) noexcept {
        value = 0;
        return true;
    }
#ifndef VFM_COMPILE_FAIL
    template <class Engine>
    static bool write(Engine&, vfm::u64, unsigned, vfm::u64) noexcept {
        return true;
    }
#endif
};

struct board : stub::board {
    using devices = vfm::virt::device_list<device>;
};

}  // namespace

void use_board() noexcept {
    board b;
    stub::hart hw;
    vfm::virt::hart h{};
    vfm::monitor<stub::hart, board> monitor(b);
    monitor.handle_trap(hw, h);
}
