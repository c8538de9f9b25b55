// SPDX-License-Identifier: MIT
// sandbox: what a firmware sees of the OS it handed the machine to. The
// firmware copies a small OS to 0x80200000 (OS memory: the sandbox walls off
// [the page of the entry point, end of RAM)), delegates nothing, opens its PMP
// to S-mode (priv. 3.7.1) and enters it with mret (the handover). The OS first
// raises two exceptions the firmware keeps (nothing is delegated): a read of a
// CSR the hart lacks, which the firmware emulates (rd = its answer, then past
// it), and an illegal instruction it redirects to the OS's stvec as OpenSBI
// does; the OS notes what arrives. It then sets
// stvec and sscratch, fills every register with a value of its own and makes
// an SBI call of an extension no one defines (EID 0x0A000001, FID 7, two
// arguments; SBI v2.0 3: a7 = EID, a6 = FID, a0.. = arguments, a0/a1 =
// results, every other register preserved). The firmware's handler records
// the registers and S-mode CSRs it finds, then loads, stores and jumps into
// the OS's memory, and loads from it with MPRV (MPP = S, priv. 3.1.6.3); an
// access that is refused arrives as an access fault at its own mtvec with
// mtval = the address (priv. 3.7.1). It returns two results and leaves junk in
// every other register and in sscratch and stvec. The OS checks what came back
// and reports it with a last ecall.
//
// The transcript says what happened; its checks hold either way (an access
// either succeeds with the right data or faults at the right address).
// test/qemu/sandbox_check.py decides which way is expected: natively and
// under a monitor without the sandbox the firmware sees everything and its
// accesses succeed; under the sandbox they fault, it finds only the call's
// arguments (all six for an unknown extension) and a6/a7, reads sscratch and
// stvec as 0, and the OS gets every register back but a0/a1.
//
// The library's trap entry tells a trap from below from one in M-mode by the
// interrupted sp, which the sandbox clears: while the OS runs, mtvec is this
// firmware's own entry, which saves the same trap frame, switches mtvec back
// to the library's entry (for the probes' nested traps) and calls the
// library's dispatcher.
#include "testfw/layout.h"
#include "testfw/testfw.hpp"

using namespace testfw;

const char* const testfw::firmware_name = "sandbox";
const char* const testfw::firmware_purpose = "what a firmware sees of the OS it handed the machine to";

extern "C" {
extern const char sandbox_os_begin[];
extern const char sandbox_os_end[];
extern const char sandbox_os_read_word[];
extern const char sandbox_os_write_word[];
extern const char sandbox_os_function[];
extern const char sandbox_os_trap[];
extern char sandbox_m_entry[];
void testfw_m_trap(trap_frame* frame) noexcept;  // lib/trap.cpp
}

namespace {

constexpr u64 os_base = 0x8020'0000;
constexpr u64 call_eid = 0x0A00'0001;
constexpr u64 call_fid = 7;
constexpr u64 read_magic = 0x0dd0'5eed'cafe'f00d;  // sandbox_os_read_word
constexpr u64 write_initial = 0x0dd0'0000'0000'0001;  // sandbox_os_write_word
constexpr u64 firmware_write = 0xf1f1'f1f1'0000'0002;
constexpr u64 call_magic = 0x0ca1'1ed0'0000'0003;  // what sandbox_os_function returns
constexpr u64 os_sscratch = 0x5afe'5c5c'5c5c'5c5c;
constexpr u64 result_a0 = 0x600d'0000'0000'00a0;
constexpr u64 result_a1 = 0x600d'0000'0000'00a1;

/// The value the OS puts in register n before its call (the payload below
/// uses the same: small ones in ra and sp, which it checks in place first).
constexpr u64 os_value(unsigned n) {
    if (n == 1) return 0x5a1;
    if (n == 2) return 0x5a2;
    if (n == 16) return call_fid;
    if (n == 17) return call_eid;
    return 0x5afe'0000'0000'0000 + n * u64{0x0001'0001'0001};
}
/// What the firmware leaves in register n.
constexpr u64 junk(unsigned n) { return 0xd1d1'0000'0000'0000 + n; }

constexpr const char* abi_names[32] = {"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0",
                                       "a1",   "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5",
                                       "s6",   "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"};

}  // namespace

#define SANDBOX_STR2(x) #x
#define SANDBOX_STR(x) SANDBOX_STR2(x)

// The trap entry used while the OS runs (mscratch = this hart's M-mode stack).
asm(".equ SB_FRAME, " SANDBOX_STR(TESTFW_FRAME_SIZE) "\n"
    ".equ SB_EPC, " SANDBOX_STR(TESTFW_FRAME_EPC) "\n"
    ".equ SB_STATUS, " SANDBOX_STR(TESTFW_FRAME_STATUS) "\n"
    ".equ SB_CAUSE, " SANDBOX_STR(TESTFW_FRAME_CAUSE) "\n"
    ".equ SB_TVAL, " SANDBOX_STR(TESTFW_FRAME_TVAL) "\n"
    ".equ SB_VECTOR, " SANDBOX_STR(TESTFW_FRAME_VECTOR) "\n"
    ".equ SB_REGION_SHIFT, " SANDBOX_STR(TESTFW_REGION_SHIFT) "\n"
    ".equ SB_EXIT, " SANDBOX_STR(TESTFW_ECALL_EXIT) "\n"
    R"(
    .section .text.sandbox_entry, "ax", @progbits
    .balign 4
    .globl sandbox_m_entry
sandbox_m_entry:
    csrrw   sp, mscratch, sp
    addi    sp, sp, -SB_FRAME
    sd      x1, 8(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, (8 * \n)(sp)
    .endr
    csrrw   t0, mscratch, zero
    sd      t0, 16(sp)
    srli    tp, sp, SB_REGION_SHIFT
    slli    tp, tp, SB_REGION_SHIFT
    li      t0, -1
    sd      t0, SB_VECTOR(sp)
    csrr    t0, mepc
    sd      t0, SB_EPC(sp)
    csrr    t0, mstatus
    sd      t0, SB_STATUS(sp)
    csrr    t0, mcause
    sd      t0, SB_CAUSE(sp)
    csrr    t0, mtval
    sd      t0, SB_TVAL(sp)
    la      t0, testfw_trap_direct
    csrw    mtvec, t0
    mv      a0, sp
    call    testfw_m_trap
    la      t0, sandbox_m_entry
    csrw    mtvec, t0
    ld      t0, SB_EPC(sp)
    csrw    mepc, t0
    ld      t0, SB_STATUS(sp)
    csrw    mstatus, t0
    addi    t0, sp, SB_FRAME
    csrw    mscratch, t0
    ld      x1, 8(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\n, (8 * \n)(sp)
    .endr
    ld      sp, 16(sp)
    mret

    # The OS: position independent (copied to 0x80200000), no stack, no memory
    # but its own words. Registers: os_value(n) in sandbox.cpp.
    .section .text.sandbox_os, "ax", @progbits
    .balign 64
    .globl sandbox_os_begin
sandbox_os_begin:
    # A RISC-V Linux image header (Linux Documentation/arch/riscv/boot-image-header.rst):
    # the sandbox measures exactly the image it declares.
    .option push
    .option norvc
    j       sandbox_os_start                        # code0
    .option pop
    .word   0                                       # code1
    .dword  0                                       # text_offset
    .dword  sandbox_os_end - sandbox_os_begin       # image_size
    .dword  0                                       # flags
    .word   2                                       # version 0.2
    .word   0                                       # res1
    .dword  0                                       # res2
    .ascii  "RISCV\0\0\0"                          # magic (deprecated)
    .ascii  "RSC\x05"                               # magic2
    .word   0                                       # res3
sandbox_os_start:
    # Two exceptions the firmware keeps (nothing is delegated): a read of a
    # CSR the hart lacks, which the firmware emulates (rd = its answer), and
    # an illegal instruction it redirects to this OS's stvec. What arrives is
    # kept in sandbox_os_kept (value, scause, sepc - the instruction, stval).
    lla     t0, sandbox_os_kept_trap
    csrw    stvec, t0
    li      a5, 0
    csrr    a5, 0x5c0
    lla     t1, sandbox_os_kept
    sd      a5, 0(t1)
    .globl sandbox_os_redirected
sandbox_os_redirected:
    .word   0x0000000b                              # custom-0: illegal
    lla     t0, sandbox_os_trap
    csrw    stvec, t0
    li      t0, 0x5afe5c5c5c5c5c5c
    csrw    sscratch, t0
    li      x1, 0x5a1
    li      x2, 0x5a2
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    li      x\n, 0x5afe000000000000 + \n * 0x000100010001
    .endr
    li      x16, 7
    li      x17, 0x0a000001
    ecall
    # Back: a0 and a1 are the results. Bit n of ra = register n changed.
    xori    x1, x1, 0x5a1
    snez    x1, x1
    slli    x1, x1, 1
    xori    x2, x2, 0x5a2
    snez    x2, x2
    slli    x2, x2, 2
    or      x1, x1, x2
    .irp n, 3,4,5,6,7,8,9,12,13,14,15,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    li      x2, 0x5afe000000000000 + \n * 0x000100010001
    xor     x\n, x\n, x2
    snez    x\n, x\n
    slli    x\n, x\n, \n
    or      x1, x1, x\n
    .endr
    xori    x16, x16, 7
    snez    x16, x16
    slli    x16, x16, 16
    or      x1, x1, x16
    li      x2, 0x0a000001
    xor     x17, x17, x2
    snez    x17, x17
    slli    x17, x17, 17
    or      x1, x1, x17
    # Bit 32: sscratch changed; bit 33: stvec changed.
    csrr    x3, sscratch
    li      x2, 0x5afe5c5c5c5c5c5c
    xor     x3, x3, x2
    snez    x3, x3
    slli    x3, x3, 32
    or      x1, x1, x3
    csrr    x3, stvec
    lla     x2, sandbox_os_trap
    xor     x3, x3, x2
    snez    x3, x3
    slli    x3, x3, 33
    or      x1, x1, x3
    # Report (a0-a5: what the sandbox lets through for this call): a0 = the
    # mask, a1/a2 = the results, a3 = the word the firmware wrote to, a4 = the
    # emulated read, a5 = stval << 16 | (sepc - the instruction) << 8 | scause.
    lla     x3, sandbox_os_kept
    ld      x14, 0(x3)
    ld      x15, 8(x3)
    ld      x2, 16(x3)
    slli    x2, x2, 8
    or      x15, x15, x2
    ld      x2, 24(x3)
    slli    x2, x2, 16
    or      x15, x15, x2
    lla     x3, sandbox_os_write_word
    ld      x13, 0(x3)
    mv      x12, x11
    mv      x11, x10
    mv      x10, x1
    li      x17, SB_EXIT
    ecall
1:  j       1b

    # Nothing is delegated: no trap should come here.
    .balign 4
    .globl sandbox_os_trap
sandbox_os_trap:
    li      x10, -1
    li      x17, SB_EXIT
    ecall
    j       sandbox_os_trap

    # The redirected exception (SPP = S after the redirect): noted, then past it.
    .balign 4
sandbox_os_kept_trap:
    lla     t2, sandbox_os_kept
    csrr    t0, scause
    sd      t0, 8(t2)
    csrr    t0, sepc
    lla     t1, sandbox_os_redirected
    sub     t1, t0, t1
    sd      t1, 16(t2)
    csrr    t1, stval
    sd      t1, 24(t2)
    addi    t0, t0, 4
    csrw    sepc, t0
    sret

    # The firmware's jump target.
    .balign 4
    .globl sandbox_os_function
sandbox_os_function:
    li      a0, 0x0ca11ed000000003
    ret

    .balign 8
    .globl sandbox_os_read_word
sandbox_os_read_word:
    .dword  0x0dd05eedcafef00d
    .globl sandbox_os_write_word
sandbox_os_write_word:
    .dword  0x0dd0000000000001
sandbox_os_kept:
    .dword  0, -1, -1, -1
    .globl sandbox_os_end
sandbox_os_end:
)");

namespace {

u64 os_address(const char* label) { return os_base + static_cast<u64>(label - sandbox_os_begin); }
u64 os_size() { return static_cast<u64>(sandbox_os_end - sandbox_os_begin); }

/// What the firmware saw of the OS's call.
struct seen_call {
    bool called = false;
    u64 x[32] = {};
    u64 cause = 0;
    u64 epc = 0;
    u64 mpp = 0;
    u64 sscratch = 0;
    u64 stvec = 0;
    probe load, store, jump, mprv_load;
};
/// What the OS reported with its last ecall.
struct os_report {
    bool done = false;
    u64 changed = 0;  ///< bit n: register n (32: sscratch, 33: stvec) not as the OS left it
    u64 a0 = 0;
    u64 a1 = 0;
    u64 word = 0;
    u64 emulated = 0;          ///< the OS's rd after the read the firmware emulated
    u64 redirected_cause = 0;  ///< scause, sepc - the instruction, stval at the OS's handler
    u64 redirected_offset = 0;
    u64 redirected_tval = 0;
};
/// The exceptions of the OS the firmware kept.
struct kept_exceptions {
    bool emulated = false;
    bool redirected = false;
};
kept_exceptions g_kept;

seen_call g_seen;
os_report g_report;

constexpr u32 csrr_a5_5c0 = 0x5c00'27f3;  // csrrs a5, 0x5c0, x0 (no such CSR on virt)
constexpr u64 emulated_value = 0x5c0'5c0'5c0;
constexpr u32 custom0 = 0x0000'000b;

/// An exception of the OS the firmware keeps: the CSR read emulated (rd, then
/// past it), the illegal instruction redirected to the OS as OpenSBI does
/// (sepc, scause, stval, SPP = S, SPIE = SIE, SIE = 0, then its stvec).
bool kept_exception(trap_frame& f) noexcept {
    if (f.tval == csrr_a5_5c0 && !g_kept.emulated) {
        g_kept.emulated = true;
        f.x[15] = emulated_value;
        f.epc += 4;
        return true;
    }
    if (f.tval == custom0 && !g_kept.redirected) {
        g_kept.redirected = true;
        write<csr::sepc>(f.epc);
        write<csr::scause>(f.cause);
        write<csr::stval>(f.tval);
        // The frame's mstatus is what the return writes back: SPP = S, SPIE = SIE,
        // SIE = 0 there, and MPP = S.
        const u64 s = f.status;
        f.status = (s & ~u64{0x1922}) | 0x800 | (u64{1} << 8) | (((s >> 1) & 1) << 5);
        f.epc = read<csr::stvec>();
        return true;
    }
    return false;
}

bool handler(trap_frame& f) noexcept {
    if (!f.is_interrupt() && f.code() == static_cast<u64>(riscv::exception::illegal_instruction) && f.mpp() == 1)
        return kept_exception(f);
    if (f.is_interrupt() || f.code() != static_cast<u64>(riscv::exception::ecall_from_s)) return false;
    if (f.x[17] == call_eid && !g_seen.called) {
        g_seen.called = true;
        for (unsigned n = 1; n < 32; ++n) g_seen.x[n] = f.x[n];
        g_seen.cause = f.cause;
        g_seen.epc = f.epc;
        g_seen.mpp = f.mpp();
        g_seen.sscratch = read<csr::sscratch>();
        g_seen.stvec = read<csr::stvec>();
        g_seen.load = load_probe(os_address(sandbox_os_read_word));
        g_seen.store = store_probe(os_address(sandbox_os_write_word), firmware_write);
        g_seen.jump = call_probe(os_address(sandbox_os_function));
        g_seen.mprv_load = mprv_load_probe(os_address(sandbox_os_read_word));
        // The results, and junk everywhere else.
        for (unsigned n = 1; n < 32; ++n) f.x[n] = junk(n);
        f.x[10] = result_a0;
        f.x[11] = result_a1;
        write<csr::sscratch>(0xd1d1'5c5c);
        write<csr::stvec>(0xd1d1'0400);
        f.epc += 4;  // not read from the OS's memory: the ecall is 4 bytes
        return true;
    }
    if (f.x[17] == TESTFW_ECALL_EXIT) {
        g_report.done = true;
        g_report.changed = f.x[10];
        g_report.a0 = f.x[11];
        g_report.a1 = f.x[12];
        g_report.word = f.x[13];
        g_report.emulated = f.x[14];
        g_report.redirected_cause = f.x[15] & 0xff;
        g_report.redirected_offset = (f.x[15] >> 8) & 0xff;
        g_report.redirected_tval = f.x[15] >> 16;
        abandon_lower(0);
    }
    return false;
}

/// A register or CSR value as the firmware found it.
void note_seen(const char* what, u64 value, u64 os) {
    if (value == os)
        note("firmware sees %s: the OS's value", what);
    else if (value == 0)
        note("firmware sees %s: zero", what);
    else
        note("firmware sees %s: other %x", what, value);
}

/// An access into the OS's memory: it either worked (with `good` describing
/// the result) or raised `cause` at the firmware's mtvec with mtval = address.
void check_access(const probe& p, const char* what, u64 address, riscv::exception cause, bool worked,
                  const char* success) {
    if (!p.trapped) {
        check(worked, "%s %h: %s", what, address, success);
        return;
    }
    const bool right = p.count == 1 && p.level == 3 && p.cause == static_cast<u64>(cause) && p.tval == address;
    check(right, "%s %h: %s at the firmware's mtvec, mtval %h", what, address, cause_name(p.cause), p.tval);
}

}  // namespace

void testfw::firmware_main() {
    section("handing the machine over to an OS in S-mode");
    if (!has_s_mode()) {
        absent_here("S-mode");
        return;
    }
    const u64* from = reinterpret_cast<const u64*>(sandbox_os_begin);
    volatile u64* to = reinterpret_cast<volatile u64*>(os_base);
    for (u64 i = 0; i < os_size() / 8; ++i) to[i] = from[i];
    asm volatile("fence.i" ::: "memory");
    write<csr::medeleg>(0);
    write<csr::mideleg>(0);
    pmp::reset();
    pmp::open_all(0);
    note("the OS at %h, %u bytes; PMP entry 0 open to S; nothing delegated", os_base, os_size());

    set_m_handler(handler);
    write<csr::mtvec>(reinterpret_cast<u64>(sandbox_m_entry));
    run_in(privilege::supervisor, reinterpret_cast<lower_function>(os_base));
    write<csr::mtvec>(direct_mtvec());
    set_m_handler(nullptr);

    section("exceptions of the OS the firmware keeps");
    check(g_kept.emulated && g_report.emulated == emulated_value,
          "a read of a CSR the hart lacks, emulated by the firmware: the OS's rd is the firmware's answer: %b",
          g_report.emulated == emulated_value);
    check(g_kept.redirected && g_report.redirected_cause == 2 && g_report.redirected_offset == 0 &&
              g_report.redirected_tval == custom0,
          "an illegal instruction redirected by the firmware: the OS's handler sees scause %u, sepc at the "
          "instruction (+%u), stval %h",
          g_report.redirected_cause, g_report.redirected_offset, g_report.redirected_tval);

    section("what the firmware sees of the OS's SBI call 0xa000001");
    if (!check(g_seen.called, "the call reached the firmware")) return;
    check(g_seen.cause == 9 && g_seen.mpp == 1 && g_seen.epc >= os_base && g_seen.epc < os_base + os_size(),
          "mcause %h, MPP %u, mepc in the OS at +%h", g_seen.cause, g_seen.mpp, g_seen.epc - os_base);
    check(g_seen.x[17] == call_eid && g_seen.x[16] == call_fid, "a7 = %h (EID), a6 = %h (FID)", g_seen.x[17],
          g_seen.x[16]);
    check(g_seen.x[10] == os_value(10) && g_seen.x[11] == os_value(11), "a0 = %x, a1 = %x (the arguments)",
          g_seen.x[10], g_seen.x[11]);
    char what[32];
    for (unsigned n = 1; n < 32; ++n) {
        if (n == 10 || n == 11 || n == 16 || n == 17) continue;
        format(what, sizeof what, "x%u (%s)", n, abi_names[n]);
        note_seen(what, g_seen.x[n], os_value(n));
    }
    note_seen("sscratch", g_seen.sscratch, os_sscratch);
    note_seen("stvec", g_seen.stvec, os_address(sandbox_os_trap));

    section("the firmware reaches for the OS's memory");
    using riscv::exception;
    check_access(g_seen.load, "load from", os_address(sandbox_os_read_word), exception::load_access_fault,
                 g_seen.load.value == read_magic, "the OS's word");
    check_access(g_seen.store, "store to", os_address(sandbox_os_write_word), exception::store_access_fault, true,
                 "done");
    check_access(g_seen.jump, "jump to", os_address(sandbox_os_function), exception::instruction_access_fault,
                 g_seen.jump.value == call_magic, "the OS's code ran");
    check_access(g_seen.mprv_load, "MPRV (MPP = S) load from", os_address(sandbox_os_read_word),
                 exception::load_access_fault, g_seen.mprv_load.value == read_magic, "the OS's word");

    section("what the OS sees after the call");
    if (!check(g_report.done, "the OS reported back")) return;
    check(g_report.a0 == result_a0 && g_report.a1 == result_a1, "a0 = %x, a1 = %x (the firmware's results)",
          g_report.a0, g_report.a1);
    const u64 registers = g_report.changed & ((u64{1} << 32) - 1);
    if (registers == 0) {
        note("the OS's registers: all as before (a0 and a1 aside)");
    } else {
        char list[160];
        usize used = 0;
        for (unsigned n = 1; n < 32; ++n)
            if (((registers >> n) & 1) != 0) used += format(list + used, sizeof list - used, " %s", abi_names[n]);
        note("the OS's registers: changed:%s", list);
    }
    note("the OS's sscratch: %s", ((g_report.changed >> 32) & 1) != 0 ? "changed" : "as before");
    note("the OS's stvec: %s", ((g_report.changed >> 33) & 1) != 0 ? "changed" : "as before");
    if (g_report.word == write_initial)
        note("the OS's word at %h: its own", os_address(sandbox_os_write_word));
    else if (g_report.word == firmware_write)
        note("the OS's word at %h: the firmware's", os_address(sandbox_os_write_word));
    else
        note("the OS's word at %h: other %x", os_address(sandbox_os_write_word), g_report.word);
}
