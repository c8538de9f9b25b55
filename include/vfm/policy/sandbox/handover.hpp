// SPDX-License-Identifier: MIT
/// The sandbox's handover: at the first switch to the OS the leading hart
/// finds the OS's range, every hart walls it off from the firmware with two
/// PMP entries and acknowledges, and only then is the OS measured.
///
/// Part of the sandbox policy (policy/sandbox.hpp, which includes it at its
/// end): definitions of `sandbox` members declared there.
#pragma once

#include <vfm/policy/sandbox.hpp>

#include <vfm/detail/atomic.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/pmp.hpp>
#include <vfm/virt/hart.hpp>
#include <vfm/virt/pmp_layout.hpp>
#include <vfm/virt/shared_state.hpp>
#include <vfm/virt/triggers.hpp>

namespace vfm::policy {

/// The first switch to the OS on any hart (priv. spec does not know it: a
/// policy decision, docs/policies.md). The leading hart finds the OS's
/// image, publishes the range to wall, walls itself and every other hart
/// (each acknowledges in m_walled after its own PMP write; a hart that has
/// not started the firmware walls itself in on_boot), and only then
/// measures: no hart can write the image while it is hashed, and the hash
/// covers exactly what will run. Another hart arriving meanwhile walls
/// itself and waits.
template <u32 MaxHarts, class Settings>
template <class E>
inline void sandbox<MaxHarts, Settings>::handover(E& engine) noexcept {
    u32 expected = before;
    if (!detail::atomic_compare_exchange(&m_state, expected, claimed)) {
        wait_for_range();
        wall_off(engine);
        while (detail::atomic_load(&m_state) != handed_over) {}
        return;
    }
    const virt::hart& h = engine.current();
    const image os = find_image(engine, h.pc);
    m_os_base = os.base & ~u64{0xfff};
    m_os_end = engine.board().layout().ram.end();
    refuse_overlap(engine, "its entry point", engine.board().layout().firmware_entry);
    refuse_overlap(engine, "its trap vector", h.csr.mtvec & ~u64{3});
    // Its stack at the mret (the byte below sp: a full descending stack
    // may end where the OS begins) and its mscratch, where firmwares keep
    // their per-hart data: walled off, the firmware's next trap would
    // fault on them again and again.
    if (h.x[2] != 0) refuse_overlap(engine, "its stack", h.x[2] - 1, h.x[2]);
    if (h.csr.mscratch != 0) refuse_overlap(engine, "its mscratch", h.csr.mscratch);
    detail::atomic_store(&m_state, walling);
    detail::atomic_fence();
    wall_off(engine);
    // Every hart is asked at once, then every answer awaited: a hart asked
    // only after the others have answered would run on unwalled for the
    // sum of their delays (a descheduled vCPU, a slow core).
    bool asked[MaxHarts] = {};
    for (u32 other = 0; other < engine.board().hart_count(); ++other) {
        if (other == h.index || detail::atomic_load(&m_started[other]) == 0) continue;  // it walls itself at boot
        engine.request(other, virt::request::policy);
        asked[other] = true;
    }
    const u64 timeout = engine.board().read_time() + wall_timeout_seconds * engine.board().layout().timebase_frequency;
    for (u32 other = 0; other < engine.board().hart_count(); ++other) {
        if (!asked[other]) continue;
        while (detail::atomic_load(&m_walled[other]) == 0) {
            if (engine.board().read_time() > timeout) {
                engine.print("vfm: sandbox: hart {} did not wall itself off from the OS: not starting it\n",
                             engine.board().hart_id(other));
                engine.board().exit(sandbox_exit_code);
                for (;;) {}
            }
        }
    }
    measure(engine, os);
    detail::atomic_store(&m_state, handed_over);
}

/// The wall would cut the firmware off from its own code: say so at the
/// handover, before the firmware faults there.
template <u32 MaxHarts, class Settings>
template <class E>
inline void sandbox<MaxHarts, Settings>::refuse_overlap(E& engine, const char* what, u64 address) noexcept {
    refuse_overlap(engine, what, address, address);
}

/// `shown`: the address the line names (the stack's sp, for its byte below).
template <u32 MaxHarts, class Settings>
template <class E>
inline void sandbox<MaxHarts, Settings>::refuse_overlap(E& engine, const char* what, u64 address, u64 shown) noexcept {
    if (address < m_os_base || address >= m_os_end) return;
    engine.print(
        "vfm: sandbox: the firmware's own memory ({} at {:#x}) lies in the OS's range [{:#x}, {:#x}), "
        "which the sandbox walls off from the firmware: not starting the OS\n",
        what, shown, m_os_base, m_os_end);
    engine.board().exit(sandbox_exit_code);
    for (;;) {}
}

template <u32 MaxHarts, class Settings>
inline void sandbox<MaxHarts, Settings>::wait_for_range() noexcept {
    while (detail::atomic_load(&m_state) == claimed) {}
}

template <u32 MaxHarts, class Settings>
template <class E>
inline void sandbox<MaxHarts, Settings>::wall_off(E& engine) noexcept {
    const u32 index = engine.current().index;
    if (detail::atomic_load(&m_walled[index]) != 0) return;
    if (m_os_base < m_os_end) {
        engine.set_reserved_pmp_entry(m_first_entry, riscv::pmp::tor_encode(m_os_base), 0, 0);
        engine.set_reserved_pmp_entry(m_first_entry + 1, riscv::pmp::tor_encode(m_os_end),
                                      virt::pmp_layout::with_mode(riscv::pmpcfg::a_tor, virt::pmp_none), 0);
    }
    // The firmware's triggers stay (the OS asks for its own through SBI
    // DBTR), but none that matches on data values fires in the OS's world:
    // its exception would tell the firmware what the OS loaded or stored.
    virt::hart& h = engine.current();
    h.os_value_triggers_denied = true;
    if (h.triggers_active && h.world == virt::world::os) virt::program_triggers(engine.hw(), h, virt::world::os);
    // The acknowledgement, after this hart's own PMP writes (the handover waits for it).
    detail::atomic_store(&m_walled[index], u32{1});
}

}  // namespace vfm::policy
