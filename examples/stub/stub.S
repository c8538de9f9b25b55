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

/* Where the stub jumps: the firmware (stub.ld's FIRMWARE_BASE), or what
 * VFM_STUB_TARGET says (a monitor linked away from the -bios address). */
#ifndef VFM_STUB_TARGET
#define VFM_STUB_TARGET FIRMWARE_BASE
#endif
    .balign 8
firmware_entry:
    .dword  VFM_STUB_TARGET
