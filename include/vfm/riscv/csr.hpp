// SPDX-License-Identifier: MIT
/// CSR numbers, their attributes as the spec derives them from the number,
/// and their names. Field layouts live in csr_fields.hpp.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/riscv/csr_list.hpp>
#include <vfm/riscv/privilege.hpp>

namespace vfm::riscv {

/// A CSR number (priv. spec 2.2, tables 2.1 to 2.6).
enum class csr : u16 {
#define VFM_CSR_ENUM(name, number, group) name = number,
    VFM_RISCV_CSR_LIST(VFM_CSR_ENUM)
#undef VFM_CSR_ENUM
};

/// The family a CSR belongs to, which decides who implements it.
enum class csr_group : u8 {
    user_float,
    user_vector,
    user_entropy,
    user_counter,
    supervisor,
    supervisor_stateen,
    supervisor_sstc,
    supervisor_debug,
    supervisor_sscofpmf,
    hypervisor,
    hypervisor_stateen,
    virtual_supervisor,
    machine_info,
    machine,
    machine_stateen,
    machine_counter,
    machine_pmp,
    machine_debug,
};

/// The lowest privilege that may access a CSR: csr[9:8] (priv. spec 2.1).
/// The value 2 means hypervisor (HS) level; vfm reports it as supervisor with
/// `is_hypervisor_level` true.
[[nodiscard]] constexpr u8 minimum_privilege_bits(u16 number) noexcept { return (number >> 8) & 3; }

/// csr[11:10] == 0b11 marks a read-only CSR (priv. spec 2.1).
[[nodiscard]] constexpr bool is_read_only(u16 number) noexcept { return ((number >> 10) & 3) == 3; }

/// True for CSR numbers that appear in the table.
[[nodiscard]] constexpr bool is_known(u16 number) noexcept {
    switch (number) {
#define VFM_CSR_CASE(name, number, group) case number:
        VFM_RISCV_CSR_LIST(VFM_CSR_CASE)
#undef VFM_CSR_CASE
        return true;
        default: return false;
    }
}

/// The group of a known CSR; `nullptr`-like answer is `false`.
[[nodiscard]] constexpr bool group_of(u16 number, csr_group& group) noexcept {
    switch (number) {
#define VFM_CSR_GROUP(name, number, grp) \
    case number: group = csr_group::grp; return true;
        VFM_RISCV_CSR_LIST(VFM_CSR_GROUP)
#undef VFM_CSR_GROUP
        default: return false;
    }
}

/// The spec's name of a CSR, or "unknown".
[[nodiscard]] constexpr const char* name(csr number) noexcept {
    switch (number) {
#define VFM_CSR_NAME(name, number, group) \
    case csr::name: return #name;
        VFM_RISCV_CSR_LIST(VFM_CSR_NAME)
#undef VFM_CSR_NAME
    }
    return "unknown";
}

/// Number of CSRs in the table.
inline constexpr usize csr_count = 0
#define VFM_CSR_COUNT(name, number, group) +1
    VFM_RISCV_CSR_LIST(VFM_CSR_COUNT)
#undef VFM_CSR_COUNT
    ;

/// pmpcfgN / pmpaddrN helpers (on RV64 only the even pmpcfg registers exist).
[[nodiscard]] constexpr u16 pmpcfg_number(unsigned index) noexcept { return static_cast<u16>(0x3A0 + index); }
[[nodiscard]] constexpr u16 pmpaddr_number(unsigned index) noexcept { return static_cast<u16>(0x3B0 + index); }

}  // namespace vfm::riscv
