// SPDX-License-Identifier: MIT
// The devices of the board, from the device tree the firmware receives in a1
// (the same on every machine the suite runs on: QEMU virt and spike).
#include <vfm/fdt/discover.hpp>
#include <vfm/fdt/tree.hpp>
#include <vfm/platform/board_support.hpp>

#include "testfw/platform.hpp"

namespace testfw::platform {

// In .data: read by every hart, written by hart 0 before the others start.
device_map devices;

const char* discover_devices(u64 fdt) noexcept {
    if (fdt == 0) return "a1 is 0";
    // Read nothing outside RAM (at 0x80000000 on virt and spike) or misaligned.
    if (fdt < 0x8000'0000 || (fdt & 7) != 0) return "a1 is not a device tree";
    // The tree's own header says how long it is (totalsize, DT spec 5.2).
    const vfm::fdt::tree t(reinterpret_cast<const void*>(fdt), 0x10'0000);
    if (!t.ok()) return "a1 is not a device tree";

    constexpr const char* uarts[] = {"ns16550a", "ns16550"};
    constexpr const char* htifs[] = {"ucb,htif0"};
    constexpr const char* finishers[] = {"sifive,test0", "sifive,test1"};

    device_map found{};
    found.uart = 0;
    found.finisher = 0;
    found.htif = 0;
    found.clint = 0;
    // The console: what /chosen/stdout-path names (DT spec 3.6), else the first 16550.
    const vfm::fdt::node chosen = vfm::fdt::stdout_node(t);
    if (chosen && vfm::platforms::is_compatible(t, chosen, htifs)) {
        if (const auto r = vfm::fdt::device_region(t, chosen)) found.htif = r.value().base;
    } else if (chosen && vfm::platforms::is_compatible(t, chosen, uarts)) {
        if (const auto r = vfm::fdt::device_region(t, chosen)) found.uart = r.value().base;
    }
    if (found.htif == 0 && found.uart == 0) {
        if (const auto r = vfm::fdt::device_region(t, uarts)) found.uart = r.value().base;
        else if (const auto h = vfm::fdt::device_region(t, htifs)) found.htif = h.value().base;
    }
    if (const auto r = vfm::fdt::device_region(t, finishers)) found.finisher = r.value().base;
    if (found.finisher == 0 && found.htif == 0) {
        if (const auto h = vfm::fdt::device_region(t, htifs)) found.htif = h.value().base;
    }
    if (const auto r = vfm::fdt::clint_region(t)) found.clint = r.value().base;
    else if (const auto m = vfm::fdt::aclint_mswi_region(t)) found.clint = m.value().base;

    // Whatever is missing keeps virt's address; the output says what was not found.
    if (found.uart != 0 || found.htif != 0) {
        devices.uart = found.uart;
        devices.htif = found.htif;
    }
    if (found.finisher != 0 || found.htif != 0) devices.finisher = found.finisher;
    if (found.clint != 0) devices.clint = found.clint;
    if (found.uart == 0 && found.htif == 0) return "no console (16550 or HTIF)";
    if (found.finisher == 0 && found.htif == 0) return "no exit device (SiFive test finisher or HTIF)";
    if (found.clint == 0) return "no CLINT";
    const auto timebase_found = vfm::fdt::timebase_frequency(t);
    if (!timebase_found || timebase_found.value() != timebase) return "a timebase-frequency other than 10 MHz";
    return nullptr;
}

}  // namespace testfw::platform
