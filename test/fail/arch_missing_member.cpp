// SPDX-License-Identifier: MIT
// Must not compile: a backend without csr_read is not a vfm::arch, so a
// function template constrained on the concept rejects it.
#ifdef VFM_COMPILE_FAIL
#define STUB_HART_WITHOUT_CSR_READ
#endif
#include "stub_machine.hpp"

bool use_backend() noexcept {
    stub::hart hw;
    return stub::accepts_arch(hw);
}
