// SPDX-License-Identifier: MIT
// attack-mprv: loads and stores made with mstatus.MPRV (priv. 3.1.6.3) into
// the monitor's memory and its shared page, with MPP = S and U (and M: there
// the monitor's memory only), satp Bare,
// Sv39, Sv48 and Sv57 (priv. 4.3-4.6), through page tables that map the
// monitor's pages in every way a table can: identity 4 KiB leaves, other
// virtual addresses (aliases), 2 MiB, 1 GiB and the largest leaves of each
// mode, leaves with U set (SUM = 1), execute-only leaves read with MXR = 1,
// leaves with A = 0 or D = 0 (the hart sets them: QEMU updates A/D in
// hardware), widths 1/2/4/8, the compressed forms, and accesses straddling
// the edges (8 bytes 4 before the end of a region, and a misaligned access
// whose second page maps to the monitor's first).
//
// Natively nothing guards that memory: every attempt is real (the load
// returns the bytes there, the store lands, and is put back). Under a
// monitor every attempt must raise the access fault of its kind at the
// firmware's mtvec with mtval = the virtual address. Controls on the
// firmware's own memory through the same tables show the path works, and
// page faults the tables ask for come before any access fault: those lines
// are compared between the native and the monitor runs.
//
// The shared page is a target only where the monitor makes the access on
// the firmware's behalf (MPP = S and U). With MPP = M, MPRV changes nothing
// (priv. 3.1.6.3): the accesses are the firmware's own, which the shared
// page, memory the firmware is given, must take; there it is a control (a
// compared line: every width, its first and last doublewords, the
// compressed forms, each as on bare hardware).
#include "testfw/attack.hpp"
#include "testfw/paging.hpp"
#include "testfw/testfw.hpp"

using namespace testfw;
using attack::group;
using attack::place;
using paging::mode;

const char* const testfw::firmware_name = "attack-mprv";
const char* const testfw::firmware_purpose = "loads and stores under MPRV into the monitor's memory, every translation";

namespace {

constexpr unsigned pool_pages = 24;
alignas(16384) u8 g_pool[pool_pages * 4096];
/// Ordinary memory: the controls' target and the pages next to aliases of the monitor.
alignas(4096) u8 g_ram[2 * 4096];

attack::targets g_t;

[[nodiscard]] u64 ram() noexcept { return reinterpret_cast<u64>(g_ram); }

// Virtual addresses of the mappings (all canonical in Sv39 and above).
constexpr u64 va_alias = 0x4000'0000;      // 4 KiB aliases of every monitor and shared page
constexpr u64 va_straddle = 0x4800'0000;   // pages next to each other that map apart
constexpr u64 va_xonly = 0x5000'0000;      // execute-only aliases
constexpr u64 va_no_a = 0x6000'0000;       // A = 0
constexpr u64 va_no_d = 0x6800'0000;       // D = 0 (A = 1)
constexpr u64 va_user = 0x7000'0000;       // U = 1 (for MPP = S with SUM = 1)
constexpr u64 va_other = 0x7800'0000;      // U = 1 for MPP = S, U = 0 for MPP = U: a page fault first
constexpr u64 va_mega = 0xc000'0000;       // one 2 MiB leaf
constexpr u64 va_giga = 0x1'0000'0000;     // one 1 GiB leaf
constexpr u64 va_sv48_tera = u64{1} << 39;  // Sv48: one 512 GiB leaf (onto physical 0)
constexpr u64 va_sv57_peta = u64{1} << 48;  // Sv57: one 256 TiB leaf (onto physical 0)

/// Every page of the monitor's memory and (`shared`) of the shared page.
template <class F>
void each_page(F f, bool shared = true) noexcept {
    unsigned i = 0;
    for (u64 p = g_t.monitor.base; p < g_t.monitor.end(); p += 4096) f(p, i++);
    if (!shared) return;
    for (u64 p = g_t.shared.base; p < g_t.shared.end(); p += 4096) f(p, i++);
}

/// A few pages: the first two, one in the middle, the last of the monitor, and the shared page.
template <class F>
void sample_pages(F f) noexcept {
    const u64 last = g_t.monitor.end() - 4096;
    const u64 middle = g_t.monitor.base + ((g_t.monitor.size / 2) & ~u64{0xfff});
    const u64 pages[] = {g_t.monitor.base, g_t.monitor.base + 4096, middle, last, g_t.shared.base};
    unsigned i = 0;
    for (const u64 p : pages) f(p, i++);
}

/// An offset inside a page that moves from page to page (8-byte aligned).
[[nodiscard]] u64 offset_for(unsigned i) noexcept { return (u64{i} * 0x238) & 0xff8; }

struct setting {
    const char* label;  // "Sv39, MPP = S"
    mode m;
    unsigned mpp;       // 3 = M, 1 = S, 0 = U
    /// The monitor makes these accesses on the firmware's behalf (MPP = S or
    /// U): the shared page is a target. With MPP = M they are the firmware's own.
    [[nodiscard]] bool on_behalf() const noexcept { return mpp != 3; }
};

[[nodiscard]] u64 leaf_flags(const setting& s) noexcept { return paging::pte_rwxad | (s.mpp == 0 ? paging::pte_u : 0); }

void line(char* out, usize size, const setting& s, const char* what) noexcept { format(out, size, "%s: %s", s.label, what); }

/// What the controls on the shared page find there (put there first: the page's contents are not the firmware's).
constexpr u64 shared_pattern = 0x8877'6655'4433'2211;

/// MPP = M: the firmware's own accesses to the shared page, which it is
/// given: each must do what it does on bare hardware (compared lines).
void shared_page_controls(const setting& s) noexcept {
    const u64 status = access::mprv_status(s.mpp);
    const access::op widths[] = {access::load(1),  access::load(2),  access::load(4),  access::load(8),
                                 access::store(1), access::store(2), access::store(4), access::store(8)};
    const access::op compressed[] = {access::c_load(4), access::c_load(8), access::c_store(4),
                                     access::c_store(8), access::c_ldsp(),  access::c_sdsp()};
    char d[160];
    const u64 middle = g_t.shared.base + ((g_t.shared.size / 2) & ~u64{7}) + 0x38;
    line(d, sizeof d, s, "control: the shared page (the firmware's to use), in its middle");
    for (const access::op& o : widths) attack::works(d, o, attack::at(middle + 8 - o.width), shared_pattern, status);
    const u64 ends[] = {g_t.shared.base, g_t.shared.end() - 8};
    for (const u64 a : ends) {
        line(d, sizeof d, s, a == g_t.shared.base ? "control: the shared page, its first doubleword"
                                                  : "control: the shared page, its last doubleword");
        attack::works(d, access::load(8), attack::at(a), shared_pattern, status);
        attack::works(d, access::store(8), attack::at(a), shared_pattern, status);
    }
    line(d, sizeof d, s, "control: the shared page, compressed forms at its base");
    for (const access::op& o : compressed) attack::works(d, o, attack::at(g_t.shared.base), shared_pattern, status);
}

/// Identity (Bare, or 4 KiB identity leaves): every width on every page, the
/// edges, the compressed forms; on the shared page too when the monitor
/// makes the accesses (else the shared page's controls).
void identity_attacks(const setting& s) noexcept {
    const u64 status = access::mprv_status(s.mpp);
    const bool shared = s.on_behalf();
    const access::op g_loads[] = {access::load(1), access::load(2), access::load(4), access::load(8)};
    const access::op g_stores[] = {access::store(1), access::store(2), access::store(4), access::store(8)};
    char d[160];
    line(d, sizeof d, s, shared ? "lb lh lw ld on every page of the monitor and the shared page"
                                : "lb lh lw ld on every page of the monitor");
    group loads(d);
    each_page(
        [&](u64 p, unsigned i) {
            for (const access::op& o : g_loads) loads.run(o, attack::at(p + offset_for(i) + 8 - o.width), status);
        },
        shared);
    loads.finish();

    line(d, sizeof d, s, shared ? "sb sh sw sd on every page of the monitor and the shared page"
                                : "sb sh sw sd on every page of the monitor");
    group stores(d);
    each_page(
        [&](u64 p, unsigned i) {
            for (const access::op& o : g_stores) stores.run(o, attack::at(p + offset_for(i) + 8 - o.width), status);
        },
        shared);
    stores.finish();

    // 4 bytes before the monitor's end: an access that straddles into the shared page.
    line(d, sizeof d, s,
         shared ? "ld and sd at the first and last bytes of each region and 4 bytes before its end"
                : "ld and sd at the first and last bytes of the monitor's memory and 4 bytes before its end");
    group edges(d);
    const attack::region regions[] = {g_t.monitor, g_t.shared};
    for (unsigned k = 0; k < (shared ? 2u : 1u); ++k) {
        const attack::region& r = regions[k];
        const u64 addresses[] = {r.base, r.end() - 8, r.end() - 4};
        for (const u64 a : addresses) {
            edges.run(access::load(8), attack::at(a), status);
            edges.run(access::store(8), attack::at(a), status);
        }
    }
    edges.finish();

    line(d, sizeof d, s, shared ? "c.lw c.ld c.sw c.sd c.ldsp c.sdsp at the base of each region and the monitor's end"
                                : "c.lw c.ld c.sw c.sd c.ldsp c.sdsp at the monitor's base and end");
    group compressed(d);
    const u64 addresses[] = {g_t.monitor.base, g_t.monitor.end() - 8, g_t.shared.base};
    const access::op ops[] = {access::c_load(4), access::c_load(8), access::c_store(4),
                              access::c_store(8), access::c_ldsp(),  access::c_sdsp()};
    for (const u64 a : addresses) {
        if (a == g_t.shared.base && !shared) continue;
        for (const access::op& o : ops) compressed.run(o, attack::at(a), status);
    }
    compressed.finish();

    if (!shared) shared_page_controls(s);
}

/// Loads and stores of 8 bytes through a mapping at `va_base` of the physical
/// range that starts at `pa_base`, on the pages `pages` picks.
template <class Pages>
void through(const setting& s, const char* what, u64 va_base, u64 pa_base, u64 status, Pages pages,
             bool stores = true) noexcept {
    char d[160];
    line(d, sizeof d, s, what);
    group g(d);
    pages([&](u64 p, unsigned i) {
        const u64 off = offset_for(i);
        g.run(access::load(8), attack::at(va_base + (p - pa_base) + off, p + off), status);
        if (stores) g.run(access::store(8), attack::at(va_base + (p - pa_base) + off, p + off), status);
    });
    g.finish();
}

void control(const setting& s, const char* what, u64 va, u64 pa, u64 status, bool must_work,
             const access::op& o = access::load(8)) noexcept {
    char d[160];
    line(d, sizeof d, s, what);
    attack::control(d, o, va, pa, 0x0123'4567'89ab'cdef, status, must_work);
}

/// Maps every monitor and shared page at `va` (4 KiB leaves).
bool map_aliases(paging::table& t, u64 va, u64 flags) noexcept {
    bool ok = true;
    each_page([&](u64 p, unsigned) { ok = ok && t.map(va + (p - g_t.monitor.base), p, flags); });
    return ok;
}

void paged_attacks(const setting& s, paging::table& t) noexcept {
    const u64 flags = leaf_flags(s);
    const u64 status = access::mprv_status(s.mpp);
    t.clear();
    bool ok = true;
    // Identity: the monitor, the shared page, the page after it and the firmware's memory.
    each_page([&](u64 p, unsigned) { ok = ok && t.map(p, p, flags); });
    ok = ok && t.map(g_t.shared.end(), g_t.shared.end(), flags);
    for (u64 p = ram(); p < ram() + sizeof g_ram; p += 4096) ok = ok && t.map(p, p, flags);
    ok = ok && map_aliases(t, va_alias, flags);
    ok = ok && t.map(va_alias - 4096, ram(), flags);  // a control page next to the aliases
    // Straddles: [ram][monitor base] [monitor last][ram] [shared last][ram].
    ok = ok && t.map(va_straddle, ram(), flags) && t.map(va_straddle + 0x1000, g_t.monitor.base, flags);
    ok = ok && t.map(va_straddle + 0x2000, g_t.monitor.end() - 4096, flags) && t.map(va_straddle + 0x3000, ram(), flags);
    ok = ok && t.map(va_straddle + 0x4000, g_t.shared.end() - 4096, flags) && t.map(va_straddle + 0x5000, ram(), flags);
    const u64 xonly = paging::pte_x | paging::pte_a | paging::pte_d | (s.mpp == 0 ? paging::pte_u : 0);
    ok = ok && map_aliases(t, va_xonly, xonly) && t.map(va_xonly - 4096, ram(), xonly);
    ok = ok && map_aliases(t, va_no_a, flags & ~paging::pte_a) && t.map(va_no_a - 4096, ram(), flags & ~paging::pte_a);
    ok = ok && map_aliases(t, va_no_d, flags & ~paging::pte_d) && t.map(va_no_d - 4096, ram(), flags & ~paging::pte_d);
    ok = ok && map_aliases(t, va_user, flags | paging::pte_u) && t.map(va_user - 4096, ram(), flags | paging::pte_u);
    ok = ok && t.map(va_other, g_t.monitor.base, flags ^ paging::pte_u);
    const u64 mega_pa = g_t.monitor.base & ~(paging::page_size(1) - 1);
    const u64 giga_pa = g_t.monitor.base & ~(paging::page_size(2) - 1);
    ok = ok && t.map(va_mega, mega_pa, flags, 1) && t.map(va_giga, giga_pa, flags, 2);
    u64 va_largest = 0;
    if (s.m == mode::sv48) va_largest = va_sv48_tera;
    if (s.m == mode::sv57) va_largest = va_sv57_peta;
    if (va_largest != 0) ok = ok && t.map(va_largest, 0, flags, paging::levels(s.m) - 1);
    char d[160];
    line(d, sizeof d, s, "the page tables are built");
    if (!check(ok, "%s", d)) return;
    if (!paging::set_satp(t.atp())) {
        line(d, sizeof d, s, "satp takes the mode (WARL): no, skipped");
        note("%s", d);
        return;
    }

    control(s, "control: ld through an identity leaf onto the firmware's memory", ram() + 64, ram() + 64, status, true);
    identity_attacks(s);

    control(s, "control: ld through an alias onto the firmware's memory", va_alias - 4096 + 64, ram() + 64, status, true);
    through(s, "ld and sd through 4 KiB aliases of every page", va_alias, g_t.monitor.base, status,
            [](auto f) { each_page(f); });

    {
        line(d, sizeof d, s, "ld and sd straddling pages that map apart (the second or first onto the monitor)");
        group g(d);
        const place into_base{va_straddle + 0x1000 - 4, ram() + 4096 - 4, g_t.monitor.base, 4};
        const place out_of_end{va_straddle + 0x3000 - 4, g_t.monitor.end() - 4, ram(), 4};
        const place out_of_shared{va_straddle + 0x5000 - 4, g_t.shared.end() - 4, ram(), 4};
        const place places[] = {into_base, out_of_end, out_of_shared};
        for (const place& p : places) {
            g.run(access::load(8), p, status);
            g.run(access::store(8), p, status);
            g.run(access::load(4), {p.va + 2, p.pa + 2, p.pa2, 2}, status);
            g.run(access::store(2), {p.va + 3, p.pa + 3, p.pa2, 1}, status);
        }
        g.finish();
    }

    control(s, "control: ld through a 2 MiB leaf onto the firmware's memory", va_mega + (ram() - mega_pa), ram(), status,
            true);
    through(s, "ld and sd through a 2 MiB leaf over the monitor", va_mega, mega_pa, status,
            [](auto f) { sample_pages(f); });
    control(s, "control: ld through a 1 GiB leaf onto the firmware's memory", va_giga + (ram() - giga_pa), ram(), status,
            true);
    through(s, "ld and sd through a 1 GiB leaf over the monitor", va_giga, giga_pa, status,
            [](auto f) { sample_pages(f); });
    if (va_largest != 0) {
        control(s, "control: ld through the largest leaf onto the firmware's memory", va_largest + ram(), ram(), status,
                true);
        through(s, "ld and sd through the largest leaf (onto physical 0)", va_largest, 0, status,
                [](auto f) { sample_pages(f); });
    }

    // U = 1: MPP = S reaches it with SUM = 1 only; the fault without SUM comes first.
    const u64 with_sum = access::mprv_status(s.mpp, true);
    control(s, "control: ld through a U leaf with SUM = 1 onto the firmware's memory", va_user - 4096 + 64, ram() + 64,
            with_sum, true);
    through(s, "ld and sd through leaves with U = 1, SUM = 1", va_user, g_t.monitor.base, with_sum,
            [](auto f) { sample_pages(f); });
    control(s, s.mpp == 1 ? "ld through a U leaf onto the monitor with SUM = 0 (page fault first)"
                          : "ld through a leaf without U onto the monitor (page fault first)",
            va_other, 0, status, false);

    // Execute-only: readable with MXR = 1 only; stores fault on the page first.
    const u64 with_mxr = access::mprv_status(s.mpp, false, true);
    control(s, "control: ld through an execute-only leaf with MXR = 1 onto the firmware's memory", va_xonly - 4096 + 64,
            ram() + 64, with_mxr, true);
    through(s, "ld through execute-only leaves with MXR = 1", va_xonly, g_t.monitor.base, with_mxr,
            [](auto f) { sample_pages(f); }, false);
    control(s, "ld through an execute-only leaf onto the monitor with MXR = 0 (page fault first)", va_xonly, 0, status,
            false);
    control(s, "sd through an execute-only leaf onto the monitor with MXR = 1 (page fault first)", va_xonly, 0,
            with_mxr, false, access::store(8));

    // A = 0 and D = 0: the hart sets them on the way (QEMU 7.2 does, natively).
    const u64 pte_no_a = t.entry(va_no_a - 4096, 0);
    control(s, "control: ld through a leaf with A = 0 onto the firmware's memory", va_no_a - 4096 + 64, ram() + 64,
            status, true);
    line(d, sizeof d, s, "control: that leaf's A afterwards");
    note("%s: %b", d, (mmio::read<u64>(pte_no_a) & paging::pte_a) != 0);
    through(s, "ld and sd through leaves with A = 0", va_no_a, g_t.monitor.base, status,
            [](auto f) { sample_pages(f); });
    const u64 pte_no_d = t.entry(va_no_d - 4096, 0);
    control(s, "control: sd through a leaf with D = 0 onto the firmware's memory", va_no_d - 4096 + 64, ram() + 64,
            status, true, access::store(8));
    line(d, sizeof d, s, "control: that leaf's D afterwards");
    note("%s: %b", d, (mmio::read<u64>(pte_no_d) & paging::pte_d) != 0);
    through(s, "sd through leaves with D = 0 (and ld)", va_no_d, g_t.monitor.base, status,
            [](auto f) { sample_pages(f); });

    (void)paging::set_satp(0);
}

}  // namespace

void testfw::firmware_main() {
    g_t = attack::find_targets();
    // S and U may use everything the monitor does not keep for itself.
    pmp::reset();
    pmp::open_all(0);
    for (u64 i = 0; i < sizeof g_ram; ++i) g_ram[i] = static_cast<u8>(i * 7 + 1);

    paging::table t(reinterpret_cast<u64>(g_pool), pool_pages, mode::sv39);
    // MPP = M: MPRV changes nothing (priv. 3.1.6.3), the accesses are M-mode's own
    // (the shared page is no target for them, but a control).
    const unsigned bare_mpps[] = {3, 1, 0};
    const unsigned mpps[] = {1, 0};
    for (const unsigned mpp : bare_mpps) {
        const setting s{mpp == 3 ? "Bare, MPP = M" : mpp == 1 ? "Bare, MPP = S" : "Bare, MPP = U", mode::bare, mpp};
        section(s.label);
        (void)paging::set_satp(0);
        control(s, "control: ld from the firmware's memory", ram() + 64, ram() + 64, access::mprv_status(mpp), true);
        identity_attacks(s);
    }
    const mode modes[] = {mode::sv39, mode::sv48, mode::sv57};
    for (const mode m : modes) {
        for (const unsigned mpp : mpps) {
            char label[32];
            format(label, sizeof label, "%s, MPP = %s", paging::name(m), mpp == 1 ? "S" : "U");
            section(label);
            t = paging::table(reinterpret_cast<u64>(g_pool), pool_pages, m);
            paged_attacks({label, m, mpp}, t);
        }
    }
    (void)paging::set_satp(0);

    section("the firmware still runs");
    u64 sum = 0;
    for (u64 i = 0; i < 1000; ++i) sum += g_ram[i] + i;
    check(sum != 0, "its own memory after all those faults: checksum %h", sum);
}
