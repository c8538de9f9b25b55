// SPDX-License-Identifier: MIT
/// The shape of a simulated hart: which extensions it implements, how many PMP
/// entries and counters it has, its identity and its memory. `misa` follows
/// from the extensions (priv. spec 3.1.1). See docs/host-backend.md.
#pragma once

#include <optional>
#include <string>

#include <vfm/detail/types.hpp>

namespace vfm::host {

/// What a load or store on behalf of a less privileged mode does when its
/// address is not aligned to its width (priv. spec 3.6.3.3: either is legal).
enum class misaligned_policy : u8 {
    perform,  ///< done byte by byte, each byte checked (like QEMU in U-mode)
    trap,     ///< raises load/store address misaligned (4/6), like hardware that traps them
};

/// The configuration of a simulated RV64 hart.
struct hart_config {
    // Privilege modes and standard extensions (misa letters).
    bool s = true;   ///< S-mode (misa.S); requires U
    bool u = true;   ///< U-mode (misa.U)
    bool h = false;  ///< hypervisor extension (misa.H); requires S
    bool f = true;   ///< single-precision FP: fflags/frm/fcsr and a writable mstatus.FS
    bool d = true;   ///< double-precision FP; requires F
    bool c = true;   ///< compressed instructions: IALIGN = 16, so mepc bit 1 is writable
    bool a = true;   ///< atomics (only reported in misa)
    bool m = true;   ///< multiply/divide (only reported in misa)

    // Multi-letter extensions.
    bool sstc = false;      ///< stimecmp / vstimecmp, menvcfg.STCE; requires S
    bool sscofpmf = false;  ///< scountovf, LCOFI, mhpmevent OF and filter bits; requires S
    bool svpbmt = false;    ///< menvcfg.PBMTE / henvcfg.PBMTE
    bool zicbom = false;    ///< menvcfg/senvcfg/henvcfg CBIE and CBCFE
    bool zicboz = false;    ///< menvcfg/senvcfg/henvcfg CBZE
    /// The hart sets a PTE's A and D bits itself (Svadu, as QEMU does); false
    /// raises a page fault instead (Svade).
    bool svadu = false;

    // Address translation schemes accepted by satp / vsatp (Sv39x4 / Sv48x4 in hgatp).
    bool sv39 = true;
    bool sv48 = true;

    /// The `time` CSR exists (reads the simulated time). Many boards trap it
    /// and let M-mode emulate it from mtime: set false to model those.
    bool time_csr = true;

    unsigned pmp_entries = 16;               ///< 0, 16 or 64 (priv. spec 3.7.1)
    unsigned pmp_granularity = 0;            ///< G: PMP regions of 2^(G+2) bytes
    unsigned hpm_counters = 0;               ///< mhpmcounter3 .. mhpmcounter(3+n-1) count; the rest read zero
    unsigned guest_external_interrupts = 0;  ///< GEILEN (H extension 9.2.4), 0 to 63

    /// Sdtrig (Debug spec 1.0 ch. 5): the number of triggers (0: no tselect
    /// and tdata CSRs, up to 16), the tdata1 types they take (bit t; 2, 3 and
    /// 6 are modelled) and whether tinfo exists. QEMU 7.2 `virt`: 2, types 2
    /// and 6, tinfo.
    unsigned triggers = 0;
    unsigned trigger_types = (1u << 2) | (1u << 6);
    bool tinfo = true;

    u64 mvendorid = 0;
    u64 marchid = 0;
    u64 mimpid = 0;
    u64 mhartid = 0;
    u64 mconfigptr = 0;

    u64 ram_base = 0x8000'0000;
    u64 ram_size = u64{128} << 20;  ///< allocated on first use, zero-filled

    misaligned_policy misaligned = misaligned_policy::perform;

    /// misa as the hart reports it: MXL = 2 (64-bit) and one bit per letter.
    [[nodiscard]] u64 misa() const noexcept {
        const auto letter = [](char c) { return u64{1} << (c - 'A'); };
        u64 value = u64{2} << 62 | letter('I');
        if (a) value |= letter('A');
        if (c) value |= letter('C');
        if (d) value |= letter('D');
        if (f) value |= letter('F');
        if (h) value |= letter('H');
        if (m) value |= letter('M');
        if (s) value |= letter('S');
        if (u) value |= letter('U');
        return value;
    }

    /// Why this configuration describes no legal hart, or nothing when it does.
    [[nodiscard]] std::optional<std::string> problem() const {
        if (s && !u) return "S-mode requires U-mode (priv. spec 1.2)";
        if (h && !s) return "the H extension requires S-mode";
        if (d && !f) return "D requires F";
        if ((sstc || sscofpmf) && !s) return "Sstc and Sscofpmf require S-mode";
        if (pmp_entries != 0 && pmp_entries != 16 && pmp_entries != 64)
            return "pmp_entries must be 0, 16 or 64 (priv. spec 3.7.1)";
        if (pmp_granularity > 52) return "pmp_granularity must be at most 52";
        if (hpm_counters > 29) return "at most 29 hpm counters (3 to 31)";
        if (guest_external_interrupts > 63) return "GEILEN is at most 63 on RV64";
        if (guest_external_interrupts != 0 && !h) return "guest external interrupts require H";
        if (triggers > 16) return "at most 16 triggers are modelled";
        if ((trigger_types & ~((1u << 2) | (1u << 3) | (1u << 6))) != 0)
            return "only trigger types 2, 3 and 6 are modelled";
        if (ram_size == 0 || ram_base + ram_size < ram_base) return "RAM must be a non-empty range";
        return std::nullopt;
    }

    /// RV64GC with S and U, 16 PMP entries: the default.
    [[nodiscard]] static hart_config rv64gc() { return {}; }

    /// A hart with every modelled extension: H, Sstc, Sscofpmf, Svpbmt,
    /// Zicbom, Zicboz, 64 PMP entries, 4 hpm counters, GEILEN = 2.
    [[nodiscard]] static hart_config full() {
        hart_config c;
        c.h = true;
        c.sstc = true;
        c.sscofpmf = true;
        c.svpbmt = true;
        c.zicbom = true;
        c.zicboz = true;
        c.pmp_entries = 64;
        c.hpm_counters = 4;
        c.guest_external_interrupts = 2;
        return c;
    }

    /// M and U only, no S (like the SiFive E51 monitor core of the FU540).
    [[nodiscard]] static hart_config mu() {
        hart_config c;
        c.s = false;
        c.f = false;
        c.d = false;
        return c;
    }

    /// M-mode only, no PMP, no FP: the smallest legal hart (mu() without U and PMP).
    [[nodiscard]] static hart_config m_only() {
        hart_config c = mu();
        c.u = false;
        c.pmp_entries = 0;
        return c;
    }
};

}  // namespace vfm::host
