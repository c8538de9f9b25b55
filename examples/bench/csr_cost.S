/* SPDX-License-Identifier: MIT */
/* Benchmark firmware (M-mode, at 0x80100000): the instructions one CSR
 * access costs, measured with the `time` CSR around 100,000 accesses of each
 * kind. Run under -icount shift=0 natively and under the monitor: one
 * instruction is then one nanosecond, so a tick of virt's 10 MHz timer is 100
 * instructions (minstret would not do: the firmware's own counters leave the
 * monitor's work out, docs/virtual-hart.md). The difference divided by the
 * iterations, plus the access itself, is what the monitor executes per
 * emulated access (./vfm bench csr). Prints "<name> <time delta>". */
    .option norvc
    .section .text.start, "ax"
    .globl _start
_start:
    bnez a0, park                 /* hart 0 only */
    li sp, 0x80180000

    la a0, name_read
    la a1, loop_read
    call measure
    la a0, name_write
    la a1, loop_write
    call measure
    la a0, name_mstatus
    la a1, loop_mstatus
    call measure
    la a0, name_empty
    la a1, loop_empty
    call measure

    li t0, 0x100000               /* test finisher: pass */
    li t1, 0x5555
    sw t1, 0(t0)
park:
    wfi
    j park

/* measure(a0 = name, a1 = loop): prints the name and `time` around the loop. */
measure:
    addi sp, sp, -32
    sd ra, 0(sp)
    sd s0, 8(sp)
    sd s1, 16(sp)
    mv s0, a0
    csrr s1, time
    jalr a1
    csrr t0, time
    sub s1, t0, s1
    mv a0, s0
    call print_string
    mv a0, s1
    call print_decimal
    li a0, '\n'
    call print_char
    ld ra, 0(sp)
    ld s0, 8(sp)
    ld s1, 16(sp)
    addi sp, sp, 32
    ret

.macro LOOP label, insn:vararg
\label:
    li t1, 100000
1:  \insn
    addi t1, t1, -1
    bnez t1, 1b
    ret
.endm

    LOOP loop_read, csrr t0, mscratch
    LOOP loop_write, csrw mscratch, t1
    LOOP loop_mstatus, csrr t0, mstatus
    LOOP loop_empty, nop

#include "print.inc"

    .section .rodata
name_read:    .asciz "csr-read-mscratch "
name_write:   .asciz "csr-write-mscratch "
name_mstatus: .asciz "csr-read-mstatus "
name_empty:   .asciz "loop-nop "
