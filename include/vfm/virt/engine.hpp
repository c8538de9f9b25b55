// SPDX-License-Identifier: MIT
/// The virtualization engine: what happens between a trap and the next mret.
///
/// `engine` is a short-lived view over one hart (the physical backend, the
/// board, the shared state of all harts, the monitor's policy hooks and the
/// virtual hart); the monitor builds one per trap and the compiler inlines it
/// away. The path of a trap and the reasons for each step are described in
/// docs/architecture.md and docs/virtual-hart.md.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/atomic.hpp>
#include <vfm/detail/format.hpp>
#include <vfm/detail/utility.hpp>
#include <vfm/platform.hpp>
#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/instruction.hpp>
#include <vfm/riscv/pmp.hpp>
#include <vfm/virt/constrained_loop.hpp>
#include <vfm/virt/csr_rules.hpp>
#include <vfm/virt/engine_hooks.hpp>
#include <vfm/virt/guest_memory.hpp>
#include <vfm/virt/hart.hpp>
#include <vfm/virt/interrupts.hpp>
#include <vfm/virt/misaligned.hpp>
#include <vfm/virt/pmp_layout.hpp>
#include <vfm/virt/pmp_physical.hpp>
#include <vfm/virt/triggers.hpp>

namespace vfm::virt {

/// Work one hart's monitor asks of another's, signalled through the doorbell
/// (the physical msip): bits of shared_state::requests.
namespace request {
inline constexpr u32 timer = 1;   ///< the hart's virtual mtimecmp changed: reprogram the timer
inline constexpr u32 policy = 2;  ///< a policy has queued work for the hart
}  // namespace request

/// State shared by all harts: the virtual CLINT the firmware sees, the
/// doorbell requests, and the virtual harts themselves.
template <u32 MaxHarts>
struct shared_state {
    static constexpr u32 max_harts = MaxHarts;
    hart* harts[MaxHarts] = {};
    /// The firmware's mtimecmp of each hart; 0 at reset (as on QEMU), so MTIP
    /// is pending until the firmware first programs its timer.
    u64 mtimecmp[MaxHarts] = {};
    u32 msip[MaxHarts] = {};
    u32 requests[MaxHarts] = {};
};

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

/// The window of hart::code_window_base/last for `layout`: the RAM above the
/// monitor's memory when the monitor sits at the start of RAM (the shared
/// page is the firmware's memory too), else the RAM below it, else the RAM
/// above it; outside it the engine reads instructions on the guarded path.
inline void set_firmware_code_window(hart& h, const memory_layout& layout) noexcept {
    const region& ram = layout.ram;
    const region& monitor = layout.monitor;
    u64 base = ram.base;
    u64 end = ram.end();
    if (monitor.overlaps(ram.base, ram.size)) {
        if (monitor.base <= ram.base || monitor.end() < ram.end()) {
            base = detail::max(monitor.end(), ram.base);
        } else {
            end = monitor.base;
        }
    }
    if (ram.size == 0 || end < base + 4 || (base & 1) != 0) {
        h.code_window_base = 1;  // nothing: an odd base matches no pc
        h.code_window_last = 0;
        return;
    }
    h.code_window_base = base;
    h.code_window_last = end - base - 4;
}

/// Whether the four bytes at `pc` lie in the hart's code window: one unsigned
/// range check, for the trap paths.
[[nodiscard, gnu::always_inline]] inline bool instruction_in_code_window(const hart& h, u64 pc) noexcept {
    return pc - h.code_window_base <= h.code_window_last;
}

/// The firmware's instruction at `pc`, for the trap paths (also those that run
/// before any engine): the firmware runs with satp Bare, so `pc` is physical; when the four
/// bytes there are RAM outside the monitor's memory the instruction is read
/// from there in M-mode (never from mtval, which QEMU 7.2 leaves stale for
/// HLV/HSV). False otherwise: the engine then reads it on the full guarded path.
template <arch Arch>
[[nodiscard, gnu::always_inline]] inline bool firmware_instruction_in_ram(Arch& hw, const hart& h, u64 pc,
                                                                         u32& bits) noexcept {
    if (!instruction_in_code_window(h, pc)) return false;
    const u8* code = hw.physical(pc, 4);
    if (code == nullptr) return false;
    u16 low;
    u16 high;
    __builtin_memcpy(&low, __builtin_assume_aligned(code, 2), 2);
    __builtin_memcpy(&high, __builtin_assume_aligned(code + 2, 2), 2);
    bits = u32{low} | (u32{high} << 16);
    if ((low & 3) != 3) bits = low;  // a 16-bit instruction
    return true;
}

/// Whether the firmware's instruction at `pc` is the 32-bit `expected`, read
/// as firmware_instruction_in_ram does (false where that one is false).
template <arch Arch>
[[nodiscard, gnu::always_inline]] inline bool firmware_instruction_is(Arch& hw, const hart& h, u64 pc,
                                                                     u32 expected) noexcept {
    u32 bits = 0;
    return firmware_instruction_in_ram(hw, h, pc, bits) && bits == expected;
}

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
    engine(Arch& hw, Hooks& hooks, hart& h, bool all_registers = true) noexcept
        requires engine_hooks<Hooks, engine, Platform, shared_type>
        : m_hw(hw), m_hooks(hooks), m_h(h), m_all_registers(all_registers) {}

    // ---- services for the monitor and its policies ----------------------------------------

    [[nodiscard]] Arch& hw() noexcept { return m_hw; }
    [[nodiscard]] Platform& board() noexcept { return m_hooks.board(); }
    [[nodiscard]] hart& current() noexcept { return m_h; }
    [[nodiscard]] shared_type& shared() noexcept { return m_hooks.shared(); }
    [[nodiscard]] const hart_features& features() const noexcept { return m_h.features; }

    /// Handles the trap the hart just took: the trap vector saved the guest's
    /// registers into the virtual hart; this reads the trap CSRs, emulates or
    /// reflects, and leaves mepc (and the physical state) ready for mret.
    /// Returns false only when the engine was built without all registers and
    /// needed one it lacks (nothing changed then).
    [[gnu::always_inline]] bool handle_trap() noexcept {
        const u64 cause = m_hw.template read<riscv::csr::mcause>();
        m_h.pc = m_hw.template read<riscv::csr::mepc>();
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
    [[gnu::always_inline]] bool handle_supervisor_ecall() noexcept {
        constexpr u64 cause = riscv::cause_value(riscv::exception::ecall_from_s);
        m_h.pc = m_hw.template read<riscv::csr::mepc>();
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
    void start_firmware(u64 entry, u64 a0, u64 a1, u64 a2) noexcept {
        m_h.csr = virtual_csrs{};
        m_h.csr.mstatus = riscv::mstatus::mpp::make(rules::least_privilege(m_h.features));
        m_h.mepc_mask = rules::write_mepc(~u64{0}, m_h.features);
        m_h.misa = m_h.features.misa;
        set_fast_csrs();
        m_h.world = world::firmware;
        announce_world();
        m_h.monitor_deadline = ~u64{0};
        for (auto& r : m_h.x) r = 0;
        m_h.set_reg(10, a0);
        m_h.set_reg(11, a1);
        m_h.set_reg(12, a2);
        m_h.pc = entry;

        // Physical state while the firmware runs (docs/virtual-hart.md).
        if (m_h.features.has_s) {
            m_hw.template write<riscv::csr::satp>(0);
            m_hw.template write<riscv::csr::medeleg>(0);
            m_hw.template write<riscv::csr::mideleg>(0);
        }
        if (m_h.features.has_u) m_hw.template write<riscv::csr::mcounteren>(0);
        if (m_h.features.has_menvcfg) m_hw.template write<riscv::csr::menvcfg>(0);
        m_hw.template clear<riscv::csr::mstatus>(riscv::mstatus::mpp::mask | riscv::mstatus::mprv::mask |
                                                 riscv::mstatus::mie::mask | mpv_mask());
        if (!m_h.features.has_s) m_hw.template set<riscv::csr::mstatus>(riscv::mstatus::tw::mask);
        // Force the first write of every register the monitor may use.
        for (auto& r : m_h.physical_pmpcfg) r = ~u64{0};
        m_h.pmp_slots.dirty = ~u64{0};
        m_h.physical_view = pmp_view::firmware;
        recompute_pmp_views();
        m_h.physical_mie = ~u64{0};
        m_h.physical_timer = 0;
        program_physical_interrupts();
        adopt_triggers(m_hw, m_h);
        m_hw.template write<riscv::csr::mepc>(m_h.pc);
    }

    /// Fills the hart's table of CSRs the backend may serve itself (hart::fast_csrs).
    void set_fast_csrs() noexcept {
        auto slot = [&](const u64& field) {
            return static_cast<u8>((reinterpret_cast<const u8*>(&field) - reinterpret_cast<const u8*>(&m_h)) / 8);
        };
        for (auto& entry : m_h.fast_csrs) entry = 0;
        m_h.fast_csrs[0x0] = slot(m_h.csr.mscratch);
        m_h.fast_csrs[0x1] = slot(m_h.csr.mepc);
        m_h.fast_csrs[0x2] = slot(m_h.csr.mcause);
        m_h.fast_csrs[0x3] = slot(m_h.csr.mtval);
        if (m_h.features.has_mtval2) {
            m_h.fast_csrs[0xa] = slot(m_h.csr.mtinst);
            m_h.fast_csrs[0xb] = slot(m_h.csr.mtval2);
        }
        // Harts with S and U: every MPP value but the reserved 2 is legal as written.
        m_h.mstatus_fast_writable =
            m_h.features.has_s && m_h.features.has_u ? rules::mstatus_virtual_writable(m_h.features) : 0;
    }

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
    void refresh_interrupts_checking(bool check_timer) noexcept {
        u64 takeable = takeable_interrupts(check_timer);
        if (takeable != 0) {
            // One is taken now: the timer may hold a higher-priority one (MTI
            // before SEI, SSI and STI, priv. spec 3.1.9).
            if (!check_timer) takeable = takeable_interrupts(true);
            const int code = highest_priority_interrupt(takeable);
            enter_virtual_trap(riscv::mcause::interrupt::mask | static_cast<u64>(code), 0, 0, 0, false);
            return;
        }
        program_physical_interrupts();
    }

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
    bool redirect_to_os(u64 cause, u64 tval, u64 tval2 = 0, bool gva = false) noexcept {
        namespace ms = riscv::mstatus;
        namespace hs = riscv::hstatus;
        if (!m_h.features.has_s || m_h.world != world::os) return false;
        const u64 from_supervisor = m_h.os_mode == riscv::privilege::supervisor ? 1 : 0;
        const auto entered = [&](u64 status) {
            status = ms::spp::insert(status, from_supervisor);
            status = ms::spie::insert(status, ms::sie::extract(status));
            return ms::sie::insert(status, 0);
        };
        if (m_h.os_virtualized && cause < 64 && ((m_hw.csr_read(csr::hedeleg).value >> cause) & 1) != 0) {
            (void)m_hw.csr_write(csr::vscause, cause);
            (void)m_hw.csr_write(csr::vsepc, m_h.pc);
            (void)m_hw.csr_write(csr::vstval, tval);
            (void)m_hw.csr_write(csr::vsstatus, entered(m_hw.csr_read(csr::vsstatus).value));
            m_h.pc = m_hw.csr_read(csr::vstvec).value & ~u64{3};  // exceptions: the base (priv. 4.1.2)
            m_hw.template set<csr::mstatus>(ms::mpp::make(1));       // VS-mode: MPV stays 1
            m_h.os_mode = riscv::privilege::supervisor;
            return true;
        }
        m_hw.template write<csr::scause>(cause);
        m_hw.template write<csr::sepc>(m_h.pc);
        m_hw.template write<csr::stval>(tval);
        m_hw.template write<csr::sstatus>(entered(m_hw.template read<csr::sstatus>()));
        if (m_h.features.has_h) {
            u64 status = m_hw.csr_read(csr::hstatus).value;
            status = hs::spv::insert(status, m_h.os_virtualized ? 1 : 0);
            if (m_h.os_virtualized) status = hs::spvp::insert(status, from_supervisor);
            status = hs::gva::insert(status, gva ? 1 : 0);
            (void)m_hw.csr_write(csr::hstatus, status);
            (void)m_hw.csr_write(csr::htval, tval2);
            (void)m_hw.csr_write(csr::htinst, 0);
            if (m_h.os_virtualized) (void)m_hw.csr_clear(csr::mstatus, ms::mpv::mask);
        }
        m_h.pc = m_hw.template read<csr::stvec>() & ~u64{3};
        m_hw.template set<csr::mstatus>(ms::mpp::make(1));  // continue in HS-mode (MPP was S or U)
        m_h.os_mode = riscv::privilege::supervisor;
        m_h.os_virtualized = false;
        return true;
    }

    // ---- the guarded path: every access the monitor makes for a guest ----------------------
    //
    // virt/guest_memory.hpp translates in software, refuses the monitor's memory,
    // its shared page, the bus masters and the monitor's PMP walls, and makes the
    // access with the PMP in force. The engine picks the regime (whose
    // translation) and puts the PMP view in place that the access must pass.

    using memory_type = guest_memory<Arch>;

    /// How the hardware translates the OS's own accesses: its mode when it
    /// trapped (S or U, virtualized or not), its satp (vsatp and hgatp), SUM and MXR.
    [[nodiscard]] translation_regime os_regime() noexcept {
        translation_regime r = common_regime();
        r.privilege = m_h.os_mode;
        if (!m_h.features.has_s) return r;  // an M/U hart: the OS is U-mode, untranslated
        r.virtualized = m_h.os_virtualized;
        add_translation_csrs(r, /*satp_in_hardware=*/m_h.world == world::os);
        return r;
    }

    /// How the hardware translates the firmware's loads and stores while its
    /// mstatus.MPRV is set (priv. spec 3.1.6.3): MPP's privilege, MPV, the
    /// virtual satp (or vsatp and hgatp), SUM and MXR.
    [[nodiscard]] translation_regime mprv_regime() noexcept {
        translation_regime r = common_regime();
        r.privilege = riscv::mstatus::mpp::extract(m_h.csr.mstatus) == 1 ? riscv::privilege::supervisor
                                                                           : riscv::privilege::user;
        r.virtualized = m_h.features.has_h && riscv::mstatus::mpv::test(m_h.csr.mstatus);
        if (!m_h.features.has_s) return r;
        add_translation_csrs(r, /*satp_in_hardware=*/false);
        return r;
    }

    /// The address-translation state of `r`, once `r.virtualized` is chosen: with V = 1, vsatp,
    /// hgatp, vsstatus's SUM and MXR (or'ed with mstatus.MXR) and henvcfg.PBMTE
    /// (H ext. 9.2.1, 9.5); with V = 0, satp (the hart's while the OS's world is
    /// in place, else the OS's saved one) and mstatus's SUM and MXR.
    void add_translation_csrs(translation_regime& r, bool satp_in_hardware) noexcept {
        namespace ms = riscv::mstatus;
        const u64 status = m_hw.template read<csr::mstatus>();
        if (r.virtualized) {
            const u64 vsstatus = m_hw.csr_read(csr::vsstatus).value;
            r.satp = m_hw.csr_read(csr::vsatp).value;
            r.hgatp = m_hw.csr_read(csr::hgatp).value;
            r.sum = ms::sum::test(vsstatus);
            r.mxr = ms::mxr::test(vsstatus) || ms::mxr::test(status);
            r.mxr_g = ms::mxr::test(status);
            r.pbmt = riscv::henvcfg::pbmte::test(m_hw.csr_read(csr::henvcfg).value);
        } else {
            r.satp = satp_in_hardware ? m_hw.template read<csr::satp>() : m_h.csr.satp;
            r.sum = ms::sum::test(status);
            r.mxr = ms::mxr::test(status);
        }
    }

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
    bool fetch_os_instruction(u64 pc, u32& bits) noexcept {
        const translation_regime regime = os_regime();
        guest_fault fault;
        return with_os_memory([&](memory_type& memory) { return memory.read_instruction(regime, pc, bits, fault); });
    }

    /// Reads the firmware's instruction at `pc` (physical: the firmware runs
    /// with satp Bare) on the guarded path: never mtval, which a hart may leave
    /// stale (QEMU 7.2 does for HLV/HSV) or zero (priv. spec 3.1.16).
    bool read_firmware_instruction(u64 pc, u32& bits) noexcept {
        // The common case, RAM outside the monitor's memory, read in place;
        // anything else (ROM, flash, an edge of RAM) on the whole guarded path.
        if (firmware_instruction_in_ram(m_hw, m_h, pc, bits)) return true;
        translation_regime regime = common_regime();
        regime.privilege = riscv::privilege::machine;
        memory_type memory(m_hw, board().layout(), m_h, memory_type::side::firmware, Hooks::intercepts_shutdown);
        guest_fault fault;
        return memory.read_instruction(regime, pc, bits, fault);
    }

    /// The guest's register `n` and its update (x0 rules apply).
    [[nodiscard]] u64 reg(unsigned n) const noexcept { return m_h.reg(n); }
    void set_reg(unsigned n, u64 value) noexcept { m_h.set_reg(n, value); }

private:
    using csr = riscv::csr;

    /// What every regime of this hart shares: how it updates A/D, Svnapot,
    /// and Svpbmt as the virtual menvcfg enables it for the first stage.
    [[nodiscard]] translation_regime common_regime() const noexcept {
        translation_regime r;
        r.update_ad = m_h.features.updates_accessed_dirty;
        r.napot = m_h.features.has_svnapot;
        r.pbmt = riscv::menvcfg::pbmte::test(m_h.csr.menvcfg);
        r.pbmt_g = r.pbmt;
        return r;
    }

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
                if (!m_h.features.has_s || !have_registers(si.rs1, si.rs2)) return false;
                m_hw.sfence_vma(fence_of(si));
                m_h.pc += 4;
                return true;
            case riscv::system_op::hfence_vvma:
                if (!m_h.features.has_h || !have_registers(si.rs1, si.rs2)) return false;
                m_hw.hfence_vvma(fence_of(si));
                m_h.pc += 4;
                return true;
            case riscv::system_op::hfence_gvma:
                if (!m_h.features.has_h || !have_registers(si.rs1, si.rs2)) return false;
                m_hw.hfence_gvma(fence_of(si));
                m_h.pc += 4;
                return true;
            case riscv::system_op::hypervisor_load:
            case riscv::system_op::hypervisor_store: return m_h.features.has_h && emulate_hypervisor_access(bits, si);
            default: return false;
        }
    }

    /// HLV/HLVX/HSV from vM-mode (H ext. 9.3.1): an access with VS- or
    /// VU-mode's two-stage translation (hstatus.SPVP picks which), made on the
    /// guarded path; HLVX needs execute permission instead of read permission.
    /// The instruction comes from memory (QEMU 7.2 leaves a stale mtval here).
    bool emulate_hypervisor_access(u32 bits, const riscv::system_instruction& si) noexcept {
        const bool load = si.op == riscv::system_op::hypervisor_load;
        if (!have_registers(si.rs1, load ? si.rd : si.rs2)) return false;
        const unsigned width = riscv::hypervisor_access_width(bits);
        const bool hlvx = load && si.rs2 == 3;
        translation_regime regime = mprv_regime();
        regime.privilege = riscv::hstatus::spvp::test(m_hw.csr_read(csr::hstatus).value) ? riscv::privilege::supervisor
                                                                                        : riscv::privilege::user;
        regime.virtualized = true;
        regime.execute_for_read = hlvx;
        add_translation_csrs(regime, /*satp_in_hardware=*/false);
        const u64 address = reg(si.rs1);
        const u64 value = load ? 0 : reg(si.rs2);
        const guest_access out = with_firmware_memory([&](memory_type& memory) {
            return load ? memory.load(regime, address, width, reach::mmio)
                        : memory.store(regime, address, width, value, reach::mmio);
        });
        if (!out.done()) {
            // An emulated device behind a guest address: as natively, an access fault.
            const guest_fault f = out.result == guest_access::status::fault
                                      ? out.fault
                                      : guest_fault{access_fault_cause(load ? access_kind::load : access_kind::store),
                                                    address, 0, 0, true};
            deliver_exception(f.cause, f.tval, f.tval2, f.tinst, f.gva);
            return true;
        }
        // HLV.B/H/W sign-extend; HLV.BU/HU/WU, HLVX zero-extend (funct7 bit 0 is U: rs2 = 1 or 3).
        if (load) set_reg(si.rd, (si.rs2 & 1) == 0 ? bits::sign_extend(out.value, 8 * width) : out.value);
        m_h.pc += 4;
        return true;
    }

    [[nodiscard]] fence_operands fence_of(const riscv::system_instruction& si) const noexcept {
        return fence_operands{reg(si.rs1), reg(si.rs2), si.rs1 == 0, si.rs2 == 0};
    }

    // ---- CSR emulation ----------------------------------------------------------------------

    /// What a CSR write changed that needs more than storing the value.
    enum class csr_effect : u8 { none, interrupts, pmp, interrupts_and_pmp };

    bool emulate_csr(const riscv::system_instruction& si) noexcept {
        if (!have_registers(si.rd, riscv::is_immediate_csr_op(si.op) ? 0 : si.rs1)) return false;
        const bool write = riscv::writes_csr(si);
        if (write && riscv::is_read_only(si.csr)) return false;
        const u64 operand = riscv::is_immediate_csr_op(si.op) ? u64{si.rs1} : reg(si.rs1);
        csr_op_kind kind = csr_op_kind::clear;
        if (si.op == riscv::system_op::csrrw || si.op == riscv::system_op::csrrwi) kind = csr_op_kind::write;
        if (si.op == riscv::system_op::csrrs || si.op == riscv::system_op::csrrsi) kind = csr_op_kind::set;
        u64 old_value = 0;
        csr_effect effect = csr_effect::none;
        if (!csr_access(si.csr, kind, operand, write, old_value, effect)) return false;
        set_reg(si.rd, old_value);
        m_h.pc += 4;
        // Side effects take place after the instruction, so an interrupt it
        // enables is taken with mepc at the next instruction.
        if (effect == csr_effect::pmp || effect == csr_effect::interrupts_and_pmp)
            apply_pmp_view(firmware_view());
        if (effect == csr_effect::interrupts || effect == csr_effect::interrupts_and_pmp) refresh_interrupts();
        return true;
    }

    /// Performs one CSR access of the firmware against the virtual hart. Returns
    /// false where the hardware raises illegal instruction (an absent CSR).
    bool csr_access(u16 number, csr_op_kind kind, u64 operand, bool write, u64& old_value,
                    csr_effect& effect) noexcept {
        auto virtual_rw = [&](u64& slot, u64 writable) {
            old_value = slot;
            if (write) slot = apply_csr_op(kind, old_value, operand) & writable;
        };
        switch (static_cast<csr>(number)) {
            case csr::mstatus: {
                const u64 physical = m_hw.template read<csr::mstatus>();
                old_value = rules::compose_mstatus(physical, m_h.csr.mstatus);
                if (write) effect = write_mstatus(apply_csr_op(kind, old_value, operand), physical);
                return true;
            }
            case csr::misa: old_value = m_h.features.misa; return true;  // read-only here: writes are ignored (WARL)
            case csr::medeleg:
                if (!m_h.features.has_s) return false;  // without S-mode there is nothing to delegate to (3.1.8)
                virtual_rw(m_h.csr.medeleg, rules::medeleg_writable(m_h.features));
                return true;
            case csr::mideleg:
                if (!m_h.features.has_s) return false;
                old_value = m_h.csr.mideleg | m_h.features.mideleg_forced;
                if (write) {
                    m_h.csr.mideleg = apply_csr_op(kind, old_value, operand) & rules::mideleg_writable(m_h.features);
                    effect = csr_effect::interrupts;
                }
                return true;
            case csr::mie:
                virtual_rw(m_h.csr.mie, m_h.features.mie_writable);
                if (write) effect = csr_effect::interrupts;
                return true;
            case csr::mip: return mip_access(kind, operand & m_h.features.mip_writable, write, old_value, effect);
            case csr::mtvec:
                old_value = m_h.csr.mtvec;
                if (write) {
                    m_h.csr.mtvec = rules::write_mtvec(old_value, apply_csr_op(kind, old_value, operand));
                    check_trap_vector();
                }
                return true;
            case csr::mcounteren:
                if (!m_h.features.has_u) return false;
                old_value = m_h.csr.mcounteren;
                if (write) m_h.csr.mcounteren = rules::write_mcounteren(apply_csr_op(kind, old_value, operand), m_h.features);
                return true;
            case csr::mscratch: virtual_rw(m_h.csr.mscratch, ~u64{0}); return true;
            case csr::mepc:
                old_value = m_h.csr.mepc;
                if (write) m_h.csr.mepc = rules::write_mepc(apply_csr_op(kind, old_value, operand), m_h.features);
                return true;
            case csr::mcause: virtual_rw(m_h.csr.mcause, ~u64{0}); return true;
            case csr::mtval: virtual_rw(m_h.csr.mtval, ~u64{0}); return true;
            case csr::mtval2:
                if (!m_h.features.has_mtval2) return false;
                virtual_rw(m_h.csr.mtval2, ~u64{0});
                return true;
            case csr::mtinst:
                if (!m_h.features.has_mtval2) return false;
                virtual_rw(m_h.csr.mtinst, ~u64{0});
                return true;
            case csr::menvcfg:
                if (!m_h.features.has_menvcfg) return false;
                virtual_rw(m_h.csr.menvcfg, m_h.features.menvcfg_writable);
                if (write) {
                    m_hw.template write<csr::menvcfg>(m_h.csr.menvcfg);
                    effect = csr_effect::interrupts;  // STCE decides who drives STIP
                }
                return true;
            case csr::mvendorid: old_value = m_h.features.mvendorid; return true;
            case csr::marchid: old_value = m_h.features.marchid; return true;
            case csr::mimpid: old_value = m_h.features.mimpid; return true;
            case csr::mhartid: old_value = m_h.hartid; return true;
            case csr::mconfigptr:
                if (!m_h.features.has_mconfigptr) return false;
                old_value = m_h.features.mconfigptr;
                return true;

            // mcycle and minstret: the hardware's, less the monitor's own work
            // (virtual_counters); the OS reads the hardware's.
            case csr::cycle: return counter_access(0, csr_op_kind::set, 0, false, old_value);
            case csr::instret: return counter_access(1, csr_op_kind::set, 0, false, old_value);
            // `time` is the hart's own or nothing: a hart without it (QEMU
            // sifive_u and spike, boards whose timer is only memory-mapped)
            // raises illegal instruction for it in M-mode too (priv. 2.1),
            // and firmwares probe for it that way (docs/boards.md).
            case csr::time:
                if (!m_h.features.has_time_csr) return false;
                return physical_read(csr::time, old_value);
            case csr::mcycle: return counter_access(0, kind, operand, write, old_value);
            case csr::minstret: return counter_access(1, kind, operand, write, old_value);
            case csr::mcountinhibit: return physical_access(number, kind, operand, write, old_value);

            // Supervisor CSRs live in the physical registers, except satp (Bare while
            // the firmware runs) and the views of mie/mip (sie, sip).
            case csr::sstatus: return fast_physical<csr::sstatus>(kind, operand, write, old_value);
            case csr::stvec: return fast_physical<csr::stvec>(kind, operand, write, old_value);
            case csr::sscratch: return fast_physical<csr::sscratch>(kind, operand, write, old_value);
            case csr::sepc: return fast_physical<csr::sepc>(kind, operand, write, old_value);
            case csr::scause: return fast_physical<csr::scause>(kind, operand, write, old_value);
            case csr::stval: return fast_physical<csr::stval>(kind, operand, write, old_value);
            case csr::scounteren: return fast_physical<csr::scounteren>(kind, operand, write, old_value);
            case csr::senvcfg:
                if (!m_h.features.has_senvcfg) return false;
                return physical_access(number, kind, operand, write, old_value);
            case csr::stimecmp:
            case csr::scountovf: return m_h.features.has_s && physical_access(number, kind, operand, write, old_value);
            case csr::sie: {
                if (!m_h.features.has_s) return false;
                const u64 view = supervisor_interrupt_view();
                old_value = m_h.csr.mie & view;
                if (write) {
                    const u64 value = apply_csr_op(kind, old_value, operand) & view & m_h.features.mie_writable;
                    m_h.csr.mie = (m_h.csr.mie & ~view) | value;
                    effect = csr_effect::interrupts;
                }
                return true;
            }
            case csr::sip: {
                if (!m_h.features.has_s) return false;
                const u64 view = supervisor_interrupt_view();
                // Only SSIP (and LCOFIP) are writable through sip (priv. spec 4.1.3): a
                // csrrw becomes a set and a clear of those bits, leaving the rest of mip.
                const u64 writable = view & (riscv::mip::ssip::mask | riscv::mip::lcofip::mask) & m_h.features.mip_writable;
                u64 full = 0;
                if (write && kind == csr_op_kind::write) {
                    if (!mip_access(csr_op_kind::set, operand & writable, true, full, effect)) return false;
                    u64 ignored = 0;
                    (void)mip_access(csr_op_kind::clear, ~operand & writable, true, ignored, effect);
                } else if (!mip_access(kind, operand & writable, write, full, effect)) {
                    return false;
                }
                old_value = full & view;
                return true;
            }
            case csr::satp: {
                if (!m_h.features.has_s) return false;
                old_value = m_h.csr.satp;
                if (write) m_h.csr.satp = legalize_satp(apply_csr_op(kind, old_value, operand));
                return true;
            }

            // Hypervisor CSRs: physical, except the views of mie (hie, vsie).
            case csr::hie: {
                if (!m_h.features.has_h) return false;
                constexpr u64 view = riscv::mip::virtual_supervisor | riscv::mip::sgeip::mask;
                old_value = m_h.csr.mie & view;
                if (write) {
                    m_h.csr.mie = (m_h.csr.mie & ~view) | (apply_csr_op(kind, old_value, operand) & view & m_h.features.mie_writable);
                    effect = csr_effect::interrupts;
                }
                return true;
            }
            case csr::vsie: {
                if (!m_h.features.has_h) return false;
                // vsie bit i-1 aliases hie bit i for the VS interrupts delegated by hideleg (H ext. 9.2.3).
                const u64 hideleg = m_hw.csr_read(csr::hideleg).value & riscv::mip::virtual_supervisor;
                old_value = (m_h.csr.mie & hideleg) >> 1;
                if (write) {
                    const u64 value = (apply_csr_op(kind, old_value, operand) << 1) & hideleg & m_h.features.mie_writable;
                    m_h.csr.mie = (m_h.csr.mie & ~hideleg) | value;
                    effect = csr_effect::interrupts;
                }
                return true;
            }

            // Sdtrig (virt/triggers.hpp): the hardware's, but tdata1's privilege bits.
            case csr::tselect: {
                if (m_h.features.trigger_count == 0) return false;
                old_value = m_hw.csr_read(csr::tselect).value;
                const u64 value = apply_csr_op(kind, old_value, operand);
                // WARL (5.7.1): a trigger the firmware cannot have keeps the old value.
                if (write && value < m_h.features.trigger_count) (void)m_hw.csr_write(csr::tselect, value);
                return true;
            }
            case csr::tdata1: return m_h.features.trigger_count != 0 && tdata1_access(kind, operand, write, old_value);
            case csr::tdata2:
            case csr::tdata3:
                return m_h.features.trigger_count != 0 && physical_access(number, kind, operand, write, old_value);
            case csr::tinfo: {
                if (m_h.features.trigger_count == 0 || !physical_access(number, kind, operand, write, old_value))
                    return false;
                // Only the types the firmware may program (containable_type).
                old_value &= ~(riscv::trigger::tinfo_info::mask & ~containable_types);
                return true;
            }
            default: break;
        }
        if (number >= riscv::pmpcfg_number(0) && number <= riscv::pmpaddr_number(63)) {
            const bool ok = pmp_access(number, kind, operand, write, old_value);
            if (ok && write) effect = csr_effect::pmp;
            return ok;
        }
        // mhpmcounter3..31, mhpmevent3..31: physical, as the hart has them.
        if ((number >= 0xB03 && number <= 0xB1F) || (number >= 0x323 && number <= 0x33F))
            return physical_access(number, kind, operand, write, old_value);
        // hpmcounter3..31 read mhpmcounter3..31 (M-mode ignores mcounteren).
        if (number >= 0xC03 && number <= 0xC1F) return physical_read(static_cast<csr>(number - 0xC00 + 0xB00), old_value);
        // Hypervisor (0x6xx, hgeip) and virtual-supervisor (0x2xx) CSRs: physical.
        if (m_h.features.has_h && ((number >= 0x600 && number <= 0x6FF) || (number >= 0x200 && number <= 0x2FF) ||
                                   number == static_cast<u16>(csr::hgeip)))
            return physical_access(number, kind, operand, write, old_value);
        return false;  // tcontrol, mcontext, state-enable, vector, float, seed, custom: absent in vM-mode
    }

    /// The interrupts sie/sip show: the delegated S-level ones (priv. spec 4.1.3).
    [[nodiscard]] u64 supervisor_interrupt_view() const noexcept {
        return m_h.csr.mideleg & (riscv::mip::supervisor | riscv::mip::lcofip::mask);
    }

    /// mstatus write: the virtual fields are legalised and kept; the supervisor
    /// fields go to the physical mstatus (the hardware legalises them).
    csr_effect write_mstatus(u64 value, u64 physical) noexcept {
        namespace ms = riscv::mstatus;
        constexpr u64 physical_writable = mstatus_physical_writable;
        const u64 before = m_h.csr.mstatus;
        m_h.csr.mstatus = rules::write_mstatus(value, m_h.features);
        if (((value ^ physical) & physical_writable) != 0)
            m_hw.template write<csr::mstatus>((physical & ~physical_writable) | (value & physical_writable));
        const u64 changed = before ^ m_h.csr.mstatus;
        const bool interrupts = (changed & ms::mie::mask) != 0;
        const bool pmp = (changed & (ms::mprv::mask | ms::mpp::mask)) != 0;
        if (interrupts && pmp) return csr_effect::interrupts_and_pmp;
        if (interrupts) return csr_effect::interrupts;
        return pmp ? csr_effect::pmp : csr_effect::none;
    }

    /// mip: the bits M-mode may write are the physical ones; csrrs/csrrc act on
    /// the physical register with the same instruction, so the software-writable
    /// SEIP bit stays separate from the interrupt controller's line (priv. spec 3.1.9).
    bool mip_access(csr_op_kind kind, u64 operand, bool write, u64& old_value, csr_effect& effect) noexcept {
        u64 physical = 0;
        if (!write) {
            physical = m_hw.template read<csr::mip>();
        } else {
            switch (kind) {
                case csr_op_kind::write: physical = m_hw.template swap<csr::mip>(operand); break;
                case csr_op_kind::set: physical = m_hw.template set<csr::mip>(operand); break;
                case csr_op_kind::clear: physical = m_hw.template clear<csr::mip>(operand); break;
            }
            effect = csr_effect::interrupts;
        }
        old_value = virtual_mip_from(physical);
        return true;
    }

    /// satp is WARL: a write with an unsupported MODE has no effect (priv. spec
    /// 4.1.11). The physical satp legalises; it is Bare again before the firmware runs.
    [[nodiscard]] u64 legalize_satp(u64 value) noexcept {
        m_hw.template write<csr::satp>(value);
        const u64 legal = m_hw.template read<csr::satp>();
        m_hw.template write<csr::satp>(0);
        if (riscv::satp::mode::extract(legal) != riscv::satp::mode::extract(value)) return m_h.csr.satp;
        return legal;
    }

    template <csr N>
    bool fast_physical(csr_op_kind kind, u64 operand, bool write, u64& old_value) noexcept {
        if (!m_h.features.has_s) return false;
        if (!write) {
            old_value = m_hw.template read<N>();
            return true;
        }
        switch (kind) {
            case csr_op_kind::write: old_value = m_hw.template swap<N>(operand); break;
            case csr_op_kind::set: old_value = m_hw.template set<N>(operand); break;
            case csr_op_kind::clear: old_value = m_hw.template clear<N>(operand); break;
        }
        return true;
    }

    bool physical_read(csr number, u64& old_value) noexcept {
        const csr_result result = m_hw.csr_read(number);
        old_value = result.value;
        return result.ok;
    }

    /// A guarded physical access: where the hart lacks the CSR, the firmware gets
    /// the illegal-instruction exception M-mode software would get.
    bool physical_access(u16 number, csr_op_kind kind, u64 operand, bool write, u64& old_value) noexcept {
        const csr n = static_cast<csr>(number);
        csr_result result;
        if (!write) {
            result = m_hw.csr_read(n);
        } else {
            switch (kind) {
                case csr_op_kind::write: result = m_hw.csr_swap(n, operand); break;
                case csr_op_kind::set: result = m_hw.csr_set(n, operand); break;
                case csr_op_kind::clear: result = m_hw.csr_clear(n, operand); break;
            }
        }
        old_value = result.value;
        return result.ok;
    }

    /// tdata1 (Debug spec 5.7.2): the hardware's value with the firmware's
    /// privilege bits. A write of a containable type (containable_type) goes
    /// to the hardware contained (contained_tdata1) with the bits for the
    /// firmware's world, and its privilege bits are kept when the hardware
    /// took the type; a write of another type is ignored (WARL), as QEMU 7.2
    /// ignores the types it lacks: vfm could not keep it from firing in M-mode.
    bool tdata1_access(csr_op_kind kind, u64 operand, bool write, u64& old_value) noexcept {
        namespace tr = riscv::trigger;
        const u64 index = m_hw.csr_read(csr::tselect).value;
        const csr_result physical = m_hw.csr_read(csr::tdata1);
        if (!physical.ok) return false;
        const bool ours = index < m_h.features.trigger_count;
        old_value = tr::with_modes(physical.value, ours ? m_h.trigger_modes[index] : 0);
        if (!write || !ours) return true;
        const u64 value = apply_csr_op(kind, old_value, operand);
        const u64 type = tr::tdata1::type::extract(value);
        if (!containable_type(type)) return true;
        const u8 modes = static_cast<u8>(tr::modes_of(value) & m_h.features.trigger_modes[type]);
        (void)m_hw.csr_write(csr::tdata1,
                             tr::with_modes(contained_tdata1(value), physical_trigger_modes(modes, world::firmware)));
        // The type the hardware now holds: the one written (it took the write),
        // the old one (it ignored it), or another (e.g. 15: disabled, no bits).
        const u64 now = tr::tdata1::type::extract(m_hw.csr_read(csr::tdata1).value);
        if (now == type)
            m_h.trigger_modes[index] = modes;
        else if (now != tr::tdata1::type::extract(physical.value))
            m_h.trigger_modes[index] = 0;
        m_h.triggers_active = any_trigger_modes(m_h);
        return true;
    }

    // ---- virtual counters (virtual_counters, docs/virtual-hart.md) ------------------------------

    /// The firmware's access to mcycle (0) or minstret (1). The first one
    /// starts the accounting (it needs every register: the counting path is
    /// tier 3's); a read gives the value at the trap, less the hidden work; a
    /// write reaches the hardware counter too (the OS reads it, as natively).
    bool counter_access(unsigned i, csr_op_kind kind, u64 operand, bool write, u64& old_value) noexcept {
        virtual_counters& c = m_h.counters;
        constexpr csr hardware[2] = {csr::mcycle, csr::minstret};
        if (c.counting == 0) {
            if (!have_all_registers()) return false;
            // The first access (or one that did not take the counting path):
            // from here on the monitor's work is accounted.
            for (unsigned k = 0; k < 2; ++k) c.at_trap[k] = m_hw.csr_read(hardware[k]).value;
            c.counting = 1;
            c.retired = 1;  // this instruction (handle_trap counts only from the next trap on)
            if (!c.armed) {
                c.armed = true;
                announce_world();
            }
        }
        old_value = c.at_trap[i] - c.hidden[i];
        if (!write) return true;
        const u64 value = apply_csr_op(kind, old_value, operand);
        if (!m_hw.csr_swap(hardware[i], value).ok) {
            c.retired = 0;  // illegal instruction: it does not complete
            return false;
        }
        // The firmware reads `value` at its next instruction: the write wins
        // over the instruction's own increment (priv. spec 3.1.10). at_trap
        // one below the counter now: the way back counts this instruction
        // as retired (subtracted) and never takes the counter as stopped.
        const u64 now = m_hw.csr_read(hardware[i]).value;
        c.at_trap[i] = now - 1;
        c.hidden[i] = now - value;
        return true;
    }

    /// Tells the backend which world runs next and whether the firmware's
    /// traps take the counting path.
    void announce_world() noexcept { m_hw.world_switched(m_h.world == world::firmware, m_h.counters.armed); }

    // ---- virtual PMP ------------------------------------------------------------------------

    bool pmp_access(u16 number, csr_op_kind kind, u64 operand, bool write, u64& old_value) noexcept {
        const unsigned count = m_h.pmp.virtual_count();
        const unsigned g = m_h.features.pmp_granularity;
        if (number < riscv::pmpaddr_number(0)) {
            const unsigned index = number - riscv::pmpcfg_number(0);
            if ((index & 1) != 0) return false;  // odd pmpcfg registers do not exist on RV64
            const unsigned first = index * 4;
            old_value = 0;
            for (unsigned e = 0; e < riscv::pmp::entries_per_cfg; ++e)
                if (first + e < count) old_value = riscv::pmp::with_cfg_byte(old_value, e, m_h.csr.pmpcfg[first + e]);
            if (write) {
                const u64 value = apply_csr_op(kind, old_value, operand);
                for (unsigned e = 0; e < riscv::pmp::entries_per_cfg && first + e < count; ++e)
                    m_h.csr.pmpcfg[first + e] =
                        rules::write_pmpcfg_byte(m_h.csr.pmpcfg[first + e], riscv::pmp::cfg_byte(value, e), g);
                recompute_pmp_views();
            }
            return true;
        }
        const unsigned index = number - riscv::pmpaddr_number(0);
        if (index >= count) {
            old_value = 0;
            return true;
        }
        old_value = riscv::pmp::read_pmpaddr(m_h.csr.pmpaddr[index], m_h.csr.pmpcfg[index], g);
        if (write && !rules::pmpaddr_locked(m_h.csr.pmpcfg, index, count)) {
            m_h.csr.pmpaddr[index] = apply_csr_op(kind, old_value, operand) & riscv::pmp::address_mask;
            recompute_pmp_views();
        }
        return true;
    }

    /// Recomputes the slots from the virtual PMP (pmp_layout.hpp): the whole
    /// list when it fits, else empty caches for both worlds (what they held
    /// may no longer be decided as it was); then brings the hart in line.
    void recompute_pmp_views() noexcept {
        m_h.pmp_cached = !plan_fit(m_h.pmp, virtual_pmp_of(m_h), m_h.pmp_slots);
        if (m_h.pmp_cached) {
            m_h.pmp_cache_state = pmp_cache{};
            plan_cache(m_h.pmp, m_h.pmp_cache_state, m_h.pmp_slots);
        }
        // In cache mode the monitor sees the OS's access faults first (a miss
        // is not the OS's fault); it delegates the real ones as medeleg says.
        // With H, the guest-page faults too: QEMU 7.2 reports a PMP denial of
        // a VS/VU-mode access as one (docs/pmp.md, "Guests").
        using riscv::exception;
        constexpr auto bit = [](exception e) { return u64{1} << static_cast<unsigned>(e); };
        constexpr u64 access_faults = bit(exception::instruction_access_fault) | bit(exception::load_access_fault) |
                                      bit(exception::store_access_fault);
        constexpr u64 guest_page_faults = bit(exception::instruction_guest_page_fault) |
                                          bit(exception::load_guest_page_fault) |
                                          bit(exception::store_guest_page_fault);
        m_h.os_medeleg_withheld =
            m_h.pmp_cached ? access_faults | (m_h.features.has_h ? guest_page_faults : 0) : 0;
        m_h.pmp_cfg_register_count = static_cast<u8>(m_h.pmp.cfg_registers());
        check_trap_vector();
        write_pmp_addresses(m_hw, m_h);
        apply_pmp_view(m_h.world == world::firmware ? firmware_view() : pmp_view::os);
    }

    /// The access an access fault or a guest-page fault was raised for.
    [[nodiscard]] static constexpr access_kind faulting_access(u64 cause) noexcept {
        using riscv::exception;
        if (cause == riscv::cause_value(exception::instruction_access_fault) ||
            cause == riscv::cause_value(exception::instruction_guest_page_fault))
            return access_kind::fetch;
        if (cause == riscv::cause_value(exception::load_access_fault) ||
            cause == riscv::cause_value(exception::load_guest_page_fault))
            return access_kind::load;
        return access_kind::store;
    }

    /// The miss path for an access fault of the guest that runs (cache mode):
    /// true when the range was installed and the access should run again.
    /// `physical` and the kind come from the fault; one byte is decided (the
    /// range installed holds every byte the same decider decides, so the
    /// rest of the access either lies in it or is denied by the list too).
    bool resolve_pmp_fault(u64 cause, u64 physical, u64 started = 0) noexcept {
        const access_kind kind = faulting_access(cause);
        const u8 needed = kind == access_kind::fetch ? pmp_x : kind == access_kind::load ? pmp_r : pmp_w;
        if (monitor_entries_refuse(m_h.pmp, m_h.world == world::firmware, m_h.features.pmp_granularity, physical, 1,
                                   needed))
            return false;
        if (started == 0) started = m_hw.csr_read(csr::minstret).value;
        if (resolve_pmp_access(m_hw, m_h, m_h.physical_view, physical, 1, needed) != pmp_resolution::installed)
            return false;
        ++m_h.pmp_misses_resolved;
        // minstret as the monitor sees it; the firmware's virtual counters
        // rewrite the hardware's on some trap paths: a delta that went
        // backwards or wild is left out (and so is its miss, from the average).
        const u64 spent = m_hw.csr_read(csr::minstret).value - started;
        if (spent < (u64{1} << 24)) {
            m_h.pmp_miss_instructions += spent;
            ++m_h.pmp_misses_measured;
        }
        return true;
    }

    /// resolve_pmp_fault for the OS: its faulting address translated as the
    /// hardware did (the walk's own page-table reads resolve their misses:
    /// a range they installed makes the access worth running again too).
    bool resolve_os_pmp_fault(u64 cause) noexcept {
        const access_kind kind = faulting_access(cause);
        const u64 started = m_hw.csr_read(csr::minstret).value;
        const u32 installs = m_h.pmp_installs;
        const translation_regime regime = os_regime();
        const guest_translation t =
            with_os_memory([&](memory_type& memory) { return memory.walk(regime, m_trap.tval, kind); });
        const bool installed = t.ok && resolve_pmp_fault(cause, t.physical, started);
        return installed || m_h.pmp_installs != installs;
    }

    /// The OS's load or store that missed twice in a row at the same pc: its
    /// fetch and its access need more ranges at once than the slots hold (the
    /// one evicts the other). The monitor performs the access on the guarded
    /// path (virt/misaligned.hpp's emulation, aligned or not), as the hart
    /// would have. False when it cannot (an AMO, LR/SC, a float): the access
    /// runs again.
    bool perform_os_access_after_misses(u64 faulting_cause) noexcept {
        if (!have_all_registers()) return false;
        const translation_regime regime = os_regime();
        // The list decides the whole access first (the guarded path makes a
        // misaligned one byte by byte: each byte alone could pass where the
        // access as a whole matches an entry only in part). Within one page
        // only: across pages the hart's own retry decides.
        u32 bits = 0;
        data_access op;
        if (!fetch_os_instruction(m_h.pc, bits) || !decode_data_access(bits, op) || op.is_float ||
            (op.op != data_access::kind::load && op.op != data_access::kind::store))
            return false;
        const u64 address = m_trap.tval;
        if ((address & 0xfff) + op.width > 0x1000) return false;
        const access_kind kind = op.access();
        const guest_translation t =
            with_os_memory([&](memory_type& memory) { return memory.walk(regime, address, kind); });
        if (!t.ok) return false;
        const u8 needed = kind == access_kind::load ? pmp_r : pmp_w;
        if (monitor_entries_refuse(m_h.pmp, false, m_h.features.pmp_granularity, t.physical, op.width, needed))
            return false;
        if (!pmp_decide(m_h.pmp, virtual_pmp_of(m_h), pmp_view::os, t.physical, op.width, needed).allowed) {
            // The fault the hart raised for it: an access fault, or on QEMU 7.2
            // for a guest's access a guest-page fault (then with its mtval2).
            const bool as_guest_page_fault = faulting_cause != access_fault_cause(kind);
            const u64 cause = as_guest_page_fault ? faulting_cause : access_fault_cause(kind);
            const u64 tval2 = as_guest_page_fault ? m_trap.tval2 : 0;
            if (((m_h.csr.medeleg >> cause) & 1) != 0 && redirect_to_os(cause, address, tval2, m_h.os_virtualized))
                return true;
            deliver_exception(cause, address, tval2, 0, m_h.os_virtualized);
            return true;
        }
        const misaligned_outcome out = with_os_memory(
            [&](memory_type& memory) { return emulate_misaligned(memory, regime, m_h, m_h.pc, m_trap.tval); });
        switch (out.result) {
            case misaligned_outcome::status::emulated: m_h.pc += out.length; return true;
            case misaligned_outcome::status::fault:
                if (((m_h.csr.medeleg >> (out.cause & 63)) & 1) != 0 &&
                    redirect_to_os(out.cause, out.tval, out.tval2, m_h.os_virtualized))
                    return true;
                deliver_exception(out.cause, out.tval, out.tval2, 0, m_h.os_virtualized);
                return true;
            case misaligned_outcome::status::not_handled: return false;
        }
        return false;
    }

public:
    /// The view for the firmware: with virtual MPRV set (and MPP below M) its
    /// loads and stores must trap so the monitor can perform them with MPP's
    /// privilege and translation (priv. spec 3.1.6.3).
    [[nodiscard, gnu::always_inline]] pmp_view firmware_view() const noexcept {
        const u64 s = m_h.csr.mstatus;
        if (riscv::mstatus::mprv::test(s) && riscv::mstatus::mpp::extract(s) != 3) return pmp_view::firmware_mprv;
        return pmp_view::firmware;
    }

    /// Writes the pmpcfg registers of `view` that differ from what the hart holds.
    void apply_pmp_view(pmp_view view) noexcept { apply_pmp_view_inline(view); }

    /// apply_pmp_view, inlined (the world switches' fast path): the views
    /// share every pmpaddr, in cache mode too (pmp_layout.hpp).
    [[gnu::always_inline]] void apply_pmp_view_inline(pmp_view view) noexcept {
        const u64* wanted = m_h.pmp_slots.cfg[static_cast<unsigned>(view)];
        u64* physical = m_h.physical_pmpcfg;
        const unsigned registers = m_h.pmp_cfg_register_count;  // at least 1: the layout is usable()
        m_h.physical_view = view;
        if (wanted[0] != physical[0]) {
            m_hw.template write<csr::pmpcfg0>(wanted[0]);
            physical[0] = wanted[0];
        }
        if (registers == 1) return;
        if (wanted[1] != physical[1]) {
            m_hw.template write<csr::pmpcfg2>(wanted[1]);
            physical[1] = wanted[1];
        }
        if (registers > 2) [[unlikely]]
            apply_more_pmpcfg(m_hw, m_h, wanted, registers);
    }

    /// pmpcfg4 and up (harts with more than 16 entries), out of the hot path.
    [[gnu::noinline]] static void apply_more_pmpcfg(Arch& hw, hart& h, const u64* wanted, unsigned registers) noexcept {
        for (unsigned r = 2; r < registers; ++r) {
            if (wanted[r] != h.physical_pmpcfg[r]) {
                (void)hw.csr_write(static_cast<csr>(riscv::pmpcfg_number(2 * r)), wanted[r]);
                h.physical_pmpcfg[r] = wanted[r];
            }
        }
    }

private:
    // ---- trap return, wfi ---------------------------------------------------------------------

    /// mret (priv. spec 3.3.2): to MPP, with MIE = MPIE, MPIE = 1, MPP = least
    /// privileged mode, MPRV = 0 when leaving M, V = MPV (H ext.).
    /// With `ToOs`, the caller knows that MPP is below M and that no interrupt
    /// of the firmware is takeable once the OS runs (handle_firmware_mret).
    template <bool ToOs = false>
    [[gnu::always_inline]] void emulate_mret() noexcept {
        namespace ms = riscv::mstatus;
        const u64 s = m_h.csr.mstatus;
        const u64 target = ms::mpp::extract(s);
        const bool to_m = !ToOs && target == 3;
        const bool target_virtualized = m_h.features.has_h && !to_m && ms::mpv::test(s);
        const u64 cleared = ms::mie::mask | ms::mpp::mask | ms::mpv::mask | (to_m ? 0 : ms::mprv::mask);
        const u64 set = ((s & ms::mpie::mask) >> (ms::mpie::lsb - ms::mie::lsb)) | ms::mpie::mask |
                        ms::mpp::make(rules::least_privilege(m_h.features));
        m_h.csr.mstatus = (s & ~cleared) | set;
        m_h.pc = m_h.csr.mepc;
        if (!to_m) {
            switch_to_os<ToOs>(static_cast<riscv::privilege>(target), target_virtualized);
            if constexpr (ToOs)
                program_physical_interrupts_inline();
            else
                refresh_interrupts_checking(false);  // the OS runs next: the physical timer speaks for MTIP
            return;
        }
        if (m_h.physical_view != firmware_view()) apply_pmp_view(firmware_view());
        refresh_interrupts();
    }

    /// sret in M-mode (priv. spec 3.3.2, H ext. 9.6.3): to SPP with SIE = SPIE,
    /// SPIE = 1, SPP = U; V from hstatus.SPV. The supervisor fields are physical.
    bool emulate_sret() noexcept {
        namespace ms = riscv::mstatus;
        if (!m_h.features.has_s) return false;
        u64 status = m_hw.template read<csr::sstatus>();
        const bool to_supervisor = ms::spp::test(status);
        bool virtualized = false;
        if (m_h.features.has_h) {
            const u64 hstatus = m_hw.csr_read(csr::hstatus).value;
            virtualized = riscv::hstatus::spv::test(hstatus);
            if (virtualized) (void)m_hw.csr_clear(csr::hstatus, riscv::hstatus::spv::mask);
        }
        status = ms::sie::insert(status, ms::spie::extract(status));
        status = ms::spie::insert(status, 1);
        status = ms::spp::insert(status, 0);
        m_hw.template write<csr::sstatus>(status);
        m_h.csr.mstatus = ms::mprv::insert(m_h.csr.mstatus, 0);
        m_h.pc = m_hw.template read<csr::sepc>();
        switch_to_os(to_supervisor ? riscv::privilege::supervisor : riscv::privilege::user, virtualized);
        refresh_interrupts();
        return true;
    }

    /// wfi from the firmware (priv. spec 3.3.3): resume when an interrupt is
    /// pending and enabled in the virtual mie, whatever MIE and mideleg say,
    /// and only then, as the hart does natively: the monitor's own events
    /// (doorbells, its deadline) are served in the loop without waking the
    /// firmware. A spurious wake-up would be legal but breaks stock firmware:
    /// OpenSBI 1.1's hart_start marks the hart START_PENDING before it stores
    /// the start address, so a hart that wakes in between jumps to a stale
    /// one. A firmware that enabled nothing does not sleep (wfi as a nop).
    void emulate_wfi() noexcept {
        m_h.pc += 4;
        const u64 wake = m_h.csr.mie;
        if (wake != 0 && (virtual_mip() & wake) == 0) {
            u64 physical_wake = ~u64{0};
            do {
                // MTIE only for a deadline someone wants (physical_mtie).
                physical_timer_setting t{m_h.monitor_deadline, m_h.monitor_deadline != ~u64{0}};
                if ((wake & riscv::mip::mtip::mask) != 0) {
                    t.deadline = detail::min(t.deadline, shared().mtimecmp[m_h.index]);
                    t.wanted = true;
                }
                set_physical_timer(t.deadline);
                const u64 enables = (wake & passthrough_interrupts) | riscv::mip::msip::mask | physical_mtie(t);
                if (enables != physical_wake) {
                    m_hw.template write<csr::mie>(enables);
                    m_h.physical_mie = physical_wake = enables;
                }
                m_hw.wait_for_interrupt();
                service_monitor_events(m_hw.template read<csr::mip>());
            } while ((virtual_mip() & wake) == 0);
        }
        refresh_interrupts();
    }

    // ---- traps from the OS --------------------------------------------------------------------

    [[nodiscard]] static constexpr bool is_ecall(u64 cause) noexcept {
        return cause == riscv::cause_value(riscv::exception::ecall_from_u) ||
               cause == riscv::cause_value(riscv::exception::ecall_from_s) ||
               cause == riscv::cause_value(riscv::exception::ecall_from_vs);
    }

    [[gnu::always_inline]] void os_trap(u64 cause) noexcept {
        namespace ms = riscv::mstatus;
        const u64 status = m_hw.template read<csr::mstatus>();
        m_h.os_mode = ms::mpp::extract(status) == 1 ? riscv::privilege::supervisor : riscv::privilege::user;
        m_h.os_virtualized = m_h.features.has_h && ms::mpv::test(status);
        sync_os_interrupt_enables();
        if (riscv::mcause::interrupt::test(cause)) {
            physical_interrupt(riscv::mcause::code::extract(cause));
            return;
        }
        m_trap.tval = 0;
        m_trap.tval2 = 0;
        m_trap.tinst = 0;
        m_trap.gva = false;
        // An ecall writes zero to mtval, mtval2 and mtinst and clears GVA
        // (priv. spec 3.1.16, H ext. 9.4.6-9.4.7, table of mtinst values).
        if (!is_ecall(cause)) {
            m_trap.tval = m_hw.template read<csr::mtval>();
            if (m_h.features.has_mtval2) {
                m_trap.tval2 = m_hw.template read<csr::mtval2>();
                m_trap.tinst = m_hw.template read<csr::mtinst>();
            }
            m_trap.gva = m_h.features.has_h && ms::gva::test(status);
        }
        // Cache mode: the monitor sees the OS's access faults first; a miss is
        // resolved and the access runs again, a real fault the firmware
        // delegates goes to the OS as the hart would have sent it.
        const bool withheld = cause < 64 && ((m_h.os_medeleg_withheld >> cause) & 1) != 0;
        if (withheld) [[unlikely]] {
            const bool again = m_h.pc == m_h.pmp_last_miss_pc;
            if (again && faulting_access(cause) != access_kind::fetch && perform_os_access_after_misses(cause)) {
                m_h.pmp_last_miss_pc = ~u64{0};
                return;
            }
            if (m_missing_registers) return;
            if (resolve_os_pmp_fault(cause)) {
                m_h.pmp_last_miss_pc = m_h.pc;
                return;
            }
            m_h.pmp_last_miss_pc = ~u64{0};
        }
        if ((cause == riscv::cause_value(riscv::exception::load_access_fault) ||
             cause == riscv::cause_value(riscv::exception::store_access_fault)) &&
            (emulate_device_access() || m_missing_registers))
            return;
        if (withheld && ((m_h.csr.medeleg >> cause) & 1) != 0 &&
            redirect_to_os(cause, m_trap.tval, m_trap.tval2, m_trap.gva))
            return;
        if (m_hooks.on_os_trap(*this, cause) || m_missing_registers) return;
        deliver_exception(cause, m_trap.tval, m_trap.tval2, m_trap.tinst, m_trap.gva);
    }

    // ---- interrupts ---------------------------------------------------------------------------

    static constexpr u64 monitor_interrupts = riscv::mip::msip::mask | riscv::mip::mtip::mask;
    /// Interrupts whose physical pending bit is also the virtual one.
    static constexpr u64 passthrough_interrupts = ~monitor_interrupts;
    /// Interrupts that must never be enabled physically while the firmware runs
    /// in U-mode: VS-level ones and SGEI are delegated to HS by hardware (H ext. 9.4.3).
    static constexpr u64 hypervisor_interrupts = riscv::mip::virtual_supervisor | riscv::mip::sgeip::mask;

    [[nodiscard]] static constexpr u64 mpv_mask() noexcept { return riscv::mstatus::mpv::mask | riscv::mstatus::gva::mask; }

    [[nodiscard, gnu::always_inline]] bool virtual_mtip() noexcept {
        const u32 i = m_h.index;
        return board().read_time() >= shared().mtimecmp[i];
    }

    [[nodiscard]] u64 virtual_mip_from(u64 physical) noexcept {
        u64 value = physical & ~monitor_interrupts;
        if (detail::atomic_load(&shared().msip[m_h.index]) != 0) value |= riscv::mip::msip::mask;
        if (virtual_mtip()) value |= riscv::mip::mtip::mask;
        return value;
    }

    /// Pending, enabled interrupts the virtual firmware takes right now.
    [[nodiscard, gnu::always_inline]] u64 takeable_interrupts(bool check_timer = true) noexcept {
        return takeable_interrupts_in(m_h.world, check_timer);
    }

    /// takeable_interrupts, as they would be with `running` running.
    [[nodiscard, gnu::always_inline]] u64 takeable_interrupts_in(world running, bool check_timer) noexcept {
        const bool in_m = running == world::firmware;
        const bool mie = riscv::mstatus::mie::test(m_h.csr.mstatus);
        if (in_m && !mie) return 0;
        const u64 enabled = m_h.csr.mie & ~(m_h.csr.mideleg | m_h.features.mideleg_forced);
        if (enabled == 0) return 0;
        // Only the pending bits that are enabled matter: skip the timer
        // comparison (an MMIO read) and the msip load when they are not.
        u64 pending = (enabled & passthrough_interrupts) != 0 ? m_hw.template read<csr::mip>() & ~monitor_interrupts : 0;
        if ((enabled & riscv::mip::msip::mask) != 0 && detail::atomic_load(&shared().msip[m_h.index]) != 0)
            pending |= riscv::mip::msip::mask;
        if (check_timer && (enabled & riscv::mip::mtip::mask) != 0 && virtual_mtip()) pending |= riscv::mip::mtip::mask;
        return takeable_in_m(pending & enabled, 0, in_m, mie);
    }

    /// The OS writes the enables of its delegated interrupts natively (sie, hie,
    /// vsie are views of mie, priv. spec 4.1.3): take them into the virtual mie.
    [[gnu::always_inline]] void sync_os_interrupt_enables() noexcept {
        const u64 physical = m_hw.template read<csr::mie>();
        const u64 delegated = m_h.csr.mideleg | m_h.features.mideleg_forced;
        m_h.csr.mie = (m_h.csr.mie & ~delegated) | (physical & delegated & m_h.features.mie_writable);
        m_h.physical_mie = physical;
    }

    void physical_interrupt(u64 code) noexcept {
        service_monitor_events(u64{1} << code);
        refresh_interrupts();
    }

    /// Handles the monitor's own interrupt sources: the doorbell (physical MSIP)
    /// and its deadline (physical MTIP).
    void service_monitor_events(u64 physical_pending) noexcept {
        if ((physical_pending & riscv::mip::msip::mask) != 0) {
            board().clear_ipi(m_h.index);
            const u32 requests = detail::atomic_exchange(&shared().requests[m_h.index], u32{0});
            if ((requests & request::timer) != 0) m_h.physical_timer = 0;
            if ((requests & request::policy) != 0) m_hooks.on_request(*this);
        }
        if ((physical_pending & riscv::mip::mtip::mask) != 0) {
            m_h.physical_timer = 0;  // fired: it must be reprogrammed
            if (board().read_time() >= m_h.monitor_deadline) {
                m_h.monitor_deadline = ~u64{0};
                m_hooks.on_monitor_deadline(*this);
            }
        }
    }

    /// The physical mie and timer for the world that runs (docs/virtual-hart.md).
    void program_physical_interrupts() noexcept { program_physical_interrupts_inline(); }

    /// program_physical_interrupts, inlined (the world switches' fast path).
    [[gnu::always_inline]] void program_physical_interrupts_inline() noexcept {
        u64 wanted;
        if (m_h.world == world::firmware) {
            const bool mie = riscv::mstatus::mie::test(m_h.csr.mstatus);
            const u64 delegated = m_h.csr.mideleg | m_h.features.mideleg_forced;
            wanted = mie ? (m_h.csr.mie & ~delegated & passthrough_interrupts & ~hypervisor_interrupts) : 0;
        } else {
            wanted = m_h.csr.mie & passthrough_interrupts;
        }
        const physical_timer_setting timer = physical_timer_for(shared(), m_h);
        wanted |= riscv::mip::msip::mask | physical_mtie(timer);
        if (wanted != m_h.physical_mie) {
            m_hw.template write<csr::mie>(wanted);
            m_h.physical_mie = wanted;
        }
        set_physical_timer(timer.deadline);
    }

    [[gnu::always_inline]] void program_timer() noexcept { program_physical_timer(m_hw, board(), shared(), m_h); }
    [[gnu::always_inline]] void set_physical_timer(u64 deadline) noexcept { set_hart_timer(board(), m_h, deadline); }

    // ---- trap delivery and world switches -----------------------------------------------------

    /// Takes a trap into the virtual firmware (priv. spec 3.1.6.1, 3.1.7, 3.1.14-16).
    void enter_virtual_trap(u64 cause, u64 tval, u64 tval2, u64 tinst, bool gva) noexcept {
        if (m_h.world == world::os) {
            enter_virtual_trap_from_os<false>(cause, tval, tval2, tinst, gva);
            return;
        }
        if (!riscv::mcause::interrupt::test(cause)) m_trap.firmware_exception = true;
        const u64 base = record_virtual_trap(cause, tval, tval2, tinst, 3, false, gva);
        // An exception at the first instruction of the firmware's own trap
        // handler comes back to that instruction with the same registers: a
        // real machine would loop for ever. Say so instead (no silent hang).
        if (m_h.csr.mepc == base && loops_at_vector(cause))
            m_hooks.on_fatal(*this, "the firmware faults at its own trap vector", cause, tval);
        m_h.pc = virtual_trap_target(cause, base);
        if (m_h.physical_view != firmware_view()) apply_pmp_view(firmware_view());
        program_physical_interrupts();
    }

    /// enter_virtual_trap when the OS runs: a world switch.
    template <bool Inline>
    [[gnu::always_inline]] void enter_virtual_trap_from_os(u64 cause, u64 tval, u64 tval2, u64 tinst,
                                                           bool gva) noexcept {
        const u64 base = record_virtual_trap(cause, tval, tval2, tinst, static_cast<u64>(m_h.os_mode),
                                             m_h.os_virtualized, gva);
        m_h.pc = virtual_trap_target(cause, base);
        switch_to_firmware<Inline>();
        run_trap_vector_entry();
    }

    /// Recomputes hart::trap_vector_executable: mtvec's base is in RAM and the
    /// firmware's view of the PMP (the monitor's entries, then the list,
    /// decided in software: in cache mode the slots may not hold it yet) lets it execute there.
    void check_trap_vector() noexcept {
        const u64 base = m_h.csr.mtvec & ~u64{3};
        const unsigned g = m_h.features.pmp_granularity;
        m_h.trap_vector_executable =
            classify_physical(board().layout(), base, 4, Hooks::intercepts_shutdown) == physical_class::ram &&
            !monitor_entries_refuse(m_h.pmp, true, g, base, 4, pmp_x) &&
            pmp_decide(m_h.pmp, virtual_pmp_of(m_h), pmp_view::firmware, base, 4, pmp_x).allowed;
    }

    /// Runs the first instruction of the firmware's trap handler in the
    /// monitor when it is `csrrw r, mscratch, r`, the usual way into a trap
    /// handler (swap a register with mscratch): one trap fewer on every world
    /// switch. Only where the firmware could fetch it (check_trap_vector) and
    /// with registers the context holds; otherwise the firmware runs it itself.
    [[gnu::always_inline]] void run_trap_vector_entry() noexcept {
        constexpr u32 mask = 0xfff0707f;            // csr, funct3, opcode
        constexpr u32 swap_mscratch = 0x34001073;   // csrrw _, mscratch (0x340), _
        if (!m_h.trap_vector_executable) return;
        const u64 pc = m_h.pc;
        if (pc != (m_h.csr.mtvec & ~u64{3})) return;  // a vectored interrupt's entry
        // mtvec's base is 4-byte aligned RAM the guard lets the firmware fetch
        // (check_trap_vector): one aligned word, read in place.
        const u8* code = m_hw.physical(pc, 4);
        if (code == nullptr) return;
        u32 bits;
        __builtin_memcpy(&bits, __builtin_assume_aligned(code, 4), 4);  // little-endian, like instructions
        if ((bits & mask) != swap_mscratch) return;
        const unsigned r = riscv::insn::rd(bits);  // the swap: rd = rs1, not x0
        if (riscv::insn::rs1(bits) != r || r == 0) return;
        if (!m_all_registers && !hart::saved_on_fast_path(r)) return;
        const u64 old_value = m_h.csr.mscratch;
        m_h.csr.mscratch = m_h.x[r];
        m_h.x[r] = old_value;
        m_h.pc = pc + 4;
    }

    /// The trap CSRs and mstatus of a trap into vM-mode from `previous_mode`
    /// (priv. spec 3.1.6.1: MPIE = MIE, MIE = 0, MPP; H ext. 9.4.1: MPV, GVA).
    /// Returns the trap vector's base.
    [[gnu::always_inline]] u64 record_virtual_trap(u64 cause, u64 tval, u64 tval2, u64 tinst, u64 previous_mode,
                                                   bool previous_virtualized, bool gva) noexcept {
        namespace ms = riscv::mstatus;
        virtual_csrs& c = m_h.csr;
        m_h.reservation_width = 0;  // a trap ends the firmware's LR reservation (as the hart's own)
        c.mepc = m_h.pc;
        c.mcause = cause;
        c.mtval = tval;
        c.mtval2 = tval2;
        c.mtinst = tinst;
        const u64 s = c.mstatus;
        u64 cleared = ms::mie::mask | ms::mpie::mask | ms::mpp::mask;
        u64 set = ((s & ms::mie::mask) << (ms::mpie::lsb - ms::mie::lsb)) | ms::mpp::make(previous_mode);
        if (m_h.features.has_h) {
            cleared |= ms::mpv::mask | ms::gva::mask;
            set |= (previous_virtualized ? ms::mpv::mask : 0) | (gva ? ms::gva::mask : 0);
        }
        c.mstatus = (s & ~cleared) | set;
        return c.mtvec & ~u64{3};
    }

    /// Where a trap enters the firmware: the base, or base + 4 * code for an
    /// interrupt in vectored mode (priv. spec 3.1.7).
    [[nodiscard, gnu::always_inline]] u64 virtual_trap_target(u64 cause, u64 base) const noexcept {
        const bool vectored = riscv::mtvec::mode::extract(m_h.csr.mtvec) == riscv::mtvec::mode_vectored;
        return (riscv::mcause::interrupt::test(cause) && vectored) ? base + 4 * riscv::mcause::code::extract(cause)
                                                                  : base;
    }

    /// Exceptions that do not depend on what a trap changes (MPP, MPIE, MIE):
    /// raised by the first instruction of the trap handler they raise it again.
    [[nodiscard]] static constexpr bool loops_at_vector(u64 cause) noexcept {
        using riscv::exception;
        switch (static_cast<exception>(cause)) {
            case exception::instruction_address_misaligned:
            case exception::instruction_access_fault:
            case exception::illegal_instruction:
            case exception::breakpoint:
            case exception::ecall_from_m:
            case exception::instruction_page_fault: return true;
            default: return false;
        }
    }

    /// OS → firmware: the physical hart is made to run the firmware in U-mode
    /// with Bare translation, no delegation, no counter access, the firmware's PMP view.
    template <bool Inline>
    [[gnu::always_inline]] void switch_to_firmware() noexcept {
        namespace ms = riscv::mstatus;
        m_hw.template clear<csr::mstatus>(ms::mpp::mask | ms::tvm::mask | ms::tw::mask | ms::tsr::mask | mpv_mask());
        if (m_h.features.has_s) [[likely]] {
            m_h.csr.satp = m_hw.template swap<csr::satp>(0);
            m_hw.template write<csr::medeleg>(0);
            m_hw.template write<csr::mideleg>(0);
        } else {
            // Without S-mode, U-mode's wfi traps only when TW = 1 (priv.
            // 3.1.6.5): the firmware's must reach emulate_wfi.
            m_hw.template set<csr::mstatus>(ms::tw::mask);
        }
        if (m_h.features.has_u) m_hw.template write<csr::mcounteren>(0);
        m_h.world = world::firmware;
        m_hw.world_switched(true, m_h.counters.armed);
        // The fast path's switch (Inline) leaves this to its end (finish_switch).
        if (!Inline && m_h.triggers_active) [[unlikely]]
            program_triggers(m_hw, m_h, world::firmware);
        m_hooks.on_enter_firmware(*this);
        if constexpr (Inline) {
            apply_pmp_view_inline(firmware_view());
            program_physical_interrupts_inline();
        } else {
            apply_pmp_view(firmware_view());
            program_physical_interrupts();
        }
    }

    /// firmware → OS, at `mode` (S or U, virtualized or not).
    template <bool Inline = false>
    [[gnu::always_inline]] void switch_to_os(riscv::privilege mode, bool virtualized) noexcept {
        namespace ms = riscv::mstatus;
        m_h.world = world::os;
        m_hw.world_switched(false, false);
        if (!Inline && m_h.triggers_active) [[unlikely]]
            program_triggers(m_hw, m_h, world::os);
        m_h.os_mode = mode;
        m_h.os_virtualized = virtualized;
        m_hooks.on_enter_os(*this);
        if (m_h.features.has_s) [[likely]] {
            m_hw.template write<csr::satp>(m_h.csr.satp);
            m_hw.template write<csr::medeleg>(m_h.csr.medeleg & ~m_h.os_medeleg_withheld);
            m_hw.template write<csr::mideleg>(m_h.csr.mideleg);
        } else {
            // The firmware ran with TW set (switch_to_firmware): its U-mode
            // gets the firmware's TW (set below).
            m_hw.template clear<csr::mstatus>(ms::tw::mask);
        }
        if (m_h.features.has_u) m_hw.template write<csr::mcounteren>(m_hooks.os_mcounteren(*this, m_h.csr.mcounteren));
        constexpr u64 traps = ms::tvm::mask | ms::tw::mask | ms::tsr::mask;
        const u64 set = ms::mpp::make(static_cast<u64>(mode)) | (virtualized ? ms::mpv::mask : 0) |
                        (m_h.csr.mstatus & traps);
        if (set != 0) m_hw.template set<csr::mstatus>(set);
        if constexpr (Inline)
            apply_pmp_view_inline(pmp_view::os);
        else
            apply_pmp_view(pmp_view::os);
        // The caller re-evaluates the interrupts next (refresh_interrupts), which
        // programs the physical mie and timer for the OS.
    }

    // ---- memory accesses the firmware makes that the monitor performs --------------------------

    /// A load, store, AMO, LR or SC, integer or floating point, decoded.
    struct data_access {
        enum class kind : u8 { load, store, amo, load_reserved, store_conditional };
        kind op = kind::load;
        bool is_float = false;
        bool sign_extend = false;
        u8 width = 0;
        u8 length = 4;       ///< instruction length
        u8 base_reg = 0;     ///< rs1
        u8 data_reg = 0;     ///< a load's rd or a store's rs2 (an f register when is_float); AMO/SC: rs2
        u8 result_reg = 0;   ///< AMO, LR, SC: rd
        amo_op amo = amo_op::swap;
        i64 offset = 0;

        [[nodiscard]] constexpr access_kind access() const noexcept {
            return op == kind::load || op == kind::load_reserved ? access_kind::load : access_kind::store;
        }
    };

    [[nodiscard]] static constexpr bool decode_data_access(u32 bits, data_access& out) noexcept {
        out = data_access{};
        riscv::memory_access m;
        if (riscv::decode_memory_access(bits, m)) {
            out.op = m.is_store ? data_access::kind::store : data_access::kind::load;
            out.is_float = m.is_float;
            out.sign_extend = m.sign_extend;
            out.width = m.width;
            out.length = m.length;
            out.base_reg = m.base_reg;
            out.data_reg = m.data_reg;
            out.offset = m.offset;
            return true;
        }
        riscv::atomic_access a;
        if (!riscv::decode_atomic(bits, a)) return false;
        switch (a.op) {
            case riscv::atomic_access::kind::load_reserved: out.op = data_access::kind::load_reserved; break;
            case riscv::atomic_access::kind::store_conditional: out.op = data_access::kind::store_conditional; break;
            case riscv::atomic_access::kind::amo: out.op = data_access::kind::amo; break;
        }
        out.amo = static_cast<amo_op>(a.funct5);
        out.width = a.width;
        out.sign_extend = a.width == 4;
        out.base_reg = a.rs1;
        out.data_reg = a.rs2;
        out.result_reg = a.rd;
        return true;
    }

    /// Whether the hart has the f registers an FP access of `width` uses.
    [[nodiscard]] bool has_fp(unsigned width) const noexcept {
        return (m_h.features.misa & riscv::misa::extension(width == 8 ? 'D' : 'F')) != 0;
    }

    /// A load or store of the firmware that faulted: with virtual MPRV set, or
    /// to a device the monitor emulates (the CLINT, an intercepted shutdown
    /// device). False when the fault is real and must be delivered.
    bool emulate_firmware_memory_access() noexcept {
        if (m_h.physical_view == pmp_view::firmware_mprv) return emulate_mprv_access();
        return emulate_device_access();
    }

    /// The guest's data access at `pc` (the firmware's or the OS's), decoded,
    /// with the registers it uses in the context. False to deliver the fault.
    bool decode_guest_access(bool from_os, data_access& op) noexcept {
        u32 bits = 0;
        const bool read = from_os ? fetch_os_instruction(m_h.pc, bits) : read_firmware_instruction(m_h.pc, bits);
        if (!read || !decode_data_access(bits, op)) return false;
        // An FP load or store with mstatus.FS = Off is an illegal instruction
        // (priv. spec 3.1.6.6), never an access fault: what is at pc now is not
        // what trapped (another hart rewrote it). The f registers are off
        // limits to the monitor too then (M-mode traps on them): deliver the fault.
        if (op.is_float && (!has_fp(op.width) || riscv::mstatus::fs::extract(m_hw.template read<csr::mstatus>()) == 0))
            return false;
        // An LR's loop body runs in the monitor (run_to_store_conditional): any register.
        if (op.op == data_access::kind::load_reserved && !have_all_registers()) return false;
        return have_registers(op.base_reg, op.is_float ? 0 : op.data_reg, op.result_reg);
    }

    /// After an LR the monitor performed: the loop's body up to its SC, which
    /// is then emulated too (virt/constrained_loop.hpp); the run stops, the
    /// firmware going on natively, at anything a constrained loop may not hold.
    void run_to_store_conditional() noexcept {
        for (unsigned n = 0; n < 16; ++n) {  // a constrained loop has at most 16 instructions (unpriv. 8.3)
            u32 bits = 0;
            if (!read_firmware_instruction(m_h.pc, bits)) return;
            const constrained_step step = step_constrained(bits, m_h.pc, m_h);
            switch (step.result) {
                case constrained_step::kind::executed:
                    m_h.pc = step.next;
                    ++m_h.counters.retired;  // run here for the firmware, as if by the hart
                    break;
                case constrained_step::kind::store_conditional:
                    ++m_h.counters.retired;
                    (void)emulate_firmware_memory_access();
                    return;
                case constrained_step::kind::stop: return;
            }
        }
    }

    /// A load or store to a device the monitor emulates: the CLINT the
    /// firmware sees, and the shutdown device when a policy acts at shutdown.
    /// The firmware always reaches them; the OS only where the firmware's PMP
    /// lets it (the access would otherwise have faulted natively).
    bool emulate_device_access() noexcept {
        const bool from_os = m_h.world == world::os;
        data_access op;
        if (!decode_guest_access(from_os, op)) return false;
        if (!from_os && op.access() == access_kind::store &&
            m_hw.template read<csr::mcause>() == riscv::cause_value(riscv::exception::load_access_fault)) {
            // An AMO or SC the PMP denied: QEMU 7.2 reports a load access fault;
            // the spec's cause is store/AMO access fault (priv. spec 3.7.1).
            const u64 tval = m_hw.template read<csr::mtval>();
            if (!emulate_device_op(op, from_os))
                deliver_exception(riscv::cause_value(riscv::exception::store_access_fault), tval);
            return true;
        }
        return emulate_device_op(op, from_os);
    }

    /// emulate_device_access once decoded: false when the access is not to an emulated device.
    bool emulate_device_op(const data_access& op, bool from_os) noexcept {
        const u64 address = reg(op.base_reg) + static_cast<u64>(op.offset);
        translation_regime regime = from_os ? os_regime() : common_regime();
        if (!from_os) regime.privilege = riscv::privilege::machine;  // the firmware runs with satp Bare
        physical_class klass = physical_class::refused;
        u64 physical = 0;
        auto find = [&](memory_type& memory) {
            const u64 size = op.width;
            if ((address & 0xfff) + size > 0x1000) return false;  // a device access crossing a page: not emulated
            const guest_translation t = memory.translate(regime, address, size, op.access(), reach::devices, klass);
            physical = t.physical;
            return t.ok && klass == physical_class::device;
        };
        const bool device = from_os ? with_os_memory(find) : [&] {
            memory_type memory(m_hw, board().layout(), m_h, memory_type::side::firmware, Hooks::intercepts_shutdown);
            return find(memory);
        }();
        if (!device) return false;
        if (from_os && !pmp_allows(m_h.csr.pmpcfg, m_h.csr.pmpaddr, m_h.pmp.virtual_count(), m_h.features.pmp_granularity,
                                   physical, op.width, op.access() == access_kind::load ? pmp_r : pmp_w))
            return false;
        return finish_device_access(op, physical, regime.virtualized, address);
    }

    /// Performs `op` on the emulated device at `physical` and writes its result
    /// (or delivers the access fault the device raises).
    bool finish_device_access(const data_access& op, u64 physical, bool virtualized, u64 address) noexcept {
        u64 value = 0;
        if (!device_access(op, physical, value)) {
            const access_kind kind = op.access();
            deliver_exception(access_fault_cause(kind), address, 0, 0, virtualized);
            return true;
        }
        write_result(op, value);
        m_h.pc += op.length;
        if (m_interrupts_changed) {
            m_interrupts_changed = false;
            refresh_interrupts();
        }
        if (op.op == data_access::kind::load_reserved && m_h.world == world::firmware) run_to_store_conditional();
        return true;
    }

    /// The value a register gets from `op` (a load's, an AMO's old value, LR's,
    /// SC's 0 or 1): sign-extended where the instruction does, into x[rd] or f[rd].
    void write_result(const data_access& op, u64 value) noexcept {
        switch (op.op) {
            case data_access::kind::store: return;
            case data_access::kind::store_conditional: set_reg(op.result_reg, value); return;
            case data_access::kind::load:
                if (op.is_float) {
                    m_hw.fp_write(op.data_reg, op.width, value);
                    return;
                }
                set_reg(op.data_reg, op.sign_extend ? bits::sign_extend(value, 8 * op.width) : value);
                return;
            case data_access::kind::amo:
            case data_access::kind::load_reserved:
                set_reg(op.result_reg, op.width == 4 ? bits::sign_extend(value, 32) : value);
                return;
        }
    }

    /// The value `op` stores (or operates with): x[rs2] or f[rs2].
    [[nodiscard]] u64 operand_of(const data_access& op) noexcept {
        return op.is_float ? m_hw.fp_read(op.data_reg, op.width) : reg(op.data_reg);
    }

    /// One access to an emulated device. The CLINT's registers are 32 bits
    /// wide: msip takes naturally aligned 4-byte accesses, mtimecmp and mtime
    /// 4- and 8-byte accesses at any alignment (made of the 32-bit words they
    /// touch); anything that writes naturally aligned; AMOs as a read and a
    /// write, LR/SC with a reservation on the value (QEMU 7.2 accepts all of
    /// these; 1- and 2-byte accesses, 8-byte ones to msip and misaligned
    /// writes raise access faults). False for an access fault.
    bool device_access(const data_access& op, u64 physical, u64& value) noexcept {
        const memory_layout& layout = board().layout();
        if (Hooks::intercepts_shutdown && layout.shutdown_device.contains(physical, op.width)) {
            if (op.op == data_access::kind::load_reserved || op.op == data_access::kind::store_conditional ||
                op.op == data_access::kind::amo)
                return false;
            return shutdown_device_access(op, physical, value);
        }
        if (op.width != 4 && op.width != 8) return false;
        const bool mswi = layout.mswi.contains(physical, op.width);
        const bool mtimer = layout.mtimer.contains(physical, op.width);
        if (!mswi && !mtimer) return false;
        if (mswi && op.width != 4) return false;
        // Loads may be misaligned (made of the words they touch); anything that
        // writes must be naturally aligned (QEMU 7.2's CLINT, checked natively).
        if (op.op != data_access::kind::load && (physical & (op.width - 1)) != 0) return false;
        u64 old = 0;
        if (op.op != data_access::kind::store) old = clint_read(physical, op.width, mswi);
        switch (op.op) {
            case data_access::kind::load: value = old; return true;
            case data_access::kind::store: clint_write(physical, op.width, operand_of(op), mswi); return true;
            case data_access::kind::amo:
                clint_write(physical, op.width, amo_result(op.amo, old, operand_of(op), op.width), mswi);
                value = old;
                return true;
            case data_access::kind::load_reserved:
                m_h.reservation_address = physical;
                m_h.reservation_value = old;
                m_h.reservation_width = op.width;
                value = old;
                return true;
            case data_access::kind::store_conditional: {
                const bool holds = m_h.reservation_width == op.width && m_h.reservation_address == physical &&
                                   m_h.reservation_value == old;
                m_h.reservation_width = 0;
                if (holds) clint_write(physical, op.width, operand_of(op), mswi);
                value = holds ? 0 : 1;
                return true;
            }
        }
        return false;
    }

    /// `width` bytes of the CLINT at `address`, from the 32-bit registers they touch.
    [[nodiscard]] u64 clint_read(u64 address, unsigned width, bool mswi) noexcept {
        const u64 first = address & ~u64{3};
        u64 words = 0;  // up to three 32-bit words: 96 bits, of which `width` bytes are wanted
        u64 high = 0;
        const unsigned count = static_cast<unsigned>(((address + width - 1) & ~u64{3}) - first) / 4 + 1;
        for (unsigned w = 0; w < count; ++w) {
            const u64 word = clint_read32(first + 4 * w, mswi);
            if (w < 2) words |= word << (32 * w);
            else high = word;
        }
        const unsigned shift = static_cast<unsigned>(address - first) * 8;
        u64 value = shift == 0 ? words : (words >> shift) | (high << (64 - shift));
        return width == 8 ? value : value & 0xffff'ffffu;
    }

    /// Writes `width` bytes of `value` at `address` of the CLINT: each 32-bit
    /// register touched is read, merged and written.
    void clint_write(u64 address, unsigned width, u64 value, bool mswi) noexcept {
        const u64 first = address & ~u64{3};
        const u64 last = (address + width - 1) & ~u64{3};
        for (u64 word_address = first; word_address <= last; word_address += 4) {
            u32 word = 0;
            bool partial = false;
            for (unsigned b = 0; b < 4; ++b) {
                const u64 byte_address = word_address + b;
                if (byte_address < address || byte_address >= address + width) {
                    partial = true;
                    continue;
                }
                word |= static_cast<u32>((value >> (8 * (byte_address - address))) & 0xff) << (8 * b);
            }
            if (partial) {
                const u32 old = clint_read32(word_address, mswi);
                for (unsigned b = 0; b < 4; ++b) {
                    const u64 byte_address = word_address + b;
                    if (byte_address < address || byte_address >= address + width) word |= old & (u32{0xff} << (8 * b));
                }
            }
            clint_write32(word_address, word, mswi);
        }
    }

    /// The shutdown device: the policies act first, then the access reaches the device.
    bool shutdown_device_access(const data_access& op, u64 address, u64& value) noexcept {
        if (op.is_float) return false;
        if (op.op == data_access::kind::store) m_hooks.on_shutdown(*this);
        const access_result r = op.op == data_access::kind::store
                                    ? m_hw.store(access_mode{riscv::privilege::machine, false, false}, address, op.width,
                                                 reg(op.data_reg))
                                    : m_hw.load(access_mode{riscv::privilege::machine, false, false}, address, op.width);
        value = r.value;
        return r.ok;
    }

    /// Reads one 32-bit register of the virtual CLINT.
    [[nodiscard]] u32 clint_read32(u64 address, bool mswi) noexcept {
        const memory_layout& layout = board().layout();
        u64 index = 0;
        if (mswi) {
            const u64 offset = address - layout.mswi.base;
            if (!board().hart_index(offset / 4, index)) return 0;
            return detail::atomic_load(&shared().msip[index]);
        }
        const u64 offset = address - layout.mtimer.base;
        if (offset >= layout.mtime_offset && offset < layout.mtime_offset + 8)
            return static_cast<u32>(board().read_time() >> (8 * (offset - layout.mtime_offset)));
        if (!board().hart_index(offset / 8, index)) return 0;
        return static_cast<u32>(shared().mtimecmp[index] >> (8 * (offset % 8)));
    }

    /// Writes one 32-bit register of the virtual CLINT.
    void clint_write32(u64 address, u32 value, bool mswi) noexcept {
        const memory_layout& layout = board().layout();
        u64 index = 0;
        if (mswi) {
            const u64 offset = address - layout.mswi.base;
            if (!board().hart_index(offset / 4, index)) return;
            detail::atomic_store(&shared().msip[index], value & 1);  // msip: only bit 0 is writable
            if (index == m_h.index)
                m_interrupts_changed = true;
            else
                board().send_ipi(static_cast<u32>(index));
            return;
        }
        const u64 offset = address - layout.mtimer.base;
        if (offset >= layout.mtime_offset && offset < layout.mtime_offset + 8) {
            const unsigned shift = static_cast<unsigned>(8 * (offset - layout.mtime_offset));
            const u64 now = board().read_time();
            board().write_time((now & ~(u64{0xffffffff} << shift)) | (u64{value} << shift));
            for (u32 h = 0; h < board().hart_count(); ++h)
                if (h != m_h.index) request(h, request::timer);
            m_h.physical_timer = 0;
            m_interrupts_changed = true;
            return;
        }
        if (!board().hart_index(offset / 8, index)) return;
        const unsigned shift = static_cast<unsigned>(8 * (offset % 8));
        u64& compare = shared().mtimecmp[index];
        compare = (compare & ~(u64{0xffffffff} << shift)) | (u64{value} << shift);
        if (index == m_h.index)
            m_interrupts_changed = true;
        else
            request(static_cast<u32>(index), request::timer);
    }

    /// A load, store, AMO, LR or SC of the firmware while virtual MPRV is set
    /// (MPP below M): performed on the guarded path with MPP's privilege (and
    /// MPV), translation and the OS's PMP view, under the monitor's own
    /// entries (priv. spec 3.1.6.3). AMOs stay atomic on RAM; LR takes a
    /// reservation the emulated SC honours by compare-and-swap (docs/virtual-hart.md).
    bool emulate_mprv_access() noexcept {
        data_access op;
        if (!decode_guest_access(false, op)) return false;
        const u64 address = reg(op.base_reg) + static_cast<u64>(op.offset);
        const translation_regime regime = mprv_regime();
        const u64 operand = op.op == data_access::kind::load || op.op == data_access::kind::load_reserved ? 0
                                                                                                          : operand_of(op);
        constexpr u8 reachable = reach::mmio | reach::devices;
        bool sc_succeeded = false;
        const guest_access out = with_firmware_memory([&](memory_type& memory) -> guest_access {
            switch (op.op) {
                case data_access::kind::load: return memory.load(regime, address, op.width, reachable);
                case data_access::kind::store: return memory.store(regime, address, op.width, operand, reachable);
                case data_access::kind::amo: return memory.amo(regime, address, op.width, op.amo, operand, reachable);
                case data_access::kind::load_reserved: return memory.load_reserved(regime, address, op.width);
                case data_access::kind::store_conditional: {
                    // Translated and guarded like a store in every case; it stores only
                    // while the reservation holds and memory still has its value.
                    physical_class klass = physical_class::refused;
                    guest_access result;
                    const guest_translation t =
                        (address & (op.width - 1)) != 0
                            ? guest_translation{}
                            : memory.translate(regime, address, op.width, access_kind::store, reach::ram, klass);
                    if ((address & (op.width - 1)) != 0 || !t.ok) {
                        return memory.compare_exchange(regime, address, op.width, 0, 0);  // the same fault
                    }
                    if (m_h.reservation_width != op.width || m_h.reservation_address != t.physical) {
                        result.result = guest_access::status::done;
                        return result;
                    }
                    result = memory.compare_exchange(regime, address, op.width, m_h.reservation_value, operand);
                    const u64 mask = op.width == 8 ? ~u64{0} : 0xffff'ffffu;
                    sc_succeeded = result.done() && (result.value & mask) == (m_h.reservation_value & mask);
                    return result;
                }
            }
            return guest_access{};
        });
        if (op.op == data_access::kind::store_conditional) m_h.reservation_width = 0;
        switch (out.result) {
            case guest_access::status::fault:
                deliver_exception(out.fault.cause, out.fault.tval, out.fault.tval2, out.fault.tinst, out.fault.gva);
                return true;
            case guest_access::status::device: return finish_device_access(op, out.physical, regime.virtualized, address);
            case guest_access::status::done: break;
        }
        if (op.op == data_access::kind::load_reserved) {
            m_h.reservation_address = out.physical;
            m_h.reservation_value = out.value;
            m_h.reservation_width = op.width;
        }
        write_result(op, op.op == data_access::kind::store_conditional ? (sc_succeeded ? 0 : 1) : out.value);
        m_h.pc += op.length;
        if (op.op == data_access::kind::load_reserved) run_to_store_conditional();
        return true;
    }

    Arch& m_hw;
    Hooks& m_hooks;
    hart& m_h;
    trap_info m_trap;  ///< filled as the trap is read (cause always; the rest for traps of the OS)
    bool m_all_registers;
    bool m_missing_registers = false;
    bool m_interrupts_changed = false;
};

/// The hot path of the trap vector: a CSR instruction of the firmware (read
/// from its memory, not from mtval) on a CSR whose access has no effect beyond the
/// virtual hart: mscratch, mepc, mcause, mtval, mtval2, mtinst, misa, mhartid,
/// mtvec (reads), and mstatus when no field with a side effect changes. It needs no
/// engine: anything else returns false before changing any state, and the
/// general path (engine::handle_trap) takes over.
template <arch Arch>
[[gnu::always_inline]] inline bool fast_path(Arch& hw, hart& h) noexcept {
    namespace ms = riscv::mstatus;
    using csr = riscv::csr;
    if (h.world != world::firmware) return false;
    if (hw.template read<csr::mcause>() != riscv::cause_value(riscv::exception::illegal_instruction)) return false;
    u32 instruction = 0;
    if (!firmware_instruction_in_ram(hw, h, hw.template read<csr::mepc>(), instruction)) return false;
    const u64 bits = instruction;
    if ((bits & 0x7f) != riscv::opcode::system) return false;
    const u32 funct3 = (bits >> 12) & 7;
    if ((funct3 & 3) == 0) return false;  // privileged instructions, HLV/HSV
    const unsigned rd = (bits >> 7) & 31;
    const unsigned rs1 = (bits >> 15) & 31;
    if (!hart::saved_on_fast_path(rd) || ((funct3 & 4) == 0 && !hart::saved_on_fast_path(rs1))) return false;
    const u64 operand = (funct3 & 4) != 0 ? u64{rs1} : h.x[rs1];
    const bool write = (funct3 & 3) == 1 || rs1 != 0;
    const csr_op_kind kind = static_cast<csr_op_kind>((funct3 & 3) - 1);
    virtual_csrs& c = h.csr;
    u64 old_value;
    switch (static_cast<csr>((bits >> 20) & 0xfff)) {
        case csr::mscratch:
            old_value = c.mscratch;
            if (write) c.mscratch = apply_csr_op(kind, old_value, operand);
            break;
        case csr::mepc:
            old_value = c.mepc;
            if (write) c.mepc = rules::write_mepc(apply_csr_op(kind, old_value, operand), h.features);
            break;
        case csr::mcause:
            old_value = c.mcause;
            if (write) c.mcause = apply_csr_op(kind, old_value, operand);
            break;
        case csr::mtval:
            old_value = c.mtval;
            if (write) c.mtval = apply_csr_op(kind, old_value, operand);
            break;
        case csr::mtval2:
            if (!h.features.has_mtval2) return false;
            old_value = c.mtval2;
            if (write) c.mtval2 = apply_csr_op(kind, old_value, operand);
            break;
        case csr::mtinst:
            if (!h.features.has_mtval2) return false;
            old_value = c.mtinst;
            if (write) c.mtinst = apply_csr_op(kind, old_value, operand);
            break;
        case csr::mtvec:
            if (write) return false;  // the engine rechecks the trap vector (check_trap_vector)
            old_value = c.mtvec;
            break;
        case csr::misa:
            old_value = h.features.misa;
            break;
        case csr::mhartid:
            if (write) return false;
            old_value = h.hartid;
            break;
        case csr::mstatus: {
            const u64 physical = hw.template read<csr::mstatus>();
            old_value = rules::compose_mstatus(physical, c.mstatus);
            if (write) {
                const u64 value = apply_csr_op(kind, old_value, operand);
                const u64 fields = rules::write_mstatus(value, h.features);
                // Side effects: supervisor fields (physical), MIE (interrupts), MPRV and, under MPRV, MPP (PMP view).
                constexpr u64 effects = ms::mie::mask | ms::mprv::mask | ms::mpp::mask;
                const u64 watched = ms::mprv::test(fields | c.mstatus) ? effects : effects & ~ms::mpp::mask;
                if (((value ^ physical) & rules::mstatus_physical_writable) != 0 || ((fields ^ c.mstatus) & watched) != 0)
                    return false;
                c.mstatus = fields;
            }
            break;
        }
        default: return false;
    }
    if (rd != 0) h.x[rd] = old_value;
    hw.template write<csr::mepc>(hw.template read<csr::mepc>() + 4);
    return true;
}

}  // namespace vfm::virt
