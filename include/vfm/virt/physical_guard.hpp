// SPDX-License-Identifier: MIT
/// The guard of the guarded path (virt/guest_memory.hpp, step 2): what a
/// physical range is for an access made for a guest, from the board's memory
/// layout, and whether the monitor's own PMP entries refuse it.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/platform.hpp>
#include <vfm/riscv/pmp.hpp>
#include <vfm/virt/pmp_layout.hpp>

namespace vfm::virt {

/// What the guard makes of a physical range (see classify_physical).
enum class physical_class : u8 {
    ram,      ///< the board's RAM: always reachable (if the PMP agrees)
    mmio,     ///< a device the guest may reach itself: only when the caller asks for it
    device,   ///< a device the monitor emulates (the CLINT, an intercepted shutdown device)
    refused,  ///< the monitor, its shared page, a bus master, a wall: never
};

/// Whether `[address, address + size)` overlaps `r` (a zero-size region overlaps nothing).
[[nodiscard]] constexpr bool overlaps(const region& r, u64 address, u64 size) noexcept {
    return r.overlaps(address, size);
}

/// Classifies `[address, address + size)` for an access made for a guest. A
/// range that wraps, or that only partly lies in RAM or in an emulated
/// device, is refused: the access is either all of one kind or none.
[[nodiscard]] constexpr physical_class classify_physical(const memory_layout& m, u64 address, u64 size,
                                                         bool shutdown_emulated) noexcept {
    if (size == 0 || address + size < address) return physical_class::refused;
    if (overlaps(m.monitor, address, size) || overlaps(m.shared_buffer, address, size)) return physical_class::refused;
    for (u32 i = 0; i < m.bus_master_count && i < memory_layout::max_bus_masters; ++i)
        if (overlaps(m.bus_masters[i], address, size)) return physical_class::refused;
    if (overlaps(m.emulated_devices, address, size))
        return m.emulated_devices.contains(address, size) ? physical_class::device : physical_class::refused;
    if (shutdown_emulated && overlaps(m.shutdown_device, address, size))
        return m.shutdown_device.contains(address, size) ? physical_class::device : physical_class::refused;
    if (m.ram.contains(address, size)) return physical_class::ram;
    if (overlaps(m.ram, address, size)) return physical_class::refused;
    return physical_class::mmio;
}

/// Whether the monitor's own PMP entries of `layout` (index 0 .. reserved_count-1,
/// with their configuration for `firmware_side` or the OS) refuse an S/U
/// access to `[address, address + size)` needing `needed` (pmp_r/w/x): the
/// lowest entry that matches any byte decides (priv. spec 3.7.1); an entry
/// that matches only part of the range refuses; no match leaves the decision
/// to the entries below them (the firmware's).
[[nodiscard]] constexpr bool monitor_entries_refuse(const pmp_layout& layout, bool firmware_side, unsigned g,
                                                    u64 address, u64 size, u8 needed) noexcept {
    u64 previous = 0;
    for (unsigned i = 0; i < layout.reserved_count; ++i) {
        const u8 cfg = firmware_side ? layout.reserved_cfg_firmware[i] : layout.reserved_cfg_os[i];
        const u64 addr = layout.reserved_addr[i];
        const riscv::pmp::range r = riscv::pmp::decode(cfg, addr, previous, g);
        previous = addr;
        if (r.empty) continue;
        if (!(address < r.end && r.base < address + size)) continue;
        if (address < r.base || address + size > r.end) return true;
        return (cfg & needed) != needed;
    }
    return false;
}

}  // namespace vfm::virt
