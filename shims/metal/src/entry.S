/* SPDX-License-Identifier: MIT */
/* Boot code for every hart, the trap vector and the world entry of the metal
 * backend (docs/metal.md). The only assembly of vfm. */
#include <vfm/metal/layout.h>

#define SAVE(n) sd x##n, VFM_GPR_OFFSET(n)(sp)
#define LOAD(n) ld x##n, VFM_GPR_OFFSET(n)(sp)

    .option norvc

/* ---- boot: QEMU (or the previous stage) starts every hart here with
 *      a0 = mhartid, a1 = device tree, a2 = fw_dynamic_info. */
    .section .text.entry, "ax"
    .globl _start
_start:
    csrw mie, zero
    csrw mscratch, zero
    la t0, vfm_trap_vector
    csrw mtvec, t0
    li t0, VFM_MAX_HARTS
    bgeu a0, t0, .Lpark

    /* sp = this hart's context; its stack grows down from there. */
    la sp, vfm_hart_blocks
    li t0, VFM_HART_STRIDE
    mul t0, t0, a0
    add sp, sp, t0
    li t0, VFM_CONTEXT_OFFSET
    add sp, sp, t0

    /* The first hart to arrive clears .bss, paints the stacks and initialises
     * the board; the others wait, touching nothing but vfm_boot_ready (.data). */
    la t0, vfm_boot_lottery
    li t1, 1
    amoadd.w t1, t1, (t0)
    bnez t1, .Lsecondary

    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:
    /* Paint every stack so the deepest use can be measured later. */
    la t0, vfm_hart_blocks
    li t2, VFM_MAX_HARTS
    li t3, VFM_STACK_PAINT
3:  li t4, VFM_CONTEXT_OFFSET
    add t4, t4, t0
    mv t5, t0
4:  bgeu t5, t4, 5f
    sd t3, 0(t5)
    addi t5, t5, 8
    j 4b
5:  li t4, VFM_HART_STRIDE
    add t0, t0, t4
    addi t2, t2, -1
    bnez t2, 3b

    li a3, 1
    call vfm_main                 /* does not return */
    j .Lpark

.Lsecondary:
    la t0, vfm_boot_ready
6:  lw t1, 0(t0)
    beqz t1, 6b
    fence r, rw
    li a3, 0
    call vfm_main                 /* does not return */

.Lpark:
    wfi
    j .Lpark

/* ---- the trap vector (direct mode). From a guest, mscratch holds the
 *      context: save every register there, call the monitor, restore, mret.
 *      From the monitor itself mscratch is 0. */
    .section .text.vfm_trap, "ax"
    .balign 4
    .globl vfm_trap_vector
vfm_trap_vector:
    csrrw sp, mscratch, sp
    beqz sp, .Lmonitor_trap
    SAVE(1)
    SAVE(3)
    SAVE(4)
    SAVE(5)
    SAVE(6)
    SAVE(7)
    SAVE(8)
    SAVE(9)
    SAVE(10)
    SAVE(11)
    SAVE(12)
    SAVE(13)
    SAVE(14)
    SAVE(15)
    SAVE(16)
    SAVE(17)
    SAVE(18)
    SAVE(19)
    SAVE(20)
    SAVE(21)
    SAVE(22)
    SAVE(23)
    SAVE(24)
    SAVE(25)
    SAVE(26)
    SAVE(27)
    SAVE(28)
    SAVE(29)
    SAVE(30)
    SAVE(31)
    csrrw t0, mscratch, zero      /* the guest's sp; mscratch = 0 while in the monitor */
    sd t0, VFM_GPR_OFFSET(2)(sp)
    mv a0, sp
    call vfm_fast_trap            /* the hot path, a leaf: true when handled */
    bnez a0, 1f
    mv a0, sp
    call vfm_handle_trap          /* everything else */
1:  mv a0, sp

/* vfm_resume(context): enter the guest described by the context. */
    .globl vfm_resume
vfm_resume:
    mv sp, a0
    csrw mscratch, sp
    LOAD(1)
    LOAD(3)
    LOAD(4)
    LOAD(5)
    LOAD(6)
    LOAD(7)
    LOAD(8)
    LOAD(9)
    LOAD(10)
    LOAD(11)
    LOAD(12)
    LOAD(13)
    LOAD(14)
    LOAD(15)
    LOAD(16)
    LOAD(17)
    LOAD(18)
    LOAD(19)
    LOAD(20)
    LOAD(21)
    LOAD(22)
    LOAD(23)
    LOAD(24)
    LOAD(25)
    LOAD(26)
    LOAD(27)
    LOAD(28)
    LOAD(29)
    LOAD(30)
    LOAD(31)
    LOAD(2)
    mret

/* A trap taken by the monitor itself. Inside the guarded range (probes of
 * CSRs, accesses on behalf of a guest) it is expected: skip the 4-byte
 * instruction and report mcause in t0 and mtval in t1. Anywhere else it is
 * a bug: panic with the trap's details. */
.Lmonitor_trap:
    csrrw sp, mscratch, sp
    csrr t0, mepc
    la t1, __vfm_guarded_start
    bltu t0, t1, .Lunexpected
    la t1, __vfm_guarded_end
    bgeu t0, t1, .Lunexpected
    addi t0, t0, 4
    csrw mepc, t0
    csrr t0, mcause
    csrr t1, mtval
    mret
.Lunexpected:
    csrr a0, mcause
    csrr a1, mepc
    csrr a2, mtval
    call vfm_monitor_fault        /* does not return */
    j .Lpark

    .section .data.vfm_boot, "aw"
    .balign 4
    .globl vfm_boot_lottery
vfm_boot_lottery:
    .word 0
    .globl vfm_boot_ready
vfm_boot_ready:
    .word 0
