// SPDX-License-Identifier: MIT
// Must not compile: a board without `static constexpr u32 max_harts` is not a
// vfm::platform (the monitor sizes its per-hart state by it), so a function
// template constrained on the concept rejects it where the board is named,
// not deep inside the monitor.
#ifdef VFM_COMPILE_FAIL
#define STUB_BOARD_WITHOUT_MAX_HARTS
#endif
#include "stub_machine.hpp"

bool use_board() noexcept {
    stub::board b;
    return stub::accepts_platform(b);
}
