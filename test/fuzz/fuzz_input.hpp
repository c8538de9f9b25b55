// SPDX-License-Identifier: MIT
// The fuzz input: a reader over libFuzzer's bytes and the generators that turn
// them into the values a guest uses (addresses biased toward the monitor's
// memory and the other interesting places of the machine, CSR numbers and
// values, instruction encodings). Encodings are written from the unprivileged
// and privileged specifications (the same formats as test/unit/virt's
// encoders), never taken from the code under test.
#pragma once

#include <cstddef>
#include <cstdint>

#include <vfm/detail/types.hpp>

namespace vfz {

using vfm::u16;
using vfm::u32;
using vfm::u64;
using vfm::u8;

/// Reads the input front to back; past its end every read gives zeros (and
/// `done()` says so, which ends the step loop).
class reader {
public:
    reader(const u8* data, std::size_t size) noexcept : m_data(data), m_size(size) {}

    [[nodiscard]] bool done() const noexcept { return m_pos >= m_size; }
    [[nodiscard]] std::size_t left() const noexcept { return done() ? 0 : m_size - m_pos; }

    u8 byte() noexcept { return m_pos < m_size ? m_data[m_pos++] : 0; }
    u16 u16_() noexcept { return static_cast<u16>(byte() | (u16{byte()} << 8)); }
    u32 u32_() noexcept { return u32{u16_()} | (u32{u16_()} << 16); }
    u64 u64_() noexcept { return u64{u32_()} | (u64{u32_()} << 32); }
    bool flag() noexcept { return (byte() & 1) != 0; }
    /// 0 .. n-1 (n >= 1).
    unsigned below(unsigned n) noexcept { return n <= 1 ? 0 : byte() % n; }

private:
    const u8* m_data;
    std::size_t m_size;
    std::size_t m_pos = 0;
};

// ---------------------------------------------------------------------------
// The machine's map (test/fuzz/fuzz_machine.hpp builds the board from it).
// ---------------------------------------------------------------------------
namespace map {
// The board's RAM starts with the monitor (128 KiB) and its shared page, as on
// QEMU virt. The simulated harts hold only the RAM after the monitor (96 KiB):
// each input builds fresh harts, and ASan's bookkeeping of a larger allocation
// costs more than the rest of a run. Nothing is lost: an access the monitor
// makes in its own memory is a finding before it reaches the model.
inline constexpr u64 ram_base = 0x8000'0000;
inline constexpr u64 ram_size = 0x3'8000;
inline constexpr u64 ram_end = ram_base + ram_size;
inline constexpr u64 simulated_base = 0x8002'0000;  ///< the harts' RAM: from the shared page to the end
inline constexpr u64 simulated_size = ram_end - simulated_base;
inline constexpr u64 monitor_base = 0x8000'0000;  ///< where the board puts the monitor (QEMU virt)
inline constexpr u64 monitor_size = 0x2'0000;
inline constexpr u64 shared_base = 0x8002'0000;   ///< the page after the monitor
inline constexpr u64 shared_size = 0x1000;
inline constexpr u64 firmware_entry = 0x8002'1000;
inline constexpr u64 firmware_vector = 0x8002'2000;
inline constexpr u64 boot_info = 0x8002'3000;
inline constexpr u64 device_tree = 0x8002'3800;
inline constexpr u64 os_entry = 0x8002'4000;
inline constexpr u64 shutdown_base = 0x8002'6000;  ///< a RAM page standing in for the test finisher
inline constexpr u64 shutdown_size = 0x1000;
inline constexpr u64 tables = 0x8002'8000;  ///< where the input builds page tables (16 pages)
inline constexpr u64 tables_size = 0x1'0000;
inline constexpr unsigned table_pages = 16;
inline constexpr u64 clint_base = 0x200'0000;
inline constexpr u64 clint_size = 0x1'0000;
inline constexpr u64 mtimecmp_base = 0x200'4000;
inline constexpr u64 mtime = 0x200'bff8;
inline constexpr u64 bus_master_base = 0x1000'1000;  ///< a DMA-capable device the firmware must not get
inline constexpr u64 bus_master_size = 0x1000;
}  // namespace map

/// An address a guest might use, chosen by the input with a bias toward the
/// places that matter: the monitor's memory (first, last and middle bytes and
/// just outside), its shared page, the CLINT, the shutdown device, a bus
/// master, the edges of RAM, the page tables, wrap-around and sign-extended
/// virtual addresses, or anything.
inline u64 address(reader& in) noexcept {
    const u8 b = in.byte();
    const u64 small = in.byte();
    switch (b & 31) {
        case 0: return map::monitor_base + small * 8;
        case 1: return map::monitor_base + map::monitor_size - 8 - small;
        case 2: return map::monitor_base + (u64{in.u16_()} * 2) % map::monitor_size;
        case 3: return map::monitor_base + map::monitor_size + small - 128;  // across the monitor's end
        case 4: return map::shared_base + small * 16;
        case 5: return map::shared_base + map::shared_size - small;  // across the shared page's end
        case 6: return map::clint_base + small * 4;                 // msip
        case 7: return map::mtimecmp_base + small;                  // mtimecmp, any alignment
        case 8: return map::mtime - 8 + (small & 31);               // mtime and around it
        case 9: return map::clint_base + (u64{in.u16_()} % map::clint_size);
        case 10: return map::shutdown_base + small;
        case 11: return map::bus_master_base + small * 8;
        case 12: return map::ram_end - small;                       // across the end of RAM
        case 13: return map::ram_base - 1 - small;                  // just below RAM (and the monitor)
        case 14: return map::tables + (u64{in.u16_()} * 8) % map::tables_size;
        case 15: return map::firmware_entry + small * 8;
        case 16: return map::os_entry + small * 8;
        case 17: return map::ram_base + (u64{in.u32_()} % map::ram_size);
        case 18: return ~u64{0} - small;                            // wraps around
        case 19: return 0xffff'ffc0'0000'0000 | (u64{in.u32_()} << 12);  // sign-extended Sv39
        case 20: return (u64{1} << 38) + small;                     // beyond Sv39's range
        case 21: return small << 12;                                // low virtual pages
        case 22: return map::device_tree + small;
        case 23: return map::monitor_base + map::monitor_size - small;  // the monitor's last bytes
        case 24: return map::shared_base - small;                   // the monitor's end, from below
        case 25: return map::monitor_base - small;                  // the monitor's start, from below
        default: return in.u64_();
    }
}

/// A value for a register or a CSR: zero, all ones, an address, a bit, or anything.
inline u64 value(reader& in) noexcept {
    const u8 b = in.byte();
    switch (b & 7) {
        case 0: return 0;
        case 1: return ~u64{0};
        case 2: return address(in);
        case 3: return u64{1} << (in.byte() & 63);
        case 4: return in.byte();
        default: return in.u64_();
    }
}

/// A page-table pointer (satp / vsatp / hgatp PPN) to an interesting place.
inline u64 table_ppn(reader& in) noexcept {
    const u8 b = in.byte();
    switch (b & 7) {
        case 0: return map::monitor_base >> 12;
        case 1: return (map::monitor_base >> 12) + (in.byte() & 31);
        case 2: return map::shared_base >> 12;
        case 3: return map::clint_base >> 12;
        case 4: return (map::ram_end >> 12) - 1 - (in.byte() & 3);
        default: return (map::tables >> 12) + (in.byte() % map::table_pages);
    }
}

/// satp / vsatp / hgatp: MODE (Bare, Sv39, Sv48, Sv57, reserved), an ASID/VMID, a table.
inline u64 atp(reader& in) noexcept {
    const u8 b = in.byte();
    static constexpr u64 modes[] = {0, 8, 9, 10, 8, 9, 1, 15};
    return (modes[b & 7] << 60) | (u64{in.byte()} << 44) | table_ppn(in);
}

/// A PTE (priv. spec 4.4.1): V R W X U G A D, N and PBMT sometimes, pointing
/// at the monitor, its shared page, the CLINT, the tables (a next level) or RAM.
inline u64 pte(reader& in) noexcept {
    const u8 flags = in.byte();
    const u8 kind = in.byte();
    u64 ppn = 0;
    switch (kind & 15) {
        case 0:
        case 1: ppn = (map::monitor_base >> 12) + (in.byte() % (map::monitor_size >> 12)); break;
        case 2: ppn = map::shared_base >> 12; break;
        case 3: ppn = map::clint_base >> 12; break;
        case 4:
        case 5:
        case 6: ppn = (map::tables >> 12) + (in.byte() % map::table_pages); break;  // a next-level table
        case 7: ppn = map::monitor_base >> 12; break;                 // a superpage over the monitor
        case 8: ppn = map::shutdown_base >> 12; break;
        case 9: ppn = map::bus_master_base >> 12; break;
        case 10: ppn = (map::ram_end >> 12) - 1; break;
        default: ppn = (map::ram_base >> 12) + (in.u16_() % (map::ram_size >> 12)); break;
    }
    u64 v = u64{flags} | (ppn << 10);
    if ((kind & 0x10) != 0) v |= u64{1} << 63;                 // N (Svnapot)
    if ((kind & 0x20) != 0) v |= static_cast<u64>((kind >> 6) & 3) << 61;   // PBMT
    if ((kind & 0xc0) == 0xc0) v |= u64{1} << 54;              // a reserved bit
    return v;
}

/// A register number: x0..x31, biased toward the ones the fast path saves
/// (a0-a7, t0-t6, ra, sp, tp) and s0/s1 (x8, x9: the compressed forms' base).
inline unsigned reg(reader& in) noexcept {
    const u8 b = in.byte();
    if ((b & 0xc0) == 0) return b & 31;
    static constexpr unsigned common[] = {10, 11, 12, 13, 5, 6, 7, 8, 9, 1, 2, 4, 14, 15, 28, 0};
    return common[b & 15];
}

// ---------------------------------------------------------------------------
// CSR numbers: every CSR the engine distinguishes, and the neighbourhood.
// ---------------------------------------------------------------------------
inline constexpr u16 interesting_csrs[] = {
    // Machine
    0x300, 0x301, 0x302, 0x303, 0x304, 0x305, 0x306, 0x30a, 0x310, 0x31a, 0x320, 0x340, 0x341, 0x342, 0x343,
    0x344, 0x34a, 0x34b, 0x3a0, 0x3a2, 0x3b0, 0x3b1, 0x3b8, 0x3bf, 0x3ef, 0x747, 0x757, 0xb00, 0xb02, 0xb03,
    0xb1f, 0x323, 0x33f, 0xf11, 0xf12, 0xf13, 0xf14, 0xf15, 0x7a0, 0x7b0,
    // Supervisor
    0x100, 0x104, 0x105, 0x106, 0x10a, 0x140, 0x141, 0x142, 0x143, 0x144, 0x180, 0x14d, 0xda0, 0x10c,
    // Hypervisor and VS
    0x600, 0x602, 0x603, 0x604, 0x605, 0x606, 0x607, 0x60a, 0x643, 0x644, 0x645, 0x64a, 0x680, 0xe12, 0x61a,
    0x200, 0x204, 0x205, 0x240, 0x241, 0x242, 0x243, 0x244, 0x280, 0x24d, 0x25d,
    // Unprivileged
    0x001, 0x002, 0x003, 0xc00, 0xc01, 0xc02, 0xc03, 0xc1f, 0x015, 0x008, 0xc20,
};

inline u16 csr_number(reader& in) noexcept {
    const u8 b = in.byte();
    if (b < 200) return interesting_csrs[b % (sizeof interesting_csrs / sizeof interesting_csrs[0])];
    if (b < 240) return static_cast<u16>(0x3a0 + (in.byte() % 0x50));  // pmpcfg0-15, pmpaddr0-63
    return static_cast<u16>(in.u16_() & 0xfff);
}

/// A value for a CSR write, shaped for some CSRs: mstatus with MPRV, MPP, MXR,
/// SUM, MIE, FS; the atp registers; pmpcfg bytes with L, A and RWX; mtvec.
inline u64 csr_value(reader& in, u16 number) noexcept {
    const u8 shape = in.byte();
    if ((shape & 3) == 0) return value(in);
    switch (number) {
        case 0x300:    // mstatus: MIE 3, MPIE 7, MPP 12:11, FS 14:13, MPRV 17, SUM 18, MXR 19, TVM/TW/TSR 22:20, MPV 39, GVA 38
        case 0x100: {  // sstatus
            u64 v = 0;
            const u8 a = in.byte();
            const u8 c = in.byte();
            if (a & 1) v |= u64{1} << 3;
            if (a & 2) v |= u64{1} << 7;
            v |= static_cast<u64>((a >> 2) & 3) << 11;
            v |= static_cast<u64>((a >> 4) & 3) << 13;
            if (a & 0x40) v |= u64{1} << 17;
            if (a & 0x80) v |= u64{1} << 18;
            if (c & 1) v |= u64{1} << 19;
            if (c & 2) v |= u64{1} << 1;   // SIE
            if (c & 4) v |= u64{1} << 8;   // SPP
            if (c & 8) v |= u64{1} << 39;  // MPV
            if (c & 16) v |= u64{1} << 38; // GVA
            v |= static_cast<u64>((c >> 5) & 7) << 20;  // TVM, TW, TSR
            return v;
        }
        case 0x180:  // satp
        case 0x280:  // vsatp
            return atp(in);
        case 0x680: {  // hgatp: MODE Sv39x4 = 8, Sv48x4 = 9, Sv57x4 = 10; a 16 KiB root
            const u64 v = atp(in);
            return v & ~u64{3};
        }
        case 0x305:  // mtvec: a vector in RAM, direct or vectored, or anywhere
        case 0x105: {
            const u8 a = in.byte();
            const u64 base = (a & 0x80) != 0 ? address(in) : map::firmware_vector + (static_cast<u64>(a & 0x3c) << 4);
            return (base & ~u64{3}) | (a & 3);
        }
        case 0x304:  // mie / mip / mideleg: the interrupt bits
        case 0x344:
        case 0x303:
        case 0x104:
        case 0x144:
            return in.u16_() & 0x3fff;
        case 0x302:  // medeleg
            return in.u32_() & 0x00ff'ffff;
        default: break;
    }
    if (number >= 0x3a0 && number <= 0x3af) {
        // pmpcfg: eight bytes, each with R W X, A (OFF TOR NA4 NAPOT) and sometimes L.
        u64 v = 0;
        for (unsigned i = 0; i < 8; ++i) {
            const u8 c = in.byte();
            v |= u64{static_cast<u8>(c & 0x9f)} << (8 * i);
        }
        return v;
    }
    if (number >= 0x3b0 && number <= 0x3ef) {
        // pmpaddr: an address >> 2, NAPOT-encoded over an interesting range, or anything.
        const u64 a = address(in) >> 2;
        const unsigned ones = in.byte() & 31;
        return ones == 0 ? a : ((a & ~((u64{1} << ones) - 1)) | ((u64{1} << (ones - 1)) - 1));
    }
    return value(in);
}

// ---------------------------------------------------------------------------
// Instruction encodings (unpriv. spec 2.2, 2.6, 8.2-8.4, 9.1, 11.5, 12.5,
// 16.3-16.4; priv. spec 3.3, 4.2.1; H ext. 9.3).
// ---------------------------------------------------------------------------
namespace enc {
inline constexpr u32 system = 0x73;
inline constexpr u32 ecall = 0x0000'0073;
inline constexpr u32 ebreak = 0x0010'0073;
inline constexpr u32 sret = 0x1020'0073;
inline constexpr u32 mret = 0x3020'0073;
inline constexpr u32 wfi = 0x1050'0073;

constexpr u32 csr_insn(u32 funct3, unsigned rd, u16 number, unsigned rs1) noexcept {
    return (u32{number} << 20) | ((rs1 & 31) << 15) | ((funct3 & 7) << 12) | ((rd & 31) << 7) | system;
}
/// R-type SYSTEM instruction with funct7 (sfence.vma 0x09, hfence.vvma 0x11,
/// hfence.gvma 0x31, sinval.vma 0x0b, ...; HLV/HSV use funct3 4).
constexpr u32 system_r(u32 funct7, unsigned rs2, unsigned rs1, u32 funct3, unsigned rd) noexcept {
    return (funct7 << 25) | ((rs2 & 31) << 20) | ((rs1 & 31) << 15) | ((funct3 & 7) << 12) | ((rd & 31) << 7) |
           system;
}
static_assert(csr_insn(2, 10, 0x300, 0) == 0x3000'2573);  // csrr a0, mstatus
static_assert(system_r(0x09, 0, 0, 0, 0) == 0x1200'0073);  // sfence.vma
static_assert(system_r(0x34, 0, 11, 4, 10) == 0x6805'c573);  // hlv.w a0, (a1)
}  // namespace enc

/// A load, store, AMO, LR or SC as the guest executes it: its encoding and
/// what it does (for the harness to play the hart).
struct mem_op {
    enum class kind : u8 { load, store, amo, lr, sc };
    u32 bits = 0;
    unsigned length = 4;
    unsigned width = 4;
    kind op = kind::load;
    bool is_float = false;
    bool sign = false;
    unsigned data = 0;  ///< rd of a load; rs2 of a store, AMO or SC
    unsigned rd = 0;    ///< AMO, LR, SC: rd
    unsigned base = 0;  ///< rs1
    vfm::i64 offset = 0;
    [[nodiscard]] bool writes() const noexcept { return op != kind::load && op != kind::lr; }
};

/// One of the memory instructions the engine decodes, with registers and an
/// offset from the input.
inline mem_op memory_instruction(reader& in) noexcept {
    mem_op m;
    const u8 form = in.byte();
    const u8 f = in.byte();
    switch (form % 12) {
        case 0:
        case 1: {  // integer load: lb lh lw ld lbu lhu lwu
            static constexpr u32 funct3s[] = {0, 1, 2, 3, 4, 5, 6, 3};
            const u32 f3 = funct3s[f & 7];
            const unsigned rd = reg(in);
            const unsigned rs1 = reg(in);
            const vfm::i64 off = static_cast<vfm::i64>(static_cast<int16_t>(in.u16_() << 4)) >> 4;  // 12 bits
            m.bits = (static_cast<u32>(off & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x03;
            m.width = 1u << (f3 & 3);
            m.sign = f3 < 3;
            m.data = rd;
            m.base = rs1;
            m.offset = off;
            return m;
        }
        case 2:
        case 3: {  // integer store: sb sh sw sd
            const u32 f3 = f & 3;
            const unsigned rs2 = reg(in);
            const unsigned rs1 = reg(in);
            const vfm::i64 off = static_cast<vfm::i64>(static_cast<int16_t>(in.u16_() << 4)) >> 4;
            const u32 imm = static_cast<u32>(off & 0xfff);
            m.bits = ((imm >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | 0x23;
            m.width = 1u << f3;
            m.op = mem_op::kind::store;
            m.data = rs2;
            m.base = rs1;
            m.offset = off;
            return m;
        }
        case 4: {  // flw / fld / fsw / fsd
            const bool store = (f & 1) != 0;
            const u32 f3 = (f & 2) != 0 ? 3 : 2;
            const unsigned r = in.byte() & 31;
            const unsigned rs1 = reg(in);
            const vfm::i64 off = static_cast<vfm::i64>(static_cast<int16_t>(in.u16_() << 4)) >> 4;
            const u32 imm = static_cast<u32>(off & 0xfff);
            m.bits = store ? ((imm >> 5) << 25) | (r << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | 0x27
                           : (imm << 20) | (rs1 << 15) | (f3 << 12) | (r << 7) | 0x07;
            m.width = f3 == 2 ? 4 : 8;
            m.op = store ? mem_op::kind::store : mem_op::kind::load;
            m.is_float = true;
            m.data = r;
            m.base = rs1;
            m.offset = off;
            return m;
        }
        case 5:
        case 6: {  // AMO (RV64A): funct5 of the nine AMOs, .w or .d, aq/rl
            static constexpr u32 funct5s[] = {0x00, 0x01, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c};
            const u32 f5 = funct5s[f % 9];
            const u32 f3 = (in.byte() & 1) != 0 ? 3 : 2;
            const unsigned rd = reg(in);
            const unsigned rs1 = reg(in);
            const unsigned rs2 = reg(in);
            m.bits = (f5 << 27) | (u32{static_cast<u32>(f >> 6)} << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
                     (rd << 7) | 0x2f;
            m.width = f3 == 2 ? 4 : 8;
            m.op = mem_op::kind::amo;
            m.data = rs2;
            m.rd = rd;
            m.base = rs1;
            return m;
        }
        case 7: {  // LR / SC
            const bool sc = (f & 1) != 0;
            const u32 f3 = (f & 2) != 0 ? 3 : 2;
            const unsigned rd = reg(in);
            const unsigned rs1 = reg(in);
            const unsigned rs2 = sc ? reg(in) : 0;
            m.bits = ((sc ? 0x03u : 0x02u) << 27) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x2f;
            m.width = f3 == 2 ? 4 : 8;
            m.op = sc ? mem_op::kind::sc : mem_op::kind::lr;
            m.data = rs2;
            m.rd = rd;
            m.base = rs1;
            return m;
        }
        case 8: {  // C.LW / C.LD / C.SW / C.SD / C.FLD / C.FSD (quadrant 0)
            static constexpr u32 funct3s[] = {2, 3, 6, 7, 1, 5, 2, 3};
            const u32 f3 = funct3s[f & 7];
            const unsigned r = 8 + (in.byte() & 7);
            const unsigned b = 8 + (in.byte() & 7);
            const u32 o = in.byte();
            const bool word = f3 == 2 || f3 == 6;
            u32 bits = (f3 << 13) | ((b - 8) << 7) | ((r - 8) << 2);
            unsigned offset;
            if (word) {
                offset = (o & 0x7c);  // uimm[6:2]
                bits |= ((offset >> 3) & 7) << 10 | ((offset >> 2) & 1) << 6 | ((offset >> 6) & 1) << 5;
            } else {
                offset = (o & 0xf8);  // uimm[7:3]
                bits |= ((offset >> 3) & 7) << 10 | ((offset >> 6) & 3) << 5;
            }
            m.bits = bits;
            m.length = 2;
            m.width = word ? 4 : 8;
            m.op = f3 >= 5 ? mem_op::kind::store : mem_op::kind::load;
            m.is_float = f3 == 1 || f3 == 5;
            m.sign = f3 == 2;
            m.data = r;
            m.base = b;
            m.offset = offset;
            return m;
        }
        case 9: {  // C.LWSP / C.LDSP / C.SWSP / C.SDSP / C.FLDSP / C.FSDSP (quadrant 2, base sp)
            static constexpr u32 funct3s[] = {2, 3, 6, 7, 1, 5, 2, 3};
            const u32 f3 = funct3s[f & 7];
            unsigned r = in.byte() & 31;
            if ((f3 == 2 || f3 == 3) && r == 0) r = 10;  // rd = x0 is reserved there
            const u32 o = in.byte();
            u32 bits = (f3 << 13) | 2;
            unsigned offset;
            switch (f3) {
                case 2:  // c.lwsp: uimm[5] [12], uimm[4:2] [6:4], uimm[7:6] [3:2]
                    offset = (o << 2) & 0xfc;
                    bits |= ((offset >> 5) & 1) << 12 | (r << 7) | ((offset >> 2) & 7) << 4 | ((offset >> 6) & 3) << 2;
                    break;
                case 3:  // c.ldsp / c.fldsp: uimm[5] [12], uimm[4:3] [6:5], uimm[8:6] [4:2]
                case 1:
                    offset = (o << 3) & 0x1f8;
                    bits |= ((offset >> 5) & 1) << 12 | (r << 7) | ((offset >> 3) & 3) << 5 | ((offset >> 6) & 7) << 2;
                    break;
                case 6:  // c.swsp: uimm[5:2] [12:9], uimm[7:6] [8:7]
                    offset = (o << 2) & 0xfc;
                    bits |= ((offset >> 2) & 15) << 9 | ((offset >> 6) & 3) << 7 | (r << 2);
                    break;
                default:  // c.sdsp / c.fsdsp: uimm[5:3] [12:10], uimm[8:6] [9:7]
                    offset = (o << 3) & 0x1f8;
                    bits |= ((offset >> 3) & 7) << 10 | ((offset >> 6) & 7) << 7 | (r << 2);
                    break;
            }
            m.bits = bits;
            m.length = 2;
            m.width = f3 == 2 || f3 == 6 ? 4 : 8;
            m.op = f3 >= 5 ? mem_op::kind::store : mem_op::kind::load;
            m.is_float = f3 == 1 || f3 == 5;
            m.sign = f3 == 2;
            m.data = r;
            m.base = 2;
            m.offset = offset;
            return m;
        }
        case 10: {  // Zcb: c.lbu c.lhu c.lh c.sb c.sh (quadrant 0, funct3 100)
            const unsigned sub = f % 5;
            const unsigned r = 8 + (in.byte() & 7);
            const unsigned b = 8 + (in.byte() & 7);
            const u32 o = in.byte();
            static constexpr u32 field[] = {0, 1, 1, 2, 3};  // [12:10]
            u32 bits = (4u << 13) | (field[sub] << 10) | ((b - 8) << 7) | ((r - 8) << 2);
            unsigned offset = 0;
            if (sub == 0 || sub == 3) {  // byte: uimm[1] [5], uimm[0] [6]
                offset = o & 3;
                bits |= ((offset >> 1) & 1) << 5 | (offset & 1) << 6;
            } else {  // half: uimm[1] [5]; [6] = 1 for c.lh
                offset = o & 2;
                bits |= ((offset >> 1) & 1) << 5 | (sub == 2 ? 1u << 6 : 0);
            }
            m.bits = bits;
            m.length = 2;
            m.width = (sub == 0 || sub == 3) ? 1 : 2;
            m.op = sub >= 3 ? mem_op::kind::store : mem_op::kind::load;
            m.sign = sub == 2;
            m.data = r;
            m.base = b;
            m.offset = offset;
            return m;
        }
        default: {  // a plain ld/sd with offset 0: the common case
            const bool store = (f & 1) != 0;
            const unsigned r = reg(in);
            const unsigned rs1 = reg(in);
            m.bits = store ? (r << 20) | (rs1 << 15) | (3u << 12) | 0x23 : (rs1 << 15) | (3u << 12) | (r << 7) | 0x03;
            m.width = 8;
            m.op = store ? mem_op::kind::store : mem_op::kind::load;
            m.data = r;
            m.base = rs1;
            return m;
        }
    }
}

/// A SYSTEM instruction (opcode 0x73) with the fields the input gives: a CSR
/// instruction, a trap return, wfi, a fence of the MMU, HLV/HLVX/HSV, ecall,
/// ebreak, or a random one.
inline u32 system_instruction(reader& in) noexcept {
    const u8 kind = in.byte();
    switch (kind % 16) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 4:
        case 5: {  // Zicsr
            const u32 funct3 = 1 + (in.byte() % 7);  // 1..7; 4 is HLV/HSV's space
            const u16 number = csr_number(in);
            return enc::csr_insn(funct3 == 4 ? 2 : funct3, reg(in), number, reg(in));
        }
        case 6: return enc::mret;
        case 7: return enc::sret;
        case 8: return enc::wfi;
        case 9: return enc::system_r(0x09, reg(in), reg(in), 0, 0);  // sfence.vma
        case 10: {  // hfence.vvma / hfence.gvma / sinval.vma / hinval.* / sfence.w.inval
            static constexpr u32 funct7s[] = {0x11, 0x31, 0x0b, 0x13, 0x33, 0x0c};
            const u32 f7 = funct7s[in.byte() % 6];
            return enc::system_r(f7, f7 == 0x0c ? (in.byte() & 1) : reg(in), f7 == 0x0c ? 0 : reg(in), 0, 0);
        }
        case 11:
        case 12: {  // HLV.B/BU/H/HU/W/WU/D, HLVX.HU/WU, HSV.B/H/W/D (H ext. 9.3.1)
            const u8 which = in.byte();
            const u32 size = (which >> 1) & 3;  // funct7[2:1]: 0 b, 1 h, 2 w, 3 d
            if ((which & 1) == 0) {             // load: rs2 = 0 (signed), 1 (unsigned), 3 (HLVX)
                static constexpr unsigned rs2s[] = {0, 1, 3, 0};
                const unsigned rs2 = rs2s[(which >> 3) & 3];
                return enc::system_r(0x30 | (size << 1), rs2, reg(in), 4, reg(in));
            }
            return enc::system_r(0x31 | (size << 1), reg(in), reg(in), 4, 0);  // HSV: funct7 0110xx1
        }
        case 13: return (in.byte() & 1) != 0 ? enc::ecall : enc::ebreak;
        case 14: return (in.u32_() & ~u32{0x7f}) | enc::system;  // any SYSTEM encoding
        default: return (in.u32_() & 0xfff0'7fff) | (u32{4} << 12);  // funct3 4: HLV/HSV space, any fields
    }
}

}  // namespace vfz
