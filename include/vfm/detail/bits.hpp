// SPDX-License-Identifier: MIT
/// Bit manipulation helpers and the typed bitfield used by every register
/// description in vfm/riscv (fields given as <msb, lsb> in the spec's order).
#pragma once

#include <vfm/detail/types.hpp>

namespace vfm {

/// A contiguous field of a 64-bit register, `Msb` down to `Lsb` inclusive.
template <unsigned Msb, unsigned Lsb = Msb>
struct field {
    static_assert(Msb >= Lsb && Msb < 64, "field bounds must satisfy 63 >= msb >= lsb");
    static constexpr unsigned msb = Msb;
    static constexpr unsigned lsb = Lsb;
    static constexpr unsigned width = Msb - Lsb + 1;
    static constexpr u64 value_mask = width == 64 ? ~u64{0} : (u64{1} << width) - 1;
    /// The field's bits in place.
    static constexpr u64 mask = value_mask << Lsb;

    /// The field's value, shifted down to bit 0.
    [[nodiscard]] static constexpr u64 extract(u64 reg) noexcept { return (reg >> Lsb) & value_mask; }
    /// `reg` with the field replaced by `value` (excess bits of `value` are dropped).
    [[nodiscard]] static constexpr u64 insert(u64 reg, u64 value) noexcept {
        return (reg & ~mask) | ((value & value_mask) << Lsb);
    }
    /// `value` placed at the field's position.
    [[nodiscard]] static constexpr u64 make(u64 value) noexcept { return (value & value_mask) << Lsb; }
    /// True when any bit of the field is set.
    [[nodiscard]] static constexpr bool test(u64 reg) noexcept {
        // A single bit above andi's 12-bit immediate: shift it into the sign
        // bit (two instructions where the mask would need a constant load).
        if constexpr (width == 1 && Lsb >= 11) return static_cast<i64>(reg << (63 - Lsb)) < 0;
        return (reg & mask) != 0;
    }
};

namespace bits {

/// A mask of the low `n` bits (n may be 64).
[[nodiscard]] constexpr u64 low_mask(unsigned n) noexcept { return n >= 64 ? ~u64{0} : (u64{1} << n) - 1; }

/// Sign-extends the low `width` bits of `value`.
[[nodiscard]] constexpr u64 sign_extend(u64 value, unsigned width) noexcept {
    if (width >= 64) return value;
    const u64 sign = u64{1} << (width - 1);
    value &= low_mask(width);
    return (value ^ sign) - sign;
}

/// Bit `n` of `value`.
[[nodiscard]] constexpr u64 bit(u64 value, unsigned n) noexcept { return (value >> n) & 1; }

/// Bits `msb..lsb` of `value`, shifted down.
[[nodiscard]] constexpr u64 extract(u64 value, unsigned msb, unsigned lsb) noexcept {
    return (value >> lsb) & low_mask(msb - lsb + 1);
}

/// Number of trailing zero bits (64 when zero). Written out rather than with
/// __builtin_ctzll, which needs libgcc on harts without Zbb.
[[nodiscard]] constexpr unsigned count_trailing_zeros(u64 value) noexcept {
    if (value == 0) return 64;
    unsigned count = 0;
    for (unsigned step = 32; step != 0; step /= 2) {
        if ((value & low_mask(step)) == 0) {
            value >>= step;
            count += step;
        }
    }
    return count;
}

/// Number of trailing one bits (64 when all ones).
[[nodiscard]] constexpr unsigned count_trailing_ones(u64 value) noexcept { return count_trailing_zeros(~value); }

/// Index of the highest set bit (64 for zero).
[[nodiscard]] constexpr unsigned highest_set(u64 value) noexcept {
    if (value == 0) return 64;
    unsigned index = 0;
    for (unsigned step = 32; step != 0; step /= 2) {
        if ((value >> step) != 0) {
            value >>= step;
            index += step;
        }
    }
    return index;
}

[[nodiscard]] constexpr bool is_power_of_two(u64 value) noexcept { return value != 0 && (value & (value - 1)) == 0; }

[[nodiscard]] constexpr u64 align_down(u64 value, u64 alignment) noexcept { return value & ~(alignment - 1); }
[[nodiscard]] constexpr u64 align_up(u64 value, u64 alignment) noexcept {
    return (value + alignment - 1) & ~(alignment - 1);
}

}  // namespace bits
}  // namespace vfm
