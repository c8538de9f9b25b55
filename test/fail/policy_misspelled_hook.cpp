// SPDX-License-Identifier: MIT
// Must not compile: a policy declares on_enter_os but its member is spelled
// on_enter_OS, so the monitor would never call it. The monitor's check of the
// policy's `hooks` against its members names the hook.
#include <vfm/monitor.hpp>

#include "stub_machine.hpp"

namespace {

struct world_switch_counter {
    static constexpr const char* name = "world-switch-counter";
    static constexpr vfm::policy::hook_set hooks = vfm::policy::hook::on_enter_os;

#ifdef VFM_COMPILE_FAIL
    template <class E>
    void on_enter_OS(E&) noexcept {
        ++switches;
    }
#else
    template <class E>
    void on_enter_os(E&) noexcept {
        ++switches;
    }
#endif
    vfm::u64 switches = 0;
};

}  // namespace

vfm::u64 use_policy() noexcept {
    stub::board board;
    vfm::monitor<stub::hart, stub::board, world_switch_counter> monitor(board);
    return monitor.switches;
}
