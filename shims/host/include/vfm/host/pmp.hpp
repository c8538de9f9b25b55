// SPDX-License-Identifier: MIT
/// The physical memory protection unit of a simulated hart, written from the
/// privileged spec 3.7 (independently of the engine's own PMP code, which it
/// exists to check): the pmpcfg / pmpaddr CSRs with their WARL rules and lock
/// bits, and the access check.
#pragma once

#include <array>

#include <vfm/detail/types.hpp>
#include <vfm/riscv/privilege.hpp>

namespace vfm::host {

/// The kind of an access, for PMP and page permissions.
enum class access_type : u8 { load, store, fetch };

/// The outcome of a PMP check.
struct pmp_decision {
    bool allowed = false;
    int entry = -1;  ///< the matching entry (the lowest-numbered that matched any byte), or -1
};

/// pmpcfg entry bits (priv. spec 3.7.1, fig. 3.33), spelled out here rather
/// than taken from the engine's tables.
namespace pmp_bits {
inline constexpr u8 r = 1u << 0;
inline constexpr u8 w = 1u << 1;
inline constexpr u8 x = 1u << 2;
inline constexpr u8 a_shift = 3;
inline constexpr u8 a_mask = 3u << 3;
inline constexpr u8 l = 1u << 7;
inline constexpr u8 off = 0, tor = 1, na4 = 2, napot = 3;
}  // namespace pmp_bits

/// PMP CSRs and checks for `entries` entries (0, 16 or 64) at granularity 2^(G+2).
class pmp_unit {
public:
    pmp_unit(unsigned entries, unsigned granularity) noexcept : m_entries(entries), m_g(granularity) {}

    [[nodiscard]] unsigned entries() const noexcept { return m_entries; }
    [[nodiscard]] unsigned granularity() const noexcept { return m_g; }

    /// The configuration byte of entry `i` (zero for unimplemented entries).
    [[nodiscard]] u8 cfg(unsigned i) const noexcept { return i < m_entries ? m_cfg[i] : 0; }
    [[nodiscard]] static unsigned mode(u8 cfg) noexcept { return (cfg & pmp_bits::a_mask) >> pmp_bits::a_shift; }
    [[nodiscard]] bool locked(unsigned i) const noexcept { return (cfg(i) & pmp_bits::l) != 0; }

    /// pmpcfgN for even N (RV64: pmpcfgN holds entries 4N .. 4N+7).
    [[nodiscard]] u64 read_cfg(unsigned n) const noexcept {
        u64 value = 0;
        for (unsigned b = 0; b < 8; ++b) value |= u64{cfg(n * 4 + b)} << (8 * b);
        return value;
    }

    /// Writes pmpcfgN byte by byte: locked and unimplemented entries keep
    /// their value, each other byte is legalised (priv. spec 3.7.1):
    /// bits 6:5 read zero; R=0 W=1 is reserved and becomes R=0 W=0 (vfm's
    /// choice: the least permissive legal value); with G >= 1 NA4 cannot be
    /// selected and becomes OFF (vfm's choice).
    void write_cfg(unsigned n, u64 value) noexcept {
        for (unsigned b = 0; b < 8; ++b) {
            const unsigned i = n * 4 + b;
            if (i >= m_entries || locked(i)) continue;
            m_cfg[i] = legalise(static_cast<u8>(value >> (8 * b)));
        }
    }

    /// pmpaddr `i` as software reads it (priv. spec 3.7.1.1): bits [53:0];
    /// with G >= 2 in NAPOT mode bits [G-2:0] read as ones; with G >= 1 in OFF
    /// or TOR mode bits [G-1:0] read as zeros. The stored bits are unchanged.
    [[nodiscard]] u64 read_addr(unsigned i) const noexcept {
        if (i >= m_entries) return 0;
        u64 value = m_addr[i];
        if (m_g == 0) return value;
        if ((mode(m_cfg[i]) & 2) != 0) {
            if (m_g >= 2) value |= low_mask(m_g - 1);
        } else {
            value &= ~low_mask(m_g);
        }
        return value;
    }

    /// Writes pmpaddr `i`: ignored when entry i is locked, or when entry i+1
    /// is locked in TOR mode (its floor is then locked too, priv. spec 3.7.1.2).
    void write_addr(unsigned i, u64 value) noexcept {
        if (i >= m_entries || locked(i)) return;
        if (i + 1 < m_entries && locked(i + 1) && mode(m_cfg[i + 1]) == pmp_bits::tor) return;
        m_addr[i] = value & address_bits;
    }

    /// Checks an access of `size` bytes at `address` by a hart in `privilege`
    /// (already the effective one: MPRV is applied by the caller), priv. spec 3.7.1.3:
    /// the lowest-numbered entry that matches any byte decides; it must match
    /// all bytes or the access fails; M-mode passes a matching unlocked entry;
    /// otherwise R/W/X apply. Without a match M-mode passes and S/U-mode fail
    /// as soon as one entry is implemented.
    [[nodiscard]] pmp_decision check(u64 address, u64 size, access_type type,
                                     riscv::privilege privilege) const noexcept {
        const u64 last = address + (size == 0 ? 0 : size - 1);
        for (unsigned i = 0; i < m_entries; ++i) {
            u64 lo = 0;
            u64 hi = 0;  // inclusive
            if (!range(i, lo, hi)) continue;
            const bool any = address <= hi && last >= lo;
            if (!any) continue;
            const bool all = address >= lo && last <= hi;
            if (!all) return {false, static_cast<int>(i)};
            const u8 c = m_cfg[i];
            if (privilege == riscv::privilege::machine && (c & pmp_bits::l) == 0) return {true, static_cast<int>(i)};
            const u8 need = type == access_type::load    ? pmp_bits::r
                            : type == access_type::store ? pmp_bits::w
                                                         : pmp_bits::x;
            return {(c & need) != 0, static_cast<int>(i)};
        }
        return {privilege == riscv::privilege::machine || m_entries == 0, -1};
    }

    /// The inclusive byte range [lo, hi] entry `i` covers; false when it covers nothing.
    [[nodiscard]] bool range(unsigned i, u64& lo, u64& hi) const noexcept {
        if (i >= m_entries) return false;
        switch (mode(m_cfg[i])) {
            case pmp_bits::tor: {
                // TOR: pmpaddr[i-1] <= y < pmpaddr[i], both at the granularity (3.7.1.1);
                // entry 0 has the floor 0.
                const u64 floor = i == 0 ? 0 : (m_addr[i - 1] & ~low_mask(m_g)) << 2;
                const u64 top = (m_addr[i] & ~low_mask(m_g)) << 2;
                if (floor >= top) return false;
                lo = floor;
                hi = top - 1;
                return true;
            }
            case pmp_bits::na4:
                lo = m_addr[i] << 2;
                hi = lo + 3;
                return true;
            case pmp_bits::napot: {
                // NAPOT: t trailing ones encode 2^(t+3) bytes (table 3.11).
                const u64 value = read_addr(i);
                unsigned ones = 0;
                while (ones < 54 && ((value >> ones) & 1) != 0) ++ones;
                if (ones >= 54) {
                    lo = 0;  // all ones: the whole address space
                    hi = ~u64{0};
                    return true;
                }
                const u64 size = u64{1} << (ones + 3);
                lo = (value & ~low_mask(ones + 1)) << 2;
                hi = lo + (size - 1);
                return true;
            }
            default: return false;
        }
    }

    /// Every entry back to reset (OFF, unlocked, address 0): locks clear only at reset.
    void reset() noexcept {
        m_cfg.fill(0);
        m_addr.fill(0);
    }

    /// pmpaddr holds physical address bits [55:2] on RV64.
    static constexpr u64 address_bits = (u64{1} << 54) - 1;

private:
    [[nodiscard]] static constexpr u64 low_mask(unsigned n) noexcept { return n >= 64 ? ~u64{0} : (u64{1} << n) - 1; }

    [[nodiscard]] u8 legalise(u8 value) const noexcept {
        value &= static_cast<u8>(pmp_bits::r | pmp_bits::w | pmp_bits::x | pmp_bits::a_mask | pmp_bits::l);
        if ((value & pmp_bits::r) == 0 && (value & pmp_bits::w) != 0) value &= static_cast<u8>(~pmp_bits::w);
        if (m_g >= 1 && mode(value) == pmp_bits::na4) value &= static_cast<u8>(~pmp_bits::a_mask);
        return value;
    }

    unsigned m_entries;
    unsigned m_g;
    std::array<u8, 64> m_cfg{};
    std::array<u64, 64> m_addr{};
};

}  // namespace vfm::host
