// SPDX-License-Identifier: MIT
/// The `platform` concept: the board services the vfm core needs. A board
/// port implements it once (platforms/qemu-virt reads everything it can from
/// the device tree); the host backend's tests use a simulated one.
///
/// The contract (docs/porting.md walks through it member by member):
///   static constexpr u32 max_harts      how many harts the build supports (at
///                  least 1): the monitor sizes its per-hart state by it
///   layout() -> const memory_layout&   where the monitor, the firmware and the
///                  devices the monitor emulates for the firmware are
///   hart_count() -> u32, hart_id(index) -> u64, hart_index(hartid, out) -> bool
///                  the harts the board has; indices are dense 0 .. count-1
///   read_time() -> u64                  the platform timer (mtime)
///   write_time(value)                   sets mtime (the firmware may do so)
///   set_timer(index, deadline)          the physical mtimecmp of a hart: the
///                  monitor owns it and multiplexes the firmware's and its own deadlines
///   send_ipi(index), clear_ipi(index)   the physical msip of a hart: the
///                  monitor's doorbell between harts
///   console_put(c)                      one character of the monitor's own output
///   exit(code)                          [[noreturn]] stop the machine (0 = success);
///                  on QEMU the test finisher, on a board a reset or a halt
/// Optional:
///   using devices = vfm::virt::device_list<...>   devices of the board's own that
///                  the monitor emulates after its own (virt/emulated_device.hpp:
///                  each has that file's members, a static_assert in the engine
///                  names a missing one); they lie in layout().emulated_devices
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/detail/utility.hpp>

namespace vfm {

/// A physical address range [base, base + size).
struct region {
    u64 base = 0;
    u64 size = 0;
    [[nodiscard]] constexpr u64 end() const noexcept { return base + size; }
    [[nodiscard, gnu::always_inline]] constexpr bool contains(u64 address) const noexcept {
        return size != 0 && address >= base && address - base < size;
    }
    [[nodiscard, gnu::always_inline]] constexpr bool contains(u64 address, u64 length) const noexcept {
        return contains(address) && length <= size - (address - base);
    }
    [[nodiscard, gnu::always_inline]] constexpr bool overlaps(u64 address, u64 length) const noexcept {
        return size != 0 && length != 0 && address < base + size && base < address + length;
    }
};

/// Where things are on the board, as the monitor needs them.
struct memory_layout {
    region monitor;          ///< the monitor's own image, stacks and data: never reachable from S/U
    region ram;              ///< the main memory the OS gets (first memory region)
    u64 firmware_entry = 0;  ///< where the firmware starts, in vM-mode
    /// The machine software interrupt device the firmware sees (SiFive CLINT /
    /// ACLINT MSWI layout: msip of hart i at base + 4 * i).
    region mswi;
    /// The machine timer device the firmware sees (ACLINT MTIMER layout:
    /// mtimecmp of hart i at base + 8 * i, mtime at base + mtime_offset).
    region mtimer;
    u64 mtime_offset = 0x7ff8;
    /// What the monitor's PMP entries deny to the firmware and the OS so that
    /// their accesses to the emulated devices trap (one NAPOT region, e.g. the
    /// whole CLINT). The devices the engine emulates, the board's own
    /// (`Platform::devices`) too, lie in it: it asks them for nothing else.
    region emulated_devices;
    /// The device the firmware (or the OS) writes to power the machine off or
    /// reset it (QEMU's SiFive test finisher); a monitor with policies that act
    /// at shutdown traps its writes (one NAPOT region, or size 0 if none).
    region shutdown_device;
    /// Memory the firmware may use and the OS does not get (reserved in the
    /// device tree, outside the monitor's PMP entry): the sandbox policy's
    /// bounce buffer for SBI calls that hand the firmware an OS pointer.
    region shared_buffer;
    u64 timebase_frequency = 0;  ///< mtime ticks per second

    /// Devices that master the bus (DMA) and that the firmware does not get:
    /// denied to the firmware by PMP entries of the monitor, and refused to every
    /// access the monitor makes for a guest (docs/security.md). The OS keeps them.
    static constexpr u32 max_bus_masters = 16;
    region bus_masters[max_bus_masters] = {};
    u32 bus_master_count = 0;

    /// The most physical PMP entries the monitor may use (0: all the hart
    /// has); the firmware sees as many (docs/pmp.md, -Dpmp_entries).
    u32 pmp_entry_limit = 0;
};

// clang-format off
template <class P>
concept platform = requires(P& board, const P& cboard, u32 index, u64 value, char c, u64& out_index) {
    requires detail::same_as<decltype(P::max_harts), const u32>;
    requires P::max_harts >= 1;
    { cboard.layout() } noexcept -> detail::same_as<const memory_layout&>;
    { cboard.hart_count() } noexcept -> detail::same_as<u32>;
    { cboard.hart_id(index) } noexcept -> detail::same_as<u64>;
    { cboard.hart_index(value, out_index) } noexcept -> detail::same_as<bool>;
    { cboard.read_time() } noexcept -> detail::same_as<u64>;
    { board.write_time(value) } noexcept;
    { board.set_timer(index, value) } noexcept;
    { board.send_ipi(index) } noexcept;
    { board.clear_ipi(index) } noexcept;
    { board.console_put(c) } noexcept;
    { board.exit(index) } noexcept;
};
// clang-format on

}  // namespace vfm
