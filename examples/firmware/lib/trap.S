// SPDX-License-Identifier: MIT
// Trap entries (M-mode direct and vectored, S-mode) with a full register
// save into a trap frame (layout.h), the switch into S- or U-mode and back.
//
// mscratch convention: 0 while the hart runs in M-mode; the M-mode stack
// pointer while it runs in S- or U-mode. A trap from M keeps using the
// current stack (so nested traps work); a trap from below swaps to the
// M-mode stack.
#include "testfw/layout.h"

    // Vector slots must be exactly 4 bytes: no compressed jumps here.
    .option norvc
    .section .text.trap, "ax", @progbits

.macro M_ENTRY vector
    csrrw   sp, mscratch, sp
    bnez    sp, 1f
    csrrw   sp, mscratch, sp
1:  addi    sp, sp, -TESTFW_FRAME_SIZE
    sd      t0, TESTFW_FRAME_X(5)(sp)
    li      t0, \vector
    j       testfw_m_trap_common
.endm

    .balign 4
    .globl testfw_trap_direct
testfw_trap_direct:
    M_ENTRY -1

    // Vectored mode: exceptions at base, interrupt `cause` at base + 4 * cause.
    .balign 256
    .globl testfw_trap_vectors
testfw_trap_vectors:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    j       .Lvector\n
    .endr
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
.Lvector\n:
    M_ENTRY \n
    .endr

testfw_m_trap_common:
    sd      t0, TESTFW_FRAME_VECTOR(sp)
    sd      x1, TESTFW_FRAME_X(1)(sp)
    sd      x3, TESTFW_FRAME_X(3)(sp)
    sd      x4, TESTFW_FRAME_X(4)(sp)
    .irp n, 6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, TESTFW_FRAME_X(\n)(sp)
    .endr
    // t0 = the interrupted sp if we came from below, 0 if from M.
    csrrw   t0, mscratch, zero
    bnez    t0, 2f
    addi    t0, sp, TESTFW_FRAME_SIZE
    // Found again from sp in either case: a monitor's sandbox policy clears
    // the lower mode's registers (sp and tp included) before the firmware
    // sees its trap, and then this looks like a trap from M.
2:  srli    tp, sp, TESTFW_REGION_SHIFT
    slli    tp, tp, TESTFW_REGION_SHIFT
    sd      t0, TESTFW_FRAME_X(2)(sp)
    csrr    t0, mepc
    sd      t0, TESTFW_FRAME_EPC(sp)
    csrr    t0, mstatus
    sd      t0, TESTFW_FRAME_STATUS(sp)
    csrr    t0, mcause
    sd      t0, TESTFW_FRAME_CAUSE(sp)
    csrr    t0, mtval
    sd      t0, TESTFW_FRAME_TVAL(sp)
    mv      a0, sp
    call    testfw_m_trap

    ld      t0, TESTFW_FRAME_EPC(sp)
    csrw    mepc, t0
    ld      t0, TESTFW_FRAME_STATUS(sp)
    csrw    mstatus, t0
    // Returning below M: the next trap from there needs this M-mode stack.
    srli    t0, t0, 11
    andi    t0, t0, 3
    li      t1, 3
    beq     t0, t1, 4f
    addi    t0, sp, TESTFW_FRAME_SIZE
    csrw    mscratch, t0
4:  ld      x1, TESTFW_FRAME_X(1)(sp)
    ld      x3, TESTFW_FRAME_X(3)(sp)
    ld      x4, TESTFW_FRAME_X(4)(sp)
    .irp n, 5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\n, TESTFW_FRAME_X(\n)(sp)
    .endr
    ld      sp, TESTFW_FRAME_X(2)(sp)
    mret

    // S-mode trap entry (stvec): S code always runs with a valid stack.
    .balign 4
    .globl testfw_s_trap_entry
testfw_s_trap_entry:
    addi    sp, sp, -TESTFW_FRAME_SIZE
    sd      x1, TESTFW_FRAME_X(1)(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, TESTFW_FRAME_X(\n)(sp)
    .endr
    addi    t0, sp, TESTFW_FRAME_SIZE
    sd      t0, TESTFW_FRAME_X(2)(sp)
    li      t0, -1
    sd      t0, TESTFW_FRAME_VECTOR(sp)
    csrr    t0, sepc
    sd      t0, TESTFW_FRAME_EPC(sp)
    csrr    t0, sstatus
    sd      t0, TESTFW_FRAME_STATUS(sp)
    csrr    t0, scause
    sd      t0, TESTFW_FRAME_CAUSE(sp)
    csrr    t0, stval
    sd      t0, TESTFW_FRAME_TVAL(sp)
    mv      a0, sp
    call    testfw_s_trap
    ld      t0, TESTFW_FRAME_EPC(sp)
    csrw    sepc, t0
    ld      t0, TESTFW_FRAME_STATUS(sp)
    csrw    sstatus, t0
    ld      x1, TESTFW_FRAME_X(1)(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\n, TESTFW_FRAME_X(\n)(sp)
    .endr
    ld      sp, TESTFW_FRAME_X(2)(sp)
    sret

    // u64 testfw_run_lower(u64 mpp, u64 entry, u64 arg, u64 stack_top):
    // calls entry(arg) in the mode mpp with the given stack; the run ends
    // when the code returns (into testfw_lower_return) or when an M-mode
    // handler calls testfw_resume_m(value).
    .balign 4
    .globl testfw_run_lower
testfw_run_lower:
    addi    sp, sp, -TESTFW_LOWER_CTX_SIZE
    sd      ra, 0(sp)
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11
    sd      s\n, (8 + 8 * \n)(sp)
    .endr
    csrr    t0, mstatus
    sd      t0, TESTFW_LOWER_CTX_MSTATUS(sp)
    sd      sp, TESTFW_HART_LOWER_SP(tp)
    li      t1, 3 << 11
    csrc    mstatus, t1
    slli    a0, a0, 11
    csrs    mstatus, a0
    csrw    mepc, a1
    mv      a0, a2
    mv      t0, sp
    mv      sp, a3
    la      ra, testfw_lower_return
    csrw    mscratch, t0
    mret

    .balign 4
    .globl testfw_lower_return
testfw_lower_return:
    li      a7, TESTFW_ECALL_EXIT
    ecall
5:  j       5b

    // [[noreturn]] void testfw_resume_m(u64 value): back in M-mode, return
    // `value` from the testfw_run_lower that started the current run.
    .balign 4
    .globl testfw_resume_m
testfw_resume_m:
    ld      sp, TESTFW_HART_LOWER_SP(tp)
    ld      t0, TESTFW_LOWER_CTX_MSTATUS(sp)
    csrw    mstatus, t0
    csrw    mscratch, zero
    ld      ra, 0(sp)
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11
    ld      s\n, (8 + 8 * \n)(sp)
    .endr
    addi    sp, sp, TESTFW_LOWER_CTX_SIZE
    ret

    // u64 testfw_wfi_until(const volatile u64* counter, u64 target, u64 limit):
    // wfi until *counter >= target, at most `limit` times; returns *counter.
    // An interrupt taken from the check up to and including the wfi resumes
    // at the check (testfw_m_trap and testfw_s_trap move epc back): its
    // handler may have advanced the counter, and the wfi would then wait for
    // an interrupt that has already come.
    .balign 4
    .globl testfw_wfi_until
    .globl testfw_wfi_until_wfi
testfw_wfi_until:
    ld      t0, 0(a0)
    bgeu    t0, a1, 1f
    beqz    a2, 1f
testfw_wfi_until_wfi:
    wfi
    addi    a2, a2, -1
    j       testfw_wfi_until
1:  mv      a0, t0
    ret
