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
/// on the guarded path (virt/guest_memory.hpp) with the OS's own privilege,
/// translation and PMP, bytes of a misaligned piece one at a time in
/// increasing address order. Not atomic: a misaligned access has no atomicity
/// guarantee beyond its bytes (unpriv. spec 2.6).
///
/// Not emulated (`not_handled`, the caller forwards the trap to the firmware):
/// floating-point loads and stores, LR/SC and AMOs (they must not be split: unpriv. spec 8.2,
/// 8.4), anything else that is not a load or store, reserved encodings such
/// as C.LWSP with rd = x0 (unpriv. spec 16.3), and an instruction whose
/// effective address is not the one that faulted.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/bits.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/instruction.hpp>
#include <vfm/virt/guest_memory.hpp>
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

/// Emulates the load or store at `pc` of the OS that raised address
/// misaligned at `address`, on the guarded path `memory`
/// (virt/guest_memory.hpp) with the OS's translation `regime`: the
/// instruction is read as the OS fetched it (a fault there becomes the fetch
/// fault the OS would have taken), decoded, its effective address checked
/// against the faulting one, and the access made through `memory` (each page
/// translated and guarded, the bytes of a misaligned piece one at a time, in
/// increasing address order). RAM only: a misaligned access to a device is
/// not split (the fault is forwarded).
///
/// `instruction` holds the instruction's original bits when the caller has
/// them, else 0. Note that mtinst does not hold them for a misaligned access:
/// it is 0 or a *transformed* instruction (H extension 9.6.3: rs1 replaced by
/// an address offset, the immediate cleared), which must not be passed here.
///
/// On `emulated` only the destination register of a load changed (through
/// the x0 rule: a load into x0 is performed, and may fault, but writes
/// nothing); the caller advances `h.pc`. On `fault` and `not_handled` no
/// register changed. A store that faults part-way has written the bytes below
/// the faulting one, as hardware that splits misaligned accesses may do
/// (unpriv. spec 2.6; priv. spec 3.1.16: tval is then the address of the part
/// that faulted).
template <class Memory>
[[nodiscard]] misaligned_outcome emulate_misaligned(Memory& memory, const translation_regime& regime, hart& h, u64 pc,
                                                    u64 address, u32 instruction = 0) noexcept {
    using status = misaligned_outcome::status;
    misaligned_outcome out;
    auto fault = [&](const guest_fault& f) {
        out.result = status::fault;
        out.cause = f.cause;
        out.tval = f.tval;
        out.tval2 = f.tval2;
        return out;
    };

    if (instruction == 0) {
        guest_fault f;
        if (!memory.read_instruction(regime, pc, instruction, f)) return fault(f);
    }

    riscv::memory_access m;
    if (!riscv::decode_memory_access(instruction, m) || m.is_float) return out;
    if (h.reg(m.base_reg) + static_cast<u64>(m.offset) != address) return out;

    const guest_access r =
        m.is_store ? memory.store(regime, address, m.width, h.reg(m.data_reg)) : memory.load(regime, address, m.width);
    if (r.result == guest_access::status::fault) return fault(r.fault);
    if (!r.done()) return out;

    if (!m.is_store) {
        // LB, LH, LW (and C.LW, C.LWSP, c.lh) sign-extend; LBU, LHU, LWU zero-extend (unpriv. spec 2.6, 5.3).
        h.set_reg(m.data_reg, m.sign_extend ? bits::sign_extend(r.value, 8u * m.width) : r.value);
    }
    out.result = status::emulated;
    out.length = m.length;
    return out;
}

}  // namespace vfm::virt
