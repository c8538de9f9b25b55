// SPDX-License-Identifier: MIT
// csr-rw: every machine-mode CSR (and the supervisor CSRs M-mode reaches)
// read after write. Each write of all ones, zeros and two alternating
// patterns is followed by a read and a restore in one asm block, and the
// value read back is printed and checked against the spec's rules for the
// field (WARL legal values, read-only and reserved bits) given the
// extensions misa reports. Read-only CSRs must raise an illegal-instruction
// exception when written, unimplemented ones on any access.
#include "testfw/testfw.hpp"

using namespace testfw;

const char* const testfw::firmware_name = "csr-rw";
const char* const testfw::firmware_purpose = "machine-mode CSRs read after write (priv. spec 2.1, 3.1, 3.7, 4.1)";

namespace {

namespace ms = vfm::riscv::mstatus;
namespace ip = vfm::riscv::mip;

/// The VS-level interrupts of the H extension (8.4.2, 8.4.3).
constexpr u64 vs_interrupts = ip::vssip::mask | ip::vstip::mask | ip::vseip::mask;

constexpr u64 ones = ~u64{0};
constexpr u64 fives = 0x5555'5555'5555'5555;
constexpr u64 as = 0xaaaa'aaaa'aaaa'aaaa;
constexpr u64 patterns[] = {ones, 0, fives, as};

[[nodiscard]] constexpr u64 bit(unsigned n) { return u64{1} << n; }
[[nodiscard]] constexpr u64 bits(unsigned msb, unsigned lsb) { return vfm::bits::low_mask(msb - lsb + 1) << lsb; }

u64 g_misa;
bool g_sscofpmf;
[[nodiscard]] bool has(char e) { return (g_misa & vfm::riscv::misa::extension(e)) != 0; }

/// Writes `value`, reads the CSR back and restores the old value in one asm
/// block: no memory access or trap happens while the CSR holds the test value.
template <u16 N>
[[nodiscard]] u64 write_read(u64 value) {
    u64 old;
    u64 got;
    asm volatile("csrrw %0, %2, %3\n csrr %1, %2\n csrw %2, %0"
                 : "=&r"(old), "=&r"(got)
                 : "i"(N), "r"(value)
                 : "memory");
    return got;
}

/// What the spec requires of the value read back after a write.
struct rules {
    u64 must_write = 0;  ///< bits that read back as written
    u64 must_zero = 0;   ///< bits that read zero
    u64 must_one = 0;    ///< bits that read one
    u64 keep = 0;        ///< bits a write does not change (read-only state)
    u64 deviation = 0;   ///< written bits that QEMU 7.2 keeps against the spec
    const char* section = nullptr;  ///< spec section of `deviation`
    /// The `deviation` bits pass bit by bit as the spec's or QEMU's (a
    /// monitor may keep some of them physical, as QEMU does, and legalise
    /// others): a hart without S-mode.
    bool deviation_per_bit = false;
    bool (*legal)(u64 written, u64 read) = nullptr;  ///< further rules
};

[[nodiscard]] bool holds(const rules& r, u64 before, u64 written, u64 got) {
    return (got & r.must_zero) == 0 && (got & r.must_one) == r.must_one && ((got ^ written) & r.must_write) == 0 &&
           ((got ^ before) & r.keep) == 0 && (r.legal == nullptr || r.legal(written, got));
}

/// One write; when it touches bits where QEMU 7.2 departs from the spec, a
/// marked line for it and then the same write without those bits.
template <u16 N>
void rw(const char* name, const rules& r, u64 pattern) {
    const u64 before = csrr<N>();
    if ((pattern & r.deviation) != 0) {
        const u64 got = write_read<N>(pattern);
        rules qemu = r;
        qemu.must_zero &= ~r.deviation;
        qemu.keep &= ~r.deviation;
        if (!r.deviation_per_bit) qemu.must_write |= r.deviation;
        deviation(r.section, holds(r, before, pattern, got), holds(qemu, before, pattern, got), "%s <- %x reads %x",
                  name, pattern, got);
        pattern &= ~r.deviation;
    }
    const u64 got = write_read<N>(pattern);
    check(holds(r, before, pattern, got), "%s <- %x reads %x", name, pattern, got);
}

template <u16 N>
void rw_patterns(const char* name, const rules& r) {
    for (const u64 p : patterns) rw<N>(name, r, p);
}

/// The CSR exists: a read does not trap.
template <u16 N>
bool exists() {
    return !csr_probe<N>(csr_op::read).trapped;
}

/// Every form of CSR instruction on a read-only CSR: the ones that write
/// raise an illegal-instruction exception, the ones that do not write read
/// the value (priv. spec 2.1; unpriv. spec 9.1).
template <u16 N>
void read_only(const char* name) {
    const probe first = csr_probe<N>(csr_op::read);
    check(!first.trapped, "%s reads %x", name, first.value);
    constexpr csr_op ops[] = {csr_op::set_imm0, csr_op::clear_imm0, csr_op::write, csr_op::set,
                              csr_op::clear,    csr_op::write_imm0};
    for (const csr_op op : ops) {
        char what[64];
        format(what, sizeof what, "%s %s", name, testfw::name(op));
        const probe p = csr_probe<N>(op, 1);
        if (writes(op)) {
            expect_illegal(p, csr_encoding(op, N), what);
        } else {
            check(!p.trapped && p.value == first.value, "%s: no trap, reads %x", what, p.value);
        }
    }
    // csrrs/csrrc with rs1 != x0 write even when the register holds 0
    // (unpriv. spec 9.1); QEMU 7.2 decides by the value instead.
    constexpr csr_op zero_ops[] = {csr_op::set, csr_op::clear};
    for (const csr_op op : zero_ops) {
        const probe p = csr_probe<N>(op, 0);
        const u32 bits = csr_encoding(op, N);
        const bool spec_ok = p.trapped && p.cause == 2 && p.epc == p.site && (p.tval == 0 || p.tval == bits);
        deviation("2.1", spec_ok, !p.trapped && p.value == first.value, "%s %s with a1 = 0: trapped %b, mtval %x",
                  name, testfw::name(op), p.trapped, p.tval);
    }
}

/// A CSR that must not exist: any access raises an illegal instruction.
template <u16 N>
void absent(const char* name) {
    char what[64];
    format(what, sizeof what, "%s (%h) %s", name, N, testfw::name(csr_op::read));
    expect_illegal(csr_probe<N>(csr_op::read), csr_encoding(csr_op::read, N), what);
    format(what, sizeof what, "%s (%h) %s", name, N, testfw::name(csr_op::write));
    expect_illegal(csr_probe<N>(csr_op::write, 0), csr_encoding(csr_op::write, N), what);
}

/// An optional CSR: prints whether it exists (compared across runs).
template <u16 N>
void optional(const char* name, const char* extension, bool compared) {
    const probe p = csr_probe<N>(csr_op::read);
    char line[128];
    if (p.trapped) {
        format(line, sizeof line, "%s (%h, %s): absent, %s with mtval %x", name, N, extension, cause_name(p.cause),
               p.tval);
    } else {
        format(line, sizeof line, "%s (%h, %s): present, reads %x", name, N, extension, p.value);
    }
    if (compared) {
        note("%s", line);
    } else {
        impl_defined("%s", line);
    }
}

// ---------------------------------------------------------------------------

void information_registers() {
    section("machine information registers (priv. 2.1, 3.1.1-3.1.5, 3.1.17)");
    read_only<0xf11>("mvendorid");
    read_only<0xf12>("marchid");
    read_only<0xf13>("mimpid");
    read_only<0xf14>("mhartid");
    check(read<csr::mhartid>() == boot_hart() && self().boot_a0 == boot_hart(),
          "mhartid on the boot hart is a0 at entry: %u", read<csr::mhartid>());
    // mconfigptr is new in priv. 1.12 (QEMU sifive_u's harts implement 1.10).
    if (exists<0xf15>()) {
        read_only<0xf15>("mconfigptr");
    } else {
        absent_here("mconfigptr");
    }

    g_misa = read<csr::misa>();
    char letters[27];
    unsigned n = 0;
    for (char c = 'a'; c <= 'z'; ++c) {
        if (has(static_cast<char>(c - 'a' + 'A'))) letters[n++] = c;
    }
    letters[n] = '\0';
    check(vfm::riscv::misa::mxl::extract(g_misa) == 2, "misa %x: MXL = 2 (64-bit), extensions %s", g_misa, letters);
    check(has('I') && !has('E') && has('M') && has('A') && has('C') && has('U'), "misa reports I, M, A, C and U and not E");
    note("S-mode: %b", has('S'));
    const u64 again = write_read<0x301>(g_misa);
    check(again == g_misa, "misa <- its own value reads %x", again);
}

bool mstatus_legal(u64 written, u64 got) {
    const u64 mpp = ms::mpp::extract(got);
    const u64 fs = ms::fs::extract(got), vs = ms::vs::extract(got), xs = ms::xs::extract(got);
    const bool sd = fs == 3 || vs == 3 || xs == 3;
    // Without S-mode, MPP holds M or U and SXL is read-only zero (3.1.6.1,
    // 3.1.6.2; the SXL QEMU reads is a line of its own).
    const bool s = has('S');
    return (mpp == 0 || (mpp == 1 && s) || mpp == 3) && mpp == ms::mpp::extract(written) &&
           ms::uxl::extract(got) == 2 && (!s || ms::sxl::extract(got) == 2) && ms::sd::test(got) == sd;
}

/// mstatus with the WARL fields MPP, UXL and SXL set to legal values.
[[nodiscard]] u64 legal_mstatus(u64 p, u64 mpp) {
    return ms::sxl::insert(ms::uxl::insert(ms::mpp::insert(p, mpp), 2), 2);
}

/// mstatus on a hart without S-mode: MPP holds M or U; the supervisor
/// fields, SXL, MPV and GVA are read-only zero (3.1.6; QEMU 7.2 keeps some:
/// deviations.hpp, `~` lines passing bit by bit).
void machine_status_without_s() {
    rules r;
    r.must_write = ms::mie::mask | ms::mpie::mask | ms::mprv::mask | ms::tw::mask;
    if (has('F') || has('D')) r.must_write |= ms::fs::mask;
    constexpr u64 s_fields = ms::sie::mask | ms::spie::mask | ms::spp::mask | ms::sum::mask | ms::mxr::mask |
                             ms::tvm::mask | ms::tsr::mask;
    r.must_zero = bit(0) | bit(2) | bit(4) | ms::xs::mask | bits(31, 23) | bits(62, 40) | s_fields;
    r.deviation = qemu_deviating_bits(0x300, has('H'), g_sscofpmf, false);
    r.deviation_per_bit = true;
    r.section = "3.1.6";
    r.legal = mstatus_legal;
    rw<0x300>("mstatus", r, legal_mstatus(ones, 3));
    rw<0x300>("mstatus", r, legal_mstatus(0, 0));
    rw<0x300>("mstatus", r, legal_mstatus(fives, 0));
    rw<0x300>("mstatus", r, legal_mstatus(as, 3));

    const u64 base = legal_mstatus(0, 0);
    u64 got = write_read<0x300>(ms::mpp::insert(base, 1));
    deviation("3.1.6.1", ms::mpp::extract(got) != 1, ms::mpp::extract(got) == 1,
              "mstatus.MPP <- 1 (S, which the hart lacks) reads %h", ms::mpp::extract(got));
    got = write_read<0x300>(ms::mpp::insert(base, 2));
    deviation("3.1.6.1", ms::mpp::extract(got) != 2, ms::mpp::extract(got) == 2,
              "mstatus.MPP <- 2 (reserved) reads %h", ms::mpp::extract(got));
    got = read<csr::mstatus>();
    deviation("3.1.6.2", ms::sxl::extract(got) == 0, ms::sxl::extract(got) == 2, "mstatus.SXL reads %h",
              ms::sxl::extract(got));
    got = write_read<0x300>(ms::uxl::insert(base, 3));
    deviation("3.1.6.2", ms::uxl::extract(got) == 1 || ms::uxl::extract(got) == 2, ms::uxl::extract(got) == 3,
              "mstatus.UXL <- 3 (reserved) reads %h", ms::uxl::extract(got));
}

void machine_status() {
    section("mstatus (priv. 3.1.6, 8.4.1)");
    if (!has('S')) {
        machine_status_without_s();
        return;
    }
    rules r;
    r.must_write = ms::sie::mask | ms::mie::mask | ms::spie::mask | ms::mpie::mask | ms::spp::mask | ms::mprv::mask |
                   ms::sum::mask | ms::mxr::mask | ms::tvm::mask | ms::tw::mask | ms::tsr::mask;
    if (has('F') || has('D')) r.must_write |= ms::fs::mask;
    r.must_zero = bit(0) | bit(2) | bit(4) | ms::xs::mask | bits(31, 23) | bits(62, 40);
    if (has('H')) {
        r.must_write |= ms::mpv::mask | ms::gva::mask;
    } else {
        // MPV and GVA exist only with the H extension.
        r.must_zero |= ms::mpv::mask | ms::gva::mask;
        r.deviation = qemu_deviating_bits(0x300, false, g_sscofpmf);
        r.section = "3.1.6, 8.4.1";
    }
    r.legal = mstatus_legal;
    rw<0x300>("mstatus", r, legal_mstatus(ones, 3));
    rw<0x300>("mstatus", r, legal_mstatus(0, 0));
    rw<0x300>("mstatus", r, legal_mstatus(fives, 1));
    rw<0x300>("mstatus", r, legal_mstatus(as, 1));
    rw<0x300>("mstatus", r, legal_mstatus(0, 1));
    rw<0x300>("mstatus", r, legal_mstatus(0, 3));

    const u64 base = legal_mstatus(0, 0);
    u64 got = write_read<0x300>(ms::mpp::insert(base, 2));
    deviation("3.1.6.1", ms::mpp::extract(got) != 2, ms::mpp::extract(got) == 2,
              "mstatus.MPP <- 2 (reserved) reads %h", ms::mpp::extract(got));
    got = write_read<0x300>(ms::uxl::insert(base, 3));
    deviation("3.1.6.2", ms::uxl::extract(got) == 1 || ms::uxl::extract(got) == 2, ms::uxl::extract(got) == 3,
              "mstatus.UXL <- 3 (reserved) reads %h", ms::uxl::extract(got));
    got = write_read<0x300>(ms::uxl::insert(base, 1));
    impl_defined("mstatus.UXL <- 1 (RV32 U-mode) reads %h", ms::uxl::extract(got));
    got = write_read<0x300>(ms::sxl::insert(base, 1));
    check(ms::sxl::extract(got) == 1 || ms::sxl::extract(got) == 2, "mstatus.SXL <- 1 reads %h",
          ms::sxl::extract(got));
    got = write_read<0x300>(ms::sxl::insert(base, 3));
    check(ms::sxl::extract(got) == 1 || ms::sxl::extract(got) == 2, "mstatus.SXL <- 3 (reserved) reads %h",
          ms::sxl::extract(got));
}

void delegation_registers() {
    section("medeleg, mideleg (priv. 3.1.8, 8.4.2)");
    if (!has('S')) {
        // They exist only with S-mode (QEMU 7.2's E51 has them).
        const probe d = csr_probe<0x302>(csr_op::read);
        const probe i = csr_probe<0x303>(csr_op::read);
        deviation("3.1.8", d.trapped, !d.trapped, "medeleg without S-mode: %s", d.trapped ? "absent" : "present");
        deviation("3.1.8", i.trapped, !i.trapped, "mideleg without S-mode: %s", i.trapped ? "absent" : "present");
        return;
    }
    rules e;
    e.must_zero = bit(11);
    if (!has('H')) {
        // Exceptions that cannot happen below M "should" have read-only zero
        // bits: without H, ecall from VS and the guest-page faults.
        e.must_zero |= bit(10) | bits(23, 20);
    }
    e.deviation = qemu_deviating_bits(0x302, has('H'), g_sscofpmf);
    e.section = "3.1.8";
    rw_patterns<0x302>("medeleg", e);

    rules i;
    if (has('H')) {
        i.must_one = vs_interrupts;
    } else {
        i.must_zero = vs_interrupts | ip::sgeip::mask;
        i.section = "3.1.9";
    }
    if (!g_sscofpmf) {
        i.must_zero |= ip::lcofip::mask;
        i.section = "3.1.9";
    }
    i.deviation = qemu_deviating_bits(0x303, has('H'), g_sscofpmf);
    rw_patterns<0x303>("mideleg", i);
}

void interrupt_registers() {
    section("mie, mip (priv. 3.1.9, 8.4.3)");
    // Without S-mode the S-level bits are read-only zero (3.1.9).
    const bool s = has('S');
    const u64 s_level = ip::ssip::mask | ip::stip::mask | ip::seip::mask;
    rules e;
    e.must_write = ip::msip::mask | ip::mtip::mask | ip::meip::mask | (s ? s_level : 0);
    e.must_zero = bit(0) | bit(4) | bit(8) | bits(15, 14) | (s ? 0 : s_level);
    e.deviation_per_bit = !s;
    if (has('H')) {
        e.must_write |= vs_interrupts;
    } else {
        e.must_zero |= vs_interrupts | ip::sgeip::mask;
        e.section = "3.1.9";
    }
    if (!g_sscofpmf) {
        e.must_zero |= ip::lcofip::mask;
        e.section = "3.1.9";
    }
    e.deviation = qemu_deviating_bits(0x304, has('H'), g_sscofpmf, s);
    rw_patterns<0x304>("mie", e);

    rules p;
    p.must_write = s ? s_level : 0;
    p.keep = ip::msip::mask | ip::mtip::mask | ip::meip::mask;
    p.must_zero = bit(0) | bit(4) | bit(8) | bits(15, 14) | (s ? 0 : s_level);
    p.deviation_per_bit = !s;
    if (has('H')) {
        p.must_write |= ip::vssip::mask;
        p.keep |= ip::vstip::mask | ip::vseip::mask | ip::sgeip::mask;
        p.section = "3.1.9, 8.4.3";
    } else {
        p.must_zero |= vs_interrupts | ip::sgeip::mask;
        p.section = "3.1.9";
    }
    p.deviation = qemu_deviating_bits(0x344, has('H'), g_sscofpmf, s);
    if (!g_sscofpmf) {
        p.must_zero |= ip::lcofip::mask;
        p.section = has('H') ? "3.1.9, 8.4.3" : "3.1.9";
    }
    rw_patterns<0x344>("mip", p);
}

bool tvec_legal(u64, u64 got) { return (got & 3) <= 1; }

void trap_vector() {
    section("mtvec (priv. 3.1.7)");
    rules r;
    r.legal = tvec_legal;
    rw_patterns<0x305>("mtvec", r);
    rules exact;
    exact.must_write = ones;
    rw<0x305>("mtvec", exact, direct_mtvec());
    rw<0x305>("mtvec", exact, vectored_mtvec());
}

void counter_enables() {
    section("mcounteren, mcountinhibit, menvcfg (priv. 3.1.11, 3.1.12, 3.1.18)");
    rules en;
    en.must_zero = bits(63, 32);
    en.deviation = qemu_deviating_bits(0x306, has('H'), g_sscofpmf);
    en.section = "3.1.11";
    rw_patterns<0x306>("mcounteren", en);

    // mcountinhibit is new in priv. 1.11, menvcfg in 1.12.
    if (exists<0x320>()) {
        rules inh;
        inh.must_zero = bit(1) | bits(63, 32);
        inh.deviation = qemu_deviating_bits(0x320, has('H'), g_sscofpmf);
        inh.section = "3.1.12";
        rw_patterns<0x320>("mcountinhibit", inh);
    } else {
        absent_here("mcountinhibit");
    }

    if (exists<0x30a>()) {
        rules env;
        env.must_zero = bits(3, 1) | bits(59, 8);
        rw_patterns<0x30a>("menvcfg", env);
    } else {
        absent_here("menvcfg");
    }
}

bool cause_exact(u64 written, u64 got) { return written == got; }

void trap_handling() {
    section("mscratch, mepc, mcause, mtval (priv. 3.1.13-3.1.16)");
    rules all;
    all.must_write = ones;
    rw_patterns<0x340>("mscratch", all);

    rules epc;
    epc.must_zero = bit(0);
    epc.must_write = bits(55, 1);
    epc.deviation = qemu_deviating_bits(0x341, has('H'), g_sscofpmf);
    epc.section = "3.1.14";
    rw_patterns<0x341>("mepc", epc);

    rules cause;
    cause.legal = cause_exact;
    constexpr u64 legal_causes[] = {0x8000'0000'0000'0007, 0x8000'0000'0000'0003, 0x8000'0000'0000'000b, 2, 11, 0};
    for (const u64 c : legal_causes) rw<0x342>("mcause", cause, c);
    impl_defined("mcause <- %x (WLRL, not a legal value) reads %x", ones, write_read<0x342>(ones));

    rules tval;
    tval.must_write = bits(31, 0);
    rw_patterns<0x343>("mtval", tval);

    if (has('H')) {
        rw_patterns<0x34a>("mtinst", rules{});
        rw_patterns<0x34b>("mtval2", rules{});
    } else {
        absent<0x34a>("mtinst");
        absent<0x34b>("mtval2");
    }
}

void machine_counters() {
    section("mcycle, minstret, hpm counters (priv. 3.1.10)");
    constexpr u64 starts[] = {0, fives, as};
    for (const u64 v : starts) {
        const u64 c = write_read<0xb00>(v);
        check(c - v < bit(32), "mcycle <- %x reads back at or just above it: %b", v, c - v < bit(32));
        const u64 i = write_read<0xb02>(v);
        check(i - v < bit(32), "minstret <- %x reads back at or just above it: %b", v, i - v < bit(32));
    }

    u64 counter_trap = 0, counter_write = 0, event_trap = 0, event_write = 0, user_trap = 0;
    for (u16 n = 3; n <= 31; ++n) {
        const probe c = csr_probe_in<0xb03, 29>(static_cast<u16>(0xb00 + n), csr_op::write, fives);
        if (c.trapped) {
            counter_trap |= bit(n);
        } else {
            if (csr_probe_in<0xb03, 29>(static_cast<u16>(0xb00 + n), csr_op::write, c.value).value == fives) {
                counter_write |= bit(n);
            }
        }
        const probe e = csr_probe_in<0x323, 29>(static_cast<u16>(0x320 + n), csr_op::write, fives);
        if (e.trapped) {
            event_trap |= bit(n);
        } else if (csr_probe_in<0x323, 29>(static_cast<u16>(0x320 + n), csr_op::write, e.value).value == fives) {
            event_write |= bit(n);
        }
        if (csr_probe_in<0xc03, 29>(static_cast<u16>(0xc00 + n), csr_op::read).trapped) user_trap |= bit(n);
    }
    check(true, "mhpmcounter3..31 that keep a written value: mask %h", counter_write);
    deviation("3.1.10", counter_trap == 0, counter_trap != 0,
              "mhpmcounter3..31 that raise illegal instruction: mask %h", counter_trap);
    check(event_trap == 0, "mhpmevent3..31 all exist; those that keep a written value: mask %h", event_write);
    deviation("3.1.10", user_trap == 0, user_trap == counter_trap,
              "hpmcounter3..31 that raise illegal instruction in M-mode: mask %h", user_trap);
}

// --- PMP ---------------------------------------------------------------------

bool pmpcfg_legal(u64, u64 got) {
    for (unsigned i = 0; i < 8; ++i) {
        const u8 c = static_cast<u8>(got >> (8 * i));
        if ((c & 3) == 2) return false;  // R = 0, W = 1 is reserved
    }
    return true;
}

void physical_memory_protection() {
    section("pmpcfg, pmpaddr (priv. 3.7.1)");
    pmp::reset();
    // Granularity (3.7.1.1): pmp0cfg = 0, pmpaddr0 = all ones; G is the index
    // of the lowest set bit read back.
    write<csr::pmpaddr0>(ones);
    const u64 g = vfm::bits::count_trailing_zeros(read<csr::pmpaddr0>());
    write<csr::pmpaddr0>(0);
    check(g < 54, "PMP granularity: G = %u (2^(G+2) bytes)", g);

    unsigned entries = 0;
    u64 addr_trap = 0;
    for (u16 i = 0; i < 64; ++i) {
        const probe p = csr_probe_in<0x3b0, 64>(static_cast<u16>(0x3b0 + i), csr_op::write, ones);
        if (p.trapped) {
            addr_trap |= bit(i);
            continue;
        }
        if (csr_probe_in<0x3b0, 64>(static_cast<u16>(0x3b0 + i), csr_op::write, 0).value != 0) ++entries;
    }
    impl_defined("PMP entries: %u", entries);
    check(entries >= 8, "at least 8 PMP entries for the firmwares: %b", entries >= 8);
    deviation("3.7.1", addr_trap == 0, addr_trap != 0, "pmpaddr0..63 that raise illegal instruction: mask %h",
              addr_trap);
    unsigned cfg_trap = 0;
    for (u16 i = 0; i < 16; i += 2) {
        if (csr_probe_in<0x3a0, 16>(static_cast<u16>(0x3a0 + i), csr_op::read).trapped) cfg_trap |= 1u << i;
    }
    deviation("3.7.1", cfg_trap == 0, cfg_trap != 0, "pmpcfg0..14 (even) that raise illegal instruction: mask %h",
              cfg_trap);
    absent<0x3a1>("pmpcfg1");
    absent<0x3a3>("pmpcfg3");
    absent<0x3af>("pmpcfg15");

    rules addr;
    addr.must_zero = bits(63, 54);
    addr.must_write = bits(53, static_cast<unsigned>(g));
    addr.deviation = qemu_deviating_bits(0x3b0, has('H'), g_sscofpmf);
    addr.section = "3.7.1";
    rw_patterns<0x3b0>("pmpaddr0", addr);
    rw_patterns<0x3b1>("pmpaddr1", addr);
    rw_patterns<0x3b7>("pmpaddr7", addr);

    // Configuration bytes, never with L set (it stays until reset). Legal
    // bytes only, then the reserved bits 6:5 and the reserved R=0, W=1.
    rules cfg;
    cfg.must_write = 0x9f9f'9f9f'9f9f'9f9f;
    cfg.must_zero = 0x6060'6060'6060'6060;
    cfg.legal = pmpcfg_legal;
    constexpr u64 legal_cfgs[] = {0x1f1f'1f1f'1f1f'1f1f, 0, 0x1d1b'1915'130f'0b09, 0x0100'0504'0300'0d1c};
    for (const u64 c : legal_cfgs) rw<0x3a0>("pmpcfg0", cfg, c);
    // Entries 8..15 exist or not (the count is the implementation's): their
    // bytes hold legal values when they exist and read zero when not.
    const u64 present = entries >= 16 ? ones : entries <= 8 ? 0 : vfm::bits::low_mask(8 * (entries - 8));
    for (const u64 c : legal_cfgs) {
        const u64 got = write_read<0x3a2>(c);
        impl_defined("pmpcfg2 <- %x reads %x", c, got);
        check((got & ~present) == 0 && ((got ^ c) & present & cfg.must_write) == 0,
              "pmpcfg2: the bytes of implemented entries hold what was written, the others read zero: %b",
              (got & ~present) == 0 && ((got ^ c) & present & cfg.must_write) == 0);
    }
    u64 got = write_read<0x3a0>(0x7f7f'7f7f'7f7f'7f7f);
    deviation("3.7.1", (got & cfg.must_zero) == 0, (got & cfg.must_zero) == cfg.must_zero,
              "pmpcfg0 <- 0x7f7f7f7f7f7f7f7f (reserved bits 6:5 set) reads %x", got);
    got = write_read<0x3a0>(0x1a1a'1a1a'0202'0202);
    deviation("3.7.1", pmpcfg_legal(0, got), got == 0x1a1a'1a1a'0202'0202,
              "pmpcfg0 <- 0x1a1a1a1a02020202 (reserved R=0 W=1) reads %x", got);
    pmp::reset();
}

// --- supervisor CSRs from M-mode -----------------------------------------------

void supervisor_status() {
    section("sstatus (priv. 4.1.1)");
    constexpr u64 view = ms::sstatus_mask;
    constexpr u64 sp[] = {ones, 0, fives, as};
    for (const u64 p0 : sp) {
        const u64 p = ms::uxl::insert(p0, 2);
        u64 old, got, mb, ma;
        asm volatile(
            "csrr %2, mstatus\n csrrw %0, sstatus, %4\n csrr %1, sstatus\n csrr %3, mstatus\n csrw sstatus, %0"
            : "=&r"(old), "=&r"(got), "=&r"(mb), "=&r"(ma)
            : "r"(p)
            : "memory");
        u64 must_write = ms::sie::mask | ms::spie::mask | ms::spp::mask | ms::sum::mask | ms::mxr::mask;
        if (has('F') || has('D')) must_write |= ms::fs::mask;
        const bool sd = ms::fs::extract(got) == 3 || ms::vs::extract(got) == 3 || ms::xs::extract(got) == 3;
        const bool ok = (got & ~view) == 0 && ((got ^ p) & must_write) == 0 && ms::uxl::extract(got) == 2 &&
                        ms::sd::test(got) == sd && got == (ma & view) && ((ma ^ mb) & ~view) == 0;
        check(ok, "sstatus <- %x reads %x (mstatus outside the view unchanged: %b)", p, got,
              ((ma ^ mb) & ~view) == 0);
    }
    const u64 got = write_read<0x100>(ms::uxl::insert(read<csr::sstatus>(), 3));
    deviation("4.1.1", ms::uxl::extract(got) == 1 || ms::uxl::extract(got) == 2, ms::uxl::extract(got) == 3,
              "sstatus.UXL <- 3 (reserved) reads %h", ms::uxl::extract(got));
}

void supervisor_interrupts() {
    section("sie, sip as views of mie, mip through mideleg (priv. 3.1.9, 4.1.3)");
    write<csr::mideleg>(0);
    rules none;
    none.must_zero = ones;
    rw<0x104>("sie (mideleg 0)", none, ones);
    rw<0x144>("sip (mideleg 0)", none, ones);
    check(read<csr::mie>() == 0 && (read<csr::mip>() & ip::supervisor) == 0,
          "mie and mip unchanged by those writes: %b", read<csr::mie>() == 0);

    const u64 delegated = ip::ssip::mask | ip::stip::mask | ip::seip::mask;
    write<csr::mideleg>(delegated);
    rules sie;
    sie.must_write = delegated;
    sie.must_zero = ~(delegated | ip::lcofip::mask);
    rw<0x104>("sie (mideleg SSI, STI, SEI)", sie, ones);
    rw<0x104>("sie (mideleg SSI, STI, SEI)", sie, 0);
    rules sip;
    sip.must_write = ip::ssip::mask;
    sip.must_zero = ~(delegated | ip::lcofip::mask);
    sip.keep = ip::stip::mask | ip::seip::mask;
    rw<0x144>("sip (mideleg SSI, STI, SEI)", sip, ones);
    rw<0x144>("sip (mideleg SSI, STI, SEI)", sip, 0);
    // sip.SSIP is mip.SSIP.
    set<csr::sip>(ip::ssip::mask);
    const bool through = (read<csr::mip>() & ip::ssip::mask) != 0;
    clear<csr::mip>(ip::ssip::mask);
    const bool back = (read<csr::sip>() & ip::ssip::mask) == 0;
    check(through && back, "sip.SSIP and mip.SSIP are one bit: %b", through && back);
    write<csr::mideleg>(0);
}

void supervisor_others() {
    section("stvec, scounteren, senvcfg, sscratch, sepc, scause, stval (priv. 4.1.2-4.1.10)");
    rules tvec;
    tvec.legal = tvec_legal;
    rw_patterns<0x105>("stvec", tvec);

    rules en;
    en.must_zero = bits(63, 32);
    en.deviation = qemu_deviating_bits(0x106, has('H'), g_sscofpmf);
    en.section = "4.1.5";
    rw_patterns<0x106>("scounteren", en);

    if (exists<0x10a>()) {
        rules env;
        env.must_zero = bits(3, 1) | bits(63, 8);
        rw_patterns<0x10a>("senvcfg", env);
    } else {
        absent_here("senvcfg");
    }

    rules all;
    all.must_write = ones;
    rw_patterns<0x140>("sscratch", all);

    rules epc;
    epc.must_zero = bit(0);
    epc.must_write = bits(55, 1);
    epc.deviation = qemu_deviating_bits(0x141, has('H'), g_sscofpmf);
    epc.section = "4.1.7";
    rw_patterns<0x141>("sepc", epc);

    rules cause;
    cause.legal = cause_exact;
    constexpr u64 legal_causes[] = {0x8000'0000'0000'0005, 0x8000'0000'0000'0001, 8, 13, 0};
    for (const u64 c : legal_causes) rw<0x142>("scause", cause, c);

    rules tval;
    tval.must_write = bits(31, 0);
    rw_patterns<0x143>("stval", tval);

    if (exists<0x14d>()) {
        note("stimecmp (Sstc) present");
        rw_patterns<0x14d>("stimecmp", all);
    } else {
        note("stimecmp (Sstc) absent");
    }
}

void supervisor_translation() {
    section("satp (priv. 4.1.11)");
    write<csr::satp>(0);
    check(read<csr::satp>() == 0, "satp <- 0 (Bare) reads %x", read<csr::satp>());
    struct mode_case {
        u64 mode;
        const char* name;
    };
    constexpr mode_case modes[] = {{8, "Sv39"}, {9, "Sv48"}, {10, "Sv57"}};
    for (const mode_case& m : modes) {
        const u64 v = (m.mode << 60) | 0x8'0123;
        write<csr::satp>(v);
        const u64 got = read<csr::satp>();
        // M-mode is not translated: this line is printed while satp holds the value.
        check(got == v || got == 0, "satp <- %x (%s) reads %x (the whole write or nothing)", v, m.name, got);
        write<csr::satp>(0);
    }
    write<csr::satp>((u64{8} << 60) | (u64{0xffff} << 44) | 0x8'0123);
    const u64 asid = vfm::riscv::satp::asid::extract(read<csr::satp>());
    write<csr::satp>(0);
    check(true, "satp.ASID <- 0xffff (Sv39) reads %h", asid);
    constexpr u64 reserved[] = {1, 7, 11, 15};
    for (const u64 mode : reserved) {
        const u64 v = (mode << 60) | 0x8'0123;
        write<csr::satp>(v);
        const u64 got = read<csr::satp>();
        write<csr::satp>(0);
        check(got == 0, "satp <- %x (reserved mode %u) has no effect: reads %x", v, mode, got);
    }
}

/// The supervisor CSRs do not exist without S-mode (priv. 4.1).
void supervisor_absent() {
    absent<0x100>("sstatus");
    absent<0x104>("sie");
    absent<0x105>("stvec");
    absent<0x140>("sscratch");
    absent<0x144>("sip");
    absent<0x180>("satp");
}

void unimplemented() {
    section("CSRs that do not exist on RV64 (priv. 2.2, 3.1.6, 3.1.10, 3.1.18, 3.7.1)");
    absent<0x310>("mstatush");
    absent<0x31a>("menvcfgh");
    absent<0x757>("mseccfgh");
    absent<0xb80>("mcycleh");
    absent<0xb82>("minstreth");
    absent<0xb83>("mhpmcounter3h");
    absent<0xc80>("cycleh");
    absent<0xc82>("instreth");
    absent<0x30b>("unallocated");
    absent<0x3ff>("unallocated");

    section("read-only user counters written from M-mode (priv. 2.1)");
    expect_illegal(csr_probe<0xc00>(csr_op::write, 0), csr_encoding(csr_op::write, 0xc00), "cycle csrrw a0,a1");
    expect_illegal(csr_probe<0xc01>(csr_op::write, 0), csr_encoding(csr_op::write, 0xc01), "time csrrw a0,a1");
    expect_illegal(csr_probe<0xc02>(csr_op::write, 0), csr_encoding(csr_op::write, 0xc02), "instret csrrw a0,a1");
    expect_illegal(csr_probe<0xc00>(csr_op::set, 1), csr_encoding(csr_op::set, 0xc00), "cycle csrrs a0,a1 (a1 = 1)");

    section("optional CSRs");
    // Extensions misa does not report may be absent under a monitor.
    optional<0x30c>("mstateen0", "Smstateen", false);
    optional<0x747>("mseccfg", "Smepmp", false);
    optional<0x7a0>("tselect", "Sdtrig", true);  // vM-mode has the hart's triggers (docs/triggers.md)
    optional<0xda0>("scountovf", "Sscofpmf", false);
    optional<0x7c0>("custom 0x7c0", "custom", false);
    optional<0x600>("hstatus", "H", true);
}

}  // namespace

void testfw::firmware_main() {
    // mip.MTIP must not depend on the timer's reset state here.
    set_mtimecmp(hartid(), ~u64{0});
    g_sscofpmf = exists<0xda0>();
    information_registers();
    machine_status();
    delegation_registers();
    interrupt_registers();
    trap_vector();
    counter_enables();
    trap_handling();
    machine_counters();
    physical_memory_protection();
    if (has('S')) {
        supervisor_status();
        supervisor_interrupts();
        supervisor_others();
        supervisor_translation();
    } else {
        section("supervisor CSRs (priv. 4.1)");
        absent_here("S-mode");
        supervisor_absent();
    }
    unimplemented();
}
