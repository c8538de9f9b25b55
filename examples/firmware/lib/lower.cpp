// SPDX-License-Identifier: MIT
// Running code in S- and U-mode.
#include "testfw/lower.hpp"

extern "C" vfm::u64 testfw_run_lower(vfm::u64 mpp, vfm::u64 entry, vfm::u64 arg, vfm::u64 stack_top);

namespace testfw {

namespace {
alignas(16) u8 g_lower_stacks[TESTFW_MAX_HARTS][u64{1} << TESTFW_LOWER_STACK_SHIFT];
}  // namespace

u64 run_in(privilege mode, lower_function fn, u64 arg) noexcept {
    const u64 top = reinterpret_cast<u64>(&g_lower_stacks[self().hartid][0]) + (u64{1} << TESTFW_LOWER_STACK_SHIFT);
    return testfw_run_lower(static_cast<u64>(mode), reinterpret_cast<u64>(fn), arg, top);
}

}  // namespace testfw
