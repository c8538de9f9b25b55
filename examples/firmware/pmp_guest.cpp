// SPDX-License-Identifier: MIT
// pmp-guest: PMP access faults of a guest (VS- and VU-mode) go where
// medeleg and hedeleg send them (priv. spec 3.1.8, 3.7.1; H ext. 9.4.2,
// 9.6.4). The PMP checks a guest's accesses with its nominal privilege (S or
// U); a fault goes to M-mode when medeleg keeps it, to HS-mode when medeleg
// delegates it and hedeleg does not (scause, sepc, stval, sstatus.SPP,
// hstatus.SPV = 1, SPVP = the guest's privilege, GVA = 1), and to VS-mode
// when both delegate it (vscause, vsepc, vstval, vsstatus.SPP; V stays 1).
//
// Under a monitor the PMP programmed here does not fit the physical entries
// (single pages of alternating permissions in every entry but the last, a
// background region in the last), so the slots are a cache and the monitor sees the guest's access faults
// first (docs/pmp.md): a miss must be resolved in place, a real fault sent
// where the hart would have sent it.
//
// QEMU 7.2 raises a guest-page fault (20, 21, 23) where the spec has the
// access fault (deviations.hpp, "H 9.5"); medeleg delegates those too, and
// hedeleg cannot (H ext. 9.2.2), so natively they reach HS-mode. A line says
// which one came. htval is not compared: for an access fault QEMU 7.2 leaves
// a stale value there (the spec says 0).
#include "testfw/access.hpp"
#include "testfw/testfw.hpp"

using namespace testfw;
namespace ms = riscv::mstatus;
using riscv::exception;

const char* const testfw::firmware_name = "pmp-guest";
const char* const testfw::firmware_purpose = "a guest's PMP access faults through medeleg and hedeleg (H ext. 9.4.2)";

extern "C" {
extern char pmp_guest_load[];
extern char pmp_guest_store[];
extern char pmp_guest_fetch[];
extern char pmp_guest_vs_vector[];
/// What the VS-mode handler saw: vscause, vstval, vsepc, vsstatus, a count.
u64 pmp_guest_vs_seen[5];
}

// The guest's code: one access at a0, then an ecall (into M-mode: medeleg
// never delegates the guest's ecalls here). The VS-mode handler keeps its
// CSRs (VS-mode's scause is vscause, H ext. 9.2) and ends the run the same way.
asm(R"(
    .section .text.pmp_guest, "ax", @progbits
    .option push
    .option norvc
    .balign 4
    .globl pmp_guest_load
pmp_guest_load:
    ld t0, 0(a0)
    ecall
1:  j 1b
    .globl pmp_guest_store
pmp_guest_store:
    sd zero, 0(a0)
    ecall
1:  j 1b
    .globl pmp_guest_fetch
pmp_guest_fetch:
    jr a0
    .balign 4
    .globl pmp_guest_vs_vector
pmp_guest_vs_vector:
    la t4, pmp_guest_vs_seen
    csrr t0, scause
    sd t0, 0(t4)
    csrr t0, stval
    sd t0, 8(t4)
    csrr t0, sepc
    sd t0, 16(t4)
    csrr t0, sstatus
    sd t0, 24(t4)
    li t0, 1
    sd t0, 32(t4)
    ecall
1:  j 1b
    .option pop
)");

namespace {

using pmp::access_kind;
using pmp::kind_name;
using pmp::page;

pmp::area<16> g_area;

[[nodiscard]] u64 area() { return g_area.base(); }
[[nodiscard]] u64 page_at(unsigned i) { return g_area.page_at(i); }

constexpr u64 hstatus_gva = u64{1} << 6;  // H ext. 9.2.1
constexpr u64 hstatus_spv = u64{1} << 7;
constexpr u64 hstatus_spvp = u64{1} << 8;
constexpr u64 sstatus_spp = u64{1} << 8;
constexpr u64 mstatus_gva = u64{1} << 38;
constexpr u64 access_faults = (u64{1} << 1) | (u64{1} << 5) | (u64{1} << 7);
constexpr u64 guest_page_faults = (u64{1} << 20) | (u64{1} << 21) | (u64{1} << 23);  // never in hedeleg (H 9.2.2)

/// Entry i's permissions (entries 0-14, one page each): adjacent pages never
/// share them, so no two entries merge into one range.
constexpr u8 perms_of(unsigned i) {
    constexpr u8 cycle[4] = {0b000, 0b001, 0b101, 0b011};  // none, R, R X, R W
    return cycle[i % 4];
}

struct request {
    access_kind kind;
    u64 address;
    bool to_user;  ///< VU-mode rather than VS-mode
    u64 hedeleg;
};
request g_request;

/// Where the attempt ended: 3 = M-mode, 1 = HS-mode (0 = nowhere yet).
struct seen {
    volatile u64 level;
    volatile u64 cause;
    volatile u64 epc;
    volatile u64 tval;
    volatile u64 status;
    volatile u64 hstatus;
};
seen g_seen;

[[nodiscard]] bool from_guest_code(u64 epc) {
    return epc == reinterpret_cast<u64>(pmp_guest_load) || epc == reinterpret_cast<u64>(pmp_guest_store) ||
           epc == reinterpret_cast<u64>(pmp_guest_fetch) || (epc >= area() && epc < area() + g_area.size);
}

bool m_handler(trap_frame& f) noexcept {
    if (!ms::mpv::test(f.status)) return false;  // only the guest's traps
    g_seen.level = 3;
    g_seen.cause = f.cause;
    g_seen.epc = f.epc;
    g_seen.tval = f.tval;
    g_seen.status = f.status;
    clear<csr::mstatus>(ms::mpv::mask | ms::mprv::mask);
    abandon_lower(1);
}

bool s_handler(trap_frame& f) noexcept {
    if (!from_guest_code(f.epc)) return false;
    g_seen.level = 1;
    g_seen.cause = f.cause;
    g_seen.epc = f.epc;
    g_seen.tval = f.tval;
    g_seen.status = f.status;
    g_seen.hstatus = read<csr::hstatus>();
    (void)ecall(TESTFW_ECALL_EXIT, 1);  // ends the run from HS-mode
    return true;
}

/// HS-mode: the guest's CSRs, then sret into VS- or VU-mode at the access.
u64 enter_guest(u64) {
    write<csr::hedeleg>(g_request.hedeleg);
    write<csr::hgatp>(0);
    write<csr::vsatp>(0);
    write<csr::vstvec>(reinterpret_cast<u64>(pmp_guest_vs_vector));
    write<csr::vsstatus>(0);
    write<csr::hstatus>(read<csr::hstatus>() | hstatus_spv);
    if (g_request.to_user)
        clear<csr::sstatus>(sstatus_spp);
    else
        set<csr::sstatus>(sstatus_spp);
    const u64 entry = g_request.kind == access_kind::load    ? reinterpret_cast<u64>(pmp_guest_load)
                      : g_request.kind == access_kind::store ? reinterpret_cast<u64>(pmp_guest_store)
                                                        : reinterpret_cast<u64>(pmp_guest_fetch);
    write<csr::sepc>(entry);
    register u64 a0 asm("a0") = g_request.address;
    asm volatile("sret" ::"r"(a0) : "memory");
    return 0;
}

/// HS-mode: hedeleg and hstatus back to rest.
u64 disarm(u64) {
    write<csr::hedeleg>(0);
    clear<csr::hstatus>(hstatus_spv | hstatus_spvp | hstatus_gva);
    return 0;
}

/// The fault of an access of kind `k`: an access fault, or a guest-page fault.
u64 fault_of(access_kind k, bool guest_page) {
    if (guest_page)
        return static_cast<u64>(k == access_kind::load    ? exception::load_guest_page_fault
                                : k == access_kind::store ? exception::store_guest_page_fault
                                                          : exception::instruction_guest_page_fault);
    return static_cast<u64>(pmp::fault_of(k));
}

/// One access of the guest; checks where it went against the spec.
void attempt(bool to_user, u64 medeleg, u64 hedeleg, access_kind kind, unsigned page_index, unsigned offset) {
    const u8 rwx = perms_of(page_index);
    const bool allowed = pmp::permits(rwx, kind);
    const u64 address = page_at(page_index) + offset;
    write<csr::medeleg>(medeleg);
    g_request = {kind, address, to_user, hedeleg};
    g_seen = {};
    for (u64& v : pmp_guest_vs_seen) v = 0;
    (void)run_in(privilege::supervisor, enter_guest);
    (void)run_in(privilege::supervisor, disarm);
    write<csr::medeleg>(0);

    char what[96];
    format(what, sizeof what, "%s %s at page %u+%h (rwx %u), medeleg %b hedeleg %b", to_user ? "VU" : "VS",
           kind_name(kind), page_index, offset, unsigned{rwx}, medeleg != 0, hedeleg != 0);
    const u64 spp = to_user ? 0 : 1;
    if (allowed) {
        // The access ran; the ecall after it (or, for a fetch, the ecall at
        // the target) reaches M-mode as an environment call of the guest.
        const u64 ecall = static_cast<u64>(to_user ? exception::ecall_from_u : exception::ecall_from_vs);
        check(g_seen.level == 3 && g_seen.cause == ecall && pmp_guest_vs_seen[4] == 0,
              "%s: allowed, then its ecall in M-mode (level %u, %s)", what, g_seen.level, cause_name(g_seen.cause));
        return;
    }
    // The spec's fault (an access fault), or QEMU 7.2's for a guest's access
    // the PMP denies (a guest-page fault, deviations.hpp): each goes where
    // medeleg and hedeleg send that cause.
    const u64 spec_cause = fault_of(kind, false);
    const u64 qemu_cause = fault_of(kind, true);
    const bool vs_took = pmp_guest_vs_seen[4] != 0;
    const u64 cause = vs_took ? pmp_guest_vs_seen[0] : g_seen.cause;
    const u64 tval = vs_took ? pmp_guest_vs_seen[1] : g_seen.tval;
    const u64 epc = vs_took ? pmp_guest_vs_seen[2] : g_seen.epc;
    const u64 level = vs_took ? 2 : g_seen.level;
    const u64 wanted_epc = kind == access_kind::fetch ? address
                                                      : reinterpret_cast<u64>(kind == access_kind::load ? pmp_guest_load
                                                                                                        : pmp_guest_store);
    const bool known_cause = cause == spec_cause || cause == qemu_cause;
    const bool delegated = (medeleg >> cause & 1) != 0;
    const u64 wanted_level = !delegated ? 3 : (hedeleg >> cause & 1) != 0 ? 2 : 1;
    // The status bits each level records (H ext. 9.4.2, priv. 3.1.6.1).
    u64 a = 0, b = 0, c = 0;
    bool fields = false;
    const char* names = "";
    if (level == 2) {
        a = (pmp_guest_vs_seen[3] & sstatus_spp) != 0 ? 1 : 0;
        fields = a == spp;
        names = "vsstatus.SPP %u";
    } else if (level == 1) {
        a = (g_seen.hstatus & hstatus_spv) != 0 ? 1 : 0;
        b = (g_seen.hstatus & hstatus_spvp) != 0 ? 1 : 0;
        c = (g_seen.hstatus & hstatus_gva) != 0 ? 1 : 0;
        const u64 s_spp = (g_seen.status & sstatus_spp) != 0 ? 1 : 0;
        fields = a == 1 && b == spp && c == 1 && s_spp == spp;
        names = "hstatus.SPV %u SPVP %u GVA %u";
    } else if (level == 3) {
        a = ms::mpp::extract(g_seen.status);
        b = ms::mpv::extract(g_seen.status);
        c = (g_seen.status & mstatus_gva) != 0 ? 1 : 0;
        fields = a == spp && b == 1 && c == 1;
        names = "mstatus.MPP %u MPV %u GVA %u";
    }
    char state[48];
    format(state, sizeof state, names, a, b, c);
    constexpr const char* level_names[4] = {"nowhere", "HS-mode", "VS-mode", "M-mode"};
    check(known_cause && level == wanted_level && tval == address && epc == wanted_epc && fields,
          "%s: %s takes %s, tval page+%h, epc %s, %s%s", what, level_names[level & 3], cause_name(cause),
          tval - page_at(page_index), epc == wanted_epc ? "at the access" : "elsewhere", state,
          cause == qemu_cause ? " (qemu 7.2: H 9.5, a guest-page fault)" : "");
}

}  // namespace

void testfw::firmware_main() {
    if (!access::has_h()) {
        println("ok   no H extension: no guest to fault");
        return;
    }
    // Every page of the area: `li a0, 42` then `ecall` at +0x10 (the fetches' target).
    pmp::plant_code(area(), g_area.pages, encoding::ecall);
    write<csr::mideleg>(0);
    write<csr::mie>(0);
    write<csr::stvec>(s_trap_entry());  // HS-mode's handler: s_handler
    set_mtimecmp(0, ~u64{0});
    // Entries 0 .. n-2 one page each, n-1 the background (n: the entries the
    // hart has, 16 on QEMU, 8 under a monitor built for a U74's budget);
    // only pages 0-6 are tried, so every n gives the same transcript.
    pmp::reset();
    unsigned entries = 0;
    while (entries < pmp::entries) {
        pmp::write_addr(entries, ~u64{0} >> 10);
        if (pmp::read_addr(entries) == 0) break;
        pmp::write_addr(entries, 0);
        ++entries;
    }
    check(entries >= 8, "the hart has at least 8 PMP entries: %b", entries >= 8);
    for (unsigned i = 0; i + 1 < entries; ++i) {
        pmp::set(i, pmp::cfg_of(pmp::napot, perms_of(i)), pmp::napot_encode(page_at(i), page));
    }
    pmp::open_all(entries - 1);  // the background: everything else R W X for S and U
    set_m_handler(m_handler);
    set_s_handler(s_handler);

    struct routing {
        const char* title;
        u64 medeleg;
        u64 hedeleg;
    };
    constexpr routing routings[3] = {
        {"kept by medeleg: M-mode (priv. 3.1.8)", 0, 0},
        {"delegated by medeleg only: HS-mode (H ext. 9.4.2)", access_faults | guest_page_faults, 0},
        {"delegated by medeleg and hedeleg: VS-mode (H ext. 9.4.2)", access_faults | guest_page_faults, access_faults},
    };
    constexpr access_kind kinds[3] = {access_kind::load, access_kind::store, access_kind::fetch};
    for (const routing& r : routings) {
        section(r.title);
        constexpr bool guest_modes[2] = {false, true};  // VS, then VU
        for (const bool to_user : guest_modes) {
            // Pages 0-6 of the area, one entry each: every kind of access
            // in every page, so the slots keep changing under the monitor.
            for (unsigned i = 0; i < 7; ++i)
                for (const access_kind kind : kinds)
                    attempt(to_user, r.medeleg, r.hedeleg, kind, i, kind == access_kind::fetch ? 0x10 : 0x18 + 8 * i);
        }
    }
    set_m_handler(nullptr);
    set_s_handler(nullptr);
    pmp::reset();
    pmp::open_all(0);
}
