// SPDX-License-Identifier: MIT
// Must not compile: a policy that does not declare its hooks is not a
// vfm::monitor_policy (a hook it meant to implement could be misspelled and
// nothing would say so), so the monitor rejects it where it is named.
#include <vfm/monitor.hpp>

#include "stub_machine.hpp"

namespace {

struct trap_counter {
    static constexpr const char* name = "trap-counter";
#ifndef VFM_COMPILE_FAIL
    static constexpr vfm::policy::hook_set hooks = vfm::policy::hook::on_trap;
#endif

    template <class E>
    void on_trap(E&, vfm::u64) noexcept {
        ++traps;
    }
    vfm::u64 traps = 0;
};

}  // namespace

vfm::u64 use_policy() noexcept {
    stub::board board;
    vfm::monitor<stub::hart, stub::board, trap_counter> monitor(board);
    return monitor.traps;
}
