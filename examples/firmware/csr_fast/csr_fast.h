/* SPDX-License-Identifier: MIT */
/* csr-fast: what csr_fast.S and csr_fast.cpp share (plain C preprocessor). */
#ifndef TESTFW_CSR_FAST_H
#define TESTFW_CSR_FAST_H

/* The rows of csr_fast_results: one per probe kind and CSR. */
#define CSR_FAST_ROW_MSCRATCH 0
#define CSR_FAST_ROW_MEPC 1
#define CSR_FAST_ROW_MCAUSE 2
#define CSR_FAST_ROW_MTVAL 3
#define CSR_FAST_ROW_MTINST 4 /* with the H extension only */
#define CSR_FAST_ROW_MTVAL2 5 /* with the H extension only */
#define CSR_FAST_ROW_MSTATUS 6
#define CSR_FAST_ROW_MISA 7
#define CSR_FAST_ROW_SP_SWAP 8 /* csrrw sp, mscratch, sp, twice */
#define CSR_FAST_ROWS 9

/* Each (row, register) slot: three u64 values. */
#define CSR_FAST_SLOT_BYTES 24

/* The patterns written through register n in row r: distinct per slot, with
 * bits 0 and 1 set (mepc's WARL bits, priv. spec 3.1.14). */
#define CSR_FAST_FIRST(r, n) (0x5a5a000000000003 + ((r) << 12) + ((n) << 4))
#define CSR_FAST_SECOND(r, n) (0xa5a5000000000003 + ((r) << 12) + ((n) << 4))

#endif
