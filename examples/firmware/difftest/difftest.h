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

/* Every CSR the interpreter reads after a step, in order: X(number, name).
 * The counters that tick are left out: their values depend on time and on
 * the monitor's own work. difftest.S assembles one reader per row. */
#define DT_DUMP_CSRS(X) \
    X(0x300, mstatus) \
    X(0x301, misa) \
    X(0x302, medeleg) \
    X(0x303, mideleg) \
    X(0x304, mie) \
    X(0x305, mtvec) \
    X(0x306, mcounteren) \
    X(0x30a, menvcfg) \
    X(0x320, mcountinhibit) \
    X(0x323, mhpmevent3) \
    X(0xb03, mhpmcounter3) \
    X(0x340, mscratch) \
    X(0x341, mepc) \
    X(0x342, mcause) \
    X(0x343, mtval) \
    X(0x344, mip) \
    X(0x34a, mtinst) \
    X(0x34b, mtval2) \
    X(0xf11, mvendorid) \
    X(0xf12, marchid) \
    X(0xf13, mimpid) \
    X(0xf14, mhartid) \
    X(0xf15, mconfigptr) \
    X(0x3a0, pmpcfg0) \
    X(0x3a2, pmpcfg2) \
    X(0x3b0, pmpaddr0) \
    X(0x3b1, pmpaddr1) \
    X(0x3b2, pmpaddr2) \
    X(0x3b3, pmpaddr3) \
    X(0x3b4, pmpaddr4) \
    X(0x3b5, pmpaddr5) \
    X(0x3b6, pmpaddr6) \
    X(0x3b7, pmpaddr7) \
    X(0x3b8, pmpaddr8) \
    X(0x3b9, pmpaddr9) \
    X(0x3ba, pmpaddr10) \
    X(0x3bb, pmpaddr11) \
    X(0x003, fcsr) \
    X(0x100, sstatus) \
    X(0x104, sie) \
    X(0x105, stvec) \
    X(0x106, scounteren) \
    X(0x10a, senvcfg) \
    X(0x140, sscratch) \
    X(0x141, sepc) \
    X(0x142, scause) \
    X(0x143, stval) \
    X(0x144, sip) \
    X(0x14d, stimecmp) \
    X(0x180, satp) \
    X(0x600, hstatus) \
    X(0x602, hedeleg) \
    X(0x603, hideleg) \
    X(0x604, hie) \
    X(0x605, htimedelta) \
    X(0x606, hcounteren) \
    X(0x607, hgeie) \
    X(0x60a, henvcfg) \
    X(0x643, htval) \
    X(0x644, hip) \
    X(0x645, hvip) \
    X(0x64a, htinst) \
    X(0x680, hgatp) \
    X(0xe12, hgeip) \
    X(0x200, vsstatus) \
    X(0x204, vsie) \
    X(0x205, vstvec) \
    X(0x240, vsscratch) \
    X(0x241, vsepc) \
    X(0x242, vscause) \
    X(0x243, vstval) \
    X(0x244, vsip) \
    X(0x24d, vstimecmp) \
    X(0x280, vsatp)

#endif
