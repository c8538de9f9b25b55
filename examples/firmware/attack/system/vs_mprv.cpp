// SPDX-License-Identifier: MIT
// attack-vs-mprv: an OS turns M-mode's accesses into its own (docs/security.md,
// "QEMU 7.2 turns vsstatus bit 17 into mstatus.MPRV").
//
// On QEMU 7.2 with the H extension, vsstatus keeps bit 17 (WPRI in the spec,
// priv. 8.2.11), and while V = 1 that bit is mstatus.MPRV: a trap from VS- or
// VU-mode into M-mode arrives with MPRV = 1, MPP = S or U and MPV = 1, so the
// M-mode handler's own loads and stores go through the guest's two-stage
// translation and the PMP with the guest's privilege (priv. 3.1.6.3). The OS
// sets that bit from HS-mode and enters VS-mode by sret, neither of which a
// monitor sees; a monitor whose trap vector stores before clearing MPRV then
// faults on its own memory (a denial of service) or, with vsatp/hgatp mapping
// its addresses elsewhere, works on memory the OS controls.
//
// Each attempt: in HS-mode write vsstatus = bit 17 (with SPP as the entry
// needs), hstatus.SPV = 1, sret into VS- or VU-mode at code that traps into
// M-mode (ecall with medeleg clear, an illegal instruction). Natively the
// firmware's handler sees MPRV = 1 in mstatus (its accesses worked only
// because hgatp and vsatp are Bare and PMP entry 0 lets S and U reach
// everything): real. Under a monitor the trap must reach the firmware's
// mtvec as any trap of the OS's world does, with the virtual mstatus.MPRV
// clear (bit 17 of vsstatus is not MPRV in vM-mode's view), or, under the
// sandbox policy, the OS's stvec: contained; and the monitor keeps running
// (an ordinary S-mode run afterwards is compared with the native run).
#include "common.hpp"

using namespace testfw;
namespace ms = riscv::mstatus;
using riscv::exception;
using atk::outcome;
using atk::verdict;

const char* const testfw::firmware_name = "attack-vs-mprv";
const char* const testfw::firmware_purpose = "vsstatus bit 17 as mstatus.MPRV at a trap from VS/VU into M-mode";

extern "C" {
extern char attack_vs_ecall[];
extern char attack_vs_illegal[];
}

// The code the guest runs: an ecall, or an all-zero word (illegal, unpriv.
// 26.1); each spins if it ever returns, which no handler lets it do.
asm(R"(
    .section .text.attack_vs, "ax", @progbits
    .balign 4
    .globl attack_vs_ecall
attack_vs_ecall:
    ecall
1:  j 1b
    .globl attack_vs_illegal
attack_vs_illegal:
    .4byte 0
1:  j 1b
)");

namespace {

constexpr u64 mprv_bit = u64{1} << 17;   // mstatus.MPRV; vsstatus bit 17 is WPRI
constexpr u64 hstatus_spv = u64{1} << 7;  // priv. 8.2.1
constexpr u64 sstatus_spp = u64{1} << 8;

/// What one attempt asks the HS-mode part to do.
struct request {
    u64 target;        ///< where sret lands in the guest
    bool to_user;      ///< VU-mode (SPP = 0) rather than VS-mode
};
request g_request;

/// What the handler saw.
struct seen {
    volatile u64 count;
    volatile u64 level;  ///< 3 = M-mode took the trap, 1 = S-mode
    volatile u64 cause;
    volatile u64 status;
    volatile u64 epc;
};
seen g_seen;

bool take_trap(trap_frame& f, u64 level) noexcept {
    g_seen.count = g_seen.count + 1;
    g_seen.level = level;
    g_seen.cause = f.cause;
    g_seen.status = f.status;
    g_seen.epc = f.epc;
    return true;
}

bool m_handler(trap_frame& f) noexcept {
    if (f.epc != reinterpret_cast<u64>(attack_vs_ecall) && f.epc != reinterpret_cast<u64>(attack_vs_illegal))
        return false;
    (void)take_trap(f, 3);
    // Back to plain M-mode accesses and to non-virtualized returns before
    // anything else (natively MPRV is still set here).
    clear<csr::mstatus>(ms::mprv::mask | ms::mpv::mask);
    abandon_lower(1);
}

bool s_handler(trap_frame& f) noexcept {
    if (f.epc != reinterpret_cast<u64>(attack_vs_ecall) && f.epc != reinterpret_cast<u64>(attack_vs_illegal))
        return false;
    (void)take_trap(f, 1);
    (void)ecall(TESTFW_ECALL_EXIT, 1);  // ends the run from S-mode
    return true;
}

/// HS-mode: arm vsstatus and hstatus, then sret into the guest.
u64 enter_guest(u64) {
    write<csr::vsstatus>(mprv_bit | (g_request.to_user ? 0 : sstatus_spp));
    write<csr::hstatus>(read<csr::hstatus>() | hstatus_spv);
    if (g_request.to_user)
        clear<csr::sstatus>(sstatus_spp);
    else
        set<csr::sstatus>(sstatus_spp);
    write<csr::sepc>(g_request.target);
    asm volatile("sret" ::: "memory");
    return 0;
}

/// HS-mode: put vsstatus and hstatus.SPV back.
u64 disarm(u64) {
    write<csr::vsstatus>(0);
    clear<csr::hstatus>(hstatus_spv);
    return 0;
}

verdict attempt(const char* what, u64 target, bool to_user, exception expected) {
    g_request = {target, to_user};
    g_seen = {};
    (void)atk::run_lower(privilege::supervisor, enter_guest);
    (void)atk::run_lower(privilege::supervisor, disarm);
    verdict v;
    const bool at_target = g_seen.epc == target && g_seen.cause == static_cast<u64>(expected);
    if (g_seen.count != 1 || !at_target) {
        v.what = outcome::wrong;
        format(v.detail, sizeof v.detail, "%s: %u traps, last cause %s at %h", what, g_seen.count,
               cause_name(g_seen.cause), g_seen.epc);
    } else if (g_seen.level == 1) {
        v.what = outcome::contained;  // the sandbox gives the OS's exceptions to stvec
        format(v.detail, sizeof v.detail, "%s: %s taken in S-mode", what, cause_name(g_seen.cause));
    } else if ((g_seen.status & ms::mprv::mask) != 0) {
        v.what = outcome::real;
        format(v.detail, sizeof v.detail, "%s: %s in M-mode with mstatus.MPRV = 1 (MPP %u, MPV %u)", what,
               cause_name(g_seen.cause), ms::mpp::extract(g_seen.status), ms::mpv::extract(g_seen.status));
    } else {
        const bool from_guest = ms::mpv::extract(g_seen.status) == 1 &&
                                ms::mpp::extract(g_seen.status) == (to_user ? 0u : 1u);
        v.what = from_guest ? outcome::contained : outcome::wrong;
        format(v.detail, sizeof v.detail, "%s: %s in M-mode with mstatus.MPRV = 0 (MPP %u, MPV %u)", what,
               cause_name(g_seen.cause), ms::mpp::extract(g_seen.status), ms::mpv::extract(g_seen.status));
    }
    return v;
}

u64 s_plain(u64 value) { return value + 1; }

}  // namespace

void testfw::firmware_main() {
    (void)testfw::attack::find_targets();
    pmp::reset();
    pmp::open_all(0);
    write<csr::medeleg>(0);
    write<csr::mideleg>(0);
    write<csr::mie>(0);
    set_mtimecmp(0, ~u64{0});
    atk::hand_over_once();

    if (!access::has_h()) {
        println("ok   no H extension: no VS-mode to attack from");
        return;
    }
    section("vsstatus bit 17 at a trap from the guest into M-mode");
    set_m_handler(m_handler);
    set_s_handler(s_handler);
    atk::group g("an OS's vsstatus bit 17, then a trap from VS or VU into M-mode: M-mode's MPRV");
    g.add(attempt("VS-mode ecall", reinterpret_cast<u64>(attack_vs_ecall), false, exception::ecall_from_vs));
    g.add(attempt("VS-mode illegal instruction", reinterpret_cast<u64>(attack_vs_illegal), false,
                  exception::illegal_instruction));
    g.add(attempt("VU-mode ecall", reinterpret_cast<u64>(attack_vs_ecall), true, exception::ecall_from_u));
    g.add(attempt("VU-mode illegal instruction", reinterpret_cast<u64>(attack_vs_illegal), true,
                  exception::illegal_instruction));
    (void)g.finish();
    set_m_handler(nullptr);
    set_s_handler(nullptr);

    // The monitor still works: an ordinary S-mode run and its result.
    const u64 value = atk::run_lower(privilege::supervisor, s_plain, 41);
    check(value == 42, "an S-mode run after the attempts returns %u", value);
}
