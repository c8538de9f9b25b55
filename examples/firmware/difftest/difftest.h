/* SPDX-License-Identifier: MIT */
/* The difftest interpreter's layout, shared by difftest.S and difftest.cpp
 * (which pins every offset with static_assert). docs/difftest.md. */
#ifndef VFM_DIFFTEST_H
#define VFM_DIFFTEST_H

/* Where the driver loads the programs (-device loader) and where each
 * program's memory arena (page tables and data pages) lives. */
#define DT_BLOB 0x81000000
#define DT_BLOB_MAX 0x04000000
#define DT_ARENA 0x80400000
#define DT_ARENA_PAGES 16
#define DT_SV39_ROOT_PAGE 0
#define DT_SV48_ROOT_PAGE 6

/* struct dt_context: the interpreter's registers while a step runs, the
 * step's registers in and out. */
#define DT_HOST(n) ((n) * 8) /* ra sp gp tp s0..s11 */
#define DT_IN(n) (128 + (n) * 8)
#define DT_OUT(n) (384 + (n) * 8)
#define DT_MSTATUS_OUT 640
#define DT_END 648
#define DT_CONTEXT_SIZE 656

/* The M-mode trap frame. */
#define DT_FRAME_X(n) ((n) * 8)
#define DT_FRAME_EPC 256
#define DT_FRAME_STATUS 264
#define DT_FRAME_CAUSE 272
#define DT_FRAME_TVAL 280
#define DT_FRAME_VECTOR 288
#define DT_FRAME_SIZE 304

/* The S-mode handler's record at the bottom of the S data page. */
#define DT_S_T0 0
#define DT_S_CAUSE 8
#define DT_S_EPC 16
#define DT_S_TVAL 24
#define DT_S_STATUS 32
#define DT_S_VECTOR 40
#define DT_S_COUNT 48

/* How a step ended (dt_context.end). */
#define DT_END_M_RETURN 0 /* an M-mode step ran to its end */
#define DT_END_TRAP 1     /* a trap into M-mode ended it */

#endif
