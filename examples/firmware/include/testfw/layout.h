// SPDX-License-Identifier: MIT
/* Memory and context layout shared by the support library's assembly and its
 * C++ (which pins every offset with static_assert in trap.hpp). Only
 * preprocessor definitions here, so that both languages can include it. */
#ifndef TESTFW_LAYOUT_H
#define TESTFW_LAYOUT_H

/* Where every test firmware is linked and loaded (the stub or the monitor
 * jumps there). */
#define TESTFW_BASE 0x80100000

/* The image header at TESTFW_BASE (lib/start.S): a 4-byte jump, the magic
 * at +4, the boot hart's id (a 32-bit word) at +8: the hart that clears
 * .bss and runs the test; 0 in the built image. */
#define TESTFW_HEADER_MAGIC "vfmT"
#define TESTFW_HEADER_BOOT_HART 8

/* Harts the library supports; harts with a larger id park in wfi. */
#define TESTFW_MAX_HARTS 8

/* Each hart owns a naturally aligned region of 2^TESTFW_REGION_SHIFT bytes:
 * its hart_local block at the bottom, its M-mode stack growing down from the
 * top. The trap entry finds the block again by aligning sp down. */
#define TESTFW_REGION_SHIFT 15
/* Each hart's stack for the code it runs in S- or U-mode. */
#define TESTFW_LOWER_STACK_SHIFT 14

/* The trap frame: x0..x31 (x0 unused), then the trap CSRs of the mode that
 * took the trap (mepc/sepc, mstatus/sstatus, mcause/scause, mtval/stval),
 * the vector slot (-1 for the direct entry) and padding to 16 bytes. */
#define TESTFW_FRAME_X(n) ((n) * 8)
#define TESTFW_FRAME_EPC (32 * 8)
#define TESTFW_FRAME_STATUS (33 * 8)
#define TESTFW_FRAME_CAUSE (34 * 8)
#define TESTFW_FRAME_TVAL (35 * 8)
#define TESTFW_FRAME_VECTOR (36 * 8)
#define TESTFW_FRAME_SIZE (38 * 8)

/* Offsets in struct hart_local used by the assembly. */
#define TESTFW_HART_ID 0
#define TESTFW_HART_LOWER_SP 8

/* Saved M-mode context of testfw_run_lower: ra, s0..s11, mstatus. */
#define TESTFW_LOWER_CTX_SIZE (14 * 8)
#define TESTFW_LOWER_CTX_MSTATUS (13 * 8)

/* a7 of the ecall that ends a run in S- or U-mode (a0 = result). */
#define TESTFW_ECALL_EXIT 0x7e57e817

#endif
