// SPDX-License-Identifier: MIT
// Entry of every test firmware, on every hart: a0 = hart id, a1 = device
// tree, a2 = fw_dynamic_info, as QEMU's reset code (or the monitor) passes
// them. Each hart sets the direct trap vector, finds its region (hart_local
// block and M-mode stack), and then the boot hart (hart 0 unless the image
// header says otherwise) clears .bss and runs the test while the other harts
// wait for it before entering their work loop.
#include "testfw/layout.h"

    .section .text.entry, "ax", @progbits
    .globl _start
_start:
    // The image header (layout.h): a jump over it, a magic word, and the
    // id of the hart that runs the test. run_qemu.py --boot-hart patches a
    // copy of the image; on QEMU sifive_u that runs the suite on a U54
    // (hart 1) instead of the E51 (hart 0).
    .option push
    .option norvc
    j       .Lentry
    .option pop
    .ascii  TESTFW_HEADER_MAGIC
    .globl  testfw_boot_hart
testfw_boot_hart:
    .word   0
    .word   0
.Lentry:
    la      t0, testfw_trap_direct
    csrw    mtvec, t0
    csrw    mscratch, zero
    li      t0, TESTFW_MAX_HARTS
    bgeu    a0, t0, .Lpark
    la      tp, testfw_hart_regions
    slli    t0, a0, TESTFW_REGION_SHIFT
    add     tp, tp, t0
    li      t0, 1 << TESTFW_REGION_SHIFT
    add     sp, tp, t0
    lwu     t0, testfw_boot_hart
    bne     a0, t0, .Lsecondary

    // The boot hart: clear .bss (its own region included: nothing lives there yet).
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  sd      a0, TESTFW_HART_ID(tp)
    fence   rw, rw
    la      t0, testfw_boot_released
    li      t1, 1
    sw      t1, 0(t0)
    call    testfw_boot_primary
    j       .Lpark

.Lsecondary:
    la      t0, testfw_boot_released
3:  lw      t1, 0(t0)
    beqz    t1, 3b
    fence   rw, rw
    sd      a0, TESTFW_HART_ID(tp)
    call    testfw_boot_secondary

.Lpark:
    wfi
    j       .Lpark

    // In .data, not .bss: it must read 0 before hart 0 has cleared .bss.
    .section .data, "aw", @progbits
    .balign 4
    .globl testfw_boot_released
testfw_boot_released:
    .word   0

    .section .bss.regions, "aw", @nobits
    .balign 1 << TESTFW_REGION_SHIFT
    .globl testfw_hart_regions
testfw_hart_regions:
    .space  TESTFW_MAX_HARTS << TESTFW_REGION_SHIFT
