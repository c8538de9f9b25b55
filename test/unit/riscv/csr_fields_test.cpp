// SPDX-License-Identifier: MIT
// Tests for vfm/riscv/csr_fields.hpp: every field's position against the
// figures of the privileged spec, written as literal masks.
#include <vfm/riscv/csr_fields.hpp>

#include <cstdint>

#include "vfm_catch.hpp"

namespace rv = vfm::riscv;

TEST_CASE("csr_fields: mstatus on RV64 (priv. spec 3.1.6, fig. 3.7; H ext. 8.4.1)", "[riscv][csr_fields]") {
    using namespace rv::mstatus;
    STATIC_REQUIRE(sie::mask == 0x2);
    STATIC_REQUIRE(mie::mask == 0x8);
    STATIC_REQUIRE(spie::mask == 0x20);
    STATIC_REQUIRE(ube::mask == 0x40);
    STATIC_REQUIRE(mpie::mask == 0x80);
    STATIC_REQUIRE(spp::mask == 0x100);
    STATIC_REQUIRE(vs::mask == 0x600);
    STATIC_REQUIRE(mpp::mask == 0x1800);
    STATIC_REQUIRE(fs::mask == 0x6000);
    STATIC_REQUIRE(xs::mask == 0x18000);
    STATIC_REQUIRE(mprv::mask == 0x20000);
    STATIC_REQUIRE(sum::mask == 0x40000);
    STATIC_REQUIRE(mxr::mask == 0x80000);
    STATIC_REQUIRE(tvm::mask == 0x100000);
    STATIC_REQUIRE(tw::mask == 0x200000);
    STATIC_REQUIRE(tsr::mask == 0x400000);
    STATIC_REQUIRE(uxl::mask == 0x3'0000'0000);
    STATIC_REQUIRE(sxl::mask == 0xc'0000'0000);
    STATIC_REQUIRE(sbe::mask == 0x10'0000'0000);
    STATIC_REQUIRE(mbe::mask == 0x20'0000'0000);
    STATIC_REQUIRE(gva::mask == 0x40'0000'0000);
    STATIC_REQUIRE(mpv::mask == 0x80'0000'0000);
    STATIC_REQUIRE(sd::mask == 0x8000'0000'0000'0000);
    // sstatus (priv. spec 4.1.1, fig. 4.2): SD, UXL, MXR, SUM, XS, FS, VS, SPP, UBE, SPIE, SIE.
    STATIC_REQUIRE(sstatus_mask == 0x8000'0003'000d'e762);

    // The same field operations at run time: mstatus with MPP = S, MPIE, SXL = UXL = 64.
    const std::uint64_t value = 0x0000'000a'0000'0880;
    CHECK(mpp::extract(value) == 1);
    CHECK(mpie::test(value));
    CHECK(!mie::test(value));
    CHECK(sxl::extract(value) == rv::xlen_64);
    CHECK(uxl::extract(value) == rv::xlen_64);
    CHECK(mpp::insert(value, 3) == 0x0000'000a'0000'1880);
    CHECK(mpp::insert(value, 0) == 0x0000'000a'0000'0080);
    CHECK(mpp::make(3) == 0x1800);
    CHECK(fs::make(static_cast<std::uint64_t>(rv::extension_state::dirty)) == 0x6000);
    CHECK(mpv::insert(0, 1) == 0x80'0000'0000);
}

TEST_CASE("csr_fields: extension status encodings (priv. spec 3.1.6.6)", "[riscv][csr_fields]") {
    STATIC_REQUIRE(static_cast<int>(rv::extension_state::off) == 0);
    STATIC_REQUIRE(static_cast<int>(rv::extension_state::initial) == 1);
    STATIC_REQUIRE(static_cast<int>(rv::extension_state::clean) == 2);
    STATIC_REQUIRE(static_cast<int>(rv::extension_state::dirty) == 3);
    STATIC_REQUIRE(rv::xlen_64 == 2);
}

TEST_CASE("csr_fields: misa (priv. spec 3.1.1)", "[riscv][csr_fields]") {
    STATIC_REQUIRE(rv::misa::mxl::mask == 0xc000'0000'0000'0000);
    STATIC_REQUIRE(rv::misa::extensions::mask == 0x3ff'ffff);
    STATIC_REQUIRE(rv::misa::extension('A') == 0x1);
    STATIC_REQUIRE(rv::misa::extension('C') == 0x4);
    STATIC_REQUIRE(rv::misa::extension('H') == 0x80);
    STATIC_REQUIRE(rv::misa::extension('I') == 0x100);
    STATIC_REQUIRE(rv::misa::extension('S') == 0x4'0000);
    STATIC_REQUIRE(rv::misa::extension('U') == 0x10'0000);
    STATIC_REQUIRE(rv::misa::extension('Z') == 0x200'0000);
    // QEMU's rv64 "virt" hart without H reads misa = 0x800000000014112d (RV64IMAFDCSU).
    const std::uint64_t qemu = 0x8000'0000'0014'112d;
    CHECK(rv::misa::mxl::extract(qemu) == rv::xlen_64);
    CHECK((qemu & rv::misa::extension('S')) != 0);
    CHECK((qemu & rv::misa::extension('U')) != 0);
    CHECK((qemu & rv::misa::extension('H')) == 0);
    CHECK(rv::misa::extensions::extract(qemu) == 0x14112d);
}

TEST_CASE("csr_fields: mip / mie interrupt bits (priv. spec 3.1.9, H ext. 8.4.3, Sscofpmf)", "[riscv][csr_fields]") {
    STATIC_REQUIRE(rv::irq::s_software == 1);
    STATIC_REQUIRE(rv::irq::vs_software == 2);
    STATIC_REQUIRE(rv::irq::m_software == 3);
    STATIC_REQUIRE(rv::irq::s_timer == 5);
    STATIC_REQUIRE(rv::irq::vs_timer == 6);
    STATIC_REQUIRE(rv::irq::m_timer == 7);
    STATIC_REQUIRE(rv::irq::s_external == 9);
    STATIC_REQUIRE(rv::irq::vs_external == 10);
    STATIC_REQUIRE(rv::irq::m_external == 11);
    STATIC_REQUIRE(rv::irq::s_guest_external == 12);
    STATIC_REQUIRE(rv::irq::counter_overflow == 13);

    STATIC_REQUIRE(rv::mip::ssip::mask == 0x2);
    STATIC_REQUIRE(rv::mip::vssip::mask == 0x4);
    STATIC_REQUIRE(rv::mip::msip::mask == 0x8);
    STATIC_REQUIRE(rv::mip::stip::mask == 0x20);
    STATIC_REQUIRE(rv::mip::vstip::mask == 0x40);
    STATIC_REQUIRE(rv::mip::mtip::mask == 0x80);
    STATIC_REQUIRE(rv::mip::seip::mask == 0x200);
    STATIC_REQUIRE(rv::mip::vseip::mask == 0x400);
    STATIC_REQUIRE(rv::mip::meip::mask == 0x800);
    STATIC_REQUIRE(rv::mip::sgeip::mask == 0x1000);
    STATIC_REQUIRE(rv::mip::lcofip::mask == 0x2000);
    STATIC_REQUIRE(rv::mip::supervisor == 0x222);
    STATIC_REQUIRE(rv::mip::machine == 0x888);
    STATIC_REQUIRE(rv::mip::virtual_supervisor == 0x444);
    // mie shares the layout.
    STATIC_REQUIRE(rv::mie::mtip::mask == 0x80);
    STATIC_REQUIRE(rv::mie::seip::mask == 0x200);

    const std::uint64_t pending = 0x8a0;  // MEIP, MTIP, STIP
    CHECK(rv::mip::meip::test(pending));
    CHECK(rv::mip::mtip::test(pending));
    CHECK(rv::mip::stip::test(pending));
    CHECK(!rv::mip::ssip::test(pending));
    CHECK((pending & rv::mip::machine) == 0x880);
}

TEST_CASE("csr_fields: mtvec / stvec (priv. spec 3.1.7)", "[riscv][csr_fields]") {
    STATIC_REQUIRE(rv::mtvec::mode::mask == 0x3);
    STATIC_REQUIRE(rv::mtvec::base::mask == 0xffff'ffff'ffff'fffc);
    STATIC_REQUIRE(rv::mtvec::mode_direct == 0);
    STATIC_REQUIRE(rv::mtvec::mode_vectored == 1);
    STATIC_REQUIRE(rv::stvec::mode::mask == 0x3);
    const std::uint64_t vectored = 0x8020'0101;
    CHECK(rv::mtvec::mode::extract(vectored) == rv::mtvec::mode_vectored);
    CHECK((vectored & rv::mtvec::base::mask) == 0x8020'0100);
    CHECK(rv::mtvec::base::extract(vectored) == 0x2008'0040);
}

TEST_CASE("csr_fields: mcause (priv. spec 3.1.15)", "[riscv][csr_fields]") {
    STATIC_REQUIRE(rv::mcause::interrupt::mask == 0x8000'0000'0000'0000);
    STATIC_REQUIRE(rv::mcause::code::mask == 0x7fff'ffff'ffff'ffff);
    const std::uint64_t machine_timer = 0x8000'0000'0000'0007;
    CHECK(rv::mcause::interrupt::test(machine_timer));
    CHECK(rv::mcause::code::extract(machine_timer) == 7);
    CHECK(!rv::mcause::interrupt::test(2));
}

TEST_CASE("csr_fields: counter enables (priv. spec 3.1.11, 3.1.12)", "[riscv][csr_fields]") {
    STATIC_REQUIRE(rv::counteren::cy::mask == 0x1);
    STATIC_REQUIRE(rv::counteren::tm::mask == 0x2);
    STATIC_REQUIRE(rv::counteren::ir::mask == 0x4);
    STATIC_REQUIRE(rv::counteren::hpm::mask == 0xffff'fff8);
    STATIC_REQUIRE(rv::counteren::all == 0xffff'ffff);
}

TEST_CASE("csr_fields: menvcfg, senvcfg, henvcfg (priv. spec 3.1.18, 4.1.4; H ext. 8.2.5)", "[riscv][csr_fields]") {
    STATIC_REQUIRE(rv::menvcfg::fiom::mask == 0x1);
    STATIC_REQUIRE(rv::menvcfg::cbie::mask == 0x30);
    STATIC_REQUIRE(rv::menvcfg::cbcfe::mask == 0x40);
    STATIC_REQUIRE(rv::menvcfg::cbze::mask == 0x80);
    STATIC_REQUIRE(rv::menvcfg::cde::mask == 0x1000'0000'0000'0000);
    STATIC_REQUIRE(rv::menvcfg::adue::mask == 0x2000'0000'0000'0000);
    STATIC_REQUIRE(rv::menvcfg::pbmte::mask == 0x4000'0000'0000'0000);
    STATIC_REQUIRE(rv::menvcfg::stce::mask == 0x8000'0000'0000'0000);

    STATIC_REQUIRE(rv::senvcfg::fiom::mask == 0x1);
    STATIC_REQUIRE(rv::senvcfg::cbie::mask == 0x30);
    STATIC_REQUIRE(rv::senvcfg::cbcfe::mask == 0x40);
    STATIC_REQUIRE(rv::senvcfg::cbze::mask == 0x80);

    STATIC_REQUIRE(rv::henvcfg::fiom::mask == 0x1);
    STATIC_REQUIRE(rv::henvcfg::cbie::mask == 0x30);
    STATIC_REQUIRE(rv::henvcfg::cbcfe::mask == 0x40);
    STATIC_REQUIRE(rv::henvcfg::cbze::mask == 0x80);
    STATIC_REQUIRE(rv::henvcfg::adue::mask == 0x2000'0000'0000'0000);
    STATIC_REQUIRE(rv::henvcfg::pbmte::mask == 0x4000'0000'0000'0000);
    STATIC_REQUIRE(rv::henvcfg::stce::mask == 0x8000'0000'0000'0000);

    CHECK(rv::menvcfg::stce::test(0x8000'0000'0000'00f0));
    CHECK(rv::menvcfg::cbie::extract(0x8000'0000'0000'00f0) == 3);
}

TEST_CASE("csr_fields: mseccfg (priv. spec 3.1.19: Smepmp, Zkr)", "[riscv][csr_fields]") {
    STATIC_REQUIRE(rv::mseccfg::mml::mask == 0x1);
    STATIC_REQUIRE(rv::mseccfg::mmwp::mask == 0x2);
    STATIC_REQUIRE(rv::mseccfg::rlb::mask == 0x4);
    STATIC_REQUIRE(rv::mseccfg::useed::mask == 0x100);
    STATIC_REQUIRE(rv::mseccfg::sseed::mask == 0x200);
}

TEST_CASE("csr_fields: satp on RV64 (priv. spec 4.1.11, fig. 4.14, table 4.4)", "[riscv][csr_fields]") {
    STATIC_REQUIRE(rv::satp::ppn::mask == 0x0000'0fff'ffff'ffff);
    STATIC_REQUIRE(rv::satp::asid::mask == 0x0fff'f000'0000'0000);
    STATIC_REQUIRE(rv::satp::mode::mask == 0xf000'0000'0000'0000);
    STATIC_REQUIRE(rv::satp::mode_bare == 0);
    STATIC_REQUIRE(rv::satp::mode_sv39 == 8);
    STATIC_REQUIRE(rv::satp::mode_sv48 == 9);
    STATIC_REQUIRE(rv::satp::mode_sv57 == 10);
    // Sv39, ASID 5, root page table at 0x80200000.
    const std::uint64_t value = 0x8000'5000'0008'0200;
    CHECK(rv::satp::mode::extract(value) == rv::satp::mode_sv39);
    CHECK(rv::satp::asid::extract(value) == 5);
    CHECK(rv::satp::ppn::extract(value) == 0x80200);
    CHECK(rv::satp::asid::insert(value, 0xffff) == 0x8fff'f000'0008'0200);
}

TEST_CASE("csr_fields: hstatus (H ext. 8.2.1, fig. 8.3)", "[riscv][csr_fields]") {
    STATIC_REQUIRE(rv::hstatus::vsbe::mask == 0x20);
    STATIC_REQUIRE(rv::hstatus::gva::mask == 0x40);
    STATIC_REQUIRE(rv::hstatus::spv::mask == 0x80);
    STATIC_REQUIRE(rv::hstatus::spvp::mask == 0x100);
    STATIC_REQUIRE(rv::hstatus::hu::mask == 0x200);
    STATIC_REQUIRE(rv::hstatus::vgein::mask == 0x3'f000);
    STATIC_REQUIRE(rv::hstatus::vtvm::mask == 0x10'0000);
    STATIC_REQUIRE(rv::hstatus::vtw::mask == 0x20'0000);
    STATIC_REQUIRE(rv::hstatus::vtsr::mask == 0x40'0000);
    STATIC_REQUIRE(rv::hstatus::vsxl::mask == 0x3'0000'0000);
    CHECK(rv::hstatus::vgein::extract(0x2'a000) == 0x2a);
}

TEST_CASE("csr_fields: hgatp (H ext. 8.2.10)", "[riscv][csr_fields]") {
    STATIC_REQUIRE(rv::hgatp::ppn::mask == 0x0000'0fff'ffff'ffff);
    STATIC_REQUIRE(rv::hgatp::vmid::mask == 0x03ff'f000'0000'0000);
    STATIC_REQUIRE(rv::hgatp::mode::mask == 0xf000'0000'0000'0000);
}

TEST_CASE("csr_fields: pmpcfg entry byte (priv. spec 3.7.1, fig. 3.33, table 3.9)", "[riscv][csr_fields][pmp]") {
    STATIC_REQUIRE(rv::pmpcfg::r::mask == 0x01);
    STATIC_REQUIRE(rv::pmpcfg::w::mask == 0x02);
    STATIC_REQUIRE(rv::pmpcfg::x::mask == 0x04);
    STATIC_REQUIRE(rv::pmpcfg::a::mask == 0x18);
    STATIC_REQUIRE(rv::pmpcfg::l::mask == 0x80);
    STATIC_REQUIRE(rv::pmpcfg::a_off == 0);
    STATIC_REQUIRE(rv::pmpcfg::a_tor == 1);
    STATIC_REQUIRE(rv::pmpcfg::a_na4 == 2);
    STATIC_REQUIRE(rv::pmpcfg::a_napot == 3);
    STATIC_REQUIRE(rv::pmpcfg::writable == 0x9f);
    CHECK(rv::pmpcfg::a::extract(0x9f) == rv::pmpcfg::a_napot);
    CHECK(rv::pmpcfg::a::extract(0x0f) == rv::pmpcfg::a_tor);
}
