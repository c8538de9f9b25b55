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

/// A board's own devices (docs/engine.md, "A board's own devices"): a
/// Platform may declare `using devices = vfm::virt::device_list<...>;`, and
/// the engine asks them after its own (the shutdown device, the CLINT). The
/// engine asks only for accesses inside the board's
/// `layout().emulated_devices` (the region its PMP entries deny to the
/// firmware and the OS, so that their accesses trap: virt/guest_memory.hpp,
/// classify_physical): a board device must lie in that region, and outside
/// the CLINT's registers (the CLINT is asked first). A device outside it is
/// never asked. `type` is the board's list, or no devices.
template <class Platform>
struct board_devices {
    using type = device_list<>;
};
// clang-format off
template <class Platform>
    requires requires { typename Platform::devices; }
struct board_devices<Platform> {
    using type = typename Platform::devices;
};
// clang-format on

namespace detail_devices {
template <class>
inline constexpr bool is_device_list = false;
template <class... Devices>
inline constexpr bool is_device_list<device_list<Devices...>> = true;

template <class Builtin, class Board>
struct join {
    static_assert(is_device_list<Board>,
                  "Platform::devices must be a vfm::virt::device_list<...> of the board's emulated devices");
};
template <class... Builtin, class... Board>
struct join<device_list<Builtin...>, device_list<Board...>> {
    using type = device_list<Builtin..., Board...>;
};
}  // namespace detail_devices

/// The devices an engine for `Platform` asks, in order: `Builtin` (a
/// device_list), then the board's own.
template <class Builtin, class Platform>
using devices_with_board = typename detail_devices::join<Builtin, typename board_devices<Platform>::type>::type;

}  // namespace vfm::virt
