// SPDX-License-Identifier: MIT
/// The checks of a blob: once at construction (`open`: the header, the
/// memory reservation block, and `check_structure`: a walk of every token),
/// and on every token a query reads (`read`), so that no query reads
/// outside the blob (DT spec 5.2 - 5.6).
///
/// Part of `fdt::tree` (fdt/tree.hpp, which includes it at its end):
/// definitions of `tree` members declared there.
#pragma once

#include <vfm/fdt/tree.hpp>

#include <vfm/fdt/error.hpp>
#include <vfm/fdt/format.hpp>

namespace vfm::fdt {

/// Checks the header and the memory reservation block, then walks the
/// structure block once (DT spec 5.2 - 5.6).
[[nodiscard]] constexpr error tree::open(const u8* blob, usize bound) noexcept {
    if (detail::is_null(blob)) return error::bad_argument;
    if (bound < 4) return error::truncated;
    if (detail::load_be32(blob + header::magic) != magic) return error::bad_magic;
    if (bound < header_size) return error::truncated;
    m_blob = blob;
    if (header_field(header::version) < version || header_field(header::last_comp_version) > version) {
        return error::bad_version;
    }
    const u64 total = header_field(header::totalsize);
    if (total > bound) return error::truncated;
    if (total < header_size) return error::bad_layout;

    const u64 struct_off = header_field(header::off_dt_struct);
    const u64 struct_size = header_field(header::size_dt_struct);
    const u64 strings_off = header_field(header::off_dt_strings);
    const u64 strings_size = header_field(header::size_dt_strings);
    const u64 rsv_off = header_field(header::off_mem_rsvmap);
    if (struct_off % 4 != 0 || struct_size % 4 != 0 || rsv_off % 8 != 0) return error::bad_alignment;
    if (struct_off < header_size || struct_off + struct_size > total) return error::bad_layout;
    if (strings_off < header_size || strings_off + strings_size > total) return error::bad_layout;
    if (rsv_off < header_size) return error::bad_layout;

    // The reservation block ends with an all-zero entry (DT spec 5.3.2).
    u64 entries = 0;
    for (;;) {
        const u64 at = rsv_off + entries * reservation_entry_size;
        if (at + reservation_entry_size > total) return error::bad_layout;
        if (detail::load_be64(blob + at) == 0 && detail::load_be64(blob + at + 8) == 0) break;
        ++entries;
    }
    const u64 rsv_size = (entries + 1) * reservation_entry_size;

    const auto overlap = [](u64 a, u64 a_size, u64 b, u64 b_size) {
        return a_size != 0 && b_size != 0 && a < b + b_size && b < a + a_size;
    };
    if (overlap(struct_off, struct_size, strings_off, strings_size) ||
        overlap(struct_off, struct_size, rsv_off, rsv_size) || overlap(strings_off, strings_size, rsv_off, rsv_size)) {
        return error::bad_layout;
    }

    m_struct = static_cast<u32>(struct_off);
    m_struct_size = static_cast<u32>(struct_size);
    m_strings = static_cast<u32>(strings_off);
    m_strings_size = static_cast<u32>(strings_size);
    m_rsvmap = static_cast<u32>(rsv_off);
    m_reservations = static_cast<u32>(entries);
    const error walked = check_structure();
    if (walked != error::none) {
        m_struct = m_struct_size = m_strings = m_strings_size = m_rsvmap = m_reservations = 0;
    }
    return walked;
}

/// Walks every token once: names terminated, property lengths and name
/// offsets in bounds, one root node with an empty name, balanced nodes no
/// deeper than max_depth, properties before subnodes, and FDT_END as the
/// last token (DT spec 5.4).
[[nodiscard]] constexpr error tree::check_structure() const noexcept {
    u32 open = 0;
    bool root_seen = false;
    bool after_child = false;  // a subnode of the innermost open node has ended
    u32 off = 0;
    token_view t;
    while (off < m_struct_size) {
        const error e = read(off, t);
        if (e != error::none) return e;
        switch (t.tag) {
            case token::begin_node:
                if (open == 0) {
                    if (root_seen || t.length != 0) return error::bad_structure;
                    root_seen = true;
                }
                if (open > max_depth) return error::too_deep;
                ++open;
                after_child = false;
                break;
            case token::end_node:
                if (open == 0) return error::bad_structure;
                --open;
                after_child = true;
                break;
            case token::prop:
                if (open == 0 || after_child) return error::bad_structure;
                break;
            case token::nop: break;
            case token::end:
                if (!root_seen || open != 0 || t.next != m_struct_size) return error::bad_structure;
                return error::none;
        }
        off = t.next;
    }
    return error::bad_structure;  // no FDT_END
}

/// Decodes the token at `off`, checking that it and its data lie inside the
/// structure block and that a property's name lies inside the strings block.
[[nodiscard]] constexpr error tree::read(u32 off, token_view& t) const noexcept {
    if (m_struct_size < 4 || off % 4 != 0 || off > m_struct_size - 4) return error::bad_structure;
    const u8* s = m_blob + m_struct;
    const u32 tag = detail::load_be32(s + off);
    switch (tag) {
        case static_cast<u32>(token::begin_node): {
            const usize limit = m_struct_size - (off + 4);
            const usize len = detail::bounded_length(s + off + 4, limit);
            if (len == limit) return error::bad_name;
            t = {token::begin_node, static_cast<u32>(detail::align4(u64{off} + 4 + len + 1)), off + 4,
                 static_cast<u32>(len), 0};
            return error::none;
        }
        case static_cast<u32>(token::end_node):
        case static_cast<u32>(token::nop):
        case static_cast<u32>(token::end): t = {static_cast<token>(tag), off + 4, 0, 0, 0}; return error::none;
        case static_cast<u32>(token::prop): {
            if (m_struct_size - off < 12) return error::bad_length;
            const u32 len = detail::load_be32(s + off + 4);
            const u32 nameoff = detail::load_be32(s + off + 8);
            if (u64{off} + 12 + len > m_struct_size) return error::bad_length;
            if (nameoff >= m_strings_size) return error::bad_string_offset;
            const u32 limit = m_strings_size - nameoff;
            if (detail::bounded_length(m_blob + m_strings + nameoff, limit) == limit) {
                return error::bad_string_offset;
            }
            t = {token::prop, static_cast<u32>(detail::align4(u64{off} + 12 + len)), off + 12, len, nameoff};
            return error::none;
        }
        default: return error::bad_structure;
    }
}

}  // namespace vfm::fdt
