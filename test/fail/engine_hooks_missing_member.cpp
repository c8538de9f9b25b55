// SPDX-License-Identifier: MIT
// Must not compile: the engine's `Hooks` (the monitor's role) lacks on_fatal,
// so the engine could not stop the machine on a state no machine leaves. The
// engine_hooks concept on the engine's constructor rejects it and names it.
#include <vfm/virt/engine.hpp>

#include "stub_machine.hpp"

namespace {

/// Every member the engine_hooks concept asks for, as stubs.
struct hooks {
    static constexpr bool intercepts_shutdown = false;
    [[nodiscard]] stub::board& board() noexcept { return m_board; }
    [[nodiscard]] vfm::virt::shared_state<1>& shared() noexcept { return m_shared; }
    template <class E>
    void on_trap(E&, vfm::u64) noexcept {}
    template <class E>
    bool on_os_trap(E&, vfm::u64) noexcept { return false; }
    template <class E>
    void on_request(E&) noexcept {}
    template <class E>
    void on_monitor_deadline(E&) noexcept {}
    template <class E>
    void on_enter_firmware(E&) noexcept {}
    template <class E>
    void on_enter_os(E&) noexcept {}
    template <class E>
    vfm::u64 os_mcounteren(E&, vfm::u64 value) noexcept { return value; }
    template <class E>
    void on_shutdown(E&) noexcept {}
#ifndef VFM_COMPILE_FAIL
    template <class E>
    [[noreturn]] void on_fatal(E&, const char*, vfm::u64, vfm::u64) noexcept {
        for (;;) {
        }
    }
#endif

    stub::board m_board;
    vfm::virt::shared_state<1> m_shared;
};

}  // namespace

bool use_hooks() noexcept {
    stub::hart hw;
    hooks monitor;
    vfm::virt::hart h{};
    vfm::virt::engine<stub::hart, stub::board, hooks, 1> engine(hw, monitor, h);
    return &engine.current() == &h;
}
