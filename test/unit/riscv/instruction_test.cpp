// SPDX-License-Identifier: MIT
// Tests for vfm/riscv/instruction.hpp. The instruction words were produced by
// the GNU assembler 2.40 (riscv64-unknown-elf-as -march=rv64gc_h_svinval, then
// riscv64-unknown-elf-objdump -d -M no-aliases) and are written here as
// literals; invalid encodings were produced with `.insn`. binutils 2.40 has no
// Zcb, so the Zcb words are encoded by hand from the Zcb specification (v1.0,
// "c.lbu", "c.lhu", "c.lh", "c.sb", "c.sh"); the five `a5, 2(a4)` forms agree
// with the encodings in LLVM's MC tests for Zcb.
#include <vfm/riscv/instruction.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

#include "vfm_catch.hpp"

namespace {

namespace rv = vfm::riscv;
using rv::system_op;
using vfm::i64;
using vfm::u16;
using vfm::u32;
using vfm::u8;

// ---------------------------------------------------------------------------
// SYSTEM instructions

struct system_row {
    u32 word;
    const char* text;  // the assembler's disassembly
    system_op op;
    u8 rd;
    u8 rs1;  // uimm for the immediate CSR forms
    u8 rs2;  // compared for the fences only
    u16 csr;
    bool writes;  // writes_csr
    bool reads;   // reads_csr
};

/// CSR instructions (unpriv. spec 9.1, table 9.1 on side effects).
constexpr system_row csr_rows[] = {
    {0x30059573, "csrrw a0,mstatus,a1", system_op::csrrw, 10, 11, 0, 0x300, true, true},
    {0x34029073, "csrrw zero,mscratch,t0", system_op::csrrw, 0, 5, 0, 0x340, true, false},
    {0xb1ff9073, "csrrw zero,mhpmcounter31,t6", system_op::csrrw, 0, 31, 0, 0xb1f, true, false},
    {0xffff9ff3, "csrrw t6,0xfff,t6", system_op::csrrw, 31, 31, 0, 0xfff, true, true},
    {0x34102573, "csrrs a0,mepc,zero", system_op::csrrs, 10, 0, 0, 0x341, false, true},
    {0xc0002573, "csrrs a0,cycle,zero", system_op::csrrs, 10, 0, 0, 0xc00, false, true},
    {0x3447a373, "csrrs t1,mip,a5", system_op::csrrs, 6, 15, 0, 0x344, true, true},
    {0x3044b473, "csrrc s0,mie,s1", system_op::csrrc, 8, 9, 0, 0x304, true, true},
    {0x7a003673, "csrrc a2,tselect,zero", system_op::csrrc, 12, 0, 0, 0x7a0, false, true},
    {0x305fd573, "csrrwi a0,mtvec,31", system_op::csrrwi, 10, 31, 0, 0x305, true, true},
    {0x18005073, "csrrwi zero,satp,0", system_op::csrrwi, 0, 0, 0, 0x180, true, false},
    {0x100066f3, "csrrsi a3,sstatus,0", system_op::csrrsi, 13, 0, 0, 0x100, false, true},
    {0x30a8e773, "csrrsi a4,0x30a,17", system_op::csrrsi, 14, 17, 0, 0x30a, true, true},
    {0x342077f3, "csrrci a5,mcause,0", system_op::csrrci, 15, 0, 0, 0x342, false, true},
    {0x3a0470f3, "csrrci ra,pmpcfg0,8", system_op::csrrci, 1, 8, 0, 0x3a0, true, true},
};

/// Trap return, wfi, ecall/ebreak and the fences (priv. spec 3.3, 4.2.1;
/// H ext. 8.3.2; Svinval). `csr` is not set for these (0); rs1/rs2 are the
/// fences' operands.
constexpr system_row privileged_rows[] = {
    {0x30200073, "mret", system_op::mret, 0, 0, 0, 0, false, false},
    {0x10200073, "sret", system_op::sret, 0, 0, 0, 0, false, false},
    {0x10500073, "wfi", system_op::wfi, 0, 0, 0, 0, false, false},
    {0x00000073, "ecall", system_op::ecall, 0, 0, 0, 0, false, false},
    {0x00100073, "ebreak", system_op::ebreak, 0, 0, 0, 0, false, false},
    {0x12000073, "sfence.vma zero,zero", system_op::sfence_vma, 0, 0, 0, 0, false, false},
    {0x12050073, "sfence.vma a0,zero", system_op::sfence_vma, 0, 10, 0, 0, false, false},
    {0x12b50073, "sfence.vma a0,a1", system_op::sfence_vma, 0, 10, 11, 0, false, false},
    {0x12700073, "sfence.vma zero,t2", system_op::sfence_vma, 0, 0, 7, 0, false, false},
    {0x22000073, "hfence.vvma zero,zero", system_op::hfence_vvma, 0, 0, 0, 0, false, false},
    {0x22b50073, "hfence.vvma a0,a1", system_op::hfence_vvma, 0, 10, 11, 0, false, false},
    {0x62000073, "hfence.gvma zero,zero", system_op::hfence_gvma, 0, 0, 0, 0, false, false},
    {0x62628073, "hfence.gvma t0,t1", system_op::hfence_gvma, 0, 5, 6, 0, false, false},
    {0x16b50073, "sinval.vma a0,a1", system_op::sinval_vma, 0, 10, 11, 0, false, false},
    {0x18000073, "sfence.w.inval", system_op::sfence_w_inval, 0, 0, 0, 0, false, false},
    {0x18100073, "sfence.inval.ir", system_op::sfence_inval_ir, 0, 0, 0, 0, false, false},
    {0x26d60073, "hinval.vvma a2,a3", system_op::hinval_vvma, 0, 12, 13, 0, false, false},
    {0x66f70073, "hinval.gvma a4,a5", system_op::hinval_gvma, 0, 14, 15, 0, false, false},
};

/// Words that are not a SYSTEM instruction the monitor emulates.
struct unknown_row {
    u32 word;
    const char* text;
};
constexpr unknown_row unknown_system_rows[] = {
    {0x30200573, "mret with rd = a0 (.insn i 0x73, 0, a0, zero, 0x302)"},
    {0x30250073, "mret with rs1 = a0 (.insn i 0x73, 0, zero, a0, 0x302)"},
    {0x000000f3, "ecall with rd = ra (.insn i 0x73, 0, ra, zero, 0)"},
    {0x10528073, "wfi with rs1 = t0 (.insn i 0x73, 0, zero, t0, 0x105)"},
    {0x12c58573, "sfence.vma with rd = a0 (.insn r 0x73, 0, 0x09, a0, a1, a2)"},
    {0x7b200073, "dret (debug mode only)"},
    {0x70200073, "mnret (Smrnmi, not emulated)"},
    {0x00200073, "uret (removed N extension)"},
    {0xfe000073, "funct7 0x7f (.insn r 0x73, 0, 0x7f, zero, zero, zero)"},
    {0x6025c573, "funct3 4, funct7 0x30, rs2 2: no such hypervisor load"},
    {0x6235c573, "hlvx.bu does not exist (HLVX is halfword and word only)"},
    {0x6c15c573, "hlv.du does not exist on RV64"},
    {0x62c5c0f3, "hsv.b with rd != x0"},
    {0x00558513, "addi a0,a1,5: not SYSTEM"},
    {0x0005a503, "lw a0,0(a1): not SYSTEM"},
    {0x00000000, "all zeros"},
    {0x00009002, "c.ebreak: not a 32-bit SYSTEM word"},
};

const char* op_name(system_op op) {
    switch (op) {
        case system_op::unknown: return "unknown";
        case system_op::csrrw: return "csrrw";
        case system_op::csrrs: return "csrrs";
        case system_op::csrrc: return "csrrc";
        case system_op::csrrwi: return "csrrwi";
        case system_op::csrrsi: return "csrrsi";
        case system_op::csrrci: return "csrrci";
        case system_op::ecall: return "ecall";
        case system_op::ebreak: return "ebreak";
        case system_op::mret: return "mret";
        case system_op::sret: return "sret";
        case system_op::wfi: return "wfi";
        case system_op::sfence_vma: return "sfence.vma";
        case system_op::hfence_vvma: return "hfence.vvma";
        case system_op::hfence_gvma: return "hfence.gvma";
        case system_op::sinval_vma: return "sinval.vma";
        case system_op::hinval_vvma: return "hinval.vvma";
        case system_op::hinval_gvma: return "hinval.gvma";
        case system_op::sfence_w_inval: return "sfence.w.inval";
        case system_op::sfence_inval_ir: return "sfence.inval.ir";
        case system_op::hypervisor_load: return "hypervisor load";
        case system_op::hypervisor_store: return "hypervisor store";
    }
    return "?";
}

/// A readable summary of a decoded SYSTEM instruction, so that a failing CHECK
/// shows every field. `with_csr`: include the csr number (CSR ops only).
std::string describe(const char* text, system_op op, unsigned rd, unsigned rs1, unsigned rs2, unsigned csr,
                     bool with_operands, bool with_csr) {
    char out[160];
    if (with_csr)
        std::snprintf(out, sizeof out, "[%s] %s rd=%u rs1=%u csr=0x%03x", text, op_name(op), rd, rs1, csr);
    else if (with_operands)
        std::snprintf(out, sizeof out, "[%s] %s rd=%u rs1=%u rs2=%u", text, op_name(op), rd, rs1, rs2);
    else
        std::snprintf(out, sizeof out, "[%s] %s", text, op_name(op));
    return out;
}

/// "[text] writes reads" for the side effects of a CSR instruction.
std::string effects(const char* text, bool writes, bool reads) {
    return std::string("[") + text + "]" + (writes ? " writes" : " no-write") + (reads ? " reads" : " no-read");
}

/// The fences take rs1 (address) and rs2 (ASID / VMID) operands.
constexpr bool is_fence(system_op op) {
    return op == system_op::sfence_vma || op == system_op::hfence_vvma || op == system_op::hfence_gvma ||
           op == system_op::sinval_vma || op == system_op::hinval_vvma || op == system_op::hinval_gvma;
}

/// Compares what is meaningful for the row's kind: rd, rs1 (or uimm) and the
/// CSR number for CSR ops; rs1 and rs2 for fences; the op alone otherwise.
constexpr bool matches(const system_row& row) {
    const rv::system_instruction d = rv::decode_system(row.word);
    if (d.op != row.op || rv::writes_csr(d) != row.writes || rv::reads_csr(d) != row.reads) return false;
    if (rv::is_csr_op(row.op)) return d.rd == row.rd && d.rs1 == row.rs1 && d.csr == row.csr;
    if (is_fence(row.op)) return d.rs1 == row.rs1 && d.rs2 == row.rs2;
    return true;
}

constexpr bool all_csr_rows_decode() {
    for (const system_row& row : csr_rows)
        if (!matches(row)) return false;
    return true;
}
constexpr bool all_privileged_rows_decode() {
    for (const system_row& row : privileged_rows)
        if (!matches(row)) return false;
    return true;
}
constexpr bool all_unknown_rows_rejected() {
    for (const unknown_row& row : unknown_system_rows)
        if (rv::decode_system(row.word).op != system_op::unknown) return false;
    return true;
}

// ---------------------------------------------------------------------------
// Loads and stores

struct memory_row {
    u32 word;
    const char* text;
    bool is_store;
    bool is_float;
    bool sign_extend;
    u8 width;
    u8 data_reg;
    u8 base_reg;
    u8 length;
    i64 offset;
};

// Column order: store, float, sign-extend, width, data reg, base reg, length, offset.
constexpr bool ld = false, st = true, xr = false, fr = true, sx = true, zx = false;

/// 32-bit loads and stores (unpriv. spec 2.6, RV64I 5.3, F 11.5, D 12.3).
constexpr memory_row full_rows[] = {
    {0x00058503, "lb a0,0(a1)", ld, xr, sx, 1, 10, 11, 4, 0},
    {0xfff11283, "lh t0,-1(sp)", ld, xr, sx, 2, 5, 2, 4, -1},
    {0x7ff62483, "lw s1,2047(a2)", ld, xr, sx, 4, 9, 12, 4, 2047},
    {0x800fb083, "ld ra,-2048(t6)", ld, xr, zx, 8, 1, 31, 4, -2048},
    {0x00104683, "lbu a3,1(zero)", ld, xr, zx, 1, 13, 0, 4, 1},
    {0xffe7d703, "lhu a4,-2(a5)", ld, xr, zx, 2, 14, 15, 4, -2},
    {0x4d2def83, "lwu t6,1234(s11)", ld, xr, zx, 4, 31, 27, 4, 1234},
    {0x00a58023, "sb a0,0(a1)", st, xr, zx, 1, 10, 11, 4, 0},
    {0xfe511fa3, "sh t0,-1(sp)", st, xr, zx, 2, 5, 2, 4, -1},
    {0x7e962fa3, "sw s1,2047(a2)", st, xr, zx, 4, 9, 12, 4, 2047},
    {0x801fb023, "sd ra,-2048(t6)", st, xr, zx, 8, 1, 31, 4, -2048},
    {0x00013423, "sd zero,8(sp)", st, xr, zx, 8, 0, 2, 4, 8},
    {0x01052007, "flw ft0,16(a0)", ld, fr, zx, 4, 0, 10, 4, 16},
    {0xff813d87, "fld fs11,-8(sp)", ld, fr, zx, 8, 27, 2, 4, -8},
    {0x80a2a027, "fsw fa0,-2048(t0)", st, fr, zx, 4, 10, 5, 4, -2048},
    {0x7ff03fa7, "fsd ft11,2047(zero)", st, fr, zx, 8, 31, 0, 4, 2047},
};

/// RV64C loads and stores (unpriv. spec 16.3, 16.4), with minimum, maximum
/// and mixed offsets so that every immediate bit is exercised.
constexpr memory_row compressed_rows[] = {
    {0x4188, "c.lw a0,0(a1)", ld, xr, sx, 4, 10, 11, 2, 0},
    {0x5fe0, "c.lw s0,124(a5)", ld, xr, sx, 4, 8, 15, 2, 124},
    {0x405c, "c.lw a5,4(s0)", ld, xr, sx, 4, 15, 8, 2, 4},
    {0x422c, "c.lw a1,64(a2)", ld, xr, sx, 4, 11, 12, 2, 64},
    {0x40f0, "c.lw a2,68(s1)", ld, xr, sx, 4, 12, 9, 2, 68},
    {0x6188, "c.ld a0,0(a1)", ld, xr, zx, 8, 10, 11, 2, 0},
    {0x7fe0, "c.ld s0,248(a5)", ld, xr, zx, 8, 8, 15, 2, 248},
    {0x6714, "c.ld a3,8(a4)", ld, xr, zx, 8, 13, 14, 2, 8},
    {0x6024, "c.ld s1,64(s0)", ld, xr, zx, 8, 9, 8, 2, 64},
    {0x6558, "c.ld a4,136(a0)", ld, xr, zx, 8, 14, 10, 2, 136},
    {0xc188, "c.sw a0,0(a1)", st, xr, zx, 4, 10, 11, 2, 0},
    {0xdfe4, "c.sw s1,124(a5)", st, xr, zx, 4, 9, 15, 2, 124},
    {0xc05c, "c.sw a5,4(s0)", st, xr, zx, 4, 15, 8, 2, 4},
    {0xc734, "c.sw a3,72(a4)", st, xr, zx, 4, 13, 14, 2, 72},
    {0xe188, "c.sd a0,0(a1)", st, xr, zx, 8, 10, 11, 2, 0},
    {0xffe0, "c.sd s0,248(a5)", st, xr, zx, 8, 8, 15, 2, 248},
    {0xe2f0, "c.sd a2,192(a3)", st, xr, zx, 8, 12, 13, 2, 192},
    {0xf48c, "c.sd a1,40(s1)", st, xr, zx, 8, 11, 9, 2, 40},
    {0x2188, "c.fld fa0,0(a1)", ld, fr, zx, 8, 10, 11, 2, 0},
    {0x3fe0, "c.fld fs0,248(a5)", ld, fr, zx, 8, 8, 15, 2, 248},
    {0x243c, "c.fld fa5,72(s0)", ld, fr, zx, 8, 15, 8, 2, 72},
    {0xa188, "c.fsd fa0,0(a1)", st, fr, zx, 8, 10, 11, 2, 0},
    {0xbfe4, "c.fsd fs1,248(a5)", st, fr, zx, 8, 9, 15, 2, 248},
    {0xb350, "c.fsd fa2,160(a4)", st, fr, zx, 8, 12, 14, 2, 160},
    {0x4082, "c.lwsp ra,0(sp)", ld, xr, sx, 4, 1, 2, 2, 0},
    {0x5ffe, "c.lwsp t6,252(sp)", ld, xr, sx, 4, 31, 2, 2, 252},
    {0x5502, "c.lwsp a0,32(sp)", ld, xr, sx, 4, 10, 2, 2, 32},
    {0x491e, "c.lwsp s2,196(sp)", ld, xr, sx, 4, 18, 2, 2, 196},
    {0x58f2, "c.lwsp a7,60(sp)", ld, xr, sx, 4, 17, 2, 2, 60},
    {0x6082, "c.ldsp ra,0(sp)", ld, xr, zx, 8, 1, 2, 2, 0},
    {0x7ffe, "c.ldsp t6,504(sp)", ld, xr, zx, 8, 31, 2, 2, 504},
    {0x7502, "c.ldsp a0,32(sp)", ld, xr, zx, 8, 10, 2, 2, 32},
    {0x69b2, "c.ldsp s3,264(sp)", ld, xr, zx, 8, 19, 2, 2, 264},
    {0x6162, "c.ldsp sp,24(sp)", ld, xr, zx, 8, 2, 2, 2, 24},
    {0xc006, "c.swsp ra,0(sp)", st, xr, zx, 4, 1, 2, 2, 0},
    {0xdffe, "c.swsp t6,252(sp)", st, xr, zx, 4, 31, 2, 2, 252},
    {0xde02, "c.swsp zero,60(sp)", st, xr, zx, 4, 0, 2, 2, 60},
    {0xc3aa, "c.swsp a0,196(sp)", st, xr, zx, 4, 10, 2, 2, 196},
    {0xe006, "c.sdsp ra,0(sp)", st, xr, zx, 8, 1, 2, 2, 0},
    {0xfffe, "c.sdsp t6,504(sp)", st, xr, zx, 8, 31, 2, 2, 504},
    {0xe402, "c.sdsp zero,8(sp)", st, xr, zx, 8, 0, 2, 2, 8},
    {0xe652, "c.sdsp s4,264(sp)", st, xr, zx, 8, 20, 2, 2, 264},
    {0x2002, "c.fldsp ft0,0(sp)", ld, fr, zx, 8, 0, 2, 2, 0},
    {0x3ffe, "c.fldsp ft11,504(sp)", ld, fr, zx, 8, 31, 2, 2, 504},
    {0x2532, "c.fldsp fa0,264(sp)", ld, fr, zx, 8, 10, 2, 2, 264},
    {0xa002, "c.fsdsp ft0,0(sp)", st, fr, zx, 8, 0, 2, 2, 0},
    {0xbffe, "c.fsdsp ft11,504(sp)", st, fr, zx, 8, 31, 2, 2, 504},
    {0xa5d6, "c.fsdsp fs5,200(sp)", st, fr, zx, 8, 21, 2, 2, 200},
};

/// Zcb (hand-encoded, see the file comment): funct6 | rs1' | [6] [5] | rd'/rs2' | 00.
constexpr memory_row zcb_rows[] = {
    {0x833c, "c.lbu a5,2(a4)", ld, xr, zx, 1, 15, 14, 2, 2},
    {0x8080, "c.lbu s0,0(s1)", ld, xr, zx, 1, 8, 9, 2, 0},
    {0x80e0, "c.lbu s0,3(s1)", ld, xr, zx, 1, 8, 9, 2, 3},
    {0x83c8, "c.lbu a0,1(a5)", ld, xr, zx, 1, 10, 15, 2, 1},
    {0x873c, "c.lhu a5,2(a4)", ld, xr, zx, 2, 15, 14, 2, 2},
    {0x8504, "c.lhu s1,0(a0)", ld, xr, zx, 2, 9, 10, 2, 0},
    {0x877c, "c.lh a5,2(a4)", ld, xr, sx, 2, 15, 14, 2, 2},
    {0x86d0, "c.lh a2,0(a3)", ld, xr, sx, 2, 12, 13, 2, 0},
    {0x8b3c, "c.sb a5,2(a4)", st, xr, zx, 1, 15, 14, 2, 2},
    {0x89c8, "c.sb a0,1(a1)", st, xr, zx, 1, 10, 11, 2, 1},
    {0x8864, "c.sb s1,3(s0)", st, xr, zx, 1, 9, 8, 2, 3},
    {0x8f3c, "c.sh a5,2(a4)", st, xr, zx, 2, 15, 14, 2, 2},
    {0x8fa4, "c.sh s1,2(a5)", st, xr, zx, 2, 9, 15, 2, 2},
    {0x8c14, "c.sh a3,0(s0)", st, xr, zx, 2, 13, 8, 2, 0},
};

/// Words that are not a load or store the decoder accepts.
constexpr unknown_row not_memory_rows[] = {
    {0x02050087, "vle8.v v1,(a0): vector load"},
    {0x020500a7, "vse8.v v1,(a0): vector store"},
    {0x0005f503, "LOAD with funct3 7 (.insn i 0x03, 7, a0, a1, 0)"},
    {0x00a5c023, "STORE with funct3 4 (.insn s 0x23, 4, a0, 0(a1))"},
    {0x0ff0000f, "fence"},
    {0x00558513, "addi a0,a1,5"},
    {0x30200073, "mret"},
    {0x0000, "all zeros (defined illegal)"},
    {0x0048, "c.addi4spn a0,sp,4"},
    {0x0001, "c.nop"},
    {0x4505, "c.li a0,1"},
    {0x0506, "c.slli a0,1"},
    {0x852e, "c.mv a0,a1"},
    {0x9002, "c.ebreak"},
    {0x4002, "C.LWSP with rd = 0: reserved (.insn ci 2, 2, zero, 0)"},
    {0x6002, "C.LDSP with rd = 0: reserved (.insn ci 2, 3, zero, 0)"},
    {0x8f5c, "Zcb c.sh with bit 6 set: reserved"},
    {0x931c, "quadrant 0 funct6 100100: reserved"},
};

std::string describe(const char* text, const rv::memory_access& m) {
    char out[200];
    std::snprintf(out, sizeof out, "[%s] %s %s %s w%u data=%u base=%u len=%u off=%lld", text,
                  m.is_store ? "store" : "load", m.is_float ? "fp" : "int", m.sign_extend ? "sext" : "zext",
                  static_cast<unsigned>(m.width), static_cast<unsigned>(m.data_reg), static_cast<unsigned>(m.base_reg),
                  static_cast<unsigned>(m.length), static_cast<long long>(m.offset));
    return out;
}

rv::memory_access expected_access(const memory_row& row) {
    rv::memory_access m;
    m.is_store = row.is_store;
    m.is_float = row.is_float;
    m.sign_extend = row.sign_extend;
    m.width = row.width;
    m.data_reg = row.data_reg;
    m.base_reg = row.base_reg;
    m.length = row.length;
    m.offset = row.offset;
    return m;
}

constexpr bool decodes_as(const memory_row& row, u32 word) {
    rv::memory_access m;
    if (!rv::decode_memory_access(word, m)) return false;
    return m.is_store == row.is_store && m.is_float == row.is_float && m.sign_extend == row.sign_extend &&
           m.width == row.width && m.data_reg == row.data_reg && m.base_reg == row.base_reg &&
           m.length == row.length && m.offset == row.offset;
}

template <unsigned N>
constexpr bool all_decode(const memory_row (&rows)[N]) {
    for (const memory_row& row : rows)
        if (!decodes_as(row, row.word)) return false;
    return true;
}

constexpr bool all_rejected() {
    for (const unknown_row& row : not_memory_rows) {
        rv::memory_access m;
        if (rv::decode_memory_access(row.word, m)) return false;
    }
    return true;
}

template <unsigned N>
void check_rows(const memory_row (&rows)[N]) {
    for (const memory_row& row : rows) {
        rv::memory_access m;
        const bool ok = rv::decode_memory_access(row.word, m);
        CHECK(describe(row.text, ok ? m : rv::memory_access{}) == describe(row.text, expected_access(row)));
    }
}

}  // namespace

TEST_CASE("instruction: instruction_length (unpriv. spec 1.5)", "[riscv][instruction]") {
    STATIC_REQUIRE(rv::instruction_length(0x0073) == 4);
    STATIC_REQUIRE(rv::instruction_length(0x4188) == 2);
    CHECK(rv::instruction_length(0x0073) == 4);    // low half of ecall
    CHECK(rv::instruction_length(0x8503) == 4);    // low half of lb a0,0(a1)
    CHECK(rv::instruction_length(0x0003) == 4);
    CHECK(rv::instruction_length(0xffff) == 4);
    CHECK(rv::instruction_length(0x4188) == 2);    // c.lw: quadrant 0
    CHECK(rv::instruction_length(0x0001) == 2);    // c.nop: quadrant 1
    CHECK(rv::instruction_length(0x9002) == 2);    // c.ebreak: quadrant 2
    CHECK(rv::instruction_length(0x0000) == 2);
}

TEST_CASE("instruction: 32-bit instruction fields (unpriv. spec 2.2, 2.3)", "[riscv][instruction]") {
    // sd ra,-2048(t6): S-type, imm = -2048 split over [31:25] and [11:7].
    STATIC_REQUIRE(rv::insn::s_immediate(0x801fb023) == -2048);
    STATIC_REQUIRE(rv::insn::i_immediate(0x800fb083) == -2048);
    CHECK(rv::insn::opcode(0x801fb023) == rv::opcode::store);
    CHECK(rv::insn::rs1(0x801fb023) == 31);
    CHECK(rv::insn::rs2(0x801fb023) == 1);
    CHECK(rv::insn::funct3(0x801fb023) == 3);
    CHECK(rv::insn::s_immediate(0x7e962fa3) == 2047);    // sw s1,2047(a2)
    CHECK(rv::insn::s_immediate(0xfe511fa3) == -1);      // sh t0,-1(sp)
    CHECK(rv::insn::i_immediate(0x4d2def83) == 1234);    // lwu t6,1234(s11)
    CHECK(rv::insn::i_immediate(0xfff11283) == -1);      // lh t0,-1(sp)
    CHECK(rv::insn::rd(0x4d2def83) == 31);
    CHECK(rv::insn::csr(0x30059573) == 0x300);           // csrrw a0,mstatus,a1
    CHECK(rv::insn::funct7(0x62628073) == 0x31);         // hfence.gvma t0,t1
    CHECK(rv::opcode::load == 0x03);
    CHECK(rv::opcode::load_fp == 0x07);
    CHECK(rv::opcode::store == 0x23);
    CHECK(rv::opcode::store_fp == 0x27);
    CHECK(rv::opcode::system == 0x73);
}

TEST_CASE("instruction: the six CSR instructions (unpriv. spec 9.1)", "[riscv][instruction]") {
    STATIC_REQUIRE(all_csr_rows_decode());
    for (const system_row& row : csr_rows) {
        const rv::system_instruction d = rv::decode_system(row.word);
        CHECK(describe(row.text, d.op, d.rd, d.rs1, d.rs2, d.csr, true, true) ==
              describe(row.text, row.op, row.rd, row.rs1, row.rs2, row.csr, true, true));
        CHECK(effects(row.text, rv::writes_csr(d), rv::reads_csr(d)) == effects(row.text, row.writes, row.reads));
        CHECK(rv::is_csr_op(d.op));
    }
}

TEST_CASE("instruction: which CSR instructions read and write (unpriv. spec 9.1, table 9.1)", "[riscv][instruction]") {
    SECTION("csrrw and csrrwi always write; with rd = x0 they do not read") {
        STATIC_REQUIRE(rv::writes_csr(rv::decode_system(0x18005073)));   // csrrwi zero,satp,0
        STATIC_REQUIRE(!rv::reads_csr(rv::decode_system(0x18005073)));
        CHECK(rv::writes_csr(rv::decode_system(0x34029073)));            // csrrw zero,mscratch,t0
        CHECK(!rv::reads_csr(rv::decode_system(0x34029073)));
    }
    SECTION("csrrs/csrrc with rs1 = x0 and csrrsi/csrrci with uimm = 0 only read") {
        STATIC_REQUIRE(!rv::writes_csr(rv::decode_system(0xc0002573)));  // csrr a0,cycle
        CHECK(!rv::writes_csr(rv::decode_system(0x7a003673)));      // csrrc a2,tselect,zero
        CHECK(!rv::writes_csr(rv::decode_system(0x100066f3)));      // csrrsi a3,sstatus,0
        CHECK(!rv::writes_csr(rv::decode_system(0x342077f3)));      // csrrci a5,mcause,0
        CHECK(rv::reads_csr(rv::decode_system(0x342077f3)));
    }
    SECTION("non-CSR instructions neither read nor write a CSR") {
        CHECK(!rv::writes_csr(rv::decode_system(0x30200073)));
        CHECK(!rv::reads_csr(rv::decode_system(0x30200073)));
        CHECK(!rv::writes_csr(rv::system_instruction{}));
        CHECK(!rv::reads_csr(rv::system_instruction{}));
    }
    SECTION("classification of the ops") {
        STATIC_REQUIRE(rv::is_csr_op(system_op::csrrw));
        STATIC_REQUIRE(rv::is_csr_op(system_op::csrrci));
        STATIC_REQUIRE(!rv::is_csr_op(system_op::mret));
        STATIC_REQUIRE(!rv::is_csr_op(system_op::unknown));
        CHECK(rv::is_immediate_csr_op(system_op::csrrwi));
        CHECK(rv::is_immediate_csr_op(system_op::csrrsi));
        CHECK(rv::is_immediate_csr_op(system_op::csrrci));
        CHECK(!rv::is_immediate_csr_op(system_op::csrrw));
        CHECK(!rv::is_immediate_csr_op(system_op::csrrc));
        CHECK(!rv::is_immediate_csr_op(system_op::ecall));
    }
}

TEST_CASE("instruction: trap return, wfi, ecall, ebreak and fences (priv. spec 3.3, 4.2.1; H ext. 8.3.2)",
          "[riscv][instruction]") {
    STATIC_REQUIRE(all_privileged_rows_decode());
    for (const system_row& row : privileged_rows) {
        const rv::system_instruction d = rv::decode_system(row.word);
        const bool operands = is_fence(row.op);
        CHECK(describe(row.text, d.op, 0, d.rs1, d.rs2, 0, operands, false) ==
              describe(row.text, row.op, 0, row.rs1, row.rs2, 0, operands, false));
        CHECK(!rv::is_csr_op(d.op));
        CHECK(!rv::writes_csr(d));
        CHECK(!rv::reads_csr(d));
    }
}

TEST_CASE("instruction: invalid or foreign encodings decode as unknown", "[riscv][instruction]") {
    STATIC_REQUIRE(all_unknown_rows_rejected());
    for (const unknown_row& row : unknown_system_rows) {
        const rv::system_instruction d = rv::decode_system(row.word);
        CHECK(describe(row.text, d.op, 0, 0, 0, 0, false, false) ==
              describe(row.text, system_op::unknown, 0, 0, 0, 0, false, false));
    }
}

TEST_CASE("instruction: 32-bit loads and stores, every width and signedness, FP", "[riscv][instruction]") {
    STATIC_REQUIRE(all_decode(full_rows));
    check_rows(full_rows);
}

TEST_CASE("instruction: compressed loads and stores (RV64C)", "[riscv][instruction]") {
    STATIC_REQUIRE(all_decode(compressed_rows));
    check_rows(compressed_rows);
}

TEST_CASE("instruction: Zcb byte and halfword loads and stores", "[riscv][instruction]") {
    STATIC_REQUIRE(all_decode(zcb_rows));
    check_rows(zcb_rows);
}

TEST_CASE("instruction: a compressed word ignores the upper half of the fetch", "[riscv][instruction]") {
    // c.lw s0,124(a5) followed by the low half of the next instruction.
    constexpr memory_row row = {0xdead5fe0, "c.lw s0,124(a5) + next", ld, xr, sx, 4, 8, 15, 2, 124};
    STATIC_REQUIRE(decodes_as(row, row.word));
    rv::memory_access m;
    REQUIRE(rv::decode_memory_access(row.word, m));
    CHECK(describe(row.text, m) == describe(row.text, expected_access(row)));
}

TEST_CASE("instruction: non-memory and reserved encodings are rejected", "[riscv][instruction]") {
    STATIC_REQUIRE(all_rejected());
    for (const unknown_row& row : not_memory_rows) {
        rv::memory_access m;
        m.width = 99;
        const bool ok = rv::decode_memory_access(row.word, m);
        CHECK(std::string(row.text) + (ok ? ": accepted" : ": rejected") == std::string(row.text) + ": rejected");
    }
}

// HLV/HLVX/HSV (H ext. 9.3.1); words from riscv64-unknown-elf-as -march=rv64gc_h 2.40.
TEST_CASE("hypervisor loads and stores decode with their width", "[riscv][instruction][h]") {
    struct row {
        u32 word;
        system_op op;
        unsigned width;
        u8 rd, rs1, rs2;
    };
    constexpr row rows[] = {
        {0x6005c573, system_op::hypervisor_load, 1, 10, 11, 0},   // hlv.b a0,(a1)
        {0x6015c573, system_op::hypervisor_load, 1, 10, 11, 1},   // hlv.bu a0,(a1)
        {0x640942f3, system_op::hypervisor_load, 2, 5, 18, 0},    // hlv.h t0,(s2)
        {0x6415c573, system_op::hypervisor_load, 2, 10, 11, 1},   // hlv.hu a0,(a1)
        {0x6435c573, system_op::hypervisor_load, 2, 10, 11, 3},   // hlvx.hu a0,(a1)
        {0x6805c573, system_op::hypervisor_load, 4, 10, 11, 0},   // hlv.w a0,(a1)
        {0x6815c573, system_op::hypervisor_load, 4, 10, 11, 1},   // hlv.wu a0,(a1)
        {0x6835c573, system_op::hypervisor_load, 4, 10, 11, 3},   // hlvx.wu a0,(a1)
        {0x6c05c573, system_op::hypervisor_load, 8, 10, 11, 0},   // hlv.d a0,(a1)
        {0x62c5c073, system_op::hypervisor_store, 1, 0, 11, 12},  // hsv.b a2,(a1)
        {0x66c5c073, system_op::hypervisor_store, 2, 0, 11, 12},  // hsv.h a2,(a1)
        {0x6ac5c073, system_op::hypervisor_store, 4, 0, 11, 12},  // hsv.w a2,(a1)
        {0x6ec5c073, system_op::hypervisor_store, 8, 0, 11, 12},  // hsv.d a2,(a1)
    };
    for (const row& r : rows) {
        const rv::system_instruction si = rv::decode_system(r.word);
        CHECK(si.op == r.op);
        CHECK(rv::hypervisor_access_width(r.word) == r.width);
        CHECK(si.rd == r.rd);
        CHECK(si.rs1 == r.rs1);
        CHECK(si.rs2 == r.rs2);
    }
    STATIC_REQUIRE(rv::decode_system(0x6835c573).op == system_op::hypervisor_load);
}
