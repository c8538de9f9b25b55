// SPDX-License-Identifier: MIT
/// The shutdown device (QEMU's test finisher, the board's memory_layout::
/// shutdown_device) while a policy acts at shutdown (Hooks::intercepts_shutdown):
/// the policies run first, then the access reaches the device in M-mode.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/riscv/privilege.hpp>

namespace vfm::virt {

struct shutdown_device {
    static constexpr bool atomics = false;  ///< AMO, LR, SC: access fault
    static constexpr bool floats = false;

    template <class Engine>
    [[nodiscard, gnu::always_inline]] static bool contains(Engine& engine, u64 address, unsigned width) noexcept {
        return Engine::intercepts_shutdown && engine.board().layout().shutdown_device.contains(address, width);
    }

    template <class Engine>
    [[nodiscard]] static bool read(Engine& engine, u64 address, unsigned width, u64& value) noexcept {
        const access_result r = engine.hw().load(access_mode{riscv::privilege::machine, false, false}, address, width);
        value = r.value;
        return r.ok;
    }

    template <class Engine>
    [[nodiscard]] static bool write(Engine& engine, u64 address, unsigned width, u64 value) noexcept {
        engine.on_shutdown();
        return engine.hw().store(access_mode{riscv::privilege::machine, false, false}, address, width, value).ok;
    }
};

}  // namespace vfm::virt
