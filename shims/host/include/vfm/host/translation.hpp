// SPDX-License-Identifier: MIT
/// Address translation of a simulated hart for accesses on behalf of a less
/// privileged mode: Bare, Sv39 and Sv48 (priv. spec 4.3-4.5), written from
/// the spec independently of the engine's software page walk, which it
/// exists to check. Two-stage translation (H ext. 9.5) is not modelled.
#pragma once

#include <cstring>

#include <vfm/arch.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/host/config.hpp>
#include <vfm/host/memory.hpp>
#include <vfm/host/pmp.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/privilege.hpp>

namespace vfm::host {

/// The CSRs translation reads, as the hart holds them: mstatus (SUM, MXR),
/// menvcfg (PBMTE), satp, and vsatp and hgatp (which must be Bare).
struct translation_registers {
    u64 mstatus = 0;
    u64 menvcfg = 0;
    u64 satp = 0;
    u64 vsatp = 0;
    u64 hgatp = 0;
};

/// The outcome of a translation: the physical address, or the exception.
struct translation {
    bool ok = true;
    u64 address = 0;
    u64 cause = 0;
};

/// The low `n` bits set.
[[nodiscard]] constexpr u64 low_bits(unsigned n) noexcept { return n >= 64 ? ~u64{0} : (u64{1} << n) - 1; }

/// Sv39 / Sv48 translation of `va` for an access by `how` (priv. spec
/// 4.3.2, 4.4, 4.5): page-table reads are S-level implicit accesses
/// checked by PMP; a clear A, or a clear D on a store, raises a page
/// fault (Svade) or, with config svadu, is set in the PTE (a store to it,
/// checked by PMP too).
/// `misuse(message)` reports a request the model cannot serve (two-stage
/// translation); the access then fails with an access fault.
template <class Misuse>
[[nodiscard]] translation translate(ram& memory, const pmp_unit& pmp, const hart_config& config,
                                    const translation_registers& registers, Misuse&& misuse, const access_mode& how,
                                    u64 va, access_type type) noexcept {
    using namespace riscv;
    const u64 page_fault = type == access_type::store ? 15 : 13;
    const u64 access_fault = type == access_type::store ? 7 : 5;
    if (how.privilege == riscv::privilege::machine) return {true, va, 0};
    if (how.virtualized) {
        if (satp::mode::extract(registers.vsatp) != satp::mode_bare || hgatp::mode::extract(registers.hgatp) != 0) {
            misuse("two-stage translation (vsatp / hgatp not Bare) is not modelled");
            return {false, 0, access_fault};
        }
        return {true, va, 0};
    }
    const u64 mode = satp::mode::extract(registers.satp);
    if (mode == satp::mode_bare) return {true, va, 0};
    const unsigned levels = mode == satp::mode_sv39 ? 3 : 4;
    const unsigned va_bits = 12 + 9 * levels;
    const u64 upper = va >> (va_bits - 1);
    if (upper != 0 && upper != (~u64{0} >> (va_bits - 1))) return {false, 0, page_fault};
    const bool sum = mstatus::sum::test(registers.mstatus);
    const bool mxr = how.mxr || mstatus::mxr::test(registers.mstatus);
    const bool pbmt = config.svpbmt && menvcfg::pbmte::test(registers.menvcfg);
    u64 table = satp::ppn::extract(registers.satp) << 12;
    for (int level = static_cast<int>(levels) - 1; level >= 0; --level) {
        const u64 index = (va >> (12 + 9 * level)) & 0x1ff;
        const u64 pte_address = table + index * 8;
        const u8* p = memory.at(pte_address, 8);
        if (p == nullptr || !pmp.check(pte_address, 8, access_type::load, riscv::privilege::supervisor).allowed)
            return {false, 0, access_fault};
        u64 pte = 0;
        std::memcpy(&pte, p, 8);
        const bool v = (pte & 1) != 0, r = (pte & 2) != 0, w = (pte & 4) != 0, x = (pte & 8) != 0;
        const bool u = (pte & 16) != 0, a = (pte & 64) != 0, d = (pte & 128) != 0;
        const u64 reserved = (pte >> 54) & 0x3ff;  // bits 63:54: N, PBMT, reserved
        const u64 pbmt_bits = (pte >> 61) & 3;
        const bool reserved_set =
            (reserved & ~u64{0x180}) != 0 || (pte >> 63) != 0 || (pbmt_bits != 0 && (!pbmt || pbmt_bits == 3));
        if (!v || (!r && w) || reserved_set) return {false, 0, page_fault};
        const u64 ppn = (pte >> 10) & low_bits(44);
        if (!r && !x) {
            table = ppn << 12;
            continue;
        }
        if (how.privilege == riscv::privilege::user && !u) return {false, 0, page_fault};
        if (how.privilege == riscv::privilege::supervisor && u && !sum) return {false, 0, page_fault};
        const bool permitted = type == access_type::store ? w : type == access_type::load ? (r || (x && mxr)) : x;
        if (!permitted) return {false, 0, page_fault};
        if (level > 0 && (ppn & low_bits(9 * static_cast<unsigned>(level))) != 0)
            return {false, 0, page_fault};  // misaligned superpage
        if (!a || (type == access_type::store && !d)) {
            if (!config.svadu) return {false, 0, page_fault};
            if (!pmp.check(pte_address, 8, access_type::store, riscv::privilege::supervisor).allowed)
                return {false, 0, access_fault};
            pte |= 64 | (type == access_type::store ? 128 : 0);
            std::memcpy(memory.at(pte_address, 8), &pte, 8);
        }
        const u64 offset_bits = 12 + 9 * static_cast<unsigned>(level);
        return {true, ((ppn << 12) & ~low_bits(offset_bits)) | (va & low_bits(offset_bits)), 0};
    }
    return {false, 0, page_fault};
}

}  // namespace vfm::host
