// SPDX-License-Identifier: MIT
// A hart backend and a board that satisfy vfm::arch and vfm::platform with
// stubs, for the compile-fail cases that need a whole monitor or engine type
// (the policy and hooks contracts). Nothing here runs: the cases compile with
// -fsyntax-only.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/platform.hpp>

namespace stub {

/// Every member of the arch concept, generic where the contract allows.
struct hart {
    template <class... Args>
    vfm::csr_result csr_read(Args&&...) noexcept { return {}; }
    template <class... Args>
    bool csr_write(Args&&...) noexcept { return true; }
    template <class... Args>
    vfm::csr_result csr_swap(Args&&...) noexcept { return {}; }
    template <class... Args>
    vfm::csr_result csr_set(Args&&...) noexcept { return {}; }
    template <class... Args>
    vfm::csr_result csr_clear(Args&&...) noexcept { return {}; }

    template <vfm::riscv::csr N>
    vfm::u64 read() noexcept { return 0; }
    template <vfm::riscv::csr N>
    void write(vfm::u64) noexcept {}
    template <vfm::riscv::csr N>
    vfm::u64 set(vfm::u64) noexcept { return 0; }
    template <vfm::riscv::csr N>
    vfm::u64 clear(vfm::u64) noexcept { return 0; }
    template <vfm::riscv::csr N>
    vfm::u64 swap(vfm::u64) noexcept { return 0; }

    template <class... Args>
    void fence_i(Args&&...) noexcept {}
    template <class... Args>
    void sfence_vma(Args&&...) noexcept {}
    template <class... Args>
    void hfence_vvma(Args&&...) noexcept {}
    template <class... Args>
    void hfence_gvma(Args&&...) noexcept {}
    template <class... Args>
    void wait_for_interrupt(Args&&...) noexcept {}

    template <class... Args>
    vfm::access_result load(Args&&...) noexcept { return {}; }
    template <class... Args>
    vfm::access_result store(Args&&...) noexcept { return {}; }
    template <class... Args>
    vfm::access_result amo(Args&&...) noexcept { return {}; }
    template <class... Args>
    vfm::access_result compare_exchange(Args&&...) noexcept { return {}; }
    template <class... Args>
    vfm::u64 fp_read(Args&&...) noexcept { return 0; }
    template <class... Args>
    void fp_write(Args&&...) noexcept {}
    template <class... Args>
    vfm::u8* physical(Args&&...) noexcept { return nullptr; }

    template <class... Args>
    void world_switched(Args&&...) noexcept {}
    template <class... Args>
    void resume(Args&&...) noexcept {}
    vfm::u64 hart_id() noexcept { return 0; }
};
static_assert(vfm::arch<hart>);

/// Every member of the platform concept.
struct board {
    static constexpr vfm::u32 max_harts = 1;
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
static_assert(vfm::platform<board>);

}  // namespace stub
