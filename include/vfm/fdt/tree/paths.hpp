// SPDX-License-Identifier: MIT
/// Paths: a node found by its path or an alias (`find_path`, `find_child`;
/// DT spec 2.2.3, 3.3).
///
/// Part of `fdt::tree` (fdt/tree.hpp, which includes it at its end):
/// definitions of `tree` members declared there.
#pragma once

#include <vfm/fdt/tree.hpp>

#include <vfm/fdt/error.hpp>

namespace vfm::fdt {

/// find_child for a component given as `length` characters of `name`.
[[nodiscard]] constexpr result<node> tree::find_child_in(node parent, text name, usize length) const noexcept {
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
[[nodiscard]] constexpr node tree::resolve(text path, usize length, bool allow_alias) const noexcept {
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
[[nodiscard]] constexpr property tree::find_alias(text name, usize length) const noexcept {
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

}  // namespace vfm::fdt
