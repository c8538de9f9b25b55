// SPDX-License-Identifier: MIT
/// The trap CSRs every trap path needs, read once where the path starts (the
/// trap vector's C++ entry) and passed down, so that no layer reads mcause or
/// mepc again (docs/engine.md, "The path of one trap").
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/riscv/csr.hpp>

namespace vfm::virt {

struct trap_entry {
    u64 cause = 0;  ///< mcause
    u64 epc = 0;    ///< mepc: where the guest trapped
};

template <arch Arch>
[[nodiscard, gnu::always_inline]] inline trap_entry read_trap_entry(Arch& hw) noexcept {
    return {hw.template read<riscv::csr::mcause>(), hw.template read<riscv::csr::mepc>()};
}

}  // namespace vfm::virt
