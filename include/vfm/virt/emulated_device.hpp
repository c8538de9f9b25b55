// SPDX-License-Identifier: MIT
/// The interface of a device the monitor emulates for its guests (the CLINT
/// the firmware sees, an intercepted shutdown device, a board's own): what the
/// engine needs to route a trapped load, store, AMO, LR or SC to it
/// (virt/engine/devices.hpp, docs/engine.md).
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/detail/utility.hpp>

namespace vfm::virt {

/// A device type: no state of its own (the state lives in the engine's
/// hart, the shared state or the board), no virtual functions; static
/// functions over the engine that routes the access. `contains` says whether
/// the `width` bytes at the physical `address` are the device's (devices do
/// not overlap: the first in the list that contains an access takes it);
/// `read` and `write` perform the access, false for an access fault.
/// `atomics`: whether AMOs, LR and SC reach it (naturally aligned, as a read
/// then a write, SC with a reservation on the value read); `floats`: whether
/// FP loads and stores do. Everything else is an access fault.
// clang-format off
template <class D, class Engine>
concept emulated_device = requires(Engine& engine, u64 address, unsigned width, u64& value, u64 written) {
    { D::contains(engine, address, width) } -> detail::same_as<bool>;
    { D::read(engine, address, width, value) } -> detail::same_as<bool>;
    { D::write(engine, address, width, written) } -> detail::same_as<bool>;
    { D::atomics } -> detail::same_as<const bool&>;
    { D::floats } -> detail::same_as<const bool&>;
};
// clang-format on

/// The devices an engine emulates, in the order they are asked
/// (virt/engine/devices.hpp holds the list).
template <class... Devices>
struct device_list {};

}  // namespace vfm::virt
