// SPDX-License-Identifier: MIT
/// The firmware's own PMP: set entries by index (0..15).
#pragma once

#include <vfm/riscv/pmp.hpp>

#include "testfw/csr.hpp"

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

}  // namespace testfw::pmp
