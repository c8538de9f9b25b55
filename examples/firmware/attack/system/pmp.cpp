// SPDX-License-Identifier: MIT
// attack-pmp: the firmware programs its own PMP (priv. spec 3.7) in every
// mode to grant itself, S- and U-mode the monitor's memory (docs/attacks.md),
// and after each step probes that memory: 8-byte loads and stores and
// fetches at its base, middle and last bytes, and loads and stores
// straddling its edges, from M-mode (the firmware itself), S-mode and
// U-mode (run_in):
//
//   hart 0     no entries; TOR from address 0 over the monitor; NAPOT over
//              the monitor; NAPOT over all memory; NA4 on its base, middle and
//              last word; overlapping grants (NA4, NAPOT, TOR from 0, all
//              memory); overlapping with a denying entry first; every entry
//              beyond the implemented count (pmpaddr and pmpcfg up to 63 and
//              14, written with a grant, read back)
//   harts 1-4  the same grants locked (L = 1: they bind M-mode and cannot be
//              undone, so each on a hart of its own): TOR from 0; NAPOT over
//              the monitor; NAPOT over all memory; NA4 on the base then TOR
//              from it to the end
//
// Every step ends with an entry that opens everything to S and U (the last
// implemented one), so that S- and U-mode code runs at all.
//
// Natively the probes go where the programmed PMP lets them (a model of
// priv. 3.7.1 here decides which: the lowest entry matching any byte
// decides, an access it matches only partly fails, M-mode is bound by
// locked entries only, S/U fail when nothing matches; and the memory must be
// RAM): those are attack lines, all real natively. Probes the model says
// fail natively (edges straddled against an entry's end, the base straddled
// against the start of RAM, a denying entry first) are compared lines: they
// must fail the same way under a monitor. Under a monitor every attack line
// must be contained (the access fault at the firmware's mtvec, or for S/U
// under the sandbox at stvec, mtval = the address).
#include <vfm/fdt/tree.hpp>
#include <vfm/riscv/pmp.hpp>

#include "common.hpp"

using namespace testfw;
namespace rp = vfm::riscv::pmp;
using rp::make_cfg;

const char* const testfw::firmware_name = "attack-pmp";
const char* const testfw::firmware_purpose = "the firmware's own PMP programmed in every mode to grant the monitor's memory";

namespace {

constexpr unsigned max_step_entries = 6;

struct entry {
    u8 cfg = 0;
    u64 addr = 0;
};

/// One programming step: entries 0..n-1 (then the open entry, last).
struct step {
    const char* label = "";
    entry e[max_step_entries];
    unsigned n = 0;
    bool m_only = false;  ///< no open entry: S/U cannot run
    unsigned width = 8;   ///< of the loads and stores (4 for NA4 entries)
};

testfw::attack::region g_monitor;
u64 g_ram_base, g_ram_end;
unsigned g_entries;  ///< PMP entries the firmware sees
bool g_under_monitor;  ///< the device tree reserves the monitor's memory

/// The model (priv. 3.7.1) of whether `mode` may access [a, a + n): the
/// lowest entry matching any byte decides; one that matches only some bytes
/// fails the access; M-mode obeys locked entries only; S/U fail when no entry
/// matches. (Only for accesses within one page: QEMU 7.2 checks an access
/// that crosses a page boundary page by page, see the edge probes.)
bool allows(const step& s, privilege mode, atk::lower_kind kind, u64 a, u64 n) {
    entry all[max_step_entries + 1];
    unsigned count = s.n;
    for (unsigned i = 0; i < s.n; ++i) all[i] = s.e[i];
    if (!s.m_only) all[count++] = {make_cfg(pmp::napot, true, true, true), ~u64{0} >> 10};
    u64 previous = 0;
    for (unsigned i = 0; i < count; ++i) {
        const rp::range r = rp::decode(all[i].cfg, all[i].addr, previous);
        previous = all[i].addr;
        if (r.empty || !(a < r.end && a + n > r.base)) continue;
        if (!r.contains(a, n)) return false;  // matches only some bytes
        const u8 c = all[i].cfg;
        const bool locked = (c & 0x80) != 0;
        if (mode == privilege::machine && !locked) return true;
        switch (kind) {
            case atk::lower_kind::load: return (c & 1) != 0;
            case atk::lower_kind::store: return (c & 2) != 0;
            case atk::lower_kind::fetch: return (c & 4) != 0;
        }
    }
    return mode == privilege::machine || count == 0;
}

/// Natively: a load or store of `width` bytes, or a fetch of the two planted
/// instructions, goes through.
bool native_allows(const step& s, privilege mode, atk::lower_kind kind, u64 a, unsigned width) {
    if (kind == atk::lower_kind::fetch) return allows(s, mode, kind, a, 4) && allows(s, mode, kind, a + 4, 4);
    return allows(s, mode, kind, a, width);
}

/// Programs the step's entries (entry i at index i), the open entry last.
void program(const step& s) {
    pmp::reset();
    for (unsigned i = 0; i < s.n; ++i) pmp::set(i, s.e[i].cfg, s.e[i].addr);
    if (!s.m_only) pmp::open_all(g_entries - 1);
}

const char* const position_names[] = {"the base", "the middle", "the end"};

u64 address_of(unsigned p, unsigned width) {
    switch (p) {
        case 0: return g_monitor.base;
        case 1: return g_monitor.base + g_monitor.size / 2;
        default: return g_monitor.end() - width;
    }
}

const char* mode_name(privilege m) {
    return m == privilege::machine ? "M" : m == privilege::supervisor ? "S" : "U";
}
const char* kind_name(atk::lower_kind k) {
    return k == atk::lower_kind::load ? "load" : k == atk::lower_kind::store ? "store" : "fetch";
}

/// 8-byte loads and stores straddling the monitor's end and its base (the
/// start of RAM on QEMU virt). Both cross a page boundary, which QEMU 7.2
/// checks page by page (no partial match, and below RAM reads return ones
/// and writes vanish): natively their outcome is QEMU's, not the spec's, and
/// is only shown; under a monitor each must be contained, and counts as a
/// check. The lines are marked "~" (not compared).
void edge_probes(const step& s, privilege mode) {
    const u64 addresses[] = {g_monitor.end() - 4, g_monitor.base - 4};
    const char* names[] = {"straddling the end", "straddling the base"};
    const atk::lower_kind kinds[] = {atk::lower_kind::load, atk::lower_kind::store};
    unsigned contained = 0, total = 0;
    char first[128] = {};
    for (unsigned i = 0; i < 2; ++i) {
        for (const atk::lower_kind k : kinds) {
            const atk::verdict v = atk::lower_attempt(mode, k, addresses[i], 8);
            ++total;
            if (v.what == atk::outcome::contained) {
                ++contained;
            } else if (first[0] == '\0') {
                format(first, sizeof first, "%s %s: %s", kind_name(k), names[i], v.detail);
            }
        }
    }
    if (g_under_monitor) {
        const bool ok = contained == total;
        if (ok)
            impl_defined("%s: %s-mode loads and stores straddling the edges: contained (%u)", s.label, mode_name(mode),
                         total);
        else
            check(false, "%s: %s-mode loads and stores straddling the edges: %u of %u contained; first not: %s",
                  s.label, mode_name(mode), contained, total, first);
        (void)testfw::detail::record_check(ok);
    } else {
        impl_defined("%s: %s-mode loads and stores straddling the edges: %u of %u fault natively%s%s", s.label,
                     mode_name(mode), contained, total, first[0] ? "; first not: " : "", first);
        (void)testfw::detail::record_check(true);  // counted as under a monitor (the verdict line is compared)
    }
}

/// Every probe of a step from `mode`: the ones the model lets through
/// natively as one attack line, the others as compared lines; then the
/// edges.
void probe_step(const step& s, privilege mode) {
    char what[112];
    format(what, sizeof what, "%s: %s-mode loads, stores, fetches in the monitor's memory", s.label, mode_name(mode));
    atk::group g(what);
    const atk::lower_kind kinds[] = {atk::lower_kind::load, atk::lower_kind::store, atk::lower_kind::fetch};
    for (unsigned p = 0; p < 3; ++p) {
        for (const atk::lower_kind k : kinds) {
            const unsigned width = k == atk::lower_kind::fetch ? 8 : s.width;
            const u64 a = address_of(p, width);
            const atk::verdict v = atk::lower_attempt(mode, k, a, width);
            if (native_allows(s, mode, k, a, width)) {
                g.add(v);
            } else {
                // Fails natively: it must fail the same way under a monitor.
                const bool faulted = v.what == atk::outcome::contained;
                check(faulted, "%s: %s-mode %u-byte %s at %s: %s", s.label, mode_name(mode), width, kind_name(k),
                      position_names[p], faulted ? "access fault" : v.detail);
            }
        }
    }
    if (g.attempts() != 0) (void)g.finish();
    edge_probes(s, mode);
}

void run_step(const step& s) {
    program(s);
    probe_step(s, privilege::machine);
    if (s.m_only) return;
    probe_step(s, privilege::supervisor);
    probe_step(s, privilege::user);
}
/// The PMP entries the firmware sees: pmpaddr i holds a written value.
unsigned count_entries() {
    unsigned n = 0;
    for (unsigned i = 0; i < pmp::entries; ++i) {
        pmp::write_addr(i, 0x1234);
        if (pmp::read_addr(i) == 0x1234) n = i + 1;
        pmp::write_addr(i, 0);
    }
    return n;
}

/// Under a monitor a check (the line marked "~": natively it is not one).
void beyond_check(bool ok, const char* what) {
    if (g_under_monitor && !ok) check(false, "%s: not read-only zero", what);
    (void)testfw::detail::record_check(!g_under_monitor || ok);
}

/// Writes the grant to every entry from `first` on (pmpaddr up to 63, the
/// pmpcfg registers up to 14), through probes (QEMU raises illegal
/// instruction for pmpaddr16-63 and pmpcfg4-14, the spec has them read 0).
void grant_beyond(unsigned first) {
    const u64 grant_addr = rp::napot_encode(g_monitor.base, g_monitor.size);
    const u8 grant = make_cfg(pmp::napot, true, true, true);
    unsigned kept = 0, zero = 0, illegal = 0;
    for (unsigned i = first; i < 64; ++i) {
        const u16 number = static_cast<u16>(0x3b0 + i);
        const probe w = csr_probe_in<0x3b0, 64>(number, csr_op::write, grant_addr);
        const probe r = csr_probe_in<0x3b0, 64>(number, csr_op::read);
        if (w.trapped || r.trapped)
            ++illegal;
        else if (r.value == grant_addr)
            ++kept;
        else if (r.value == 0)
            ++zero;
    }
    impl_defined("pmpaddr%u..63 written with a NAPOT grant over the monitor: %u hold it, %u read 0, %u illegal",
                 first, kept, zero, illegal);
    // Under a monitor they are the entries it keeps for itself: they read 0
    // and ignore writes (priv. 3.7.1: unimplemented entries are read-only
    // zero). Natively, QEMU 7.2 raises illegal instruction for 16..63.
    beyond_check(kept == 0 && illegal == 0, "pmpaddr beyond the implemented count");
    kept = zero = illegal = 0;
    for (unsigned c = 2 * (first / 8); c < 16; c += 2) {
        u64 value = 0;
        for (unsigned b = 0; b < 8; ++b)
            if (8 * c / 2 + b >= first) value |= u64{grant} << (8 * b);
        const u16 number = static_cast<u16>(0x3a0 + c);
        const probe old = csr_probe_in<0x3a0, 16>(number, csr_op::read);
        const u64 keep_mask = first > 4 * c ? (u64{1} << (8 * (first - 4 * c))) - 1 : 0;
        const u64 write = (old.trapped ? 0 : old.value & keep_mask) | (value & ~keep_mask);
        const probe w = csr_probe_in<0x3a0, 16>(number, csr_op::write, write);
        const probe r = csr_probe_in<0x3a0, 16>(number, csr_op::read);
        if (w.trapped || r.trapped)
            ++illegal;
        else if ((r.value & ~keep_mask) == (value & ~keep_mask))
            ++kept;
        else if ((r.value & ~keep_mask) == 0)
            ++zero;
    }
    impl_defined("pmpcfg registers from entry %u on written with the grant: %u hold it, %u read 0, %u illegal", first,
                 kept, zero, illegal);
    beyond_check(kept == 0 && illegal == 0, "pmpcfg bytes beyond the implemented count");
}

// ---- the locked steps, each on its own hart ------------------------------------------------------

step g_locked[4];

u64 locked_step(u64 index) {
    run_step(g_locked[index]);
    return 0;
}

}  // namespace

void testfw::firmware_main() {
    const testfw::attack::targets t = testfw::attack::find_targets();
    g_monitor = t.monitor;
    g_under_monitor = t.from_device_tree;
    {
        const vfm::fdt::tree tree(reinterpret_cast<const void*>(boot_fdt()), 0x10'0000);
        const vfm::fdt::node memory = tree.find_path("/memory");
        const auto reg = tree.reg(memory, 0);
        g_ram_base = reg ? reg.value().base : 0x8000'0000;
        g_ram_end = reg ? reg.value().base + reg.value().size : 0x9000'0000;
    }
    // The device tree is in the OS's memory once the sandbox walls it off.
    const unsigned harts = hart_count() < TESTFW_MAX_HARTS ? hart_count() : TESTFW_MAX_HARTS;
    const unsigned online = wait_for_secondaries();
    g_entries = count_entries();
    impl_defined("PMP entries the firmware sees: %u", g_entries);
    if (!check(g_entries >= 8, "the firmware has at least 8 PMP entries")) return;
    write<csr::medeleg>(0);
    write<csr::mideleg>(0);
    pmp::reset();
    pmp::open_all(0);
    atk::hand_over_once();

    const u64 base = g_monitor.base;
    const u64 size = g_monitor.size;
    const u64 end = g_monitor.end();
    const u8 tor = make_cfg(pmp::tor, true, true, true);
    const u8 na4 = make_cfg(pmp::na4, true, true, true);
    const u8 napot = make_cfg(pmp::napot, true, true, true);
    const u8 none_napot = make_cfg(pmp::napot, false, false, false);
    const u64 all = ~u64{0} >> 10;

    const step steps[] = {
        {"no entries", {}, 0, true},
        {"TOR from 0 to the monitor's end, RWX", {{tor, rp::tor_encode(end)}}, 1, false},
        {"NAPOT over the monitor, RWX", {{napot, rp::napot_encode(base, size)}}, 1, false},
        {"NAPOT over all memory, RWX", {{napot, all}}, 1, false},
        {"NA4 on the base, the middle and the last word, RWX",
         {{na4, rp::na4_encode(base)}, {na4, rp::na4_encode(base + size / 2)}, {na4, rp::na4_encode(end - 4)}},
         3,
         false,
         4},
        {"overlapping grants: NA4, NAPOT over the monitor, TOR from 0 past it, all memory",
         {{na4, rp::na4_encode(base)},
          {napot, rp::napot_encode(base, size)},
          {make_cfg(pmp::off, false, false, false), 0},
          {tor, rp::tor_encode(end + 0x1000)},
          {napot, all}},
         5,
         false},
        {"overlapping: NAPOT over the monitor with no permission, then all memory RWX",
         {{none_napot, rp::napot_encode(base, size)}, {napot, all}},
         2,
         false},
    };
    for (const step& s : steps) {
        section(s.label);
        run_step(s);
    }

    section("entries beyond the implemented count");
    // Entries 0..n-2 off, the open entry last (n-1), a grant in every entry beyond.
    pmp::reset();
    pmp::open_all(g_entries - 1);
    grant_beyond(g_entries);
    step beyond = {"a grant in every entry beyond the implemented count", {}, 0, false, 8};
    probe_step(beyond, privilege::machine);
    probe_step(beyond, privilege::supervisor);
    probe_step(beyond, privilege::user);
    pmp::reset();
    pmp::open_all(0);

    section("locked entries (each on a hart of its own)");
    const u8 lock = 0x80;
    g_locked[0] = {"TOR from 0 to the monitor's end, RWX, locked", {{u8(tor | lock), rp::tor_encode(end)}}, 1, false};
    g_locked[1] = {"NAPOT over the monitor, RWX, locked", {{u8(napot | lock), rp::napot_encode(base, size)}}, 1, false};
    g_locked[2] = {"NAPOT over all memory, RWX, locked", {{u8(napot | lock), all}}, 1, false};
    g_locked[3] = {"NA4 on the base, then TOR from it to the end, RWX, locked",
                   {{u8(na4 | lock), rp::na4_encode(base)}, {u8(tor | lock), rp::tor_encode(end)}}, 2, false, 4};
    if (!check(harts >= 5 && online == harts - 1, "harts for the locked steps: %u (registered %u)", harts, online))
        return;
    for (unsigned i = 0; i < 4; ++i) {
        println("== %s (hart %u)", g_locked[i].label, i + 1);
        u64 result = 0;
        check(run_on(i + 1, locked_step, i, result, 60'000), "hart %u ran the step", i + 1);
    }

    section("afterwards");
    u64 sum = 0;
    for (u64 i = 0; i < 1000; ++i) sum += i;
    check(sum == 499500, "the firmware still runs: %u", sum);
}
