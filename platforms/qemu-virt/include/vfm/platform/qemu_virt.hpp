// SPDX-License-Identifier: MIT
/// Board support for QEMU `virt` and `sifive_u` (and boards built the same
/// way): everything the monitor needs is read from the device tree the
/// previous stage passes in a1 (harts, memory, CLINT or ACLINT, the console:
/// a 16550 with its `reg-shift`/`reg-io-width` or a SiFive UART, the exit
/// device: a SiFive test finisher or a `gpio-restart` on a SiFive GPIO,
/// timebase), so `-smp` and `-m` just work. The tree is edited in place to reserve the
/// monitor's memory before the firmware sees it (docs/platforms.md).
#pragma once

#include <vfm/detail/bits.hpp>
#include <vfm/fdt/discover.hpp>
#include <vfm/fdt/editor.hpp>
#include <vfm/fdt/tree.hpp>
#include <vfm/platform.hpp>
#include <vfm/platform/board_support.hpp>

namespace vfm::platforms {

template <u32 MaxHarts>
class qemu_virt {
    enum class console_kind : u8 { ns16550, sifive };

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
        m_uart_shift = 0;
        m_uart_width = 1;
        m_console = console_kind::ns16550;
        m_finisher = default_finisher;
        m_restart_gpio = 0;
        u8* blob = reinterpret_cast<u8*>(static_cast<uptr>(device_tree));
        if (blob == nullptr) return "no device tree (a1 is 0)";
        const u64 window_end = bits::align_down(device_tree, device_tree_window) + device_tree_window;
        const fdt::tree t(blob, window_end - device_tree);
        if (!t.ok()) return fdt::to_string(t.status());

        // The console: the node /chosen/stdout-path names when the monitor
        // drives it, else the first such UART (DT spec 3.6).
        m_uart = 0;
        const fdt::node chosen_console = fdt::stdout_node(t);
        if (!(chosen_console && use_console(t, chosen_console))) {
            for (fdt::node n = t.root(); n && m_uart == 0; n = t.next_node(n))
                if (t.is_enabled(n)) (void)use_console(t, n);
        }
        constexpr const char* finishers[] = {"sifive,test0", "sifive,test1"};
        m_finisher = 0;
        m_restart_gpio = 0;
        if (const auto finisher = fdt::device_region(t, finishers)) {
            m_finisher = finisher.value().base;
            m_layout.shutdown_device =
                napot_cover(finisher.value().base, finisher.value().base + finisher.value().size);
        } else {
            find_restart_gpio(t);
        }

        m_layout.monitor = monitor;
        m_layout.firmware_entry = firmware_entry;
        m_layout.shared_buffer = {monitor.end(), shared_buffer_size};

        m_harts.clear();
        for (fdt::node cpu = fdt::first_hart(t); cpu; cpu = fdt::next_hart(t, cpu)) {
            const fdt::result<u64> id = fdt::hart_id(t, cpu);
            if (!id || !t.is_enabled(cpu)) continue;
            if (!m_harts.add(id.value())) return "the device tree has more harts than this build supports (max_harts)";
            // S-mode with an MMU: `mmu-type` other than "riscv,none" (the
            // RISC-V CPU binding). The engine still discovers each hart itself.
            const fdt::property mmu = t.find_property(cpu, "mmu-type");
            m_hart_mmu[m_harts.count() - 1] = mmu && !mmu.string_equals("riscv,none");
        }
        if (m_harts.count() == 0) return "the device tree lists no harts";

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

        fdt::result<fdt::region> clint = fdt::clint_region(t);
        // The SiFive FU540 and FU740 have their CLINT at 0x2000000 (FU540-C000
        // and FU740-C000 manuals, memory map), which Linux's trees for them
        // leave out (Linux takes its timer from SBI): the one fact a tree
        // cannot give here.
        constexpr const char* fu_socs[] = {"sifive,fu540-c000", "sifive,fu740-c000"};
        if (!clint && is_compatible(t, t.root(), fu_socs)) clint = fdt::region{0x200'0000, 0x1'0000};
        if (clint) {
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
        const auto shared =
            fdt::reserve_memory(e, "vfm-shared", m_layout.shared_buffer.base, m_layout.shared_buffer.size);
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
    /// The console init() found (base 0: none) and the restart line (gpio 0: none).
    struct console_info {
        u64 base;
        bool sifive;  ///< a SiFive UART, else a 16550
        u8 reg_shift;
        u8 reg_io_width;
    };
    [[nodiscard]] console_info console() const noexcept {
        return {m_uart, m_console == console_kind::sifive, m_uart_shift, m_uart_width};
    }
    struct restart_line {
        u64 gpio;
        u8 pin;
        bool active_low;
    };
    [[nodiscard]] restart_line restart() const noexcept {
        return {m_restart_gpio, m_restart_pin, m_restart_active_low};
    }
    [[nodiscard]] u64 test_finisher() const noexcept { return m_finisher; }

    [[nodiscard]] u32 hart_count() const noexcept { return m_harts.count(); }
    /// Whether the tree gives hart `index` an MMU (so S-mode): false for a
    /// monitor core such as the FU540's E51 or the JH7110's S7.
    [[nodiscard]] bool hart_has_mmu(u32 index) const noexcept { return index < MaxHarts && m_hart_mmu[index]; }
    [[nodiscard]] u64 hart_id(u32 index) const noexcept { return m_harts.id(index); }
    [[nodiscard]] bool hart_index(u64 hartid, u64& index) const noexcept { return m_harts.index_of(hartid, index); }

    [[nodiscard]] u64 read_time() const noexcept { return mmio64(m_mtime); }
    void write_time(u64 value) noexcept { mmio64(m_mtime) = value; }
    void set_timer(u32 index, u64 deadline) noexcept {
        mmio64(m_layout.mtimer.base + 8 * m_harts.id(index)) = deadline;
    }
    void send_ipi(u32 index) noexcept { mmio32(m_layout.mswi.base + 4 * m_harts.id(index)) = 1; }
    void clear_ipi(u32 index) noexcept { mmio32(m_layout.mswi.base + 4 * m_harts.id(index)) = 0; }

    /// One character on the console: a 16550 waits for THR empty (LSR bit 5)
    /// and writes THR; a SiFive UART waits while txdata's full bit (31) is
    /// set and writes txdata (FU540 manual, 13.4).
    void console_put(char c) noexcept {
        if (m_uart == 0) return;
        if (c == '\n') console_put('\r');
        if (m_console == console_kind::sifive) {
            if (!m_uart_enabled) {  // txctrl.txen (+0x08, bit 0)
                mmio32(m_uart + 0x08) = mmio32(m_uart + 0x08) | 1u;
                m_uart_enabled = true;
            }
            while ((mmio32(m_uart) & 0x8000'0000u) != 0) {}
            mmio32(m_uart) = static_cast<u8>(c);
            return;
        }
        while ((uart_read(5) & 0x20) == 0) {}
        uart_write(0, static_cast<u8>(c));
    }

    /// SiFive test finisher: 0x5555 passes, (code << 16) | 0x3333 fails with
    /// `code`. Without one, a `gpio-restart` line resets the machine (QEMU
    /// sifive_u: with -no-reboot QEMU stops; the code is lost, the console
    /// line before says what happened). Else the hart sleeps.
    void exit(u32 code) noexcept {
        if (m_finisher != 0) mmio32(m_finisher) = code == 0 ? 0x5555u : ((code << 16) | 0x3333u);
        if (m_restart_gpio != 0) {
            // SiFive GPIO (FU540 manual, 12.3): output_en at +0x08, output_val
            // at +0x0c. Drive the line inactive, then active, as the
            // gpio-restart binding asks.
            const u32 bit = 1u << m_restart_pin;
            const u32 inactive = m_restart_active_low ? bit : 0;
            mmio32(m_restart_gpio + 0x0c) = (mmio32(m_restart_gpio + 0x0c) & ~bit) | inactive;
            mmio32(m_restart_gpio + 0x08) = mmio32(m_restart_gpio + 0x08) | bit;
            mmio32(m_restart_gpio + 0x0c) = (mmio32(m_restart_gpio + 0x0c) & ~bit) | (inactive ^ bit);
        }
        for (;;) asm volatile("wfi");
    }

private:
    static constexpr u32 max_given = 8;

    /// Takes node `n` as the console when the monitor can drive it: a 16550
    /// (or the DesignWare APB UART, 16550-compatible) with its register
    /// spacing (`reg-shift`, `reg-io-width` 1 or 4), or a SiFive UART (whose
    /// transmitter console_put enables first). Touches no device: init()
    /// also runs on the host.
    [[nodiscard]] bool use_console(const fdt::tree& t, fdt::node n) noexcept {
        constexpr const char* ns16550[] = {"ns16550a", "ns16550", "snps,dw-apb-uart"};
        constexpr const char* sifive[] = {"sifive,uart0"};
        const bool is_ns16550 = is_compatible(t, n, ns16550);
        if (!is_ns16550 && !is_compatible(t, n, sifive)) return false;
        const auto uart = fdt::device_region(t, n);
        if (!uart) return false;
        if (is_ns16550) {
            const auto shift = t.find_property(n, "reg-shift").as_uint();
            const auto width = t.find_property(n, "reg-io-width").as_uint();
            const u64 io_width = width ? width.value() : 1;
            if ((shift && shift.value() > 4) || (io_width != 1 && io_width != 4)) return false;
            m_uart_shift = static_cast<u8>(shift ? shift.value() : 0);
            m_uart_width = static_cast<u8>(io_width);
            m_console = console_kind::ns16550;
        } else {
            m_console = console_kind::sifive;
        }
        m_uart_enabled = false;
        m_uart = uart.value().base;
        return true;
    }

    /// The `gpio-restart` node's line when it is on a SiFive GPIO controller
    /// (`gpios = <&controller pin flags>`, flags bit 0: active low).
    void find_restart_gpio(const fdt::tree& t) noexcept {
        const fdt::node restart = fdt::find_device(t, "gpio-restart");
        if (!restart) return;
        const fdt::property gpios = t.find_property(restart, "gpios");
        const auto handle = gpios.cell(0);
        const auto pin = gpios.cell(1);
        const auto flags = gpios.cell(2);
        if (!handle || !pin || pin.value() >= 32) return;
        const fdt::node controller = fdt::find_phandle(t, handle.value());
        constexpr const char* sifive_gpio[] = {"sifive,gpio0"};
        if (!controller || !is_compatible(t, controller, sifive_gpio)) return;
        const auto registers = fdt::device_region(t, controller);
        if (!registers) return;
        m_restart_gpio = registers.value().base;
        m_restart_pin = static_cast<u8>(pin.value());
        m_restart_active_low = flags && (flags.value() & 1) != 0;
    }

    [[nodiscard]] u32 uart_read(u32 index) const noexcept {
        const u64 address = m_uart + (u64{index} << m_uart_shift);
        return m_uart_width == 4 ? mmio32(address) : *reinterpret_cast<volatile u8*>(static_cast<uptr>(address));
    }
    void uart_write(u32 index, u8 value) noexcept {
        const u64 address = m_uart + (u64{index} << m_uart_shift);
        if (m_uart_width == 4)
            mmio32(address) = value;
        else
            *reinterpret_cast<volatile u8*>(static_cast<uptr>(address)) = value;
    }

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

    memory_layout m_layout{};
    hart_table<MaxHarts> m_harts;
    bool m_hart_mmu[MaxHarts] = {};
    u64 m_mtime = 0;
    u64 m_uart = 0;
    u8 m_uart_shift = 0;
    u8 m_uart_width = 1;
    console_kind m_console = console_kind::ns16550;
    bool m_uart_enabled = false;
    u64 m_finisher = 0;
    u64 m_restart_gpio = 0;
    u8 m_restart_pin = 0;
    bool m_restart_active_low = false;
    const u8* m_tree = nullptr;
    u32 m_given[max_given] = {};
    u32 m_given_to_firmware = 0;
};

}  // namespace vfm::platforms
