// SPDX-License-Identifier: MIT
/// The handles `fdt::tree` gives out: `node`, the offset of a node's
/// FDT_BEGIN_NODE token, and `property`, a property's name and value bytes
/// inside the blob, with the readers of its value (DT spec 2.2.4, 5.4).
/// They stay meaningful as long as the blob is not edited.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/fdt/error.hpp>
#include <vfm/fdt/format.hpp>

namespace vfm::fdt {

class tree;

/// A node, named by the offset of its FDT_BEGIN_NODE token in the structure
/// block (DT spec 5.4.2). A default-constructed node is "none".
class node {
public:
    constexpr node() noexcept = default;
    constexpr explicit node(u32 offset) noexcept : m_offset(offset) {}

    [[nodiscard]] constexpr bool valid() const noexcept { return m_offset != invalid_offset; }
    constexpr explicit operator bool() const noexcept { return valid(); }
    /// Offset of the node's FDT_BEGIN_NODE token from the start of the structure block.
    [[nodiscard]] constexpr u32 offset() const noexcept { return m_offset; }

    friend constexpr bool operator==(node, node) noexcept = default;

private:
    static constexpr u32 invalid_offset = ~u32{0};
    u32 m_offset = invalid_offset;
};

/// A property of a node: its name and value bytes inside the blob
/// (DT spec 2.2.4, 5.4.1). A default-constructed property is "absent".
class property {
public:
    constexpr property() noexcept = default;

    /// True when the property exists (its value may still be empty).
    [[nodiscard]] constexpr bool present() const noexcept { return m_present; }
    constexpr explicit operator bool() const noexcept { return present(); }
    /// The value bytes; nullptr when absent.
    [[nodiscard]] constexpr const u8* data() const noexcept { return m_data; }
    /// Length of the value in bytes.
    [[nodiscard]] constexpr u32 size() const noexcept { return m_size; }
    /// True for a present property with an empty value, e.g. `no-map;` or `ranges;` (DT spec 2.2.4.2).
    [[nodiscard]] constexpr bool is_empty() const noexcept { return present() && m_size == 0; }
    /// Offset of the property's FDT_PROP token in the structure block.
    [[nodiscard]] constexpr u32 offset() const noexcept { return m_offset; }

    /// The property's name, from the strings block (DT spec 5.5).
    [[nodiscard]] const char* name() const noexcept {
        return present() ? reinterpret_cast<const char*>(m_name) : nullptr;
    }
    [[nodiscard]] constexpr bool name_equals(const char* s) const noexcept {
        return present() && detail::string_equal(m_name, m_name_limit, s);
    }

    /// The value as one `<u32>` (DT spec 2.2.4.2); bad_value unless it is exactly 4 bytes.
    [[nodiscard]] constexpr result<u32> as_u32() const noexcept {
        if (!present()) return error::not_found;
        if (m_size != 4) return error::bad_value;
        return detail::load_be32(m_data);
    }
    /// The value as one `<u64>` (DT spec 2.2.4.2); bad_value unless it is exactly 8 bytes.
    [[nodiscard]] constexpr result<u64> as_u64() const noexcept {
        if (!present()) return error::not_found;
        if (m_size != 8) return error::bad_value;
        return detail::load_be64(m_data);
    }
    /// The value as a number that may be written either as `<u32>` or `<u64>`
    /// (e.g. `timebase-frequency`, `clock-frequency`, DT spec 3.7, 3.8).
    [[nodiscard]] constexpr result<u64> as_uint() const noexcept {
        if (m_size == 4) return u64{detail::load_be32(m_data)};
        return as_u64();
    }
    /// Number of whole 32-bit cells in the value.
    [[nodiscard]] constexpr u32 cell_count() const noexcept { return m_size / 4; }
    /// Cell `index` of a `<prop-encoded-array>`.
    [[nodiscard]] constexpr result<u32> cell(u32 index) const noexcept {
        if (!present()) return error::not_found;
        if (index >= cell_count()) return error::bad_value;
        return detail::load_be32(m_data + 4 * index);
    }

    /// The value as a `<string>` (DT spec 2.2.4.2): it must end with a NUL.
    /// For a `<stringlist>` this is its first string.
    [[nodiscard]] const char* as_string() const noexcept {
        if (!is_terminated()) return nullptr;
        return reinterpret_cast<const char*>(m_data);
    }
    /// True when the value is exactly the string `s` with its NUL.
    [[nodiscard]] constexpr bool string_equals(const char* s) const noexcept {
        return present() && m_size == detail::length(s) + 1 && detail::string_equal(m_data, m_size, s);
    }
    /// Number of NUL-terminated strings in a `<stringlist>` (an unterminated tail is not counted).
    [[nodiscard]] constexpr u32 string_count() const noexcept {
        u32 count = 0;
        for (u32 i = 0; i < m_size; ++i) {
            if (m_data[i] == 0) ++count;
        }
        return count;
    }
    /// String `index` of a `<stringlist>`, or nullptr.
    [[nodiscard]] const char* string_at(u32 index) const noexcept {
        u32 start = 0;
        for (u32 i = 0; i < m_size; ++i) {
            if (m_data[i] != 0) continue;
            if (index == 0) return reinterpret_cast<const char*>(m_data + start);
            --index;
            start = i + 1;
        }
        return nullptr;
    }
    /// True when the `<stringlist>` value contains `s` as one of its strings
    /// (how `compatible` is matched, DT spec 2.3.1).
    [[nodiscard]] constexpr bool contains(const char* s) const noexcept {
        const usize n = detail::length(s);
        u32 start = 0;
        for (u32 i = 0; i < m_size; ++i) {
            if (m_data[i] != 0) continue;
            if (i - start == n && detail::bytes_equal(m_data + start, s, n)) return true;
            start = i + 1;
        }
        return false;
    }

private:
    friend class tree;

    constexpr property(const u8* data, u32 size, const u8* name, u32 name_limit, u32 offset) noexcept
        : m_data(data), m_name(name), m_size(size), m_name_limit(name_limit), m_offset(offset), m_present(true) {}

    [[nodiscard]] constexpr bool is_terminated() const noexcept {
        return present() && m_size > 0 && m_data[m_size - 1] == 0;
    }

    const u8* m_data = nullptr;
    const u8* m_name = nullptr;
    u32 m_size = 0;
    u32 m_name_limit = 0;
    u32 m_offset = ~u32{0};
    bool m_present = false;  // a flag, not `m_data != nullptr`: see detail::is_null
};

}  // namespace vfm::fdt
