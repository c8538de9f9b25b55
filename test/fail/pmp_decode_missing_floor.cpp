// SPDX-License-Identifier: MIT
// Must not compile: the previous entry's pmpaddr (the floor of a TOR range)
// has no default; forgetting it must be an error, not entry 0's floor.
#include <vfm/riscv/pmp.hpp>

namespace pmp = vfm::riscv::pmp;

constexpr vfm::u8 tor = pmp::make_cfg(vfm::riscv::pmpcfg::a_tor, true, false, false);

#ifdef VFM_COMPILE_FAIL
constexpr pmp::range region = pmp::decode(tor, 0x400);
#else
constexpr pmp::range region = pmp::decode(tor, 0x400, 0);
#endif

static_assert(!region.empty);
