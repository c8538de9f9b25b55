// SPDX-License-Identifier: MIT
// Must not compile: a field whose msb is below its lsb. Fields are written
// <msb, lsb> in the spec's order, so <3, 5> is a transposition mistake.
#include <vfm/detail/bits.hpp>

#ifdef VFM_COMPILE_FAIL
using reversed = vfm::field<3, 5>;
#else
using reversed = vfm::field<5, 3>;
#endif

static_assert(reversed::mask != 0);
