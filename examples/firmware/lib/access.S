// SPDX-License-Identifier: MIT
// The access executor of testfw/access.hpp: runs a short instruction
// sequence, assembled at run time into a slot of RAM, with mstatus (MPRV,
// MPP, SUM, MXR, ...) switched for exactly that sequence.
//
// Registers the sequence sees: a0 = first sentinel (the result), a1 = the
// address, a2 = the value, t3 = second sentinel (a second result), t1 free
// (the sp-based forms keep sp there). It ends with `ret`.
//
// While the sequence runs with sp pointing at the attacked address (the
// sp-based compressed forms), mscratch holds this stack, so that a trap taken
// in between enters the library's handler on a valid stack (trap.S treats a
// nonzero mscratch as "the M-mode stack to switch to").
#include "testfw/layout.h"

    .section .text.access, "ax", @progbits
    .balign 4
    .globl testfw_access_run
    // void testfw_access_run(access_context* c), offsets in access.hpp
testfw_access_run:
    addi    sp, sp, -32
    sd      ra, 0(sp)
    sd      s0, 8(sp)
    sd      s1, 16(sp)
    mv      s0, a0
    csrr    s1, mstatus
    ld      a1, 0(s0)       // address
    ld      a2, 8(s0)       // value
    ld      a3, 16(s0)      // mstatus for the sequence
    ld      t0, 24(s0)      // the slot
    ld      a4, 32(s0)      // nonzero: the sequence moves sp
    ld      a0, 40(s0)      // first sentinel
    ld      t3, 48(s0)      // second sentinel
    beqz    a4, 1f
    mv      a4, sp
1:  csrw    mscratch, a4
    csrw    mstatus, a3
    jalr    ra, 0(t0)
    csrw    mstatus, s1
    csrw    mscratch, zero
    sd      a0, 40(s0)
    sd      t3, 48(s0)
    ld      ra, 0(sp)
    ld      s0, 8(sp)
    ld      s1, 16(sp)
    addi    sp, sp, 32
    ret
