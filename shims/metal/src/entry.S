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

/* ---- the trap vectors (direct mode), in three tiers (docs/metal.md):
 *   1. the firmware's csrr/csrrw on a CSR kept in the context, the rows of
 *      vfm/virt/fast_csrs.hpp (mscratch, mepc, mcause, mtval; the rest of
 *      0x340-0x34f through hart::fast_csrs; mstatus; misa reads): served
 *      here, with three temporaries saved (five for a write); runtime.hpp
 *      checks this code against the table (docs/fast-path.md);
 *   2. with the caller-saved registers saved, vfm_fast_trap (a C++ leaf, the
 *      monitor's fast path and its policies' fast hooks);
 *   3. with every register saved, vfm_handle_trap (the engine).
 * mtvec is vfm_firmware_trap_vector while the firmware runs (tier 1 first),
 * this hart's entry of vfm_os_trap_vectors while the OS runs and
 * vfm_trap_vector at boot: the backend switches it with the world
 * (hart_backend::world_switched).
 * From a guest mscratch holds the context; from the monitor itself it is 0. */
    .section .text.vfm_trap, "ax"

/* The OS's trap vectors, one 64-byte entry per hart. A trap from VS- or
 * VU-mode can arrive with mstatus.MPRV = 1 (QEMU 7.2 keeps vsstatus bit 17,
 * WPRI, and makes it MPRV while V = 1; docs/security.md), and then every load
 * and store of M-mode goes through the guest's translation and the PMP with
 * the guest's privilege: the monitor must clear MPRV before its first load or
 * store, with only sp free (csrrci reaches bits 0-4). Each hart has its own
 * entry: sp, swapped with mscratch, holds MPRV's bit for the csrc and then
 * the context again, found pc-relatively. */
#define VFM_MSTATUS_MPRV (1 << 17)
    .balign 64
    .globl vfm_os_trap_vectors
vfm_os_trap_vectors:
    .set .Los_hart, 0
    .rept VFM_MAX_HARTS
    .balign 64
    csrrw sp, mscratch, sp                /* sp = the context; mscratch = the OS's sp */
    bnez sp, 1f                           /* (a beqz may not reach past many harts' entries) */
    j .Lmonitor_trap
1:  lui sp, VFM_MSTATUS_MPRV >> 12
    csrc mstatus, sp                      /* before any load or store */
    lla sp, vfm_hart_blocks + .Los_hart * VFM_HART_STRIDE + VFM_CONTEXT_OFFSET
    SAVE(5)
    SAVE(28)
    SAVE(29)
    j .Ltier2
    .set .Los_hart, .Los_hart + 1
    .endr

    .balign 4
    .globl vfm_trap_vector
vfm_trap_vector:
    csrrw sp, mscratch, sp
    beqz sp, .Lmonitor_trap
    SAVE(5)
    SAVE(28)
    SAVE(29)

#if VFM_METAL_CSR_FAST_PATH
    j .Ltier2

    .balign 4
    .globl vfm_firmware_trap_vector
vfm_firmware_trap_vector:
    csrrw sp, mscratch, sp
    beqz sp, .Lmonitor_trap
    SAVE(5)
    SAVE(28)
    SAVE(29)

    /* Tier 1. t0 = the instruction, t3 = the CSR's old value, t4 = scratch.
     * Reads use no other register. Writes save t2 first (t2 = the CSR's
     * slot) and restore it before writing rd; t1 keeps the guest's value but
     * around a register-table read, where it is the link (saved in its slot
     * meanwhile). A path that gives up with t2 saved goes to .Ltier2_t2_saved. */
    csrr t0, mcause
    addi t0, t0, -2                       /* illegal instruction */
    bnez t0, .Ltier2
    /* The instruction is read where the firmware fetched it, never taken
     * from mtval (QEMU 7.2 leaves mtval stale for an HLV/HSV; a hart may
     * leave it zero): mepc is physical (the firmware runs with satp Bare) and
     * the hart has just fetched from it, so it is memory the firmware may
     * execute (docs/metal.md). One word when mepc is 4-byte aligned, else
     * two halves. */
    csrr t4, mepc
    andi t3, t4, 2
    bnez t3, .Ltier1_halves
    lwu t0, 0(t4)
.Ltier1_decode:
    lwu t4, VFM_CTX_CSR_READ_MASK(sp)
    and t4, t0, t4
    lwu t3, VFM_CTX_CSR_READ_BITS(sp)     /* csrrs rd, csr, x0: a read */
    beq t4, t3, .Lcsr_read
    andi t4, t0, 0x7f
    li t3, 0x73
    bne t4, t3, .Ltier2
    srli t4, t0, 12
    andi t4, t4, 7
    addi t4, t4, -1                       /* csrrw rd, csr, rs1: a swap */
    bnez t4, .Ltier2
    SAVE(7)
    srli t3, t0, 20
    addi t3, t3, -0x340
    sltiu t4, t3, 4                       /* mscratch, mepc, mcause, mtval: consecutive in the context */
    beqz t4, .Lcsr_write_table
    slli t2, t3, 3
    add t2, t2, sp
    addi t2, t2, VFM_CTX_MSCRATCH         /* t2 = &slot */
.Lcsr_write_slot:
    srli t4, t0, 12
    andi t4, t4, 0xf8                     /* rs1 * 8: an entry of the register table */
    SAVE(6)
1:  auipc t1, %pcrel_hi(.Lread_register)
    add t4, t4, t1
    jalr t1, %pcrel_lo(1b)(t4)            /* t4 = x[rs1] */
    LOAD(6)
    srli t3, t0, 20
    addi t3, t3, -0x341                   /* mepc keeps only its writable bits */
    bnez t3, 1f
    ld t3, VFM_CTX_MEPC_MASK(sp)
    and t4, t4, t3
1:  ld t3, 0(t2)
    sd t4, 0(t2)
    LOAD(7)
    j .Lwrite_rd

.Lcsr_write_table:                        /* mtval2, mtinst (by the table), mstatus */
    sltiu t4, t3, 16
    beqz t4, .Lcsr_write_3xx
    add t4, sp, t3
    lbu t2, VFM_CTX_FAST_CSRS(t4)
    beqz t2, .Ltier2_t2_saved
    slli t2, t2, 3
    add t2, t2, sp                        /* t2 = &slot */
    j .Lcsr_write_slot

.Lcsr_write_3xx:                          /* csrrw rd, mstatus, rs1 */
    addi t3, t3, 0x40
    bnez t3, .Ltier2_t2_saved
    ld t2, VFM_CTX_MSTATUS_FAST_WRITABLE(sp)
    beqz t2, .Ltier2_t2_saved
    srli t4, t0, 12
    andi t4, t4, 0xf8                     /* rs1 * 8: an entry of the register table */
    SAVE(6)
1:  auipc t1, %pcrel_hi(.Lread_register)
    add t4, t4, t1
    jalr t1, %pcrel_lo(1b)(t4)            /* t4 = the new value; t1 is scratch from here */
    csrr t3, mstatus                      /* t3 = the physical mstatus */
    ld t1, VFM_CTX_MSTATUS_PHYSICAL_WRITABLE(sp)
    xor t2, t3, t4
    and t2, t2, t1
    bnez t2, .Ltier2_t1_saved             /* supervisor fields change: the physical register too */
    ld t1, VFM_CTX_MSTATUS(sp)            /* t1 = the old virtual fields */
    xor t2, t1, t4
    andi t2, t2, 8
    bnez t2, .Ltier2_t1_saved             /* MIE changes: interrupts to re-evaluate */
    or t2, t1, t4
    srli t2, t2, 17
    andi t2, t2, 1
    bnez t2, .Ltier2_t1_saved             /* MPRV, before or after: the PMP view */
    srli t2, t4, 11
    andi t2, t2, 3
    addi t2, t2, -2
    beqz t2, .Ltier2_t1_saved             /* MPP = 2 is reserved: legalised by the engine */
    ld t2, VFM_CTX_MSTATUS_FAST_WRITABLE(sp)
    and t4, t4, t2
    sd t4, VFM_CTX_MSTATUS(sp)
    ld t2, VFM_CTX_MSTATUS_VIRTUAL(sp)    /* the old value: virtual fields over physical ones */
    xor t1, t1, t3
    and t1, t1, t2
    xor t3, t3, t1
    LOAD(6)
    LOAD(7)
    j .Lwrite_rd

.Lcsr_read_3xx:
    addi t3, t3, 0x40                     /* csr - 0x300 */
    beqz t3, .Lcsr_read_mstatus
    addi t3, t3, -1
    bnez t3, .Ltier2
    ld t3, VFM_CTX_MISA(sp)
    j .Lwrite_rd
.Lcsr_read_mstatus:
    /* The monitor's M-level fields over the physical supervisor fields:
     * t3 ^= (virtual ^ t3) & VFM_MSTATUS_VIRTUAL, with t0 borrowed for the
     * mask (rd is read back from the instruction afterwards). */
    csrr t3, mstatus
    ld t4, VFM_CTX_MSTATUS(sp)
    xor t4, t4, t3
    ld t0, VFM_CTX_MSTATUS_VIRTUAL(sp)
    and t4, t4, t0
    xor t3, t3, t4
    csrr t0, mepc                         /* rd again: the instruction's low half */
    lhu t0, 0(t0)
    j .Lwrite_rd

.Ltier1_halves:                           /* t4 = mepc, 2 mod 4 */
    lhu t0, 0(t4)
    lhu t3, 2(t4)
    slli t3, t3, 16
    or t0, t0, t3
    j .Ltier1_decode

.Lcsr_read_table:                         /* mtval2, mtinst: by the table */
    sltiu t4, t3, 16
    beqz t4, .Lcsr_read_3xx
    add t4, sp, t3
    lbu t4, VFM_CTX_FAST_CSRS(t4)
    beqz t4, .Ltier2
    slli t4, t4, 3
    add t4, t4, sp
    ld t3, 0(t4)
    j .Lwrite_rd

.Lcsr_read:
    srli t3, t0, 20
    addi t3, t3, -0x340
    sltiu t4, t3, 4                       /* mscratch, mepc, mcause, mtval: consecutive in the context */
    beqz t4, .Lcsr_read_table
    slli t3, t3, 3
    add t4, sp, t3
    ld t3, VFM_CTX_MSCRATCH(t4)           /* on into .Lwrite_rd */

.Lwrite_rd:                               /* x[rd] = t3, then past the instruction; t0 is free */
    srli t4, t0, 1
    andi t4, t4, 0x7c0                    /* rd * 64: an entry of .Lwrite_register */
1:  auipc t0, %pcrel_hi(.Lwrite_register)
    add t4, t4, t0
    jr %pcrel_lo(1b)(t4)

#else
    /* Without tier 1 both worlds use the one vector. */
    .globl vfm_firmware_trap_vector
    .set vfm_firmware_trap_vector, vfm_trap_vector
#endif /* VFM_METAL_CSR_FAST_PATH */

/* The registers tier 2 saves beyond t0, t3 and t4, and the guest's sp. */
#define SAVE_TIER2_REST \
    SAVE(1); SAVE(4); SAVE(10); SAVE(11); SAVE(12); SAVE(13); SAVE(14); SAVE(15); SAVE(16); SAVE(17); \
    SAVE(30); SAVE(31); \
    csrrw t0, mscratch, zero;             /* the guest's sp; mscratch = 0 while in the monitor */ \
    sd t0, VFM_GPR_OFFSET(2)(sp)

    /* Tier 2: the other caller-saved registers, tp and sp. */
.Ltier2:
    SAVE(7)
.Ltier2_t2_saved:
    SAVE(6)
.Ltier2_t1_saved:
    SAVE_TIER2_REST
    mv a0, sp
    call vfm_fast_trap                    /* a leaf: true when handled */
    bnez a0, .Lrestore_caller_saved

    /* Tier 3: every register. */
.Ltier3:
    SAVE(3)
    SAVE(8)
    SAVE(9)
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
    mv a0, sp
    call vfm_handle_trap
    mv a0, sp
    lbu t0, VFM_CTX_COUNTING(sp)
    beqz t0, vfm_resume

    /* The way back from a counting trap (virt::hide_monitor_work): for each
     * counter that moved, hidden += (now - at the trap) + lead + tail - retired,
     * where `lead` and `tail` are the instructions of this path before the
     * counter was read at the trap and after it is read here (through mret).
     * t2 = the instructions the monitor completed for the firmware. */
    sb zero, VFM_CTX_COUNTING(sp)
    lbu t2, VFM_CTX_RETIRED(sp)
    csrr t0, mcycle
    ld t1, VFM_CTX_AT_TRAP(sp)
    sub t1, t0, t1
    addi t1, t1, -VFM_COUNTING_LEAD_CYCLE
    beqz t1, 1f                           /* mcycle stood still (inhibited) */
    sub t1, t1, t2
    ld t0, VFM_CTX_HIDDEN(sp)
    add t0, t0, t1
    addi t0, t0, VFM_COUNTING_LEAD_CYCLE + VFM_COUNTING_TAIL_CYCLE
    sd t0, VFM_CTX_HIDDEN(sp)
1:  csrr t0, minstret
    ld t1, VFM_CTX_AT_TRAP + 8(sp)
    sub t1, t0, t1
    addi t1, t1, -VFM_COUNTING_LEAD_INSTRET
    beqz t1, vfm_resume                   /* minstret stood still */
    sub t1, t1, t2
    ld t0, VFM_CTX_HIDDEN + 8(sp)
    add t0, t0, t1
    addi t0, t0, VFM_COUNTING_LEAD_INSTRET + VFM_COUNTING_TAIL_INSTRET
    sd t0, VFM_CTX_HIDDEN + 8(sp)

/* vfm_resume(context): enter the guest described by the context. */
    .globl vfm_resume
vfm_resume:
    mv sp, a0
    LOAD(3)
    LOAD(8)
    LOAD(9)
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
.Lrestore_caller_saved:
    csrw mscratch, sp
    LOAD(1)
    LOAD(4)
    LOAD(5)
    LOAD(6)
    LOAD(7)
    LOAD(10)
    LOAD(11)
    LOAD(12)
    LOAD(13)
    LOAD(14)
    LOAD(15)
    LOAD(16)
    LOAD(17)
    LOAD(28)
    LOAD(29)
    LOAD(30)
    LOAD(31)
    LOAD(2)
    mret

#if VFM_METAL_CSR_FAST_PATH
/* Register tables of tier 1, one 8-byte entry per register. Reading: t4 = xN,
 * return through t1 (a write has saved t0-t4: they are read from the
 * context). Writing (.Lwrite_register, below): xN = t3, then the end of
 * tier 1, which restores t0, t3 and t4 from the context (t1 and t2 are the
 * guest's again by then). sp lives in mscratch. */
    .balign 8
.Lread_register:
    li t4, 0
    jr t1
    .irp n, 1
    mv t4, x\n
    jr t1
    .endr
    csrr t4, mscratch
    jr t1
    .irp n, 3, 4
    mv t4, x\n
    jr t1
    .endr
    .irp n, 5, 6, 7
    ld t4, VFM_GPR_OFFSET(\n)(sp)
    jr t1
    .endr
    .irp n, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27
    mv t4, x\n
    jr t1
    .endr
    .irp n, 28, 29
    ld t4, VFM_GPR_OFFSET(\n)(sp)
    jr t1
    .endr
    .irp n, 30, 31
    mv t4, x\n
    jr t1
    .endr

/* The end of tier 1, at the end of each entry of .Lwrite_register (a jump
 * to one shared copy would cost an instruction per emulated access): past
 * the instruction, t0, t3 and t4 back, sp back from mscratch. */
.macro TIER1_EXIT
    csrr t4, mepc
    addi t4, t4, 4
    csrw mepc, t4
    LOAD(5)
    LOAD(28)
    LOAD(29)
    csrrw sp, mscratch, sp
    mret
.endm

    .balign 64
.Lwrite_register:                         /* one 64-byte entry per register */
    TIER1_EXIT                            /* x0 */
    .balign 64
    mv x1, t3
    TIER1_EXIT
    .balign 64
    csrw mscratch, t3                     /* sp */
    TIER1_EXIT
    .irp n, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    .balign 64
    .if \n == 5 || \n == 28 || \n == 29    /* restored by TIER1_EXIT */
    sd t3, VFM_GPR_OFFSET(\n)(sp)
    .else                                 /* t1 and t2 are live at the exit of tier 1 */
    mv x\n, t3
    .endif
    TIER1_EXIT
    .endr
    .org .Lwrite_register + 32 * 64

#endif /* VFM_METAL_CSR_FAST_PATH */

/* The firmware's trap vector once it has touched a counter (virt::
 * virtual_counters): the hardware counters at the trap, less the instructions
 * of this vector before each read (the lead), then every register and the
 * engine; tier 1 is skipped, the way back after vfm_handle_trap accounts. */
    .balign 4
    .globl vfm_firmware_counting_trap_vector
vfm_firmware_counting_trap_vector:
    csrrw sp, mscratch, sp
    beqz sp, .Lmonitor_trap
    SAVE(5)
    csrr t0, mcycle
    addi t0, t0, -VFM_COUNTING_LEAD_CYCLE
    sd t0, VFM_CTX_AT_TRAP(sp)
    csrr t0, minstret
    addi t0, t0, -VFM_COUNTING_LEAD_INSTRET
    sd t0, VFM_CTX_AT_TRAP + 8(sp)
    li t0, 1
    sb t0, VFM_CTX_COUNTING(sp)
    SAVE(28)
    SAVE(29)
    SAVE(7)
    SAVE(6)
    SAVE_TIER2_REST
    j .Ltier3

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
    li t0, VFM_MSTATUS_MPRV               /* the panic's own accesses are the monitor's */
    csrc mstatus, t0
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
