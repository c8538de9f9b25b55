// SPDX-License-Identifier: MIT
// difftest: an interpreter of random programs (docs/difftest.md).
//
// The driver (tools/vfmtool/difftest.py) generates programs from a seed and
// loads them at DT_BLOB. Each program resets the machine, fills the memory
// arena (page tables, data), then runs its steps: one or two instructions in
// M, S or U-mode, an mret or sret with chosen mstatus fields, or an SBI-like
// call from S-mode with every register random. After each step the
// interpreter reads the architectural state (registers, the trap that ended
// the step, every CSR, the arena) into a digest, and prints one line per
// program; in verbose mode it prints the state itself. The same programs run
// natively and under the monitor must print the same lines.
//
// A step cannot break the interpreter: CSR writes are shaped first (the
// table of QEMU 7.2's deviations, and the few registers the interpreter
// lives on: mtvec/stvec bases, mscratch, satp's root, ecall delegation).
#include <testfw/testfw.hpp>
#include <vfm/riscv/cause.hpp>

#include "difftest.h"

using namespace testfw;

const char* const testfw::firmware_name = "difftest";
const char* const testfw::firmware_purpose = "random programs from ./vfm difftest, one digest per program";

namespace {

// ---- the context shared with difftest.S ---------------------------------------

struct frame {
    u64 x[32];
    u64 epc, status, cause, tval, vector, padding;
};
static_assert(__builtin_offsetof(frame, epc) == DT_FRAME_EPC);
static_assert(__builtin_offsetof(frame, vector) == DT_FRAME_VECTOR);
static_assert(sizeof(frame) == DT_FRAME_SIZE);

}  // namespace

struct dt_context_t {
    u64 host[16];
    u64 in[32];
    u64 out[32];
    u64 mstatus_out;
    u64 end;
};
static_assert(__builtin_offsetof(dt_context_t, in) == DT_IN(0));
static_assert(__builtin_offsetof(dt_context_t, out) == DT_OUT(0));
static_assert(__builtin_offsetof(dt_context_t, mstatus_out) == DT_MSTATUS_OUT);
static_assert(__builtin_offsetof(dt_context_t, end) == DT_END);
static_assert(sizeof(dt_context_t) == DT_CONTEXT_SIZE);

extern "C" {
dt_context_t dt_context;
void dt_run_m();
void dt_run_lower();
u64 dt_exec(u64 a0, u64 a1);
extern char dt_csr_readers[];
extern char dt_csr_writers[];
u64 dt_m_trap(frame& f);
extern u32 dt_exec_slot[];
extern u32 dt_m_slots[];
extern u32 dt_s_slots[];
extern u32 dt_u_slots[];
extern char dt_m_vectors[], dt_m_landing[], dt_m_buffer[];
extern char dt_s_vectors[], dt_s_exit[], dt_s_handler_exit[], dt_s_data[];
extern char dt_u_exit[], dt_u_page[], dt_block[];
extern char dt_trap_stack_top[];
}

namespace {

namespace ms = vfm::riscv::mstatus;

template <class T>
u64 addr(T* p) noexcept {
    return reinterpret_cast<u64>(p);
}

// ---- the program format (written by tools/vfmtool/difftest.py) ---------------

constexpr u32 blob_magic = 0x31544456;     // "VDT1"
constexpr u32 program_magic = 0x31475250;  // "PRG1"

struct blob_header {
    u32 magic, count, flags, reserved;
    u64 reserved2[2];
};
struct program_header {
    u32 magic, id, steps, pokes;
    u64 seed;
};
struct poke {
    u64 offset, value;
};
enum class step_kind : u8 { insn = 0, mret = 1, sret = 2, sbi = 3 };
struct step {
    step_kind kind;
    u8 mode;  ///< 0 U, 1 S, 3 M
    u8 flags, reserved[5];
    u32 insn[2];
    u64 a[6];    ///< a0..a5
    u64 aux[2];  ///< mret/sret: mstatus fields; sbi: seeds of the registers and the S CSRs
};
static_assert(sizeof(step) == 80);
constexpr u32 verbose_flag = 1;

// ---- the state the interpreter keeps --------------------------------------------

struct interpreter {
    bool has_h = false;
    bool verbose = false;
    u32 program_id = 0;
    u32 step_index = 0;
    step_kind kind = step_kind::insn;
    // a trap while probing: skipped, remembered
    volatile bool probing = false;
    volatile bool probe_trapped = false;
    volatile bool in_step = false;  ///< between the way into a step and its end
    // the step's SBI call as the firmware saw it
    bool sbi_done = false;
    u64 sbi_seen[32] = {};
    // the trap that ended the step
    u64 trap_cause = 0, trap_epc = 0, trap_tval = 0, trap_status = 0, trap_vector = 0;
    u64 trap_tval2 = 0, trap_tinst = 0;
    // the program's mstatus.MIE and MPRV while the interpreter runs with both clear
    u64 program_bits = 0;
    u32 insn[2] = {};  ///< the step's instructions as they ran
    bool arena_may_change = true;  ///< the step may have written the arena or set A/D bits
    u64 arena_hash = 0;
    u64 digest = 0;
    u64 program_digest = 0;
};
interpreter dt;

constexpr u64 mie_bit = u64{1} << 3;
constexpr u64 mprv_bit = u64{1} << 17;
constexpr u64 fnv_prime = 0x100000001b3;

void mix(u64& h, u64 v) noexcept {
    for (int i = 0; i < 8; ++i) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= fnv_prime;
    }
}

u64 splitmix(u64& state) noexcept {
    u64 z = (state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
}

void fence_i() noexcept { asm volatile("fence.i" ::: "memory"); }

// ---- CSR access by a number known at run time ---------------------------------------

constexpr u32 csr_insn(u32 funct3, u32 rd, u32 rs1, u32 csr) noexcept {
    return 0x73 | (rd << 7) | (funct3 << 12) | (rs1 << 15) | (csr << 20);
}

struct probe_result {
    bool trapped;
    u64 value;
};

probe_result exec_probe(u32 insn, u64 a1) noexcept {
    dt_exec_slot[0] = insn;
    fence_i();
    dt.probe_trapped = false;
    dt.probing = true;
    const u64 v = dt_exec(0, a1);
    dt.probing = false;
    return {dt.probe_trapped, dt.probe_trapped ? 0 : v};
}
/// The index of `csr` among the dump's CSRs (their readers and writers need
/// no code written), or -1.
int dump_index(u32 csr) noexcept;
probe_result call_fixed(const char* table, u32 index, u64 value) noexcept;

probe_result csr_read(u32 csr) noexcept {
    const int i = dump_index(csr);
    if (i >= 0) return call_fixed(dt_csr_readers, static_cast<u32>(i), 0);
    return exec_probe(csr_insn(2, 10, 0, csr), 0);
}

/// Reads dump CSR `index` with its own reader (difftest.S): no code is written.
probe_result csr_read_fixed(u32 index) noexcept;
probe_result csr_write(u32 csr, u64 v) noexcept {
    const int i = dump_index(csr);
    if (i >= 0) return call_fixed(dt_csr_writers, static_cast<u32>(i), v);
    return exec_probe(csr_insn(1, 10, 11, csr), v);
}

/// csr_read, with the trap CSRs (and mstatus.MPP/MPIE) as they were when the
/// read traps: the program must not see the interpreter's probe.
probe_result csr_read_keeping_trap_csrs(u32 csr) noexcept {
    u64 epc, cause, tval, status;
    asm volatile("csrr %0, mepc\n csrr %1, mcause\n csrr %2, mtval\n csrr %3, mstatus"
                 : "=r"(epc), "=r"(cause), "=r"(tval), "=r"(status));
    u64 tinst = 0, tval2 = 0;
    if (dt.has_h) asm volatile("csrr %0, 0x34a\n csrr %1, 0x34b" : "=r"(tinst), "=r"(tval2));
    const probe_result r = csr_read(csr);
    if (r.trapped) {
        asm volatile("csrw mepc, %0\n csrw mcause, %1\n csrw mtval, %2\n csrw mstatus, %3" ::"r"(epc), "r"(cause),
                     "r"(tval), "r"(status));
        if (dt.has_h) asm volatile("csrw 0x34a, %0\n csrw 0x34b, %1" ::"r"(tinst), "r"(tval2));
    }
    return r;
}

// ---- CSR numbers ---------------------------------------------------------------------

enum : u32 {
    c_fcsr = 0x003,
    c_sstatus = 0x100, c_sie = 0x104, c_stvec = 0x105, c_scounteren = 0x106, c_senvcfg = 0x10a,
    c_sscratch = 0x140, c_sepc = 0x141, c_scause = 0x142, c_stval = 0x143, c_sip = 0x144,
    c_stimecmp = 0x14d, c_satp = 0x180,
    c_vsstatus = 0x200, c_vsie = 0x204, c_vstvec = 0x205, c_vsscratch = 0x240, c_vsepc = 0x241,
    c_vscause = 0x242, c_vstval = 0x243, c_vsip = 0x244, c_vstimecmp = 0x24d, c_vsatp = 0x280,
    c_mstatus = 0x300, c_misa = 0x301, c_medeleg = 0x302, c_mideleg = 0x303, c_mie = 0x304,
    c_mtvec = 0x305, c_mcounteren = 0x306, c_menvcfg = 0x30a, c_mcountinhibit = 0x320,
    c_mhpmevent3 = 0x323, c_mscratch = 0x340, c_mepc = 0x341, c_mcause = 0x342, c_mtval = 0x343,
    c_mip = 0x344, c_mtinst = 0x34a, c_mtval2 = 0x34b,
    c_pmpcfg0 = 0x3a0, c_pmpcfg2 = 0x3a2, c_pmpaddr0 = 0x3b0,
    c_hstatus = 0x600, c_hedeleg = 0x602, c_hideleg = 0x603, c_hie = 0x604, c_htimedelta = 0x605,
    c_hcounteren = 0x606, c_hgeie = 0x607, c_henvcfg = 0x60a, c_htval = 0x643, c_hip = 0x644,
    c_hvip = 0x645, c_htinst = 0x64a, c_hgatp = 0x680,
    c_mhpmcounter3 = 0xb03, c_hgeip = 0xe12,
    c_mvendorid = 0xf11, c_marchid = 0xf12, c_mimpid = 0xf13, c_mhartid = 0xf14, c_mconfigptr = 0xf15,
};

struct named_csr {
    u16 number;
    const char* name;
};

// Every CSR the dump reads (difftest.h), each with its reader in difftest.S:
// no code is written while the state is read.
#define DT_NAMED_CSR(number, name) {number, #name},
constexpr named_csr dump_csrs[] = {DT_DUMP_CSRS(DT_NAMED_CSR)};
#undef DT_NAMED_CSR

probe_result call_fixed(const char* table, u32 index, u64 value) noexcept {
    using accessor = u64 (*)(u64);
    const auto access = reinterpret_cast<accessor>(const_cast<char*>(table) + 8 * index);
    dt.probe_trapped = false;
    dt.probing = true;
    const u64 v = access(value);
    dt.probing = false;
    return {dt.probe_trapped, dt.probe_trapped ? 0 : v};
}

probe_result csr_read_fixed(u32 index) noexcept { return call_fixed(dt_csr_readers, index, 0); }

int dump_index(u32 csr) noexcept {
    int i = 0;
    for (const named_csr& c : dump_csrs) {
        if (c.number == csr) return i;
        ++i;
    }
    return -1;
}

// ---- shaping a CSR write (the deviation table, docs/difftest.md) -------------------

constexpr u64 bit(unsigned n) noexcept { return u64{1} << n; }
constexpr u64 bits(unsigned hi, unsigned lo) noexcept {
    return (hi == 63 ? ~u64{0} : (bit(hi + 1) - 1)) & ~(bit(lo) - 1);
}
constexpr u64 keep_field(u64 old_value, u64 new_value, u64 mask) noexcept {
    return (new_value & ~mask) | (old_value & mask);
}

/// sstatus's fields (priv. 4.1.1): SIE, SPIE, UBE, SPP, VS, FS, XS, SUM, MXR, UXL, SD.
constexpr u64 sstatus_bits = bit(1) | bit(5) | bit(6) | bit(8) | bits(10, 9) | bits(14, 13) | bits(16, 15) | bit(18) |
                             bit(19) | bits(33, 32) | bit(63);

u64 napot(u64 base, u64 size) noexcept { return (base >> 2) | ((size >> 3) - 1); }
u64 block_napot() noexcept { return napot(addr(dt_block), 8192); }
constexpr u64 napot_everything = bits(53, 0);
constexpr u64 pmp_rwx_napot = 0x1f;  // A = NAPOT, X, W, R
constexpr u64 pmp_rw_napot = 0x1b;   // A = NAPOT, W, R

/// A PMP configuration byte the interpreter accepts: never locked, no
/// reserved bits, no W without R; entries 0 and 1 (the lower modes' code, the
/// page tables) and 15 (the background) keep their value.
u64 shape_pmpcfg(unsigned first_entry, u64 old_value, u64 new_value) noexcept {
    u64 out = 0;
    for (unsigned i = 0; i < 8; ++i) {
        const unsigned entry = first_entry + i;
        u64 b = (new_value >> (8 * i)) & 0xff;
        if (entry <= 1 || entry == 15) b = (old_value >> (8 * i)) & 0xff;
        else {
            b &= ~u64{0x80};                   // never locked: a lock lasts until reset
            if ((b & 3) == 2) b &= ~u64{2};    // W without R is reserved (the table)
        }
        out |= b << (8 * i);
    }
    return out;
}

/// The value a write of `new_value` may make: the same value, or the old
/// value in the fields the interpreter or a known QEMU deviation needs kept.
u64 shape_write(u32 csr, u64 old_value, u64 new_value) noexcept {
    // The table's fields where QEMU keeps what the spec does not (deviations.hpp);
    // Sscofpmf is taken as absent, the wider set.
    new_value = keep_field(old_value, new_value, qemu_deviating_bits(static_cast<u16>(csr), dt.has_h, false));
    switch (csr) {
        case c_mstatus: {
            // UXL and SXL (the table's reserved UXL = 3), the endianness bits
            // (the interpreter's own loads and stores), MPP = 2 (the table).
            u64 v = keep_field(old_value, new_value, bits(37, 32) | bit(6));
            if (ms::mpp::extract(v) == 2) v = keep_field(old_value, v, ms::mpp::mask);
            return v;
        }
        case c_sstatus: return keep_field(old_value, new_value, bits(33, 32) | bit(6));  // UXL, UBE
        // The table: vsstatus keeps what sstatus would not (bit 17 reaches MPRV).
        case c_vsstatus: return keep_field(old_value, new_value, bits(33, 32) | bit(6) | ~sstatus_bits);
        case c_hstatus: return keep_field(old_value, new_value, bits(33, 32) | bit(5));   // VSXL, VSBE
        case c_vsepc: return new_value & ~u64{1};  // as sepc's (the table)
        case c_mtvec:
        case c_stvec: {
            const u64 mode = (new_value & 3) < 2 ? new_value & 3 : old_value & 3;
            return (old_value & ~u64{3}) | mode;
        }
        case c_mscratch: return old_value;  // the trap stack
        // ecall from S and VS never delegated: the interpreter's way back to M.
        case c_medeleg: return new_value & ~(bit(9) | bit(10));
        case c_hedeleg:
        case c_hideleg:
        case c_hgatp: return old_value;
        // The views of mie/mip and mideleg carry the same departures.
        case c_sie:
        case c_hie:
        case c_vsie: return keep_field(old_value, new_value, qemu_deviating_bits(c_mie, dt.has_h, false));
        case c_mip:
            // The table: QEMU 7.2 takes no interrupt for a software-written SEIP.
            return keep_field(old_value, new_value, bit(9));
        case c_sip:
        case c_hip:
        case c_hvip:
        case c_vsip: return keep_field(old_value, new_value, qemu_deviating_bits(c_mip, dt.has_h, false));
        case c_hcounteren: return keep_field(old_value, new_value, qemu_deviating_bits(c_mcounteren, true, false));
        case c_pmpcfg0: return shape_pmpcfg(0, old_value, new_value);
        case c_pmpcfg2: return shape_pmpcfg(8, old_value, new_value);
        case c_satp:
        case c_vsatp: {
            const u64 mode = new_value >> 60;
            // The table: QEMU 7.2 calls an HLV/HSV's VS-stage page fault an access
            // fault, and a reserved MODE aborts it; the VS-stage stays Bare.
            if (csr == c_vsatp && mode != 0) return old_value;
            if (mode == 8) return (new_value & ~bits(43, 0)) | ((DT_ARENA >> 12) + DT_SV39_ROOT_PAGE);
            if (mode == 9) return (new_value & ~bits(43, 0)) | ((DT_ARENA >> 12) + DT_SV48_ROOT_PAGE);
            if (mode == 10) return old_value;  // no Sv57 tables
            return new_value;
        }
        default: break;
    }
    if (csr >= c_pmpaddr0 && csr < c_pmpaddr0 + 16) {
        const u32 entry = csr - c_pmpaddr0;
        if (entry <= 1 || entry == 15) return old_value;  // as shape_pmpcfg
        if ((new_value & bits(53, 0)) == 0) return new_value | 1;  // the table: TOR's top 0 wraps in QEMU
    }
    return new_value;
}

/// Shapes a CSR instruction of the step before it runs: when the write it
/// would make differs from the shaped one, it becomes `csrrw rd, csr, a5`
/// with a5 holding the shaped value (a5 is the generator's spare).
void shape_csr_instruction(u32& insn, bool in_m) noexcept {
    if ((insn & 0x7f) != 0x73) return;
    const u32 funct3 = (insn >> 12) & 7;
    if (funct3 == 0 || funct3 == 4) return;
    const u32 csr = insn >> 20;
    const u32 rd = (insn >> 7) & 31;
    const u32 rs1 = (insn >> 15) & 31;
    const bool immediate = (funct3 & 4) != 0;
    const u32 op = funct3 & 3;  // 1 write, 2 set, 3 clear
    if (op != 1 && rs1 == 0) return;  // no write
    const probe_result old_value = csr_read_keeping_trap_csrs(csr);
    if (old_value.trapped) return;  // the CSR is missing: the step traps
    u64 old_bits = old_value.value;
    if (csr == c_mstatus) old_bits |= dt.program_bits;
    if (csr == c_sstatus) old_bits |= dt.program_bits & ~mprv_bit & ~mie_bit;
    if (csr == c_mscratch && !in_m) return;  // traps below M
    const u64 operand = immediate ? rs1 : dt_context.in[rs1];
    const u64 written = op == 1 ? operand : op == 2 ? (old_bits | operand) : (old_bits & ~operand);
    const u64 shaped = shape_write(csr, old_bits, written);
    if (shaped == written) return;
    insn = csr_insn(1, rd, 15, csr);
    dt_context.in[15] = shaped;
}

// ---- the machine between programs ------------------------------------------------

void write_csr(u32 csr, u64 v) noexcept { (void)csr_write(csr, v); }

void write_m_status(u64 v) noexcept {
    dt.program_bits = v & (mie_bit | mprv_bit);
    write_csr(c_mstatus, v & ~(mie_bit | mprv_bit));
}

void reset_floating_point() noexcept {
    const u64 fs = u64{1} << 13;
    write_csr(c_mstatus, (csr_read(c_mstatus).value & ~bits(14, 13)) | fs);
    // fmv.d.x f0..f31, zero as words: the firmware is built without F and D.
    asm volatile(
        ".word 0xf2000053\n .word 0xf20000d3\n .word 0xf2000153\n .word 0xf20001d3\n"
        ".word 0xf2000253\n .word 0xf20002d3\n .word 0xf2000353\n .word 0xf20003d3\n"
        ".word 0xf2000453\n .word 0xf20004d3\n .word 0xf2000553\n .word 0xf20005d3\n"
        ".word 0xf2000653\n .word 0xf20006d3\n .word 0xf2000753\n .word 0xf20007d3\n"
        ".word 0xf2000853\n .word 0xf20008d3\n .word 0xf2000953\n .word 0xf20009d3\n"
        ".word 0xf2000a53\n .word 0xf2000ad3\n .word 0xf2000b53\n .word 0xf2000bd3\n"
        ".word 0xf2000c53\n .word 0xf2000cd3\n .word 0xf2000d53\n .word 0xf2000dd3\n"
        ".word 0xf2000e53\n .word 0xf2000ed3\n .word 0xf2000f53\n .word 0xf2000fd3\n"
        "csrw fcsr, zero\n" ::: "memory");
}

void reset_machine(const program_header& p) noexcept {
    reset_floating_point();
    const u64 xl = csr_read(c_mstatus).value & bits(35, 32);
    write_m_status(xl);
    static constexpr u32 zeroed[] = {c_medeleg, c_mideleg, c_mie, c_mip, c_mcounteren, c_menvcfg,
                                     c_mcountinhibit, c_mhpmevent3, c_mhpmcounter3, c_satp, c_sscratch, c_sepc,
                                     c_scause, c_stval, c_scounteren, c_senvcfg};
    for (u32 c : zeroed) write_csr(c, 0);
    write_csr(c_mtvec, addr(dt_m_vectors));
    write_csr(c_mscratch, addr(dt_trap_stack_top));
    write_csr(c_stvec, addr(dt_s_vectors));
    write_csr(c_stimecmp, ~u64{0});
    if (dt.has_h) {
        static constexpr u32 zeroed_h[] = {c_hedeleg, c_hideleg, c_hie, c_hcounteren, c_hgeie, c_henvcfg,
                                           c_htval, c_hvip, c_htinst, c_hgatp, c_htimedelta, c_vsie, c_vstvec,
                                           c_vsscratch, c_vsepc, c_vscause, c_vstval, c_vsatp};
        for (u32 c : zeroed_h) write_csr(c, 0);
        write_csr(c_hstatus, csr_read(c_hstatus).value & bits(33, 32));
        write_csr(c_vsstatus, csr_read(c_vsstatus).value & bits(33, 32));
        write_csr(c_vstimecmp, ~u64{0});
    }
    // PMP: entry 0 gives the lower modes the interpreter's pages, entry 1 the
    // page tables (a walk the PMP denies would leave the S-mode handler
    // unreachable), entry 15 everything (the background); 2-14 are the
    // program's. Tops above 0: a TOR entry with pmpaddr 0 matches everything
    // in QEMU 7.2 (the table).
    for (u32 i = 2; i < 15; ++i) write_csr(c_pmpaddr0 + i, (DT_ARENA >> 2) + i * 0x400);
    write_csr(c_pmpcfg0, pmp_rwx_napot | (pmp_rw_napot << 8));
    write_csr(c_pmpcfg2, pmp_rwx_napot << 56);
    write_csr(c_pmpaddr0, block_napot());
    write_csr(c_pmpaddr0 + 1, napot(DT_ARENA, 8 * 4096));
    write_csr(c_pmpaddr0 + 15, napot_everything);
    // CLINT: no software interrupt, the timer far away.
    mmio::write<u32>(platform::msip(0), 0);
    mmio::write<u64>(platform::mtimecmp(0), ~u64{0});
    // The arena: page-table pages (named by the pokes) start at zero, the rest
    // holds a pattern of the program's seed.
    // Doublewords here (the program's PMP entries are off again), words
    // after a step: an access that only partly matches a PMP entry fails
    // even in M-mode (priv. 3.7.1), and a program's NA4 entry may be there.
    auto* arena64 = reinterpret_cast<volatile u64*>(DT_ARENA);
    for (u32 i = 0; i < 8 * 512; ++i) arena64[i] = 0;  // pages 0-7: page tables
    u64 pattern = p.seed;
    for (u32 i = 8 * 512; i < DT_ARENA_PAGES * 512; ++i) arena64[i] = pattern += 0x9e37'79b9'7f4a'7c15;
    auto* arena = reinterpret_cast<volatile u32*>(DT_ARENA);
    const auto* pokes = reinterpret_cast<const poke*>(&p + 1);
    for (u32 i = 0; i < p.pokes; ++i) {
        if (pokes[i].offset >= DT_ARENA_PAGES * 4096 || pokes[i].offset % 8 != 0) continue;
        arena[pokes[i].offset / 4] = static_cast<u32>(pokes[i].value);
        arena[pokes[i].offset / 4 + 1] = static_cast<u32>(pokes[i].value >> 32);
    }
    asm volatile("sfence.vma" ::: "memory");
    // Last, as a probe of a missing CSR above is a trap that changes them.
    write_m_status(xl);
    write_csr(c_mepc, 0);
    write_csr(c_mcause, 0);
    write_csr(c_mtval, 0);
    if (dt.has_h) {
        write_csr(c_mtinst, 0);
        write_csr(c_mtval2, 0);
    }
}

// ---- one step ---------------------------------------------------------------------

constexpr u32 nop = 0x13;
constexpr u32 mret_insn = 0x30200073;
constexpr u32 sret_insn = 0x10200073;
constexpr u32 ecall_insn = 0x73;
constexpr u32 wfi_insn = 0x10500073;

u32* slots_of(u8 mode) noexcept {
    return mode == 3 ? dt_m_slots : mode == 1 ? dt_s_slots : dt_u_slots;
}

u64 landing_of(u64 mode) noexcept {
    return mode == 3 ? addr(dt_m_landing) : mode == 1 ? addr(dt_s_exit) : addr(dt_u_exit);
}

/// The registers of a step: a0..a5 from the program, the others fixed,
/// gp the S data page (the S-mode handler's base).
void set_registers(const step& s) noexcept {
    for (u32 i = 1; i < 32; ++i) dt_context.in[i] = 0xd1ff'0000'0000'0000 | (u64{i} << 8) | i;
    for (u32 i = 0; i < 6; ++i) dt_context.in[10 + i] = s.a[i];
    if (s.kind == step_kind::sbi) {
        u64 state = s.aux[0];
        for (u32 i = 1; i < 32; ++i) dt_context.in[i] = splitmix(state);
    }
    dt_context.in[3] = addr(dt_s_data);
}

/// wfi with nothing to wake it waits for ever, natively as under a monitor:
/// such a step runs a nop instead.
bool wfi_would_wait(u8 mode) noexcept {
    if (mode == 0) return false;  // illegal in U-mode (S-mode exists)
    const u64 status = csr_read(c_mstatus).value;
    if (mode == 1 && ms::tw::extract(status)) return false;
    return (csr_read(c_mip).value & csr_read(c_mie).value) == 0;
}

void enter_lower(u64 mode, u64 entry) noexcept {
    u64 status = csr_read(c_mstatus).value & ~(ms::mpp::mask | mprv_bit);
    if (dt.has_h) status &= ~bit(39);  // MPV
    write_csr(c_mstatus, status | ms::mpp::make(mode));
    write_csr(c_mepc, entry);
    dt.program_bits &= ~mprv_bit;  // MPRV with MPP below M is cleared by the mret (priv. 3.1.6.3)
    dt_run_lower();
}

bool touches_memory(u32 insn) noexcept {
    switch (insn & 0x7f) {
        case 0x03: case 0x07: case 0x23: case 0x27: case 0x2f: return true;  // loads, stores, AMOs (and FP)
        case 0x73: return ((insn >> 12) & 7) == 4;                              // HLV, HLVX, HSV
        default: return false;
    }
}

/// The interrupt the spec takes first among `set` (priv. 3.1.9's order,
/// vfm::riscv::interrupt_priority), as a bit.
u64 spec_first(u64 set) noexcept {
    for (unsigned code : vfm::riscv::interrupt_priority)
        if (set & bit(code)) return bit(code);
    return set & (~set + 1);
}

/// The table: QEMU 7.2 takes the lowest-numbered of several pending
/// interrupts, not the spec's first. Where two or more could be taken
/// together and the two orders disagree, only the spec's first stays
/// enabled in `mie`, on both sides alike.
void keep_one_interrupt_order() noexcept {
    const u64 pending = csr_read(c_mip).value;
    const u64 enabled = csr_read(c_mie).value;
    const u64 delegated = csr_read(c_mideleg).value;
    u64 drop = 0;
    const u64 groups[] = {pending & enabled & ~delegated, pending & enabled & delegated};
    for (const u64 group : groups) {
        if ((group & (group - 1)) == 0) continue;  // at most one
        const u64 first = spec_first(group);
        if (first != (group & (~group + 1))) drop |= group & ~first;
    }
    if (drop != 0) write_csr(c_mie, enabled & ~drop);
}

/// The table: QEMU 7.2 moves the bottom of a TOR entry only when that
/// entry is written, not when the pmpaddr below it is. After a step that
/// wrote a pmpaddr, the configuration is written back unchanged (a no-op
/// for the spec), which makes QEMU recompute every entry.
void refresh_tor_bottoms(const u32 insn[2]) noexcept {
    for (int i = 0; i < 2; ++i) {
        const u32 csr = insn[i] >> 20;
        if ((insn[i] & 0x7f) != 0x73 || ((insn[i] >> 12) & 3) == 0 || csr < c_pmpaddr0 || csr >= c_pmpaddr0 + 16)
            continue;
        write_csr(c_pmpcfg0, csr_read(c_pmpcfg0).value);
        write_csr(c_pmpcfg2, csr_read(c_pmpcfg2).value);
        return;
    }
}

void run_step(const step& s) noexcept {
    set_registers(s);
    keep_one_interrupt_order();
    dt.kind = s.kind;
    dt.sbi_done = false;
    *reinterpret_cast<volatile u64*>(dt_s_data + DT_S_COUNT) = 0;
    u32 insn[2] = {s.insn[0], s.insn[1]};
    u8 mode = s.mode == 3 ? 3 : s.mode == 1 ? 1 : 0;
    switch (s.kind) {
        case step_kind::insn:
            for (u32& w : insn) {
                shape_csr_instruction(w, mode == 3);
                if (w == wfi_insn && wfi_would_wait(mode)) w = nop;
                if (mode == 3 && (w == mret_insn || w == sret_insn)) w = nop;  // only as mret/sret steps
                if (mode == 1 && w == sret_insn) w = nop;
            }
            break;
        case step_kind::mret: {
            // mstatus fields from the program, shaped; mepc = the landing of MPP.
            const u64 fields = bits(39, 39) | bits(22, 17) | bits(12, 11) | bits(8, 7) | bits(5, 5) | bits(3, 3) |
                               bits(1, 1);
            const u64 old_value = csr_read(c_mstatus).value | dt.program_bits;
            u64 v = shape_write(c_mstatus, old_value, keep_field(old_value, s.aux[0], ~fields));
            const u64 mpp = ms::mpp::extract(v);
            if (mpp != 3) v &= ~mprv_bit;  // QEMU 7.2 keeps MPRV (priv. 3.1.6.3)
            if (mpp == 3) v &= ~bit(39);   // QEMU 7.2 keeps MPV (the table)
            write_m_status(v);
            write_csr(c_mepc, landing_of(mpp));
            insn[0] = mret_insn;
            insn[1] = nop;
            mode = 3;
            break;
        }
        case step_kind::sret: {
            const u64 fields = bits(22, 18) | bit(8) | bit(5) | bit(1);  // TSR, TW, TVM, MXR, SUM, SPP, SPIE, SIE
            const u64 old_value = csr_read(c_mstatus).value | dt.program_bits;
            const u64 v = shape_write(c_mstatus, old_value, keep_field(old_value, s.aux[0], ~fields));
            write_m_status(v);
            write_csr(c_sepc, landing_of((v >> 8) & 1));
            insn[0] = sret_insn;
            insn[1] = nop;
            mode = 1;
            break;
        }
        case step_kind::sbi: {
            u64 state = s.aux[1];
            write_csr(c_sscratch, splitmix(state));
            write_csr(c_sepc, splitmix(state) & ~u64{1});
            write_csr(c_scause, splitmix(state));
            write_csr(c_stval, splitmix(state));
            insn[0] = ecall_insn;
            insn[1] = nop;
            mode = 1;
            break;
        }
    }
    u32* slots = slots_of(mode);
    slots[0] = insn[0];
    slots[1] = insn[1];
    dt.insn[0] = insn[0];
    dt.insn[1] = insn[1];
    // Only M-mode steps of no memory instruction leave the arena alone (a
    // lower mode's fetch may set A/D bits; an mret may land below M).
    dt.arena_may_change = dt.arena_may_change || mode != 3 || s.kind != step_kind::insn ||
                          touches_memory(insn[0]) || touches_memory(insn[1]);
    fence_i();
    if (mode == 3) {
        dt_context.in[31] = dt.program_bits;  // t6: restored by the buffer's first instruction
        dt.in_step = true;
        dt_run_m();
    } else {
        dt.in_step = true;
        enter_lower(mode, addr(slots));
    }
    dt.in_step = false;
    // Back in M-mode: the program's MIE and MPRV aside, the interpreter runs without them.
    if (dt_context.end == DT_END_M_RETURN) {
        dt.program_bits = dt_context.mstatus_out & (mie_bit | mprv_bit);
        dt_context.out[2] = dt_context.in[2];
    } else {
        const u64 status = csr_read(c_mstatus).value;
        dt.program_bits = status & (mie_bit | mprv_bit);
        write_csr(c_mstatus, status & ~(mie_bit | mprv_bit));
    }
}

// ---- the table's behaviour rows: QEMU's answer becomes the spec's -----------------

bool is_amo(u32 insn) noexcept { return (insn & 0x7f) == 0x2f && (insn >> 27) != 2; }  // not LR
bool is_hypervisor_access(u32 insn) noexcept { return (insn & 0x707f) == 0x4073; }

/// The address and width of a load or store (integer, FP, HLV/HSV); false
/// for anything else.
bool access_of(u32 insn, u64& address, u64& width) noexcept {
    const u32 opcode = insn & 0x7f;
    const u32 funct3 = (insn >> 12) & 7;
    const u64 base = dt_context.in[(insn >> 15) & 31];
    if (opcode == 0x03 || opcode == 0x07) {  // loads: I-type offset
        address = base + static_cast<u64>(static_cast<i64>(static_cast<int>(insn)) >> 20);
        width = u64{1} << (funct3 & 3);
        return true;
    }
    if (opcode == 0x23 || opcode == 0x27) {  // stores: S-type offset
        const i64 imm = (static_cast<i64>(static_cast<int>(insn)) >> 25 << 5) | ((insn >> 7) & 31);
        address = base + static_cast<u64>(imm);
        width = u64{1} << (funct3 & 3);
        return true;
    }
    if (is_hypervisor_access(insn)) {
        address = base;
        width = u64{1} << ((insn >> 26) & 3);
        return true;
    }
    return false;
}

/// After a step, before its state is read: where deviations.hpp says QEMU
/// 7.2 answers otherwise than the spec, the recorded trap and the trap CSRs
/// say what the spec says, on both sides alike.
void apply_deviation_table(const u32 insn[2]) noexcept {
    auto* s_record = reinterpret_cast<volatile u64*>(dt_s_data);
    const bool m_trap = dt_context.end == DT_END_TRAP;
    const bool s_trap = s_record[DT_S_COUNT / 8] != 0;
    if (m_trap && dt.has_h) {
        // "leaves mtval2 as it was": only a guest-page fault writes it (H 8.4.x).
        if (dt.trap_cause != 20 && dt.trap_cause != 21 && dt.trap_cause != 23) {
            dt.trap_tval2 = 0;
            write_csr(c_mtval2, 0);
        }
        // "leaves mstatus.GVA as it was": from a mode with V = 0 and no
        // hypervisor access, no trap writes a guest virtual address.
        if (!(dt.trap_status & bit(39)) && !is_hypervisor_access(insn[0]) && !is_hypervisor_access(insn[1])) {
            dt.trap_status &= ~bit(38);
            write_csr(c_mstatus, csr_read(c_mstatus).value & ~bit(38));
        }
    }
    for (int i = 0; i < 2; ++i) {
        u64 address = 0, width = 0;
        if (access_of(insn[i], address, width) && (address & (width - 1)) != 0) {
            // "a misaligned access that faults ... writes the address rounded down"
            const u64 rounded = address & ~(width - 1);
            const bool access_fault_m = m_trap && (dt.trap_cause == 5 || dt.trap_cause == 7);
            if (access_fault_m && dt.trap_tval == rounded) {
                dt.trap_tval = address;
                write_csr(c_mtval, address);
            }
            const u64 s_cause = s_record[DT_S_CAUSE / 8];
            if (s_trap && (s_cause == 5 || s_cause == 7) && s_record[DT_S_TVAL / 8] == rounded) {
                s_record[DT_S_TVAL / 8] = address;
                write_csr(c_stval, address);
            }
        }
        if (is_amo(insn[i])) {  // "an AMO that faults ... raises the load fault"
            if (m_trap && (dt.trap_cause == 5 || dt.trap_cause == 13)) {
                dt.trap_cause += 2;
                write_csr(c_mcause, dt.trap_cause);
            }
            const u64 s_cause = s_record[DT_S_CAUSE / 8];
            if (s_trap && (s_cause == 5 || s_cause == 13)) {
                s_record[DT_S_CAUSE / 8] = s_cause + 2;
                write_csr(c_scause, s_cause + 2);
            }
        }
        if (is_hypervisor_access(insn[i])) {
            if (m_trap && dt.trap_cause == 2) {  // "stale mtval/stval"
                dt.trap_tval = 0;
                write_csr(c_mtval, 0);
            }
            if (s_trap && s_record[DT_S_CAUSE / 8] == 2) {
                s_record[DT_S_TVAL / 8] = 0;
                write_csr(c_stval, 0);
            }
            if (m_trap && (dt.trap_cause == 21 || dt.trap_cause == 23)) {
                // "raise a guest-page fault (G-stage Bare), not an access fault": hgatp
                // is always Bare here (shape_write), so no guest-page fault is the spec's.
                dt.trap_cause = dt.trap_cause == 21 ? 5 : 7;
                dt.trap_tval2 = 0;
                write_csr(c_mcause, dt.trap_cause);
                write_csr(c_mtval2, 0);
            }
            if (s_trap && (s_record[DT_S_CAUSE / 8] == 21 || s_record[DT_S_CAUSE / 8] == 23)) {
                s_record[DT_S_CAUSE / 8] = s_record[DT_S_CAUSE / 8] == 21 ? 5 : 7;
                write_csr(c_scause, s_record[DT_S_CAUSE / 8]);
            }
            if (m_trap && dt.has_h) {  // "leaves mstatus.GVA clear"
                dt.trap_status &= ~bit(38);
                write_csr(c_mstatus, csr_read(c_mstatus).value & ~bit(38));
            }
        }
    }
}

// ---- the state after a step --------------------------------------------------------

void record(const char* name, u64 value) noexcept {
    mix(dt.digest, value);
    if (dt.verbose) println("D %u %u %s %h", dt.program_id, dt.step_index, name, value);
}

void record_absent(const char* name) noexcept {
    mix(dt.digest, 0x7e57'ab5e'0000'0001);
    if (dt.verbose) println("D %u %u %s trap", dt.program_id, dt.step_index, name);
}

const char* const register_names[32] = {"x0", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0",
                                        "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5",
                                        "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"};

void dump_state() noexcept {
    dt.digest = 0xcbf29ce484222325;
    record("end", dt_context.end);
    if (dt_context.end == DT_END_TRAP) {
        record("trap.cause", dt.trap_cause);
        record("trap.epc", dt.trap_epc);
        record("trap.tval", dt.trap_tval);
        record("trap.status", dt.trap_status);
        record("trap.vector", dt.trap_vector);
        if (dt.has_h) {
            record("trap.tval2", dt.trap_tval2);
            record("trap.tinst", dt.trap_tinst);
        }
    } else {
        record("mstatus.out", dt_context.mstatus_out);
    }
    const auto* s_record = reinterpret_cast<const volatile u64*>(dt_s_data);
    const u64 s_traps = s_record[DT_S_COUNT / 8];
    record("strap.count", s_traps);
    if (s_traps != 0) {
        record("strap.cause", s_record[DT_S_CAUSE / 8]);
        record("strap.epc", s_record[DT_S_EPC / 8]);
        record("strap.tval", s_record[DT_S_TVAL / 8]);
        record("strap.status", s_record[DT_S_STATUS / 8]);
        record("strap.vector", s_record[DT_S_VECTOR / 8]);
    }
    for (u32 i = 1; i < 32; ++i) record(register_names[i], dt_context.out[i]);
    if (dt.kind == step_kind::sbi) {
        record("sbi.called", dt.sbi_done);
        for (u32 i = 1; i < 32; ++i) record(register_names[i], dt.sbi_seen[i]);
    }
    // The trap CSRs first: a probe's trap would overwrite them. They are
    // written back afterwards, so the program goes on with its own values.
    const u64 saved_mepc = csr_read(c_mepc).value;
    const u64 saved_mcause = csr_read(c_mcause).value;
    const u64 saved_mtval = csr_read(c_mtval).value;
    const u64 saved_mstatus = csr_read(c_mstatus).value;
    const u64 saved_mtval2 = dt.has_h ? csr_read(c_mtval2).value : 0;
    const u64 saved_mtinst = dt.has_h ? csr_read(c_mtinst).value : 0;
    for (const named_csr& c : dump_csrs) {
        probe_result r;
        if (c.number == c_mepc) r = {false, saved_mepc};
        else if (c.number == c_mcause) r = {false, saved_mcause};
        else if (c.number == c_mtval) r = {false, saved_mtval};
        else if (c.number == c_mstatus) r = {false, saved_mstatus | dt.program_bits};
        else if (c.number == c_mtval2 && dt.has_h) r = {false, saved_mtval2};
        else if (c.number == c_mtinst && dt.has_h) r = {false, saved_mtinst};
        else r = csr_read_fixed(static_cast<u32>(&c - dump_csrs));
        if (r.trapped) record_absent(c.name);
        else record(c.name, r.value);
    }
    write_csr(c_mepc, saved_mepc);
    write_csr(c_mcause, saved_mcause);
    write_csr(c_mtval, saved_mtval);
    write_csr(c_mstatus, saved_mstatus);
    if (dt.has_h) {
        write_csr(c_mtval2, saved_mtval2);
        write_csr(c_mtinst, saved_mtinst);
    }
    // The arena: page tables (with the A/D bits the walks set) and data,
    // hashed again only after a step that may have changed it.
    if (dt.arena_may_change) {
        u64 h = 0xcbf29ce484222325;
        const auto* arena = reinterpret_cast<const volatile u32*>(DT_ARENA);  // words: see reset_machine
        for (u32 i = 0; i < DT_ARENA_PAGES * 1024; ++i) h = (h ^ arena[i]) * fnv_prime;
        dt.arena_hash = h;
    }
    record("arena", dt.arena_hash);
    mix(dt.program_digest, dt.digest);
}

// ---- the driver's programs ---------------------------------------------------------

void run_program(const program_header& p) noexcept {
    dt.program_id = p.id;
    dt.program_digest = 0xcbf29ce484222325;
    reset_machine(p);
    dt.arena_may_change = true;
    const auto* steps = reinterpret_cast<const step*>(reinterpret_cast<const poke*>(&p + 1) + p.pokes);
    for (u32 i = 0; i < p.steps; ++i) {
        dt.step_index = i;
        run_step(steps[i]);
        apply_deviation_table(dt.insn);
        refresh_tor_bottoms(dt.insn);
        dump_state();
        dt.arena_may_change = false;
    }
    println("P %u %x %u", p.id, dt.program_digest, p.steps);
}

}  // namespace

/// Every M-mode trap while the interpreter runs (difftest.S): 0 resumes the
/// trapped code, anything else ends the step.
extern "C" u64 dt_m_trap(frame& f) {
    if (dt.probing) {
        dt.probe_trapped = true;
        f.epc += 4;
        return 0;
    }
    if (!dt.in_step)  // the interpreter itself: say so, never loop
        fail_now("program %u step %u: the interpreter trapped: mcause %x mepc %x mtval %x", dt.program_id,
                 dt.step_index, f.cause, f.epc, f.tval);
    const bool is_ecall_from_s = f.cause == 9;
    if (dt.kind == step_kind::sbi && !dt.sbi_done && is_ecall_from_s && f.epc == addr(dt_s_slots)) {
        // The firmware's side of an SBI call: it sees every register; it
        // answers in a0 and a1 only.
        for (u32 i = 0; i < 32; ++i) dt.sbi_seen[i] = f.x[i];
        f.x[10] = ~f.x[10];
        f.x[11] = f.x[11] ^ f.x[17];
        f.epc += 4;
        dt.sbi_done = true;
        return 0;
    }
    for (u32 i = 0; i < 32; ++i) dt_context.out[i] = f.x[i];
    dt_context.end = DT_END_TRAP;
    dt.trap_cause = f.cause;
    dt.trap_epc = f.epc;
    dt.trap_tval = f.tval;
    dt.trap_status = f.status;
    dt.trap_vector = f.vector;
    if (dt.has_h) {
        asm volatile("csrr %0, 0x34b" : "=r"(dt.trap_tval2));
        asm volatile("csrr %0, 0x34a" : "=r"(dt.trap_tinst));
    }
    return 1;
}

void testfw::firmware_main() {
    write_csr(c_mscratch, addr(dt_trap_stack_top));
    write_csr(c_mtvec, addr(dt_m_vectors));
    dt.has_h = (csr_read(c_misa).value & bit('h' - 'a')) != 0;
    const auto& header = *reinterpret_cast<const blob_header*>(DT_BLOB);
    if (header.magic != blob_magic) fail_now("no difftest programs at %x (magic %x)", u64{DT_BLOB}, header.magic);
    dt.verbose = (header.flags & verbose_flag) != 0;
    println("- %u programs, hypervisor extension %b", header.count, dt.has_h);
    const u8* cursor = reinterpret_cast<const u8*>(&header + 1);
    for (u32 i = 0; i < header.count; ++i) {
        const auto& p = *reinterpret_cast<const program_header*>(cursor);
        if (p.magic != program_magic) fail_now("program %u: bad magic %x", i, p.magic);
        run_program(p);
        cursor += sizeof(program_header) + p.pokes * sizeof(poke) + p.steps * sizeof(step);
    }
    // Leave the machine as a test firmware expects to finish it.
    write_csr(c_mtvec, direct_mtvec());
    write_csr(c_mscratch, 0);
    check(true, "%u programs ran", header.count);
}
