// SPDX-License-Identifier: MIT
/// The software page walk of the guarded path (virt/guest_memory.hpp, step 1):
/// `page_walker` translates an address as the hart would (priv. spec 4.3.2 for
/// Sv39/Sv48/Sv57, H ext. 9.5 for the two-stage translation of VS/VU), with
/// the hardware's fault causes, mtval, mtval2 and mtinst; its page-table reads
/// and A/D updates go through a port the caller guards.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/privilege.hpp>
#include <vfm/virt/guest_access.hpp>

namespace vfm::virt {

/// mtinst for a guest-page fault of an implicit access of the VS-stage walk
/// (H ext. 9.6.3, the RV64 pseudoinstructions): a 64-bit PTE read, or the
/// write of its A/D bits.
inline constexpr u64 pseudoinstruction_pte_read = 0x3000;
inline constexpr u64 pseudoinstruction_pte_write = 0x3020;

namespace detail_walk {

/// The PTE bits (priv. spec 4.3.1, 4.4.1; Svnapot, Svpbmt).
inline constexpr u64 pte_v = 1u << 0;
inline constexpr u64 pte_r = 1u << 1;
inline constexpr u64 pte_w = 1u << 2;
inline constexpr u64 pte_x = 1u << 3;
inline constexpr u64 pte_u = 1u << 4;
inline constexpr u64 pte_a = 1u << 6;
inline constexpr u64 pte_d = 1u << 7;
inline constexpr u64 pte_reserved = u64{0x7f} << 54;  ///< bits 60:54
inline constexpr u64 pte_pbmt = u64{3} << 61;
inline constexpr u64 pte_n = u64{1} << 63;
inline constexpr u64 ppn_mask = (u64{1} << 44) - 1;

/// Levels of a satp / hgatp mode (0 for Bare, ~0u for a mode the walk does not know).
[[nodiscard]] constexpr unsigned levels_of(u64 mode) noexcept {
    switch (mode) {
        case riscv::satp::mode_bare: return 0;
        case riscv::satp::mode_sv39: return 3;
        case riscv::satp::mode_sv48: return 4;
        case riscv::satp::mode_sv57: return 5;
        default: return ~0u;
    }
}

}  // namespace detail_walk

/// The outcome of a translation (and of the guard on its result).
struct guest_translation {
    bool ok = false;
    u64 physical = 0;
    guest_fault fault;
};

/// The page-table walks of `regime`, reading and updating PTEs through `port`:
///   port.read_pte(physical, value&) -> bool        false: an access fault (guard or PMP)
///   port.update_pte(physical, expected, desired, old&) -> bool
///                                                   compare-and-swap; false: an access fault
/// Both may only touch RAM the guard allows (the port's business).
template <class Port>
class page_walker {
public:
    page_walker(Port& port, const translation_regime& regime) noexcept : m_port(port), m_regime(regime) {}

    /// The physical address of `address` for an access of `kind`, or the fault.
    [[nodiscard]] guest_translation translate(u64 address, access_kind kind) noexcept {
        m_address = address;
        m_kind = kind;
        if (m_regime.privilege == riscv::privilege::machine) return done(address);
        if (!m_regime.virtualized) {
            u64 physical = 0;
            if (!first_stage(address, m_regime.satp, false, physical)) return m_result;
            return done(physical);
        }
        u64 guest_physical = 0;
        if (!first_stage(address, m_regime.satp, true, guest_physical)) return m_result;
        u64 physical = 0;
        if (!g_stage(guest_physical, kind, false, physical)) return m_result;
        return done(physical);
    }

private:
    guest_translation done(u64 physical) noexcept {
        m_result.ok = true;
        m_result.physical = physical;
        return m_result;
    }

    bool fail(u64 cause, u64 tval2 = 0, u64 tinst = 0) noexcept {
        m_result.ok = false;
        m_result.fault.cause = cause;
        m_result.fault.tval = m_address;
        m_result.fault.tval2 = tval2;
        m_result.fault.tinst = tinst;
        m_result.fault.gva = m_regime.virtualized;
        return false;
    }

    /// How often a walk starts again when a PTE changed under its A/D update
    /// before it gives up with a page fault (another hart rewriting the table
    /// for ever must not hold this hart in the monitor).
    static constexpr unsigned max_walk_restarts = 64;

    enum class step : u8 { translated, faulted, restart };

    /// satp's (or vsatp's) stage (priv. spec 4.3.2). With `guest`, the table
    /// addresses are guest physical and go through the G-stage themselves.
    bool first_stage(u64 va, u64 satp, bool guest, u64& out) noexcept {
        const step last = restarting(&page_walker::first_stage_once, va, satp, guest, out);
        return last == step::restart ? fail(page_fault_cause(m_kind)) : last == step::translated;
    }

    /// A stage's walk (`walk_once(args...)`) again while it restarts, at most
    /// max_walk_restarts times: the last step (restart: the walk gives up).
    template <class... Params, class... Args>
    [[gnu::always_inline]] step restarting(step (page_walker::*walk_once)(Params...), Args&&... args) noexcept {
        for (unsigned attempt = 0; attempt < max_walk_restarts; ++attempt) {
            const step last = (this->*walk_once)(args...);
            if (last != step::restart) return last;
        }
        return step::restart;
    }

    step first_stage_once(u64 va, u64 satp, bool guest, u64& out) noexcept {
        using namespace detail_walk;
        const unsigned levels = levels_of(riscv::satp::mode::extract(satp));
        if (levels == 0) {
            out = va;
            return step::translated;
        }
        if (levels == ~0u) return failed(page_fault_cause(m_kind));  // satp never holds a mode the hart rejected
        const unsigned va_bits = 12 + 9 * levels;
        // The address must be sign-extended from its top bit (4.3.2 step 0, 4.4.1).
        const u64 upper = va >> (va_bits - 1);
        if (upper != 0 && upper != (~u64{0} >> (va_bits - 1))) return failed(page_fault_cause(m_kind));
        u64 table = riscv::satp::ppn::extract(satp) << 12;
        for (unsigned level = levels; level-- != 0;) {
            const u64 entry_guest = table + 8 * ((va >> (12 + 9 * level)) & 0x1ff);
            u64 entry = entry_guest;
            if (guest && !g_stage(entry_guest, access_kind::load, true, entry)) return step::faulted;
            u64 pte = 0;
            if (!m_port.read_pte(entry, pte)) return failed(access_fault_cause(m_kind));
            if ((pte & pte_v) == 0 || ((pte & pte_r) == 0 && (pte & pte_w) != 0) || (pte & pte_reserved) != 0)
                return failed(page_fault_cause(m_kind));
            if ((pte & pte_pbmt) != 0 && (!m_regime.pbmt || (pte & pte_pbmt) == pte_pbmt))
                return failed(page_fault_cause(m_kind));
            if ((pte & (pte_r | pte_x)) == 0) {
                // A pointer to the next level: N, PBMT, A, D and U are reserved there.
                if (level == 0 || (pte & (pte_n | pte_pbmt | pte_a | pte_d | pte_u)) != 0)
                    return failed(page_fault_cause(m_kind));
                table = ((pte >> 10) & ppn_mask) << 12;
                continue;
            }
            // A leaf (4.3.2 steps 5-8).
            if (!leaf_allows(pte)) return failed(page_fault_cause(m_kind));
            u64 ppn = (pte >> 10) & ppn_mask;
            if (level > 0 && (ppn & ((u64{1} << (9 * level)) - 1)) != 0) return failed(page_fault_cause(m_kind));
            if (!napot_ppn(pte, level, va, ppn)) return failed(page_fault_cause(m_kind));
            const bool write = m_kind == access_kind::store;
            if ((pte & pte_a) == 0 || (write && (pte & pte_d) == 0)) {
                if (!m_regime.update_ad) return failed(page_fault_cause(m_kind));
                u64 target = entry;
                if (guest && !g_stage(entry_guest, access_kind::store, true, target)) return step::faulted;
                u64 old = 0;
                if (!m_port.update_pte(target, pte, pte | pte_a | (write ? pte_d : 0), old))
                    return failed(access_fault_cause(m_kind));
                if (old != pte) return step::restart;  // the PTE changed: walk again (step 7)
            }
            const u64 offset_mask = (u64{1} << (12 + 9 * level)) - 1;
            out = ((ppn << 12) & ~offset_mask) | (va & offset_mask);
            return step::translated;
        }
        return failed(page_fault_cause(m_kind));
    }

    step failed(u64 cause) noexcept {
        (void)fail(cause);
        return step::faulted;
    }

    /// The G-stage (H ext. 9.5.1): `gpa` for an access of `kind`; `implicit`
    /// for the VS-stage walk's own PTE accesses. Faults are guest-page faults
    /// of the original access type with mtval2 = the guest physical address >> 2
    /// (and the pseudoinstruction in mtinst for an implicit access).
    bool g_stage(u64 gpa, access_kind kind, bool implicit, u64& out) noexcept {
        const step last = restarting(&page_walker::g_stage_once, gpa, kind, implicit, out);
        return last == step::restart ? fail(guest_page_fault_cause(m_kind), gpa >> 2) : last == step::translated;
    }

    step g_stage_once(u64 gpa, access_kind kind, bool implicit, u64& out) noexcept {
        using namespace detail_walk;
        const u64 cause = guest_page_fault_cause(m_kind);
        const u64 tinst = !implicit                    ? 0
                          : kind == access_kind::store ? pseudoinstruction_pte_write
                                                       : pseudoinstruction_pte_read;
        auto guest_fault = [&] {
            (void)fail(cause, gpa >> 2, tinst);
            return step::faulted;
        };
        const unsigned levels = levels_of(riscv::hgatp::mode::extract(m_regime.hgatp));
        if (levels == 0) {
            out = gpa;
            return step::translated;
        }
        if (levels == ~0u) return guest_fault();
        const unsigned gpa_bits = 12 + 9 * levels + 2;  // Sv39x4, Sv48x4, Sv57x4: two more bits
        if ((gpa >> gpa_bits) != 0) return guest_fault();
        u64 table = (riscv::hgatp::ppn::extract(m_regime.hgatp) & ~u64{3}) << 12;  // a 16 KiB root
        for (unsigned level = levels; level-- != 0;) {
            const u64 index_mask = level == levels - 1 ? 0x7ff : 0x1ff;  // the root's index has two more bits
            const u64 entry = table + 8 * ((gpa >> (12 + 9 * level)) & index_mask);
            u64 pte = 0;
            if (!m_port.read_pte(entry, pte)) return failed(access_fault_cause(m_kind));
            if ((pte & pte_v) == 0 || ((pte & pte_r) == 0 && (pte & pte_w) != 0) || (pte & pte_reserved) != 0)
                return guest_fault();
            if ((pte & pte_pbmt) != 0 && (!m_regime.pbmt_g || (pte & pte_pbmt) == pte_pbmt)) return guest_fault();
            if ((pte & (pte_r | pte_x)) == 0) {
                if (level == 0 || (pte & (pte_n | pte_pbmt | pte_a | pte_d | pte_u)) != 0) return guest_fault();
                table = ((pte >> 10) & ppn_mask) << 12;
                continue;
            }
            if (!g_leaf_allows(pte, kind, implicit)) return guest_fault();
            u64 ppn = (pte >> 10) & ppn_mask;
            if (level > 0 && (ppn & ((u64{1} << (9 * level)) - 1)) != 0) return guest_fault();
            if (!napot_ppn(pte, level, gpa, ppn)) return guest_fault();
            const bool write = kind == access_kind::store;
            if ((pte & pte_a) == 0 || (write && (pte & pte_d) == 0)) {
                if (!m_regime.update_ad) return guest_fault();
                u64 old = 0;
                if (!m_port.update_pte(entry, pte, pte | pte_a | (write ? pte_d : 0), old))
                    return failed(access_fault_cause(m_kind));
                if (old != pte) return step::restart;
            }
            const u64 offset_mask = (u64{1} << (12 + 9 * level)) - 1;
            out = ((ppn << 12) & ~offset_mask) | (gpa & offset_mask);
            return step::translated;
        }
        return guest_fault();
    }

    /// A first-stage leaf's permissions for the access (4.3.2 step 5; MXR, SUM; HLVX).
    [[nodiscard]] bool leaf_allows(u64 pte) const noexcept {
        using namespace detail_walk;
        const bool user = m_regime.privilege == riscv::privilege::user;
        const bool sum = m_regime.sum;
        const bool mxr = m_regime.mxr;
        const bool u = (pte & pte_u) != 0;
        if (user && !u) return false;
        if (!user && u && (!sum || m_kind == access_kind::fetch)) return false;
        switch (m_kind) {
            case access_kind::fetch: return (pte & pte_x) != 0;
            case access_kind::store: return (pte & pte_w) != 0;
            case access_kind::load:
                if (m_regime.execute_for_read) return (pte & pte_x) != 0;
                return (pte & pte_r) != 0 || (mxr && (pte & pte_x) != 0);
        }
        return false;
    }

    /// A G-stage leaf: every access is a U-mode access (U must be set).
    [[nodiscard]] bool g_leaf_allows(u64 pte, access_kind kind, bool implicit) const noexcept {
        using namespace detail_walk;
        if ((pte & pte_u) == 0) return false;
        switch (kind) {
            case access_kind::fetch: return (pte & pte_x) != 0;
            case access_kind::store: return (pte & pte_w) != 0;
            case access_kind::load:
                if (!implicit && m_regime.execute_for_read) return (pte & pte_x) != 0;
                return (pte & pte_r) != 0 || (m_regime.mxr_g && (pte & pte_x) != 0);
        }
        return false;
    }

    /// Svnapot: a leaf with N at level 0 and PPN[3:0] = 1000 maps 64 KiB; any
    /// other use of N is reserved (page fault).
    [[nodiscard]] bool napot_ppn(u64 pte, unsigned level, u64 address, u64& ppn) const noexcept {
        if ((pte & detail_walk::pte_n) == 0) return true;
        if (!m_regime.napot || level != 0 || (ppn & 0xf) != 0x8) return false;
        ppn = (ppn & ~u64{0xf}) | ((address >> 12) & 0xf);
        return true;
    }

    Port& m_port;
    const translation_regime& m_regime;
    u64 m_address = 0;
    access_kind m_kind = access_kind::load;
    guest_translation m_result;
};

}  // namespace vfm::virt
