// SPDX-License-Identifier: MIT
// containment (monitor only): the monitor's memory, which it reserves in the
// device tree as /reserved-memory/vfm@<base>, is out of the firmware's reach. Loads, stores and jumps there raise load,
// store and instruction access faults that arrive at the firmware's own
// mtvec with mtval = the address, as if a PMP entry of the platform denied
// them; programming the firmware's PMP to grant the region (NAPOT, RWX,
// unlocked and then locked) changes nothing. The firmware keeps running.
// Natively nothing guards that region, so this firmware only runs under
// the monitor.
#include <vfm/fdt/tree.hpp>

#include "testfw/testfw.hpp"

using namespace testfw;
using riscv::exception;

const char* const testfw::firmware_name = "containment";
const char* const testfw::firmware_purpose = "the monitor's memory is out of the firmware's reach";

namespace {

/// The region the monitor reserved for itself in the device tree (DT spec 3.5.4).
struct reserved_region {
    u64 base = 0;
    u64 size = 0;
};

reserved_region monitor_region() {
    const vfm::fdt::tree tree(reinterpret_cast<const void*>(boot_fdt()), 0x10'0000);
    if (!tree.ok()) return {};
    const vfm::fdt::node reserved = tree.find_path("/reserved-memory");
    for (vfm::fdt::node child = tree.first_child(reserved); child; child = tree.next_sibling(child)) {
        const char* name = tree.name(child);
        if (name[0] != 'v' || name[1] != 'f' || name[2] != 'm' || name[3] != '@') continue;
        const auto reg = tree.reg(child, 0);
        if (reg) return {reg.value().base, reg.value().size};
    }
    return {};
}

u64 base;
u64 size;

probe g_result;
u64 g_address;
u64 lower_load(u64) {
    g_result = load_probe(g_address);
    return 1;
}

void probe_all(const char* when) {
    char what[96];
    const u64 addresses[] = {base, base + 0x800, base + size / 2, base + size - 8};
    for (const u64 a : addresses) {
        format(what, sizeof what, "load from %x %s", a, when);
        expect_exception(load_probe(a), exception::load_access_fault, a, 3, what);
        format(what, sizeof what, "store to %x %s", a, when);
        expect_exception(store_probe(a, 0x0bad'0bad'0bad'0bad), exception::store_access_fault, a, 3, what);
    }
    format(what, sizeof what, "jump to %x %s", base, when);
    expect_exception(call_probe(base), exception::instruction_access_fault, base, 3, what);
    format(what, sizeof what, "jump to %x %s", base + 0x1000, when);
    expect_exception(call_probe(base + 0x1000), exception::instruction_access_fault, base + 0x1000, 3, what);
    // An 8-byte load whose first half is the end of the region.
    format(what, sizeof what, "8-byte load from %x, half in the region %s", base + size - 4, when);
    expect_exception(load_probe(base + size - 4), exception::load_access_fault, base + size - 4, 3, what);
}

}  // namespace

void testfw::firmware_main() {
    const reserved_region region = monitor_region();
    base = region.base;
    size = region.size;
    if (!check(size != 0, "the device tree reserves the monitor's memory: %x size %x", base, size)) return;

    section("no PMP entries");
    pmp::reset();
    probe_all("(M-mode)");

    section("from S-mode, through the firmware's PMP allowing everything");
    pmp::open_all(0);
    g_address = base;
    g_result = {};
    run_in(privilege::supervisor, lower_load);
    expect_exception(g_result, exception::load_access_fault, base, 3, "S-mode load from the monitor's base");

    section("the firmware's PMP grants the region (NAPOT, RWX, unlocked)");
    pmp::reset();
    pmp::set(0, pmp::make_cfg(pmp::napot, true, true, true), pmp::napot_encode(base, size));
    pmp::open_all(1);
    probe_all("(M-mode, granted)");

    section("the same entry locked");
    pmp::set(0, pmp::make_cfg(pmp::napot, true, true, true, true), pmp::napot_encode(base, size));
    probe_all("(M-mode, granted and locked)");

    section("the firmware still runs");
    u64 sum = 0;
    for (u64 i = 0; i < 1000; ++i) sum += i;
    check(sum == 499500, "arithmetic and memory after all those faults: %u", sum);
}
