// SPDX-License-Identifier: MIT
// Must not compile: a board without `static constexpr u32 max_harts` is not a
// vfm::platform (the monitor sizes its per-hart state by it), so a function
// template constrained on the concept rejects it where the board is named,
// not deep inside the monitor.
#include <vfm/platform.hpp>

namespace {

template <vfm::platform P>
constexpr bool accepts(P&) noexcept {
    return true;
}

/// Every member the platform concept asks for, as stubs.
struct board {
#ifndef VFM_COMPILE_FAIL
    static constexpr vfm::u32 max_harts = 4;
#endif
    [[nodiscard]] const vfm::memory_layout& layout() const noexcept { return m_layout; }
    [[nodiscard]] vfm::u32 hart_count() const noexcept { return 1; }
    [[nodiscard]] vfm::u64 hart_id(vfm::u32) const noexcept { return 0; }
    [[nodiscard]] bool hart_index(vfm::u64, vfm::u64& index) const noexcept {
        index = 0;
        return true;
    }
    [[nodiscard]] vfm::u64 read_time() const noexcept { return 0; }
    void write_time(vfm::u64) noexcept {}
    void set_timer(vfm::u32, vfm::u64) noexcept {}
    void send_ipi(vfm::u32) noexcept {}
    void clear_ipi(vfm::u32) noexcept {}
    void console_put(char) noexcept {}
    void exit(vfm::u32) noexcept {}

    vfm::memory_layout m_layout{};
};

}  // namespace

bool use_board() noexcept {
    board b;
    return accepts(b);
}
