// SPDX-License-Identifier: MIT
// A hart backend, a board and an emulated device that satisfy vfm::arch,
// vfm::platform and vfm::virt::emulated_device with stubs, for the compile-fail cases that need a whole monitor or engine type
// (the policy and hooks contracts), and for the cases that break one member of
// the arch or platform contract. Nothing here runs: the cases compile with
// -fsyntax-only.
//
// A case that breaks one member defines its switch before the include (under
// VFM_COMPILE_FAIL only, so that its positive control keeps the whole stub):
//   STUB_HART_WITHOUT_CSR_READ     the hart has no csr_read
//   STUB_HART_CSR_READ_MAY_THROW   the hart's csr_read is not noexcept
//   STUB_BOARD_WITHOUT_MAX_HARTS   the board has no max_harts
//   STUB_BOARD_MAX_HARTS n         the board's max_harts is n (1 otherwise)
//   STUB_DEVICE_WITHOUT_WRITE      the device has no write
// The stub then checks the concept only where no switch breaks it: the case
// itself names the type where the concept must reject it.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/platform.hpp>
#include <vfm/virt/emulated_device.hpp>

namespace stub {

/// Every member of the arch concept, generic where the contract allows.
struct hart {
#if defined(STUB_HART_CSR_READ_MAY_THROW)
    template <class... Args>
    vfm::csr_result csr_read(Args&&...) { return {}; }
#elif !defined(STUB_HART_WITHOUT_CSR_READ)
    template <class... Args>
    vfm::csr_result csr_read(Args&&...) noexcept { return {}; }
#endif
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
#if !defined(STUB_HART_WITHOUT_CSR_READ) && !defined(STUB_HART_CSR_READ_MAY_THROW)
static_assert(vfm::arch<hart>);
#endif

/// Every member of the platform concept.
struct board {
#if defined(STUB_BOARD_MAX_HARTS)
    static constexpr vfm::u32 max_harts = STUB_BOARD_MAX_HARTS;
#elif !defined(STUB_BOARD_WITHOUT_MAX_HARTS)
    static constexpr vfm::u32 max_harts = 1;
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
#if !defined(STUB_BOARD_WITHOUT_MAX_HARTS) && !defined(STUB_BOARD_MAX_HARTS)
static_assert(vfm::platform<board>);
#endif

/// A device of one 8-byte register at 0x2000000: every member of the
/// emulated_device concept, over any engine.
struct device {
    static constexpr bool atomics = false;
    static constexpr bool floats = false;
    template <class Engine>
    static bool contains(Engine&, vfm::u64 address, unsigned width) noexcept {
        return address >= 0x200'0000 && address + width <= 0x200'0008;
    }
    template <class Engine>
    static bool read(Engine&, vfm::u64, unsigned, vfm::u64& value) noexcept {
        value = 0;
        return true;
    }
#ifndef STUB_DEVICE_WITHOUT_WRITE
    template <class Engine>
    static bool write(Engine&, vfm::u64, unsigned, vfm::u64) noexcept {
        return true;
    }
#endif
};

/// Constrained on the concepts: a call with a stub that a switch breaks does not
/// compile, where the stub is named, and the diagnostics name the member.
template <vfm::arch A>
constexpr bool accepts_arch(A&) noexcept {
    return true;
}
template <vfm::platform P>
constexpr bool accepts_platform(P&) noexcept {
    return true;
}

}  // namespace stub
