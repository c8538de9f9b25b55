// SPDX-License-Identifier: MIT
/// Helpers for policies that answer SBI calls in the monitor (SBI spec v2.0,
/// chapter 3: a7 = extension ID, a6 = function ID, a0..a5 arguments; a0 = error
/// and a1 = value on return).
#pragma once

#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/sbi.hpp>
#include <vfm/virt/hart.hpp>

namespace vfm::policy {

/// The monitor's own SBI extension, in the firmware-specific space
/// 0x0A000000-0x0AFFFFFF (SBI spec 3.1): "VFM" in the low 24 bits.
namespace vfm_extension {
inline constexpr u64 eid = 0x0A56464D;
inline constexpr u64 report = 0;        ///< prints the monitor's report on the console
inline constexpr u64 read_counter = 1;  ///< a0 = hart index, a1 = counter: value in a1
}  // namespace vfm_extension

/// An SBI call as the OS made it (registers of the trapped hart).
struct sbi_call {
    u64 extension;
    u64 function;
    u64 args[6];
};

/// True when `cause` is an ecall from S-mode (the OS's SBI calls; calls from a
/// virtualized guest, cause 10, belong to the hypervisor in S-mode).
[[nodiscard]] constexpr bool is_sbi_call(u64 cause) noexcept {
    return cause == riscv::cause_value(riscv::exception::ecall_from_s);
}

[[nodiscard]] constexpr sbi_call read_sbi_call(const virt::hart& h) noexcept {
    sbi_call call;  // every field is set below (no zeroing on the hot path)
    call.extension = h.reg(17);
    call.function = h.reg(16);
    for (unsigned i = 0; i < 6; ++i) call.args[i] = h.reg(10 + i);
    return call;
}

/// How many argument registers (a0..) an SBI call uses (SBI spec v2.0);
/// unknown calls keep all six.
[[nodiscard]] constexpr unsigned sbi_argument_count(u64 extension, u64 function) noexcept {
    namespace eid = riscv::sbi::eid;
    switch (extension) {
        case eid::legacy_set_timer:
        case eid::legacy_console_putchar:
        case eid::legacy_send_ipi:
        case eid::legacy_remote_fence_i: return 1;
        case eid::legacy_console_getchar:
        case eid::legacy_clear_ipi:
        case eid::legacy_shutdown: return 0;
        case eid::legacy_remote_sfence_vma: return 3;
        case eid::legacy_remote_sfence_vma_asid: return 4;
        case eid::base: return function == riscv::sbi::base_fid::probe_extension ? 1 : 0;
        case eid::time: return 1;
        case eid::ipi: return 2;
        case eid::rfence: {
            constexpr unsigned counts[] = {2, 4, 5, 5, 4, 5, 4};
            return function < 7 ? counts[function] : 6;
        }
        case eid::hsm: {
            constexpr unsigned counts[] = {3, 0, 1, 3};
            return function < 4 ? counts[function] : 6;
        }
        case eid::srst: return 2;
        case eid::dbcn: return function == riscv::sbi::dbcn_fid::console_write_byte ? 1 : 3;
        case eid::susp: return 3;
        case eid::pmu: {
            constexpr unsigned counts[] = {0, 1, 5, 4, 3, 1, 1, 3, 4};
            return function < 9 ? counts[function] : 6;
        }
        default: return 6;
    }
}

/// Completes an SBI call in the monitor: a0 = error, a1 = value, pc past the ecall.
template <class E>
void sbi_return(E& engine, riscv::sbi::error error, u64 value = 0) noexcept {
    engine.set_reg(10, static_cast<u64>(static_cast<i64>(error)));
    engine.set_reg(11, value);
    engine.skip_instruction(4);
}

/// Calls `f(index)` for every hart index an SBI hart mask selects (SBI spec
/// 3.1: bit i of `mask` is hart id base + i; base -1 selects every hart).
/// Returns false, touching nothing, if the mask names a hart the board lacks.
template <class Board, class F>
bool for_each_hart_in_mask(const Board& board, u64 mask, u64 base, F&& f) noexcept {
    if (base == riscv::sbi::hart_mask_all) {
        for (u32 i = 0; i < board.hart_count(); ++i) f(i);
        return true;
    }
    u64 index = 0;
    for (unsigned bit = 0; bit < 64; ++bit)
        if (((mask >> bit) & 1) != 0 && !board.hart_index(base + bit, index)) return false;
    for (unsigned bit = 0; bit < 64; ++bit) {
        if (((mask >> bit) & 1) == 0) continue;
        (void)board.hart_index(base + bit, index);
        f(static_cast<u32>(index));
    }
    return true;
}

}  // namespace vfm::policy
