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
#pragma once

#include <vfm/detail/atomic.hpp>
#include <vfm/detail/sha256.hpp>
#include <vfm/policy/hooks.hpp>
#include <vfm/policy/sbi_call.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/instruction.hpp>
#include <vfm/riscv/pmp.hpp>
#include <vfm/virt/engine.hpp>
#include <vfm/virt/pmp_layout.hpp>
#include <vfm/virt/triggers.hpp>

namespace vfm::policy {

/// How many argument registers (a0..) an SBI call uses (SBI spec v2.0);
/// unknown calls keep all six.
[[nodiscard]] constexpr unsigned sbi_argument_count(u64 extension, u64 function) noexcept {
    namespace eid = riscv::sbi::eid;
    switch (extension) {
        case eid::legacy_set_timer:
        case eid::legacy_console_putchar:
        case eid::legacy_send_ipi:
        case eid::legacy_remote_fence_i: return 1;
        case eid::legacy_console_getchar:
        case eid::legacy_clear_ipi:
        case eid::legacy_shutdown: return 0;
        case eid::legacy_remote_sfence_vma: return 3;
        case eid::legacy_remote_sfence_vma_asid: return 4;
        case eid::base: return function == riscv::sbi::base_fid::probe_extension ? 1 : 0;
        case eid::time: return 1;
        case eid::ipi: return 2;
        case eid::rfence: {
            constexpr unsigned counts[] = {2, 4, 5, 5, 4, 5, 4};
            return function < 7 ? counts[function] : 6;
        }
        case eid::hsm: {
            constexpr unsigned counts[] = {3, 0, 1, 3};
            return function < 4 ? counts[function] : 6;
        }
        case eid::srst: return 2;
        case eid::dbcn: return function == riscv::sbi::dbcn_fid::console_write_byte ? 1 : 3;
        case eid::susp: return 3;
        case eid::pmu: {
            constexpr unsigned counts[] = {0, 1, 5, 4, 3, 1, 1, 3, 4};
            return function < 9 ? counts[function] : 6;
        }
        default: return 6;
    }
}

/// The start of a RISC-V Linux kernel image (Documentation/arch/riscv/boot-image-header.rst).
namespace linux_image {
inline constexpr u64 image_size_offset = 16;
inline constexpr u64 magic2_offset = 56;
inline constexpr u32 magic2 = 0x05435352;  ///< "RSC\x05"
}  // namespace linux_image

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

    /// rd of the OS's instruction when the kept exception was an illegal
    /// instruction that is a CSR access (mtval holds its bits, priv. spec
    /// 3.1.16), else 0.
    [[nodiscard]] static unsigned emulated_csr_read_rd(const saved_state& saved) noexcept {
        if (saved.cause != riscv::cause_value(riscv::exception::illegal_instruction)) return 0;
        const riscv::system_instruction si = riscv::decode_system(static_cast<u32>(saved.tval));
        return riscv::is_csr_op(si.op) ? si.rd : 0;
    }

    /// The firmware went back to the OS elsewhere than the instruction that
    /// trapped. A redirect of the exception to the OS's own handler (an mret
    /// to S-mode at the stvec the firmware read, 0, with sepc = the trapping
    /// instruction, as OpenSBI's sbi_trap_redirect writes it) is performed on
    /// the OS's real state; a redirect the OS cannot take stops the machine.
    /// Any other target: the OS resumes there with its own registers and
    /// supervisor CSRs (the firmware saw none of them).
    template <class E>
    void answer_kept_exception(E& engine, saved_state& saved) noexcept {
        virt::hart& h = engine.current();
        auto& hw = engine.hw();
        const u64 target = h.pc;
        const bool to_supervisor = h.os_mode == riscv::privilege::supervisor && !h.os_virtualized;
        const bool has_s = engine.features().has_s;
        const u64 cause = has_s ? hw.template read<riscv::csr::scause>() : 0;
        const u64 tval = has_s ? hw.template read<riscv::csr::stval>() : 0;
        const bool redirect = has_s && target == 0 && to_supervisor && hw.template read<riscv::csr::sepc>() == saved.pc;
        for (unsigned i = 1; i < 32; ++i) h.x[i] = saved.x[i];
        restore_csrs(engine, saved);
        saved.valid = false;
        if (!redirect) return;
        const char* why = nullptr;
        if (cause != saved.cause && !redirectable(cause))
            why = "redirected it with a cause that is not an exception an instruction raises";
        else if ((saved.stvec & ~u64{3}) == 0)
            why = "redirected it to the OS, whose stvec is 0";
        if (why == nullptr) {
            h.pc = saved.pc;
            h.os_mode = saved.mode;
            if (engine.redirect_to_os(cause, tval)) return;
            why = "redirected it to a virtualized OS";
        }
        engine.print("vfm: sandbox: hart {}: exception {:#x} of the OS at {:#x}: the firmware {}: stopping\n", h.hartid,
                     saved.cause, saved.pc, why);
        engine.board().exit(sandbox_exit_code);
        for (;;) {}
    }

    /// Causes a redirected exception may carry besides its own: the
    /// exceptions an instruction raises (priv. spec 3.1.15) but environment
    /// calls (an emulation that faults redirects the fault instead).
    [[nodiscard]] static constexpr bool redirectable(u64 cause) noexcept {
        constexpr u64 allowed = 0xff | (u64{1} << 12) | (u64{1} << 13) | (u64{1} << 15);
        return cause < 64 && ((allowed >> cause) & 1) != 0;
    }

    /// m_state: the handover's progress.
    static constexpr u32 before = 0;       ///< the firmware has not entered the OS yet
    static constexpr u32 claimed = 3;      ///< a hart leads the handover; the OS's range is being found
    static constexpr u32 walling = 2;      ///< the range is known: every hart walls itself, then the measurement
    static constexpr u32 handed_over = 1;  ///< measured; the OS runs

    /// The first switch to the OS on any hart (priv. spec does not know it: a
    /// policy decision, docs/policies.md). The leading hart finds the OS's
    /// image, publishes the range to wall, walls itself and every other hart
    /// (each acknowledges in m_walled after its own PMP write; a hart that has
    /// not started the firmware walls itself in on_boot), and only then
    /// measures: no hart can write the image while it is hashed, and the hash
    /// covers exactly what will run. Another hart arriving meanwhile walls
    /// itself and waits.
    template <class E>
    void handover(E& engine) noexcept {
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
        const u64 timeout =
            engine.board().read_time() + wall_timeout_seconds * engine.board().layout().timebase_frequency;
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
    template <class E>
    void refuse_overlap(E& engine, const char* what, u64 address) noexcept {
        refuse_overlap(engine, what, address, address);
    }
    /// `shown`: the address the line names (the stack's sp, for its byte below).
    template <class E>
    void refuse_overlap(E& engine, const char* what, u64 address, u64 shown) noexcept {
        if (address < m_os_base || address >= m_os_end) return;
        engine.print(
            "vfm: sandbox: the firmware's own memory ({} at {:#x}) lies in the OS's range [{:#x}, {:#x}), "
            "which the sandbox walls off from the firmware: not starting the OS\n",
            what, shown, m_os_base, m_os_end);
        engine.board().exit(sandbox_exit_code);
        for (;;) {}
    }

    void wait_for_range() noexcept {
        while (detail::atomic_load(&m_state) == claimed) {}
    }

    template <class E>
    void wall_off(E& engine) noexcept {
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

    /// The OS image the firmware hands over to: the range its RISC-V Linux
    /// image header at the entry declares.
    struct image {
        u64 entry = 0;  ///< physical
        u64 base = 0;
        u64 size = 0;  ///< 0: no header there
    };

    template <class E>
    [[nodiscard]] image find_image(E& engine, u64 pc) noexcept {
        image out;
        out.entry = pc;
        out.base = pc;
        // The entry as the OS will fetch it (Linux is entered with satp Bare;
        // anything else is translated the way the OS will see it).
        const virt::translation_regime regime = engine.os_regime();
        u8 header[64] = {};
        virt::guest_fault fault;
        const bool read = engine.with_os_memory([&](auto& memory) {
            virt::physical_class klass = virt::physical_class::refused;
            const virt::guest_translation t =
                memory.translate(regime, pc, 1, virt::access_kind::fetch, virt::reach::ram, klass);
            if (!t.ok) return false;
            out.entry = t.physical;
            out.base = t.physical;
            virt::translation_regime physical = regime;
            physical.privilege = riscv::privilege::machine;
            return memory.copy_from_guest(physical, t.physical, header, sizeof header, fault);
        });
        if (!read || load32(header + linux_image::magic2_offset) != linux_image::magic2) return out;
        const u64 size = load64(header + linux_image::image_size_offset);
        const memory_layout& layout = engine.board().layout();
        if (size == 0 || !layout.ram.contains(out.base, size) || layout.monitor.overlaps(out.base, size) ||
            layout.shared_buffer.overlaps(out.base, size))
            return out;
        out.size = size;
        return out;
    }

    /// SHA-256 of the entry (8 bytes, little-endian) and the image; the image
    /// is RAM outside the monitor (find_image checked), read in place.
    template <class E>
    void measure(E& engine, const image& os) noexcept {
        detail::sha256 hash;
        u8 entry_bytes[8];
        for (unsigned i = 0; i < 8; ++i) entry_bytes[i] = static_cast<u8>(os.entry >> (8 * i));
        hash.update(entry_bytes, 8);
        if (os.size != 0) {
            const u8* bytes = engine.hw().physical(os.base, os.size);
            if (bytes != nullptr) hash.update(bytes, os.size);
        }
        hash.finish(m_measurement);
        char text[65];
        detail::to_hex(m_measurement, text);
        if constexpr (Settings::expected_measurement != nullptr) {
            u8 expected[32];
            if (os.size == 0) {
                engine.print(
                    "vfm: sandbox: the OS image at {:#x} has no RISC-V image header to measure: not starting it\n",
                    os.entry);
                engine.board().exit(sandbox_exit_code);
                for (;;) {}
            }
            if (!detail::from_hex(Settings::expected_measurement, expected) || !equal(expected, m_measurement)) {
                engine.print(
                    "vfm: sandbox: the OS image (entry {:#x}, {} bytes) measures {}, not the expected {}: not starting "
                    "it\n",
                    os.entry, os.size, static_cast<const char*>(text), Settings::expected_measurement);
                engine.board().exit(sandbox_exit_code);
                for (;;) {}
            }
        }
        if constexpr (Settings::verbose)
            engine.print("vfm: sandbox: OS image at {:#x}, {} bytes, SHA-256 {}\n", os.entry, os.size,
                         static_cast<const char*>(text));
    }

    template <class E>
    void hide_csrs(E& engine, saved_state& saved) noexcept {
        using riscv::csr;
        saved.satp = engine.current().csr.satp;  // the virtual satp the firmware would read
        engine.current().csr.satp = 0;
        // A hart without S-mode has no supervisor CSRs (priv. spec 3.1.1, 4.1):
        // its OS runs in U-mode and leaves nothing there to hide.
        if (!engine.features().has_s) return;
        auto& hw = engine.hw();
        saved.sstatus = hw.template read<csr::sstatus>();
        hw.template write<csr::sstatus>(0);
        saved.stvec = hw.template swap<csr::stvec>(0);
        saved.sscratch = hw.template swap<csr::sscratch>(0);
        saved.sepc = hw.template swap<csr::sepc>(0);
        saved.scause = hw.template swap<csr::scause>(0);
        saved.stval = hw.template swap<csr::stval>(0);
        saved.scounteren = hw.template swap<csr::scounteren>(0);
        if (engine.features().has_senvcfg) saved.senvcfg = hw.csr_swap(csr::senvcfg, 0).value;
    }

    template <class E>
    void restore_csrs(E& engine, const saved_state& saved) noexcept {
        using riscv::csr;
        engine.current().csr.satp = saved.satp;
        if (!engine.features().has_s) return;  // see hide_csrs
        auto& hw = engine.hw();
        hw.template write<csr::sstatus>(saved.sstatus);
        hw.template write<csr::stvec>(saved.stvec);
        hw.template write<csr::sscratch>(saved.sscratch);
        hw.template write<csr::sepc>(saved.sepc);
        hw.template write<csr::scause>(saved.scause);
        hw.template write<csr::stval>(saved.stval);
        hw.template write<csr::scounteren>(saved.scounteren);
        if (engine.features().has_senvcfg) (void)hw.csr_write(csr::senvcfg, saved.senvcfg);
        hw.template write<csr::satp>(saved.satp);
    }

    /// The regime of a physical address the OS passes (the debug console's
    /// buffers, SBI spec 12): S-mode's rights, no translation.
    [[nodiscard]] static constexpr virt::translation_regime os_physical(const virt::translation_regime& os) noexcept {
        virt::translation_regime r = os;
        r.privilege = riscv::privilege::supervisor;
        r.virtualized = false;
        r.satp = 0;
        return r;
    }

    /// Whether the call is a debug-console transfer, and its buffer.
    [[nodiscard]] static constexpr bool console_buffer_call(const virt::hart& h) noexcept {
        return h.reg(17) == riscv::sbi::eid::dbcn && h.reg(16) != riscv::sbi::dbcn_fid::console_write_byte;
    }
    [[nodiscard]] static constexpr bool legacy_mask_call(u64 extension) noexcept {
        namespace eid = riscv::sbi::eid;
        return extension == eid::legacy_send_ipi || extension == eid::legacy_remote_fence_i ||
               extension == eid::legacy_remote_sfence_vma || extension == eid::legacy_remote_sfence_vma_asid;
    }

    /// SBI calls that hand the firmware memory the OS may not use are answered
    /// here with the error the SBI spec gives, before anything is copied: the
    /// debug console's buffer (physical, SBI spec 12.1-12.2:
    /// SBI_ERR_INVALID_PARAM; above 2^64, base_addr_hi != 0, it cannot exist on
    /// RV64) and a legacy hart mask (virtual, SBI_ERR_INVALID_ADDRESS).
    template <class E>
    bool refuse_bad_pointers(E& engine) noexcept {
        const virt::hart& h = engine.current();
        const region buffer = engine.board().layout().shared_buffer;
        if (console_buffer_call(h)) {
            const u64 length = h.reg(10) < buffer.size ? h.reg(10) : buffer.size;
            const virt::translation_regime regime = os_physical(engine.os_regime());
            const bool read = h.reg(16) == riscv::sbi::dbcn_fid::console_read;
            virt::guest_fault fault;
            const bool ok = h.reg(12) == 0 && engine.with_os_memory([&](auto& memory) {
                return memory.check_range(regime, h.reg(11), length,
                                          read ? virt::access_kind::store : virt::access_kind::load, fault);
            });
            if (ok) return false;
            sbi_return(engine, riscv::sbi::error::invalid_param);
            return true;
        }
        if (legacy_mask_call(h.reg(17)) && h.reg(10) != 0) {
            const virt::translation_regime regime = engine.os_regime();
            virt::guest_fault fault;
            const u64 mask_address = h.reg(10);
            if (engine.with_os_memory([&](auto& memory) {
                    return memory.check_range(regime, mask_address, 8, virt::access_kind::load, fault);
                }))
                return false;
            engine.set_reg(10, static_cast<u64>(static_cast<i64>(riscv::sbi::error::invalid_address)));
            engine.skip_instruction(4);
            return true;
        }
        return false;
    }

    /// The debug console's buffers (physical addresses, SBI spec 12) and the
    /// legacy calls' hart masks (virtual addresses) are copied into the shared
    /// buffer on the guarded path with the OS's rights, and the firmware gets
    /// that buffer's address instead. Runs while the OS's PMP view is in place.
    template <class E>
    void bounce_pointer_arguments(E& engine, saved_state& saved, const virt::translation_regime& os) noexcept {
        namespace eid = riscv::sbi::eid;
        virt::hart& h = engine.current();
        const region buffer = engine.board().layout().shared_buffer;
        if (buffer.size == 0) return;
        const u64 extension = saved.x[17];
        const u64 function = saved.x[16];
        u8* bounce = engine.hw().physical(buffer.base, buffer.size);
        if (bounce == nullptr) return;
        virt::guest_fault fault;
        if (extension == eid::dbcn && function != riscv::sbi::dbcn_fid::console_write_byte) {
            const u64 length = saved.x[10] < buffer.size ? saved.x[10] : buffer.size;
            const u64 address = saved.x[11];  // RV64: base_addr_lo holds the whole physical address
            const virt::translation_regime regime = os_physical(os);
            if (function == riscv::sbi::dbcn_fid::console_write && !engine.with_os_memory([&](auto& memory) {
                    return memory.copy_from_guest(regime, address, bounce, length, fault);
                })) {
                h.x[10] = 0;  // the firmware writes nothing the OS could not read itself
            } else {
                h.x[10] = length;
            }
            if (function == riscv::sbi::dbcn_fid::console_read) {
                saved.bounce_read = true;
                saved.bounce_address = address;
                saved.bounce_length = length;
            }
            h.x[11] = buffer.base;
            h.x[12] = 0;
            return;
        }
        if (legacy_mask_call(extension)) {
            if (saved.x[10] == 0 || !engine.with_os_memory([&](auto& memory) {
                    return memory.copy_from_guest(os, saved.x[10], bounce, 8, fault);
                })) {
                for (unsigned i = 0; i < 8; ++i) bounce[i] = 0;
            }
            h.x[10] = saved.x[10] == 0 ? 0 : buffer.base;
        }
    }

    /// After a console read: the bytes the firmware put in the bounce buffer go
    /// to the OS's buffer, at most as many as the OS asked for, on the guarded
    /// path with the OS's rights (its PMP view, for the time of the copy).
    template <class E>
    void finish_console_read(E& engine, saved_state& saved) noexcept {
        virt::hart& h = engine.current();
        const region buffer = engine.board().layout().shared_buffer;
        const u8* bounce = engine.hw().physical(buffer.base, buffer.size);
        u64 count = h.x[11] < saved.bounce_length ? h.x[11] : saved.bounce_length;
        if (count > buffer.size) count = buffer.size;
        saved.bounce_read = false;
        if (h.x[10] != 0) return;  // the firmware's error stands
        if (bounce == nullptr || count == 0) {
            h.x[11] = 0;
            return;
        }
        const virt::translation_regime regime = os_physical(engine.os_regime());
        virt::guest_fault fault;
        const u64 address = saved.bounce_address;
        const bool copied = engine.with_os_memory(
            [&](auto& memory) { return memory.copy_to_guest(regime, address, bounce, count, fault); });
        h.x[11] = copied ? count : 0;
    }

    [[nodiscard]] static constexpr u32 load32(const u8* p) noexcept {
        return u32{p[0]} | u32{p[1]} << 8 | u32{p[2]} << 16 | u32{p[3]} << 24;
    }
    [[nodiscard]] static constexpr u64 load64(const u8* p) noexcept {
        return u64{load32(p)} | u64{load32(p + 4)} << 32;
    }
    [[nodiscard]] static constexpr bool equal(const u8 (&a)[32], const u8 (&b)[32]) noexcept {
        for (unsigned i = 0; i < 32; ++i)
            if (a[i] != b[i]) return false;
        return true;
    }

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
