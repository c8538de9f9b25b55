// SPDX-License-Identifier: MIT
// csr-fast: the CSR accesses a monitor serves on its fast paths
// (vfm/virt/fast_csrs.hpp: csrr and csrrw of mscratch, mepc, mcause, mtval,
// mtinst, mtval2 and mstatus, csrr of misa), through every general register
// as rd and rs1, sp included, and the trap handlers' `csrrw sp, mscratch,
// sp`. csr_fast.S runs them; this file checks what they read against the
// spec: a read after a write returns the value written (mepc: less bit 0,
// and bit 1 without C, priv. spec 3.1.14), csrrw returns the old value
// (unpriv. spec 9.1), and a register reads the same whichever register
// carries it. Under the monitor the same firmware runs once with the fast
// paths and once with the general path only (test/qemu's tier1-* runs).
#include "testfw/features.hpp"
#include "testfw/testfw.hpp"

#include "csr_fast.h"

using namespace testfw;

const char* const testfw::firmware_name = "csr-fast";
const char* const testfw::firmware_purpose =
    "csrr and csrrw of the trap CSRs, mstatus and misa through every register (unpriv. 9.1, priv. 3.1)";

extern "C" void csr_fast_sweep(u64 with_h);
extern "C" u64 csr_fast_results[CSR_FAST_ROWS][32][3];

namespace {

struct row_info {
    int row;
    const char* name;
};

/// Checks the rows of CSRs that hold what is written, less `cleared` bits.
/// `deviating` bits (QEMU 7.2 keeps mepc's bit 0, deviations.hpp) are left
/// out of the per-register checks and get one deviation line of their own.
void check_rw(const row_info& r, u64 cleared, u64 deviating = 0) {
    unsigned good = 0;
    bool spec_bits = true;  // every deviating bit read as the spec says (cleared)
    bool qemu_bits = true;  // every deviating bit read as written
    for (unsigned n = 1; n < 32; ++n) {
        const u64* v = csr_fast_results[r.row][n];
        const u64 first = CSR_FAST_FIRST(static_cast<u64>(r.row), u64{n});
        const u64 second = CSR_FAST_SECOND(static_cast<u64>(r.row), u64{n});
        const u64 keep = ~cleared & ~deviating;
        for (unsigned i = 0; i < 3; ++i) {
            const u64 written = i == 2 ? second : first;
            spec_bits = spec_bits && (v[i] & deviating & cleared) == 0;
            qemu_bits = qemu_bits && (v[i] & deviating) == (written & deviating);
        }
        if ((v[0] & ~deviating) == (first & keep) && (v[1] & ~deviating) == (first & keep) &&
            (v[2] & ~deviating) == (second & keep)) {
            ++good;
            continue;
        }
        check(false, "%s through x%u: read %x after writing, csrrw returned %x, then read %x (expected %x, %x, %x)",
              r.name, n, v[0], v[1], v[2], first & keep, first & keep, second & keep);
    }
    check(good == 31, "%s: csrw then csrr, csrrw, csrr through each of x1-x31: %u of 31 as written", r.name, good);
    if (deviating != 0)
        deviation("3.1.14", spec_bits, qemu_bits, "%s bits %x: read zero (spec) or as written (qemu 7.2)", r.name,
                  deviating);
}

/// Checks the rows of CSRs that read the same through every register.
void check_same(const row_info& r, u64 expected) {
    unsigned good = 0;
    for (unsigned n = 1; n < 32; ++n) {
        const u64* v = csr_fast_results[r.row][n];
        if (v[0] == expected && v[1] == expected && v[2] == expected) {
            ++good;
            continue;
        }
        check(false, "%s through x%u: %x, %x, %x (expected %x)", r.name, n, v[0], v[1], v[2], expected);
    }
    check(good == 31, "%s: the same value through each of x1-x31: %u of 31", r.name, good);
}

}  // namespace

void testfw::firmware_main() {
    const bool with_h = has_extension('H');
    const bool compressed = has_extension('C');
    const u64 misa = read<csr::misa>();
    const u64 status = read<csr::mstatus>();
    const u64 saved[4] = {read<csr::mscratch>(), read<csr::mepc>(), read<csr::mcause>(), read<csr::mtval>()};

    csr_fast_sweep(with_h ? 1 : 0);

    write<csr::mscratch>(saved[0]);
    write<csr::mepc>(saved[1]);
    write<csr::mcause>(saved[2]);
    write<csr::mtval>(saved[3]);

    section("read after write through every register (unpriv. 9.1, priv. 3.1.14-3.1.16)");
    check_rw({CSR_FAST_ROW_MSCRATCH, "mscratch"}, 0);
    check_rw({CSR_FAST_ROW_MEPC, "mepc"}, compressed ? 1 : 3, 1);
    check_rw({CSR_FAST_ROW_MCAUSE, "mcause"}, 0);
    check_rw({CSR_FAST_ROW_MTVAL, "mtval"}, 0);
    if (with_h) {
        check_rw({CSR_FAST_ROW_MTINST, "mtinst"}, 0);
        check_rw({CSR_FAST_ROW_MTVAL2, "mtval2"}, 0);
    } else {
        absent_here("H (mtinst, mtval2)");
    }

    section("mstatus and misa through every register (priv. 3.1.1, 3.1.6)");
    check_same({CSR_FAST_ROW_MSTATUS, "mstatus (read, swapped in again, read)"}, status);
    check_same({CSR_FAST_ROW_MISA, "misa"}, misa);

    section("the trap handlers' csrrw sp, mscratch, sp (twice)");
    const u64* swap = csr_fast_results[CSR_FAST_ROW_SP_SWAP][2];
    const u64 pattern = CSR_FAST_FIRST(static_cast<u64>(CSR_FAST_ROW_SP_SWAP), u64{2});
    check(swap[0] == pattern, "the first swap puts mscratch in sp: %x", swap[0]);
    check(swap[1] == pattern && swap[2] == 0, "the second gives sp back (difference %x) and mscratch %x", swap[2],
          swap[1]);
    write<csr::mscratch>(saved[0]);
}
