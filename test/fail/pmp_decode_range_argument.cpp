// SPDX-License-Identifier: MIT
// Must not compile: pmp::decode takes the raw pmpaddr values, not a decoded
// range, and the floor of a TOR entry cannot be left out.
#include <vfm/riscv/pmp.hpp>

namespace pmp = vfm::riscv::pmp;

constexpr vfm::u8 tor = pmp::make_cfg(vfm::riscv::pmpcfg::a_tor, true, false, false);

#ifdef VFM_COMPILE_FAIL
constexpr pmp::range region = pmp::decode(tor, pmp::range{0, 0x1000, false}, 0);
#else
constexpr pmp::range region = pmp::decode(tor, 0x400, 0);
#endif

static_assert(!region.empty);
