// SPDX-License-Identifier: MIT
// Tests for vfm/riscv/csr_list.hpp and vfm/riscv/csr.hpp: every CSR number in
// the table against an independent list written from the specifications.
#include <vfm/riscv/csr.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>

#include "vfm_catch.hpp"

namespace {

using vfm::u16;
using vfm::riscv::csr;
using vfm::riscv::csr_group;

/// One row of the independent list: the spec's name, vfm's enumerator of that
/// name, and the number the spec assigns.
struct spec_csr {
    const char* name;
    csr value;
    u16 number;
};

/// Written from the privileged spec v1.12 tables 2.2 to 2.6 (unprivileged,
/// supervisor, hypervisor, machine CSRs), the H extension (chapter 8),
/// Sstc (stimecmp, vstimecmp), Sscofpmf (scountovf), Smstateen (x-stateen0..3),
/// Sdtrig (debug spec 5.7: tselect .. mcontext), the vector spec (3.x) and
/// Zkr (seed). RV32-only `...h` halves are not part of an RV64 table.
constexpr spec_csr spec_csrs[] = {
    {"fflags", csr::fflags, 0x001},
    {"frm", csr::frm, 0x002},
    {"fcsr", csr::fcsr, 0x003},
    {"vstart", csr::vstart, 0x008},
    {"vxsat", csr::vxsat, 0x009},
    {"vxrm", csr::vxrm, 0x00a},
    {"vcsr", csr::vcsr, 0x00f},
    {"seed", csr::seed, 0x015},
    {"cycle", csr::cycle, 0xc00},
    {"time", csr::time, 0xc01},
    {"instret", csr::instret, 0xc02},
    {"hpmcounter3", csr::hpmcounter3, 0xc03},
    {"hpmcounter4", csr::hpmcounter4, 0xc04},
    {"hpmcounter5", csr::hpmcounter5, 0xc05},
    {"hpmcounter6", csr::hpmcounter6, 0xc06},
    {"hpmcounter7", csr::hpmcounter7, 0xc07},
    {"hpmcounter8", csr::hpmcounter8, 0xc08},
    {"hpmcounter9", csr::hpmcounter9, 0xc09},
    {"hpmcounter10", csr::hpmcounter10, 0xc0a},
    {"hpmcounter11", csr::hpmcounter11, 0xc0b},
    {"hpmcounter12", csr::hpmcounter12, 0xc0c},
    {"hpmcounter13", csr::hpmcounter13, 0xc0d},
    {"hpmcounter14", csr::hpmcounter14, 0xc0e},
    {"hpmcounter15", csr::hpmcounter15, 0xc0f},
    {"hpmcounter16", csr::hpmcounter16, 0xc10},
    {"hpmcounter17", csr::hpmcounter17, 0xc11},
    {"hpmcounter18", csr::hpmcounter18, 0xc12},
    {"hpmcounter19", csr::hpmcounter19, 0xc13},
    {"hpmcounter20", csr::hpmcounter20, 0xc14},
    {"hpmcounter21", csr::hpmcounter21, 0xc15},
    {"hpmcounter22", csr::hpmcounter22, 0xc16},
    {"hpmcounter23", csr::hpmcounter23, 0xc17},
    {"hpmcounter24", csr::hpmcounter24, 0xc18},
    {"hpmcounter25", csr::hpmcounter25, 0xc19},
    {"hpmcounter26", csr::hpmcounter26, 0xc1a},
    {"hpmcounter27", csr::hpmcounter27, 0xc1b},
    {"hpmcounter28", csr::hpmcounter28, 0xc1c},
    {"hpmcounter29", csr::hpmcounter29, 0xc1d},
    {"hpmcounter30", csr::hpmcounter30, 0xc1e},
    {"hpmcounter31", csr::hpmcounter31, 0xc1f},
    {"vl", csr::vl, 0xc20},
    {"vtype", csr::vtype, 0xc21},
    {"vlenb", csr::vlenb, 0xc22},
    {"sstatus", csr::sstatus, 0x100},
    {"sie", csr::sie, 0x104},
    {"stvec", csr::stvec, 0x105},
    {"scounteren", csr::scounteren, 0x106},
    {"senvcfg", csr::senvcfg, 0x10a},
    {"sstateen0", csr::sstateen0, 0x10c},
    {"sstateen1", csr::sstateen1, 0x10d},
    {"sstateen2", csr::sstateen2, 0x10e},
    {"sstateen3", csr::sstateen3, 0x10f},
    {"sscratch", csr::sscratch, 0x140},
    {"sepc", csr::sepc, 0x141},
    {"scause", csr::scause, 0x142},
    {"stval", csr::stval, 0x143},
    {"sip", csr::sip, 0x144},
    {"stimecmp", csr::stimecmp, 0x14d},
    {"satp", csr::satp, 0x180},
    {"scontext", csr::scontext, 0x5a8},
    {"scountovf", csr::scountovf, 0xda0},
    {"hstatus", csr::hstatus, 0x600},
    {"hedeleg", csr::hedeleg, 0x602},
    {"hideleg", csr::hideleg, 0x603},
    {"hie", csr::hie, 0x604},
    {"htimedelta", csr::htimedelta, 0x605},
    {"hcounteren", csr::hcounteren, 0x606},
    {"hgeie", csr::hgeie, 0x607},
    {"henvcfg", csr::henvcfg, 0x60a},
    {"hstateen0", csr::hstateen0, 0x60c},
    {"hstateen1", csr::hstateen1, 0x60d},
    {"hstateen2", csr::hstateen2, 0x60e},
    {"hstateen3", csr::hstateen3, 0x60f},
    {"htval", csr::htval, 0x643},
    {"hip", csr::hip, 0x644},
    {"hvip", csr::hvip, 0x645},
    {"htinst", csr::htinst, 0x64a},
    {"hgatp", csr::hgatp, 0x680},
    {"hcontext", csr::hcontext, 0x6a8},
    {"hgeip", csr::hgeip, 0xe12},
    {"vsstatus", csr::vsstatus, 0x200},
    {"vsie", csr::vsie, 0x204},
    {"vstvec", csr::vstvec, 0x205},
    {"vsscratch", csr::vsscratch, 0x240},
    {"vsepc", csr::vsepc, 0x241},
    {"vscause", csr::vscause, 0x242},
    {"vstval", csr::vstval, 0x243},
    {"vsip", csr::vsip, 0x244},
    {"vstimecmp", csr::vstimecmp, 0x24d},
    {"vsatp", csr::vsatp, 0x280},
    {"mvendorid", csr::mvendorid, 0xf11},
    {"marchid", csr::marchid, 0xf12},
    {"mimpid", csr::mimpid, 0xf13},
    {"mhartid", csr::mhartid, 0xf14},
    {"mconfigptr", csr::mconfigptr, 0xf15},
    {"mstatus", csr::mstatus, 0x300},
    {"misa", csr::misa, 0x301},
    {"medeleg", csr::medeleg, 0x302},
    {"mideleg", csr::mideleg, 0x303},
    {"mie", csr::mie, 0x304},
    {"mtvec", csr::mtvec, 0x305},
    {"mcounteren", csr::mcounteren, 0x306},
    {"menvcfg", csr::menvcfg, 0x30a},
    {"mstateen0", csr::mstateen0, 0x30c},
    {"mstateen1", csr::mstateen1, 0x30d},
    {"mstateen2", csr::mstateen2, 0x30e},
    {"mstateen3", csr::mstateen3, 0x30f},
    {"mcountinhibit", csr::mcountinhibit, 0x320},
    {"mhpmevent3", csr::mhpmevent3, 0x323},
    {"mhpmevent4", csr::mhpmevent4, 0x324},
    {"mhpmevent5", csr::mhpmevent5, 0x325},
    {"mhpmevent6", csr::mhpmevent6, 0x326},
    {"mhpmevent7", csr::mhpmevent7, 0x327},
    {"mhpmevent8", csr::mhpmevent8, 0x328},
    {"mhpmevent9", csr::mhpmevent9, 0x329},
    {"mhpmevent10", csr::mhpmevent10, 0x32a},
    {"mhpmevent11", csr::mhpmevent11, 0x32b},
    {"mhpmevent12", csr::mhpmevent12, 0x32c},
    {"mhpmevent13", csr::mhpmevent13, 0x32d},
    {"mhpmevent14", csr::mhpmevent14, 0x32e},
    {"mhpmevent15", csr::mhpmevent15, 0x32f},
    {"mhpmevent16", csr::mhpmevent16, 0x330},
    {"mhpmevent17", csr::mhpmevent17, 0x331},
    {"mhpmevent18", csr::mhpmevent18, 0x332},
    {"mhpmevent19", csr::mhpmevent19, 0x333},
    {"mhpmevent20", csr::mhpmevent20, 0x334},
    {"mhpmevent21", csr::mhpmevent21, 0x335},
    {"mhpmevent22", csr::mhpmevent22, 0x336},
    {"mhpmevent23", csr::mhpmevent23, 0x337},
    {"mhpmevent24", csr::mhpmevent24, 0x338},
    {"mhpmevent25", csr::mhpmevent25, 0x339},
    {"mhpmevent26", csr::mhpmevent26, 0x33a},
    {"mhpmevent27", csr::mhpmevent27, 0x33b},
    {"mhpmevent28", csr::mhpmevent28, 0x33c},
    {"mhpmevent29", csr::mhpmevent29, 0x33d},
    {"mhpmevent30", csr::mhpmevent30, 0x33e},
    {"mhpmevent31", csr::mhpmevent31, 0x33f},
    {"mscratch", csr::mscratch, 0x340},
    {"mepc", csr::mepc, 0x341},
    {"mcause", csr::mcause, 0x342},
    {"mtval", csr::mtval, 0x343},
    {"mip", csr::mip, 0x344},
    {"mtinst", csr::mtinst, 0x34a},
    {"mtval2", csr::mtval2, 0x34b},
    {"mseccfg", csr::mseccfg, 0x747},
    {"pmpcfg0", csr::pmpcfg0, 0x3a0},
    {"pmpcfg2", csr::pmpcfg2, 0x3a2},
    {"pmpcfg4", csr::pmpcfg4, 0x3a4},
    {"pmpcfg6", csr::pmpcfg6, 0x3a6},
    {"pmpcfg8", csr::pmpcfg8, 0x3a8},
    {"pmpcfg10", csr::pmpcfg10, 0x3aa},
    {"pmpcfg12", csr::pmpcfg12, 0x3ac},
    {"pmpcfg14", csr::pmpcfg14, 0x3ae},
    {"pmpaddr0", csr::pmpaddr0, 0x3b0},
    {"pmpaddr1", csr::pmpaddr1, 0x3b1},
    {"pmpaddr2", csr::pmpaddr2, 0x3b2},
    {"pmpaddr3", csr::pmpaddr3, 0x3b3},
    {"pmpaddr4", csr::pmpaddr4, 0x3b4},
    {"pmpaddr5", csr::pmpaddr5, 0x3b5},
    {"pmpaddr6", csr::pmpaddr6, 0x3b6},
    {"pmpaddr7", csr::pmpaddr7, 0x3b7},
    {"pmpaddr8", csr::pmpaddr8, 0x3b8},
    {"pmpaddr9", csr::pmpaddr9, 0x3b9},
    {"pmpaddr10", csr::pmpaddr10, 0x3ba},
    {"pmpaddr11", csr::pmpaddr11, 0x3bb},
    {"pmpaddr12", csr::pmpaddr12, 0x3bc},
    {"pmpaddr13", csr::pmpaddr13, 0x3bd},
    {"pmpaddr14", csr::pmpaddr14, 0x3be},
    {"pmpaddr15", csr::pmpaddr15, 0x3bf},
    {"pmpaddr16", csr::pmpaddr16, 0x3c0},
    {"pmpaddr17", csr::pmpaddr17, 0x3c1},
    {"pmpaddr18", csr::pmpaddr18, 0x3c2},
    {"pmpaddr19", csr::pmpaddr19, 0x3c3},
    {"pmpaddr20", csr::pmpaddr20, 0x3c4},
    {"pmpaddr21", csr::pmpaddr21, 0x3c5},
    {"pmpaddr22", csr::pmpaddr22, 0x3c6},
    {"pmpaddr23", csr::pmpaddr23, 0x3c7},
    {"pmpaddr24", csr::pmpaddr24, 0x3c8},
    {"pmpaddr25", csr::pmpaddr25, 0x3c9},
    {"pmpaddr26", csr::pmpaddr26, 0x3ca},
    {"pmpaddr27", csr::pmpaddr27, 0x3cb},
    {"pmpaddr28", csr::pmpaddr28, 0x3cc},
    {"pmpaddr29", csr::pmpaddr29, 0x3cd},
    {"pmpaddr30", csr::pmpaddr30, 0x3ce},
    {"pmpaddr31", csr::pmpaddr31, 0x3cf},
    {"pmpaddr32", csr::pmpaddr32, 0x3d0},
    {"pmpaddr33", csr::pmpaddr33, 0x3d1},
    {"pmpaddr34", csr::pmpaddr34, 0x3d2},
    {"pmpaddr35", csr::pmpaddr35, 0x3d3},
    {"pmpaddr36", csr::pmpaddr36, 0x3d4},
    {"pmpaddr37", csr::pmpaddr37, 0x3d5},
    {"pmpaddr38", csr::pmpaddr38, 0x3d6},
    {"pmpaddr39", csr::pmpaddr39, 0x3d7},
    {"pmpaddr40", csr::pmpaddr40, 0x3d8},
    {"pmpaddr41", csr::pmpaddr41, 0x3d9},
    {"pmpaddr42", csr::pmpaddr42, 0x3da},
    {"pmpaddr43", csr::pmpaddr43, 0x3db},
    {"pmpaddr44", csr::pmpaddr44, 0x3dc},
    {"pmpaddr45", csr::pmpaddr45, 0x3dd},
    {"pmpaddr46", csr::pmpaddr46, 0x3de},
    {"pmpaddr47", csr::pmpaddr47, 0x3df},
    {"pmpaddr48", csr::pmpaddr48, 0x3e0},
    {"pmpaddr49", csr::pmpaddr49, 0x3e1},
    {"pmpaddr50", csr::pmpaddr50, 0x3e2},
    {"pmpaddr51", csr::pmpaddr51, 0x3e3},
    {"pmpaddr52", csr::pmpaddr52, 0x3e4},
    {"pmpaddr53", csr::pmpaddr53, 0x3e5},
    {"pmpaddr54", csr::pmpaddr54, 0x3e6},
    {"pmpaddr55", csr::pmpaddr55, 0x3e7},
    {"pmpaddr56", csr::pmpaddr56, 0x3e8},
    {"pmpaddr57", csr::pmpaddr57, 0x3e9},
    {"pmpaddr58", csr::pmpaddr58, 0x3ea},
    {"pmpaddr59", csr::pmpaddr59, 0x3eb},
    {"pmpaddr60", csr::pmpaddr60, 0x3ec},
    {"pmpaddr61", csr::pmpaddr61, 0x3ed},
    {"pmpaddr62", csr::pmpaddr62, 0x3ee},
    {"pmpaddr63", csr::pmpaddr63, 0x3ef},
    {"mcycle", csr::mcycle, 0xb00},
    {"minstret", csr::minstret, 0xb02},
    {"mhpmcounter3", csr::mhpmcounter3, 0xb03},
    {"mhpmcounter4", csr::mhpmcounter4, 0xb04},
    {"mhpmcounter5", csr::mhpmcounter5, 0xb05},
    {"mhpmcounter6", csr::mhpmcounter6, 0xb06},
    {"mhpmcounter7", csr::mhpmcounter7, 0xb07},
    {"mhpmcounter8", csr::mhpmcounter8, 0xb08},
    {"mhpmcounter9", csr::mhpmcounter9, 0xb09},
    {"mhpmcounter10", csr::mhpmcounter10, 0xb0a},
    {"mhpmcounter11", csr::mhpmcounter11, 0xb0b},
    {"mhpmcounter12", csr::mhpmcounter12, 0xb0c},
    {"mhpmcounter13", csr::mhpmcounter13, 0xb0d},
    {"mhpmcounter14", csr::mhpmcounter14, 0xb0e},
    {"mhpmcounter15", csr::mhpmcounter15, 0xb0f},
    {"mhpmcounter16", csr::mhpmcounter16, 0xb10},
    {"mhpmcounter17", csr::mhpmcounter17, 0xb11},
    {"mhpmcounter18", csr::mhpmcounter18, 0xb12},
    {"mhpmcounter19", csr::mhpmcounter19, 0xb13},
    {"mhpmcounter20", csr::mhpmcounter20, 0xb14},
    {"mhpmcounter21", csr::mhpmcounter21, 0xb15},
    {"mhpmcounter22", csr::mhpmcounter22, 0xb16},
    {"mhpmcounter23", csr::mhpmcounter23, 0xb17},
    {"mhpmcounter24", csr::mhpmcounter24, 0xb18},
    {"mhpmcounter25", csr::mhpmcounter25, 0xb19},
    {"mhpmcounter26", csr::mhpmcounter26, 0xb1a},
    {"mhpmcounter27", csr::mhpmcounter27, 0xb1b},
    {"mhpmcounter28", csr::mhpmcounter28, 0xb1c},
    {"mhpmcounter29", csr::mhpmcounter29, 0xb1d},
    {"mhpmcounter30", csr::mhpmcounter30, 0xb1e},
    {"mhpmcounter31", csr::mhpmcounter31, 0xb1f},
    {"tselect", csr::tselect, 0x7a0},
    {"tdata1", csr::tdata1, 0x7a1},
    {"tdata2", csr::tdata2, 0x7a2},
    {"tdata3", csr::tdata3, 0x7a3},
    {"tinfo", csr::tinfo, 0x7a4},
    {"tcontrol", csr::tcontrol, 0x7a5},
    {"mcontext", csr::mcontext, 0x7a8},
};

constexpr std::size_t spec_csr_count = sizeof(spec_csrs) / sizeof(spec_csrs[0]);

constexpr bool same_string(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

constexpr bool all_numbers_match() {
    for (const spec_csr& row : spec_csrs)
        if (static_cast<u16>(row.value) != row.number) return false;
    return true;
}

constexpr bool all_names_round_trip() {
    for (const spec_csr& row : spec_csrs)
        if (!same_string(vfm::riscv::name(row.value), row.name)) return false;
    return true;
}

constexpr bool all_known() {
    for (const spec_csr& row : spec_csrs)
        if (!vfm::riscv::is_known(row.number)) return false;
    return true;
}

/// "name=0xNNN" so that a failing CHECK shows which CSR is wrong.
std::string labelled(const char* name, unsigned number) {
    char text[64];
    std::snprintf(text, sizeof text, "%s=0x%03x", name, number);
    return text;
}

}  // namespace

TEST_CASE("csr: the enumeration is a 16-bit scoped enum", "[riscv][csr]") {
    STATIC_REQUIRE(std::is_same_v<std::underlying_type_t<csr>, std::uint16_t>);
    STATIC_REQUIRE(!std::is_convertible_v<csr, u16>);
}

TEST_CASE("csr: every CSR has the number the spec gives", "[riscv][csr]") {
    STATIC_REQUIRE(all_numbers_match());
    for (const spec_csr& row : spec_csrs)
        CHECK(labelled(row.name, static_cast<u16>(row.value)) == labelled(row.name, row.number));
}

TEST_CASE("csr: the table holds exactly the CSRs of the independent list", "[riscv][csr]") {
    STATIC_REQUIRE(spec_csr_count == 255);
    STATIC_REQUIRE(vfm::riscv::csr_count == 255);
    STATIC_REQUIRE(all_known());
    CHECK(vfm::riscv::csr_count == spec_csr_count);
    for (const spec_csr& row : spec_csrs) CHECK(labelled(row.name, vfm::riscv::is_known(row.number)) == labelled(row.name, 1));
}

TEST_CASE("csr: numbers outside the table are unknown", "[riscv][csr]") {
    // dcsr (debug mode only), pmpcfg1 (RV32 only), mstatush (RV32 only),
    // cycleh (RV32 only), uie (removed N extension), custom and unused numbers.
    constexpr u16 absent[] = {0x7b0, 0x3a1, 0x310, 0xc80, 0x004, 0x800, 0x7c0, 0xfff, 0x000, 0x3f0};
    STATIC_REQUIRE(!vfm::riscv::is_known(0x7b0));
    STATIC_REQUIRE(!vfm::riscv::is_known(0x3a1));
    for (u16 number : absent) CHECK(!vfm::riscv::is_known(number));
}

TEST_CASE("csr: name() round trip", "[riscv][csr]") {
    STATIC_REQUIRE(all_names_round_trip());
    STATIC_REQUIRE(same_string(vfm::riscv::name(csr::mstatus), "mstatus"));
    STATIC_REQUIRE(same_string(vfm::riscv::name(static_cast<csr>(0x7b0)), "unknown"));
    for (const spec_csr& row : spec_csrs) CHECK(std::string(vfm::riscv::name(row.value)) == row.name);
    CHECK(std::string(vfm::riscv::name(csr::pmpaddr63)) == "pmpaddr63");
    CHECK(std::string(vfm::riscv::name(static_cast<csr>(0x3a1))) == "unknown");
}

TEST_CASE("csr: read-only and privilege follow from the number (priv. spec 2.1, table 2.1)", "[riscv][csr]") {
    struct row {
        u16 number;
        unsigned privilege;  // csr[9:8]: 0 U, 1 S, 2 HS/VS, 3 M
        bool read_only;      // csr[11:10] == 0b11
    };
    constexpr row rows[] = {
        {0x001, 0, false},  // fflags: user standard read/write
        {0x015, 0, false},  // seed
        {0x800, 0, false},  // user custom read/write
        {0xc00, 0, true},   // cycle: user standard read-only
        {0xc22, 0, true},   // vlenb
        {0xcc0, 0, true},   // user custom read-only
        {0x100, 1, false},  // sstatus
        {0x180, 1, false},  // satp
        {0x5a8, 1, false},  // scontext
        {0x5c0, 1, false},  // supervisor custom read/write
        {0xda0, 1, true},   // scountovf: supervisor read-only
        {0x200, 2, false},  // vsstatus
        {0x600, 2, false},  // hstatus
        {0x6a8, 2, false},  // hcontext
        {0xe12, 2, true},   // hgeip: hypervisor read-only
        {0x300, 3, false},  // mstatus
        {0x3ef, 3, false},  // pmpaddr63
        {0x747, 3, false},  // mseccfg
        {0x7a0, 3, false},  // tselect
        {0x7b0, 3, false},  // dcsr (debug mode only, still read/write by number)
        {0x7c0, 3, false},  // machine custom read/write
        {0xb00, 3, false},  // mcycle
        {0xb1f, 3, false},  // mhpmcounter31
        {0xf11, 3, true},   // mvendorid: machine read-only
        {0xf15, 3, true},   // mconfigptr
        {0xfc0, 3, true},   // machine custom read-only
    };
    STATIC_REQUIRE(vfm::riscv::minimum_privilege_bits(0x600) == 2);
    STATIC_REQUIRE(vfm::riscv::is_read_only(0xc01));
    STATIC_REQUIRE(!vfm::riscv::is_read_only(0x300));
    for (const row& r : rows) {
        CHECK(labelled("privilege", vfm::riscv::minimum_privilege_bits(r.number)) ==
              labelled("privilege", r.privilege));
        CHECK(labelled("read_only", vfm::riscv::is_read_only(r.number)) == labelled("read_only", r.read_only));
    }
}

TEST_CASE("csr: group_of", "[riscv][csr]") {
    struct row {
        u16 number;
        csr_group group;
    };
    constexpr row rows[] = {
        {0x001, csr_group::user_float},          {0xc20, csr_group::user_vector},
        {0x015, csr_group::user_entropy},        {0xc1f, csr_group::user_counter},
        {0x100, csr_group::supervisor},          {0x10f, csr_group::supervisor_stateen},
        {0x14d, csr_group::supervisor_sstc},     {0x5a8, csr_group::supervisor_debug},
        {0xda0, csr_group::supervisor_sscofpmf}, {0x600, csr_group::hypervisor},
        {0x60c, csr_group::hypervisor_stateen},  {0x280, csr_group::virtual_supervisor},
        {0xf14, csr_group::machine_info},        {0x300, csr_group::machine},
        {0x30f, csr_group::machine_stateen},     {0x320, csr_group::machine_counter},
        {0x33f, csr_group::machine_counter},     {0xb02, csr_group::machine_counter},
        {0x3ae, csr_group::machine_pmp},         {0x3ef, csr_group::machine_pmp},
        {0x747, csr_group::machine_pmp},         {0x7a0, csr_group::machine_debug},
    };
    for (const row& r : rows) {
        csr_group group = csr_group::machine_info;
        CHECK(vfm::riscv::group_of(r.number, group));
        CHECK(group == r.group);
    }
    csr_group untouched = csr_group::hypervisor;
    CHECK(!vfm::riscv::group_of(0x7b0, untouched));
    CHECK(untouched == csr_group::hypervisor);
    STATIC_REQUIRE([] {
        csr_group g = csr_group::machine_info;
        return vfm::riscv::group_of(0x14d, g) && g == csr_group::supervisor_sstc;
    }());
}

TEST_CASE("csr: pmpcfg and pmpaddr numbers (priv. spec 3.7.1)", "[riscv][csr][pmp]") {
    STATIC_REQUIRE(vfm::riscv::pmpcfg_number(0) == 0x3a0);
    STATIC_REQUIRE(vfm::riscv::pmpcfg_number(14) == 0x3ae);
    STATIC_REQUIRE(vfm::riscv::pmpaddr_number(0) == 0x3b0);
    STATIC_REQUIRE(vfm::riscv::pmpaddr_number(63) == 0x3ef);
    CHECK(vfm::riscv::pmpcfg_number(2) == 0x3a2);
    CHECK(vfm::riscv::pmpcfg_number(8) == 0x3a8);
    CHECK(vfm::riscv::pmpaddr_number(15) == 0x3bf);
    CHECK(vfm::riscv::pmpaddr_number(16) == 0x3c0);
    CHECK(vfm::riscv::pmpaddr_number(63) == 0x3ef);
}
