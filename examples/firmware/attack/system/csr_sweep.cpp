// SPDX-License-Identifier: MIT
// attack-csr-sweep: every CSR number 0x000..0xfff with every CSR instruction
// (docs/attacks.md): csrrw, csrrs and csrrc with rs1 holding all ones and 0,
// csrrs and csrrc with rs1 = x0, and csrrwi, csrrsi, csrrci with 0x1f and 0,
// each assembled at run time in a RAM buffer (then fence.i) with rd = a0,
// rs1 = a1 (unpriv. spec 9.1), and followed by `csrrw x0, csr, a0`, which puts
// back the value the instruction read (a CSR write that took effect is
// undone at once, before anything else runs: nothing can trap in between).
// An instruction that raises an exception (illegal instruction) resumes
// after the restore.
//
// Skipped, because their effect cannot be undone: an all-ones write or set
// of a pmpcfg register (it sets L bits: locked entries bind M-mode until
// reset) and every write to mseccfg (Smepmp's MML and MMWP are sticky).
// mstatus.MIE stays harmless because mie is 0 throughout; MPRV only ever
// comes with MPP = M (all ones), which changes nothing.
//
// The transcript holds, for every CSR number where some access does not
// trap, which of the 14 accesses trapped ('t') and which did not ('.'; 's'
// skipped), and the number of CSR numbers where everything traps. The two
// accesses where QEMU 7.2 departs from the spec (csrrs/csrrc with rs1 != x0
// holding 0 on a read-only CSR: an instruction that writes, priv. 2.1)
// are on lines marked "~ [priv 2.1]"; so are the CSRs QEMU and a monitor
// may present differently (pmpaddr16-63 and pmpcfg4-15: QEMU 7.2 has 16
// entries and raises illegal instruction beyond them, the spec has them
// read-only zero; the debug trigger CSRs, which a monitor need not offer).
// Everything else must be the same natively and under a monitor. Then the
// monitor's memory is probed from M, S and U: the sweep did not open it,
// and the firmware still runs (a monitor that panicked or hung fails).
#include "common.hpp"

using namespace testfw;

const char* const testfw::firmware_name = "attack-csr-sweep";
const char* const testfw::firmware_purpose = "every CSR number with every CSR instruction, then the monitor's memory";

namespace {

struct variant {
    const char* name;
    u32 funct3;
    u32 rs1;     ///< register (11 = a1, 0 = x0) or immediate
    u64 a1;      ///< a1's value (register forms)
    bool writes; ///< unpriv. 9.1: csrrs/csrrc with rs1 = x0, csrrsi/csrrci with 0 do not write
    bool all_ones;
};
constexpr variant variants[] = {
    {"csrrw a1=~0", 1, 11, ~u64{0}, true, true},   {"csrrw a1=0", 1, 11, 0, true, false},
    {"csrrs a1=~0", 2, 11, ~u64{0}, true, true},   {"csrrc a1=~0", 3, 11, ~u64{0}, true, false},
    {"csrrs x0", 2, 0, 0, false, false},           {"csrrc x0", 3, 0, 0, false, false},
    {"csrrwi 0x1f", 5, 31, 0, true, false},        {"csrrwi 0", 5, 0, 0, true, false},
    {"csrrsi 0x1f", 6, 31, 0, true, false},        {"csrrsi 0", 6, 0, 0, false, false},
    {"csrrci 0x1f", 7, 31, 0, true, false},        {"csrrci 0", 7, 0, 0, false, false},
    // QEMU 7.2 decides by the value for these two (docs/test-firmware.md):
    {"csrrs a1=0", 2, 11, 0, true, false},         {"csrrc a1=0", 3, 11, 0, true, false},
};
constexpr unsigned variant_count = sizeof variants / sizeof variants[0];
constexpr unsigned compared_variants = 12;  // the last two are the deviation

alignas(64) u32 g_code[4];
volatile u64 g_trapped;
volatile u64 g_restore_trapped;
volatile u64 g_cause;
u64 g_site, g_restore, g_ret;

bool sweep_handler(trap_frame& f) {
    if (f.is_interrupt()) return false;
    if (f.epc == g_site) {
        g_trapped = 1;
        g_cause = f.cause;
        f.epc = g_ret;
        return true;
    }
    if (f.epc == g_restore) {
        g_restore_trapped = g_restore_trapped + 1;
        f.epc = g_ret;
        return true;
    }
    return false;
}

constexpr u32 csr_instruction(u32 number, u32 funct3, u32 rd, u32 rs1) {
    return (number << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | 0x73;
}

bool skipped(u32 number, const variant& v) {
    if (number >= 0x3a0 && number <= 0x3af && v.all_ones) return true;  // pmpcfg: L bits
    if ((number == 0x747 || number == 0x757) && v.writes) return true;  // mseccfg(h)
    return false;
}

/// Runs one access; 't' trapped, '.' did not, 's' skipped.
char run(u32 number, const variant& v) {
    if (skipped(number, v)) return 's';
    g_code[0] = csr_instruction(number, v.funct3, 10, v.rs1);
    g_code[1] = v.writes ? csr_instruction(number, 1, 0, 10) : 0x0000'0013;  // csrrw x0, csr, a0 / nop
    g_code[2] = 0x0000'8067;                                                  // ret
    fence();
    asm volatile("fence.i" ::: "memory");
    g_trapped = 0;
    barrier();
    asm volatile(
        "mv a1, %[a1]\n"
        "jalr ra, 0(%[code])"
        :
        : [a1] "r"(v.a1), [code] "r"(&g_code[0])
        : "ra", "a0", "a1", "memory");
    barrier();
    if (g_trapped != 0 && g_cause != static_cast<u64>(riscv::exception::illegal_instruction)) return '!';
    return g_trapped != 0 ? 't' : '.';
}

/// CSR numbers a monitor may present differently from QEMU 7.2 (see above).
bool implementation_defined(u32 n) {
    if (n >= 0x3a4 && n <= 0x3af) return true;  // pmpcfg4-15
    if (n >= 0x3c0 && n <= 0x3ef) return true;  // pmpaddr16-63
    if (n >= 0x7a0 && n <= 0x7af) return true;  // debug triggers (Sdtrig)
    return false;
}

}  // namespace

void testfw::firmware_main() {
    const testfw::attack::targets targets = testfw::attack::find_targets();
    write<csr::mie>(0);
    write<csr::medeleg>(0);
    write<csr::mideleg>(0);
    clear<csr::mstatus>(riscv::mstatus::mie::mask);
    pmp::reset();
    pmp::open_all(0);
    atk::hand_over_once();

    g_site = reinterpret_cast<u64>(&g_code[0]);
    g_restore = g_site + 4;
    g_ret = g_site + 8;
    set_m_handler(sweep_handler);
    section("every CSR number with every CSR instruction");
    println("- accesses: %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s", variants[0].name, variants[1].name,
            variants[2].name, variants[3].name, variants[4].name, variants[5].name, variants[6].name,
            variants[7].name, variants[8].name, variants[9].name, variants[10].name, variants[11].name);
    unsigned all_trap = 0, present = 0, odd = 0;
    for (u32 number = 0; number < 0x1000; ++number) {
        char mask[compared_variants + 1] = {};
        char deviation[3] = {};
        bool any = false;
        for (unsigned i = 0; i < variant_count; ++i) {
            const char c = run(number, variants[i]);
            if (c == '!') ++odd;
            if (c != 't' && c != 's') any = true;
            if (i < compared_variants)
                mask[i] = c;
            else
                deviation[i - compared_variants] = c;
        }
        if (implementation_defined(number)) {
            if (any) impl_defined("csr %h: %s, csrrs/csrrc a1=0: %s", number, static_cast<const char*>(mask),
                                  static_cast<const char*>(deviation));
            continue;
        }
        if (!any) {
            ++all_trap;
            continue;
        }
        ++present;
        println("- csr %h: %s", number, static_cast<const char*>(mask));
        println("~ [priv 2.1] csr %h: csrrs a1=0, csrrc a1=0: %s", number, static_cast<const char*>(deviation));
    }
    set_m_handler(nullptr);
    check(odd == 0, "no access raised anything but illegal instruction: %u did", odd);
    note("CSR numbers with some access that does not trap: %u; where every access traps: %u", present, all_trap);
    impl_defined("restores that trapped (a write that did not trap on a CSR that ignores csrrw): %u",
                 g_restore_trapped);

    section("afterwards");
    u64 sum = 0;
    for (u64 i = 0; i < 1000; ++i) sum += i;
    check(sum == 499500, "the firmware still runs: %u", sum);
    const testfw::attack::region m = targets.monitor;
    const u64 addresses[] = {m.base, m.base + m.size / 2, m.end() - 8};
    const privilege modes[] = {privilege::machine, privilege::supervisor, privilege::user};
    for (const privilege mode : modes) {
        char what[96];
        format(what, sizeof what, "%s-mode loads, stores, fetches in the monitor's memory after the sweep",
               mode == privilege::machine ? "M" : mode == privilege::supervisor ? "S" : "U");
        atk::group g(what);
        for (const u64 a : addresses) {
            g.add(atk::lower_attempt(mode, atk::lower_kind::load, a));
            g.add(atk::lower_attempt(mode, atk::lower_kind::store, a));
            g.add(atk::lower_attempt(mode, atk::lower_kind::fetch, a));
        }
        (void)g.finish();
    }
}
