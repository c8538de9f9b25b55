// SPDX-License-Identifier: MIT
/// Memory instructions as probes, assembled at run time: any load, store,
/// AMO, LR/SC, floating-point load or store (also compressed and sp-based)
/// or hypervisor load/store (HLV, HLVX, HSV), run once with mstatus chosen
/// for exactly that instruction (MPRV, MPP, MPV, SUM, MXR, FS), in M-mode.
///
/// The instruction is written into a slot of RAM with its operands in fixed
/// registers (rd = a0 or fa0, rs1 = a1 or sp, rs2 = a2 or fa0), preceded and
/// followed by register moves (and, for HLV/HSV, by CSR accesses that trap
/// under a monitor: see `op::csr_before`), and run by lib/access.S with the
/// hart armed for one expected exception (trap.hpp): a trap is recorded and
/// skipped like any probe's.
///
/// Encodings: unprivileged spec 2.6 (loads, stores), 8.2-8.4 (A), 11.5 and
/// 12.4 (F, D loads and stores, fmv), 16.3-16.5 (C); priv. 8.3.1 (HLV,
/// HLVX, HSV).
#pragma once

#include "testfw/trap.hpp"

namespace testfw::access {

/// What an instruction does to memory.
enum class kind : u8 {
    load,    ///< reads (loads, FP loads, HLV, HLVX)
    store,   ///< writes (stores, FP stores, HSV)
    amo,     ///< reads and writes (AMOs)
    lr,      ///< load-reserved
    sc,      ///< store-conditional (rd = 0 on success)
    lr_sc,   ///< lr then sc on the same address, nothing in between
};

/// AMO functions (funct5, unpriv. 8.4).
enum class amo_fn : u8 {
    add = 0x00,
    swap = 0x01,
    lr = 0x02,
    sc = 0x03,
    xor_ = 0x04,
    or_ = 0x08,
    and_ = 0x0c,
    min = 0x10,
    max = 0x14,
    minu = 0x18,
    maxu = 0x1c,
};

/// One instruction form.
struct op {
    const char* name = "";
    kind what = kind::load;
    u8 width = 8;              ///< bytes accessed
    bool sign_extends = true;  ///< a load: the result is sign-extended (else zero-extended)
    bool fp = false;           ///< F/D: data in fa0 (moved from/to a0/a2 around the access)
    bool compressed = false;   ///< a 16-bit encoding
    bool sp_based = false;     ///< rs1 is sp (c.ldsp, c.sdsp, c.fldsp, c.fsdsp)
    bool hypervisor = false;   ///< HLV/HLVX/HSV
    bool execute = false;      ///< HLVX: the access needs execute permission
    amo_fn function = amo_fn::swap;
    u32 bits = 0;              ///< the encoding (16 or 32 bits)
};

/// Register numbers of the slot's convention.
inline constexpr u32 reg_a0 = 10, reg_a1 = 11, reg_a2 = 12, reg_t3 = 28, reg_sp = 2, reg_fa0 = 10;

namespace encode {
[[nodiscard]] constexpr u32 i_type(u32 opcode, u32 funct3, u32 rd, u32 rs1, u32 imm = 0) noexcept {
    return ((imm & 0xfff) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode;
}
[[nodiscard]] constexpr u32 s_type(u32 opcode, u32 funct3, u32 rs1, u32 rs2, u32 imm = 0) noexcept {
    return (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | ((imm & 0x1f) << 7) | opcode;
}
[[nodiscard]] constexpr u32 r_type(u32 opcode, u32 funct7, u32 funct3, u32 rd, u32 rs1, u32 rs2) noexcept {
    return (funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode;
}
/// width 4 (.w) or 8 (.d).
[[nodiscard]] constexpr u32 amo(amo_fn f, unsigned width, u32 rd, u32 rs1, u32 rs2) noexcept {
    return r_type(0x2f, static_cast<u32>(f) << 2, width == 8 ? 3 : 2, rd, rs1, rs2);
}
/// lb lh lw ld lbu lhu lwu: funct3 = log2(width) + (unsigned ? 4 : 0).
[[nodiscard]] constexpr u32 load(unsigned width, bool sign, u32 rd, u32 rs1) noexcept {
    const u32 log = width == 1 ? 0 : width == 2 ? 1 : width == 4 ? 2 : 3;
    return i_type(0x03, log + (sign ? 0 : 4), rd, rs1);
}
[[nodiscard]] constexpr u32 store(unsigned width, u32 rs1, u32 rs2) noexcept {
    const u32 log = width == 1 ? 0 : width == 2 ? 1 : width == 4 ? 2 : 3;
    return s_type(0x23, log, rs1, rs2);
}
[[nodiscard]] constexpr u32 fp_load(unsigned width, u32 frd, u32 rs1) noexcept {
    return i_type(0x07, width == 8 ? 3 : 2, frd, rs1);
}
[[nodiscard]] constexpr u32 fp_store(unsigned width, u32 rs1, u32 frs2) noexcept {
    return s_type(0x27, width == 8 ? 3 : 2, rs1, frs2);
}
/// fmv.x.w / fmv.x.d rd, frs1 and fmv.w.x / fmv.d.x frd, rs1 (unpriv. 11.7, 12.7).
[[nodiscard]] constexpr u32 fmv_x_f(unsigned width, u32 rd, u32 frs1) noexcept {
    return r_type(0x53, width == 8 ? 0x71 : 0x70, 0, rd, frs1, 0);
}
[[nodiscard]] constexpr u32 fmv_f_x(unsigned width, u32 frd, u32 rs1) noexcept {
    return r_type(0x53, width == 8 ? 0x79 : 0x78, 0, frd, rs1, 0);
}
/// HLV.{B,BU,H,HU,W,WU,D}, HLVX.{HU,WU}: funct7 = 0x30 + 2 log2(width), rs2 = 0 (signed),
/// 1 (unsigned), 3 (HLVX). HSV.{B,H,W,D}: funct7 = 0x31 + 2 log2(width), rd = 0.
[[nodiscard]] constexpr u32 hlv(unsigned width, u32 variant, u32 rd, u32 rs1) noexcept {
    const u32 log = width == 1 ? 0 : width == 2 ? 1 : width == 4 ? 2 : 3;
    return r_type(0x73, 0x30 + 2 * log, 4, rd, rs1, variant);
}
[[nodiscard]] constexpr u32 hsv(unsigned width, u32 rs1, u32 rs2) noexcept {
    const u32 log = width == 1 ? 0 : width == 2 ? 1 : width == 4 ? 2 : 3;
    return r_type(0x73, 0x31 + 2 * log, 4, 0, rs1, rs2);
}
/// csrrs rd, csr, x0 and csrrw x0, csr, rs1.
[[nodiscard]] constexpr u32 csrr(u32 rd, u32 number) noexcept { return i_type(0x73, 2, rd, 0, number); }
[[nodiscard]] constexpr u32 csrw(u32 number, u32 rs1) noexcept { return i_type(0x73, 1, 0, rs1, number); }
/// addi rd, rs1, 0.
[[nodiscard]] constexpr u32 mv(u32 rd, u32 rs1) noexcept { return i_type(0x13, 0, rd, rs1); }
inline constexpr u32 ret = 0x0000'8067;  ///< jalr x0, 0(ra)
inline constexpr u16 c_nop = 0x0001;
}  // namespace encode

/// Instruction forms with the slot's registers.
[[nodiscard]] op load(unsigned width, bool sign = true) noexcept;
[[nodiscard]] op store(unsigned width) noexcept;
[[nodiscard]] op amo(amo_fn f, unsigned width) noexcept;
[[nodiscard]] op lr(unsigned width) noexcept;
[[nodiscard]] op sc(unsigned width) noexcept;
[[nodiscard]] op lr_sc(unsigned width) noexcept;
[[nodiscard]] op fp_load(unsigned width) noexcept;
[[nodiscard]] op fp_store(unsigned width) noexcept;
/// c.lw c.ld c.sw c.sd (rs1 = a1), c.ldsp c.sdsp (sp), c.fld c.fsd (rs1 = a1), c.fldsp c.fsdsp (sp).
[[nodiscard]] op c_load(unsigned width) noexcept;
[[nodiscard]] op c_store(unsigned width) noexcept;
[[nodiscard]] op c_ldsp() noexcept;
[[nodiscard]] op c_sdsp() noexcept;
[[nodiscard]] op c_fld() noexcept;
[[nodiscard]] op c_fsd() noexcept;
[[nodiscard]] op c_fldsp() noexcept;
[[nodiscard]] op c_fsdsp() noexcept;
/// hlv.b/bu/h/hu/w/wu/d (variant 0 signed, 1 unsigned), hlvx.hu/wu, hsv.b/h/w/d.
[[nodiscard]] op hlv(unsigned width, bool sign) noexcept;
[[nodiscard]] op hlvx(unsigned width) noexcept;
[[nodiscard]] op hsv(unsigned width) noexcept;

/// One trap the sequence raised (taken in M-mode: an M-mode access never traps lower).
struct trap {
    u64 cause = 0;
    u64 epc = 0;
    u64 tval = 0;
    u64 tval2 = 0;   ///< mtval2 (with H only)
    u64 tinst = 0;   ///< mtinst (with H only)
    u64 status = 0;  ///< mstatus right after the trap (MPV, GVA)
};

/// What one run produced.
struct result {
    unsigned traps = 0;  ///< exceptions raised (each was skipped)
    trap first;          ///< the first of them (the access itself)
    trap second_trap;    ///< the second (lr_sc: the sc)
    u64 site = 0;        ///< the address of the access instruction
    u64 value = 0;       ///< a0 after the sequence (the loaded value, the AMO's old value, lr's value, sc's code)
    u64 second = 0;      ///< t3 after the sequence (lr_sc: sc's code)
};

/// Second sentinel (t3 before the sequence).
inline constexpr u64 second_sentinel = 0x6b6b'6b6b'6b6b'6b6b;

/// Extra instructions before the access: CSR accesses that trap under a
/// monitor and leave their bits in mtval (docs/attacks.md, attack-hlv).
enum class preamble : u8 { none, csr_accesses };

/// Runs `o` once: a1 = address, a2 (or fa0) = value, mstatus = `status` from
/// just before the access to just after it. Every exception the sequence
/// raises is recorded and skipped (its instruction by its length); others go
/// to the hart's handlers as usual.
[[nodiscard]] result run(const op& o, u64 address, u64 value, u64 status, preamble pre = preamble::none) noexcept;

/// The current mstatus with MPRV set, MPP = `mpp` (0 U, 1 S, 3 M), and SUM, MXR, MPV as given.
[[nodiscard]] u64 mprv_status(unsigned mpp, bool sum = false, bool mxr = false, bool mpv = false) noexcept;
/// The current mstatus with SUM and MXR as given (HLV/HSV, which need no MPRV).
[[nodiscard]] u64 plain_status(bool sum = false, bool mxr = false) noexcept;

/// Whether the hart has the H extension (misa.H): mtval2 and mtinst are then
/// recorded with each trap.
[[nodiscard]] bool has_h() noexcept;

/// Turns the FPU on (mstatus.FS = Initial) so that FP loads and stores do not
/// raise illegal instruction.
void enable_fp() noexcept;

}  // namespace testfw::access
