// SPDX-License-Identifier: MIT
/// Hardware discovery: what the physical hart implements, found by guarded
/// CSR accesses at boot, before the firmware runs (so the probes' side effects
/// are undone before anyone could see them).
#pragma once

#include <vfm/arch.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/virt/hart.hpp>

namespace vfm::virt {

/// Probes the hart behind `hw`. Must run in M-mode with interrupts disabled.
template <arch A>
[[nodiscard]] hart_features discover(A& hw) noexcept {
    using riscv::csr;
    hart_features f;
    f.misa = hw.csr_read(csr::misa).value;
    f.mvendorid = hw.csr_read(csr::mvendorid).value;
    f.marchid = hw.csr_read(csr::marchid).value;
    f.mimpid = hw.csr_read(csr::mimpid).value;
    const csr_result configptr = hw.csr_read(csr::mconfigptr);
    f.has_mconfigptr = configptr.ok;
    f.mconfigptr = configptr.value;
    f.has_s = (f.misa & riscv::misa::extension('S')) != 0;
    f.has_u = (f.misa & riscv::misa::extension('U')) != 0;
    f.has_h = (f.misa & riscv::misa::extension('H')) != 0;

    // Writable bits: write all ones, read back, restore (priv. spec: WARL fields).
    auto writable = [&](csr n, u64 restore) -> csr_result {
        const csr_result written = hw.csr_swap(n, ~u64{0});
        if (!written.ok) return written;
        const csr_result ones = hw.csr_read(n);
        (void)hw.csr_write(n, restore);
        return ones;
    };
    if (f.has_s) {
        f.medeleg_writable = writable(csr::medeleg, 0).value;
        f.mideleg_writable = writable(csr::mideleg, 0).value;
        f.mideleg_forced = hw.csr_read(csr::mideleg).value;
        f.mideleg_writable &= ~f.mideleg_forced;
    }
    f.mie_writable = writable(csr::mie, 0).value;
    {
        // mip: the bits M-mode software can set (S-level pending bits).
        const csr_result before = hw.csr_read(csr::mip);
        const csr_result set = hw.csr_set(csr::mip, ~u64{0});
        const u64 ones = hw.csr_read(csr::mip).value;
        (void)hw.csr_write(csr::mip, before.value & ~riscv::mip::machine);
        const u64 zeros = hw.csr_read(csr::mip).value;
        if (set.ok) f.mip_writable = ones & ~zeros & ~riscv::mip::machine;
        // An external line may hold SEIP: it is still a software-writable bit (priv. spec 3.1.9).
        if (f.has_s && (ones & riscv::mip::seip::mask) != 0) f.mip_writable |= riscv::mip::seip::mask;
        (void)hw.csr_clear(csr::mip, f.mip_writable);
    }
    const csr_result envcfg = writable(csr::menvcfg, 0);
    f.has_menvcfg = envcfg.ok;
    f.menvcfg_writable = envcfg.ok ? envcfg.value : 0;
    f.has_mcountinhibit = hw.csr_read(csr::mcountinhibit).ok;
    f.has_sstc = f.has_s && hw.csr_read(csr::stimecmp).ok;
    f.has_sscofpmf = f.has_s && hw.csr_read(csr::scountovf).ok;
    f.has_time_csr = hw.csr_read(csr::time).ok;
    f.has_mtval2 = hw.csr_read(csr::mtval2).ok && hw.csr_read(csr::mtinst).ok;
    f.has_senvcfg = f.has_s && hw.csr_read(csr::senvcfg).ok;
    for (unsigned n = 3; n < 32; ++n)
        if (hw.csr_read(static_cast<csr>(0xB00 + n)).ok) f.hpm_counters |= u64{1} << n;

    // PMP (priv. spec 3.7.1): entries are implemented lowest first; with entry 0
    // OFF, writing all ones to pmpaddr0 reads back G low zero bits.
    (void)hw.csr_write(csr::pmpcfg0, 0);
    unsigned count = 0;
    for (; count < riscv::pmp::max_entries; ++count) {
        const csr n = static_cast<csr>(riscv::pmpaddr_number(count));
        const csr_result written = hw.csr_swap(n, ~u64{0});
        const u64 value = hw.csr_read(n).value;
        (void)hw.csr_write(n, 0);
        if (!written.ok || value == 0) break;
        if (count == 0) f.pmp_granularity = bits::count_trailing_zeros(value);
    }
    f.pmp_count = count;
    return f;
}

}  // namespace vfm::virt
