// SPDX-License-Identifier: MIT
/// Errors and the small result type of the device-tree reader and editor.
/// Nothing in vfm/fdt throws or traps: every operation that can fail says why.
#pragma once

#include <vfm/detail/types.hpp>

namespace vfm::fdt {

/// Why a blob was rejected or an operation did not happen.
enum class error : u8 {
    none = 0,
    truncated,          ///< the bound is smaller than the header or than totalsize (DT spec 5.2)
    bad_magic,          ///< magic is not 0xd00dfeed (DT spec 5.2)
    bad_version,        ///< not compatible with version 17 (DT spec 5.1)
    bad_layout,         ///< a block lies outside totalsize or overlaps another block (DT spec 5.2)
    bad_alignment,      ///< a block or its size is not aligned as DT spec 5.6 requires
    bad_structure,      ///< unknown token, unbalanced nodes, property after a subnode, no FDT_END (DT spec 5.4)
    bad_name,           ///< a node name runs past the structure block (DT spec 5.4.1)
    bad_string_offset,  ///< a property's nameoff is outside the strings block or unterminated (DT spec 5.5)
    bad_length,         ///< a property value runs past the structure block (DT spec 5.4.1)
    too_deep,           ///< nodes nested deeper than fdt::max_depth
    not_found,          ///< no such node, property or entry
    ambiguous,          ///< a path component without unit address matches several nodes (DT spec 2.2.3)
    bad_value,          ///< the property exists but does not have the expected size or format
    unsupported,        ///< valid but outside what vfm handles (e.g. #address-cells > 2)
    no_space,           ///< the edit does not fit in the buffer's capacity
    exists,             ///< a node of that name already exists under the parent
    bad_argument,       ///< an invalid name, a stale handle, an attempt to remove the root
};

/// A short fixed description of `e`, for panic and log messages.
[[nodiscard]] constexpr const char* to_string(error e) noexcept {
    switch (e) {
        case error::none: return "no error";
        case error::truncated: return "blob truncated";
        case error::bad_magic: return "bad magic";
        case error::bad_version: return "incompatible version";
        case error::bad_layout: return "blocks out of bounds or overlapping";
        case error::bad_alignment: return "misaligned block";
        case error::bad_structure: return "malformed structure block";
        case error::bad_name: return "unterminated node name";
        case error::bad_string_offset: return "bad property name offset";
        case error::bad_length: return "property length past the end";
        case error::too_deep: return "nodes nested too deeply";
        case error::not_found: return "not found";
        case error::ambiguous: return "ambiguous path";
        case error::bad_value: return "unexpected property value";
        case error::unsupported: return "unsupported";
        case error::no_space: return "no space";
        case error::exists: return "already exists";
        case error::bad_argument: return "bad argument";
    }
    return "unknown error";
}

/// A value or the error that prevented it. `T` must be default-constructible
/// (it is for every type vfm/fdt returns: integers, pointers, handles, regions).
template <class T>
class result {
public:
    constexpr result(T value) noexcept : m_value(value), m_error(fdt::error::none) {}
    /// An error; error::none is taken as not_found, so a result without a value never looks ok.
    constexpr result(fdt::error e) noexcept : m_value{}, m_error(e == fdt::error::none ? fdt::error::not_found : e) {}

    [[nodiscard]] constexpr bool ok() const noexcept { return m_error == fdt::error::none; }
    constexpr explicit operator bool() const noexcept { return ok(); }
    /// The value; a default-constructed `T` when `!ok()`.
    [[nodiscard]] constexpr const T& value() const noexcept { return m_value; }
    [[nodiscard]] constexpr T value_or(T fallback) const noexcept { return ok() ? m_value : fallback; }
    [[nodiscard]] constexpr fdt::error error() const noexcept { return m_error; }

private:
    T m_value;
    fdt::error m_error;
};

}  // namespace vfm::fdt
