// SPDX-License-Identifier: MIT
/// Multi-hart support: hart 0 runs the test; every other hart registers
/// itself and then waits in wfi (mie.MSIE set, mstatus.MIE clear) for work
/// posted to its mailbox, woken by a CLINT software interrupt.
#pragma once

#include "testfw/trap.hpp"

namespace testfw {

/// The image header's boot hart (lib/start.S): the hart that runs the test.
extern "C" const volatile u32 testfw_boot_hart;
[[nodiscard]] inline u64 boot_hart() noexcept { return testfw_boot_hart; }

/// This hart's id (a0 at entry).
[[nodiscard]] inline u64 hartid() noexcept { return self().hartid; }

/// Number of harts in the device tree's /cpus node.
[[nodiscard]] unsigned hart_count() noexcept;
/// The device tree and fw_dynamic_info addresses hart 0 received.
[[nodiscard]] u64 boot_fdt() noexcept;
[[nodiscard]] u64 boot_dynamic_info() noexcept;

/// Waits (up to `ms`) until every other hart of the device tree has
/// registered; returns how many did.
unsigned wait_for_secondaries(u64 ms = 2000) noexcept;
/// Bit mask of the secondary harts that have registered.
[[nodiscard]] u64 online_mask() noexcept;

/// CLINT software interrupts and timer.
inline void send_ipi(u64 hart) noexcept { mmio::write<u32>(platform::msip(hart), 1); }
inline void clear_ipi(u64 hart) noexcept { mmio::write<u32>(platform::msip(hart), 0); }
[[nodiscard]] inline u32 read_msip(u64 hart) noexcept { return mmio::read<u32>(platform::msip(hart)); }
inline void set_mtimecmp(u64 hart, u64 value) noexcept { mmio::write<u64>(platform::mtimecmp(hart), value); }
[[nodiscard]] inline u64 get_mtimecmp(u64 hart) noexcept { return mmio::read<u64>(platform::mtimecmp(hart)); }

/// Posts fn(arg) to `hart`'s mailbox and wakes it with an IPI. The hart
/// consumes that IPI (waits for it and clears msip) before it calls fn, so
/// fn starts with no software interrupt pending.
void post_work(u64 hart, u64 (*fn)(u64), u64 arg) noexcept;
/// Waits up to `ms` for the work posted last to `hart` to finish; false on
/// a timeout.
bool wait_work(u64 hart, u64& result, u64 ms = 2000) noexcept;
/// post_work then wait_work.
bool run_on(u64 hart, u64 (*fn)(u64), u64 arg, u64& result, u64 ms = 2000) noexcept;
/// Busy-waits for about `ticks` of mtime.
void delay_ticks(u64 ticks) noexcept;

}  // namespace testfw
