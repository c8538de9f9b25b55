// SPDX-License-Identifier: MIT
/// The OS's state while the firmware runs: its supervisor CSRs hidden and
/// given back, and the firmware's answer to an exception of the OS it kept
/// (an emulated CSR read, a redirect to the OS's trap vector) checked.
///
/// Part of the sandbox policy (policy/sandbox.hpp, which includes it at its
/// end): definitions of `sandbox` members declared there.
#pragma once

#include <vfm/policy/sandbox.hpp>

#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/instruction.hpp>
#include <vfm/riscv/privilege.hpp>
#include <vfm/virt/hart.hpp>

namespace vfm::policy {

template <u32 MaxHarts, class Settings>
template <class E>
inline void sandbox<MaxHarts, Settings>::hide_csrs(E& engine, saved_state& saved) noexcept {
    using riscv::csr;
    saved.satp = engine.current().csr.satp;  // the virtual satp the firmware would read
    engine.current().csr.satp = 0;
    // A hart without S-mode has no supervisor CSRs (priv. spec 3.1.1, 4.1):
    // its OS runs in U-mode and leaves nothing there to hide.
    if (!engine.features().has_s) return;
    auto& hw = engine.hw();
    saved.sstatus = hw.template read<csr::sstatus>();
    hw.template write<csr::sstatus>(0);
    saved.stvec = hw.template swap<csr::stvec>(0);
    saved.sscratch = hw.template swap<csr::sscratch>(0);
    saved.sepc = hw.template swap<csr::sepc>(0);
    saved.scause = hw.template swap<csr::scause>(0);
    saved.stval = hw.template swap<csr::stval>(0);
    saved.scounteren = hw.template swap<csr::scounteren>(0);
    if (engine.features().has_senvcfg) saved.senvcfg = hw.csr_swap(csr::senvcfg, 0).value;
}

template <u32 MaxHarts, class Settings>
template <class E>
inline void sandbox<MaxHarts, Settings>::restore_csrs(E& engine, const saved_state& saved) noexcept {
    using riscv::csr;
    engine.current().csr.satp = saved.satp;
    if (!engine.features().has_s) return;  // see hide_csrs
    auto& hw = engine.hw();
    hw.template write<csr::sstatus>(saved.sstatus);
    hw.template write<csr::stvec>(saved.stvec);
    hw.template write<csr::sscratch>(saved.sscratch);
    hw.template write<csr::sepc>(saved.sepc);
    hw.template write<csr::scause>(saved.scause);
    hw.template write<csr::stval>(saved.stval);
    hw.template write<csr::scounteren>(saved.scounteren);
    if (engine.features().has_senvcfg) (void)hw.csr_write(csr::senvcfg, saved.senvcfg);
    hw.template write<csr::satp>(saved.satp);
}

/// rd of the OS's instruction when the kept exception was an illegal
/// instruction that is a CSR access (mtval holds its bits, priv. spec
/// 3.1.16), else 0.
template <u32 MaxHarts, class Settings>
[[nodiscard]] inline unsigned sandbox<MaxHarts, Settings>::emulated_csr_read_rd(const saved_state& saved) noexcept {
    if (saved.cause != riscv::cause_value(riscv::exception::illegal_instruction)) return 0;
    const riscv::system_instruction si = riscv::decode_system(static_cast<u32>(saved.tval));
    return riscv::is_csr_op(si.op) ? si.rd : 0;
}

/// The firmware went back to the OS elsewhere than the instruction that
/// trapped. A redirect of the exception to the OS's own handler (an mret
/// to S-mode at the stvec the firmware read, 0, with sepc = the trapping
/// instruction, as OpenSBI's sbi_trap_redirect writes it) is performed on
/// the OS's real state; a redirect the OS cannot take stops the machine.
/// Any other target: the OS resumes there with its own registers and
/// supervisor CSRs (the firmware saw none of them).
template <u32 MaxHarts, class Settings>
template <class E>
inline void sandbox<MaxHarts, Settings>::answer_kept_exception(E& engine, saved_state& saved) noexcept {
    virt::hart& h = engine.current();
    auto& hw = engine.hw();
    const u64 target = h.pc;
    const bool to_supervisor = h.os_mode == riscv::privilege::supervisor && !h.os_virtualized;
    const bool has_s = engine.features().has_s;
    const u64 cause = has_s ? hw.template read<riscv::csr::scause>() : 0;
    const u64 tval = has_s ? hw.template read<riscv::csr::stval>() : 0;
    const bool redirect = has_s && target == 0 && to_supervisor && hw.template read<riscv::csr::sepc>() == saved.pc;
    for (unsigned i = 1; i < 32; ++i) h.x[i] = saved.x[i];
    restore_csrs(engine, saved);
    saved.valid = false;
    if (!redirect) return;
    const char* why = nullptr;
    if (cause != saved.cause && !redirectable(cause))
        why = "redirected it with a cause that is not an exception an instruction raises";
    else if ((saved.stvec & ~u64{3}) == 0)
        why = "redirected it to the OS, whose stvec is 0";
    if (why == nullptr) {
        h.pc = saved.pc;
        h.os_mode = saved.mode;
        if (engine.redirect_to_os(cause, tval)) return;
        why = "redirected it to a virtualized OS";
    }
    engine.print("vfm: sandbox: hart {}: exception {:#x} of the OS at {:#x}: the firmware {}: stopping\n", h.hartid,
                 saved.cause, saved.pc, why);
    engine.board().exit(sandbox_exit_code);
    for (;;) {}
}

/// Causes a redirected exception may carry besides its own: the
/// exceptions an instruction raises (priv. spec 3.1.15) but environment
/// calls (an emulation that faults redirects the fault instead).
template <u32 MaxHarts, class Settings>
[[nodiscard]] constexpr bool sandbox<MaxHarts, Settings>::redirectable(u64 cause) noexcept {
    constexpr u64 allowed = 0xff | (u64{1} << 12) | (u64{1} << 13) | (u64{1} << 15);
    return cause < 64 && ((allowed >> cause) & 1) != 0;
}

}  // namespace vfm::policy
