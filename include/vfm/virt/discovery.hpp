// SPDX-License-Identifier: MIT
/// Hardware discovery: what the physical hart implements, found by guarded
/// CSR accesses at boot, before the firmware runs (so the probes' side effects
/// are undone before anyone could see them).
#pragma once

#include <vfm/arch.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/pmp.hpp>
#include <vfm/virt/hart.hpp>
#include <vfm/virt/triggers.hpp>

namespace vfm::virt {

/// Whether the hart sets a PTE's A (and D) bits itself (Svadu, as QEMU does)
/// or raises a page fault (Svade): one S-mode load (MPRV) through a one-entry
/// Sv39 table built in `scratch` (a 4 KiB page of RAM nobody uses yet; entry
/// `slot` (1-255) of the root maps the 1 GiB page holding it, A = D = 0), with
/// PMP entry 0 opening that page to S-mode meanwhile when the hart has PMP
/// entries. Everything is put back. `fallback` when the hart cannot be asked.
template <arch A>
[[nodiscard]] bool probe_hardware_ad(A& hw, u64 scratch, unsigned slot, bool has_pmp, bool fallback) noexcept {
    using riscv::csr;
    u8* page = hw.physical(scratch, 4096);
    if (page == nullptr || (scratch & 0xfff) != 0 || slot == 0 || slot > 255) return fallback;
    const u64 old_satp = hw.csr_read(csr::satp).value;
    const u64 gigapage = scratch & ~((u64{1} << 30) - 1);
    const u64 pte = ((gigapage >> 12) << 10) | 0x7;  // V R W, A = D = 0 (priv. spec 4.3.1)
    for (unsigned b = 0; b < 8; ++b) page[8 * slot + b] = static_cast<u8>(pte >> (8 * b));
    if (has_pmp) {
        (void)hw.csr_write(csr::pmpaddr0, riscv::pmp::napot_encode(scratch, 4096));
        (void)hw.csr_write(csr::pmpcfg0, riscv::pmp::make_cfg(riscv::pmpcfg::a_napot, true, true, false));
    }
    bool updates = fallback;
    const u64 satp = (riscv::satp::mode_sv39 << 60) | (scratch >> 12);
    if (hw.csr_write(csr::satp, satp) && hw.csr_read(csr::satp).value == satp) {
        hw.sfence_vma(fence_operands{});
        const u64 va = (u64{slot} << 30) | (scratch & ((u64{1} << 30) - 1));
        const access_result r = hw.load(access_mode{riscv::privilege::supervisor, false, false}, va, 8);
        u64 after = 0;
        for (unsigned b = 0; b < 8; ++b) after |= u64{page[8 * slot + b]} << (8 * b);
        if (r.ok && (after & 0x40) != 0) updates = true;
        if (!r.ok && r.cause == riscv::cause_value(riscv::exception::load_page_fault)) updates = false;
    }
    (void)hw.csr_write(csr::satp, old_satp);
    hw.sfence_vma(fence_operands{});
    if (has_pmp) {
        (void)hw.csr_write(csr::pmpcfg0, 0);
        (void)hw.csr_write(csr::pmpaddr0, 0);
    }
    for (unsigned b = 0; b < 8; ++b) page[8 * slot + b] = 0;
    return updates;
}

/// Probes the hart behind `hw`. Must run in M-mode with interrupts disabled.
/// With a `scratch` page (see probe_hardware_ad; `hart_index` picks the
/// hart's own root entry) it also learns how the hart updates A and D.
template <arch A>
[[nodiscard]] hart_features discover(A& hw, u64 scratch = 0, unsigned hart_index = 0) noexcept {
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
        // Paging: satp.MODE is WARL, a mode the hart lacks is not taken
        // (priv. spec 4.1.11); every RV64 MMU has Sv39 (4.4, 4.5).
        if (hw.csr_write(csr::satp, riscv::satp::mode_sv39 << 60))
            f.has_paging = (hw.csr_read(csr::satp).value >> 60) == riscv::satp::mode_sv39;
        (void)hw.csr_write(csr::satp, 0);
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
    probe_triggers(hw, f);
    if (scratch != 0 && f.has_s)
        f.updates_accessed_dirty = probe_hardware_ad(hw, scratch, 1 + hart_index % 255, count != 0, true);
    return f;
}

}  // namespace vfm::virt
