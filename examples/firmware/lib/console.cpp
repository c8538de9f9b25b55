// SPDX-License-Identifier: MIT
// UART output and the formatter.
#include "testfw/console.hpp"

namespace testfw {

namespace {

volatile u32 g_console_lock;

/// Where formatted characters go: the UART or a buffer.
struct sink {
    char* buffer = nullptr;
    usize size = 0;
    usize length = 0;
    void put(char c) noexcept {
        if (buffer == nullptr) {
            if (c == '\n') put_char('\r');
            put_char(c);
        } else if (length + 1 < size) {
            buffer[length] = c;
        }
        ++length;
    }
    void put(const char* s) noexcept {
        while (*s) put(*s++);
    }
};

void put_unsigned(sink& out, u64 v, unsigned base, unsigned min_digits) noexcept {
    char digits[24];
    unsigned n = 0;
    do {
        const unsigned d = static_cast<unsigned>(v % base);
        digits[n++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v != 0);
    while (n < min_digits) digits[n++] = '0';
    while (n > 0) out.put(digits[--n]);
}

void format_into(sink& out, const char* f, const fmt_arg* args, unsigned count) noexcept {
    unsigned next = 0;
    for (; *f; ++f) {
        if (*f != '%') {
            out.put(*f);
            continue;
        }
        const char conv = *++f;
        if (conv == '\0') break;
        if (conv == '%') {
            out.put('%');
            continue;
        }
        if (next >= count) {
            out.put("<missing>");
            continue;
        }
        const fmt_arg& a = args[next++];
        switch (conv) {
            case 's': out.put(a.text ? a.text : "<not a string>"); break;
            case 'c': out.put(static_cast<char>(a.value)); break;
            case 'd':
                if (static_cast<i64>(a.value) < 0) {
                    out.put('-');
                    put_unsigned(out, ~a.value + 1, 10, 1);
                } else {
                    put_unsigned(out, a.value, 10, 1);
                }
                break;
            case 'u': put_unsigned(out, a.value, 10, 1); break;
            case 'x': out.put("0x"); put_unsigned(out, a.value, 16, 16); break;
            case 'h': out.put("0x"); put_unsigned(out, a.value, 16, 1); break;
            case 'b': out.put(a.value ? "yes" : "no"); break;
            default: out.put('%'); out.put(conv); break;
        }
    }
}

}  // namespace

void put_char(char c) noexcept {
    if (platform::devices.htif != 0) {
        htif_command(1, 1, static_cast<u8>(c));
        return;
    }
    if (platform::devices.sifive_uart != 0) {  // txdata: wait while full (bit 31)
        const u64 txctrl = platform::devices.sifive_uart + 0x08;
        mmio::write<u32>(txctrl, mmio::read<u32>(txctrl) | 1u);  // txen
        while ((mmio::read<u32>(platform::devices.sifive_uart) & 0x8000'0000u) != 0) {
        }
        mmio::write<u32>(platform::devices.sifive_uart, static_cast<u8>(c));
        return;
    }
    while ((mmio::read<u8>(platform::devices.uart + 5) & platform::uart_lsr_thre) == 0) {
    }
    mmio::write<u8>(platform::devices.uart, static_cast<u8>(c));
}

void htif_command(u64 device, u64 command, u64 payload) noexcept {
    // tohost (+8): device [63:56], command [55:48], payload [47:0]; then the
    // host's answer in fromhost (+0) is cleared.
    const u64 tohost = platform::devices.htif + 8;
    for (u32 spins = 0; mmio::read<u64>(tohost) != 0 && spins < 1'000'000; ++spins) {
    }
    mmio::write<u64>(tohost, (device << 56) | (command << 48) | (payload & 0xffff'ffff'ffffull));
    mmio::write<u64>(platform::devices.htif, 0);
}

void put_string(const char* s) noexcept {
    sink out;
    out.put(s);
}

void vprint(const char* format, const fmt_arg* args, unsigned count) noexcept {
    sink out;
    format_into(out, format, args, count);
}

usize vformat(char* buffer, usize size, const char* format, const fmt_arg* args, unsigned count) noexcept {
    sink out{buffer, size, 0};
    format_into(out, format, args, count);
    if (size != 0) buffer[out.length < size ? out.length : size - 1] = '\0';
    return out.length;
}

void console_lock() noexcept {
    while (__atomic_exchange_n(&g_console_lock, 1u, __ATOMIC_ACQUIRE) != 0) {
    }
}

void console_unlock() noexcept { __atomic_store_n(&g_console_lock, 0u, __ATOMIC_RELEASE); }

}  // namespace testfw
