// SPDX-License-Identifier: MIT
/// Field layouts of the CSRs, as typed bitfields `field<msb, lsb>` in the
/// order of the privileged spec's figures. OpenSBI's names are given in the
/// comments so that a grep finds both projects.
#pragma once

#include <vfm/detail/bits.hpp>

namespace vfm::riscv {

/// mstatus on RV64 (priv. spec 3.1.6, fig. 3.7; H extension 9.4.1 adds MPV, GVA).
namespace mstatus {
using sie = field<1>;       ///< MSTATUS_SIE
using mie = field<3>;       ///< MSTATUS_MIE
using spie = field<5>;      ///< MSTATUS_SPIE
using ube = field<6>;       ///< MSTATUS_UBE
using mpie = field<7>;      ///< MSTATUS_MPIE
using spp = field<8>;       ///< MSTATUS_SPP
using vs = field<10, 9>;    ///< MSTATUS_VS
using mpp = field<12, 11>;  ///< MSTATUS_MPP
using fs = field<14, 13>;   ///< MSTATUS_FS
using xs = field<16, 15>;   ///< MSTATUS_XS
using mprv = field<17>;     ///< MSTATUS_MPRV
using sum = field<18>;      ///< MSTATUS_SUM
using mxr = field<19>;      ///< MSTATUS_MXR
using tvm = field<20>;      ///< MSTATUS_TVM
using tw = field<21>;       ///< MSTATUS_TW
using tsr = field<22>;      ///< MSTATUS_TSR
using uxl = field<33, 32>;  ///< MSTATUS_UXL
using sxl = field<35, 34>;  ///< MSTATUS_SXL
using sbe = field<36>;      ///< MSTATUS_SBE
using mbe = field<37>;      ///< MSTATUS_MBE
using gva = field<38>;      ///< MSTATUS_GVA
using mpv = field<39>;      ///< MSTATUS_MPV
using sd = field<63>;       ///< MSTATUS_SD

/// The bits that sstatus exposes (priv. spec 4.1.1, fig. 4.2).
inline constexpr u64 sstatus_mask = sie::mask | spie::mask | ube::mask | spp::mask | vs::mask | fs::mask | xs::mask |
                                    sum::mask | mxr::mask | uxl::mask | sd::mask;
}  // namespace mstatus

/// Extension status values of mstatus.FS, VS and XS (priv. spec 3.1.6.6).
enum class extension_state : u8 { off = 0, initial = 1, clean = 2, dirty = 3 };

/// XLEN encodings of misa.MXL, mstatus.SXL/UXL.
inline constexpr u64 xlen_64 = 2;

/// misa (priv. spec 3.1.1).
namespace misa {
using extensions = field<25, 0>;
using mxl = field<63, 62>;
/// The bit of extension letter `c` ('A' to 'Z').
[[nodiscard]] constexpr u64 extension(char c) noexcept { return u64{1} << (c - 'A'); }
}  // namespace misa

/// Interrupt bits of mip / mie / mideleg (priv. spec 3.1.9, H ext. 9.4.3).
namespace irq {
inline constexpr unsigned s_software = 1;         ///< IRQ_S_SOFT
inline constexpr unsigned vs_software = 2;        ///< IRQ_VS_SOFT
inline constexpr unsigned m_software = 3;         ///< IRQ_M_SOFT
inline constexpr unsigned s_timer = 5;            ///< IRQ_S_TIMER
inline constexpr unsigned vs_timer = 6;           ///< IRQ_VS_TIMER
inline constexpr unsigned m_timer = 7;            ///< IRQ_M_TIMER
inline constexpr unsigned s_external = 9;         ///< IRQ_S_EXT
inline constexpr unsigned vs_external = 10;       ///< IRQ_VS_EXT
inline constexpr unsigned m_external = 11;        ///< IRQ_M_EXT
inline constexpr unsigned s_guest_external = 12;  ///< IRQ_S_GEXT
inline constexpr unsigned counter_overflow = 13;  ///< IRQ_PMU_OVF (Sscofpmf LCOFI)
}  // namespace irq

namespace mip {
using ssip = field<irq::s_software>;          ///< MIP_SSIP
using vssip = field<irq::vs_software>;        ///< MIP_VSSIP
using msip = field<irq::m_software>;          ///< MIP_MSIP
using stip = field<irq::s_timer>;             ///< MIP_STIP
using vstip = field<irq::vs_timer>;           ///< MIP_VSTIP
using mtip = field<irq::m_timer>;             ///< MIP_MTIP
using seip = field<irq::s_external>;          ///< MIP_SEIP
using vseip = field<irq::vs_external>;        ///< MIP_VSEIP
using meip = field<irq::m_external>;          ///< MIP_MEIP
using sgeip = field<irq::s_guest_external>;   ///< MIP_SGEIP
using lcofip = field<irq::counter_overflow>;  ///< MIP_LCOFIP

/// Supervisor-level interrupts (delegable in mideleg).
inline constexpr u64 supervisor = ssip::mask | stip::mask | seip::mask;
/// Machine-level interrupts.
inline constexpr u64 machine = msip::mask | mtip::mask | meip::mask;
/// VS-level interrupts (H extension; read-only one in mideleg).
inline constexpr u64 virtual_supervisor = vssip::mask | vstip::mask | vseip::mask;
}  // namespace mip

/// mie has the same layout as mip (priv. spec 3.1.9).
namespace mie = mip;

/// mtvec (priv. spec 3.1.7).
namespace mtvec {
using mode = field<1, 0>;
using base = field<63, 2>;
inline constexpr u64 mode_direct = 0;
inline constexpr u64 mode_vectored = 1;
}  // namespace mtvec
namespace stvec = mtvec;

/// mcause / scause (priv. spec 3.1.15).
namespace mcause {
using interrupt = field<63>;
using code = field<62, 0>;
}  // namespace mcause

/// mcounteren / scounteren / hcounteren / mcountinhibit (priv. spec 3.1.11, 3.1.12).
/// 32-bit registers: on RV64 the upper half reads zero.
namespace counteren {
using cy = field<0>;
using tm = field<1>;
using ir = field<2>;
using hpm = field<31, 3>;
inline constexpr u64 all = 0xffff'ffff;
}  // namespace counteren

/// menvcfg (priv. spec 3.1.18).
namespace menvcfg {
using fiom = field<0>;
using cbie = field<5, 4>;
using cbcfe = field<6>;
using cbze = field<7>;
using cde = field<60>;
using adue = field<61>;
using pbmte = field<62>;
using stce = field<63>;  ///< Sstc: enables stimecmp
}  // namespace menvcfg

/// senvcfg (priv. spec 4.1.4).
namespace senvcfg {
using fiom = field<0>;
using cbie = field<5, 4>;
using cbcfe = field<6>;
using cbze = field<7>;
}  // namespace senvcfg

/// henvcfg (H extension 9.2.5).
namespace henvcfg {
using fiom = field<0>;
using cbie = field<5, 4>;
using cbcfe = field<6>;
using cbze = field<7>;
using adue = field<61>;
using pbmte = field<62>;
using stce = field<63>;
}  // namespace henvcfg

/// mseccfg (Smepmp / Zkr, priv. spec 3.1.19).
namespace mseccfg {
using mml = field<0>;
using mmwp = field<1>;
using rlb = field<2>;
using useed = field<8>;
using sseed = field<9>;
}  // namespace mseccfg

/// satp on RV64 (priv. spec 4.1.11).
namespace satp {
using ppn = field<43, 0>;
using asid = field<59, 44>;
using mode = field<63, 60>;
inline constexpr u64 mode_bare = 0;
inline constexpr u64 mode_sv39 = 8;
inline constexpr u64 mode_sv48 = 9;
inline constexpr u64 mode_sv57 = 10;
}  // namespace satp

/// hstatus (H extension 9.2.1).
namespace hstatus {
using vsbe = field<5>;
using gva = field<6>;
using spv = field<7>;
using spvp = field<8>;
using hu = field<9>;
using vgein = field<17, 12>;
using vtvm = field<20>;
using vtw = field<21>;
using vtsr = field<22>;
using vsxl = field<33, 32>;
}  // namespace hstatus

/// hgatp (H extension 9.2.10).
namespace hgatp {
using ppn = field<43, 0>;
using vmid = field<57, 44>;
using mode = field<63, 60>;
}  // namespace hgatp

/// pmpcfg entry byte (priv. spec 3.7.1, fig. 3.33).
namespace pmpcfg {
using r = field<0>;
using w = field<1>;
using x = field<2>;
using a = field<4, 3>;
using l = field<7>;
/// Address-matching modes of the A field.
inline constexpr u64 a_off = 0;
inline constexpr u64 a_tor = 1;
inline constexpr u64 a_na4 = 2;
inline constexpr u64 a_napot = 3;
/// Bits 5 and 6 are reserved (WARL zero).
inline constexpr u64 writable = r::mask | w::mask | x::mask | a::mask | l::mask;
}  // namespace pmpcfg

}  // namespace vfm::riscv
