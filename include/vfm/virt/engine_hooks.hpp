// SPDX-License-Identifier: MIT
/// The `engine_hooks` concept: what the engine needs from its `Hooks` (the
/// monitor, monitor.hpp): the board, the state shared by every hart, the
/// policies' hooks, and the stop for a state no machine could leave.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/detail/utility.hpp>

namespace vfm::virt {

/// `Engine` is the engine type itself, `Platform` its board and `Shared` its
/// shared_state. Every call is noexcept and returns exactly the type given.
///
/// The engine states this on its constructor rather than on its template
/// parameter: the monitor names `engine<..., monitor, ...>` inside its own
/// class, where the monitor is still incomplete and no member could be
/// checked; every engine is built where the monitor is complete.
// clang-format off
template <class Hooks, class Engine, class Platform, class Shared>
concept engine_hooks = requires(Hooks& hooks, Engine& engine, u64 cause, u64 value, const char* why) {
    { hooks.board() } noexcept -> detail::same_as<Platform&>;
    { hooks.shared() } noexcept -> detail::same_as<Shared&>;
    /// Whether writes to the shutdown device trap (a policy acts at shutdown).
    requires detail::same_as<decltype(Hooks::intercepts_shutdown), const bool>;
    { hooks.on_trap(engine, cause) } noexcept -> detail::same_as<void>;
    { hooks.on_os_trap(engine, cause) } noexcept -> detail::same_as<bool>;
    { hooks.on_request(engine) } noexcept -> detail::same_as<void>;
    { hooks.on_monitor_deadline(engine) } noexcept -> detail::same_as<void>;
    { hooks.on_enter_firmware(engine) } noexcept -> detail::same_as<void>;
    { hooks.on_enter_os(engine) } noexcept -> detail::same_as<void>;
    { hooks.os_mcounteren(engine, value) } noexcept -> detail::same_as<u64>;
    { hooks.on_shutdown(engine) } noexcept -> detail::same_as<void>;
    /// [[noreturn]]: prints why and stops the machine.
    { hooks.on_fatal(engine, why, cause, value) } noexcept -> detail::same_as<void>;
};
// clang-format on

}  // namespace vfm::virt
