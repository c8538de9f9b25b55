// SPDX-License-Identifier: MIT
/// The start of the firmware: the virtual hart's reset state, the physical
/// state while the firmware runs, and the data of the CSR fast path.
///
/// Part of the engine (virt/engine.hpp, which includes it at its end):
/// definitions of `engine` members declared there.
#pragma once

#include <vfm/virt/engine.hpp>

#include <vfm/riscv/csr_fields.hpp>
#include <vfm/virt/csr_rules.hpp>
#include <vfm/virt/fast_csrs.hpp>
#include <vfm/virt/pmp_layout.hpp>
#include <vfm/virt/triggers.hpp>

namespace vfm::virt {

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::start_firmware(u64 entry, u64 a0, u64 a1, u64 a2) noexcept {
    m_h.csr = virtual_csrs{};
    m_h.csr.mstatus = riscv::mstatus::mpp::make(rules::least_privilege(m_h.features));
    fast_csrs::fill_hart(m_h);  // the data of the CSR fast path (virt/fast_csrs.hpp)
    m_h.world = world::firmware;
    announce_world();
    m_h.monitor_deadline = ~u64{0};
    for (auto& r : m_h.x) r = 0;
    m_h.set_reg(10, a0);
    m_h.set_reg(11, a1);
    m_h.set_reg(12, a2);
    m_h.pc = entry;

    // Physical state while the firmware runs (docs/virtual-hart.md).
    if (m_h.features.has_s) {
        m_hw.template write<riscv::csr::satp>(0);
        m_hw.template write<riscv::csr::medeleg>(0);
        m_hw.template write<riscv::csr::mideleg>(0);
    }
    if (m_h.features.has_u) m_hw.template write<riscv::csr::mcounteren>(0);
    if (m_h.features.has_menvcfg) m_hw.template write<riscv::csr::menvcfg>(0);
    m_hw.template clear<riscv::csr::mstatus>(riscv::mstatus::mpp::mask | riscv::mstatus::mprv::mask |
                                             riscv::mstatus::mie::mask | mpv_mask());
    if (!m_h.features.has_s) m_hw.template set<riscv::csr::mstatus>(riscv::mstatus::tw::mask);
    // Force the first write of every register the monitor may use.
    for (auto& r : m_h.physical_pmpcfg) r = ~u64{0};
    m_h.pmp_slots.dirty = ~u64{0};
    m_h.physical_view = pmp_view::firmware;
    recompute_pmp_views();
    m_h.physical_mie = ~u64{0};
    m_h.physical_timer = 0;
    program_physical_interrupts();
    adopt_triggers(m_hw, m_h);
    m_hw.template write<riscv::csr::mepc>(m_h.pc);
}

}  // namespace vfm::virt
