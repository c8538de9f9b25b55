// SPDX-License-Identifier: MIT
/// `vfm::fdt::editor`: in-place edits of a flattened devicetree held in a
/// writable buffer with spare capacity (Devicetree Specification v0.4, chapter 5),
/// and `reserve_memory`, which hides a range of RAM from the operating system
/// with a `/reserved-memory` node (DT spec 3.5).
///
/// Guarantees:
///  - the blob stays valid after every operation: it is re-validated with
///    `tree` after each edit, and the header's totalsize, off_dt_struct,
///    off_dt_strings, size_dt_struct and size_dt_strings follow the blocks;
///  - an edit happens completely or not at all: space is checked before the
///    first byte moves, and an edit that does not fit gives error::no_space;
///  - nothing is written at or beyond `capacity`;
///  - the memory reservation block and boot_cpuid_phys are preserved.
///
/// Limits: the blocks must be in the order the spec recommends (memory
/// reservation block, structure block, strings block, DT spec 5.1), which is
/// what dtc, libfdt, QEMU and U-Boot produce; other layouts give unsupported.
/// After an edit totalsize ends at the strings block (trailing free space is
/// given back to the buffer), version is 17 and last_comp_version 16. Strings
/// no longer referenced after a removal stay in the strings block. An edit
/// moves the bytes after the edited place, so node and property handles
/// obtained before an edit must be looked up again, except the node an
/// operation returns and nodes located before the edit.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/fdt/error.hpp>
#include <vfm/fdt/format.hpp>
#include <vfm/fdt/tree.hpp>

namespace vfm::fdt {

class editor {
public:
    /// Opens the blob at the start of `buffer`; the blob may grow up to
    /// `capacity` bytes (at most 4 GiB - 1, the range of totalsize).
    constexpr editor(u8* buffer, usize capacity) noexcept
        : m_buffer(buffer),
          m_capacity(capacity > 0xffffffffu ? 0xffffffffu : static_cast<u32>(capacity)),
          m_tree(buffer, m_capacity) {
        m_error = m_tree.status();
        if (m_error != error::none) return;
        const u32 rsv_end = m_tree.reservations_offset() + (m_tree.reservation_count() + 1) * reservation_entry_size;
        const u32 struct_end = m_tree.struct_offset() + m_tree.struct_size();
        if (rsv_end > m_tree.struct_offset() || struct_end > m_tree.strings_offset()) m_error = error::unsupported;
    }
    editor(void* buffer, usize capacity) noexcept : editor(static_cast<u8*>(buffer), capacity) {}

    [[nodiscard]] constexpr error status() const noexcept { return m_error; }
    [[nodiscard]] constexpr bool ok() const noexcept { return m_error == error::none; }
    /// A reader over the current blob (refreshed after every edit).
    [[nodiscard]] constexpr const tree& view() const noexcept { return m_tree; }
    [[nodiscard]] constexpr u8* data() const noexcept { return m_buffer; }
    /// The blob's current totalsize.
    [[nodiscard]] constexpr u32 size() const noexcept { return m_tree.total_size(); }
    [[nodiscard]] constexpr u32 capacity() const noexcept { return m_capacity; }
    /// Bytes the blob can still grow by.
    [[nodiscard]] constexpr u32 free_space() const noexcept { return ok() ? m_capacity - used_end() : 0; }

    // ---- nodes ----

    /// Adds a node called `name` (`node-name` or `node-name@unit-address`,
    /// DT spec 2.2.1) as the last subnode of `parent`.
    [[nodiscard]] constexpr result<node> add_node(node parent, const char* name) noexcept {
        if (!ok()) return m_error;
        if (!is_valid_node_name(name)) return error::bad_argument;
        const usize length = detail::length(name);
        if (!m_tree.is_node(parent)) return error::bad_argument;
        const result<u32> depth = m_tree.depth(parent);
        if (!depth) return error::bad_argument;
        if (depth.value() + 1 > max_depth) return error::too_deep;
        for (node c = m_tree.first_child(parent); c; c = m_tree.next_sibling(c)) {
            if (m_tree.name_equals(c, name)) return error::exists;
        }
        const u32 end = m_tree.subtree_end(parent, true);
        if (end == ~u32{0}) return error::bad_argument;
        const u32 name_size = static_cast<u32>(detail::align4(length + 1));
        const u32 grow = 4 + name_size + 4;
        if (u64{used_end()} + grow > m_capacity) return error::no_space;

        blocks b = current();
        const u32 at = b.struct_offset + end;
        open_gap(at, grow);
        detail::store_be32(m_buffer + at, static_cast<u32>(token::begin_node));
        for (usize i = 0; i < name_size; ++i) m_buffer[at + 4 + i] = i < length ? static_cast<u8>(name[i]) : 0;
        detail::store_be32(m_buffer + at + 4 + name_size, static_cast<u32>(token::end_node));
        b.struct_size += grow;
        b.strings_offset += grow;
        const error e = commit(b);
        if (e != error::none) return e;
        return node{end};
    }

    /// Adds `name@<unit_address in lowercase hex>` under `parent`.
    [[nodiscard]] constexpr result<node> add_node(node parent, const char* name, u64 unit_address) noexcept {
        char full[max_name_length + 1 + 16 + 1] = {};
        if (!unit_name(full, sizeof full, name, unit_address)) return error::bad_argument;
        return add_node(parent, full);
    }

    /// Removes `n` with its properties and subnodes. The root cannot be removed.
    [[nodiscard]] constexpr error remove_node(node n) noexcept {
        if (!ok()) return m_error;
        if (!m_tree.is_node(n) || n == m_tree.root()) return error::bad_argument;
        const u32 end = m_tree.subtree_end(n);
        if (end == ~u32{0}) return error::bad_argument;
        blocks b = current();
        const u32 shrink = end - n.offset();
        close_gap(b.struct_offset + n.offset(), shrink);
        b.struct_size -= shrink;
        b.strings_offset -= shrink;
        return commit(b);
    }

    // ---- properties ----

private:
    // Defined before its callers: clang 14 cannot evaluate at compile time a
    // member template whose definition follows the constexpr caller.
    /// The header's view of the blocks, updated by an edit and then committed.
    struct blocks {
        u32 struct_offset;
        u32 struct_size;
        u32 strings_offset;
        u32 strings_size;
    };

    /// Where set_with puts a value: room made for `size` bytes at `at` in the
    /// buffer (the property's header written, the padding zeroed), and the
    /// blocks to commit once the value is in.
    struct value_slot {
        error status = error::none;
        u32 at = 0;
        blocks b{};
    };

    /// The part of set_with that does not depend on the value: one copy in an image.
    [[nodiscard]] constexpr value_slot make_room(node n, const char* name, u32 size) noexcept {
        if (!ok()) return {m_error};
        if (detail::is_null(name)) return {error::bad_argument};
        const usize name_length = detail::length(name);
        if (name_length == 0 || name_length > max_name_length) return {error::bad_argument};
        for (usize i = 0; i < name_length; ++i) {
            if (!detail::is_property_name_char(name[i])) return {error::bad_argument};
        }
        if (!m_tree.is_node(n)) return {error::bad_argument};
        if (size > 0xffff0000u) return {error::no_space};
        const u32 padded = static_cast<u32>(detail::align4(size));
        blocks b = current();

        const property existing = m_tree.find_property(n, name);
        if (existing) {
            const u32 old_padded = static_cast<u32>(detail::align4(existing.size()));
            const u32 value_at = b.struct_offset + existing.offset() + 12;
            if (padded > old_padded) {
                const u32 grow = padded - old_padded;
                if (u64{used_end()} + grow > m_capacity) return {error::no_space};
                open_gap(value_at + old_padded, grow);
                b.struct_size += grow;
                b.strings_offset += grow;
            } else if (padded < old_padded) {
                const u32 shrink = old_padded - padded;
                close_gap(value_at + padded, shrink);
                b.struct_size -= shrink;
                b.strings_offset -= shrink;
            }
            detail::store_be32(m_buffer + value_at - 8, size);
            detail::fill_bytes(m_buffer + value_at + size, 0, padded - size);
            return {error::none, value_at, b};
        }

        u32 nameoff = find_string(name, name_length);
        const u32 string_grow = nameoff == ~u32{0} ? static_cast<u32>(name_length + 1) : 0;
        const u32 grow = 12 + padded;
        if (u64{used_end()} + string_grow + grow > m_capacity) return {error::no_space};
        const u32 props_end = m_tree.properties_end(n);
        if (props_end == ~u32{0}) return {error::bad_argument};
        if (string_grow != 0) {
            // The strings block is the last block: the new name goes at its end.
            nameoff = b.strings_size;
            u8* out = m_buffer + b.strings_offset + b.strings_size;
            for (usize i = 0; i < name_length; ++i) out[i] = static_cast<u8>(name[i]);
            out[name_length] = 0;
            b.strings_size += string_grow;
        }
        const u32 at = b.struct_offset + props_end;
        detail::move_bytes(m_buffer + at + grow, m_buffer + at, b.strings_offset + b.strings_size - at);
        detail::store_be32(m_buffer + at, static_cast<u32>(token::prop));
        detail::store_be32(m_buffer + at + 4, size);
        detail::store_be32(m_buffer + at + 8, nameoff);
        detail::fill_bytes(m_buffer + at + 12 + size, 0, padded - size);
        b.struct_size += grow;
        b.strings_offset += grow;
        return {error::none, at + 12, b};
    }

    // Defined before its callers: clang 14 cannot evaluate at compile time a
    // member template whose definition follows the constexpr caller.
    /// set_property with the value written by `fill(out)` (exactly `size` bytes).
    template <class Fill>
    [[nodiscard]] constexpr error set_with(node n, const char* name, u32 size, Fill fill) noexcept {
        const value_slot slot = make_room(n, name, size);
        if (slot.status != error::none) return slot.status;
        fill(m_buffer + slot.at);
        return commit(slot.b);
    }

public:
    /// Sets property `name` of `n` to the `size` bytes at `value`, replacing
    /// its value if it exists and appending it after `n`'s properties if not.
    /// A new name is added to the strings block unless it is already there.
    [[nodiscard]] constexpr error set_property(node n, const char* name, const u8* value, u32 size) noexcept {
        if (detail::is_null(value) && size != 0) return error::bad_argument;
        return set_with(n, name, size, [value, size](u8* out) {
            for (u32 i = 0; i < size; ++i) out[i] = value[i];
        });
    }
    [[nodiscard]] error set_property(node n, const char* name, const void* value, u32 size) noexcept {
        return set_property(n, name, static_cast<const u8*>(value), size);
    }
    /// Sets an empty property, e.g. `no-map;` (DT spec 2.2.4.2).
    [[nodiscard]] constexpr error set_empty(node n, const char* name) noexcept {
        return set_with(n, name, 0, [](u8*) {});
    }
    /// Sets a `<u32>` property.
    [[nodiscard]] constexpr error set_u32(node n, const char* name, u32 value) noexcept {
        return set_with(n, name, 4, [value](u8* out) { detail::store_be32(out, value); });
    }
    /// Sets a `<u64>` property (two cells, most significant first).
    [[nodiscard]] constexpr error set_u64(node n, const char* name, u64 value) noexcept {
        return set_with(n, name, 8, [value](u8* out) { detail::store_be64(out, value); });
    }
    /// Sets a `<prop-encoded-array>` of `count` cells.
    [[nodiscard]] constexpr error set_cells(node n, const char* name, const u32* cells, u32 count) noexcept {
        if ((detail::is_null(cells) && count != 0) || count > 0x3fffffffu) return error::bad_argument;
        return set_with(n, name, 4 * count, [cells, count](u8* out) {
            for (u32 i = 0; i < count; ++i) detail::store_be32(out + 4 * i, cells[i]);
        });
    }
    /// Sets a `<string>` property (the NUL is stored).
    [[nodiscard]] constexpr error set_string(node n, const char* name, const char* value) noexcept {
        if (detail::is_null(value)) return error::bad_argument;
        const usize length = detail::length(value);
        if (length >= 0xffff0000u) return error::bad_argument;
        return set_with(n, name, static_cast<u32>(length + 1), [value, length](u8* out) {
            for (usize i = 0; i <= length; ++i) out[i] = static_cast<u8>(value[i]);
        });
    }

    /// Removes property `name` of `n`; not_found when it has none.
    [[nodiscard]] constexpr error remove_property(node n, const char* name) noexcept {
        if (!ok()) return m_error;
        if (!m_tree.is_node(n)) return error::bad_argument;
        const property p = m_tree.find_property(n, name);
        if (!p) return error::not_found;
        blocks b = current();
        const u32 shrink = 12 + static_cast<u32>(detail::align4(p.size()));
        close_gap(b.struct_offset + p.offset(), shrink);
        b.struct_size -= shrink;
        b.strings_offset -= shrink;
        return commit(b);
    }

    // ---- memory reservation block ----

    /// Appends {base, size} to the memory reservation block (DT spec 5.3).
    /// A zero size is rejected: it would not reserve anything (and 0/0 ends the list).
    [[nodiscard]] constexpr error add_memory_reservation(u64 base, u64 size) noexcept {
        if (!ok()) return m_error;
        if (size == 0) return error::bad_argument;
        if (u64{used_end()} + reservation_entry_size > m_capacity) return error::no_space;
        blocks b = current();
        const u32 at = m_tree.reservations_offset() + m_tree.reservation_count() * reservation_entry_size;
        open_gap(at, reservation_entry_size);
        detail::store_be64(m_buffer + at, base);
        detail::store_be64(m_buffer + at + 8, size);
        b.struct_offset += reservation_entry_size;
        b.strings_offset += reservation_entry_size;
        return commit(b);
    }

    /// Writes "name@hex" into `out` (NUL-terminated); false when it does not
    /// fit in `out_size` or `name` is longer than max_name_length.
    static constexpr bool unit_name(char* out, usize out_size, const char* name, u64 unit_address) noexcept {
        const usize length = detail::length(name);
        if (length > max_name_length) return false;
        char digits[16] = {};
        usize count = 0;
        do {
            const unsigned d = static_cast<unsigned>(unit_address & 0xf);
            digits[count++] = static_cast<char>(d < 10 ? '0' + d : 'a' + (d - 10));
            unit_address >>= 4;
        } while (unit_address != 0);
        if (length + 1 + count + 1 > out_size) return false;
        usize at = 0;
        for (usize i = 0; i < length; ++i) out[at++] = name[i];
        out[at++] = '@';
        while (count > 0) out[at++] = digits[--count];
        out[at] = '\0';
        return true;
    }

    /// `node-name[@unit-address]`: a node-name of 1 to 31 characters starting
    /// with a letter, an optional non-empty unit address, all from the
    /// characters of DT spec 2.2.1 Table 2.1.
    /// The unit address may have up to 31 characters too.
    [[nodiscard]] static constexpr bool is_valid_node_name(const char* name) noexcept {
        if (detail::is_null(name)) return false;
        const usize length = detail::length(name);
        usize at = 0;
        while (at < length && name[at] != '@') ++at;
        if (at == 0 || at > max_name_length) return false;
        if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'))) return false;
        if (at < length && (length - at - 1 == 0 || length - at - 1 > max_name_length)) return false;
        for (usize i = 0; i < length; ++i) {
            if (i != at && !detail::is_node_name_char(name[i])) return false;
        }
        return true;
    }

private:
    [[nodiscard]] constexpr blocks current() const noexcept {
        return {m_tree.struct_offset(), m_tree.struct_size(), m_tree.strings_offset(), m_tree.strings_size()};
    }
    /// End of the last block: where the used part of the buffer ends.
    [[nodiscard]] constexpr u32 used_end() const noexcept { return m_tree.strings_offset() + m_tree.strings_size(); }

    /// Moves everything from blob offset `at` to the end of the last block up by `n` bytes.
    constexpr void open_gap(u32 at, u32 n) noexcept {
        detail::move_bytes(m_buffer + at + n, m_buffer + at, used_end() - at);
    }
    /// Moves everything after `at + n` down to `at` and clears the bytes freed at the end.
    constexpr void close_gap(u32 at, u32 n) noexcept {
        const u32 end = used_end();
        detail::move_bytes(m_buffer + at, m_buffer + at + n, end - at - n);
        detail::fill_bytes(m_buffer + end - n, 0, n);
    }

    /// Writes the header for `b` and re-validates the blob.
    [[nodiscard]] constexpr error commit(const blocks& b) noexcept {
        detail::store_be32(m_buffer + header::totalsize, b.strings_offset + b.strings_size);
        detail::store_be32(m_buffer + header::off_dt_struct, b.struct_offset);
        detail::store_be32(m_buffer + header::off_dt_strings, b.strings_offset);
        detail::store_be32(m_buffer + header::version, version);
        detail::store_be32(m_buffer + header::last_comp_version, last_compatible_version);
        detail::store_be32(m_buffer + header::size_dt_strings, b.strings_size);
        detail::store_be32(m_buffer + header::size_dt_struct, b.struct_size);
        m_tree = tree(m_buffer, m_capacity);
        m_error = m_tree.status();  // an invalid blob here would be a bug in the editor: stop editing
        return m_error;
    }

    /// Offset in the strings block of an existing NUL-terminated `name`
    /// (possibly the tail of a longer string), or ~0.
    [[nodiscard]] constexpr u32 find_string(const char* name, usize length) const noexcept {
        const u8* strings = m_buffer + m_tree.strings_offset();
        const u32 size = m_tree.strings_size();
        if (length + 1 > size) return ~u32{0};
        for (u32 at = 0; at + length < size; ++at) {
            if (strings[at + length] == 0 && detail::bytes_equal(strings + at, name, length)) return at;
        }
        return ~u32{0};
    }

    u8* m_buffer;
    u32 m_capacity;
    tree m_tree;
    error m_error = error::none;
};

/// Hides [base, base + size) from the operating system: adds
/// `/reserved-memory/<name>@<base in lowercase hex>` with `reg = <base size>`
/// and `no-map` (DT spec 3.5.2). `reg` is encoded with /reserved-memory's
/// #address-cells and #size-cells. When /reserved-memory is absent it is
/// created with the root's #address-cells and #size-cells (DT spec 3.5.1 asks
/// for the same values as the root; Linux ignores the node otherwise; on QEMU
/// virt that is <2> and <2>) and an empty `ranges`.
///
/// All or nothing: when the worst case (every name new to the strings block)
/// does not fit, nothing is written and no_space is returned. A node of the
/// same unit name gives exists; a base or size that the cells cannot hold
/// gives bad_value.
[[nodiscard]] constexpr result<node> reserve_memory(editor& e, const char* name, u64 base, u64 size) noexcept {
    if (!e.ok()) return e.status();
    if (detail::is_null(name) || size == 0) return error::bad_argument;
    char child_name[max_name_length + 1 + 16 + 1] = {};
    if (!editor::unit_name(child_name, sizeof child_name, name, base) || !editor::is_valid_node_name(child_name)) {
        return error::bad_argument;
    }

    const node root = e.view().root();
    node reserved;
    for (node c = e.view().first_child(root); c; c = e.view().next_sibling(c)) {
        if (e.view().name_equals(c, "reserved-memory")) reserved = c;
    }
    const node cells_from = reserved ? reserved : root;
    const result<u32> address_cells = e.view().address_cells(cells_from);
    const result<u32> size_cells = e.view().size_cells(cells_from);
    if (!address_cells || !size_cells) return error::bad_value;
    const u32 ac = address_cells.value();
    const u32 sc = size_cells.value();
    if (ac == 0 || ac > 2 || sc == 0 || sc > 2) return error::unsupported;
    if ((ac == 1 && base > 0xffffffffu) || (sc == 1 && size > 0xffffffffu)) return error::bad_value;
    if (reserved) {
        for (node c = e.view().first_child(reserved); c; c = e.view().next_sibling(c)) {
            if (e.view().name_equals(c, child_name)) return error::exists;
        }
    }

    // Worst case: a token for each node and property, and every name new.
    const u32 child_node = 8 + static_cast<u32>(detail::align4(detail::length(child_name) + 1));
    u32 needed = child_node + (12 + 4 * (ac + sc) + 4) + (12 + 7);           // child, reg, no-map
    if (!reserved) needed += 24 + (12 + 4 + 15) + (12 + 4 + 12) + (12 + 7);  // node, cells, ranges
    if (e.free_space() < needed) return error::no_space;

    if (!reserved) {
        const result<node> created = e.add_node(root, "reserved-memory");
        if (!created) return created.error();
        reserved = created.value();
        error err = e.set_u32(reserved, "#address-cells", ac);
        if (err == error::none) err = e.set_u32(reserved, "#size-cells", sc);
        if (err == error::none) err = e.set_empty(reserved, "ranges");
        if (err != error::none) return err;
    }
    const result<node> child = e.add_node(reserved, child_name);
    if (!child) return child.error();
    u32 cells[4] = {};
    u32 count = 0;
    if (ac == 2) cells[count++] = static_cast<u32>(base >> 32);
    cells[count++] = static_cast<u32>(base);
    if (sc == 2) cells[count++] = static_cast<u32>(size >> 32);
    cells[count++] = static_cast<u32>(size);
    error err = e.set_cells(child.value(), "reg", cells, count);
    if (err == error::none) err = e.set_empty(child.value(), "no-map");
    if (err != error::none) return err;
    return child;
}

}  // namespace vfm::fdt
