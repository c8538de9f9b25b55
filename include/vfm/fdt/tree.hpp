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
/// Nodes and properties are small handles (offsets into the structure block,
/// fdt/handles.hpp); they stay meaningful as long as the blob is not edited.
///
/// Everything that does not return a `const char*` into the blob is constexpr,
/// so a blob held in a constexpr `u8` array can be queried at compile time.
///
/// This file declares the class and defines the navigation and property
/// queries; the blob's checks, the addresses (`reg`, `ranges`) and the paths
/// are defined out of line in fdt/tree/, one header each, included at the end
/// of this file.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/fdt/error.hpp>
#include <vfm/fdt/format.hpp>
#include <vfm/fdt/handles.hpp>

namespace vfm::fdt {

class editor;

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
        return node_from(0);
    }

    /// The first subnode of `n`, or none.
    [[nodiscard]] constexpr node first_child(node n) const noexcept { return node_from(content_start(n), true); }

    /// The next subnode of `n`'s parent after `n`, or none.
    [[nodiscard]] constexpr node next_sibling(node n) const noexcept { return node_from(subtree_end(n)); }

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

    // ---- addresses (DT spec 2.3.5 - 2.3.8; fdt/tree/addresses.hpp) ----

    /// Number of (address, length) entries in `n`'s `reg` (DT spec 2.3.6).
    [[nodiscard]] constexpr result<u32> reg_count(node n) const noexcept;
    /// Entry `index` of `n`'s `reg`, decoded with the parent's #address-cells and
    /// #size-cells (DT spec 2.3.5, 2.3.6); an address in the parent's bus address space.
    /// Cells beyond two (64 bits) give unsupported; #size-cells 0 gives size 0.
    [[nodiscard]] constexpr result<region> reg(node n, u32 index = 0) const noexcept;

    /// Translates `address`, in the bus address space of `n`'s parent, to a CPU
    /// physical address by applying every ancestor bus's `ranges` (DT spec 2.3.8):
    /// an empty `ranges` is the identity, a missing one means no mapping (not_found).
    [[nodiscard]] constexpr result<u64> translate_address(node n, u64 address) const noexcept;

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

    [[nodiscard]] constexpr u32 header_field(u32 field) const noexcept { return detail::load_be32(m_blob + field); }

    // ---- the checks of the blob and of every token read (fdt/tree/validation.hpp) ----

    [[nodiscard]] constexpr error open(const u8* blob, usize bound) noexcept;
    [[nodiscard]] constexpr error check_structure() const noexcept;
    [[nodiscard]] constexpr error read(u32 off, token_view& t) const noexcept;

    // ---- walks over a node's tokens ----

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

    /// The node whose FDT_BEGIN_NODE is the first token at or after `off`
    /// past FDT_NOPs (and FDT_PROPs when `past_properties`), or none.
    [[nodiscard]] constexpr node node_from(u32 off, bool past_properties = false) const noexcept {
        token_view t;
        while (read(off, t) == error::none) {
            if (t.tag == token::begin_node) return node{off};
            if (t.tag != token::nop && !(past_properties && t.tag == token::prop)) break;
            off = t.next;
        }
        return {};
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

    // ---- #address-cells, #size-cells and reg (fdt/tree/addresses.hpp) ----

    struct reg_layout {
        error status = error::none;
        property value;
        u32 address_cells = 0;
        u32 size_cells = 0;
        [[nodiscard]] constexpr u32 entry_size() const noexcept { return 4 * (address_cells + size_cells); }
    };

    [[nodiscard]] constexpr result<u32> cells(node n, const char* name, u32 fallback) const noexcept;
    [[nodiscard]] static constexpr u64 read_cells(const u8* p, u32 count) noexcept;
    [[nodiscard]] constexpr reg_layout reg_layout_of(node n) const noexcept;

    // ---- paths and aliases (fdt/tree/paths.hpp) ----

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

    [[nodiscard]] constexpr result<node> find_child_in(node parent, text name, usize length) const noexcept;
    [[nodiscard]] constexpr node resolve(text path, usize length, bool allow_alias) const noexcept;
    [[nodiscard]] constexpr property find_alias(text name, usize length) const noexcept;

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

#include <vfm/fdt/tree/addresses.hpp>
#include <vfm/fdt/tree/paths.hpp>
#include <vfm/fdt/tree/validation.hpp>
