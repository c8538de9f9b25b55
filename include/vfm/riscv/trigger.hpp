// SPDX-License-Identifier: MIT
/// Sdtrig, the trigger module's CSRs as M-mode software sees them (RISC-V
/// Debug Specification 1.0, chapter 5): the tdata1 types and, for each, where
/// its privilege bits (m, s, u, vs, vu) and its action field sit. Spec data
/// only; docs/triggers.md says how vfm virtualizes them.
#pragma once

#include <vfm/detail/bits.hpp>

namespace vfm::riscv::trigger {

/// tdata1 (5.7.2) on RV64: type, dmode; the rest depends on the type.
namespace tdata1 {
using type = field<63, 60>;
using dmode = field<59>;  ///< only Debug Mode may write it
}  // namespace tdata1

/// tdata1.type values (5.7.2).
inline constexpr u64 type_none = 0;       ///< no trigger at this tselect
inline constexpr u64 type_legacy = 1;     ///< SiFive's pre-standard address match
inline constexpr u64 type_mcontrol = 2;   ///< address/data match (5.7.3)
inline constexpr u64 type_icount = 3;     ///< instruction count (5.7.5)
inline constexpr u64 type_itrigger = 4;   ///< interrupt (5.7.6)
inline constexpr u64 type_etrigger = 5;   ///< exception (5.7.7)
inline constexpr u64 type_mcontrol6 = 6;  ///< address/data match (5.7.4)
inline constexpr u64 type_tmext = 7;      ///< external trigger input (5.7.8)
inline constexpr u64 type_disabled = 15;  ///< exists, disabled

/// Privilege bits in one place whatever the type: bit n for the mode whose
/// priv. spec encoding is n (U 0, S 1, M 3), and VU, VS above them.
namespace mode {
inline constexpr u8 u = 1u << 0;
inline constexpr u8 s = 1u << 1;
inline constexpr u8 m = 1u << 3;
inline constexpr u8 vu = 1u << 4;
inline constexpr u8 vs = 1u << 5;
inline constexpr u8 all = u | s | m | vu | vs;
}  // namespace mode

/// Where a type keeps its privilege bits and its action (0 bits: none).
struct layout {
    u8 m, s, u, vs, vu;  ///< bit positions; 0 where the type has no such bit
    u64 action;          ///< the action field's mask
    [[nodiscard]] constexpr u64 modes_mask() const noexcept {
        return (m ? u64{1} << m : 0) | (s ? u64{1} << s : 0) | (u ? u64{1} << u : 0) | (vs ? u64{1} << vs : 0) |
               (vu ? u64{1} << vu : 0);
    }
};

/// mcontrol (5.7.3): m 6, s 4, u 3, action 15:12. mcontrol6 (5.7.4) adds
/// vs 24, vu 23. icount (5.7.5): vs 26, vu 25, m 9, s 7, u 6, action 5:0.
/// itrigger, etrigger (5.7.6, 5.7.7): vs 12, vu 11, m 9, s 7, u 6, action 5:0.
/// Types 0 and 15 have no such bits; the others are not known here.
[[nodiscard]] constexpr bool layout_of(u64 type, layout& out) noexcept {
    switch (type) {
        case type_none:
        case type_disabled: out = layout{0, 0, 0, 0, 0, 0}; return true;
        case type_mcontrol: out = layout{6, 4, 3, 0, 0, field<15, 12>::mask}; return true;
        case type_mcontrol6: out = layout{6, 4, 3, 24, 23, field<15, 12>::mask}; return true;
        case type_icount: out = layout{9, 7, 6, 26, 25, field<5, 0>::mask}; return true;
        case type_itrigger:
        case type_etrigger: out = layout{9, 7, 6, 12, 11, field<5, 0>::mask}; return true;
        default: return false;
    }
}

/// Whether a tdata1 compares data rather than an address: select = 1 of
/// mcontrol (bit 19, 5.7.3) and mcontrol6 (bit 21, 5.7.4): the value loaded or
/// stored, or the instruction's bits for an execute match.
[[nodiscard]] constexpr bool matches_data(u64 value) noexcept {
    const u64 type = value >> 60;
    if (type == type_mcontrol) return ((value >> 19) & 1) != 0;
    if (type == type_mcontrol6) return ((value >> 21) & 1) != 0;
    return false;
}

/// Whether vfm knows where `type` keeps its privilege bits (and so can keep it
/// from firing in M-mode): 0, 2 to 6 and 15. Type 7 fires in every mode.
[[nodiscard]] constexpr bool known_type(u64 type) noexcept {
    layout l{};
    return layout_of(type, l);
}

/// The privilege bits of `value` (a tdata1 of its own type), as mode::*.
[[nodiscard]] constexpr u8 modes_of(u64 value) noexcept {
    layout l{};
    if (!layout_of(tdata1::type::extract(value), l)) return 0;
    auto bit = [value](u8 position) -> bool { return position != 0 && ((value >> position) & 1) != 0; };
    return static_cast<u8>((bit(l.u) ? mode::u : 0) | (bit(l.s) ? mode::s : 0) | (bit(l.m) ? mode::m : 0) |
                           (bit(l.vu) ? mode::vu : 0) | (bit(l.vs) ? mode::vs : 0));
}

/// `value` with its privilege bits replaced by `modes` (mode::*); unchanged
/// for a type without them.
[[nodiscard]] constexpr u64 with_modes(u64 value, u8 modes) noexcept {
    layout l{};
    if (!layout_of(tdata1::type::extract(value), l)) return value;
    u64 out = value & ~l.modes_mask();
    auto put = [&out](u8 position, bool on) {
        if (position != 0 && on) out |= u64{1} << position;
    };
    put(l.u, (modes & mode::u) != 0);
    put(l.s, (modes & mode::s) != 0);
    put(l.m, (modes & mode::m) != 0);
    put(l.vu, (modes & mode::vu) != 0);
    put(l.vs, (modes & mode::vs) != 0);
    return out;
}

/// tinfo (5.7.10): bit n of `info` (15:0) set when type n is supported; 1
/// alone when no trigger exists at this tselect.
using tinfo_info = field<15, 0>;

}  // namespace vfm::riscv::trigger
