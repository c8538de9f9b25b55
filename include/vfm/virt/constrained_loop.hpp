// SPDX-License-Identifier: MIT
/// The body of a constrained LR/SC loop (unpriv. spec 8.3), run in the monitor.
///
/// When the monitor performs an LR for the firmware (under virtual MPRV, or
/// on the CLINT it emulates), the hart holds no reservation of its own: the
/// firmware's SC, executed by the hart, would fail at once without even
/// trapping (QEMU 7.2 does so), and a retry loop would never end. The spec
/// promises such a loop eventual success when it is *constrained*: at most 16
/// instructions, and between the LR and the SC only base integer instructions
/// that are not loads, stores, backward jumps, taken backward branches,
/// JALR, FENCE or SYSTEM. So the monitor runs that code itself, one
/// instruction at a time, up to the SC, which it then emulates against the
/// reservation of the LR. Anything else stops the run where it is: the
/// firmware goes on natively, and its SC fails, as the spec allows for an
/// unconstrained sequence.
#pragma once

#include <vfm/detail/bits.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/riscv/instruction.hpp>
#include <vfm/virt/hart.hpp>

namespace vfm::virt {

/// What one instruction of a constrained loop's body did.
struct constrained_step {
    enum class kind : u8 {
        executed,           ///< performed: registers updated, `next` is the new pc
        store_conditional,  ///< the SC that ends the body (not performed)
        stop,               ///< not allowed in a constrained loop: nothing changed
    };
    kind result = kind::stop;
    u64 next = 0;
};

namespace detail_constrained {

[[nodiscard]] constexpr u64 sext(u64 value, unsigned width) noexcept { return bits::sign_extend(value, width); }
[[nodiscard]] constexpr u64 bit(u32 i, unsigned n) noexcept { return (i >> n) & 1; }
[[nodiscard]] constexpr u64 field(u32 i, unsigned msb, unsigned lsb) noexcept { return bits::extract(i, msb, lsb); }

/// OP and OP-IMM's results (RV64I; `word` for the 32-bit forms, sign-extended).
[[nodiscard]] constexpr bool alu(u32 funct3, bool alternate, u64 a, u64 b, bool word, u64& out) noexcept {
    const unsigned shift = static_cast<unsigned>(b & (word ? 31 : 63));
    switch (funct3) {
        case 0: out = alternate ? a - b : a + b; break;
        case 1: out = word ? static_cast<u64>(static_cast<u32>(a) << shift) : a << shift; break;
        case 2:
            if (word) return false;
            out = static_cast<i64>(a) < static_cast<i64>(b) ? 1 : 0;
            break;
        case 3:
            if (word) return false;
            out = a < b ? 1 : 0;
            break;
        case 4:
            if (word) return false;
            out = a ^ b;
            break;
        case 5:
            if (word)
                out = alternate ? static_cast<u64>(static_cast<i64>(static_cast<i32>(a)) >> shift)
                                : static_cast<u64>(static_cast<u32>(a) >> shift);
            else
                out = alternate ? static_cast<u64>(static_cast<i64>(a) >> shift) : a >> shift;
            break;
        case 6:
            if (word) return false;
            out = a | b;
            break;
        case 7:
            if (word) return false;
            out = a & b;
            break;
        default: return false;
    }
    if (word) out = sext(out & 0xffff'ffffu, 32);
    return true;
}

[[nodiscard]] constexpr bool branch_taken(u32 funct3, u64 a, u64 b, bool& taken) noexcept {
    switch (funct3) {
        case 0: taken = a == b; return true;
        case 1: taken = a != b; return true;
        case 4: taken = static_cast<i64>(a) < static_cast<i64>(b); return true;
        case 5: taken = static_cast<i64>(a) >= static_cast<i64>(b); return true;
        case 6: taken = a < b; return true;
        case 7: taken = a >= b; return true;
        default: return false;
    }
}

}  // namespace detail_constrained

/// Runs the instruction `bits` at `pc` of a constrained loop's body on the
/// registers of `h` (x0 stays zero), or says it is the SC, or that it may not
/// appear there.
[[nodiscard]] constexpr constrained_step step_constrained(u32 bits, u64 pc, hart& h) noexcept {
    using namespace detail_constrained;
    using kind = constrained_step::kind;
    constrained_step out;
    auto done = [&](u64 next) {
        out.result = kind::executed;
        out.next = next;
        return out;
    };
    auto forward = [&](u64 offset, bool taken, unsigned length) {
        // Only forward jumps and not-taken (or forward) branches (unpriv. 8.3).
        if (!taken) return done(pc + length);
        if (static_cast<i64>(offset) <= 0) return out;
        return done(pc + offset);
    };
    if ((bits & 3) == 3) {
        const u8 rd = riscv::insn::rd(bits);
        const u8 rs1 = riscv::insn::rs1(bits);
        const u8 rs2 = riscv::insn::rs2(bits);
        const u32 f3 = riscv::insn::funct3(bits);
        const u32 f7 = riscv::insn::funct7(bits);
        u64 value = 0;
        switch (riscv::insn::opcode(bits)) {
            case 0x13:    // OP-IMM
            case 0x1b: {  // OP-IMM-32
                const bool word = riscv::insn::opcode(bits) == 0x1b;
                const u64 imm = static_cast<u64>(riscv::insn::i_immediate(bits));
                bool alternate = false;
                if (f3 == 1 || f3 == 5) {
                    const u64 high = field(bits, 31, word ? 25 : 26);  // funct7 / funct6 above the shift amount
                    alternate = high == (word ? 0x20u : 0x10u);
                    if (high != 0 && !alternate) return out;
                    if (f3 == 1 && alternate) return out;
                }
                if (!alu(f3, alternate && f3 == 5, h.reg(rs1), f3 == 1 || f3 == 5 ? field(bits, 25, 20) : imm, word,
                         value))
                    return out;
                h.set_reg(rd, value);
                return done(pc + 4);
            }
            case 0x33:    // OP
            case 0x3b: {  // OP-32
                const bool word = riscv::insn::opcode(bits) == 0x3b;
                if (f7 != 0 && f7 != 0x20) return out;  // M and other extensions are not base I
                const bool alternate = f7 == 0x20;
                if (alternate && f3 != 0 && f3 != 5) return out;
                if (!alu(f3, alternate, h.reg(rs1), h.reg(rs2), word, value)) return out;
                h.set_reg(rd, value);
                return done(pc + 4);
            }
            case 0x37: h.set_reg(rd, sext(bits & 0xffff'f000u, 32)); return done(pc + 4);       // LUI
            case 0x17: h.set_reg(rd, pc + sext(bits & 0xffff'f000u, 32)); return done(pc + 4);  // AUIPC
            case 0x63: {  // BRANCH: imm[12|10:5] = [31|30:25], imm[4:1|11] = [11:8|7]
                const u64 offset = sext((bit(bits, 31) << 12) | (field(bits, 30, 25) << 5) | (field(bits, 11, 8) << 1) |
                                            (bit(bits, 7) << 11),
                                        13);
                bool taken = false;
                if (!branch_taken(f3, h.reg(rs1), h.reg(rs2), taken)) return out;
                return forward(offset, taken, 4);
            }
            case 0x6f: {  // JAL: imm[20|10:1|11|19:12] = [31|30:21|20|19:12]
                const u64 offset = sext((bit(bits, 31) << 20) | (field(bits, 30, 21) << 1) | (bit(bits, 20) << 11) |
                                            (field(bits, 19, 12) << 12),
                                        21);
                if (static_cast<i64>(offset) <= 0) return out;
                h.set_reg(rd, pc + 4);
                return done(pc + offset);
            }
            case riscv::opcode::amo:
                if ((f3 == 2 || f3 == 3) && (bits >> 27) == 0x03) out.result = kind::store_conditional;
                return out;
            default: return out;
        }
    }
    // RVC (unpriv. spec 16): the integer forms of the list above.
    const u32 c = bits & 0xffff;
    const u32 f3 = static_cast<u32>(field(c, 15, 13));
    const u8 rd = static_cast<u8>(field(c, 11, 7));
    const u8 rd_short = static_cast<u8>(8 + field(c, 9, 7));
    const u64 imm6 = sext((bit(c, 12) << 5) | field(c, 6, 2), 6);
    switch (c & 3) {
        case 0:
            if (f3 != 0 || c == 0) return out;  // loads and stores; the all-zero halfword is illegal
            {                                   // C.ADDI4SPN: nzuimm[5:4|9:6|2|3] = [12:11|10:7|6|5]
                const u64 imm = (field(c, 12, 11) << 4) | (field(c, 10, 7) << 6) | (bit(c, 6) << 2) | (bit(c, 5) << 3);
                if (imm == 0) return out;
                h.set_reg(static_cast<u8>(8 + field(c, 4, 2)), h.reg(2) + imm);
                return done(pc + 2);
            }
        case 1:
            switch (f3) {
                case 0: h.set_reg(rd, h.reg(rd) + imm6); return done(pc + 2);  // C.ADDI (C.NOP)
                case 1:                                                        // C.ADDIW
                    if (rd == 0) return out;
                    h.set_reg(rd, sext((h.reg(rd) + imm6) & 0xffff'ffffu, 32));
                    return done(pc + 2);
                case 2: h.set_reg(rd, imm6); return done(pc + 2);  // C.LI
                case 3:
                    if (rd == 2) {  // C.ADDI16SP: nzimm[9|4|6|8:7|5] = [12|6|5|4:3|2]
                        const u64 imm = sext((bit(c, 12) << 9) | (bit(c, 6) << 4) | (bit(c, 5) << 6) |
                                                 (field(c, 4, 3) << 7) | (bit(c, 2) << 5),
                                             10);
                        if (imm == 0) return out;
                        h.set_reg(2, h.reg(2) + imm);
                        return done(pc + 2);
                    }
                    if (imm6 == 0) return out;
                    h.set_reg(rd, sext(imm6 << 12, 18));  // C.LUI
                    return done(pc + 2);
                case 4: {
                    const u64 a = h.reg(rd_short);
                    const u64 shamt = (bit(c, 12) << 5) | field(c, 6, 2);
                    switch (field(c, 11, 10)) {
                        case 0: h.set_reg(rd_short, a >> shamt); return done(pc + 2);  // C.SRLI
                        case 1:
                            h.set_reg(rd_short, static_cast<u64>(static_cast<i64>(a) >> shamt));
                            return done(pc + 2);                                     // C.SRAI
                        case 2: h.set_reg(rd_short, a & imm6); return done(pc + 2);  // C.ANDI
                        default: {
                            const u64 b = h.reg(static_cast<u8>(8 + field(c, 4, 2)));
                            const u64 op = field(c, 6, 5);
                            u64 value = 0;
                            if (bit(c, 12) == 0) {
                                constexpr u32 funct3_of[] = {0, 4, 6, 7};  // sub, xor, or, and
                                if (!alu(funct3_of[op], op == 0, a, b, false, value)) return out;
                            } else {
                                if (op > 1) return out;
                                if (!alu(0, op == 0, a, b, true, value)) return out;  // C.SUBW, C.ADDW
                            }
                            h.set_reg(rd_short, value);
                            return done(pc + 2);
                        }
                    }
                }
                case 5: {  // C.J: offset[11|4|9:8|10|6|7|3:1|5] = [12|11|10:9|8|7|6|5:3|2]
                    const u64 offset =
                        sext((bit(c, 12) << 11) | (bit(c, 11) << 4) | (field(c, 10, 9) << 8) | (bit(c, 8) << 10) |
                                 (bit(c, 7) << 6) | (bit(c, 6) << 7) | (field(c, 5, 3) << 1) | (bit(c, 2) << 5),
                             12);
                    return forward(offset, true, 2);
                }
                default: {  // C.BEQZ, C.BNEZ: offset[8|4:3|7:6|2:1|5] = [12|11:10|6:5|4:3|2]
                    const u64 offset = sext((bit(c, 12) << 8) | (field(c, 11, 10) << 3) | (field(c, 6, 5) << 6) |
                                                (field(c, 4, 3) << 1) | (bit(c, 2) << 5),
                                            9);
                    const bool zero = h.reg(rd_short) == 0;
                    return forward(offset, f3 == 6 ? zero : !zero, 2);
                }
            }
        case 2: {
            const u8 rs2 = static_cast<u8>(field(c, 6, 2));
            if (f3 == 0) {  // C.SLLI
                h.set_reg(rd, h.reg(rd) << ((bit(c, 12) << 5) | rs2));
                return done(pc + 2);
            }
            if (f3 != 4 || rs2 == 0) return out;  // loads, stores, C.JR, C.JALR, C.EBREAK
            h.set_reg(rd, bit(c, 12) == 0 ? h.reg(rs2) : h.reg(rd) + h.reg(rs2));  // C.MV, C.ADD
            return done(pc + 2);
        }
        default: return out;
    }
}

}  // namespace vfm::virt
