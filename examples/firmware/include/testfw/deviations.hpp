// SPDX-License-Identifier: MIT
/// QEMU 7.2's departures from the privileged specification that the tests
/// meet: one table for every test that compares the monitor with the hardware
/// model (csr-rw's `~` lines, the difftest interpreter's shaping of random
/// writes, tools/vfmtool/difftest.py's choice of CSR numbers). The monitor
/// gives the spec's answer; a test passes with either, says which, and never
/// lets a departure decide whether two runs are equal.
/// docs/test-firmware.md ("QEMU 7.2 and the spec") lists them with reasons.
#pragma once

#include <vfm/detail/types.hpp>

namespace testfw {

using vfm::u16;
using vfm::u64;
using vfm::u8;

namespace deviation_detail {
constexpr u64 bit(unsigned n) noexcept { return u64{1} << n; }
constexpr u64 bits(unsigned hi, unsigned lo) noexcept {
    return (hi == 63 ? ~u64{0} : (bit(hi + 1) - 1)) & ~(bit(lo) - 1);
}
constexpr u64 vs_interrupts = bit(2) | bit(6) | bit(10);
constexpr u64 lcof_interrupt = bit(13);
constexpr u64 s_interrupts = bit(1) | bit(5) | bit(9);
/// mstatus's supervisor fields: SIE, SPIE, SPP, MXR, SUM, TVM, TSR.
constexpr u64 s_status = bit(1) | bit(5) | bit(8) | bit(18) | bit(19) | bit(20) | bit(22);
}  // namespace deviation_detail

/// What a row is about.
enum class deviation_kind : u8 {
    field_bits,   ///< QEMU keeps what is written to `bits` (the spec: read-only zero or WARL)
    field_value,  ///< QEMU keeps a reserved value of the field `bits` (which value: `what`)
    csr_traps,    ///< the CSRs first..last raise illegal instruction (the spec: they exist)
    behaviour,    ///< an instruction's effect (`what`)
};

/// When a row applies.
enum class deviation_when : u8 { always, without_h, without_sscofpmf, without_s };

struct qemu_deviation {
    deviation_kind kind;
    u16 first_csr, last_csr;
    u64 bits;
    deviation_when when;
    const char* section;
    const char* what;
};

// One row per line, each starting with `{deviation_kind::`: difftest.py reads
// the csr_traps rows from this file.
inline constexpr qemu_deviation qemu_deviations[] = {
    {deviation_kind::field_value, 0x300, 0x300, deviation_detail::bits(12, 11), deviation_when::always, "3.1.6.1", "mstatus.MPP = 2 (reserved) is kept"},
    {deviation_kind::field_value, 0x300, 0x300, deviation_detail::bits(33, 32), deviation_when::always, "3.1.6.2", "mstatus.UXL = 3 (reserved) is kept"},
    {deviation_kind::field_bits, 0x300, 0x300, deviation_detail::bits(39, 38), deviation_when::without_h, "3.1.6, 8.4.1", "mstatus.MPV and GVA are writable without H"},
    {deviation_kind::field_bits, 0x302, 0x302, deviation_detail::bit(11), deviation_when::always, "3.1.8", "medeleg bit 11 (ecall from M) is writable"},
    {deviation_kind::field_bits, 0x302, 0x302, deviation_detail::bit(10) | deviation_detail::bits(23, 20), deviation_when::without_h, "3.1.8", "medeleg bits of exceptions only H raises are writable without H"},
    {deviation_kind::field_bits, 0x303, 0x304, deviation_detail::vs_interrupts, deviation_when::without_h, "3.1.9", "mideleg and mie VS-level bits are writable without H"},
    {deviation_kind::field_bits, 0x303, 0x304, deviation_detail::lcof_interrupt, deviation_when::without_sscofpmf, "3.1.9", "mideleg and mie LCOFI bit is writable without Sscofpmf"},
    {deviation_kind::field_bits, 0x344, 0x344, deviation_detail::bit(6) | deviation_detail::bit(10), deviation_when::always, "3.1.9, 8.4.3", "mip.VSTIP and VSEIP are writable (aliases of hvip's bits with H)"},
    {deviation_kind::field_bits, 0x344, 0x344, deviation_detail::bit(2), deviation_when::without_h, "3.1.9", "mip.VSSIP is writable without H"},
    {deviation_kind::field_bits, 0x344, 0x344, deviation_detail::lcof_interrupt, deviation_when::without_sscofpmf, "3.1.9", "mip.LCOFIP is writable without Sscofpmf"},
    {deviation_kind::field_bits, 0x306, 0x306, deviation_detail::bits(63, 32), deviation_when::always, "3.1.11", "mcounteren is 64 bits wide"},
    {deviation_kind::field_bits, 0x106, 0x106, deviation_detail::bits(63, 32), deviation_when::always, "4.1.5", "scounteren is 64 bits wide"},
    {deviation_kind::field_bits, 0x320, 0x320, deviation_detail::bit(1) | deviation_detail::bits(63, 32), deviation_when::always, "3.1.12", "mcountinhibit bit 1 and bits 63:32 are writable"},
    {deviation_kind::field_bits, 0x341, 0x341, deviation_detail::bit(0), deviation_when::always, "3.1.14", "mepc bit 0 is kept"},
    {deviation_kind::field_bits, 0x141, 0x141, deviation_detail::bit(0), deviation_when::always, "4.1.7", "sepc bit 0 is kept"},
    {deviation_kind::field_bits, 0x3b0, 0x3ef, deviation_detail::bits(63, 54), deviation_when::always, "3.7.1", "pmpaddr bits 63:54 are writable"},
    {deviation_kind::field_bits, 0x3a0, 0x3ae, 0x6060'6060'6060'6060, deviation_when::always, "3.7.1", "pmpcfg reserved bits 6:5 are writable"},
    {deviation_kind::field_value, 0x3a0, 0x3ae, 0x0303'0303'0303'0303, deviation_when::always, "3.7.1", "pmpcfg R = 0, W = 1 (reserved) is kept"},
    {deviation_kind::field_value, 0x3b0, 0x3ef, deviation_detail::bits(53, 0), deviation_when::always, "3.7.1", "a TOR entry with pmpaddr = 0 matches every address (its top wraps)"},
    {deviation_kind::behaviour, 0x3b0, 0x3ef, 0, deviation_when::always, "3.7.1", "writing pmpaddr[i-1] does not move the bottom of a TOR entry i until entry i's configuration is written"},
    {deviation_kind::csr_traps, 0x3a4, 0x3ae, 0, deviation_when::always, "3.7.1", "pmpcfg4..14 raise illegal instruction"},
    {deviation_kind::csr_traps, 0x3c0, 0x3ef, 0, deviation_when::always, "3.7.1", "pmpaddr16..63 raise illegal instruction"},
    {deviation_kind::behaviour, 0x300, 0x300, deviation_detail::bit(17), deviation_when::always, "3.1.6.3", "mret to a mode below M leaves mstatus.MPRV set"},
    {deviation_kind::behaviour, 0x300, 0x300, deviation_detail::bit(39), deviation_when::always, "H 8.6.4", "mret with MPP = M and MPV = 1 leaves MPV set: the next trap from M-mode records MPV = 1"},
    {deviation_kind::behaviour, 0xb02, 0xb02, 0, deviation_when::always, "3.1.10", "csrw minstret, 0; csrr minstret reads 1"},
    {deviation_kind::behaviour, 0, 0, 0, deviation_when::always, "2.8 (Zicsr)", "csrrs/csrrc with rs1 != x0 holding 0 do not trap on a read-only CSR"},
    {deviation_kind::behaviour, 0, 0, 0, deviation_when::always, "3.6 (A ext.)", "an AMO that faults on an address with no memory, or on a page under MPRV, raises the load fault (5, 13), not the store/AMO fault (7, 15)"},
    {deviation_kind::behaviour, 0, 0, 0, deviation_when::always, "4.3.2", "an AMO that faults on a page it may read but not write sets the leaf's A bit first (as its load would)"},
    {deviation_kind::behaviour, 0x344, 0x344, 0, deviation_when::always, "3.1.9", "of several pending interrupts the lowest-numbered is taken (SSI before MSI, MTI, SEI), not MEI, MSI, MTI, SEI, SSI, STI in that order"},
    {deviation_kind::behaviour, 0x344, 0x344, deviation_detail::bit(9), deviation_when::always, "3.1.9", "mip.SEIP written by software reads back but raises no interrupt"},
    {deviation_kind::behaviour, 0, 0, 0, deviation_when::always, "H 9.3.1", "HLV/HLVX/HSV raising illegal instruction leave a stale mtval/stval"},
    {deviation_kind::behaviour, 0x300, 0x300, deviation_detail::bit(38), deviation_when::always, "H 8.4.1", "an HLV/HLVX/HSV fault taken into M-mode leaves mstatus.GVA clear"},
    {deviation_kind::behaviour, 0x300, 0x300, deviation_detail::bit(38), deviation_when::always, "H 8.4.1", "a trap into M-mode that writes no guest virtual address leaves mstatus.GVA as it was"},
    {deviation_kind::behaviour, 0x34b, 0x34b, 0, deviation_when::always, "H 8.4.? (mtval2)", "a trap into M-mode other than a guest-page fault leaves mtval2 as it was"},
    {deviation_kind::behaviour, 0x200, 0x200, deviation_detail::bit(17), deviation_when::always, "H 8.2.11", "vsstatus keeps bit 17 (WPRI), and with V = 1 it becomes mstatus.MPRV: a trap from VS/VU-mode then finds MPRV set"},
    {deviation_kind::behaviour, 0x280, 0x280, 0, deviation_when::always, "4.3.2, H 9.5", "a VS-stage permission fault of an HLV/HSV from M-mode is an access fault (5, 7), not a page fault (13, 15)"},
    {deviation_kind::field_value, 0x280, 0x280, deviation_detail::bits(63, 60), deviation_when::always, "H 8.2.18", "vsatp keeps a reserved MODE, and a VS-stage walk with it aborts QEMU"},
    {deviation_kind::behaviour, 0, 0, 0, deviation_when::always, "H 9.5", "HLV/HSV that the PMP denies, or to an address with no memory, raise a guest-page fault (G-stage Bare), not an access fault"},
    {deviation_kind::behaviour, 0, 0, 0, deviation_when::always, "H 9.5", "a VS/VU-mode load, store or fetch that the PMP denies raises a guest-page fault (20, 21, 23), not an access fault (1, 5, 7)"},
    {deviation_kind::behaviour, 0, 0, 0, deviation_when::always, "3.1.16", "a misaligned load, store or HLV/HSV that faults on an address with no memory writes the address rounded down to mtval"},
    // A hart without S-mode (QEMU sifive_u's E51, privileged spec 1.10).
    {deviation_kind::behaviour, 0x302, 0x303, 0, deviation_when::without_s, "3.1.8", "medeleg and mideleg exist (read and write) on a hart without S-mode"},
    {deviation_kind::field_value, 0x300, 0x300, deviation_detail::bits(12, 11), deviation_when::without_s, "3.1.6.1", "mstatus.MPP = 1 (S) is kept on a hart without S-mode, and mret then enters an S-mode the hart does not have"},
    {deviation_kind::field_value, 0x300, 0x300, deviation_detail::bits(35, 34), deviation_when::without_s, "3.1.6.2", "mstatus.SXL reads 2 on a hart without S-mode"},
    {deviation_kind::field_bits, 0x300, 0x300, deviation_detail::s_status, deviation_when::without_s, "3.1.6", "mstatus's supervisor fields (SIE, SPIE, SPP, MXR, SUM, TVM, TSR) are writable on a hart without S-mode"},
    {deviation_kind::field_bits, 0x304, 0x304, deviation_detail::s_interrupts, deviation_when::without_s, "3.1.9", "mie's S-level bits are writable on a hart without S-mode"},
    {deviation_kind::field_bits, 0x344, 0x344, deviation_detail::s_interrupts, deviation_when::without_s, "3.1.9", "mip's S-level bits are writable on a hart without S-mode"},
    {deviation_kind::behaviour, 0, 0, 0, deviation_when::always, "3.7.1", "a misaligned U-mode load across two PMP entries passes when each part lies inside one entry"},
};

/// The bits of `csr` where QEMU keeps what is written against the spec
/// (the field_bits rows that apply to this hart).
constexpr u64 qemu_deviating_bits(u16 csr, bool has_h, bool has_sscofpmf, bool has_s = true) noexcept {
    u64 out = 0;
    for (const qemu_deviation& d : qemu_deviations) {
        if (d.kind != deviation_kind::field_bits || csr < d.first_csr || csr > d.last_csr) continue;
        if (d.when == deviation_when::without_h && has_h) continue;
        if (d.when == deviation_when::without_sscofpmf && has_sscofpmf) continue;
        if (d.when == deviation_when::without_s && has_s) continue;
        out |= d.bits;
    }
    return out;
}

/// The section of the first row about `csr`, for a `~` line.
constexpr const char* qemu_deviation_section(u16 csr) noexcept {
    for (const qemu_deviation& d : qemu_deviations)
        if (csr >= d.first_csr && csr <= d.last_csr) return d.section;
    return "?";
}

/// Whether QEMU raises illegal instruction for `csr` although the spec has it.
constexpr bool qemu_csr_traps(u16 csr) noexcept {
    for (const qemu_deviation& d : qemu_deviations)
        if (d.kind == deviation_kind::csr_traps && csr >= d.first_csr && csr <= d.last_csr) return true;
    return false;
}

}  // namespace testfw
