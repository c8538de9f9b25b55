// SPDX-License-Identifier: MIT
/// Console output on the 16550 UART and a tiny type-safe printf.
///
/// Conversions: %s string, %c character, %d signed decimal, %u unsigned
/// decimal, %x 0x-prefixed 16-digit hex, %h 0x-prefixed minimal hex,
/// %b yes/no, %% a percent sign. Every integer argument is widened to 64 bits
/// first, so the conversion never depends on the argument's C++ type.
#pragma once

#include "testfw/platform.hpp"

namespace testfw {

/// One formatted argument: an integer (widened to 64 bits) or a string.
struct fmt_arg {
    u64 value = 0;
    const char* text = nullptr;

    constexpr fmt_arg(const char* s) noexcept : text(s ? s : "(null)") {}
    constexpr fmt_arg(char* s) noexcept : text(s ? s : "(null)") {}
    constexpr fmt_arg(bool b) noexcept : value(b) {}
    constexpr fmt_arg(char c) noexcept : value(static_cast<u8>(c)) {}
    constexpr fmt_arg(signed char v) noexcept : value(static_cast<u64>(static_cast<i64>(v))) {}
    constexpr fmt_arg(unsigned char v) noexcept : value(v) {}
    constexpr fmt_arg(short v) noexcept : value(static_cast<u64>(static_cast<i64>(v))) {}
    constexpr fmt_arg(unsigned short v) noexcept : value(v) {}
    constexpr fmt_arg(int v) noexcept : value(static_cast<u64>(static_cast<i64>(v))) {}
    constexpr fmt_arg(unsigned v) noexcept : value(v) {}
    constexpr fmt_arg(long v) noexcept : value(static_cast<u64>(v)) {}
    constexpr fmt_arg(unsigned long v) noexcept : value(v) {}
    constexpr fmt_arg(long long v) noexcept : value(static_cast<u64>(v)) {}
    constexpr fmt_arg(unsigned long long v) noexcept : value(v) {}
    fmt_arg(const void* p) noexcept : value(reinterpret_cast<u64>(p)) {}
    template <class E>
        requires __is_enum(E)
    constexpr fmt_arg(E e) noexcept : value(static_cast<u64>(e)) {}
};

/// Writes one character (polling LSR.THRE before each write).
void put_char(char c) noexcept;
/// One HTIF command (platform::devices.htif must be set).
void htif_command(u64 device, u64 command, u64 payload) noexcept;
/// Writes a string; '\n' becomes "\r\n" for terminals.
void put_string(const char* s) noexcept;
/// Formats into the UART without taking the console lock.
void vprint(const char* format, const fmt_arg* args, unsigned count) noexcept;
/// Formats into a buffer (always terminated); returns the length.
usize vformat(char* buffer, usize size, const char* format, const fmt_arg* args, unsigned count) noexcept;

/// The console lock keeps lines of different harts apart.
void console_lock() noexcept;
void console_unlock() noexcept;

/// Prints a formatted line (a newline is appended) atomically.
template <class... A>
void println(const char* format, const A&... args) noexcept {
    const fmt_arg list[sizeof...(A) + 1] = {fmt_arg(args)..., fmt_arg(0)};
    console_lock();
    vprint(format, list, sizeof...(A));
    put_string("\n");
    console_unlock();
}

template <class... A>
usize format(char* buffer, usize size, const char* fmt, const A&... args) noexcept {
    const fmt_arg list[sizeof...(A) + 1] = {fmt_arg(args)..., fmt_arg(0)};
    return vformat(buffer, size, fmt, list, sizeof...(A));
}

}  // namespace testfw
