// SPDX-License-Identifier: MIT
/// The firmware's debug triggers (Sdtrig, Debug spec 1.0 ch. 5; docs/triggers.md).
///
/// The hardware keeps everything but the privilege bits: tselect, tdata2,
/// tdata3, and tdata1's other fields with the hardware's own legalization. The
/// virtual hart keeps the privilege bits the firmware asked for
/// (hart::trigger_modes), and the hart holds them mapped for the world that
/// runs: while the firmware runs (physically U-mode) u = its m and nothing
/// else; while the OS runs its s, u, vs, vu as written. m is never set, so no
/// trigger fires in the monitor.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/trigger.hpp>
#include <vfm/virt/hart.hpp>

namespace vfm::virt {

/// The triggers vfm tracks per hart (hart::trigger_modes); a hart with more
/// shows the firmware this many.
inline constexpr unsigned max_triggers = sizeof(hart::trigger_modes);

/// The privilege bits a trigger holds physically while `running` runs, for
/// the firmware's `modes` (riscv::trigger::mode).
[[nodiscard]] constexpr u8 physical_trigger_modes(u8 modes, world running) noexcept {
    namespace mode = riscv::trigger::mode;
    if (running == world::firmware) return (modes & mode::m) != 0 ? mode::u : 0;
    return modes & (mode::s | mode::u | mode::vs | mode::vu);
}

/// The tdata1 types the firmware may program: those whose privilege bits
/// decide where they fire. Not itrigger and etrigger (4, 5): they fire just
/// before the first instruction of the trap handler (5.7.6, 5.7.7), the
/// monitor's for every trap from the firmware; not tmexttrigger (7), which
/// fires in any mode, nor types vfm does not know.
[[nodiscard]] constexpr bool containable_type(u64 type) noexcept {
    namespace tr = riscv::trigger;
    return type == tr::type_none || type == tr::type_mcontrol || type == tr::type_icount ||
           type == tr::type_mcontrol6 || type == tr::type_disabled;
}
/// tinfo's info bits of the containable types.
inline constexpr u64 containable_types = 0x804d;

/// A tdata1 of a containable type as the monitor writes it: dmode 0 (M-mode
/// cannot set it, 5.7.2), action 0, a breakpoint exception (5.7.3, table
/// 5.6: no Debug Mode, trace or external action on the firmware's behalf),
/// and for mcontrol timing 0 (5.7.3: an action taken after the instruction
/// could come after the trap into the monitor that followed it).
[[nodiscard]] constexpr u64 contained_tdata1(u64 value) noexcept {
    namespace tr = riscv::trigger;
    tr::layout l{};
    const u64 type = tr::tdata1::type::extract(value);
    if (!containable_type(type) || !tr::layout_of(type, l)) return 0;
    const u64 timing = type == tr::type_mcontrol ? u64{1} << 18 : 0;
    return value & ~tr::tdata1::dmode::mask & ~l.action & ~timing;
}

/// Whether some trigger of `h` holds privilege bits (the world switches then
/// reprogram them).
[[nodiscard]] constexpr bool any_trigger_modes(const hart& h) noexcept {
    u8 any = 0;
    for (unsigned i = 0; i < h.features.trigger_count && i < max_triggers; ++i) any |= h.trigger_modes[i];
    return any != 0;
}

/// Puts every trigger's privilege bits for `running` into the hart, keeping
/// tselect. Off the hot path: the world switches call it only while
/// hart::triggers_active.
template <arch A>
[[gnu::noinline]] void program_triggers(A& hw, const hart& h, world running) noexcept {
    using riscv::csr;
    namespace tr = riscv::trigger;
    const u64 selected = hw.csr_read(csr::tselect).value;
    for (unsigned i = 0; i < h.features.trigger_count && i < max_triggers; ++i) {
        (void)hw.csr_write(csr::tselect, i);
        const u64 now = hw.csr_read(csr::tdata1).value;
        // A data-value match in the OS's world would tell the firmware what the
        // OS loads and stores: none where a policy hides the OS (the sandbox).
        const bool hidden = running == world::os && h.os_value_triggers_denied && tr::matches_data(now);
        const u64 wanted = tr::with_modes(now, hidden ? 0 : physical_trigger_modes(h.trigger_modes[i], running));
        if (wanted != now) (void)hw.csr_write(csr::tdata1, wanted);
    }
    (void)hw.csr_write(csr::tselect, selected);
}

/// Takes the triggers as the hart holds them at boot into the virtual hart
/// (their privilege bits are the firmware's at reset) and programs them for
/// the firmware. A trigger of a type the firmware may not program is
/// disabled (writing 0 disables a trigger, 5.7.2).
template <arch A>
void adopt_triggers(A& hw, hart& h) noexcept {
    using riscv::csr;
    namespace tr = riscv::trigger;
    const u64 selected = hw.csr_read(csr::tselect).value;
    for (unsigned i = 0; i < h.features.trigger_count && i < max_triggers; ++i) {
        (void)hw.csr_write(csr::tselect, i);
        u64 value = hw.csr_read(csr::tdata1).value;
        if (!containable_type(tr::tdata1::type::extract(value))) {
            (void)hw.csr_write(csr::tdata1, 0);
            value = hw.csr_read(csr::tdata1).value;
        }
        const u64 type = tr::tdata1::type::extract(value);
        h.trigger_modes[i] = static_cast<u8>(tr::modes_of(value) & h.features.trigger_modes[type]);
    }
    for (unsigned i = h.features.trigger_count; i < max_triggers; ++i) h.trigger_modes[i] = 0;
    (void)hw.csr_write(csr::tselect, selected);
    h.triggers_active = any_trigger_modes(h);
    program_triggers(hw, h, world::firmware);
}

/// Finds the hart's triggers (Debug spec 5.7.1, 5.7.10): tselect takes the
/// values 0..n-1 (a value it does not take reads back as another); tinfo,
/// where it exists, lists the types and says 1 where no trigger is; type 0
/// means none. For each containable type the hart takes (2, 3, 6: tinfo's,
/// else found by writing it), the privilege bits it lets tdata1 hold, learnt
/// on trigger 0 with no execute, load, store or count, so that it cannot fire
/// meanwhile; trigger 0 is put back. Never writes another type (QEMU 7.2
/// aborts on a tdata1 write of type 1 or 8 to 14).
template <arch A>
void probe_triggers(A& hw, hart_features& f) noexcept {
    using riscv::csr;
    namespace tr = riscv::trigger;
    const csr_result selected = hw.csr_read(csr::tselect);
    if (!selected.ok || !hw.csr_read(csr::tdata1).ok) return;
    f.has_tinfo = hw.csr_read(csr::tinfo).ok;
    unsigned count = 0;
    for (; count < max_triggers; ++count) {
        if (!hw.csr_write(csr::tselect, count) || hw.csr_read(csr::tselect).value != count) break;
        if (f.has_tinfo && tr::tinfo_info::extract(hw.csr_read(csr::tinfo).value) == 1) break;
        if (tr::tdata1::type::extract(hw.csr_read(csr::tdata1).value) == tr::type_none) break;
    }
    f.trigger_count = static_cast<u8>(count);
    if (count != 0) {
        (void)hw.csr_write(csr::tselect, 0);
        const u64 listed = f.has_tinfo ? tr::tinfo_info::extract(hw.csr_read(csr::tinfo).value) : 0x4c;
        const u64 old1 = hw.csr_read(csr::tdata1).value;
        const u64 old2 = hw.csr_read(csr::tdata2).value;
        const csr_result old3 = hw.csr_read(csr::tdata3);
        for (u64 type = tr::type_mcontrol; type <= tr::type_mcontrol6; ++type) {
            if (((listed >> type) & 1) == 0 || !containable_type(type)) continue;
            tr::layout l{};
            (void)tr::layout_of(type, l);
            (void)hw.csr_write(csr::tdata1, tr::tdata1::type::make(type) | l.modes_mask());
            const u64 back = hw.csr_read(csr::tdata1).value;
            if (tr::tdata1::type::extract(back) != type) continue;
            f.trigger_types = static_cast<u16>(f.trigger_types | (1u << type));
            f.trigger_modes[type] = tr::modes_of(back);
        }
        (void)hw.csr_write(csr::tdata1, old1);
        (void)hw.csr_write(csr::tdata2, old2);
        if (old3.ok) (void)hw.csr_write(csr::tdata3, old3.value);
    }
    (void)hw.csr_write(csr::tselect, selected.value);
}

}  // namespace vfm::virt
