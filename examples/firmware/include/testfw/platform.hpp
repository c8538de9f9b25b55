// SPDX-License-Identifier: MIT
/// The board as the test firmwares see it: device addresses, found in the
/// device tree the firmware receives in a1 (QEMU virt's addresses until then,
/// and where the tree names none), and plain MMIO access.
#pragma once

#include <vfm/detail/types.hpp>

#include "testfw/layout.h"

namespace testfw {

using vfm::i64;
using vfm::u16;
using vfm::u32;
using vfm::u64;
using vfm::u8;
using vfm::usize;

namespace platform {
/// The devices a test firmware uses. Hart 0 fills this from the device tree
/// (discover_devices) before it prints anything; virt's addresses stand until
/// then and for what the tree does not name.
struct device_map {
    /// 16550 UART (console unless htif is set): THR at +0, LSR at +5 (bit 5: THR empty).
    u64 uart = 0x1000'0000;
    /// SiFive test finisher: 0x5555 ends QEMU with exit code 0,
    /// (code << 16) | 0x3333 with `code`; 0 when the board has none.
    u64 finisher = 0x10'0000;
    /// HTIF (QEMU spike): fromhost at +0, tohost at +8; console and exit when set.
    u64 htif = 0;
    /// SiFive UART (QEMU sifive_u): the console when set (txdata at +0, bit 31: full).
    u64 sifive_uart = 0;
    /// A gpio-restart line on a SiFive GPIO (QEMU sifive_u, which has no
    /// finisher): the exit when there is nothing else; the code is lost.
    u64 restart_gpio = 0;
    u32 restart_pin = 0;
    bool restart_active_low = false;
    /// SiFive CLINT (ACLINT MSWI + MTIMER layout).
    u64 clint = 0x200'0000;
    /// mtime ticks per second: /cpus/timebase-frequency (10 MHz on QEMU
    /// virt and spike, 1 MHz on sifive_u).
    u64 timebase = 10'000'000;
};
extern device_map devices;

/// Reads the console, the exit device and the CLINT from the device tree at
/// `fdt`: the node /chosen/stdout-path names (a 16550 or HTIF), else the first
/// 16550; a SiFive test finisher, else HTIF; the CLINT; the timebase. Returns nullptr or
/// what it could not find (the firmware says so in a `~ [impl]` line and
/// goes on with the devices it had: virt's, or those of an earlier entry).
const char* discover_devices(u64 fdt) noexcept;

inline constexpr u8 uart_lsr_thre = 1u << 5;
inline constexpr u32 finisher_pass = 0x5555;
inline constexpr u32 finisher_fail = 0x3333;

[[nodiscard]] inline u64 msip(u64 hart) noexcept { return devices.clint + 4 * hart; }
[[nodiscard]] inline u64 mtimecmp(u64 hart) noexcept { return devices.clint + 0x4000 + 8 * hart; }
[[nodiscard]] inline u64 mtime_address() noexcept { return devices.clint + 0xbff8; }
/// mtime ticks per second (the device tree's timebase-frequency).
[[nodiscard]] inline u64 timebase() noexcept { return devices.timebase; }
/// mtime ticks per millisecond.
[[nodiscard]] inline u64 ms_ticks() noexcept { return devices.timebase / 1000; }

/// Where the firmware is loaded, and the monitor's region below it.
inline constexpr u64 firmware_base = TESTFW_BASE;
inline constexpr u64 monitor_base = 0x8000'0000;
inline constexpr u64 monitor_size = 0x10'0000;
}  // namespace platform

namespace mmio {
template <class T>
[[nodiscard]] inline T read(u64 address) noexcept {
    return *reinterpret_cast<volatile T*>(address);
}
template <class T>
inline void write(u64 address, T value) noexcept {
    *reinterpret_cast<volatile T*>(address) = value;
}
}  // namespace mmio

/// The current mtime (read from the CLINT, as firmware does).
[[nodiscard]] inline u64 mtime() noexcept { return mmio::read<u64>(platform::mtime_address()); }

/// A deadline `ticks` from now, and whether it has passed.
struct deadline {
    u64 at;
    [[nodiscard]] static deadline in_ticks(u64 ticks) noexcept { return {mtime() + ticks}; }
    [[nodiscard]] static deadline in_ms(u64 ms) noexcept { return in_ticks(ms * platform::ms_ticks()); }
    [[nodiscard]] bool passed() const noexcept { return mtime() >= at; }
};

/// Compiler barrier: memory written by a trap handler is read again after it.
inline void barrier() noexcept { asm volatile("" ::: "memory"); }
/// Hardware fence for data shared with other harts.
inline void fence() noexcept { asm volatile("fence rw, rw" ::: "memory"); }
inline void wfi() noexcept { asm volatile("wfi" ::: "memory"); }

}  // namespace testfw
