// SPDX-License-Identifier: MIT
// The native jump stub: QEMU's reset code starts every hart at the -bios
// image with a0 = hart id, a1 = device tree, a2 = fw_dynamic_info. The stub
// jumps to the test firmware at FIRMWARE_BASE (from stub.ld) and touches
// nothing else, so the firmware starts exactly as it would as the -bios image
// itself, only at a different address.

    .option norvc
    .section .text.entry, "ax", @progbits
    .globl _start
_start:
1:  auipc   t0, %pcrel_hi(firmware_entry)
    ld      t0, %pcrel_lo(1b)(t0)
    jr      t0

    .balign 8
firmware_entry:
    .dword  FIRMWARE_BASE
