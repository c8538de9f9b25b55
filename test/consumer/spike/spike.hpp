// SPDX-License-Identifier: MIT
/// Board support for QEMU `spike`, written outside vfm's tree as a port
/// would be (docs/porting.md walks through it): the harts, the memory, the
/// CLINT and the timebase come from the device tree the previous stage
/// passes in a1; the console and the power-off go through HTIF.
///
/// HTIF on QEMU spike with a raw image: the device tree's `htif` node
/// (compatible "ucb,htif0") gives the base; `fromhost` is at the base and
/// `tohost` 8 bytes above. A command is a 64-bit word written to tohost:
/// device [63:56], command [55:48], payload [47:0]. Device 1 command 1
/// prints the payload's low byte; device 0 command 0 with payload bit 0 set
/// ends the simulation with exit code payload >> 1. HTIF stays the
/// firmware's too: on QEMU 7.2 it never reads memory (no syscall proxy); a
/// host with the proxy makes it a bus master (docs/porting.md).
#pragma once

#include <vfm/fdt/discover.hpp>
#include <vfm/fdt/editor.hpp>
#include <vfm/fdt/tree.hpp>
#include <vfm/platform.hpp>
#include <vfm/platform/board_support.hpp>

namespace spike {

using vfm::region;
using vfm::u32;
using vfm::u64;
using vfm::u8;

template <u32 MaxHarts>
class board {
public:
    static constexpr u32 max_harts = MaxHarts;
    /// QEMU puts the device tree at a 2 MiB boundary below the end of RAM:
    /// the rest of that 2 MiB is free for the tree to grow into.
    static constexpr u64 device_tree_window = 2 * 1024 * 1024;
    static constexpr u64 shared_buffer_size = 4096;
    /// Where an error found before the device tree is read still goes.
    static constexpr u64 default_htif = 0x100'0000;

    constexpr board() noexcept = default;

    /// Reads the board from the device tree at `device_tree` and reserves
    /// `monitor` (and the page after it, shared with the firmware) in it.
    [[nodiscard]] const char* init(u64 device_tree, region monitor, u64 firmware_entry) noexcept {
        m_htif = default_htif;
        auto* blob = reinterpret_cast<u8*>(static_cast<vfm::uptr>(device_tree));
        if (blob == nullptr) return "no device tree (a1 is 0)";
        const u64 window_end = vfm::bits::align_down(device_tree, device_tree_window) + device_tree_window;
        const vfm::fdt::tree t(blob, window_end - device_tree);
        if (!t.ok()) return vfm::fdt::to_string(t.status());

        const auto htif = vfm::fdt::device_region(t, "ucb,htif0");
        if (!htif) return "the device tree has no HTIF (ucb,htif0)";
        m_htif = htif.value().base;

        m_harts.clear();
        for (vfm::fdt::node cpu = vfm::fdt::first_hart(t); cpu; cpu = vfm::fdt::next_hart(t, cpu)) {
            const auto id = vfm::fdt::hart_id(t, cpu);
            if (!id || !t.is_enabled(cpu)) continue;
            if (!m_harts.add(id.value())) return "the device tree has more harts than this build supports (max_harts)";
        }
        if (m_harts.count() == 0) return "the device tree lists no harts";

        vfm::fdt::region ram[1];
        if (vfm::fdt::memory_regions(t, ram, 1) == 0) return "the device tree lists no memory";
        m_layout.ram = {ram[0].base, ram[0].size};
        m_layout.monitor = monitor;
        m_layout.shared_buffer = {monitor.end(), shared_buffer_size};
        m_layout.firmware_entry = firmware_entry;
        if (!m_layout.ram.contains(monitor.base, monitor.size + shared_buffer_size))
            return "the monitor's image is not in the first memory region of the device tree";
        if (!m_layout.ram.contains(firmware_entry, 4) || m_layout.shared_buffer.end() > firmware_entry)
            return "the firmware address is not in RAM above the monitor";

        const auto clint = vfm::fdt::clint_region(t);
        if (!clint) return "the device tree has no CLINT (riscv,clint0)";
        // SiFive CLINT: msip at +0, mtimecmp at +0x4000, mtime at +0xbff8.
        m_layout.mswi = {clint.value().base, 0x4000};
        m_layout.mtimer = {clint.value().base + 0x4000, 0x8000};
        m_layout.mtime_offset = 0x7ff8;
        m_layout.emulated_devices = vfm::platforms::napot_cover(clint.value().base, clint.value().base + clint.value().size);
        const auto timebase = vfm::fdt::timebase_frequency(t);
        if (!timebase) return "the device tree has no timebase-frequency";
        m_layout.timebase_frequency = timebase.value();

        // Reserve the monitor before the firmware sees the tree (DT spec 3.5.4, no-map).
        vfm::fdt::editor e(blob, window_end - device_tree);
        if (!e.ok()) return vfm::fdt::to_string(e.status());
        if (const auto r = vfm::fdt::reserve_memory(e, "vfm", monitor.base, monitor.size); !r)
            return vfm::fdt::to_string(r.error());
        if (const auto r = vfm::fdt::reserve_memory(e, "vfm-shared", m_layout.shared_buffer.base, m_layout.shared_buffer.size); !r)
            return vfm::fdt::to_string(r.error());
        return nullptr;
    }

    // ---- vfm::platform ----
    [[nodiscard]] const vfm::memory_layout& layout() const noexcept { return m_layout; }
    [[nodiscard]] u32 hart_count() const noexcept { return m_harts.count(); }
    [[nodiscard]] u64 hart_id(u32 index) const noexcept { return m_harts.id(index); }
    [[nodiscard]] bool hart_index(u64 hartid, u64& index) const noexcept { return m_harts.index_of(hartid, index); }
    [[nodiscard]] u64 read_time() const noexcept { return vfm::platforms::mmio64(mtime()); }
    void write_time(u64 value) noexcept { vfm::platforms::mmio64(mtime()) = value; }
    void set_timer(u32 index, u64 deadline) noexcept {
        vfm::platforms::mmio64(m_layout.mtimer.base + 8 * m_harts.id(index)) = deadline;
    }
    void send_ipi(u32 index) noexcept { vfm::platforms::mmio32(m_layout.mswi.base + 4 * m_harts.id(index)) = 1; }
    void clear_ipi(u32 index) noexcept { vfm::platforms::mmio32(m_layout.mswi.base + 4 * m_harts.id(index)) = 0; }
    void console_put(char c) noexcept { htif_command(1, 1, static_cast<u8>(c)); }
    void exit(u32 code) noexcept {
        htif_command(0, 0, (u64{code} << 1) | 1);
        for (;;) asm volatile("wfi");
    }

private:
    [[nodiscard]] u64 mtime() const noexcept { return m_layout.mtimer.base + m_layout.mtime_offset; }

    /// One HTIF command: wait (bounded) until the host took the previous one,
    /// write tohost, then clear fromhost (the host's acknowledgement).
    void htif_command(u64 device, u64 command, u64 payload) noexcept {
        volatile u64& fromhost = vfm::platforms::mmio64(m_htif);
        volatile u64& tohost = vfm::platforms::mmio64(m_htif + 8);
        for (u32 spins = 0; tohost != 0 && spins < 1'000'000; ++spins) {
        }
        tohost = (device << 56) | (command << 48) | (payload & 0xffff'ffff'ffffull);
        fromhost = 0;
    }

    vfm::memory_layout m_layout{};
    vfm::platforms::hart_table<MaxHarts> m_harts;
    u64 m_htif = default_htif;
};

static_assert(vfm::platform<board<1>>);

}  // namespace spike
