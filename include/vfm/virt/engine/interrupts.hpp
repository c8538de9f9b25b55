// SPDX-License-Identifier: MIT
/// Interrupt virtualization: the virtual mip, the interrupts the firmware takes,
/// the monitor's own events (doorbell, deadline), the physical mie and timer for
/// the world that runs (docs/virtual-hart.md).
///
/// Part of the engine (virt/engine.hpp, which includes it at its end):
/// definitions of `engine` members declared there.
#pragma once

#include <vfm/virt/engine.hpp>

#include <vfm/detail/atomic.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/virt/interrupts.hpp>
#include <vfm/virt/physical_timer.hpp>

namespace vfm::virt {

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::refresh_interrupts_checking(bool check_timer) noexcept {
    u64 takeable = takeable_interrupts(check_timer);
    if (takeable != 0) {
        // One is taken now: the timer may hold a higher-priority one (MTI
        // before SEI, SSI and STI, priv. spec 3.1.9).
        if (!check_timer) takeable = takeable_interrupts(true);
        const int code = highest_priority_interrupt(takeable);
        enter_virtual_trap(riscv::mcause::interrupt::mask | static_cast<u64>(code), 0, 0, 0, false);
        return;
    }
    program_physical_interrupts();
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard, gnu::always_inline]] inline bool engine<Arch, Platform, Hooks, MaxHarts>::virtual_mtip() noexcept {
    const u32 i = m_h.index;
    return board().read_time() >= shared().mtimecmp[i];
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] inline u64 engine<Arch, Platform, Hooks, MaxHarts>::virtual_mip_from(u64 physical) noexcept {
    u64 value = physical & ~monitor_interrupts;
    if (detail::atomic_load(&shared().msip[m_h.index]) != 0) value |= riscv::mip::msip::mask;
    if (virtual_mtip()) value |= riscv::mip::mtip::mask;
    return value;
}

/// Pending, enabled interrupts the virtual firmware takes right now.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard, gnu::always_inline]] inline u64 engine<Arch, Platform, Hooks, MaxHarts>::takeable_interrupts(
    bool check_timer) noexcept {
    return takeable_interrupts_in(m_h.world, check_timer);
}

/// takeable_interrupts, as they would be with `running` running.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard, gnu::always_inline]] inline u64 engine<Arch, Platform, Hooks, MaxHarts>::takeable_interrupts_in(
    world running, bool check_timer) noexcept {
    const bool in_m = running == world::firmware;
    const bool mie = riscv::mstatus::mie::test(m_h.csr.mstatus);
    if (in_m && !mie) return 0;
    const u64 enabled = m_h.csr.mie & ~(m_h.csr.mideleg | m_h.features.mideleg_forced);
    if (enabled == 0) return 0;
    // Only the pending bits that are enabled matter: skip the timer
    // comparison (an MMIO read) and the msip load when they are not.
    u64 pending = (enabled & passthrough_interrupts) != 0 ? m_hw.template read<csr::mip>() & ~monitor_interrupts : 0;
    if ((enabled & riscv::mip::msip::mask) != 0 && detail::atomic_load(&shared().msip[m_h.index]) != 0)
        pending |= riscv::mip::msip::mask;
    if (check_timer && (enabled & riscv::mip::mtip::mask) != 0 && virtual_mtip()) pending |= riscv::mip::mtip::mask;
    return takeable_in_m(pending & enabled, 0, in_m, mie);
}

/// The OS writes the enables of its delegated interrupts natively (sie, hie,
/// vsie are views of mie, priv. spec 4.1.3): take them into the virtual mie.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[gnu::always_inline]] inline void engine<Arch, Platform, Hooks, MaxHarts>::sync_os_interrupt_enables() noexcept {
    const u64 physical = m_hw.template read<csr::mie>();
    const u64 delegated = m_h.csr.mideleg | m_h.features.mideleg_forced;
    m_h.csr.mie = (m_h.csr.mie & ~delegated) | (physical & delegated & m_h.features.mie_writable);
    m_h.physical_mie = physical;
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::physical_interrupt(u64 code) noexcept {
    service_monitor_events(u64{1} << code);
    refresh_interrupts();
}

/// Handles the monitor's own interrupt sources: the doorbell (physical MSIP)
/// and its deadline (physical MTIP).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::service_monitor_events(u64 physical_pending) noexcept {
    if ((physical_pending & riscv::mip::msip::mask) != 0) {
        board().clear_ipi(m_h.index);
        const u32 requests = detail::atomic_exchange(&shared().requests[m_h.index], u32{0});
        if ((requests & request::timer) != 0) m_h.physical_timer = 0;
        if ((requests & request::policy) != 0) m_hooks.on_request(*this);
    }
    if ((physical_pending & riscv::mip::mtip::mask) != 0) {
        m_h.physical_timer = 0;  // fired: it must be reprogrammed
        if (board().read_time() >= m_h.monitor_deadline) {
            m_h.monitor_deadline = ~u64{0};
            m_hooks.on_monitor_deadline(*this);
        }
    }
}

/// The physical mie and timer for the world that runs (docs/virtual-hart.md).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::program_physical_interrupts() noexcept {
    program_physical_interrupts_inline();
}

/// program_physical_interrupts, inlined (the world switches' fast path).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[gnu::always_inline]] inline void
engine<Arch, Platform, Hooks, MaxHarts>::program_physical_interrupts_inline() noexcept {
    u64 wanted;
    if (m_h.world == world::firmware) {
        const bool mie = riscv::mstatus::mie::test(m_h.csr.mstatus);
        const u64 delegated = m_h.csr.mideleg | m_h.features.mideleg_forced;
        wanted = mie ? (m_h.csr.mie & ~delegated & passthrough_interrupts & ~hypervisor_interrupts) : 0;
    } else {
        wanted = m_h.csr.mie & passthrough_interrupts;
    }
    const physical_timer_setting timer = physical_timer_for(shared(), m_h);
    wanted |= riscv::mip::msip::mask | physical_mtie(timer);
    if (wanted != m_h.physical_mie) {
        m_hw.template write<csr::mie>(wanted);
        m_h.physical_mie = wanted;
    }
    set_physical_timer(timer.deadline);
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[gnu::always_inline]] inline void engine<Arch, Platform, Hooks, MaxHarts>::program_timer() noexcept {
    program_physical_timer(m_hw, board(), shared(), m_h);
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[gnu::always_inline]] inline void engine<Arch, Platform, Hooks, MaxHarts>::set_physical_timer(u64 deadline) noexcept {
    set_hart_timer(board(), m_h, deadline);
}

}  // namespace vfm::virt
