// SPDX-License-Identifier: MIT
// ecall-ebreak: environment calls and breakpoints from M, S and U
// (priv. spec 3.3.1, 3.1.15, 3.1.16). ecall raises cause 11, 9 or 8 by the
// mode it runs in with mtval 0; ebreak and c.ebreak raise cause 3 with
// mtval 0 or the address of the instruction (whichever the hart reports);
// mepc is the instruction itself, and the handler resumes after it by its
// real length (4 or 2 bytes).
#include "testfw/testfw.hpp"

using namespace testfw;
using riscv::exception;

const char* const testfw::firmware_name = "ecall-ebreak";
const char* const testfw::firmware_purpose = "ecall, ebreak and c.ebreak from M-, S- and U-mode";

namespace {

probe g_result;

u64 lower_ecall(u64) {
    g_result = insn_probe<encoding::ecall>();
    return 1;
}
u64 lower_ebreak(u64) {
    g_result = insn_probe<encoding::ebreak>();
    return 1;
}
u64 lower_c_ebreak(u64) {
    g_result = insn16_probe<encoding::c_ebreak>();
    return 1;
}

bool expect_breakpoint(const probe& p, const char* what) {
    if (!p.trapped) return check(false, "%s: no trap, expected a breakpoint", what);
    const bool ok = p.count == 1 && p.level == 3 && p.cause == static_cast<u64>(exception::breakpoint) &&
                    p.epc == p.site && (p.tval == 0 || p.tval == p.site);
    return check(ok, "%s: %s at the instruction: %b, mtval is %s", what, cause_name(p.cause), p.epc == p.site,
                 p.tval == p.site ? "its address" : p.tval == 0 ? "0" : "neither 0 nor its address");
}

void from_mode(privilege mode, exception ecall_cause) {
    const char* m = name(mode);
    char what[48];
    g_result = {};
    if (mode == privilege::machine) {
        g_result = insn_probe<encoding::ecall>();
    } else {
        run_in(mode, lower_ecall);
    }
    format(what, sizeof what, "ecall in %s-mode", m);
    expect_exception(g_result, ecall_cause, 0, 3, what);
    check(g_result.trapped && riscv::mstatus::mpp::extract(g_result.status) == static_cast<u64>(mode),
          "ecall in %s-mode: mstatus.MPP = %u", m, riscv::mstatus::mpp::extract(g_result.status));

    g_result = {};
    if (mode == privilege::machine) {
        g_result = insn_probe<encoding::ebreak>();
    } else {
        run_in(mode, lower_ebreak);
    }
    format(what, sizeof what, "ebreak in %s-mode", m);
    expect_breakpoint(g_result, what);

    g_result = {};
    if (mode == privilege::machine) {
        g_result = insn16_probe<encoding::c_ebreak>();
    } else {
        run_in(mode, lower_c_ebreak);
    }
    format(what, sizeof what, "c.ebreak in %s-mode", m);
    expect_breakpoint(g_result, what);
}

}  // namespace

void testfw::firmware_main() {
    pmp::reset();
    pmp::open_all(0);
    section("M-mode (cause 11, 3)");
    from_mode(privilege::machine, exception::ecall_from_m);
    section("S-mode (cause 9, 3)");
    if (has_s_mode()) {
        from_mode(privilege::supervisor, exception::ecall_from_s);
    } else {
        absent_here("S-mode");
    }
    section("U-mode (cause 8, 3)");
    from_mode(privilege::user, exception::ecall_from_u);
    pmp::reset();
}
