// SPDX-License-Identifier: MIT
/// The flattened devicetree (DTB) format, version 17: header layout, tokens,
/// and the byte-level helpers shared by the reader and the editor
/// (Devicetree Specification v0.4, chapter 5).
///
/// Everything is read and written a byte at a time in big-endian order, so the
/// blob may sit at any address and the code works the same at compile time.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/detail/utility.hpp>

namespace vfm::fdt {

/// `magic` of every blob (DT spec 5.2).
inline constexpr u32 magic = 0xd00dfeed;
/// The format version this code reads and writes (DT spec 5.1).
inline constexpr u32 version = 17;
/// The `last_comp_version` written with version 17: it is backwards compatible with 16.
inline constexpr u32 last_compatible_version = 16;
/// Size of the version 17 header: ten big-endian u32 fields (DT spec 5.2).
inline constexpr u32 header_size = 40;
/// Size of one memory reservation entry, {u64 address, u64 size} (DT spec 5.3.2).
inline constexpr u32 reservation_entry_size = 16;
/// Nodes nested deeper than this (the root is depth 0) are rejected. The spec
/// sets no limit; real trees stay under 10, and a bound keeps every walk cheap.
inline constexpr u32 max_depth = 64;
/// Longest node-name (before '@') and property name the editor writes (DT spec 2.2.1, 2.2.4.1).
inline constexpr usize max_name_length = 31;

/// Structure block tokens (DT spec 5.4.1).
enum class token : u32 {
    begin_node = 0x1,  ///< FDT_BEGIN_NODE, followed by the NUL-terminated unit name
    end_node = 0x2,    ///< FDT_END_NODE
    prop = 0x3,        ///< FDT_PROP, followed by {u32 len, u32 nameoff} and the value
    nop = 0x4,         ///< FDT_NOP
    end = 0x9,         ///< FDT_END, the last token of the structure block
};

/// Byte offsets of the header fields (DT spec 5.2).
namespace header {
inline constexpr u32 magic = 0;
inline constexpr u32 totalsize = 4;
inline constexpr u32 off_dt_struct = 8;
inline constexpr u32 off_dt_strings = 12;
inline constexpr u32 off_mem_rsvmap = 16;
inline constexpr u32 version = 20;
inline constexpr u32 last_comp_version = 24;
inline constexpr u32 boot_cpuid_phys = 28;
inline constexpr u32 size_dt_strings = 32;
inline constexpr u32 size_dt_struct = 36;
}  // namespace header

/// A range of addresses: a `reg` entry, a memory reservation, a device's registers.
struct region {
    u64 base = 0;
    u64 size = 0;
    friend constexpr bool operator==(const region&, const region&) noexcept = default;
};

namespace detail {

/// True for a null pointer argument. At compile time this is always false (a
/// null pointer then fails to evaluate where it is used), because GCC with
/// -fsanitize=undefined cannot fold `&array == nullptr` in a constant expression.
template <class T>
[[nodiscard]] constexpr bool is_null(const T* p) noexcept {
    return !vfm::detail::is_constant_evaluated() && p == nullptr;
}

[[nodiscard]] constexpr u32 load_be32(const u8* p) noexcept {
    return (u32{p[0]} << 24) | (u32{p[1]} << 16) | (u32{p[2]} << 8) | u32{p[3]};
}

[[nodiscard]] constexpr u64 load_be64(const u8* p) noexcept { return (u64{load_be32(p)} << 32) | load_be32(p + 4); }

constexpr void store_be32(u8* p, u32 value) noexcept {
    p[0] = static_cast<u8>(value >> 24);
    p[1] = static_cast<u8>(value >> 16);
    p[2] = static_cast<u8>(value >> 8);
    p[3] = static_cast<u8>(value);
}

constexpr void store_be64(u8* p, u64 value) noexcept {
    store_be32(p, static_cast<u32>(value >> 32));
    store_be32(p + 4, static_cast<u32>(value));
}

/// `value` rounded up to the 4-byte token alignment (DT spec 5.4.1), in 64 bits
/// so that a hostile 32-bit length cannot wrap.
[[nodiscard]] constexpr u64 align4(u64 value) noexcept { return (value + 3) & ~u64{3}; }

/// Length of the NUL-terminated string `s` (a trusted argument, not blob data).
[[nodiscard]] constexpr usize length(const char* s) noexcept {
    usize n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

/// Number of bytes before the first NUL in `p[0 .. limit)`, or `limit` when there is none.
[[nodiscard]] constexpr usize bounded_length(const u8* p, usize limit) noexcept {
    usize n = 0;
    while (n < limit && p[n] != 0) ++n;
    return n;
}

/// True when blob bytes `p[0 .. n)` equal `s[0 .. n)`.
[[nodiscard]] constexpr bool bytes_equal(const u8* p, const char* s, usize n) noexcept {
    for (usize i = 0; i < n; ++i) {
        if (p[i] != static_cast<u8>(s[i])) return false;
    }
    return true;
}

/// True when the NUL-terminated blob string at `p` (at most `limit` bytes
/// including the NUL) equals the NUL-terminated `s`.
[[nodiscard]] constexpr bool string_equal(const u8* p, usize limit, const char* s) noexcept {
    usize i = 0;
    for (; s[i] != '\0'; ++i) {
        if (i >= limit || p[i] != static_cast<u8>(s[i])) return false;
    }
    return i < limit && p[i] == 0;
}

/// Copies `n` bytes from `src` to `dst`; the ranges may overlap.
constexpr void move_bytes(u8* dst, const u8* src, usize n) noexcept {
    if (dst == src || n == 0) return;
    if (dst < src) {
        for (usize i = 0; i < n; ++i) dst[i] = src[i];
    } else {
        for (usize i = n; i > 0; --i) dst[i - 1] = src[i - 1];
    }
}

constexpr void fill_bytes(u8* dst, u8 value, usize n) noexcept {
    for (usize i = 0; i < n; ++i) dst[i] = value;
}

/// Characters allowed in node names and unit addresses (DT spec 2.2.1, Table 2.1).
[[nodiscard]] constexpr bool is_node_name_char(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ',' || c == '.' ||
           c == '_' || c == '+' || c == '-';
}

/// Characters allowed in property names (DT spec 2.2.4.1, Table 2.2).
[[nodiscard]] constexpr bool is_property_name_char(char c) noexcept {
    return is_node_name_char(c) || c == '?' || c == '#';
}

}  // namespace detail
}  // namespace vfm::fdt
