/* SPDX-License-Identifier: MIT */
/* Memory layout constants shared by the metal assembly and C++ (plain C
 * preprocessor only: this header is included by .S files). Pinned against the
 * C++ types with static_assert in vfm/metal/runtime.hpp. */
#ifndef VFM_METAL_LAYOUT_H
#define VFM_METAL_LAYOUT_H

#ifndef VFM_MAX_HARTS
#define VFM_MAX_HARTS 8
#endif

/* Each hart owns one block of VFM_HART_STRIDE bytes in .bss: its stack grows
 * down from the virtual hart context at VFM_CONTEXT_OFFSET; the context (the
 * trap vector's save area) sits above it. mscratch holds the context's address
 * while a guest runs and 0 while the monitor runs. */
#define VFM_HART_STRIDE 8192
#define VFM_CONTEXT_OFFSET 5632

/* Byte offset of general register xN in the context. */
#define VFM_GPR_OFFSET(n) ((n) * 8)

/* Guarded accesses: a trap taken in the guarded range returns to the next
 * instruction with t0 = mcause and t1 = mtval; t0 is all ones when no trap. */
#define VFM_STACK_PAINT 0x56464d5f5041494eULL

#endif
