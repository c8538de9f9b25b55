// SPDX-License-Identifier: MIT
/// The virtualization engine: what happens between a trap and the next mret.
///
/// `engine` is a short-lived view over one hart (the physical backend, the
/// board, the shared state of all harts, the monitor's policy hooks and the
/// virtual hart); the monitor builds one per trap and the compiler inlines it
/// away. The path of a trap and the reasons for each step are described in
/// docs/architecture.md and docs/virtual-hart.md.
///
/// This file declares the class and defines the dispatch (handle_trap and its
/// fast forms, the firmware's traps and SYSTEM instructions) and the services
/// the monitor, its policies and the emulated devices use. Every other member
/// is defined out of line in virt/engine/, one header per seam, included at
/// the end of this file (docs/engine.md says why).
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/atomic.hpp>
#include <vfm/detail/format.hpp>
#include <vfm/platform.hpp>
#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/instruction.hpp>
#include <vfm/virt/csr_rules.hpp>
#include <vfm/virt/data_access.hpp>
#include <vfm/virt/emulated_device.hpp>
#include <vfm/virt/engine_hooks.hpp>
#include <vfm/virt/guest_memory.hpp>
#include <vfm/virt/hart.hpp>
#include <vfm/virt/pmp_layout.hpp>
#include <vfm/virt/shared_state.hpp>
#include <vfm/virt/trap_entry.hpp>
#include <vfm/virt/triggers.hpp>

namespace vfm::virt {

/// The three CSR instruction kinds (unpriv. spec 9.1).
enum class csr_op_kind : u8 { write, set, clear };

[[nodiscard, gnu::always_inline]] constexpr u64 apply_csr_op(csr_op_kind kind, u64 old_value, u64 operand) noexcept {
    switch (kind) {
        case csr_op_kind::write: return operand;
        case csr_op_kind::set: return old_value | operand;
        case csr_op_kind::clear: return old_value & ~operand;
    }
    return old_value;
}

/// The trap being handled, as the hart reported it (priv. spec 3.1.15-3.1.17).
struct trap_info {
    world origin;  ///< who trapped
    u64 cause;
    u64 tval;
    u64 tval2;  ///< H extension: guest physical address >> 2
    u64 tinst;  ///< H extension: transformed instruction
    bool gva;
    /// A trap of the firmware: the monitor entered the firmware's own trap
    /// handler with an exception (the instruction did not complete).
    bool firmware_exception;
};

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
class engine {
public:
    using shared_type = shared_state<MaxHarts>;

    /// `hooks` is the monitor: it provides the policies' hooks, the board
    /// (`board()`) and the state shared by all harts (`shared()`): the
    /// `engine_hooks` concept (virt/engine_hooks.hpp).
    ///
    /// With `all_registers` false only the registers of the fast path are in
    /// `h.x` (hart::fast_path_registers; the others still hold the guest's values
    /// in the physical registers): handle_trap then returns false, having
    /// changed nothing, as soon as it needs another one, and the backend calls
    /// it again with every register saved.
    // clang-format off
    engine(Arch& hw, Hooks& hooks, hart& h, bool all_registers = true) noexcept
        requires engine_hooks<Hooks, engine, Platform, shared_type>
        : m_hw(hw), m_hooks(hooks), m_h(h), m_all_registers(all_registers) {}
    // clang-format on

    // ---- services for the monitor and its policies ----------------------------------------

    [[nodiscard]] Arch& hw() noexcept { return m_hw; }
    [[nodiscard]] Platform& board() noexcept { return m_hooks.board(); }
    [[nodiscard]] hart& current() noexcept { return m_h; }
    [[nodiscard]] shared_type& shared() noexcept { return m_hooks.shared(); }
    [[nodiscard]] const hart_features& features() const noexcept { return m_h.features; }

    /// Handles the trap the hart just took: the trap vector saved the guest's
    /// registers into the virtual hart and read mcause and mepc (`trap`); this
    /// emulates or reflects, and leaves mepc (and the physical state) ready for
    /// mret. Returns false only when the engine was built without all
    /// registers and needed one it lacks (nothing changed then).
    [[gnu::always_inline]] bool handle_trap(trap_entry trap) noexcept {
        const u64 cause = trap.cause;
        m_h.pc = trap.epc;
        m_trap.cause = cause;
        m_trap.origin = m_h.world;
        if (m_h.world == world::firmware) {
            if (m_h.counters.counting == 0) [[likely]] {
                firmware_trap(cause);
            } else {
                m_h.counters.retired = 0;
                m_trap.firmware_exception = false;
                firmware_trap(cause);
                // The trapped instruction completed unless it raised an exception
                // in the firmware (or the trap was an interrupt): virtual_counters.
                if (!riscv::mcause::interrupt::test(cause) && !m_trap.firmware_exception) ++m_h.counters.retired;
            }
        } else {
            os_trap(cause);
        }
        return finish_trap(cause);
    }

    /// The end of every trap path: false when a register was missing (nothing
    /// changed), else the policies' on_trap and mepc for the vector's mret.
    [[gnu::always_inline]] bool finish_trap(u64 cause) noexcept {
        if (m_missing_registers) return false;
        m_hooks.on_trap(*this, cause);
        m_hw.template write<riscv::csr::mepc>(m_h.pc);
        return true;
    }

    /// handle_trap for an ecall from S-mode, the path of every SBI call the
    /// monitor forwards: the same steps, with what the cause fixes taken as
    /// constants (the OS ran in S-mode, not virtualized; mtval, mtval2, mtinst
    /// and GVA are zero, priv. spec 3.1.16, H ext. 9.4.6-9.4.7), inlined into
    /// the fast path. test/unit/virt/world_switch_test.cpp checks it against handle_trap.
    [[gnu::always_inline]] bool handle_supervisor_ecall(u64 epc) noexcept {
        constexpr u64 cause = riscv::cause_value(riscv::exception::ecall_from_s);
        m_h.pc = epc;
        m_trap.origin = world::os;
        m_trap.cause = cause;
        m_trap.tval = 0;
        m_trap.tval2 = 0;
        m_trap.tinst = 0;
        m_trap.gva = false;
        m_h.os_mode = riscv::privilege::supervisor;
        m_h.os_virtualized = false;
        sync_os_interrupt_enables();
        if (!m_hooks.on_os_trap(*this, cause) && !m_missing_registers)
            enter_virtual_trap_from_os</*Inline=*/true>(cause, 0, 0, 0, false);
        return finish_switch(finish_trap(cause));
    }

    /// The end of the fast path's world switches: the triggers for the world
    /// that now runs, out of line and only while some trigger is set, in a
    /// tail call so that the path stays a leaf without them.
    [[gnu::always_inline]] bool finish_switch(bool done) noexcept {
        if (done && m_h.triggers_active) [[unlikely]]
            return program_triggers_done(m_hw, m_h);
        return done;
    }
    [[gnu::noinline]] static bool program_triggers_done(Arch& hw, hart& h) noexcept {
        program_triggers(hw, h, h.world);
        return true;
    }

    /// handle_trap for the firmware's mret (illegal instruction, mtval the
    /// instruction's bits): the firmware's return to the OS after every
    /// forwarded call, without the decoder. Checked against handle_trap with it.
    /// Returns false, changing nothing, when the mret stays in vM-mode or an
    /// interrupt of the firmware would be taken at once: the general path does those.
    [[gnu::always_inline]] bool handle_firmware_mret() noexcept {
        constexpr u64 cause = riscv::cause_value(riscv::exception::illegal_instruction);
        if (riscv::mstatus::mpp::extract(m_h.csr.mstatus) == 3 || takeable_interrupts_in(world::os, false) != 0) {
            m_missing_registers = true;
            return false;
        }
        m_trap.origin = world::firmware;
        m_trap.cause = cause;
        emulate_mret</*ToOs=*/true>();
        return finish_switch(finish_trap(cause));
    }

    /// Whether the guest registers `n...` are in the context; if not, the trap
    /// is handled again with all of them (callers must check before changing anything).
    template <class... R>
    [[nodiscard]] bool have_registers(R... n) noexcept {
        if (m_all_registers || (hart::saved_on_fast_path(static_cast<unsigned>(n)) && ...)) return true;
        m_missing_registers = true;
        return false;
    }
    /// Whether every guest register is in the context (see have_registers).
    [[nodiscard]] bool have_all_registers() noexcept {
        if (m_all_registers) return true;
        m_missing_registers = true;
        return false;
    }

    /// Puts the hart in its reset state and starts the firmware at `entry` in
    /// vM-mode with a0..a2 as given (priv. spec 3.4: MIE and MPRV clear,
    /// PMP entries off). The caller then resumes the hart.
    void start_firmware(u64 entry, u64 a0, u64 a1, u64 a2) noexcept;

    /// Delivers a synchronous exception to the virtual firmware exactly as the
    /// hardware would (priv. spec 3.1.6.1, 3.1.15): a world switch when the OS
    /// was running.
    void deliver_exception(u64 cause, u64 tval, u64 tval2 = 0, u64 tinst = 0, bool gva = false) noexcept {
        enter_virtual_trap(cause, tval, tval2, tinst, gva);
    }

    /// Re-evaluates the virtual interrupts after a change of state: delivers the
    /// highest-priority one the firmware takes now, else programs the physical
    /// mie and timer for the world that runs.
    void refresh_interrupts() noexcept { refresh_interrupts_checking(true); }

    /// With `check_timer` false the firmware's timer is not compared with mtime:
    /// the caller knows the physical timer, armed with the firmware's deadline,
    /// will raise MTIP by itself if that deadline passed (the OS runs next).
    void refresh_interrupts_checking(bool check_timer) noexcept;

    /// Changes one of the monitor's own PMP entries on this hart (a policy's:
    /// index into the reserved entries) and brings the physical PMP in line.
    void set_reserved_pmp_entry(unsigned index, u64 pmpaddr, u8 firmware_cfg, u8 os_cfg) noexcept {
        pmp_layout& layout = m_h.pmp;
        if (index >= layout.reserved_count) return;
        layout.reserved_addr[index] = pmpaddr;
        layout.reserved_cfg_firmware[index] = firmware_cfg;
        layout.reserved_cfg_os[index] = os_cfg;
        recompute_pmp_views();
    }

    /// Sets the monitor's own deadline on this hart (~0 for none).
    void set_monitor_deadline(u64 deadline) noexcept {
        m_h.monitor_deadline = deadline;
        program_timer();
    }

    /// The interrupts of the virtual mip: physical S-level and external bits,
    /// virtual MSIP (the firmware's CLINT msip) and MTIP (its mtimecmp).
    [[nodiscard]] u64 virtual_mip() noexcept { return virtual_mip_from(m_hw.template read<riscv::csr::mip>()); }

    /// Sends a doorbell request to hart `index` (not the current one).
    void request(u32 index, u32 what) noexcept {
        detail::atomic_fetch_or(&shared().requests[index], what);
        board().send_ipi(index);
    }

    /// Prints on the board's console (the monitor's own messages).
    template <class... Args>
    void print(const char* text, const Args&... args) noexcept {
        struct sink {
            Platform& board;
            void put(char c) noexcept { board.console_put(c); }
        } out{board()};
        detail::format_to(out, text, args...);
    }

    /// The trap being handled (for a trap from the OS: cause, tval, tval2, tinst, GVA).
    [[nodiscard]] const trap_info& trap() const noexcept { return m_trap; }

    /// Resumes the OS after the instruction that trapped (`length` bytes).
    void skip_instruction(unsigned length) noexcept { m_h.pc += length; }

    /// Delivers an exception to the OS's own supervisor level, as the hardware
    /// does for a cause medeleg delegates (priv. spec 4.1.1, 4.1.2, 4.1.7-4.1.9):
    /// sepc, scause, stval, sstatus.SPP/SPIE/SIE, then stvec. From VS- or
    /// VU-mode (H ext. 9.4.2, 9.6.4) it goes to VS-mode when hedeleg delegates
    /// the cause too (vsepc, vscause, vstval, vsstatus, vstvec; V stays 1),
    /// else to HS-mode with hstatus.SPV = V (and SPVP = the guest's privilege
    /// when V was 1), GVA as the trap had it (an HLV's fault from HS sets it
    /// too), htval = `tval2` (the guest physical address >> 2 of a guest-page
    /// fault, else 0) and htinst = 0. False when the hart has no
    /// S-mode or the OS's world is not in place.
    bool redirect_to_os(u64 cause, u64 tval, u64 tval2 = 0, bool gva = false) noexcept;

    // ---- the guarded path: every access the monitor makes for a guest (engine/guest_accesses.hpp)
    //
    // virt/guest_memory.hpp translates in software, refuses the monitor's memory,
    // its shared page, the bus masters and the monitor's PMP walls, and makes the
    // access with the PMP in force. The engine picks the regime (whose
    // translation) and puts the PMP view in place that the access must pass.

    using memory_type = guest_memory<Arch>;

    /// How the hardware translates the OS's own accesses: its mode when it
    /// trapped (S or U, virtualized or not), its satp (vsatp and hgatp), SUM and MXR.
    [[nodiscard]] translation_regime os_regime() noexcept;

    /// How the hardware translates the firmware's loads and stores while its
    /// mstatus.MPRV is set (priv. spec 3.1.6.3): MPP's privilege, MPV, the
    /// virtual satp (or vsatp and hgatp), SUM and MXR.
    [[nodiscard]] translation_regime mprv_regime() noexcept;

    /// The address-translation state of `r`, once `r.virtualized` is chosen: with V = 1, vsatp,
    /// hgatp, vsstatus's SUM and MXR (or'ed with mstatus.MXR) and henvcfg.PBMTE
    /// (H ext. 9.2.1, 9.5); with V = 0, satp (the hart's while the OS's world is
    /// in place, else the OS's saved one) and mstatus's SUM and MXR.
    void add_translation_csrs(translation_regime& r, bool satp_in_hardware) noexcept;

    /// Runs `f(memory)` on the guarded path for the OS (the monitor's entries
    /// with the OS's configuration), with the OS's PMP view in place.
    template <class F>
    decltype(auto) with_os_memory(F&& f) noexcept {
        const pmp_view previous = m_h.physical_view;
        if (previous != pmp_view::os) apply_pmp_view(pmp_view::os);
        struct restore {
            engine& e;
            pmp_view view;
            ~restore() {
                if (view != pmp_view::os) e.apply_pmp_view(view);
            }
        } restore_view{*this, previous};
        memory_type memory(m_hw, board().layout(), m_h, memory_type::side::os, Hooks::intercepts_shutdown);
        memory.resolve_pmp_misses(m_h);
        return f(memory);
    }

    /// Runs `f(memory)` on the guarded path for the firmware (the monitor's
    /// entries with the firmware's configuration: the sandbox's wall too),
    /// with the view the firmware's MPRV and HLV accesses see: the OS's view of
    /// its PMP under the monitor's entries (pmp_view::mprv_access).
    template <class F>
    decltype(auto) with_firmware_memory(F&& f) noexcept {
        const pmp_view previous = m_h.physical_view;
        apply_pmp_view(pmp_view::mprv_access);
        struct restore {
            engine& e;
            pmp_view view;
            ~restore() { e.apply_pmp_view(view); }
        } restore_view{*this, previous};
        memory_type memory(m_hw, board().layout(), m_h, memory_type::side::firmware, Hooks::intercepts_shutdown);
        memory.resolve_pmp_misses(m_h);
        return f(memory);
    }

    /// Reads the OS's instruction at `pc` as it fetched it (its translation,
    /// execute permission), on the guarded path. False when it cannot be read.
    bool fetch_os_instruction(u64 pc, u32& bits) noexcept;

    /// Reads the firmware's instruction at `pc` (physical: the firmware runs
    /// with satp Bare) on the guarded path: never mtval, which a hart may leave
    /// stale (QEMU 7.2 does for HLV/HSV) or zero (priv. spec 3.1.16).
    bool read_firmware_instruction(u64 pc, u32& bits) noexcept;

    // ---- services for the emulated devices (virt/emulated_device.hpp) ------------------------

    /// Whether a policy acts at shutdown: the shutdown device is emulated then.
    static constexpr bool intercepts_shutdown = Hooks::intercepts_shutdown;

    /// The policies' on_shutdown: a store is about to reach the shutdown device.
    void on_shutdown() noexcept { m_hooks.on_shutdown(*this); }

    /// A device access changed this hart's virtual interrupts (its msip,
    /// mtimecmp, mtime): they are re-evaluated once the access completes, so
    /// an interrupt it raises is taken with mepc past the instruction.
    void interrupts_changed() noexcept { m_interrupts_changed = true; }

    /// The guest's register `n` and its update (x0 rules apply).
    [[nodiscard]] u64 reg(unsigned n) const noexcept { return m_h.reg(n); }
    void set_reg(unsigned n, u64 value) noexcept { m_h.set_reg(n, value); }

private:
    using csr = riscv::csr;
    [[nodiscard]] translation_regime common_regime() const noexcept;

    /// The supervisor fields of mstatus that software may write (priv. spec 4.1.1).
    static constexpr u64 mstatus_physical_writable = rules::mstatus_physical_writable;

    // ---- traps from the firmware (vM-mode, physically U-mode) ------------------------------

    [[gnu::always_inline]] void firmware_trap(u64 cause) noexcept {
        if (cause == riscv::cause_value(riscv::exception::illegal_instruction)) [[likely]] {
            // The instruction comes from memory, never from mtval (see read_firmware_instruction).
            u32 bits = 0;
            const bool known = read_firmware_instruction(m_h.pc, bits);
            if (known && riscv::insn::opcode(bits) == riscv::opcode::system && emulate_system(bits)) return;
            if (m_missing_registers) return;
            deliver_exception(cause, known ? bits : 0);  // mtval: the bits, or 0 (priv. spec 3.1.16)
            return;
        }
        if (riscv::mcause::interrupt::test(cause)) {
            physical_interrupt(riscv::mcause::code::extract(cause));
            return;
        }
        const u64 tval = m_hw.template read<csr::mtval>();
        m_trap.tval = tval;
        switch (static_cast<riscv::exception>(cause)) {
            case riscv::exception::ecall_from_u:
                deliver_exception(riscv::cause_value(riscv::exception::ecall_from_m), 0);
                return;
            case riscv::exception::instruction_access_fault:
                if (m_h.pmp_cached && resolve_pmp_fault(cause, tval)) return;  // satp is Bare: tval is physical
                break;
            case riscv::exception::load_access_fault:
            case riscv::exception::store_access_fault:
                if (m_h.pmp_cached && resolve_pmp_fault(cause, tval)) return;
                if (emulate_firmware_memory_access() || m_missing_registers) return;
                break;
            default: break;
        }
        deliver_exception(cause, tval);
    }

    /// Emulates a SYSTEM instruction of the firmware; false if it must raise
    /// illegal instruction instead.
    [[gnu::always_inline]] bool emulate_system(u32 bits) noexcept {
        if (bits == riscv::mret_bits) {  // the firmware's way back to the OS: skip the decoder
            emulate_mret();
            return true;
        }
        const riscv::system_instruction si = riscv::decode_system(bits);
        if (riscv::is_csr_op(si.op)) [[likely]]
            return emulate_csr(si);
        switch (si.op) {
            case riscv::system_op::mret: emulate_mret(); return true;
            case riscv::system_op::sret: return emulate_sret();
            case riscv::system_op::wfi: emulate_wfi(); return true;
            case riscv::system_op::sfence_vma:
            case riscv::system_op::hfence_vvma:
            case riscv::system_op::hfence_gvma: {
                const bool exists = si.op == riscv::system_op::sfence_vma ? m_h.features.has_s : m_h.features.has_h;
                if (!exists || !have_registers(si.rs1, si.rs2)) return false;
                const auto fence = fence_of(si);
                if (si.op == riscv::system_op::sfence_vma)
                    m_hw.sfence_vma(fence);
                else if (si.op == riscv::system_op::hfence_vvma)
                    m_hw.hfence_vvma(fence);
                else
                    m_hw.hfence_gvma(fence);
                m_h.pc += 4;
                return true;
            }
            case riscv::system_op::hypervisor_load:
            case riscv::system_op::hypervisor_store: return m_h.features.has_h && emulate_hypervisor_access(bits, si);
            default: return false;
        }
    }

    bool emulate_hypervisor_access(u32 bits, const riscv::system_instruction& si) noexcept;

    [[nodiscard]] fence_operands fence_of(const riscv::system_instruction& si) const noexcept {
        return fence_operands{reg(si.rs1), reg(si.rs2), si.rs1 == 0, si.rs2 == 0};
    }

    // ---- CSR emulation (virt/engine/csr_emulation.hpp) -------------------------------------

    /// What a CSR write changed that needs more than storing the value.
    enum class csr_effect : u8 { none, interrupts, pmp, interrupts_and_pmp };
    bool emulate_csr(const riscv::system_instruction& si) noexcept;
    bool csr_access(u16 number, csr_op_kind kind, u64 operand, bool write, u64& old_value, csr_effect& effect) noexcept;
    [[nodiscard]] u64 supervisor_interrupt_view() const noexcept;
    csr_effect write_mstatus(u64 value, u64 physical) noexcept;
    bool mip_access(csr_op_kind kind, u64 operand, bool write, u64& old_value, csr_effect& effect) noexcept;
    [[nodiscard]] u64 legalize_satp(u64 value) noexcept;

    template <csr N>
    bool fast_physical(csr_op_kind kind, u64 operand, bool write, u64& old_value) noexcept;
    bool physical_read(csr number, u64& old_value) noexcept;
    bool physical_access(u16 number, csr_op_kind kind, u64 operand, bool write, u64& old_value) noexcept;
    bool tdata1_access(csr_op_kind kind, u64 operand, bool write, u64& old_value) noexcept;

    // ---- virtual counters (virtual_counters, docs/virtual-hart.md; engine/csr_emulation.hpp) --

    bool counter_access(unsigned i, csr_op_kind kind, u64 operand, bool write, u64& old_value) noexcept;

    /// Tells the backend which world runs next and whether the firmware's
    /// traps take the counting path.
    void announce_world() noexcept { m_hw.world_switched(m_h.world == world::firmware, m_h.counters.armed); }

    // ---- virtual PMP (virt/engine/pmp_views.hpp) ------------------------------------------

    bool pmp_access(u16 number, csr_op_kind kind, u64 operand, bool write, u64& old_value) noexcept;
    void recompute_pmp_views() noexcept;
    [[nodiscard]] static constexpr access_kind faulting_access(u64 cause) noexcept;
    bool resolve_pmp_fault(u64 cause, u64 physical, u64 started = 0) noexcept;
    bool resolve_os_pmp_fault(u64 cause) noexcept;
    bool perform_os_access_after_misses(u64 faulting_cause) noexcept;

public:
    /// The view for the firmware: with virtual MPRV set (and MPP below M) its
    /// loads and stores must trap so the monitor can perform them with MPP's
    /// privilege and translation (priv. spec 3.1.6.3).
    [[nodiscard, gnu::always_inline]] pmp_view firmware_view() const noexcept;

    /// Writes the pmpcfg registers of `view` that differ from what the hart holds.
    void apply_pmp_view(pmp_view view) noexcept;

    /// apply_pmp_view, inlined (the world switches' fast path): the views
    /// share every pmpaddr, in cache mode too (pmp_layout.hpp).
    [[gnu::always_inline]] void apply_pmp_view_inline(pmp_view view) noexcept;

    /// pmpcfg4 and up (harts with more than 16 entries), out of the hot path.
    [[gnu::noinline]] static void apply_more_pmpcfg(Arch& hw, hart& h, const u64* wanted, unsigned registers) noexcept;

private:
    // ---- trap return, wfi (virt/engine/trap_return.hpp) ---------------------------------------

    template <bool ToOs = false>
    [[gnu::always_inline]] void emulate_mret() noexcept;
    bool emulate_sret() noexcept;
    void emulate_wfi() noexcept;

    // ---- traps from the OS (virt/engine/os_traps.hpp) -----------------------------------------

    [[nodiscard]] static constexpr bool is_ecall(u64 cause) noexcept;
    [[gnu::always_inline]] void os_trap(u64 cause) noexcept;

    // ---- interrupts (virt/engine/interrupts.hpp) ----------------------------------------------

    static constexpr u64 monitor_interrupts = riscv::mip::msip::mask | riscv::mip::mtip::mask;
    /// Interrupts whose physical pending bit is also the virtual one.
    static constexpr u64 passthrough_interrupts = ~monitor_interrupts;
    /// Interrupts that must never be enabled physically while the firmware runs
    /// in U-mode: VS-level ones and SGEI are delegated to HS by hardware (H ext. 9.4.3).
    static constexpr u64 hypervisor_interrupts = riscv::mip::virtual_supervisor | riscv::mip::sgeip::mask;

    [[nodiscard]] static constexpr u64 mpv_mask() noexcept {
        return riscv::mstatus::mpv::mask | riscv::mstatus::gva::mask;
    }

    [[nodiscard, gnu::always_inline]] bool virtual_mtip() noexcept;
    [[nodiscard]] u64 virtual_mip_from(u64 physical) noexcept;
    [[nodiscard, gnu::always_inline]] u64 takeable_interrupts(bool check_timer = true) noexcept;
    [[nodiscard, gnu::always_inline]] u64 takeable_interrupts_in(world running, bool check_timer) noexcept;
    [[gnu::always_inline]] void sync_os_interrupt_enables() noexcept;
    void physical_interrupt(u64 code) noexcept;
    void service_monitor_events(u64 physical_pending) noexcept;
    void program_physical_interrupts() noexcept;
    [[gnu::always_inline]] void program_physical_interrupts_inline() noexcept;
    [[gnu::always_inline]] void program_timer() noexcept;
    [[gnu::always_inline]] void set_physical_timer(u64 deadline) noexcept;

    // ---- trap delivery and world switches (virt/engine/world_switches.hpp) ---------------------

    void enter_virtual_trap(u64 cause, u64 tval, u64 tval2, u64 tinst, bool gva) noexcept;

    template <bool Inline>
    [[gnu::always_inline]] void enter_virtual_trap_from_os(u64 cause, u64 tval, u64 tval2, u64 tinst,
                                                           bool gva) noexcept;
    void check_trap_vector() noexcept;
    [[gnu::always_inline]] void run_trap_vector_entry() noexcept;
    [[gnu::always_inline]] u64 record_virtual_trap(u64 cause, u64 tval, u64 tval2, u64 tinst, u64 previous_mode,
                                                   bool previous_virtualized, bool gva) noexcept;
    [[nodiscard, gnu::always_inline]] u64 virtual_trap_target(u64 cause, u64 base) const noexcept;
    [[nodiscard]] static constexpr bool loops_at_vector(u64 cause) noexcept;

    template <bool Inline>
    [[gnu::always_inline]] void switch_to_firmware() noexcept;

    template <bool Inline = false>
    [[gnu::always_inline]] void switch_to_os(riscv::privilege mode, bool virtualized) noexcept;

    // ---- accesses the monitor performs for a guest (engine/guest_accesses.hpp, engine/devices.hpp)

    [[nodiscard]] bool has_fp(unsigned width) const noexcept;
    bool emulate_firmware_memory_access() noexcept;
    bool decode_guest_access(bool from_os, data_access& op) noexcept;
    void run_to_store_conditional() noexcept;
    bool emulate_device_access() noexcept;
    bool emulate_device_op(const data_access& op, bool from_os) noexcept;
    bool finish_device_access(const data_access& op, u64 physical, bool virtualized, u64 address) noexcept;
    void write_result(const data_access& op, u64 value) noexcept;
    [[nodiscard]] u64 operand_of(const data_access& op) noexcept;
    bool device_access(const data_access& op, u64 physical, u64& value) noexcept;
    template <class... Devices>
    bool access_devices(device_list<Devices...>, const data_access& op, u64 physical, u64& value) noexcept;
    template <class Device>
    bool access_device(const data_access& op, u64 physical, u64& value, bool& ok) noexcept;
    bool device_write_of(const data_access& op, u64 physical, u64 old, u64& value, u64& written) noexcept;
    bool emulate_mprv_access() noexcept;

    Arch& m_hw;
    Hooks& m_hooks;
    hart& m_h;
    /// Filled as the trap is read: cause always, tval for exceptions (but an
    /// illegal instruction of the firmware), the rest for traps of the OS.
    trap_info m_trap;
    bool m_all_registers;
    bool m_missing_registers = false;
    bool m_interrupts_changed = false;
};

}  // namespace vfm::virt

// The members defined out of line, one header per seam (docs/engine.md).
#include <vfm/virt/engine/csr_emulation.hpp>
#include <vfm/virt/engine/devices.hpp>
#include <vfm/virt/engine/guest_accesses.hpp>
#include <vfm/virt/engine/interrupts.hpp>
#include <vfm/virt/engine/os_traps.hpp>
#include <vfm/virt/engine/pmp_views.hpp>
#include <vfm/virt/engine/reset.hpp>
#include <vfm/virt/engine/trap_return.hpp>
#include <vfm/virt/engine/world_switches.hpp>
