// SPDX-License-Identifier: MIT
/// Running code in S-mode and U-mode: `run_in` enters the function with
/// mret (mstatus.MPP = the mode, mepc = the function) on this hart's lower
/// stack; the run ends with an `ecall` when the function returns, and
/// run_in returns its result in M-mode. Which PMP entries let the code run
/// at all is the caller's business (pmp.hpp: open_all).
#pragma once

#include <vfm/riscv/privilege.hpp>

#include "testfw/trap.hpp"

namespace testfw {

using vfm::riscv::privilege;

using lower_function = u64 (*)(u64);

/// A bound for wait loops in S- and U-mode code, which counts iterations
/// instead of reading mtime (about a second on QEMU).
inline constexpr u64 lower_spin_limit = 100'000'000;

/// Runs fn(arg) in `mode` (user or supervisor) and returns its result.
u64 run_in(privilege mode, lower_function fn, u64 arg = 0) noexcept;

/// From an M-mode handler: ends the current run in S- or U-mode at once;
/// run_in returns `value`.
extern "C" [[noreturn]] void testfw_resume_m(u64 value) noexcept;
[[noreturn]] inline void abandon_lower(u64 value) noexcept { testfw_resume_m(value); }

/// From S- or U-mode: an ecall with a7 = `function`, a0/a1 = arguments;
/// returns a0 as the M-mode (or S-mode) handler left it.
inline u64 ecall(u64 function, u64 a0 = 0, u64 a1 = 0) noexcept {
    register u64 r0 asm("a0") = a0;
    register u64 r1 asm("a1") = a1;
    register u64 r7 asm("a7") = function;
    asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r7) : "memory");
    return r0;
}

}  // namespace testfw
