// SPDX-License-Identifier: MIT
/// The counters policy: exits (traps into the monitor) by cause and by path,
/// per hart, printed at shutdown and on request (docs/policies.md).
///
/// Paths: `fast` (the firmware's CSR accesses the fast path handles),
/// `firmware` (other traps of the firmware: emulated or reflected in vM-mode),
/// `monitor` (traps of the OS answered without entering the firmware),
/// `to-firmware` and `to-os` (world switches).
#pragma once

#include <vfm/policy/hooks.hpp>
#include <vfm/policy/sbi_call.hpp>
#include <vfm/riscv/cause.hpp>
#include <vfm/virt/hart.hpp>

namespace vfm::policy {

template <u32 MaxHarts>
class counters {
public:
    static constexpr const char* name = "counters";
    static constexpr hook_set hooks = hook::on_fast_trap | hook::on_trap | hook::on_enter_firmware | hook::on_enter_os |
                                      hook::on_os_trap | hook::on_shutdown;
    static constexpr unsigned exception_causes = 24;
    static constexpr unsigned interrupt_causes = 16;

    struct hart_counts {
        u64 exceptions[exception_causes] = {};
        u64 interrupts[interrupt_causes] = {};
        u64 fast = 0;
        u64 firmware = 0;
        u64 os = 0;              ///< every trap of the OS
        u64 os_to_firmware = 0;  ///< those that entered the firmware; monitor = os - os_to_firmware
        u64 to_firmware = 0;
        u64 to_os = 0;
    };

    /// Counter indices of vfm_extension::read_counter: 0..23 exceptions,
    /// 24..39 interrupts, then fast, firmware, monitor, to-firmware, to-os.
    [[nodiscard]] constexpr u64 counter(u32 hart, u64 index) const noexcept {
        if (hart >= MaxHarts) return 0;
        const hart_counts& c = m_counts[hart];
        if (index < exception_causes) return c.exceptions[index];
        index -= exception_causes;
        if (index < interrupt_causes) return c.interrupts[index];
        index -= interrupt_causes;
        switch (index) {
            case 0: return c.fast;
            case 1: return c.firmware;
            case 2: return c.os - c.os_to_firmware;
            case 3: return c.to_firmware;
            case 4: return c.to_os;
            default: return 0;
        }
    }

    [[nodiscard]] constexpr const hart_counts& of(u32 hart) const noexcept { return m_counts[hart]; }

    /// A trap a fast path answered: the firmware's CSR access, or an OS trap a
    /// policy answered before any engine was built.
    void on_fast_trap(virt::hart& h, u64 cause) noexcept {
        hart_counts& c = m_counts[h.index];
        const u64 code = riscv::mcause::code::extract(cause);
        if (riscv::mcause::interrupt::test(cause)) {
            if (code < interrupt_causes) ++c.interrupts[code];
        } else if (code < exception_causes) {
            ++c.exceptions[code];
        }
        if (h.world == virt::world::os)
            ++c.os;
        else
            ++c.fast;
    }

    template <class E>
    void on_trap(E& engine, u64 cause) noexcept {
        hart_counts& c = m_counts[engine.current().index];
        const u64 code = riscv::mcause::code::extract(cause);
        if (riscv::mcause::interrupt::test(cause)) {
            if (code < interrupt_causes) ++c.interrupts[code];
        } else if (code < exception_causes) {
            ++c.exceptions[code];
        }
        if (engine.trap().origin == virt::world::os)
            ++c.os;
        else
            ++c.firmware;
    }

    template <class E>
    void on_enter_firmware(E& engine) noexcept {
        hart_counts& c = m_counts[engine.current().index];
        ++c.to_firmware;
        if (engine.trap().origin == virt::world::os) ++c.os_to_firmware;
    }
    template <class E>
    void on_enter_os(E& engine) noexcept {
        ++m_counts[engine.current().index].to_os;
    }

    /// The monitor's SBI extension: the report, and single counters.
    template <class E>
    bool on_os_trap(E& engine, u64 cause) noexcept {
        if (!is_sbi_call(cause)) return false;
        const sbi_call call = read_sbi_call(engine.current());
        if (call.extension != vfm_extension::eid) return false;
        switch (call.function) {
            case vfm_extension::report:
                report(engine);
                sbi_return(engine, riscv::sbi::error::success);
                return true;
            case vfm_extension::read_counter:
                sbi_return(engine, riscv::sbi::error::success, counter(static_cast<u32>(call.args[0]), call.args[1]));
                return true;
            default: sbi_return(engine, riscv::sbi::error::not_supported); return true;
        }
    }

    template <class E>
    void on_shutdown(E& engine) noexcept {
        report(engine);
    }

    /// One line per non-zero counter: `vfm: exits hart <n> path <path>: <count>`
    /// and `vfm: exits hart <n> exception|interrupt <code>: <count>`.
    template <class E>
    void report(E& engine) noexcept {
        for (u32 hart = 0; hart < engine.board().hart_count() && hart < MaxHarts; ++hart) {
            const hart_counts& c = m_counts[hart];
            const char* paths[] = {"fast", "firmware", "monitor", "to-firmware", "to-os"};
            for (u64 p = 0; p < 5; ++p)
                engine.print("vfm: exits hart {} path {}: {}\n", hart, paths[p],
                             counter(hart, exception_causes + interrupt_causes + p));
            if (const virt::hart* h = engine.shared().harts[hart]; h != nullptr && h->pmp_cached)
                engine.print("vfm: pmp hart {} misses resolved: {} (monitor instructions: {} over {})\n", hart,
                             h->pmp_misses_resolved, h->pmp_miss_instructions, h->pmp_misses_measured);
            for (unsigned e = 0; e < exception_causes; ++e)
                if (c.exceptions[e] != 0)
                    engine.print("vfm: exits hart {} exception {}: {}\n", hart, e, c.exceptions[e]);
            for (unsigned i = 0; i < interrupt_causes; ++i)
                if (c.interrupts[i] != 0)
                    engine.print("vfm: exits hart {} interrupt {}: {}\n", hart, i, c.interrupts[i]);
        }
    }

private:
    hart_counts m_counts[MaxHarts] = {};
};

}  // namespace vfm::policy
