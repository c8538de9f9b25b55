// SPDX-License-Identifier: MIT
// counters-exact: minstret and mcycle count the firmware's instructions and
// nothing else (priv. spec 3.1.10), to the instruction. Run under
// `-icount shift=0`, where QEMU's counters advance by one per instruction:
// between two reads of a counter with N instructions in between, the second
// read is N + 1 higher (the first read retires too). Under a monitor the
// instructions it emulates (CSR accesses, here) must count one each, and its
// own work none. Every measured stretch is one asm block, so the counts do
// not depend on the compiler.
#include "testfw/testfw.hpp"

using namespace testfw;

const char* const testfw::firmware_name = "counters-exact";
const char* const testfw::firmware_purpose = "minstret/mcycle count the firmware's instructions only (run under -icount)";

namespace {

// Two reads of `counter` around `body`; the difference.
#define VFM_DELTA(counter, body)                                      \
    [] {                                                              \
        u64 first = 0, second = 0;                                    \
        asm volatile("csrr %0, " counter "\n" body "\ncsrr %1, " counter \
                     : "=&r"(first), "=&r"(second)                    \
                     :                                                \
                     : "t0", "a7", "memory");                        \
        return second - first;                                        \
    }()

#define VFM_TEN(insn) ".rept 10\n" insn "\n.endr"

/// What a stretch's instructions need of the hart.
enum class needs : u8 { nothing, medeleg, mcountinhibit };

struct stretch {
    const char* what;
    u64 instructions;  // between the two reads
    u64 (*measure_instret)();
    u64 (*measure_cycle)();
    needs requires_csr = needs::nothing;
};

/// A row: `body` measured with each counter (user aliases where asked).
#define VFM_STRETCH(what, n, instret, cycle, body) \
    {what, n, [] { return VFM_DELTA(instret, body); }, [] { return VFM_DELTA(cycle, body); }}
#define VFM_STRETCH_NEEDS(csr, what, n, instret, cycle, body) \
    {what, n, [] { return VFM_DELTA(instret, body); }, [] { return VFM_DELTA(cycle, body); }, needs::csr}

const stretch stretches[] = {
    VFM_STRETCH("100 nops", 100, "minstret", "mcycle", ".rept 100\nnop\n.endr"),
    VFM_STRETCH("10 reads of mscratch", 10, "minstret", "mcycle", VFM_TEN("csrr t0, mscratch")),
    VFM_STRETCH("10 writes of mscratch", 10, "minstret", "mcycle", VFM_TEN("csrw mscratch, zero")),
    VFM_STRETCH("10 reads of mstatus", 10, "minstret", "mcycle", VFM_TEN("csrr t0, mstatus")),
    VFM_STRETCH("10 reads of mie", 10, "minstret", "mcycle", VFM_TEN("csrr t0, mie")),
    VFM_STRETCH_NEEDS(medeleg, "10 reads of medeleg", 10, "minstret", "mcycle", VFM_TEN("csrr t0, medeleg")),
    VFM_STRETCH("10 reads of minstret", 10, "minstret", "mcycle", VFM_TEN("csrr t0, minstret")),
    VFM_STRETCH("10 reads of instret (the user alias)", 10, "instret", "cycle", VFM_TEN("csrr t0, instret")),
    VFM_STRETCH_NEEDS(mcountinhibit, "10 writes of mcountinhibit (0)", 10, "minstret", "mcycle", VFM_TEN("csrw mcountinhibit, zero")),
};

/// minstret right after `csrw minstret, 0` and after N more instructions.
u64 written_then_read() {
    u64 value = 0;
    asm volatile("csrw minstret, zero\ncsrr %0, minstret" : "=r"(value)::"memory");
    return value;
}
u64 written_then_100_nops() {
    u64 value = 0;
    asm volatile("csrw minstret, zero\n.rept 100\nnop\n.endr\ncsrr %0, minstret" : "=r"(value)::"memory");
    return value;
}

}  // namespace

void testfw::firmware_main() {
    // medeleg needs S-mode (priv. 3.1.8), mcountinhibit priv. 1.11: QEMU
    // sifive_u's E51 has neither, its U54s no mcountinhibit.
    const bool has_medeleg = has_s_mode();
    const bool has_mcountinhibit = has_csr<csr::mcountinhibit>();
    if (has_mcountinhibit) write<csr::mcountinhibit>(0);

    section("two reads N instructions apart differ by N + 1 (priv. 3.1.10, -icount shift=0)");
    for (const stretch& s : stretches) {
        if ((s.requires_csr == needs::medeleg && !has_medeleg) ||
            (s.requires_csr == needs::mcountinhibit && !has_mcountinhibit)) {
            absent_here(s.requires_csr == needs::medeleg ? "medeleg" : "mcountinhibit");
            continue;
        }
        const u64 instret = s.measure_instret();
        check(instret == s.instructions + 1, "minstret across %s: %u", s.what, instret);
        const u64 cycles = s.measure_cycle();
        check(cycles == s.instructions + 1, "mcycle across %s: %u (one cycle per instruction under icount)", s.what,
              cycles);
    }

    section("a write takes effect after the writing instruction (priv. 3.1.10)");
    const u64 right_after = written_then_read();
    deviation("3.1.10", right_after == 0, right_after == 1, "csrw minstret, 0; csrr minstret: %u", right_after);
    const u64 after_100 = written_then_100_nops();
    deviation("3.1.10", after_100 == 100, after_100 == 101, "csrw minstret, 0; 100 nops; csrr minstret: %u",
              after_100);

    section("a trap into the firmware's own handler and back");
    // ecall: the library's handler runs and returns past it; the same
    // instructions natively and under a monitor, so the same count.
    expect_arm();
    const u64 ecall_round_trip = VFM_DELTA("minstret", "li a7, 0\necall");
    const probe taken = expect_result(0, 0);
    check(taken.trapped && taken.cause == 11, "the ecall reached the firmware's handler (cause %u)", taken.cause);
    note("minstret across an ecall handled by the firmware: %u", ecall_round_trip);
}
