// SPDX-License-Identifier: MIT
/// What this hart implements, found by probing instead of assumed: QEMU
/// sifive_u's harts follow privileged spec 1.10 (no menvcfg, no
/// mcountinhibit, no `time` CSR) and its hart 0, an E51, has no S-mode. A
/// firmware that needs something absent says so in one line, the same
/// natively and under a monitor (docs/test-firmware.md, "Other boards").
#pragma once

#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/privilege.hpp>

#include "testfw/check.hpp"
#include "testfw/trap.hpp"

namespace testfw {

/// The CSR exists: a read (csrrs a0, csr, x0) does not trap.
template <csr C>
[[nodiscard]] inline bool has_csr() noexcept {
    return !csr_probe<static_cast<u16>(C)>(csr_op::read).trapped;
}

/// misa reports extension `letter` (S: supervisor mode, U: user mode, H).
[[nodiscard]] inline bool has_extension(char letter) noexcept {
    return (read<csr::misa>() & riscv::misa::extension(letter)) != 0;
}
[[nodiscard]] inline bool has_s_mode() noexcept { return has_extension('S'); }

/// S-mode where the hart has it, else U-mode: the mode below M for checks
/// that hold in either (PMP, MPRV). Never S on a hart without it: QEMU 7.2's
/// E51 keeps mstatus.MPP = S and its mret enters an S-mode it does not have.
[[nodiscard]] inline vfm::riscv::privilege s_or_u() noexcept {
    return has_s_mode() ? vfm::riscv::privilege::supervisor : vfm::riscv::privilege::user;
}

/// Prints "ok   <what> absent on this hart" (a check that holds: the
/// firmware tests what the hart has, and says what it skipped).
inline void absent_here(const char* what) noexcept {
    check(true, "%s absent on this hart", what);
}

}  // namespace testfw
