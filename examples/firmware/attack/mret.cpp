// SPDX-License-Identifier: MIT
// attack-mret: jumps into the monitor's memory with the return instructions
// (priv. 3.3.2): mret with MPP = M, S or U and sret from M-mode with SPP =
// S or U, to the first byte of the monitor's memory, one in its middle and
// its last halfword.
//
// The monitor's shared page is memory the firmware is given, and these
// fetches are the firmware's (or the mode it returns to) own: the same
// returns to code the firmware puts at the shared page's first byte and last
// halfword are controls, which must run as on bare hardware (compared
// lines), and so must code there that the monitor emulates (a CSR read in
// M-mode).
//
// Natively the firmware first puts code there (nothing guards that memory):
// it runs, in the mode the return chose, and reports with an ecall: real.
// Under a monitor the fetch must raise an instruction access fault (cause 1)
// with mepc = mtval = the address, in the mode the return chose: from
// vM-mode (MPP = M) to the firmware's own mtvec; from S or U as an exception
// of the OS, which medeleg does not delegate, so it too reaches the
// firmware's mtvec (under the sandbox policy, which keeps the OS's
// exceptions from the firmware, the OS's stvec gets it: also contained).
// The firmware then goes on in M-mode.
//
// The firmware first hands the machine to a small "OS" at 0x80200000 once
// (an ecall back), so that under the sandbox the handover is an ordinary
// one and the firmware's memory stays its own.
#include "testfw/attack.hpp"
#include "testfw/layout.h"
#include "testfw/testfw.hpp"

using namespace testfw;
using riscv::exception;

const char* const testfw::firmware_name = "attack-mret";
const char* const testfw::firmware_purpose = "mret and sret into the monitor's memory: the fetch faults";

namespace {

/// a7 of the report an S-mode trap handler makes with an ecall (a0 =
/// scause, a1 = stval, a2 = sepc, a3 and a4 = the a0 and a7 it found).
constexpr u64 s_report = 0x0a77'ac45;
constexpr u64 payload_value = 42;

}  // namespace

#define ATTACK_STR2(x) #x
#define ATTACK_STR(x) ATTACK_STR2(x)

extern "C" {
/// mret (which = 0) or sret (1) to `target` with `status` in mstatus; returns
/// at the continuation, whatever happened there.
void attack_xret(u64 target, u64 status, u64 which) noexcept;
extern char attack_xret_continue[];
extern char attack_s_entry[];
extern char attack_m_entry[];
u64 attack_xret_sp;
void testfw_m_trap(trap_frame* frame) noexcept;  // lib/trap.cpp
}

// attack_m_entry: the M-mode trap entry while the firmware jumps below M
// (mscratch = this hart's M-mode stack). The library's entry tells a trap
// from below by the interrupted sp, which the sandbox policy clears on a
// switch into the firmware (sandbox.cpp has the same entry); this one always
// takes the stack in mscratch and finds the hart's block from it. It runs the
// library's dispatcher with the library's entry in mtvec (for nested probes).
asm(".equ AX_REGION_SHIFT, " ATTACK_STR(TESTFW_REGION_SHIFT) "\n"
    ".equ AX_S_REPORT, " ATTACK_STR(0x0a77ac45) "\n"
    ".equ AX_FRAME, " ATTACK_STR(TESTFW_FRAME_SIZE) "\n"
    ".equ AX_EPC, " ATTACK_STR(TESTFW_FRAME_EPC) "\n"
    ".equ AX_STATUS, " ATTACK_STR(TESTFW_FRAME_STATUS) "\n"
    ".equ AX_CAUSE, " ATTACK_STR(TESTFW_FRAME_CAUSE) "\n"
    ".equ AX_TVAL, " ATTACK_STR(TESTFW_FRAME_TVAL) "\n"
    ".equ AX_VECTOR, " ATTACK_STR(TESTFW_FRAME_VECTOR) "\n"
    R"(
    .section .text.attack_entry, "ax", @progbits
    .balign 4
    .globl attack_m_entry
attack_m_entry:
    csrrw   sp, mscratch, sp
    addi    sp, sp, -AX_FRAME
    sd      x1, 8(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, (8 * \n)(sp)
    .endr
    csrrw   t0, mscratch, zero
    sd      t0, 16(sp)
    srli    tp, sp, AX_REGION_SHIFT
    slli    tp, tp, AX_REGION_SHIFT
    li      t0, -1
    sd      t0, AX_VECTOR(sp)
    csrr    t0, mepc
    sd      t0, AX_EPC(sp)
    csrr    t0, mstatus
    sd      t0, AX_STATUS(sp)
    csrr    t0, mcause
    sd      t0, AX_CAUSE(sp)
    csrr    t0, mtval
    sd      t0, AX_TVAL(sp)
    la      t0, testfw_trap_direct
    csrw    mtvec, t0
    mv      a0, sp
    call    testfw_m_trap
    la      t0, attack_m_entry
    csrw    mtvec, t0
    ld      t0, AX_EPC(sp)
    csrw    mepc, t0
    ld      t0, AX_STATUS(sp)
    csrw    mstatus, t0
    addi    t0, sp, AX_FRAME
    csrw    mscratch, t0
    ld      x1, 8(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\n, (8 * \n)(sp)
    .endr
    ld      sp, 16(sp)
    mret

    .balign 4
    .globl attack_xret
attack_xret:
    addi    sp, sp, -112
    sd      ra, 0(sp)
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11
    sd      s\n, (8 + 8 * \n)(sp)
    .endr
    sd      gp, 104(sp)
    la      t0, attack_xret_sp
    sd      sp, 0(t0)
    la      ra, attack_xret_continue
    csrw    mscratch, sp
    bnez    a2, 1f
    csrw    mepc, a0
    csrw    mstatus, a1
    li      a0, 0
    mret
1:  csrw    sepc, a0
    csrw    mstatus, a1
    li      a0, 0
    sret

    .balign 4
    .globl attack_xret_continue
attack_xret_continue:
    la      t0, attack_xret_sp
    ld      sp, 0(t0)
    srli    tp, sp, AX_REGION_SHIFT
    slli    tp, tp, AX_REGION_SHIFT
    csrw    mscratch, zero
    ld      ra, 0(sp)
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11
    ld      s\n, (8 + 8 * \n)(sp)
    .endr
    ld      gp, 104(sp)
    addi    sp, sp, 112
    ret

    # The OS's trap handler (stvec): reports the trap to the firmware.
    .balign 4
    .globl attack_s_entry
attack_s_entry:
    mv      a3, a0
    mv      a4, a7
    csrr    a0, scause
    csrr    a1, stval
    csrr    a2, sepc
    li      a7, AX_S_REPORT
    ecall
2:  j       2b
)");

namespace {

attack::targets g_t;

/// What the last jump did.
struct outcome_record {
    bool done;
    bool ran;        // the payload's ecall arrived
    u64 level;       // 3: the firmware's mtvec took it, 1: the OS's stvec
    u64 cause, epc, tval, mode;
    u64 value;
};
volatile bool g_pending;
outcome_record g_seen;

bool on_trap(trap_frame& f) noexcept {
    if (!g_pending || f.is_interrupt()) return false;
    outcome_record r{};
    r.done = true;
    const u64 code = f.code();
    const bool ecall = code == 8 || code == 9 || code == 11;
    if (ecall && f.x[17] == TESTFW_ECALL_EXIT) {
        r.ran = true;
        r.value = f.x[10];
        r.mode = code == 11 ? 3 : code == 9 ? 1 : 0;
        r.level = 3;
    } else if (ecall && f.x[17] == s_report && f.x[10] == 8 && f.x[14] == TESTFW_ECALL_EXIT) {
        // The code ran in U-mode and its ecall went to the OS (the sandbox keeps it from the firmware).
        r.ran = true;
        r.value = f.x[13];
        r.mode = 0;
        r.level = 1;
    } else if (ecall && f.x[17] == s_report) {
        r.level = 1;
        r.cause = f.x[10];
        r.tval = f.x[11];
        r.epc = f.x[12];
        r.mode = f.mpp() == 1 ? 1 : 0;  // the S handler ran in S; what trapped to it is in SPP, not reported
    } else {
        r.level = 3;
        r.cause = f.cause;
        r.epc = f.epc;
        r.tval = f.tval;
        r.mode = f.mpp();
    }
    g_seen = r;
    g_pending = false;
    // Back to M-mode at the continuation.
    f.epc = reinterpret_cast<u64>(attack_xret_continue);
    f.status = riscv::mstatus::mpp::insert(f.status, 3);
    return true;
}

/// The code the firmware puts at a target natively: a0 = 42, then the exit
/// ecall; with `emulated`, a0 = mhartid + 42 (hart 0), a CSR read a monitor
/// emulates for vM-mode.
void payload_words(u32 out[5], bool emulated = false) noexcept {
    out[0] = access::encode::i_type(0x13, 0, 10, 0, payload_value);  // addi a0, zero, 42
    const u64 exit = TESTFW_ECALL_EXIT;
    const u64 hi = (exit + 0x800) >> 12;
    out[1] = static_cast<u32>((hi << 12) | (17u << 7) | 0x37);               // lui a7, hi
    out[2] = access::encode::i_type(0x1b, 0, 17, 17, static_cast<u32>(exit & 0xfff));  // addiw a7, a7, lo
    out[3] = 0x0000'0073;                                                    // ecall
    out[4] = 0x0000'0013;                                                    // nop
    if (emulated) {
        for (unsigned i = 4; i > 0; --i) out[i] = out[i - 1];
        out[0] = access::encode::i_type(0x73, 2, 10, 0, 0xf14);                // csrr a0, mhartid
        out[1] = access::encode::i_type(0x13, 0, 10, 10, payload_value);       // addi a0, a0, 42
    }
}

/// c.j by `offset` (unpriv. 16.4).
[[nodiscard]] u16 c_j(i64 offset) noexcept {
    const u32 i = static_cast<u32>(offset);
    const u32 bits = (((i >> 11) & 1) << 12) | (((i >> 4) & 1) << 11) | (((i >> 8) & 3) << 9) | (((i >> 10) & 1) << 8) |
                     (((i >> 6) & 1) << 7) | (((i >> 7) & 1) << 6) | (((i >> 1) & 7) << 3) | (((i >> 5) & 1) << 2);
    return static_cast<u16>(0xa001 | bits);
}

/// Where the code goes for a jump to `target`: there, or (at a region's
/// last halfword) a c.j there back to the code 64 bytes before.
struct placement {
    u64 begin;     // first byte written
    u64 size;      // bytes written
    u8 saved[80];
    bool known;
};

placement place_payload(u64 target, bool last_halfword, bool emulated) noexcept {
    placement p{};
    p.begin = last_halfword ? target - 64 : target;
    p.size = last_halfword ? 66 : 20;
    p.known = attack::read_bytes(p.begin, static_cast<unsigned>(p.size), p.saved);
    u8 code[80] = {};
    u32 words[5];
    payload_words(words, emulated);
    for (unsigned i = 0; i < 20; ++i) code[i] = static_cast<u8>(words[i / 4] >> (8 * (i % 4)));
    if (last_halfword) {
        const u16 jump = c_j(-64);
        code[64] = static_cast<u8>(jump);
        code[65] = static_cast<u8>(jump >> 8);
    }
    (void)attack::write_bytes(p.begin, static_cast<unsigned>(p.size), code);
    asm volatile("fence.i" ::: "memory");
    return p;
}

void restore(const placement& p) noexcept {
    if (p.known) (void)attack::write_bytes(p.begin, static_cast<unsigned>(p.size), p.saved);
    asm volatile("fence.i" ::: "memory");
}

[[nodiscard]] const char* mode_name(u64 m) noexcept { return m == 3 ? "M" : m == 1 ? "S" : "U"; }

/// One jump: mret (MPP = mode) or sret (SPP = mode) to `target`, where the
/// firmware puts its code (`emulated`: one that reads mhartid).
attack::verdict jump(u64 target, bool last_halfword, bool sret, u64 mode, bool emulated = false) noexcept {
    namespace ms = riscv::mstatus;
    const placement p = place_payload(target, last_halfword, emulated);
    u64 status = read<csr::mstatus>();
    status = ms::mpie::insert(status, 0);
    status = ms::mie::insert(status, 0);
    status = ms::mprv::insert(status, 0);
    if (sret) {
        status = ms::spp::insert(status, mode == 1 ? 1 : 0);
        status = ms::spie::insert(status, 0);
    } else {
        status = ms::mpp::insert(status, mode);
    }
    write<csr::stvec>(reinterpret_cast<u64>(attack_s_entry));
    g_seen = {};
    g_pending = true;
    barrier();
    write<csr::mtvec>(reinterpret_cast<u64>(attack_m_entry));
    attack_xret(target, status, sret ? 1 : 0);
    write<csr::mtvec>(direct_mtvec());
    barrier();
    g_pending = false;
    restore(p);

    attack::verdict v;
    const char* how = sret ? "sret" : "mret";
    const outcome_record& r = g_seen;
    if (!r.done) {
        v.what = attack::outcome::wrong;
        format(v.detail, sizeof v.detail, "%s to %s at %h: back without a trap", how, mode_name(mode), target);
    } else if (r.ran) {
        v.what = r.value == payload_value && r.mode == mode ? attack::outcome::real : attack::outcome::wrong;
        format(v.detail, sizeof v.detail, "%s to %s at %h: the code there ran in %s-mode, a0 %u", how, mode_name(mode),
               target, mode_name(r.mode), r.value);
    } else {
        const bool fault = r.cause == static_cast<u64>(exception::instruction_access_fault) && r.tval == target &&
                           r.epc == target && (r.level == 1 || r.mode == mode);
        v.what = fault ? attack::outcome::contained : attack::outcome::wrong;
        format(v.detail, sizeof v.detail, "%s to %s at %h: %s from %s-mode at the %s, epc %h, tval %h", how,
               mode_name(mode), target, cause_name(r.cause), r.level == 1 ? "S/U" : mode_name(r.mode),
               r.level == 1 ? "OS's stvec (sandbox)" : "firmware's mtvec", r.epc, r.tval);
    }
    return v;
}

/// The small OS of the handover: the exit ecall at 0x80200000.
constexpr u64 os_entry = 0x8020'0000;

}  // namespace

void testfw::firmware_main() {
    g_t = attack::find_targets();
    pmp::reset();
    pmp::open_all(0);
    write<csr::medeleg>(0);

    u32 words[5];
    payload_words(words);
    for (unsigned i = 1; i < 4; ++i) mmio::write<u32>(os_entry + 4 * (i - 1), words[i]);
    asm volatile("fence.i" ::: "memory");
    write<csr::mtvec>(reinterpret_cast<u64>(attack_m_entry));
    const u64 back = run_in(privilege::supervisor, reinterpret_cast<lower_function>(os_entry), 0);
    write<csr::mtvec>(direct_mtvec());
    check(back == 0, "the handover: the OS at 0x80200000 ran and called back");

    set_m_handler(on_trap);
    struct target {
        u64 address;
        bool last_halfword;
    };
    const target targets[] = {
        {g_t.monitor.base, false},
        {g_t.monitor.base + g_t.monitor.size / 2, false},
        {g_t.monitor.end() - 2, true},
    };
    // The shared page: the firmware's to use, so a control.
    const target shared[] = {
        {g_t.shared.base, false},
        {g_t.shared.end() - 2, true},
    };
    const u64 modes[] = {3, 1, 0};
    for (const u64 mode : modes) {
        for (unsigned s = 0; s < 2; ++s) {
            const bool sret = s == 1;
            if (sret && mode == 3) continue;
            const char* how = sret ? "sret with SPP" : "mret with MPP";
            char d[160];
            format(d, sizeof d, "%s = %s to the monitor's first, middle and last halfwords", how, mode_name(mode));
            attack::group g(d);
            for (const target& t : targets) g.add(jump(t.address, t.last_halfword, sret, mode));
            g.finish();
            for (const target& t : shared) {
                const attack::verdict v = jump(t.address, t.last_halfword, sret, mode);
                check(v.what == attack::outcome::real, "%s = %s to code in the shared page's %s: %s", how,
                      mode_name(mode), t.last_halfword ? "last halfword" : "first byte",
                      v.what == attack::outcome::real ? "it runs there as on bare hardware" : v.detail);
            }
        }
    }
    for (const target& t : shared) {
        const attack::verdict v = jump(t.address, t.last_halfword, false, 3, true);
        check(v.what == attack::outcome::real,
              "mret with MPP = M to code in the shared page's %s that reads mhartid (emulated by a monitor): %s",
              t.last_halfword ? "last halfword" : "first byte",
              v.what == attack::outcome::real ? "it runs there as on bare hardware" : v.detail);
    }
    set_m_handler(nullptr);

    section("the firmware still runs");
    u64 sum = 0;
    for (u64 i = 0; i < 1000; ++i) sum += i;
    check(sum == 499500, "arithmetic and memory after all those faults: %u", sum);
}
