// SPDX-License-Identifier: MIT
// pmp16: all 16 PMP entries of the hart (priv. spec 3.7.1). Every pmpaddr and
// pmpcfg byte holds what is written; the lowest-numbered matching entry
// decides across all of 0-15 (each of entries 0-14 in turn over one page,
// entry 15 everything); fifteen pages, each with an entry of its own, under
// a background region in entry 15; a TOR chain through entries 10-15; an
// access only partly in an entry fails, in M-mode too, for every entry; S-
// and U-mode see the same; MPRV makes M-mode loads and stores those of S;
// locked entries at the top bind M-mode and their pmpaddr (and a TOR entry's
// base) ignore writes. Under a monitor the physical PMP cannot hold all of
// this at once (docs/pmp.md): the transcript must still equal the native one.
#include "testfw/testfw.hpp"

using namespace testfw;
using riscv::exception;

const char* const testfw::firmware_name = "pmp16";
const char* const testfw::firmware_purpose = "all 16 PMP entries: priority, TOR chains, background, locks (priv. spec 3.7.1)";

namespace {

using pmp::cfg_of;
using pmp::page;
using access = pmp::access_kind;

constexpr unsigned pages = 16;
pmp::area<pages> g_area;

[[nodiscard]] u64 area() { return g_area.base(); }
[[nodiscard]] u64 page_at(unsigned i) { return g_area.page_at(i); }

/// One access from `mode` at `address`; `allowed` is what the spec says.
void try_at(privilege mode, access kind, u64 address, unsigned size, bool allowed, const char* where) {
    pmp::try_access(area(), mode, kind, address, size, allowed, where);
}

/// Loads, stores and fetches at +0x10 of page `i`, from `mode`, against permissions `rwx`.
/// A load only partly inside an entry, from S-mode. On a hart without
/// S-mode one line instead: QEMU 7.2's E51 lets such a U-mode load through
/// natively (each part inside one entry), which is not the spec (3.7.1).
void try_across_in_s(u64 address, unsigned size, bool allowed, const char* where) {
    if (has_s_mode()) {
        try_at(privilege::supervisor, access::load, address, size, allowed, where);
        return;
    }
    char what[64];
    format(what, sizeof what, "S-mode (a load %s)", where);
    absent_here(what);
}

void try_page(privilege mode, unsigned i, u8 rwx, const char* where) {
    try_at(mode, access::load, page_at(i) + 0x18, 8, (rwx & 1) != 0, where);
    try_at(mode, access::store, page_at(i) + 0x20, 8, (rwx & 2) != 0, where);
    try_at(mode, access::fetch, page_at(i) + 0x10, 4, (rwx & 4) != 0, where);
}

/// The permissions entry `i` gets in the walks below: a pattern through all
/// legal combinations (W without R is reserved, priv. 3.7.1).
constexpr u8 perms_of(unsigned i) {
    constexpr u8 legal[6] = {0b000, 0b001, 0b011, 0b100, 0b101, 0b111};
    return legal[i % 6];
}
void every_entry_holds_its_value() {
    section("every entry 0-15 holds its address and configuration (priv. 3.7.1)");
    pmp::reset();
    bool addresses = true;
    for (unsigned i = 0; i < 16; ++i) pmp::write_addr(i, 0x2000'0000 + 0x111 * i);
    for (unsigned i = 0; i < 16; ++i) addresses = addresses && pmp::read_addr(i) == 0x2000'0000 + 0x111 * i;
    check(addresses, "pmpaddr0-15 read back as written: %b", addresses);
    // TOR, NA4, NAPOT with every legal permission set, unlocked.
    bool configurations = true;
    for (unsigned i = 0; i < 16; ++i) pmp::write_cfg(i, cfg_of(1 + i % 3, perms_of(i)));
    for (unsigned i = 0; i < 16; ++i) configurations = configurations && pmp::read_cfg(i) == cfg_of(1 + i % 3, perms_of(i));
    check(configurations, "pmp0cfg-pmp15cfg read back as written: %b", configurations);
    pmp::reset();
}

void priority_across_all_entries() {
    section("the lowest-numbered matching entry decides, across entries 0-15 (priv. 3.7.1)");
    pmp::reset();
    // Entries 0-14 all NAPOT over page 1, each with its own permissions; 15
    // everything RWX. Turning entries off from 0 up hands the decision to the next.
    for (unsigned i = 0; i < 15; ++i) pmp::set(i, cfg_of(pmp::napot, perms_of(i)), pmp::napot_encode(page_at(1), page));
    pmp::open_all(15);
    for (unsigned first = 0; first < 16; ++first) {
        char where[40];
        format(where, sizeof where, "entry %u decides", first);
        const u8 rwx = first < 15 ? perms_of(first) : 0b111;
        try_page(s_or_u(), 1, rwx, where);
        if (first < 15) pmp::write_cfg(first, 0);
    }
    try_page(privilege::user, 2, 0b111, "entry 15, a page no other entry covers");
    pmp::reset();
}

void background_in_entry_15() {
    section("fifteen pages with an entry each over a background region in entry 15 (priv. 3.7.1)");
    pmp::reset();
    for (unsigned i = 0; i < 15; ++i) pmp::set(i, cfg_of(pmp::napot, perms_of(i)), pmp::napot_encode(page_at(i), page));
    // Entry 15: everything R W X, the background.
    pmp::open_all(15);
    // S and U; U alone on a hart without S-mode.
    constexpr privilege modes[2] = {privilege::supervisor, privilege::user};
    for (unsigned k = has_s_mode() ? 0 : 1; k < 2; ++k) {
        const privilege mode = modes[k];
        for (unsigned i = 0; i < 15; ++i) {
            char where[40];
            format(where, sizeof where, "entry %u", i);
            try_page(mode, i, perms_of(i), where);
        }
        try_page(mode, 15, 0b111, "the background, entry 15");
    }
    // Across two pages: the lower entry matches only part of the access.
    try_across_in_s(page_at(2) - 4, 8, false, "across entries 1 and 2");
    try_across_in_s(page_at(15) - 4, 8, false, "across entry 14 and the background");
    try_at(privilege::machine, access::load, page_at(9) - 4, 8, false, "M-mode across entries 8 and 9");
    try_at(privilege::machine, access::load, page_at(12) - 4, 8, false, "M-mode across entries 11 and 12");
    try_at(privilege::machine, access::store, page_at(14) + 8, 8, true, "M-mode inside entry 14");
    section("the background in entry 15 with fewer permissions: R X (priv. 3.7.1)");
    // Entries 11-14 now keep the firmware's code, data and stacks R W X
    // (TOR [0, area) and TOR [end of the area, top)): entry 15 decides pages 11-15.
    pmp::set(11, 0, pmp::tor_encode(0));
    pmp::set(12, cfg_of(pmp::tor, 0b111), pmp::tor_encode(area()));
    pmp::set(13, 0, pmp::tor_encode(area() + g_area.size));
    pmp::set(14, cfg_of(pmp::tor, 0b111), pmp::tor_encode(u64{0x00ff'ffff'ffff'fffc}));
    pmp::write_cfg(15, cfg_of(pmp::napot, 0b101));
    try_page(s_or_u(), 15, 0b101, "the background, R X");
    try_page(privilege::user, 12, 0b101, "the background, R X");
    try_page(s_or_u(), 5, perms_of(5), "entry 5 over the background");
    try_at(privilege::machine, access::store, page_at(15) + 0x20, 8, true, "M-mode: unlocked entries do not bind it");
    pmp::reset();
}

void tor_chain_through_the_top() {
    section("a TOR chain through entries 10-15 (priv. 3.7.1)");
    pmp::reset();
    // Entry 0: TOR [0, area), R W X; entries 8 (OFF, the base) and 9: TOR
    // from the end of the area up, R W X: the firmware's code, data and stacks.
    pmp::set(0, cfg_of(pmp::tor, 0b111), pmp::tor_encode(area()));
    pmp::write_addr(8, pmp::tor_encode(area() + g_area.size));
    pmp::set(9, cfg_of(pmp::tor, 0b111), pmp::tor_encode(u64{0x00ff'ffff'ffff'fffc}));
    // Entries 10-15: 10 OFF holds the base (page 0); 11-15 TOR up to pages 1,
    // 3, 6, 10 and the end of the area; then nothing above the area.
    pmp::write_addr(10, pmp::tor_encode(page_at(0)));
    const unsigned tops[5] = {1, 3, 6, 10, 16};
    const u8 rwx[5] = {0b001, 0b011, 0b100, 0b000, 0b111};
    for (unsigned k = 0; k < 5; ++k) pmp::set(11 + k, cfg_of(pmp::tor, rwx[k]), pmp::tor_encode(page_at(tops[k])));
    unsigned bottom = 0;
    for (unsigned k = 0; k < 5; ++k) {
        char where[40];
        format(where, sizeof where, "entry %u, TOR", 11 + k);
        for (unsigned p = bottom; p < tops[k]; p += 2) try_page(s_or_u(), p, rwx[k], where);
        try_at(privilege::user, access::load, page_at(tops[k]) - 8, 8, (rwx[k] & 1) != 0, where);
        if (k < 4) try_across_in_s(page_at(tops[k]) - 4, 8, false, "across two TOR entries");
        bottom = tops[k];
    }
    try_at(privilege::machine, access::load, page_at(6) - 4, 8, false, "M-mode across entries 13 and 14");
    try_across_in_s(area() + g_area.size - 4, 8, false, "across entry 15 and entry 9");
    try_across_in_s(area() - 4, 8, false, "across entry 0 and entry 11");
    try_at(privilege::machine, access::load, area() - 4, 8, false, "M-mode across entry 0 and entry 11");
    pmp::reset();
}

void mprv_with_sixteen_entries() {
    section("MPRV: M-mode loads and stores with S's permissions through all 16 entries (priv. 3.1.6.3)");
    pmp::reset();
    for (unsigned i = 0; i < 15; ++i) pmp::set(i, cfg_of(pmp::napot, perms_of(i)), pmp::napot_encode(page_at(i), page));
    pmp::open_all(15);
    const u64 status = read<csr::mstatus>();
    // MPP = S (U on a hart without S-mode).
    const privilege lower = s_or_u();
    write<csr::mstatus>(riscv::mstatus::mpp::insert(status, static_cast<u64>(lower)));
    constexpr unsigned probed[6] = {0, 1, 3, 8, 13, 14};
    for (const unsigned i : probed) {
        const probe load = mprv_load_probe(page_at(i) + 0x18);
        const probe store = mprv_store_probe(page_at(i) + 0x20, 0x55);
        char what[64];
        format(what, sizeof what, "MPRV load as %s from entry %u's page", name(lower), i);
        if ((perms_of(i) & 1) != 0)
            expect_no_trap(load, what);
        else
            expect_exception(load, exception::load_access_fault, page_at(i) + 0x18, 3, what);
        format(what, sizeof what, "MPRV store as %s to entry %u's page", name(lower), i);
        if ((perms_of(i) & 2) != 0)
            expect_no_trap(store, what);
        else
            expect_exception(store, exception::store_access_fault, page_at(i) + 0x20, 3, what);
    }
    write<csr::mstatus>(status);
    pmp::reset();
}

void locked_entries_at_the_top() {
    section("locked entries 13-15 bind M-mode and ignore writes (priv. 3.7.1)");
    pmp::reset();
    for (unsigned i = 0; i < 12; ++i) pmp::set(i, cfg_of(pmp::napot, perms_of(i)), pmp::napot_encode(page_at(i), page));
    // 12 OFF holds the base of 13: TOR [page 12, page 13) R, locked (which locks pmpaddr12 too);
    // 14 NAPOT page 14 none, locked; 15 everything R W X, locked.
    pmp::write_addr(12, pmp::tor_encode(page_at(12)));
    pmp::set(13, cfg_of(pmp::tor, 0b001, true), pmp::tor_encode(page_at(13)));
    pmp::set(14, cfg_of(pmp::napot, 0b000, true), pmp::napot_encode(page_at(14), page));
    pmp::set(15, cfg_of(pmp::napot, 0b111, true), ~u64{0} >> 10);
    try_at(privilege::machine, access::load, page_at(12) + 0x18, 8, true, "locked TOR, R");
    try_at(privilege::machine, access::store, page_at(12) + 0x20, 8, false, "locked TOR, R");
    try_at(privilege::machine, access::fetch, page_at(12) + 0x10, 4, false, "locked TOR, R");
    try_at(privilege::machine, access::load, page_at(14) + 0x18, 8, false, "locked NAPOT, none");
    try_at(privilege::machine, access::store, page_at(3) + 0x20, 8, true, "unlocked entry 3 above them: M unbound");
    try_at(privilege::machine, access::load, page_at(14) - 4, 8, false, "M-mode across entry 15 and entry 14");
    try_page(s_or_u(), 12, 0b001, has_s_mode() ? "locked TOR, S" : "locked TOR, U");
    try_page(privilege::user, 14, 0b000, "locked NAPOT, U");
    try_page(privilege::user, 15, 0b111, "locked background");
    pmp::write_addr(12, pmp::tor_encode(page_at(11)));
    pmp::write_addr(13, pmp::tor_encode(page_at(15)));
    pmp::write_cfg(14, cfg_of(pmp::napot, 0b111));
    pmp::write_cfg(15, 0);
    const bool kept = pmp::read_addr(12) == pmp::tor_encode(page_at(12)) && pmp::read_addr(13) == pmp::tor_encode(page_at(13)) &&
                      pmp::read_cfg(14) == cfg_of(pmp::napot, 0, true) && pmp::read_cfg(15) == cfg_of(pmp::napot, 0b111, true);
    check(kept, "pmpaddr12 (a locked TOR entry's base), pmpaddr13, pmp14cfg and pmp15cfg keep their values: %b", kept);
    try_at(privilege::machine, access::load, page_at(14) + 0x18, 8, false, "still locked NAPOT, none");
    // The locks stay until reset; the firmware ends here.
}

}  // namespace

void testfw::firmware_main() {
    pmp::plant_code(area(), pages);
    every_entry_holds_its_value();
    priority_across_all_entries();
    background_in_entry_15();
    tor_chain_through_the_top();
    mprv_with_sixteen_entries();
    locked_entries_at_the_top();
}
