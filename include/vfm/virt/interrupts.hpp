// SPDX-License-Identifier: MIT
/// Interrupt selection rules (priv. spec 3.1.9), as pure functions.
#pragma once

#include <vfm/detail/bits.hpp>
#include <vfm/riscv/cause.hpp>

namespace vfm::virt {

/// The interrupt to take among `pending` (bits of mip), by the spec's fixed
/// priority; -1 when none. Bits without a defined priority (16 and up,
/// platform interrupts) come after the standard ones, lowest number first.
[[nodiscard]] constexpr int highest_priority_interrupt(u64 pending) noexcept {
    if (pending == 0) return -1;
    for (unsigned code : riscv::interrupt_priority)
        if ((pending >> code) & 1) return static_cast<int>(code);
    const u64 rest = pending & ~u64{0xffff};
    return rest == 0 ? -1 : static_cast<int>(bits::count_trailing_zeros(rest));
}

/// Whether an M-level interrupt is taken now (priv. spec 3.1.6.1): in M-mode
/// only with MIE set; in a less privileged mode always.
[[nodiscard]] constexpr u64 takeable_in_m(u64 pending_enabled, u64 mideleg, bool in_m_mode, bool mie) noexcept {
    if (in_m_mode && !mie) return 0;
    return pending_enabled & ~mideleg;
}

}  // namespace vfm::virt
