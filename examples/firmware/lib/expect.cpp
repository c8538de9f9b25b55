// SPDX-License-Identifier: MIT
// Checks on probes.
#include "testfw/expect.hpp"

namespace testfw {

const char* cause_name(u64 mcause) noexcept {
    if (mcause >> 63) {
        switch (mcause & ~(u64{1} << 63)) {
            case 1: return "supervisor software interrupt";
            case 2: return "virtual supervisor software interrupt";
            case 3: return "machine software interrupt";
            case 5: return "supervisor timer interrupt";
            case 6: return "virtual supervisor timer interrupt";
            case 7: return "machine timer interrupt";
            case 9: return "supervisor external interrupt";
            case 10: return "virtual supervisor external interrupt";
            case 11: return "machine external interrupt";
            case 12: return "supervisor guest external interrupt";
            case 13: return "counter overflow interrupt";
            default: return "unknown interrupt";
        }
    }
    switch (mcause) {
        case 0: return "instruction address misaligned";
        case 1: return "instruction access fault";
        case 2: return "illegal instruction";
        case 3: return "breakpoint";
        case 4: return "load address misaligned";
        case 5: return "load access fault";
        case 6: return "store address misaligned";
        case 7: return "store access fault";
        case 8: return "ecall from U-mode";
        case 9: return "ecall from S-mode";
        case 10: return "ecall from VS-mode";
        case 11: return "ecall from M-mode";
        case 12: return "instruction page fault";
        case 13: return "load page fault";
        case 15: return "store page fault";
        case 20: return "instruction guest-page fault";
        case 21: return "load guest-page fault";
        case 22: return "virtual instruction";
        case 23: return "store guest-page fault";
        default: return "unknown exception";
    }
}

namespace {
const char* level_name(u64 level) noexcept { return level == 3 ? "M" : level == 1 ? "S" : "?"; }
}  // namespace

bool expect_no_trap(const probe& p, const char* what) noexcept {
    if (!p.trapped) return check(true, "%s: no trap", what);
    return check(false, "%s: unexpected %s (cause %h) in %s-mode, tval %x", what, cause_name(p.cause), p.cause,
                 level_name(p.level), p.tval);
}

bool expect_illegal(const probe& p, u32 bits, const char* what) noexcept {
    if (!p.trapped) return check(false, "%s: no trap, expected an illegal instruction", what);
    const bool ok = p.count == 1 && p.level == 3 && p.cause == 2 && p.epc == p.site && (p.tval == 0 || p.tval == bits);
    return check(ok, "%s: %s, taken in %s-mode, epc at the instruction: %b, mtval %x", what, cause_name(p.cause),
                 level_name(p.level), p.epc == p.site, p.tval);
}

bool expect_exception(const probe& p, riscv::exception cause, u64 tval, u64 level, const char* what) noexcept {
    const u64 c = static_cast<u64>(cause);
    if (!p.trapped) return check(false, "%s: no trap, expected %s", what, cause_name(c));
    const bool ok = p.count == 1 && p.level == level && p.cause == c && p.epc == p.site && p.tval == tval;
    return check(ok, "%s: %s, taken in %s-mode, epc at the instruction: %b, tval %x", what, cause_name(p.cause),
                 level_name(p.level), p.epc == p.site, p.tval);
}

}  // namespace testfw
