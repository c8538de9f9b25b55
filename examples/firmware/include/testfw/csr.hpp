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
/// rs1 = a1 (x0 for `read`), so that the instruction bits are known.
enum class csr_op : u8 {
    read,   ///< csrrs a0, csr, x0 (reads, never writes)
    write,  ///< csrrw a0, csr, a1
    set,    ///< csrrs a0, csr, a1
    clear,  ///< csrrc a0, csr, a1
};

/// The encoding of a probe's instruction (unpriv. spec 9.1, SYSTEM opcode).
[[nodiscard]] constexpr u32 csr_encoding(csr_op op, u16 number) noexcept {
    const u32 funct3 = op == csr_op::write ? 1 : op == csr_op::clear ? 3 : 2;
    const u32 rs1 = op == csr_op::read ? 0 : 11;
    return (u32{number} << 20) | (rs1 << 15) | (funct3 << 12) | (10u << 7) | 0x73;
}

[[nodiscard]] constexpr const char* name(csr_op op) noexcept {
    switch (op) {
        case csr_op::read: return "csrr";
        case csr_op::write: return "csrw";
        case csr_op::set: return "csrs";
        case csr_op::clear: return "csrc";
    }
    return "?";
}

}  // namespace testfw
