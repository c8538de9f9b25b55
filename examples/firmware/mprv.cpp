// SPDX-License-Identifier: MIT
// mprv: mstatus.MPRV (priv. spec 3.1.6.3). With MPRV = 1, M-mode loads and
// stores are checked with the privilege in MPP: a word the firmware's PMP
// denies to S- and U-mode faults (mtval = the address, the trap taken in
// M-mode), while other memory still works; with MPRV = 0 or MPP = M the
// same accesses succeed. Instruction fetches stay at M-mode privilege.
#include "testfw/testfw.hpp"

using namespace testfw;
using riscv::exception;
namespace ms = riscv::mstatus;

const char* const testfw::firmware_name = "mprv";
const char* const testfw::firmware_purpose = "M-mode loads and stores with mstatus.MPRV and MPP";

namespace {

alignas(4096) u8 g_denied[4096];  // PMP entry 0: nothing for S and U
u64 g_allowed = 0x1122'3344'5566'7788;

[[nodiscard]] u64 denied() { return reinterpret_cast<u64>(g_denied); }

/// Calls code in the denied page with MPRV set: fetches are not affected.
u64 mprv_call(u64 address) {
    u64 out;
    asm volatile(
        "li t0, %[mprv]\n"
        "csrs mstatus, t0\n"
        "jalr ra, 0(%[a])\n"
        "li t0, %[mprv]\n"
        "csrc mstatus, t0\n"
        "mv %[out], a0"
        : [out] "=r"(out)
        : [a] "r"(address), [mprv] "i"(ms::mprv::mask)
        : "ra", "t0", "t1", "t2", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "t3", "t4", "t5", "t6", "memory");
    return out;
}

void set_mpp(privilege p) { write<csr::mstatus>(ms::mpp::insert(read<csr::mstatus>(), static_cast<u64>(p))); }

void with_mpp(privilege p, bool restricted) {
    const char* m = name(p);
    char what[96];
    set_mpp(p);
    probe r = mprv_load_probe(denied() + 8);
    format(what, sizeof what, "MPRV = 1, MPP = %s: load from the page PMP denies to S and U", m);
    if (restricted) {
        expect_exception(r, exception::load_access_fault, denied() + 8, 3, what);
    } else {
        check(!r.trapped && r.value == 0x0101'0101'0101'0101, "%s: no trap, value %x", what, r.value);
    }
    set_mpp(p);
    r = mprv_store_probe(denied() + 16, 0x2222);
    format(what, sizeof what, "MPRV = 1, MPP = %s: store to that page", m);
    if (restricted) {
        expect_exception(r, exception::store_access_fault, denied() + 16, 3, what);
    } else {
        expect_no_trap(r, what);
    }
    set_mpp(p);
    r = mprv_load_probe(reinterpret_cast<u64>(&g_allowed));
    format(what, sizeof what, "MPRV = 1, MPP = %s: load from memory PMP allows", m);
    check(!r.trapped && r.value == g_allowed, "%s: no trap, value %x", what, r.value);
    set_mpp(p);
    r = mprv_store_probe(reinterpret_cast<u64>(&g_allowed), g_allowed);
    format(what, sizeof what, "MPRV = 1, MPP = %s: store to memory PMP allows", m);
    expect_no_trap(r, what);
}

}  // namespace

void testfw::firmware_main() {
    for (unsigned i = 0; i < sizeof g_denied; ++i) g_denied[i] = 1;
    // addi a0, x0, 42 ; jalr x0, 0(ra) at the start of the page.
    mmio::write<u32>(denied() + 0x100, 0x02a0'0513);
    mmio::write<u32>(denied() + 0x104, 0x0000'8067);
    asm volatile("fence.i" ::: "memory");
    pmp::reset();
    pmp::set(0, pmp::make_cfg(pmp::napot, false, false, false), pmp::napot_encode(denied(), sizeof g_denied));
    pmp::open_all(1);

    // MPP = S only where the hart has S-mode (else MPP holds M or U, 3.1.6.1).
    const bool s_mode = has_s_mode();
    const privilege lower = s_or_u();
    section("MPRV = 0 (priv. 3.1.6.3)");
    set_mpp(lower);
    char what[96];
    format(what, sizeof what, "MPRV = 0, MPP = %s: load from the page PMP denies to S and U", name(lower));
    expect_no_trap(load_probe(denied() + 8), what);
    format(what, sizeof what, "MPRV = 0, MPP = %s: store to that page", name(lower));
    expect_no_trap(store_probe(denied() + 16, 0x0101'0101'0101'0101), what);

    section("MPRV = 1");
    if (s_mode) {
        with_mpp(privilege::supervisor, true);
    } else {
        absent_here("S-mode");
    }
    with_mpp(privilege::user, true);
    with_mpp(privilege::machine, false);

    section("instruction fetches ignore MPRV");
    set_mpp(lower);
    const u64 r = mprv_call(denied() + 0x100);
    check(r == 42, "MPRV = 1, MPP = %s: code in the denied page runs in M-mode: returned %u", name(lower), r);
    check(ms::mprv::extract(read<csr::mstatus>()) == 0, "MPRV is clear again: %b",
          ms::mprv::extract(read<csr::mstatus>()) == 0);
    pmp::reset();
}
