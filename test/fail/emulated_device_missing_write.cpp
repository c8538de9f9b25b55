// SPDX-License-Identifier: MIT
// Must not compile: a device the engine would route stores to has no write.
// The emulated_device concept (virt/emulated_device.hpp) rejects it and
// names the member; the engine checks it for every device of its list.
#include <vfm/virt/emulated_device.hpp>

namespace {

struct engine_stub {};

/// A device with every member but write (the control has it too).
struct device {
    static constexpr bool atomics = false;
    static constexpr bool floats = false;
    template <class Engine>
    static bool contains(Engine&, vfm::u64 address, unsigned width) noexcept {
        return address >= 0x1000 && address + width <= 0x1008;
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

static_assert(vfm::virt::emulated_device<device, engine_stub>);

}  // namespace

int main() { return 0; }
