// SPDX-License-Identifier: MIT
/// Per-hart memory of the metal backend: one block per hart holding its stack
/// and, above it, its virtual hart context (vfm/metal/layout.h), plus the
/// stack-depth measurement that the stack painting at boot makes possible.
#pragma once

#include <stddef.h>

#include <vfm/detail/types.hpp>
#include <vfm/metal/layout.h>
#include <vfm/virt/csr_rules.hpp>
#include <vfm/virt/fast_csrs.hpp>
#include <vfm/virt/hart.hpp>

#if defined(__has_include)
#if __has_include(<new>)
#include <new>
#define VFM_METAL_HAVE_NEW 1
#endif
#endif
#ifndef VFM_METAL_HAVE_NEW
// The bare cross compiler has no <new>: declare the placement form ourselves.
inline void* operator new(size_t, void* where) noexcept { return where; }
#endif

namespace vfm::metal {

struct alignas(64) hart_block {
    u8 bytes[VFM_HART_STRIDE];
};

static_assert(sizeof(hart_block) == VFM_HART_STRIDE, "the assembly steps through blocks by VFM_HART_STRIDE");
static_assert(VFM_CONTEXT_OFFSET % 16 == 0, "the stack pointer starts 16-byte aligned (psABI)");
static_assert(sizeof(virt::hart) <= VFM_HART_STRIDE - VFM_CONTEXT_OFFSET, "the context fits above the stack");
static_assert(offsetof(virt::hart, x) == 0, "the trap vector saves x1..x31 at offset 8 * n");
static_assert(sizeof(virt::hart::x) == 32 * 8, "32 general registers");
static_assert(offsetof(virt::hart, world) == VFM_CTX_WORLD && sizeof(virt::world) == 1, "trap path block");
static_assert(offsetof(virt::hart, fast_csrs) == VFM_CTX_FAST_CSRS, "trap path block");
static_assert(offsetof(virt::hart, mepc_mask) == VFM_CTX_MEPC_MASK, "trap path block");
static_assert(offsetof(virt::hart, misa) == VFM_CTX_MISA, "trap path block");
static_assert(offsetof(virt::hart, mstatus_fast_writable) == VFM_CTX_MSTATUS_FAST_WRITABLE, "trap path block");
static_assert(offsetof(virt::hart, vector_csr_read_mask) == VFM_CTX_CSR_READ_MASK &&
                  offsetof(virt::hart, vector_csr_read_bits) == VFM_CTX_CSR_READ_BITS &&
                  offsetof(virt::hart, vector_mstatus_virtual) == VFM_CTX_MSTATUS_VIRTUAL &&
                  offsetof(virt::hart, vector_mstatus_physical_writable) == VFM_CTX_MSTATUS_PHYSICAL_WRITABLE,
              "trap path block");
static_assert(offsetof(virt::hart, csr.mstatus) == VFM_CTX_MSTATUS, "trap path block");
static_assert(offsetof(virt::hart, csr.mscratch) == VFM_CTX_MSCRATCH &&
                  offsetof(virt::hart, csr.mepc) == VFM_CTX_MSCRATCH + 8 &&
                  offsetof(virt::hart, csr.mcause) == VFM_CTX_MSCRATCH + 16 &&
                  offsetof(virt::hart, csr.mtval) == VFM_CTX_MSCRATCH + 24,
              "tier 1 reaches CSRs 0x340-0x343 at VFM_CTX_MSCRATCH + 8 * (csr - 0x340)");
static_assert(offsetof(virt::hart, counters) == VFM_CTX_COUNTERS &&
                  offsetof(virt::hart, counters.at_trap) == VFM_CTX_AT_TRAP &&
                  offsetof(virt::hart, counters.hidden) == VFM_CTX_HIDDEN &&
                  offsetof(virt::hart, counters.counting) == VFM_CTX_COUNTING &&
                  offsetof(virt::hart, counters.retired) == VFM_CTX_RETIRED,
              "the counting trap vector's block");
static_assert(VFM_MSTATUS_PHYSICAL_WRITABLE == virt::rules::mstatus_physical_writable, "the vector's mstatus write");
static_assert(VFM_CSR_READ_MASK == virt::fast_csrs::read_mask && VFM_CSR_READ_BITS == virt::fast_csrs::read_bits,
              "tier 1 recognizes the read form of the fast path's table");

/// Whether tier 1 of entry.S serves exactly the rows of the CSR fast path's
/// table (virt/fast_csrs.hpp), as it is written: the read form of every row;
/// the swap form (csrrw, its only other form) of 0x340-0x343 by index, with
/// mepc (0x341) alone masked, of the rest of 0x340-0x34f through
/// hart::fast_csrs, and of mstatus (0x300) under mstatus_fast_writable;
/// misa (0x301) read from hart::misa. A row tier 1 does not serve that way,
/// or a row missing, is a build error here rather than a silent difference.
constexpr bool tier1_serves_the_table() noexcept {
    using namespace virt::fast_csrs;
    // At VFM_CTX_MSCRATCH + 8 * (csr - 0x340), pinned below.
    constexpr u64 virt::virtual_csrs::*by_index[] = {&virt::virtual_csrs::mscratch, &virt::virtual_csrs::mepc,
                                                     &virt::virtual_csrs::mcause, &virt::virtual_csrs::mtval};
    for (u16 n = 0x340; n <= 0x343; ++n) {
        const entry* e = find(n);
        if (e == nullptr || e->where != storage::context || !e->swaps || e->exists != presence::always) return false;
        if (e->field != by_index[n - 0x340]) return false;
        if ((e->rule == write_rule::mepc_mask) != (n == 0x341) ||
            (e->rule != write_rule::mepc_mask && e->rule != write_rule::as_written))
            return false;
    }
    const entry* status = find(0x300);
    const entry* isa = find(0x301);
    if (status == nullptr || status->where != storage::mstatus || !status->swaps || status->rule != write_rule::mstatus)
        return false;
    if (isa == nullptr || isa->where != storage::misa || isa->swaps) return false;
    for (const entry& e : table) {
        const u16 n = static_cast<u16>(e.number);
        if (n == 0x300 || n == 0x301 || (n >= 0x340 && n <= 0x343)) continue;
        // Through the map: present or not per hart, swapped as written.
        if (e.where != storage::context || !e.swaps || e.rule != write_rule::as_written) return false;
    }
    return true;
}
static_assert(tier1_serves_the_table(), "entry.S's tier 1 and virt/fast_csrs.hpp disagree: change both");
static_assert(VFM_MSTATUS_VIRTUAL == virt::rules::mstatus_virtual_fields,
              "the vector composes mstatus as the engine does");

}  // namespace vfm::metal

extern "C" vfm::metal::hart_block vfm_hart_blocks[VFM_MAX_HARTS];

namespace vfm::metal {

/// The context of hart `index`, constructed in place at boot.
[[nodiscard]] inline virt::hart& context_of(u32 index) noexcept {
    return *reinterpret_cast<virt::hart*>(&vfm_hart_blocks[index].bytes[VFM_CONTEXT_OFFSET]);
}

/// Constructs hart `index`'s context (its block is zero after boot).
inline virt::hart& construct_context(u32 index) noexcept {
    virt::hart& h = *new (&vfm_hart_blocks[index].bytes[VFM_CONTEXT_OFFSET]) virt::hart{};
    h.vector_csr_read_mask = VFM_CSR_READ_MASK;
    h.vector_csr_read_bits = VFM_CSR_READ_BITS;
    h.vector_mstatus_virtual = VFM_MSTATUS_VIRTUAL;
    h.vector_mstatus_physical_writable = VFM_MSTATUS_PHYSICAL_WRITABLE;
    return h;
}

/// The deepest stack use of hart `index` so far, in bytes: the painted words
/// the stack never overwrote are counted from the bottom.
[[nodiscard]] inline u64 stack_high_water(u32 index) noexcept {
    const u64* words = reinterpret_cast<const u64*>(vfm_hart_blocks[index].bytes);
    const u64 count = VFM_CONTEXT_OFFSET / 8;
    u64 untouched = 0;
    while (untouched < count && words[untouched] == VFM_STACK_PAINT) ++untouched;
    return (count - untouched) * 8;
}

}  // namespace vfm::metal
