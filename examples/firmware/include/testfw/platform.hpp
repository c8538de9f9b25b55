// SPDX-License-Identifier: MIT
/// The QEMU `virt` board as the test firmwares see it: device addresses and
/// plain MMIO access.
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
/// 16550 UART: transmit holding register and line status register (bit 5: THR empty).
inline constexpr u64 uart_base = 0x1000'0000;
inline constexpr u64 uart_thr = uart_base + 0;
inline constexpr u64 uart_lsr = uart_base + 5;
inline constexpr u8 uart_lsr_thre = 1u << 5;

/// SiFive test finisher: 0x5555 ends QEMU with exit code 0, (code << 16) | 0x3333 with `code`.
inline constexpr u64 finisher = 0x10'0000;
inline constexpr u32 finisher_pass = 0x5555;
inline constexpr u32 finisher_fail = 0x3333;

/// SiFive CLINT (ACLINT MSWI + MTIMER layout).
inline constexpr u64 clint_base = 0x200'0000;
[[nodiscard]] constexpr u64 msip(u64 hart) noexcept { return clint_base + 4 * hart; }
[[nodiscard]] constexpr u64 mtimecmp(u64 hart) noexcept { return clint_base + 0x4000 + 8 * hart; }
inline constexpr u64 mtime = clint_base + 0xbff8;
/// mtime ticks per second (the device tree's timebase-frequency on virt).
inline constexpr u64 timebase = 10'000'000;

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
[[nodiscard]] inline u64 mtime() noexcept { return mmio::read<u64>(platform::mtime); }

/// A deadline `ticks` from now, and whether it has passed.
struct deadline {
    u64 at;
    [[nodiscard]] static deadline in_ticks(u64 ticks) noexcept { return {mtime() + ticks}; }
    [[nodiscard]] static deadline in_ms(u64 ms) noexcept { return in_ticks(ms * (platform::timebase / 1000)); }
    [[nodiscard]] bool passed() const noexcept { return mtime() >= at; }
};

/// Compiler barrier: memory written by a trap handler is read again after it.
inline void barrier() noexcept { asm volatile("" ::: "memory"); }
/// Hardware fence for data shared with other harts.
inline void fence() noexcept { asm volatile("fence rw, rw" ::: "memory"); }
inline void wfi() noexcept { asm volatile("wfi" ::: "memory"); }

}  // namespace testfw
