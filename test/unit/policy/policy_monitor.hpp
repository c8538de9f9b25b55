// SPDX-License-Identifier: MIT
// The policy tests run the engine tests' simulated machine
// (test/unit/virt/virt_support.hpp: `vt::machine`, `vt::cpu`) unchanged. That
// machine holds a `vfm::monitor<host::simulated_hart, host::simulated_board<4>>`
// without policies; a policy test executable replaces it, before including
// virt_support.hpp, by an explicit specialization of that one monitor type
// which wraps the real `vfm::monitor<simulated_hart, policy_board, Policies...>`:
//
//     #include "policy_monitor.hpp"
//     VPT_POLICY_MONITOR(vfm::policy::offload<4>)   // once per executable
//     #include "policy_support.hpp"                 // includes virt_support.hpp
//
// Every test file of one executable must name the same policies (one
// definition of the specialization per program).
//
// `policy_board` is the platform the monitor sees: the machine's simulated
// board with a memory map that has what the policies need (a shutdown device,
// a shared buffer, RAM as large as the harness's harts have), forwarding
// everything else, and noting each doorbell it rings so that a test running a
// target hart on another thread knows when the caller has rung them all.
#pragma once

#include <atomic>

#include <vfm/host/board.hpp>
#include <vfm/host/simulated_hart.hpp>
#include <vfm/monitor.hpp>

namespace vpt {

using namespace vfm;

/// RAM of the harness's harts (vt::with_identity): 16 MiB at 0x80000000.
inline constexpr u64 ram_base = 0x8000'0000;
inline constexpr u64 ram_size = u64{16} << 20;
/// The shared buffer the sandbox bounces OS pointers through: the page after
/// the monitor (as the reference image reserves it).
inline constexpr u64 shared_buffer_base = 0x8002'0000;
inline constexpr u64 shared_buffer_size = 0x1000;
/// The shutdown device. On QEMU it is the test finisher at 0x100000; the
/// simulated hart's memory is its RAM, so here it is a RAM page below the
/// firmware, where the test reads back what reached it.
inline constexpr u64 shutdown_base = 0x8004'0000;
inline constexpr u64 shutdown_size = 0x1000;

/// QEMU virt's map (host::qemu_virt_layout) with the above.
[[nodiscard]] constexpr memory_layout policy_layout() noexcept {
    memory_layout layout = host::qemu_virt_layout();
    layout.ram = {ram_base, ram_size};
    layout.shared_buffer = {shared_buffer_base, shared_buffer_size};
    layout.shutdown_device = {shutdown_base, shutdown_size};
    return layout;
}

/// The platform the policy monitor runs on: `Board` with policy_layout().
template <class Board>
class policy_board {
public:
    static constexpr u32 max_harts = Board::max_harts;

    explicit policy_board(Board& board) noexcept : m_board(board) {}

    [[nodiscard]] const memory_layout& layout() const noexcept { return m_layout; }
    [[nodiscard]] u32 hart_count() const noexcept { return m_board.hart_count(); }
    [[nodiscard]] u64 hart_id(u32 index) const noexcept { return m_board.hart_id(index); }
    [[nodiscard]] bool hart_index(u64 hartid, u64& index) const noexcept { return m_board.hart_index(hartid, index); }
    [[nodiscard]] u64 read_time() const noexcept { return m_board.read_time(); }
    void write_time(u64 value) noexcept { m_board.write_time(value); }
    void set_timer(u32 index, u64 deadline) noexcept { m_board.set_timer(index, deadline); }
    void send_ipi(u32 index) noexcept {
        m_board.send_ipi(index);
        m_rung.fetch_or(u32{1} << index, std::memory_order_release);
    }
    void clear_ipi(u32 index) noexcept { m_board.clear_ipi(index); }
    void console_put(char c) noexcept { m_board.console_put(c); }
    void exit(u32 code) noexcept { m_board.exit(code); }

    /// The doorbells rung (bit = hart index) since the last forget_doorbells().
    [[nodiscard]] u32 doorbells() const noexcept { return m_rung.load(std::memory_order_acquire); }
    void forget_doorbells() noexcept { m_rung.store(0, std::memory_order_release); }

    [[nodiscard]] Board& simulated() noexcept { return m_board; }

private:
    Board& m_board;
    memory_layout m_layout = policy_layout();
    std::atomic<u32> m_rung{0};
};

/// What vt::machine holds as its monitor: the real monitor with `Policies`
/// over policy_board, with the members the harness calls.
template <class Board, class... Policies>
class policy_monitor {
public:
    using platform_type = policy_board<Board>;
    using inner_type = vfm::monitor<host::simulated_hart, platform_type, Policies...>;

    explicit policy_monitor(Board& board) noexcept : m_platform(board), m_inner(m_platform) {}
    policy_monitor(const policy_monitor&) = delete;
    policy_monitor& operator=(const policy_monitor&) = delete;

    [[nodiscard]] boot_error boot_hart(host::simulated_hart& hw, virt::hart& h, u32 index, u64 hartid,
                                       u64 device_tree, u64 boot_info) noexcept {
        return m_inner.boot_hart(hw, h, index, hartid, device_tree, boot_info);
    }
    void handle_trap(host::simulated_hart& hw, virt::hart& h) noexcept { m_inner.handle_trap(hw, h); }
    [[nodiscard]] bool fast_trap(host::simulated_hart& hw, virt::hart& h) noexcept { return m_inner.fast_trap(hw, h); }

    /// The monitor itself (it derives from each policy: `policy<P>()`).
    [[nodiscard]] inner_type& inner() noexcept { return m_inner; }
    template <class P>
    [[nodiscard]] P& policy() noexcept {
        return static_cast<P&>(m_inner);
    }
    [[nodiscard]] platform_type& platform() noexcept { return m_platform; }
    [[nodiscard]] virt::shared_state<inner_type::max_harts>& shared() noexcept { return m_inner.shared(); }

private:
    platform_type m_platform;
    inner_type m_inner;
};

}  // namespace vpt

/// Gives vt::machine a monitor with these policies (see the file comment).
#define VPT_POLICY_MONITOR(...)                                                                                \
    namespace vfm {                                                                                            \
    template <>                                                                                                \
    class monitor<host::simulated_hart, host::simulated_board<4>>                                              \
        : public ::vpt::policy_monitor<host::simulated_board<4>, __VA_ARGS__> {                                \
    public:                                                                                                    \
        using ::vpt::policy_monitor<host::simulated_board<4>, __VA_ARGS__>::policy_monitor;                    \
    };                                                                                                         \
    }
