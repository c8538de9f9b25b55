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
#include <vfm/detail/utility.hpp>
#include <vfm/platform.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/privilege.hpp>
#include <vfm/virt/guest_access.hpp>
#include <vfm/virt/hart.hpp>
#include <vfm/virt/page_walk.hpp>
#include <vfm/virt/physical_guard.hpp>
#include <vfm/virt/pmp_layout.hpp>
#include <vfm/virt/pmp_physical.hpp>

namespace vfm::virt {

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
        if (atomic_target(regime, address, width, access_kind::store, reachable, out))
            atomic_done(regime, address, access_kind::store, m_hw.amo(how(regime), out.physical, width, op, operand),
                        out);
        return out;
    }

    /// Compare-and-swap (4 or 8 bytes, naturally aligned): `value` is the old
    /// value; `desired` was stored iff it equals `expected` (low `width` bytes).
    [[nodiscard]] guest_access compare_exchange(const translation_regime& regime, u64 address, unsigned width,
                                                u64 expected, u64 desired) noexcept {
        guest_access out;
        if (atomic_target(regime, address, width, access_kind::store, reach::ram, out))
            atomic_done(regime, address, access_kind::store,
                        m_hw.compare_exchange(how(regime), out.physical, width, expected, desired), out);
        return out;
    }

    /// LR's access: a load of 4 or 8 naturally aligned bytes (else load address
    /// misaligned) from RAM; `physical` says where, for the reservation.
    [[nodiscard]] guest_access load_reserved(const translation_regime& regime, u64 address, unsigned width) noexcept {
        guest_access out;
        if (atomic_target(regime, address, width, access_kind::load, reach::ram, out))
            atomic_done(regime, address, access_kind::load, m_hw.load(how(regime), out.physical, width), out);
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

    /// The steps of an AMO, SC or LR before the backend's access: natural
    /// alignment (aligned_atomic), translation and guard in one piece, the PMP's
    /// miss path. True with `out.physical` where to access; false with `out`
    /// the fault, or an emulated device where `reachable` allows one
    /// (translate refuses it otherwise: LR and SC, which never allow one, drop
    /// the test).
    [[gnu::always_inline]] bool atomic_target(const translation_regime& regime, u64 address, unsigned width,
                                              access_kind kind, u8 reachable, guest_access& out) noexcept {
        physical_class klass = physical_class::refused;
        if (!aligned_atomic(regime, address, width, kind, out)) return false;
        const guest_translation t = translate(regime, address, width, kind, reachable, klass);
        if (!t.ok) {
            fault(out, t.fault);
            return false;
        }
        if ((reachable & reach::devices) != 0 && klass == physical_class::device) {
            device(out, t.physical);
            return false;
        }
        if (!pmp_ready(t.physical, width, kind)) {
            fault(out, access_fault(regime, address, kind));
            return false;
        }
        out.physical = t.physical;
        return true;
    }
    /// The outcome of the backend's access `r` for atomic_target's `out`.
    [[gnu::always_inline]] static void atomic_done(const translation_regime& regime, u64 address, access_kind kind,
                                                   const access_result& r, guest_access& out) noexcept {
        if (!r.ok) {
            fault(out, access_fault(regime, address, kind));
            return;
        }
        out.result = guest_access::status::done;
        out.value = r.value;
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
