// SPDX-License-Identifier: MIT
/// Traps from the OS: reading the trap, cache-mode PMP misses, emulated devices,
/// the policies, else a world switch into the firmware; and redirect_to_os, the
/// OS's own trap delivery the policies use.
///
/// Part of the engine (virt/engine.hpp, which includes it at its end):
/// definitions of `engine` members declared there.
#pragma once

#include <vfm/virt/engine.hpp>

#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr_fields.hpp>

namespace vfm::virt {

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::redirect_to_os(u64 cause, u64 tval, u64 tval2, bool gva) noexcept {
    namespace ms = riscv::mstatus;
    namespace hs = riscv::hstatus;
    if (!m_h.features.has_s || m_h.world != world::os) return false;
    const u64 from_supervisor = m_h.os_mode == riscv::privilege::supervisor ? 1 : 0;
    const auto entered = [&](u64 status) {
        status = ms::spp::insert(status, from_supervisor);
        status = ms::spie::insert(status, ms::sie::extract(status));
        return ms::sie::insert(status, 0);
    };
    if (m_h.os_virtualized && cause < 64 && ((m_hw.csr_read(csr::hedeleg).value >> cause) & 1) != 0) {
        (void)m_hw.csr_write(csr::vscause, cause);
        (void)m_hw.csr_write(csr::vsepc, m_h.pc);
        (void)m_hw.csr_write(csr::vstval, tval);
        (void)m_hw.csr_write(csr::vsstatus, entered(m_hw.csr_read(csr::vsstatus).value));
        m_h.pc = m_hw.csr_read(csr::vstvec).value & ~u64{3};  // exceptions: the base (priv. 4.1.2)
        m_hw.template set<csr::mstatus>(ms::mpp::make(1));    // VS-mode: MPV stays 1
        m_h.os_mode = riscv::privilege::supervisor;
        return true;
    }
    m_hw.template write<csr::scause>(cause);
    m_hw.template write<csr::sepc>(m_h.pc);
    m_hw.template write<csr::stval>(tval);
    m_hw.template write<csr::sstatus>(entered(m_hw.template read<csr::sstatus>()));
    if (m_h.features.has_h) {
        u64 status = m_hw.csr_read(csr::hstatus).value;
        status = hs::spv::insert(status, m_h.os_virtualized ? 1 : 0);
        if (m_h.os_virtualized) status = hs::spvp::insert(status, from_supervisor);
        status = hs::gva::insert(status, gva ? 1 : 0);
        (void)m_hw.csr_write(csr::hstatus, status);
        (void)m_hw.csr_write(csr::htval, tval2);
        (void)m_hw.csr_write(csr::htinst, 0);
        if (m_h.os_virtualized) (void)m_hw.csr_clear(csr::mstatus, ms::mpv::mask);
    }
    m_h.pc = m_hw.template read<csr::stvec>() & ~u64{3};
    m_hw.template set<csr::mstatus>(ms::mpp::make(1));  // continue in HS-mode (MPP was S or U)
    m_h.os_mode = riscv::privilege::supervisor;
    m_h.os_virtualized = false;
    return true;
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] constexpr bool engine<Arch, Platform, Hooks, MaxHarts>::is_ecall(u64 cause) noexcept {
    return cause == riscv::cause_value(riscv::exception::ecall_from_u) ||
           cause == riscv::cause_value(riscv::exception::ecall_from_s) ||
           cause == riscv::cause_value(riscv::exception::ecall_from_vs);
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[gnu::always_inline]] inline void engine<Arch, Platform, Hooks, MaxHarts>::os_trap(u64 cause) noexcept {
    namespace ms = riscv::mstatus;
    const u64 status = m_hw.template read<csr::mstatus>();
    m_h.os_mode = ms::mpp::extract(status) == 1 ? riscv::privilege::supervisor : riscv::privilege::user;
    m_h.os_virtualized = m_h.features.has_h && ms::mpv::test(status);
    sync_os_interrupt_enables();
    if (riscv::mcause::interrupt::test(cause)) {
        physical_interrupt(riscv::mcause::code::extract(cause));
        return;
    }
    m_trap.tval = 0;
    m_trap.tval2 = 0;
    m_trap.tinst = 0;
    m_trap.gva = false;
    // An ecall writes zero to mtval, mtval2 and mtinst and clears GVA
    // (priv. spec 3.1.16, H ext. 9.4.6-9.4.7, table of mtinst values).
    if (!is_ecall(cause)) {
        m_trap.tval = m_hw.template read<csr::mtval>();
        if (m_h.features.has_mtval2) {
            m_trap.tval2 = m_hw.template read<csr::mtval2>();
            m_trap.tinst = m_hw.template read<csr::mtinst>();
        }
        m_trap.gva = m_h.features.has_h && ms::gva::test(status);
    }
    // Cache mode: the monitor sees the OS's access faults first; a miss is
    // resolved and the access runs again, a real fault the firmware
    // delegates goes to the OS as the hart would have sent it.
    const bool withheld = cause < 64 && ((m_h.os_medeleg_withheld >> cause) & 1) != 0;
    if (withheld) [[unlikely]] {
        const bool again = m_h.pc == m_h.pmp_last_miss_pc;
        if (again && faulting_access(cause) != access_kind::fetch && perform_os_access_after_misses(cause)) {
            m_h.pmp_last_miss_pc = ~u64{0};
            return;
        }
        if (m_missing_registers) return;
        if (resolve_os_pmp_fault(cause)) {
            m_h.pmp_last_miss_pc = m_h.pc;
            return;
        }
        m_h.pmp_last_miss_pc = ~u64{0};
    }
    if ((cause == riscv::cause_value(riscv::exception::load_access_fault) ||
         cause == riscv::cause_value(riscv::exception::store_access_fault)) &&
        (emulate_device_access() || m_missing_registers))
        return;
    if (withheld && ((m_h.csr.medeleg >> cause) & 1) != 0 &&
        redirect_to_os(cause, m_trap.tval, m_trap.tval2, m_trap.gva))
        return;
    if (m_hooks.on_os_trap(*this, cause) || m_missing_registers) return;
    deliver_exception(cause, m_trap.tval, m_trap.tval2, m_trap.tinst, m_trap.gva);
}

}  // namespace vfm::virt
