// SPDX-License-Identifier: MIT
// illegal: illegal-instruction exceptions (priv. spec 3.1.15, 3.1.16): a
// reserved 32-bit opcode, the all-zero 16-bit instruction, a reserved
// compressed encoding, a 32-bit one that is only 2-byte aligned, floating
// point with mstatus.FS = Off, and privileged instructions and CSRs used
// below their privilege. mepc is the instruction and mtval is 0 or the
// instruction bits (the hart's choice, printed).
#include "testfw/testfw.hpp"

using namespace testfw;

const char* const testfw::firmware_name = "illegal";
const char* const testfw::firmware_purpose = "illegal instructions in M-, S- and U-mode and their mtval";

namespace {

namespace ms = riscv::mstatus;

/// custom-0 major opcode with all other bits zero (unpriv. spec table 24.1).
constexpr u32 custom0 = 0x0000'000b;
/// c.addiw x0, 0: reserved on RV64 (unpriv. spec 16.5).
constexpr u16 c_addiw_x0 = 0x2001;
/// fadd.s f0, f0, f0 (rm = RNE).
constexpr u32 fadd_s = 0x0000'0053;
/// csrr a0, mstatus / sstatus / satp.
constexpr u32 csrr_mstatus = 0x3000'2573;
constexpr u32 csrr_sstatus = 0x1000'2573;
constexpr u32 csrr_satp = 0x1800'2573;

probe g_result;

template <u32 Insn>
u64 lower_insn(u64) {
    g_result = insn_probe<Insn>();
    return 1;
}

template <u32 Insn>
void in_mode(privilege mode, const char* what) {
    g_result = {};
    run_in(mode, lower_insn<Insn>);
    char text[64];
    format(text, sizeof text, "%s in %s-mode", what, name(mode));
    expect_illegal(g_result, Insn, text);
}

}  // namespace

void testfw::firmware_main() {
    pmp::reset();
    pmp::open_all(0);

    section("reserved encodings in M-mode");
    expect_illegal(insn_probe<custom0>(), custom0, "custom-0 opcode 0x0000000b");
    expect_illegal(insn_probe_halfword_aligned<custom0>(), custom0, "custom-0 opcode at a 2-byte boundary");
    expect_illegal(insn16_probe<0x0000>(), 0, "the all-zero 16-bit instruction");
    expect_illegal(insn16_probe<c_addiw_x0>(), c_addiw_x0, "c.addiw x0 (reserved on RV64)");

    if (read<csr::misa>() & riscv::misa::extension('F')) {
        section("floating point and mstatus.FS (priv. 3.1.6.6)");
        clear<csr::mstatus>(ms::fs::mask);
        expect_illegal(insn_probe<fadd_s>(), fadd_s, "fadd.s with mstatus.FS = Off");
        set<csr::mstatus>(ms::fs::make(1));
        expect_no_trap(insn_probe<fadd_s>(), "fadd.s with mstatus.FS = Initial");
        const u64 st = read<csr::mstatus>();
        check(ms::fs::extract(st) == 3 && ms::sd::test(st), "fadd.s made mstatus.FS Dirty (%u) and set SD: %b",
              ms::fs::extract(st), ms::sd::test(st));
        clear<csr::mstatus>(ms::fs::mask);
    }

    section("S-mode");
    if (!has_s_mode()) {
        absent_here("S-mode");
    } else {
        in_mode<encoding::mret>(privilege::supervisor, "mret");
        in_mode<csrr_mstatus>(privilege::supervisor, "csrr mstatus");
        in_mode<custom0>(privilege::supervisor, "custom-0 opcode");
        set<csr::mstatus>(ms::tvm::mask);
        in_mode<encoding::sfence_vma>(privilege::supervisor, "sfence.vma with mstatus.TVM = 1");
        in_mode<csrr_satp>(privilege::supervisor, "csrr satp with mstatus.TVM = 1");
        clear<csr::mstatus>(ms::tvm::mask);
        set<csr::mstatus>(ms::tsr::mask);
        in_mode<encoding::sret>(privilege::supervisor, "sret with mstatus.TSR = 1");
        clear<csr::mstatus>(ms::tsr::mask);
    }

    section("U-mode");
    in_mode<encoding::mret>(privilege::user, "mret");
    in_mode<encoding::sret>(privilege::user, "sret");
    in_mode<csrr_sstatus>(privilege::user, "csrr sstatus");
    in_mode<csrr_mstatus>(privilege::user, "csrr mstatus");
    in_mode<encoding::sfence_vma>(privilege::user, "sfence.vma");
    if (has_s_mode()) {
        in_mode<encoding::wfi>(privilege::user, "wfi");
    } else {
        // Without S-mode, wfi in U-mode with TW = 0 may wait (priv. 3.1.6.5;
        // the wfi firmware tests that): here with TW = 1.
        set<csr::mstatus>(ms::tw::mask);
        in_mode<encoding::wfi>(privilege::user, "wfi with mstatus.TW = 1");
        clear<csr::mstatus>(ms::tw::mask);
    }
    in_mode<custom0>(privilege::user, "custom-0 opcode");
    pmp::reset();
}
