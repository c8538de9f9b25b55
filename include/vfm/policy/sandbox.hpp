// SPDX-License-Identifier: MIT
/// The sandbox policy: once the firmware has handed the machine over to the
/// OS, the firmware can no longer read, write or execute the OS's memory, sees
/// none of the OS's registers and supervisor CSRs beyond what an SBI call
/// needs, and the OS image is measured before it first runs (docs/policies.md).
///
///   - Memory: at the first switch to the OS (on any hart), two monitor PMP
///     entries on every hart wall [OS base, end of RAM) off from the firmware
///     (physical U-mode) and from accesses the monitor makes for it under MPRV.
///     The OS base is the page of the entry point the firmware hands over to.
///   - Registers: on a switch into the firmware the OS's general registers are
///     saved and cleared, except the arguments of the SBI call being made
///     (per extension and function); on the way back only a0 and a1 (the SBI
///     return values) come from the firmware.
///   - Supervisor CSRs: sstatus, stvec, sscratch, sepc, scause, stval, satp,
///     scounteren and senvcfg are saved and cleared while the firmware runs
///     (stimecmp stays: the firmware programs it for set_timer).
///   - Traps: only SBI calls and interrupts reach the firmware; any other
///     exception of the OS that no policy answered is delivered to the OS
///     itself (as a firmware does with a trap it cannot emulate).
///   - Pointers: SBI calls that hand the firmware an OS pointer (the debug
///     console, the legacy hart masks) go through a bounce buffer in memory the
///     firmware may use.
///   - Measurement: SHA-256 over the entry address (8 bytes, little-endian)
///     followed by the kernel image (its size from the RISC-V Linux image
///     header), computed before the OS first runs; with an expected value
///     configured, a mismatch stops the boot with one line.
#pragma once

#include <vfm/detail/atomic.hpp>
#include <vfm/detail/sha256.hpp>
#include <vfm/policy/sbi_call.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/pmp.hpp>
#include <vfm/virt/engine.hpp>
#include <vfm/virt/pmp_layout.hpp>

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
        if (detail::atomic_load(&m_handed_over) == 0) handover(engine);
        wall_off(engine);
        // The OS's registers come back, but for the SBI call's results.
        saved_state& saved = m_saved[h.index];
        // Back to where the OS trapped (after the ecall, or at the interrupted
        // instruction): its state returns. Anywhere else (a hart started or
        // resumed through HSM) the OS starts afresh with what the firmware set.
        const bool returning = saved.valid && (h.pc == saved.pc || (saved.sbi && h.pc == saved.pc + 4));
        if (saved.valid && !returning) {
            saved.valid = false;
            saved.bounce_read = 0;
        }
        if (saved.valid) {
            const u64 a0 = h.x[10];
            const u64 a1 = h.x[11];
            for (unsigned i = 1; i < 32; ++i) h.x[i] = saved.x[i];
            if (saved.sbi) {
                h.x[10] = a0;
                // Legacy calls (SBI 5) return a0 only; every other register is preserved.
                if (saved.x[17] >= riscv::sbi::eid::base) h.x[11] = a1;
            }
            restore_csrs(engine, saved);
            if (saved.bounce_read != 0) finish_console_read(engine, saved);
            saved.valid = false;
        }
    }

    template <class E>
    void on_enter_firmware(E& engine) noexcept {
        if (detail::atomic_load(&m_handed_over) == 0) return;
        virt::hart& h = engine.current();
        saved_state& saved = m_saved[h.index];
        for (unsigned i = 1; i < 32; ++i) saved.x[i] = h.x[i];
        saved.sbi = is_sbi_call(h.csr.mcause);
        saved.pc = h.csr.mepc;
        saved.bounce_read = 0;
        const unsigned kept = saved.sbi ? sbi_argument_count(h.x[17], h.x[16]) : 0;
        for (unsigned i = 1; i < 32; ++i) {
            const bool argument = i >= 10 && i < 10 + kept;
            const bool call_number = saved.sbi && (i == 16 || i == 17);
            if (!argument && !call_number) h.x[i] = 0;
        }
        hide_csrs(engine, saved);
        saved.valid = true;
        if (saved.sbi) bounce_pointer_arguments(engine, saved);
    }

    /// Traps of the OS other than SBI calls never reach the firmware.
    template <class E>
    bool on_os_trap(E& engine, u64 cause) noexcept {
        if (detail::atomic_load(&m_handed_over) == 0) return false;
        if (is_sbi_call(cause)) {
            // A debug console buffer above 2^64 (base_addr_hi != 0 on RV64) does not
            // exist: SBI_ERR_INVALID_PARAM (SBI 12.1), as no bounce could carry it.
            const virt::hart& h = engine.current();
            const bool buffer_call = h.reg(17) == riscv::sbi::eid::dbcn &&
                                     h.reg(16) != riscv::sbi::dbcn_fid::console_write_byte;
            if (buffer_call && h.reg(12) != 0) {
                sbi_return(engine, riscv::sbi::error::invalid_param);
                return true;
            }
            return false;
        }
        if (riscv::mcause::interrupt::test(cause)) return false;
        if (engine.redirect_to_os(cause, engine.trap().tval)) return true;
        engine.print("vfm: sandbox: hart {}: exception {:#x} of a virtualized OS at {:#x} cannot be kept from the firmware\n",
                     engine.current().hartid, cause, engine.current().pc);
        return false;
    }

    /// Another hart handed over: wall the OS off on this one too.
    template <class E>
    void on_request(E& engine) noexcept {
        if (detail::atomic_load(&m_handed_over) != 0) wall_off(engine);
    }
    template <class E>
    void on_trap(E& engine, u64) noexcept {
        if (detail::atomic_load(&m_handed_over) != 0 && m_walled[engine.current().index] == 0) wall_off(engine);
    }

    [[nodiscard]] const u8 (&measurement() const noexcept)[32] { return m_measurement; }

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
        u64 pc = 0;            ///< where the OS trapped
        u64 bounce_read = 0;   ///< a console read to copy back: the OS's buffer address
        u64 bounce_length = 0;  ///< and the size the OS gave
        bool sbi = false;
        bool valid = false;
    };

    /// The first switch to the OS on any hart: measure, then wall off.
    template <class E>
    void handover(E& engine) noexcept {
        u32 expected = 0;
        if (!detail::atomic_compare_exchange(&m_handed_over, expected, u32{2})) {
            while (detail::atomic_load(&m_handed_over) != 1) {
            }
            return;
        }
        const virt::hart& h = engine.current();
        m_os_base = h.pc & ~u64{0xfff};
        m_os_end = engine.board().layout().ram.end();
        measure(engine, h.pc);
        detail::atomic_store(&m_handed_over, u32{1});
        for (u32 other = 0; other < engine.board().hart_count(); ++other)
            if (other != h.index) engine.request(other, virt::request::policy);
    }

    template <class E>
    void wall_off(E& engine) noexcept {
        const u32 index = engine.current().index;
        if (m_walled[index] != 0) return;
        m_walled[index] = 1;
        if (m_os_base >= m_os_end) return;
        engine.set_reserved_pmp_entry(m_first_entry, riscv::pmp::tor_encode(m_os_base), 0, 0);
        engine.set_reserved_pmp_entry(m_first_entry + 1, riscv::pmp::tor_encode(m_os_end),
                                      virt::pmp_layout::with_mode(riscv::pmpcfg::a_tor, virt::pmp_none), 0);
    }

    template <class E>
    void measure(E& engine, u64 entry) noexcept {
        detail::sha256 hash;
        u8 entry_bytes[8];
        for (unsigned i = 0; i < 8; ++i) entry_bytes[i] = static_cast<u8>(entry >> (8 * i));
        hash.update(entry_bytes, 8);
        u64 size = 0;
        const u8* header = engine.hw().physical(entry, 64);
        if (header != nullptr && load32(header + linux_image::magic2_offset) == linux_image::magic2)
            size = load64(header + linux_image::image_size_offset);
        if (size > m_os_end - entry) size = m_os_end - entry;
        if (size != 0) {
            const u8* image = engine.hw().physical(entry, size);
            if (image != nullptr) hash.update(image, size);
        }
        hash.finish(m_measurement);
        char text[65];
        detail::to_hex(m_measurement, text);
        if constexpr (Settings::expected_measurement != nullptr) {
            u8 expected[32];
            if (!detail::from_hex(Settings::expected_measurement, expected) || !equal(expected, m_measurement)) {
                engine.print("vfm: sandbox: the OS image (entry {:#x}, {} bytes) measures {}, not the expected {}: not starting it\n",
                             entry, size, static_cast<const char*>(text), Settings::expected_measurement);
                engine.board().exit(sandbox_exit_code);
                for (;;) {
                }
            }
        }
        if constexpr (Settings::verbose)
            engine.print("vfm: sandbox: OS image at {:#x}, {} bytes, SHA-256 {}\n", entry, size,
                         static_cast<const char*>(text));
    }

    template <class E>
    void hide_csrs(E& engine, saved_state& saved) noexcept {
        using riscv::csr;
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
        saved.satp = engine.current().csr.satp;  // the virtual satp the firmware would read
        engine.current().csr.satp = 0;
    }

    template <class E>
    void restore_csrs(E& engine, const saved_state& saved) noexcept {
        using riscv::csr;
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
        engine.current().csr.satp = saved.satp;
    }

    /// The debug console's buffers (physical addresses, SBI spec 12) and the
    /// legacy calls' hart masks (virtual addresses) are copied into the shared
    /// buffer, and the firmware gets that buffer's address instead.
    template <class E>
    void bounce_pointer_arguments(E& engine, saved_state& saved) noexcept {
        namespace eid = riscv::sbi::eid;
        virt::hart& h = engine.current();
        const region buffer = engine.board().layout().shared_buffer;
        if (buffer.size == 0) return;
        const u64 extension = saved.x[17];
        const u64 function = saved.x[16];
        u8* bounce = engine.hw().physical(buffer.base, buffer.size);
        if (bounce == nullptr) return;
        if (extension == eid::dbcn && function != riscv::sbi::dbcn_fid::console_write_byte) {
            const u64 length = saved.x[10] < buffer.size ? saved.x[10] : buffer.size;
            const u64 address = saved.x[11];  // RV64: base_addr_lo holds the whole physical address
            if (function == riscv::sbi::dbcn_fid::console_write && !copy_from_os(engine, address, bounce, length, 0)) {
                h.x[10] = 0;  // the firmware writes nothing the OS could not read itself
            } else {
                h.x[10] = length;
            }
            if (function == riscv::sbi::dbcn_fid::console_read) {
                saved.bounce_read = address;
                saved.bounce_length = length;
            }
            h.x[11] = buffer.base;
            h.x[12] = 0;
            return;
        }
        const bool legacy_mask = extension == eid::legacy_send_ipi || extension == eid::legacy_remote_fence_i ||
                                 extension == eid::legacy_remote_sfence_vma ||
                                 extension == eid::legacy_remote_sfence_vma_asid;
        if (legacy_mask) {
            if (!copy_from_os(engine, saved.x[10], bounce, 8, saved.satp)) {
                for (unsigned i = 0; i < 8; ++i) bounce[i] = 0;
            }
            h.x[10] = buffer.base;
        }
    }

    /// After a console read: the bytes the firmware put in the bounce buffer go
    /// to the OS's buffer, at most as many as the OS asked for. This runs while
    /// the firmware's view (and so the wall) is still in place: the monitor copies
    /// itself, into memory the OS's own PMP view lets it write, outside the monitor.
    template <class E>
    void finish_console_read(E& engine, saved_state& saved) noexcept {
        virt::hart& h = engine.current();
        const region buffer = engine.board().layout().shared_buffer;
        const u8* bounce = engine.hw().physical(buffer.base, buffer.size);
        u64 count = h.x[11] < saved.bounce_length ? h.x[11] : saved.bounce_length;
        if (count > buffer.size) count = buffer.size;
        const u64 address = saved.bounce_read;
        const bool writable = virt::pmp_allows(h.csr.pmpcfg, h.csr.pmpaddr, h.pmp.virtual_count(),
                                               h.features.pmp_granularity, address, count, virt::pmp_w) &&
                              !engine.board().layout().monitor.overlaps(address, count) &&
                              !buffer.overlaps(address, count);
        u8* target = writable ? engine.hw().physical(address, count) : nullptr;
        if (h.x[10] == 0 && bounce != nullptr && target != nullptr && count != 0) {
            for (u64 i = 0; i < count; ++i) target[i] = bounce[i];
            h.x[11] = count;
        } else if (h.x[10] == 0) {
            h.x[11] = 0;  // nothing could be delivered
        }
        saved.bounce_read = 0;
    }

    /// Copies from the OS's memory with the OS's rights: as S-mode, under `satp`
    /// (the OS's for a virtual address, 0 for a physical one). Called on the
    /// switch into the firmware, while the OS's PMP view is still in place.
    template <class E>
    bool copy_from_os(E& engine, u64 address, u8* to, u64 length, u64 satp) noexcept {
        auto& hw = engine.hw();
        const u64 previous = hw.template swap<riscv::csr::satp>(satp);
        const access_mode how{riscv::privilege::supervisor, false, false};
        bool ok = true;
        for (u64 i = 0; i < length && ok; ++i) {
            const access_result byte = hw.load(how, address + i, 1);
            ok = byte.ok;
            to[i] = static_cast<u8>(byte.value);
        }
        hw.template write<riscv::csr::satp>(previous);
        return ok;
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
    u32 m_walled[MaxHarts] = {};
    u32 m_handed_over = 0;  ///< 0 before, 2 while measuring, 1 after the handover
    u64 m_os_base = 0;
    u64 m_os_end = 0;
    unsigned m_first_entry = 0;
    u8 m_measurement[32] = {};
};

}  // namespace vfm::policy
