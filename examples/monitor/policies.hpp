// SPDX-License-Identifier: MIT
// The policies compiled into the reference image (Meson options `policies`,
// `trap_time`, `expected_measurement`), in the order the monitor asks them.
#pragma once

#include <vfm/metal/runtime.hpp>
#include <vfm/policy/hooks.hpp>

#if VFM_POLICY_COUNTERS
#include <vfm/policy/counters.hpp>
#endif
#if VFM_POLICY_OFFLOAD
#include <vfm/policy/offload.hpp>
#endif
#if VFM_POLICY_SANDBOX
#include <vfm/policy/sandbox.hpp>
#endif

#ifndef VFM_LOG_LEVEL
#define VFM_LOG_LEVEL 0
#endif
#ifndef VFM_TRAP_TIME
#define VFM_TRAP_TIME 0
#endif

namespace reference {

#if VFM_POLICY_SANDBOX
struct sandbox_settings {
#ifdef VFM_EXPECTED_MEASUREMENT
    static constexpr const char* expected_measurement = VFM_EXPECTED_MEASUREMENT;
#else
    static constexpr const char* expected_measurement = nullptr;
#endif
    static constexpr bool verbose = VFM_LOG_LEVEL >= 1;
};
#endif

/// Prints each hart's deepest stack use at shutdown (metal: painted stacks).
class stack_report {
public:
    static constexpr const char* name = "stack-report";
    static constexpr vfm::policy::hook_set hooks = vfm::policy::hook::on_shutdown;
    template <class E>
    void on_shutdown(E& engine) noexcept {
        for (vfm::u32 index = 0; index < engine.board().hart_count(); ++index) {
            const vfm::u64 hartid = engine.board().hart_id(index);
            if (hartid < VFM_MAX_HARTS)
                engine.print("vfm: stack hart {}: {} bytes\n", hartid, vfm::metal::stack_high_water(static_cast<vfm::u32>(hartid)));
        }
    }
};

}  // namespace reference

#if VFM_POLICY_COUNTERS
#define VFM_POLICY_LIST_COUNTERS , vfm::policy::counters<VFM_MAX_HARTS>, reference::stack_report
#else
#define VFM_POLICY_LIST_COUNTERS
#endif
#if VFM_POLICY_OFFLOAD
#define VFM_POLICY_LIST_OFFLOAD , vfm::policy::offload<VFM_MAX_HARTS, VFM_TRAP_TIME != 0>
#else
#define VFM_POLICY_LIST_OFFLOAD
#endif
#if VFM_POLICY_SANDBOX
#define VFM_POLICY_LIST_SANDBOX , vfm::policy::sandbox<VFM_MAX_HARTS, reference::sandbox_settings>
#else
#define VFM_POLICY_LIST_SANDBOX
#endif

/// A comma-led list of policy types for monitor<Arch, Platform VFM_POLICIES>.
#define VFM_POLICIES VFM_POLICY_LIST_COUNTERS VFM_POLICY_LIST_OFFLOAD VFM_POLICY_LIST_SANDBOX
