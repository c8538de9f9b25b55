// SPDX-License-Identifier: MIT
// Must not compile: functions taking a raw CSR number do not accept the
// enumeration implicitly.
#include <vfm/riscv/csr.hpp>

#ifdef VFM_COMPILE_FAIL
static_assert(vfm::riscv::is_read_only(vfm::riscv::csr::cycle));
#else
static_assert(vfm::riscv::is_read_only(static_cast<vfm::u16>(vfm::riscv::csr::cycle)));
#endif
