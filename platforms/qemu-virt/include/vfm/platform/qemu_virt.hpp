// SPDX-License-Identifier: MIT
/// Board support for QEMU `virt` (and boards built the same way): everything
/// the monitor needs is read from the device tree the previous stage passes in
/// a1 (harts, memory, CLINT or ACLINT, UART, test finisher, timebase), so
/// `-smp` and `-m` just work. The tree is edited in place to reserve the
/// monitor's memory before the firmware sees it (docs/platforms.md).
#pragma once

#include <vfm/detail/bits.hpp>
#include <vfm/fdt/discover.hpp>
#include <vfm/fdt/editor.hpp>
#include <vfm/fdt/tree.hpp>
#include <vfm/platform.hpp>

namespace vfm::platforms {

/// The smallest naturally aligned power-of-two region covering [base, end).
[[nodiscard]] constexpr region napot_cover(u64 base, u64 end) noexcept {
    u64 size = 8;
    while (size != 0 && bits::align_down(base, size) + size < end) size <<= 1;
    return {bits::align_down(base, size), size};
}

template <u32 MaxHarts>
class qemu_virt {
public:
    static constexpr u32 max_harts = MaxHarts;
    /// How far the device tree may grow in place: QEMU puts it at a 2 MiB
    /// boundary below the end of RAM, so the rest of that 2 MiB is free.
    static constexpr u64 device_tree_window = 2 * 1024 * 1024;
    /// The page after the monitor, reserved with it: shared between the monitor and the firmware.
    static constexpr u64 shared_buffer_size = 4096;

    constexpr qemu_virt() noexcept = default;

    /// QEMU virt's console and test finisher, used until the device tree
    /// names its own (and when there is no usable tree): an error found
    /// before that must still be printed and stop the machine.
    static constexpr u64 default_uart = 0x1000'0000;
    static constexpr u64 default_finisher = 0x10'0000;

    /// Lets the monitor use at most `entries` physical PMP entries (0: all;
    /// memory_layout::pmp_entry_limit, docs/pmp.md).
    void limit_pmp_entries(u32 entries) noexcept { m_layout.pmp_entry_limit = entries; }

    /// Reads the board from the device tree at `device_tree` and reserves
    /// `monitor` in it. Returns nullptr, or why the board cannot be used. The
    /// console and the shutdown device are found first, so that every later
    /// error is printed where the device tree says and ends the machine.
    ///
    /// The devices that master the bus (DMA) are denied to the firmware
    /// (memory_layout::bus_masters), but for those `firmware_bus_masters`
    /// names: a comma-separated list of node names, each matching a node's
    /// whole name or its name before '@' ("fw-cfg", "virtio_mmio@10001000",
    /// "pci"). The firmware then controls a device that writes any memory:
    /// containment is given up (given_to_firmware() says which).
    [[nodiscard]] const char* init(u64 device_tree, region monitor, u64 firmware_entry,
                                   const char* firmware_bus_masters = "") noexcept {
        m_uart = default_uart;
        m_finisher = default_finisher;
        u8* blob = reinterpret_cast<u8*>(static_cast<uptr>(device_tree));
        if (blob == nullptr) return "no device tree (a1 is 0)";
        const u64 window_end = bits::align_down(device_tree, device_tree_window) + device_tree_window;
        const fdt::tree t(blob, window_end - device_tree);
        if (!t.ok()) return fdt::to_string(t.status());

        // The console: the node /chosen/stdout-path names when it is a 16550,
        // else the first 16550 (DT spec 3.6).
        constexpr const char* uarts[] = {"ns16550a", "ns16550"};
        m_uart = 0;
        const fdt::node chosen_console = fdt::stdout_node(t);
        if (chosen_console && is_compatible(t, chosen_console, uarts)) {
            if (const auto uart = fdt::device_region(t, chosen_console)) m_uart = uart.value().base;
        }
        if (m_uart == 0) {
            if (const auto uart = fdt::device_region(t, uarts)) m_uart = uart.value().base;
        }
        constexpr const char* finishers[] = {"sifive,test0", "sifive,test1"};
        m_finisher = 0;
        if (const auto finisher = fdt::device_region(t, finishers)) {
            m_finisher = finisher.value().base;
            m_layout.shutdown_device = napot_cover(finisher.value().base, finisher.value().base + finisher.value().size);
        }

        m_layout.monitor = monitor;
        m_layout.firmware_entry = firmware_entry;
        m_layout.shared_buffer = {monitor.end(), shared_buffer_size};

        m_hart_count = 0;
        for (fdt::node cpu = fdt::first_hart(t); cpu; cpu = fdt::next_hart(t, cpu)) {
            const fdt::result<u64> id = fdt::hart_id(t, cpu);
            if (!id || !t.is_enabled(cpu)) continue;
            if (m_hart_count == MaxHarts) return "the device tree has more harts than this build supports (max_harts)";
            m_hart_ids[m_hart_count++] = id.value();
        }
        if (m_hart_count == 0) return "the device tree lists no harts";

        const fdt::result<u64> timebase = fdt::timebase_frequency(t);
        m_layout.timebase_frequency = timebase ? timebase.value() : 10'000'000;

        fdt::region ram[1];
        if (fdt::memory_regions(t, ram, 1) == 0) return "the device tree lists no memory";
        m_layout.ram = {ram[0].base, ram[0].size};
        if (!m_layout.ram.contains(monitor.base, monitor.size + shared_buffer_size))
            return "the monitor's image is not in the first memory region of the device tree";
        if (!m_layout.ram.contains(firmware_entry, 4))
            return "the firmware address is not in the first memory region of the device tree";
        if (firmware_entry >= monitor.base && firmware_entry < m_layout.shared_buffer.end())
            return "the firmware address is inside the monitor's memory";

        if (const auto clint = fdt::clint_region(t)) {
            // SiFive CLINT: msip at +0, mtimecmp at +0x4000, mtime at +0xbff8.
            const u64 base = clint.value().base;
            m_layout.mswi = {base, 0x4000};
            m_layout.mtimer = {base + 0x4000, 0x8000};
            m_layout.mtime_offset = 0x7ff8;
            m_layout.emulated_devices = napot_cover(base, base + clint.value().size);
        } else {
            const auto mswi = fdt::aclint_mswi_region(t);
            const auto mtimer = fdt::aclint_mtimer_region(t);
            if (!mswi || !mtimer) return "the device tree has no CLINT or ACLINT";
            m_layout.mswi = {mswi.value().base, mswi.value().size};
            m_layout.mtimer = {mtimer.value().base, 0x8000};
            m_layout.mtime_offset = 0x7ff8;
            const u64 low = detail::min(mswi.value().base, mtimer.value().base);
            const u64 high = detail::max(mswi.value().base + mswi.value().size, mtimer.value().base + 0x8000);
            m_layout.emulated_devices = napot_cover(low, high);
        }
        m_mtime = m_layout.mtimer.base + m_layout.mtime_offset;  // read on every trapping `time` read

        // The bus masters, merged into as few ranges as the other devices allow.
        m_given_to_firmware = 0;
        auto keep = [&](fdt::node n) {
            if (!names_node(firmware_bus_masters, t.name(n))) return true;
            if (m_given_to_firmware < max_given) m_given[m_given_to_firmware] = n.offset();
            ++m_given_to_firmware;
            return false;
        };
        fdt::region found[4 * memory_layout::max_bus_masters];  // before merging: every range
        const fdt::result<u32> masters = fdt::bus_master_ranges(t, found, 4 * memory_layout::max_bus_masters, keep);
        if (!masters && masters.error() == fdt::error::no_space)
            return "the device tree's bus masters (DMA) have more ranges than the monitor can collect";
        if (!masters) return "the device tree's bus masters (DMA) cannot be decoded";
        if (masters.value() > memory_layout::max_bus_masters)
            return "the device tree's bus masters (DMA) are too many to deny";
        m_layout.bus_master_count = masters.value();
        for (u32 i = 0; i < m_layout.bus_master_count; ++i) m_layout.bus_masters[i] = {found[i].base, found[i].size};
        for (u32 i = 0; i < m_layout.bus_master_count; ++i)
            if (m_layout.bus_masters[i].overlaps(m_layout.ram.base, m_layout.ram.size))
                return "a bus master's registers overlap RAM in the device tree";
        m_tree = blob;

        // Reserve the monitor before the firmware sees the tree (DT spec 3.5.4, no-map).
        fdt::editor e(blob, window_end - device_tree);
        if (!e.ok()) return fdt::to_string(e.status());
        const auto reserved = fdt::reserve_memory(e, "vfm", monitor.base, monitor.size);
        if (!reserved) return fdt::to_string(reserved.error());
        const auto shared = fdt::reserve_memory(e, "vfm-shared", m_layout.shared_buffer.base, m_layout.shared_buffer.size);
        if (!shared) return fdt::to_string(shared.error());
        return nullptr;
    }

    [[nodiscard]] const memory_layout& layout() const noexcept { return m_layout; }

    /// How many bus masters init() left to the firmware, and the name of the
    /// `index`-th (for the monitor's warning).
    [[nodiscard]] u32 given_to_firmware() const noexcept { return m_given_to_firmware; }
    [[nodiscard]] const char* given_name(u32 index) const noexcept {
        if (index >= max_given || index >= m_given_to_firmware || m_tree == nullptr) return "?";
        const fdt::tree t(m_tree, device_tree_window);
        return t.ok() ? t.name(fdt::node{m_given[index]}) : "?";
    }
    [[nodiscard]] u32 hart_count() const noexcept { return m_hart_count; }
    [[nodiscard]] u64 hart_id(u32 index) const noexcept { return m_hart_ids[index]; }
    [[nodiscard]] bool hart_index(u64 hartid, u64& index) const noexcept {
        for (u32 i = 0; i < m_hart_count; ++i) {
            if (m_hart_ids[i] == hartid) {
                index = i;
                return true;
            }
        }
        return false;
    }

    [[nodiscard]] u64 read_time() const noexcept { return mmio64(m_mtime); }
    void write_time(u64 value) noexcept { mmio64(m_mtime) = value; }
    void set_timer(u32 index, u64 deadline) noexcept { mmio64(m_layout.mtimer.base + 8 * m_hart_ids[index]) = deadline; }
    void send_ipi(u32 index) noexcept { mmio32(m_layout.mswi.base + 4 * m_hart_ids[index]) = 1; }
    void clear_ipi(u32 index) noexcept { mmio32(m_layout.mswi.base + 4 * m_hart_ids[index]) = 0; }

    /// 16550 UART: wait for THR empty (LSR bit 5), then write THR.
    void console_put(char c) noexcept {
        if (m_uart == 0) return;
        volatile u8* uart = reinterpret_cast<volatile u8*>(static_cast<uptr>(m_uart));
        if (c == '\n') console_put('\r');
        while ((uart[5] & 0x20) == 0) {
        }
        uart[0] = static_cast<u8>(c);
    }

    /// SiFive test finisher: 0x5555 passes, (code << 16) | 0x3333 fails with `code`.
    void exit(u32 code) noexcept {
        if (m_finisher != 0) mmio32(m_finisher) = code == 0 ? 0x5555u : ((code << 16) | 0x3333u);
        for (;;) asm volatile("wfi");
    }

private:
    static constexpr u32 max_given = 8;

    /// Whether the comma-separated `list` names node `name` (wholly, or its part before '@').
    [[nodiscard]] static bool names_node(const char* list, const char* name) noexcept {
        if (list == nullptr || name == nullptr) return false;
        usize base = 0;
        while (name[base] != '\0' && name[base] != '@') ++base;
        for (const char* item = list; *item != '\0';) {
            usize length = 0;
            while (item[length] != '\0' && item[length] != ',') ++length;
            bool whole = name[length] == '\0';
            for (usize i = 0; i < length && whole; ++i) whole = item[i] == name[i];
            bool prefix = length == base && length != 0;
            for (usize i = 0; i < length && prefix; ++i) prefix = item[i] == name[i];
            if (length != 0 && (whole || prefix)) return true;
            item += length;
            if (*item == ',') ++item;
        }
        return false;
    }

    template <usize N>
    [[nodiscard]] static bool is_compatible(const fdt::tree& t, fdt::node n, const char* const (&compatibles)[N]) noexcept {
        const fdt::property compatible = t.find_property(n, "compatible");
        for (const char* c : compatibles)
            if (compatible && compatible.contains(c)) return true;
        return false;
    }

    [[nodiscard]] static volatile u64& mmio64(u64 address) noexcept {
        return *reinterpret_cast<volatile u64*>(static_cast<uptr>(address));
    }
    [[nodiscard]] static volatile u32& mmio32(u64 address) noexcept {
        return *reinterpret_cast<volatile u32*>(static_cast<uptr>(address));
    }

    memory_layout m_layout{};
    u64 m_hart_ids[MaxHarts] = {};
    u32 m_hart_count = 0;
    u64 m_mtime = 0;
    u64 m_uart = 0;
    u64 m_finisher = 0;
    const u8* m_tree = nullptr;
    u32 m_given[max_given] = {};
    u32 m_given_to_firmware = 0;
};

}  // namespace vfm::platforms
