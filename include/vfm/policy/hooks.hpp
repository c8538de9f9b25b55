// SPDX-License-Identifier: MIT
/// What a policy declares: its name and the hooks it implements
/// (docs/policies.md, "Writing a policy").
///
///     static constexpr const char* name = "offload";
///     static constexpr policy::hook_set hooks = policy::hook::on_os_trap | policy::hook::on_request;
///
/// The monitor checks the declaration against the members at compile time
/// (monitor.hpp, detail::policy_contract): a declared hook the policy lacks, or
/// has with another signature, and a hook member the policy does not declare
/// both stop the build with a static_assert naming the hook. The signatures
/// themselves are written once, in monitor.hpp (detail::calls_*).
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/detail/utility.hpp>

namespace vfm::policy {

/// The hooks the monitor calls on its policies, one bit each.
enum class hook : u32 {
    on_os_trap = u32{1} << 0,
    on_os_fast_trap = u32{1} << 1,
    on_enter_firmware = u32{1} << 2,
    on_enter_os = u32{1} << 3,
    on_monitor_deadline = u32{1} << 4,
    on_request = u32{1} << 5,
    os_mcounteren = u32{1} << 6,
    reserve_pmp = u32{1} << 7,
    on_boot = u32{1} << 8,
    on_trap = u32{1} << 9,
    on_fast_trap = u32{1} << 10,
    on_shutdown = u32{1} << 11,
};

/// A set of hooks, written `hook::on_enter_os | hook::on_enter_firmware`
/// (`hook_set{}` for none).
class hook_set {
public:
    constexpr hook_set() noexcept = default;
    /// Implicit, so that one hook is a set and `a | b | c` reads as it should.
    constexpr hook_set(hook h) noexcept : m_bits(static_cast<u32>(h)) {}

    [[nodiscard]] constexpr bool contains(hook h) const noexcept { return (m_bits & static_cast<u32>(h)) != 0; }

    [[nodiscard]] friend constexpr hook_set operator|(hook_set a, hook_set b) noexcept {
        hook_set both;
        both.m_bits = a.m_bits | b.m_bits;
        return both;
    }

private:
    u32 m_bits = 0;
};

/// `hook::a | hook::b`: a scoped enumeration has no built-in `|`.
[[nodiscard]] constexpr hook_set operator|(hook a, hook b) noexcept { return hook_set{a} | hook_set{b}; }

}  // namespace vfm::policy

namespace vfm {

/// A type the monitor can take as a policy: it names itself and declares the
/// hooks it implements. (Whether the members match the declaration depends on
/// the monitor's engine type, so monitor<> checks that itself, hook by hook.)
// clang-format off
template <class P>
concept monitor_policy = requires {
    requires detail::same_as<decltype(P::name), const char* const>;
    requires detail::same_as<decltype(P::hooks), const policy::hook_set>;
};
// clang-format on

}  // namespace vfm
