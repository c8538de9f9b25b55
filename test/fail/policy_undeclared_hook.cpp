// SPDX-License-Identifier: MIT
// Must not compile: a policy has an on_request member with the wrong signature
// (it takes the hart, not the engine) and does not declare the hook. Without
// the check the monitor would silently never call it; the check names the hook.
#include <vfm/monitor.hpp>

#include "stub_machine.hpp"

namespace {

struct request_counter {
    static constexpr const char* name = "request-counter";
    static constexpr vfm::policy::hook_set hooks = {};

#ifdef VFM_COMPILE_FAIL
    void on_request(vfm::virt::hart&) noexcept { ++requests; }
#endif
    vfm::u64 requests = 0;
};

}  // namespace

vfm::u64 use_policy() noexcept {
    stub::board board;
    vfm::monitor<stub::hart, stub::board, request_counter> monitor(board);
    return monitor.requests;
}
