/* SPDX-License-Identifier: MIT */
/* The tutorial's firmware (docs/embedding.md): installs its trap handler,
 * calls itself with ecall, then hands over to an "OS" in S-mode, which makes
 * one SBI call (forwarded by the monitor to this firmware) and stops.
 * Position independent, 32-bit instructions only:
 *   riscv64-unknown-elf-gcc -march=rv64i_zicsr -mabi=lp64 -nostdlib -Wl,-Ttext=0x80100000 \
 *       firmware.S -o firmware.elf && riscv64-unknown-elf-objcopy -O binary firmware.elf firmware.bin */
    .option norvc
    .text
    .globl _start
_start:
    lla   t1, handler             /* auipc + addi: position independent */
    csrw  mtvec, t1               /* trap: illegal instruction, emulated */
    ecall                         /* trap: ecall from vM-mode, delivered to handler */
    lla   t1, os
    csrw  mepc, t1
    li    t1, 0x1800              /* mstatus.MPP */
    csrc  mstatus, t1
    li    t1, 0x800               /* MPP = S */
    csrs  mstatus, t1
    mret                          /* world switch: the OS runs in S-mode */

handler:                          /* returns after the instruction that trapped */
    csrr  t2, mcause
    csrr  t3, mepc
    addi  t3, t3, 4
    csrw  mepc, t3
    mret

os:
    li    a7, 0x10                /* SBI base extension */
    li    a6, 0                   /* sbi_get_spec_version */
    ecall                         /* from S-mode: forwarded to the firmware's handler */
    j     .                       /* the end: the host program stops at a jump to itself */
