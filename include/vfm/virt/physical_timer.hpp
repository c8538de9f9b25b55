// SPDX-License-Identifier: MIT
/// A hart's physical timer and MTIE: the earlier of the monitor's deadline and
/// the firmware's mtimecmp, enabled only while someone wants it
/// (docs/virtual-hart.md). Used by the engine and by policies that run before one.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/utility.hpp>
#include <vfm/platform.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/virt/hart.hpp>
#include <vfm/virt/shared_state.hpp>

namespace vfm::virt {

/// Programs hart `h`'s physical timer with `deadline` unless it holds it already.
template <platform Platform>
[[gnu::always_inline]] inline void set_hart_timer(Platform& board, hart& h, u64 deadline) noexcept {
    if (deadline != h.physical_timer) {
        board.set_timer(h.index, deadline);
        h.physical_timer = deadline;
    }
}

/// What the physical timer of a hart is for: when it must fire, and whether
/// anyone wants it to.
struct physical_timer_setting {
    u64 deadline;
    bool wanted;
};

/// The physical mtimecmp of `h`: the earlier of the monitor's deadline and the
/// firmware's, the latter only while the firmware could take its interrupt
/// (the OS runs, or the firmware's MIE is set) and has MTIE enabled. Wanted
/// when one of them counts: the monitor's deadline of all ones means none.
template <u32 MaxHarts>
[[nodiscard, gnu::always_inline]] inline physical_timer_setting physical_timer_for(const shared_state<MaxHarts>& shared,
                                                                                   const hart& h) noexcept {
    physical_timer_setting t{h.monitor_deadline, h.monitor_deadline != ~u64{0}};
    const bool firmware_takes = h.world == world::os || riscv::mstatus::mie::test(h.csr.mstatus);
    if ((h.csr.mie & riscv::mip::mtip::mask) != 0 && firmware_takes) {
        t.deadline = detail::min(t.deadline, shared.mtimecmp[h.index]);
        t.wanted = true;
    }
    return t;
}

/// The physical MTIE for a timer nobody may want: set only when someone does.
/// No mtimecmp value means "never": MTIP is pending while mtime >= mtimecmp
/// (priv. spec 3.2.1), so even all ones fires once mtime reaches 2^64-1 (the
/// firmware can write mtime), and a monitor that kept MTIE enabled with
/// nothing to do about it would take that interrupt for ever.
[[nodiscard, gnu::always_inline]] constexpr u64 physical_mtie(const physical_timer_setting& t) noexcept {
    return t.wanted ? riscv::mip::mtip::mask : 0;
}

/// Programs `h`'s physical timer and MTIE (only that bit of the physical mie
/// changes, by csrs/csrc: the OS may have written its own enables natively).
template <arch Arch, platform Platform, u32 MaxHarts>
[[gnu::always_inline]] inline void program_physical_timer(Arch& hw, Platform& board, shared_state<MaxHarts>& shared,
                                                          hart& h) noexcept {
    const physical_timer_setting t = physical_timer_for(shared, h);
    set_hart_timer(board, h, t.deadline);
    const u64 mtie = physical_mtie(t);
    if ((h.physical_mie & riscv::mip::mtip::mask) == mtie) return;
    if (mtie != 0)
        (void)hw.template set<riscv::csr::mie>(mtie);
    else
        (void)hw.template clear<riscv::csr::mie>(riscv::mip::mtip::mask);
    h.physical_mie = (h.physical_mie & ~riscv::mip::mtip::mask) | mtie;
}

}  // namespace vfm::virt
