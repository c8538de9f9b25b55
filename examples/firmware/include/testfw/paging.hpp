// SPDX-License-Identifier: MIT
/// Page tables for Sv39, Sv48 and Sv57 (priv. spec 4.4-4.6) and the G-stage
/// forms Sv39x4, Sv48x4 (priv. 8.5.1), built in pages the caller owns.
#pragma once

#include "testfw/platform.hpp"

namespace testfw::paging {

/// PTE bits (priv. 4.3.1, fig. 4.18).
inline constexpr u64 pte_v = 1u << 0;
inline constexpr u64 pte_r = 1u << 1;
inline constexpr u64 pte_w = 1u << 2;
inline constexpr u64 pte_x = 1u << 3;
inline constexpr u64 pte_u = 1u << 4;
inline constexpr u64 pte_g = 1u << 5;
inline constexpr u64 pte_a = 1u << 6;
inline constexpr u64 pte_d = 1u << 7;
/// A leaf readable, writable and executable with A and D set.
inline constexpr u64 pte_rwxad = pte_r | pte_w | pte_x | pte_a | pte_d;

/// satp.MODE (and hgatp.MODE, where 8 is Sv39x4 and 9 Sv48x4).
enum class mode : u8 { bare = 0, sv39 = 8, sv48 = 9, sv57 = 10 };
[[nodiscard]] constexpr unsigned levels(mode m) noexcept {
    return m == mode::sv39 ? 3 : m == mode::sv48 ? 4 : m == mode::sv57 ? 5 : 0;
}
[[nodiscard]] const char* name(mode m, bool x4 = false) noexcept;

/// The PTE that points at `pa` (a leaf when `flags` has R, W or X, else a
/// pointer to the next table).
[[nodiscard]] constexpr u64 pte(u64 pa, u64 flags) noexcept { return ((pa >> 12) << 10) | flags | pte_v; }
/// The size a leaf at `level` maps (level 0: 4 KiB, 1: 2 MiB, 2: 1 GiB, ...).
[[nodiscard]] constexpr u64 page_size(unsigned level) noexcept { return u64{1} << (12 + 9 * level); }

/// A tree of page tables in `pages` pages at `pool` (16 KiB aligned), the
/// first one (four for an x4 root) the root.
class table {
  public:
    table(u64 pool, unsigned pages, mode m, bool x4 = false) noexcept;
    /// Empties the tree (zeroes the pages in use).
    void clear() noexcept;
    [[nodiscard]] u64 root() const noexcept { return m_pool; }
    [[nodiscard]] mode translation() const noexcept { return m_mode; }
    /// satp / hgatp / vsatp value: MODE and the root's PPN (ASID/VMID 0).
    [[nodiscard]] u64 atp() const noexcept { return (u64{static_cast<u8>(m_mode)} << 60) | (m_pool >> 12); }
    /// Maps the page of `level` that holds `va` onto `pa` (aligned down)
    /// with a leaf of `flags` (V is added); tables on the way are made.
    /// False when the pool is exhausted.
    bool map(u64 va, u64 pa, u64 flags, unsigned level = 0) noexcept;
    /// The address of the PTE at `level` on the way to `va`, making the
    /// tables above it; 0 when the pool is exhausted or a leaf is in the way.
    [[nodiscard]] u64 entry(u64 va, unsigned level) noexcept;
    /// A fresh zeroed page from the pool (for a table linked by hand); 0 when exhausted.
    [[nodiscard]] u64 allocate() noexcept;

  private:
    [[nodiscard]] unsigned index(u64 va, unsigned level) const noexcept;
    u64 m_pool;
    unsigned m_pages;
    unsigned m_used;
    mode m_mode;
    bool m_x4;
};

/// Writes `mode` to satp (with the table's root) and reads it back: false
/// when the hart does not take that mode (satp is WARL, priv. 4.1.11).
bool set_satp(u64 value) noexcept;

}  // namespace testfw::paging
