// SPDX-License-Identifier: MIT
// mret-modes: trap return and trap entry between M, S and U (priv. spec
// 3.1.6.1, 3.3.2). mret sets the privilege to MPP, MIE to MPIE, MPIE to 1,
// MPP to U (the least-privileged mode) and clears MPRV when it leaves M; a
// trap into M sets MPP to the previous mode, MPIE to MIE and MIE to 0. An
// ecall from S (cause 9) or U (cause 8) comes back with mepc at the ecall.
#include "testfw/testfw.hpp"

using namespace testfw;
using riscv::exception;
namespace ms = riscv::mstatus;

const char* const testfw::firmware_name = "mret-modes";
const char* const testfw::firmware_purpose = "mret into M, S and U and traps back (MPP, MPIE, MIE, MPRV)";

namespace {

probe g_result;

u64 lower_ecall(u64) {
    g_result = insn_probe<encoding::ecall>();
    return 0x600d;
}

/// mret from M to M (MPP = M) with the given MPIE; returns mstatus after.
u64 mret_to_m(u64 mpie) {
    u64 before = read<csr::mstatus>();
    before = ms::mpp::insert(before, 3);
    before = ms::mpie::insert(before, mpie);
    before = ms::mie::insert(before, 0);
    u64 after;
    asm volatile(
        "csrw mstatus, %1\n"
        "la t0, 1f\n"
        "csrw mepc, t0\n"
        "mret\n"
        "1: csrr %0, mstatus\n"
        "csrci mstatus, 8\n"
        : "=r"(after)
        : "r"(before)
        : "t0", "memory");
    return after;
}

void to_lower(privilege mode, exception cause, u64 mpie, bool mprv) {
    const char* m = name(mode);
    u64 st = read<csr::mstatus>();
    st = ms::mpie::insert(st, mpie);
    st = ms::mprv::insert(st, 0);
    write<csr::mstatus>(st);
    if (mprv) {
        // MPRV with MPP = M until testfw_run_lower sets MPP: no effect here.
        set<csr::mstatus>(ms::mpp::mask | ms::mprv::mask);
    }
    g_result = {};
    const u64 r = run_in(mode, lower_ecall);
    check(r == 0x600d, "mret into %s-mode ran the code and came back: %b", m, r == 0x600d);
    char what[64];
    format(what, sizeof what, "ecall in %s-mode (MPIE was %u%s)", m, mpie, mprv ? ", MPRV was 1" : "");
    expect_exception(g_result, cause, 0, 3, what);
    const u64 s = g_result.status;
    check(ms::mpp::extract(s) == static_cast<u64>(mode) && ms::mpie::extract(s) == mpie && ms::mie::extract(s) == 0,
          "after the trap from %s: MPP = %u, MPIE = %u (MIE in %s-mode), MIE = %u", m, ms::mpp::extract(s),
          ms::mpie::extract(s), m, ms::mie::extract(s));
    if (mprv) {
        deviation("3.1.6.3", ms::mprv::extract(s) == 0, ms::mprv::extract(s) == 1,
                  "mret into %s-mode cleared MPRV: %b", m, ms::mprv::extract(s) == 0);
    }
    clear<csr::mstatus>(ms::mprv::mask);
}

/// U-mode code entered with sret from S-mode ends with an exit ecall.
u64 user_after_sret(u64) { return 0x5e7; }

u64 supervisor_sret(u64) {
    // sstatus.SPP = U, SPIE = 1, SIE = 0; sepc = U code.
    u64 ss = read<csr::sstatus>();
    ss = ms::spp::insert(ss, 0);
    ss = ms::spie::insert(ss, 1);
    ss = ms::sie::insert(ss, 0);
    write<csr::sstatus>(ss);
    write<csr::sepc>(reinterpret_cast<u64>(&user_after_sret));
    asm volatile(
        "la ra, testfw_lower_return\n"
        "sret\n" ::
            : "ra", "memory");
    __builtin_unreachable();
}

u64 g_exit_cause;
u64 g_exit_status;
bool record_exit(trap_frame& f) {
    if (!f.is_interrupt() && f.x[17] == TESTFW_ECALL_EXIT) {
        g_exit_cause = f.cause;
        g_exit_status = f.status;
    }
    return false;
}

}  // namespace

void testfw::firmware_main() {
    pmp::reset();
    pmp::open_all(0);

    section("mret from M to M (priv. 3.3.2)");
    u64 after = mret_to_m(1);
    check(ms::mie::extract(after) == 1 && ms::mpie::extract(after) == 1 && ms::mpp::extract(after) == 0,
          "MPIE = 1: afterwards MIE = %u, MPIE = %u, MPP = %u", ms::mie::extract(after), ms::mpie::extract(after),
          ms::mpp::extract(after));
    after = mret_to_m(0);
    check(ms::mie::extract(after) == 0 && ms::mpie::extract(after) == 1 && ms::mpp::extract(after) == 0,
          "MPIE = 0: afterwards MIE = %u, MPIE = %u, MPP = %u", ms::mie::extract(after), ms::mpie::extract(after),
          ms::mpp::extract(after));

    section("mret into S-mode, ecall back (cause 9)");
    const bool s_mode = has_s_mode();
    if (s_mode) {
        to_lower(privilege::supervisor, exception::ecall_from_s, 1, false);
        to_lower(privilege::supervisor, exception::ecall_from_s, 0, false);
        to_lower(privilege::supervisor, exception::ecall_from_s, 0, true);
    } else {
        absent_here("S-mode");
    }

    section("mret into U-mode, ecall back (cause 8)");
    to_lower(privilege::user, exception::ecall_from_u, 1, false);
    to_lower(privilege::user, exception::ecall_from_u, 0, false);
    to_lower(privilege::user, exception::ecall_from_u, 1, true);

    section("sret from S into U, ecall from U to M (priv. 4.1.1)");
    if (!s_mode) {
        absent_here("S-mode");
        pmp::reset();
        return;
    }
    set_m_handler(record_exit);
    const u64 r = run_in(privilege::supervisor, supervisor_sret);
    set_m_handler(nullptr);
    check(r == 0x5e7, "the U-mode code ran: %b", r == 0x5e7);
    check(g_exit_cause == static_cast<u64>(exception::ecall_from_u) && ms::mpp::extract(g_exit_status) == 0,
          "its ecall: %s, MPP = %u", cause_name(g_exit_cause), ms::mpp::extract(g_exit_status));
    check(ms::spp::extract(g_exit_status) == 0 && ms::spie::extract(g_exit_status) == 1 &&
              ms::sie::extract(g_exit_status) == 1,
          "sret left SPP = %u, SPIE = %u, SIE = %u (SIE <- SPIE)", ms::spp::extract(g_exit_status),
          ms::spie::extract(g_exit_status), ms::sie::extract(g_exit_status));
    clear<csr::mstatus>(ms::sie::mask | ms::spie::mask);
    pmp::reset();
}
