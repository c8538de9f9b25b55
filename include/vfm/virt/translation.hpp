// SPDX-License-Identifier: MIT
/// The OS's address translation, walked by the monitor in software (priv.
/// spec 4.3.2 and 4.4-4.6): the monitor needs the physical address behind a
/// faulting virtual one (mtval holds virtual addresses) to recognise an OS
/// access to a device it emulates. Read-only: no A/D bit updates, and no
/// permission checks (the access already went through the hardware's).
#pragma once

#include <vfm/arch.hpp>
#include <vfm/riscv/csr_fields.hpp>

namespace vfm::virt {

/// The physical address of `address` under `satp` (Bare, Sv39, Sv48, Sv57),
/// reading page-table entries through hw.physical. False if the walk finds no
/// valid leaf.
template <arch A>
[[nodiscard]] bool translate(A& hw, u64 satp, u64 address, u64& physical) noexcept {
    constexpr u64 pte_v = 1;
    constexpr u64 pte_r = 2;
    constexpr u64 pte_x = 8;
    constexpr u64 pte_n = u64{1} << 63;  // Svnapot
    constexpr u64 ppn_mask = (u64{1} << 44) - 1;
    unsigned levels = 0;
    switch (riscv::satp::mode::extract(satp)) {
        case riscv::satp::mode_bare: physical = address; return true;
        case riscv::satp::mode_sv39: levels = 3; break;
        case riscv::satp::mode_sv48: levels = 4; break;
        case riscv::satp::mode_sv57: levels = 5; break;
        default: return false;
    }
    u64 table = riscv::satp::ppn::extract(satp) << 12;
    for (unsigned level = levels; level-- != 0;) {
        const u64 index = (address >> (12 + 9 * level)) & 0x1ff;
        const u8* entry = hw.physical(table + 8 * index, 8);
        if (entry == nullptr) return false;
        u64 pte = 0;
        for (unsigned byte = 0; byte < 8; ++byte) pte |= u64{entry[byte]} << (8 * byte);
        if ((pte & pte_v) == 0) return false;
        u64 ppn = (pte >> 10) & ppn_mask;
        if ((pte & (pte_r | pte_x)) == 0) {
            table = ppn << 12;
            continue;
        }
        // A leaf: superpages take their low page numbers from the address; a
        // 64 KiB Svnapot page its low four.
        const u64 offset_mask = (u64{1} << (12 + 9 * level)) - 1;
        if ((pte & pte_n) != 0 && level == 0) ppn = (ppn & ~u64{0xf}) | ((address >> 12) & 0xf);
        physical = ((ppn << 12) & ~offset_mask) | (address & offset_mask);
        return true;
    }
    return false;
}

}  // namespace vfm::virt
