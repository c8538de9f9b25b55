// SPDX-License-Identifier: MIT
/// The CSR fast path, defined once (docs/fast-path.md): which of the
/// firmware's CSR instructions a trap path may serve with loads and stores of
/// the virtual hart alone, and how. Two paths serve exactly these accesses and
/// nothing else: tier 1 of the metal trap vector (shims/metal/src/entry.S,
/// checked against this table in shims/metal/include/vfm/metal/runtime.hpp)
/// and `fast_path` below, which runs before any engine on backends without
/// tier 1 (and on the host). Both read the per-hart data `fill_hart` derives
/// from the table; everything else goes to the engine (engine::csr_access),
/// whose results both must equal (test/unit/virt/fast_csrs_test.cpp compares
/// the whole hart state; test/qemu's tier1-* runs compare on QEMU).
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/virt/code_window.hpp>
#include <vfm/virt/csr_rules.hpp>
#include <vfm/virt/hart.hpp>
#include <vfm/virt/trap_entry.hpp>

namespace vfm::virt::fast_csrs {

/// The instruction forms served (unpriv. spec 9.1): a read, `csrrs rd, csr,
/// x0` (csrr), and a swap, `csrrw rd, csr, rs1` (csrw when rd is x0). The
/// other four forms (and a read written another way) take the engine.
enum class form : u8 { none, read, swap };
inline constexpr u32 read_mask = 0x000f'f07f;  ///< opcode, funct3 and rs1 of the read form
inline constexpr u32 read_bits = 0x0000'2073;  ///< SYSTEM, funct3 2 (csrrs), rs1 0
inline constexpr u32 swap_mask = 0x0000'707f;  ///< opcode and funct3
inline constexpr u32 swap_bits = 0x0000'1073;  ///< SYSTEM, funct3 1 (csrrw)

[[nodiscard, gnu::always_inline]] constexpr form form_of(u32 instruction) noexcept {
    if ((instruction & read_mask) == read_bits) return form::read;
    if ((instruction & swap_mask) == swap_bits) return form::swap;
    return form::none;
}

/// Where a fast CSR's value lives.
enum class storage : u8 {
    context,  ///< a field of virtual_csrs, swapped as written (mepc: masked, below)
    misa,     ///< hart::misa: read only (a write goes to the engine, which ignores it)
    mstatus,  ///< the virtual fields over the physical mstatus (rules::compose_mstatus);
              ///< a swap only while it changes nothing but plain virtual fields
};

/// When a fast CSR exists on a hart.
enum class presence : u8 { always, with_mtval2 };

/// How a swap's value is stored.
enum class write_rule : u8 {
    as_written,  ///< the whole value
    mepc_mask,   ///< & hart::mepc_mask (rules::write_mepc: bit 0, and bit 1 without C, read zero)
    mstatus,     ///< & hart::mstatus_fast_writable, under mstatus_swap_is_plain
};

struct entry {
    riscv::csr number;
    storage where;
    u64 virtual_csrs::*field;  ///< storage::context
    bool swaps;                ///< the swap form is served (the read form always is)
    presence exists;
    write_rule rule;
};

/// The table. CSRs 0x340-0x343 must stay consecutive fields of virtual_csrs
/// (tier 1 indexes them directly), the other context CSRs must lie in
/// 0x340-0x34f (hart::fast_csrs maps those), and mstatus and misa are served by
/// tier 1's own code: runtime.hpp checks that tier 1 matches every row.
inline constexpr entry table[] = {
    {riscv::csr::mstatus, storage::mstatus, nullptr, true, presence::always, write_rule::mstatus},
    {riscv::csr::misa, storage::misa, nullptr, false, presence::always, write_rule::as_written},
    {riscv::csr::mscratch, storage::context, &virtual_csrs::mscratch, true, presence::always, write_rule::as_written},
    {riscv::csr::mepc, storage::context, &virtual_csrs::mepc, true, presence::always, write_rule::mepc_mask},
    {riscv::csr::mcause, storage::context, &virtual_csrs::mcause, true, presence::always, write_rule::as_written},
    {riscv::csr::mtval, storage::context, &virtual_csrs::mtval, true, presence::always, write_rule::as_written},
    {riscv::csr::mtinst, storage::context, &virtual_csrs::mtinst, true, presence::with_mtval2, write_rule::as_written},
    {riscv::csr::mtval2, storage::context, &virtual_csrs::mtval2, true, presence::with_mtval2, write_rule::as_written},
};

/// hart::fast_csrs: entry i describes CSR map_base + i.
inline constexpr u16 map_base = 0x340;
inline constexpr u16 map_size = sizeof(hart::fast_csrs);

[[nodiscard]] constexpr bool context_rows_in_map() noexcept {
    for (const entry& e : table) {
        const u16 n = static_cast<u16>(e.number);
        if ((e.where == storage::context) != (n >= map_base && n < map_base + map_size)) return false;
        if ((e.where == storage::context) != (e.field != nullptr)) return false;
    }
    return true;
}
static_assert(context_rows_in_map(), "the context CSRs are those of hart::fast_csrs' range, and only those");

/// The row of CSR `number`, or nullptr.
[[nodiscard, gnu::always_inline]] constexpr const entry* find(u16 number) noexcept {
    for (const entry& e : table)
        if (static_cast<u16>(e.number) == number) return &e;
    return nullptr;
}

[[nodiscard, gnu::always_inline]] constexpr bool exists_on(const entry& e, const hart_features& f) noexcept {
    return e.exists == presence::always || f.has_mtval2;
}

/// Fills the per-hart data both paths read: hart::fast_csrs (each present
/// context row as its field's offset in the hart / 8), mepc_mask, misa and
/// mstatus_fast_writable (0 on harts without both S and U: there the engine
/// legalizes MPP, priv. spec 3.1.6.1).
/// (Row by row at compile time: the image carries no copy of the table.)
template <unsigned Row = 0>
[[gnu::always_inline]] inline void fill_map(hart& h) noexcept {
    if constexpr (Row < sizeof(table) / sizeof(table[0])) {
        constexpr entry e = table[Row];
        if constexpr (e.where == storage::context) {
            const auto* field = reinterpret_cast<const u8*>(&(h.csr.*e.field));
            const auto offset = static_cast<u8>((field - reinterpret_cast<const u8*>(&h)) / 8);
            h.fast_csrs[static_cast<u16>(e.number) - map_base] = exists_on(e, h.features) ? offset : 0;
        }
        fill_map<Row + 1>(h);
    }
}

inline void fill_hart(hart& h) noexcept {
    for (auto& slot : h.fast_csrs) slot = 0;
    fill_map(h);
    h.mepc_mask = rules::write_mepc(~u64{0}, h.features);
    h.misa = h.features.misa;
    h.mstatus_fast_writable = h.features.has_s && h.features.has_u ? rules::mstatus_virtual_writable(h.features) : 0;
}

/// Whether a swap of mstatus to `value` changes nothing but plain virtual
/// fields, so that storing `value & fast_writable` is the whole write: the
/// hart allows it (fast_writable != 0), the supervisor fields (physical) stay,
/// MIE stays (interrupts to re-evaluate), MPRV is clear before and after (the
/// PMP view) and MPP is not the reserved 2 (the engine legalizes it).
[[nodiscard, gnu::always_inline]] constexpr bool mstatus_swap_is_plain(u64 value, u64 physical, u64 virtual_fields,
                                                                       u64 fast_writable) noexcept {
    namespace ms = riscv::mstatus;
    return fast_writable != 0 && ((value ^ physical) & rules::mstatus_physical_writable) == 0 &&
           ((value ^ virtual_fields) & ms::mie::mask) == 0 && !ms::mprv::test(value | virtual_fields) &&
           ms::mpp::extract(value) != 2;
}

}  // namespace vfm::virt::fast_csrs

namespace vfm::virt {

/// The table's interpreter for the trap path that runs before any engine
/// (tier 2 of a backend without tier 1, or the host): the firmware's read or
/// swap of a fast CSR, from its memory (not mtval), with rd and rs1 among
/// hart::fast_path_registers. Anything else returns false before changing
/// any state, and the engine takes over.
template <arch Arch>
[[gnu::always_inline]] inline bool fast_path(Arch& hw, hart& h, trap_entry trap) noexcept {
    using namespace fast_csrs;
    if (h.world != world::firmware) return false;
    if (trap.cause != riscv::cause_value(riscv::exception::illegal_instruction)) return false;
    u32 instruction = 0;
    if (!firmware_instruction_in_ram(hw, h, trap.epc, instruction)) return false;
    const form kind = form_of(instruction);
    if (kind == form::none) return false;
    const unsigned rd = (instruction >> 7) & 31;
    const unsigned rs1 = (instruction >> 15) & 31;
    if (!hart::saved_on_fast_path(rd) || !hart::saved_on_fast_path(rs1)) return false;
    const entry* e = find(static_cast<u16>(instruction >> 20));
    if (e == nullptr || !exists_on(*e, h.features) || (kind == form::swap && !e->swaps)) return false;
    const u64 value = h.reg(rs1);
    u64 old_value = 0;
    switch (e->where) {
        case storage::context: {
            u64& slot = h.csr.*e->field;
            old_value = slot;
            if (kind == form::swap) slot = e->rule == write_rule::mepc_mask ? value & h.mepc_mask : value;
            break;
        }
        case storage::misa: old_value = h.misa; break;
        case storage::mstatus: {
            const u64 physical = hw.template read<riscv::csr::mstatus>();
            old_value = rules::compose_mstatus(physical, h.csr.mstatus);
            if (kind == form::swap) {
                if (!mstatus_swap_is_plain(value, physical, h.csr.mstatus, h.mstatus_fast_writable)) return false;
                h.csr.mstatus = value & h.mstatus_fast_writable;
            }
            break;
        }
    }
    h.set_reg(rd, old_value);
    hw.template write<riscv::csr::mepc>(trap.epc + 4);
    return true;
}

}  // namespace vfm::virt
