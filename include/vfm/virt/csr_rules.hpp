// SPDX-License-Identifier: MIT
/// WARL rules of the virtual M-mode CSRs, as pure constexpr functions of the
/// old value, the written value and the hart's features. The virtual hart
/// shows the firmware exactly what the privileged spec allows, also where
/// QEMU departs from it (docs/virtual-hart.md lists those places).
#pragma once

#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/pmp.hpp>
#include <vfm/virt/hart.hpp>

namespace vfm::virt::rules {

namespace ms = riscv::mstatus;

/// mstatus fields the monitor keeps virtual; all other fields are the
/// physical mstatus's (the supervisor fields and the XLEN fields).
inline constexpr u64 mstatus_virtual_fields = ms::mie::mask | ms::mpie::mask | ms::mpp::mask | ms::mprv::mask |
                                              ms::tvm::mask | ms::tw::mask | ms::tsr::mask | ms::sbe::mask |
                                              ms::mbe::mask | ms::gva::mask | ms::mpv::mask;

/// The supervisor fields of mstatus that software may write (priv. spec 4.1.1);
/// the monitor keeps them in the physical mstatus.
inline constexpr u64 mstatus_physical_writable = ms::sie::mask | ms::spie::mask | ms::ube::mask | ms::spp::mask |
                                                 ms::vs::mask | ms::fs::mask | ms::sum::mask | ms::mxr::mask;

/// The least privileged mode the hart has: MPP's value after mret (priv. spec 3.3.2).
[[nodiscard, gnu::always_inline]] constexpr u64 least_privilege(const hart_features& f) noexcept {
    return f.has_u ? static_cast<u64>(riscv::privilege::user) : static_cast<u64>(riscv::privilege::machine);
}

/// MPP is WARL over the implemented modes (priv. spec 3.1.6.1). vfm maps the
/// reserved value 2, and modes the hart lacks, to the least privileged mode.
[[nodiscard, gnu::always_inline]] constexpr u64 legalize_mpp(u64 mpp, const hart_features& f) noexcept {
    switch (mpp) {
        case 3: return 3;
        case 1: return f.has_s ? 1 : least_privilege(f);
        case 0: return least_privilege(f);
        default: return least_privilege(f);
    }
}

/// Writable virtual mstatus bits for a hart with features `f` (priv. spec 3.1.6):
/// MPRV needs U-mode; TVM and TSR need S-mode; TW needs S- or U-mode; MPV and GVA
/// need the H extension; MBE and SBE are zero (little-endian only).
[[nodiscard, gnu::always_inline]] constexpr u64 mstatus_virtual_writable(const hart_features& f) noexcept {
    u64 mask = ms::mie::mask | ms::mpie::mask | ms::mpp::mask;
    if (f.has_u) mask |= ms::mprv::mask;
    if (f.has_s) mask |= ms::tvm::mask | ms::tsr::mask;
    if (f.has_s || f.has_u) mask |= ms::tw::mask;
    if (f.has_h) mask |= ms::mpv::mask | ms::gva::mask;
    return mask;
}

/// The virtual mstatus fields after a write of `written`.
[[nodiscard, gnu::always_inline]] constexpr u64 write_mstatus(u64 written, const hart_features& f) noexcept {
    u64 value = written & mstatus_virtual_writable(f);
    return ms::mpp::insert(value, legalize_mpp(ms::mpp::extract(written), f));
}

/// mtvec (priv. spec 3.1.7): MODE values >= 2 are reserved. vfm ignores such a
/// write entirely (QEMU does the same), a legal WARL choice.
[[nodiscard, gnu::always_inline]] constexpr u64 write_mtvec(u64 old_value, u64 written) noexcept {
    return riscv::mtvec::mode::extract(written) >= 2 ? old_value : written;
}

/// mepc (priv. spec 3.1.14): bit 0 is always zero; bit 1 too without C.
[[nodiscard, gnu::always_inline]] constexpr u64 write_mepc(u64 written, const hart_features& f) noexcept {
    return written & ((f.misa & riscv::misa::extension('C')) != 0 ? ~u64{1} : ~u64{3});
}

/// medeleg (priv. spec 3.1.8): only the hart's delegable causes; ecall from M
/// (bit 11) is read-only zero.
[[nodiscard]] constexpr u64 medeleg_writable(const hart_features& f) noexcept {
    const u64 spec = riscv::delegable_exceptions | (f.has_h ? riscv::delegable_exceptions_h : 0);
    return f.has_s ? spec & f.medeleg_writable : 0;
}

/// mideleg (priv. spec 3.1.8, H ext. 9.4.2): S-level interrupts (and LCOFI with
/// Sscofpmf) are writable; VS-level and SGEI are read-only one with H.
[[nodiscard]] constexpr u64 mideleg_writable(const hart_features& f) noexcept {
    u64 spec = riscv::mip::supervisor;
    if (f.has_sscofpmf) spec |= riscv::mip::lcofip::mask;
    return f.has_s ? spec & f.mideleg_writable : 0;
}

/// mcounteren (priv. spec 3.1.11) is a 32-bit register: on RV64 bits 63:32 read zero.
[[nodiscard]] constexpr u64 write_mcounteren(u64 written, const hart_features& f) noexcept {
    return f.has_u ? written & riscv::counteren::all : 0;
}

/// The virtual mstatus as the firmware reads it: the monitor's M-level fields
/// over the physical supervisor and XLEN fields. SD follows FS, VS and XS.
[[nodiscard, gnu::always_inline]] constexpr u64 compose_mstatus(u64 physical, u64 virtual_fields) noexcept {
    return (physical & ~mstatus_virtual_fields) | (virtual_fields & mstatus_virtual_fields);
}

/// pmpcfg byte legalisation (priv. spec 3.7.1): a locked entry ignores writes;
/// bits 5 and 6 read zero; R=0 W=1 is reserved, vfm clears W; NA4 is not
/// selectable at granularity G >= 1, vfm turns it into OFF.
[[nodiscard]] constexpr u8 write_pmpcfg_byte(u8 old_cfg, u8 written, unsigned granularity) noexcept {
    namespace cfg = riscv::pmpcfg;
    if (cfg::l::test(old_cfg)) return old_cfg;
    u64 value = written & cfg::writable;
    if (!cfg::r::test(value) && cfg::w::test(value)) value &= ~cfg::w::mask;
    if (granularity >= 1 && cfg::a::extract(value) == cfg::a_na4) value = cfg::a::insert(value, cfg::a_off);
    return static_cast<u8>(value);
}

/// Whether pmpaddr `index` ignores writes (priv. spec 3.7.1): its own entry is
/// locked, or the next entry is locked and in TOR mode.
[[nodiscard]] constexpr bool pmpaddr_locked(const u8* cfg, unsigned index, unsigned count) noexcept {
    namespace c = riscv::pmpcfg;
    if (c::l::test(cfg[index])) return true;
    return index + 1 < count && c::l::test(cfg[index + 1]) && c::a::extract(cfg[index + 1]) == c::a_tor;
}

}  // namespace vfm::virt::rules
