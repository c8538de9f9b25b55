// SPDX-License-Identifier: MIT
// attack-hlv: the hypervisor loads and stores (priv. 8.3.1: HLV.B/BU/
// H/HU/W/WU/D, HLVX.HU/WU, HSV.B/H/W/D), which M-mode may execute: each
// accesses memory as VS-mode (hstatus.SPVP = 1) or VU-mode (SPVP = 0) would,
// through vsatp (VS-stage) and hgatp (G-stage) translation.
//
// The equivalence part, on the firmware's own memory (lines compared with
// the native run): every form with vsatp and hgatp Bare and both SPVP, also
// right after CSR accesses that trap under a monitor (QEMU 7.2 reports an
// HLV/HSV that traps in U-mode as an illegal instruction with a stale mtval,
// the bits of the last trapped instruction: a monitor that decodes mtval
// replays that CSR access instead), HLVX on memory PMP leaves readable but
// not executable, a VS-stage table (Sv39) with execute-only and read-only
// leaves, and a G-stage table (Sv39x4) with a leaf that is not writable
// (guest-page faults with mtval2 = the guest physical address >> 2).
//
// The attacks: HLV/HSV/HLVX into the monitor's memory and its shared page,
// physically (vsatp and hgatp Bare), through a G-stage leaf over the
// monitor, through VS-stage leaves onto it, and with the VS-stage or
// G-stage root table in one of its pages. Natively they are real; under a
// monitor each must raise the load or store/AMO access fault, mtval = the
// (guest virtual) address. The monitor makes every HLV/HSV (and its walks)
// on the firmware's behalf, so the shared page is a target like the
// monitor's memory, though the firmware may itself write there (the root
// tables' PTEs are in place there under a monitor too).
#include "testfw/attack.hpp"
#include "testfw/paging.hpp"
#include "testfw/testfw.hpp"

using namespace testfw;
using paging::mode;

const char* const testfw::firmware_name = "attack-hlv";
const char* const testfw::firmware_purpose = "HLV, HLVX and HSV: equivalent on the firmware's memory, contained elsewhere";

namespace {

constexpr unsigned pool_pages = 12;
alignas(16384) u8 g_pool[pool_pages * 4096];
alignas(4096) u8 g_ram[4096];
alignas(4096) u8 g_no_exec[4096];  // PMP: read and write, no execute (for S and U)

attack::targets g_t;

[[nodiscard]] u64 ram() noexcept { return reinterpret_cast<u64>(g_ram); }
[[nodiscard]] u64 no_exec() noexcept { return reinterpret_cast<u64>(g_no_exec); }

void hfence() noexcept {
    asm volatile(".4byte 0x22000073\n .4byte 0x62000073" ::: "memory");  // hfence.vvma, hfence.gvma
}

void set_spvp(bool vs) noexcept {
    constexpr u64 spvp = u64{1} << 8;
    if (vs) set<csr::hstatus>(spvp);
    else clear<csr::hstatus>(spvp);
}

void set_translation(u64 vsatp, u64 hgatp) noexcept {
    write<csr::vsatp>(vsatp);
    write<csr::hgatp>(hgatp);
    hfence();
}

/// One probe on the firmware's own memory with what the spec and QEMU 7.2
/// each give: a compared line where they agree (mstatus.GVA apart, which
/// QEMU leaves 0: a "~ [priv 8.4.1]" line), else a "~ [priv <section>]" line.
/// `spec` and `qemu` are the causes (0: no trap).
void hlv_row(const char* what, const access::op& o, u64 va, u64 pa, u64 value, u64 spec, u64 qemu,
             const char* section = "8.3.1") noexcept {
    const access::result r = access::run(o, va, value, access::plain_status());
    const bool trapped = r.traps != 0;
    const bool well_formed = r.traps <= 1 && (!trapped || (r.first.epc == r.site && r.first.tval == va));
    const u64 cause = trapped ? r.first.cause : 0;
    u8 after[8] = {};
    (void)attack::read_bytes(pa, o.width, after);
    u64 memory = 0;
    for (unsigned i = 0; i < o.width; ++i) memory |= u64{after[i]} << (8 * i);
    char result[160];
    if (!trapped)
        format(result, sizeof result, "no trap, a0 %h, memory %h", r.value, memory);
    else if (cause == 20 || cause == 21 || cause == 23)
        format(result, sizeof result, "%s, mtval at the address %b, mtval2 %h", cause_name(cause), r.first.tval == va,
               r.first.tval2);
    else
        format(result, sizeof result, "%s, mtval at the address %b", cause_name(cause), r.first.tval == va);
    if (spec == qemu) {
        check(well_formed && cause == spec, "%s: %s %s", what, o.name, result);
    } else {
        deviation(section, well_formed && cause == spec, well_formed && cause == qemu, "%s: %s %s", what, o.name, result);
    }
    if (trapped) {
        // A trap of an HLV/HSV writes a guest virtual address to mtval: GVA = 1 (priv. 8.4.1).
        const bool gva = riscv::mstatus::gva::extract(r.first.status) != 0;
        deviation("8.4.1", gva, !gva, "%s: mstatus.GVA after the trap: %b", what, gva);
    }
}

/// Every form.
struct forms {
    access::op list[13];
    forms() noexcept
        : list{access::hlv(1, true),  access::hlv(1, false), access::hlv(2, true), access::hlv(2, false),
               access::hlv(4, true),  access::hlv(4, false), access::hlv(8, true), access::hlvx(2),
               access::hlvx(4),       access::hsv(1),        access::hsv(2),       access::hsv(4),
               access::hsv(8)} {}
};

void fill(u8* page, u8 seed) noexcept {
    for (unsigned i = 0; i < 4096; ++i) page[i] = static_cast<u8>(i * 29 + seed);
}

/// The equivalence part with both stages Bare.
void bare_equivalence(const char* label) noexcept {
    const forms f;
    const u64 status = access::plain_status();
    char d[160];
    const access::preamble pres[] = {access::preamble::none, access::preamble::csr_accesses};
    for (const access::preamble pre : pres) {
        fill(g_ram, 3);
        unsigned i = 0;
        for (const access::op& o : f.list) {
            const u64 a = ram() + 64 + 16 * i++;
            format(d, sizeof d, "%s: %s on the firmware's memory%s", label, o.name,
                   pre == access::preamble::none ? "" : ", right after trapping CSR accesses");
            attack::control(d, o, a, a, 0x0102'0304'0506'0708, status, true, pre);
        }
    }
    // HLVX needs execute and read permission from PMP (priv. 8.3.1); QEMU 7.2 reads anyway.
    format(d, sizeof d, "%s: hlv.d on memory PMP leaves readable, not executable", label);
    hlv_row(d, access::hlv(8, true), no_exec() + 8, no_exec() + 8, 0, 0, 0);
    format(d, sizeof d, "%s: hlvx.wu there", label);
    hlv_row(d, access::hlvx(4), no_exec() + 8, no_exec() + 8, 0, 5, 0);
}

/// VS-stage (vsatp Sv39, hgatp Bare): execute-only and read-only leaves.
void vs_stage_equivalence(paging::table& vs, bool spvp) noexcept {
    const u64 u = spvp ? 0 : paging::pte_u;
    constexpr u64 va_rwx = 0x4000'0000, va_xonly = 0x4000'1000, va_ronly = 0x4000'2000;
    vs.clear();
    (void)vs.map(va_rwx, ram(), paging::pte_rwxad | u);
    (void)vs.map(va_xonly, ram(), paging::pte_x | paging::pte_a | paging::pte_d | u);
    (void)vs.map(va_ronly, ram(), paging::pte_r | paging::pte_a | paging::pte_d | u);
    set_translation(vs.atp(), 0);
    const char* label = spvp ? "VS-stage Sv39, SPVP = 1" : "VS-stage Sv39, SPVP = 0";
    char d[160];
    // QEMU 7.2 raises access faults where the VS-stage denies an HLV/HSV
    // (priv. 4.3.2, 8.5: page faults), and its HLVX needs read permission
    // instead of execute permission (priv. 8.3.1).
    constexpr u64 none = 0, lpf = 13, spf = 15, laf = 5, saf = 7;
    struct row {
        const char* what;
        u64 va;
        access::op o;
        u64 spec, qemu;
        const char* section;
    };
    const row rows[] = {
        {"hlv.d through a leaf RWX", va_rwx + 8, access::hlv(8, true), none, none, ""},
        {"hsv.d through a leaf RWX", va_rwx + 8, access::hsv(8), none, none, ""},
        {"hlv.d through an execute-only leaf", va_xonly + 8, access::hlv(8, true), lpf, laf, "4.3.2"},
        {"hlvx.wu through an execute-only leaf", va_xonly + 8, access::hlvx(4), none, laf, "8.3.1"},
        {"hlvx.hu through a read-only leaf", va_ronly + 8, access::hlvx(2), lpf, none, "8.3.1"},
        {"hsv.w through a read-only leaf", va_ronly + 8, access::hsv(4), spf, saf, "4.3.2"},
        {"hlv.w through a read-only leaf", va_ronly + 8, access::hlv(4, true), none, none, ""},
    };
    for (const row& r : rows) {
        format(d, sizeof d, "%s: %s", label, r.what);
        hlv_row(d, r.o, r.va, ram() + 8, 0x1111'2222'3333'4444, r.spec, r.qemu, r.section);
    }
    set_translation(0, 0);
}

/// G-stage (hgatp Sv39x4, vsatp Bare): an identity gigapage, and one that is
/// not writable.
void g_stage_equivalence(paging::table& g) noexcept {
    constexpr u64 gpa_ronly = 0x1'0000'0000;
    const u64 giga = ram() & ~(paging::page_size(2) - 1);
    g.clear();
    (void)g.map(giga, giga, paging::pte_rwxad | paging::pte_u, 2);
    (void)g.map(gpa_ronly, giga, paging::pte_r | paging::pte_x | paging::pte_a | paging::pte_d | paging::pte_u, 2);
    set_translation(0, g.atp());
    hlv_row("G-stage Sv39x4: hlv.d through an identity gigapage", access::hlv(8, true), ram() + 16, ram() + 16, 0, 0,
            0);
    hlv_row("G-stage Sv39x4: hsv.d through an identity gigapage", access::hsv(8), ram() + 16, ram() + 16,
            0x7777'6666'5555'4444, 0, 0);
    hlv_row("G-stage Sv39x4: hlv.d through a gigapage without W", access::hlv(8, true), gpa_ronly + (ram() - giga) + 16,
            ram() + 16, 0, 0, 0);
    hlv_row("G-stage Sv39x4: hsv.d through a gigapage without W", access::hsv(8), gpa_ronly + (ram() - giga) + 16,
            ram() + 16, 0x1234, 23, 23);
    set_translation(0, 0);
}

/// A few pages of the monitor and the shared page.
template <class F>
void sample_pages(F f) noexcept {
    const u64 pages[] = {g_t.monitor.base, g_t.monitor.base + ((g_t.monitor.size / 2) & ~u64{0xfff}),
                         g_t.monitor.end() - 4096, g_t.shared.base};
    unsigned i = 0;
    for (const u64 p : pages) f(p, i++);
}

void attacks(paging::table& t, bool spvp) noexcept {
    const forms f;
    const u64 status = access::plain_status();
    const char* label = spvp ? "SPVP = 1" : "SPVP = 0";
    char d[160];

    // Physical: both stages Bare.
    set_translation(0, 0);
    format(d, sizeof d, "%s, vsatp and hgatp Bare: every form on the monitor's pages and the shared page", label);
    attack::group bare(d);
    sample_pages([&](u64 p, unsigned i) {
        for (const access::op& o : f.list) bare.run(o, attack::at(p + 8 * (i + 1)), status);
    });
    for (const access::op& o : f.list) bare.run(o, attack::at(g_t.shared.end() - o.width), status);
    bare.finish();

    // A G-stage gigapage over the monitor (U = 1: every G-stage access is a user one).
    constexpr u64 gpa_over = 0xc000'0000;
    const u64 giga = g_t.monitor.base & ~(paging::page_size(2) - 1);
    t = paging::table(reinterpret_cast<u64>(g_pool), pool_pages, mode::sv39, true);
    (void)t.map(gpa_over, giga, paging::pte_rwxad | paging::pte_u, 2);
    set_translation(0, t.atp());
    format(d, sizeof d,
           "%s, hgatp Sv39x4: hlv.d, hlvx.wu, hsv.d through a G-stage gigapage over the monitor and its shared page",
           label);
    attack::group g_stage(d);
    sample_pages([&](u64 p, unsigned i) {
        const u64 gpa = gpa_over + (p - giga) + 8 * (i + 1);
        g_stage.run(access::hlv(8, true), attack::at(gpa, p + 8 * (i + 1)), status);
        g_stage.run(access::hlvx(4), attack::at(gpa, p + 8 * (i + 1)), status);
        g_stage.run(access::hsv(8), attack::at(gpa, p + 8 * (i + 1)), status);
    });
    g_stage.finish();

    // VS-stage leaves onto the monitor.
    constexpr u64 va_over = 0x5000'0000;
    t = paging::table(reinterpret_cast<u64>(g_pool), pool_pages, mode::sv39);
    sample_pages([&](u64 p, unsigned i) {
        (void)t.map(va_over + 4096 * i, p, paging::pte_rwxad | (spvp ? 0 : paging::pte_u));
    });
    set_translation(t.atp(), 0);
    format(d, sizeof d, "%s, vsatp Sv39: hlv.d, hlvx.wu, hsv.d through VS-stage leaves onto the monitor and its shared page",
           label);
    attack::group vs_stage(d);
    sample_pages([&](u64 p, unsigned i) {
        const u64 va = va_over + 4096 * i + 8 * (i + 1);
        vs_stage.run(access::hlv(8, true), attack::at(va, p + 8 * (i + 1)), status);
        vs_stage.run(access::hlvx(4), attack::at(va, p + 8 * (i + 1)), status);
        vs_stage.run(access::hsv(8), attack::at(va, p + 8 * (i + 1)), status);
    });
    vs_stage.finish();

    // The root of either stage in a monitor page, holding a gigapage over the
    // firmware's memory (index 5 of the root: clear of the native jump stub).
    constexpr u64 address5 = u64{5} << 30;
    const u64 ram_giga = ram() & ~(paging::page_size(2) - 1);
    const u64 leaf = paging::pte(ram_giga, paging::pte_rwxad | paging::pte_u);
    const u64 leaf_vs = paging::pte(ram_giga, paging::pte_rwxad | (spvp ? 0 : paging::pte_u));
    const u64 va = address5 + (ram() - ram_giga) + 24;
    format(d, sizeof d, "%s: the VS-stage root (vsatp) in the monitor's first page or its shared page: hlv.d, hsv.d",
           label);
    attack::group vs_root(d);
    format(d, sizeof d, "%s: the G-stage root (hgatp) in the monitor's first page or its shared page: hlv.d, hsv.d",
           label);
    attack::group g_root(d);
    vs_root.page_faults_leak();
    const u64 roots[] = {g_t.monitor.base, g_t.shared.base};  // 16 KiB aligned, as hgatp needs
    for (const u64 root : roots) {
        u8 saved[8];
        const bool known = attack::read_bytes(root + 40, 8, saved);
        for (unsigned stage = 0; stage < 2; ++stage) {
            const u64 pte = stage == 0 ? leaf_vs : leaf;
            u8 bytes[8];
            for (unsigned b = 0; b < 8; ++b) bytes[b] = static_cast<u8>(pte >> (8 * b));
            (void)attack::write_bytes(root + 40, 8, bytes);
            const u64 atp = (u64{8} << 60) | (root >> 12);
            if (stage == 0) set_translation(atp, 0);
            else set_translation(0, atp);
            attack::group& g = stage == 0 ? vs_root : g_root;
            g.run(access::hlv(8, true), attack::at(va, ram() + (ram() - ram_giga) % 4096 + 24), status);
            g.run(access::hsv(8), attack::at(va, ram() + (ram() - ram_giga) % 4096 + 24), status);
            set_translation(0, 0);
        }
        if (known) (void)attack::write_bytes(root + 40, 8, saved);
    }
    vs_root.finish();
    g_root.finish();
}

}  // namespace

void testfw::firmware_main() {
    g_t = attack::find_targets();
    if (!check(access::has_h(), "the hart has the H extension (misa.H): %b", access::has_h())) return;
    pmp::reset();
    pmp::set(0, pmp::make_cfg(pmp::napot, true, true, false), pmp::napot_encode(no_exec(), sizeof g_no_exec));
    pmp::open_all(1);
    fill(g_no_exec, 7);
    paging::table t(reinterpret_cast<u64>(g_pool), pool_pages, mode::sv39);

    const bool spvps[] = {true, false};
    for (const bool spvp : spvps) {
        set_spvp(spvp);
        set_translation(0, 0);
        const char* label = spvp ? "Bare, SPVP = 1" : "Bare, SPVP = 0";
        section(label);
        bare_equivalence(label);
        section(spvp ? "VS-stage, SPVP = 1" : "VS-stage, SPVP = 0");
        t = paging::table(reinterpret_cast<u64>(g_pool), pool_pages, mode::sv39);
        vs_stage_equivalence(t, spvp);
    }
    set_spvp(true);
    section("G-stage");
    t = paging::table(reinterpret_cast<u64>(g_pool), pool_pages, mode::sv39, true);
    g_stage_equivalence(t);

    for (const bool spvp : spvps) {
        set_spvp(spvp);
        section(spvp ? "attacks, SPVP = 1" : "attacks, SPVP = 0");
        attacks(t, spvp);
    }
    set_translation(0, 0);
    set_spvp(false);

    section("the firmware still runs");
    u64 sum = 0;
    for (u64 i = 0; i < sizeof g_ram; ++i) sum += g_ram[i];
    check(sum != 0, "its own memory after all those faults: checksum %h", sum);
}
