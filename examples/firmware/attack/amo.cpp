// SPDX-License-Identifier: MIT
// attack-amo: atomics and floating-point accesses with MPRV (priv. 3.1.6.3).
//
// The attacks: AMOs (every function, .w and .d; unpriv. 8.4), LR alone and
// LR followed at once by SC (8.2), and the floating-point loads and stores
// (flw, fsw, fld, fsd and the compressed c.fld, c.fsd, c.fldsp, c.fsdsp;
// unpriv. 11.5, 12.4, 16.3) into the monitor's memory and its shared page,
// with MPP = S and U, satp Bare and Sv39 (identity), and directly (no MPRV)
// into the monitor's memory.
// Natively they are real (the AMO returns the old value and leaves the new
// one, the LR/SC pair stores); under a monitor each raises the access fault
// the hardware raises: load access fault for LR and FP loads, store/AMO
// access fault for AMOs, SC and FP stores; for the pair, the LR's fault and
// then an SC that faults or fails (its reservation is gone).
//
// The equivalence part: the same instructions on the firmware's own memory
// with MPRV, which the firmware's PMP gives S and U: natively they work, and
// under a monitor they must give the same results (lines compared): the old
// values, the memory afterwards, an LR/SC pair that succeeds when nothing
// intervenes, an SC without a reservation that fails, and misaligned AMOs.
//
// The shared page is a target only with MPRV (MPP = S and U), where the
// monitor makes the access on the firmware's behalf. Directly it is memory
// the firmware is given: every form there, on its first and last words,
// must do what it does on bare hardware (compared lines).
#include "testfw/attack.hpp"
#include "testfw/paging.hpp"
#include "testfw/testfw.hpp"

using namespace testfw;
using access::amo_fn;
using paging::mode;

const char* const testfw::firmware_name = "attack-amo";
const char* const testfw::firmware_purpose = "AMOs, LR/SC and FP loads and stores under MPRV: contained, and equivalent";

namespace {

constexpr unsigned pool_pages = 8;
alignas(16384) u8 g_pool[pool_pages * 4096];
alignas(4096) u8 g_ram[4096];

attack::targets g_t;

[[nodiscard]] u64 ram() noexcept { return reinterpret_cast<u64>(g_ram); }

constexpr amo_fn functions[] = {amo_fn::swap, amo_fn::add, amo_fn::xor_, amo_fn::and_, amo_fn::or_,
                                amo_fn::min,  amo_fn::max, amo_fn::minu, amo_fn::maxu};

/// The aligned words attacked: the first, one in the middle and the last of
/// the monitor's memory, and (`shared`) the first and last of the shared page.
template <class F>
void each_word(unsigned width, bool shared, F f) noexcept {
    const u64 words[] = {g_t.monitor.base, g_t.monitor.base + g_t.monitor.size / 2, g_t.monitor.end() - width,
                         g_t.shared.base, g_t.shared.end() - width};
    for (const u64 a : words) {
        if (shared || !g_t.shared.contains(a)) f(a);
    }
}

/// `shared`: the monitor makes these accesses on the firmware's behalf
/// (MPRV), so the shared page is a target too.
void attacks(const char* label, u64 status, bool shared) noexcept {
    const unsigned widths[] = {4, 8};
    char d[160];

    format(d, sizeof d, "%s: amoswap amoadd amoxor amoand amoor amomin amomax amominu amomaxu, .w and .d", label);
    attack::group amos(d);
    for (const unsigned w : widths)
        for (const amo_fn f : functions)
            each_word(w, shared, [&](u64 a) { amos.run(access::amo(f, w), attack::at(a), status); });
    amos.finish();

    format(d, sizeof d, "%s: lr.w and lr.d", label);
    attack::group lrs(d);
    for (const unsigned w : widths) each_word(w, shared, [&](u64 a) { lrs.run(access::lr(w), attack::at(a), status); });
    lrs.finish();

    format(d, sizeof d, "%s: lr then sc at once, .w and .d", label);
    attack::group pairs(d);
    for (const unsigned w : widths)
        each_word(w, shared, [&](u64 a) { pairs.run(access::lr_sc(w), attack::at(a), status); });
    pairs.finish();

    format(d, sizeof d, "%s: flw fsw fld fsd c.fld c.fsd c.fldsp c.fsdsp", label);
    attack::group fp(d);
    const access::op fps[] = {access::fp_load(4), access::fp_store(4), access::fp_load(8), access::fp_store(8),
                              access::c_fld(),    access::c_fsd(),     access::c_fldsp(),  access::c_fsdsp()};
    for (const access::op& o : fps) each_word(o.width, shared, [&](u64 a) { fp.run(o, attack::at(a), status); });
    fp.finish();
}

/// What the controls on the shared page find there first (its contents are not the firmware's).
constexpr u64 shared_pattern = 0x8123'4567'89ab'cdef;

/// The firmware's own AMOs, LR/SC and FP accesses on the shared page (it is
/// given that page): each as on bare hardware, compared lines.
void shared_page_controls(const char* label, u64 status) noexcept {
    const unsigned widths[] = {4, 8};
    char d[160];
    for (const unsigned w : widths) {
        const u64 words[] = {g_t.shared.base, g_t.shared.end() - w};
        for (const u64 a : words) {
            format(d, sizeof d, "%s: control: the shared page's %s %s (the firmware's to use)", label,
                   a == g_t.shared.base ? "first" : "last", w == 8 ? "doubleword" : "word");
            for (const amo_fn f : functions) attack::works(d, access::amo(f, w), attack::at(a), shared_pattern, status);
            attack::works(d, access::lr(w), attack::at(a), shared_pattern, status);
            attack::works(d, access::lr_sc(w), attack::at(a), shared_pattern, status);
        }
    }
    const access::op fps[] = {access::fp_load(4), access::fp_store(4), access::fp_load(8), access::fp_store(8),
                              access::c_fld(),    access::c_fsd(),     access::c_fldsp(),  access::c_fsdsp()};
    for (const access::op& o : fps) {
        const u64 words[] = {g_t.shared.base, g_t.shared.end() - o.width};
        for (const u64 a : words) {
            format(d, sizeof d, "%s: control: the shared page's %s %s (the firmware's to use)", label,
                   a == g_t.shared.base ? "first" : "last", o.width == 8 ? "doubleword" : "word");
            attack::works(d, o, attack::at(a), shared_pattern, status);
        }
    }
}

/// The same instructions on the firmware's memory: compared lines.
void equivalence(const char* label, u64 status) noexcept {
    char d[160];
    const unsigned widths[] = {4, 8};
    u64 offset = 0;
    const auto next = [&](unsigned w) {
        offset = (offset + 16) & 0xff0;
        // A value of each sign, so that min and max have something to decide.
        const u64 initial = (offset & 0x10) != 0 ? 0x8123'4567'89ab'cdefu : 0x0fed'cba9'8765'4321u;
        for (unsigned i = 0; i < w; ++i) g_ram[offset + i] = static_cast<u8>(initial >> (8 * i));
        return ram() + offset;
    };
    for (const unsigned w : widths) {
        for (const amo_fn f : functions) {
            const access::op o = access::amo(f, w);
            format(d, sizeof d, "%s: %s on the firmware's memory", label, o.name);
            const u64 a = next(w);
            attack::control(d, o, a, a, 0xf0f0'0f0f'7777'0001, status, true);
        }
        const access::op pair = access::lr_sc(w);
        format(d, sizeof d, "%s: %s on the firmware's memory (nothing in between: the sc succeeds)", label, pair.name);
        const u64 a = next(w);
        attack::control(d, pair, a, a, 0x1111'2222'3333'4444, status, true);
        const access::op sc = access::sc(w);
        format(d, sizeof d, "%s: %s alone (no reservation: it fails)", label, sc.name);
        const u64 b = next(w);
        attack::control(d, sc, b, b, 0x5555'6666'7777'8888, status, true);
        const access::op lr = access::lr(w);
        format(d, sizeof d, "%s: %s on the firmware's memory", label, lr.name);
        const u64 c = next(w);
        attack::control(d, lr, c, c, 0, status, true);
    }
    const access::op fps[] = {access::fp_load(4), access::fp_store(4), access::fp_load(8), access::fp_store(8),
                              access::c_fld(),    access::c_fsd(),     access::c_fldsp(),  access::c_fsdsp()};
    for (const access::op& o : fps) {
        format(d, sizeof d, "%s: %s on the firmware's memory", label, o.name);
        const u64 a = next(8);
        attack::control(d, o, a, a, 0x4009'21fb'5444'2d18, status, true);
    }
    // Misaligned: an AMO or LR must be naturally aligned (unpriv. 8.2, 8.4):
    // address misaligned or access fault, of the store/AMO kind for an AMO
    // (priv. 3.1.15); QEMU 7.2 raises load address misaligned for the AMO.
    u64 a = next(8) + 2;
    access::result r = access::run(access::amo(amo_fn::swap, 4), a, 0x99, status);
    bool one = r.traps == 1 && r.first.epc == r.site && r.first.tval == a;
    deviation("3.1.15", one && (r.first.cause == 6 || r.first.cause == 7), one && r.first.cause == 4,
              "%s: amoswap.w 2 bytes into a word: %s, mtval at the address %b", label, cause_name(r.first.cause),
              r.first.tval == a);
    format(d, sizeof d, "%s: lr.d 4 bytes into a doubleword", label);
    a = next(8);
    attack::control(d, access::lr(8), a + 4, a, 0, status, false);
}

}  // namespace

void testfw::firmware_main() {
    g_t = attack::find_targets();
    pmp::reset();
    pmp::open_all(0);
    access::enable_fp();

    paging::table t(reinterpret_cast<u64>(g_pool), pool_pages, mode::sv39);
    (void)t.map(g_t.monitor.base, g_t.monitor.base, paging::pte_rwxad | paging::pte_u, 1);  // 2 MiB identity
    const unsigned mpps[] = {1, 0};
    const bool paged[] = {false, true};
    for (const bool p : paged) {
        for (const unsigned mpp : mpps) {
            char label[48];
            format(label, sizeof label, "MPRV, %s, MPP = %s", p ? "Sv39 identity" : "Bare", mpp == 1 ? "S" : "U");
            section(label);
            // An identity leaf with U set serves MPP = U; MPP = S reaches it with SUM.
            (void)paging::set_satp(p ? t.atp() : 0);
            const u64 status = access::mprv_status(mpp, true);
            attacks(label, status, true);
            equivalence(label, status);
        }
    }
    (void)paging::set_satp(0);

    // Directly the accesses are the firmware's own: the shared page is a control, not a target.
    section("directly (no MPRV)");
    attacks("direct", access::plain_status(), false);
    shared_page_controls("direct", access::plain_status());
    equivalence("direct", access::plain_status());

    section("the firmware still runs");
    u64 sum = 0;
    for (u64 i = 0; i < sizeof g_ram; ++i) sum += g_ram[i] + i;
    check(sum != 0, "its own memory after all those faults: checksum %h", sum);
}
