// SPDX-License-Identifier: MIT
/// The virtual hart: the guest's registers as the trap vector saved them, and
/// the virtual M-mode state of the firmware (docs/virtual-hart.md).
///
/// Only the first part, `x`, is touched by assembly: the metal trap vector
/// stores x1..x31 at `x[1]`..`x[31]` (offset 8 * n) of the context that
/// mscratch points to. Its layout is pinned in shims/metal.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/riscv/pmp.hpp>
#include <vfm/riscv/privilege.hpp>
#include <vfm/virt/pmp_layout.hpp>

namespace vfm::virt {

/// What the physical hart looks like, found once per hart at boot by probing
/// its CSRs (virt/discovery.hpp). The virtual CSR file follows it: vfm never
/// shows the firmware a feature the hart lacks.
struct hart_features {
    u64 misa = 0;
    u64 mvendorid = 0;
    u64 marchid = 0;
    u64 mimpid = 0;
    u64 mconfigptr = 0;
    unsigned pmp_count = 0;        ///< implemented PMP entries
    unsigned pmp_granularity = 0;  ///< G: regions are 2^(G+2) bytes
    u64 medeleg_writable = 0;      ///< bits the hart lets medeleg hold
    u64 mideleg_writable = 0;      ///< bits the hart lets mideleg hold (writable ones)
    u64 mideleg_forced = 0;        ///< read-only one bits of mideleg (VS interrupts with H)
    u64 mie_writable = 0;
    u64 mip_writable = 0;  ///< bits M-mode software may write in mip
    u64 menvcfg_writable = 0;
    u64 hpm_counters = 0;  ///< bit n set when mhpmcounter n exists (3..31)
    bool has_s = false;
    bool has_paging = false;  ///< satp takes Sv39: an MMU (the device tree's mmu-type)
    bool has_u = false;
    bool has_h = false;
    bool has_mconfigptr = false;
    bool has_menvcfg = false;
    bool has_mcountinhibit = false;
    bool has_sstc = false;
    bool has_sscofpmf = false;
    bool has_time_csr = false;  ///< `time` readable from M-mode
    bool has_mtval2 = false;    ///< mtval2 / mtinst (H extension)
    bool has_senvcfg = false;
    /// The hart sets a PTE's A and D bits itself (as QEMU does; Svadu) rather
    /// than raising a page fault (Svade): found by a translated access at boot.
    bool updates_accessed_dirty = true;
    bool has_svnapot = false;  ///< Svnapot (the board says so; no CSR shows it)
    /// Sdtrig (virt/triggers.hpp): the triggers the firmware may select (0:
    /// none, tselect and the tdata CSRs stay illegal), and per tdata1 type the
    /// privilege bits (riscv::trigger::mode) the hart lets a trigger hold.
    u8 trigger_count = 0;
    bool has_tinfo = false;
    u16 trigger_types = 0;  ///< bit t: the hart's triggers take type t
    u8 trigger_modes[16] = {};
};

/// Which world runs on the hart when the monitor is not running.
enum class world : u8 {
    firmware,  ///< the virtual firmware, in vM-mode (physically U-mode)
    os,        ///< the operating system, natively in S-mode or U-mode (or VS/VU)
};

/// The virtual M-mode CSRs the monitor keeps in memory. Supervisor and
/// hypervisor CSRs stay in the physical registers while the firmware runs
/// (the firmware's accesses are performed on them), except `satp`, which
/// must be Bare while the firmware runs (docs/virtual-hart.md).
struct virtual_csrs {
    u64 mstatus = 0;  ///< M-level fields only; S-level fields live in the physical mstatus
    u64 medeleg = 0;
    u64 mideleg = 0;  ///< writable bits only; forced bits are added on read
    u64 mie = 0;
    u64 mtvec = 0;
    u64 mscratch = 0;
    u64 mepc = 0;
    u64 mcause = 0;
    u64 mtval = 0;
    u64 mtval2 = 0;
    u64 mtinst = 0;
    u64 mcounteren = 0;
    u64 menvcfg = 0;
    u64 satp = 0;  ///< the OS's satp while the firmware runs
    u8 pmpcfg[riscv::pmp::max_entries] = {};
    u64 pmpaddr[riscv::pmp::max_entries] = {};
};

/// The firmware's mcycle and minstret (docs/virtual-hart.md, "Counters").
/// The hardware counters run on through the monitor's own work; the firmware
/// reads them less the work the monitor did between two of its instructions
/// (`hidden`), so that `csrw minstret, 0` followed by N instructions reads N
/// (priv. spec 3.1.10). Index 0 is mcycle, 1 minstret. Accounting costs a few
/// instructions per trap, so it starts only once the firmware touches a
/// counter (`armed`); from then on the firmware's traps take the backend's
/// counting path, which records the counters at the trap (`at_trap`, set by
/// the backend with `counting`) and, on the way back, adds the monitor's work
/// to `hidden` (hide_monitor_work). The OS reads the hardware counters.
struct virtual_counters {
    u64 at_trap[2] = {};  ///< the hardware counters at the firmware's trap
    u64 hidden[2] = {};   ///< firmware's value = hardware value - hidden
    u8 counting = 0;      ///< 1: at_trap is this trap's; the way back must account
    u8 retired = 0;       ///< firmware instructions the monitor completed in this trap
    bool armed = false;   ///< the firmware has touched a counter: count its traps
};

/// What the backend does on the way back from a counting trap, `now` being
/// the hardware counters as the guest's first instruction will read them: the
/// monitor's work since the trap is hidden, the instructions it completed for
/// the firmware are not. A counter that stood still (inhibited) is left
/// alone. The metal trap vector does the same in assembly.
constexpr void hide_monitor_work(virtual_counters& c, const u64 (&now)[2]) noexcept {
    for (unsigned i = 0; i < 2; ++i)
        if (now[i] != c.at_trap[i]) c.hidden[i] += now[i] - c.at_trap[i] - c.retired;
    c.counting = 0;
}

/// A virtual hart. One per physical hart, at a fixed place the trap vector finds
/// through mscratch.
struct hart {
    /// General registers of the interrupted guest; x[0] reads as zero.
    u64 x[32] = {};
    /// Where the guest resumes (mepc at trap time, updated by emulation).
    u64 pc = 0;

    // ---- the trap path's block: the metal trap vector reads these fields at
    // ---- offsets pinned in shims/metal/include/vfm/metal/layout.h.

    /// Who runs when the monitor returns.
    virt::world world = virt::world::firmware;
    /// The firmware's accesses to these CSRs need nothing but a load or store
    /// in this context: entry i describes CSR 0x340 + i (mscratch, mepc,
    /// mcause, mtval, mtinst, mtval2) as its byte offset in the hart / 8, or 0.
    /// A backend's trap vector may serve them before saving any register.
    u8 fast_csrs[16] = {};
    /// The writable bits of mepc (bit 0, and bit 1 without C, read zero).
    u64 mepc_mask = ~u64{1};
    /// misa, as the firmware reads it (a copy of features.misa).
    u64 misa = 0;
    /// The virtual mstatus fields a write may change without any effect beyond
    /// storing them (0: mstatus writes never take the backend's fast path).
    u64 mstatus_fast_writable = 0;
    /// Constants of a backend's trap vector, here so that it loads each in one
    /// instruction instead of building it in up to four (set by the backend;
    /// 0 unless it uses them).
    u32 vector_csr_read_mask = 0;              ///< opcode, funct3, rs1 of `csrrs rd, csr, x0`
    u32 vector_csr_read_bits = 0;              ///< and their values
    u64 vector_mstatus_virtual = 0;            ///< rules::mstatus_virtual_fields
    u64 vector_mstatus_physical_writable = 0;  ///< rules::mstatus_physical_writable

    virtual_csrs csr;
    /// The firmware's counters (pinned for the trap vector: VFM_CTX_COUNTERS).
    virtual_counters counters;

    /// The privilege bits (riscv::trigger::mode) the firmware gave each of its
    /// triggers; the hart holds them mapped for the world that runs
    /// (virt/triggers.hpp). `triggers_active`: some trigger has any.
    u8 trigger_modes[16] = {};
    bool triggers_active = false;
    /// Set by a policy that hides the OS from the firmware (the sandbox): a
    /// trigger that matches on data values never fires in the OS's world.
    bool os_value_triggers_denied = false;

    /// Index of this hart in the monitor's tables (0 .. max_harts-1).
    u32 index = 0;
    /// mhartid.
    u64 hartid = 0;

    hart_features features;

    /// The mode the OS was in when it last trapped, or is resumed in (S or U).
    riscv::privilege os_mode = riscv::privilege::supervisor;
    /// Whether the OS runs virtualized (VS/VU, H extension).
    bool os_virtualized = false;
    /// Whether the first instruction of the firmware's trap vector (mtvec's
    /// base) lies in RAM the firmware may execute, recomputed when mtvec or
    /// the PMP changes: a world switch may then run that instruction in the
    /// monitor (engine::run_trap_vector_entry).
    bool trap_vector_executable = false;

    /// The reservation of an LR the monitor performed for the firmware under
    /// virtual MPRV (unpriv. spec 8.2): the physical address, width and value
    /// it loaded. The SC it emulates succeeds iff memory still holds that
    /// value (compare-and-swap); any trap into the firmware clears it, as the
    /// hart clears its own (QEMU does).
    u64 reservation_address = 0;
    u64 reservation_value = 0;
    u8 reservation_width = 0;  ///< 0: no reservation

    /// A deadline of the monitor's own (policies, e.g. the OS timer under offload);
    /// ~0 when none. The physical timer fires at the earlier of it and the firmware's.
    u64 monitor_deadline = ~u64{0};

    // Physical state the monitor programmed last, to skip redundant writes.
    u64 physical_mie = 0;
    u64 physical_timer = ~u64{0};
    u64 physical_pmpcfg[pmp_cfg_registers] = {};
    pmp_view physical_view = pmp_view::firmware;

    /// Where the trap paths read the firmware's instructions back in place
    /// (firmware_code_window): a pc whose four bytes lie in
    /// [code_window_base, code_window_base + code_window_last + 4) is RAM
    /// outside the monitor's memory. An odd base matches no pc (IALIGN).
    u64 code_window_base = 1;
    u64 code_window_last = 0;

    // The PMP (kept after the fields the trap paths use most: the world
    // switches read pmp_slots.cfg, placed first, within reach of one load).
    /// The list did not fit: the slots after the monitor's entries are a
    /// cache (pmp_cache_state), filled on access faults (virt/pmp_physical.hpp).
    bool pmp_cached = false;
    u8 pmp_cfg_register_count = 1;  ///< pmp.cfg_registers(), for the world switches
    /// The OS's access faults the physical medeleg keeps from delegating (the
    /// monitor resolves cache misses first): access faults while pmp_cached.
    u64 os_medeleg_withheld = 0;
    /// The slots computed from the virtual PMP (pmp_layout.hpp: the whole
    /// list when it fits, else the cache's ranges): the configuration
    /// register values of each view and the addresses, recomputed when the
    /// virtual PMP changes.
    pmp_plan pmp_slots;
    /// The physical PMP layout of this hart (the monitor's entries, the tail).
    pmp_layout pmp;
    pmp_cache pmp_cache_state;
    /// Access faults resolved by installing a range, and the monitor's
    /// instructions (minstret) from the start of their miss path to the
    /// install (the trap vector's entry and exit not included): ./vfm bench.
    u64 pmp_misses_resolved = 0;
    u64 pmp_miss_instructions = 0;
    u32 pmp_misses_measured = 0;  ///< the misses pmp_miss_instructions counts
    /// Ranges installed (any path), and the OS's pc at its last miss: a load
    /// or store that misses again at the same pc needs more ranges at once
    /// than the slots hold, and the monitor performs it (engine::os_trap).
    u32 pmp_installs = 0;
    u64 pmp_last_miss_pc = ~u64{0};

    /// The registers a backend's fast trap path has saved in `x` (the caller-
    /// saved ones, sp and tp: ra, sp, tp, t0-t6, a0-a7); the fast path must use
    /// no other (the others still hold the guest's values in the hart). tp is
    /// among them because trap handlers swap it with mscratch on entry.
    static constexpr u32 fast_path_registers =
        (1u << 1) | (1u << 2) | (1u << 4) | (7u << 5) | (0xffu << 10) | (0xfu << 28);
    [[nodiscard, gnu::always_inline]] static constexpr bool saved_on_fast_path(unsigned n) noexcept {
        return n == 0 || ((fast_path_registers >> (n & 31)) & 1) != 0;
    }

    /// Register accessors with the x0 rule (writes to x0 are dropped).
    // Inlined always: -Os otherwise calls them out of line on the trap paths.
    [[nodiscard, gnu::always_inline]] constexpr u64 reg(unsigned n) const noexcept { return n == 0 ? 0 : x[n & 31]; }
    [[gnu::always_inline]] constexpr void set_reg(unsigned n, u64 value) noexcept {
        if (n != 0) x[n & 31] = value;
    }
};

}  // namespace vfm::virt
