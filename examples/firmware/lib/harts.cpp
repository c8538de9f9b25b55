// SPDX-License-Identifier: MIT
// Boot entries of hart 0 and of the other harts, the work mailbox, and the
// device tree's hart count.
#include "testfw/check.hpp"
#include "testfw/harts.hpp"

namespace testfw {

namespace {

u64 g_fdt;
u64 g_dynamic_info;
volatile u64 g_online;

/// A big-endian 32-bit device tree cell.
[[nodiscard]] u32 be32(u64 address) noexcept {
    return (u32{mmio::read<u8>(address)} << 24) | (u32{mmio::read<u8>(address + 1)} << 16) |
           (u32{mmio::read<u8>(address + 2)} << 8) | u32{mmio::read<u8>(address + 3)};
}

[[nodiscard]] bool starts_with(u64 address, const char* prefix) noexcept {
    for (; *prefix; ++prefix, ++address) {
        if (mmio::read<char>(address) != *prefix) return false;
    }
    return true;
}

[[nodiscard]] usize string_length(u64 address) noexcept {
    usize n = 0;
    while (mmio::read<char>(address + n) != '\0') ++n;
    return n;
}

}  // namespace

u64 boot_fdt() noexcept { return g_fdt; }
u64 boot_dynamic_info() noexcept { return g_dynamic_info; }
u64 online_mask() noexcept { return g_online; }

unsigned hart_count() noexcept {
    // Flattened device tree (devicetree spec 5): walk the structure block and
    // count the nodes named cpu@... directly under /cpus.
    constexpr u32 fdt_magic = 0xd00dfeed;
    constexpr u32 begin_node = 1, end_node = 2, prop = 3, nop = 4;
    if (g_fdt == 0 || be32(g_fdt) != fdt_magic) return 1;
    u64 p = g_fdt + be32(g_fdt + 8);
    unsigned depth = 0;
    bool in_cpus = false;
    unsigned cpus = 0;
    for (;;) {
        const u32 token = be32(p);
        p += 4;
        if (token == begin_node) {
            ++depth;
            if (depth == 2 && starts_with(p, "cpus") &&
                (mmio::read<char>(p + 4) == '\0' || mmio::read<char>(p + 4) == '@')) {
                in_cpus = true;
            }
            if (depth == 3 && in_cpus && starts_with(p, "cpu@")) ++cpus;
            p += (string_length(p) + 1 + 3) & ~u64{3};
        } else if (token == end_node) {
            if (depth == 2) in_cpus = false;
            if (depth == 0) break;
            --depth;
        } else if (token == prop) {
            const u32 len = be32(p);
            p += 8 + ((len + 3) & ~u32{3});
        } else if (token == nop) {
            continue;
        } else {
            break;
        }
    }
    return cpus == 0 ? 1 : cpus;
}

unsigned wait_for_secondaries(u64 ms) noexcept {
    const unsigned expected = hart_count() - 1;
    const deadline until = deadline::in_ms(ms);
    for (;;) {
        unsigned n = 0;
        for (u64 m = g_online; m != 0; m &= m - 1) ++n;
        if (n >= expected || until.passed()) return n;
    }
}

void post_work(u64 target, u64 (*fn)(u64), u64 arg) noexcept {
    mailbox& m = hart(target).work;
    m.function = fn;
    m.argument = arg;
    fence();
    m.requested = m.requested + 1;
    fence();
    send_ipi(target);
}

bool wait_work(u64 target, u64& result, u64 ms) noexcept {
    mailbox& m = hart(target).work;
    const deadline until = deadline::in_ms(ms);
    while (m.completed != m.requested) {
        if (until.passed()) return false;
    }
    fence();
    result = m.result;
    return true;
}

bool run_on(u64 target, u64 (*fn)(u64), u64 arg, u64& result, u64 ms) noexcept {
    post_work(target, fn, arg);
    return wait_work(target, result, ms);
}

void delay_ticks(u64 ticks) noexcept {
    const deadline until = deadline::in_ticks(ticks);
    while (!until.passed()) {
    }
}

extern "C" void testfw_boot_primary(u64 a0, u64 a1, u64 a2) noexcept {
    hart_local& h = self();
    h.boot_a0 = a0;
    h.boot_a1 = a1;
    h.boot_a2 = a2;
    g_fdt = a1;
    g_dynamic_info = a2;
    const char* devices_missing = platform::discover_devices(a1);
    println("vfm-testfw %s: %s", firmware_name, firmware_purpose);
    // A firmware entered again without a tree (the attack suite's landing
    // code does that) keeps what it found before, or virt's addresses.
    if (devices_missing != nullptr) impl_defined("the device tree: %s: the devices found before stand", devices_missing);
    firmware_main();
    finish();
}

extern "C" void testfw_boot_secondary(u64 a0, u64 a1, u64 a2) noexcept {
    hart_local& h = self();
    h.boot_a0 = a0;
    h.boot_a1 = a1;
    h.boot_a2 = a2;
    fence();
    __atomic_fetch_or(&g_online, u64{1} << a0, __ATOMIC_SEQ_CST);
    set<csr::mie>(riscv::mip::msip::mask);
    mailbox& m = h.work;
    for (;;) {
        while (m.completed == m.requested) {
            wfi();
        }
        // The poster's IPI follows the request: consume exactly that one.
        while (read_msip(a0) == 0) {
        }
        clear_ipi(a0);
        fence();
        const u64 ticket = m.requested;
        m.result = m.function(m.argument);
        fence();
        m.completed = ticket;
    }
}

}  // namespace testfw
