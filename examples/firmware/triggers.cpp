// SPDX-License-Identifier: MIT
// triggers: the debug triggers M-mode software programs (Sdtrig, Debug spec
// 1.0 ch. 5). tselect picks a trigger (WARL, 5.7.1); tdata1 (5.7.2-5.7.4)
// gives its type and, for mcontrol (2) and mcontrol6 (6), what it matches
// (execute 2, store 1, load 0) in which modes (m 6, s 4, u 3; vs 24, vu 23);
// tdata2 the address; tinfo (5.7.10) the types. A trigger that fires with
// action 0 raises a breakpoint exception (cause 3) before the instruction or
// access (priv. 3.1.15), in the mode its trap goes to. What this firmware
// prints depends on the hart only: it must be the same natively and under a
// monitor. It never writes tdata1 types 1 or 8 to 14 (QEMU 7.2 aborts on them).
#include "testfw/attack.hpp"
#include "testfw/testfw.hpp"

using namespace testfw;

const char* const testfw::firmware_name = "triggers";
const char* const testfw::firmware_purpose = "debug triggers (Sdtrig): CSRs, execute/load/store breakpoints by mode";

namespace {

constexpr u16 tselect = 0x7a0;
constexpr u16 tdata1 = 0x7a1;
constexpr u16 tdata2 = 0x7a2;
constexpr u16 tdata3 = 0x7a3;
constexpr u16 tinfo = 0x7a4;
constexpr u16 tcontrol = 0x7a5;
constexpr u16 mcontext = 0x7a8;

constexpr u64 type2 = u64{2} << 60;
constexpr u64 type6 = u64{6} << 60;
constexpr u64 bit(unsigned n) { return u64{1} << n; }
constexpr u64 m_bit = bit(6), s_bit = bit(4), u_bit = bit(3);
constexpr u64 execute = bit(2), store = bit(1), load = bit(0);

unsigned g_count = 0;

/// The watched data, away from what the handlers touch (a watch covers 8 bytes).
alignas(64) volatile u64 g_words[32] = {};
volatile u64& g_word = g_words[0];
volatile u64 g_hits = 0;
volatile u64 g_cause = 0;
volatile u64 g_epc = 0;
volatile u64 g_tval = 0;
volatile u64 g_mpp = 0;
volatile u64 g_level = 0;

/// Every trigger off (type 2 with no mode: QEMU 7.2 ignores a write of 0).
void disarm_all() {
    const u64 selected = csrr<tselect>();
    for (unsigned i = 0; i < g_count; ++i) {
        csrw<tselect>(i);
        csrw<tdata1>(type2);
    }
    csrw<tselect>(selected);
}

/// M-mode: a breakpoint exception is recorded and every trigger disarmed, so
/// that the instruction runs when the handler returns to it.
bool on_m_breakpoint(trap_frame& f) {
    if (f.cause != 3) return false;
    g_hits = g_hits + 1;
    g_cause = f.cause;
    g_epc = f.epc;
    g_tval = f.tval;
    g_mpp = f.mpp();
    g_level = 3;
    disarm_all();
    return true;
}

/// S-mode (medeleg[3] set): S cannot reach the triggers; skip the instruction.
bool on_s_breakpoint(trap_frame& f) {
    if (f.cause != 3) return false;
    g_hits = g_hits + 1;
    g_cause = f.cause;
    g_epc = f.epc;
    g_tval = f.tval;
    g_level = 1;
    skip_instruction(f);
    return true;
}

void reset_hits() {
    g_hits = 0;
    g_cause = 0;
    g_epc = 0;
    g_tval = 0;
    g_mpp = 0;
    g_level = 0;
}

[[gnu::noinline]] u64 watched_function(u64 a) {
    asm volatile("nop");
    return a + 1;
}
u64 (*volatile g_function)(u64) = &watched_function;

/// One load of `w` (a volatile read the compiler keeps).
void touch(const volatile u64& w) {
    const u64 v = w;
    asm volatile("" ::"r"(v));
}

u64 lower_load(u64 address) { return *reinterpret_cast<volatile u64*>(address); }
u64 lower_store(u64 address) {
    *reinterpret_cast<volatile u64*>(address) = 0x55;
    return 0;
}
u64 lower_call(u64) { return g_function(41); }

/// Arms trigger `index` with `control` at `address`.
void arm(unsigned index, u64 control, u64 address) {
    csrw<tselect>(index);
    csrw<tdata2>(address);
    csrw<tdata1>(control);
}

const char* where(u64 level) { return level == 3 ? "M" : level == 1 ? "S" : "-"; }

/// One breakpoint check: `expected` hits, taken in `level`.
void expect_hits(const char* what, u64 expected, u64 level, u64 epc) {
    check(g_hits == expected && (expected == 0 || (g_cause == 3 && g_level == level && g_epc == epc)),
          "%s: %u breakpoint(s), taken in %s, epc at the instruction %b, mtval %x", what, g_hits, where(g_level),
          g_epc == epc, g_tval);
}

void discovery() {
    section("tselect, tinfo, tdata (5.7.1, 5.7.2, 5.7.10)");
    const u16 numbers[] = {tselect, tdata1, tdata2, tdata3, tinfo};
    for (const u16 n : numbers) {
        const probe p = csr_probe_in<tselect, 5>(n, csr_op::read);
        note("csr %h: %s", n, p.trapped ? "absent (illegal instruction)" : "present");
    }
    expect_illegal(csr_probe<tcontrol>(csr_op::read), csr_encoding(csr_op::read, tcontrol),
                   "tcontrol (QEMU 7.2 has none)");
    expect_illegal(csr_probe<mcontext>(csr_op::read), csr_encoding(csr_op::read, mcontext),
                   "mcontext (QEMU 7.2 has none)");
    for (g_count = 0; g_count < 16; ++g_count) {
        csrw<tselect>(g_count);
        if (csrr<tselect>() != g_count) break;
        if ((csrr<tinfo>() & 0xffff) == 1 || (csrr<tdata1>() >> 60) == 0) break;
    }
    note("triggers: %u", g_count);
    for (unsigned i = 0; i < g_count; ++i) {
        csrw<tselect>(i);
        note("trigger %u: tinfo %x tdata1 %x tdata2 %x tdata3 %x", i, csrr<tinfo>(), csrr<tdata1>(), csrr<tdata2>(),
             csrr<tdata3>());
    }
    csrw<tselect>(1);
    const u64 selects[] = {2, 16, ~u64{0}};
    for (const u64 v : selects) {
        csrw<tselect>(v);
        note("tselect <- %x reads %x", v, csrr<tselect>());
    }
    csrw<tselect>(0);
    const probe w = csr_probe<tinfo>(csr_op::write, 0);
    note("tinfo <- 0: %s, reads %x", w.trapped ? "illegal instruction" : "no trap", csrr<tinfo>());
}

void warl() {
    section("tdata1 as written (5.7.2-5.7.4; never types 1, 8-14)");
    csrw<tselect>(0);
    const u64 rest = ~(u64{0xf} << 60);
    const u64 values[] = {type2 | rest,
                          type6 | rest,
                          type2 | bit(59) | m_bit | execute,      // dmode: Debug Mode only
                          type2 | (u64{1} << 12) | m_bit | load,  // action 1: Debug Mode
                          type2 | bit(11) | m_bit | load,         // chain
                          type2 | (u64{2} << 7) | m_bit | load,   // match 2 (>=)
                          (u64{3} << 60) | rest,                  // icount
                          (u64{4} << 60) | rest,                  // itrigger
                          (u64{5} << 60) | rest,                  // etrigger
                          (u64{7} << 60) | rest,                  // tmexttrigger
                          u64{15} << 60,                          // disabled
                          0};
    for (const u64 v : values) {
        csrw<tdata1>(type2 | m_bit | s_bit | u_bit);
        csrw<tdata1>(v);
        note("tdata1 <- %x (after type 2, m s u) reads %x", v, csrr<tdata1>());
    }
    csrw<tdata1>(type2);
    csrw<tdata2>(~u64{0});
    note("tdata2 <- ~0 reads %x", csrr<tdata2>());
    const probe p = csr_probe<tdata3>(csr_op::write, ~u64{0});
    note("tdata3 <- ~0: %s, reads %x", p.trapped ? "illegal" : "no trap", csrr<tdata3>());
    csrw<tdata3>(0);
    csrw<tdata2>(0);
}

void machine_mode() {
    section("breakpoints in M-mode (m = 1)");
    const u64 function = reinterpret_cast<u64>(&watched_function);
    const u64 word = reinterpret_cast<u64>(&g_word);
    const u64 types[] = {type2, type6};
    for (const u64 type : types) {
        const char* t = type == type2 ? "mcontrol" : "mcontrol6";
        char what[64];
        reset_hits();
        arm(0, type | m_bit | execute, function);
        const u64 r = g_function(1);
        format(what, sizeof what, "%s execute, m", t);
        expect_hits(what, 1, 3, function);
        check(r == 2 && g_mpp == 3, "%s: the function then ran (%u), MPP = %u", what, r, g_mpp);

        reset_hits();
        arm(1, type | m_bit | load, word);
        const u64 v = g_word;
        (void)v;
        format(what, sizeof what, "%s load, m (trigger 1)", t);
        check(g_hits == 1 && g_cause == 3 && g_level == 3, "%s: %u breakpoint(s) in %s, mtval %x", what, g_hits,
              where(g_level), g_tval);

        reset_hits();
        arm(0, type | m_bit | store, word);
        g_word = 7;
        format(what, sizeof what, "%s store, m", t);
        check(g_hits == 1 && g_word == 7, "%s: %u breakpoint(s) in %s, then stored %u, mtval %x", what, g_hits,
              where(g_level), g_word, g_tval);
    }

    reset_hits();
    arm(0, type2 | s_bit | u_bit | execute | load | store, word);
    arm(1, type6 | s_bit | u_bit | bit(24) | bit(23) | execute, function);
    g_word = g_word + 1;
    (void)g_function(1);
    check(g_hits == 0, "triggers for S, U, VS, VU only: no breakpoint in M-mode (%u)", g_hits);

    reset_hits();
    arm(0, type2 | m_bit | load, word + 64);
    arm(1, type2 | m_bit | store, word + 128);
    touch(g_words[16]);
    g_words[8] = 1;
    g_word = g_word + 1;
    check(g_hits == 0, "other addresses: no breakpoint (%u)", g_hits);
    disarm_all();

    reset_hits();
    arm(0, type2 | bit(11) | m_bit | load, word);  // chained with trigger 1 where the hart chains
    arm(1, type2 | m_bit | load, word + 8);
    csrw<tselect>(0);
    note("chain: trigger 0 reads %x", csrr<tdata1>());
    touch(g_word);
    note("chain: a load of trigger 0's address alone: %u breakpoint(s)", g_hits);
    disarm_all();
}

void lower_modes() {
    section("breakpoints in S- and U-mode (s, u), taken in M-mode");
    const u64 word = reinterpret_cast<u64>(&g_word);
    const u64 function = reinterpret_cast<u64>(&watched_function);
    struct row {
        const char* what;
        privilege mode;
        u64 control;
        u64 (*fn)(u64);
        u64 expected;
    } rows[] = {
        {"S load, s = 1", privilege::supervisor, type2 | s_bit | load, lower_load, 1},
        {"S load, u = 1 only", privilege::supervisor, type2 | u_bit | load, lower_load, 0},
        {"S load, m = 1 only", privilege::supervisor, type2 | m_bit | load, lower_load, 0},
        {"S store, s = 1 (mcontrol6)", privilege::supervisor, type6 | s_bit | store, lower_store, 1},
        {"S execute, s = 1", privilege::supervisor, type2 | s_bit | execute, lower_call, 1},
        {"U load, u = 1", privilege::user, type2 | u_bit | load, lower_load, 1},
        {"U load, s = 1 and m = 1", privilege::user, type2 | s_bit | m_bit | load, lower_load, 0},
        {"U execute, u = 1 (mcontrol6)", privilege::user, type6 | u_bit | execute, lower_call, 1},
        {"U store, vu = 1 only (mcontrol6)", privilege::user, type6 | bit(23) | store, lower_store, 0},
    };
    // Without S-mode, the S rows: one line (QEMU 7.2's E51 would enter an
    // S-mode it does not have: mstatus.MPP keeps 1, deviations.hpp).
    const bool s_mode = has_s_mode();
    if (!s_mode) absent_here("S-mode");
    for (const row& r : rows) {
        if (r.mode == privilege::supervisor && !s_mode) continue;
        reset_hits();
        arm(1, r.control, r.fn == lower_call ? function : word);
        (void)run_in(r.mode, r.fn, word);
        check(g_hits == r.expected && (r.expected == 0 || (g_level == 3 && g_mpp == static_cast<u64>(r.mode))),
              "%s: %u breakpoint(s), taken in %s from MPP %u, mtval %x", r.what, g_hits, where(g_level), g_mpp,
              g_tval);
        disarm_all();
    }

    section("delegated (medeleg[3] = 1): taken in S-mode");
    if (!has_s_mode()) {
        absent_here("S-mode");
        return;
    }
    set_s_handler(on_s_breakpoint);
    write<csr::stvec>(s_trap_entry());
    csrs<0x302>(bit(3));
    reset_hits();
    arm(0, type2 | s_bit | load, word);
    (void)run_in(privilege::supervisor, lower_load, word);
    check(g_hits == 1 && g_level == 1 && g_cause == 3, "S load, s = 1: %u breakpoint(s), taken in %s, stval %x",
          g_hits, where(g_level), g_tval);
    reset_hits();
    touch(g_word);  // M-mode: the trigger is S's only
    check(g_hits == 0, "the same trigger, an M-mode load: no breakpoint (%u)", g_hits);
    disarm_all();
    csrc<0x302>(bit(3));
    set_s_handler(nullptr);
}

/// Attacks on a monitor below the firmware (docs/triggers.md): every trigger
/// asks for everything (all bits but the type: m, s, u, execute, load,
/// store, dmode, action 1, chain) at each word of the first 16 KiB of the
/// monitor's region (its trap vectors), and the firmware then traps into the
/// monitor (a CSR access it emulates) and calls it (ecall). A monitor that let
/// one fire in M-mode would stop with an unexpected trap. Natively nothing
/// runs there after boot: no breakpoint either way.
void attacks() {
    section("triggers for everything at the monitor's code (attack)");
    const attack::targets t = attack::find_targets();
    const u64 end = t.monitor.base + (t.monitor.size < 0x4000 ? t.monitor.size : 0x4000);
    reset_hits();
    u64 traps = 0;
    const u64 all[] = {type2 | ((u64{1} << 60) - 1), type6 | ((u64{1} << 60) - 1)};
    for (u64 a = t.monitor.base; a < end; a += 4 * g_count) {
        for (unsigned i = 0; i < g_count; ++i) arm(i, all[i & 1], a + 4 * i);
        (void)csrr<0x340>();  // mscratch: emulated by a monitor
        ++traps;
    }
    const probe call = insn_probe<encoding::ecall>();
    disarm_all();
    check(g_hits == 0 && call.trapped && call.cause == 11,
          "every trigger at each word of the monitor's first 16 KiB, m and all: %u breakpoint(s); then an ecall "
          "reaches M-mode's handler: %b",
          g_hits, call.trapped && call.cause == 11);
    (void)traps;
}

}  // namespace

void testfw::firmware_main() {
    pmp::reset();
    pmp::open_all(0);
    discovery();
    if (g_count == 0) {
        note("no triggers: nothing more to test");
        return;
    }
    set_m_handler(on_m_breakpoint);
    warl();
    machine_mode();
    lower_modes();
    attacks();
    disarm_all();
    set_m_handler(nullptr);
    pmp::reset();
}
