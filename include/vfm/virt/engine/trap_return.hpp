// SPDX-License-Identifier: MIT
/// The firmware's trap returns (mret, sret) and wfi.
///
/// Part of the engine (virt/engine.hpp, which includes it at its end):
/// definitions of `engine` members declared there.
#pragma once

#include <vfm/virt/engine.hpp>

#include <vfm/detail/utility.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/virt/csr_rules.hpp>
#include <vfm/virt/physical_timer.hpp>

namespace vfm::virt {

/// mret (priv. spec 3.3.2): to MPP, with MIE = MPIE, MPIE = 1, MPP = least
/// privileged mode, MPRV = 0 when leaving M, V = MPV (H ext.).
/// With `ToOs`, the caller knows that MPP is below M and that no interrupt
/// of the firmware is takeable once the OS runs (handle_firmware_mret).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
template <bool ToOs>
[[gnu::always_inline]] inline void engine<Arch, Platform, Hooks, MaxHarts>::emulate_mret() noexcept {
    namespace ms = riscv::mstatus;
    const u64 s = m_h.csr.mstatus;
    const u64 target = ms::mpp::extract(s);
    const bool to_m = !ToOs && target == 3;
    const bool target_virtualized = m_h.features.has_h && !to_m && ms::mpv::test(s);
    const u64 cleared = ms::mie::mask | ms::mpp::mask | ms::mpv::mask | (to_m ? 0 : ms::mprv::mask);
    const u64 set = ((s & ms::mpie::mask) >> (ms::mpie::lsb - ms::mie::lsb)) | ms::mpie::mask |
                    ms::mpp::make(rules::least_privilege(m_h.features));
    m_h.csr.mstatus = (s & ~cleared) | set;
    m_h.pc = m_h.csr.mepc;
    if (!to_m) {
        switch_to_os<ToOs>(static_cast<riscv::privilege>(target), target_virtualized);
        if constexpr (ToOs)
            program_physical_interrupts_inline();
        else
            refresh_interrupts_checking(false);  // the OS runs next: the physical timer speaks for MTIP
        return;
    }
    if (m_h.physical_view != firmware_view()) apply_pmp_view(firmware_view());
    refresh_interrupts();
}

/// sret in M-mode (priv. spec 3.3.2, H ext. 9.6.3): to SPP with SIE = SPIE,
/// SPIE = 1, SPP = U; V from hstatus.SPV. The supervisor fields are physical.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::emulate_sret() noexcept {
    namespace ms = riscv::mstatus;
    if (!m_h.features.has_s) return false;
    u64 status = m_hw.template read<csr::sstatus>();
    const bool to_supervisor = ms::spp::test(status);
    bool virtualized = false;
    if (m_h.features.has_h) {
        const u64 hstatus = m_hw.csr_read(csr::hstatus).value;
        virtualized = riscv::hstatus::spv::test(hstatus);
        if (virtualized) (void)m_hw.csr_clear(csr::hstatus, riscv::hstatus::spv::mask);
    }
    status = ms::sie::insert(status, ms::spie::extract(status));
    status = ms::spie::insert(status, 1);
    status = ms::spp::insert(status, 0);
    m_hw.template write<csr::sstatus>(status);
    m_h.csr.mstatus = ms::mprv::insert(m_h.csr.mstatus, 0);
    m_h.pc = m_hw.template read<csr::sepc>();
    switch_to_os(to_supervisor ? riscv::privilege::supervisor : riscv::privilege::user, virtualized);
    refresh_interrupts();
    return true;
}

/// wfi from the firmware (priv. spec 3.3.3): resume when an interrupt is
/// pending and enabled in the virtual mie, whatever MIE and mideleg say,
/// and only then, as the hart does natively: the monitor's own events
/// (doorbells, its deadline) are served in the loop without waking the
/// firmware. A spurious wake-up would be legal but breaks stock firmware:
/// OpenSBI 1.1's hart_start marks the hart START_PENDING before it stores
/// the start address, so a hart that wakes in between jumps to a stale
/// one. A firmware that enabled nothing does not sleep (wfi as a nop).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::emulate_wfi() noexcept {
    m_h.pc += 4;
    const u64 wake = m_h.csr.mie;
    if (wake != 0 && (virtual_mip() & wake) == 0) {
        u64 physical_wake = ~u64{0};
        do {
            // MTIE only for a deadline someone wants (physical_mtie).
            physical_timer_setting t{m_h.monitor_deadline, m_h.monitor_deadline != ~u64{0}};
            if ((wake & riscv::mip::mtip::mask) != 0) {
                t.deadline = detail::min(t.deadline, shared().mtimecmp[m_h.index]);
                t.wanted = true;
            }
            set_physical_timer(t.deadline);
            const u64 enables = (wake & passthrough_interrupts) | riscv::mip::msip::mask | physical_mtie(t);
            if (enables != physical_wake) {
                m_hw.template write<csr::mie>(enables);
                m_h.physical_mie = physical_wake = enables;
            }
            m_hw.wait_for_interrupt();
            service_monitor_events(m_hw.template read<csr::mip>());
        } while ((virtual_mip() & wake) == 0);
    }
    refresh_interrupts();
}

}  // namespace vfm::virt
