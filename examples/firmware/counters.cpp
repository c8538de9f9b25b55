// SPDX-License-Identifier: MIT
// counters: mcycle and minstret writes, mcountinhibit, and the counter
// enables (priv. spec 3.1.10-3.1.12, 4.1.5). cycle, time and instret (and
// hpmcounter3) are readable in S-mode only when the mcounteren bit is set,
// in U-mode only when both the mcounteren and the scounteren bits are set;
// otherwise the read raises an illegal instruction. The user counters are
// read-only in every mode.
#include "testfw/testfw.hpp"

using namespace testfw;

const char* const testfw::firmware_name = "counters";
const char* const testfw::firmware_purpose = "mcycle/minstret, mcountinhibit, mcounteren and scounteren gating";

namespace {

constexpr u64 bit(unsigned n) { return u64{1} << n; }

probe g_result;
u16 g_counter;

u64 lower_read(u64) {
    g_result = csr_probe_in<0xc00, 4>(g_counter, csr_op::read);
    return 1;
}

const char* counter_name(u16 n) {
    switch (n) {
        case 0xc00: return "cycle";
        case 0xc01: return "time";
        case 0xc02: return "instret";
        default: return "hpmcounter3";
    }
}

bool g_has_time;
bool g_has_hpmcounter3;

/// Reads counter `n` in `mode` with the given enables; checks the outcome.
/// Without S-mode there is no scounteren: mcounteren alone opens a counter
/// to U-mode (priv. 3.1.11). A `time` or `hpmcounter3` the hart lacks traps
/// whatever the enables.
void gated_read(privilege mode, u16 n, u64 mcounteren, u64 scounteren) {
    const bool s_mode = has_s_mode();
    write<csr::mcounteren>(mcounteren);
    if (s_mode) write<csr::scounteren>(scounteren);
    const unsigned index = n - 0xc00;
    const bool allowed = (mcounteren & bit(index)) != 0 &&
                         (mode == privilege::supervisor || !s_mode || (scounteren & bit(index)) != 0) &&
                         (n != 0xc01 || g_has_time) && (n != 0xc03 || g_has_hpmcounter3);
    g_counter = n;
    g_result = {};
    run_in(mode, lower_read);
    char what[96];
    if (s_mode) {
        format(what, sizeof what, "%s in %s-mode, mcounteren.%u = %u, scounteren.%u = %u", counter_name(n),
               name(mode), index, (mcounteren >> index) & 1, index, (scounteren >> index) & 1);
    } else {
        format(what, sizeof what, "%s in %s-mode, mcounteren.%u = %u", counter_name(n), name(mode), index,
               (mcounteren >> index) & 1);
    }
    if (allowed) {
        expect_no_trap(g_result, what);
    } else {
        expect_illegal(g_result, csr_encoding(csr_op::read, n), what);
    }
}

void spin(unsigned n) {
    for (unsigned i = 0; i < n; ++i) asm volatile("nop");
}

}  // namespace

void testfw::firmware_main() {
    pmp::reset();
    pmp::open_all(0);

    section("mcycle and minstret (priv. 3.1.10)");
    // mcountinhibit is new in priv. 1.11, menvcfg in 1.12; QEMU sifive_u's
    // harts implement 1.10 and have no `time` CSR either.
    const bool inhibit = has_csr<csr::mcountinhibit>();
    g_has_time = has_csr<csr::time>();
    g_has_hpmcounter3 = has_csr<csr::hpmcounter3>();
    const bool s_mode = has_s_mode();
    if (inhibit) write<csr::mcountinhibit>(0);
    write<csr::minstret>(0);
    spin(1000);
    const u64 instret = read<csr::minstret>();
    check(instret >= 1000 && instret < (u64{1} << 40), "minstret <- 0, then 1000 nops: it counted at least 1000: %b",
          instret >= 1000);
    write<csr::mcycle>(0);
    spin(1000);
    const u64 cycles = read<csr::mcycle>();
    check(cycles > 0 && cycles < (u64{1} << 40), "mcycle <- 0 advances from 0: %b", cycles > 0);
    write<csr::minstret>(u64{1} << 48);
    const u64 high = read<csr::minstret>();
    check(high >= (u64{1} << 48) && high - (u64{1} << 48) < (u64{1} << 32),
          "minstret <- 2^48 continues from there: %b", high >= (u64{1} << 48));
    const u64 c0 = read<csr::cycle>();
    const u64 m0 = read<csr::mcycle>();
    check(c0 <= m0 && m0 - c0 < (u64{1} << 32), "cycle in M-mode follows mcycle: %b", c0 <= m0);
    if (g_has_time) {
        const u64 t_before = mtime();
        const u64 t = read<csr::time>();
        const u64 t_after = mtime();
        check(t_before <= t && t <= t_after, "time in M-mode lies between two mtime reads: %b",
              t_before <= t && t <= t_after);
    } else {
        absent_here("time");
    }
    if (!g_has_hpmcounter3) absent_here("hpmcounter3");

    section("mcountinhibit (priv. 3.1.12)");
    if (!inhibit) {
        absent_here("mcountinhibit");
    } else {
        write<csr::mcountinhibit>(bit(2));
        const u64 i0 = read<csr::minstret>();
        spin(1000);
        const u64 i1 = read<csr::minstret>();
        write<csr::mcountinhibit>(0);
        deviation("3.1.12", i1 == i0, i1 != i0, "mcountinhibit.IR = 1 stops minstret: %b", i1 == i0);
        write<csr::mcountinhibit>(bit(0));
        const u64 k0 = read<csr::mcycle>();
        spin(1000);
        const u64 k1 = read<csr::mcycle>();
        write<csr::mcountinhibit>(0);
        deviation("3.1.12", k1 == k0, k1 != k0, "mcountinhibit.CY = 1 stops mcycle: %b", k1 == k0);
    }

    section("counter enables, S-mode (priv. 3.1.11)");
    const u16 counters[] = {0xc00, 0xc01, 0xc02, 0xc03};
    if (!s_mode) absent_here("S-mode");
    for (const u16 n : counters) {
        if (!s_mode) break;
        const unsigned i = n - 0xc00;
        gated_read(privilege::supervisor, n, 0, 0);
        gated_read(privilege::supervisor, n, bit(i), 0);
        gated_read(privilege::supervisor, n, ~bit(i) & 0xffff'ffff, 0xffff'ffff);
    }

    section("counter enables, U-mode (priv. 3.1.11, 4.1.5)");
    for (const u16 n : counters) {
        const unsigned i = n - 0xc00;
        gated_read(privilege::user, n, 0, 0);
        gated_read(privilege::user, n, bit(i), 0);
        if (!s_mode) continue;
        gated_read(privilege::user, n, 0, bit(i));
        gated_read(privilege::user, n, bit(i), bit(i));
    }

    section("a time read in S-mode lies between two mtime reads");
    if (!s_mode || !g_has_time) {
        absent_here(s_mode ? "time" : "S-mode");
    } else {
        write<csr::mcounteren>(bit(1));
        g_counter = 0xc01;
        const u64 before = mtime();
        run_in(privilege::supervisor, lower_read);
        const u64 after = mtime();
        check(!g_result.trapped && before <= g_result.value && g_result.value <= after, "time in S-mode: %b",
              before <= g_result.value && g_result.value <= after);
    }

    section("user counters are read-only (priv. 2.1)");
    write<csr::mcounteren>(0xffff'ffff);
    expect_illegal(csr_probe<0xc00>(csr_op::write, 0), csr_encoding(csr_op::write, 0xc00), "csrrw cycle in M-mode");
    expect_illegal(csr_probe<0xc02>(csr_op::set, 1), csr_encoding(csr_op::set, 0xc02), "csrrs instret (a1 = 1) in M-mode");
    write<csr::mcounteren>(0);
    if (s_mode) write<csr::scounteren>(0);
    pmp::reset();
}
