// SPDX-License-Identifier: MIT
/// The firmware's CSR instructions against the virtual hart: the virtual CSRs and
/// their WARL rules, the physical supervisor and hypervisor CSRs, the triggers'
/// tdata1, the virtual counters (the accesses the fast path serves without an
/// engine are defined in virt/fast_csrs.hpp).
///
/// Part of the engine (virt/engine.hpp, which includes it at its end):
/// definitions of `engine` members declared there.
#pragma once

#include <vfm/virt/engine.hpp>

#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/instruction.hpp>
#include <vfm/riscv/pmp.hpp>
#include <vfm/riscv/trigger.hpp>
#include <vfm/virt/csr_rules.hpp>
#include <vfm/virt/hart.hpp>
#include <vfm/virt/triggers.hpp>

namespace vfm::virt {

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::emulate_csr(const riscv::system_instruction& si) noexcept {
    if (!have_registers(si.rd, riscv::is_immediate_csr_op(si.op) ? 0 : si.rs1)) return false;
    const bool write = riscv::writes_csr(si);
    if (write && riscv::is_read_only(si.csr)) return false;
    const u64 operand = riscv::is_immediate_csr_op(si.op) ? u64{si.rs1} : reg(si.rs1);
    csr_op_kind kind = csr_op_kind::clear;
    if (si.op == riscv::system_op::csrrw || si.op == riscv::system_op::csrrwi) kind = csr_op_kind::write;
    if (si.op == riscv::system_op::csrrs || si.op == riscv::system_op::csrrsi) kind = csr_op_kind::set;
    u64 old_value = 0;
    csr_effect effect = csr_effect::none;
    if (!csr_access(si.csr, kind, operand, write, old_value, effect)) return false;
    set_reg(si.rd, old_value);
    m_h.pc += 4;
    // Side effects take place after the instruction, so an interrupt it
    // enables is taken with mepc at the next instruction.
    if (effect == csr_effect::pmp || effect == csr_effect::interrupts_and_pmp) apply_pmp_view(firmware_view());
    if (effect == csr_effect::interrupts || effect == csr_effect::interrupts_and_pmp) refresh_interrupts();
    return true;
}

/// Performs one CSR access of the firmware against the virtual hart. Returns
/// false where the hardware raises illegal instruction (an absent CSR).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::csr_access(u16 number, csr_op_kind kind, u64 operand, bool write,
                                                                u64& old_value, csr_effect& effect) noexcept {
    auto virtual_rw = [&](u64& slot, u64 writable) {
        old_value = slot;
        if (write) slot = apply_csr_op(kind, old_value, operand) & writable;
    };
    switch (static_cast<csr>(number)) {
        case csr::mstatus: {
            const u64 physical = m_hw.template read<csr::mstatus>();
            old_value = rules::compose_mstatus(physical, m_h.csr.mstatus);
            if (write) effect = write_mstatus(apply_csr_op(kind, old_value, operand), physical);
            return true;
        }
        case csr::misa: old_value = m_h.features.misa; return true;  // read-only here: writes are ignored (WARL)
        case csr::medeleg:
            if (!m_h.features.has_s) return false;  // without S-mode there is nothing to delegate to (3.1.8)
            virtual_rw(m_h.csr.medeleg, rules::medeleg_writable(m_h.features));
            return true;
        case csr::mideleg:
            if (!m_h.features.has_s) return false;
            old_value = m_h.csr.mideleg | m_h.features.mideleg_forced;
            if (write) {
                m_h.csr.mideleg = apply_csr_op(kind, old_value, operand) & rules::mideleg_writable(m_h.features);
                effect = csr_effect::interrupts;
            }
            return true;
        case csr::mie:
            virtual_rw(m_h.csr.mie, m_h.features.mie_writable);
            if (write) effect = csr_effect::interrupts;
            return true;
        case csr::mip: return mip_access(kind, operand & m_h.features.mip_writable, write, old_value, effect);
        case csr::mtvec:
            old_value = m_h.csr.mtvec;
            if (write) {
                m_h.csr.mtvec = rules::write_mtvec(old_value, apply_csr_op(kind, old_value, operand));
                check_trap_vector();
            }
            return true;
        case csr::mcounteren:
            if (!m_h.features.has_u) return false;
            old_value = m_h.csr.mcounteren;
            if (write)
                m_h.csr.mcounteren = rules::write_mcounteren(apply_csr_op(kind, old_value, operand), m_h.features);
            return true;
        case csr::mscratch: virtual_rw(m_h.csr.mscratch, ~u64{0}); return true;
        case csr::mepc:
            old_value = m_h.csr.mepc;
            if (write) m_h.csr.mepc = rules::write_mepc(apply_csr_op(kind, old_value, operand), m_h.features);
            return true;
        case csr::mcause: virtual_rw(m_h.csr.mcause, ~u64{0}); return true;
        case csr::mtval: virtual_rw(m_h.csr.mtval, ~u64{0}); return true;
        case csr::mtval2:
            if (!m_h.features.has_mtval2) return false;
            virtual_rw(m_h.csr.mtval2, ~u64{0});
            return true;
        case csr::mtinst:
            if (!m_h.features.has_mtval2) return false;
            virtual_rw(m_h.csr.mtinst, ~u64{0});
            return true;
        case csr::menvcfg:
            if (!m_h.features.has_menvcfg) return false;
            virtual_rw(m_h.csr.menvcfg, m_h.features.menvcfg_writable);
            if (write) {
                m_hw.template write<csr::menvcfg>(m_h.csr.menvcfg);
                effect = csr_effect::interrupts;  // STCE decides who drives STIP
            }
            return true;
        case csr::mvendorid: old_value = m_h.features.mvendorid; return true;
        case csr::marchid: old_value = m_h.features.marchid; return true;
        case csr::mimpid: old_value = m_h.features.mimpid; return true;
        case csr::mhartid: old_value = m_h.hartid; return true;
        case csr::mconfigptr:
            if (!m_h.features.has_mconfigptr) return false;
            old_value = m_h.features.mconfigptr;
            return true;

        // mcycle and minstret: the hardware's, less the monitor's own work
        // (virtual_counters); the OS reads the hardware's.
        case csr::cycle: return counter_access(0, csr_op_kind::set, 0, false, old_value);
        case csr::instret: return counter_access(1, csr_op_kind::set, 0, false, old_value);
        // `time` is the hart's own or nothing: a hart without it (QEMU
        // sifive_u and spike, boards whose timer is only memory-mapped)
        // raises illegal instruction for it in M-mode too (priv. 2.1),
        // and firmwares probe for it that way (docs/boards.md).
        case csr::time:
            if (!m_h.features.has_time_csr) return false;
            return physical_read(csr::time, old_value);
        case csr::mcycle: return counter_access(0, kind, operand, write, old_value);
        case csr::minstret: return counter_access(1, kind, operand, write, old_value);
        case csr::mcountinhibit: return physical_access(number, kind, operand, write, old_value);

        // Supervisor CSRs live in the physical registers, except satp (Bare while
        // the firmware runs) and the views of mie/mip (sie, sip).
        case csr::sstatus: return fast_physical<csr::sstatus>(kind, operand, write, old_value);
        case csr::stvec: return fast_physical<csr::stvec>(kind, operand, write, old_value);
        case csr::sscratch: return fast_physical<csr::sscratch>(kind, operand, write, old_value);
        case csr::sepc: return fast_physical<csr::sepc>(kind, operand, write, old_value);
        case csr::scause: return fast_physical<csr::scause>(kind, operand, write, old_value);
        case csr::stval: return fast_physical<csr::stval>(kind, operand, write, old_value);
        case csr::scounteren: return fast_physical<csr::scounteren>(kind, operand, write, old_value);
        case csr::senvcfg:
            if (!m_h.features.has_senvcfg) return false;
            return physical_access(number, kind, operand, write, old_value);
        case csr::stimecmp:
        case csr::scountovf: return m_h.features.has_s && physical_access(number, kind, operand, write, old_value);
        case csr::sie: {
            if (!m_h.features.has_s) return false;
            const u64 view = supervisor_interrupt_view();
            old_value = m_h.csr.mie & view;
            if (write) {
                const u64 value = apply_csr_op(kind, old_value, operand) & view & m_h.features.mie_writable;
                m_h.csr.mie = (m_h.csr.mie & ~view) | value;
                effect = csr_effect::interrupts;
            }
            return true;
        }
        case csr::sip: {
            if (!m_h.features.has_s) return false;
            const u64 view = supervisor_interrupt_view();
            // Only SSIP (and LCOFIP) are writable through sip (priv. spec 4.1.3): a
            // csrrw becomes a set and a clear of those bits, leaving the rest of mip.
            const u64 writable = view & (riscv::mip::ssip::mask | riscv::mip::lcofip::mask) & m_h.features.mip_writable;
            u64 full = 0;
            if (write && kind == csr_op_kind::write) {
                if (!mip_access(csr_op_kind::set, operand & writable, true, full, effect)) return false;
                u64 ignored = 0;
                (void)mip_access(csr_op_kind::clear, ~operand & writable, true, ignored, effect);
            } else if (!mip_access(kind, operand & writable, write, full, effect)) {
                return false;
            }
            old_value = full & view;
            return true;
        }
        case csr::satp: {
            if (!m_h.features.has_s) return false;
            old_value = m_h.csr.satp;
            if (write) m_h.csr.satp = legalize_satp(apply_csr_op(kind, old_value, operand));
            return true;
        }

        // Hypervisor CSRs: physical, except the views of mie (hie, vsie).
        case csr::hie: {
            if (!m_h.features.has_h) return false;
            constexpr u64 view = riscv::mip::virtual_supervisor | riscv::mip::sgeip::mask;
            old_value = m_h.csr.mie & view;
            if (write) {
                m_h.csr.mie =
                    (m_h.csr.mie & ~view) | (apply_csr_op(kind, old_value, operand) & view & m_h.features.mie_writable);
                effect = csr_effect::interrupts;
            }
            return true;
        }
        case csr::vsie: {
            if (!m_h.features.has_h) return false;
            // vsie bit i-1 aliases hie bit i for the VS interrupts delegated by hideleg (H ext. 9.2.3).
            const u64 hideleg = m_hw.csr_read(csr::hideleg).value & riscv::mip::virtual_supervisor;
            old_value = (m_h.csr.mie & hideleg) >> 1;
            if (write) {
                const u64 value = (apply_csr_op(kind, old_value, operand) << 1) & hideleg & m_h.features.mie_writable;
                m_h.csr.mie = (m_h.csr.mie & ~hideleg) | value;
                effect = csr_effect::interrupts;
            }
            return true;
        }

        // Sdtrig (virt/triggers.hpp): the hardware's, but tdata1's privilege bits.
        case csr::tselect: {
            if (m_h.features.trigger_count == 0) return false;
            old_value = m_hw.csr_read(csr::tselect).value;
            const u64 value = apply_csr_op(kind, old_value, operand);
            // WARL (5.7.1): a trigger the firmware cannot have keeps the old value.
            if (write && value < m_h.features.trigger_count) (void)m_hw.csr_write(csr::tselect, value);
            return true;
        }
        case csr::tdata1: return m_h.features.trigger_count != 0 && tdata1_access(kind, operand, write, old_value);
        case csr::tdata2:
        case csr::tdata3:
            return m_h.features.trigger_count != 0 && physical_access(number, kind, operand, write, old_value);
        case csr::tinfo: {
            if (m_h.features.trigger_count == 0 || !physical_access(number, kind, operand, write, old_value))
                return false;
            // Only the types the firmware may program (containable_type).
            old_value &= ~(riscv::trigger::tinfo_info::mask & ~containable_types);
            return true;
        }
        default: break;
    }
    if (number >= riscv::pmpcfg_number(0) && number <= riscv::pmpaddr_number(63)) {
        const bool ok = pmp_access(number, kind, operand, write, old_value);
        if (ok && write) effect = csr_effect::pmp;
        return ok;
    }
    // mhpmcounter3..31, mhpmevent3..31: physical, as the hart has them.
    if ((number >= 0xB03 && number <= 0xB1F) || (number >= 0x323 && number <= 0x33F))
        return physical_access(number, kind, operand, write, old_value);
    // hpmcounter3..31 read mhpmcounter3..31 (M-mode ignores mcounteren).
    if (number >= 0xC03 && number <= 0xC1F) return physical_read(static_cast<csr>(number - 0xC00 + 0xB00), old_value);
    // Hypervisor (0x6xx, hgeip) and virtual-supervisor (0x2xx) CSRs: physical.
    if (m_h.features.has_h && ((number >= 0x600 && number <= 0x6FF) || (number >= 0x200 && number <= 0x2FF) ||
                               number == static_cast<u16>(csr::hgeip)))
        return physical_access(number, kind, operand, write, old_value);
    return false;  // tcontrol, mcontext, state-enable, vector, float, seed, custom: absent in vM-mode
}

/// The interrupts sie/sip show: the delegated S-level ones (priv. spec 4.1.3).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] inline u64 engine<Arch, Platform, Hooks, MaxHarts>::supervisor_interrupt_view() const noexcept {
    return m_h.csr.mideleg & (riscv::mip::supervisor | riscv::mip::lcofip::mask);
}

/// mstatus write: the virtual fields are legalised and kept; the supervisor
/// fields go to the physical mstatus (the hardware legalises them).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline auto engine<Arch, Platform, Hooks, MaxHarts>::write_mstatus(u64 value, u64 physical) noexcept -> csr_effect {
    namespace ms = riscv::mstatus;
    constexpr u64 physical_writable = mstatus_physical_writable;
    const u64 before = m_h.csr.mstatus;
    m_h.csr.mstatus = rules::write_mstatus(value, m_h.features);
    if (((value ^ physical) & physical_writable) != 0)
        m_hw.template write<csr::mstatus>((physical & ~physical_writable) | (value & physical_writable));
    const u64 changed = before ^ m_h.csr.mstatus;
    const bool interrupts = (changed & ms::mie::mask) != 0;
    const bool pmp = (changed & (ms::mprv::mask | ms::mpp::mask)) != 0;
    if (interrupts && pmp) return csr_effect::interrupts_and_pmp;
    if (interrupts) return csr_effect::interrupts;
    return pmp ? csr_effect::pmp : csr_effect::none;
}

/// mip: the bits M-mode may write are the physical ones; csrrs/csrrc act on
/// the physical register with the same instruction, so the software-writable
/// SEIP bit stays separate from the interrupt controller's line (priv. spec 3.1.9).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::mip_access(csr_op_kind kind, u64 operand, bool write,
                                                                u64& old_value, csr_effect& effect) noexcept {
    u64 physical = 0;
    if (!write) {
        physical = m_hw.template read<csr::mip>();
    } else {
        switch (kind) {
            case csr_op_kind::write: physical = m_hw.template swap<csr::mip>(operand); break;
            case csr_op_kind::set: physical = m_hw.template set<csr::mip>(operand); break;
            case csr_op_kind::clear: physical = m_hw.template clear<csr::mip>(operand); break;
        }
        effect = csr_effect::interrupts;
    }
    old_value = virtual_mip_from(physical);
    return true;
}

/// satp is WARL: a write with an unsupported MODE has no effect (priv. spec
/// 4.1.11). The physical satp legalises; it is Bare again before the firmware runs.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] inline u64 engine<Arch, Platform, Hooks, MaxHarts>::legalize_satp(u64 value) noexcept {
    m_hw.template write<csr::satp>(value);
    const u64 legal = m_hw.template read<csr::satp>();
    m_hw.template write<csr::satp>(0);
    if (riscv::satp::mode::extract(legal) != riscv::satp::mode::extract(value)) return m_h.csr.satp;
    return legal;
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
template <riscv::csr N>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::fast_physical(csr_op_kind kind, u64 operand, bool write,
                                                                   u64& old_value) noexcept {
    if (!m_h.features.has_s) return false;
    if (!write) {
        old_value = m_hw.template read<N>();
        return true;
    }
    switch (kind) {
        case csr_op_kind::write: old_value = m_hw.template swap<N>(operand); break;
        case csr_op_kind::set: old_value = m_hw.template set<N>(operand); break;
        case csr_op_kind::clear: old_value = m_hw.template clear<N>(operand); break;
    }
    return true;
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::physical_read(csr number, u64& old_value) noexcept {
    const csr_result result = m_hw.csr_read(number);
    old_value = result.value;
    return result.ok;
}

/// A guarded physical access: where the hart lacks the CSR, the firmware gets
/// the illegal-instruction exception M-mode software would get.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::physical_access(u16 number, csr_op_kind kind, u64 operand,
                                                                     bool write, u64& old_value) noexcept {
    const csr n = static_cast<csr>(number);
    csr_result result;
    if (!write) {
        result = m_hw.csr_read(n);
    } else {
        switch (kind) {
            case csr_op_kind::write: result = m_hw.csr_swap(n, operand); break;
            case csr_op_kind::set: result = m_hw.csr_set(n, operand); break;
            case csr_op_kind::clear: result = m_hw.csr_clear(n, operand); break;
        }
    }
    old_value = result.value;
    return result.ok;
}

/// tdata1 (Debug spec 5.7.2): the hardware's value with the firmware's
/// privilege bits. A write of a containable type (containable_type) goes
/// to the hardware contained (contained_tdata1) with the bits for the
/// firmware's world, and its privilege bits are kept when the hardware
/// took the type; a write of another type is ignored (WARL), as QEMU 7.2
/// ignores the types it lacks: vfm could not keep it from firing in M-mode.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::tdata1_access(csr_op_kind kind, u64 operand, bool write,
                                                                   u64& old_value) noexcept {
    namespace tr = riscv::trigger;
    const u64 index = m_hw.csr_read(csr::tselect).value;
    const csr_result physical = m_hw.csr_read(csr::tdata1);
    if (!physical.ok) return false;
    const bool ours = index < m_h.features.trigger_count;
    old_value = tr::with_modes(physical.value, ours ? m_h.trigger_modes[index] : 0);
    if (!write || !ours) return true;
    const u64 value = apply_csr_op(kind, old_value, operand);
    const u64 type = tr::tdata1::type::extract(value);
    if (!containable_type(type)) return true;
    const u8 modes = static_cast<u8>(tr::modes_of(value) & m_h.features.trigger_modes[type]);
    (void)m_hw.csr_write(csr::tdata1,
                         tr::with_modes(contained_tdata1(value), physical_trigger_modes(modes, world::firmware)));
    // The type the hardware now holds: the one written (it took the write),
    // the old one (it ignored it), or another (e.g. 15: disabled, no bits).
    const u64 now = tr::tdata1::type::extract(m_hw.csr_read(csr::tdata1).value);
    if (now == type)
        m_h.trigger_modes[index] = modes;
    else if (now != tr::tdata1::type::extract(physical.value))
        m_h.trigger_modes[index] = 0;
    m_h.triggers_active = any_trigger_modes(m_h);
    return true;
}

/// The firmware's access to mcycle (0) or minstret (1). The first one
/// starts the accounting (it needs every register: the counting path is
/// tier 3's); a read gives the value at the trap, less the hidden work; a
/// write reaches the hardware counter too (the OS reads it, as natively).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::counter_access(unsigned i, csr_op_kind kind, u64 operand,
                                                                    bool write, u64& old_value) noexcept {
    virtual_counters& c = m_h.counters;
    constexpr csr hardware[2] = {csr::mcycle, csr::minstret};
    if (c.counting == 0) {
        if (!have_all_registers()) return false;
        // The first access (or one that did not take the counting path):
        // from here on the monitor's work is accounted.
        for (unsigned k = 0; k < 2; ++k) c.at_trap[k] = m_hw.csr_read(hardware[k]).value;
        c.counting = 1;
        c.retired = 1;  // this instruction (handle_trap counts only from the next trap on)
        if (!c.armed) {
            c.armed = true;
            announce_world();
        }
    }
    old_value = c.at_trap[i] - c.hidden[i];
    if (!write) return true;
    const u64 value = apply_csr_op(kind, old_value, operand);
    if (!m_hw.csr_swap(hardware[i], value).ok) {
        c.retired = 0;  // illegal instruction: it does not complete
        return false;
    }
    // The firmware reads `value` at its next instruction: the write wins
    // over the instruction's own increment (priv. spec 3.1.10). at_trap
    // one below the counter now: the way back counts this instruction
    // as retired (subtracted) and never takes the counter as stopped.
    const u64 now = m_hw.csr_read(hardware[i]).value;
    c.at_trap[i] = now - 1;
    c.hidden[i] = now - value;
    return true;
}

}  // namespace vfm::virt
