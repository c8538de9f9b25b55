// SPDX-License-Identifier: MIT
// Bus masters (DMA) denied to the firmware (docs/pmp.md, virt/pmp_layout.hpp's
// tail, virt/engine.hpp), over the host backend: the board's memory_layout
// lists QEMU virt's bus masters, the hart's own PMP checker (written from priv.
// spec 3.7.1 independently of the engine) must
//   - deny every bus master to the firmware (physical U-mode, in both of its
//     views), whatever the firmware programs;
//   - give the OS exactly the firmware's virtual entries, bus masters included;
// and a world switch must rewrite a tail slot's pmpaddr only where the OS's
// world needs the slot. Expected values are literals worked out from 3.7.1.
#include <initializer_list>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "virt_support.hpp"

using namespace vt;
using host::access_type;

namespace {

using namespace pmp_access;

/// Runs the firmware's access `op` with its base register x11 = `base`, and
/// checks that the fault `cause` (mtval = `tval`) reached the firmware's
/// vector with mepc at the access (priv. spec 3.7.1: a PMP denial is an
/// access fault).
void expect_access_fault(cpu& c, const enc::mem_op& op, u64 base, u64 cause, u64 tval) {
    c.h.x[11] = base;
    const u64 pc = c.pc();
    c.access(op);
    c.expect_delivered(cause, tval, pc);
}

/// QEMU virt's bus masters, merged (fdt::bus_master_ranges of its tree).
memory_layout qemu_bus_masters() {
    return host::with_bus_masters(host::qemu_virt_layout(), {
                                                                {0x300'0000, 0x1'0000},          // PCI I/O: NAPOT
                                                                {0x1000'1000, 0xf'f018},         // virtio, fw_cfg: TOR
                                                                {0x3000'0000, 0x5000'0000},      // ECAM + 32-bit: TOR
                                                                {0x4'0000'0000, 0x4'0000'0000},  // 64-bit: NAPOT
                                                            });
}

// Their tail at G = 0, in physical entries 9-14 of a 16-entry hart (0 monitor,
// 1 CLINT, 2 floor, 3-14 virtual 0-11, 15 everything): NAPOT, OFF base + TOR,
// OFF base + TOR, NAPOT; no permission.
constexpr u64 tail_addr[6] = {0xc0'1fff, 0x400'0400, 0x404'0006, 0xc00'0000, 0x2000'0000, 0x1'7fff'ffff};
constexpr u64 tail_cfg2 = 0x1f18'0800'0800'1800;  // pmpcfg2 while the firmware runs with only the tail above 8
constexpr u64 everything = 0x3f'ffff'ffff'ffff;  // NAPOT over the whole 56-bit space

/// Every bus master, first and last bytes and some in between, for every
/// access type: denied to physical U-mode (the firmware).
void check_bus_masters_denied(cpu& c) {
    for (const access_type t : {R, W, X}) {
        check_pmp(c, privilege::user,
              {{0x300'0000, 4, t, false},   {0x300'fffc, 4, t, false},    {0x1000'1000, 4, t, false},
               {0x1000'4000, 8, t, false},  {0x1005'0000, 8, t, false},   {0x1010'0000, 8, t, false},
               {0x1010'0014, 4, t, false},  {0x3000'0000, 8, t, false},   {0x3fff'fff8, 8, t, false},
               {0x4000'0000, 8, t, false},  {0x7fff'fffc, 4, t, false},   {0x4'0000'0000, 8, t, false},
               {0x7'ffff'fff8, 8, t, false},
               {0x1000'0ffc, 8, t, false},   // straddles into the first transport
               {0x2fff'fffc, 8, t, false}}); // straddles into the ECAM
    }
}

/// What lies around the bus masters stays the firmware's: denied only where
/// the firmware's own locked entries or the monitor say so (not here).
void check_neighbours_allowed(cpu& c) {
    for (const access_type t : {R, W, X}) {
        check_pmp(c, privilege::user,
              {{0x2ff'fffc, 4, t, true},   {0x301'0000, 4, t, true},   {0x1000'0000, 8, t, true},
               {0x1000'0ffc, 4, t, true},  {0x1010'0018, 8, t, true},  {0xc00'0000, 4, t, true},
               {0x2000'0000, 8, t, true},  {0x2fff'fff8, 8, t, true},  {0x8020'0000, 8, t, true},
               {0x3'ffff'fff8, 8, t, true}, {0x8'0000'0000, 8, t, true}});
    }
}

/// The firmware programs virtual entries 0.. with (pmpaddr, cfg) each, the
/// addresses first, then pmpcfg0 (and pmpcfg2), as OpenSBI does.
struct entry {
    u64 addr;
    u8 cfg;
};
void program(cpu& c, std::initializer_list<entry> entries) {
    u64 cfg[2] = {};
    unsigned i = 0;
    for (const entry& e : entries) {
        c.csrw(static_cast<csr>(static_cast<u16>(csr::pmpaddr0) + i), e.addr);
        cfg[i / 8] |= u64{e.cfg} << (8 * (i % 8));
        ++i;
    }
    c.csrw(csr::pmpcfg0, cfg[0]);
    if (i > 8) c.csrw(csr::pmpcfg2, cfg[1]);
}

/// An OpenSBI-1.6-like program of 8 entries ending in "all memory RWX": on a
/// 16-entry hart its entries 6 and 7 fall in the tail's slots (virtual 6-11).
///   0 NAPOT [0x2000000, +64 KiB)    CLINT, M only       0x801fff
///   1 NAPOT [0x80140000, +128 KiB)  firmware data       0x20053fff
///   2 NAPOT [0x80100000, +256 KiB)  firmware code       0x20047fff
///   3 NAPOT [0x10000000, +4 KiB)    UART, R W           0x40001ff
///   4 NAPOT [0x10000000, +256 MiB)  MMIO, R W           0x5ffffff    over bus masters
///   5 OFF, the base of 6            0xc000000           0x3000000
///   6 TOR [0xc000000, 0xc600000)    PLIC, R W           0x3180000    tail slot
///   7 NAPOT everything              R W X               all ones     tail slot, over bus masters
void program_opensbi_like(cpu& c) {
    program(c, {{0x80'1fff, 0x18},
                {0x2005'3fff, 0x18},
                {0x2004'7fff, 0x18},
                {0x400'01ff, 0x1b},
                {0x5ff'ffff, 0x1b},
                {0x300'0000, 0x00},
                {0x318'0000, 0x0b},
                {~u64{0}, 0x1f}});
}

/// The S- and U-mode decisions of priv. spec 3.7.1 for that program (lowest
/// match decides, a partial match fails, no match fails), bus masters included.
void check_os_view_of_opensbi_like(cpu& c) {
    for (const privilege p : {privilege::supervisor, privilege::user}) {
        check_pmp(c, p,
              {
                  {0x200'0000, 4, R, false},     {0x8010'0000, 4, X, false},    {0x8014'0000, 8, W, false},
                  {0x1000'0000, 4, R, true},     {0x1000'0000, 4, W, true},     {0x1000'0000, 4, X, false},
                  {0x1000'0ffc, 8, R, false},    // entry 3 matches partly
                  {0x1000'1000, 8, R, true},     {0x1000'1000, 8, W, true},     {0x1000'1000, 4, X, false},  // 4
                  {0x1010'0000, 8, W, true},     {0x1010'0014, 4, R, true},     {0x1fff'fffc, 8, R, false},  // 4
                  {0xc00'0000, 4, R, true},      {0xc5f'fffc, 4, W, true},      {0xc00'0000, 4, X, false},  // 6
                  {0xc60'0000, 4, X, true},      {0xbff'fffc, 4, W, true},      // 7
                  {0x300'0000, 8, W, true},      {0x300'0000, 4, X, true},      // 7: the PCI I/O window
                  {0x3000'0000, 8, R, true},     {0x4000'0000, 8, W, true},     {0x7fff'fff8, 8, X, true},
                  {0x4'0000'0000, 8, W, true},   {0x7'ffff'fff8, 8, R, true},
                  {0x8020'0000, 8, W, true},     {0x8020'0000, 4, X, true},     // RAM: 7
                  {0x8000'0000, 8, R, false},    {0x8001'fff8, 8, X, false},    // the monitor
              });
    }
}

/// A PMP CSR write, for comparing sequences.
struct pmp_write {
    u16 number;
    u64 value;
    friend bool operator==(const pmp_write&, const pmp_write&) = default;
};
std::ostream& operator<<(std::ostream& s, const pmp_write& w) {
    const u16 n = w.number;
    return s << (n < 0x3b0 ? fmt::format("pmpcfg{}", n - 0x3a0) : fmt::format("pmpaddr{}", n - 0x3b0)) << " = "
             << hex(w.value);
}

/// The PMP CSR writes (pmpcfg0-15 0x3a0-0x3af, pmpaddr0-63 0x3b0-0x3ef) in the log, in order.
std::vector<pmp_write> pmp_writes(cpu& c) {
    std::vector<pmp_write> out;
    for (const auto& w : c.hw.log().csr_writes()) {
        const u16 n = static_cast<u16>(w.number);
        if (n >= 0x3a0 && n <= 0x3ef) out.push_back({n, w.new_value});
    }
    return out;
}

constexpr u16 pmpcfg0 = 0x3a0, pmpcfg2 = 0x3a2;
constexpr u16 pmpaddr(unsigned i) { return static_cast<u16>(0x3b0 + i); }

u64 physical(cpu& c, u16 number) { return c.hw.peek_csr(static_cast<csr>(number)).value(); }

/// The OS makes an SBI call (OS -> firmware) at `pc`.
void os_ecall(cpu& c, u64 pc) {
    c.jump(pc);
    c.trap(riscv::exception::ecall_from_s, 0);
    c.expect_delivered(9, 0, pc);
}
/// The firmware returns to the OS after the ecall (firmware -> OS).
void firmware_returns(cpu& c) {
    const u64 epc = c.csrr(csr::mepc);
    c.csrw(csr::mepc, epc + 4);
    c.hw.log().clear();
    c.exec(enc::mret);
    REQUIRE(c.mode() == privilege::supervisor);
    REQUIRE(c.pc() == epc + 4);
}

}  // namespace

TEST_CASE("bus masters: the tail denies them to the firmware from boot", "[virt][pmp][dma]") {
    machine m{qemu_h::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    REQUIRE(c.boot() == boot_error::none);
    REQUIRE(c.mode() == privilege::user);

    for (unsigned k = 0; k < 6; ++k) {
        INFO("tail slot " << k);
        CHECK(physical(c, pmpaddr(9 + k)) == tail_addr[k]);
    }
    CHECK(physical(c, pmpaddr(15)) == everything);
    CHECK(physical(c, pmpcfg0) == 0x1818);  // monitor, CLINT; the floor and virtual entries 0-5 OFF
    CHECK(physical(c, pmpcfg2) == tail_cfg2);
    check_bus_masters_denied(c);
    check_neighbours_allowed(c);

    SECTION("the firmware's own view of its PMP is untouched: 12 entries, all zero") {
        c.csrw(csr::mtvec, firmware_vector);
        CHECK(c.csrr(csr::pmpcfg0) == 0);
        CHECK(c.csrr(csr::pmpcfg2) == 0);
        for (const csr n : {csr::pmpaddr6, csr::pmpaddr11}) CHECK(c.csrr(n) == 0);
    }
    SECTION("a load or store of the firmware there is an access fault delivered to it") {
        c.csrw(csr::mtvec, firmware_vector);
        expect_access_fault(c, enc::lw(10, 11, 0), 0x1000'1000, 5, 0x1000'1000);
        c.return_to(firmware_entry + 0x100);
        expect_access_fault(c, enc::sd(10, 11, 0), 0x1010'0010, 7, 0x1010'0010);
    }
}

TEST_CASE("bus masters: the firmware's entries in both worlds, with tail conflicts", "[virt][pmp][dma]") {
    machine m{qemu_h::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    program_opensbi_like(c);
    CHECK(c.csrr(csr::pmpcfg0) == 0x1f0b'001b'1b18'1818);  // as written (3.7.1 WARL: all legal)
    CHECK(c.csrr(csr::pmpaddr7) == everything);

    // ---- the firmware runs: its entries 0-3 RWX, 4 (over bus masters) OFF, 5 OFF,
    // then the tail in 9-14 (entries 6 and 7 are not in force for it), everything RWX.
    CHECK(physical(c, pmpcfg0) == 0x001f'1f1f'1f00'1818);
    CHECK(physical(c, pmpcfg2) == tail_cfg2);
    for (unsigned k = 0; k < 6; ++k) CHECK(physical(c, pmpaddr(9 + k)) == tail_addr[k]);
    CHECK(physical(c, pmpaddr(3)) == 0x80'1fff);
    CHECK(physical(c, pmpaddr(7)) == 0x5ff'ffff);
    CHECK(physical(c, pmpaddr(8)) == 0x300'0000);
    check_bus_masters_denied(c);
    check_neighbours_allowed(c);
    check_pmp(c, privilege::user, {{0x1000'0800, 8, W, true},   // entry 4's range outside the bus masters
                               {0x8010'0000, 4, X, true},   // its own code and data (unlocked entries)
                               {0x8014'0000, 8, W, true},
                               {0x8000'0000, 4, R, false}}); // never the monitor

    // ---- the OS runs: exactly the firmware's 8 entries; slots 9 and 10 hold them.
    c.hw.log().clear();
    c.enter_os(os_entry);
    CHECK(physical(c, pmpaddr(9)) == 0x318'0000);
    CHECK(physical(c, pmpaddr(10)) == everything);
    for (unsigned k = 2; k < 6; ++k) CHECK(physical(c, pmpaddr(9 + k)) == tail_addr[k]);  // not needed: kept
    CHECK(physical(c, pmpcfg0) == 0x1b1b'1818'1800'1818);
    CHECK(physical(c, pmpcfg2) == 0x0000'0000'001f'0b00);
    check_os_view_of_opensbi_like(c);

    // ---- world switches rewrite the two conflicting slots, then the configuration.
    for (const bool fast : {true, false}) {
        INFO((fast ? "fast path" : "general path"));
        c.fast_path = fast;
        c.hw.log().clear();
        os_ecall(c, os_entry + 0x40);
        const std::vector<pmp_write> in = pmp_writes(c);
        CHECK(in == std::vector<pmp_write>{{pmpaddr(9), tail_addr[0]},
                                           {pmpaddr(10), tail_addr[1]},
                                           {pmpcfg0, 0x001f'1f1f'1f00'1818},
                                           {pmpcfg2, tail_cfg2}});
        check_bus_masters_denied(c);
        firmware_returns(c);
        CHECK(pmp_writes(c) == std::vector<pmp_write>{{pmpaddr(9), 0x318'0000},
                                                      {pmpaddr(10), everything},
                                                      {pmpcfg0, 0x1b1b'1818'1800'1818},
                                                      {pmpcfg2, 0x0000'0000'001f'0b00}});
        check_os_view_of_opensbi_like(c);
    }
}

TEST_CASE("bus masters: without conflicts a world switch writes no pmpaddr", "[virt][pmp][dma]") {
    machine m{qemu_h::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // Six entries, the last "all memory RWX": the tail's slots stay unused by the OS.
    program(c, {{0x80'1fff, 0x18},
                {0x2005'3fff, 0x18},
                {0x2004'7fff, 0x18},
                {0x400'01ff, 0x1b},
                {0x5ff'ffff, 0x1b},
                {~u64{0}, 0x1f}});
    CHECK(physical(c, pmpcfg0) == 0x001f'1f1f'1f00'1818);
    CHECK(physical(c, pmpcfg2) == tail_cfg2);  // entry 5 (physical 8), over bus masters: OFF
    check_bus_masters_denied(c);

    c.hw.log().clear();
    c.enter_os(os_entry);
    CHECK(pmp_writes(c) == std::vector<pmp_write>{{pmpcfg0, 0x1b1b'1818'1800'1818}, {pmpcfg2, 0x1f}});
    for (unsigned k = 0; k < 6; ++k) CHECK(physical(c, pmpaddr(9 + k)) == tail_addr[k]);
    check_pmp(c, privilege::supervisor,
          {{0x1000'1000, 8, W, true}, {0x300'0000, 8, R, true}, {0x4'0000'0000, 8, W, true},
           {0x8020'0000, 4, X, true}, {0x8010'0000, 4, R, false}});

    c.hw.log().clear();
    os_ecall(c, os_entry + 0x40);
    CHECK(pmp_writes(c) == std::vector<pmp_write>{{pmpcfg0, 0x001f'1f1f'1f00'1818}, {pmpcfg2, tail_cfg2}});
    check_bus_masters_denied(c);
    firmware_returns(c);
    CHECK(pmp_writes(c) == std::vector<pmp_write>{{pmpcfg0, 0x1b1b'1818'1800'1818}, {pmpcfg2, 0x1f}});
}

TEST_CASE("bus masters: a tail slot's pmpaddr, written by the firmware", "[virt][pmp][dma]") {
    machine m{qemu_h::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    c.boot_with_vector();

    SECTION("is not written to the hart while the firmware runs, and reads back as written") {
        c.hw.log().clear();
        c.csrw(csr::pmpaddr6, 0x2008'0000);
        c.csrw(csr::pmpaddr5, 0x2004'0000);
        CHECK(c.hw.log().writes_to(static_cast<csr>(pmpaddr(9))).empty());
        CHECK(physical(c, pmpaddr(9)) == tail_addr[0]);
        REQUIRE(c.hw.log().writes_to(static_cast<csr>(pmpaddr(8))).size() == 1);  // virtual 5: no tail slot
        CHECK(physical(c, pmpaddr(8)) == 0x2004'0000);
        CHECK(c.csrr(csr::pmpaddr6) == 0x2008'0000);
        // Not configured, nor the base of a TOR entry: no conflict, nothing to rewrite.
        c.hw.log().clear();
        c.enter_os(os_entry);
        for (const pmp_write& w : pmp_writes(c)) CHECK(w.number < pmpaddr(0));
        CHECK(physical(c, pmpaddr(9)) == tail_addr[0]);
    }
    SECTION("the base of a TOR entry above: rewritten for the OS") {
        // 6: OFF, base 0x80200000; 7: TOR [0x80200000, 0x80400000) R W X.
        c.csrw(csr::pmpaddr6, 0x2008'0000);
        c.csrw(csr::pmpaddr7, 0x2010'0000);
        c.csrw(csr::pmpcfg0, 0x0f00'0000'0000'0000);
        CHECK(physical(c, pmpaddr(9)) == tail_addr[0]);
        CHECK(physical(c, pmpaddr(10)) == tail_addr[1]);
        CHECK(physical(c, pmpcfg2) == tail_cfg2);
        check_bus_masters_denied(c);
        c.hw.log().clear();
        c.enter_os(os_entry);
        CHECK(pmp_writes(c) == std::vector<pmp_write>{{pmpaddr(9), 0x2008'0000},
                                                      {pmpaddr(10), 0x2010'0000},
                                                      {pmpcfg2, 0x0000'0000'000f'0000}});
        check_pmp(c, privilege::supervisor,
              {{0x8020'0000, 8, W, true}, {0x803f'fff8, 8, X, true}, {0x8040'0000, 4, R, false},
               {0x801f'fffc, 4, R, false}, {0x801f'fffc, 8, R, false}, {0x1000'1000, 4, R, false}});
    }
    SECTION("configured with the tail's own address: no conflict") {
        // 6: NAPOT [0x3000000, +64 KiB) R W, exactly the tail's first entry.
        c.csrw(csr::pmpaddr6, 0xc0'1fff);
        c.csrw(csr::pmpcfg0, 0x1b'0000'0000'0000);
        c.hw.log().clear();
        c.enter_os(os_entry);
        CHECK(pmp_writes(c) == std::vector<pmp_write>{{pmpcfg2, 0x0000'0000'0000'1b00}});
        check_pmp(c, privilege::supervisor, {{0x300'0000, 8, W, true}, {0x300'fff8, 8, R, true},
                                         {0x300'0000, 4, X, false}, {0x301'0000, 4, R, false}});
    }
    SECTION("a conflict that goes away leaves the tail's address in both worlds") {
        program_opensbi_like(c);
        // During an SBI call the firmware turns entries 6 and 7 off.
        c.enter_os(os_entry);
        os_ecall(c, os_entry + 0x40);
        c.csrc(csr::pmpcfg0, 0xffff'0000'0000'0000);
        CHECK(physical(c, pmpaddr(9)) == tail_addr[0]);
        CHECK(physical(c, pmpaddr(10)) == tail_addr[1]);
        firmware_returns(c);
        CHECK(pmp_writes(c) == std::vector<pmp_write>{{pmpcfg0, 0x1b1b'1818'1800'1818}, {pmpcfg2, 0}});
        CHECK(physical(c, pmpaddr(9)) == tail_addr[0]);
        CHECK(physical(c, pmpaddr(10)) == tail_addr[1]);
        check_pmp(c, privilege::supervisor, {{0x8020'0000, 4, R, false}, {0x1000'1000, 4, R, true}});
    }
}

TEST_CASE("bus masters: a firmware entry over one is OFF for the firmware, as written for the OS", "[virt][pmp][dma]") {
    machine m{qemu_h::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    c.boot_with_vector();

    SECTION("unlocked") {
        // 0: NAPOT [0x10000000, +256 MiB) R W over the transports and fw_cfg.
        program(c, {{0x5ff'ffff, 0x1b}});
        CHECK(physical(c, pmpcfg0) == 0x1818);  // entry 0 (physical 3) OFF
        check_bus_masters_denied(c);
        check_pmp(c, privilege::user, {{0x1000'0000, 8, W, true}, {0x2000'0000, 8, X, true}});
        c.enter_os(os_entry);
        CHECK(physical(c, pmpcfg0) == 0x1b00'1818);
        check_pmp(c, privilege::supervisor, {{0x1000'1000, 8, W, true}, {0x1010'0000, 8, R, true},
                                         {0x1000'1000, 4, X, false}, {0x1fff'fff8, 8, W, true},
                                         {0x2000'0000, 4, R, false}});
    }
    SECTION("locked with permissions") {
        // 0: NAPOT [0x10000000, +256 MiB) R L. Natively it would bind M-mode to
        // R there; here the firmware gets the tail's denial over the bus masters
        // and (the stated deviation) everything else of the range.
        program(c, {{0x5ff'ffff, 0x99}});
        CHECK(physical(c, pmpcfg0) == 0x1818);
        check_bus_masters_denied(c);
        c.enter_os(os_entry);
        CHECK(physical(c, pmpcfg0) == 0x1900'1818);
        check_pmp(c, privilege::supervisor, {{0x1000'1000, 8, R, true}, {0x1000'1000, 8, W, false}});
    }
    SECTION("locked without permissions stays: it denies already") {
        program(c, {{0x5ff'ffff, 0x98}});
        CHECK(physical(c, pmpcfg0) == 0x1800'1818);
        check_bus_masters_denied(c);
        check_pmp(c, privilege::user, {{0x1000'0000, 4, R, false}, {0x2000'0000, 4, R, true}});
    }
    SECTION("an entry next to the bus masters is not over them") {
        // 0: NAPOT [0x10000000, +4 KiB) R W, the UART: RWX for the firmware.
        program(c, {{0x400'01ff, 0x1b}});
        CHECK(physical(c, pmpcfg0) == 0x1f00'1818);
    }
}

TEST_CASE("bus masters: a locked entry in a tail slot binds the OS's world, not the firmware", "[virt][pmp][dma]") {
    // The deviation docs/pmp.md states: while the firmware runs, the tail's
    // slots (virtual 6-11 here) hold the bus masters' denials, so a locked
    // entry there does not bind the firmware (natively L binds M-mode, priv.
    // spec 3.7.1). The OS's world gets it as written, and the bus masters stay
    // denied. Entry 11: NAPOT [0x80100000, +256 KiB) R X L.
    machine m{qemu_h::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    c.csrw(csr::pmpaddr11, 0x2004'7fff);
    c.csrw(csr::pmpcfg2, 0x9d00'0000);
    CHECK(c.csrr(csr::pmpcfg2) == 0x9d00'0000);
    CHECK(physical(c, pmpcfg2) == tail_cfg2);
    CHECK(physical(c, pmpaddr(14)) == tail_addr[5]);
    check_pmp(c, privilege::user, {{0x8010'0000, 8, R, true}, {0x8010'0000, 4, X, true}});
    check_pmp(c, privilege::user, {{0x8010'0000, 8, W, true}});  // natively a store access fault
    check_bus_masters_denied(c);
    c.enter_os(os_entry);
    check_pmp(c, privilege::supervisor, {{0x8010'0000, 8, R, true}, {0x8010'0000, 8, W, false}});
    // Locked: the firmware's writes to it are ignored (3.7.1).
    os_ecall(c, os_entry + 0x40);
    c.csrw(csr::pmpaddr11, 0);
    c.csrw(csr::pmpcfg2, 0);
    CHECK(c.csrr(csr::pmpaddr11) == 0x2004'7fff);
    CHECK(c.csrr(csr::pmpcfg2) == 0x9d00'0000);
    check_bus_masters_denied(c);
}

TEST_CASE("bus masters: the firmware under virtual MPRV", "[virt][pmp][dma][mprv]") {
    machine m{qemu_h::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    program_opensbi_like(c);
    c.hw.poke<u64>(0x8020'0000, 0x0123'4567'89ab'cdef);
    // MPRV = 1, MPP = S: loads and stores as S with the OS's PMP (3.1.6.3).
    c.csrs(csr::mstatus, 0x2'0800);
    // firmware_mprv: X only, the tail in place.
    CHECK(physical(c, pmpcfg0) == 0x001c'1c1c'1c00'1818);
    CHECK(physical(c, pmpcfg2) == 0x1c18'0800'0800'1800);
    for (unsigned k = 0; k < 6; ++k) CHECK(physical(c, pmpaddr(9 + k)) == tail_addr[k]);
    check_bus_masters_denied(c);
    check_pmp(c, privilege::user, {{0x8020'0000, 8, R, false}, {0x8020'0000, 4, X, true}, {c.pc(), 4, X, true}});

    SECTION("a load from RAM as S: entry 7 of the OS's view decides (slot 10 rewritten for it, then back)") {
        c.h.x[11] = 0x8020'0000;
        c.hw.log().clear();
        CHECK(c.access(enc::ld(10, 11, 0)).advanced);
        CHECK(c.h.x[10] == 0x0123'4567'89ab'cdef);
        bool os_addresses = false;
        for (const pmp_write& w : pmp_writes(c))
            if (w.number == pmpaddr(10) && w.value == everything) os_addresses = true;
        CHECK(os_addresses);
        CHECK(physical(c, pmpaddr(9)) == tail_addr[0]);
        CHECK(physical(c, pmpaddr(10)) == tail_addr[1]);
        CHECK(physical(c, pmpcfg0) == 0x001c'1c1c'1c00'1818);
    }
    SECTION("a load from a bus master as S is refused though the OS's entry 4 allows S") {
        expect_access_fault(c, enc::lw(10, 11, 0), 0x1000'1000, 5, 0x1000'1000);
        CHECK(physical(c, pmpaddr(9)) == tail_addr[0]);
        CHECK(physical(c, pmpaddr(10)) == tail_addr[1]);
    }
    SECTION("a store to the PCI I/O window likewise") {
        expect_access_fault(c, enc::sw(10, 11, 8), 0x300'0000, 7, 0x300'0008);
    }
}

TEST_CASE("bus masters: a 64-entry hart has the tail far above the firmware's entries", "[virt][pmp][dma]") {
    machine m{h64::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // Virtual 54-59 = physical 57-62 (pmpcfg14: entries 56-63).
    for (unsigned k = 0; k < 6; ++k) CHECK(physical(c, pmpaddr(57 + k)) == tail_addr[k]);
    CHECK(physical(c, static_cast<u16>(0x3ae)) == tail_cfg2);
    program_opensbi_like(c);
    check_bus_masters_denied(c);
    c.hw.log().clear();
    c.enter_os(os_entry);
    // Entries 6 and 7 are in slots of their own: no pmpaddr to rewrite.
    CHECK(pmp_writes(c) == std::vector<pmp_write>{{pmpcfg0, 0x1b1b'1818'1800'1818},
                                                  {pmpcfg2, 0x0000'0000'001f'0b00},
                                                  {static_cast<u16>(0x3ae), 0}});
    check_os_view_of_opensbi_like(c);
}

TEST_CASE("bus masters: widened to the hart's granularity (G = 10)", "[virt][pmp][dma]") {
    host::hart_config config = qemu_h::make();
    config.pmp_granularity = 10;  // 4 KiB
    machine m{config, 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    REQUIRE(c.boot() == boot_error::none);
    // fw_cfg's 0x18 bytes end the TOR at 0x10101000 (read back: TOR bits [9:0] zero).
    CHECK(physical(c, pmpaddr(10)) == 0x400'0400);
    CHECK(physical(c, pmpaddr(11)) == 0x404'0400);
    check_bus_masters_denied(c);
    check_pmp(c, privilege::user, {{0x1010'0018, 4, R, false}, {0x1010'0ffc, 4, W, false}, {0x1010'1000, 4, R, true},
                               {0x1000'0ffc, 4, R, true}});
}

TEST_CASE("bus masters: boot fails when the tail cannot deny them all", "[virt][pmp][dma]") {
    auto tor_ranges = [](unsigned n) {
        memory_layout l = host::qemu_virt_layout();
        for (unsigned i = 0; i < n; ++i) l.bus_masters[i] = {0x1000'1000 + u64{i} * 0x10'0000, 0x3000};  // TOR each
        l.bus_master_count = n;
        return l;
    };
    SECTION("16 entries: 12 virtual slots, 6 TOR pairs fit, 7 do not") {
        {
            machine m{qemu_h::make(), 1, tor_ranges(6)};
            REQUIRE(m.hart0().boot() == boot_error::none);
            cpu& c = m.hart0();
            // The firmware has no slot of its own while it runs; its entry 0 is
            // the OS's all the same.
            c.csrw(csr::mtvec, firmware_vector);
            program(c, {{~u64{0}, 0x1f}});
            CHECK(physical(c, pmpaddr(3)) == 0x400'0400);
            CHECK(physical(c, pmpcfg0) == 0x0008'0008'0000'1818);
            check_pmp(c, privilege::user, {{0x1000'1000, 4, R, false}, {0x1050'3ffc, 4, W, false},
                                       {0x1000'4000, 4, R, true}, {0x8020'0000, 4, X, true}});
            c.hw.log().clear();
            c.enter_os(os_entry);
            CHECK(physical(c, pmpaddr(3)) == everything);
            check_pmp(c, privilege::supervisor, {{0x1000'1000, 4, R, true}, {0x8020'0000, 4, X, true}});
        }
        machine m{qemu_h::make(), 1, tor_ranges(7)};
        CHECK(m.hart0().boot() == boot_error::too_many_bus_masters);
    }
    SECTION("64 entries: the tail holds at most 16 (8 TOR pairs), not 9") {
        {
            machine m{h64::make(), 1, tor_ranges(8)};
            CHECK(m.hart0().boot() == boot_error::none);
        }
        machine m{h64::make(), 1, tor_ranges(9)};
        CHECK(m.hart0().boot() == boot_error::too_many_bus_masters);
    }
    SECTION("16 entries: 6 TOR pairs and one NAPOT need 13 slots") {
        // A sixth NAPOT range needs 13 slots with the 6 TOR pairs: one too many.
        memory_layout l = tor_ranges(6);
        l.bus_masters[6] = {0x300'0000, 0x1'0000};
        l.bus_master_count = 7;
        machine m{qemu_h::make(), 1, l};
        CHECK(m.hart0().boot() == boot_error::too_many_bus_masters);
    }
    CHECK(std::string(describe(boot_error::too_many_bus_masters)) ==
          "the hart has too few PMP entries to deny the bus masters (DMA) to the firmware");
}
