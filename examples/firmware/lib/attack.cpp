// SPDX-License-Identifier: MIT
// The attack suite's support: targets, attempts, groups (testfw/attack.hpp).
#include "testfw/attack.hpp"

#include <vfm/fdt/tree.hpp>

#include "testfw/expect.hpp"
#include "testfw/harts.hpp"
#include "testfw/pmp.hpp"

namespace testfw::attack {

namespace {

using access::kind;
using riscv::exception;

[[nodiscard]] bool has_prefix(const char* s, const char* prefix) noexcept {
    for (; *prefix != '\0'; ++s, ++prefix)
        if (*s != *prefix) return false;
    return true;
}

[[nodiscard]] u64 sign_extend(u64 v, unsigned bits) noexcept {
    if (bits >= 64) return v;
    const u64 m = u64{1} << (bits - 1);
    v &= (u64{1} << bits) - 1;
    return (v ^ m) - m;
}

[[nodiscard]] u64 mask(unsigned width) noexcept { return width >= 8 ? ~u64{0} : (u64{1} << (8 * width)) - 1; }

[[nodiscard]] u64 little_endian(const u8* b, unsigned n) noexcept {
    u64 v = 0;
    for (unsigned i = 0; i < n; ++i) v |= u64{b[i]} << (8 * i);
    return v;
}

[[nodiscard]] u64 byte_address(const place& p, unsigned i) noexcept {
    return i < p.split ? p.pa + i : p.pa2 + (i - p.split);
}

bool read_place(const place& p, unsigned n, u8* out) noexcept {
    for (unsigned i = 0; i < n; ++i) {
        const probe r = load_probe(byte_address(p, i), 1);
        if (r.trapped) return false;
        out[i] = static_cast<u8>(r.value);
    }
    return true;
}

bool write_place(const place& p, unsigned n, const u8* in) noexcept {
    for (unsigned i = 0; i < n; ++i) {
        if (store_probe(byte_address(p, i), in[i], 1).trapped) return false;
    }
    return true;
}

/// What an AMO leaves in memory (unpriv. 8.4), on `width` bytes.
[[nodiscard]] u64 amo_memory(access::amo_fn f, u64 old, u64 operand, unsigned width) noexcept {
    const unsigned bits = 8 * width;
    const i64 a = static_cast<i64>(sign_extend(old, bits));
    const i64 b = static_cast<i64>(sign_extend(operand, bits));
    const u64 ua = old & mask(width);
    const u64 ub = operand & mask(width);
    u64 r = 0;
    switch (f) {
        case access::amo_fn::add: r = ua + ub; break;
        case access::amo_fn::swap: r = ub; break;
        case access::amo_fn::xor_: r = ua ^ ub; break;
        case access::amo_fn::or_: r = ua | ub; break;
        case access::amo_fn::and_: r = ua & ub; break;
        case access::amo_fn::min: r = static_cast<u64>(a < b ? a : b); break;
        case access::amo_fn::max: r = static_cast<u64>(a > b ? a : b); break;
        case access::amo_fn::minu: r = ua < ub ? ua : ub; break;
        case access::amo_fn::maxu: r = ua > ub ? ua : ub; break;
        default: r = ua; break;
    }
    return r & mask(width);
}

/// The locked-PMP tier is on (find_targets).
bool g_locked;

void copy(char* to, usize size, const char* from) noexcept {
    usize i = 0;
    for (; i + 1 < size && from[i] != '\0'; ++i) to[i] = from[i];
    to[i] = '\0';
}

}  // namespace

targets find_targets() noexcept {
    targets t;
    const vfm::fdt::tree tree(reinterpret_cast<const void*>(boot_fdt()), 0x10'0000);
    if (tree.ok()) {
        const vfm::fdt::node reserved = tree.find_path("/reserved-memory");
        if (reserved) {
            for (vfm::fdt::node child = tree.first_child(reserved); child; child = tree.next_sibling(child)) {
                const char* n = tree.name(child);
                const auto reg = tree.reg(child, 0);
                if (!reg) continue;
                if (has_prefix(n, "vfm@")) t.monitor = {reg.value().base, reg.value().size};
                if (has_prefix(n, "vfm-shared@")) t.shared = {reg.value().base, reg.value().size};
            }
        }
    }
    t.from_device_tree = t.monitor.size != 0;
    if (!t.from_device_tree) t.monitor = {native_monitor_base, native_monitor_size};
    if (t.shared.size == 0) t.shared = {t.monitor.end(), shared_page_size};
    if (!t.from_device_tree && mmio::read<u64>(lock_request_address) == lock_request) {
        namespace p = testfw::pmp;
        p::reset();
        p::set(0, p::make_cfg(p::napot, false, false, false, true), p::napot_encode(t.monitor.base, t.monitor.size));
        // The shared page: M-mode's own accesses and every fetch work, S and U data accesses
        // (MPRV with MPP = S or U, HLV/HSV, a walk's PTE reads) do not.
        p::set(1, p::make_cfg(p::napot, false, false, true), p::napot_encode(t.shared.base, t.shared.size));
        p::reserve_low(2);
        t.locked = g_locked = true;
    }
    impl_defined("targets: the monitor's memory %h size %h, its shared page %h size %h (%s)", t.monitor.base,
                 t.monitor.size, t.shared.base, t.shared.size,
                 t.from_device_tree ? "from the device tree"
                 : t.locked        ? "no monitor: where one would be, walled off by PMP"
                                   : "no monitor: where one would be");
    return t;
}

const char* name(outcome o) noexcept {
    switch (o) {
        case outcome::contained: return "contained";
        case outcome::real: return "real";
        case outcome::leaked: return "leaked";
        default: return "wrong";
    }
}

exception access_fault_for(kind k) noexcept {
    return k == kind::load || k == kind::lr || k == kind::lr_sc ? exception::load_access_fault
                                                                : exception::store_access_fault;
}

bool read_bytes(u64 pa, unsigned n, u8* out) noexcept { return read_place(at(pa), n, out); }
bool write_bytes(u64 pa, unsigned n, const u8* in) noexcept { return write_place(at(pa), n, in); }

verdict attempt(const access::op& o, const place& where, u64 status, access::preamble pre) noexcept {
    const unsigned n = o.width;
    u8 before[8] = {};
    const bool known = read_place(where, n, before);
    const u64 old = little_endian(before, n);
    const u64 value = known ? old ^ 0x5aa5'5aa5'5aa5'5aa5 : 0x0bad'f00d'0bad'f00d;
    const access::result r = access::run(o, where.va, value, status, pre);
    verdict v;
    const u64 fault = static_cast<u64>(access_fault_for(o.what));
    const auto in_range = [&](u64 tval) { return tval >= where.va && tval - where.va < n; };

    if (r.traps != 0) {
        const access::trap& t = r.first;
        // The locked-PMP tier: QEMU 7.2's own causes for two of these faults.
        const bool qemu_cause = g_locked && ((o.what == kind::amo && t.cause == 5) ||
                                             (o.hypervisor && (t.cause == 21 || t.cause == 23)));
        bool ok = (t.cause == fault || qemu_cause) && t.epc == r.site && in_range(t.tval);
        bool sc_stored = false;
        if (o.what == kind::lr_sc) {
            const access::trap& s = r.second_trap;
            if (r.traps == 2) {
                ok = ok && s.cause == static_cast<u64>(exception::store_access_fault) && s.epc == r.site + 4 &&
                     in_range(s.tval);
            } else {
                sc_stored = r.second == 0;  // the lr faulted yet the sc succeeded
                ok = ok && !sc_stored;
            }
        } else {
            ok = ok && r.traps == 1;
        }
        if (ok) {
            v.what = outcome::contained;
            format(v.detail, sizeof v.detail, "%s %h: %s, mtval %h", o.name, where.va, cause_name(t.cause), t.tval);
        } else {
            v.what = outcome::wrong;
            v.page_fault = r.traps == 1 && t.epc == r.site && in_range(t.tval) &&
                           (t.cause == static_cast<u64>(exception::load_page_fault) ||
                            t.cause == static_cast<u64>(exception::store_page_fault));
            format(v.detail, sizeof v.detail, "%s %h: %s (cause %h), epc at the instruction %b, mtval %h, %u traps%s",
                   o.name, where.va, cause_name(t.cause), t.cause, t.epc == r.site, t.tval, r.traps,
                   sc_stored ? ", the sc succeeded" : "");
        }
    } else {
        u8 after[8] = {};
        const bool readable = read_place(where, n, after);
        const u64 now = little_endian(after, n);
        if (!known || !readable) {
            v.what = outcome::leaked;
            format(v.detail, sizeof v.detail, "%s %h: no trap, a0 %h", o.name, where.va, r.value);
        } else {
            u64 want_a0 = r.value;
            u64 want_memory = old;
            bool sc_ok = true;
            switch (o.what) {
                case kind::load:
                case kind::lr: want_a0 = o.sign_extends ? sign_extend(old, 8 * n) : old; break;
                case kind::store: want_memory = value & mask(n); break;
                case kind::amo:
                    want_a0 = sign_extend(old, 8 * n);
                    want_memory = amo_memory(o.function, old, value, n);
                    break;
                case kind::lr_sc:
                    want_a0 = sign_extend(old, 8 * n);
                    want_memory = value & mask(n);
                    sc_ok = r.second == 0;
                    break;
                case kind::sc: break;
            }
            const bool ok = r.value == want_a0 && now == want_memory && sc_ok;
            v.what = ok ? outcome::real : outcome::wrong;
            format(v.detail, sizeof v.detail, "%s %h: no trap, a0 %h (expected %h), memory %h (expected %h)%s", o.name,
                   where.va, r.value, want_a0, now, want_memory, sc_ok ? "" : ", the sc failed");
        }
        if (known && readable && now != old) (void)write_place(where, n, before);
    }
    if (v.what == outcome::wrong && known) {
        // Put back what a wrong result may have changed.
        u8 after[8] = {};
        if (read_place(where, n, after) && little_endian(after, n) != old) (void)write_place(where, n, before);
    }
    return v;
}

bool works(const char* description, const access::op& o, const place& where, u64 initial, u64 status,
           access::preamble pre) noexcept {
    const unsigned n = o.width;
    u8 saved[8] = {};
    u8 seed[8] = {};
    for (unsigned i = 0; i < n; ++i) seed[i] = static_cast<u8>(initial >> (8 * i));
    if (!read_place(where, n, saved) || !write_place(where, n, seed))
        return check(false, "%s: %s: the memory cannot be read and written directly", description, o.name);
    const verdict v = attempt(o, where, status, pre);
    (void)write_place(where, n, saved);
    if (v.what == outcome::real) return check(true, "%s: %s works as on bare hardware", description, o.name);
    return check(false, "%s: %s does not work (%s: %s)", description, o.name, name(v.what), v.detail);
}

group::group(const char* description) noexcept { copy(m_description, sizeof m_description, description); }

void group::add(const verdict& v) noexcept {
    unsigned i = static_cast<unsigned>(v.what);
    if (m_page_faults_leak && v.page_fault) i = static_cast<unsigned>(outcome::leaked);
    if (m_count[i]++ == 0) copy(m_first[i], sizeof m_first[i], v.detail);
    ++m_total;
}

bool group::finish() noexcept {
    const unsigned contained = m_count[static_cast<unsigned>(outcome::contained)];
    const unsigned real = m_count[static_cast<unsigned>(outcome::real)];
    const unsigned leaked = m_count[static_cast<unsigned>(outcome::leaked)];
    const unsigned wrong = m_count[static_cast<unsigned>(outcome::wrong)];
    if (m_total == 0) return check(false, "[attack] %s => wrong (no attempts)", m_description);
    if (wrong != 0)
        return check(false, "[attack] %s => wrong (%u of %u attempts; first: %s)", m_description, wrong, m_total,
                     m_first[static_cast<unsigned>(outcome::wrong)]);
    for (unsigned i = 0; i < 3; ++i) {
        if (m_count[i] == m_total)
            return check(true, "[attack] %s => %s (%u attempts; first: %s)", m_description, name(static_cast<outcome>(i)),
                         m_total, m_first[i]);
    }
    char examples[280];
    if (leaked != 0 && real != 0)
        format(examples, sizeof examples, "first leaked: %s; first real: %s", m_first[static_cast<unsigned>(outcome::leaked)],
               m_first[static_cast<unsigned>(outcome::real)]);
    else
        format(examples, sizeof examples, "first not contained: %s",
               m_first[static_cast<unsigned>(leaked != 0 ? outcome::leaked : outcome::real)]);
    return check(true, "[attack] %s => mixed (%u contained, %u real, %u leaked; %s)", m_description, contained, real,
                 leaked, examples);
}

void describe(const access::result& r, char* out, usize size) noexcept {
    if (r.traps == 0) {
        format(out, size, "no trap, a0 %h, t3 %h", r.value, r.second);
        return;
    }
    const access::trap& t = r.first;
    const u64 code = t.cause;
    const bool guest_page_fault = code == 20 || code == 21 || code == 23;
    char extra[48] = {};
    if (guest_page_fault) format(extra, sizeof extra, ", mtval2 %h", t.tval2);
    format(out, size, "%s, mtval %h%s, GVA %b, epc at the instruction %b%s", cause_name(code), t.tval, extra,
           riscv::mstatus::gva::extract(t.status) != 0, t.epc == r.site, r.traps > 1 ? ", then another trap" : "");
}

bool control(const char* description, const access::op& o, u64 va, u64 pa, u64 value, u64 status, bool must_work,
             access::preamble pre) noexcept {
    const access::result r = access::run(o, va, value, status, pre);
    char what[160];
    describe(r, what, sizeof what);
    const bool well_formed = r.traps <= (o.what == kind::lr_sc ? 2u : 1u) && (r.traps == 0 || r.first.epc == r.site);
    const bool ok = well_formed && (!must_work || r.traps == 0);
    if (pa == 0) return check(ok, "%s: %s %s", description, o.name, what);
    u8 after[8] = {};
    const bool readable = read_bytes(pa, o.width, after);
    return check(ok, "%s: %s %s, memory %h%s", description, o.name, what, little_endian(after, o.width),
                 readable ? "" : " (unreadable)");
}

}  // namespace testfw::attack
