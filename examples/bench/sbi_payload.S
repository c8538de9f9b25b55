/* SPDX-License-Identifier: MIT */
/* S-mode benchmark payload (linked at 0x80200000, loaded with -kernel):
 * the firmware (OpenSBI fw_dynamic) jumps here in S-mode with a0 = hart id,
 * a1 = device tree. Measures with rdinstret the round trip of
 *
 *   sbi-set-timer         SBI TIME set_timer (EID 0x54494D45, FID 0), far future
 *   sbi-get-spec-version  SBI base get_spec_version (EID 0x10, FID 0): no policy
 *                         answers it, under the monitor it goes to the firmware
 *   rdtime                a read of the time CSR (traps only where the monitor
 *                         makes it trap)
 *   loop-empty            the same loop without an operation
 *
 * 1000 iterations each. Every loop body is `mv a0, s1` followed by the
 * operation, so (delta - loop-empty delta) / 1000 is the operation's round
 * trip as S-mode sees it. Under ./vfm bench micro, run with -icount shift=0:
 * instret counts every instruction the hart executes, in any mode.
 *
 * Prints on the 16550 UART at 0x10000000 (writable from S-mode):
 *   sbi-spec-version <value> / sbi-impl-id <id> / sbi-impl-version <v>
 *   sbi-probe-time <0|1> / sbi-probe-srst <0|1>
 *   <name> <instret delta over 1000 iterations>   (one line per loop)
 *   bench done
 * then powers off with SBI SRST (EID 0x53525354 FID 0, type 0 shutdown),
 * falling back to QEMU's test finisher. */
    .option norvc
    .equ ITERATIONS, 1000
    .equ EID_BASE, 0x10
    .equ EID_TIME, 0x54494D45
    .equ EID_SRST, 0x53525354

    .section .text.start, "ax"
    .globl _start
_start:
    csrw    sie, zero
    csrci   sstatus, 2            /* SIE = 0: nothing interrupts the loops */
    la      sp, stack_top

    /* Who answers: informational lines. */
    la      a0, name_spec
    li      a6, 0
    call    base_call
    la      a0, name_impl_id
    li      a6, 1
    call    base_call
    la      a0, name_impl_version
    li      a6, 2
    call    base_call
    la      a0, name_probe_time
    li      a6, 3
    li      a2, EID_TIME
    call    base_call
    la      a0, name_probe_srst
    li      a6, 3
    li      a2, EID_SRST
    call    base_call

    la      a0, name_set_timer
    la      a1, loop_set_timer
    call    measure
    la      a0, name_spec_version
    la      a1, loop_spec_version
    call    measure
    la      a0, name_rdtime
    la      a1, loop_rdtime
    call    measure
    la      a0, name_empty
    la      a1, loop_empty
    call    measure

    la      a0, name_done
    call    print_string

    li      a7, EID_SRST          /* system_reset(shutdown, no reason) */
    li      a6, 0
    li      a0, 0
    li      a1, 0
    ecall
    li      t0, 0x100000          /* no SRST: QEMU's test finisher, pass */
    li      t1, 0x5555
    sw      t1, 0(t0)
1:  wfi
    j       1b

/* base_call(a0 = name, a6 = FID, a2 = argument): prints "<name><a1 of the call>\n". */
base_call:
    addi    sp, sp, -16
    sd      ra, 0(sp)
    sd      s0, 8(sp)
    mv      s0, a0
    mv      a0, a2
    li      a7, EID_BASE
    ecall
    mv      a0, s0
    mv      s0, a1
    call    print_string
    mv      a0, s0
    call    print_decimal
    li      a0, '\n'
    call    print_char
    ld      ra, 0(sp)
    ld      s0, 8(sp)
    addi    sp, sp, 16
    ret

/* measure(a0 = name, a1 = loop): prints the name and instret around the loop. */
measure:
    addi    sp, sp, -32
    sd      ra, 0(sp)
    sd      s0, 8(sp)
    sd      s2, 16(sp)
    mv      s0, a0
    rdinstret s2
    jalr    a1
    rdinstret t0
    sub     s2, t0, s2
    mv      a0, s0
    call    print_string
    mv      a0, s2
    call    print_decimal
    li      a0, '\n'
    call    print_char
    ld      ra, 0(sp)
    ld      s0, 8(sp)
    ld      s2, 16(sp)
    addi    sp, sp, 32
    ret

/* LOOP label, a7, a6, s1, operation: 1000 x { mv a0, s1; operation }.
 * SBI calls preserve every register but a0 and a1. */
.macro LOOP label, eid, fid, arg, insn:vararg
\label:
    addi    sp, sp, -16
    sd      s1, 0(sp)
    li      a7, \eid
    li      a6, \fid
    li      s1, \arg
    li      t1, ITERATIONS
1:  mv      a0, s1
    \insn
    addi    t1, t1, -1
    bnez    t1, 1b
    ld      s1, 0(sp)
    addi    sp, sp, 16
    ret
.endm

    LOOP    loop_set_timer, EID_TIME, 0, -1, ecall
    LOOP    loop_spec_version, EID_BASE, 0, 0, ecall
    LOOP    loop_rdtime, 0, 0, 0, rdtime t0
    LOOP    loop_empty, 0, 0, 0

#include "print.inc"

    .section .rodata
name_spec:          .asciz "sbi-spec-version "
name_impl_id:       .asciz "sbi-impl-id "
name_impl_version:  .asciz "sbi-impl-version "
name_probe_time:    .asciz "sbi-probe-time "
name_probe_srst:    .asciz "sbi-probe-srst "
name_set_timer:     .asciz "sbi-set-timer "
name_spec_version:  .asciz "sbi-get-spec-version "
name_rdtime:        .asciz "rdtime "
name_empty:         .asciz "loop-empty "
name_done:          .asciz "bench done\n"

    .section .bss
    .balign 16
stack:  .space 4096
stack_top:
