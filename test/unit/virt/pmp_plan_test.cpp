// SPDX-License-Identifier: MIT
// The property of the physical PMP layout (virt/pmp_layout.hpp,
// virt/pmp_physical.hpp, docs/pmp.md): for random virtual PMP programs and
// random accesses, in every view,
//   1. the physical PMP never allows what the list denies, at every moment
//      (after every range the miss path installs, for every view);
//   2. when the list fits, the physical PMP answers exactly as the list;
//   3. in cache mode, once the miss path ran for an access (one byte at the
//      address the hart reports, as the engine does), the physical PMP
//      answers that access exactly as the list.
// The physical PMP is the host backend's simulated hart (shims/host: its PMP
// unit is written from the spec independently of the engine); the list is
// evaluated by three more of those units (the monitor's entries, the tail,
// the virtual entries, the latter checked as M-mode for the firmware's views
// and as S-mode for the OS's), never by the code under test.
#include <vfm/host/pmp.hpp>
#include <vfm/host/simulated_hart.hpp>
#include <vfm/virt/pmp_physical.hpp>

#include <random>

#include "vfm_catch.hpp"

using namespace vfm;
using namespace vfm::virt;

namespace {

using host::access_type;

/// QEMU virt's bus masters (merged), as the board lists them.
struct span {
    u64 base, end;
};
constexpr span bus_masters[] = {
    {0x300'0000, 0x301'0000}, {0x1000'1000, 0x1010'0018}, {0x3000'0000, 0x8000'0000}, {0x4'0000'0000, 0x8'0000'0000}};

/// A pmp_unit loaded with `count` entries (cfg, addr) by their CSRs.
host::pmp_unit load_unit(unsigned g, const u8* cfg, const u64* addr, unsigned count) {
    host::pmp_unit unit(64, g);
    for (unsigned i = 0; i < count; ++i) unit.write_addr(i, addr[i]);
    for (unsigned r = 0; r < 8; ++r) {
        u64 value = 0;
        for (unsigned e = 0; e < 8; ++e)
            if (r * 8 + e < count) value |= u64{cfg[r * 8 + e]} << (8 * e);
        unit.write_cfg(2 * r, value);
    }
    return unit;
}

access_type type_of(u8 needed) {
    return needed == pmp_r ? access_type::load : needed == pmp_w ? access_type::store : access_type::fetch;
}

/// One random world: the layout, the virtual program, the hart.
struct scenario {
    std::mt19937_64& rng;
    unsigned g;
    pmp_layout layout;
    host::hart_config config;
    std::unique_ptr<host::simulated_hart> hw;
    hart h;
    u64 window = 0;  ///< where the entries and accesses cluster

    u64 random(u64 n) { return n == 0 ? 0 : rng() % n; }

    scenario(std::mt19937_64& r, unsigned physical, unsigned granularity, bool sandbox, bool tail) : rng(r), g(granularity) {
        layout.physical_count = physical;
        (void)layout.add_napot(0x8000'0000, 0x2'0000, pmp_none, pmp_none);  // the monitor
        (void)layout.add_napot(0x200'0000, 0x1'0000, pmp_none, pmp_none);   // the CLINT
        if (sandbox) (void)layout.add_range(0x8020'0000, 0x8800'0000, pmp_none, pmp_layout::pmp_off);
        if (tail)
            for (const span& b : bus_masters) (void)layout.add_tail_denial(b.base, b.end, g);
        config = host::hart_config::rv64gc();
        config.pmp_entries = 16;
        config.pmp_granularity = g;
        config.ram_size = 4096;
        hw = std::make_unique<host::simulated_hart>(config);
        h.pmp = layout;
        h.features.pmp_granularity = g;
        const u64 windows[] = {0x9000'0000, 0x1000'0000, 0x8000'0000, 0x0};
        window = windows[random(4)];
    }

    /// A random legal virtual program (legalised by the host's own unit).
    void program() {
        const unsigned n = layout.virtual_count();
        u8 cfg[64] = {};
        u64 addr[64] = {};
        const u64 grain = u64{1} << (g + 2);
        for (unsigned i = 0; i < n; ++i) {
            const unsigned kind = static_cast<unsigned>(random(10));
            u64 a = window + random(0x10000);
            if (kind <= 2) {
                cfg[i] = 0;  // OFF (still a TOR base)
            } else if (kind <= 5) {
                cfg[i] = riscv::pmp::make_cfg(riscv::pmpcfg::a_tor, false, false, false);
            } else if (kind == 6 && g == 0) {
                cfg[i] = riscv::pmp::make_cfg(riscv::pmpcfg::a_na4, false, false, false);
            } else {
                cfg[i] = riscv::pmp::make_cfg(riscv::pmpcfg::a_napot, false, false, false);
                const unsigned log = random(8) == 0 ? 56 : 3 + static_cast<unsigned>(random(14));
                if (log >= 56) {
                    addr[i] = riscv::pmp::address_mask;
                } else {
                    const u64 size = detail::max<u64>(u64{1} << log, grain);
                    a &= ~(size - 1);
                    addr[i] = riscv::pmp::napot_encode(a, size);
                }
            }
            if (riscv::pmp::mode(cfg[i]) != riscv::pmpcfg::a_napot) addr[i] = (a & ~(grain - 1)) >> 2;
            cfg[i] |= static_cast<u8>(random(8));
            if (random(10) == 0) cfg[i] |= riscv::pmpcfg::l::mask;
        }
        const host::pmp_unit legal = load_unit(g, cfg, addr, n);
        for (unsigned i = 0; i < n; ++i) {
            h.csr.pmpcfg[i] = legal.cfg(i);
            h.csr.pmpaddr[i] = addr[i] & riscv::pmp::address_mask;
        }
        for (unsigned i = n; i < 64; ++i) {
            h.csr.pmpcfg[i] = 0;
            h.csr.pmpaddr[i] = 0;
        }
    }

    /// What the engine does on a write to the virtual PMP.
    void recompute() {
        h.pmp_cached = !plan_fit(h.pmp, virtual_pmp_of(h), h.pmp_slots);
        if (h.pmp_cached) {
            h.pmp_cache_state = pmp_cache{};
            plan_cache(h.pmp, h.pmp_cache_state, h.pmp_slots);
        }
        for (auto& r : h.physical_pmpcfg) r = ~u64{0};
        h.pmp_slots.dirty = ~u64{0};
        write_pmp_addresses(*hw, h);
        apply(pmp_view::firmware);
    }

    /// What the engine does to put a view in place.
    void apply(pmp_view view) {
        write_pmpcfg_registers(*hw, h, view);
        h.physical_view = view;
    }

    /// The physical PMP's answer (the firmware and the OS both run in S/U).
    bool physical(pmp_view view, u64 address, u64 size, u8 needed) {
        apply(view);
        return hw->pmp().check(address, size, type_of(needed), riscv::privilege::user).allowed;
    }

    /// The list's answer, from the spec (see the file comment).
    bool expected(pmp_view view, u64 address, u64 size, u8 needed) const {
        const access_type type = type_of(needed);
        u8 reserved_cfg[8] = {};
        for (unsigned i = 0; i < layout.reserved_count; ++i) reserved_cfg[i] = layout.reserved_cfg(i, view);
        const host::pmp_unit monitor = load_unit(g, reserved_cfg, layout.reserved_addr, layout.reserved_count);
        const host::pmp_decision m = monitor.check(address, size, type, riscv::privilege::supervisor);
        if (m.entry >= 0) return m.allowed;
        if (family_of(view) == pmp_family::firmware) {
            const host::pmp_unit tail = load_unit(g, layout.tail_cfg, layout.tail_addr, layout.tail_count);
            if (tail.check(address, size, type, riscv::privilege::supervisor).entry >= 0) return false;
        }
        const host::pmp_unit firmware = load_unit(g, h.csr.pmpcfg, h.csr.pmpaddr, layout.virtual_count());
        switch (view) {
            case pmp_view::firmware: return firmware.check(address, size, type, riscv::privilege::machine).allowed;
            case pmp_view::firmware_mprv:
                // Its loads and stores are the monitor's to perform: they must trap.
                return type == access_type::fetch &&
                       firmware.check(address, size, type, riscv::privilege::machine).allowed;
            default: return firmware.check(address, size, type, riscv::privilege::supervisor).allowed;
        }
    }

    struct access {
        u64 address, size;
        u8 needed;
    };
    access random_access() {
        access a;
        const unsigned which = static_cast<unsigned>(random(3));
        a.needed = which == 0 ? pmp_r : which == 1 ? pmp_w : pmp_x;
        const u64 sizes[] = {1, 2, 4, 8};
        a.size = a.needed == pmp_x ? (random(2) == 0 ? 2 : 4) : sizes[random(4)];
        switch (random(8)) {
            case 0: a.address = random(u64{1} << 40); break;                       // anywhere
            case 1: a.address = 0x1000'0000 + random(0x20'0000); break;            // devices, bus masters
            default: a.address = window + random(0x1'0000); break;                 // where the entries are
        }
        if (random(4) != 0) a.address &= ~(a.size - 1);  // mostly aligned
        return a;
    }
};

constexpr pmp_view all_views[] = {pmp_view::firmware, pmp_view::firmware_mprv, pmp_view::os, pmp_view::mprv_access};
const char* name(pmp_view v) {
    switch (v) {
        case pmp_view::firmware: return "firmware";
        case pmp_view::firmware_mprv: return "firmware_mprv";
        case pmp_view::os: return "os";
        case pmp_view::mprv_access: return "mprv_access";
    }
    return "?";
}

}  // namespace

TEST_CASE("pmp plan property: never more than the list allows; exactly the list after the miss path",
          "[pmp][plan][property]") {
    std::mt19937_64 rng(0x5eed'0015);
    unsigned fitted = 0, cached = 0, installed = 0, compared = 0;
    for (unsigned round = 0; round < 600; ++round) {
        const unsigned physical = rng() % 3 == 0 ? 8 : 16;
        const unsigned g = rng() % 4 == 0 ? 2 : 0;
        scenario s(rng, physical, g, rng() % 2 == 0, rng() % 4 != 0);
        s.program();
        s.recompute();
        (s.h.pmp_cached ? cached : fitted) += 1;
        std::vector<scenario::access> probes;
        for (unsigned i = 0; i < 24; ++i) probes.push_back(s.random_access());
        auto invariant = [&](const char* when) {
            for (const pmp_view v : all_views)
                for (const scenario::access& p : probes) {
                    if (s.physical(v, p.address, p.size, p.needed) && !s.expected(v, p.address, p.size, p.needed)) {
                        FAIL_CHECK("round " << round << " " << when << ": " << name(v) << " allows " << std::hex
                                            << p.size << " bytes at 0x" << p.address << " needing "
                                            << unsigned{p.needed} << " (cached " << s.h.pmp_cached << ")");
                    }
                }
        };
        invariant("after the plan");
        for (unsigned i = 0; i < 60; ++i) {
            const scenario::access a = s.random_access();
            const pmp_view v = all_views[rng() % 4];
            const bool want = s.expected(v, a.address, a.size, a.needed);
            bool got = s.physical(v, a.address, a.size, a.needed);
            // The miss path, as the engine runs it on the fault: one byte at
            // the reported address; the access then runs again.
            for (unsigned attempt = 0; !got && s.h.pmp_cached && attempt < 4; ++attempt) {
                if (resolve_pmp_access(*s.hw, s.h, v, a.address, 1, a.needed) != pmp_resolution::installed) break;
                ++installed;
                invariant("after an install");
                got = s.physical(v, a.address, a.size, a.needed);
            }
            ++compared;
            if (got != want)
                FAIL_CHECK("round " << round << ": " << name(v) << std::hex << " " << a.size << " bytes at 0x"
                                    << a.address << " needing " << unsigned{a.needed} << ": physical " << got
                                    << ", list " << want << " (cached " << s.h.pmp_cached << ")");
        }
    }
    INFO("fitted " << fitted << ", cached " << cached << ", installed " << installed);
    CHECK(fitted > 50);
    CHECK(cached > 50);
    CHECK(installed > 500);
    CHECK(compared == 600 * 60);
}
