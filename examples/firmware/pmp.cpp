// SPDX-License-Identifier: MIT
// pmp: the firmware's own PMP restricting S- and U-mode (priv. spec 3.7).
// A 16 KiB area is split into pages guarded by NA4, NAPOT and TOR entries
// with different permissions, followed by an entry that allows everything.
// S- and U-mode accesses get access faults (mtval = the address) where the
// matching entry with the lowest index denies them; an access that an entry
// matches only partly fails in every mode; otherwise M-mode is not
// restricted by unlocked entries; with
// no entry matching, S-mode cannot even fetch; a locked entry restricts
// M-mode too and ignores writes.
#include "testfw/testfw.hpp"

using namespace testfw;
using riscv::exception;

const char* const testfw::firmware_name = "pmp";
const char* const testfw::firmware_purpose = "the firmware's PMP entries restricting S- and U-mode";

namespace {

pmp::area<4> g_area;

[[nodiscard]] u64 area() { return g_area.base(); }

// Layout of the area and the entries guarding it.
//   +0x0000  4 bytes, entry 0 NA4, no permission (the rest of the page: entry 6)
//   +0x1000  entry 1 NAPOT 4 KiB, R
//   +0x2000  entry 3 TOR [entry 2's address, +0x3000), X (entry 2 OFF is its floor)
//   +0x3000  entry 4 NAPOT 4 KiB, R W
//   +0x0800  entry 5, off until the locked test at the end
//   entry 6 NAPOT everything, R W X
constexpr u64 deny_na4 = 0x0000;
constexpr u64 read_only = 0x1000;
constexpr u64 exec_only = 0x2000;
constexpr u64 read_write = 0x3000;
constexpr u64 locked_spot = 0x0800;

void program_entries() {
    pmp::reset();
    pmp::set(0, pmp::make_cfg(pmp::na4, false, false, false), pmp::na4_encode(area() + deny_na4));
    pmp::set(1, pmp::make_cfg(pmp::napot, true, false, false), pmp::napot_encode(area() + read_only, 0x1000));
    pmp::set(2, pmp::make_cfg(pmp::off, false, false, false), pmp::tor_encode(area() + exec_only));
    pmp::set(3, pmp::make_cfg(pmp::tor, false, false, true), pmp::tor_encode(area() + exec_only + 0x1000));
    pmp::set(4, pmp::make_cfg(pmp::napot, true, true, false), pmp::napot_encode(area() + read_write, 0x1000));
    pmp::open_all(6);
}

using access = pmp::access_kind;

/// One access from `mode` at area+`offset`; `allowed` is what the spec says.
void try_access(privilege mode, access kind, u64 offset, unsigned size, bool allowed, const char* where) {
    pmp::try_access(area(), mode, kind, area() + offset, size, allowed, where);
}

void restricted(privilege mode) {
    try_access(mode, access::load, deny_na4, 4, false, "NA4, no permission");
    try_access(mode, access::store, deny_na4, 4, false, "NA4, no permission");
    try_access(mode, access::load, deny_na4 + 4, 4, true, "next to the NA4 entry");
    try_access(mode, access::load, deny_na4, 8, false, "partly in the NA4 entry");
    try_access(mode, access::load, read_only, 8, true, "NAPOT, R");
    try_access(mode, access::store, read_only + 8, 8, false, "NAPOT, R");
    try_access(mode, access::fetch, read_only + 0x10, 4, false, "NAPOT, R");
    try_access(mode, access::load, exec_only + 0xff8, 8, false, "TOR, X");
    try_access(mode, access::store, exec_only, 8, false, "TOR, X");
    try_access(mode, access::fetch, exec_only + 0x10, 4, true, "TOR, X");
    try_access(mode, access::load, read_write + 0xff8, 8, true, "NAPOT, RW");
    try_access(mode, access::store, read_write, 8, true, "NAPOT, RW");
    try_access(mode, access::fetch, read_write + 0x10, 4, false, "NAPOT, RW");
    try_access(mode, access::load, exec_only - 8, 8, true, "below the TOR range");
    try_access(mode, access::load, read_write + 0x1000, 8, true, "above the area, the RWX entry");
}

/// With no matching entry, S-mode cannot fetch its first instruction.
u64 g_fault_cause, g_fault_epc, g_fault_tval;
bool abandon_on_fetch_fault(trap_frame& f) {
    if (f.cause != static_cast<u64>(exception::instruction_access_fault) || f.mpp() == 3) return false;
    g_fault_cause = f.cause;
    g_fault_epc = f.epc;
    g_fault_tval = f.tval;
    abandon_lower(0xdead);
}

u64 lower_nothing(u64) { return 1; }

}  // namespace

void testfw::firmware_main() {
    program_entries();
    pmp::plant_code(area(), g_area.pages);

    section("S-mode");
    if (has_s_mode()) {
        restricted(privilege::supervisor);
    } else {
        absent_here("S-mode");
    }
    section("U-mode");
    restricted(privilege::user);

    section("M-mode is not restricted by unlocked entries (priv. 3.7.1)");
    try_access(privilege::machine, access::load, deny_na4, 4, true, "NA4, no permission");
    // An entry that matches only some bytes fails the access whatever L, R,
    // W and X say, for M-mode too (priv. 3.7.1, priority and matching logic).
    try_access(privilege::machine, access::store, deny_na4, 8, false, "partly in the NA4 entry");
    try_access(privilege::machine, access::store, read_only, 8, true, "NAPOT, R");
    try_access(privilege::machine, access::fetch, read_only + 0x10, 4, true, "NAPOT, R");
    try_access(privilege::machine, access::load, exec_only, 8, true, "TOR, X");
    try_access(privilege::machine, access::fetch, read_write + 0x10, 4, true, "NAPOT, RW");

    // U-mode on a hart without S-mode.
    const privilege lower = s_or_u();
    println("== no matching entry: %s-mode accesses fail (priv. 3.7.1)", name(lower));
    pmp::write_cfg(6, 0);
    set_m_handler(abandon_on_fetch_fault);
    const u64 r = run_in(lower, lower_nothing);
    set_m_handler(nullptr);
    const u64 entry = reinterpret_cast<u64>(&lower_nothing);
    check(r == 0xdead && g_fault_cause == static_cast<u64>(exception::instruction_access_fault) &&
              g_fault_epc == entry && g_fault_tval == entry,
          "the first fetch faults: %s, mepc and mtval at the function: %b", cause_name(g_fault_cause),
          g_fault_epc == entry && g_fault_tval == entry);
    pmp::open_all(6);

    section("a locked entry restricts M-mode and ignores writes (priv. 3.7.1)");
    const u8 locked = pmp::make_cfg(pmp::na4, true, false, false, true);
    pmp::set(5, locked, pmp::na4_encode(area() + locked_spot));
    try_access(privilege::machine, access::load, locked_spot, 4, true, "locked NA4, R");
    try_access(privilege::machine, access::store, locked_spot, 4, false, "locked NA4, R");
    pmp::write_addr(5, pmp::na4_encode(area()));
    pmp::write_cfg(5, pmp::make_cfg(pmp::na4, true, true, true));
    check(pmp::read_addr(5) == pmp::na4_encode(area() + locked_spot) && pmp::read_cfg(5) == locked,
          "pmpaddr5 and pmp5cfg keep their values: %b, cfg %h", pmp::read_addr(5) == pmp::na4_encode(area() + locked_spot),
          pmp::read_cfg(5));
    try_access(privilege::machine, access::store, locked_spot + 4, 4, true, "next to the locked entry");
    // The locked entry stays until reset; the firmware ends here.
}
