// SPDX-License-Identifier: MIT
// Must not compile: a policy declares on_shutdown and has no such member (its
// report is a member of another name): the monitor would trap the shutdown
// device for nothing. The monitor's check names the hook.
#include <vfm/monitor.hpp>

#include "stub_machine.hpp"

namespace {

struct shutdown_report {
    static constexpr const char* name = "shutdown-report";
#ifdef VFM_COMPILE_FAIL
    static constexpr vfm::policy::hook_set hooks = vfm::policy::hook::on_trap | vfm::policy::hook::on_shutdown;
#else
    static constexpr vfm::policy::hook_set hooks = vfm::policy::hook::on_trap;
#endif

    template <class E>
    void on_trap(E&, vfm::u64) noexcept {
        ++traps;
    }
    template <class E>
    void report(E& engine) noexcept {
        engine.print("traps: {}\n", traps);
    }
    vfm::u64 traps = 0;
};

}  // namespace

vfm::u64 use_policy() noexcept {
    stub::board board;
    vfm::monitor<stub::hart, stub::board, shutdown_report> monitor(board);
    return monitor.traps;
}
