// SPDX-License-Identifier: MIT
/// Checks on probes: "this trapped with that cause at the probed
/// instruction", "this did not trap". Each prints one transcript line with
/// the values observed.
#pragma once

#include "testfw/check.hpp"
#include "testfw/trap.hpp"

namespace testfw {

/// The spec's name of an exception or interrupt cause.
[[nodiscard]] const char* cause_name(u64 mcause) noexcept;

/// The probe ran without a trap.
bool expect_no_trap(const probe& p, const char* what) noexcept;

/// The probe raised an illegal-instruction exception at the probed
/// instruction, taken in M-mode, with mtval 0 or the instruction bits
/// (priv. spec 3.1.16: either is allowed; the value is printed).
bool expect_illegal(const probe& p, u32 bits, const char* what) noexcept;

/// The probe raised exception `cause` at the probed instruction, taken at
/// privilege `level` (3 = M, 1 = S), with the given trap value.
bool expect_exception(const probe& p, riscv::exception cause, u64 tval, u64 level, const char* what) noexcept;

}  // namespace testfw
