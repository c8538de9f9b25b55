// SPDX-License-Identifier: MIT
// Instruction decoding inside emulation: what the monitor does with the
// instruction a trap reports (unpriv. spec 1.5 instruction lengths, 9.1 Zicsr,
// 16 RVC; priv. spec 3.1.16 mtval, 3.3 and 4.2.1 privileged instructions).
#include "virt_support.hpp"

using namespace vt;

TEST_CASE("a 16-bit illegal instruction is reflected with mtval = its 16 bits", "[virt][decode]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // 0x8002 is c.jr x0, a reserved RVC encoding (16.6): illegal instruction.
    // Whatever follows it must not be taken as part of it.
    c.hw.poke<u16>(c.pc() + 2, 0x3020);
    const u64 pc = c.pc();
    c.exec(0x8002);
    c.expect_delivered(2, 0x8002, pc);

    SECTION("also when the hart reports mtval = 0 and the monitor reads the instruction") {
        c.return_to(0x8010'0202);  // a 2-byte aligned pc (IALIGN = 16)
        c.hw.poke<u16>(0x8010'0204, 0x0073);
        c.exec_without_tval(0x8002);
        REQUIRE(c.pc() == firmware_vector);
        // 3.1.16: mtval is the faulting instruction's bits or zero; never 32 bits
        // made of this instruction and the next one.
        const u64 tval = c.csrr(csr::mtval);
        CHECK((tval == 0x8002 || tval == 0));
        CHECK(c.csrr(csr::mepc) == 0x8010'0202);
        CHECK(c.csrr(csr::mcause) == 2);
    }
}

TEST_CASE("CSR instructions are 32-bit: the pc advances by 4, also from a 2-byte aligned pc", "[virt][decode]") {
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.return_to(0x8010'0402);
    const step s = c.exec(enc::csrrs(7, csr::mscratch, 0));
    CHECK(s.pc_after == 0x8010'0406);
    const step t = c.exec(enc::csrrs(7, csr::mie, 0));  // not on the fast path
    CHECK(t.pc_after == 0x8010'040a);
    SECTION("and when the hart reports mtval = 0") {
        const step u = c.exec_without_tval(enc::csrrs(7, csr::mstatus, 0));
        CHECK(u.pc_after == 0x8010'040e);
        c.h.x[6] = 0x55;
        const step v = c.exec_without_tval(enc::csrrw(0, csr::mscratch, 6));
        CHECK(v.pc_after == 0x8010'0412);
        CHECK(c.csrr(csr::mscratch) == 0x55);
    }
}

TEST_CASE("SYSTEM encodings that are not instructions raise illegal instruction", "[virt][decode]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // mret with rd = x1 or rs1 = x1 (priv. 3.3: both fields must be zero), wfi
    // with rd != 0, funct3 = 4 (HLV/HSV, H only: this hart has no H), a
    // custom-0 opcode (not SYSTEM at all).
    for (const u32 insn : {u32{0x3020'00f3}, u32{0x3020'8073}, u32{0x1050'00f3}, enc::hlv_w(10, 11), u32{0x0000'000b}}) {
        INFO("instruction " << hex(insn));
        const u64 pc = c.pc();
        c.exec(insn);
        c.expect_delivered(2, insn, pc);
        c.return_to(pc + 4);
    }
}

TEST_CASE("sfence.vma from vM-mode is performed on the hart with its operands", "[virt][decode]") {
    SECTION("with S") {
        machine m{rv64gc::make()};
        cpu& c = m.hart0();
        c.boot_with_vector();
        c.hw.log().clear();
        CHECK(c.exec(enc::sfence_vma(0, 0)).advanced);
        c.h.x[10] = 0x4000'1000;
        c.h.x[11] = 7;
        CHECK(c.exec(enc::sfence_vma(10, 11)).advanced);
        c.h.x[12] = 0;  // a register holding 0 is not x0 (4.2.1)
        CHECK(c.exec(enc::sfence_vma(12, 0)).advanced);
        const auto fences = c.hw.log().fences();
        REQUIRE(fences.size() == 3);
        CHECK(fences[0].kind == host::fence_kind::sfence_vma);
        CHECK(fences[0].all_addresses);
        CHECK(fences[0].all_ids);
        CHECK_FALSE(fences[1].all_addresses);
        CHECK_FALSE(fences[1].all_ids);
        CHECK(fences[1].address == 0x4000'1000);
        CHECK(fences[1].id == 7);
        CHECK_FALSE(fences[2].all_addresses);
        CHECK(fences[2].address == 0);
        CHECK(fences[2].all_ids);
    }
    SECTION("without S it is an illegal instruction (4.2.1 needs S-mode)") {
        machine m{mu::make()};
        cpu& c = m.hart0();
        c.boot_with_vector();
        const u64 pc = c.pc();
        c.exec(enc::sfence_vma(0, 0));
        c.expect_delivered(2, enc::sfence_vma(0, 0), pc);
    }
}

TEST_CASE("hfence.gvma from vM-mode: performed with H, illegal without", "[virt][decode]") {
    SECTION("with H") {
        machine m{qemu_h::make()};
        cpu& c = m.hart0();
        c.boot_with_vector();
        c.hw.log().clear();
        c.h.x[10] = 0x2000;
        CHECK(c.exec(enc::hfence_gvma(10, 0)).advanced);
        const auto fences = c.hw.log().fences();
        REQUIRE(fences.size() == 1);
        CHECK(fences[0].kind == host::fence_kind::hfence_gvma);
        CHECK(fences[0].address == 0x2000);
        CHECK(fences[0].all_ids);
    }
    SECTION("without H") {
        machine m{rv64gc::make()};
        cpu& c = m.hart0();
        c.boot_with_vector();
        const u64 pc = c.pc();
        c.exec(enc::hfence_gvma(0, 0));
        c.expect_delivered(2, enc::hfence_gvma(0, 0), pc);
    }
}

TEST_CASE("hlv.w from vM-mode loads as VS/VU (H ext. 9.3.1)", "[virt][decode]") {
    // (Found by this test and fixed.) A firmware executing hlv.w in (v)M-mode
    // on a hart with H must not get illegal instruction: the spec lets M-mode execute them (H ext.
    // "Hypervisor Virtual-Machine Load and Store Instructions": valid in M-mode
    // and HS-mode, performed as in VS/VU with hstatus.SPVP).
    machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.hw.poke<u32>(0x8040'0000, 0xcafe'f00d);
    // PMP applies to VS accesses: the firmware opens all memory to S and U first.
    c.csrw(csr::pmpaddr0, 0x003f'ffff'ffff'ffff);
    c.csrw(csr::pmpcfg0, 0x1f);   // NAPOT over everything, RWX
    c.csrw(csr::hstatus, 0x100);  // SPVP = 1: as VS (vsatp and hgatp are Bare)
    c.h.x[11] = 0x8040'0000;
    const step s = c.exec(enc::hlv_w(10, 11));
    CHECK(s.advanced);
    CHECK(c.h.x[10] == 0xffff'ffff'cafe'f00d);
}
