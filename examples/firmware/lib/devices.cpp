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
    constexpr const char* sifive_uarts[] = {"sifive,uart0"};
    constexpr const char* htifs[] = {"ucb,htif0"};
    constexpr const char* finishers[] = {"sifive,test0", "sifive,test1"};

    device_map found{};
    found.uart = 0;
    found.finisher = 0;
    found.htif = 0;
    found.sifive_uart = 0;
    found.restart_gpio = 0;
    found.clint = 0;
    // The console: what /chosen/stdout-path names (DT spec 3.6), else the first 16550.
    const vfm::fdt::node chosen = vfm::fdt::stdout_node(t);
    if (chosen && vfm::platforms::is_compatible(t, chosen, htifs)) {
        if (const auto r = vfm::fdt::device_region(t, chosen)) found.htif = r.value().base;
    } else if (chosen && vfm::platforms::is_compatible(t, chosen, uarts)) {
        if (const auto r = vfm::fdt::device_region(t, chosen)) found.uart = r.value().base;
    } else if (chosen && vfm::platforms::is_compatible(t, chosen, sifive_uarts)) {
        if (const auto r = vfm::fdt::device_region(t, chosen)) found.sifive_uart = r.value().base;
    }
    if (found.htif == 0 && found.uart == 0 && found.sifive_uart == 0) {
        if (const auto r = vfm::fdt::device_region(t, uarts)) found.uart = r.value().base;
        else if (const auto h = vfm::fdt::device_region(t, htifs)) found.htif = h.value().base;
    }
    if (const auto r = vfm::fdt::device_region(t, finishers)) found.finisher = r.value().base;
    if (found.finisher == 0 && found.htif == 0) {
        if (const auto h = vfm::fdt::device_region(t, htifs)) found.htif = h.value().base;
    }
    if (found.finisher == 0 && found.htif == 0) {
        // gpio-restart = <&controller pin flags> on a SiFive GPIO (output_en
        // +0x08, output_val +0x0c; flags bit 0: active low).
        const vfm::fdt::node restart = vfm::fdt::find_device(t, "gpio-restart");
        const vfm::fdt::property gpios = restart ? t.find_property(restart, "gpios") : vfm::fdt::property{};
        const auto handle = gpios.cell(0);
        const auto pin = gpios.cell(1);
        const auto flags = gpios.cell(2);
        constexpr const char* sifive_gpio[] = {"sifive,gpio0"};
        const vfm::fdt::node controller = handle ? vfm::fdt::find_phandle(t, handle.value()) : vfm::fdt::node{};
        if (controller && pin && pin.value() < 32 && vfm::platforms::is_compatible(t, controller, sifive_gpio)) {
            if (const auto r = vfm::fdt::device_region(t, controller)) {
                found.restart_gpio = r.value().base;
                found.restart_pin = pin.value();
                found.restart_active_low = flags && (flags.value() & 1) != 0;
            }
        }
    }
    if (const auto r = vfm::fdt::clint_region(t)) found.clint = r.value().base;
    else if (const auto m = vfm::fdt::aclint_mswi_region(t)) found.clint = m.value().base;

    // Whatever is missing keeps virt's address; the output says what was not found.
    const bool console = found.uart != 0 || found.htif != 0 || found.sifive_uart != 0;
    const bool exit = found.finisher != 0 || found.htif != 0 || found.restart_gpio != 0;
    if (console) {
        devices.uart = found.uart;
        devices.htif = found.htif;
        devices.sifive_uart = found.sifive_uart;
    }
    if (exit) {
        devices.finisher = found.finisher;
        devices.restart_gpio = found.restart_gpio;
        devices.restart_pin = found.restart_pin;
        devices.restart_active_low = found.restart_active_low;
    }
    if (found.clint != 0) devices.clint = found.clint;
    if (!console) return "no console (16550, SiFive UART or HTIF)";
    if (!exit) return "no exit device (SiFive test finisher, HTIF or gpio-restart)";
    if (found.clint == 0) return "no CLINT";
    // Deadlines count in milliseconds: a timebase of at least 1 kHz.
    const auto timebase_found = vfm::fdt::timebase_frequency(t);
    if (!timebase_found || timebase_found.value() < 1000) return "no timebase-frequency of at least 1 kHz";
    devices.timebase = timebase_found.value();
    return nullptr;
}

}  // namespace testfw::platform
