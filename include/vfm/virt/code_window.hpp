// SPDX-License-Identifier: MIT
/// Where the trap paths read the firmware's instructions in place: the code
/// window of a hart (the RAM outside the monitor's memory), checked with one
/// unsigned compare, and the reads that use it, also before any engine exists.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/detail/utility.hpp>
#include <vfm/platform.hpp>
#include <vfm/virt/hart.hpp>

namespace vfm::virt {

/// The window of hart::code_window_base/last for `layout`: the RAM above the
/// monitor's memory when the monitor sits at the start of RAM (the shared
/// page is the firmware's memory too), else the RAM below it, else the RAM
/// above it; outside it the engine reads instructions on the guarded path.
inline void set_firmware_code_window(hart& h, const memory_layout& layout) noexcept {
    const region& ram = layout.ram;
    const region& monitor = layout.monitor;
    u64 base = ram.base;
    u64 end = ram.end();
    if (monitor.overlaps(ram.base, ram.size)) {
        if (monitor.base <= ram.base || monitor.end() < ram.end()) {
            base = detail::max(monitor.end(), ram.base);
        } else {
            end = monitor.base;
        }
    }
    if (ram.size == 0 || end < base + 4 || (base & 1) != 0) {
        h.code_window_base = 1;  // nothing: an odd base matches no pc
        h.code_window_last = 0;
        return;
    }
    h.code_window_base = base;
    h.code_window_last = end - base - 4;
}

/// Whether the four bytes at `pc` lie in the hart's code window: one unsigned
/// range check, for the trap paths.
[[nodiscard, gnu::always_inline]] inline bool instruction_in_code_window(const hart& h, u64 pc) noexcept {
    return pc - h.code_window_base <= h.code_window_last;
}

/// The firmware's instruction at `pc`, for the trap paths (also those that run
/// before any engine): the firmware runs with satp Bare, so `pc` is physical; when the four
/// bytes there are RAM outside the monitor's memory the instruction is read
/// from there in M-mode (never from mtval, which QEMU 7.2 leaves stale for
/// HLV/HSV). False otherwise: the engine then reads it on the full guarded path.
template <arch Arch>
[[nodiscard, gnu::always_inline]] inline bool firmware_instruction_in_ram(Arch& hw, const hart& h, u64 pc,
                                                                          u32& bits) noexcept {
    if (!instruction_in_code_window(h, pc)) return false;
    const u8* code = hw.physical(pc, 4);
    if (code == nullptr) return false;
    u16 low;
    u16 high;
    __builtin_memcpy(&low, __builtin_assume_aligned(code, 2), 2);
    __builtin_memcpy(&high, __builtin_assume_aligned(code + 2, 2), 2);
    bits = u32{low} | (u32{high} << 16);
    if ((low & 3) != 3) bits = low;  // a 16-bit instruction
    return true;
}

/// Whether the firmware's instruction at `pc` is the 32-bit `expected`, read
/// as firmware_instruction_in_ram does (false where that one is false).
template <arch Arch>
[[nodiscard, gnu::always_inline]] inline bool firmware_instruction_is(Arch& hw, const hart& h, u64 pc,
                                                                      u32 expected) noexcept {
    u32 bits = 0;
    return firmware_instruction_in_ram(hw, h, pc, bits) && bits == expected;
}

}  // namespace vfm::virt
