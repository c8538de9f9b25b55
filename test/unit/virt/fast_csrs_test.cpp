// SPDX-License-Identifier: MIT
// The CSR fast path against the general path (virt/fast_csrs.hpp,
// docs/fast-path.md): two machines in lockstep, one whose traps take
// virt::fast_path first (with the registers tier 2 does not save poisoned),
// one whose traps take only the general path (engine::csr_access). Every CSR
// instruction form, over every CSR of the table and some outside it, with
// registers in and out of the fast path's set and with values that cross each
// WARL rule; after each instruction the whole state of the two harts must be
// equal: the guest registers and pc, the virtual hart, every physical CSR.
// The reference is the general path, checked on its own against the
// privileged spec by csr_rw_test and, on QEMU, against native runs.
#include <set>

#include <vfm/virt/fast_csrs.hpp>

#include "virt_support.hpp"

namespace {

using namespace vt;

/// The six Zicsr forms (unpriv. spec 9.1), by funct3.
constexpr u32 forms[] = {1, 2, 3, 5, 6, 7};

/// (rd, rs1) pairs: in the fast path's register set (a0, a1, ra, t6, tp), out
/// of it (s1, s2, gp) and x0 on either side.
constexpr std::pair<unsigned, unsigned> register_pairs[] = {{10, 11}, {0, 11}, {10, 0}, {9, 11},
                                                            {10, 18}, {1, 31}, {3, 4},  {0, 0}, {31, 5}, {5, 5}};

/// Values written through rs1 (uimm takes their low five bits): zero, all
/// ones, an odd value with bit 1 (mepc's WARL bits), a random pattern.
constexpr u64 plain_values[] = {0, ~u64{0}, 0x8000'0000'0000'0003, 0x5a3c'96e1'0f0f'7281};

/// mstatus changes (priv. spec 3.1.6), as (field, new value) over the value
/// the hart holds: virtual fields the fast path stores (MPIE, MPP, TW, TVM,
/// TSR, MPV, GVA), those it leaves to the engine (MIE, MPRV, the reserved
/// MPP 2) and physical ones (SIE, SUM, FS); a field of 0 writes the value back.
namespace ms = riscv::mstatus;
constexpr std::pair<u64, u64> mstatus_changes[] = {
    {ms::mpie::mask, ms::mpie::mask}, {ms::mpp::mask, ms::mpp::make(0)}, {ms::mpp::mask, ms::mpp::make(1)},
    {ms::mpp::mask, ms::mpp::make(2)}, {ms::mpp::mask, ms::mpp::make(3)}, {ms::tw::mask, ms::tw::mask},
    {ms::tvm::mask, ms::tvm::mask},   {ms::tsr::mask, ms::tsr::mask},     {ms::mpv::mask, ms::mpv::mask},
    {ms::gva::mask, ms::gva::mask},   {ms::mie::mask, ms::mie::mask},     {ms::mprv::mask, ms::mprv::mask},
    {ms::sie::mask, ms::sie::mask},   {ms::sum::mask, ms::sum::mask},     {ms::fs::mask, 0},
    {0, 0},
};

/// The CLINT's msip of hart 0 (SiFive layout), as QEMU virt maps it.
constexpr u64 clint_msip = 0x200'0000;

struct lockstep {
    /// With `pending`, the machine software interrupt is pending and enabled
    /// in mie throughout (MIE clear): a write that sets MIE must take it.
    lockstep(host::hart_config config, bool pending) : fast_machine(config), general_machine(config) {
        for (cpu* c : {&fast(), &general()}) {
            c->boot_with_vector();
            if (pending) {
                c->csrw(csr::mie, riscv::mip::msip::mask);
                c->h.x[6] = clint_msip;
                c->h.x[5] = 1;
                REQUIRE(c->access(enc::sw(5, 6, 0)).advanced);
            }
        }
        general().fast_path = false;
        for (u16 n = 0; n < 0x1000; ++n)
            if (fast().hw.implemented(static_cast<csr>(n)) || general().hw.implemented(static_cast<csr>(n)))
                csrs.push_back(n);
        check_same_state(fast(), general());
    }
    void check_same_state(cpu& a, cpu& b) { vt::check_same_state(a, b, csrs); }
    cpu& fast() { return fast_machine.hart0(); }
    cpu& general() { return general_machine.hart0(); }

    /// Both execute `insn` with the registers set; the states must agree.
    /// Returns whether the fast path served it.
    bool run(u32 insn, const std::pair<unsigned, u64>& reg) {
        for (cpu* c : {&fast(), &general()}) c->h.set_reg(reg.first, reg.second);
        const bool served = fast().exec_on_csr_fast_path(insn);
        (void)general().exec(insn);
        INFO("instruction " << hex(insn) << " (fast path " << (served ? "served it" : "declined") << ")");
        check_same_state(fast(), general());
        if (fast().pc() == firmware_vector) {
            // An exception (a write to a read-only or absent CSR) or the
            // pending interrupt: the firmware's handler returns past it,
            // with MIE (after mret: MPIE) and MPRV clear.
            const u64 next = firmware_entry + 0x4'0000 + (++returns % 0x300) * 0x100;  // below firmware_vector
            for (cpu* c : {&fast(), &general()}) {
                c->csrc(csr::mstatus, ms::mpie::mask | ms::mprv::mask);
                c->return_to(next);
            }
            check_same_state(fast(), general());
        }
        return served;
    }

    machine fast_machine;
    machine general_machine;
    u64 returns = 0;          ///< the handler's returns so far (each to a fresh place)
    std::vector<u16> csrs;  ///< the CSR numbers compared
};

/// One (CSR, funct3) pair the fast path served.
using served_set = std::set<std::pair<u16, u32>>;

void run_csr(lockstep& m, u16 number, bool writes, served_set& served) {
    const bool is_mstatus = number == static_cast<u16>(csr::mstatus);
    std::vector<std::pair<u64, u64>> cases;  // (mask, value): rs1 = (current & ~mask) | value for mstatus
    if (is_mstatus) {
        cases.assign(std::begin(mstatus_changes), std::end(mstatus_changes));
    } else {
        for (u64 v : plain_values) cases.push_back({~u64{0}, v});
    }
    for (u32 funct3 : forms) {
        for (const auto& [rd, rs1] : register_pairs) {
            for (const auto& [mask, value] : cases) {
                const bool writes_csr = (funct3 & 3) == 1 || rs1 != 0;
                if (!writes && writes_csr) continue;
                u64 operand = value;
                if (is_mstatus) {
                    m.run(enc::csrrs(10, csr::mstatus, 0), {0, 0});
                    // A swap writes the whole register; set and clear take the field.
                    operand = (funct3 & 3) == 1 ? (m.general().h.x[10] & ~mask) | value : mask;
                }
                const bool immediate = funct3 >= 5;
                const u32 insn = enc::csr_insn(funct3, rd, number, immediate ? static_cast<unsigned>(operand & 31) : rs1);
                const std::pair<unsigned, u64> reg = immediate ? std::pair<unsigned, u64>{0, 0}
                                                               : std::pair<unsigned, u64>{rs1, operand};
                if (m.run(insn, reg)) served.insert({number, funct3});
                if (is_mstatus && writes_csr) {
                    // MIE and MPRV clear again: no interrupt or PMP view change in the next case.
                    m.run(enc::csrrc(0, csr::mstatus, 11), {11, ms::mie::mask | ms::mprv::mask});
                }
            }
        }
    }
}

template <class Config>
void differential(bool pending) {
    lockstep m(Config::make(), pending);
    served_set served;
    const bool has_mtval2 = m.fast().h.features.has_mtval2;
    for (const virt::fast_csrs::entry& e : virt::fast_csrs::table)
        run_csr(m, static_cast<u16>(e.number), true, served);
    // Outside the table: a read-only CSR, virtual CSRs with side effects, an
    // absent one in the table's range (0x34c) and mip.
    run_csr(m, static_cast<u16>(csr::mhartid), true, served);
    if (!pending) run_csr(m, static_cast<u16>(csr::mie), true, served);
    run_csr(m, static_cast<u16>(csr::medeleg), true, served);
    run_csr(m, static_cast<u16>(csr::mtvec), false, served);
    run_csr(m, 0x344, true, served);
    run_csr(m, 0x34c, true, served);

    // What the fast path served: the read and swap forms of the table's CSRs
    // present on the hart (the mstatus swap where S and U both exist), nothing else.
    served_set expected;
    for (const virt::fast_csrs::entry& e : virt::fast_csrs::table) {
        if (e.exists == virt::fast_csrs::presence::with_mtval2 && !has_mtval2) continue;
        expected.insert({static_cast<u16>(e.number), 2});
        if (e.swaps && (e.number != csr::mstatus || m.fast().h.mstatus_fast_writable != 0))
            expected.insert({static_cast<u16>(e.number), 1});
    }
    for (const auto& [number, funct3] : expected) {
        INFO("the fast path never served funct3 " << funct3 << " on CSR " << hex(number));
        CHECK(served.count({number, funct3}) == 1);
    }
    for (const auto& [number, funct3] : served) {
        INFO("the fast path served funct3 " << funct3 << " on CSR " << hex(number) << ", outside its table");
        CHECK(expected.count({number, funct3}) == 1);
    }
}

TEST_CASE("fast path: every form on every CSR equals the general path (RV64GC+H)", "[fast_csrs]") {
    differential<qemu_h>(false);
}
TEST_CASE("fast path: ... with an interrupt pending behind MIE (RV64GC+H)", "[fast_csrs]") {
    differential<qemu_h>(true);
}
TEST_CASE("fast path: every form on every CSR equals the general path (RV64GC, no mtval2)", "[fast_csrs]") {
    differential<rv64gc>(false);
}
TEST_CASE("fast path: every form on every CSR equals the general path (M and U only)", "[fast_csrs]") {
    differential<mu>(true);
}

TEST_CASE("fast path: the per-hart map is the table's", "[fast_csrs]") {
    // hart::fast_csrs, which tier 1 reads, holds each present context row as
    // its field's offset / 8 and nothing else.
    for (bool h : {false, true}) {
        host::hart_config config = h ? qemu_h::make() : rv64gc::make();
        machine m(config);
        cpu& c = m.hart0();
        c.boot_with_vector();
        for (u16 i = 0; i < 16; ++i) {
            const u16 number = static_cast<u16>(0x340 + i);
            const virt::fast_csrs::entry* e = virt::fast_csrs::find(number);
            const bool present = e != nullptr && virt::fast_csrs::exists_on(*e, c.h.features);
            INFO("CSR " << hex(number));
            if (!present) {
                CHECK(c.h.fast_csrs[i] == 0);
                continue;
            }
            const auto* field = reinterpret_cast<const u8*>(&(c.h.csr.*e->field));
            CHECK(c.h.fast_csrs[i] * 8 == field - reinterpret_cast<const u8*>(&c.h));
        }
    }
}

}  // namespace
