// SPDX-License-Identifier: MIT
/// The hart's physical PMP brought in line with the slots of
/// virt/pmp_layout.hpp, and the cache's miss path (docs/pmp.md, "The cache"):
/// an access the physical layout denied is decided in software by the
/// list; if the list allows it, the range its decider alone decides is
/// installed (the least recently used ranges make room) and the access can run again.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/pmp.hpp>
#include <vfm/virt/hart.hpp>
#include <vfm/virt/pmp_layout.hpp>

namespace vfm::virt {

/// The firmware's virtual PMP of `h`, as the layout computations read it.
[[nodiscard]] inline virtual_pmp virtual_pmp_of(const hart& h) noexcept {
    return virtual_pmp{h.csr.pmpcfg, h.csr.pmpaddr, h.pmp.virtual_count(), h.features.pmp_granularity};
}

/// Writes the pmpaddr registers whose value changed since the hart took them
/// (every PMP write flushes QEMU's TLB: only what changed). The pmpcfg
/// registers are then written again whatever they hold: QEMU 7.2 moves the
/// bottom of a TOR entry only when that entry itself is written, not when
/// the pmpaddr below it is (docs/difftest.md), so the caller's next
/// configuration write must reach every entry.
template <arch Arch>
[[gnu::noinline]] void write_pmp_addresses(Arch& hw, hart& h) noexcept {
    if (h.pmp_slots.dirty == 0) return;
    for (unsigned slot = 0; slot < h.pmp.physical_count; ++slot)
        if (((h.pmp_slots.dirty >> slot) & 1) != 0)
            (void)hw.csr_write(static_cast<riscv::csr>(riscv::pmpaddr_number(slot)), h.pmp_slots.addr[slot]);
    h.pmp_slots.dirty = 0;
    for (auto& r : h.physical_pmpcfg) r = ~u64{0};
}

/// Writes every pmpcfg register of `view` that differs from what the hart holds.
template <arch Arch>
void write_pmpcfg_registers(Arch& hw, hart& h, pmp_view view) noexcept {
    const u64* wanted = h.pmp_slots.cfg[static_cast<unsigned>(view)];
    for (unsigned r = 0; r < h.pmp.cfg_registers(); ++r) {
        if (wanted[r] == h.physical_pmpcfg[r]) continue;
        (void)hw.csr_write(static_cast<riscv::csr>(riscv::pmpcfg_number(2 * r)), wanted[r]);
        h.physical_pmpcfg[r] = wanted[r];
    }
}

/// What the miss path made of an access.
enum class pmp_resolution : u8 {
    denied,     ///< the list denies it: the fault is the guest's
    resident,   ///< allowed, and its range is in the slots already (the fault, if any, is the guest's)
    installed,  ///< allowed: its range is in the slots now; the access may run again
};

/// The miss path for an access of `size` bytes at physical `address` needing
/// `needed` in `view` (levels 2-4 of the list: the monitor's entries are the
/// caller's). Only in cache mode; otherwise the slots hold the whole list and
/// the answer is `resident` or `denied`.
template <arch Arch>
pmp_resolution resolve_pmp_access(Arch& hw, hart& h, pmp_view view, u64 address, u64 size, u8 needed) noexcept {
    const virtual_pmp v = virtual_pmp_of(h);
    const pmp_decision d = pmp_decide(h.pmp, v, view, address, size, needed);
    if (!d.allowed) return pmp_resolution::denied;
    if (!h.pmp_cached) return pmp_resolution::resident;
    const pmp_family family = family_of(view);
    pmp_cache& cache = h.pmp_cache_state;
    const u64 end = cacheable_end(d.base, d.end, v.g);
    if (address + size > end) return pmp_resolution::denied;
    const unsigned capacity = h.pmp.physical_count - h.pmp.reserved_count;
    // What to install: the decider's whole range when it fits in the free
    // slots; under pressure the largest NAPOT block of it around the access
    // (one slot); the whole range when a block of it is resident already
    // (the access may reach past the block: a real fault only if it is denied
    // with the whole range in place).
    u64 base = d.base;
    u64 top = end;
    const int found = cache.find(address, family);
    if (found >= 0) {
        const pmp_cached_range& r = cache.ranges[found];
        if (r.base == d.base && r.end == end) {
            cache.touch(static_cast<unsigned>(found));
            return pmp_resolution::resident;
        }
    } else if (cache.slots_used() + pmp_cache::slots_for(base, top, v.g) > capacity) {
        u64 block_base = 0;
        u64 block_end = 0;
        if (napot_block_within(address, size, d.base, end, v.g, block_base, block_end)) {
            base = block_base;
            top = block_end;
        }
    }
    // The family's ranges carry the permissions of its main view; the other
    // view (MPRV's) derives its own from them (plan_cache).
    const pmp_view main = family == pmp_family::firmware ? pmp_view::firmware : pmp_view::os;
    const u8 perms = d.decider == pmp_decision::default_decider
                         ? pmp_default_perms(main)
                         : pmp_view_perms(v.cfg[static_cast<unsigned>(d.decider)], main);
    if (!cache.install(family, base, top, perms, v.g, capacity)) return pmp_resolution::denied;
    ++h.pmp_installs;
    plan_cache(h.pmp, cache, h.pmp_slots);
    write_pmp_addresses(hw, h);
    write_pmpcfg_registers(hw, h, h.physical_view);
    return pmp_resolution::installed;
}

}  // namespace vfm::virt
