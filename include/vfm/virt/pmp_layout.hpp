// SPDX-License-Identifier: MIT
/// The physical PMP layout that multiplexes the firmware's virtual PMP entries
/// under the monitor's own entries (docs/pmp.md). In index order:
///
///   [0, reserved)          monitor-owned entries: the monitor itself first, then
///                          devices it emulates, then policy regions
///   reserved               the floor: OFF with pmpaddr 0, the TOR base of virtual entry 0
///   reserved+1 ...         the virtual entries 0 .. virtual_count-1, shifted; while
///                          the firmware runs, the last `tail_count` of them hold the
///                          monitor's denials of the bus masters instead (the
///                          "tail"), which the OS's world does not need
///   physical_count-1       "everything": RWX while the firmware runs (M-mode
///                          accesses that match nothing succeed), OFF while the OS runs
///
/// While the firmware runs its unlocked virtual entries are RWX (they do not
/// bind M-mode) and its locked ones as written, but an entry that overlaps a
/// bus master is OFF (the tail denies that part, "everything" grants the rest).
/// The tail's slots keep their pmpaddr in the OS's world too, unless the OS's
/// world needs the virtual entry there (configured, or the base of a TOR
/// entry above it): such a slot is rewritten on every world switch
/// (pmp_layout::tail_conflicts, docs/pmp.md).
///
/// Entries are matched in index order (priv. spec 3.7.1), so nothing the firmware
/// programs can override the monitor's entries. No physical entry is ever locked:
/// a locked virtual entry is copied without L, which makes it bind the firmware
/// (physically U-mode) exactly as L binds M-mode, but in the tail's slots (a
/// deviation, docs/pmp.md).
#pragma once

#include <vfm/riscv/pmp.hpp>

namespace vfm::virt {

/// Which physical configuration to produce.
enum class pmp_view : u8 {
    firmware,       ///< firmware runs: unlocked virtual entries grant everything
    firmware_mprv,  ///< firmware runs with virtual MPRV = 1: its loads and stores must trap
    os,             ///< the OS runs: virtual entries as written
    mprv_access,    ///< the monitor performs an MPRV access for the firmware
};

inline constexpr unsigned max_reserved_pmp_entries = 8;
/// The most PMP entries the bus masters' denials may take (the tail).
inline constexpr unsigned max_tail_pmp_entries = 16;
inline constexpr unsigned pmp_cfg_registers = riscv::pmp::max_entries / riscv::pmp::entries_per_cfg;

/// Permission bits of a configuration byte.
inline constexpr u8 pmp_none = 0;
inline constexpr u8 pmp_r = 1;
inline constexpr u8 pmp_w = 2;
inline constexpr u8 pmp_x = 4;
inline constexpr u8 pmp_rwx = 7;

struct pmp_layout {
    unsigned physical_count = 0;
    unsigned reserved_count = 0;
    u64 reserved_addr[max_reserved_pmp_entries] = {};
    u8 reserved_cfg_firmware[max_reserved_pmp_entries] = {};  ///< while the firmware runs
    u8 reserved_cfg_os[max_reserved_pmp_entries] = {};        ///< while the OS runs

    /// The tail: entries that deny the bus masters while the firmware runs,
    /// in the slots of the last tail_count virtual entries.
    unsigned tail_count = 0;
    u64 tail_addr[max_tail_pmp_entries] = {};
    u8 tail_cfg[max_tail_pmp_entries] = {};

    [[nodiscard]] constexpr unsigned floor() const noexcept { return reserved_count; }
    /// The virtual index of the first tail slot.
    [[nodiscard]] constexpr unsigned first_tail_virtual() const noexcept { return virtual_count() - tail_count; }
    /// Whether the tail fits in the virtual slots.
    [[nodiscard]] constexpr bool tail_fits() const noexcept { return tail_count <= virtual_count(); }
    [[nodiscard]] constexpr unsigned first_virtual() const noexcept { return reserved_count + 1; }
    [[nodiscard]] constexpr unsigned virtual_count() const noexcept {
        return physical_count >= reserved_count + 2 ? physical_count - reserved_count - 2 : 0;
    }
    [[nodiscard]] constexpr unsigned everything() const noexcept { return physical_count - 1; }
    [[nodiscard]] constexpr bool usable() const noexcept { return physical_count >= reserved_count + 2; }
    [[nodiscard]] constexpr unsigned cfg_registers() const noexcept {
        return (physical_count + riscv::pmp::entries_per_cfg - 1) / riscv::pmp::entries_per_cfg;
    }

    /// Adds a NAPOT region (size a power of two >= 8, base aligned); false if full.
    constexpr bool add_napot(u64 base, u64 size, u8 firmware_perms, u8 os_perms) noexcept {
        if (reserved_count >= max_reserved_pmp_entries) return false;
        reserved_addr[reserved_count] = riscv::pmp::napot_encode(base, size);
        reserved_cfg_firmware[reserved_count] = with_mode(riscv::pmpcfg::a_napot, firmware_perms);
        reserved_cfg_os[reserved_count] = with_mode(riscv::pmpcfg::a_napot, os_perms);
        ++reserved_count;
        return true;
    }
    /// Adds [base, top) as a TOR pair (two entries); false if full.
    constexpr bool add_range(u64 base, u64 top, u8 firmware_perms, u8 os_perms) noexcept {
        if (reserved_count + 2 > max_reserved_pmp_entries) return false;
        reserved_addr[reserved_count] = riscv::pmp::tor_encode(base);
        reserved_cfg_firmware[reserved_count] = 0;
        reserved_cfg_os[reserved_count] = 0;
        reserved_addr[reserved_count + 1] = riscv::pmp::tor_encode(top);
        reserved_cfg_firmware[reserved_count + 1] = with_mode(riscv::pmpcfg::a_tor, firmware_perms);
        reserved_cfg_os[reserved_count + 1] = with_mode(riscv::pmpcfg::a_tor, os_perms);
        reserved_count += 2;
        return true;
    }

    /// Adds to the tail the entries that deny `[base, end)` to the firmware: one
    /// NAPOT entry where the range is a naturally aligned power of two, else a
    /// TOR pair (an OFF entry holding the base, then the TOR entry), each
    /// widened outwards to the granularity 2^(g+2). False if the tail is full.
    constexpr bool add_tail_denial(u64 base, u64 end, unsigned g) noexcept {
        const u64 grain = u64{1} << (g + 2);
        base &= ~(grain - 1);
        end = (end + grain - 1) & ~(grain - 1);
        const u64 size = end - base;
        const bool napot = size >= 8 && size >= grain && (size & (size - 1)) == 0 && (base & (size - 1)) == 0;
        if (napot) {
            if (tail_count + 1 > max_tail_pmp_entries) return false;
            tail_addr[tail_count] = riscv::pmp::napot_encode(base, size);
            tail_cfg[tail_count++] = with_mode(riscv::pmpcfg::a_napot, pmp_none);
            return true;
        }
        if (tail_count + 2 > max_tail_pmp_entries) return false;
        tail_addr[tail_count] = riscv::pmp::tor_encode(base);
        tail_cfg[tail_count++] = 0;
        tail_addr[tail_count] = riscv::pmp::tor_encode(end);
        tail_cfg[tail_count++] = with_mode(riscv::pmpcfg::a_tor, pmp_none);
        return true;
    }

    /// A mode with permissions, or OFF when `perms` has the special value 0xff.
    [[nodiscard]] static constexpr u8 with_mode(u64 mode, u8 perms) noexcept {
        return perms == pmp_off ? u8{0} : static_cast<u8>(riscv::pmpcfg::a::make(mode) | (perms & pmp_rwx));
    }
    /// Permission value meaning "this entry is OFF in that world".
    static constexpr u8 pmp_off = 0xff;
};

/// The physical configuration byte of virtual entry byte `cfg` in `view`
/// (`over_bus_master`: the entry's range overlaps a bus master).
[[nodiscard]] constexpr u8 physical_cfg_of_virtual(u8 cfg, pmp_view view, bool over_bus_master = false) noexcept {
    namespace c = riscv::pmpcfg;
    const u64 mode = c::a::extract(cfg);
    if (mode == c::a_off) return 0;
    const bool locked = c::l::test(cfg);
    const u8 as_written = static_cast<u8>(cfg & ~c::l::mask);
    // While the firmware runs: an unlocked entry does not bind it, but still
    // decides the accesses it matches (RWX: the lowest match wins, and a
    // partial match fails, priv. spec 3.7.1); a locked one binds it. Either is
    // OFF instead where it overlaps a bus master, so that the tail's denial
    // decides there (unlocked: "everything" then grants the rest; locked with
    // permissions: the rest is granted too, a deviation docs/pmp.md states).
    const bool off = over_bus_master && (!locked || (cfg & pmp_rwx) != 0);
    switch (view) {
        case pmp_view::firmware:
            if (off) return 0;
            return locked ? as_written : static_cast<u8>(c::a::make(mode) | pmp_rwx);
        case pmp_view::firmware_mprv:
            // Loads and stores must trap (the monitor performs them): X at most.
            if (off) return 0;
            return static_cast<u8>(c::a::make(mode) | (locked ? (cfg & pmp_x) : pmp_x));
        case pmp_view::os:
        case pmp_view::mprv_access: return as_written;
    }
    return 0;
}

/// Whether view `view` runs with the firmware's pmpaddr set (the tail's
/// denials) rather than the OS's.
[[nodiscard]] constexpr bool firmware_addresses(pmp_view view) noexcept {
    return view == pmp_view::firmware || view == pmp_view::firmware_mprv;
}

/// The physical pmpcfg register values for `view`; `virtual_cfg` holds the
/// virtual entries' legal configuration bytes. Writes layout.cfg_registers() values.
constexpr void compute_pmpcfg(const pmp_layout& layout, const u8* virtual_cfg, pmp_view view,
                              u64* registers, u64 over_bus_master = 0) noexcept {
    const bool firmware_side = view != pmp_view::os;
    for (unsigned r = 0; r < layout.cfg_registers(); ++r) registers[r] = 0;
    auto set = [&](unsigned index, u8 cfg) {
        registers[index / riscv::pmp::entries_per_cfg] =
            riscv::pmp::with_cfg_byte(registers[index / riscv::pmp::entries_per_cfg],
                                      index % riscv::pmp::entries_per_cfg, cfg);
    };
    for (unsigned i = 0; i < layout.reserved_count; ++i)
        set(i, firmware_side ? layout.reserved_cfg_firmware[i] : layout.reserved_cfg_os[i]);
    // the floor stays OFF
    const bool tail = firmware_addresses(view);
    for (unsigned i = 0; i < layout.virtual_count(); ++i) {
        if (tail && i >= layout.first_tail_virtual()) {
            set(layout.first_virtual() + i, layout.tail_cfg[i - layout.first_tail_virtual()]);
            continue;
        }
        set(layout.first_virtual() + i,
            physical_cfg_of_virtual(virtual_cfg[i], view, i < 64 && ((over_bus_master >> i) & 1) != 0));
    }
    u8 everything = 0;
    if (view == pmp_view::firmware) everything = pmp_layout::with_mode(riscv::pmpcfg::a_napot, pmp_rwx);
    if (view == pmp_view::firmware_mprv) everything = pmp_layout::with_mode(riscv::pmpcfg::a_napot, pmp_x);
    set(layout.everything(), everything);
}

/// Whether `count` PMP entries, entry i given by `cfg_of(i)` and `addr_of(i)`
/// at granularity G, let an S- or U-mode access of `size` bytes at `address`
/// needing permissions `needed` through (priv. spec 3.7.1): the lowest-numbered
/// entry matching any byte decides and must cover all of them; with no match
/// the access fails, as it does once any entry is implemented.
template <class CfgOf, class AddrOf>
[[nodiscard]] constexpr bool pmp_allows_entries(CfgOf cfg_of, AddrOf addr_of, unsigned count, unsigned g,
                                                u64 address, u64 size, u8 needed) noexcept {
    u64 previous = 0;
    for (unsigned i = 0; i < count; ++i) {
        const u8 cfg = cfg_of(i);
        const u64 addr = addr_of(i);
        const riscv::pmp::range r = riscv::pmp::decode(cfg, addr, previous, g);
        previous = addr;
        if (r.empty) continue;
        const bool touches = address < r.end && r.base < address + size;
        if (!touches) continue;
        if (address < r.base || address + size > r.end) return false;  // partial match fails (3.7.1)
        return (cfg & needed) == needed;
    }
    return count == 0;
}

/// pmp_allows_entries over arrays of configuration bytes and address registers.
[[nodiscard]] constexpr bool pmp_allows(const u8* cfg, const u64* addr, unsigned count, unsigned g, u64 address,
                                        u64 size, u8 needed) noexcept {
    return pmp_allows_entries([cfg](unsigned i) { return cfg[i]; }, [addr](unsigned i) { return addr[i]; }, count,
                              g, address, size, needed);
}

/// pmpaddr value of the "everything" entry: NAPOT over the whole address space.
inline constexpr u64 pmpaddr_everything = riscv::pmp::address_mask;

}  // namespace vfm::virt
