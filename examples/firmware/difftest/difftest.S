// SPDX-License-Identifier: MIT
// The difftest interpreter's machine code (docs/difftest.md): the M-mode trap
// entry, the way into one step in M, S or U-mode and back, and the block of
// pages the lower modes run in (S code, S data, U code), whose instruction
// slots difftest.cpp writes before each step.
//
// Invariants a step cannot break (difftest.cpp keeps them): mscratch holds
// the top of the trap stack, mtvec and stvec point at the tables below, gp
// holds dt_s_data in S- and U-mode, medeleg never delegates an ecall from S.
#include "difftest.h"

    .option norvc

// ---- M-mode: trap entry ---------------------------------------------------
    .section .text.dt_m, "awx", @progbits
    .balign 256
    .globl dt_m_vectors
dt_m_vectors:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    j       .Ldt_m_slot\n
    .endr
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
.Ldt_m_slot\n:
    csrrw   sp, mscratch, sp
    addi    sp, sp, -DT_FRAME_SIZE
    sd      t0, DT_FRAME_X(5)(sp)
    li      t0, \n
    j       .Ldt_m_common
    .endr

.Ldt_m_common:
    sd      t0, DT_FRAME_VECTOR(sp)
    sd      x1, DT_FRAME_X(1)(sp)
    .irp n, 3,4,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, DT_FRAME_X(\n)(sp)
    .endr
    csrr    t0, mscratch
    sd      t0, DT_FRAME_X(2)(sp)
    addi    t0, sp, DT_FRAME_SIZE
    csrw    mscratch, t0
    csrr    t0, mepc
    sd      t0, DT_FRAME_EPC(sp)
    csrr    t0, mstatus
    sd      t0, DT_FRAME_STATUS(sp)
    csrr    t0, mcause
    sd      t0, DT_FRAME_CAUSE(sp)
    csrr    t0, mtval
    sd      t0, DT_FRAME_TVAL(sp)
    // The interpreter's own gp and tp (the step's are whatever it set).
    la      t0, dt_context
    ld      gp, DT_HOST(2)(t0)
    ld      tp, DT_HOST(3)(t0)
    mv      a0, sp
    call    dt_m_trap
    bnez    a0, dt_return_to_host
    ld      t0, DT_FRAME_EPC(sp)
    csrw    mepc, t0
    ld      t0, DT_FRAME_STATUS(sp)
    csrw    mstatus, t0
    ld      x1, DT_FRAME_X(1)(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\n, DT_FRAME_X(\n)(sp)
    .endr
    ld      sp, DT_FRAME_X(2)(sp)
    mret

// ---- the way into a step and back ------------------------------------------
.macro SAVE_HOST
    la      t0, dt_context
    sd      ra, DT_HOST(0)(t0)
    sd      sp, DT_HOST(1)(t0)
    sd      gp, DT_HOST(2)(t0)
    sd      tp, DT_HOST(3)(t0)
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11
    sd      s\n, DT_HOST(4 + \n)(t0)
    .endr
.endm

.macro LOAD_STEP_REGISTERS
    la      t6, dt_context
    .irp n, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30
    ld      x\n, DT_IN(\n)(t6)
    .endr
    ld      t6, DT_IN(31)(t6)
.endm

    // void dt_run_m(): runs the M-mode buffer with the step's registers;
    // t6 holds the program's mstatus.MIE/MPRV, restored by the buffer's
    // first instruction (the interpreter runs with both clear).
    .balign 4
    .globl dt_run_m
dt_run_m:
    SAVE_HOST
    LOAD_STEP_REGISTERS
    j       dt_m_buffer

    // void dt_run_lower(): mret into the step (mepc, mstatus.MPP/MPV set).
    .balign 4
    .globl dt_run_lower
dt_run_lower:
    SAVE_HOST
    LOAD_STEP_REGISTERS
    mret

    // The M-mode step's code, on a page of its own (written before each step).
    .section .text.dt_m_step, "awx", @progbits
    .balign 4096
    .globl dt_m_buffer
    .globl dt_m_slots
dt_m_buffer:
    csrs    mstatus, t6
dt_m_slots:
    nop
    nop
    j       .Ldt_m_back

    // An M-mode step's end: MPRV (which may now translate M-mode's loads and
    // stores) and MIE go first, with sp as the only register free.
.Ldt_m_back:
    csrrw   sp, mscratch, sp     // mscratch = the step's sp
    lui     sp, 0x20             // mstatus.MPRV
    csrrc   sp, mstatus, sp
    csrci   mstatus, 8           // mstatus.MIE
    csrrw   sp, mscratch, sp     // mscratch = mstatus as the step left it
    la      sp, dt_context
    sd      x1, DT_OUT(1)(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, DT_OUT(\n)(sp)
    .endr
    csrr    t0, mscratch
    sd      t0, DT_MSTATUS_OUT(sp)
    li      t0, DT_END_M_RETURN
    sd      t0, DT_END(sp)
    la      t0, dt_trap_stack_top
    csrw    mscratch, t0
    // fall through

    .globl dt_return_to_host
dt_return_to_host:
    la      t0, dt_context
    ld      ra, DT_HOST(0)(t0)
    ld      sp, DT_HOST(1)(t0)
    ld      gp, DT_HOST(2)(t0)
    ld      tp, DT_HOST(3)(t0)
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11
    ld      s\n, DT_HOST(4 + \n)(t0)
    .endr
    ret

    // An M-mode step that mret-s lands here (MPP = M).
    .balign 4
    .globl dt_m_landing
dt_m_landing:
    ecall
1:  j       1b

    // u64 dt_csr_readers[i](): reads dump CSR i (difftest.h), 8 bytes each.
    .balign 8
    .globl dt_csr_readers
dt_csr_readers:
#define DT_READER(number, name) csrr a0, number; ret;
    DT_DUMP_CSRS(DT_READER)
#undef DT_READER

    // u64 dt_csr_writers[i](u64 value): csrrw of dump CSR i, 8 bytes each.
    .balign 8
    .globl dt_csr_writers
dt_csr_writers:
#define DT_WRITER(number, name) csrrw a0, number, a0; ret;
    DT_DUMP_CSRS(DT_WRITER)
#undef DT_WRITER

    // u64 dt_exec(u64 a0, u64 a1): one instruction the interpreter writes
    // into dt_exec_slot (a CSR access of a number known only at run time),
    // on a page of its own: QEMU retranslates the code of a page written to.
    .section .text.dt_exec, "awx", @progbits
    .balign 4096
    .globl dt_exec
    .globl dt_exec_slot
dt_exec:
dt_exec_slot:
    nop
    ret

// ---- the lower modes' block: S code, S data, U code (16 KiB aligned) -------
    .section .text.dt_block, "awx", @progbits
    .balign 16384
    .globl dt_block
dt_block:
    // stvec: slot 0 is the direct entry and the exceptions' vectored entry.
    .globl dt_s_vectors
dt_s_vectors:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    j       .Ldt_s_slot\n
    .endr
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
.Ldt_s_slot\n:
    sd      t0, DT_S_T0(gp)
    li      t0, \n
    j       .Ldt_s_common
    .endr
    // Records the trap and leaves for M-mode with every register as the trap
    // found it.
.Ldt_s_common:
    sd      t0, DT_S_VECTOR(gp)
    csrr    t0, scause
    sd      t0, DT_S_CAUSE(gp)
    csrr    t0, sepc
    sd      t0, DT_S_EPC(gp)
    csrr    t0, stval
    sd      t0, DT_S_TVAL(gp)
    csrr    t0, sstatus
    sd      t0, DT_S_STATUS(gp)
    ld      t0, DT_S_COUNT(gp)
    addi    t0, t0, 1
    sd      t0, DT_S_COUNT(gp)
    ld      t0, DT_S_T0(gp)
    .globl dt_s_handler_exit
dt_s_handler_exit:
    ecall
1:  j       1b

    .balign 64
    .globl dt_s_slots
dt_s_slots:
    nop
    nop
    .globl dt_s_exit
dt_s_exit:
    ecall
1:  j       1b

    .balign 4096
    .globl dt_s_data
dt_s_data:
    .space  4096

    .globl dt_u_page
dt_u_page:
    .globl dt_u_slots
dt_u_slots:
    nop
    nop
    .globl dt_u_exit
dt_u_exit:
    ecall
1:  j       1b
    .balign 4096

// ---- the trap stack ----------------------------------------------------------
    .section .bss, "aw", @nobits
    .balign 16
    .space  16384
    .globl dt_trap_stack_top
dt_trap_stack_top:
