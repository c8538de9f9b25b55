// SPDX-License-Identifier: MIT
/// The physical PMP of a hart computed from the *decisions* of the firmware's
/// virtual PMP (docs/pmp.md). The firmware sees every entry the monitor may
/// use; the physical entries after the monitor's own only have to give, in
/// each view, the same answer for every access as this priority list:
///
///   1. the monitor's entries (the monitor, the devices it emulates, the
///      policies' walls): physical entries 0 .. reserved_count-1, always
///   2. in the firmware's views, the denials of the bus masters (the "tail")
///   3. the firmware's virtual entries 0 .. n-1, as the view sees them
///      (pmp_view_perms: the OS's views as written; the firmware's views with
///      its unlocked entries granting everything, as they do not bind M-mode)
///   4. no match: the firmware's views allow (M-mode), the OS's deny (S/U)
///
/// When the entries of 2 and 3 that can decide anything (not OFF, not empty,
/// not fully shadowed by higher-priority ones), re-encoded where a TOR entry
/// lost its base, fit in the slots left, both worlds share their addresses
/// (plan_fit). Otherwise the slots are a cache (pmp_cache): they hold ranges decided by one entry alone,
/// synthesized when an access faults, and everything else is denied; the
/// monitor decides such a fault in software (pmp_decide) and delivers it, or
/// installs the range and lets the access run again. Both worlds share the
/// slots' addresses in either mode: a world switch writes only pmpcfg.
///
/// Invariant (test/unit/virt/pmp_plan_test.cpp checks it with random
/// programs): the physical PMP never allows what the list denies, and it
/// allows exactly what the list allows once the fault path has run.
/// No physical entry is ever locked: a locked virtual entry binds the firmware
/// (physically U-mode) through its permissions alone.
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

/// The two worlds' views: the firmware's (firmware, firmware_mprv) and the
/// OS's (os, and mprv_access: the OS's PMP for the firmware's MPRV accesses).
enum class pmp_family : u8 { firmware = 0, os = 1 };

[[nodiscard]] constexpr pmp_family family_of(pmp_view view) noexcept {
    return view == pmp_view::firmware || view == pmp_view::firmware_mprv ? pmp_family::firmware : pmp_family::os;
}

inline constexpr unsigned max_reserved_pmp_entries = 8;
/// The most PMP entries the bus masters' denials may take (the tail).
inline constexpr unsigned max_tail_pmp_entries = 16;
inline constexpr unsigned pmp_cfg_registers = riscv::pmp::max_entries / riscv::pmp::entries_per_cfg;
/// Ranges the cache holds at most: as many as the slots a 16-entry hart
/// leaves after the monitor's two entries (a range takes one slot or two).
inline constexpr unsigned max_cached_pmp_ranges = 14;

/// Permission bits of a configuration byte.
inline constexpr u8 pmp_none = 0;
inline constexpr u8 pmp_r = 1;
inline constexpr u8 pmp_w = 2;
inline constexpr u8 pmp_x = 4;
inline constexpr u8 pmp_rwx = 7;

/// The top of the physical address space PMP describes (pmpaddr holds bits 55:2).
inline constexpr u64 pmp_address_limit = u64{1} << 56;

/// pmpaddr value of the "everything" entry: NAPOT over the whole address space.
inline constexpr u64 pmpaddr_everything = riscv::pmp::address_mask;

struct pmp_layout {
    /// Physical entries the monitor may use (the hart's, or fewer: -Dpmp_entries).
    unsigned physical_count = 0;
    unsigned reserved_count = 0;
    u64 reserved_addr[max_reserved_pmp_entries] = {};
    u8 reserved_cfg_firmware[max_reserved_pmp_entries] = {};  ///< while the firmware runs
    u8 reserved_cfg_os[max_reserved_pmp_entries] = {};        ///< while the OS runs

    /// The tail: entries that deny the bus masters while the firmware runs
    /// (physical slots after the reserved ones when the layout fits).
    unsigned tail_count = 0;
    u64 tail_addr[max_tail_pmp_entries] = {};
    u8 tail_cfg[max_tail_pmp_entries] = {};

    /// The entries the firmware sees: as many as the monitor may use.
    [[nodiscard]] constexpr unsigned virtual_count() const noexcept { return physical_count; }
    /// The first slot after the monitor's entries.
    [[nodiscard]] constexpr unsigned first_free() const noexcept { return reserved_count; }
    /// "Everything" while the layout fits: the last slot.
    [[nodiscard]] constexpr unsigned everything() const noexcept { return physical_count - 1; }
    /// At least a TOR pair after the monitor's entries (a cache needs that much).
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

    /// The configuration of reserved entry `i` in `view` (the firmware's
    /// configuration for the monitor's own accesses on its behalf, too).
    [[nodiscard]] constexpr u8 reserved_cfg(unsigned i, pmp_view view) const noexcept {
        return view == pmp_view::os ? reserved_cfg_os[i] : reserved_cfg_firmware[i];
    }
    /// The range tail entry `k` denies.
    [[nodiscard]] constexpr riscv::pmp::range tail_range(unsigned k, unsigned g) const noexcept {
        return riscv::pmp::decode(tail_cfg[k], tail_addr[k], k == 0 ? 0 : tail_addr[k - 1], g);
    }

    /// A mode with permissions, or OFF when `perms` has the special value 0xff.
    [[nodiscard]] static constexpr u8 with_mode(u64 mode, u8 perms) noexcept {
        return perms == pmp_off ? u8{0} : static_cast<u8>(riscv::pmpcfg::a::make(mode) | (perms & pmp_rwx));
    }
    /// Permission value meaning "this entry is OFF in that world".
    static constexpr u8 pmp_off = 0xff;
};

/// Whether the tail's denials are part of `view` (the firmware's own accesses).
[[nodiscard]] constexpr bool pmp_view_has_tail(pmp_view view) noexcept {
    return family_of(view) == pmp_family::firmware;
}

/// The permissions virtual entry `cfg` grants in `view` (priv. spec 3.7.1:
/// unlocked entries do not bind M-mode, locked ones do; under virtual MPRV
/// the firmware's loads and stores must trap, so X at most), or
/// pmp_layout::pmp_off when the entry is OFF.
[[nodiscard]] constexpr u8 pmp_view_perms(u8 cfg, pmp_view view) noexcept {
    namespace c = riscv::pmpcfg;
    if (c::a::extract(cfg) == c::a_off) return pmp_layout::pmp_off;
    const bool locked = c::l::test(cfg);
    const u8 written = static_cast<u8>(cfg & pmp_rwx);
    switch (view) {
        case pmp_view::firmware: return locked ? written : pmp_rwx;
        case pmp_view::firmware_mprv: return static_cast<u8>((locked ? written : pmp_rwx) & pmp_x);
        case pmp_view::os:
        case pmp_view::mprv_access: return written;
    }
    return written;
}

/// What an access that matches no entry gets in `view` (priv. spec 3.7.1:
/// M-mode succeeds, S and U fail once an entry is implemented).
[[nodiscard]] constexpr u8 pmp_default_perms(pmp_view view) noexcept {
    switch (view) {
        case pmp_view::firmware: return pmp_rwx;
        case pmp_view::firmware_mprv: return pmp_x;
        default: return pmp_none;
    }
}

/// The range of virtual entry `i` (its TOR base the address of entry i-1, 0 for entry 0).
[[nodiscard]] constexpr riscv::pmp::range virtual_range(const u8* cfg, const u64* addr, unsigned i,
                                                        unsigned g) noexcept {
    return riscv::pmp::decode(cfg[i], addr[i], i == 0 ? 0 : addr[i - 1], g);
}

/// Whether `[address, address + size)` touches `r`.
[[nodiscard]] constexpr bool pmp_touches(const riscv::pmp::range& r, u64 address, u64 size) noexcept {
    return !r.empty && address < r.end && r.base < address + size;
}

/// The answer of the list (levels 2-4 of the file comment) for one access.
struct pmp_decision {
    bool allowed = false;
    /// Who decided: a virtual entry (0 ..), the default (no match) or a denial of the tail.
    int decider = tail_decider;
    u8 perms = pmp_none;  ///< what the decider grants in the view
    /// Allowed: the largest range around the access that the decider alone
    /// decides (no higher-priority entry of the list overlaps it).
    u64 base = 0;
    u64 end = 0;
    static constexpr int default_decider = -1;
    static constexpr int tail_decider = -2;
};

/// The virtual PMP as the layout computations read it.
struct virtual_pmp {
    const u8* cfg;
    const u64* addr;
    unsigned count;
    unsigned g;  ///< granularity 2^(g+2)
};

/// Decides an access of `size` bytes at `address` needing `needed` in `view`
/// by the list's levels 2-4 (the monitor's entries are the caller's): the
/// lowest entry that touches a byte decides and must hold all of them (priv.
/// spec 3.7.1). When allowed, also the range around it that the decider alone decides.
[[nodiscard]] constexpr pmp_decision pmp_decide(const pmp_layout& layout, const virtual_pmp& v, pmp_view view,
                                                u64 address, u64 size, u8 needed) noexcept {
    pmp_decision d;
    if (size == 0 || address + size < address) return d;
    const bool tail = pmp_view_has_tail(view);
    riscv::pmp::range decider_range{0, pmp_address_limit, false};
    if (tail) {
        for (unsigned k = 0; k < layout.tail_count; ++k)
            if (pmp_touches(layout.tail_range(k, v.g), address, size)) return d;  // denied, whole or in part
    }
    d.decider = pmp_decision::default_decider;
    d.perms = pmp_default_perms(view);
    for (unsigned i = 0; i < v.count; ++i) {
        const u8 perms = pmp_view_perms(v.cfg[i], view);
        if (perms == pmp_layout::pmp_off) continue;
        const riscv::pmp::range r = virtual_range(v.cfg, v.addr, i, v.g);
        if (!pmp_touches(r, address, size)) continue;
        d.decider = static_cast<int>(i);
        if (address < r.base || address + size > r.end) return d;  // a partial match fails
        d.perms = perms;
        decider_range = r;
        break;
    }
    if (d.decider == pmp_decision::default_decider && address + size > pmp_address_limit) return d;
    if ((d.perms & needed) != needed) return d;
    d.allowed = true;
    // The component of the decider's range, less every higher-priority range, around the access.
    d.base = decider_range.base;
    d.end = decider_range.end;
    auto clip = [&](const riscv::pmp::range& r) {
        if (r.empty) return;
        if (r.end <= address && r.end > d.base) d.base = r.end;
        if (r.base >= address + size && r.base < d.end) d.end = r.base;
    };
    if (tail)
        for (unsigned k = 0; k < layout.tail_count; ++k) clip(layout.tail_range(k, v.g));
    const unsigned higher = d.decider == pmp_decision::default_decider ? v.count : static_cast<unsigned>(d.decider);
    for (unsigned i = 0; i < higher; ++i)
        if (pmp_view_perms(v.cfg[i], view) != pmp_layout::pmp_off) clip(virtual_range(v.cfg, v.addr, i, v.g));
    return d;
}

/// Whether virtual entry `i` can decide anything: not OFF, not empty, not
/// wholly covered by the entries before it (which decide every byte of it).
[[nodiscard]] constexpr bool virtual_entry_decides(const virtual_pmp& v, unsigned i) noexcept {
    if (riscv::pmp::mode(v.cfg[i]) == riscv::pmpcfg::a_off) return false;
    const riscv::pmp::range r = virtual_range(v.cfg, v.addr, i, v.g);
    if (r.empty) return false;
    u64 cursor = r.base;
    for (bool advanced = true; advanced && cursor < r.end;) {
        advanced = false;
        for (unsigned j = 0; j < i; ++j) {
            if (riscv::pmp::mode(v.cfg[j]) == riscv::pmpcfg::a_off) continue;
            const riscv::pmp::range h = virtual_range(v.cfg, v.addr, j, v.g);
            if (!h.empty && h.base <= cursor && cursor < h.end) {
                cursor = h.end;
                advanced = true;
            }
        }
    }
    return cursor < r.end;
}

/// The physical entries of a hart for all four views: one address per slot
/// (the views share them, so a world switch writes only pmpcfg), one
/// configuration byte per slot and view.
struct pmp_plan {
    /// The pmpcfg register values of each view (pmpcfg0, pmpcfg2, ...).
    u64 cfg[4][pmp_cfg_registers] = {};
    /// Slots whose address changed since the hart last took them (bit i: slot i).
    u64 dirty = 0;
    u64 addr[riscv::pmp::max_entries] = {};

    constexpr void set(unsigned slot, u64 address, const u8 (&cfg_by_view)[4]) noexcept {
        if (addr[slot] != address) dirty |= u64{1} << slot;
        addr[slot] = address;
        for (unsigned v = 0; v < 4; ++v) set_cfg(slot, static_cast<pmp_view>(v), cfg_by_view[v]);
    }
    constexpr void set_cfg(unsigned slot, pmp_view view, u8 value) noexcept {
        u64& r = cfg[static_cast<unsigned>(view)][slot / riscv::pmp::entries_per_cfg];
        r = riscv::pmp::with_cfg_byte(r, slot % riscv::pmp::entries_per_cfg, value);
    }
    [[nodiscard]] constexpr u8 cfg_of(unsigned slot, pmp_view view) const noexcept {
        return riscv::pmp::cfg_byte(cfg[static_cast<unsigned>(view)][slot / riscv::pmp::entries_per_cfg],
                                    slot % riscv::pmp::entries_per_cfg);
    }
    /// Every slot from `first` to `count` OFF with address 0.
    constexpr void clear_from(unsigned first, unsigned count) noexcept {
        const u8 off[4] = {0, 0, 0, 0};
        for (unsigned slot = first; slot < count; ++slot) set(slot, 0, off);
    }
};

/// The monitor's entries in every view: slots 0 .. reserved_count-1.
constexpr void plan_reserved(const pmp_layout& layout, pmp_plan& plan) noexcept {
    for (unsigned i = 0; i < layout.reserved_count; ++i) {
        const u8 cfg[4] = {layout.reserved_cfg(i, pmp_view::firmware), layout.reserved_cfg(i, pmp_view::firmware_mprv),
                           layout.reserved_cfg(i, pmp_view::os), layout.reserved_cfg(i, pmp_view::mprv_access)};
        plan.set(i, layout.reserved_addr[i], cfg);
    }
}

/// The whole list in the slots, when it fits: the monitor's entries, the
/// tail (configured in the firmware's views only), every virtual entry that
/// can decide (virtual_entry_decides) in priority order, a TOR entry whose
/// base the slot below does not hold preceded by an OFF entry holding it,
/// and "everything" last (RWX, or X under MPRV, for the firmware; OFF for
/// the OS). False when it does not fit.
[[nodiscard]] constexpr bool plan_fit(const pmp_layout& layout, const virtual_pmp& v, pmp_plan& plan) noexcept {
    plan_reserved(layout, plan);
    unsigned slot = layout.reserved_count;
    const unsigned last = layout.physical_count - 1;  // "everything"
    for (unsigned k = 0; k < layout.tail_count; ++k) {
        if (slot >= last) return false;
        const u8 cfg[4] = {layout.tail_cfg[k], layout.tail_cfg[k], 0, 0};
        plan.set(slot++, layout.tail_addr[k], cfg);
    }
    const u64 grain_mask = ~bits::low_mask(v.g);
    for (unsigned i = 0; i < v.count; ++i) {
        if (!virtual_entry_decides(v, i)) continue;
        const u64 mode = riscv::pmp::mode(v.cfg[i]);
        if (mode == riscv::pmpcfg::a_tor) {
            const u64 base = virtual_range(v.cfg, v.addr, i, v.g).base;
            const u64 below = slot == 0 ? 0 : plan.addr[slot - 1];
            if (((below & grain_mask & riscv::pmp::address_mask) << 2) != base) {
                if (slot >= last) return false;
                const u8 off[4] = {0, 0, 0, 0};
                plan.set(slot++, riscv::pmp::tor_encode(base), off);
            }
        }
        if (slot >= last) return false;
        u8 cfg[4] = {};
        for (unsigned view = 0; view < 4; ++view)
            cfg[view] = pmp_layout::with_mode(mode, pmp_view_perms(v.cfg[i], static_cast<pmp_view>(view)));
        plan.set(slot++, v.addr[i] & riscv::pmp::address_mask, cfg);
    }
    plan.clear_from(slot, last);
    const u8 everything[4] = {pmp_layout::with_mode(riscv::pmpcfg::a_napot, pmp_rwx),
                              pmp_layout::with_mode(riscv::pmpcfg::a_napot, pmp_x), 0, 0};
    plan.set(last, pmpaddr_everything, everything);
    return true;
}

/// One range the cache holds: decided by one entry of the list alone, for
/// one world or both (`families`, bit 1 << pmp_family), with that entry's
/// permissions in each family's main view (firmware, os).
struct pmp_cached_range {
    u64 base = 0;
    u64 end = 0;
    u8 families = 0;
    u8 perms[2] = {};
    u8 slots = 0;  ///< 1 (NAPOT, NA4) or 2 (an OFF entry holding the base, then TOR)
};

/// The physical slots after the monitor's entries as a cache of the list.
/// Both worlds share it: a range of one world is OFF in the other's views,
/// so the addresses stay put and a world switch writes only pmpcfg.
struct pmp_cache {
    /// Least recently used first.
    pmp_cached_range ranges[max_cached_pmp_ranges] = {};
    unsigned count = 0;

    /// The range of `family` holding `address`, or -1.
    [[nodiscard]] constexpr int find(u64 address, pmp_family family) const noexcept {
        const u8 bit = static_cast<u8>(1u << static_cast<unsigned>(family));
        for (unsigned i = 0; i < count; ++i)
            if ((ranges[i].families & bit) != 0 && address >= ranges[i].base && address < ranges[i].end)
                return static_cast<int>(i);
        return -1;
    }
    [[nodiscard]] constexpr unsigned slots_used() const noexcept {
        unsigned n = 0;
        for (unsigned i = 0; i < count; ++i) n += ranges[i].slots;
        return n;
    }
    /// Range `i` was used: it becomes the most recently used (the last).
    constexpr void touch(unsigned i) noexcept {
        const pmp_cached_range r = ranges[i];
        for (unsigned k = i; k + 1 < count; ++k) ranges[k] = ranges[k + 1];
        ranges[count - 1] = r;
    }
    constexpr void remove(unsigned i) noexcept {
        for (unsigned k = i; k + 1 < count; ++k) ranges[k] = ranges[k + 1];
        --count;
    }
    /// Adds [base, end) for `family` with `perms`: to the same range of the
    /// other world if it holds one, else as a new range, evicting the least
    /// recently used ones until it fits in `capacity` slots. False (nothing
    /// changed) if it never can.
    constexpr bool install(pmp_family family, u64 base, u64 end, u8 perms, unsigned g, unsigned capacity) noexcept {
        const unsigned f = static_cast<unsigned>(family);
        for (unsigned i = 0; i < count; ++i) {
            if (ranges[i].base != base || ranges[i].end != end) continue;
            ranges[i].families = static_cast<u8>(ranges[i].families | (1u << f));
            ranges[i].perms[f] = perms;
            touch(i);
            return true;
        }
        // The family's ranges inside the new one (smaller blocks of the same
        // decider) go: one entry per byte keeps every access to one match.
        for (unsigned i = count; i-- > 0;) {
            if ((ranges[i].families & (1u << f)) == 0 || ranges[i].base < base || ranges[i].end > end) continue;
            ranges[i].families = static_cast<u8>(ranges[i].families & ~(1u << f));
            if (ranges[i].families == 0) remove(i);
        }
        const u8 slots = slots_for(base, end, g);
        if (slots > capacity) return false;
        while (count > 0 && (slots_used() + slots > capacity || count == max_cached_pmp_ranges)) remove(0);
        pmp_cached_range r{base, end, static_cast<u8>(1u << f), {}, slots};
        r.perms[f] = perms;
        ranges[count++] = r;
        return true;
    }

    /// How a range is encoded: NAPOT for a naturally aligned power of two, NA4
    /// for 4 bytes at G = 0, else a TOR pair.
    [[nodiscard]] static constexpr bool is_napot(u64 base, u64 end) noexcept {
        const u64 size = end - base;
        return size >= 8 && bits::is_power_of_two(size) && (base & (size - 1)) == 0;
    }
    [[nodiscard]] static constexpr u8 slots_for(u64 base, u64 end, unsigned g) noexcept {
        return is_napot(base, end) || (end - base == 4 && g == 0) ? 1 : 2;
    }
};

/// The largest naturally aligned power-of-two block (at least 8 bytes and a
/// grain) that holds [address, address + size) and lies in [base, end): one
/// NAPOT slot instead of a TOR pair. False if there is none.
[[nodiscard]] constexpr bool napot_block_within(u64 address, u64 size, u64 base, u64 end, unsigned g, u64& block_base,
                                                u64& block_end) noexcept {
    const unsigned smallest = g + 2 > 3 ? g + 2 : 3;
    for (unsigned k = 56; k >= smallest; --k) {
        const u64 b = address & ~bits::low_mask(k);
        const u64 e = b + (u64{1} << k);
        if (b >= base && e <= end && address + size <= e) {
            block_base = b;
            block_end = e;
            return true;
        }
    }
    return false;
}

/// Range [base, end) cut to what a cached entry can hold: TOR cannot reach
/// the last grain below 2^56 (pmpaddr holds bits 55:2), so a range that ends
/// there and is not NAPOT stops one grain short.
[[nodiscard]] constexpr u64 cacheable_end(u64 base, u64 end, unsigned g) noexcept {
    if (end < pmp_address_limit || pmp_cache::is_napot(base, end)) return end;
    return pmp_address_limit - (u64{1} << (g + 2));
}

/// The slots of `cache` after the monitor's entries: each range as NAPOT,
/// NA4 or an OFF + TOR pair, with in each view the permissions of its
/// family (X at most under virtual MPRV; mprv_access as the OS), OFF in the
/// views of a family it does not serve; the rest OFF.
constexpr void plan_cache(const pmp_layout& layout, const pmp_cache& cache, pmp_plan& plan) noexcept {
    unsigned slot = layout.reserved_count;
    auto put = [&](u64 address, u64 mode, const pmp_cached_range* r) {
        u8 cfg[4] = {};
        for (unsigned v = 0; v < 4; ++v) {
            const pmp_view view = static_cast<pmp_view>(v);
            const unsigned f = static_cast<unsigned>(family_of(view));
            if (r != nullptr && (r->families & (1u << f)) != 0) {
                const u8 perms = view == pmp_view::firmware_mprv ? static_cast<u8>(r->perms[f] & pmp_x) : r->perms[f];
                cfg[v] = pmp_layout::with_mode(mode, perms);
            }
        }
        plan.set(slot++, address, cfg);
    };
    for (unsigned i = 0; i < cache.count; ++i) {
        const pmp_cached_range& r = cache.ranges[i];
        if (pmp_cache::is_napot(r.base, r.end)) {
            put(riscv::pmp::napot_encode(r.base, r.end - r.base), riscv::pmpcfg::a_napot, &r);
        } else if (r.slots == 1) {
            put(riscv::pmp::na4_encode(r.base), riscv::pmpcfg::a_na4, &r);
        } else {
            put(riscv::pmp::tor_encode(r.base), riscv::pmpcfg::a_off, nullptr);
            put(riscv::pmp::tor_encode(r.end), riscv::pmpcfg::a_tor, &r);
        }
    }
    while (slot < layout.physical_count) put(0, riscv::pmpcfg::a_off, nullptr);
}

/// Whether `count` PMP entries, entry i given by `cfg_of(i)` and `addr_of(i)`
/// at granularity G, let an S- or U-mode access of `size` bytes at `address`
/// needing permissions `needed` through (priv. spec 3.7.1): the lowest-numbered
/// entry matching any byte decides and must cover all of them; with no match
/// the access fails, as it does once any entry is implemented.
template <class CfgOf, class AddrOf>
[[nodiscard]] constexpr bool pmp_allows_entries(CfgOf cfg_of, AddrOf addr_of, unsigned count, unsigned g, u64 address,
                                                u64 size, u8 needed) noexcept {
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
    return pmp_allows_entries([cfg](unsigned i) { return cfg[i]; }, [addr](unsigned i) { return addr[i]; }, count, g,
                              address, size, needed);
}

}  // namespace vfm::virt
