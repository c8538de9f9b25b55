// SPDX-License-Identifier: MIT
// vfm::virt::guest_memory (virt/guest_memory.hpp): the one guarded path of
// every access the monitor makes for a guest.
//
//   - page_walker alone, over a test-local port (a fake page-table memory in a
//     std::map that records every PTE read and compare-and-swap): Sv39, Sv48,
//     Sv57 (priv. spec 4.3-4.6), Svnapot, Svpbmt, A/D, permissions, and the two
//     stages of the H extension (9.5) with mtval / mtval2 / mtinst / GVA (9.4);
//   - the guard (classify_physical, monitor_entries_refuse) on its own;
//   - guest_memory over the host backend's simulated hart: the accesses it
//     makes are read back from the hart's access log, so a refused range is
//     checked to be untouched, and a split access to be split where the spec
//     says.
//
// Every expected value (PTE addresses, physical addresses, causes, mtval,
// mtval2, mtinst, loaded values) is a literal worked out from the spec: the
// code under test never computes one. The page-table builder below only
// writes the inputs; the walk-order tests pin where it puts them.
#include "vfm_catch.hpp"

#include <cstring>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <vfm/host/simulated_hart.hpp>
#include <vfm/virt/guest_memory.hpp>

using namespace vfm;
using host::hart_config;
using host::memory_event;
using host::simulated_hart;
using riscv::csr;
using riscv::privilege;
using ak = virt::access_kind;
using gm = virt::guest_memory<simulated_hart>;
using virt::physical_class;

namespace {

// ---------------------------------------------------------------------------
// The spec's encodings, written out
// ---------------------------------------------------------------------------

/// PTE bits (priv. spec 4.3.1 fig. 4.18, 4.4.1 fig. 4.21; Svpbmt; Svnapot).
constexpr u64 V = 0x01, R = 0x02, W = 0x04, X = 0x08, U = 0x10, G = 0x20, A = 0x40, D = 0x80;
constexpr u64 RSW = 0x300;                       // bits 9:8, for software: ignored by the walk
constexpr u64 pbmt_nc = u64{1} << 61;            // Svpbmt: non-cacheable
constexpr u64 pbmt_io = u64{2} << 61;            // Svpbmt: I/O
constexpr u64 pbmt_reserved = u64{3} << 61;      // Svpbmt: reserved for future standard use
constexpr u64 N = u64{1} << 63;                  // Svnapot

/// A PTE mapping physical address `pa` (PPN = pa >> 12 in bits 53:10).
constexpr u64 pte(u64 pa, u64 flags) { return ((pa >> 12) << 10) | flags; }

/// satp / vsatp / hgatp MODE values (priv. spec 4.1.11 table 4.4; H ext. 9.2.10).
constexpr u64 bare = 0, sv39 = 8, sv48 = 9, sv57 = 10;
constexpr u64 atp(u64 mode, u64 root) { return (mode << 60) | (root >> 12); }

/// Exception codes (priv. spec 3.1.15 table 3.6; H ext. 9.4.2 table 9.6).
constexpr u64 fetch_access = 1, load_misaligned = 4, load_access = 5, store_misaligned = 6, store_access = 7;
constexpr u64 fetch_page = 12, load_page = 13, store_page = 15;
constexpr u64 fetch_guest_page = 20, load_guest_page = 21, store_guest_page = 23;

/// mtinst for a guest-page fault of an implicit VS-stage PTE access, RV64
/// (H ext. 9.6.3 table 9.11): a 64-bit read, a 64-bit write (the A/D update).
constexpr u64 pseudo_pte_read = 0x0000'3000, pseudo_pte_write = 0x0000'3020;

struct kind_cause {
    ak kind;
    u64 cause;
};
/// Each access kind with its page fault, access fault and guest-page fault.
constexpr kind_cause page_faults[] = {{ak::fetch, fetch_page}, {ak::load, load_page}, {ak::store, store_page}};
constexpr kind_cause access_faults[] = {{ak::fetch, fetch_access}, {ak::load, load_access}, {ak::store, store_access}};
constexpr kind_cause guest_page_faults[] = {
    {ak::fetch, fetch_guest_page}, {ak::load, load_guest_page}, {ak::store, store_guest_page}};

const char* name(ak k) { return k == ak::load ? "load" : k == ak::store ? "store" : "fetch"; }

// ---------------------------------------------------------------------------
// Page tables
// ---------------------------------------------------------------------------

/// Writes page tables into `Memory` (get/set of 8-byte words): pointer PTEs
/// from the root down to `leaf_level`, each missing table taken at `next`
/// (one page after another), then the leaf. `g_root`: the root is a G-stage
/// root of 16 KiB, indexed by 11 bits (H ext. 9.5.1). Returns the leaf's address.
template <class Memory>
struct page_tables {
    Memory& memory;
    u64 next;

    u64 map(u64 root, u64 address, unsigned levels, unsigned leaf_level, u64 leaf, bool g_root = false) {
        u64 table = root;
        for (unsigned level = levels - 1;; --level) {
            const unsigned index_bits = g_root && level == levels - 1 ? 11 : 9;
            const u64 entry = table + 8 * ((address >> (12 + 9 * level)) & ((u64{1} << index_bits) - 1));
            if (level == leaf_level) {
                memory.set(entry, leaf);
                return entry;
            }
            u64 pointer = memory.get(entry);
            if ((pointer & V) == 0 || (pointer & (R | X)) != 0) {
                pointer = pte(next, V);
                next += 0x1000;
                memory.set(entry, pointer);
            }
            table = ((pointer >> 10) & ((u64{1} << 44) - 1)) << 12;
        }
    }
};

/// The test-local port of page_walker: PTEs in a map (absent ones read 0),
/// every read and compare-and-swap recorded; addresses in `refused_reads` /
/// `refused_writes` fail as the guard or the PMP would fail them; `other_hart`
/// runs between the walk's read of a PTE and its compare-and-swap.
struct fake_port {
    std::map<u64, u64> words;
    std::vector<u64> reads;
    struct cas {
        u64 address, expected, desired;
        bool stored;
    };
    std::vector<cas> updates;
    std::set<u64> refused_reads, refused_writes;
    std::function<void(fake_port&, u64)> other_hart;

    [[nodiscard]] u64 get(u64 address) const {
        const auto it = words.find(address);
        return it == words.end() ? 0 : it->second;
    }
    void set(u64 address, u64 value) { words[address] = value; }

    bool read_pte(u64 physical, u64& value) noexcept {
        reads.push_back(physical);
        if (refused_reads.count(physical) != 0) return false;
        value = get(physical);
        return true;
    }
    bool update_pte(u64 physical, u64 expected, u64 desired, u64& old) noexcept {
        if (refused_writes.count(physical) != 0) return false;
        if (other_hart) other_hart(*this, physical);
        old = get(physical);
        const bool stored = old == expected;
        if (stored) set(physical, desired);
        updates.push_back({physical, expected, desired, stored});
        return true;
    }
};

/// A regime of S-mode (or `p`) with `satp`; A/D by page fault unless a test says otherwise.
virt::translation_regime regime(u64 satp = 0, privilege p = privilege::supervisor) {
    virt::translation_regime r;
    r.privilege = p;
    r.satp = satp;
    r.update_ad = false;
    return r;
}

/// Where the fake tables of the single-stage walks sit: the root, then one
/// page per table in the order the builder needs them.
constexpr u64 root = 0x8010'0000;

struct walk_scene {
    fake_port port;
    page_tables<fake_port> tables{port, root + 0x1000};

    u64 map(u64 levels, u64 va, unsigned leaf_level, u64 leaf) {
        return tables.map(root, va, static_cast<unsigned>(levels), leaf_level, leaf);
    }
    virt::guest_translation walk(const virt::translation_regime& r, u64 va, ak kind) {
        virt::page_walker<fake_port> walker(port, r);
        return walker.translate(va, kind);
    }
};

void check_fault(const virt::guest_translation& t, u64 cause, u64 tval, u64 tval2 = 0, u64 tinst = 0,
                 bool gva = false) {
    CHECK_FALSE(t.ok);
    CHECK(t.fault.cause == cause);
    CHECK(t.fault.tval == tval);
    CHECK(t.fault.tval2 == tval2);
    CHECK(t.fault.tinst == tinst);
    CHECK(t.fault.gva == gva);
}

// A virtual address with a different index at every level:
// VPN[4] = 7, VPN[3] = 5, VPN[2] = 1, VPN[1] = 2, VPN[0] = 3, offset 0xabc.
constexpr u64 va39 = 0x0000'0000'4040'3abc;  // Sv39: VPN[2..0] = 1, 2, 3
constexpr u64 va48 = 0x0000'0280'4040'3abc;  // Sv48: VPN[3..0] = 5, 1, 2, 3
constexpr u64 va57 = 0x0007'0280'4040'3abc;  // Sv57: VPN[4..0] = 7, 5, 1, 2, 3

}  // namespace

// ===========================================================================
// page_walker: single-stage translation (priv. spec 4.3.2, 4.4-4.6)
// ===========================================================================

TEST_CASE("Bare satp and M-mode accesses are not translated", "[guest_memory][walk]") {
    // priv. spec 4.1.11: Bare, no translation or protection; 3.1.6.3: M-mode
    // accesses (MPRV clear) are never translated.
    walk_scene s;
    for (const auto& [kind, cause] : page_faults) {
        INFO(name(kind));
        (void)cause;
        virt::translation_regime r = regime(atp(bare, root));
        auto t = s.walk(r, 0x1234'5678'9abc, kind);
        CHECK(t.ok);
        CHECK(t.physical == 0x1234'5678'9abc);
        r = regime(atp(sv39, root), privilege::machine);
        t = s.walk(r, 0xffff'ffff'ffff'f000, kind);
        CHECK(t.ok);
        CHECK(t.physical == 0xffff'ffff'ffff'f000);
    }
    CHECK(s.port.reads.empty());
}

TEST_CASE("Sv39, Sv48, Sv57: a 4 KiB page takes one PTE read per level, VPN[i] indexing level i",
          "[guest_memory][walk]") {
    // priv. spec 4.3.2 steps 1-2 and 8 (a = satp.ppn * 4096, then pte.ppn * 4096,
    // the PTE at a + va.vpn[i] * 8), 4.4 (Sv39), 4.5 (Sv48), 4.6 (Sv57).
    walk_scene s;
    SECTION("Sv39") {
        s.map(3, va39, 0, pte(0x8040'5000, V | R | W | X | A | D));
        const auto t = s.walk(regime(atp(sv39, root)), va39, ak::load);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x8040'5abc);
        CHECK(s.port.reads == std::vector<u64>{0x8010'0008, 0x8010'1010, 0x8010'2018});
    }
    SECTION("Sv48") {
        s.map(4, va48, 0, pte(0x8040'5000, V | R | W | X | A | D));
        const auto t = s.walk(regime(atp(sv48, root)), va48, ak::store);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x8040'5abc);
        CHECK(s.port.reads == std::vector<u64>{0x8010'0028, 0x8010'1008, 0x8010'2010, 0x8010'3018});
    }
    SECTION("Sv57") {
        s.map(5, va57, 0, pte(0x8040'5000, V | R | W | X | A | D));
        const auto t = s.walk(regime(atp(sv57, root)), va57, ak::fetch);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x8040'5abc);
        CHECK(s.port.reads == std::vector<u64>{0x8010'0038, 0x8010'1028, 0x8010'2008, 0x8010'3010, 0x8010'4018});
    }
    SECTION("Sv39, an address in the upper half (bits 63:39 all equal to bit 38)") {
        // VPN[2] = 0x100: the root entry at 0x800.
        s.map(3, 0xffff'ffc0'0040'3abc, 0, pte(0x8040'5000, V | R | W | A | D));
        const auto t = s.walk(regime(atp(sv39, root)), 0xffff'ffc0'0040'3abc, ak::load);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x8040'5abc);
        CHECK(s.port.reads.front() == 0x8010'0800);
    }
}

TEST_CASE("superpages of every size take their offset from the virtual address", "[guest_memory][walk]") {
    // priv. spec 4.3.2 step 8: pa.ppn[i-1:0] = va.vpn[i-1:0] for a leaf at level i;
    // 2 MiB megapages, 1 GiB gigapages (Sv39), 512 GiB terapages (Sv48), 256 TiB petapages (Sv57).
    struct sp {
        u64 mode;
        unsigned levels;
        u64 va;
        unsigned level;
        u64 leaf_pa;
        u64 physical;
        unsigned reads;
    };
    const sp cases[] = {
        {sv39, 3, va39, 1, 0x8060'0000, 0x8060'3abc, 2},
        {sv39, 3, va39, 2, 0xc000'0000, 0xc040'3abc, 1},
        {sv48, 4, va48, 1, 0x8060'0000, 0x8060'3abc, 3},
        {sv48, 4, va48, 2, 0xc000'0000, 0xc040'3abc, 2},
        {sv48, 4, va48, 3, 0x8000'0000'0000, 0x8000'4040'3abc, 1},
        {sv57, 5, va57, 1, 0x8060'0000, 0x8060'3abc, 4},
        {sv57, 5, va57, 2, 0xc000'0000, 0xc040'3abc, 3},
        {sv57, 5, va57, 3, 0x8000'0000'0000, 0x8000'4040'3abc, 2},
        {sv57, 5, va57, 4, 0x0001'0000'0000'0000, 0x0001'0280'4040'3abc, 1},
    };
    for (const sp& c : cases) {
        INFO("mode " << c.mode << ", leaf at level " << c.level);
        walk_scene s;
        s.map(c.levels, c.va, c.level, pte(c.leaf_pa, V | R | W | X | A | D));
        for (const auto& [kind, cause] : page_faults) {
            (void)cause;
            const auto t = s.walk(regime(atp(c.mode, root)), c.va, kind);
            REQUIRE(t.ok);
            CHECK(t.physical == c.physical);
        }
        CHECK(s.port.reads.size() == 3 * c.reads);
    }
}

TEST_CASE("non-canonical virtual addresses raise a page fault before any PTE read", "[guest_memory][walk]") {
    // priv. spec 4.4.1 (Sv39: bits 63:39 equal bit 38), 4.5.1 (Sv48: 63:48 = 47),
    // 4.6.1 (Sv57: 63:57 = 56); else a page-fault exception.
    const std::pair<u64, u64> cases[] = {
        {sv39, 0x0000'0040'0000'0000}, {sv39, 0x8000'0000'4040'3abc}, {sv39, 0xffff'ff80'0000'0000},
        {sv48, 0x0000'8000'0000'0000}, {sv48, 0x0001'0000'0000'0000}, {sv48, 0xffff'0000'0000'0000},
        {sv57, 0x0100'0000'0000'0000}, {sv57, 0xfe00'0000'0000'0000}, {sv57, 0x8000'0000'0000'0000},
    };
    for (const auto& [mode, va] : cases) {
        for (const auto& [kind, cause] : page_faults) {
            INFO("mode " << mode << ", va " << va << ", " << name(kind));
            walk_scene s;
            check_fault(s.walk(regime(atp(mode, root)), va, kind), cause, va);
            CHECK(s.port.reads.empty());
        }
    }
}

TEST_CASE("a misaligned superpage raises a page fault", "[guest_memory][walk]") {
    // priv. spec 4.3.2 step 6: a leaf at level i > 0 with pte.ppn[i-1:0] != 0.
    struct mis {
        u64 mode;
        unsigned levels;
        u64 va;
        unsigned level;
        u64 leaf_pa;
    };
    const mis cases[] = {
        {sv39, 3, va39, 1, 0x8060'1000},          // 2 MiB page at a 4 KiB boundary
        {sv39, 3, va39, 2, 0xc020'0000},          // 1 GiB page at a 2 MiB boundary
        {sv48, 4, va48, 3, 0x8000'4000'0000},     // 512 GiB page at a 1 GiB boundary
        {sv57, 5, va57, 4, 0x0001'0080'0000'0000}, // 256 TiB page at a 512 GiB boundary
    };
    for (const mis& c : cases) {
        for (const auto& [kind, cause] : page_faults) {
            INFO("mode " << c.mode << ", level " << c.level << ", " << name(kind));
            walk_scene s;
            s.map(c.levels, c.va, c.level, pte(c.leaf_pa, V | R | W | X | A | D));
            check_fault(s.walk(regime(atp(c.mode, root)), c.va, kind), cause, c.va);
        }
    }
}

TEST_CASE("invalid PTEs: V = 0, R = 0 with W = 1, reserved bits 60:54", "[guest_memory][walk]") {
    // priv. spec 4.3.2 step 3: pte.v = 0, or pte.r = 0 and pte.w = 1, or a
    // reserved bit set: page fault, at any level. 4.4.1: bits 60:54 are reserved.
    std::vector<std::pair<const char*, u64>> leaves = {
        {"V = 0", R | W | X | A | D},
        {"W only", V | W | A | D},
        {"W and X without R", V | W | X | A | D},
    };
    for (unsigned bit = 54; bit <= 60; ++bit)
        leaves.push_back({"a reserved bit", V | R | W | X | A | D | (u64{1} << bit)});
    for (const auto& [what, leaf] : leaves) {
        for (const auto& [kind, cause] : page_faults) {
            INFO(what << " (" << leaf << "), " << name(kind));
            walk_scene s;
            s.map(3, va39, 0, pte(0x8040'5000, leaf));
            check_fault(s.walk(regime(atp(sv39, root)), va39, kind), cause, va39);
            CHECK(s.port.reads.size() == 3);
        }
    }
    SECTION("the same at the root: the walk stops there") {
        const u64 roots[] = {0, pte(0x8010'1000, V | W), pte(0x8010'1000, V | (u64{1} << 54)),
                             pte(0x8010'1000, V | (u64{1} << 60))};
        for (const u64 entry : roots) {
            INFO("root PTE " << entry);
            walk_scene s;
            s.map(3, va39, 0, pte(0x8040'5000, V | R | W | X | A | D));
            s.port.set(0x8010'0008, entry);
            check_fault(s.walk(regime(atp(sv39, root)), va39, ak::load), load_page, va39);
            CHECK(s.port.reads == std::vector<u64>{0x8010'0008});
        }
    }
    SECTION("G and the RSW bits are not reserved") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V | R | W | A | D | G | RSW));
        const auto t = s.walk(regime(atp(sv39, root)), va39, ak::store);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x8040'5abc);
    }
}

TEST_CASE("Svpbmt: PBMT is reserved unless enabled, and 3 always", "[guest_memory][walk]") {
    // Svpbmt: with menvcfg.PBMTE = 0 (henvcfg.PBMTE for VS-stage) bits 62:61 are
    // reserved (4.3.2 step 3: page fault); PBMT = 3 is reserved; in a non-leaf
    // PTE bits 62:61 are reserved.
    struct pb {
        u64 bits;
        bool enabled;
        bool ok;
    };
    const pb cases[] = {
        {pbmt_nc, false, false}, {pbmt_io, false, false}, {pbmt_reserved, false, false},
        {pbmt_nc, true, true},   {pbmt_io, true, true},   {pbmt_reserved, true, false},
    };
    for (const pb& c : cases) {
        for (const auto& [kind, cause] : page_faults) {
            INFO("PBMT " << (c.bits >> 61) << (c.enabled ? " with" : " without") << " Svpbmt, " << name(kind));
            walk_scene s;
            s.map(3, va39, 0, pte(0x8040'5000, V | R | W | X | A | D | c.bits));
            virt::translation_regime r = regime(atp(sv39, root));
            r.pbmt = c.enabled;
            const auto t = s.walk(r, va39, kind);
            if (c.ok) {
                REQUIRE(t.ok);
                CHECK(t.physical == 0x8040'5abc);
            } else {
                check_fault(t, cause, va39);
            }
        }
    }
    SECTION("PBMT in a pointer PTE") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V | R | W | X | A | D));
        s.port.set(0x8010'1010, pte(0x8010'2000, V | pbmt_nc));
        virt::translation_regime r = regime(atp(sv39, root));
        r.pbmt = true;
        check_fault(s.walk(r, va39, ak::load), load_page, va39);
        CHECK(s.port.reads == std::vector<u64>{0x8010'0008, 0x8010'1010});
    }
}

TEST_CASE("Svnapot: N marks a 64 KiB page at level 0 with PPN[3:0] = 1000", "[guest_memory][walk]") {
    // Svnapot: a leaf at level 0 with N = 1 and ppn[0][3:0] = 1000 maps 64 KiB:
    // pa.ppn[0][3:0] = va.vpn[0][3:0]. N at another level, another ppn[0][3:0],
    // N in a pointer PTE, or N without Svnapot: reserved (page fault).
    auto napot = [](bool enabled) {
        virt::translation_regime r = regime(atp(sv39, root));
        r.napot = enabled;
        return r;
    };
    SECTION("with Svnapot: the low four bits of the PPN come from the address") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'8000, V | R | W | X | A | D | N));                // VPN[0] = 3
        s.map(3, 0x4040'fabc, 0, pte(0x8040'8000, V | R | W | X | A | D | N));         // VPN[0] = 0xf
        for (const auto& [kind, cause] : page_faults) {
            (void)cause;
            auto t = s.walk(napot(true), va39, kind);
            REQUIRE(t.ok);
            CHECK(t.physical == 0x8040'3abc);
            t = s.walk(napot(true), 0x4040'fabc, kind);
            REQUIRE(t.ok);
            CHECK(t.physical == 0x8040'fabc);
        }
    }
    SECTION("without Svnapot: N is reserved") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'8000, V | R | W | X | A | D | N));
        for (const auto& [kind, cause] : page_faults) check_fault(s.walk(napot(false), va39, kind), cause, va39);
    }
    SECTION("PPN[3:0] other than 1000") {
        for (const u64 pa : {0x8040'0000ull, 0x8040'4000ull, 0x8040'c000ull, 0x8040'9000ull}) {
            INFO("leaf PA " << pa);
            walk_scene s;
            s.map(3, va39, 0, pte(pa, V | R | W | X | A | D | N));
            check_fault(s.walk(napot(true), va39, ak::load), load_page, va39);
        }
    }
    SECTION("N on a 2 MiB leaf") {
        walk_scene s;
        s.map(3, va39, 1, pte(0x8060'0000, V | R | W | X | A | D | N));
        check_fault(s.walk(napot(true), va39, ak::load), load_page, va39);
    }
    SECTION("N on a pointer PTE") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'8000, V | R | W | X | A | D | N));
        s.port.set(0x8010'1010, pte(0x8010'2000, V | N));
        check_fault(s.walk(napot(true), va39, ak::load), load_page, va39);
    }
}

TEST_CASE("pointer PTEs: none at level 0; A, D and U are reserved in them", "[guest_memory][walk]") {
    // priv. spec 4.3.2 step 4: a pointer at level 0 (i < 0) is a page fault;
    // 4.3.1: for non-leaf PTEs the D, A and U bits are reserved (step 3: page fault).
    SECTION("a pointer PTE at level 0") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V));
        for (const auto& [kind, cause] : page_faults)
            check_fault(s.walk(regime(atp(sv39, root)), va39, kind), cause, va39);
    }
    for (const u64 bit : {A, D, U}) {
        for (const auto& [kind, cause] : page_faults) {
            INFO("bit " << bit << " in the level-1 pointer, " << name(kind));
            walk_scene s;
            s.map(3, va39, 0, pte(0x8040'5000, V | R | W | X | U | A | D));
            s.port.set(0x8010'1010, pte(0x8010'2000, V | bit));
            check_fault(s.walk(regime(atp(sv39, root), privilege::user), va39, kind), cause, va39);
            CHECK(s.port.reads == std::vector<u64>{0x8010'0008, 0x8010'1010});
        }
    }
}

TEST_CASE("permissions: U and SUM, MXR, HLVX, and the fault of each access kind", "[guest_memory][walk]") {
    // priv. spec 4.3.1 (R, W, X, U; SUM; MXR), 4.3.2 step 5; 3.1.6.3 (SUM, MXR);
    // H ext. 9.3.1 (HLVX: execute permission replaces read permission).
    struct perm {
        const char* what;
        privilege p;
        u64 flags;
        bool sum, mxr, hlvx;
        ak kind;
        bool ok;
    };
    const perm cases[] = {
        {"U-mode load, page without U", privilege::user, R | W | X, false, false, false, ak::load, false},
        {"U-mode store, page without U", privilege::user, R | W | X, false, false, false, ak::store, false},
        {"U-mode fetch, page without U", privilege::user, R | W | X, false, false, false, ak::fetch, false},
        {"U-mode load, page without U, SUM = 1", privilege::user, R | W, true, false, false, ak::load, false},
        {"U-mode load, U page", privilege::user, R | U, false, false, false, ak::load, true},
        {"U-mode fetch, U page", privilege::user, X | U, false, false, false, ak::fetch, true},
        {"S-mode load, U page, SUM = 0", privilege::supervisor, R | W | U, false, false, false, ak::load, false},
        {"S-mode store, U page, SUM = 0", privilege::supervisor, R | W | U, false, false, false, ak::store, false},
        {"S-mode load, U page, SUM = 1", privilege::supervisor, R | W | U, true, false, false, ak::load, true},
        {"S-mode store, U page, SUM = 1", privilege::supervisor, R | W | U, true, false, false, ak::store, true},
        {"S-mode fetch, U page, SUM = 0", privilege::supervisor, R | X | U, false, false, false, ak::fetch, false},
        {"S-mode fetch, U page, SUM = 1", privilege::supervisor, R | X | U, true, false, false, ak::fetch, false},
        {"load, X-only page, MXR = 0", privilege::supervisor, X, false, false, false, ak::load, false},
        {"load, X-only page, MXR = 1", privilege::supervisor, X, false, true, false, ak::load, true},
        {"store, X-only page, MXR = 1", privilege::supervisor, X, false, true, false, ak::store, false},
        {"U-mode load, U X-only page, MXR = 1", privilege::user, X | U, false, true, false, ak::load, true},
        {"HLVX, R-only page", privilege::supervisor, R, false, false, true, ak::load, false},
        {"HLVX, R-only page, MXR = 1", privilege::supervisor, R, false, true, true, ak::load, false},
        {"HLVX, X-only page", privilege::supervisor, X, false, false, true, ak::load, true},
        {"HLVX, U X-only page from VU", privilege::user, X | U, false, false, true, ak::load, true},
        {"store, R-only page", privilege::supervisor, R, false, false, false, ak::store, false},
        {"store, R X page", privilege::supervisor, R | X, false, true, false, ak::store, false},
        {"store, R W page", privilege::supervisor, R | W, false, false, false, ak::store, true},
        {"fetch, R W page", privilege::supervisor, R | W, false, true, false, ak::fetch, false},
        {"fetch, X-only page", privilege::supervisor, X, false, false, false, ak::fetch, true},
        {"load, R-only page", privilege::supervisor, R, false, false, false, ak::load, true},
    };
    for (const perm& c : cases) {
        INFO(c.what);
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V | A | D | c.flags));
        virt::translation_regime r = regime(atp(sv39, root), c.p);
        r.sum = c.sum;
        r.mxr = c.mxr;
        r.execute_for_read = c.hlvx;
        const auto t = s.walk(r, va39, c.kind);
        if (c.ok) {
            REQUIRE(t.ok);
            CHECK(t.physical == 0x8040'5abc);
        } else {
            const u64 cause = c.kind == ak::load ? 13 : c.kind == ak::store ? 15 : 12;
            check_fault(t, cause, va39);
        }
    }
}

TEST_CASE("A and D set by compare-and-swap when the hart updates them (Svadu)", "[guest_memory][walk]") {
    // priv. spec 4.3.2 step 7 (the 1.12 text with hardware updating): if pte.a = 0,
    // or a store finds pte.d = 0, atomically compare the PTE with the value read and
    // set A (and D for a store); if the comparison fails, return to step 2.
    // D is not needed by loads and fetches.
    virt::translation_regime r = regime(atp(sv39, root));
    r.update_ad = true;
    constexpr u64 leaf_address = 0x8010'2018;
    SECTION("a load sets A only") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V | R | W));
        const auto t = s.walk(r, va39, ak::load);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x8040'5abc);
        REQUIRE(s.port.updates.size() == 1);
        CHECK(s.port.updates[0].address == leaf_address);
        CHECK(s.port.updates[0].expected == 0x2010'1407);
        CHECK(s.port.updates[0].desired == 0x2010'1447);
        CHECK(s.port.get(leaf_address) == 0x2010'1447);
    }
    SECTION("a fetch sets A only") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V | X));
        REQUIRE(s.walk(r, va39, ak::fetch).ok);
        CHECK(s.port.get(leaf_address) == 0x2010'1449);
    }
    SECTION("a store sets A and D") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V | R | W));
        REQUIRE(s.walk(r, va39, ak::store).ok);
        REQUIRE(s.port.updates.size() == 1);
        CHECK(s.port.updates[0].desired == 0x2010'14c7);
        CHECK(s.port.get(leaf_address) == 0x2010'14c7);
    }
    SECTION("a store to a page with A = 1 and D = 0 sets D") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V | R | W | A));
        REQUIRE(s.walk(r, va39, ak::store).ok);
        CHECK(s.port.get(leaf_address) == 0x2010'14c7);
    }
    SECTION("a load from a page with A = 1 and D = 0 writes nothing") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V | R | W | A));
        REQUIRE(s.walk(r, va39, ak::load).ok);
        CHECK(s.port.updates.empty());
    }
    SECTION("nothing to update: no compare-and-swap") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V | R | W | A | D));
        REQUIRE(s.walk(r, va39, ak::store).ok);
        CHECK(s.port.updates.empty());
    }
    SECTION("a superpage's A is set in its own PTE") {
        walk_scene s;
        s.map(3, va39, 1, pte(0x8060'0000, V | R | W));
        REQUIRE(s.walk(r, va39, ak::store).ok);
        CHECK(s.port.get(0x8010'1010) == 0x2018'00c7);
    }
    SECTION("the PTE changed between the read and the compare-and-swap: the walk starts again") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V | R | W));
        bool changed = false;
        s.port.other_hart = [&](fake_port& p, u64 address) {
            if (changed || address != leaf_address) return;
            changed = true;
            p.set(leaf_address, pte(0x8044'4000, V | R | W));  // another hart remaps the page
        };
        const auto t = s.walk(r, va39, ak::load);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x8044'4abc);  // the new mapping, not the one first read
        CHECK(s.port.reads ==
              std::vector<u64>{0x8010'0008, 0x8010'1010, 0x8010'2018, 0x8010'0008, 0x8010'1010, 0x8010'2018});
        REQUIRE(s.port.updates.size() == 2);
        CHECK_FALSE(s.port.updates[0].stored);
        CHECK(s.port.updates[1].stored);
        CHECK(s.port.get(leaf_address) == 0x2011'1047);
    }
    SECTION("the PTE became invalid meanwhile: the new walk faults") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V | R | W));
        s.port.other_hart = [](fake_port& p, u64 address) { p.set(address, 0); };
        check_fault(s.walk(r, va39, ak::store), store_page, va39);
        CHECK(s.port.get(leaf_address) == 0);
    }
    SECTION("a PTE that never stops changing: the walk gives up with a page fault") {
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, V | R | W));
        s.port.other_hart = [](fake_port& p, u64 address) { p.set(address, p.get(address) ^ 0x400); };
        check_fault(s.walk(r, va39, ak::load), load_page, va39);
        CHECK(s.port.updates.size() > 1);
    }
    SECTION("the PTE's store is refused: an access fault of the original kind") {
        for (const auto& [kind, cause] : access_faults) {
            INFO(name(kind));
            walk_scene s;
            s.map(3, va39, 0, pte(0x8040'5000, V | R | W | X));
            s.port.refused_writes.insert(leaf_address);
            check_fault(s.walk(r, va39, kind), cause, va39);
        }
    }
}

TEST_CASE("A and D by page fault when the hart does not update them (Svade)", "[guest_memory][walk]") {
    // priv. spec 4.3.2 step 7 (raise a page fault instead of updating), Svade.
    struct ad {
        u64 flags;
        ak kind;
        bool ok;
    };
    const ad cases[] = {
        {V | R | W | X, ak::load, false},     {V | R | W | X, ak::fetch, false},
        {V | R | W | X, ak::store, false},    {V | R | W | X | A, ak::load, true},
        {V | R | W | X | A, ak::fetch, true}, {V | R | W | X | A, ak::store, false},
        {V | R | W | X | D, ak::load, false}, {V | R | W | X | A | D, ak::store, true},
    };
    for (const ad& c : cases) {
        INFO("flags " << c.flags << ", " << name(c.kind));
        walk_scene s;
        s.map(3, va39, 0, pte(0x8040'5000, c.flags));
        const auto t = s.walk(regime(atp(sv39, root)), va39, c.kind);
        if (c.ok) {
            CHECK(t.ok);
        } else {
            check_fault(t, c.kind == ak::load ? 13 : c.kind == ak::store ? 15 : 12, va39);
        }
        CHECK(s.port.updates.empty());
    }
}

TEST_CASE("a PTE read that the guard or the PMP refuses is an access fault of the original kind",
          "[guest_memory][walk]") {
    // priv. spec 4.3.2 step 2: if accessing pte violates a PMA or PMP check,
    // raise an access-fault exception corresponding to the original access type.
    for (const u64 refused : {0x8010'0008ull, 0x8010'1010ull, 0x8010'2018ull}) {
        for (const auto& [kind, cause] : access_faults) {
            INFO("PTE at " << refused << ", " << name(kind));
            walk_scene s;
            s.map(3, va39, 0, pte(0x8040'5000, V | R | W | X | A | D));
            s.port.refused_reads.insert(refused);
            check_fault(s.walk(regime(atp(sv39, root)), va39, kind), cause, va39);
            CHECK(s.port.reads.back() == refused);
        }
    }
}

// ===========================================================================
// page_walker: two-stage translation (H ext. 9.5)
// ===========================================================================

namespace {

/// The G-stage root: 16 KiB, 16 KiB aligned (H ext. 9.2.10, 9.5.1).
constexpr u64 g_root = 0x9000'0000;
constexpr u64 hgatp_sv39x4 = 0x8000'0000'0009'0000;  // MODE = 8 (Sv39x4), PPN = 0x90000

/// Two stages over the fake port. The G-stage maps, by 1 GiB leaves:
///   GPA 0x0_8000_0000 -> PA 0x0_8000_0000 (the guest's data; root entry 2 at 0x9000_0010)
///   GPA 0x1_0000_0000 -> PA 0x1_0000_0000 (the guest's page tables; root entry 4 at 0x9000_0020)
/// and the VS-stage root is at GPA 0x1_0000_0000, its tables after it.
constexpr u64 vs_root = 0x1'0000'0000;
constexpr u64 g_data = 0x9000'0010, g_tables = 0x9000'0020;

struct two_stage_scene {
    fake_port port;
    page_tables<fake_port> g{port, g_root + 0x4000};
    page_tables<fake_port> vs{port, vs_root + 0x1000};

    explicit two_stage_scene(u64 data_flags = V | R | W | X | U | A | D, u64 table_flags = V | R | W | U | A | D) {
        port.set(g_data, pte(0x8000'0000, data_flags));
        port.set(g_tables, pte(0x1'0000'0000, table_flags));
    }
    /// Maps GVA `va` to GPA `gpa` in the VS-stage (Sv39, 4 KiB).
    u64 map_vs(u64 va, u64 gpa, u64 flags) { return vs.map(vs_root, va, 3, 0, pte(gpa, flags)); }

    virt::translation_regime regime(u64 vsatp, privilege p = privilege::supervisor) const {
        virt::translation_regime r = ::regime(vsatp, p);
        r.virtualized = true;
        r.hgatp = hgatp_sv39x4;
        return r;
    }
    virt::guest_translation walk(const virt::translation_regime& r, u64 va, ak kind) {
        virt::page_walker<fake_port> walker(port, r);
        return walker.translate(va, kind);
    }
};

}  // namespace

TEST_CASE("vsatp Bare, hgatp Sv39x4: the GPA is the address, translated by the G-stage", "[guest_memory][two_stage]") {
    // H ext. 9.5: with vsatp Bare the guest physical address equals the guest
    // virtual address; 9.5.1: Sv39x4 is Sv39 with a 16 KiB root indexed by GPA bits 40:30.
    two_stage_scene s;
    s.port.set(g_data, 0);  // a 4 KiB mapping this time
    s.g.map(g_root, 0x8040'3abc, 3, 0, pte(0x8844'0000, V | R | W | X | U | A | D), true);
    const auto t = s.walk(s.regime(0), 0x8040'3abc, ak::load);
    REQUIRE(t.ok);
    CHECK(t.physical == 0x8844'0abc);
    CHECK(s.port.reads == std::vector<u64>{0x9000'0010, 0x9000'4010, 0x9000'5018});
}

TEST_CASE("Sv39x4: the root's index has 11 bits (GPA bits 40:30)", "[guest_memory][two_stage]") {
    // H ext. 9.5.1: the root page table is 16 KiB, indexed by VPN[2] = GPA[40:30].
    two_stage_scene s;
    // GPA 0x180_4040_3abc: GPA[40:30] = 0x601, the root entry at 0x9000_0000 + 0x601 * 8.
    s.port.set(0x9000'3008, pte(0xc000'0000, V | R | W | X | U | A | D));
    const auto t = s.walk(s.regime(0), 0x180'4040'3abc, ak::store);
    REQUIRE(t.ok);
    CHECK(t.physical == 0xc040'3abc);
    CHECK(s.port.reads == std::vector<u64>{0x9000'3008});
}

TEST_CASE("Sv48x4 and Sv57x4: 11-bit root index, 50- and 59-bit GPAs", "[guest_memory][two_stage]") {
    // H ext. 9.5.1: Sv48x4 and Sv57x4 widen Sv48 and Sv57 by two GPA bits, all
    // in the root's index (GPA[49:39], GPA[58:48]); wider GPAs fault.
    SECTION("Sv48x4") {
        two_stage_scene s;
        virt::translation_regime r = s.regime(0);
        r.hgatp = 0x9000'0000'0009'0000;  // MODE = 9
        // GPA 0x3_ff80_0000_0abc: GPA[49:39] = 0x7ff, the root's last entry; a 512 GiB leaf.
        s.port.set(0x9000'3ff8, pte(0x80'0000'0000, V | R | W | X | U | A | D));
        const auto t = s.walk(r, 0x3'ff80'0000'0abc, ak::load);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x80'0000'0abc);
        CHECK(s.port.reads == std::vector<u64>{0x9000'3ff8});
        check_fault(s.walk(r, 0x4'0000'0000'0000, ak::store), store_guest_page, 0x4'0000'0000'0000,
                    0x1'0000'0000'0000, 0, true);
    }
    SECTION("Sv57x4") {
        two_stage_scene s;
        virt::translation_regime r = s.regime(0);
        r.hgatp = 0xa000'0000'0009'0000;  // MODE = 10
        // GPA 0x07ff_0000_0000_0abc: GPA[58:48] = 0x7ff; a 256 TiB leaf.
        s.port.set(0x9000'3ff8, pte(0x1'0000'0000'0000, V | R | W | X | U | A | D));
        const auto t = s.walk(r, 0x07ff'0000'0000'0abc, ak::fetch);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x1'0000'0000'0abc);
        check_fault(s.walk(r, 0x0800'0000'0000'0000, ak::load), load_guest_page, 0x0800'0000'0000'0000,
                    0x0200'0000'0000'0000, 0, true);
    }
    SECTION("hgatp Bare: the GPA is the physical address") {
        two_stage_scene s;
        s.map_vs(va39, 0x1'2345'6000, V | R | W | X | A | D);
        virt::translation_regime r = s.regime(atp(sv39, vs_root));
        r.hgatp = 0;
        const auto t = s.walk(r, va39, ak::load);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x1'2345'6abc);
        CHECK(s.port.reads == std::vector<u64>{0x1'0000'0008, 0x1'0000'1010, 0x1'0000'2018});
    }
}

TEST_CASE("a GPA wider than 41 bits is a guest-page fault", "[guest_memory][two_stage]") {
    // H ext. 9.5.1: for Sv39x4, GPA bits 63:41 must all be zero, or else a
    // guest-page fault occurs; 9.4.7 (mtval2 = GPA >> 2), 9.4.6 (GVA), 9.6.3
    // (mtinst may be 0 for an explicit access).
    for (const auto& [kind, cause] : guest_page_faults) {
        INFO(name(kind));
        two_stage_scene s;
        check_fault(s.walk(s.regime(0), 0x200'0000'0000, kind), cause, 0x200'0000'0000, 0x80'0000'0000, 0, true);
        check_fault(s.walk(s.regime(0), 0x8000'0000'0000'0abc, kind), cause, 0x8000'0000'0000'0abc,
                    0x2000'0000'0000'02af, 0, true);
        CHECK(s.port.reads.empty());
    }
    SECTION("the same GPA from a VS-stage leaf") {
        two_stage_scene s;
        s.map_vs(va39, 0x200'0000'0000, V | R | W | X | A | D);
        check_fault(s.walk(s.regime(atp(sv39, vs_root)), va39, ak::load), load_guest_page, va39, 0x80'0000'02af, 0,
                    true);
    }
}

TEST_CASE("G-stage faults of explicit accesses: mtval = GVA, mtval2 = GPA >> 2, GVA set, mtinst 0",
          "[guest_memory][two_stage]") {
    // H ext. 9.5.1: every G-stage access is a U-mode access (a leaf without U
    // faults); 9.4.7, 9.4.6, 9.6.3. Causes 20, 21, 23 (9.4.2).
    for (const auto& [kind, cause] : guest_page_faults) {
        INFO(name(kind));
        SECTION(std::string("a G-stage leaf without U, ") + name(kind)) {
            two_stage_scene s(V | R | W | X | A | D);
            check_fault(s.walk(s.regime(0), 0x8040'3abc, kind), cause, 0x8040'3abc, 0x2010'0eaf, 0, true);
        }
        SECTION(std::string("an unmapped GPA, ") + name(kind)) {
            two_stage_scene s;
            check_fault(s.walk(s.regime(0), 0x4040'3abc, kind), cause, 0x4040'3abc, 0x1010'0eaf, 0, true);
            CHECK(s.port.reads == std::vector<u64>{0x9000'0008});
        }
        SECTION(std::string("VS-stage Sv39: the final GPA unmapped, ") + name(kind)) {
            two_stage_scene s;
            s.map_vs(va39, 0x4040'5000, V | R | W | X | A | D);
            check_fault(s.walk(s.regime(atp(sv39, vs_root)), va39, kind), cause, va39, 0x1010'16af, 0, true);
        }
    }
}

TEST_CASE("two-stage walk: each VS-stage PTE address goes through the G-stage first", "[guest_memory][two_stage]") {
    // H ext. 9.5: the VS-stage page tables are at guest physical addresses,
    // each access to them translated by the G-stage.
    two_stage_scene s;
    s.map_vs(va39, 0x8040'5000, V | R | W | X | A | D);
    const auto t = s.walk(s.regime(atp(sv39, vs_root)), va39, ak::load);
    REQUIRE(t.ok);
    CHECK(t.physical == 0x8040'5abc);
    CHECK(s.port.reads == std::vector<u64>{0x9000'0020, 0x1'0000'0008, 0x9000'0020, 0x1'0000'1010, 0x9000'0020,
                                           0x1'0000'2018, 0x9000'0010});
}

TEST_CASE("VS-stage tables unmapped or read-only in the G-stage: guest-page faults with a pseudoinstruction",
          "[guest_memory][two_stage]") {
    // H ext. 9.5.1: VS-stage PTE accesses are checked at the G-stage as implicit
    // loads (stores for the A/D update), the fault reported for the original
    // access type; 9.4.7: mtval2 = the GPA of the implicit access >> 2;
    // 9.6.3 table 9.11: mtinst = 0x3000 (64-bit read) or 0x3020 (64-bit write).
    for (const auto& [kind, cause] : guest_page_faults) {
        INFO(name(kind));
        SECTION(std::string("the VS-stage root outside the G-stage, ") + name(kind)) {
            two_stage_scene s;
            // VS root at GPA 0x4000_0000: its entry for VPN[2] = 1 at GPA 0x4000_0008.
            check_fault(s.walk(s.regime(atp(sv39, 0x4000'0000)), va39, kind), cause, va39, 0x1000'0002,
                        pseudo_pte_read, true);
            CHECK(s.port.reads == std::vector<u64>{0x9000'0008});
        }
        SECTION(std::string("the VS-stage tables without U in the G-stage, ") + name(kind)) {
            two_stage_scene s(V | R | W | X | U | A | D, V | R | W | A | D);
            s.map_vs(va39, 0x8040'5000, V | R | W | X | A | D);
            check_fault(s.walk(s.regime(atp(sv39, vs_root)), va39, kind), cause, va39, 0x4000'0002, pseudo_pte_read,
                        true);
        }
        SECTION(std::string("a level-0 table unmapped, ") + name(kind)) {
            two_stage_scene s;
            s.map_vs(va39, 0x8040'5000, V | R | W | X | A | D);
            s.port.set(0x1'0000'1010, pte(0x7000'0000, V));  // the level-0 table at GPA 0x7000_0000
            check_fault(s.walk(s.regime(atp(sv39, vs_root)), va39, kind), cause, va39, 0x1c00'0006, pseudo_pte_read,
                        true);
        }
        SECTION(std::string("the A/D write to a read-only G-stage page, ") + name(kind)) {
            two_stage_scene s(V | R | W | X | U | A | D, V | R | U | A | D);
            s.map_vs(va39, 0x8040'5000, V | R | W | X);  // A = D = 0: the walk must write the leaf at GPA 0x1_0000_2018
            virt::translation_regime r = s.regime(atp(sv39, vs_root));
            r.update_ad = true;
            check_fault(s.walk(r, va39, kind), cause, va39, 0x4000'0806, pseudo_pte_write, true);
            CHECK(s.port.updates.empty());
        }
    }
    SECTION("read-only G-stage tables are enough when A and D need no update") {
        two_stage_scene s(V | R | W | X | U | A | D, V | R | U | A | D);
        s.map_vs(va39, 0x8040'5000, V | R | W | X | A | D);
        virt::translation_regime r = s.regime(atp(sv39, vs_root));
        r.update_ad = true;
        const auto t = s.walk(r, va39, ak::store);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x8040'5abc);
    }
    SECTION("the A/D update of a VS-stage PTE sets A and D of the G-stage leaf of its table") {
        two_stage_scene s(V | R | W | X | U | A | D, V | R | W | U);
        s.map_vs(va39, 0x8040'5000, V | R | W);
        virt::translation_regime r = s.regime(atp(sv39, vs_root));
        r.update_ad = true;
        REQUIRE(s.walk(r, va39, ak::store).ok);
        CHECK(s.port.get(0x1'0000'2018) == 0x2010'14c7);
        CHECK(s.port.get(g_tables) == 0x4000'00d7);  // the tables' G-stage leaf: A (read) and D (the write)
    }
}

TEST_CASE("VS-stage faults are page faults with GVA set and no mtval2", "[guest_memory][two_stage]") {
    // H ext. 9.4.6: GVA = 1 when mtval holds a guest virtual address; a
    // VS-stage page fault is an ordinary page fault (12, 13, 15).
    for (const auto& [kind, cause] : page_faults) {
        INFO(name(kind));
        two_stage_scene s;
        s.map_vs(va39, 0x8040'5000, R | W | X | A | D);  // V = 0
        check_fault(s.walk(s.regime(atp(sv39, vs_root)), va39, kind), cause, va39, 0, 0, true);
    }
}

TEST_CASE("MXR: vsstatus.MXR for the VS-stage only, mstatus.MXR for both", "[guest_memory][two_stage]") {
    // H ext. 9.2.10 / 9.5: vsstatus.MXR makes executable pages readable in the
    // VS-stage only; mstatus.MXR in both stages (the regime's mxr holds either).
    SECTION("VS-stage X-only, G-stage readable: MXR of the first stage is enough") {
        two_stage_scene s;
        s.map_vs(va39, 0x8040'5000, V | X | A | D);
        virt::translation_regime r = s.regime(atp(sv39, vs_root));
        check_fault(s.walk(r, va39, ak::load), load_page, va39, 0, 0, true);
        r.mxr = true;
        const auto t = s.walk(r, va39, ak::load);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x8040'5abc);
    }
    SECTION("G-stage X-only: vsstatus.MXR does not make it readable, mstatus.MXR does") {
        two_stage_scene s(V | X | U | A | D);
        s.map_vs(va39, 0x8040'5000, V | R | W | A | D);
        virt::translation_regime r = s.regime(atp(sv39, vs_root));
        r.mxr = true;  // vsstatus.MXR
        check_fault(s.walk(r, va39, ak::load), load_guest_page, va39, 0x2010'16af, 0, true);
        r.mxr_g = true;  // mstatus.MXR
        const auto t = s.walk(r, va39, ak::load);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x8040'5abc);
    }
    SECTION("HLVX needs X in both stages, R in neither") {
        two_stage_scene s(V | R | U | A | D);
        s.map_vs(va39, 0x8040'5000, V | X | A | D);
        virt::translation_regime r = s.regime(atp(sv39, vs_root));
        r.execute_for_read = true;
        check_fault(s.walk(r, va39, ak::load), load_guest_page, va39, 0x2010'16af, 0, true);
        s.port.set(g_data, pte(0x8000'0000, V | X | U | A | D));
        const auto t = s.walk(r, va39, ak::load);
        REQUIRE(t.ok);
        CHECK(t.physical == 0x8040'5abc);
    }
}

TEST_CASE("G-stage A/D: updated by compare-and-swap, or a guest-page fault", "[guest_memory][two_stage]") {
    // H ext. 9.5.1 with priv. spec 4.3.2 step 7, applied to G-stage PTEs.
    SECTION("Svade: a G-stage leaf without A") {
        for (const auto& [kind, cause] : guest_page_faults) {
            INFO(name(kind));
            two_stage_scene s(V | R | W | X | U);
            check_fault(s.walk(s.regime(0), 0x8040'3abc, kind), cause, 0x8040'3abc, 0x2010'0eaf, 0, true);
        }
    }
    SECTION("Svade: the G-stage leaf of the VS-stage tables without A: a fault of the implicit read") {
        for (const auto& [kind, cause] : guest_page_faults) {
            INFO(name(kind));
            two_stage_scene s(V | R | W | X | U | A | D, V | R | W | U);
            s.map_vs(va39, 0x8040'5000, V | R | W | X | A | D);
            check_fault(s.walk(s.regime(atp(sv39, vs_root)), va39, kind), cause, va39, 0x4000'0002, pseudo_pte_read,
                        true);
        }
    }
    SECTION("Svadu: A, and D for a store") {
        two_stage_scene s(V | R | W | X | U);
        virt::translation_regime r = s.regime(0);
        r.update_ad = true;
        REQUIRE(s.walk(r, 0x8040'3abc, ak::load).ok);
        CHECK(s.port.get(g_data) == 0x2000'005f);
        REQUIRE(s.walk(r, 0x8040'3abc, ak::store).ok);
        CHECK(s.port.get(g_data) == 0x2000'00df);
    }
    SECTION("Svadu: a G-stage leaf that changed before its compare-and-swap: the G-stage walk starts again") {
        two_stage_scene s(V | R | W | X | U);
        virt::translation_regime r = s.regime(0);
        r.update_ad = true;
        bool changed = false;
        s.port.other_hart = [&](fake_port& p, u64 address) {
            if (changed) return;
            changed = true;
            p.set(address, pte(0xc000'0000, V | R | W | X | U));  // the hypervisor remaps the gigapage
        };
        const auto t = s.walk(r, 0x8040'3abc, ak::load);
        REQUIRE(t.ok);
        CHECK(t.physical == 0xc040'3abcu);
        CHECK(s.port.reads == std::vector<u64>{g_data, g_data});
        CHECK(s.port.get(g_data) == 0x3000'005fu);
    }
}

TEST_CASE("G-stage PTE accesses refused, and Svpbmt in the G-stage", "[guest_memory][two_stage]") {
    // priv. spec 4.3.2 step 2 applied to the G-stage (H ext. 9.5.1): a refused
    // PTE access is an access fault of the original type, mtval = GVA, GVA set.
    // Svpbmt: G-stage PBMT needs menvcfg.PBMTE; 3 is reserved (guest-page fault).
    for (const auto& [kind, cause] : access_faults) {
        INFO(name(kind));
        two_stage_scene s;
        s.map_vs(va39, 0x8040'5000, V | R | W | X | A | D);
        s.port.refused_reads.insert(g_data);  // the G-stage leaf of the data
        check_fault(s.walk(s.regime(atp(sv39, vs_root)), va39, kind), cause, va39, 0, 0, true);
        two_stage_scene t;
        t.port.refused_reads.insert(g_tables);  // the G-stage leaf of the VS-stage tables
        t.map_vs(va39, 0x8040'5000, V | R | W | X | A | D);
        check_fault(t.walk(t.regime(atp(sv39, vs_root)), va39, kind), cause, va39, 0, 0, true);
    }
    SECTION("the A/D write of a VS-stage PTE refused") {
        two_stage_scene s;
        s.map_vs(va39, 0x8040'5000, V | R | W | X);
        s.port.refused_writes.insert(0x1'0000'2018);
        virt::translation_regime r = s.regime(atp(sv39, vs_root));
        r.update_ad = true;
        check_fault(s.walk(r, va39, ak::store), store_access, va39, 0, 0, true);
    }
    SECTION("G-stage PBMT") {
        two_stage_scene s(V | R | W | X | U | A | D | pbmt_io);
        virt::translation_regime r = s.regime(0);
        check_fault(s.walk(r, 0x8040'3abc, ak::load), load_guest_page, 0x8040'3abc, 0x2010'0eaf, 0, true);
        r.pbmt_g = true;
        CHECK(s.walk(r, 0x8040'3abc, ak::load).ok);
        s.port.set(g_data, pte(0x8000'0000, V | R | W | X | U | A | D | pbmt_reserved));
        check_fault(s.walk(r, 0x8040'3abc, ak::load), load_guest_page, 0x8040'3abc, 0x2010'0eaf, 0, true);
    }
}

// ===========================================================================
// The guard on its own
// ===========================================================================

namespace {

// The board of the guest_memory tests. The simulated hart has 8 MiB of memory
// at 0x80000000; the board's RAM is its first 6 MiB, and the rest stands for
// device memory (a guest may reach it as MMIO, and a bus master's window):
// an access the guard wrongly let through would succeed there and show.
constexpr u64 ram_base = 0x8000'0000;
constexpr u64 ram_end = 0x8060'0000;
constexpr u64 monitor_base = 0x8050'0000, monitor_size = 0x1'0000;
constexpr u64 shared_base = 0x8058'0000, shared_size = 0x1000;
constexpr u64 dma_base = 0x8070'0000, dma_size = 0x1000;  // a bus master
constexpr u64 flash = 0x8068'0000;                         // MMIO
constexpr u64 clint_base = 0x0200'0000, clint_size = 0x1'0000;
constexpr u64 finisher = 0x0010'0000;

memory_layout board_layout() {
    memory_layout m;
    m.ram = {ram_base, ram_end - ram_base};
    m.monitor = {monitor_base, monitor_size};
    m.shared_buffer = {shared_base, shared_size};
    m.emulated_devices = {clint_base, clint_size};
    m.mswi = {clint_base, 0x4000};
    m.mtimer = {clint_base + 0x4000, 0x8000};
    m.shutdown_device = {finisher, 0x1000};
    m.bus_masters[0] = {dma_base, dma_size};
    m.bus_master_count = 1;
    return m;
}

}  // namespace

TEST_CASE("classify_physical: RAM, MMIO, emulated devices and what is refused", "[guest_memory][guard]") {
    // The guard (virt/guest_memory.hpp, step 2): never the monitor, its shared
    // page or a bus master; an emulated device whole or not at all; RAM whole or
    // not at all.
    const memory_layout m = board_layout();
    struct cl {
        u64 address, size;
        bool shutdown;
        physical_class expected;
    };
    const cl cases[] = {
        {ram_base, 8, false, physical_class::ram},
        {0x805f'fff8, 8, false, physical_class::ram},       // RAM's last 8 bytes
        {0x805f'fffc, 8, false, physical_class::refused},   // straddles RAM's end
        {0x7fff'fffc, 8, false, physical_class::refused},   // straddles RAM's start
        {0x804f'fff8, 8, false, physical_class::ram},       // just below the monitor
        {0x804f'fffc, 8, false, physical_class::refused},   // straddles the monitor's start
        {monitor_base, 1, false, physical_class::refused},
        {0x8050'8000, 8, false, physical_class::refused},
        {0x8050'ffff, 1, false, physical_class::refused},   // the monitor's last byte
        {0x8050'fffc, 8, false, physical_class::refused},   // straddles the monitor's end
        {0x8051'0000, 8, false, physical_class::ram},       // just above it
        {0x804f'f000, 0x2'2000, false, physical_class::refused},  // a range around the monitor
        {shared_base, 8, false, physical_class::refused},
        {0x8058'0ff8, 8, false, physical_class::refused},
        {0x8057'fffc, 8, false, physical_class::refused},
        {dma_base, 4, false, physical_class::refused},
        {0x806f'fffc, 8, false, physical_class::refused},   // straddles into the bus master
        {flash, 8, false, physical_class::mmio},
        {0x1000'0000, 1, false, physical_class::mmio},      // a UART
        {0x0200'4000, 8, false, physical_class::device},    // mtimecmp
        {0x0200'bff8, 8, false, physical_class::device},    // mtime
        {0x0200'fffc, 8, false, physical_class::refused},   // straddles the CLINT's end
        {0x01ff'fffc, 8, false, physical_class::refused},   // straddles its start
        {finisher, 4, false, physical_class::mmio},         // the finisher, not intercepted
        {finisher, 4, true, physical_class::device},        // the finisher, intercepted
        {0x0010'0ffc, 8, true, physical_class::refused},
        {0x8000'1000, 0, false, physical_class::refused},   // nothing
        {0xffff'ffff'ffff'fff8, 16, false, physical_class::refused},  // wraps
    };
    for (const cl& c : cases) {
        INFO(c.size << " bytes at " << c.address << (c.shutdown ? ", shutdown emulated" : ""));
        CHECK(virt::classify_physical(m, c.address, c.size, c.shutdown) == c.expected);
    }
}

TEST_CASE("monitor_entries_refuse: the monitor's PMP entries in index order", "[guest_memory][guard]") {
    // priv. spec 3.7.1: the lowest-numbered entry matching any byte decides, a
    // partial match fails; TOR takes its base from the previous pmpaddr.
    virt::pmp_layout layout;
    REQUIRE(layout.add_napot(0x8050'0000, 0x1'0000, virt::pmp_none, virt::pmp_none));  // the monitor
    REQUIRE(layout.add_napot(0x8048'0000, 0x1000, virt::pmp_r, virt::pmp_rwx));        // read-only for the firmware
    // The sandbox's wall: the OS's memory, nothing for the firmware, OFF for the OS.
    REQUIRE(layout.add_range(0x8030'0000, 0x8040'0000, virt::pmp_none, virt::pmp_layout::pmp_off));
    struct mr {
        bool firmware;
        u64 address, size;
        u8 needed;
        bool refused;
    };
    const mr cases[] = {
        {true, 0x8050'0000, 8, virt::pmp_r, true},
        {false, 0x8050'0000, 8, virt::pmp_r, true},
        {true, 0x8048'0000, 8, virt::pmp_r, false},
        {true, 0x8048'0000, 8, virt::pmp_w, true},
        {true, 0x8048'0000, 8, virt::pmp_x, true},
        {false, 0x8048'0ff8, 8, virt::pmp_w, false},
        {true, 0x8048'0ffc, 8, virt::pmp_r, true},  // partly in the read-only entry
        {true, 0x8030'0000, 8, virt::pmp_r, true},
        {true, 0x803f'fff8, 8, virt::pmp_x, true},
        {true, 0x802f'fffc, 8, virt::pmp_r, true},  // straddles the wall's base
        {true, 0x802f'fff8, 8, virt::pmp_w, false},
        {true, 0x8040'0000, 8, virt::pmp_w, false},  // the wall's top is exclusive
        {false, 0x8030'0000, 8, virt::pmp_w, false},
        {false, 0x803f'fff8, 8, virt::pmp_x, false},
        {true, 0x8020'0000, 8, virt::pmp_w, false},  // no entry matches: the firmware's entries decide
    };
    for (const mr& c : cases) {
        INFO((c.firmware ? "firmware" : "OS") << ", " << c.size << " bytes at " << c.address << ", needs "
                                              << int{c.needed});
        CHECK(virt::monitor_entries_refuse(layout, c.firmware, 0, c.address, c.size, c.needed) == c.refused);
    }
}

// ===========================================================================
// guest_memory over the simulated hart
// ===========================================================================

namespace {

/// The simulated hart's memory as the page-table builder's word store.
struct ram_words {
    simulated_hart& hw;
    [[nodiscard]] u64 get(u64 address) const { return hw.peek<u64>(address); }
    void set(u64 address, u64 value) { hw.poke<u64>(address, value); }
};

constexpr u64 tables_base = 0x8010'0000;  // the Sv39 root; the builder's tables follow it
constexpr u64 g_tables_base = 0x8014'0000;  // a 16 KiB G-stage root; its tables follow it
constexpr u64 page_a = 0x8020'0000, page_b = 0x8022'0000, page_ro = 0x8024'0000;
constexpr u64 wall_base = 0x8030'0000, wall_top = 0x8040'0000;
constexpr u64 sv39_satp = 0x8000'0000'0008'0100;  // MODE = Sv39, root 0x80100000

hart_config small_hart() {
    hart_config c;
    c.ram_size = u64{8} << 20;
    return c;
}

/// A simulated hart whose PMP lets S and U reach everything (entry 0: NAPOT
/// over the whole space, R W X), the board above, and a virtual hart.
struct board {
    simulated_hart hw;
    virt::hart h;
    memory_layout layout = board_layout();
    ram_words words{hw};
    page_tables<ram_words> tables{words, tables_base + 0x1000};
    page_tables<ram_words> g_tables{words, g_tables_base + 0x4000};

    explicit board(hart_config c = small_hart()) : hw{c} {
        if (c.pmp_entries != 0) {
            REQUIRE(hw.poke_csr(csr::pmpaddr0, ~u64{0} >> 10));
            REQUIRE(hw.poke_csr(csr::pmpcfg0, 0x1f));
        }
        h.features.has_s = c.s;
        h.features.has_h = c.h;
        h.features.pmp_count = c.pmp_entries;
    }

    gm memory(gm::side who = gm::side::os, bool shutdown_emulated = false) {
        return gm(hw, layout, h, who, shutdown_emulated);
    }
    /// Maps `va` to `pa` in the Sv39 tables at tables_base (4 KiB, or a superpage).
    u64 map(u64 va, u64 pa, u64 flags, unsigned level = 0) {
        return tables.map(tables_base, va, 3, level, pte(pa, flags));
    }
    /// Maps GPA `gpa` to `pa` in the Sv39x4 tables at g_tables_base.
    u64 map_g(u64 gpa, u64 pa, u64 flags, unsigned level = 0) {
        return g_tables.map(g_tables_base, gpa, 3, level, pte(pa, flags), true);
    }

    std::vector<memory_event> events() const { return hw.log().memory_accesses(); }
    /// The accesses that touch [base, base + size).
    std::vector<memory_event> touching(u64 base, u64 size) const {
        std::vector<memory_event> out;
        for (const memory_event& e : events())
            if (e.address < base + size && base < e.address + e.width) out.push_back(e);
        return out;
    }
    /// The accesses that are not the walk's 8-byte PTE reads (of the tables at 0x80100000-0x8017ffff).
    std::vector<memory_event> data_events() const {
        std::vector<memory_event> out;
        for (const memory_event& e : events())
            if (!(e.address >= tables_base && e.address < 0x8018'0000 && e.width == 8)) out.push_back(e);
        return out;
    }
};

virt::translation_regime sv39_regime(privilege p = privilege::supervisor) { return regime(sv39_satp, p); }

void check_access_fault(const virt::guest_access& a, u64 cause, u64 tval, bool gva = false) {
    CHECK(a.result == virt::guest_access::status::fault);
    CHECK(a.fault.cause == cause);
    CHECK(a.fault.tval == tval);
    CHECK(a.fault.tval2 == 0);
    CHECK(a.fault.tinst == 0);
    CHECK(a.fault.gva == gva);
}

}  // namespace

TEST_CASE("guest_memory: the physical satp is Bare while it exists, and comes back afterwards",
          "[guest_memory][satp]") {
    // PITFALLS: the accesses are physical, with translation in software; the
    // hart's own satp must not translate them a second time.
    board b;
    b.map(0x4000'0000, page_a, V | R | W | A | D);
    b.hw.poke<u64>(page_a + 0x18, 0x0123'4567'89ab'cdef);
    REQUIRE(b.hw.poke_csr(csr::satp, sv39_satp));
    b.hw.log().clear();
    {
        gm memory = b.memory();
        CHECK(b.hw.peek_csr(csr::satp) == 0u);
        const auto a = memory.load(sv39_regime(), 0x4000'0018, 8);
        REQUIRE(a.done());
        CHECK(a.value == 0x0123'4567'89ab'cdef);
        CHECK(a.physical == page_a + 0x18);
        CHECK(b.hw.peek_csr(csr::satp) == 0u);
    }
    CHECK(b.hw.peek_csr(csr::satp) == sv39_satp);
    const auto writes = b.hw.log().writes_to(csr::satp);
    REQUIRE(writes.size() == 2);
    CHECK(writes[0].new_value == 0u);
    CHECK(writes[1].new_value == sv39_satp);
    // Every access was made at a physical address: three PTE reads and the load.
    const auto e = b.events();
    REQUIRE(e.size() == 4);
    CHECK(e[0].address == 0x8010'0008);
    CHECK(e[3].address == page_a + 0x18);

    SECTION("satp already Bare: not written") {
        REQUIRE(b.hw.poke_csr(csr::satp, 0));
        b.hw.log().clear();
        { gm memory = b.memory(); }
        CHECK(b.hw.log().writes_to(csr::satp).empty());
    }
}

TEST_CASE("guest_memory: a hart without S-mode has no satp to touch", "[guest_memory][satp]") {
    hart_config c = hart_config::mu();
    c.ram_size = u64{8} << 20;
    board b(c);
    b.hw.poke<u32>(page_a, 0x1234'5678);
    gm memory = b.memory();
    const auto a = memory.load(regime(0, privilege::user), page_a, 4);
    REQUIRE(a.done());
    CHECK(a.value == 0x1234'5678);
    CHECK(b.hw.log().csr_writes().empty());
}

TEST_CASE("guest_memory: loads and stores of every width, zero-extended, one physical access each",
          "[guest_memory][access]") {
    // unpriv. spec 2.6: naturally aligned accesses of 1, 2, 4, 8 bytes, little-endian.
    board b;
    const u8 bytes[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    b.hw.write_memory(page_a, bytes, 8);
    b.map(0x4000'0000, page_a, V | R | W | A | D);
    gm memory = b.memory();
    struct ld {
        u64 offset;
        unsigned width;
        u64 value;
    };
    const ld loads[] = {{0, 1, 0x11},   {7, 1, 0x88},          {0, 2, 0x2211}, {6, 2, 0x8877},
                        {0, 4, 0x4433'2211}, {4, 4, 0x8877'6655}, {0, 8, 0x8877'6655'4433'2211}};
    for (const auto& r : {regime(0), sv39_regime()}) {
        const u64 base = r.satp == 0 ? page_a : 0x4000'0000;
        for (const ld& l : loads) {
            INFO("satp " << r.satp << ", load of " << l.width << " at +" << l.offset);
            b.hw.log().clear();
            const auto a = memory.load(r, base + l.offset, l.width);
            REQUIRE(a.done());
            CHECK(a.value == l.value);
            CHECK(a.physical == page_a + l.offset);
            const auto e = b.data_events();
            REQUIRE(e.size() == 1);
            CHECK_FALSE(e[0].store);
            CHECK(e[0].address == page_a + l.offset);
            CHECK(e[0].width == l.width);
            CHECK(e[0].how.privilege == privilege::supervisor);
            CHECK_FALSE(e[0].how.virtualized);
        }
    }
    SECTION("stores write the low bytes only") {
        struct st {
            unsigned width;
            u64 value;   // what the guest's register holds
            u64 stored;  // what reaches memory: its low `width` bytes
            u64 memory;  // the doubleword afterwards
        };
        const st stores[] = {
            {1, 0xdead'beef'dead'bea1, 0xa1, 0xeeee'eeee'eeee'eea1},
            {2, 0xdead'beef'dead'b2a2, 0xb2a2, 0xeeee'eeee'eeee'b2a2},
            {4, 0xdead'beef'd4c4'b4a4, 0xd4c4'b4a4, 0xeeee'eeee'd4c4'b4a4},
            {8, 0x1828'3848'5868'7888, 0x1828'3848'5868'7888, 0x1828'3848'5868'7888},
        };
        for (const st& c : stores) {
            INFO("store of " << c.width);
            b.hw.poke<u64>(page_a + 0x100, 0xeeee'eeee'eeee'eeee);
            b.hw.poke<u64>(page_a + 0x108, 0xeeee'eeee'eeee'eeee);
            b.hw.log().clear();
            const auto a = memory.store(sv39_regime(), 0x4000'0100, c.width, c.value);
            REQUIRE(a.done());
            const auto e = b.data_events();
            REQUIRE(e.size() == 1);
            CHECK(e[0].store);
            CHECK(e[0].address == page_a + 0x100);
            CHECK(e[0].width == c.width);
            CHECK(e[0].value == c.stored);
            CHECK(b.hw.peek<u64>(page_a + 0x100) == c.memory);
            CHECK(b.hw.peek<u64>(page_a + 0x108) == 0xeeee'eeee'eeee'eeeeu);
        }
    }
}

TEST_CASE("guest_memory: misaligned accesses within a page are made a byte at a time", "[guest_memory][access]") {
    // priv. spec 3.6.3.3 / unpriv. spec 2.6: a misaligned access may be
    // performed in pieces; guest_memory makes it byte by byte at the physical addresses.
    board b;
    const u8 bytes[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                          0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};
    b.hw.write_memory(page_a + 0x200, bytes, 16);
    b.map(0x4000'0000, page_a, V | R | W | A | D);
    gm memory = b.memory();
    b.hw.log().clear();
    auto a = memory.load(sv39_regime(), 0x4000'0201, 4);
    REQUIRE(a.done());
    CHECK(a.value == 0x5544'3322);
    auto e = b.data_events();
    REQUIRE(e.size() == 4);
    for (unsigned i = 0; i < 4; ++i) {
        CHECK(e[i].address == page_a + 0x201 + i);
        CHECK(e[i].width == 1);
    }
    b.hw.log().clear();
    a = memory.load(sv39_regime(), 0x4000'0207, 8);
    REQUIRE(a.done());
    CHECK(a.value == 0xffee'ddcc'bbaa'9988u);
    CHECK(b.data_events().size() == 8);
    b.hw.log().clear();
    a = memory.store(sv39_regime(), 0x4000'0203, 2, 0xbeef);
    REQUIRE(a.done());
    e = b.data_events();
    REQUIRE(e.size() == 2);
    CHECK(e[0].address == page_a + 0x203);
    CHECK(e[0].value == 0xef);
    CHECK(e[1].address == page_a + 0x204);
    CHECK(e[1].value == 0xbe);
    CHECK(b.hw.peek<u32>(page_a + 0x202) == 0x66be'ef33u);
}

TEST_CASE("guest_memory: an access across a page is split at the page, both pages translated first",
          "[guest_memory][access]") {
    // priv. spec 4.3.2 / 3.6.3.3: each page of a misaligned access is
    // translated; mtval is the address of the part that faulted. guest_memory
    // translates and guards both pages before any byte is written.
    board b;
    b.map(0x4000'0000, page_a, V | R | W | A | D);
    b.map(0x4000'1000, page_b, V | R | W | A | D);
    b.hw.poke<u32>(page_a + 0xffc, 0x4433'2211);
    b.hw.poke<u32>(page_b, 0x8877'6655);
    gm memory = b.memory();
    SECTION("two naturally aligned halves: one access each") {
        b.hw.log().clear();
        const auto a = memory.load(sv39_regime(), 0x4000'0ffc, 8);
        REQUIRE(a.done());
        CHECK(a.value == 0x8877'6655'4433'2211);
        const auto e = b.data_events();
        REQUIRE(e.size() == 2);
        CHECK(e[0].address == page_a + 0xffc);
        CHECK(e[0].width == 4);
        CHECK(e[1].address == page_b);
        CHECK(e[1].width == 4);
    }
    SECTION("3 + 5 bytes: bytes") {
        b.hw.log().clear();
        const auto a = memory.load(sv39_regime(), 0x4000'0ffd, 8);
        REQUIRE(a.done());
        CHECK(a.value == 0x0088'7766'5544'3322u);
        const auto e = b.data_events();
        REQUIRE(e.size() == 8);
        CHECK(e[2].address == page_a + 0xfff);
        CHECK(e[3].address == page_b);
    }
    SECTION("a store across the page") {
        b.hw.log().clear();
        const auto a = memory.store(sv39_regime(), 0x4000'0ffe, 4, 0xa1b2'c3d4);
        REQUIRE(a.done());
        CHECK(b.hw.peek<u16>(page_a + 0xffe) == 0xc3d4u);
        CHECK(b.hw.peek<u16>(page_b) == 0xa1b2u);
        const auto e = b.data_events();
        REQUIRE(e.size() == 2);
        CHECK(e[0].width == 2);
        CHECK(e[1].width == 2);
    }
    SECTION("a store whose second page is unmapped writes nothing: page fault at the second page") {
        b.map(0x4000'1000, page_b, R | W | A | D);  // V = 0
        b.hw.log().clear();
        check_access_fault(memory.store(sv39_regime(), 0x4000'0ffc, 8, 0xffff'ffff'ffff'ffff), store_page, 0x4000'1000);
        CHECK(b.data_events().empty());
        CHECK(b.hw.peek<u32>(page_a + 0xffc) == 0x4433'2211u);
    }
    SECTION("a store whose second page is read-only writes nothing") {
        b.map(0x4000'1000, page_b, V | R | A | D);
        b.hw.log().clear();
        check_access_fault(memory.store(sv39_regime(), 0x4000'0fff, 2, 0xffff), store_page, 0x4000'1000);
        CHECK(b.data_events().empty());
        CHECK(b.hw.peek<u32>(page_a + 0xffc) == 0x4433'2211u);
    }
    SECTION("a store whose second page is the monitor writes nothing: access fault at the second page") {
        b.map(0x4000'1000, monitor_base, V | R | W | A | D);
        b.hw.log().clear();
        check_access_fault(memory.store(sv39_regime(), 0x4000'0ffc, 8, 0), store_access, 0x4000'1000);
        CHECK(b.data_events().empty());
        CHECK(b.hw.peek<u32>(page_a + 0xffc) == 0x4433'2211u);
    }
    SECTION("a load whose first page faults: page fault at the address") {
        b.map(0x4000'0000, page_a, R | W | A | D);
        check_access_fault(memory.load(sv39_regime(), 0x4000'0ffc, 8), load_page, 0x4000'0ffc);
    }
}

TEST_CASE("guest_memory: AMOs of every operation, .w and .d", "[guest_memory][amo]") {
    // unpriv. spec 8.4: AMOs on naturally aligned 32- or 64-bit words; the
    // memory gets op(old, rs2), the old value comes back (zero-extended here:
    // the engine sign-extends a .w result into rd); min/max signed, minu/maxu unsigned.
    struct amo {
        amo_op op;
        u64 word;    // the new 32-bit word from 0x80000001 and 3
        u64 dword;   // the new 64-bit word from 0x8000000000000001 and 3
    };
    const amo cases[] = {
        {amo_op::add, 0x8000'0004, 0x8000'0000'0000'0004},
        {amo_op::swap, 0x0000'0003, 0x0000'0000'0000'0003},
        {amo_op::bit_xor, 0x8000'0002, 0x8000'0000'0000'0002},
        {amo_op::bit_or, 0x8000'0003, 0x8000'0000'0000'0003},
        {amo_op::bit_and, 0x0000'0001, 0x0000'0000'0000'0001},
        {amo_op::min, 0x8000'0001, 0x8000'0000'0000'0001},
        {amo_op::max, 0x0000'0003, 0x0000'0000'0000'0003},
        {amo_op::min_unsigned, 0x0000'0003, 0x0000'0000'0000'0003},
        {amo_op::max_unsigned, 0x8000'0001, 0x8000'0000'0000'0001},
    };
    board b;
    b.map(0x4000'0000, page_a, V | R | W | A | D);
    gm memory = b.memory();
    for (const amo& c : cases) {
        INFO("funct5 " << int{static_cast<u8>(c.op)});
        b.hw.poke<u32>(page_a + 0x200, 0x8000'0001);
        b.hw.poke<u32>(page_a + 0x204, 0xa5a5'a5a5);
        b.hw.poke<u64>(page_a + 0x208, 0x8000'0000'0000'0001);
        b.hw.log().clear();
        // The upper half of rs2 plays no part in a .w AMO.
        auto a = memory.amo(sv39_regime(), 0x4000'0200, 4, c.op, 0x1234'5678'0000'0003);
        REQUIRE(a.done());
        CHECK(a.value == 0x8000'0001u);
        CHECK(b.hw.peek<u32>(page_a + 0x200) == c.word);
        CHECK(b.hw.peek<u32>(page_a + 0x204) == 0xa5a5'a5a5u);
        a = memory.amo(sv39_regime(), 0x4000'0208, 8, c.op, 3);
        REQUIRE(a.done());
        CHECK(a.value == 0x8000'0000'0000'0001u);
        CHECK(b.hw.peek<u64>(page_a + 0x208) == c.dword);
        const auto e = b.data_events();
        REQUIRE(e.size() == 2);
        CHECK(e[0].address == page_a + 0x200);
        CHECK(e[0].width == 4);
        CHECK(e[1].address == page_a + 0x208);
        CHECK(e[1].width == 8);
    }
    SECTION("amoadd.w wraps within the word") {
        b.hw.poke<u64>(page_a + 0x200, 0x0000'0007'ffff'ffff);
        const auto a = memory.amo(sv39_regime(), 0x4000'0200, 4, amo_op::add, 1);
        REQUIRE(a.done());
        CHECK(a.value == 0xffff'ffffu);
        CHECK(b.hw.peek<u64>(page_a + 0x200) == 0x0000'0007'0000'0000u);
    }
    SECTION("misaligned: store/AMO address misaligned, nothing accessed") {
        // unpriv. spec 8.4 / priv. spec 3.6.3.3: misaligned AMOs raise an
        // address-misaligned (or access-fault) exception.
        for (const auto& [address, width] : {std::pair{0x4000'0202ull, 4u}, std::pair{0x4000'0204ull, 8u},
                                             std::pair{0x4000'0ffcull, 8u}}) {
            INFO(width << " bytes at " << address);
            b.hw.log().clear();
            check_access_fault(memory.amo(sv39_regime(), address, width, amo_op::swap, 0), store_misaligned, address);
            CHECK(b.events().empty());
        }
    }
    SECTION("an AMO needs write permission: store page fault on a read-only page") {
        b.map(0x4000'1000, page_ro, V | R | X | A | D);
        check_access_fault(memory.amo(sv39_regime(), 0x4000'1000, 8, amo_op::bit_or, 0), store_page, 0x4000'1000);
    }
    SECTION("an AMO on the monitor: store access fault, the monitor untouched") {
        b.map(0x4000'1000, monitor_base, V | R | W | A | D);
        b.hw.log().clear();
        check_access_fault(memory.amo(sv39_regime(), 0x4000'1008, 8, amo_op::swap, 0), store_access, 0x4000'1008);
        CHECK(b.touching(monitor_base, monitor_size).empty());
    }
    SECTION("an AMO on an emulated device is handed back") {
        const auto a = memory.amo(regime(0), 0x0200'4008, 8, amo_op::add, 1, virt::reach::devices);
        CHECK(a.result == virt::guest_access::status::device);
        CHECK(a.physical == 0x0200'4008u);
        check_access_fault(memory.amo(regime(0), 0x0200'4008, 8, amo_op::add, 1), store_access, 0x0200'4008);
    }
}

TEST_CASE("guest_memory: compare_exchange and load_reserved", "[guest_memory][amo]") {
    // unpriv. spec 8.2: LR/SC on naturally aligned words; the monitor's SC is a
    // compare-and-swap against the value LR loaded. LR misaligned: load address
    // misaligned (4); SC, as a store: 6.
    board b;
    b.map(0x4000'0000, page_a, V | R | W | A | D);
    b.hw.poke<u64>(page_a + 0x300, 0x1111'2222'3333'4444);
    gm memory = b.memory();
    SECTION("load_reserved") {
        auto a = memory.load_reserved(sv39_regime(), 0x4000'0300, 8);
        REQUIRE(a.done());
        CHECK(a.value == 0x1111'2222'3333'4444u);
        CHECK(a.physical == page_a + 0x300);
        a = memory.load_reserved(sv39_regime(), 0x4000'0304, 4);
        REQUIRE(a.done());
        CHECK(a.value == 0x1111'2222u);
        CHECK(a.physical == page_a + 0x304);
        check_access_fault(memory.load_reserved(sv39_regime(), 0x4000'0304, 8), load_misaligned, 0x4000'0304);
        check_access_fault(memory.load_reserved(sv39_regime(), 0x4000'0302, 4), load_misaligned, 0x4000'0302);
        check_access_fault(memory.load_reserved(sv39_regime(), 0x4000'0300, 2), load_misaligned, 0x4000'0300);
        check_access_fault(memory.load_reserved(regime(0), flash, 8), load_access, flash);  // RAM only
        // LR is a load: read permission, load faults.
        b.map(0x4000'1000, page_ro, V | R | A | D);
        CHECK(memory.load_reserved(sv39_regime(), 0x4000'1000, 8).done());
        b.map(0x4000'2000, page_ro, V | X | A | D);
        check_access_fault(memory.load_reserved(sv39_regime(), 0x4000'2000, 8), load_page, 0x4000'2000);
    }
    SECTION("compare_exchange that matches") {
        const auto a = memory.compare_exchange(sv39_regime(), 0x4000'0300, 8, 0x1111'2222'3333'4444, 0x5555);
        REQUIRE(a.done());
        CHECK(a.value == 0x1111'2222'3333'4444u);
        CHECK(a.physical == page_a + 0x300);
        CHECK(b.hw.peek<u64>(page_a + 0x300) == 0x5555u);
    }
    SECTION("compare_exchange that does not match") {
        const auto a = memory.compare_exchange(sv39_regime(), 0x4000'0300, 8, 0x1111'2222'3333'4445, 0x5555);
        REQUIRE(a.done());
        CHECK(a.value == 0x1111'2222'3333'4444u);
        CHECK(b.hw.peek<u64>(page_a + 0x300) == 0x1111'2222'3333'4444u);
    }
    SECTION("compare_exchange of a word") {
        const auto a = memory.compare_exchange(sv39_regime(), 0x4000'0304, 4, 0x1111'2222, 0xabcd'ef01);
        REQUIRE(a.done());
        CHECK(a.value == 0x1111'2222u);
        CHECK(b.hw.peek<u64>(page_a + 0x300) == 0xabcd'ef01'3333'4444u);
    }
    SECTION("compare_exchange misaligned, on a read-only page, off RAM") {
        check_access_fault(memory.compare_exchange(sv39_regime(), 0x4000'0302, 4, 0, 0), store_misaligned, 0x4000'0302);
        b.map(0x4000'1000, page_ro, V | R | A | D);
        check_access_fault(memory.compare_exchange(sv39_regime(), 0x4000'1000, 8, 0, 0), store_page, 0x4000'1000);
        b.hw.log().clear();
        check_access_fault(memory.compare_exchange(regime(0), flash, 8, 0, 0), store_access, flash);
        CHECK(b.events().empty());
    }
}

TEST_CASE("guest_memory: read_instruction reads 16 bits, then 16 more for a 32-bit instruction",
          "[guest_memory][fetch]") {
    // unpriv. spec 1.5: the low two bits of the first parcel give the length;
    // priv. spec 3.1.16: a fetch fault of the second parcel reports that
    // parcel's address in mtval (mepc stays at the instruction).
    board b;
    b.map(0x4000'0000, page_a, V | R | X | A | D);
    b.hw.place_instruction(page_a + 0x100, 0x4501);       // c.li a0, 0
    b.hw.place_instruction(page_a + 0x200, 0x0010'0513);  // addi a0, zero, 1
    b.hw.poke<u16>(page_a + 0xffe, 0x0513);               // the low parcel of addi a0, zero, ...
    gm memory = b.memory();
    u32 bits = 0;
    virt::guest_fault f;
    SECTION("a 16-bit instruction: one parcel") {
        b.hw.log().clear();
        REQUIRE(memory.read_instruction(sv39_regime(), 0x4000'0100, bits, f));
        CHECK(bits == 0x4501u);
        const auto e = b.data_events();
        REQUIRE(e.size() == 1);
        CHECK(e[0].address == page_a + 0x100);
        CHECK(e[0].width == 2);
    }
    SECTION("a 32-bit instruction: two parcels") {
        b.hw.log().clear();
        REQUIRE(memory.read_instruction(sv39_regime(), 0x4000'0200, bits, f));
        CHECK(bits == 0x0010'0513u);
        const auto e = b.data_events();
        REQUIRE(e.size() == 2);
        CHECK(e[0].address == page_a + 0x200);
        CHECK(e[1].address == page_a + 0x202);
    }
    SECTION("a 32-bit instruction whose second parcel is on an unmapped page") {
        CHECK_FALSE(memory.read_instruction(sv39_regime(), 0x4000'0ffe, bits, f));
        CHECK(f.cause == fetch_page);
        CHECK(f.tval == 0x4000'1000u);
    }
    SECTION("a 16-bit instruction at the end of the page needs nothing of the next") {
        b.hw.poke<u16>(page_a + 0xffe, 0x4501);
        REQUIRE(memory.read_instruction(sv39_regime(), 0x4000'0ffe, bits, f));
        CHECK(bits == 0x4501u);
    }
    SECTION("a 32-bit instruction whose second parcel is in the monitor") {
        b.map(0x4000'1000, monitor_base, V | R | X | A | D);
        b.hw.log().clear();
        CHECK_FALSE(memory.read_instruction(sv39_regime(), 0x4000'0ffe, bits, f));
        CHECK(f.cause == fetch_access);
        CHECK(f.tval == 0x4000'1000u);
        CHECK(b.touching(monitor_base, monitor_size).empty());
    }
    SECTION("a 32-bit instruction whose second parcel cannot be read (MMIO without a device)") {
        b.map(0x4000'1000, 0x1000'0000, V | R | X | A | D);
        b.hw.log().clear();
        CHECK_FALSE(memory.read_instruction(sv39_regime(), 0x4000'0ffe, bits, f));
        CHECK(f.cause == fetch_access);
        CHECK(f.tval == 0x4000'1000u);
        const auto e = b.data_events();
        REQUIRE(e.size() == 2);  // both parcels read in M-mode; the second fails
        CHECK(e[1].address == 0x1000'0000u);
        CHECK_FALSE(e[1].ok);
    }
    SECTION("a page without X: instruction page fault") {
        b.map(0x4000'1000, page_b, V | R | W | A | D);
        CHECK_FALSE(memory.read_instruction(sv39_regime(), 0x4000'1000, bits, f));
        CHECK(f.cause == fetch_page);
        CHECK(f.tval == 0x4000'1000u);
    }
    SECTION("the firmware's pc (M-mode, physical) in the monitor: instruction access fault") {
        gm fw = b.memory(gm::side::firmware);
        b.hw.log().clear();
        CHECK_FALSE(fw.read_instruction(regime(0, privilege::machine), monitor_base + 0x40, bits, f));
        CHECK(f.cause == fetch_access);
        CHECK(f.tval == monitor_base + 0x40);
        CHECK(b.events().empty());
        REQUIRE(fw.read_instruction(regime(0, privilege::machine), page_a + 0x200, bits, f));
        CHECK(bits == 0x0010'0513u);
    }
}

TEST_CASE("guest_memory: copy_from_guest and copy_to_guest page by page", "[guest_memory][copy]") {
    // Each page translated and guarded, then read through the PMP (8 bytes at a
    // time where aligned); the first fault stops the copy, with its address.
    board b;
    b.map(0x4000'0000, page_a, V | R | W | A | D);
    b.map(0x4000'1000, page_b, V | R | W | A | D);
    u8 pattern[0x20];
    for (unsigned i = 0; i < 0x20; ++i) pattern[i] = static_cast<u8>(0xc0 + i);
    b.hw.write_memory(page_a + 0xff0, pattern, 0x10);
    b.hw.write_memory(page_b, pattern + 0x10, 0x10);
    gm memory = b.memory();
    virt::guest_fault f;
    SECTION("from the guest, across two pages") {
        u8 out[0x20] = {};
        b.hw.log().clear();
        REQUIRE(memory.copy_from_guest(sv39_regime(), 0x4000'0ff0, out, 0x20, f));
        CHECK(std::memcmp(out, pattern, 0x20) == 0);
        const auto e = b.data_events();
        REQUIRE(e.size() == 4);
        CHECK(e[0].address == page_a + 0xff0);
        CHECK(e[1].address == page_a + 0xff8);
        CHECK(e[2].address == page_b);
        CHECK(e[3].address == page_b + 8);
        for (const auto& x : e) CHECK(x.width == 8);
    }
    SECTION("from the guest, unaligned") {
        u8 out[0x11] = {};
        REQUIRE(memory.copy_from_guest(sv39_regime(), 0x4000'0ff3, out, 0x11, f));
        CHECK(std::memcmp(out, pattern + 3, 0x11) == 0);
    }
    SECTION("to the guest, across two pages") {
        u8 in[0x20];
        for (unsigned i = 0; i < 0x20; ++i) in[i] = static_cast<u8>(0x30 + i);
        REQUIRE(memory.copy_to_guest(sv39_regime(), 0x4000'0ff5, in, 0x14, f));
        u8 back[0x20];
        b.hw.read_memory(page_a + 0xff0, back, 0x10);
        b.hw.read_memory(page_b, back + 0x10, 0x10);
        const u8 expected[0x20] = {0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
                                   0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40,
                                   0x41, 0x42, 0x43, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf};
        CHECK(std::memcmp(back, expected, 0x20) == 0);
    }
    SECTION("the second page unmapped: the first page copied, a page fault at the second") {
        b.map(0x4000'1000, page_b, R | W | A | D);
        u8 out[0x20] = {};
        CHECK_FALSE(memory.copy_from_guest(sv39_regime(), 0x4000'0ff0, out, 0x20, f));
        CHECK(f.cause == load_page);
        CHECK(f.tval == 0x4000'1000u);
        CHECK(std::memcmp(out, pattern, 0x10) == 0);
        const u8 in[0x20] = {};
        CHECK_FALSE(memory.copy_to_guest(sv39_regime(), 0x4000'0ff0, in, 0x20, f));
        CHECK(f.cause == store_page);
        CHECK(f.tval == 0x4000'1000u);
    }
    SECTION("a page of the monitor: an access fault, the monitor untouched") {
        b.map(0x4000'1000, monitor_base, V | R | W | A | D);
        u8 out[0x20] = {};
        b.hw.log().clear();
        CHECK_FALSE(memory.copy_from_guest(sv39_regime(), 0x4000'0ff0, out, 0x20, f));
        CHECK(f.cause == load_access);
        CHECK(f.tval == 0x4000'1000u);
        CHECK_FALSE(memory.copy_to_guest(sv39_regime(), 0x4000'0ff0, out, 0x20, f));
        CHECK(f.cause == store_access);
        CHECK(f.tval == 0x4000'1000u);
        CHECK(b.touching(monitor_base, monitor_size).empty());
    }
}

TEST_CASE("guest_memory: check_range translates and guards, and accesses nothing", "[guest_memory][copy]") {
    board b;
    b.map(0x4000'0000, page_a, V | R | W | A | D);
    b.map(0x4000'1000, page_ro, V | R | A | D);
    b.map(0x4000'2000, monitor_base, V | R | W | A | D);
    gm memory = b.memory();
    virt::guest_fault f;
    b.hw.log().clear();
    CHECK(memory.check_range(sv39_regime(), 0x4000'0ff0, 0x20, ak::load, f));
    CHECK(b.data_events().empty());
    CHECK_FALSE(memory.check_range(sv39_regime(), 0x4000'0ff0, 0x20, ak::store, f));
    CHECK(f.cause == store_page);
    CHECK(f.tval == 0x4000'1000u);
    CHECK_FALSE(memory.check_range(sv39_regime(), 0x4000'1ff8, 0x10, ak::load, f));
    CHECK(f.cause == load_access);
    CHECK(f.tval == 0x4000'2000u);
    CHECK_FALSE(memory.check_range(sv39_regime(), 0x4000'0000, 0x10, ak::fetch, f));
    CHECK(f.cause == fetch_page);
    CHECK(f.tval == 0x4000'0000u);
    CHECK_FALSE(memory.check_range(regime(0), 0xffff'ffff'ffff'fff0, 0x20, ak::load, f));  // wraps
    CHECK(f.cause == load_access);
    CHECK(f.tval == 0xffff'ffff'ffff'fff0u);
    CHECK(memory.check_range(sv39_regime(), 0x4000'0000, 0, ak::store, f));
    CHECK(b.data_events().empty());
}

TEST_CASE("guest_memory: a buffer at the very top of the address space", "[guest_memory][copy]") {
    // (Found by this test and fixed.) A range that ends exactly at 2^64 (the
    // last bytes of an Sv39 address space) does not wrap (unpriv. spec 1.4):
    // the copies and check_range reach it as a load does.
    board b;
    b.map(0xffff'ffff'ffff'f000, page_a, V | R | W | A | D);
    b.hw.poke<u64>(page_a + 0xff8, 0x0807'0605'0403'0201);
    gm memory = b.memory();
    virt::guest_fault f;
    const auto a = memory.load(sv39_regime(), 0xffff'ffff'ffff'fff8, 8);  // the same bytes by load: fine
    REQUIRE(a.done());
    CHECK(a.value == 0x0807'0605'0403'0201u);
    CHECK(memory.check_range(sv39_regime(), 0xffff'ffff'ffff'fff8, 8, ak::load, f));
    u8 out[8] = {};
    CHECK(memory.copy_from_guest(sv39_regime(), 0xffff'ffff'ffff'fff8, out, 8, f));
    CHECK(out[7] == 0x08);
}

TEST_CASE("guest_memory: the guard refuses the monitor, its shared page and bus masters, untouched",
          "[guest_memory][guard]") {
    // virt/guest_memory.hpp step 2, and PITFALLS ("The monitor's integrity must
    // never rest on one hardware check"): refused ranges give the access fault of the access's kind
    // (5, 7, 1) with mtval = the virtual address, and are never accessed. The
    // hart's PMP lets everything through here, so only the guard stands.
    board b;
    gm memory = b.memory();
    struct target {
        const char* what;
        u64 base, size;
    };
    const target targets[] = {{"the monitor", monitor_base, monitor_size},
                              {"the shared buffer", shared_base, shared_size},
                              {"a bus master", dma_base, dma_size}};
    for (const target& t : targets) {
        for (const u8 reachable : {virt::reach::ram, virt::reach::mmio, u8{virt::reach::mmio | virt::reach::devices}}) {
            INFO(t.what << ", reach " << int{reachable});
            b.hw.log().clear();
            check_access_fault(memory.load(regime(0), t.base, 8, reachable), load_access, t.base);
            check_access_fault(memory.load(regime(0), t.base + t.size - 4, 8, reachable), load_access,
                               t.base + t.size - 4);
            check_access_fault(memory.store(regime(0), t.base + 0x10, 4, 0, reachable), store_access, t.base + 0x10);
            check_access_fault(memory.amo(regime(0), t.base, 8, amo_op::swap, 0, reachable), store_access, t.base);
            // Mapped through Sv39: mtval is the virtual address.
            b.map(0x4000'3000, t.base, V | R | W | X | A | D);
            check_access_fault(memory.load(sv39_regime(), 0x4000'3abc, 4, reachable), load_access, 0x4000'3abc);
            check_access_fault(memory.store(sv39_regime(), 0x4000'3008, 8, 0, reachable), store_access, 0x4000'3008);
            u32 bits = 0;
            virt::guest_fault f;
            if (t.base == shared_base) {
                // The shared page is the firmware's memory: an instruction the
                // firmware fetched there is read back (docs/security.md), nothing
                // else is; not the OS's (fuzz finding F4: its pc may have been
                // mapped there after its fetch, by another hart).
                CHECK_FALSE(memory.read_instruction(sv39_regime(), 0x4000'3000, bits, f));  // the OS side
                CHECK(f.cause == fetch_access);
                CHECK(f.tval == 0x4000'3000u);
                CHECK(b.touching(t.base, t.size).empty());
                gm fw = b.memory(gm::side::firmware);
                CHECK(fw.read_instruction(sv39_regime(), 0x4000'3000, bits, f));
                continue;
            }
            CHECK_FALSE(memory.read_instruction(sv39_regime(), 0x4000'3000, bits, f));
            CHECK(f.cause == fetch_access);
            CHECK(f.tval == 0x4000'3000u);
            CHECK(b.touching(t.base, t.size).empty());
        }
    }
    SECTION("the edges: one byte before the monitor is RAM") {
        b.hw.poke<u32>(monitor_base - 4, 0xfeed'f00d);
        const auto a = memory.load(regime(0), monitor_base - 4, 4);
        REQUIRE(a.done());
        CHECK(a.value == 0xfeed'f00du);
        check_access_fault(memory.load(regime(0), monitor_base - 4, 8), load_access, monitor_base);
        check_access_fault(memory.store(regime(0), monitor_base + monitor_size - 2, 4, 0), store_access,
                           monitor_base + monitor_size - 2);
        CHECK(b.touching(monitor_base, monitor_size).empty());
    }
}

TEST_CASE("guest_memory: page-table walks through refused memory are access faults", "[guest_memory][guard]") {
    // priv. spec 4.3.2 step 2: a PTE access that violates a PMA or PMP check
    // raises the access fault of the original access type. The guard applies to
    // the walk's own reads and A/D writes.
    board b;
    gm memory = b.memory();
    for (const auto& [kind, cause] : access_faults) {
        INFO(name(kind));
        SECTION(std::string("the root in the monitor, ") + name(kind)) {
            b.hw.log().clear();
            physical_class klass = physical_class::refused;
            check_fault(memory.translate(regime(atp(sv39, monitor_base)), va39, 1, kind, virt::reach::ram, klass),
                        cause, va39);
            CHECK(b.events().empty());
        }
        SECTION(std::string("a level-0 table in the shared buffer, ") + name(kind)) {
            b.map(va39, page_a, V | R | W | X | A | D);
            b.hw.poke<u64>(0x8010'1010, pte(shared_base, V));  // the level-1 entry points into the shared buffer
            b.hw.log().clear();
            physical_class klass = physical_class::refused;
            check_fault(memory.translate(regime(sv39_satp), va39, 1, kind, virt::reach::ram, klass), cause, va39);
            CHECK(b.touching(shared_base, shared_size).empty());
            CHECK(b.events().size() == 2);
        }
        SECTION(std::string("a level-1 table in a bus master's window, ") + name(kind)) {
            b.map(va39, page_a, V | R | W | X | A | D);
            b.hw.poke<u64>(0x8010'0008, pte(dma_base, V));
            b.hw.log().clear();
            physical_class klass = physical_class::refused;
            check_fault(memory.translate(regime(sv39_satp), va39, 1, kind, virt::reach::ram, klass), cause, va39);
            CHECK(b.touching(dma_base, dma_size).empty());
        }
        SECTION(std::string("a table in MMIO, ") + name(kind)) {
            b.hw.log().clear();
            physical_class klass = physical_class::refused;
            check_fault(memory.translate(regime(atp(sv39, flash)), va39, 1, kind, virt::reach::mmio, klass), cause,
                        va39);
            CHECK(b.events().empty());
        }
    }
}

TEST_CASE("guest_memory: A/D updates through the simulated hart", "[guest_memory][walk]") {
    // priv. spec 4.3.2 step 7: the PTE update is an atomic compare-and-swap made
    // by the walk (an S-level implicit access, 3.7.1), visible in memory.
    board b;
    const u64 leaf = b.map(va39, page_a, V | R | W);
    REQUIRE(leaf == 0x8010'2018);
    gm memory = b.memory();
    virt::translation_regime r = sv39_regime();
    r.update_ad = true;
    b.hw.log().clear();
    REQUIRE(memory.load(r, va39, 4).done());
    CHECK(b.hw.peek<u64>(leaf) == 0x2008'0047u);
    auto updates = b.touching(leaf, 8);
    REQUIRE(updates.size() == 2);  // the read, then the compare-and-swap
    CHECK_FALSE(updates[0].store);
    CHECK(updates[1].store);
    CHECK(updates[1].value == 0x2008'0047u);
    CHECK(updates[1].how.privilege == privilege::supervisor);
    REQUIRE(memory.store(r, va39, 4, 0).done());
    CHECK(b.hw.peek<u64>(leaf) == 0x2008'00c7u);
    SECTION("Svade: a page fault, the PTE unchanged") {
        b.hw.poke<u64>(leaf, pte(page_a, V | R | W));
        r.update_ad = false;
        check_access_fault(memory.load(r, va39, 4), load_page, va39);
        check_access_fault(memory.store(r, va39, 4, 0), store_page, va39);
        CHECK(b.hw.peek<u64>(leaf) == 0x2008'0007u);
    }
    SECTION("the monitor's entry lets the firmware read the table but not write it: access fault") {
        // The firmware's MPRV access: the leaf's page is read-only to it.
        REQUIRE(b.h.pmp.add_napot(0x8010'2000, 0x1000, virt::pmp_r, virt::pmp_rwx));
        b.hw.poke<u64>(leaf, pte(page_a, V | R | W));
        gm fw = b.memory(gm::side::firmware);
        check_access_fault(fw.load(r, va39, 4), load_access, va39);
        CHECK(b.hw.peek<u64>(leaf) == 0x2008'0007u);
        gm os = b.memory(gm::side::os);
        CHECK(os.load(r, va39, 4).done());
    }
}

TEST_CASE("guest_memory: emulated devices are handed back, never accessed", "[guest_memory][guard]") {
    // An emulated device (the CLINT; the finisher when intercepted) is reported
    // with its physical address when the caller can emulate it, refused otherwise.
    board b;
    SECTION("the CLINT") {
        gm memory = b.memory();
        b.map(0x4000'4000, 0x0200'4000, V | R | W | A | D);  // mtimecmp, mapped
        b.hw.log().clear();
        auto a = memory.load(sv39_regime(), 0x4000'4008, 8, virt::reach::devices);
        CHECK(a.result == virt::guest_access::status::device);
        CHECK(a.physical == 0x0200'4008u);
        a = memory.store(regime(0), 0x0200'0004, 4, 1, virt::reach::devices | virt::reach::mmio);
        CHECK(a.result == virt::guest_access::status::device);
        CHECK(a.physical == 0x0200'0004u);
        check_access_fault(memory.load(sv39_regime(), 0x4000'4008, 8), load_access, 0x4000'4008);
        check_access_fault(memory.load(regime(0), 0x0200'bff8, 8, virt::reach::mmio), load_access, 0x0200'bff8);
        // A device access across the device's end, or across pages: refused.
        const u8 both = virt::reach::devices | virt::reach::mmio;
        check_access_fault(memory.load(regime(0), 0x0200'fffc, 8, both), load_access, 0x0200'fffc);
        CHECK(b.data_events().empty());
        u32 bits = 0;
        virt::guest_fault f;
        CHECK_FALSE(memory.read_instruction(regime(0), 0x0200'0000, bits, f));
        CHECK(f.cause == fetch_access);
    }
    SECTION("the finisher, intercepted or not") {
        gm intercepted = b.memory(gm::side::os, true);
        auto a = intercepted.store(regime(0), finisher, 4, 0x5555, virt::reach::devices);
        CHECK(a.result == virt::guest_access::status::device);
        CHECK(a.physical == finisher);
        CHECK(b.events().empty());
        gm plain = b.memory(gm::side::os, false);
        check_access_fault(plain.store(regime(0), finisher, 4, 0x5555, virt::reach::devices), store_access, finisher);
        CHECK(b.events().empty());
        // Reached as MMIO: the access is made (the simulated hart has no device there).
        a = plain.store(regime(0), finisher, 4, 0x5555, virt::reach::mmio);
        CHECK(a.result == virt::guest_access::status::fault);
        REQUIRE(b.events().size() == 1);
        CHECK(b.events()[0].address == finisher);
    }
}

TEST_CASE("guest_memory: MMIO only with reach::mmio", "[guest_memory][guard]") {
    board b;
    b.hw.poke<u32>(flash, 0xf1a5'0001);  // the simulated hart's memory stands for the device
    gm memory = b.memory();
    b.hw.log().clear();
    check_access_fault(memory.load(regime(0), flash, 4), load_access, flash);
    check_access_fault(memory.store(regime(0), flash, 4, 0), store_access, flash);
    CHECK(b.events().empty());
    auto a = memory.load(regime(0), flash, 4, virt::reach::mmio);
    REQUIRE(a.done());
    CHECK(a.value == 0xf1a5'0001u);
    REQUIRE(memory.store(regime(0), flash + 4, 4, 0x77, virt::reach::mmio).done());
    CHECK(b.events().size() == 2);
    SECTION("RAM's end: the part beyond it is MMIO") {
        b.hw.log().clear();
        check_access_fault(memory.load(regime(0), ram_end - 4, 8), load_access, ram_end);
        CHECK(b.events().empty());
    }
    SECTION("copies and the reservation reach RAM only") {
        u8 out[4];
        virt::guest_fault f;
        b.hw.log().clear();
        CHECK_FALSE(memory.copy_from_guest(regime(0), flash, out, 4, f));
        CHECK(f.cause == load_access);
        CHECK(f.tval == flash);
        CHECK(b.events().empty());
    }
}

TEST_CASE("guest_memory: the monitor's PMP entries, with the firmware's or the OS's configuration",
          "[guest_memory][guard]") {
    // docs/pmp.md: the monitor's entries come first; the sandbox walls the OS's
    // memory off from the firmware (a TOR pair: no permission for the firmware,
    // OFF for the OS). The guard applies them in software: the hart's PMP
    // (everything open here) is never asked.
    board b;
    REQUIRE(b.h.pmp.add_napot(monitor_base, monitor_size, virt::pmp_none, virt::pmp_none));
    REQUIRE(b.h.pmp.add_range(wall_base, wall_top, virt::pmp_none, virt::pmp_layout::pmp_off));
    REQUIRE(b.h.pmp.add_napot(0x8048'0000, 0x1000, virt::pmp_r, virt::pmp_rwx));
    b.hw.poke<u64>(wall_base, 0x0a0b'0c0d'0e0f'1011);
    gm fw = b.memory(gm::side::firmware);
    SECTION("the firmware side: walled") {
        b.hw.log().clear();
        const virt::translation_regime s_mode = regime(0);
        check_access_fault(fw.load(s_mode, wall_base, 8), load_access, wall_base);
        check_access_fault(fw.store(s_mode, wall_top - 8, 8, 0), store_access, wall_top - 8);
        check_access_fault(fw.load(s_mode, wall_base - 4, 8), load_access, wall_base);
        check_access_fault(fw.amo(s_mode, wall_base + 8, 8, amo_op::swap, 1), store_access, wall_base + 8);
        u32 bits = 0;
        virt::guest_fault f;
        CHECK_FALSE(fw.read_instruction(regime(0, privilege::machine), wall_base, bits, f));
        CHECK(f.cause == fetch_access);
        u8 out[8];
        CHECK_FALSE(fw.copy_from_guest(s_mode, wall_base, out, 8, f));
        CHECK(f.cause == load_access);
        CHECK(b.touching(wall_base, wall_top - wall_base).empty());
        CHECK(fw.classify(wall_base, 8, ak::load) == physical_class::refused);
        CHECK(fw.classify(wall_top, 8, ak::store) == physical_class::ram);
        // The NAPOT entry: read, not write.
        CHECK(fw.load(s_mode, 0x8048'0000, 8).done());
        check_access_fault(fw.store(s_mode, 0x8048'0000, 8, 0), store_access, 0x8048'0000);
    }
    SECTION("the firmware side: a page table behind the wall") {
        b.map(va39, page_a, V | R | W | A | D);
        b.hw.poke<u64>(wall_base + 0x18, b.hw.peek<u64>(0x8010'2018));
        b.hw.poke<u64>(0x8010'1010, pte(wall_base, V));
        b.hw.log().clear();
        check_access_fault(fw.load(sv39_regime(), va39, 4), load_access, va39);
        CHECK(b.touching(wall_base, wall_top - wall_base).empty());
    }
    SECTION("the OS side: no wall") {
        gm os = b.memory(gm::side::os);
        const auto a = os.load(regime(0), wall_base, 8);
        REQUIRE(a.done());
        CHECK(a.value == 0x0a0b'0c0d'0e0f'1011u);
        CHECK(os.store(regime(0), wall_top - 8, 8, 0).done());
        CHECK(os.store(regime(0), 0x8048'0000, 8, 0).done());
        CHECK(os.classify(wall_base, 8, ak::load) == physical_class::ram);
        check_access_fault(os.load(regime(0), monitor_base, 8), load_access, monitor_base);
    }
}

TEST_CASE("guest_memory: the hart's PMP is the second wall", "[guest_memory][guard]") {
    // The access is made with the PMP in force for the guest's privilege
    // (priv. spec 3.7.1): a PMP denial comes back as an access fault at the
    // virtual address, not taken in the monitor.
    board b;
    // entry 0: NAPOT [0x80440000, +4 KiB), no permission; entry 1: everything.
    REQUIRE(b.hw.poke_csr(csr::pmpaddr0, 0x2011'01ff));
    REQUIRE(b.hw.poke_csr(csr::pmpaddr1, ~u64{0} >> 10));
    REQUIRE(b.hw.poke_csr(csr::pmpcfg0, 0x1f18));
    b.map(0x4000'0000, 0x8044'0000, V | R | W | A | D);
    gm memory = b.memory();
    b.hw.log().clear();
    check_access_fault(memory.load(sv39_regime(), 0x4000'0010, 8), load_access, 0x4000'0010);
    check_access_fault(memory.store(sv39_regime(), 0x4000'0010, 8, 0), store_access, 0x4000'0010);
    const auto e = b.data_events();
    REQUIRE(e.size() == 2);
    CHECK(e[0].address == 0x8044'0010u);
    CHECK_FALSE(e[0].ok);
    CHECK(e[0].how.privilege == privilege::supervisor);
    SECTION("a denial in the middle of a page: the fault at the first denied byte") {
        // entry 0 now: NAPOT [0x80440010, +8), no permission.
        REQUIRE(b.hw.poke_csr(csr::pmpaddr0, 0x2011'0004));
        u8 out[0x20] = {};
        virt::guest_fault f;
        CHECK_FALSE(memory.copy_from_guest(sv39_regime(), 0x4000'0000, out, 0x20, f));
        CHECK(f.cause == load_access);
        CHECK(f.tval == 0x4000'0010u);
        // priv. spec 3.6.3.3 / 3.1.16: a misaligned access reports the part that faulted.
        check_access_fault(memory.load(sv39_regime(), 0x4000'000c, 8), load_access, 0x4000'0010);
        CHECK(memory.load(sv39_regime(), 0x4000'0008, 8).done());
    }
    SECTION("the page tables too: a PTE read the PMP denies") {
        b.hw.poke<u64>(0x8010'1000, pte(0x8044'0000, V));  // a level-1 table behind the PMP entry
        check_access_fault(memory.load(sv39_regime(), 0x4000'0010, 8), load_access, 0x4000'0010);
    }
}

TEST_CASE("guest_memory: two-stage translation through the simulated hart", "[guest_memory][two_stage]") {
    // H ext. 9.5, with the guard on the G-stage's result and on every table access.
    board b;
    // G-stage: GPA 0x8000_0000 (1 GiB) -> PA 0x8000_0000, U R W X A D: identity.
    REQUIRE(b.map_g(0x8000'0000, 0x8000'0000, V | R | W | X | U | A | D, 2) == 0x8014'0010);
    // VS-stage: tables at GPA = PA 0x8010_0000 (the Sv39 tables), GVA 0x4000_0000 -> GPA page_a.
    b.map(0x4000'0000, page_a, V | R | W | A | D);
    b.map(0x4000'1000, monitor_base, V | R | W | A | D);
    b.hw.poke<u64>(page_a + 0x40, 0x6655'4433'2211'0099);
    virt::translation_regime r = regime(sv39_satp);
    r.virtualized = true;
    r.hgatp = 0x8000'0000'0008'0140;  // Sv39x4, root 0x80140000
    gm memory = b.memory();
    b.hw.log().clear();
    const auto a = memory.load(r, 0x4000'0040, 8);
    REQUIRE(a.done());
    CHECK(a.value == 0x6655'4433'2211'0099u);
    CHECK(a.physical == page_a + 0x40);
    const auto e = b.events();
    REQUIRE(e.size() == 8);  // (G-stage + VS PTE) x 3, G-stage of the data, the load
    CHECK(e[0].address == 0x8014'0010u);
    CHECK(e[1].address == 0x8010'0008u);
    CHECK(e[7].address == page_a + 0x40);
    SECTION("a VS-stage page on the monitor: access fault with the GVA") {
        b.hw.log().clear();
        check_access_fault(memory.load(r, 0x4000'1040, 8), load_access, 0x4000'1040, true);
        CHECK(b.touching(monitor_base, monitor_size).empty());
    }
    SECTION("a GPA the G-stage puts on the monitor: access fault with the GVA") {
        b.map_g(0x4010'0000, monitor_base, V | R | W | X | U | A | D);  // GPA 0x4010_0000 -> the monitor
        b.hw.poke<u64>(0x8010'2000 + 8 * 2, pte(0x4010'0000, V | R | W | A | D));  // GVA 0x4000_2000 -> GPA 0x4010_0000
        b.hw.log().clear();
        check_access_fault(memory.store(r, 0x4000'2010, 8, 0), store_access, 0x4000'2010, true);
        CHECK(b.touching(monitor_base, monitor_size).empty());
    }
    SECTION("the G-stage root in the monitor: access fault, nothing read") {
        r.hgatp = atp(sv39, monitor_base);
        b.hw.log().clear();
        check_access_fault(memory.load(r, 0x4000'0040, 8), load_access, 0x4000'0040, true);
        CHECK(b.events().empty());
    }
}
