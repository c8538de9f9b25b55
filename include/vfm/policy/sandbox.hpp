// SPDX-License-Identifier: MIT
/// The sandbox policy: once the firmware has handed the machine over to the
/// OS, the firmware can no longer read, write or execute the OS's memory, sees
/// none of the OS's registers and supervisor CSRs beyond what an SBI call
/// needs, and the OS image is measured before it first runs (docs/policies.md).
///
///   - Memory: at the first switch to the OS (on any hart, the *handover*),
///     two monitor PMP entries on every hart wall [OS base, end of RAM) off
///     from the firmware (physical U-mode) and from every access the monitor
///     makes for it (the guarded path checks the same entries in software).
///     The handover walls every hart and waits until each has acknowledged
///     before it measures; a hart that starts later is walled before it runs.
///   - Registers: on a switch into the firmware the OS's general registers are
///     saved and cleared, except the arguments of the SBI call being made
///     (per extension and function); on the way back only a0 and a1 (the SBI
///     return values) come from the firmware.
///   - Supervisor CSRs: sstatus, stvec, sscratch, sepc, scause, stval, satp,
///     scounteren and senvcfg are saved and cleared while the firmware runs
///     (stimecmp stays: the firmware programs it for set_timer).
///   - Traps: an exception of the OS that the firmware keeps in M-mode
///     (medeleg) reaches the firmware as natively, with the OS's registers
///     and supervisor CSRs cleared as for an SBI call (mepc, mcause and mtval
///     as the hardware reported them). Its answer is checked when it returns
///     to the OS: back at the instruction or past it (retried or emulated;
///     of the firmware's registers only rd of an emulated CSR read reaches
///     the OS), or a redirect to the OS's trap vector (an mret to S-mode at
///     the stvec the firmware saw, 0, with an exception cause in scause),
///     which the policy performs on the OS's real state; a redirect to an OS
///     whose stvec is 0 (or with an ecall's cause) stops the machine with one
///     line. Any other return resumes the OS there with its own state.
///   - Pointers: SBI calls that hand the firmware an OS pointer (the debug
///     console, the legacy hart masks) go through a bounce buffer in memory the
///     firmware may use; the OS's memory is reached on the guarded path with
///     the OS's own rights, and an address the OS may not use is refused
///     (SBI_ERR_INVALID_PARAM for the debug console, SBI spec 12;
///     SBI_ERR_INVALID_ADDRESS for a legacy hart mask), never a fault.
///   - Measurement: SHA-256 over the entry address (8 bytes, little-endian)
///     followed by the image the RISC-V Linux image header at the entry
///     declares (`image_size` bytes from the entry), computed once every hart
///     is walled, before the OS first runs; with an expected value configured,
///     a mismatch, or an image without that header, stops the boot with one line.
///
/// This file declares the class and defines its hooks (the registers' part);
/// the handover, the measurement, the OS's state while the firmware runs and
/// the OS's pointers are defined out of line in policy/sandbox/, one header
/// each, included at the end of this file.
#pragma once

#include <vfm/detail/atomic.hpp>
#include <vfm/platform.hpp>
#include <vfm/policy/hooks.hpp>
#include <vfm/policy/sbi_call.hpp>
#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/privilege.hpp>
#include <vfm/riscv/sbi.hpp>
#include <vfm/virt/guest_access.hpp>
#include <vfm/virt/hart.hpp>
#include <vfm/virt/pmp_layout.hpp>

namespace vfm::policy {

/// Settings of the sandbox: `expected_measurement`, the SHA-256 (64 hex digits)
/// the OS image must have, or nullptr to only compute it; `verbose` prints it.
struct sandbox_settings {
    static constexpr const char* expected_measurement = nullptr;
    static constexpr bool verbose = false;
};

template <u32 MaxHarts, class Settings = sandbox_settings>
class sandbox {
public:
    static constexpr const char* name = "sandbox";
    static constexpr hook_set hooks = hook::reserve_pmp | hook::on_boot | hook::on_enter_os | hook::on_enter_firmware |
                                      hook::on_os_trap | hook::on_request | hook::on_trap;
    static constexpr unsigned pmp_entries = 2;
    /// Clearing and restoring the OS's registers needs all of them in the context.
    static constexpr bool needs_all_registers = true;

    /// Two entries: the OS region as a TOR pair, off until the handover.
    bool reserve_pmp(virt::pmp_layout& layout, const memory_layout&) noexcept {
        m_first_entry = layout.reserved_count;
        return layout.add_range(0, 0, virt::pmp_layout::pmp_off, virt::pmp_layout::pmp_off);
    }

    template <class E>
    void on_enter_os(E& engine) noexcept {
        virt::hart& h = engine.current();
        if (detail::atomic_load(&m_state) != handed_over) handover(engine);
        wall_off(engine);
        // The OS's registers come back, but for the SBI call's results.
        saved_state& saved = m_saved[h.index];
        // Back to where the OS trapped (after the ecall, or at the interrupted
        // instruction): its state returns. Anywhere else (a hart started or
        // resumed through HSM) the OS starts afresh with what the firmware set.
        const bool returning =
            saved.valid && (h.pc == saved.pc || ((saved.sbi || saved.user_call) && h.pc == saved.pc + 4) ||
                            (saved.kept && (h.pc == saved.pc + 2 || h.pc == saved.pc + 4)));
        if (saved.valid && (saved.kept || saved.user_call) && !returning) {
            answer_kept_exception(engine, saved);
            return;
        }
        if (saved.valid && !returning) {
            saved.valid = false;
            saved.bounce_read = false;
        }
        if (saved.valid) {
            const u64 a0 = h.x[10];
            const u64 a1 = h.x[11];
            // An emulated CSR read (OpenSBI emulates `time` and the counters
            // where the hart lacks them): rd is the firmware's answer.
            const unsigned rd = saved.kept && h.pc != saved.pc ? emulated_csr_read_rd(saved) : 0;
            const u64 answer = h.x[rd];
            for (unsigned i = 1; i < 32; ++i) h.x[i] = saved.x[i];
            if (saved.sbi || saved.user_call) {
                h.x[10] = a0;
                // Legacy calls (SBI 5) return a0 only; every other register is preserved.
                if (saved.user_call || saved.x[17] >= riscv::sbi::eid::base) h.x[11] = a1;
            }
            if (rd != 0) h.x[rd] = answer;
            restore_csrs(engine, saved);
            if (saved.bounce_read) finish_console_read(engine, saved);
            saved.valid = false;
        }
    }

    template <class E>
    void on_enter_firmware(E& engine) noexcept {
        if (detail::atomic_load(&m_state) != handed_over) return;
        virt::hart& h = engine.current();
        saved_state& saved = m_saved[h.index];
        // The OS's translation, for pointers it passes, while its satp is still known.
        const virt::translation_regime os = engine.os_regime();
        for (unsigned i = 1; i < 32; ++i) saved.x[i] = h.x[i];
        saved.sbi = is_sbi_call(h.csr.mcause);
        // An ecall from U-mode the firmware keeps is a call to it too: its
        // arguments (a0-a5, a6, a7) go, a0 and a1 come back.
        saved.user_call = h.csr.mcause == riscv::cause_value(riscv::exception::ecall_from_u);
        saved.kept = !saved.sbi && !saved.user_call && !riscv::mcause::interrupt::test(h.csr.mcause);
        saved.cause = h.csr.mcause;
        saved.tval = h.csr.mtval;
        saved.mode = h.os_mode;
        saved.pc = h.csr.mepc;
        saved.bounce_read = false;
        const unsigned kept = saved.sbi ? sbi_argument_count(h.x[17], h.x[16]) : saved.user_call ? 6 : 0;
        for (unsigned i = 1; i < 32; ++i) {
            const bool argument = i >= 10 && i < 10 + kept;
            const bool call_number = (saved.sbi || saved.user_call) && (i == 16 || i == 17);
            if (!argument && !call_number) h.x[i] = 0;
        }
        hide_csrs(engine, saved);
        saved.valid = true;
        if (saved.sbi) bounce_pointer_arguments(engine, saved, os);
    }

    /// SBI calls whose memory arguments the OS may not use are refused here;
    /// every other trap goes its way to the firmware.
    template <class E>
    bool on_os_trap(E& engine, u64 cause) noexcept {
        if (detail::atomic_load(&m_state) != handed_over) return false;
        if (is_sbi_call(cause)) return refuse_bad_pointers(engine);
        // Interrupts and the exceptions the firmware keeps reach it, the OS's
        // state hidden (on_enter_firmware); its answer is checked in on_enter_os.
        return false;
    }

    /// A hart about to start the firmware: announced, and walled first if the
    /// OS has been handed over already (see handover).
    template <class E>
    void on_boot(E& engine) noexcept {
        detail::atomic_store(&m_started[engine.current().index], u32{1});
        detail::atomic_fence();
        if (detail::atomic_load(&m_state) != before) {
            wait_for_range();
            wall_off(engine);
        }
    }

    /// Another hart handed over: wall the OS off on this one too.
    template <class E>
    void on_request(E& engine) noexcept {
        const u32 state = detail::atomic_load(&m_state);
        if (state == walling || state == handed_over) wall_off(engine);
    }
    template <class E>
    void on_trap(E& engine, u64) noexcept {
        const u32 state = detail::atomic_load(&m_state);
        if ((state == walling || state == handed_over) && detail::atomic_load(&m_walled[engine.current().index]) == 0)
            wall_off(engine);
    }

    [[nodiscard]] const u8 (&measurement() const noexcept)[32] { return m_measurement; }

    /// How long the handover waits for a hart to acknowledge its wall before
    /// it stops the machine (a hart that never answers would otherwise let the
    /// measurement wait for ever), in seconds of the platform timer.
    static constexpr u64 wall_timeout_seconds = 5;

private:
    struct saved_state {
        u64 x[32] = {};
        u64 sstatus = 0;
        u64 stvec = 0;
        u64 sscratch = 0;
        u64 sepc = 0;
        u64 scause = 0;
        u64 stval = 0;
        u64 satp = 0;
        u64 scounteren = 0;
        u64 senvcfg = 0;
        u64 pc = 0;              ///< where the OS trapped
        u64 bounce_address = 0;  ///< a console read to copy back: the OS's buffer (physical)
        u64 bounce_length = 0;   ///< and the size the OS gave (at most the bounce buffer)
        bool bounce_read = false;
        bool sbi = false;
        bool valid = false;
        /// An exception the firmware kept (not an SBI call, not an interrupt):
        /// its cause, mtval and the OS's mode then, to check the answer.
        bool kept = false;
        bool user_call = false;  ///< an ecall from U-mode (not SBI): passed on like a call
        u64 cause = 0;
        u64 tval = 0;
        riscv::privilege mode = riscv::privilege::supervisor;
    };

    /// m_state: the handover's progress.
    static constexpr u32 before = 0;       ///< the firmware has not entered the OS yet
    static constexpr u32 claimed = 3;      ///< a hart leads the handover; the OS's range is being found
    static constexpr u32 walling = 2;      ///< the range is known: every hart walls itself, then the measurement
    static constexpr u32 handed_over = 1;  ///< measured; the OS runs

    // ---- the handover: the wall on every hart (policy/sandbox/handover.hpp) ----

    template <class E>
    void handover(E& engine) noexcept;
    template <class E>
    void refuse_overlap(E& engine, const char* what, u64 address) noexcept;
    template <class E>
    void refuse_overlap(E& engine, const char* what, u64 address, u64 shown) noexcept;
    void wait_for_range() noexcept;
    template <class E>
    void wall_off(E& engine) noexcept;

    // ---- the OS's measurement (policy/sandbox/measurement.hpp) ----

    /// The OS image the firmware hands over to: the range its RISC-V Linux
    /// image header at the entry declares.
    struct image {
        u64 entry = 0;  ///< physical
        u64 base = 0;
        u64 size = 0;  ///< 0: no header there
    };

    template <class E>
    [[nodiscard]] image find_image(E& engine, u64 pc) noexcept;
    template <class E>
    void measure(E& engine, const image& os) noexcept;
    [[nodiscard]] static constexpr u32 load32(const u8* p) noexcept;
    [[nodiscard]] static constexpr u64 load64(const u8* p) noexcept;
    [[nodiscard]] static constexpr bool equal(const u8 (&a)[32], const u8 (&b)[32]) noexcept;

    // ---- the OS's state while the firmware runs (policy/sandbox/os_state.hpp) ----

    template <class E>
    void hide_csrs(E& engine, saved_state& saved) noexcept;
    template <class E>
    void restore_csrs(E& engine, const saved_state& saved) noexcept;
    [[nodiscard]] static unsigned emulated_csr_read_rd(const saved_state& saved) noexcept;
    template <class E>
    void answer_kept_exception(E& engine, saved_state& saved) noexcept;
    [[nodiscard]] static constexpr bool redirectable(u64 cause) noexcept;

    // ---- the OS's pointers in SBI calls (policy/sandbox/pointers.hpp) ----

    [[nodiscard]] static constexpr virt::translation_regime os_physical(const virt::translation_regime& os) noexcept;
    [[nodiscard]] static constexpr bool console_buffer_call(const virt::hart& h) noexcept;
    [[nodiscard]] static constexpr bool legacy_mask_call(u64 extension) noexcept;
    template <class E>
    bool refuse_bad_pointers(E& engine) noexcept;
    template <class E>
    void bounce_pointer_arguments(E& engine, saved_state& saved, const virt::translation_regime& os) noexcept;
    template <class E>
    void finish_console_read(E& engine, saved_state& saved) noexcept;

public:
    /// QEMU's exit status when the measurement does not match.
    static constexpr u32 sandbox_exit_code = 71;

private:
    saved_state m_saved[MaxHarts] = {};
    u32 m_walled[MaxHarts] = {};   ///< 1 once the hart's PMP holds the wall (its acknowledgement)
    u32 m_started[MaxHarts] = {};  ///< 1 once the hart is about to run the firmware
    u32 m_state = before;          ///< the handover's progress (before, claimed, walling, handed_over)
    u64 m_os_base = 0;
    u64 m_os_end = 0;
    unsigned m_first_entry = 0;
    u8 m_measurement[32] = {};
};

}  // namespace vfm::policy

#include <vfm/policy/sandbox/handover.hpp>
#include <vfm/policy/sandbox/measurement.hpp>
#include <vfm/policy/sandbox/os_state.hpp>
#include <vfm/policy/sandbox/pointers.hpp>
