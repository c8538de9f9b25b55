// SPDX-License-Identifier: MIT
// attack-pagetable: page tables inside the monitor's memory. The walk of an
// access made with MPRV (priv. 3.1.6.3; MPP = S and U; Sv39, Sv48, Sv57)
// reads its PTEs with implicit loads (priv. 4.3.2); here one table of the
// walk lies in a page of the monitor or in its shared page: the root (satp's
// PPN points there), or the table of any lower level (a non-leaf PTE points
// there), holding either the pointer to the next level or the leaf itself
// (a superpage of that level), and a leaf with A = D = 0 there (the hart
// would write them back into that page). The leaf maps the firmware's own
// memory.
//
// Natively the firmware writes the PTE into that page itself (nothing
// guards it), the walk reads it, and the load returns the firmware's marker,
// the store lands there: real. Under a monitor the walk must not read
// there: the implicit read raises the access fault of the original access
// (load or store/AMO access fault, priv. 4.3.2 step 2) with mtval = the
// virtual address. A page fault instead would mean the walk read whatever
// the monitor keeps there (it is reported as leaked). The firmware cannot
// write the monitor's pages; it may write the shared page (memory it is
// given), so there the PTE is in place, and the walk, which the monitor
// makes on the firmware's behalf, must refuse it all the same.
#include "testfw/attack.hpp"
#include "testfw/paging.hpp"
#include "testfw/testfw.hpp"

using namespace testfw;
using paging::mode;

const char* const testfw::firmware_name = "attack-pagetable";
const char* const testfw::firmware_purpose = "page tables in the monitor's memory: the walk must not read them";

namespace {

constexpr unsigned pool_pages = 16;
alignas(16384) u8 g_pool[pool_pages * 4096];
alignas(4096) u8 g_ram[4096];

attack::targets g_t;

[[nodiscard]] u64 ram() noexcept { return reinterpret_cast<u64>(g_ram); }

/// The index every level of the walk uses (5: clear of the jump stub's 24
/// bytes at the start of the first page natively).
constexpr u64 slot_index = 5;

/// The virtual address whose walk uses slot_index at every level at or
/// above `leaf_level`, and lands on the firmware's page with a leaf there.
[[nodiscard]] u64 address_for(mode m, unsigned leaf_level) noexcept {
    u64 va = 0;
    for (unsigned l = leaf_level; l < paging::levels(m); ++l) va |= slot_index << (12 + 9 * l);
    const u64 leaf_base = ram() & ~(paging::page_size(leaf_level) - 1);
    return va + (ram() - leaf_base) + 64;
}

/// One case: the table of `level` lies in the page `page`, holding a leaf
/// (`leaf`: a superpage of that level) or the pointer to the next level.
struct layout {
    mode m;
    unsigned level;
    bool leaf;
    bool clear_ad;  // the leaf has A = D = 0
};

/// Builds the walk for `c`, moves the PTE of `c.level` into `page` and runs
/// a load and a store through it; puts everything back.
void attack_case(attack::group& g, paging::table& t, const layout& c, u64 mpp, u64 page) noexcept {
    const unsigned top = paging::levels(c.m) - 1;
    const unsigned leaf_level = c.leaf ? c.level : 0;
    const u64 va = address_for(c.m, leaf_level);
    u64 flags = paging::pte_rwxad | (mpp == 0 ? paging::pte_u : 0);
    if (c.clear_ad) flags &= ~(paging::pte_a | paging::pte_d);
    t.clear();
    if (!t.map(va, ram() & ~(paging::page_size(leaf_level) - 1), flags, leaf_level)) {
        g.add({attack::outcome::wrong, "the page tables do not fit the pool"});
        return;
    }
    // The table of c.level, and the entry above that points at it.
    u64 parent_slot = 0;
    u64 table = t.root();
    if (c.level != top) {
        parent_slot = t.entry(va, c.level + 1);
        table = (mmio::read<u64>(parent_slot) >> 10) << 12;
    }
    const u64 pte = mmio::read<u64>(table + 8 * slot_index);
    const u64 target = page + 8 * slot_index;

    // Natively this lands; under a monitor it faults (and must).
    u8 saved[8];
    const bool known = attack::read_bytes(target, 8, saved);
    u8 bytes[8];
    for (unsigned i = 0; i < 8; ++i) bytes[i] = static_cast<u8>(pte >> (8 * i));
    (void)attack::write_bytes(target, 8, bytes);

    u64 atp = t.atp();
    if (c.level == top) {
        atp = (u64{static_cast<u8>(c.m)} << 60) | (page >> 12);
    } else {
        mmio::write<u64>(parent_slot, paging::pte(page, 0));
    }
    if (!paging::set_satp(atp)) {
        g.add({attack::outcome::wrong, "satp does not take the table"});
    } else {
        const u64 status = access::mprv_status(static_cast<unsigned>(mpp));
        g.run(access::load(8), attack::at(va, ram() + 64), status);
        g.run(access::store(8), attack::at(va, ram() + 64), status);
        // The A/D case again with its bits cleared: the store above may have set them.
        if (c.clear_ad && known) {
            (void)attack::write_bytes(target, 8, bytes);
            asm volatile("sfence.vma" ::: "memory");
            g.run(access::store(8), attack::at(va, ram() + 64), status);
        }
    }
    (void)paging::set_satp(0);
    if (known) (void)attack::write_bytes(target, 8, saved);
}

void attack_mode(paging::table& t, mode m, u64 mpp) noexcept {
    char label[32];
    format(label, sizeof label, "%s, MPP = %s", paging::name(m), mpp == 1 ? "S" : "U");
    section(label);
    if (!paging::set_satp(t.atp())) {
        note("%s: satp takes the mode (WARL): no, skipped", label);
        return;
    }
    (void)paging::set_satp(0);

    // The control: the same walk entirely in the firmware's memory.
    {
        const u64 va = address_for(m, 0);
        t.clear();
        (void)t.map(va, ram(), paging::pte_rwxad | (mpp == 0 ? paging::pte_u : 0));
        (void)paging::set_satp(t.atp());
        char d[160];
        format(d, sizeof d, "%s: control: the walk in the firmware's memory", label);
        attack::control(d, access::load(8), va, ram() + 64, 0, access::mprv_status(static_cast<unsigned>(mpp)), true);
        (void)paging::set_satp(0);
    }

    const unsigned top = paging::levels(m) - 1;
    const u64 pages[] = {g_t.monitor.base, g_t.monitor.base + ((g_t.monitor.size / 2) & ~u64{0xfff}),
                         g_t.monitor.end() - 4096, g_t.shared.base};
    for (unsigned level = top + 1; level-- > 0;) {
        for (unsigned kind = 0; kind < 3; ++kind) {
            const layout c{m, level, kind != 0, kind == 2};
            if (!c.leaf && level == 0) continue;    // level 0 holds leaves only
            if (c.clear_ad && level != 0) continue;  // A/D once, on a 4 KiB leaf
            char d[160];
            format(d, sizeof d, "%s: the level-%u table%s in the monitor's pages or its shared page holds %s: ld, sd",
                   label, level, level == top ? " (satp's root)" : "",
                   c.clear_ad ? "a leaf with A = D = 0" : c.leaf ? "the leaf" : "the pointer to the next level");
            attack::group g(d);
            g.page_faults_leak();
            for (const u64 page : pages) attack_case(g, t, c, mpp, page);
            g.finish();
        }
    }
}

}  // namespace

void testfw::firmware_main() {
    g_t = attack::find_targets();
    pmp::reset();
    pmp::open_all(0);
    for (u64 i = 0; i < sizeof g_ram; ++i) g_ram[i] = static_cast<u8>(i * 13 + 5);

    const mode modes[] = {mode::sv39, mode::sv48, mode::sv57};
    for (const mode m : modes) {
        paging::table t(reinterpret_cast<u64>(g_pool), pool_pages, m);
        attack_mode(t, m, 1);
        attack_mode(t, m, 0);
    }

    section("the firmware still runs");
    u64 sum = 0;
    for (u64 i = 0; i < sizeof g_ram; ++i) sum += g_ram[i];
    check(sum != 0, "its own memory after all those faults: checksum %h", sum);
}
