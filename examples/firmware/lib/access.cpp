// SPDX-License-Identifier: MIT
// Memory instructions as probes, assembled at run time (testfw/access.hpp).
#include "testfw/access.hpp"

#include <vfm/riscv/csr_fields.hpp>

namespace {

/// What lib/access.S reads and writes (offsets fixed there).
struct access_context {
    vfm::u64 address;   // 0
    vfm::u64 value;     // 8
    vfm::u64 status;    // 16
    vfm::u64 slot;      // 24
    vfm::u64 moves_sp;  // 32
    vfm::u64 first;     // 40: a0 before and after
    vfm::u64 second;    // 48: t3 before and after
};
static_assert(__builtin_offsetof(access_context, second) == 48);

}  // namespace

extern "C" void testfw_access_run(access_context* c) noexcept;

namespace testfw::access {

namespace ms = riscv::mstatus;

namespace {

/// The code slot: a whole page of its own, so that rewriting it invalidates
/// no other code and writing other data does not invalidate it (QEMU
/// tracks self-modifying code by page).
alignas(4096) u16 g_slot[2048];

/// Emits instructions into the slot, halfword by halfword.
class assembler {
  public:
    void emit32(u32 bits) noexcept {
        g_slot[m_count++] = static_cast<u16>(bits);
        g_slot[m_count++] = static_cast<u16>(bits >> 16);
    }
    void emit16(u16 bits) noexcept { g_slot[m_count++] = bits; }
    void emit(u32 bits, bool compressed) noexcept {
        if (compressed) {
            emit16(static_cast<u16>(bits));
            emit16(encode::c_nop);  // keep what follows 4-byte aligned
        } else {
            emit32(bits);
        }
    }
    [[nodiscard]] u64 here() const noexcept { return reinterpret_cast<u64>(&g_slot[m_count]); }

  private:
    unsigned m_count = 0;
};

// The trap handler while a sequence runs: records and skips its exceptions.
volatile bool g_active;
volatile unsigned g_traps;
testfw::access::trap g_seen[2];
bool g_record_h;
testfw::trap_handler g_previous;

bool on_trap(testfw::trap_frame& f) noexcept {
    const u64 slot = reinterpret_cast<u64>(g_slot);
    if (!g_active || f.is_interrupt() || f.epc < slot || f.epc >= slot + sizeof g_slot)
        return g_previous != nullptr && g_previous(f);
    const unsigned n = g_traps;
    if (n < 2) {
        testfw::access::trap& t = g_seen[n];
        t.cause = f.cause;
        t.epc = f.epc;
        t.tval = f.tval;
        t.status = f.status;
        t.tval2 = g_record_h ? testfw::read<testfw::csr::mtval2>() : 0;
        t.tinst = g_record_h ? testfw::read<testfw::csr::mtinst>() : 0;
    }
    g_traps = n + 1;
    testfw::skip_instruction(f);
    return true;
}

op make(const char* name, kind what, unsigned width, u32 bits) noexcept {
    op o;
    o.name = name;
    o.what = what;
    o.width = static_cast<u8>(width);
    o.bits = bits;
    return o;
}

const char* pick(unsigned width, const char* b, const char* h, const char* w, const char* d) noexcept {
    return width == 1 ? b : width == 2 ? h : width == 4 ? w : d;
}

}  // namespace

op load(unsigned width, bool sign) noexcept {
    const char* name = sign ? pick(width, "lb", "lh", "lw", "ld") : pick(width, "lbu", "lhu", "lwu", "ld");
    op o = make(name, kind::load, width, encode::load(width, sign || width == 8, reg_a0, reg_a1));
    o.sign_extends = sign || width == 8;
    return o;
}

op store(unsigned width) noexcept {
    return make(pick(width, "sb", "sh", "sw", "sd"), kind::store, width, encode::store(width, reg_a1, reg_a2));
}

op amo(amo_fn f, unsigned width) noexcept {
    const char* name = "amo?";
    switch (f) {
        case amo_fn::add: name = width == 8 ? "amoadd.d" : "amoadd.w"; break;
        case amo_fn::swap: name = width == 8 ? "amoswap.d" : "amoswap.w"; break;
        case amo_fn::xor_: name = width == 8 ? "amoxor.d" : "amoxor.w"; break;
        case amo_fn::or_: name = width == 8 ? "amoor.d" : "amoor.w"; break;
        case amo_fn::and_: name = width == 8 ? "amoand.d" : "amoand.w"; break;
        case amo_fn::min: name = width == 8 ? "amomin.d" : "amomin.w"; break;
        case amo_fn::max: name = width == 8 ? "amomax.d" : "amomax.w"; break;
        case amo_fn::minu: name = width == 8 ? "amominu.d" : "amominu.w"; break;
        case amo_fn::maxu: name = width == 8 ? "amomaxu.d" : "amomaxu.w"; break;
        default: break;
    }
    op o = make(name, kind::amo, width, encode::amo(f, width, reg_a0, reg_a1, reg_a2));
    o.function = f;
    return o;
}

op lr(unsigned width) noexcept {
    return make(width == 8 ? "lr.d" : "lr.w", kind::lr, width, encode::amo(amo_fn::lr, width, reg_a0, reg_a1, 0));
}

op sc(unsigned width) noexcept {
    return make(width == 8 ? "sc.d" : "sc.w", kind::sc, width, encode::amo(amo_fn::sc, width, reg_a0, reg_a1, reg_a2));
}

op lr_sc(unsigned width) noexcept {
    // The lr; the sc follows it in the slot (run()).
    return make(width == 8 ? "lr.d+sc.d" : "lr.w+sc.w", kind::lr_sc, width,
                encode::amo(amo_fn::lr, width, reg_a0, reg_a1, 0));
}

op fp_load(unsigned width) noexcept {
    op o = make(width == 8 ? "fld" : "flw", kind::load, width, encode::fp_load(width, reg_fa0, reg_a1));
    o.fp = true;
    return o;
}

op fp_store(unsigned width) noexcept {
    op o = make(width == 8 ? "fsd" : "fsw", kind::store, width, encode::fp_store(width, reg_a1, reg_fa0));
    o.fp = true;
    return o;
}

// Compressed forms (unpriv. 16.3): rd'/rs2' = a0 (x10, 3-bit 2) or a2 (x12, 4),
// rs1' = a1 (x11, 3), offset 0.
op c_load(unsigned width) noexcept {
    op o = make(width == 8 ? "c.ld" : "c.lw", kind::load, width, width == 8 ? 0x6188u : 0x4188u);
    o.compressed = true;
    return o;
}
op c_store(unsigned width) noexcept {
    op o = make(width == 8 ? "c.sd" : "c.sw", kind::store, width, width == 8 ? 0xe190u : 0xc190u);
    o.compressed = true;
    return o;
}
op c_ldsp() noexcept {
    op o = make("c.ldsp", kind::load, 8, 0x6502);  // c.ldsp a0, 0(sp)
    o.compressed = o.sp_based = true;
    return o;
}
op c_sdsp() noexcept {
    op o = make("c.sdsp", kind::store, 8, 0xe032);  // c.sdsp a2, 0(sp)
    o.compressed = o.sp_based = true;
    return o;
}
op c_fld() noexcept {
    op o = make("c.fld", kind::load, 8, 0x2188);  // c.fld fa0, 0(a1)
    o.compressed = o.fp = true;
    return o;
}
op c_fsd() noexcept {
    op o = make("c.fsd", kind::store, 8, 0xa188);  // c.fsd fa0, 0(a1)
    o.compressed = o.fp = true;
    return o;
}
op c_fldsp() noexcept {
    op o = make("c.fldsp", kind::load, 8, 0x2502);  // c.fldsp fa0, 0(sp)
    o.compressed = o.fp = o.sp_based = true;
    return o;
}
op c_fsdsp() noexcept {
    op o = make("c.fsdsp", kind::store, 8, 0xa02a);  // c.fsdsp fa0, 0(sp)
    o.compressed = o.fp = o.sp_based = true;
    return o;
}

op hlv(unsigned width, bool sign) noexcept {
    const bool s = sign || width == 8;
    const char* name = s ? pick(width, "hlv.b", "hlv.h", "hlv.w", "hlv.d") : pick(width, "hlv.bu", "hlv.hu", "hlv.wu", "hlv.d");
    op o = make(name, kind::load, width, encode::hlv(width, s ? 0 : 1, reg_a0, reg_a1));
    o.sign_extends = s;
    o.hypervisor = true;
    return o;
}

op hlvx(unsigned width) noexcept {
    op o = make(width == 2 ? "hlvx.hu" : "hlvx.wu", kind::load, width, encode::hlv(width, 3, reg_a0, reg_a1));
    o.sign_extends = false;
    o.hypervisor = true;
    o.execute = true;
    return o;
}

op hsv(unsigned width) noexcept {
    op o = make(pick(width, "hsv.b", "hsv.h", "hsv.w", "hsv.d"), kind::store, width, encode::hsv(width, reg_a1, reg_a2));
    o.hypervisor = true;
    return o;
}

u64 mprv_status(unsigned mpp, bool sum, bool mxr, bool mpv) noexcept {
    u64 s = read<csr::mstatus>();
    s = ms::mpp::insert(s, mpp);
    s = ms::mprv::insert(s, 1);
    s = ms::sum::insert(s, sum ? 1 : 0);
    s = ms::mxr::insert(s, mxr ? 1 : 0);
    s = ms::mpv::insert(s, mpv ? 1 : 0);
    return s;
}

u64 plain_status(bool sum, bool mxr) noexcept {
    u64 s = read<csr::mstatus>();
    s = ms::mprv::insert(s, 0);
    s = ms::sum::insert(s, sum ? 1 : 0);
    s = ms::mxr::insert(s, mxr ? 1 : 0);
    return s;
}

void enable_fp() noexcept {
    if (ms::fs::extract(read<csr::mstatus>()) == 0) set<csr::mstatus>(ms::fs::make(1));
}

result run(const op& o, u64 address, u64 value, u64 status, preamble pre) noexcept {
    assembler a;
    if (o.sp_based) {
        a.emit32(encode::mv(6, reg_sp));      // mv t1, sp
        a.emit32(encode::mv(reg_sp, reg_a1));  // mv sp, a1
    }
    if (o.fp) {
        // fa0 starts as the sentinel (a load that traps leaves it), or holds the value to store.
        a.emit32(encode::fmv_f_x(8, reg_fa0, o.what == kind::store ? reg_a2 : reg_a0));
        if (o.what == kind::store && o.width == 4) a.emit32(encode::fmv_f_x(4, reg_fa0, reg_a2));
    }
    if (pre == preamble::csr_accesses) {
        // Each traps under a monitor and leaves its own bits in mtval.
        a.emit32(encode::csrr(29, static_cast<u32>(csr::mscratch)));  // csrr t4, mscratch
        a.emit32(encode::csrw(static_cast<u32>(csr::mscratch), 29));  // csrw mscratch, t4
        a.emit32(encode::csrr(30, static_cast<u32>(csr::mstatus)));   // csrr t5, mstatus
    }
    const u64 site = a.here();
    a.emit(o.bits, o.compressed);
    if (o.what == kind::lr_sc)
        a.emit32(encode::amo(amo_fn::sc, o.width, reg_t3, reg_a1, reg_a2));  // sc t3, a2, (a1)
    if (o.sp_based) a.emit32(encode::mv(reg_sp, 6));  // mv sp, t1
    if (o.fp && o.what == kind::load) a.emit32(encode::fmv_x_f(o.width, reg_a0, reg_fa0));
    a.emit32(encode::ret);
    asm volatile("fence.i" ::: "memory");

    access_context c{address, value, status, reinterpret_cast<u64>(g_slot), o.sp_based ? 1u : 0u, probe_sentinel,
                     second_sentinel};
    g_record_h = has_h();
    g_previous = self().m_handler;
    set_m_handler(on_trap);
    g_traps = 0;
    g_seen[0] = {};
    g_seen[1] = {};
    g_active = true;
    barrier();
    testfw_access_run(&c);
    barrier();
    g_active = false;
    set_m_handler(g_previous);
    result r;
    r.traps = g_traps;
    r.first = g_seen[0];
    r.second_trap = g_seen[1];
    r.site = site;
    r.value = c.first;
    r.second = c.second;
    return r;
}

bool has_h() noexcept { return (read<csr::misa>() & (u64{1} << ('h' - 'a'))) != 0; }

}  // namespace testfw::access
