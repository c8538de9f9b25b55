/* SPDX-License-Identifier: MIT */
/* A tiny static Linux riscv64 program (no C library): reads the `time` CSR
 * from user space and prints "time <value>\n" in decimal, then exits 0.
 *
 * `./vfm bench boot` appends it to the initramfs as /vfm/rdtime and runs it
 * as the --exec command, right after the init's "vfm: user space reached".
 * Under -icount shift=0 QEMU virt's mtime (10 MHz) counts virtual
 * nanoseconds / 100, i.e. guest instructions / 100 since reset, so the value
 * times 100 is the guest's instructions (and idle time) from reset to here.
 *
 * Linux syscalls: write = 64, exit = 93. */
    .section .text, "ax"
    .globl _start
_start:
    rdtime  s0                    /* first: as close to the marker as possible */

    /* Digits backwards from the end of buf, "\n" last. */
    la      s1, buf_end
    li      t0, '\n'
    addi    s1, s1, -1
    sb      t0, 0(s1)
    li      t2, 10
1:  remu    t3, s0, t2
    divu    s0, s0, t2
    addi    t3, t3, '0'
    addi    s1, s1, -1
    sb      t3, 0(s1)
    bnez    s0, 1b
    /* The prefix. */
    la      t4, prefix_end
    la      t5, prefix
2:  addi    t4, t4, -1
    lbu     t3, 0(t4)
    addi    s1, s1, -1
    sb      t3, 0(s1)
    bne     t4, t5, 2b

    li      a0, 1                 /* write(1, s1, buf_end - s1) */
    mv      a1, s1
    la      a2, buf_end
    sub     a2, a2, s1
    li      a7, 64
    ecall
    li      a0, 0                 /* exit(0) */
    li      a7, 93
    ecall
3:  j       3b

    .section .rodata
prefix:     .ascii "time "
prefix_end:

    .section .bss
    .balign 8
buf:        .space 48
buf_end:
