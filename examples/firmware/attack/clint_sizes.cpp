// SPDX-License-Identifier: MIT
// attack-clint-sizes: the CLINT (SiFive CLINT / ACLINT MSWI and MTIMER
// layout) the firmware sees, probed with every access size and alignment:
// loads and stores of 1, 2, 4 and 8 bytes at offsets 0 to 4, AMOs (.w and
// .d), LR/SC, and floating-point loads and stores, on this hart's msip and
// another hart's, this hart's mtimecmp and another's, and mtime; then a few
// of them with MPRV (MPP = S). A monitor that emulates the CLINT must answer
// each exactly as the device does natively: the same values, the same state
// afterwards, the same faults (QEMU 7.2 takes 4-byte accesses to msip,
// 4- and 8-byte accesses to the timer at any offset, AMOs and FP accesses,
// and refuses the others with a load or store/AMO access fault).
//
// An equivalence test (no attack lines): every line but those marked "~"
// (the values of mtime) is compared with the native run. Run with -smp 2.
#include "testfw/attack.hpp"
#include "testfw/testfw.hpp"

using namespace testfw;
using access::amo_fn;

const char* const testfw::firmware_name = "attack-clint-sizes";
const char* const testfw::firmware_purpose = "the CLINT with every access size, alignment, AMO and FP access";

namespace {

constexpr u64 cmp0 = 0x1122'3344'5566'7788;  // this hart's mtimecmp before each probe
constexpr u64 cmp1 = 0x99aa'bbcc'ddee'ff00;  // the other hart's

/// Known state before each probe: no software interrupt, both mtimecmp set.
void reset_state() noexcept {
    clear_ipi(0);
    clear_ipi(1);
    set_mtimecmp(0, cmp0);
    set_mtimecmp(1, cmp1);
}

struct target {
    const char* name;
    u64 address;
    unsigned size;  // of the register
    bool time;      // reads return the time: values are not compared
};

void probe_one(const char* prefix, const target& t, unsigned offset, const access::op& o, u64 status) noexcept {
    reset_state();
    const u64 a = t.address + offset;
    // A store to mtime writes back (about) the time it holds, so that time goes on.
    const u64 value = t.time ? mtime() >> (8 * offset) : 0xa5a5'5a5a'0000'0001;
    const access::result r = access::run(o, a, value, status);
    const u32 msip0 = read_msip(0), msip1 = read_msip(1);
    const u64 after0 = get_mtimecmp(0), after1 = get_mtimecmp(1);
    char what[96];
    if (r.traps != 0) {
        const bool ok = r.traps == 1 && r.first.epc == r.site;
        const u64 tval = r.first.tval;
        if ((a & (o.width - 1)) == 0) {
            if (o.what == access::kind::amo) {
                // An AMO that faults raises store/AMO access fault (priv. 3.7.1,
                // 3.1.15); QEMU 7.2 reports load access fault for one on the CLINT.
                const bool store_fault = r.first.cause == static_cast<u64>(riscv::exception::store_access_fault);
                const bool load_fault = r.first.cause == static_cast<u64>(riscv::exception::load_access_fault);
                deviation("3.7.1", ok && store_fault && tval == a, ok && load_fault && tval == a,
                          "%s%s +%u %s: an access fault at the instruction, mtval at the address", prefix, t.name,
                          offset, o.name);
                return;
            }
            check(ok, "%s%s +%u %s: %s, mtval at the address %b, epc at the instruction %b", prefix, t.name, offset,
                  o.name, cause_name(r.first.cause), tval == a, r.first.epc == r.site);
            return;
        }
        // Misaligned: mtval is the address of the part that faulted (priv.
        // 3.1.16); QEMU 7.2 reports the address aligned down to the access
        // size, outside the access.
        check(ok, "%s%s +%u %s: %s, epc at the instruction %b", prefix, t.name, offset, o.name, cause_name(r.first.cause),
              r.first.epc == r.site);
        const i64 delta = static_cast<i64>(tval - a);
        deviation("3.1.16", tval >= a && tval - a < o.width, tval == (a & ~u64{o.width - 1u}),
                  "%s%s +%u %s: mtval = the address %s %u", prefix, t.name, offset, o.name, delta < 0 ? "-" : "+",
                  static_cast<u64>(delta < 0 ? -delta : delta));
        return;
    }
    const bool reads = o.what != access::kind::store;
    if (t.time && reads) {
        format(what, sizeof what, "%s%s +%u %s", prefix, t.name, offset, o.name);
        check(true, "%s: no trap", what);
        impl_defined("%s: read %h (the time)", what, r.value);
    } else {
        check(true, "%s%s +%u %s: no trap, a0 %h%s, after: msip %u %u, mtimecmp %h %h", prefix, t.name, offset, o.name,
              reads ? r.value : 0, o.what == access::kind::lr_sc ? (r.second == 0 ? ", sc succeeded" : ", sc failed") : "",
              msip0, msip1, after0, after1);
    }
}

}  // namespace

void testfw::firmware_main() {
    if (!check(hart_count() >= 2, "two harts at least (-smp 2): %u", hart_count())) return;
    (void)wait_for_secondaries();
    pmp::reset();
    pmp::open_all(0);
    access::enable_fp();
    const u64 saved0 = get_mtimecmp(0), saved1 = get_mtimecmp(1);

    const target targets[] = {
        {"msip (this hart)", platform::msip(0), 4, false},
        {"msip (hart 1)", platform::msip(1), 4, false},
        {"mtimecmp (this hart)", platform::mtimecmp(0), 8, false},
        {"mtimecmp (hart 1)", platform::mtimecmp(1), 8, false},
        {"mtime", platform::mtime_address(), 8, true},
    };
    const access::op plain[] = {access::load(1),  access::load(1, false), access::load(2), access::load(2, false),
                                access::load(4),  access::load(4, false), access::load(8), access::store(1),
                                access::store(2), access::store(4),       access::store(8)};
    const access::op others[] = {access::amo(amo_fn::swap, 4), access::amo(amo_fn::add, 4), access::amo(amo_fn::or_, 4),
                                 access::amo(amo_fn::swap, 8), access::amo(amo_fn::add, 8), access::lr(4),
                                 access::lr_sc(4),             access::lr(8),               access::lr_sc(8),
                                 access::fp_load(4),           access::fp_store(4),         access::fp_load(8),
                                 access::fp_store(8),          access::c_fld(),             access::c_fsd()};
    const u64 status = access::plain_status();

    for (const target& t : targets) {
        section(t.name);
        for (unsigned offset = 0; offset <= 4; ++offset) {
            for (const access::op& o : plain) probe_one("", t, offset, o, status);
            if (offset % 2 != 0) continue;
            for (const access::op& o : others) {
                // mtime: no AMO, SC or FP store (they would set the time to a value of their own).
                if (t.time && o.what != access::kind::load && o.what != access::kind::lr) continue;
                probe_one("", t, offset, o, status);
            }
        }
    }

    section("with MPRV (MPP = S; the firmware's PMP gives S everything)");
    const u64 mprv = access::mprv_status(1);
    const access::op few[] = {access::load(4), access::store(4), access::load(8), access::store(8),
                              access::load(1), access::amo(amo_fn::swap, 4)};
    for (const target& t : targets) {
        if (t.time) continue;
        for (const access::op& o : few) probe_one("MPRV: ", t, 0, o, mprv);
    }

    reset_state();
    set_mtimecmp(0, saved0);
    set_mtimecmp(1, saved1);
}
