// SPDX-License-Identifier: MIT
/// Trap delivery into the virtual firmware and the world switches between the
/// firmware and the OS, with their fast-path (`Inline`) forms.
///
/// Part of the engine (virt/engine.hpp, which includes it at its end):
/// definitions of `engine` members declared there.
#pragma once

#include <vfm/virt/engine.hpp>

#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/instruction.hpp>
#include <vfm/virt/guest_memory.hpp>
#include <vfm/virt/pmp_layout.hpp>
#include <vfm/virt/triggers.hpp>

namespace vfm::virt {

/// Takes a trap into the virtual firmware (priv. spec 3.1.6.1, 3.1.7, 3.1.14-16).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::enter_virtual_trap(u64 cause, u64 tval, u64 tval2, u64 tinst,
                                                                        bool gva) noexcept {
    if (m_h.world == world::os) {
        enter_virtual_trap_from_os<false>(cause, tval, tval2, tinst, gva);
        return;
    }
    if (!riscv::mcause::interrupt::test(cause)) m_trap.firmware_exception = true;
    const u64 base = record_virtual_trap(cause, tval, tval2, tinst, 3, false, gva);
    // An exception at the first instruction of the firmware's own trap
    // handler comes back to that instruction with the same registers: a
    // real machine would loop for ever. Say so instead (no silent hang).
    if (m_h.csr.mepc == base && loops_at_vector(cause))
        m_hooks.on_fatal(*this, "the firmware faults at its own trap vector", cause, tval);
    m_h.pc = virtual_trap_target(cause, base);
    if (m_h.physical_view != firmware_view()) apply_pmp_view(firmware_view());
    program_physical_interrupts();
}

/// enter_virtual_trap when the OS runs: a world switch.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
template <bool Inline>
[[gnu::always_inline]] inline void engine<Arch, Platform, Hooks, MaxHarts>::enter_virtual_trap_from_os(
    u64 cause, u64 tval, u64 tval2, u64 tinst, bool gva) noexcept {
    const u64 base =
        record_virtual_trap(cause, tval, tval2, tinst, static_cast<u64>(m_h.os_mode), m_h.os_virtualized, gva);
    m_h.pc = virtual_trap_target(cause, base);
    switch_to_firmware<Inline>();
    run_trap_vector_entry();
}

/// Recomputes hart::trap_vector_executable: mtvec's base is in RAM and the
/// firmware's view of the PMP (the monitor's entries, then the list,
/// decided in software: in cache mode the slots may not hold it yet) lets it execute there.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::check_trap_vector() noexcept {
    const u64 base = m_h.csr.mtvec & ~u64{3};
    const unsigned g = m_h.features.pmp_granularity;
    m_h.trap_vector_executable =
        classify_physical(board().layout(), base, 4, Hooks::intercepts_shutdown) == physical_class::ram &&
        !monitor_entries_refuse(m_h.pmp, true, g, base, 4, pmp_x) &&
        pmp_decide(m_h.pmp, virtual_pmp_of(m_h), pmp_view::firmware, base, 4, pmp_x).allowed;
}

/// Runs the first instruction of the firmware's trap handler in the
/// monitor when it is `csrrw r, mscratch, r`, the usual way into a trap
/// handler (swap a register with mscratch): one trap fewer on every world
/// switch. Only where the firmware could fetch it (check_trap_vector) and
/// with registers the context holds; otherwise the firmware runs it itself.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[gnu::always_inline]] inline void engine<Arch, Platform, Hooks, MaxHarts>::run_trap_vector_entry() noexcept {
    constexpr u32 mask = 0xfff0707f;           // csr, funct3, opcode
    constexpr u32 swap_mscratch = 0x34001073;  // csrrw _, mscratch (0x340), _
    if (!m_h.trap_vector_executable) return;
    const u64 pc = m_h.pc;
    if (pc != (m_h.csr.mtvec & ~u64{3})) return;  // a vectored interrupt's entry
    // mtvec's base is 4-byte aligned RAM the guard lets the firmware fetch
    // (check_trap_vector): one aligned word, read in place.
    const u8* code = m_hw.physical(pc, 4);
    if (code == nullptr) return;
    u32 bits;
    __builtin_memcpy(&bits, __builtin_assume_aligned(code, 4), 4);  // little-endian, like instructions
    if ((bits & mask) != swap_mscratch) return;
    const unsigned r = riscv::insn::rd(bits);  // the swap: rd = rs1, not x0
    if (riscv::insn::rs1(bits) != r || r == 0) return;
    if (!m_all_registers && !hart::saved_on_fast_path(r)) return;
    const u64 old_value = m_h.csr.mscratch;
    m_h.csr.mscratch = m_h.x[r];
    m_h.x[r] = old_value;
    m_h.pc = pc + 4;
}

/// The trap CSRs and mstatus of a trap into vM-mode from `previous_mode`
/// (priv. spec 3.1.6.1: MPIE = MIE, MIE = 0, MPP; H ext. 9.4.1: MPV, GVA).
/// Returns the trap vector's base.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[gnu::always_inline]] inline u64 engine<Arch, Platform, Hooks, MaxHarts>::record_virtual_trap(
    u64 cause, u64 tval, u64 tval2, u64 tinst, u64 previous_mode, bool previous_virtualized, bool gva) noexcept {
    namespace ms = riscv::mstatus;
    virtual_csrs& c = m_h.csr;
    m_h.reservation_width = 0;  // a trap ends the firmware's LR reservation (as the hart's own)
    c.mepc = m_h.pc;
    c.mcause = cause;
    c.mtval = tval;
    c.mtval2 = tval2;
    c.mtinst = tinst;
    const u64 s = c.mstatus;
    u64 cleared = ms::mie::mask | ms::mpie::mask | ms::mpp::mask;
    u64 set = ((s & ms::mie::mask) << (ms::mpie::lsb - ms::mie::lsb)) | ms::mpp::make(previous_mode);
    if (m_h.features.has_h) {
        cleared |= ms::mpv::mask | ms::gva::mask;
        set |= (previous_virtualized ? ms::mpv::mask : 0) | (gva ? ms::gva::mask : 0);
    }
    c.mstatus = (s & ~cleared) | set;
    return c.mtvec & ~u64{3};
}

/// Where a trap enters the firmware: the base, or base + 4 * code for an
/// interrupt in vectored mode (priv. spec 3.1.7).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard, gnu::always_inline]] inline u64 engine<Arch, Platform, Hooks, MaxHarts>::virtual_trap_target(
    u64 cause, u64 base) const noexcept {
    const bool vectored = riscv::mtvec::mode::extract(m_h.csr.mtvec) == riscv::mtvec::mode_vectored;
    return (riscv::mcause::interrupt::test(cause) && vectored) ? base + 4 * riscv::mcause::code::extract(cause) : base;
}

/// Exceptions that do not depend on what a trap changes (MPP, MPIE, MIE):
/// raised by the first instruction of the trap handler they raise it again.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] constexpr bool engine<Arch, Platform, Hooks, MaxHarts>::loops_at_vector(u64 cause) noexcept {
    using riscv::exception;
    switch (static_cast<exception>(cause)) {
        case exception::instruction_address_misaligned:
        case exception::instruction_access_fault:
        case exception::illegal_instruction:
        case exception::breakpoint:
        case exception::ecall_from_m:
        case exception::instruction_page_fault: return true;
        default: return false;
    }
}

/// OS → firmware: the physical hart is made to run the firmware in U-mode
/// with Bare translation, no delegation, no counter access, the firmware's PMP view.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
template <bool Inline>
[[gnu::always_inline]] inline void engine<Arch, Platform, Hooks, MaxHarts>::switch_to_firmware() noexcept {
    namespace ms = riscv::mstatus;
    m_hw.template clear<csr::mstatus>(ms::mpp::mask | ms::tvm::mask | ms::tw::mask | ms::tsr::mask | mpv_mask());
    if (m_h.features.has_s) [[likely]] {
        m_h.csr.satp = m_hw.template swap<csr::satp>(0);
        m_hw.template write<csr::medeleg>(0);
        m_hw.template write<csr::mideleg>(0);
    } else {
        // Without S-mode, U-mode's wfi traps only when TW = 1 (priv.
        // 3.1.6.5): the firmware's must reach emulate_wfi.
        m_hw.template set<csr::mstatus>(ms::tw::mask);
    }
    if (m_h.features.has_u) m_hw.template write<csr::mcounteren>(0);
    m_h.world = world::firmware;
    m_hw.world_switched(true, m_h.counters.armed);
    // The fast path's switch (Inline) leaves this to its end (finish_switch).
    if (!Inline && m_h.triggers_active) [[unlikely]]
        program_triggers(m_hw, m_h, world::firmware);
    m_hooks.on_enter_firmware(*this);
    if constexpr (Inline) {
        apply_pmp_view_inline(firmware_view());
        program_physical_interrupts_inline();
    } else {
        apply_pmp_view(firmware_view());
        program_physical_interrupts();
    }
}

/// firmware → OS, at `mode` (S or U, virtualized or not).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
template <bool Inline>
[[gnu::always_inline]] inline void engine<Arch, Platform, Hooks, MaxHarts>::switch_to_os(riscv::privilege mode,
                                                                                         bool virtualized) noexcept {
    namespace ms = riscv::mstatus;
    m_h.world = world::os;
    m_hw.world_switched(false, false);
    if (!Inline && m_h.triggers_active) [[unlikely]]
        program_triggers(m_hw, m_h, world::os);
    m_h.os_mode = mode;
    m_h.os_virtualized = virtualized;
    m_hooks.on_enter_os(*this);
    if (m_h.features.has_s) [[likely]] {
        m_hw.template write<csr::satp>(m_h.csr.satp);
        m_hw.template write<csr::medeleg>(m_h.csr.medeleg & ~m_h.os_medeleg_withheld);
        m_hw.template write<csr::mideleg>(m_h.csr.mideleg);
    } else {
        // The firmware ran with TW set (switch_to_firmware): its U-mode
        // gets the firmware's TW (set below).
        m_hw.template clear<csr::mstatus>(ms::tw::mask);
    }
    if (m_h.features.has_u) m_hw.template write<csr::mcounteren>(m_hooks.os_mcounteren(*this, m_h.csr.mcounteren));
    constexpr u64 traps = ms::tvm::mask | ms::tw::mask | ms::tsr::mask;
    const u64 set =
        ms::mpp::make(static_cast<u64>(mode)) | (virtualized ? ms::mpv::mask : 0) | (m_h.csr.mstatus & traps);
    if (set != 0) m_hw.template set<csr::mstatus>(set);
    if constexpr (Inline)
        apply_pmp_view_inline(pmp_view::os);
    else
        apply_pmp_view(pmp_view::os);
    // The caller re-evaluates the interrupts next (refresh_interrupts), which
    // programs the physical mie and timer for the OS.
}

}  // namespace vfm::virt
