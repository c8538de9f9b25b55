// SPDX-License-Identifier: MIT
// Must not compile: a CSR converts to its number only explicitly, so a csr
// can never be mixed up silently with a value or an index.
#include <vfm/riscv/csr.hpp>

#ifdef VFM_COMPILE_FAIL
constexpr vfm::u16 number = vfm::riscv::csr::mstatus;
#else
constexpr vfm::u16 number = static_cast<vfm::u16>(vfm::riscv::csr::mstatus);
#endif

static_assert(number == 0x300);
