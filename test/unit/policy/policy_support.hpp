// SPDX-License-Identifier: MIT
// Helpers for the policy tests on top of the engine tests' harness
// (virt_support.hpp): the OS's SBI calls, the firmware's usual setup, and
// running a call whose targets are other harts served on another thread.
//
// Include after VPT_POLICY_MONITOR(...) (policy_monitor.hpp explains why).
// SBI numbers are literals from the SBI specification v2.0; nothing here
// computes an expected value.
#pragma once

#include <atomic>
#include <chrono>
#include <initializer_list>
#include <thread>
#include <vector>

#include "policy_monitor.hpp"
#include "virt/virt_support.hpp"

namespace vpt {

using namespace vt;
using host::access_type;

/// ABI register numbers (unpriv. spec 25, table 25.1).
namespace reg {
inline constexpr unsigned ra = 1, sp = 2, gp = 3, tp = 4, t0 = 5, t1 = 6, t2 = 7, s0 = 8, s1 = 9;
inline constexpr unsigned a0 = 10, a1 = 11, a2 = 12, a3 = 13, a4 = 14, a5 = 15, a6 = 16, a7 = 17;
}  // namespace reg

/// Extension IDs and error codes (SBI spec v2.0, chapters 3-12; the VFM
/// extension is the monitor's own, in the firmware-specific range).
namespace sbi {
inline constexpr u64 legacy_set_timer = 0x00;
inline constexpr u64 legacy_send_ipi = 0x04;
inline constexpr u64 base = 0x10;
inline constexpr u64 time = 0x54494D45;
inline constexpr u64 ipi = 0x735049;
inline constexpr u64 rfence = 0x52464E43;
inline constexpr u64 hsm = 0x48534D;
inline constexpr u64 srst = 0x53525354;
inline constexpr u64 pmu = 0x504D55;
inline constexpr u64 dbcn = 0x4442434E;
inline constexpr u64 susp = 0x53555350;
inline constexpr u64 vfm = 0x0A56464D;
inline constexpr u64 success = 0;
inline constexpr u64 err_not_supported = 0xffff'ffff'ffff'fffe;  ///< -2
inline constexpr u64 err_invalid_param = 0xffff'ffff'ffff'fffd;  ///< -3
}  // namespace sbi

/// mcause of an interrupt (priv. spec 3.1.15): bit 63 and the code.
[[nodiscard]] constexpr u64 interrupt_cause(u64 code) noexcept { return (u64{1} << 63) | code; }

/// pmpaddr of a NAPOT entry over the whole address space (priv. spec 3.7.1).
inline constexpr u64 napot_everything = 0x003f'ffff'ffff'ffff;

/// The firmware boots, installs its trap handler at firmware_vector and, as
/// OpenSBI's last entry does, lets S and U use all memory (PMP entry 0: NAPOT
/// everything, RWX).
inline void firmware_boot(cpu& c) {
    c.boot_with_vector();
    c.csrw(csr::pmpaddr0, napot_everything);
    c.csrw(csr::pmpcfg0, 0x1f);
}

/// The firmware writes its mtimecmp (through the CLINT it sees: mtimecmp of
/// hart i at 0x2004000 + 8 i).
inline void firmware_set_mtimecmp(cpu& c, u64 value) {
    c.h.x[5] = value;
    c.h.x[6] = 0x200'4000 + 8 * u64{c.index};
    REQUIRE(c.access(enc::sd(5, 6, 0)).advanced);
}

/// The OS, at its current pc, makes an SBI call: a7 = extension, a6 = function,
/// a0.. = the arguments given (the other registers as they are), then ecall.
inline void sbi_call(cpu& c, u64 extension, u64 function, std::initializer_list<u64> args = {}) {
    c.h.x[reg::a7] = extension;
    c.h.x[reg::a6] = function;
    unsigned n = reg::a0;
    for (const u64 a : args) c.h.x[n++] = a;
    c.trap(riscv::exception::ecall_from_s, 0);
}

/// The firmware, at its trap handler after an OS ecall, returns a0/a1 and
/// resumes the OS after the ecall (mepc + 4, mret with MPP as the trap left it).
inline void firmware_sbi_return(cpu& c, u64 a0, u64 a1) {
    const u64 epc = c.csrr(csr::mepc);
    c.h.x[reg::a0] = a0;
    c.h.x[reg::a1] = a1;
    c.csrw(csr::mepc, epc + 4);
    c.exec(enc::mret);
}

/// What the harness does after the monitor ran (cpu::resume is private): the
/// guest resumes at mepc, then takes what is pending.
inline void resume_guest(cpu& c) {
    const u64 pc = c.hw.peek_csr(csr::mepc).value_or(0);
    c.hw.resume(c.h);
    c.jump(pc);
    c.settle();
}

/// An SBI call of `caller`'s OS that only returns once other harts did
/// something (a remote fence): the caller runs the monitor on this thread; a
/// second thread waits until the monitor rang the doorbell of every hart in
/// `targets`, waits a little longer, notes whether the caller is still inside
/// the monitor, and then has each target take its doorbell interrupt (its
/// monitor runs there). No assertion runs on the second thread.
///
/// Until the caller's monitor has rung the last doorbell, only this thread
/// touches the board; afterwards the caller only spins on the policy's
/// atomics, so the targets' monitors may use the board; the guests resume
/// (and the test looks) only after both threads are done.
struct served_call {
    bool doorbells_rung = false;  ///< every target's doorbell rang
    bool caller_waited = false;   ///< the call had not returned before the targets took their doorbells
};

inline served_call sbi_call_served(machine& m, cpu& caller, const std::vector<u32>& targets, u64 extension,
                                   u64 function, std::initializer_list<u64> args) {
    caller.h.x[reg::a7] = extension;
    caller.h.x[reg::a6] = function;
    unsigned n = reg::a0;
    for (const u64 a : args) caller.h.x[n++] = a;

    auto& platform = m.monitor.platform();
    platform.forget_doorbells();
    u32 wanted = 0;
    for (const u32 t : targets) wanted |= u32{1} << t;
    std::atomic<bool> returned{false};
    served_call result;
    std::thread server([&] {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while ((platform.doorbells() & wanted) != wanted) {
            if (std::chrono::steady_clock::now() > give_up) return;
            std::this_thread::yield();
        }
        result.doorbells_rung = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        result.caller_waited = !returned.load();
        for (const u32 t : targets) {
            cpu& target = m[t];
            target.hw.trap(interrupt_cause(3), 0, target.mode(), target.hw.virtualized(), target.pc());
            m.monitor.handle_trap(target.hw, target.h);
        }
    });
    caller.hw.trap(riscv::cause_value(riscv::exception::ecall_from_s), 0, caller.mode(), false, caller.pc());
    m.monitor.handle_trap(caller.hw, caller.h);
    returned = true;
    server.join();
    resume_guest(caller);
    if (result.doorbells_rung)
        for (const u32 t : targets) resume_guest(m[t]);
    return result;
}

/// A distinct value for each register, none of them 0 (the OS's registers in
/// the register tests).
[[nodiscard]] constexpr u64 os_pattern(unsigned n) noexcept { return 0x0500'5eed'0000'0000 | (u64{n} << 16) | n; }
/// What the firmware leaves in registers it does not return.
[[nodiscard]] constexpr u64 firmware_junk(unsigned n) noexcept { return 0x0bad'f00d'0000'0000 | (u64{n} << 8) | n; }

}  // namespace vpt
