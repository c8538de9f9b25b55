// SPDX-License-Identifier: MIT
// Must not compile: a field beyond bit 63 of a 64-bit register.
#include <vfm/detail/bits.hpp>

#ifdef VFM_COMPILE_FAIL
using beyond = vfm::field<64>;
#else
using beyond = vfm::field<63>;
#endif

static_assert(beyond::mask != 0);
