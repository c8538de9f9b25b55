// SPDX-License-Identifier: MIT
/// The accesses the monitor performs for a guest on the guarded path
/// (virt/guest_memory.hpp): the translation regimes, the instructions it reads
/// back, the firmware's loads and stores under virtual MPRV, HLV/HSV, and the
/// LR/SC loops it runs.
///
/// Part of the engine (virt/engine.hpp, which includes it at its end):
/// definitions of `engine` members declared there.
#pragma once

#include <vfm/virt/engine.hpp>

#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/instruction.hpp>
#include <vfm/virt/code_window.hpp>
#include <vfm/virt/constrained_loop.hpp>
#include <vfm/virt/data_access.hpp>
#include <vfm/virt/guest_memory.hpp>

namespace vfm::virt {

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] inline translation_regime engine<Arch, Platform, Hooks, MaxHarts>::os_regime() noexcept {
    translation_regime r = common_regime();
    r.privilege = m_h.os_mode;
    if (!m_h.features.has_s) return r;  // an M/U hart: the OS is U-mode, untranslated
    r.virtualized = m_h.os_virtualized;
    add_translation_csrs(r, /*satp_in_hardware=*/m_h.world == world::os);
    return r;
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] inline translation_regime engine<Arch, Platform, Hooks, MaxHarts>::mprv_regime() noexcept {
    translation_regime r = common_regime();
    r.privilege =
        riscv::mstatus::mpp::extract(m_h.csr.mstatus) == 1 ? riscv::privilege::supervisor : riscv::privilege::user;
    r.virtualized = m_h.features.has_h && riscv::mstatus::mpv::test(m_h.csr.mstatus);
    if (!m_h.features.has_s) return r;
    add_translation_csrs(r, /*satp_in_hardware=*/false);
    return r;
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::add_translation_csrs(translation_regime& r,
                                                                          bool satp_in_hardware) noexcept {
    namespace ms = riscv::mstatus;
    const u64 status = m_hw.template read<csr::mstatus>();
    if (r.virtualized) {
        const u64 vsstatus = m_hw.csr_read(csr::vsstatus).value;
        r.satp = m_hw.csr_read(csr::vsatp).value;
        r.hgatp = m_hw.csr_read(csr::hgatp).value;
        r.sum = ms::sum::test(vsstatus);
        r.mxr = ms::mxr::test(vsstatus) || ms::mxr::test(status);
        r.mxr_g = ms::mxr::test(status);
        r.pbmt = riscv::henvcfg::pbmte::test(m_hw.csr_read(csr::henvcfg).value);
    } else {
        r.satp = satp_in_hardware ? m_hw.template read<csr::satp>() : m_h.csr.satp;
        r.sum = ms::sum::test(status);
        r.mxr = ms::mxr::test(status);
    }
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::fetch_os_instruction(u64 pc, u32& bits) noexcept {
    const translation_regime regime = os_regime();
    guest_fault fault;
    return with_os_memory([&](memory_type& memory) { return memory.read_instruction(regime, pc, bits, fault); });
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::read_firmware_instruction(u64 pc, u32& bits) noexcept {
    // The common case, RAM outside the monitor's memory, read in place;
    // anything else (ROM, flash, an edge of RAM) on the whole guarded path.
    if (firmware_instruction_in_ram(m_hw, m_h, pc, bits)) return true;
    translation_regime regime = common_regime();
    regime.privilege = riscv::privilege::machine;
    memory_type memory(m_hw, board().layout(), m_h, memory_type::side::firmware, Hooks::intercepts_shutdown);
    guest_fault fault;
    return memory.read_instruction(regime, pc, bits, fault);
}

/// What every regime of this hart shares: how it updates A/D, Svnapot,
/// and Svpbmt as the virtual menvcfg enables it for the first stage.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] inline translation_regime engine<Arch, Platform, Hooks, MaxHarts>::common_regime() const noexcept {
    translation_regime r;
    r.update_ad = m_h.features.updates_accessed_dirty;
    r.napot = m_h.features.has_svnapot;
    r.pbmt = riscv::menvcfg::pbmte::test(m_h.csr.menvcfg);
    r.pbmt_g = r.pbmt;
    return r;
}

/// HLV/HLVX/HSV from vM-mode (H ext. 9.3.1): an access with VS- or
/// VU-mode's two-stage translation (hstatus.SPVP picks which), made on the
/// guarded path; HLVX needs execute permission instead of read permission.
/// The instruction comes from memory (QEMU 7.2 leaves a stale mtval here).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::emulate_hypervisor_access(
    u32 bits, const riscv::system_instruction& si) noexcept {
    const bool load = si.op == riscv::system_op::hypervisor_load;
    if (!have_registers(si.rs1, load ? si.rd : si.rs2)) return false;
    const unsigned width = riscv::hypervisor_access_width(bits);
    const bool hlvx = load && si.rs2 == 3;
    translation_regime regime = mprv_regime();
    regime.privilege = riscv::hstatus::spvp::test(m_hw.csr_read(csr::hstatus).value) ? riscv::privilege::supervisor
                                                                                     : riscv::privilege::user;
    regime.virtualized = true;
    regime.execute_for_read = hlvx;
    add_translation_csrs(regime, /*satp_in_hardware=*/false);
    const u64 address = reg(si.rs1);
    const u64 value = load ? 0 : reg(si.rs2);
    const guest_access out = with_firmware_memory([&](memory_type& memory) {
        return load ? memory.load(regime, address, width, reach::mmio)
                    : memory.store(regime, address, width, value, reach::mmio);
    });
    if (!out.done()) {
        // An emulated device behind a guest address: as natively, an access fault.
        const guest_fault f =
            out.result == guest_access::status::fault
                ? out.fault
                : guest_fault{access_fault_cause(load ? access_kind::load : access_kind::store), address, 0, 0, true};
        deliver_exception(f.cause, f.tval, f.tval2, f.tinst, f.gva);
        return true;
    }
    // HLV.B/H/W sign-extend; HLV.BU/HU/WU, HLVX zero-extend (funct7 bit 0 is U: rs2 = 1 or 3).
    if (load) set_reg(si.rd, (si.rs2 & 1) == 0 ? bits::sign_extend(out.value, 8 * width) : out.value);
    m_h.pc += 4;
    return true;
}

/// Whether the hart has the f registers an FP access of `width` uses.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] inline bool engine<Arch, Platform, Hooks, MaxHarts>::has_fp(unsigned width) const noexcept {
    return (m_h.features.misa & riscv::misa::extension(width == 8 ? 'D' : 'F')) != 0;
}

/// A load or store of the firmware that faulted: with virtual MPRV set, or
/// to a device the monitor emulates (the CLINT, an intercepted shutdown
/// device). False when the fault is real and must be delivered.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::emulate_firmware_memory_access() noexcept {
    if (m_h.physical_view == pmp_view::firmware_mprv) return emulate_mprv_access();
    return emulate_device_access();
}

/// The guest's data access at `pc` (the firmware's or the OS's), decoded,
/// with the registers it uses in the context. False to deliver the fault.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::decode_guest_access(bool from_os, data_access& op) noexcept {
    u32 bits = 0;
    const bool read = from_os ? fetch_os_instruction(m_h.pc, bits) : read_firmware_instruction(m_h.pc, bits);
    if (!read || !decode_data_access(bits, op)) return false;
    // An FP load or store with mstatus.FS = Off is an illegal instruction
    // (priv. spec 3.1.6.6), never an access fault: what is at pc now is not
    // what trapped (another hart rewrote it). The f registers are off
    // limits to the monitor too then (M-mode traps on them): deliver the fault.
    if (op.is_float && (!has_fp(op.width) || riscv::mstatus::fs::extract(m_hw.template read<csr::mstatus>()) == 0))
        return false;
    // An LR's loop body runs in the monitor (run_to_store_conditional): any register.
    if (op.op == data_access::kind::load_reserved && !have_all_registers()) return false;
    return have_registers(op.base_reg, op.is_float ? 0 : op.data_reg, op.result_reg);
}

/// After an LR the monitor performed: the loop's body up to its SC, which
/// is then emulated too (virt/constrained_loop.hpp); the run stops, the
/// firmware going on natively, at anything a constrained loop may not hold.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::run_to_store_conditional() noexcept {
    for (unsigned n = 0; n < 16; ++n) {  // a constrained loop has at most 16 instructions (unpriv. 8.3)
        u32 bits = 0;
        if (!read_firmware_instruction(m_h.pc, bits)) return;
        const constrained_step step = step_constrained(bits, m_h.pc, m_h);
        switch (step.result) {
            case constrained_step::kind::executed:
                m_h.pc = step.next;
                ++m_h.counters.retired;  // run here for the firmware, as if by the hart
                break;
            case constrained_step::kind::store_conditional:
                ++m_h.counters.retired;
                (void)emulate_firmware_memory_access();
                return;
            case constrained_step::kind::stop: return;
        }
    }
}

/// The value a register gets from `op` (a load's, an AMO's old value, LR's,
/// SC's 0 or 1): sign-extended where the instruction does, into x[rd] or f[rd].
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::write_result(const data_access& op, u64 value) noexcept {
    switch (op.op) {
        case data_access::kind::store: return;
        case data_access::kind::store_conditional: set_reg(op.result_reg, value); return;
        case data_access::kind::load:
            if (op.is_float) {
                m_hw.fp_write(op.data_reg, op.width, value);
                return;
            }
            set_reg(op.data_reg, op.sign_extend ? bits::sign_extend(value, 8 * op.width) : value);
            return;
        case data_access::kind::amo:
        case data_access::kind::load_reserved:
            set_reg(op.result_reg, op.width == 4 ? bits::sign_extend(value, 32) : value);
            return;
    }
}

/// The value `op` stores (or operates with): x[rs2] or f[rs2].
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] inline u64 engine<Arch, Platform, Hooks, MaxHarts>::operand_of(const data_access& op) noexcept {
    return op.is_float ? m_hw.fp_read(op.data_reg, op.width) : reg(op.data_reg);
}

/// A load, store, AMO, LR or SC of the firmware while virtual MPRV is set
/// (MPP below M): performed on the guarded path with MPP's privilege (and
/// MPV), translation and the OS's PMP view, under the monitor's own
/// entries (priv. spec 3.1.6.3). AMOs stay atomic on RAM; LR takes a
/// reservation the emulated SC honours by compare-and-swap (docs/virtual-hart.md).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::emulate_mprv_access() noexcept {
    data_access op;
    if (!decode_guest_access(false, op)) return false;
    const u64 address = reg(op.base_reg) + static_cast<u64>(op.offset);
    const translation_regime regime = mprv_regime();
    const u64 operand =
        op.op == data_access::kind::load || op.op == data_access::kind::load_reserved ? 0 : operand_of(op);
    constexpr u8 reachable = reach::mmio | reach::devices;
    bool sc_succeeded = false;
    const guest_access out = with_firmware_memory([&](memory_type& memory) -> guest_access {
        switch (op.op) {
            case data_access::kind::load: return memory.load(regime, address, op.width, reachable);
            case data_access::kind::store: return memory.store(regime, address, op.width, operand, reachable);
            case data_access::kind::amo: return memory.amo(regime, address, op.width, op.amo, operand, reachable);
            case data_access::kind::load_reserved: return memory.load_reserved(regime, address, op.width);
            case data_access::kind::store_conditional: {
                // Translated and guarded like a store in every case; it stores only
                // while the reservation holds and memory still has its value.
                physical_class klass = physical_class::refused;
                guest_access result;
                const guest_translation t =
                    (address & (op.width - 1)) != 0
                        ? guest_translation{}
                        : memory.translate(regime, address, op.width, access_kind::store, reach::ram, klass);
                if ((address & (op.width - 1)) != 0 || !t.ok) {
                    return memory.compare_exchange(regime, address, op.width, 0, 0);  // the same fault
                }
                if (m_h.reservation_width != op.width || m_h.reservation_address != t.physical) {
                    result.result = guest_access::status::done;
                    return result;
                }
                result = memory.compare_exchange(regime, address, op.width, m_h.reservation_value, operand);
                const u64 mask = op.width == 8 ? ~u64{0} : 0xffff'ffffu;
                sc_succeeded = result.done() && (result.value & mask) == (m_h.reservation_value & mask);
                return result;
            }
        }
        return guest_access{};
    });
    if (op.op == data_access::kind::store_conditional) m_h.reservation_width = 0;
    switch (out.result) {
        case guest_access::status::fault:
            deliver_exception(out.fault.cause, out.fault.tval, out.fault.tval2, out.fault.tinst, out.fault.gva);
            return true;
        case guest_access::status::device: return finish_device_access(op, out.physical, regime.virtualized, address);
        case guest_access::status::done: break;
    }
    if (op.op == data_access::kind::load_reserved) {
        m_h.reservation_address = out.physical;
        m_h.reservation_value = out.value;
        m_h.reservation_width = op.width;
    }
    write_result(op, op.op == data_access::kind::store_conditional ? (sc_succeeded ? 0 : 1) : out.value);
    m_h.pc += op.length;
    if (op.op == data_access::kind::load_reserved) run_to_store_conditional();
    return true;
}

}  // namespace vfm::virt
