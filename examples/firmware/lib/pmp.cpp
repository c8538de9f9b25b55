// SPDX-License-Identifier: MIT
// PMP entries by index (RV64: entry i's byte is in pmpcfg(2 * (i / 8))).
#include "testfw/pmp.hpp"

namespace testfw::pmp {

namespace {
template <unsigned I>
void write_addr_at(unsigned index, u64 value) noexcept {
    if constexpr (I < entries) {
        if (index == I) {
            csrw<static_cast<u16>(0x3b0 + I)>(value);
            return;
        }
        write_addr_at<I + 1>(index, value);
    }
}
template <unsigned I>
u64 read_addr_at(unsigned index) noexcept {
    if constexpr (I < entries) {
        if (index == I) return csrr<static_cast<u16>(0x3b0 + I)>();
        return read_addr_at<I + 1>(index);
    } else {
        return 0;
    }
}
unsigned g_reserved;
}  // namespace

void reserve_low(unsigned n) noexcept { g_reserved = n; }

void write_addr(unsigned index, u64 value) noexcept { write_addr_at<0>(index + g_reserved, value); }
u64 read_addr(unsigned index) noexcept { return read_addr_at<0>(index + g_reserved); }

void write_cfg(unsigned index, u8 cfg) noexcept {
    index += g_reserved;
    const unsigned shift = 8 * (index % 8);
    const u64 mask = u64{0xff} << shift;
    if (index < 8) {
        write<csr::pmpcfg0>((read<csr::pmpcfg0>() & ~mask) | (u64{cfg} << shift));
    } else {
        write<csr::pmpcfg2>((read<csr::pmpcfg2>() & ~mask) | (u64{cfg} << shift));
    }
}

u8 read_cfg(unsigned index) noexcept {
    index += g_reserved;
    const u64 v = index < 8 ? read<csr::pmpcfg0>() : read<csr::pmpcfg2>();
    return static_cast<u8>(v >> (8 * (index % 8)));
}

void reset() noexcept {
    if (g_reserved == 0) {
        write<csr::pmpcfg0>(0);
        write<csr::pmpcfg2>(0);
    } else {
        for (unsigned i = 0; i + g_reserved < entries; ++i) write_cfg(i, 0);
    }
    for (unsigned i = 0; i + g_reserved < entries; ++i) write_addr(i, 0);
}

}  // namespace testfw::pmp
