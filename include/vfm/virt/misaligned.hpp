// SPDX-License-Identifier: MIT
/// Emulation of a misaligned integer load or store of the OS (S- or U-mode,
/// or VS/VU with H) on a hart that raises load / store address misaligned
/// (causes 4 and 6) instead of performing it (unpriv. spec 2.6: an execution
/// environment may trap misaligned accesses and emulate them; priv. spec
/// 3.1.15). The monitor's trap path calls it when a policy keeps these traps
/// instead of forwarding them to the firmware.
///
/// The instruction is decoded (riscv/instruction.hpp), its effective address
/// recomputed and checked against the faulting one, and the access performed
/// one byte at a time through `arch::load` / `arch::store` with the OS's own
/// privilege, translation and PMP (MPRV semantics, priv. spec 3.1.6.3), in
/// increasing address order. Not atomic: a misaligned access has no atomicity
/// guarantee beyond its bytes (unpriv. spec 2.6).
///
/// Not emulated (`not_handled`, the caller forwards the trap to the firmware):
/// floating-point loads and stores (the monitor does not touch the f
/// registers), LR/SC and AMOs (they must not be split: unpriv. spec 8.2,
/// 8.4), anything else that is not a load or store, reserved encodings such
/// as C.LWSP with rd = x0 (unpriv. spec 16.3), and an instruction whose
/// effective address is not the one that faulted.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/bits.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/instruction.hpp>
#include <vfm/virt/hart.hpp>

namespace vfm::virt {

/// What `emulate_misaligned` did.
struct misaligned_outcome {
    enum class status : u8 {
        emulated,     ///< performed; the caller advances pc by `length`
        fault,        ///< an exception the OS must take instead (cause, tval, tval2)
        not_handled,  ///< not an integer load or store at that address: forward the trap
    };
    status result = status::not_handled;
    u64 cause = 0;        ///< fault: load/store page fault, access fault, guest page fault, or the instruction fault
    u64 tval = 0;         ///< fault: the address of the part of the access (or of the fetch) that faulted
    u64 tval2 = 0;        ///< fault: mtval2 as the hart reported it (guest page faults, H extension)
    unsigned length = 0;  ///< emulated: the instruction's length in bytes (2 or 4)
};

namespace detail_misaligned {

/// The instruction fault that corresponds to a fault of a load made to read
/// an instruction (priv. spec 3.1.15, table 3.6; H extension 9.6.2): page
/// fault 13 -> 12, access fault 5 -> 1, guest page fault 21 -> 20; 0 for any
/// other cause, which such a load cannot raise.
[[nodiscard]] constexpr u64 fetch_cause(u64 load_cause) noexcept {
    using riscv::exception;
    switch (static_cast<exception>(load_cause)) {
        case exception::load_page_fault: return riscv::cause_value(exception::instruction_page_fault);
        case exception::load_access_fault: return riscv::cause_value(exception::instruction_access_fault);
        case exception::load_guest_page_fault: return riscv::cause_value(exception::instruction_guest_page_fault);
        default: return 0;
    }
}

[[nodiscard]] constexpr misaligned_outcome fault(const access_result& r, u64 cause) noexcept {
    misaligned_outcome out;
    out.result = misaligned_outcome::status::fault;
    out.cause = cause;
    out.tval = r.tval;
    out.tval2 = r.tval2;
    return out;
}

}  // namespace detail_misaligned

/// Emulates the load or store at `pc` of the OS (privilege and virtualization
/// `how`) that raised address misaligned at `address`.
///
/// `instruction` holds the instruction's original bits when the caller has
/// them, else 0. Note that mtinst does not hold them for a misaligned access:
/// it is 0 or a *transformed* instruction (H extension 9.6.3: rs1 replaced by
/// an address offset, the immediate cleared), which must not be passed here.
/// With 0 the instruction is read at `pc` through `hw.load` with `how` plus
/// MXR (the OS's translation; a page it executes from may be execute-only),
/// 16 bits at a time (unpriv. spec 1.5: pc is only 2-byte aligned with C). A
/// fault there becomes the instruction fault the OS would have taken
/// (instruction page fault 12, access fault 1, guest page fault 20) with tval
/// the address that was read.
///
/// On `emulated` only the destination register of a load changed (through
/// the x0 rule: a load into x0 is performed, and may fault, but writes
/// nothing); the caller advances `h.pc`. On `fault` and `not_handled` no
/// register changed. A store that faults part-way has written the bytes below
/// the faulting one, as hardware that splits misaligned accesses may do
/// (unpriv. spec 2.6; priv. spec 3.1.16: tval is then the address of the part
/// that faulted).
template <arch A>
[[nodiscard]] misaligned_outcome emulate_misaligned(A& hw, hart& h, const access_mode& how, u64 pc, u64 address,
                                                    u32 instruction = 0) noexcept {
    using detail_misaligned::fault;
    using status = misaligned_outcome::status;
    misaligned_outcome out;

    if (instruction == 0) {
        access_mode fetch = how;
        fetch.mxr = true;
        // The length follows from the bits read so far: the low half decides (unpriv. spec 1.5).
        for (unsigned read = 0; read < riscv::instruction_length(instruction); read += 2) {
            const access_result r = hw.load(fetch, pc + read, 2);
            if (!r.ok) {
                const u64 cause = detail_misaligned::fetch_cause(r.cause);
                return cause == 0 ? out : fault(r, cause);
            }
            instruction |= static_cast<u32>(r.value & 0xffff) << (8 * read);
        }
    }

    riscv::memory_access m;
    if (!riscv::decode_memory_access(instruction, m) || m.is_float) return out;
    if (h.reg(m.base_reg) + static_cast<u64>(m.offset) != address) return out;

    // One byte at a time, lowest address first; memory is little-endian (unpriv. spec 2.6).
    const u64 stored = h.reg(m.data_reg);
    u64 loaded = 0;
    for (unsigned i = 0; i < m.width; ++i) {
        const access_result r = m.is_store ? hw.store(how, address + i, 1, (stored >> (8 * i)) & 0xff)
                                           : hw.load(how, address + i, 1);
        if (!r.ok) return fault(r, r.cause);
        loaded |= (r.value & 0xff) << (8 * i);
    }

    if (!m.is_store) {
        // LB, LH, LW (and C.LW, C.LWSP, c.lh) sign-extend; LBU, LHU, LWU zero-extend (unpriv. spec 2.6, 5.3).
        if (m.sign_extend) loaded = bits::sign_extend(loaded, 8u * m.width);
        h.set_reg(m.data_reg, loaded);
    }
    out.result = status::emulated;
    out.length = m.length;
    return out;
}

}  // namespace vfm::virt
