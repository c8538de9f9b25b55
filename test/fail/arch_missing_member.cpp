// SPDX-License-Identifier: MIT
// Must not compile: a backend without csr_read is not a vfm::arch, so a
// function template constrained on the concept rejects it.
#include <vfm/arch.hpp>

namespace {

template <vfm::arch A>
constexpr bool accepts(A&) noexcept {
    return true;
}

/// Every member the arch concept asks for, as stubs with the required return
/// types. The parameters are left generic so that this positive control keeps
/// satisfying the concept when an operand type of the contract changes.
struct backend {
#ifndef VFM_COMPILE_FAIL
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

}  // namespace

bool use_backend() noexcept {
    backend hw;
    return accepts(hw);
}
