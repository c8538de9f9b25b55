// SPDX-License-Identifier: MIT
/// `vfm::host::simulated_board`: a simulated board that satisfies
/// `vfm::platform`, laid out like QEMU `virt` (docs/host-backend.md).
///
/// It owns what a board has around its harts: the memory map the monitor
/// needs, a platform timer (mtime), the physical mtimecmp and msip of every
/// hart (the SiFive CLINT the monitor owns), a console and the test
/// finisher. Tests inspect all of it. A `simulated_hart` connected with
/// `connect` gets its MTIP and MSIP inputs and its `time` driven by the board,
/// and a wfi hook that sleeps until the board's timer wakes it.
#pragma once

#include <array>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vfm/detail/types.hpp>
#include <vfm/host/simulated_hart.hpp>
#include <vfm/platform.hpp>

namespace vfm::host {

/// The memory map of QEMU `virt` as the monitor sees it: the monitor's image at
/// the start of RAM (128 KiB), RAM at 0x80000000 (128 MiB), the firmware loaded
/// at 0x80100000, the SiFive CLINT at 0x2000000 (msip at +0, mtimecmp at
/// +0x4000, mtime at +0xbff8), a 10 MHz timebase.
[[nodiscard]] constexpr memory_layout qemu_virt_layout() noexcept {
    memory_layout layout{};
    layout.monitor = {0x8000'0000, 0x2'0000};
    layout.ram = {0x8000'0000, u64{128} << 20};
    layout.firmware_entry = 0x8010'0000;
    layout.mswi = {0x200'0000, 0x4000};
    layout.mtimer = {0x200'4000, 0x8000};
    layout.mtime_offset = 0x7ff8;
    layout.emulated_devices = {0x200'0000, 0x1'0000};
    layout.timebase_frequency = 10'000'000;
    return layout;
}

/// `layout` with `masters` as its bus masters (memory_layout::bus_masters: the
/// devices that master the bus, which the monitor denies to the firmware), in
/// the order given. More than memory_layout::max_bus_masters throws
/// `std::invalid_argument`.
[[nodiscard]] inline memory_layout with_bus_masters(memory_layout layout, std::initializer_list<region> masters) {
    if (masters.size() > memory_layout::max_bus_masters)
        throw std::invalid_argument(fmt::format("with_bus_masters: {} bus masters (at most {})", masters.size(),
                                                memory_layout::max_bus_masters));
    layout.bus_master_count = 0;
    for (const region& r : masters) layout.bus_masters[layout.bus_master_count++] = r;
    return layout;
}

/// A simulated board with up to `MaxHarts` harts (`hart_count` of them present).
///
/// Physical state, per the SiFive CLINT: one mtime, and per hart an mtimecmp
/// (reset: all ones, no interrupt) and an msip bit. The hart's MTIP input is
/// `mtime >= mtimecmp`, its MSIP input is msip (priv. spec 3.2.1, 3.1.9).
template <u32 MaxHarts = 8>
class simulated_board {
public:
    static constexpr u32 max_harts = MaxHarts;

    /// A board with `harts` harts whose hart ids are 0 .. harts-1.
    explicit simulated_board(u32 harts = 1, const memory_layout& layout = qemu_virt_layout())
        : m_layout(layout), m_count(harts) {
        if (harts == 0 || harts > MaxHarts)
            throw std::invalid_argument(fmt::format("simulated_board: {} harts (1 to {})", harts, MaxHarts));
        for (u32 i = 0; i < MaxHarts; ++i) m_ids[i] = i;
        m_mtimecmp.fill(~u64{0});
        m_msip.fill(false);
        m_harts.fill(nullptr);
    }

    simulated_board(const simulated_board&) = delete;
    simulated_board& operator=(const simulated_board&) = delete;

    // ------------------------------------------------------------------
    // vfm::platform
    // ------------------------------------------------------------------

    [[nodiscard]] const memory_layout& layout() const noexcept { return m_layout; }
    [[nodiscard]] u32 hart_count() const noexcept { return m_count; }
    [[nodiscard]] u64 hart_id(u32 index) const noexcept { return index < m_count ? m_ids[index] : ~u64{0}; }
    [[nodiscard]] bool hart_index(u64 hartid, u64& index) const noexcept {
        for (u32 i = 0; i < m_count; ++i) {
            if (m_ids[i] == hartid) {
                index = i;
                return true;
            }
        }
        return false;
    }

    [[nodiscard]] u64 read_time() const noexcept { return m_time; }
    void write_time(u64 value) noexcept {
        m_time = value;
        update_lines();
    }

    /// The physical mtimecmp of hart `index` (the monitor owns it).
    void set_timer(u32 index, u64 deadline) noexcept {
        if (index >= m_count) {
            note_misuse(fmt::format("set_timer on hart index {} of {}", index, m_count));
            return;
        }
        m_mtimecmp[index] = deadline;
        ++m_timer_writes;
        update_lines();
    }
    /// The physical msip of hart `index` (the monitor's doorbell).
    void send_ipi(u32 index) noexcept { set_msip(index, true); }
    void clear_ipi(u32 index) noexcept { set_msip(index, false); }

    void console_put(char c) noexcept {
        try {
            m_console.push_back(c);
        } catch (...) {}
    }

    /// Stops the machine: records the code, then runs the exit handler, which
    /// must not return (a test's handler leaves with longjmp). Without one, or
    /// if it returns, the process aborts: a stopped machine never passes a test.
    void exit(u32 code) noexcept {
        m_exit_code = code;
        if (m_exit_handler) m_exit_handler(code);
        std::fprintf(stderr, "vfm::host::simulated_board: exit(%u); console:\n%s\n", static_cast<unsigned>(code),
                     m_console.c_str());
        std::abort();
    }

    // ------------------------------------------------------------------
    // Test side
    // ------------------------------------------------------------------

    /// Gives the harts other ids (index i gets ids[i]).
    void set_hart_ids(std::initializer_list<u64> ids) {
        if (ids.size() != m_count) throw std::invalid_argument("set_hart_ids: one id per hart");
        u32 i = 0;
        for (const u64 id : ids) m_ids[i++] = id;
    }

    /// Wires hart `index` to the board: its MTIP, MSIP and time follow the
    /// board from now on, and its wfi sleeps until the board's timer wakes it
    /// (see `sleep`). A test may install its own wfi hook afterwards.
    void connect(u32 index, simulated_hart& hw) {
        if (index >= m_count) throw std::out_of_range("connect: no such hart");
        m_harts[index] = &hw;
        hw.set_wfi_hook([this, index](simulated_hart& h) { sleep(index, h); });
        update_lines();
    }

    /// Sets or advances mtime; the harts' MTIP and time follow.
    void set_time(u64 value) noexcept { write_time(value); }
    void advance_time(u64 delta) noexcept { write_time(m_time + delta); }

    [[nodiscard]] u64 mtimecmp(u32 index) const { return m_mtimecmp.at(index); }
    [[nodiscard]] bool msip(u32 index) const { return m_msip.at(index); }
    /// Whether hart `index`'s MTIP input is raised now.
    [[nodiscard]] bool mtip(u32 index) const { return m_time >= m_mtimecmp.at(index); }
    /// How many times the monitor wrote a physical mtimecmp.
    [[nodiscard]] u64 timer_writes() const noexcept { return m_timer_writes; }
    /// How many times the monitor raised a doorbell (send_ipi).
    [[nodiscard]] u64 ipis_sent() const noexcept { return m_ipis_sent; }

    [[nodiscard]] const std::string& console() const noexcept { return m_console; }
    void clear_console() noexcept { m_console.clear(); }

    [[nodiscard]] std::optional<u32> exit_code() const noexcept { return m_exit_code; }
    /// Runs on exit(); must not return (see exit). It must not throw either.
    void set_exit_handler(std::function<void(u32)> handler) { m_exit_handler = std::move(handler); }

    /// Misuses of the board by the monitor (a hart index out of range).
    [[nodiscard]] const std::vector<std::string>& misuses() const noexcept { return m_misuses; }

    /// The wfi of a connected hart: real hardware sleeps until an enabled
    /// interrupt is pending. When none is, the only thing on this board that
    /// comes by itself is the timer: time jumps to the hart's mtimecmp if MTIE
    /// is enabled and the deadline is finite. A hart that nothing could ever
    /// wake would sleep for ever: after 1000 such wfi in a row the process
    /// aborts with a message (the monitor promised a wake-up and broke it).
    void sleep(u32 index, simulated_hart& hw) noexcept {
        const u64 mie = hw.peek_csr(riscv::csr::mie).value_or(0);
        const u64 mip = hw.peek_csr(riscv::csr::mip).value_or(0);
        if ((mie & mip) != 0) {
            m_stuck = 0;
            return;
        }
        const bool mtie = (mie & riscv::mip::mtip::mask) != 0;
        if (mtie && m_mtimecmp[index] != ~u64{0}) {
            if (m_mtimecmp[index] > m_time) write_time(m_mtimecmp[index]);
            m_stuck = 0;
            return;
        }
        if (++m_stuck >= 1000) {
            std::fprintf(stderr,
                         "vfm::host::simulated_board: hart %u sleeps for ever in wfi (mie %#llx, mtimecmp %#llx)\n",
                         static_cast<unsigned>(index), static_cast<unsigned long long>(mie),
                         static_cast<unsigned long long>(m_mtimecmp[index]));
            std::abort();
        }
    }

private:
    void set_msip(u32 index, bool level) noexcept {
        if (index >= m_count) {
            note_misuse(fmt::format("msip of hart index {} of {}", index, m_count));
            return;
        }
        if (level) ++m_ipis_sent;
        m_msip[index] = level;
        update_lines();
    }

    void update_lines() noexcept {
        for (u32 i = 0; i < m_count; ++i) {
            simulated_hart* hw = m_harts[i];
            if (hw == nullptr) continue;
            hw->set_time(m_time);
            hw->set_mtip(m_time >= m_mtimecmp[i]);
            hw->set_msip(m_msip[i]);
        }
    }

    void note_misuse(std::string message) noexcept {
        try {
            m_misuses.push_back(std::move(message));
        } catch (...) {}
    }

    memory_layout m_layout;
    u32 m_count;
    std::array<u64, MaxHarts> m_ids{};
    std::array<u64, MaxHarts> m_mtimecmp{};
    std::array<bool, MaxHarts> m_msip{};
    std::array<simulated_hart*, MaxHarts> m_harts{};
    u64 m_time = 0;
    u64 m_timer_writes = 0;
    u64 m_ipis_sent = 0;
    unsigned m_stuck = 0;
    std::string m_console;
    std::optional<u32> m_exit_code;
    std::function<void(u32)> m_exit_handler;
    std::vector<std::string> m_misuses;
};

static_assert(vfm::platform<vfm::host::simulated_board<1>>);
static_assert(vfm::platform<vfm::host::simulated_board<8>>);

}  // namespace vfm::host
