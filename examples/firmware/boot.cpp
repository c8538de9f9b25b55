// SPDX-License-Identifier: MIT
// boot: how the firmware is entered. Every hart arrives with a0 = its hart
// id (= mhartid), a1 = the device tree and a2 = the fw_dynamic_info that
// QEMU's reset code (or the monitor) prepared; the machine-mode state at
// entry is the hart's reset state (priv. spec 3.4).
#include <vfm/riscv/fw_dynamic.hpp>

#include "testfw/testfw.hpp"

using namespace testfw;

const char* const testfw::firmware_name = "boot";
const char* const testfw::firmware_purpose = "entry registers, device tree, fw_dynamic_info and reset state";

namespace {

u64 report_entry(u64) {
    const hart_local& h = self();
    return (h.boot_a0 == read<csr::mhartid>() ? 1 : 0) | (h.boot_a1 == boot_fdt() ? 2 : 0) |
           (h.boot_a2 == boot_dynamic_info() ? 4 : 0);
}

u32 be32(u64 address) {
    return (u32{mmio::read<u8>(address)} << 24) | (u32{mmio::read<u8>(address + 1)} << 16) |
           (u32{mmio::read<u8>(address + 2)} << 8) | u32{mmio::read<u8>(address + 3)};
}

}  // namespace

void testfw::firmware_main() {
    // The reset state first, before anything below changes it (the library
    // has only set mtvec and mscratch).
    const u64 me = boot_hart();
    println("== machine state at entry on hart %u (priv. 3.4)", me);
    note("mstatus %x", read<csr::mstatus>());
    note("mie %x", read<csr::mie>());
    note("mip %x", read<csr::mip>());
    // Without S-mode there is no medeleg or mideleg (priv. 3.1.8; QEMU 7.2's
    // E51 keeps them: deviations.hpp).
    if (!has_s_mode()) {
        const probe d = csr_probe<static_cast<u16>(csr::medeleg)>(csr_op::read);
        const probe i = csr_probe<static_cast<u16>(csr::mideleg)>(csr_op::read);
        deviation("3.1.8", d.trapped && i.trapped, !d.trapped && !i.trapped && d.value == 0 && i.value == 0,
                  "no S-mode: medeleg and mideleg %s", d.trapped ? "absent" : "read 0");
    } else if (read<csr::misa>() & riscv::misa::extension('H')) {
        note("medeleg %x", read<csr::medeleg>());
        const u64 mideleg = read<csr::mideleg>();
        // With H, the VS-level bits of mideleg are read-only one (8.4.2).
        constexpr u64 vs = riscv::mip::vssip::mask | riscv::mip::vstip::mask | riscv::mip::vseip::mask;
        deviation("8.4.2", (mideleg & vs) == vs, mideleg == 0, "mideleg %x", mideleg);
    } else {
        note("medeleg %x", read<csr::medeleg>());
        note("mideleg %x", read<csr::mideleg>());
    }
    // menvcfg is new in priv. 1.12 (QEMU sifive_u's harts implement 1.10).
    if (has_csr<csr::menvcfg>()) {
        note("mcounteren %x menvcfg %x", read<csr::mcounteren>(), read<csr::menvcfg>());
    } else {
        note("mcounteren %x", read<csr::mcounteren>());
        absent_here("menvcfg");
    }
    if (has_s_mode()) {
        note("satp %x", read<csr::satp>());
    } else {
        absent_here("S-mode (satp)");
    }
    note("pmpcfg0 %x pmpaddr0 %x", read<csr::pmpcfg0>(), read<csr::pmpaddr0>());
    note("mtimecmp of hart %u %x", me, get_mtimecmp(me));
    const u64 t0 = mtime();
    delay_ticks(100);
    check(mtime() > t0, "mtime advances: %b", mtime() > t0);
    check(vfm::riscv::mstatus::mie::extract(read<csr::mstatus>()) == 0, "mstatus.MIE is 0 at reset");
    check(vfm::riscv::mstatus::mprv::extract(read<csr::mstatus>()) == 0, "mstatus.MPRV is 0 at reset");

    section("entry registers");
    const hart_local& h = self();
    check(h.boot_a0 == me && read<csr::mhartid>() == me, "hart %u: a0 = %u, mhartid = %u", me, h.boot_a0,
          read<csr::mhartid>());
    const u64 fdt = boot_fdt();
    check(fdt != 0 && (fdt & 7) == 0 && be32(fdt) == 0xd00dfeed, "a1 points at a device tree (magic d00dfeed): %b",
          fdt != 0 && be32(fdt) == 0xd00dfeed);
    const unsigned harts = hart_count();
    note("harts in the device tree: %u", harts);

    const u64 dyn = boot_dynamic_info();
    if (dyn != 0) {
        const auto* info = reinterpret_cast<const volatile vfm::riscv::fw_dynamic_info*>(dyn);
        check(info->magic == vfm::riscv::fw_dynamic_magic, "a2 points at fw_dynamic_info: magic %h", info->magic);
        note("fw_dynamic_info: version %u next_addr %x next_mode %u options %h", info->version, info->next_addr,
             info->next_mode, info->options);
        if (info->version >= 2) note("fw_dynamic_info: boot_hart %h", info->boot_hart);
    } else {
        check(false, "a2 is 0: no fw_dynamic_info");
    }

    section("secondary harts");
    const unsigned online = wait_for_secondaries();
    check(online == harts - 1, "secondary harts registered: %u of %u", online, harts - 1);
    for (u64 id = 0; id < harts && id < TESTFW_MAX_HARTS; ++id) {
        if (id == me) continue;
        u64 result = 0;
        const bool done = run_on(id, report_entry, 0, result);
        check(done && result == 7, "hart %u: a0 = mhartid: %b, same a1: %b, same a2: %b", id, (result & 1) != 0,
              (result & 2) != 0, (result & 4) != 0);
    }
}
