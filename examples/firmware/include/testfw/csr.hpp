// SPDX-License-Identifier: MIT
/// CSR access for the test firmwares: plain accessors (the CSR number is a
/// template argument because it is an immediate of the instruction) and
/// probes that run one CSR instruction and report whether it trapped.
#pragma once

#include <vfm/riscv/csr.hpp>

#include "testfw/platform.hpp"

namespace testfw {

using vfm::riscv::csr;

template <u16 N>
[[nodiscard]] inline u64 csrr() noexcept {
    u64 v;
    asm volatile("csrr %0, %1" : "=r"(v) : "i"(N) : "memory");
    return v;
}
template <u16 N>
inline void csrw(u64 v) noexcept {
    asm volatile("csrw %0, %1" ::"i"(N), "r"(v) : "memory");
}
template <u16 N>
inline void csrs(u64 v) noexcept {
    asm volatile("csrs %0, %1" ::"i"(N), "r"(v) : "memory");
}
template <u16 N>
inline void csrc(u64 v) noexcept {
    asm volatile("csrc %0, %1" ::"i"(N), "r"(v) : "memory");
}
template <u16 N>
[[nodiscard]] inline u64 csrrw(u64 v) noexcept {
    u64 old;
    asm volatile("csrrw %0, %1, %2" : "=r"(old) : "i"(N), "r"(v) : "memory");
    return old;
}

/// The same accessors named by the spec's CSR names.
template <csr C>
[[nodiscard]] inline u64 read() noexcept { return csrr<static_cast<u16>(C)>(); }
template <csr C>
inline void write(u64 v) noexcept { csrw<static_cast<u16>(C)>(v); }
template <csr C>
inline void set(u64 v) noexcept { csrs<static_cast<u16>(C)>(v); }
template <csr C>
inline void clear(u64 v) noexcept { csrc<static_cast<u16>(C)>(v); }
template <csr C>
[[nodiscard]] inline u64 swap(u64 v) noexcept { return csrrw<static_cast<u16>(C)>(v); }

/// The CSR instructions a probe can run. The probe always uses rd = a0 and
/// rs1 = a1 (x0 for `read`, the immediate 0 for the immediate forms), so
/// that the instruction bits are known.
enum class csr_op : u8 {
    read,        ///< csrrs a0, csr, x0 (reads, never writes)
    write,       ///< csrrw a0, csr, a1
    set,         ///< csrrs a0, csr, a1 (writes, even when a1 is 0)
    clear,       ///< csrrc a0, csr, a1 (writes, even when a1 is 0)
    write_imm0,  ///< csrrwi a0, csr, 0 (writes)
    set_imm0,    ///< csrrsi a0, csr, 0 (reads, never writes)
    clear_imm0,  ///< csrrci a0, csr, 0 (reads, never writes)
};

/// The encoding of a probe's instruction (unpriv. spec 9.1, SYSTEM opcode:
/// csr[31:20] rs1/uimm[19:15] funct3[14:12] rd[11:7] 1110011).
[[nodiscard]] constexpr u32 csr_encoding(csr_op op, u16 number) noexcept {
    u32 funct3 = 0;
    u32 rs1 = 0;
    switch (op) {
        case csr_op::read: funct3 = 2; break;
        case csr_op::write: funct3 = 1; rs1 = 11; break;
        case csr_op::set: funct3 = 2; rs1 = 11; break;
        case csr_op::clear: funct3 = 3; rs1 = 11; break;
        case csr_op::write_imm0: funct3 = 5; break;
        case csr_op::set_imm0: funct3 = 6; break;
        case csr_op::clear_imm0: funct3 = 7; break;
    }
    return (u32{number} << 20) | (rs1 << 15) | (funct3 << 12) | (10u << 7) | 0x73;
}

/// True when the instruction writes the CSR (priv. spec 2.1 / unpriv. 9.1:
/// csrrs/csrrc with rs1 = x0 and csrrsi/csrrci with uimm = 0 do not).
[[nodiscard]] constexpr bool writes(csr_op op) noexcept {
    return op != csr_op::read && op != csr_op::set_imm0 && op != csr_op::clear_imm0;
}

[[nodiscard]] constexpr const char* name(csr_op op) noexcept {
    switch (op) {
        case csr_op::read: return "csrrs a0,x0";
        case csr_op::write: return "csrrw a0,a1";
        case csr_op::set: return "csrrs a0,a1";
        case csr_op::clear: return "csrrc a0,a1";
        case csr_op::write_imm0: return "csrrwi a0,0";
        case csr_op::set_imm0: return "csrrsi a0,0";
        case csr_op::clear_imm0: return "csrrci a0,0";
    }
    return "?";
}

}  // namespace testfw
