// SPDX-License-Identifier: MIT
// Bus masters (DMA) denied to the firmware (docs/pmp.md, virt/pmp_layout.hpp's
// tail, virt/engine.hpp), over the host backend: the board's memory_layout
// lists QEMU virt's bus masters, the hart's own PMP checker (written from priv.
// spec 3.7.1 independently of the engine) must
//   - deny every bus master to the firmware (physical U-mode, in both of its
//     views), whatever the firmware programs;
//   - give the OS exactly the firmware's virtual entries, bus masters included;
// and a world switch must write no pmpaddr, whether the layout fits or its
// slots are a cache (docs/pmp.md). Expected values are literals worked out
// from 3.7.1.
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

// Their tail at G = 0, in physical entries 2-7 of a 16-entry hart when the
// layout fits (0 monitor, 1 CLINT, 2-7 the tail, then the firmware's entries
// that decide, 15 everything): NAPOT, OFF base + TOR, OFF base + TOR, NAPOT;
// no permission.
constexpr u64 tail_addr[6] = {0xc0'1fff, 0x400'0400, 0x404'0006, 0xc00'0000, 0x2000'0000, 0x1'7fff'ffff};
constexpr u64 tail_cfg0 = 0x1808'0008'0018'1818;  // pmpcfg0 while the firmware runs: monitor, CLINT, the tail
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
const std::vector<pmp_probe>& opensbi_like_os_probes() {
    static const std::vector<pmp_probe> probes = {
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
    };
    return probes;
}
void check_os_view_of_opensbi_like(cpu& c) {
    for (const privilege p : {privilege::supervisor, privilege::user})
        for (const pmp_probe& q : opensbi_like_os_probes()) {
            INFO(riscv::name(p) << "-mode " << access_name(q.type) << " of " << q.size << " bytes at " << hex(q.address));
            CHECK(c.hw.check_access(q.address, q.size, q.type, p).allowed == q.allowed);
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

/// The hart's answer for an access from the mode that runs, after the
/// monitor's miss path (cache mode): the access is made; a fault the monitor
/// resolves comes back to the same instruction, which runs again.
bool allowed_after_misses(cpu& c, u64 address, unsigned size, access_type type) {
    for (unsigned attempt = 0; attempt < 4; ++attempt) {
        if (c.hw.check_access(address, size, type, c.hw.privilege()).allowed) return true;
        const u64 pc = c.pc();
        const privilege mode = c.mode();
        c.trap(type == X ? riscv::exception::instruction_access_fault
                         : type == W ? riscv::exception::store_access_fault : riscv::exception::load_access_fault,
               address);
        if (c.pc() != pc || c.mode() != mode) return false;  // delivered: the guest's fault
    }
    return false;
}

/// check_pmp through the miss path, from the mode that runs (each probe is
/// made at a scratch pc; the fault, if delivered, is returned from).
template <class Probes>
void check_resolved_all(cpu& c, const Probes& probes) {
    const u64 pc = c.pc();
    const privilege mode = c.mode();
    for (const pmp_probe& q : probes) {
        INFO(access_name(q.type) << " of " << q.size << " bytes at " << hex(q.address));
        CHECK(allowed_after_misses(c, q.address, q.size, q.type) == q.allowed);
        if (c.pc() != pc || c.mode() != mode) {
            // Delivered to the firmware: back to where the check started.
            if (mode == privilege::supervisor) {
                c.csrw(csr::mepc, pc);
                c.enter_os(pc);
            } else {
                c.return_to(pc);
            }
        }
    }
}

void check_resolved(cpu& c, std::initializer_list<pmp_probe> probes) { check_resolved_all(c, probes); }

}  // namespace

TEST_CASE("bus masters: the tail denies them to the firmware from boot", "[virt][pmp][dma]") {
    machine m{qemu_h::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    REQUIRE(c.boot() == boot_error::none);
    REQUIRE(c.mode() == privilege::user);

    for (unsigned k = 0; k < 6; ++k) {
        INFO("tail slot " << k);
        CHECK(physical(c, pmpaddr(2 + k)) == tail_addr[k]);
    }
    CHECK(physical(c, pmpaddr(15)) == everything);
    CHECK(physical(c, pmpcfg0) == tail_cfg0);
    CHECK(physical(c, pmpcfg2) == 0x1f00'0000'0000'0000);  // everything RWX
    check_bus_masters_denied(c);
    check_neighbours_allowed(c);

    SECTION("the firmware's own view of its PMP is untouched: 16 entries, all zero") {
        c.csrw(csr::mtvec, firmware_vector);
        CHECK(c.csrr(csr::pmpcfg0) == 0);
        CHECK(c.csrr(csr::pmpcfg2) == 0);
        for (const csr n : {csr::pmpaddr6, csr::pmpaddr11, csr::pmpaddr15}) CHECK(c.csrr(n) == 0);
    }
    SECTION("a load or store of the firmware there is an access fault delivered to it") {
        c.csrw(csr::mtvec, firmware_vector);
        expect_access_fault(c, enc::lw(10, 11, 0), 0x1000'1000, 5, 0x1000'1000);
        c.return_to(firmware_entry + 0x100);
        expect_access_fault(c, enc::sd(10, 11, 0), 0x1010'0010, 7, 0x1010'0010);
    }
}

TEST_CASE("bus masters: six entries fit after the tail; a world switch writes only pmpcfg", "[virt][pmp][dma]") {
    machine m{qemu_h::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // Six entries, the last "all memory RWX": 2 + 6 + 6 + 1 slots.
    program(c, {{0x80'1fff, 0x18},
                {0x2005'3fff, 0x18},
                {0x2004'7fff, 0x18},
                {0x400'01ff, 0x1b},
                {0x5ff'ffff, 0x1b},
                {~u64{0}, 0x1f}});
    REQUIRE_FALSE(c.h.pmp_cached);
    for (unsigned i = 0; i < 6; ++i) CHECK(physical(c, pmpaddr(8 + i)) == c.csrr(static_cast<csr>(0x3b0 + i)));
    // The firmware: the tail first, then its entries RWX (unlocked), everything RWX.
    CHECK(physical(c, pmpcfg0) == tail_cfg0);
    CHECK(physical(c, pmpcfg2) == 0x1f00'1f1f'1f1f'1f1f);
    check_bus_masters_denied(c);
    check_neighbours_allowed(c);

    c.hw.log().clear();
    c.enter_os(os_entry);
    CHECK(pmp_writes(c) == std::vector<pmp_write>{{pmpcfg0, 0x1818}, {pmpcfg2, 0x0000'1f1b'1b18'1818}});
    check_pmp(c, privilege::supervisor,
              {{0x1000'1000, 8, W, true}, {0x300'0000, 8, R, true}, {0x4'0000'0000, 8, W, true},
               {0x8020'0000, 4, X, true}, {0x8010'0000, 4, R, false}, {0x1000'0ffc, 8, R, false}});

    c.hw.log().clear();
    os_ecall(c, os_entry + 0x40);
    CHECK(pmp_writes(c) == std::vector<pmp_write>{{pmpcfg0, tail_cfg0}, {pmpcfg2, 0x1f00'1f1f'1f1f'1f1f}});
    check_bus_masters_denied(c);
    firmware_returns(c);
    CHECK(pmp_writes(c) == std::vector<pmp_write>{{pmpcfg0, 0x1818}, {pmpcfg2, 0x0000'1f1b'1b18'1818}});
}

TEST_CASE("bus masters: OpenSBI 1.6's eight entries: the slots as a cache, exact for both worlds",
          "[virt][pmp][dma][cache]") {
    machine m{qemu_h::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    program_opensbi_like(c);
    CHECK(c.csrr(csr::pmpcfg0) == 0x1f0b'001b'1b18'1818);  // as written (3.7.1 WARL: all legal)
    CHECK(c.csrr(csr::pmpaddr7) == everything);
    // 2 + 6 + 8 (entry 6's TOR base needs a slot) + 1 > 16.
    REQUIRE(c.h.pmp_cached);
    // Nothing resident: the hardware denies the firmware everything beyond the monitor's entries.
    check_bus_masters_denied(c);
    check_pmp(c, privilege::user, {{0x1000'0000, 4, R, false}});

    // ---- the firmware, through the miss path: its entries grant everything but
    // the bus masters; entry 4's range outside them too.
    check_resolved(c, {{0x1000'0000, 4, W, true},  {0x1000'0800, 8, W, true}, {0x8010'0000, 4, X, true},
                       {0x8014'0000, 8, W, true},  {0x1010'0018, 8, R, true}, {0x8020'0000, 8, W, true},
                       {0x1000'1000, 4, R, false}, {0x300'0000, 8, W, false}, {0x1000'0ffc, 8, R, false}});
    check_bus_masters_denied(c);

    // ---- the OS, through the miss path: exactly the firmware's 8 entries.
    c.enter_os(os_entry);
    check_bus_masters_denied(c);  // nothing of the OS's is resident yet: all denied
    check_resolved(c, {
                          {0x200'0000, 4, R, false},  {0x8010'0000, 4, X, false}, {0x8014'0000, 8, W, false},
                          {0x1000'0000, 4, R, true},  {0x1000'0000, 4, W, true},  {0x1000'0000, 4, X, false},
                          {0x1000'0ffc, 8, R, false}, {0x1000'1000, 8, W, true},  {0x1010'0014, 4, R, true},
                          {0x1fff'fffc, 8, R, false}, {0xc00'0000, 4, R, true},   {0xc5f'fffc, 4, W, true},
                          {0xc00'0000, 4, X, false},  {0xc60'0000, 4, X, true},   {0x300'0000, 8, W, true},
                          {0x3000'0000, 8, R, true},  {0x4'0000'0000, 8, W, true}, {0x8020'0000, 8, W, true},
                          {0x8000'0000, 8, R, false},
                      });
    check_resolved_all(c, opensbi_like_os_probes());

    // ---- world switches: pmpcfg only, the addresses are shared.
    for (const bool fast : {true, false}) {
        INFO((fast ? "fast path" : "general path"));
        c.fast_path = fast;
        c.hw.log().clear();
        os_ecall(c, os_entry + 0x40);
        for (const pmp_write& w : pmp_writes(c)) CHECK(w.number < 0x3b0);
        check_bus_masters_denied(c);
        firmware_returns(c);
        for (const pmp_write& w : pmp_writes(c)) CHECK(w.number < 0x3b0);
        check_resolved_all(c, opensbi_like_os_probes());
    }
}

TEST_CASE("bus masters: a locked entry binds the firmware, in every slot", "[virt][pmp][dma]") {
    machine m{qemu_h::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    // Entry 15, locked NAPOT R over [0x90000000, +4 KiB), under the others OFF.
    c.csrw(csr::pmpaddr15, 0x2400'01ff);
    c.csrw(csr::pmpcfg2, 0x9900'0000'0000'0000);
    CHECK(c.csrr(csr::pmpcfg2) == 0x9900'0000'0000'0000);
    check_pmp(c, privilege::user, {{0x9000'0000, 8, R, true}, {0x9000'0000, 8, W, false}, {0x9000'1000, 8, W, true},
                                   {0x8fff'fffc, 8, R, false}});  // a partial match fails in M-mode too
    c.csrw(csr::pmpcfg2, 0);  // ignored: locked
    CHECK(c.csrr(csr::pmpcfg2) == 0x9900'0000'0000'0000);
}

TEST_CASE("bus masters: the firmware under virtual MPRV", "[virt][pmp][dma][mprv]") {
    machine m{qemu_h::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    program_opensbi_like(c);
    c.hw.poke<u64>(0x8020'0000, 0x0123'4567'89ab'cdef);
    // MPRV = 1, MPP = S: loads and stores as S with the OS's PMP (3.1.6.3).
    c.csrs(csr::mstatus, 0x2'0800);
    check_bus_masters_denied(c);
    check_pmp(c, privilege::user, {{0x8020'0000, 8, R, false}});

    SECTION("a load from RAM as S: entry 7 of the OS's view decides") {
        c.h.x[11] = 0x8020'0000;
        CHECK(c.access(enc::ld(10, 11, 0)).advanced);
        CHECK(c.h.x[10] == 0x0123'4567'89ab'cdef);
    }
    SECTION("a load from a bus master as S is refused though the OS's entry 4 allows S") {
        expect_access_fault(c, enc::lw(10, 11, 0), 0x1000'1000, 5, 0x1000'1000);
    }
    SECTION("a store to the PCI I/O window likewise") {
        expect_access_fault(c, enc::sw(10, 11, 8), 0x300'0000, 7, 0x300'0008);
    }
}

TEST_CASE("bus masters: a 64-entry hart fits the whole list", "[virt][pmp][dma]") {
    machine m{h64::make(), 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    for (unsigned k = 0; k < 6; ++k) CHECK(physical(c, pmpaddr(2 + k)) == tail_addr[k]);
    program_opensbi_like(c);
    CHECK_FALSE(c.h.pmp_cached);
    check_bus_masters_denied(c);
    c.hw.log().clear();
    c.enter_os(os_entry);
    for (const pmp_write& w : pmp_writes(c)) CHECK(w.number < 0x3b0);
    check_os_view_of_opensbi_like(c);
}

TEST_CASE("bus masters: widened to the hart's granularity (G = 10)", "[virt][pmp][dma]") {
    host::hart_config config = qemu_h::make();
    config.pmp_granularity = 10;  // 4 KiB
    machine m{config, 1, qemu_bus_masters()};
    cpu& c = m.hart0();
    REQUIRE(c.boot() == boot_error::none);
    // fw_cfg's 0x18 bytes end the TOR at 0x10101000 (read back: TOR bits [9:0] zero).
    CHECK(physical(c, pmpaddr(3)) == 0x400'0400);
    CHECK(physical(c, pmpaddr(4)) == 0x404'0400);
    check_bus_masters_denied(c);
    check_pmp(c, privilege::user, {{0x1010'0018, 4, R, false}, {0x1010'0ffc, 4, W, false}, {0x1010'1000, 4, R, true},
                               {0x1000'0ffc, 4, R, true}});
}

TEST_CASE("bus masters: boot fails only when the tail cannot hold them (16 entries)", "[virt][pmp][dma]") {
    auto tor_ranges = [](unsigned n) {
        memory_layout l = host::qemu_virt_layout();
        for (unsigned i = 0; i < n; ++i) l.bus_masters[i] = {0x1000'1000 + u64{i} * 0x10'0000, 0x3000};  // TOR each
        l.bus_master_count = n;
        return l;
    };
    SECTION("8 TOR pairs: more than the slots left; the firmware's world is a cache, denied them all the same") {
        machine m{qemu_h::make(), 1, tor_ranges(8)};
        REQUIRE(m.hart0().boot() == boot_error::none);
        cpu& c = m.hart0();
        CHECK(c.h.pmp_cached);
        c.csrw(csr::mtvec, firmware_vector);
        check_resolved(c, {{0x1000'1000, 4, R, false}, {0x1070'3ffc, 4, W, false}, {0x1000'4000, 4, R, true},
                           {0x8020'0000, 4, X, true}});
    }
    SECTION("9 TOR pairs: more than the tail holds (16)") {
        machine m{qemu_h::make(), 1, tor_ranges(9)};
        CHECK(m.hart0().boot() == boot_error::too_many_bus_masters);
    }
    CHECK(std::string(describe(boot_error::too_many_bus_masters)) ==
          "the hart has too few PMP entries to deny the bus masters (DMA) to the firmware");
}

/// An instruction at `code` that accesses `data` (an AMO, LR/SC or FP
/// access: the monitor never performs those, docs/pmp.md "Progress"), run
/// as the hart runs it until it completes: the fetch first, then the
/// access, each fault taken by the monitor's miss path and the instruction
/// run again. Returns the faults it took, or -1 when one was delivered (a
/// real fault) or it did not settle within `bound`.
int faults_until_it_runs(cpu& c, u64 code, u64 data, access_type type, int bound) {
    const privilege mode = c.mode();
    for (int faults = 0; faults <= bound; ++faults) {
        u64 address = 0;
        riscv::exception cause = riscv::exception::instruction_access_fault;
        if (!c.hw.check_access(code, 4, X, mode).allowed) {
            address = code;
        } else if (!c.hw.check_access(data, 8, type, mode).allowed) {
            address = data;
            cause = type == W ? riscv::exception::store_access_fault : riscv::exception::load_access_fault;
        } else {
            return faults;
        }
        c.jump(code);
        c.trap(cause, address);
        if (c.pc() != code || c.mode() != mode) return -1;
    }
    return -1;
}

TEST_CASE("cache mode: an OS AMO, LR/SC or FP access settles with its fetch and data blocks resident",
          "[virt][pmp][cache]") {
    // Eight physical entries (the U74's, as -Dpmp_entries=8) and OpenSBI
    // 1.6's eight: the slots are a small cache. Before each instruction the
    // other ranges the OS may touch fill it (the data's own among them, so
    // that it is resident but the least recently used: the hart's hits do
    // not count), so that the installs evict. The instruction must complete
    // after at most one fault for its fetch and one for its access.
    memory_layout layout = host::qemu_virt_layout();
    layout.pmp_entry_limit = 8;
    machine m{qemu_h::make(), 1, layout};
    cpu& c = m.hart0();
    c.boot_with_vector();
    program_opensbi_like(c);
    REQUIRE(c.h.pmp_cached);
    c.enter_os(os_entry);
    const u64 code = c.pc();
    // One address per decider the OS is allowed: entries 3, 4, 6 and pieces of 7.
    const u64 others[] = {0x1000'0000, 0x1000'1000, 0xc00'0000, 0x300'0000, 0x3000'0000, 0x4'0000'0000};
    const unsigned capacity = c.h.pmp.physical_count - c.h.pmp.reserved_count;
    unsigned both_missed = 0;
    for (const u64 data : {u64{0x1000'1000}, u64{0xc00'0000}, u64{0x1000'0010}, u64{0x8040'0000}}) {
        for (const access_type type : {W, R}) {  // an AMO, SC or FP store; an LR or FP load
            INFO(access_name(type) << " of " << hex(data) << ", " << capacity << " slots");
            c.jump(code + 0x100);
            for (const u64 other : others) REQUIRE(allowed_after_misses(c, other, 8, R));
            REQUIRE(c.h.pmp_cache_state.slots_used() + 1 >= capacity);  // full: what follows evicts
            const int faults = faults_until_it_runs(c, code, data, type, 4);
            CHECK(faults >= 0);  // -1: delivered, or no progress in 4 faults
            CHECK(faults <= 2);
            if (faults == 2) ++both_missed;
        }
    }
    CHECK(both_missed >= 4);  // the fetch and the access each evicted, in most runs
}
