// SPDX-License-Identifier: MIT
/// The trap framework: trap frames, per-hart state, handler hooks and the
/// "expect a trap" helpers.
///
/// Every M-mode trap goes through testfw_m_trap, every S-mode trap through
/// testfw_s_trap. Each first asks the hart's registered handler (which may
/// change the frame and returns true when it handled the trap); otherwise
/// the library handles the exit `ecall` of a run in S- or U-mode, records an
/// expected exception and skips the instruction (by its real length), and
/// treats anything else as an unexpected trap: it prints it and fails.
#pragma once

#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr_fields.hpp>

#include "testfw/csr.hpp"

namespace testfw {

namespace riscv = vfm::riscv;

/// The registers and trap CSRs saved on a trap (layout.h).
struct trap_frame {
    u64 x[32];    ///< x[0] unused; x[2] is the interrupted sp
    u64 epc;      ///< mepc or sepc
    u64 status;   ///< mstatus or sstatus (written back on return)
    u64 cause;    ///< mcause or scause
    u64 tval;     ///< mtval or stval
    i64 vector;   ///< mtvec slot that took the trap; -1 for the direct entry
    u64 padding;

    [[nodiscard]] bool is_interrupt() const noexcept { return (cause >> 63) != 0; }
    [[nodiscard]] u64 code() const noexcept { return cause & ~(u64{1} << 63); }
    /// The previous privilege (MPP for an M-mode frame).
    [[nodiscard]] u64 mpp() const noexcept { return riscv::mstatus::mpp::extract(status); }
};

/// A handler: returns true when it handled the trap (the frame is restored,
/// so it may change epc, status or registers).
using trap_handler = bool (*)(trap_frame&);

/// What the last expected trap looked like.
struct trap_record {
    u64 count;   ///< traps recorded since the probe was armed
    u64 level;   ///< 3 when M-mode took it, 1 when S-mode took it
    u64 cause;
    u64 epc;
    u64 tval;
    u64 status;  ///< mstatus/sstatus right after the trap
    i64 vector;
};

/// A hart's work mailbox (harts.hpp).
struct mailbox {
    u64 (*volatile function)(u64);
    volatile u64 argument;
    volatile u64 result;
    volatile u64 requested;
    volatile u64 completed;
};

/// Per-hart state at the bottom of the hart's region (tp points at it).
struct hart_local {
    u64 hartid;
    u64 lower_sp;  ///< M-mode sp saved by testfw_run_lower
    trap_handler m_handler;
    trap_handler s_handler;
    volatile u64 expect;  ///< nonzero while a probe waits for its trap
    trap_record last;
    volatile u64 m_traps;  ///< every trap testfw_m_trap saw
    volatile u64 s_traps;
    u64 boot_a0, boot_a1, boot_a2;  ///< registers at entry
    mailbox work;
    /// Where call_probe's jump returns: the M-mode handler resumes there after
    /// an instruction fetch fault (a monitor's sandbox may hide the lower
    /// mode's ra from the firmware); 0 when no such probe is under way.
    volatile u64 fetch_return;
};

static_assert(__builtin_offsetof(hart_local, hartid) == TESTFW_HART_ID);
static_assert(__builtin_offsetof(hart_local, lower_sp) == TESTFW_HART_LOWER_SP);
static_assert(__builtin_offsetof(trap_frame, epc) == TESTFW_FRAME_EPC);
static_assert(__builtin_offsetof(trap_frame, status) == TESTFW_FRAME_STATUS);
static_assert(__builtin_offsetof(trap_frame, cause) == TESTFW_FRAME_CAUSE);
static_assert(__builtin_offsetof(trap_frame, tval) == TESTFW_FRAME_TVAL);
static_assert(__builtin_offsetof(trap_frame, vector) == TESTFW_FRAME_VECTOR);
static_assert(sizeof(trap_frame) == TESTFW_FRAME_SIZE);
static_assert(sizeof(hart_local) < 1024);

/// This hart's block.
[[nodiscard]] inline hart_local& self() noexcept {
    hart_local* h;
    asm("mv %0, tp" : "=r"(h));
    return *h;
}
/// Another hart's block.
[[nodiscard]] hart_local& hart(u64 hartid) noexcept;

/// Handlers for this hart (nullptr for none).
inline void set_m_handler(trap_handler h) noexcept { self().m_handler = h; }
inline void set_s_handler(trap_handler h) noexcept { self().s_handler = h; }

/// mtvec values of the library's entries.
extern "C" char testfw_trap_direct[];
extern "C" char testfw_trap_vectors[];
extern "C" char testfw_s_trap_entry[];
[[nodiscard]] inline u64 direct_mtvec() noexcept { return reinterpret_cast<u64>(testfw_trap_direct); }
[[nodiscard]] inline u64 vectored_mtvec() noexcept { return reinterpret_cast<u64>(testfw_trap_vectors) | 1; }
[[nodiscard]] inline u64 s_trap_entry() noexcept { return reinterpret_cast<u64>(testfw_s_trap_entry); }

/// Length of the instruction at `address` (2 or 4), read as two halfwords
/// because it may be only 2-byte aligned.
[[nodiscard]] inline unsigned instruction_length_at(u64 address) noexcept {
    return (mmio::read<u16>(address) & 3) == 3 ? 4 : 2;
}
/// The instruction bits at `address` (16 or 32 of them).
[[nodiscard]] inline u32 instruction_at(u64 address) noexcept {
    const u32 low = mmio::read<u16>(address);
    return (low & 3) == 3 ? low | (u32{mmio::read<u16>(address + 2)} << 16) : low;
}

/// Resumes after the trapping instruction.
inline void skip_instruction(trap_frame& f) noexcept { f.epc += instruction_length_at(f.epc); }

/// Prints an unexpected trap and fails the test.
[[noreturn]] void unexpected_trap(const trap_frame& f, const char* level) noexcept;

/// Sleeps in wfi until `counter`, which interrupt handlers advance, reaches
/// `target`, waking at most `limit` times; returns the counter. A loop
/// "check, then wfi" loses the wake-up when the interrupt comes between the
/// two and its handler leaves nothing pending (it disarms the timer): that
/// wfi then waits for ever. Here an interrupt taken anywhere from the check
/// up to and including the wfi resumes at the check instead (the trap
/// dispatch moves epc back, in M- and S-mode alike), so this works whatever
/// interrupts the code can mask: in S-mode, M-level ones are always taken.
extern "C" u64 testfw_wfi_until(const volatile u64* counter, u64 target, u64 limit) noexcept;
extern "C" char testfw_wfi_until_wfi[];
inline u64 wfi_until(const volatile u64& counter, u64 target, u64 limit) noexcept {
    return testfw_wfi_until(&counter, target, limit);
}
/// The epc of an interrupt that ended wfi_until's wfi: the next instruction (priv. 3.3.3).
[[nodiscard]] u64 wfi_until_wake_address() noexcept;
/// The trap dispatch's part of wfi_until (it calls this for every trap).
void restart_wfi_until(trap_frame& f) noexcept;

/// The result of a probe: one instruction run with a trap expected (or not).
struct probe {
    bool trapped = false;
    u64 level = 0;   ///< who took the trap: 3 = M, 1 = S
    u64 cause = 0;
    u64 epc = 0;
    u64 tval = 0;
    u64 status = 0;
    i64 vector = 0;
    u64 site = 0;    ///< address of the probed instruction
    u64 value = 0;   ///< what the instruction produced (a sentinel if it trapped)
    u64 count = 0;   ///< traps recorded (more than 1 is an error)
};

/// Value a probe's destination register holds before the instruction.
inline constexpr u64 probe_sentinel = 0x5a5a'5a5a'5a5a'5a5a;

/// Arms this hart for one expected exception. An exception in M-mode or S-mode
/// is then recorded and skipped (an instruction access fault returns to ra
/// instead, since the faulting "instruction" cannot be skipped).
inline void expect_arm() noexcept {
    hart_local& h = self();
    h.last = {};
    barrier();
    h.expect = 1;
    barrier();
}
/// Disarms and collects what was recorded.
[[nodiscard]] inline probe expect_result(u64 site, u64 value) noexcept {
    barrier();
    hart_local& h = self();
    h.expect = 0;
    probe p;
    p.trapped = h.last.count != 0;
    p.count = h.last.count;
    p.level = h.last.level;
    p.cause = h.last.cause;
    p.epc = h.last.epc;
    p.tval = h.last.tval;
    p.status = h.last.status;
    p.vector = h.last.vector;
    p.site = site;
    p.value = value;
    return p;
}

/// Runs one CSR instruction (csr_op) on CSR N with a1 = operand.
template <u16 N>
[[nodiscard]] inline probe csr_probe(csr_op op, u64 operand = 0) noexcept {
    u64 out = 0;
    u64 site = 0;
    expect_arm();
    switch (op) {
        case csr_op::read:
            asm volatile("mv a0, %[s]\n la %[site], 1f\n1: csrrs a0, %[n], x0\n mv %[out], a0"
                         : [out] "=r"(out), [site] "=&r"(site)
                         : [s] "r"(probe_sentinel), [n] "i"(N)
                         : "a0", "memory");
            break;
        case csr_op::write:
            asm volatile("mv a0, %[s]\n mv a1, %[v]\n la %[site], 1f\n1: csrrw a0, %[n], a1\n mv %[out], a0"
                         : [out] "=r"(out), [site] "=&r"(site)
                         : [s] "r"(probe_sentinel), [v] "r"(operand), [n] "i"(N)
                         : "a0", "a1", "memory");
            break;
        case csr_op::set:
            asm volatile("mv a0, %[s]\n mv a1, %[v]\n la %[site], 1f\n1: csrrs a0, %[n], a1\n mv %[out], a0"
                         : [out] "=r"(out), [site] "=&r"(site)
                         : [s] "r"(probe_sentinel), [v] "r"(operand), [n] "i"(N)
                         : "a0", "a1", "memory");
            break;
        case csr_op::clear:
            asm volatile("mv a0, %[s]\n mv a1, %[v]\n la %[site], 1f\n1: csrrc a0, %[n], a1\n mv %[out], a0"
                         : [out] "=r"(out), [site] "=&r"(site)
                         : [s] "r"(probe_sentinel), [v] "r"(operand), [n] "i"(N)
                         : "a0", "a1", "memory");
            break;
        case csr_op::write_imm0:
            asm volatile("mv a0, %[s]\n la %[site], 1f\n1: csrrwi a0, %[n], 0\n mv %[out], a0"
                         : [out] "=r"(out), [site] "=&r"(site)
                         : [s] "r"(probe_sentinel), [n] "i"(N)
                         : "a0", "memory");
            break;
        case csr_op::set_imm0:
            asm volatile("mv a0, %[s]\n la %[site], 1f\n1: csrrsi a0, %[n], 0\n mv %[out], a0"
                         : [out] "=r"(out), [site] "=&r"(site)
                         : [s] "r"(probe_sentinel), [n] "i"(N)
                         : "a0", "memory");
            break;
        case csr_op::clear_imm0:
            asm volatile("mv a0, %[s]\n la %[site], 1f\n1: csrrci a0, %[n], 0\n mv %[out], a0"
                         : [out] "=r"(out), [site] "=&r"(site)
                         : [s] "r"(probe_sentinel), [n] "i"(N)
                         : "a0", "memory");
            break;
    }
    return expect_result(site, out);
}

/// Runs a CSR probe on a CSR number known only at run time, within
/// [Base, Base + Count) (a binary tree of instantiations).
template <u16 Base, u16 Count>
[[nodiscard]] probe csr_probe_in(u16 number, csr_op op, u64 operand = 0) noexcept {
    if constexpr (Count == 1) {
        return csr_probe<Base>(op, operand);
    } else {
        constexpr u16 half = Count / 2;
        if (number < Base + half) return csr_probe_in<Base, half>(number, op, operand);
        return csr_probe_in<Base + half, Count - half>(number, op, operand);
    }
}

/// Runs the 32-bit instruction Insn as a probe (value = a0 afterwards).
template <u32 Insn>
[[nodiscard]] inline probe insn_probe() noexcept {
    u64 out = 0;
    u64 site = 0;
    expect_arm();
    asm volatile("mv a0, %[s]\n li a7, 0\n la %[site], 1f\n1: .4byte %[i]\n mv %[out], a0"
                 : [out] "=r"(out), [site] "=&r"(site)
                 : [s] "r"(probe_sentinel), [i] "i"(Insn)
                 : "a0", "a7", "memory");
    return expect_result(site, out);
}
/// The same with the instruction only 2-byte aligned (after a c.nop).
template <u32 Insn>
[[nodiscard]] inline probe insn_probe_halfword_aligned() noexcept {
    u64 out = 0;
    u64 site = 0;
    expect_arm();
    asm volatile("mv a0, %[s]\n la %[site], 1f\n .balign 4\n .2byte 0x0001\n1: .4byte %[i]\n mv %[out], a0"
                 : [out] "=r"(out), [site] "=&r"(site)
                 : [s] "r"(probe_sentinel), [i] "i"(Insn)
                 : "a0", "memory");
    return expect_result(site, out);
}
/// Runs the 16-bit (compressed) instruction Insn as a probe.
template <u16 Insn>
[[nodiscard]] inline probe insn16_probe() noexcept {
    u64 out = 0;
    u64 site = 0;
    expect_arm();
    asm volatile("mv a0, %[s]\n la %[site], 1f\n1: .2byte %[i]\n mv %[out], a0"
                 : [out] "=r"(out), [site] "=&r"(site)
                 : [s] "r"(probe_sentinel), [i] "i"(Insn)
                 : "a0", "memory");
    return expect_result(site, out);
}

/// Encodings used by the firmwares (unpriv. spec 2.8, 16.5; priv. spec 3.3).
namespace encoding {
inline constexpr u32 ecall = 0x0000'0073;
inline constexpr u32 ebreak = 0x0010'0073;
inline constexpr u16 c_ebreak = 0x9002;
inline constexpr u32 mret = 0x3020'0073;
inline constexpr u32 sret = 0x1020'0073;
inline constexpr u32 wfi = 0x1050'0073;
inline constexpr u32 sfence_vma = 0x1200'0073;  ///< sfence.vma x0, x0
inline constexpr u32 ret = 0x0000'8067;         ///< jalr x0, 0(ra)
}  // namespace encoding

/// Loads and stores as probes (lb/lh/lw/ld, sb/sh/sw/sd by size 1/2/4/8).
[[nodiscard]] probe load_probe(u64 address, unsigned size = 8) noexcept;
[[nodiscard]] probe store_probe(u64 address, u64 value, unsigned size = 8) noexcept;
/// Calls `address` with jalr ra; an instruction access fault there returns to
/// the caller (value = the code's a0, or the sentinel).
[[nodiscard]] probe call_probe(u64 address, u64 argument = 0) noexcept;
/// An M-mode ld and sd with mstatus.MPRV set for that one instruction, so
/// that it is checked with the privilege in mstatus.MPP, which the caller
/// sets (priv. spec 3.1.6.3).
[[nodiscard]] probe mprv_load_probe(u64 address) noexcept;
[[nodiscard]] probe mprv_store_probe(u64 address, u64 value) noexcept;

}  // namespace testfw
