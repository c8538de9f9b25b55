// SPDX-License-Identifier: MIT
/// The one path for every memory access the monitor makes on behalf of a
/// guest (docs/security.md, "The guarded path"): the firmware's loads, stores,
/// AMOs and LR/SC under virtual mstatus.MPRV, its HLV/HLVX/HSV, the OS's
/// misaligned accesses, the policies' copies of SBI arguments, and the reads of
/// a trapping instruction.
///
/// Each access is made in three steps:
///   1. translation in software, as the hart would translate it (priv. spec
///      4.3.2 for Sv39/Sv48/Sv57, H ext. 9.5 for the two-stage translation of
///      VS/VU): permissions, U/SUM/MXR, HLVX, A/D updates, superpages,
///      Svnapot and Svpbmt, with the hardware's fault causes, mtval, mtval2 and
///      mtinst; page-table reads go through steps 2 and 3 themselves;
///   2. the guard: the physical range of every byte is classified against the
///      board's memory layout; the monitor's region, its shared page, the
///      devices that master the bus and the monitor's own PMP entries refuse
///      it (an access fault, as a PMP entry of the platform would); an
///      emulated device (the CLINT) is handed back to the caller; MMIO is
///      reached only when the caller asks for it;
///   3. the access itself, at the physical address of step 1, through the
///      backend with the PMP in force for the guest's privilege (mstatus.MPRV
///      with satp Bare): the hardware's check is a second wall, never the only one.
///
/// Nothing here faults in the monitor: a refused or faulting access comes back
/// as the exception the hardware would have raised for the guest.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/bits.hpp>
#include <vfm/detail/utility.hpp>
#include <vfm/platform.hpp>
#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/pmp.hpp>
#include <vfm/virt/hart.hpp>
#include <vfm/virt/pmp_layout.hpp>
#include <vfm/virt/pmp_physical.hpp>

namespace vfm::virt {

/// The kind of an access, for permissions and fault causes. AMOs and SC are
/// stores (they need write permission and raise store/AMO faults).
enum class access_kind : u8 { load, store, fetch };

[[nodiscard]] constexpr u64 access_fault_cause(access_kind k) noexcept {
    using riscv::exception;
    return riscv::cause_value(k == access_kind::load    ? exception::load_access_fault
                              : k == access_kind::store ? exception::store_access_fault
                                                        : exception::instruction_access_fault);
}
[[nodiscard]] constexpr u64 page_fault_cause(access_kind k) noexcept {
    using riscv::exception;
    return riscv::cause_value(k == access_kind::load    ? exception::load_page_fault
                              : k == access_kind::store ? exception::store_page_fault
                                                        : exception::instruction_page_fault);
}
[[nodiscard]] constexpr u64 guest_page_fault_cause(access_kind k) noexcept {
    using riscv::exception;
    return riscv::cause_value(k == access_kind::load    ? exception::load_guest_page_fault
                              : k == access_kind::store ? exception::store_guest_page_fault
                                                        : exception::instruction_guest_page_fault);
}
[[nodiscard]] constexpr u64 misaligned_cause(access_kind k) noexcept {
    using riscv::exception;
    return riscv::cause_value(k == access_kind::load    ? exception::load_address_misaligned
                              : k == access_kind::store ? exception::store_address_misaligned
                                                        : exception::instruction_address_misaligned);
}

/// mtinst for a guest-page fault of an implicit access of the VS-stage walk
/// (H ext. 9.6.3, the RV64 pseudoinstructions): a 64-bit PTE read, or the
/// write of its A/D bits.
inline constexpr u64 pseudoinstruction_pte_read = 0x3000;
inline constexpr u64 pseudoinstruction_pte_write = 0x3020;

/// How the hart would translate and check an access made for a guest: the
/// state the hardware reads for it (mstatus.MPP/MPV and satp for MPRV,
/// hstatus.SPVP, vsatp and hgatp for HLV, the OS's own state for its traps).
struct translation_regime {
    /// The effective privilege of the access: supervisor or user (VS or VU when
    /// virtualized); machine means a physical access (no translation).
    riscv::privilege privilege = riscv::privilege::supervisor;
    bool virtualized = false;  ///< two-stage translation (VS-stage by vsatp, G-stage by hgatp)
    u64 satp = 0;              ///< satp, or vsatp when virtualized
    u64 hgatp = 0;             ///< the G-stage, when virtualized
    bool sum = false;          ///< SUM of the first stage (mstatus.SUM; vsstatus.SUM when virtualized)
    bool mxr = false;          ///< MXR for the first stage (mstatus.MXR; vsstatus.MXR or mstatus.MXR when virtualized)
    bool mxr_g = false;        ///< MXR for the G-stage (mstatus.MXR, H ext. 9.5)
    bool execute_for_read = false;  ///< HLVX: a read needs execute permission, not read permission (H ext. 9.3.1)
    bool update_ad = true;          ///< the hart sets A and D itself instead of raising a page fault (Svadu vs Svade)
    bool pbmt = false;              ///< Svpbmt for the first stage (menvcfg.PBMTE; henvcfg.PBMTE when virtualized)
    bool pbmt_g = false;            ///< Svpbmt for the G-stage (menvcfg.PBMTE)
    bool napot = false;             ///< Svnapot
};

/// The exception an access raised, as the hart reports it (priv. spec 3.1.16,
/// H ext. 9.4.6-9.4.7).
struct guest_fault {
    u64 cause = 0;
    u64 tval = 0;   ///< the faulting virtual address (guest virtual when virtualized)
    u64 tval2 = 0;  ///< guest-page faults: the guest physical address >> 2
    u64 tinst = 0;
    bool gva = false;  ///< tval holds a guest virtual address
};

/// What the guard makes of a physical range (see classify_physical).
enum class physical_class : u8 {
    ram,      ///< the board's RAM: always reachable (if the PMP agrees)
    mmio,     ///< a device the guest may reach itself: only when the caller asks for it
    device,   ///< a device the monitor emulates (the CLINT, an intercepted shutdown device)
    refused,  ///< the monitor, its shared page, a bus master, a wall: never
};

/// Whether `[address, address + size)` overlaps `r` (a zero-size region overlaps nothing).
[[nodiscard]] constexpr bool overlaps(const region& r, u64 address, u64 size) noexcept {
    return r.overlaps(address, size);
}

/// Classifies `[address, address + size)` for an access made for a guest. A
/// range that wraps, or that only partly lies in RAM or in an emulated
/// device, is refused: the access is either all of one kind or none.
[[nodiscard]] constexpr physical_class classify_physical(const memory_layout& m, u64 address, u64 size,
                                                         bool shutdown_emulated) noexcept {
    if (size == 0 || address + size < address) return physical_class::refused;
    if (overlaps(m.monitor, address, size) || overlaps(m.shared_buffer, address, size)) return physical_class::refused;
    for (u32 i = 0; i < m.bus_master_count && i < memory_layout::max_bus_masters; ++i)
        if (overlaps(m.bus_masters[i], address, size)) return physical_class::refused;
    if (overlaps(m.emulated_devices, address, size))
        return m.emulated_devices.contains(address, size) ? physical_class::device : physical_class::refused;
    if (shutdown_emulated && overlaps(m.shutdown_device, address, size))
        return m.shutdown_device.contains(address, size) ? physical_class::device : physical_class::refused;
    if (m.ram.contains(address, size)) return physical_class::ram;
    if (overlaps(m.ram, address, size)) return physical_class::refused;
    return physical_class::mmio;
}

/// Whether the monitor's own PMP entries of `layout` (index 0 .. reserved_count-1,
/// with their configuration for `firmware_side` or the OS) refuse an S/U
/// access to `[address, address + size)` needing `needed` (pmp_r/w/x): the
/// lowest entry that matches any byte decides (priv. spec 3.7.1); an entry
/// that matches only part of the range refuses; no match leaves the decision
/// to the entries below them (the firmware's).
[[nodiscard]] constexpr bool monitor_entries_refuse(const pmp_layout& layout, bool firmware_side, unsigned g,
                                                    u64 address, u64 size, u8 needed) noexcept {
    u64 previous = 0;
    for (unsigned i = 0; i < layout.reserved_count; ++i) {
        const u8 cfg = firmware_side ? layout.reserved_cfg_firmware[i] : layout.reserved_cfg_os[i];
        const u64 addr = layout.reserved_addr[i];
        const riscv::pmp::range r = riscv::pmp::decode(cfg, addr, previous, g);
        previous = addr;
        if (r.empty) continue;
        if (!(address < r.end && r.base < address + size)) continue;
        if (address < r.base || address + size > r.end) return true;
        return (cfg & needed) != needed;
    }
    return false;
}

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
        for (unsigned attempt = 0; attempt < max_walk_restarts; ++attempt) {
            switch (first_stage_once(va, satp, guest, out)) {
                case step::translated: return true;
                case step::faulted: return false;
                case step::restart: break;
            }
        }
        return fail(page_fault_cause(m_kind));
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
        for (unsigned attempt = 0; attempt < max_walk_restarts; ++attempt) {
            switch (g_stage_once(gpa, kind, implicit, out)) {
                case step::translated: return true;
                case step::faulted: return false;
                case step::restart: break;
            }
        }
        return fail(guest_page_fault_cause(m_kind), gpa >> 2);
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

/// What an access made for a guest may reach besides RAM.
namespace reach {
inline constexpr u8 ram = 0;
inline constexpr u8 mmio = 1;     ///< devices the guest may reach itself (not a bus master, not the monitor's)
inline constexpr u8 devices = 2;  ///< the devices the monitor emulates: reported back, not accessed
}  // namespace reach

/// The outcome of an access made for a guest.
struct guest_access {
    enum class status : u8 {
        done,    ///< performed; `value` holds a load's (or an AMO's old) value, zero-extended
        fault,   ///< `fault` is the exception the guest takes
        device,  ///< an emulated device at `physical`: the caller emulates the access
    };
    status result = status::fault;
    u64 value = 0;
    u64 physical = 0;
    guest_fault fault;
    [[nodiscard]] constexpr bool done() const noexcept { return result == status::done; }
};

/// The guarded path (see the file comment) for one hart: translation,
/// guard and access. `side` says whose rights the monitor's own PMP entries
/// are checked with (the firmware's, e.g. the sandbox's wall, or the OS's).
/// While it exists the physical satp is Bare (the accesses it makes are
/// physical); the caller has put the PMP view in place that the accesses must
/// pass as a second wall (the OS's view for the OS, mprv_access for the
/// firmware's MPRV and HLV accesses).
template <arch Arch>
class guest_memory {
public:
    enum class side : u8 { firmware, os };

    guest_memory(Arch& hw, const memory_layout& layout, const hart& h, side who, bool shutdown_emulated) noexcept
        : m_hw(hw),
          m_layout(layout),
          m_hart(h),
          m_firmware_side(who == side::firmware),
          m_shutdown_emulated(shutdown_emulated) {
        if (h.features.has_s) {
            m_saved_satp = m_hw.template read<riscv::csr::satp>();
            if (m_saved_satp != 0) m_hw.template write<riscv::csr::satp>(0);
        }
    }
    ~guest_memory() {
        if (m_saved_satp != 0) m_hw.template write<riscv::csr::satp>(m_saved_satp);
    }
    guest_memory(const guest_memory&) = delete;
    guest_memory& operator=(const guest_memory&) = delete;

    /// In the PMP's cache mode (hart::pmp_cached), every access this makes
    /// with the guest's privilege first asks the miss path (virt/pmp_physical.hpp):
    /// the list decides it in software, and the range it needs is put in the
    /// slots before the hardware checks it as the second wall.
    void resolve_pmp_misses(hart& h) noexcept { m_resolver = &h; }

    /// The physical address of `address` for an access of `kind` in `regime`:
    /// the walk alone, its page-table reads guarded, the result not classified.
    [[nodiscard]] guest_translation walk(const translation_regime& regime, u64 address, access_kind kind) noexcept {
        pte_port port{*this};
        page_walker<pte_port> walker(port, regime);
        return walker.translate(address, kind);
    }

    /// Translates and guards `[address, address + size)` (within one page) for
    /// an access of `kind`; `physical` and the class on success.
    [[nodiscard]] guest_translation translate(const translation_regime& regime, u64 address, u64 size, access_kind kind,
                                              u8 reachable, physical_class& klass) noexcept {
        pte_port port{*this};
        page_walker<pte_port> walker(port, regime);
        guest_translation t = walker.translate(address, kind);
        if (!t.ok) return t;
        klass = classify(t.physical, size, kind);
        const bool allowed = klass == physical_class::ram ||
                             (klass == physical_class::mmio && (reachable & reach::mmio) != 0) ||
                             (klass == physical_class::device && (reachable & reach::devices) != 0);
        if (!allowed) {
            t.ok = false;
            t.fault = access_fault(regime, address, kind);
        }
        return t;
    }

    /// A load of `width` bytes at `address` (zero-extended). Misaligned loads
    /// are performed a byte at a time, each page translated on its own.
    [[nodiscard]] guest_access load(const translation_regime& regime, u64 address, unsigned width,
                                    u8 reachable = reach::ram) noexcept {
        return transfer(regime, address, width, access_kind::load, 0, reachable);
    }

    /// A store of the low `width` bytes of `value`: every page is translated and
    /// guarded before any byte is written.
    [[nodiscard]] guest_access store(const translation_regime& regime, u64 address, unsigned width, u64 value,
                                     u8 reachable = reach::ram) noexcept {
        return transfer(regime, address, width, access_kind::store, value, reachable);
    }

    /// An AMO (4 or 8 bytes, naturally aligned, else store/AMO address
    /// misaligned): atomic on RAM with respect to every hart; `value` is the old value.
    [[nodiscard]] guest_access amo(const translation_regime& regime, u64 address, unsigned width, amo_op op,
                                   u64 operand, u8 reachable = reach::ram) noexcept {
        guest_access out;
        physical_class klass = physical_class::refused;
        if (!aligned_atomic(regime, address, width, access_kind::store, out)) return out;
        const guest_translation t = translate(regime, address, width, access_kind::store, reachable, klass);
        if (!t.ok) return fault(out, t.fault);
        if (klass == physical_class::device) return device(out, t.physical);
        if (!pmp_ready(t.physical, width, access_kind::store))
            return fault(out, access_fault(regime, address, access_kind::store));
        const access_result r = m_hw.amo(how(regime), t.physical, width, op, operand);
        if (!r.ok) return fault(out, access_fault(regime, address, access_kind::store));
        out.result = guest_access::status::done;
        out.value = r.value;
        return out;
    }

    /// Compare-and-swap (4 or 8 bytes, naturally aligned): `value` is the old
    /// value; `desired` was stored iff it equals `expected` (low `width` bytes).
    [[nodiscard]] guest_access compare_exchange(const translation_regime& regime, u64 address, unsigned width,
                                                u64 expected, u64 desired) noexcept {
        guest_access out;
        physical_class klass = physical_class::refused;
        if (!aligned_atomic(regime, address, width, access_kind::store, out)) return out;
        const guest_translation t = translate(regime, address, width, access_kind::store, reach::ram, klass);
        if (!t.ok) return fault(out, t.fault);
        if (!pmp_ready(t.physical, width, access_kind::store))
            return fault(out, access_fault(regime, address, access_kind::store));
        const access_result r = m_hw.compare_exchange(how(regime), t.physical, width, expected, desired);
        if (!r.ok) return fault(out, access_fault(regime, address, access_kind::store));
        out.result = guest_access::status::done;
        out.value = r.value;
        out.physical = t.physical;
        return out;
    }

    /// LR's access: a load of 4 or 8 naturally aligned bytes (else load address
    /// misaligned) from RAM; `physical` says where, for the reservation.
    [[nodiscard]] guest_access load_reserved(const translation_regime& regime, u64 address, unsigned width) noexcept {
        guest_access out;
        physical_class klass = physical_class::refused;
        if (!aligned_atomic(regime, address, width, access_kind::load, out)) return out;
        const guest_translation t = translate(regime, address, width, access_kind::load, reach::ram, klass);
        if (!t.ok) return fault(out, t.fault);
        if (!pmp_ready(t.physical, width, access_kind::load))
            return fault(out, access_fault(regime, address, access_kind::load));
        const access_result r = m_hw.load(how(regime), t.physical, width);
        if (!r.ok) return fault(out, access_fault(regime, address, access_kind::load));
        out.result = guest_access::status::done;
        out.value = r.value;
        out.physical = t.physical;
        return out;
    }

    /// The instruction at `pc` as the guest fetched it: translated for
    /// execution (16 bits at a time, the low half decides the length, unpriv.
    /// spec 1.5), guarded, and read from RAM or a device the guest may fetch
    /// from. False with the fetch fault the guest would have taken.
    [[nodiscard]] bool read_instruction(const translation_regime& regime, u64 pc, u32& bits, guest_fault& f) noexcept {
        bits = 0;
        for (unsigned offset = 0; offset < 4; offset += 2) {
            physical_class klass = physical_class::refused;
            const guest_translation t = translate(regime, pc + offset, 2, access_kind::fetch, reach::mmio, klass);
            if (!t.ok) {
                f = t.fault;
                return false;
            }
            // The hart fetched it: read it back in M-mode (a fetch needs X, which a
            // load cannot ask the PMP for); a fault still comes back, not taken.
            const access_result r = m_hw.load(access_mode{riscv::privilege::machine, false, false}, t.physical, 2);
            if (!r.ok) {
                f = access_fault(regime, pc + offset, access_kind::fetch);
                return false;
            }
            bits |= static_cast<u32>(r.value & 0xffff) << (8 * offset);
            if (offset == 0 && (bits & 3) != 3) return true;  // a 16-bit instruction
        }
        return true;
    }

    /// Copies `length` bytes of the guest's memory at `address` (in `regime`'s
    /// address space) to the monitor's buffer `to`: each page translated and
    /// guarded (RAM only), then read through the PMP, 8 bytes at a time where
    /// aligned. False at the first fault (`f`); bytes before it are copied.
    bool copy_from_guest(const translation_regime& regime, u64 address, u8* to, u64 length, guest_fault& f) noexcept {
        return copy(regime, address, access_kind::load, to, nullptr, length, f);
    }
    /// Copies the monitor's `from` to the guest's memory at `address` (as copy_from_guest).
    bool copy_to_guest(const translation_regime& regime, u64 address, const u8* from, u64 length,
                       guest_fault& f) noexcept {
        return copy(regime, address, access_kind::store, nullptr, from, length, f);
    }

    /// Whether every byte of `[address, address + length)` may be accessed
    /// (`kind`) in `regime`: translation and guard only, nothing accessed.
    bool check_range(const translation_regime& regime, u64 address, u64 length, access_kind kind,
                     guest_fault& f) noexcept {
        return copy(regime, address, kind, nullptr, nullptr, length, f);
    }

    /// The class of a physical range for this side (the guard alone).
    [[nodiscard]] physical_class classify(u64 physical, u64 size, access_kind kind) const noexcept {
        // The shared page is the firmware's own memory: reading back an
        // instruction the firmware fetched from there is not an access on its
        // behalf (docs/security.md); every data access there is refused, and
        // so is the OS's instruction: the monitor reads it in M-mode, and a
        // page table another hart changed since the OS's fetch could point
        // its pc there (fuzz finding F4).
        const bool shared_fetch =
            m_firmware_side && kind == access_kind::fetch && m_layout.shared_buffer.contains(physical, size);
        const physical_class klass =
            shared_fetch ? physical_class::ram : classify_physical(m_layout, physical, size, m_shutdown_emulated);
        if (klass == physical_class::refused || klass == physical_class::device) return klass;
        const u8 needed = kind == access_kind::load ? pmp_r : kind == access_kind::store ? pmp_w : pmp_x;
        if (monitor_entries_refuse(m_hart.pmp, m_firmware_side, m_hart.features.pmp_granularity, physical, size,
                                   needed))
            return physical_class::refused;
        return klass;
    }

private:
    /// Page-table accesses of the walk: guarded (RAM only, never the monitor's),
    /// then made as S-mode implicit accesses through the PMP (priv. spec 3.7.1).
    struct pte_port {
        guest_memory& memory;
        bool read_pte(u64 physical, u64& value) noexcept {
            if ((physical & 7) != 0 || memory.classify(physical, 8, access_kind::load) != physical_class::ram)
                return false;
            if (!memory.pmp_ready(physical, 8, access_kind::load)) return false;
            const access_result r = memory.m_hw.load(supervisor(), physical, 8);
            value = r.value;
            return r.ok;
        }
        bool update_pte(u64 physical, u64 expected, u64 desired, u64& old) noexcept {
            if ((physical & 7) != 0 || memory.classify(physical, 8, access_kind::store) != physical_class::ram)
                return false;
            if (!memory.pmp_ready(physical, 8, access_kind::store)) return false;
            const access_result r = memory.m_hw.compare_exchange(supervisor(), physical, 8, expected, desired);
            old = r.value;
            return r.ok;
        }
        [[nodiscard]] static constexpr access_mode supervisor() noexcept {
            return access_mode{riscv::privilege::supervisor, false, false};
        }
    };

    /// The miss path before an access with the guest's privilege (resolve_pmp_misses):
    /// false when the list denies it.
    [[nodiscard]] bool pmp_ready(u64 physical, u64 size, access_kind kind) noexcept {
        if (m_resolver == nullptr || !m_resolver->pmp_cached) return true;
        const u8 needed = kind == access_kind::load ? pmp_r : kind == access_kind::store ? pmp_w : pmp_x;
        return resolve_pmp_access(m_hw, *m_resolver, m_resolver->physical_view, physical, size, needed) !=
               pmp_resolution::denied;
    }

    /// The physical access's mode: the guest's privilege (VS and VU check the
    /// PMP as S and U), no translation (satp is Bare while this exists).
    [[nodiscard]] static constexpr access_mode how(const translation_regime& regime) noexcept {
        return access_mode{regime.privilege, false, false};
    }

    [[nodiscard]] static constexpr guest_fault access_fault(const translation_regime& regime, u64 address,
                                                            access_kind kind) noexcept {
        guest_fault f;
        f.cause = access_fault_cause(kind);
        f.tval = address;
        f.gva = regime.virtualized;
        return f;
    }

    static guest_access& fault(guest_access& out, const guest_fault& f) noexcept {
        out.result = guest_access::status::fault;
        out.fault = f;
        return out;
    }
    static guest_access& device(guest_access& out, u64 physical) noexcept {
        out.result = guest_access::status::device;
        out.physical = physical;
        return out;
    }

    /// LR, SC and AMOs need natural alignment (unpriv. spec 8.2, 8.4): the
    /// address-misaligned exception otherwise, as QEMU raises it.
    bool aligned_atomic(const translation_regime& regime, u64 address, unsigned width, access_kind kind,
                        guest_access& out) noexcept {
        if ((width == 4 || width == 8) && (address & (width - 1)) == 0) return true;
        guest_fault f;
        f.cause = misaligned_cause(kind);
        f.tval = address;
        f.gva = regime.virtualized;
        fault(out, f);
        return false;
    }

    /// Translates `[address, address + length)` page by page for `kind`, and
    /// copies into `to` (a load) or from `from` (a store); with neither, only
    /// checks (check_range).
    bool copy(const translation_regime& regime, u64 address, access_kind kind, u8* to, const u8* from, u64 length,
              guest_fault& f) noexcept {
        if (length != 0 && address + (length - 1) < address) {  // past 2^64 - 1 (unpriv. 1.4)
            f = access_fault(regime, address, kind);
            return false;
        }
        const bool moves_data = to != nullptr || from != nullptr;
        for (u64 done = 0; done < length;) {
            const u64 va = address + done;
            const u64 chunk = detail::min<u64>(length - done, 0x1000 - (va & 0xfff));
            physical_class klass = physical_class::refused;
            const guest_translation t = translate(regime, va, chunk, kind, reach::ram, klass);
            if (!t.ok) {
                f = t.fault;
                return false;
            }
            for (u64 i = 0; moves_data && i < chunk;) {
                const u64 pa = t.physical + i;
                const unsigned step = (pa & 7) == 0 && chunk - i >= 8 ? 8 : 1;
                if (!pmp_ready(pa, step, kind)) {
                    f = access_fault(regime, va + i, kind);
                    return false;
                }
                access_result r;
                if (to != nullptr) {
                    r = m_hw.load(how(regime), pa, step);
                    for (unsigned b = 0; b < step && r.ok; ++b) to[done + i + b] = static_cast<u8>(r.value >> (8 * b));
                } else {
                    u64 value = 0;
                    for (unsigned b = 0; b < step; ++b) value |= u64{from[done + i + b]} << (8 * b);
                    r = m_hw.store(how(regime), pa, step, value);
                }
                if (!r.ok) {
                    f = access_fault(regime, va + i, kind);
                    return false;
                }
                i += step;
            }
            done += chunk;
        }
        return true;
    }

    guest_access transfer(const translation_regime& regime, u64 address, unsigned width, access_kind kind, u64 value,
                          u8 reachable) noexcept {
        guest_access out;
        // At most two pieces: the access split where it crosses a page.
        const u64 first_size = detail::min<u64>(width, 0x1000 - (address & 0xfff));
        const u64 sizes[2] = {first_size, width - first_size};
        u64 physical[2] = {};
        physical_class classes[2] = {physical_class::refused, physical_class::refused};
        for (unsigned piece = 0; piece < 2 && sizes[piece] != 0; ++piece) {
            const u64 va = address + (piece == 0 ? 0 : first_size);
            const guest_translation t = translate(regime, va, sizes[piece], kind, reachable, classes[piece]);
            if (!t.ok) return fault(out, t.fault);
            physical[piece] = t.physical;
        }
        if (classes[0] == physical_class::device || classes[1] == physical_class::device) {
            if (sizes[1] != 0) return fault(out, access_fault(regime, address, kind));  // a device across pages
            return device(out, physical[0]);
        }
        u64 loaded = 0;
        unsigned done = 0;
        for (unsigned piece = 0; piece < 2 && sizes[piece] != 0; ++piece) {
            const u64 size = sizes[piece];
            const u64 va = address + done;
            const bool natural =
                (size == 1 || size == 2 || size == 4 || size == 8) && (physical[piece] & (size - 1)) == 0;
            const unsigned step = natural ? static_cast<unsigned>(size) : 1;
            for (u64 i = 0; i < size; i += step) {
                if (!pmp_ready(physical[piece] + i, step, kind)) return fault(out, access_fault(regime, va + i, kind));
                const u64 shift = 8 * (done + i);
                const u64 part = shift >= 64 ? 0 : value >> shift;
                const access_result r = kind == access_kind::store
                                            ? m_hw.store(how(regime), physical[piece] + i, step,
                                                         step == 8 ? part : part & ((u64{1} << (8 * step)) - 1))
                                            : m_hw.load(how(regime), physical[piece] + i, step);
                if (!r.ok) return fault(out, access_fault(regime, va + i, kind));
                if (kind == access_kind::load) loaded |= r.value << shift;
            }
            done += static_cast<unsigned>(size);
        }
        out.result = guest_access::status::done;
        out.value = width == 8 ? loaded : loaded & ((u64{1} << (8 * width)) - 1);
        out.physical = physical[0];
        return out;
    }

    Arch& m_hw;
    const memory_layout& m_layout;
    const hart& m_hart;
    bool m_firmware_side;
    bool m_shutdown_emulated;
    u64 m_saved_satp = 0;
    hart* m_resolver = nullptr;
};

}  // namespace vfm::virt
