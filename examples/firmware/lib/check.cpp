// SPDX-License-Identifier: MIT
// Check bookkeeping, the verdict and the test finisher.
#include "testfw/check.hpp"

namespace testfw {

namespace {
u64 g_checks;
u64 g_failures;
}  // namespace

namespace detail {

bool record_check(bool ok) noexcept {
    ++g_checks;
    if (!ok) ++g_failures;
    return ok;
}

void record_failure() noexcept { ++g_failures; }

void print_prefixed(const char* prefix, const char* format, const fmt_arg* args, unsigned count,
                    const char* suffix) noexcept {
    console_lock();
    put_string(prefix);
    vprint(format, args, count);
    put_string(suffix);
    put_string("\n");
    console_unlock();
}

}  // namespace detail

void exit_qemu(u32 code) noexcept {
    fence();
    if (platform::devices.finisher != 0)
        mmio::write<u32>(platform::devices.finisher,
                         code == 0 ? platform::finisher_pass : (code << 16) | platform::finisher_fail);
    else if (platform::devices.htif != 0)
        htif_command(0, 0, (u64{code} << 1) | 1);  // HTIF: payload bit 0 ends the run, code in [47:1]
    else if (platform::devices.restart_gpio != 0) {
        // gpio-restart: inactive, then active (QEMU sifive_u resets; with
        // -no-reboot it exits with status 0, the verdict line says the rest).
        const u64 value = platform::devices.restart_gpio + 0x0c;
        const u64 enable = platform::devices.restart_gpio + 0x08;
        const u32 bit = 1u << platform::devices.restart_pin;
        const u32 inactive = platform::devices.restart_active_low ? bit : 0;
        mmio::write<u32>(value, (mmio::read<u32>(value) & ~bit) | inactive);
        mmio::write<u32>(enable, mmio::read<u32>(enable) | bit);
        mmio::write<u32>(value, (mmio::read<u32>(value) & ~bit) | (inactive ^ bit));
    }
    for (;;) wfi();
}

void finish() noexcept {
    if (g_failures == 0) {
        println("PASS %s (%u checks)", firmware_name, g_checks);
        exit_qemu(0);
    }
    println("FAIL %s (%u of %u checks failed)", firmware_name, g_failures, g_checks);
    exit_qemu(1);
}

}  // namespace testfw
