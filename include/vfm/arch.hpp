// SPDX-License-Identifier: MIT
/// The `arch` concept: everything the vfm core needs from one physical hart.
///
/// A port implements it once; `shims/metal` does so with inline assembly and
/// real CSRs, `shims/host` with a simulated hart. Core code takes the backend
/// as an object (`template <arch A> void f(A& hw, ...)`), so a unit test gets
/// a fresh simulated hart and the metal backend, an empty struct, inlines to
/// bare `csrr`/`csrw` instructions.
///
/// The contract, member by member:
///
/// CSRs by number, guarded (used off the hot path and for discovery):
///   csr_read(n)        -> csr_result  value read; ok = false if the hart raised
///                                     illegal instruction (CSR absent or not accessible)
///   csr_write(n, v)    -> bool        writes v (as csrrw with rd = x0); false on a trap
///   csr_swap(n, v)     -> csr_result  csrrw: old value, writes v
///   csr_set(n, v)      -> csr_result  csrrs: old value, sets the bits of v (v != 0 writes)
///   csr_clear(n, v)    -> csr_result  csrrc: old value, clears the bits of v
///
/// CSRs by constant number, unguarded (the hot path; only CSRs that the core
/// knows the hart implements):
///   read<n>(), write<n>(v), set<n>(v) -> old, clear<n>(v) -> old, swap<n>(v) -> old
///
/// Fences and waiting:
///   fence_i(); sfence_vma(f); hfence_vvma(f); hfence_gvma(f)
///     execute the instruction with the operands of `f` (fence_operands); an
///     operand marked "all" is passed as x0, which the spec distinguishes from
///     a register holding zero (priv. spec 4.2.1).
///   wait_for_interrupt()  executes wfi in M-mode: returns when (mip & mie) != 0.
///
/// Memory on behalf of a less privileged mode (MPRV semantics, priv. spec 3.1.6.3):
///   load(how, addr, width)          -> access_result
///   store(how, addr, width, value)  -> access_result
///   amo(how, addr, width, op, operand) -> access_result   value = the old value
///   compare_exchange(how, addr, width, expected, desired) -> access_result
///     value = the old value; `desired` was stored iff it equals `expected`
///     performed with the privilege, virtualization and MXR of `how`, with the
///     current physical satp / hgatp / vsatp and PMP; width 1, 2, 4 or 8 (4 or
///     8 for amo and compare_exchange, naturally aligned), values zero-extended.
///     A fault does not stop the monitor: ok = false and cause/tval/tval2/tinst
///     say what the hart raised. The core translates in software and calls
///     these with satp Bare and `how.virtualized` false, so they are physical
///     accesses with the PMP check of `how.privilege` (virt/guest_memory.hpp);
///     only discovery translates through them (to learn how A/D are updated).
///
/// The floating-point registers (F/D; only called where the hart has them and
/// mstatus.FS is not Off):
///   fp_read(n, width) -> u64       f[n]'s low `width` bytes (fmv.x.w / fmv.x.d)
///   fp_write(n, width, value)      f[n] = value, NaN-boxed when width is 4 (fmv.w.x / fmv.d.x)
///
/// The monitor's own view of physical memory (M-mode, no translation):
///   physical(addr, size) -> u8* or nullptr when [addr, addr+size) is not memory
///     the backend can reach (the host backend bounds-checks its simulated RAM).
///
/// The world that runs next (a backend may take that world's traps at its own
/// trap vector; the metal one serves the firmware's plain CSR accesses there):
///   world_switched(firmware_runs, count_firmware_traps)  called by the engine
///     whenever it changes which world the hart returns to (virt::hart::world)
///     and when the firmware starts using its counters; with
///     count_firmware_traps the firmware's traps must take the counting path
///     (virt::virtual_counters: record the counters at the trap in
///     hart::counters.at_trap with `counting` set, and on the way back call
///     virt::hide_monitor_work or do what it does)
///
/// Entering the guest:
///   resume(context)  leaves the monitor and runs the guest described by
///     `context` until its next trap (mret with the saved registers). On metal it
///     does not return: the next trap enters the trap vector, which saves the
///     registers into the same context and calls the monitor's trap handler. The
///     host backend records the entry and returns.
///
/// Identity:
///   hart_id() -> u64 (mhartid)
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/detail/utility.hpp>
#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/privilege.hpp>

namespace vfm {

namespace virt {
struct hart;
}

/// The outcome of a guarded CSR access.
struct csr_result {
    u64 value = 0;
    bool ok = false;
};

/// Operands of sfence.vma, hfence.vvma and hfence.gvma (priv. spec 4.2.1, H ext. 9.3.2).
struct fence_operands {
    u64 address = 0;            ///< rs1: virtual (or guest physical >> 2) address
    u64 id = 0;                 ///< rs2: ASID or VMID
    bool all_addresses = true;  ///< rs1 was x0
    bool all_ids = true;        ///< rs2 was x0
};

/// How an access on behalf of a less privileged mode is made.
struct access_mode {
    riscv::privilege privilege = riscv::privilege::supervisor;
    bool virtualized = false;  ///< mstatus.MPV: VS/VU with two-stage translation
    bool mxr = false;          ///< make executable pages readable (instruction fetch emulation)
};

/// The operation of an AMO: its funct5 (unpriv. spec 8.4).
enum class amo_op : u8 {
    add = 0x00,
    swap = 0x01,
    bit_xor = 0x04,
    bit_or = 0x08,
    bit_and = 0x0c,
    min = 0x10,
    max = 0x14,
    min_unsigned = 0x18,
    max_unsigned = 0x1c,
};

/// The new value of an AMO on `width` bytes: `old` and `operand` hold the
/// memory's and the register's low `width` bytes (unpriv. spec 8.4; min and
/// max compare as signed or unsigned `width`-byte integers).
[[nodiscard]] constexpr u64 amo_result(amo_op op, u64 old, u64 operand, unsigned width) noexcept {
    const u64 mask = width == 8 ? ~u64{0} : (u64{1} << (8 * width)) - 1;
    old &= mask;
    operand &= mask;
    const unsigned shift = 64 - 8 * width;
    const i64 a = static_cast<i64>(old << shift) >> shift;
    const i64 b = static_cast<i64>(operand << shift) >> shift;
    switch (op) {
        case amo_op::add: return (old + operand) & mask;
        case amo_op::swap: return operand;
        case amo_op::bit_xor: return old ^ operand;
        case amo_op::bit_or: return old | operand;
        case amo_op::bit_and: return old & operand;
        case amo_op::min: return a < b ? old : operand;
        case amo_op::max: return a > b ? old : operand;
        case amo_op::min_unsigned: return old < operand ? old : operand;
        case amo_op::max_unsigned: return old > operand ? old : operand;
    }
    return old;
}

/// The outcome of a load or store made on behalf of a less privileged mode.
struct access_result {
    u64 value = 0;  ///< loaded value, zero-extended to 64 bits
    bool ok = false;
    u64 cause = 0;  ///< the exception the hart raised when !ok
    u64 tval = 0;   ///< its mtval (the faulting address)
    u64 tval2 = 0;  ///< its mtval2 (guest physical address >> 2, H extension)
    u64 tinst = 0;  ///< its mtinst
};

// clang-format off
template <class A>
concept arch = requires(A& hw, riscv::csr number, u64 value, u64 address, unsigned width, access_mode how,
                        const fence_operands& fence, virt::hart& context) {
    { hw.csr_read(number) } noexcept -> detail::same_as<csr_result>;
    { hw.csr_write(number, value) } noexcept -> detail::same_as<bool>;
    { hw.csr_swap(number, value) } noexcept -> detail::same_as<csr_result>;
    { hw.csr_set(number, value) } noexcept -> detail::same_as<csr_result>;
    { hw.csr_clear(number, value) } noexcept -> detail::same_as<csr_result>;

    { hw.template read<riscv::csr::mstatus>() } noexcept -> detail::same_as<u64>;
    { hw.template write<riscv::csr::mstatus>(value) } noexcept;
    { hw.template set<riscv::csr::mstatus>(value) } noexcept -> detail::same_as<u64>;
    { hw.template clear<riscv::csr::mstatus>(value) } noexcept -> detail::same_as<u64>;
    { hw.template swap<riscv::csr::mstatus>(value) } noexcept -> detail::same_as<u64>;

    { hw.fence_i() } noexcept;
    { hw.sfence_vma(fence) } noexcept;
    { hw.hfence_vvma(fence) } noexcept;
    { hw.hfence_gvma(fence) } noexcept;
    { hw.wait_for_interrupt() } noexcept;

    { hw.load(how, address, width) } noexcept -> detail::same_as<access_result>;
    { hw.store(how, address, width, value) } noexcept -> detail::same_as<access_result>;
    { hw.amo(how, address, width, amo_op::swap, value) } noexcept -> detail::same_as<access_result>;
    { hw.compare_exchange(how, address, width, value, value) } noexcept -> detail::same_as<access_result>;
    { hw.fp_read(width, width) } noexcept -> detail::same_as<u64>;
    { hw.fp_write(width, width, value) } noexcept;
    { hw.physical(address, value) } noexcept -> detail::same_as<u8*>;

    { hw.world_switched(true, true) } noexcept;
    { hw.resume(context) } noexcept;
    { hw.hart_id() } noexcept -> detail::same_as<u64>;
};
// clang-format on

}  // namespace vfm
