// SPDX-License-Identifier: MIT
// Must not compile: a board whose max_harts is 0 supports no hart; the
// platform concept asks for at least one.
#ifdef VFM_COMPILE_FAIL
#define STUB_BOARD_MAX_HARTS 0
#endif
#include "stub_machine.hpp"

bool use_board() noexcept {
    stub::board b;
    return stub::accepts_platform(b);
}
