// SPDX-License-Identifier: MIT
/// The firmware's virtual PMP registers, the views of the physical PMP each world
/// runs with (docs/pmp.md) and the miss path of cache mode.
///
/// Part of the engine (virt/engine.hpp, which includes it at its end):
/// definitions of `engine` members declared there.
#pragma once

#include <vfm/virt/engine.hpp>

#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/pmp.hpp>
#include <vfm/virt/csr_rules.hpp>
#include <vfm/virt/guest_memory.hpp>
#include <vfm/virt/misaligned.hpp>
#include <vfm/virt/pmp_layout.hpp>
#include <vfm/virt/pmp_physical.hpp>

namespace vfm::virt {

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::pmp_access(u16 number, csr_op_kind kind, u64 operand, bool write,
                                                                u64& old_value) noexcept {
    const unsigned count = m_h.pmp.virtual_count();
    const unsigned g = m_h.features.pmp_granularity;
    if (number < riscv::pmpaddr_number(0)) {
        const unsigned index = number - riscv::pmpcfg_number(0);
        if ((index & 1) != 0) return false;  // odd pmpcfg registers do not exist on RV64
        const unsigned first = index * 4;
        old_value = 0;
        for (unsigned e = 0; e < riscv::pmp::entries_per_cfg; ++e)
            if (first + e < count) old_value = riscv::pmp::with_cfg_byte(old_value, e, m_h.csr.pmpcfg[first + e]);
        if (write) {
            const u64 value = apply_csr_op(kind, old_value, operand);
            for (unsigned e = 0; e < riscv::pmp::entries_per_cfg && first + e < count; ++e)
                m_h.csr.pmpcfg[first + e] =
                    rules::write_pmpcfg_byte(m_h.csr.pmpcfg[first + e], riscv::pmp::cfg_byte(value, e), g);
            recompute_pmp_views();
        }
        return true;
    }
    const unsigned index = number - riscv::pmpaddr_number(0);
    if (index >= count) {
        old_value = 0;
        return true;
    }
    old_value = riscv::pmp::read_pmpaddr(m_h.csr.pmpaddr[index], m_h.csr.pmpcfg[index], g);
    if (write && !rules::pmpaddr_locked(m_h.csr.pmpcfg, index, count)) {
        m_h.csr.pmpaddr[index] = apply_csr_op(kind, old_value, operand) & riscv::pmp::address_mask;
        recompute_pmp_views();
    }
    return true;
}

/// Recomputes the slots from the virtual PMP (pmp_layout.hpp): the whole
/// list when it fits, else empty caches for both worlds (what they held
/// may no longer be decided as it was); then brings the hart in line.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::recompute_pmp_views() noexcept {
    m_h.pmp_cached = !plan_fit(m_h.pmp, virtual_pmp_of(m_h), m_h.pmp_slots);
    if (m_h.pmp_cached) {
        m_h.pmp_cache_state = pmp_cache{};
        plan_cache(m_h.pmp, m_h.pmp_cache_state, m_h.pmp_slots);
    }
    // In cache mode the monitor sees the OS's access faults first (a miss
    // is not the OS's fault); it delegates the real ones as medeleg says.
    // With H, the guest-page faults too: QEMU 7.2 reports a PMP denial of
    // a VS/VU-mode access as one (docs/pmp.md, "Guests").
    using riscv::exception;
    constexpr auto bit = [](exception e) { return u64{1} << static_cast<unsigned>(e); };
    constexpr u64 access_faults = bit(exception::instruction_access_fault) | bit(exception::load_access_fault) |
                                  bit(exception::store_access_fault);
    constexpr u64 guest_page_faults = bit(exception::instruction_guest_page_fault) |
                                      bit(exception::load_guest_page_fault) | bit(exception::store_guest_page_fault);
    m_h.os_medeleg_withheld = m_h.pmp_cached ? access_faults | (m_h.features.has_h ? guest_page_faults : 0) : 0;
    m_h.pmp_cfg_register_count = static_cast<u8>(m_h.pmp.cfg_registers());
    check_trap_vector();
    write_pmp_addresses(m_hw, m_h);
    apply_pmp_view(m_h.world == world::firmware ? firmware_view() : pmp_view::os);
}

/// The access an access fault or a guest-page fault was raised for.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] constexpr access_kind engine<Arch, Platform, Hooks, MaxHarts>::faulting_access(u64 cause) noexcept {
    using riscv::exception;
    if (cause == riscv::cause_value(exception::instruction_access_fault) ||
        cause == riscv::cause_value(exception::instruction_guest_page_fault))
        return access_kind::fetch;
    if (cause == riscv::cause_value(exception::load_access_fault) ||
        cause == riscv::cause_value(exception::load_guest_page_fault))
        return access_kind::load;
    return access_kind::store;
}

/// The miss path for an access fault of the guest that runs (cache mode):
/// true when the range was installed and the access should run again.
/// `physical` and the kind come from the fault; one byte is decided (the
/// range installed holds every byte the same decider decides, so the
/// rest of the access either lies in it or is denied by the list too).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::resolve_pmp_fault(u64 cause, u64 physical, u64 started) noexcept {
    const access_kind kind = faulting_access(cause);
    const u8 needed = kind == access_kind::fetch ? pmp_x : kind == access_kind::load ? pmp_r : pmp_w;
    if (monitor_entries_refuse(m_h.pmp, m_h.world == world::firmware, m_h.features.pmp_granularity, physical, 1,
                               needed))
        return false;
    if (started == 0) started = m_hw.csr_read(csr::minstret).value;
    if (resolve_pmp_access(m_hw, m_h, m_h.physical_view, physical, 1, needed) != pmp_resolution::installed)
        return false;
    ++m_h.pmp_misses_resolved;
    // minstret as the monitor sees it; the firmware's virtual counters
    // rewrite the hardware's on some trap paths: a delta that went
    // backwards or wild is left out (and so is its miss, from the average).
    const u64 spent = m_hw.csr_read(csr::minstret).value - started;
    if (spent < (u64{1} << 24)) {
        m_h.pmp_miss_instructions += spent;
        ++m_h.pmp_misses_measured;
    }
    return true;
}

/// resolve_pmp_fault for the OS: its faulting address translated as the
/// hardware did (the walk's own page-table reads resolve their misses:
/// a range they installed makes the access worth running again too).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::resolve_os_pmp_fault(u64 cause) noexcept {
    const access_kind kind = faulting_access(cause);
    const u64 started = m_hw.csr_read(csr::minstret).value;
    const u32 installs = m_h.pmp_installs;
    const translation_regime regime = os_regime();
    const guest_translation t =
        with_os_memory([&](memory_type& memory) { return memory.walk(regime, m_trap.tval, kind); });
    const bool installed = t.ok && resolve_pmp_fault(cause, t.physical, started);
    return installed || m_h.pmp_installs != installs;
}

/// The OS's load or store that missed twice in a row at the same pc: its
/// fetch and its access need more ranges at once than the slots hold (the
/// one evicts the other). The monitor performs the access on the guarded
/// path (virt/misaligned.hpp's emulation, aligned or not), as the hart
/// would have. False when it cannot (an AMO, LR/SC, a float): the access
/// runs again.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::perform_os_access_after_misses(u64 faulting_cause) noexcept {
    if (!have_all_registers()) return false;
    const translation_regime regime = os_regime();
    // The list decides the whole access first (the guarded path makes a
    // misaligned one byte by byte: each byte alone could pass where the
    // access as a whole matches an entry only in part). Within one page
    // only: across pages the hart's own retry decides.
    u32 bits = 0;
    data_access op;
    if (!fetch_os_instruction(m_h.pc, bits) || !decode_data_access(bits, op) || op.is_float ||
        (op.op != data_access::kind::load && op.op != data_access::kind::store))
        return false;
    const u64 address = m_trap.tval;
    if ((address & 0xfff) + op.width > 0x1000) return false;
    const access_kind kind = op.access();
    const guest_translation t = with_os_memory([&](memory_type& memory) { return memory.walk(regime, address, kind); });
    if (!t.ok) return false;
    const u8 needed = kind == access_kind::load ? pmp_r : pmp_w;
    if (monitor_entries_refuse(m_h.pmp, false, m_h.features.pmp_granularity, t.physical, op.width, needed))
        return false;
    if (!pmp_decide(m_h.pmp, virtual_pmp_of(m_h), pmp_view::os, t.physical, op.width, needed).allowed) {
        // The fault the hart raised for it: an access fault, or on QEMU 7.2
        // for a guest's access a guest-page fault (then with its mtval2).
        const bool as_guest_page_fault = faulting_cause != access_fault_cause(kind);
        const u64 cause = as_guest_page_fault ? faulting_cause : access_fault_cause(kind);
        const u64 tval2 = as_guest_page_fault ? m_trap.tval2 : 0;
        if (((m_h.csr.medeleg >> cause) & 1) != 0 && redirect_to_os(cause, address, tval2, m_h.os_virtualized))
            return true;
        deliver_exception(cause, address, tval2, 0, m_h.os_virtualized);
        return true;
    }
    const misaligned_outcome out = with_os_memory(
        [&](memory_type& memory) { return emulate_misaligned(memory, regime, m_h, m_h.pc, m_trap.tval); });
    switch (out.result) {
        case misaligned_outcome::status::emulated: m_h.pc += out.length; return true;
        case misaligned_outcome::status::fault:
            if (((m_h.csr.medeleg >> (out.cause & 63)) & 1) != 0 &&
                redirect_to_os(out.cause, out.tval, out.tval2, m_h.os_virtualized))
                return true;
            deliver_exception(out.cause, out.tval, out.tval2, 0, m_h.os_virtualized);
            return true;
        case misaligned_outcome::status::not_handled: return false;
    }
    return false;
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard, gnu::always_inline]] inline pmp_view engine<Arch, Platform, Hooks, MaxHarts>::firmware_view()
    const noexcept {
    const u64 s = m_h.csr.mstatus;
    if (riscv::mstatus::mprv::test(s) && riscv::mstatus::mpp::extract(s) != 3) return pmp_view::firmware_mprv;
    return pmp_view::firmware;
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::apply_pmp_view(pmp_view view) noexcept {
    apply_pmp_view_inline(view);
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[gnu::always_inline]] inline void engine<Arch, Platform, Hooks, MaxHarts>::apply_pmp_view_inline(
    pmp_view view) noexcept {
    const u64* wanted = m_h.pmp_slots.cfg[static_cast<unsigned>(view)];
    u64* physical = m_h.physical_pmpcfg;
    const unsigned registers = m_h.pmp_cfg_register_count;  // at least 1: the layout is usable()
    m_h.physical_view = view;
    if (wanted[0] != physical[0]) {
        m_hw.template write<csr::pmpcfg0>(wanted[0]);
        physical[0] = wanted[0];
    }
    if (registers == 1) return;
    if (wanted[1] != physical[1]) {
        m_hw.template write<csr::pmpcfg2>(wanted[1]);
        physical[1] = wanted[1];
    }
    if (registers > 2) [[unlikely]]
        apply_more_pmpcfg(m_hw, m_h, wanted, registers);
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[gnu::noinline]] void engine<Arch, Platform, Hooks, MaxHarts>::apply_more_pmpcfg(Arch& hw, hart& h, const u64* wanted,
                                                                                  unsigned registers) noexcept {
    for (unsigned r = 2; r < registers; ++r) {
        if (wanted[r] != h.physical_pmpcfg[r]) {
            (void)hw.csr_write(static_cast<csr>(riscv::pmpcfg_number(2 * r)), wanted[r]);
            h.physical_pmpcfg[r] = wanted[r];
        }
    }
}

}  // namespace vfm::virt
