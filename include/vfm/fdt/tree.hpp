// SPDX-License-Identifier: MIT
/// `vfm::fdt::tree`: a read-only view of a flattened devicetree blob
/// (Devicetree Specification v0.4, chapters 2 and 5).
///
/// Construction validates the whole blob once: the header, the memory
/// reservation block, and a walk of every structure block token. A blob that
/// fails gives `status() != error::none` and every query then answers "not
/// found". Independently of that validation, every read is bounds-checked
/// against the blocks the header declares and every walk advances by at least
/// one token, so no query reads outside the blob or loops forever, whatever
/// the bytes are.
///
/// Nodes and properties are small handles (offsets into the structure block);
/// they stay meaningful as long as the blob is not edited.
///
/// Everything that does not return a `const char*` into the blob is constexpr,
/// so a blob held in a constexpr `u8` array can be queried at compile time.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/fdt/error.hpp>
#include <vfm/fdt/format.hpp>

namespace vfm::fdt {

class tree;
class editor;

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

/// A read-only flattened devicetree.
class tree {
public:
    /// An empty tree: status() is bad_argument.
    constexpr tree() noexcept = default;

    /// Validates the blob at `blob`, of which at most `bound` bytes may be read
    /// (the header's totalsize must not exceed it).
    constexpr tree(const u8* blob, usize bound) noexcept { m_error = open(blob, bound); }
    tree(const void* blob, usize bound) noexcept : tree(static_cast<const u8*>(blob), bound) {}

    /// Why the blob was rejected, or error::none.
    [[nodiscard]] constexpr error status() const noexcept { return m_error; }
    [[nodiscard]] constexpr bool ok() const noexcept { return m_error == error::none; }

    /// The blob; its first `total_size()` bytes are the devicetree.
    [[nodiscard]] constexpr const u8* data() const noexcept { return m_blob; }
    /// The header's totalsize (DT spec 5.2).
    [[nodiscard]] constexpr u32 total_size() const noexcept { return ok() ? header_field(header::totalsize) : 0; }
    [[nodiscard]] constexpr u32 boot_cpuid_phys() const noexcept {
        return ok() ? header_field(header::boot_cpuid_phys) : 0;
    }
    [[nodiscard]] constexpr u32 struct_offset() const noexcept { return m_struct; }
    [[nodiscard]] constexpr u32 struct_size() const noexcept { return m_struct_size; }
    [[nodiscard]] constexpr u32 strings_offset() const noexcept { return m_strings; }
    [[nodiscard]] constexpr u32 strings_size() const noexcept { return m_strings_size; }
    [[nodiscard]] constexpr u32 reservations_offset() const noexcept { return m_rsvmap; }

    /// Number of entries in the memory reservation block, without the terminator (DT spec 5.3).
    [[nodiscard]] constexpr u32 reservation_count() const noexcept { return m_reservations; }
    /// Entry `index` of the memory reservation block.
    [[nodiscard]] constexpr result<region> reservation(u32 index) const noexcept {
        if (!ok() || index >= m_reservations) return error::not_found;
        const u8* entry = m_blob + m_rsvmap + usize{index} * reservation_entry_size;
        return region{detail::load_be64(entry), detail::load_be64(entry + 8)};
    }

    // ---- navigation (DT spec 5.4.2) ----

    /// The root node, or none when the blob is invalid.
    [[nodiscard]] constexpr node root() const noexcept {
        if (!ok()) return {};
        u32 off = 0;
        token_view t;
        while (read(off, t) == error::none) {
            if (t.tag == token::begin_node) return node{off};
            if (t.tag != token::nop) break;
            off = t.next;
        }
        return {};
    }

    /// The first subnode of `n`, or none.
    [[nodiscard]] constexpr node first_child(node n) const noexcept {
        u32 off = content_start(n);
        token_view t;
        while (read(off, t) == error::none) {
            if (t.tag == token::begin_node) return node{off};
            if (t.tag != token::prop && t.tag != token::nop) break;
            off = t.next;
        }
        return {};
    }

    /// The next subnode of `n`'s parent after `n`, or none.
    [[nodiscard]] constexpr node next_sibling(node n) const noexcept {
        u32 off = subtree_end(n);
        token_view t;
        while (read(off, t) == error::none) {
            if (t.tag == token::begin_node) return node{off};
            if (t.tag != token::nop) break;
            off = t.next;
        }
        return {};
    }

    /// The node that follows `n` in document order (depth first), or none.
    [[nodiscard]] constexpr node next_node(node n) const noexcept {
        u32 off = content_start(n);
        token_view t;
        while (read(off, t) == error::none) {
            if (t.tag == token::begin_node) return node{off};
            if (t.tag == token::end) break;
            off = t.next;
        }
        return {};
    }

    /// The depth of `n` (the root is 0).
    [[nodiscard]] constexpr result<u32> depth(node n) const noexcept {
        if (!is_node(n)) return error::bad_argument;
        u32 open = 0;
        u32 off = 0;
        token_view t;
        while (read(off, t) == error::none && off <= n.offset()) {
            if (t.tag == token::begin_node) {
                if (off == n.offset()) return open;
                ++open;
            } else if (t.tag == token::end_node) {
                if (open == 0) break;
                --open;
            } else if (t.tag == token::end) {
                break;
            }
            off = t.next;
        }
        return error::not_found;
    }

    /// The parent of `n`, or none for the root.
    [[nodiscard]] constexpr node parent(node n) const noexcept {
        const result<u32> d = depth(n);
        if (!d || d.value() == 0) return {};
        const u32 wanted = d.value() - 1;
        node found;
        u32 open = 0;
        u32 off = 0;
        token_view t;
        while (off < n.offset() && read(off, t) == error::none) {
            if (t.tag == token::begin_node) {
                if (open == wanted) found = node{off};
                ++open;
            } else if (t.tag == token::end_node) {
                if (open == 0) return {};
                --open;
            }
            off = t.next;
        }
        return found;
    }

    /// The node's unit name, `node-name@unit-address` ("" for the root, DT spec 2.2.1).
    [[nodiscard]] const char* name(node n) const noexcept {
        token_view t;
        if (read(n.offset(), t) != error::none || t.tag != token::begin_node) return nullptr;
        return reinterpret_cast<const char*>(m_blob + m_struct + t.value);
    }
    /// True when the node's unit name is exactly `s`.
    [[nodiscard]] constexpr bool name_equals(node n, const char* s) const noexcept {
        token_view t;
        if (read(n.offset(), t) != error::none || t.tag != token::begin_node) return false;
        return t.length == detail::length(s) && detail::bytes_equal(m_blob + m_struct + t.value, s, t.length);
    }

    /// The subnode of `parent` that the path component `name` designates: the
    /// one whose unit name is `name`, or, when `name` has no `@unit-address`,
    /// the only one whose node-name is `name` (DT spec 2.2.3).
    /// Gives ambiguous when several match and not_found when none does.
    [[nodiscard]] constexpr result<node> find_child(node parent, const char* name) const noexcept {
        return find_child_in(parent, text{name}, detail::length(name));
    }

    /// The node at `path`: `/soc/serial@10000000`, `/cpus/cpu@0`, `/soc/clint`
    /// (a unit address may be left out when unambiguous, DT spec 2.2.3). A path
    /// that does not start with '/' starts with an alias from `/aliases`
    /// (DT spec 3.3), e.g. `serial0` or `serial0/child`.
    [[nodiscard]] constexpr node find_path(const char* path) const noexcept {
        return resolve(text{path}, detail::length(path), true);
    }
    /// As find_path, for the first `length` characters of `path`.
    [[nodiscard]] constexpr node find_path(const char* path, usize length) const noexcept {
        return resolve(text{path}, length, true);
    }

    // ---- properties (DT spec 2.2.4, 5.4.1) ----

    /// The first property of `n`, or absent.
    [[nodiscard]] constexpr property first_property(node n) const noexcept { return property_from(content_start(n)); }
    /// The property after `p` in the same node, or absent.
    [[nodiscard]] constexpr property next_property(const property& p) const noexcept {
        token_view t;
        if (!p.present() || read(p.offset(), t) != error::none || t.tag != token::prop) return {};
        return property_from(t.next);
    }
    /// The property of `n` called `name`, or absent.
    [[nodiscard]] constexpr property find_property(node n, const char* name) const noexcept {
        for (property p = first_property(n); p.present(); p = next_property(p)) {
            if (p.name_equals(name)) return p;
        }
        return {};
    }

    /// `#address-cells` of `n`: the cells of an address in its children's `reg`
    /// (DT spec 2.3.5; 2 when absent).
    [[nodiscard]] constexpr result<u32> address_cells(node n) const noexcept { return cells(n, "#address-cells", 2); }
    /// `#size-cells` of `n` (DT spec 2.3.5; 1 when absent).
    [[nodiscard]] constexpr result<u32> size_cells(node n) const noexcept { return cells(n, "#size-cells", 1); }

    /// Number of (address, length) entries in `n`'s `reg` (DT spec 2.3.6).
    [[nodiscard]] constexpr result<u32> reg_count(node n) const noexcept {
        const reg_layout layout = reg_layout_of(n);
        if (layout.status != error::none) return layout.status;
        return layout.value.size() / layout.entry_size();
    }
    /// Entry `index` of `n`'s `reg`, decoded with the parent's #address-cells and
    /// #size-cells (DT spec 2.3.5, 2.3.6); an address in the parent's bus address space.
    /// Cells beyond two (64 bits) give unsupported; #size-cells 0 gives size 0.
    [[nodiscard]] constexpr result<region> reg(node n, u32 index = 0) const noexcept {
        const reg_layout layout = reg_layout_of(n);
        if (layout.status != error::none) return layout.status;
        if (index >= layout.value.size() / layout.entry_size()) return error::not_found;
        const u8* entry = layout.value.data() + usize{index} * layout.entry_size();
        return region{read_cells(entry, layout.address_cells),
                      read_cells(entry + 4 * layout.address_cells, layout.size_cells)};
    }

    /// Translates `address`, in the bus address space of `n`'s parent, to a CPU
    /// physical address by applying every ancestor bus's `ranges` (DT spec 2.3.8):
    /// an empty `ranges` is the identity, a missing one means no mapping (not_found).
    [[nodiscard]] constexpr result<u64> translate_address(node n, u64 address) const noexcept {
        node bus = parent(n);
        if (!bus) return error::bad_argument;
        for (u32 level = 0; level <= max_depth; ++level) {
            const node up = parent(bus);
            if (!up) return address;  // bus is the root: root addresses are CPU addresses (DT spec 2.3.6)
            const property ranges = find_property(bus, "ranges");
            if (!ranges) return error::not_found;
            if (!ranges.is_empty()) {
                const result<u32> child_cells = address_cells(bus);
                const result<u32> length_cells = size_cells(bus);
                const result<u32> parent_cells = address_cells(up);
                if (!child_cells) return child_cells.error();
                if (!length_cells) return length_cells.error();
                if (!parent_cells) return parent_cells.error();
                const u32 ca = child_cells.value(), pa = parent_cells.value(), cs = length_cells.value();
                if (ca == 0 || ca > 2 || pa == 0 || pa > 2 || cs == 0 || cs > 2) return error::unsupported;
                const u32 entry_size = 4 * (ca + pa + cs);
                if (ranges.size() % entry_size != 0) return error::bad_value;
                bool mapped = false;
                for (u32 at = 0; at < ranges.size(); at += entry_size) {
                    const u8* entry = ranges.data() + at;
                    const u64 child_base = read_cells(entry, ca);
                    const u64 parent_base = read_cells(entry + 4 * ca, pa);
                    const u64 length = read_cells(entry + 4 * (ca + pa), cs);
                    if (address >= child_base && address - child_base < length) {
                        address = parent_base + (address - child_base);
                        mapped = true;
                        break;
                    }
                }
                if (!mapped) return error::not_found;
            }
            bus = up;
        }
        return error::too_deep;
    }

    // ---- compatible and status (DT spec 2.3.1, 2.3.4) ----

    /// True when `n`'s `compatible` list contains `compatible`.
    [[nodiscard]] constexpr bool is_compatible(node n, const char* compatible) const noexcept {
        return find_property(n, "compatible").contains(compatible);
    }
    /// The first node in document order whose `compatible` contains `compatible`.
    [[nodiscard]] constexpr node find_compatible(const char* compatible) const noexcept {
        const node r = root();
        if (r && is_compatible(r, compatible)) return r;
        return next_compatible(r, compatible);
    }
    /// The next node after `after` (document order) whose `compatible` contains `compatible`.
    [[nodiscard]] constexpr node next_compatible(node after, const char* compatible) const noexcept {
        for (node n = next_node(after); n; n = next_node(n)) {
            if (is_compatible(n, compatible)) return n;
        }
        return {};
    }
    /// True when `n` is operational: no `status`, or "okay" (or the legacy "ok")
    /// (DT spec 2.3.4). "disabled", "reserved", "fail" and "fail-sss" are not.
    [[nodiscard]] constexpr bool is_enabled(node n) const noexcept {
        const property status = find_property(n, "status");
        return !status || status.string_equals("okay") || status.string_equals("ok");
    }

private:
    friend class editor;

    /// One decoded token of the structure block.
    struct token_view {
        token tag = token::end;
        u32 next = 0;     ///< offset of the following token
        u32 value = 0;    ///< begin_node: offset of the name; prop: offset of the value
        u32 length = 0;   ///< begin_node: name length without NUL; prop: value length
        u32 nameoff = 0;  ///< prop: offset of the name in the strings block
    };

    struct reg_layout {
        error status = error::none;
        property value;
        u32 address_cells = 0;
        u32 size_cells = 0;
        [[nodiscard]] constexpr u32 entry_size() const noexcept { return 4 * (address_cells + size_cells); }
    };

    [[nodiscard]] constexpr u32 header_field(u32 field) const noexcept { return detail::load_be32(m_blob + field); }

    /// Checks the header and the memory reservation block, then walks the
    /// structure block once (DT spec 5.2 - 5.6).
    [[nodiscard]] constexpr error open(const u8* blob, usize bound) noexcept {
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
            overlap(struct_off, struct_size, rsv_off, rsv_size) ||
            overlap(strings_off, strings_size, rsv_off, rsv_size)) {
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
    [[nodiscard]] constexpr error check_structure() const noexcept {
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
    [[nodiscard]] constexpr error read(u32 off, token_view& t) const noexcept {
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

    [[nodiscard]] constexpr bool is_node(node n) const noexcept {
        token_view t;
        return n.valid() && read(n.offset(), t) == error::none && t.tag == token::begin_node;
    }

    /// Offset of the first token after `n`'s FDT_BEGIN_NODE and name, or an
    /// offset that read() rejects.
    [[nodiscard]] constexpr u32 content_start(node n) const noexcept {
        token_view t;
        if (!n.valid() || read(n.offset(), t) != error::none || t.tag != token::begin_node) return ~u32{0};
        return t.next;
    }

    /// Offset of the first token after `n`'s properties: where a property is
    /// appended and where `n`'s first subnode or FDT_END_NODE sits.
    [[nodiscard]] constexpr u32 properties_end(node n) const noexcept {
        u32 off = content_start(n);
        token_view t;
        while (read(off, t) == error::none) {
            if (t.tag != token::prop && t.tag != token::nop) return off;
            off = t.next;
        }
        return ~u32{0};
    }

    /// Offset of `n`'s own FDT_END_NODE token when `end_token`, else of the
    /// token after it; ~0 when the node is not well formed.
    [[nodiscard]] constexpr u32 subtree_end(node n, bool end_token = false) const noexcept {
        u32 off = content_start(n);
        u32 open = 1;
        token_view t;
        while (read(off, t) == error::none) {
            if (t.tag == token::begin_node) {
                ++open;
            } else if (t.tag == token::end_node) {
                if (--open == 0) return end_token ? off : t.next;
            } else if (t.tag == token::end) {
                break;
            }
            off = t.next;
        }
        return ~u32{0};
    }

    [[nodiscard]] constexpr property property_from(u32 off) const noexcept {
        token_view t;
        while (read(off, t) == error::none) {
            if (t.tag == token::prop) {
                return property{m_blob + m_struct + t.value, t.length, m_blob + m_strings + t.nameoff,
                                m_strings_size - t.nameoff, off};
            }
            if (t.tag != token::nop) break;
            off = t.next;
        }
        return {};
    }

    [[nodiscard]] constexpr result<u32> cells(node n, const char* name, u32 fallback) const noexcept {
        if (!is_node(n)) return error::bad_argument;
        const property p = find_property(n, name);
        if (!p) return fallback;
        return p.as_u32();
    }

    [[nodiscard]] static constexpr u64 read_cells(const u8* p, u32 count) noexcept {
        u64 value = 0;
        for (u32 i = 0; i < count; ++i) value = (value << 32) | detail::load_be32(p + 4 * i);
        return value;
    }

    [[nodiscard]] constexpr reg_layout reg_layout_of(node n) const noexcept {
        reg_layout layout;
        if (!is_node(n)) {
            layout.status = error::bad_argument;
            return layout;
        }
        const node up = parent(n);
        if (!up) {
            layout.status = error::not_found;
            return layout;
        }
        const result<u32> ac = address_cells(up);
        const result<u32> sc = size_cells(up);
        if (!ac || !sc) {
            layout.status = error::bad_value;
            return layout;
        }
        if (ac.value() == 0 || ac.value() > 2 || sc.value() > 2) {
            layout.status = error::unsupported;
            return layout;
        }
        layout.address_cells = ac.value();
        layout.size_cells = sc.value();
        layout.value = find_property(n, "reg");
        if (!layout.value) {
            layout.status = error::not_found;
        } else if (layout.value.size() % layout.entry_size() != 0) {
            layout.status = error::bad_value;
        }
        return layout;
    }

    /// Characters of a path: a C string argument, or bytes of the blob (an alias's value).
    struct text {
        const char* chars = nullptr;
        const u8* bytes = nullptr;
        bool in_blob = false;
        [[nodiscard]] constexpr u8 operator[](usize i) const noexcept {
            return in_blob ? bytes[i] : static_cast<u8>(chars[i]);
        }
        [[nodiscard]] constexpr text from(usize offset) const noexcept {
            return in_blob ? text{nullptr, bytes + offset, true} : text{chars + offset, nullptr, false};
        }
    };

    /// find_child for a component given as `length` characters of `name`.
    [[nodiscard]] constexpr result<node> find_child_in(node parent, text name, usize length) const noexcept {
        if (length == 0) return error::bad_argument;
        bool has_unit = false;
        for (usize i = 0; i < length; ++i) has_unit = has_unit || name[i] == '@';
        node by_base;
        u32 base_matches = 0;
        for (node c = first_child(parent); c; c = next_sibling(c)) {
            token_view t;
            if (read(c.offset(), t) != error::none) break;
            const u8* candidate = m_blob + m_struct + t.value;
            if (t.length < length) continue;
            bool prefix = true;
            for (usize i = 0; i < length && prefix; ++i) prefix = candidate[i] == name[i];
            if (!prefix) continue;
            if (t.length == length) return c;
            if (!has_unit && candidate[length] == '@') {
                by_base = c;
                ++base_matches;
            }
        }
        if (base_matches == 1) return by_base;
        return base_matches == 0 ? error::not_found : error::ambiguous;
    }

    /// Resolves a path of `length` characters; `allow_alias` stops an alias
    /// whose value is itself an alias from recursing.
    [[nodiscard]] constexpr node resolve(text path, usize length, bool allow_alias) const noexcept {
        if (length == 0) return {};
        usize i = 0;
        node current;
        if (path[0] == '/') {
            current = root();
        } else {
            if (!allow_alias) return {};
            while (i < length && path[i] != '/') ++i;
            const property alias = find_alias(path, i);
            if (!alias.present() || alias.size() < 2 || alias.data()[alias.size() - 1] != 0) return {};
            current = resolve(text{nullptr, alias.data(), true}, alias.size() - 1, false);
        }
        while (current && i < length) {
            if (path[i] == '/') {
                ++i;
                continue;
            }
            usize end = i;
            while (end < length && path[end] != '/') ++end;
            const result<node> child = find_child_in(current, path.from(i), end - i);
            current = child.value();
            i = end;
        }
        return current;
    }

    /// The property of /aliases named by `length` characters of `name` (DT spec 3.3).
    [[nodiscard]] constexpr property find_alias(text name, usize length) const noexcept {
        const result<node> aliases = find_child_in(root(), text{"aliases"}, 7);
        if (!aliases) return {};
        for (property p = first_property(aliases.value()); p.present(); p = next_property(p)) {
            if (p.m_name_limit <= length || p.m_name[length] != 0) continue;
            bool same = true;
            for (usize k = 0; k < length && same; ++k) same = p.m_name[k] == name[k];
            if (same) return p;
        }
        return {};
    }

    const u8* m_blob = nullptr;
    u32 m_struct = 0;
    u32 m_struct_size = 0;
    u32 m_strings = 0;
    u32 m_strings_size = 0;
    u32 m_rsvmap = 0;
    u32 m_reservations = 0;
    error m_error = error::bad_argument;
};

}  // namespace vfm::fdt
