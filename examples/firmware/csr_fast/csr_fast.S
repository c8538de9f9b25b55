// SPDX-License-Identifier: MIT
// csr-fast's sweep: the CSR accesses the monitor's fast paths serve
// (vfm/virt/fast_csrs.hpp: reads, and swaps with csrrw), through every
// general register as rd and rs1, sp included, at whatever alignment the
// compressed instructions around them give (2 or 4 mod 4). Each probe stores
// what it reads in csr_fast_results; csr_fast.cpp prints and checks them.
// Nothing here may trap: the sweep runs with the trap CSRs (mscratch, mepc,
// mcause, mtval) and the registers holding test values.
#include "csr_fast.h"

// The address of slot (row, n) in x`base`.
.macro slot base, row, n
    la      x\base, csr_fast_results + ((\row) * 32 + (\n)) * CSR_FAST_SLOT_BYTES
.endm

// Read and write: a pattern written then read back, a second pattern swapped
// in (csrrw rd = rs1 = x`n`: the old value comes back), then read.
.macro rw_via csr, row, n, base
    li      x\n, CSR_FAST_FIRST(\row, \n)
    csrw    \csr, x\n
    li      x\n, 0
    csrr    x\n, \csr
    slot    \base, \row, \n
    sd      x\n, 0(x\base)
    li      x\n, CSR_FAST_SECOND(\row, \n)
    csrrw   x\n, \csr, x\n
    sd      x\n, 8(x\base)
    csrr    x\n, \csr
    sd      x\n, 16(x\base)
.endm

// mstatus: a read, a swap of the value read (nothing changes), a read.
.macro status_via csr, row, n, base
    csrr    x\n, \csr
    slot    \base, \row, \n
    sd      x\n, 0(x\base)
    csrr    x\n, \csr
    csrrw   x\n, \csr, x\n
    sd      x\n, 8(x\base)
    csrr    x\n, \csr
    sd      x\n, 16(x\base)
.endm

// A read-only CSR: three reads.
.macro read_via csr, row, n, base
    li      x\n, 0
    csrr    x\n, \csr
    slot    \base, \row, \n
    sd      x\n, 0(x\base)
    li      x\n, 1
    csrr    x\n, \csr
    sd      x\n, 8(x\base)
    csrr    x\n, \csr
    sd      x\n, 16(x\base)
.endm

// `kind` through every register but x0 and sp: the address register is s11
// (x27), or s10 for s11 itself.
.macro sweep kind, csr, row
    .irp n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .if \n == 27
    \kind\()_via \csr, \row, \n, 26
    .else
    \kind\()_via \csr, \row, \n, 27
    .endif
    .endr
.endm

// sp back from t0, and the three values (t1, t2, t3) to slot (row, sp).
.macro sp_results row
    mv      sp, t0
    slot    27, \row, 2
    sd      t1, 0(s11)
    sd      t2, 8(s11)
    sd      t3, 16(s11)
.endm

// The same three values through sp (x2), kept in t0 meanwhile.
.macro rw_sp csr, row
    mv      t0, sp
    li      sp, CSR_FAST_FIRST(\row, 2)
    csrw    \csr, sp
    li      sp, 0
    csrr    sp, \csr
    mv      t1, sp
    li      sp, CSR_FAST_SECOND(\row, 2)
    csrrw   sp, \csr, sp
    mv      t2, sp
    csrr    sp, \csr
    mv      t3, sp
    sp_results \row
.endm
.macro status_sp csr, row
    mv      t0, sp
    csrr    sp, \csr
    mv      t1, sp
    csrrw   sp, \csr, sp
    mv      t2, sp
    csrr    sp, \csr
    mv      t3, sp
    sp_results \row
.endm
.macro read_sp csr, row
    mv      t0, sp
    csrr    sp, \csr
    mv      t1, sp
    csrr    sp, \csr
    mv      t2, sp
    csrr    sp, \csr
    mv      t3, sp
    sp_results \row
.endm

    .text
    .balign 4
    // void csr_fast_sweep(u64 with_h): every row (mtinst and mtval2 only
    // when with_h is not zero). Saves and restores the registers the psABI
    // keeps, gp and tp; the CSRs are the caller's to restore.
    .globl csr_fast_sweep
csr_fast_sweep:
    addi    sp, sp, -128              // ra, gp, tp, s0-s11 at 0-112, with_h at 120
    sd      ra, 0(sp)
    sd      gp, 8(sp)
    sd      tp, 16(sp)
    sd      s0, 24(sp)
    sd      s1, 32(sp)
    .irp n, 18,19,20,21,22,23,24,25,26,27
    sd      x\n, (40 + 8 * (\n - 18))(sp)
    .endr
    sd      a0, 120(sp)

    sweep   rw, mscratch, CSR_FAST_ROW_MSCRATCH
    rw_sp   mscratch, CSR_FAST_ROW_MSCRATCH
    sweep   rw, mepc, CSR_FAST_ROW_MEPC
    rw_sp   mepc, CSR_FAST_ROW_MEPC
    sweep   rw, mcause, CSR_FAST_ROW_MCAUSE
    rw_sp   mcause, CSR_FAST_ROW_MCAUSE
    sweep   rw, mtval, CSR_FAST_ROW_MTVAL
    rw_sp   mtval, CSR_FAST_ROW_MTVAL
    ld      t0, 120(sp)
    bnez    t0, 2f                    // (clang's assembler does not widen a beqz past the H rows)
    j       1f
2:
    sweep   rw, 0x34a, CSR_FAST_ROW_MTINST
    rw_sp   0x34a, CSR_FAST_ROW_MTINST
    sweep   rw, 0x34b, CSR_FAST_ROW_MTVAL2
    rw_sp   0x34b, CSR_FAST_ROW_MTVAL2
1:
    sweep   status, mstatus, CSR_FAST_ROW_MSTATUS
    status_sp mstatus, CSR_FAST_ROW_MSTATUS
    sweep   read, misa, CSR_FAST_ROW_MISA
    read_sp misa, CSR_FAST_ROW_MISA

    // The trap handlers' idiom: sp and mscratch swapped, and back.
    li      t0, CSR_FAST_FIRST(CSR_FAST_ROW_SP_SWAP, 2)
    csrw    mscratch, t0
    mv      t1, sp
    csrrw   sp, mscratch, sp
    mv      t2, sp
    csrrw   sp, mscratch, sp
    csrr    t3, mscratch
    sub     t4, sp, t1
    slot    27, CSR_FAST_ROW_SP_SWAP, 2
    sd      t2, 0(s11)
    sd      t3, 8(s11)
    sd      t4, 16(s11)

    ld      ra, 0(sp)
    ld      gp, 8(sp)
    ld      tp, 16(sp)
    ld      s0, 24(sp)
    ld      s1, 32(sp)
    .irp n, 18,19,20,21,22,23,24,25,26,27
    ld      x\n, (40 + 8 * (\n - 18))(sp)
    .endr
    addi    sp, sp, 128
    ret

    .bss
    .balign 8
    .globl csr_fast_results
csr_fast_results:
    .zero CSR_FAST_ROWS * 32 * CSR_FAST_SLOT_BYTES
