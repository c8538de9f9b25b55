// SPDX-License-Identifier: MIT
/// A guest's load, store, AMO, LR or SC as the monitor performs it (MPRV,
/// emulated devices, an OS access after PMP misses): decoded once from the
/// instruction into what the engine needs.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/riscv/instruction.hpp>
#include <vfm/virt/guest_memory.hpp>

namespace vfm::virt {

/// A load, store, AMO, LR or SC, integer or floating point, decoded.
struct data_access {
    enum class kind : u8 { load, store, amo, load_reserved, store_conditional };
    kind op = kind::load;
    bool is_float = false;
    bool sign_extend = false;
    u8 width = 0;
    u8 length = 4;      ///< instruction length
    u8 base_reg = 0;    ///< rs1
    u8 data_reg = 0;    ///< a load's rd or a store's rs2 (an f register when is_float); AMO/SC: rs2
    u8 result_reg = 0;  ///< AMO, LR, SC: rd
    amo_op amo = amo_op::swap;
    i64 offset = 0;

    [[nodiscard]] constexpr access_kind access() const noexcept {
        return op == kind::load || op == kind::load_reserved ? access_kind::load : access_kind::store;
    }
};

[[nodiscard]] constexpr bool decode_data_access(u32 bits, data_access& out) noexcept {
    out = data_access{};
    riscv::memory_access m;
    if (riscv::decode_memory_access(bits, m)) {
        out.op = m.is_store ? data_access::kind::store : data_access::kind::load;
        out.is_float = m.is_float;
        out.sign_extend = m.sign_extend;
        out.width = m.width;
        out.length = m.length;
        out.base_reg = m.base_reg;
        out.data_reg = m.data_reg;
        out.offset = m.offset;
        return true;
    }
    riscv::atomic_access a;
    if (!riscv::decode_atomic(bits, a)) return false;
    switch (a.op) {
        case riscv::atomic_access::kind::load_reserved: out.op = data_access::kind::load_reserved; break;
        case riscv::atomic_access::kind::store_conditional: out.op = data_access::kind::store_conditional; break;
        case riscv::atomic_access::kind::amo: out.op = data_access::kind::amo; break;
    }
    out.amo = static_cast<amo_op>(a.funct5);
    out.width = a.width;
    out.sign_extend = a.width == 4;
    out.base_reg = a.rs1;
    out.data_reg = a.rs2;
    out.result_reg = a.rd;
    return true;
}

}  // namespace vfm::virt
