// SPDX-License-Identifier: MIT
// Must not compile: the arch contract requires noexcept members (no crash
// paths, no exceptions in the core); a csr_read that may throw is rejected.
#ifdef VFM_COMPILE_FAIL
#define STUB_HART_CSR_READ_MAY_THROW
#endif
#include "stub_machine.hpp"

bool use_backend() noexcept {
    stub::hart hw;
    return stub::accepts_arch(hw);
}
