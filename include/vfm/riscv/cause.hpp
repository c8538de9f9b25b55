// SPDX-License-Identifier: MIT
/// Exception and interrupt cause codes (priv. spec 3.1.15, table 3.6; H extension 9.6).
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/riscv/csr_fields.hpp>

namespace vfm::riscv {

/// Synchronous exception codes (mcause with the interrupt bit clear).
enum class exception : u64 {
    instruction_address_misaligned = 0,  ///< CAUSE_MISALIGNED_FETCH
    instruction_access_fault = 1,        ///< CAUSE_FETCH_ACCESS
    illegal_instruction = 2,             ///< CAUSE_ILLEGAL_INSTRUCTION
    breakpoint = 3,                      ///< CAUSE_BREAKPOINT
    load_address_misaligned = 4,         ///< CAUSE_MISALIGNED_LOAD
    load_access_fault = 5,               ///< CAUSE_LOAD_ACCESS
    store_address_misaligned = 6,        ///< CAUSE_MISALIGNED_STORE
    store_access_fault = 7,              ///< CAUSE_STORE_ACCESS
    ecall_from_u = 8,                    ///< CAUSE_USER_ECALL
    ecall_from_s = 9,                    ///< CAUSE_SUPERVISOR_ECALL
    ecall_from_vs = 10,                  ///< CAUSE_VIRTUAL_SUPERVISOR_ECALL
    ecall_from_m = 11,                   ///< CAUSE_MACHINE_ECALL
    instruction_page_fault = 12,         ///< CAUSE_FETCH_PAGE_FAULT
    load_page_fault = 13,                ///< CAUSE_LOAD_PAGE_FAULT
    store_page_fault = 15,               ///< CAUSE_STORE_PAGE_FAULT
    instruction_guest_page_fault = 20,   ///< CAUSE_FETCH_GUEST_PAGE_FAULT
    load_guest_page_fault = 21,          ///< CAUSE_LOAD_GUEST_PAGE_FAULT
    virtual_instruction = 22,            ///< CAUSE_VIRTUAL_INST_FAULT
    store_guest_page_fault = 23,         ///< CAUSE_STORE_GUEST_PAGE_FAULT
};

/// Interrupt codes (mcause with the interrupt bit set); equal to the mip bit index.
enum class interrupt : u64 {
    supervisor_software = irq::s_software,
    virtual_supervisor_software = irq::vs_software,
    machine_software = irq::m_software,
    supervisor_timer = irq::s_timer,
    virtual_supervisor_timer = irq::vs_timer,
    machine_timer = irq::m_timer,
    supervisor_external = irq::s_external,
    virtual_supervisor_external = irq::vs_external,
    machine_external = irq::m_external,
    supervisor_guest_external = irq::s_guest_external,
    counter_overflow = irq::counter_overflow,
};

/// The mcause value of an exception.
[[nodiscard]] constexpr u64 cause_value(exception e) noexcept { return static_cast<u64>(e); }
/// The mcause value of an interrupt (interrupt bit set).
[[nodiscard]] constexpr u64 cause_value(interrupt i) noexcept { return mcause::interrupt::mask | static_cast<u64>(i); }

/// Exception causes that medeleg can delegate (priv. spec 3.1.8: ecall from M
/// cannot be delegated, its bit is read-only zero).
inline constexpr u64 delegable_exceptions =
    (u64{1} << 0) | (u64{1} << 1) | (u64{1} << 2) | (u64{1} << 3) | (u64{1} << 4) | (u64{1} << 5) | (u64{1} << 6) |
    (u64{1} << 7) | (u64{1} << 8) | (u64{1} << 9) | (u64{1} << 12) | (u64{1} << 13) | (u64{1} << 15);
/// Additional delegable causes with the H extension (9.4.2: ecall from VS and guest faults).
inline constexpr u64 delegable_exceptions_h =
    (u64{1} << 10) | (u64{1} << 20) | (u64{1} << 21) | (u64{1} << 22) | (u64{1} << 23);

/// The standard priority of interrupts destined for one mode, highest first
/// (priv. spec 3.1.9: MEI, MSI, MTI, SEI, SSI, STI; H ext. 9.4.3: SGEI, VSEI, VSSI, VSTI; then LCOFI).
inline constexpr unsigned interrupt_priority[] = {
    irq::m_external,       irq::m_software,  irq::m_timer,     irq::s_external, irq::s_software,       irq::s_timer,
    irq::s_guest_external, irq::vs_external, irq::vs_software, irq::vs_timer,   irq::counter_overflow,
};

}  // namespace vfm::riscv
