// SPDX-License-Identifier: MIT
/// The firmware's own PMP: set entries by index (0..15).
#pragma once

#include <vfm/riscv/pmp.hpp>

#include "testfw/csr.hpp"
#include "testfw/lower.hpp"

namespace testfw::pmp {

using vfm::riscv::pmp::make_cfg;
using vfm::riscv::pmp::na4_encode;
using vfm::riscv::pmp::napot_encode;
using vfm::riscv::pmp::tor_encode;
inline constexpr u64 off = vfm::riscv::pmpcfg::a_off;
inline constexpr u64 tor = vfm::riscv::pmpcfg::a_tor;
inline constexpr u64 na4 = vfm::riscv::pmpcfg::a_na4;
inline constexpr u64 napot = vfm::riscv::pmpcfg::a_napot;

/// Entries the helpers handle.
inline constexpr unsigned entries = 16;

/// Takes the entries below `n` away from the helpers: from then on every
/// index given to them is shifted by `n` (entry i is physical entry n + i;
/// reset() leaves the first n alone). For a harness that locks entries of
/// its own ahead of a firmware's (docs/attacks.md, the locked-PMP tier).
void reserve_low(unsigned n) noexcept;

void write_addr(unsigned index, u64 value) noexcept;
[[nodiscard]] u64 read_addr(unsigned index) noexcept;
void write_cfg(unsigned index, u8 cfg) noexcept;
[[nodiscard]] u8 read_cfg(unsigned index) noexcept;

/// Sets entry `index` (address first, then configuration).
inline void set(unsigned index, u8 cfg, u64 addr) noexcept {
    write_addr(index, addr);
    write_cfg(index, cfg);
}
/// Turns every entry off and clears its address (unlocked entries only).
void reset() noexcept;
/// Entry `index` matches everything with R, W and X: S and U may do anything
/// that no lower-numbered entry forbids.
inline void open_all(unsigned index) noexcept { set(index, make_cfg(napot, true, true, true), ~u64{0} >> 10); }

/// Permissions as the firmwares write them: bit 0 R, bit 1 W, bit 2 X.
[[nodiscard]] constexpr u8 cfg_of(u64 mode, u8 rwx, bool locked = false) noexcept {
    return make_cfg(mode, (rwx & 1) != 0, (rwx & 2) != 0, (rwx & 4) != 0, locked);
}

inline constexpr u64 page = 0x1000;
/// A test area for the entries: `Pages` pages of 4 KiB, aligned to its size
/// (so that a NAPOT entry can cover any aligned power-of-two run of pages).
template <unsigned Pages>
struct area {
    static constexpr unsigned pages = Pages;
    static constexpr u64 size = Pages * page;
    alignas(size) u8 bytes[size];

    [[nodiscard]] u64 base() const noexcept { return reinterpret_cast<u64>(bytes); }
    [[nodiscard]] u64 page_at(unsigned i) const noexcept { return base() + i * page; }
};

/// Puts `li a0, 42` and then `last` (by default ret) at +0x10 of each of the
/// `pages` pages from `base`, then fence.i: the code that fetches run.
void plant_code(u64 base, unsigned pages, u32 last = encoding::ret) noexcept;

/// The accesses tried against the entries.
enum class access_kind : u8 { load, store, fetch };
[[nodiscard]] const char* kind_name(access_kind kind) noexcept;
/// The access fault an access of `kind` raises where an entry denies it (priv. 3.7.1).
[[nodiscard]] riscv::exception fault_of(access_kind kind) noexcept;
/// Whether permissions `rwx` (bit 0 R, bit 1 W, bit 2 X) let an access of `kind` through.
[[nodiscard]] constexpr bool permits(u8 rwx, access_kind kind) noexcept {
    return (rwx & (kind == access_kind::load ? 1 : kind == access_kind::store ? 2 : 4)) != 0;
}

/// One access of `size` bytes at `address` from `mode` (M-mode directly, S-
/// and U-mode through run_in): a load, a store, or a fetch (a call of the
/// code plant_code put there). `allowed` is what the spec says. Checks it
/// and prints one line, "<mode>-mode <kind> of <size> bytes at
/// area+<address - area> (<where>)": allowed, it ran (a fetch returned 42);
/// denied, it raised fault_of(kind) in M-mode with mtval = `address`.
void try_access(u64 area, privilege mode, access_kind kind, u64 address, unsigned size, bool allowed,
                const char* where) noexcept;

}  // namespace testfw::pmp
