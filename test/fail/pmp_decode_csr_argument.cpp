// SPDX-License-Identifier: MIT
// Must not compile: pmp::decode takes a configuration byte, not the number of
// the pmpcfg register that holds it.
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/pmp.hpp>

namespace pmp = vfm::riscv::pmp;

#ifdef VFM_COMPILE_FAIL
constexpr pmp::range region = pmp::decode(vfm::riscv::csr::pmpcfg0, 0x400, 0);
#else
constexpr pmp::range region = pmp::decode(pmp::make_cfg(vfm::riscv::pmpcfg::a_napot, true, true, true), 0x400, 0);
#endif

static_assert(!region.empty);
