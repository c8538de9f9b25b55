// SPDX-License-Identifier: MIT
/// The start of the firmware: the virtual hart's reset state, the physical
/// state while the firmware runs, and the table of CSRs the backend serves
/// itself (tier 1).
///
/// Part of the engine (virt/engine.hpp, which includes it at its end):
/// definitions of `engine` members declared there.
#pragma once

#include <vfm/virt/engine.hpp>

#include <vfm/riscv/csr_fields.hpp>
#include <vfm/virt/csr_rules.hpp>
#include <vfm/virt/pmp_layout.hpp>
#include <vfm/virt/triggers.hpp>

namespace vfm::virt {

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::start_firmware(u64 entry, u64 a0, u64 a1, u64 a2) noexcept {
    m_h.csr = virtual_csrs{};
    m_h.csr.mstatus = riscv::mstatus::mpp::make(rules::least_privilege(m_h.features));
    m_h.mepc_mask = rules::write_mepc(~u64{0}, m_h.features);
    m_h.misa = m_h.features.misa;
    set_fast_csrs();
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

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::set_fast_csrs() noexcept {
    auto slot = [&](const u64& field) {
        return static_cast<u8>((reinterpret_cast<const u8*>(&field) - reinterpret_cast<const u8*>(&m_h)) / 8);
    };
    for (auto& entry : m_h.fast_csrs) entry = 0;
    m_h.fast_csrs[0x0] = slot(m_h.csr.mscratch);
    m_h.fast_csrs[0x1] = slot(m_h.csr.mepc);
    m_h.fast_csrs[0x2] = slot(m_h.csr.mcause);
    m_h.fast_csrs[0x3] = slot(m_h.csr.mtval);
    if (m_h.features.has_mtval2) {
        m_h.fast_csrs[0xa] = slot(m_h.csr.mtinst);
        m_h.fast_csrs[0xb] = slot(m_h.csr.mtval2);
    }
    // Harts with S and U: every MPP value but the reserved 2 is legal as written.
    m_h.mstatus_fast_writable =
        m_h.features.has_s && m_h.features.has_u ? rules::mstatus_virtual_writable(m_h.features) : 0;
}

}  // namespace vfm::virt
