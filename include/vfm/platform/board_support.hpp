// SPDX-License-Identifier: MIT
/// Helpers every board port shares (docs/porting.md): the PMP-friendly cover
/// of a region, the table of the harts the device tree lists, MMIO accessors
/// and a `compatible` check. Boards live in `vfm::platforms` and include this
/// header instead of copying from one another.
#pragma once

#include <vfm/detail/bits.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/fdt/tree.hpp>
#include <vfm/platform.hpp>

namespace vfm::platforms {

/// The smallest naturally aligned power-of-two region covering [base, end):
/// what one NAPOT PMP entry can describe (priv. spec 3.7.1.2).
[[nodiscard]] constexpr region napot_cover(u64 base, u64 end) noexcept {
    u64 size = 8;
    while (size != 0 && bits::align_down(base, size) + size < end) size <<= 1;
    return {bits::align_down(base, size), size};
}

static_assert(napot_cover(0x8000'0000, 0x8000'c000).base == 0x8000'0000);
static_assert(napot_cover(0x8000'0000, 0x8000'c000).size == 0x1'0000);
static_assert(napot_cover(0x1000, 0x1001).size == 8);
static_assert(napot_cover(0x0ff8, 0x1008).base == 0 && napot_cover(0x0ff8, 0x1008).size == 0x2000);

/// The harts a board found in its device tree, in the order found: index i
/// (dense, 0 .. count-1, what the monitor calls a hart index) has hart id id(i).
/// The `platform` members hart_count, hart_id and hart_index forward here.
template <u32 MaxHarts>
class hart_table {
public:
    static_assert(MaxHarts >= 1, "a board has at least one hart");

    constexpr void clear() noexcept { m_count = 0; }
    /// Adds a hart; false when the table is full (more harts than the build supports).
    [[nodiscard]] constexpr bool add(u64 hartid) noexcept {
        if (m_count == MaxHarts) return false;
        m_ids[m_count++] = hartid;
        return true;
    }
    [[nodiscard]] constexpr u32 count() const noexcept { return m_count; }
    /// The hart id of hart `index` (index < count()).
    [[nodiscard]] constexpr u64 id(u32 index) const noexcept { return m_ids[index]; }
    /// The index of the hart with id `hartid`; false when the tree did not list it.
    [[nodiscard]] constexpr bool index_of(u64 hartid, u64& index) const noexcept {
        for (u32 i = 0; i < m_count; ++i) {
            if (m_ids[i] == hartid) {
                index = i;
                return true;
            }
        }
        return false;
    }

private:
    u64 m_ids[MaxHarts] = {};
    u32 m_count = 0;
};

/// A device register at a physical address (the monitor runs with Bare translation).
[[nodiscard]] inline volatile u64& mmio64(u64 address) noexcept {
    return *reinterpret_cast<volatile u64*>(static_cast<uptr>(address));
}
[[nodiscard]] inline volatile u32& mmio32(u64 address) noexcept {
    return *reinterpret_cast<volatile u32*>(static_cast<uptr>(address));
}
[[nodiscard]] inline volatile u8& mmio8(u64 address) noexcept {
    return *reinterpret_cast<volatile u8*>(static_cast<uptr>(address));
}

/// Whether node `n`'s `compatible` list names one of `compatibles` (DT spec 2.3.1).
template <usize N>
[[nodiscard]] bool is_compatible(const fdt::tree& t, fdt::node n, const char* const (&compatibles)[N]) noexcept {
    const fdt::property compatible = t.find_property(n, "compatible");
    for (const char* c : compatibles)
        if (compatible && compatible.contains(c)) return true;
    return false;
}

}  // namespace vfm::platforms
