// SPDX-License-Identifier: MIT
/// Addresses of a node: `reg` decoded with the parent's #address-cells and
/// #size-cells, and bus addresses translated through every ancestor's
/// `ranges` (DT spec 2.3.5 - 2.3.8).
///
/// Part of `fdt::tree` (fdt/tree.hpp, which includes it at its end):
/// definitions of `tree` members declared there.
#pragma once

#include <vfm/fdt/tree.hpp>

#include <vfm/fdt/error.hpp>
#include <vfm/fdt/format.hpp>

namespace vfm::fdt {

[[nodiscard]] constexpr result<u32> tree::reg_count(node n) const noexcept {
    const reg_layout layout = reg_layout_of(n);
    if (layout.status != error::none) return layout.status;
    return layout.value.size() / layout.entry_size();
}

[[nodiscard]] constexpr result<region> tree::reg(node n, u32 index) const noexcept {
    const reg_layout layout = reg_layout_of(n);
    if (layout.status != error::none) return layout.status;
    if (index >= layout.value.size() / layout.entry_size()) return error::not_found;
    const u8* entry = layout.value.data() + usize{index} * layout.entry_size();
    return region{read_cells(entry, layout.address_cells),
                  read_cells(entry + 4 * layout.address_cells, layout.size_cells)};
}

[[nodiscard]] constexpr result<u64> tree::translate_address(node n, u64 address) const noexcept {
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

[[nodiscard]] constexpr result<u32> tree::cells(node n, const char* name, u32 fallback) const noexcept {
    if (!is_node(n)) return error::bad_argument;
    const property p = find_property(n, name);
    if (!p) return fallback;
    return p.as_u32();
}

[[nodiscard]] constexpr u64 tree::read_cells(const u8* p, u32 count) noexcept {
    u64 value = 0;
    for (u32 i = 0; i < count; ++i) value = (value << 32) | detail::load_be32(p + 4 * i);
    return value;
}

[[nodiscard]] constexpr tree::reg_layout tree::reg_layout_of(node n) const noexcept {
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

}  // namespace vfm::fdt
