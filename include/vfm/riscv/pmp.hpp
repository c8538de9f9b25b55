// SPDX-License-Identifier: MIT
/// Physical memory protection address encodings (priv. spec 3.7.1 and 3.7.2).
/// pmpaddr holds address bits [55:2]; the A field of pmpcfg selects OFF, TOR,
/// NA4 or NAPOT; a granularity of 2^(G+2) bytes hides low bits (3.7.1.1).
#pragma once

#include <vfm/detail/bits.hpp>
#include <vfm/riscv/csr_fields.hpp>

namespace vfm::riscv::pmp {

/// Address bits a pmpaddr register can hold on RV64: [55:2], stored as [53:0].
inline constexpr u64 address_mask = bits::low_mask(54);

/// A half-open physical range [base, end); `end` 0 with `base` 0 and `full`
/// describes the whole 2^64 space (NAPOT with all ones).
struct range {
    u64 base = 0;
    u64 end = 0;
    bool empty = true;
    [[nodiscard]] constexpr bool contains(u64 address, u64 size) const noexcept {
        return !empty && address >= base && address - base < end - base && size <= end - address;
    }
};

/// The A field of a configuration byte.
[[nodiscard]] constexpr u64 mode(u8 cfg) noexcept { return pmpcfg::a::extract(cfg); }

/// Builds a configuration byte.
[[nodiscard]] constexpr u8 make_cfg(u64 a, bool r, bool w, bool x, bool locked = false) noexcept {
    return static_cast<u8>(pmpcfg::a::make(a) | pmpcfg::r::make(r) | pmpcfg::w::make(w) | pmpcfg::x::make(x) |
                           pmpcfg::l::make(locked));
}

/// pmpaddr value of a NAPOT region: `size` a power of two >= 8, `base` aligned to it.
[[nodiscard]] constexpr u64 napot_encode(u64 base, u64 size) noexcept {
    return ((base >> 2) | ((size >> 3) - 1)) & address_mask;
}

/// pmpaddr value of a NA4 region (4 bytes at `base`).
[[nodiscard]] constexpr u64 na4_encode(u64 base) noexcept { return (base >> 2) & address_mask; }

/// pmpaddr value of a TOR upper bound (exclusive) `top`.
[[nodiscard]] constexpr u64 tor_encode(u64 top) noexcept { return (top >> 2) & address_mask; }

/// The byte range a NAPOT pmpaddr covers. All ones over the 54 bits covers 2^56 bytes.
[[nodiscard]] constexpr range napot_decode(u64 pmpaddr) noexcept {
    pmpaddr &= address_mask;
    const unsigned ones = bits::count_trailing_ones(pmpaddr);
    if (ones >= 54) return {0, u64{1} << 56, false};
    const u64 size = u64{1} << (ones + 3);
    const u64 base = (pmpaddr & ~bits::low_mask(ones + 1)) << 2;
    return {base, base + size, false};
}

/// The value software reads back from pmpaddr for granularity 2^(G+2) (3.7.1.1):
/// with G >= 1, in NAPOT mode bits [G-2:0] read as all ones; in OFF or TOR mode
/// bits [G-1:0] read as zeros. The stored bits are unchanged.
[[nodiscard]] constexpr u64 read_pmpaddr(u64 stored, u8 cfg, unsigned g) noexcept {
    stored &= address_mask;
    if (g == 0) return stored;
    if (mode(cfg) == pmpcfg::a_napot) return g >= 2 ? stored | bits::low_mask(g - 1) : stored;
    if (mode(cfg) == pmpcfg::a_off || mode(cfg) == pmpcfg::a_tor) return stored & ~bits::low_mask(g);
    return stored;
}

/// The range covered by entry `cfg`/`pmpaddr`, with `previous_pmpaddr` the
/// address register of the entry below (0 for entry 0) as a TOR floor, at
/// granularity 2^(g+2).
[[nodiscard]] constexpr range decode(u8 cfg, u64 pmpaddr, u64 previous_pmpaddr, unsigned g = 0) noexcept {
    switch (mode(cfg)) {
        case pmpcfg::a_tor: {
            const u64 mask = ~bits::low_mask(g);
            const u64 base = (previous_pmpaddr & address_mask & mask) << 2;
            const u64 end = (pmpaddr & address_mask & mask) << 2;
            return {base, end, base >= end};
        }
        case pmpcfg::a_na4:
            if (g != 0) return {};  // NA4 is not selectable when G >= 1
            return {(pmpaddr & address_mask) << 2, ((pmpaddr & address_mask) << 2) + 4, false};
        case pmpcfg::a_napot: return napot_decode(read_pmpaddr(pmpaddr, cfg, g));
        default: return {};
    }
}

/// Byte `index` (0..7) of a pmpcfg register value.
[[nodiscard]] constexpr u8 cfg_byte(u64 pmpcfg_value, unsigned index) noexcept {
    return static_cast<u8>(pmpcfg_value >> (8 * index));
}
/// `pmpcfg_value` with byte `index` replaced.
[[nodiscard]] constexpr u64 with_cfg_byte(u64 pmpcfg_value, unsigned index, u8 cfg) noexcept {
    return (pmpcfg_value & ~(u64{0xff} << (8 * index))) | (u64{cfg} << (8 * index));
}

/// Entries per pmpcfg register on RV64 and the maximum number of entries.
inline constexpr unsigned entries_per_cfg = 8;
inline constexpr unsigned max_entries = 64;

}  // namespace vfm::riscv::pmp
