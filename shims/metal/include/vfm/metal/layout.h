/* SPDX-License-Identifier: MIT */
/* Memory layout constants shared by the metal assembly and C++ (plain C
 * preprocessor only: this header is included by .S files). Pinned against the
 * C++ types with static_assert in vfm/metal/runtime.hpp. */
#ifndef VFM_METAL_LAYOUT_H
#define VFM_METAL_LAYOUT_H

/* Harts the image supports: the board's max_harts, given by the build
 * (-DVFM_MAX_HARTS=N for every source of the image); no default, so that an
 * image never silently supports another number than its board. */
#ifndef VFM_MAX_HARTS
#error "vfm: build metal images with -DVFM_MAX_HARTS=<the board's max_harts> (docs/porting.md)"
#endif

/* Each hart owns one block of VFM_HART_STRIDE bytes in .bss: its stack grows
 * down from the virtual hart context at VFM_CONTEXT_OFFSET; the context (the
 * trap vector's save area) sits above it. mscratch holds the context's address
 * while a guest runs and 0 while the monitor runs. */
#define VFM_HART_STRIDE 8192
#define VFM_CONTEXT_OFFSET 5376

/* The trap vector serves the CSR fast path's accesses (vfm/virt/fast_csrs.hpp)
 * itself, in tier 1, unless an image turns it off, e.g. to count every trap in
 * C++; then tier 2 serves them with virt::fast_path, unless
 * VFM_METAL_CSR_FAST_PATH_CPP is 0 too: every CSR access takes the engine
 * (the reference the fast paths are compared with on QEMU). */
#ifndef VFM_METAL_CSR_FAST_PATH
#define VFM_METAL_CSR_FAST_PATH 1
#endif
#ifndef VFM_METAL_CSR_FAST_PATH_CPP
#define VFM_METAL_CSR_FAST_PATH_CPP 1
#endif

/* Byte offset of general register xN in the context. */
#define VFM_GPR_OFFSET(n) ((n)*8)

/* The trap path's block of virt::hart (pinned by static_assert in runtime.hpp). */
#define VFM_CTX_WORLD 264                     /* u8: 0 = the firmware runs */
#define VFM_CTX_FAST_CSRS 265                 /* u8[16]: CSR 0x340 + i at offset 8 * entry, 0 = not fast */
#define VFM_CTX_MEPC_MASK 288                 /* u64 */
#define VFM_CTX_MISA 296                      /* u64 */
#define VFM_CTX_MSTATUS_FAST_WRITABLE 304     /* u64 */
#define VFM_CTX_CSR_READ_MASK 312             /* u32: VFM_CSR_READ_MASK */
#define VFM_CTX_CSR_READ_BITS 316             /* u32: VFM_CSR_READ_BITS */
#define VFM_CTX_MSTATUS_VIRTUAL 320           /* u64: VFM_MSTATUS_VIRTUAL */
#define VFM_CTX_MSTATUS_PHYSICAL_WRITABLE 328 /* u64: VFM_MSTATUS_PHYSICAL_WRITABLE */
#define VFM_CTX_MSTATUS 336                   /* u64: the virtual M-level fields of mstatus */
#define VFM_CTX_MSCRATCH 376                  /* u64[4]: mscratch, mepc, mcause, mtval (CSRs 0x340-0x343), in order */
/* virt::hart::counters (virt::virtual_counters): at_trap[2], hidden[2], counting, retired. */
#define VFM_CTX_COUNTERS 1024
#define VFM_CTX_AT_TRAP (VFM_CTX_COUNTERS + 0)
#define VFM_CTX_HIDDEN (VFM_CTX_COUNTERS + 16)
#define VFM_CTX_COUNTING (VFM_CTX_COUNTERS + 32) /* u8 */
#define VFM_CTX_RETIRED (VFM_CTX_COUNTERS + 33)  /* u8 */
/* Instructions of vfm_firmware_counting_trap_vector that retire between the
 * firmware's trap and the read of mcycle (csrrw, beqz, sd) and of minstret
 * (three more: csrr, addi, sd); and of the way back after each read, the read
 * itself included, through mret (entry.S counts them; test/qemu's
 * counters-exact run checks them against native). */
#define VFM_COUNTING_LEAD_CYCLE 3
#define VFM_COUNTING_LEAD_INSTRET 6
#define VFM_COUNTING_TAIL_CYCLE 54
#define VFM_COUNTING_TAIL_INSTRET 44
/* csrrs rd, csr, x0 (a CSR read): opcode SYSTEM, funct3 2, rs1 0, any rd and csr. */
#define VFM_CSR_READ_MASK 0xff07f
#define VFM_CSR_READ_BITS 0x2073
/* rules::mstatus_virtual_fields: MIE, MPIE, MPP, MPRV, TVM, TW, TSR, SBE, MBE, GVA, MPV. */
#define VFM_MSTATUS_VIRTUAL 0xf000721888
/* rules::mstatus_physical_writable: SIE, SPIE, UBE, SPP, VS, FS, SUM, MXR. */
#define VFM_MSTATUS_PHYSICAL_WRITABLE 0xc6762

/* Guarded accesses: a trap taken in the guarded range returns to the next
 * instruction with t0 = mcause and t1 = mtval; t0 is all ones when no trap. */
#define VFM_STACK_PAINT 0x56464d5f5041494eULL

#endif
