// SPDX-License-Identifier: MIT
/// Decoding of the instructions a monitor must understand: the SYSTEM opcode
/// (Zicsr, trap return, wfi, fences of the MMU and the H extension, ecall,
/// ebreak) and loads and stores, compressed forms included (unpriv. spec 2.8,
/// 2.6, 16.3-16.4 (C), Zcb; priv. spec 3.3, 4.2.1; H extension 9.3).
#pragma once

#include <vfm/detail/bits.hpp>

namespace vfm::riscv {

/// Length in bytes of the instruction whose low 16 bits are `low_half`
/// (2 for compressed, 4 otherwise; longer encodings are not used on RV64GC).
[[nodiscard]] constexpr unsigned instruction_length(u64 low_half) noexcept { return (low_half & 3) == 3 ? 4 : 2; }

namespace opcode {
inline constexpr u32 load = 0x03;
inline constexpr u32 load_fp = 0x07;
inline constexpr u32 store = 0x23;
inline constexpr u32 store_fp = 0x27;
inline constexpr u32 amo = 0x2f;
inline constexpr u32 system = 0x73;
}  // namespace opcode

/// Fields of a 32-bit instruction (unpriv. spec 2.2).
namespace insn {
[[nodiscard]] constexpr u32 opcode(u32 i) noexcept { return i & 0x7f; }
[[nodiscard]] constexpr u8 rd(u32 i) noexcept { return static_cast<u8>((i >> 7) & 0x1f); }
[[nodiscard]] constexpr u32 funct3(u32 i) noexcept { return (i >> 12) & 7; }
[[nodiscard]] constexpr u8 rs1(u32 i) noexcept { return static_cast<u8>((i >> 15) & 0x1f); }
[[nodiscard]] constexpr u8 rs2(u32 i) noexcept { return static_cast<u8>((i >> 20) & 0x1f); }
[[nodiscard]] constexpr u32 funct7(u32 i) noexcept { return i >> 25; }
[[nodiscard]] constexpr u16 csr(u32 i) noexcept { return static_cast<u16>(i >> 20); }
[[nodiscard]] constexpr i64 i_immediate(u32 i) noexcept { return static_cast<i64>(bits::sign_extend(i >> 20, 12)); }
[[nodiscard]] constexpr i64 s_immediate(u32 i) noexcept {
    return static_cast<i64>(bits::sign_extend(((i >> 25) << 5) | ((i >> 7) & 0x1f), 12));
}
}  // namespace insn

/// mret's encoding (priv. spec 3.3.2, table of privileged instructions).
inline constexpr u32 mret_bits = 0x30200073;

/// The SYSTEM instructions a monitor emulates.
enum class system_op : u8 {
    unknown,
    csrrw,
    csrrs,
    csrrc,
    csrrwi,
    csrrsi,
    csrrci,
    ecall,
    ebreak,
    mret,
    sret,
    wfi,
    sfence_vma,
    hfence_vvma,
    hfence_gvma,
    sinval_vma,        ///< Svinval
    hinval_vvma,       ///< Svinval with H
    hinval_gvma,       ///< Svinval with H
    sfence_w_inval,    ///< Svinval
    sfence_inval_ir,   ///< Svinval
    hypervisor_load,   ///< HLV.*, HLVX.* (H extension)
    hypervisor_store,  ///< HSV.* (H extension)
};

/// A decoded SYSTEM instruction. For the immediate CSR forms `rs1` holds the
/// 5-bit zero-extended immediate (uimm).
struct system_instruction {
    system_op op = system_op::unknown;
    u8 rd = 0;
    u8 rs1 = 0;
    u8 rs2 = 0;
    u16 csr = 0;
};

[[nodiscard]] constexpr bool is_csr_op(system_op op) noexcept {
    return op >= system_op::csrrw && op <= system_op::csrrci;
}
[[nodiscard]] constexpr bool is_immediate_csr_op(system_op op) noexcept {
    return op >= system_op::csrrwi && op <= system_op::csrrci;
}

/// Whether a CSR instruction writes its CSR: csrrw/csrrwi always do;
/// csrrs/csrrc with rs1 = x0 and csrrsi/csrrci with uimm = 0 do not (unpriv. spec 9.1).
[[nodiscard]] constexpr bool writes_csr(const system_instruction& i) noexcept {
    switch (i.op) {
        case system_op::csrrw:
        case system_op::csrrwi: return true;
        case system_op::csrrs:
        case system_op::csrrc:
        case system_op::csrrsi:
        case system_op::csrrci: return i.rs1 != 0;
        default: return false;
    }
}

/// Whether a CSR instruction reads its CSR: csrrw/csrrwi with rd = x0 do not (unpriv. spec 9.1).
[[nodiscard]] constexpr bool reads_csr(const system_instruction& i) noexcept {
    switch (i.op) {
        case system_op::csrrw:
        case system_op::csrrwi: return i.rd != 0;
        case system_op::csrrs:
        case system_op::csrrc:
        case system_op::csrrsi:
        case system_op::csrrci: return true;
        default: return false;
    }
}

/// Decodes a 32-bit SYSTEM instruction; anything else gives `system_op::unknown`.
[[nodiscard]] constexpr system_instruction decode_system(u32 i) noexcept {
    system_instruction out;
    if (insn::opcode(i) != opcode::system) return out;
    out.rd = insn::rd(i);
    out.rs1 = insn::rs1(i);
    out.rs2 = insn::rs2(i);
    switch (insn::funct3(i)) {
        case 1: out.op = system_op::csrrw; break;
        case 2: out.op = system_op::csrrs; break;
        case 3: out.op = system_op::csrrc; break;
        case 4: {
            // HLV/HLVX/HSV (H ext. 9.3.1): funct7 = 0110 ww s, ww = log2(width), s = store;
            // loads: rs2 = 0 signed, 1 unsigned, 3 HLVX (halfword and word only).
            const u32 f7 = insn::funct7(i);
            if ((f7 & 0x78) != 0x30) return out;
            if ((f7 & 1) != 0) {
                if (out.rd == 0) out.op = system_op::hypervisor_store;
                return out;
            }
            const u32 log_width = (f7 >> 1) & 3;
            const bool valid = out.rs2 == 0 || (out.rs2 == 1 && log_width != 3) ||
                               (out.rs2 == 3 && (log_width == 1 || log_width == 2));
            if (valid) out.op = system_op::hypervisor_load;
            return out;
        }
        case 5: out.op = system_op::csrrwi; break;
        case 6: out.op = system_op::csrrsi; break;
        case 7: out.op = system_op::csrrci; break;
        case 0: {
            // Privileged instructions: rd must be x0 (priv. spec 2.2 encodings).
            if (out.rd != 0) return out;
            switch (insn::funct7(i)) {
                case 0x09: out.op = system_op::sfence_vma; return out;
                case 0x11: out.op = system_op::hfence_vvma; return out;
                case 0x31: out.op = system_op::hfence_gvma; return out;
                case 0x0b: out.op = system_op::sinval_vma; return out;
                case 0x13: out.op = system_op::hinval_vvma; return out;
                case 0x33: out.op = system_op::hinval_gvma; return out;
                default: break;
            }
            if (out.rs1 != 0) return out;
            switch (i >> 20) {
                case 0x000: out.op = system_op::ecall; break;
                case 0x001: out.op = system_op::ebreak; break;
                case 0x102: out.op = system_op::sret; break;
                case 0x302: out.op = system_op::mret; break;
                case 0x105: out.op = system_op::wfi; break;
                case 0x180: out.op = system_op::sfence_w_inval; break;
                case 0x181: out.op = system_op::sfence_inval_ir; break;
                default: break;
            }
            return out;
        }
        default: return out;
    }
    out.csr = insn::csr(i);
    return out;
}

/// Width in bytes of an HLV/HLVX/HSV instruction (H ext. 9.3.1).
[[nodiscard]] constexpr unsigned hypervisor_access_width(u32 i) noexcept { return 1u << ((insn::funct7(i) >> 1) & 3); }

/// A decoded load or store (integer or floating point).
struct memory_access {
    bool is_store = false;
    bool is_float = false;     ///< FLW/FLD/FSW/FSD and their compressed forms
    bool sign_extend = false;  ///< loads only: LB, LH, LW (and C.LW, C.LWSP, C.LH)
    u8 width = 0;              ///< bytes: 1, 2, 4 or 8
    u8 data_reg = 0;           ///< rd of a load, rs2 of a store (an f register when is_float)
    u8 base_reg = 0;           ///< rs1
    u8 length = 0;             ///< instruction length in bytes: 2 or 4
    i64 offset = 0;            ///< sign-extended immediate
};

namespace detail_decode {
[[nodiscard]] constexpr u32 cbits(u32 i, unsigned msb, unsigned lsb) noexcept {
    return static_cast<u32>(bits::extract(i, msb, lsb));
}
/// rd'/rs1'/rs2' of the compressed formats: x8..x15.
[[nodiscard]] constexpr u8 creg(u32 three_bits) noexcept { return static_cast<u8>(8 + (three_bits & 7)); }
}  // namespace detail_decode

/// Decodes a load or store, 32-bit or compressed (RV64C, Zcb). Returns false
/// for anything else (including vector loads and reserved encodings).
[[nodiscard]] constexpr bool decode_memory_access(u32 i, memory_access& out) noexcept {
    using detail_decode::cbits;
    using detail_decode::creg;
    out = memory_access{};
    if ((i & 3) == 3) {
        out.length = 4;
        const u32 f3 = insn::funct3(i);
        switch (insn::opcode(i)) {
            case opcode::load:
                if (f3 == 7) return false;
                out.width = static_cast<u8>(1u << (f3 & 3));
                out.sign_extend = f3 < 4 && f3 != 3;
                out.data_reg = insn::rd(i);
                out.base_reg = insn::rs1(i);
                out.offset = insn::i_immediate(i);
                return true;
            case opcode::load_fp:
                if (f3 != 2 && f3 != 3) return false;
                out.is_float = true;
                out.width = f3 == 2 ? 4 : 8;
                out.data_reg = insn::rd(i);
                out.base_reg = insn::rs1(i);
                out.offset = insn::i_immediate(i);
                return true;
            case opcode::store:
                if (f3 > 3) return false;
                out.is_store = true;
                out.width = static_cast<u8>(1u << f3);
                out.data_reg = insn::rs2(i);
                out.base_reg = insn::rs1(i);
                out.offset = insn::s_immediate(i);
                return true;
            case opcode::store_fp:
                if (f3 != 2 && f3 != 3) return false;
                out.is_store = true;
                out.is_float = true;
                out.width = f3 == 2 ? 4 : 8;
                out.data_reg = insn::rs2(i);
                out.base_reg = insn::rs1(i);
                out.offset = insn::s_immediate(i);
                return true;
            default: return false;
        }
    }
    // A table of the compressed encodings, one line each:
    // clang-format off
    i &= 0xffff;
    out.length = 2;
    const u32 quadrant = i & 3;
    const u32 f3 = cbits(i, 15, 13);
    if (quadrant == 0) {
        out.base_reg = creg(cbits(i, 9, 7));
        out.data_reg = creg(cbits(i, 4, 2));
        // C.LW / C.SW: uimm[5:3] = [12:10], uimm[2] = [6], uimm[6] = [5].
        const u32 word_offset = (cbits(i, 12, 10) << 3) | (cbits(i, 6, 6) << 2) | (cbits(i, 5, 5) << 6);
        // C.LD / C.SD / C.FLD / C.FSD: uimm[5:3] = [12:10], uimm[7:6] = [6:5].
        const u32 dword_offset = (cbits(i, 12, 10) << 3) | (cbits(i, 6, 5) << 6);
        switch (f3) {
            case 1: out.is_float = true; out.width = 8; out.offset = dword_offset; return true;  // C.FLD
            case 2: out.width = 4; out.sign_extend = true; out.offset = word_offset; return true;  // C.LW
            case 3: out.width = 8; out.offset = dword_offset; return true;                         // C.LD
            case 5: out.is_store = out.is_float = true; out.width = 8; out.offset = dword_offset; return true;  // C.FSD
            case 6: out.is_store = true; out.width = 4; out.offset = word_offset; return true;     // C.SW
            case 7: out.is_store = true; out.width = 8; out.offset = dword_offset; return true;    // C.SD
            case 4: {
                // Zcb: c.lbu / c.lhu / c.lh / c.sb / c.sh, selected by [12:10] and [6].
                const u32 sub = cbits(i, 12, 10);
                const u32 b6 = cbits(i, 6, 6);
                const u32 b5 = cbits(i, 5, 5);
                switch (sub) {
                    case 0: out.width = 1; out.offset = (b5 << 1) | b6; return true;  // c.lbu
                    case 1: out.width = 2; out.sign_extend = b6 != 0; out.offset = b5 << 1; return true;  // c.lh(u)
                    case 2: out.is_store = true; out.width = 1; out.offset = (b5 << 1) | b6; return true;  // c.sb
                    case 3:
                        if (b6 != 0) return false;
                        out.is_store = true; out.width = 2; out.offset = b5 << 1; return true;  // c.sh
                    default: return false;
                }
            }
            default: return false;
        }
    }
    if (quadrant == 2) {
        out.base_reg = 2;  // sp
        const u8 rd = static_cast<u8>(cbits(i, 11, 7));
        const u8 rs2 = static_cast<u8>(cbits(i, 6, 2));
        switch (f3) {
            case 1:  // C.FLDSP: uimm[5] = [12], uimm[4:3] = [6:5], uimm[8:6] = [4:2]
                out.is_float = true; out.width = 8; out.data_reg = rd;
                out.offset = (cbits(i, 12, 12) << 5) | (cbits(i, 6, 5) << 3) | (cbits(i, 4, 2) << 6);
                return true;
            case 2:  // C.LWSP: uimm[5] = [12], uimm[4:2] = [6:4], uimm[7:6] = [3:2]; rd != 0
                if (rd == 0) return false;
                out.width = 4; out.sign_extend = true; out.data_reg = rd;
                out.offset = (cbits(i, 12, 12) << 5) | (cbits(i, 6, 4) << 2) | (cbits(i, 3, 2) << 6);
                return true;
            case 3:  // C.LDSP: uimm[5] = [12], uimm[4:3] = [6:5], uimm[8:6] = [4:2]; rd != 0
                if (rd == 0) return false;
                out.width = 8; out.data_reg = rd;
                out.offset = (cbits(i, 12, 12) << 5) | (cbits(i, 6, 5) << 3) | (cbits(i, 4, 2) << 6);
                return true;
            case 5:  // C.FSDSP: uimm[5:3] = [12:10], uimm[8:6] = [9:7]
                out.is_store = out.is_float = true; out.width = 8; out.data_reg = rs2;
                out.offset = (cbits(i, 12, 10) << 3) | (cbits(i, 9, 7) << 6);
                return true;
            case 6:  // C.SWSP: uimm[5:2] = [12:9], uimm[7:6] = [8:7]
                out.is_store = true; out.width = 4; out.data_reg = rs2;
                out.offset = (cbits(i, 12, 9) << 2) | (cbits(i, 8, 7) << 6);
                return true;
            case 7:  // C.SDSP: uimm[5:3] = [12:10], uimm[8:6] = [9:7]
                out.is_store = true; out.width = 8; out.data_reg = rs2;
                out.offset = (cbits(i, 12, 10) << 3) | (cbits(i, 9, 7) << 6);
                return true;
            default: return false;
        }
    }
    return false;
    // clang-format on
}

/// An LR, SC or AMO (unpriv. spec 8.2-8.4, RV64A).
struct atomic_access {
    enum class kind : u8 { load_reserved, store_conditional, amo };
    kind op = kind::amo;
    u8 funct5 = 0;  ///< the AMO's operation (the values of vfm::amo_op)
    u8 width = 0;   ///< 4 (.w) or 8 (.d)
    u8 rd = 0;
    u8 rs1 = 0;  ///< the address
    u8 rs2 = 0;  ///< the operand (SC: the value)
    bool aq = false;
    bool rl = false;
};

/// Decodes LR.W/D, SC.W/D and the AMOs of RV64A. False for anything else,
/// including LR with rs2 != 0 and funct5 values RV64A does not define.
[[nodiscard]] constexpr bool decode_atomic(u32 i, atomic_access& out) noexcept {
    out = atomic_access{};
    if ((i & 3) != 3 || insn::opcode(i) != opcode::amo) return false;
    const u32 f3 = insn::funct3(i);
    if (f3 != 2 && f3 != 3) return false;
    out.width = f3 == 2 ? 4 : 8;
    out.funct5 = static_cast<u8>(i >> 27);
    out.aq = ((i >> 26) & 1) != 0;
    out.rl = ((i >> 25) & 1) != 0;
    out.rd = insn::rd(i);
    out.rs1 = insn::rs1(i);
    out.rs2 = insn::rs2(i);
    switch (out.funct5) {
        case 0x02: out.op = atomic_access::kind::load_reserved; return out.rs2 == 0;
        case 0x03: out.op = atomic_access::kind::store_conditional; return true;
        case 0x00:
        case 0x01:
        case 0x04:
        case 0x08:
        case 0x0c:
        case 0x10:
        case 0x14:
        case 0x18:
        case 0x1c: out.op = atomic_access::kind::amo; return true;
        default: return false;
    }
}

}  // namespace vfm::riscv
