// SPDX-License-Identifier: MIT
/// A tiny freestanding formatter: `format_to(sink, "hart {} pc {:#x}", id, pc)`.
/// Placeholders: `{}` (decimal integers, strings, bools), `{:x}` (hex),
/// `{:#x}` (0x-prefixed hex), `{:016x}` / `{:#018x}` (zero padded to a width).
/// A sink is any object with `put(char)`.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/detail/utility.hpp>

namespace vfm::detail {

// clang-format off
template <class S>
concept char_sink = requires(S& sink, char c) { sink.put(c); };
// clang-format on

struct format_spec {
    bool hex = false;
    bool prefix = false;
    bool zero_pad = false;
    unsigned width = 0;
};

template <char_sink S>
void put_string(S& sink, const char* text) noexcept {
    if (text == nullptr) text = "(null)";
    while (*text != '\0') sink.put(*text++);
}

/// Writes `value` (preceded by '-' when `negative`) padded to `spec.width`:
/// spaces go before the sign and prefix, zeros after them.
template <char_sink S>
void put_unsigned(S& sink, u64 value, const format_spec& spec, bool negative = false) noexcept {
    char digits[24];
    unsigned count = 0;
    const unsigned base = spec.hex ? 16 : 10;
    do {
        const unsigned digit = static_cast<unsigned>(value % base);
        digits[count++] = static_cast<char>(digit < 10 ? '0' + digit : 'a' + digit - 10);
        value /= base;
    } while (value != 0);
    unsigned width = count + (spec.prefix ? 2 : 0) + (negative ? 1 : 0);
    if (!spec.zero_pad)
        for (; width < spec.width; ++width) sink.put(' ');
    if (negative) sink.put('-');
    if (spec.prefix) {
        sink.put('0');
        sink.put('x');
    }
    for (; width < spec.width; ++width) sink.put('0');
    while (count != 0) sink.put(digits[--count]);
}

template <char_sink S, class T>
void put_value(S& sink, const T& value, const format_spec& spec) noexcept {
    if constexpr (is_same<T, bool>) {
        put_string(sink, value ? "true" : "false");
    } else if constexpr (is_same<T, const char*> || is_same<T, char*>) {
        put_string(sink, value);
    } else if constexpr (is_same<T, char>) {
        sink.put(value);
    } else if constexpr (__is_enum(T)) {
        put_unsigned(sink, static_cast<u64>(value), spec);
    } else if constexpr (static_cast<T>(-1) < static_cast<T>(0)) {
        if (value < 0 && !spec.hex) {
            put_unsigned(sink, static_cast<u64>(0) - static_cast<u64>(value), spec, true);
        } else {
            put_unsigned(sink, static_cast<u64>(value), spec);
        }
    } else {
        put_unsigned(sink, static_cast<u64>(value), spec);
    }
}

/// Character arrays (string literals, buffers) are written as strings; without
/// this overload `T` would be deduced as an array type and not compile.
template <char_sink S, usize N>
void put_value(S& sink, const char (&value)[N], const format_spec&) noexcept {
    put_string(sink, value);
}

/// Parses the spec between '{' and '}' (pointer at the character after '{').
[[nodiscard]] constexpr const char* parse_spec(const char* p, format_spec& spec) noexcept {
    if (*p == ':') {
        ++p;
        if (*p == '#') {
            spec.prefix = true;
            ++p;
        }
        if (*p == '0') {
            spec.zero_pad = true;
            ++p;
        }
        while (*p >= '0' && *p <= '9') spec.width = spec.width * 10 + static_cast<unsigned>(*p++ - '0');
        if (*p == 'x') {
            spec.hex = true;
            ++p;
        }
    }
    while (*p != '\0' && *p != '}') ++p;
    return *p == '}' ? p + 1 : p;
}

template <char_sink S>
const char* format_until_placeholder(S& sink, const char* p) noexcept {
    while (*p != '\0') {
        if (p[0] == '{' && p[1] == '{') {
            sink.put('{');
            p += 2;
        } else if (p[0] == '}' && p[1] == '}') {
            sink.put('}');
            p += 2;
        } else if (p[0] == '{') {
            return p;
        } else {
            sink.put(*p++);
        }
    }
    return p;
}

template <char_sink S>
void format_to(S& sink, const char* text) noexcept {
    format_until_placeholder(sink, text);
}

template <char_sink S, class First, class... Rest>
void format_to(S& sink, const char* text, const First& first, const Rest&... rest) noexcept {
    text = format_until_placeholder(sink, text);
    if (*text == '\0') return;
    format_spec spec;
    text = parse_spec(text + 1, spec);
    put_value(sink, first, spec);
    format_to(sink, text, rest...);
}

/// A sink that writes into a fixed buffer and always NUL-terminates.
class buffer_sink {
public:
    buffer_sink(char* buffer, usize capacity) noexcept : m_buffer(buffer), m_capacity(capacity) {
        if (m_capacity != 0) m_buffer[0] = '\0';
    }
    void put(char c) noexcept {
        if (m_length + 1 < m_capacity) {
            m_buffer[m_length++] = c;
            m_buffer[m_length] = '\0';
        }
    }
    [[nodiscard]] usize size() const noexcept { return m_length; }
    [[nodiscard]] const char* c_str() const noexcept { return m_buffer; }

private:
    char* m_buffer;
    usize m_capacity;
    usize m_length = 0;
};

}  // namespace vfm::detail
