// SPDX-License-Identifier: MIT
// vfm::virt::emulate_misaligned over a simulated hart that traps misaligned
// loads and stores (host::misaligned_policy::trap), as the hardware the
// emulation exists for does.
//
// Instruction words are literals from the GNU assembler (riscv64-unknown-elf-as
// 2.40 -march=rv64gc, objdump -M no-aliases); binutils 2.40 lacks Zcb, so the
// Zcb words are hand-encoded from the Zcb specification v1.0 (funct6 | rs1' |
// [6] | [5] | rd'/rs2' | 00; they agree with test/unit/riscv/instruction_test.cpp).
// Expected values are written out, or assembled from the bytes the test
// placed with plain byte arithmetic; the code under test never computes them.
// Which accesses were made, in which mode, comes from the hart's access log.
// The emulation runs on the guarded path (virt/guest_memory.hpp): the
// instruction is read back in M-mode at its physical address, the data
// accesses are physical (translated in software) with the PMP check of the
// OS's privilege, and the page-table reads are S-mode loads of 8 bytes.
#include "vfm_catch.hpp"

#include <cstring>
#include <vector>

#include <vfm/host/simulated_hart.hpp>
#include <vfm/virt/guest_memory.hpp>
#include <vfm/virt/misaligned.hpp>

using namespace vfm;
using host::hart_config;
using host::memory_event;
using host::simulated_hart;
using riscv::csr;
using riscv::privilege;
using status = virt::misaligned_outcome::status;

namespace {

// ---------------------------------------------------------------------------
// Encodings (rs1 = a0 unless said otherwise; rd / rs2 = a1)
// ---------------------------------------------------------------------------
constexpr u32 lb = 0x0005'0583;   // lb a1,0(a0)
constexpr u32 lbu = 0x0005'4583;  // lbu a1,0(a0)
constexpr u32 lh = 0x0005'1583;   // lh a1,0(a0)
constexpr u32 lhu = 0x0005'5583;  // lhu a1,0(a0)
constexpr u32 lw = 0x0005'2583;   // lw a1,0(a0)
constexpr u32 lwu = 0x0005'6583;  // lwu a1,0(a0)
constexpr u32 ld = 0x0005'3583;   // ld a1,0(a0)
constexpr u32 sb = 0x00b5'0023;   // sb a1,0(a0)
constexpr u32 sh = 0x00b5'1023;   // sh a1,0(a0)
constexpr u32 sw = 0x00b5'2023;   // sw a1,0(a0)
constexpr u32 sd = 0x00b5'3023;   // sd a1,0(a0)

constexpr u32 lw_zero = 0x0005'2003;       // lw zero,0(a0)
constexpr u32 ld_zero = 0x0005'3003;       // ld zero,0(a0)
constexpr u32 lh_zero = 0x0005'1003;       // lh zero,0(a0)
constexpr u32 lw_m3 = 0xffd5'2583;         // lw a1,-3(a0)
constexpr u32 ld_t2_2047_s1 = 0x7ff4'b383;  // ld t2,2047(s1)
constexpr u32 lh_m2048 = 0x8005'1583;      // lh a1,-2048(a0)
constexpr u32 sd_m5 = 0xfeb5'3da3;         // sd a1,-5(a0)
constexpr u32 sw_t0_2047_s1 = 0x7e54'afa3;  // sw t0,2047(s1)
constexpr u32 sh_m2048 = 0x80b5'1023;      // sh a1,-2048(a0)
constexpr u32 ld_a1_a1 = 0x0005'b583;      // ld a1,0(a1)
constexpr u32 sd_a0_a0 = 0x00a5'3023;      // sd a0,0(a0)
constexpr u32 sw_zero = 0x0005'2023;       // sw zero,0(a0)

constexpr u32 c_lw_124 = 0x5d6c;     // c.lw a1,124(a0)
constexpr u32 c_ld_248 = 0x7d6c;     // c.ld a1,248(a0)
constexpr u32 c_sw_124 = 0xdd6c;     // c.sw a1,124(a0)
constexpr u32 c_sd_248 = 0xfd6c;     // c.sd a1,248(a0)
constexpr u32 c_lwsp_252 = 0x55fe;   // c.lwsp a1,252(sp)
constexpr u32 c_ldsp_504 = 0x75fe;   // c.ldsp a1,504(sp)
constexpr u32 c_swsp_252 = 0xdfae;   // c.swsp a1,252(sp)
constexpr u32 c_sdsp_504 = 0xffae;   // c.sdsp a1,504(sp)
constexpr u32 c_ld_0 = 0x610c;       // c.ld a1,0(a0)
constexpr u32 c_lhu_2 = 0x852c;      // Zcb c.lhu a1,2(a0)
constexpr u32 c_lh_2 = 0x856c;       // Zcb c.lh a1,2(a0)
constexpr u32 c_sh_2 = 0x8d2c;       // Zcb c.sh a1,2(a0)
constexpr u32 c_lbu_3 = 0x816c;      // Zcb c.lbu a1,3(a0)
constexpr u32 c_sb_1 = 0x894c;       // Zcb c.sb a1,1(a0)

constexpr u32 flw = 0x0005'2507;     // flw fa0,0(a0)
constexpr u32 fld = 0x0005'3507;     // fld fa0,0(a0)
constexpr u32 fsw = 0x00a5'2027;     // fsw fa0,0(a0)
constexpr u32 fsd = 0x00a5'3027;     // fsd fa0,0(a0)
constexpr u32 c_fld = 0x250c;        // c.fld fa1,8(a0)
constexpr u32 c_fsd = 0xa50c;        // c.fsd fa1,8(a0)
constexpr u32 c_fldsp = 0x25a2;      // c.fldsp fa1,8(sp)
constexpr u32 c_fsdsp = 0xa42e;      // c.fsdsp fa1,8(sp)

constexpr u32 amoadd_w = 0x00c5'25af;  // amoadd.w a1,a2,(a0)
constexpr u32 lr_d = 0x1005'35af;      // lr.d a1,(a0)
constexpr u32 sc_w = 0x18c5'25af;      // sc.w a1,a2,(a0)
constexpr u32 addi = 0x0015'8593;      // addi a1,a1,1
constexpr u32 c_addi = 0x0585;         // c.addi a1,1
constexpr u32 c_lwsp_x0 = 0x4002;      // c.lwsp with rd = x0: reserved (unpriv. spec 16.3)

// Registers (unpriv. spec 25, table 25.1).
constexpr unsigned sp = 2, t0 = 5, t2 = 7, s1 = 9, a0 = 10, a1 = 11;

// ---------------------------------------------------------------------------
// The scene
// ---------------------------------------------------------------------------
constexpr u64 code = 0x8000'4000;    // where the instruction sits (physical, Bare)
constexpr u64 window = 0x8000'8000;  // an 8-byte-aligned data window

constexpr access_mode as_s{privilege::supervisor, false, false};
constexpr access_mode as_u{privilege::user, false, false};
constexpr access_mode as_vs{privilege::supervisor, true, false};

/// 16 bytes around the window: the low 7 bits of each byte differ, and the
/// sign bits alternate (a second pass flips them all).
constexpr u8 pattern[16] = {0x11, 0x82, 0x23, 0x94, 0x35, 0xa6, 0x47, 0xb8,
                            0x59, 0xca, 0x6b, 0xdc, 0x7d, 0xee, 0x0f, 0xf0};

/// A hart that traps misaligned accesses, with 4 MiB of RAM at 0x80000000
/// (every scene gets a fresh hart; a small RAM keeps that cheap).
hart_config trapping(hart_config c = {}) {
    c.misaligned = host::misaligned_policy::trap;
    c.ram_size = u64{4} << 20;
    return c;
}

/// Where the Sv39 scenes keep their page tables (root, level 1, level 0).
constexpr u64 page_tables = 0x8010'0000;

/// Where the monitor would be: far from everything the scenes touch, so the
/// guard refuses nothing here (test/unit/virt/guest_memory_test.cpp tests it).
constexpr u64 monitor_base = 0x8030'0000;

/// A simulated hart that traps misaligned accesses, PMP entry 0 granting S and
/// U everything (NAPOT over the whole space, R W X), and the OS's registers.
struct scene {
    simulated_hart hw;
    virt::hart h;
    access_mode how;
    memory_layout layout;

    explicit scene(access_mode mode = as_s, hart_config c = trapping()) : hw{c}, how{mode} {
        REQUIRE(hw.poke_csr(csr::pmpaddr0, ~u64{0} >> 10));
        REQUIRE(hw.poke_csr(csr::pmpcfg0, 0x1f));
        for (unsigned n = 1; n < 32; ++n) h.x[n] = 0x5a5a'0000'0000'0000 | (u64{n} << 8) | n;
        h.pc = code;
        h.features.has_s = c.s;
        h.features.has_h = c.h;
        h.features.updates_accessed_dirty = false;  // the model is Svade
        layout.ram = {c.ram_base, c.ram_size};
        layout.monitor = {monitor_base, 0x1000};
    }

    /// The OS's translation as the hart holds it (satp, or vsatp and hgatp with V = 1).
    [[nodiscard]] virt::translation_regime regime() {
        virt::translation_regime r;
        r.privilege = how.privilege;
        r.virtualized = how.virtualized;
        r.update_ad = false;
        const u64 status = hw.csr_read(csr::mstatus).value;
        r.satp = how.virtualized ? hw.csr_read(csr::vsatp).value : hw.csr_read(csr::satp).value;
        if (how.virtualized) r.hgatp = hw.csr_read(csr::hgatp).value;
        r.sum = riscv::mstatus::sum::test(status);
        r.mxr = riscv::mstatus::mxr::test(status);
        return r;
    }

    void place_pattern(unsigned flip = 0) {
        for (unsigned i = 0; i < 16; ++i) hw.poke<u8>(window + i, static_cast<u8>(pattern[i] ^ flip));
    }

    /// Runs the emulation of whatever is at `pc`, with `given` bits, from a
    /// clear log; remembers the registers it started from.
    virt::misaligned_outcome emulate(u64 pc, u64 address, u32 given = 0) {
        std::memcpy(before, h.x, sizeof before);
        const virt::translation_regime r = regime();
        hw.log().clear();
        virt::guest_memory<simulated_hart> memory(hw, layout, h, virt::guest_memory<simulated_hart>::side::os, false);
        return virt::emulate_misaligned(memory, r, h, pc, address, given);
    }
    /// The same after placing `instruction` at `pc`.
    virt::misaligned_outcome run(u32 instruction, u64 address, u32 given = 0, u64 pc = code) {
        hw.place_instruction(pc, instruction);
        return emulate(pc, address, given);
    }

    u64 before[32] = {};
};

/// The mode a physical access on behalf of `how` is made with: its privilege,
/// no virtualization (translation is done in software), no MXR.
access_mode physical_mode(const access_mode& how) { return access_mode{how.privilege, false, false}; }

bool same_mode(const access_mode& a, const access_mode& b) {
    return a.privilege == b.privilege && a.virtualized == b.virtualized && a.mxr == b.mxr;
}

/// The data accesses among `events`: made with the OS's privilege (physical),
/// not the M-mode reads of the instruction nor the 8-byte page-table reads.
std::vector<memory_event> data_accesses(const std::vector<memory_event>& events, const access_mode& how) {
    std::vector<memory_event> out;
    for (const auto& e : events)
        if (same_mode(e.how, physical_mode(how)) && !(e.width == 8 && !e.store && how.privilege == privilege::supervisor && e.address >= page_tables && e.address < page_tables + 0x3000))
            out.push_back(e);
    return out;
}

/// The reads of the instruction among `events`: M-mode, 2 bytes each.
std::vector<memory_event> instruction_reads(const std::vector<memory_event>& events) {
    std::vector<memory_event> out;
    for (const auto& e : events)
        if (e.how.privilege == privilege::machine) out.push_back(e);
    return out;
}

/// Checks that the data accesses of `events` are `count` single-byte loads or
/// stores at the physical addresses address, address + 1, ... made with `how`'s
/// privilege; an access that is naturally aligned after all is one access.
void check_byte_accesses(const std::vector<memory_event>& all, bool store, u64 address, unsigned count,
                         const access_mode& how) {
    const auto events = data_accesses(all, how);
    if ((address & (count - 1)) == 0 && (count & (count - 1)) == 0) {
        REQUIRE(events.size() == 1);
        CHECK(events[0].store == store);
        CHECK(events[0].address == address);
        CHECK(events[0].width == count);
        return;
    }
    REQUIRE(events.size() == count);
    for (unsigned i = 0; i < count; ++i) {
        const memory_event& e = events[i];
        CAPTURE(i);
        CHECK(e.store == store);
        CHECK(e.address == address + i);
        CHECK(e.width == 1);
    }
}

/// Checks the two halves (or the one half) of the instruction read back in M-mode at its physical address.
void check_fetch(const std::vector<memory_event>& all, u64 physical_pc, unsigned halves) {
    const auto events = instruction_reads(all);
    REQUIRE(events.size() == halves);
    for (unsigned i = 0; i < halves; ++i) {
        CAPTURE(i);
        CHECK_FALSE(events[i].store);
        CHECK(events[i].address == physical_pc + 2 * i);
        CHECK(events[i].width == 2);
    }
}

/// Every register but `except` as it was before the emulation (x0 still zero).
void check_registers_untouched(const scene& s, unsigned except = 0) {
    CHECK(s.h.x[0] == 0);
    for (unsigned n = 1; n < 32; ++n) {
        if (n == except) continue;
        CAPTURE(n);
        CHECK(s.h.x[n] == s.before[n]);
    }
}

/// The value a load of `width` bytes at `offset` into the pattern (flipped by
/// `flip`) reads: little-endian assembly of the bytes, then the sign bit
/// copied upwards when the load sign-extends.
u64 expected_load(unsigned offset, unsigned width, bool sign_extends, unsigned flip) {
    u64 v = 0;
    for (unsigned i = 0; i < width; ++i) v |= u64{static_cast<u8>(pattern[offset + i] ^ flip)} << (8 * i);
    if (sign_extends && width < 8 && ((v >> (8 * width - 1)) & 1) != 0) v |= ~u64{0} << (8 * width);
    return v;
}

struct load_kind {
    u32 word;
    const char* text;
    unsigned width;
    bool sign_extends;
};
constexpr load_kind loads[] = {
    {lb, "lb", 1, true},  {lbu, "lbu", 1, false}, {lh, "lh", 2, true},  {lhu, "lhu", 2, false},
    {lw, "lw", 4, true},  {lwu, "lwu", 4, false}, {ld, "ld", 8, false},
};

struct store_kind {
    u32 word;
    const char* text;
    unsigned width;
};
constexpr store_kind stores[] = {{sb, "sb", 1}, {sh, "sh", 2}, {sw, "sw", 4}, {sd, "sd", 8}};

}  // namespace

// ---------------------------------------------------------------------------

TEST_CASE("the scene's hart traps misaligned accesses on behalf of S and U", "[misaligned]") {
    scene s;
    CHECK(s.hw.load(as_s, window + 1, 4).cause == 4);
    CHECK(s.hw.store(as_u, window + 3, 2, 0).cause == 6);
    CHECK(s.hw.load(as_u, window + 4, 4).ok);
}

TEST_CASE("loads of every width and signedness at every offset of an 8-byte window", "[misaligned][load]") {
    const access_mode how = GENERATE(as_s, as_u);
    const unsigned flip = GENERATE(0x00u, 0x80u);
    CAPTURE(riscv::name(how.privilege), flip);
    for (const load_kind& k : loads) {
        for (unsigned offset = 1; offset < 8; ++offset) {
            CAPTURE(k.text, offset);
            scene s{how};
            s.place_pattern(flip);
            s.h.x[a0] = window + offset;
            const auto out = s.run(k.word, window + offset);  // instruction fetched through hw.load
            REQUIRE(out.result == status::emulated);
            CHECK(out.length == 4);
            CHECK(s.h.x[a1] == expected_load(offset, k.width, k.sign_extends, flip));
            check_registers_untouched(s, a1);
            CHECK(s.h.pc == code);  // the caller advances pc
            const auto events = s.hw.log().memory_accesses();
            check_fetch(events, code, 2);
            check_byte_accesses(events, false, window + offset, k.width, how);
            for (const auto& e : events) CHECK(e.ok);
        }
    }
}

TEST_CASE("loads: values written out, sign extension of negative halfwords and words", "[misaligned][load]") {
    scene s;
    s.place_pattern();  // 11 82 23 94 35 a6 47 b8 | 59 ca 6b dc 7d ee 0f f0
    const auto load = [&](u32 word, unsigned offset) {
        s.h.x[a0] = window + offset;
        const auto out = s.run(word, window + offset);
        CHECK(out.result == status::emulated);
        return s.h.x[a1];
    };
    CHECK(load(lh, 1) == 0x2382);
    CHECK(load(lh, 7) == 0x59b8);
    CHECK(load(lh, 9) == 0x6bca);
    CHECK(load(lhu, 11) == 0x7ddc);
    CHECK(load(lh, 13) == 0x0fee);
    CHECK(load(lw, 1) == 0x3594'2382);
    CHECK(load(lw, 5) == 0x59b8'47a6);
    CHECK(load(lw, 6) == 0xffff'ffff'ca59'b847);
    CHECK(load(lwu, 6) == 0xca59'b847);
    CHECK(load(lw, 7) == 0x6bca'59b8);
    CHECK(load(ld, 5) == 0x7ddc'6bca'59b8'47a6);
    CHECK(load(ld, 7) == 0x0fee'7ddc'6bca'59b8);
    s.place_pattern(0x80);  // 91 02 a3 14 b5 26 c7 38 | d9 4a eb 5c fd 6e 8f 70
    CHECK(load(lh, 3) == 0xffff'ffff'ffff'b514);
    CHECK(load(lhu, 3) == 0xb514);
    CHECK(load(lw, 3) == 0xffff'ffff'c726'b514);
    CHECK(load(lwu, 3) == 0xc726'b514);
    CHECK(load(lw, 7) == 0xffff'ffff'eb4a'd938);
    CHECK(load(lwu, 7) == 0xeb4a'd938);
    CHECK(load(lb, 7) == 0x38);
    CHECK(load(lb, 8) == 0xffff'ffff'ffff'ffd9);
}

TEST_CASE("loads with offsets, other registers, and the base as destination", "[misaligned][load]") {
    scene s;
    s.place_pattern();
    SECTION("lw a1,-3(a0)") {
        s.h.x[a0] = window + 4;
        const auto out = s.run(lw_m3, window + 1);
        REQUIRE(out.result == status::emulated);
        CHECK(s.h.x[a1] == 0x3594'2382);
        check_registers_untouched(s, a1);
    }
    SECTION("ld t2,2047(s1)") {
        s.h.x[s1] = window + 3 - 2047;
        const auto out = s.run(ld_t2_2047_s1, window + 3);
        REQUIRE(out.result == status::emulated);
        CHECK(s.h.x[t2] == 0x6bca'59b8'47a6'3594);
        check_registers_untouched(s, t2);
    }
    SECTION("lh a1,-2048(a0)") {
        s.h.x[a0] = window + 2048 + 9;
        const auto out = s.run(lh_m2048, window + 9);
        REQUIRE(out.result == status::emulated);
        CHECK(s.h.x[a1] == 0x6bca);
    }
    SECTION("ld a1,0(a1): the address comes from a1 before the load writes it") {
        s.h.x[a1] = window + 1;
        const auto out = s.run(ld_a1_a1, window + 1);
        REQUIRE(out.result == status::emulated);
        CHECK(s.h.x[a1] == 0x59b8'47a6'3594'2382);
        check_registers_untouched(s, a1);
    }
}

TEST_CASE("a load into x0 performs the access but writes nothing", "[misaligned][load][x0]") {
    scene s;
    s.place_pattern();
    s.h.x[a0] = window + 3;
    SECTION("lw zero,0(a0)") {
        const auto out = s.run(lw_zero, window + 3);
        REQUIRE(out.result == status::emulated);
        CHECK(out.length == 4);
        check_registers_untouched(s);
        const auto events = s.hw.log().memory_accesses();
        check_fetch(events, code, 2);
        check_byte_accesses(events, false, window + 3, 4, as_s);
    }
    SECTION("ld zero,0(a0) with the bits given") {
        const auto out = s.run(ld_zero, window + 3, ld_zero);
        REQUIRE(out.result == status::emulated);
        check_registers_untouched(s);
        const auto events = s.hw.log().memory_accesses();
        CHECK(instruction_reads(events).empty());
        check_byte_accesses(events, false, window + 3, 8, as_s);
    }
    SECTION("lh zero,0(a0) still faults") {
        s.hw.inject_fault(window + 4, 1, riscv::exception::load_access_fault, host::fault_on::loads);
        const auto out = s.run(lh_zero, window + 3);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 5);
        CHECK(out.tval == window + 4);
        check_registers_untouched(s);
    }
}

TEST_CASE("stores of every width at every offset leave the neighbouring bytes alone", "[misaligned][store]") {
    const access_mode how = GENERATE(as_s, as_u);
    CAPTURE(riscv::name(how.privilege));
    for (const store_kind& k : stores) {
        for (unsigned offset = 1; offset < 8; ++offset) {
            CAPTURE(k.text, offset);
            scene s{how};
            for (unsigned i = 0; i < 32; ++i) s.hw.poke<u8>(window - 8 + i, 0xe7);
            s.h.x[a0] = window + offset;
            s.h.x[a1] = 0x8877'6655'4433'2211;
            const auto out = s.run(k.word, window + offset);
            REQUIRE(out.result == status::emulated);
            CHECK(out.length == 4);
            check_registers_untouched(s);
            CHECK(s.h.x[a0] == window + offset);
            // Bytes [offset, offset + width) hold 11 22 33 ...; every other byte is still e7.
            for (unsigned i = 0; i < 32; ++i) {
                const u64 at = window - 8 + i;
                const bool written = at >= window + offset && at < window + offset + k.width;
                const u8 expected = written ? static_cast<u8>(0x11 * (at - window - offset + 1)) : u8{0xe7};
                CAPTURE(i);
                CHECK(s.hw.peek<u8>(at) == expected);
            }
            const auto events = s.hw.log().memory_accesses();
            check_fetch(events, code, 2);
            check_byte_accesses(events, true, window + offset, k.width, how);
            const auto data = data_accesses(events, how);
            if (data.size() == k.width)
                for (unsigned i = 0; i < k.width; ++i) CHECK(data[i].value == 0x11 * (i + 1));
        }
    }
}

TEST_CASE("stores with offsets and of the base register itself", "[misaligned][store]") {
    scene s;
    SECTION("sd a1,-5(a0)") {
        s.h.x[a0] = window + 6;
        s.h.x[a1] = 0x0102'0304'0506'0708;
        const auto out = s.run(sd_m5, window + 1);
        REQUIRE(out.result == status::emulated);
        CHECK(s.hw.peek<u64>(window) == 0x0203'0405'0607'0800);
        CHECK(s.hw.peek<u64>(window + 8) == 0x01);
    }
    SECTION("sw t0,2047(s1)") {
        s.h.x[s1] = window + 2 - 2047;
        s.h.x[t0] = 0xdead'beef;
        const auto out = s.run(sw_t0_2047_s1, window + 2);
        REQUIRE(out.result == status::emulated);
        CHECK(s.hw.peek<u64>(window) == 0x0000'dead'beef'0000);
    }
    SECTION("sh a1,-2048(a0)") {
        s.h.x[a0] = window + 2048 + 7;
        s.h.x[a1] = 0xabcd;
        const auto out = s.run(sh_m2048, window + 7);
        REQUIRE(out.result == status::emulated);
        CHECK(s.hw.peek<u64>(window) == 0xcd00'0000'0000'0000);
        CHECK(s.hw.peek<u64>(window + 8) == 0xab);
    }
    SECTION("sw zero,0(a0) stores zeros") {
        s.hw.poke<u64>(window, ~u64{0});
        s.h.x[a0] = window + 3;
        const auto out = s.run(sw_zero, window + 3);
        REQUIRE(out.result == status::emulated);
        CHECK(s.hw.peek<u64>(window) == 0xff00'0000'00ff'ffff);
    }
    SECTION("sd a0,0(a0) stores its own address") {
        s.h.x[a0] = 0x8000'8003;
        const auto out = s.run(sd_a0_a0, 0x8000'8003);
        REQUIRE(out.result == status::emulated);
        // 03 80 00 80 00 00 00 00 from window + 3 on.
        CHECK(s.hw.peek<u64>(window) == 0x0080'0080'0300'0000);
        CHECK(s.hw.peek<u64>(window + 8) == 0);
        check_registers_untouched(s);
    }
}

TEST_CASE("compressed loads and stores, sp-relative with large offsets, and Zcb", "[misaligned][compressed]") {
    scene s;
    s.place_pattern();  // 11 82 23 94 35 a6 47 b8 | 59 ca 6b dc 7d ee 0f f0
    const auto check_emulated = [](const virt::misaligned_outcome& out) {
        REQUIRE(out.result == status::emulated);
        CHECK(out.length == 2);
    };
    SECTION("c.lw a1,124(a0): sign-extends") {
        s.h.x[a0] = window + 6 - 124;
        check_emulated(s.run(c_lw_124, window + 6));
        CHECK(s.h.x[a1] == 0xffff'ffff'ca59'b847);
        check_registers_untouched(s, a1);
    }
    SECTION("c.ld a1,248(a0)") {
        s.h.x[a0] = window + 1 - 248;
        check_emulated(s.run(c_ld_248, window + 1));
        CHECK(s.h.x[a1] == 0x59b8'47a6'3594'2382);
        check_registers_untouched(s, a1);
    }
    SECTION("c.ld a1,0(a0): the one-halfword fetch reads one halfword") {
        s.h.x[a0] = window + 7;
        check_emulated(s.run(c_ld_0, window + 7));
        CHECK(s.h.x[a1] == 0x0fee'7ddc'6bca'59b8);
        const auto events = s.hw.log().memory_accesses();
        check_fetch(events, code, 1);
        check_byte_accesses(events, false, window + 7, 8, as_s);
    }
    SECTION("c.lwsp a1,252(sp)") {
        s.h.x[sp] = window + 3 - 252;
        check_emulated(s.run(c_lwsp_252, window + 3));
        CHECK(s.h.x[a1] == 0x47a6'3594);
        check_registers_untouched(s, a1);
    }
    SECTION("c.ldsp a1,504(sp)") {
        s.h.x[sp] = window + 6 - 504;
        check_emulated(s.run(c_ldsp_504, window + 6));
        CHECK(s.h.x[a1] == 0xee7d'dc6b'ca59'b847);
    }
    SECTION("c.sw a1,124(a0)") {
        s.h.x[a0] = window + 1 - 124;
        s.h.x[a1] = 0xffff'ffff'a1b2'c3d4;
        check_emulated(s.run(c_sw_124, window + 1));
        CHECK(s.hw.peek<u64>(window) == 0xb847'a6a1'b2c3'd411);
    }
    SECTION("c.sd a1,248(a0)") {
        s.h.x[a0] = window + 4 - 248;
        s.h.x[a1] = 0x0102'0304'0506'0708;
        check_emulated(s.run(c_sd_248, window + 4));
        CHECK(s.hw.peek<u64>(window) == 0x0506'0708'9423'8211);
        CHECK(s.hw.peek<u64>(window + 8) == 0xf00f'ee7d'0102'0304);
    }
    SECTION("c.swsp a1,252(sp)") {
        s.h.x[sp] = window + 7 - 252;
        s.h.x[a1] = 0x1234'5678;
        check_emulated(s.run(c_swsp_252, window + 7));
        CHECK(s.hw.peek<u64>(window) == 0x7847'a635'9423'8211);
        CHECK(s.hw.peek<u64>(window + 8) == 0xf00f'ee7d'dc12'3456);
    }
    SECTION("c.sdsp a1,504(sp)") {
        s.h.x[sp] = window + 2 - 504;
        s.h.x[a1] = 0xa0a1'a2a3'a4a5'a6a7;
        check_emulated(s.run(c_sdsp_504, window + 2));
        CHECK(s.hw.peek<u64>(window) == 0xa2a3'a4a5'a6a7'8211);
        CHECK(s.hw.peek<u64>(window + 8) == 0xf00f'ee7d'dc6b'a0a1);
    }
    SECTION("Zcb c.lh a1,2(a0): sign-extends") {
        s.place_pattern(0x80);  // ... | d9 4a eb 5c ...
        s.h.x[a0] = window + 7;
        check_emulated(s.run(c_lh_2, window + 9));
        CHECK(s.h.x[a1] == 0xffff'ffff'ffff'eb4a);
    }
    SECTION("Zcb c.lhu a1,2(a0)") {
        s.h.x[a0] = window + 5;
        check_emulated(s.run(c_lhu_2, window + 7));
        CHECK(s.h.x[a1] == 0x59b8);
        check_registers_untouched(s, a1);
    }
    SECTION("Zcb c.sh a1,2(a0)") {
        s.h.x[a0] = window + 1;
        s.h.x[a1] = 0xffff'beef;
        check_emulated(s.run(c_sh_2, window + 3));
        CHECK(s.hw.peek<u64>(window) == 0xb847'a6be'ef23'8211);
    }
    SECTION("Zcb c.lbu a1,3(a0) and c.sb a1,1(a0): bytes, handled uniformly") {
        s.h.x[a0] = window;
        check_emulated(s.run(c_lbu_3, window + 3));
        CHECK(s.h.x[a1] == 0x94);
        s.h.x[a1] = 0x77;
        check_emulated(s.run(c_sb_1, window + 1));
        CHECK(s.hw.peek<u8>(window + 1) == 0x77);
        CHECK(s.hw.peek<u8>(window + 2) == 0x23);
    }
}

TEST_CASE("given instruction bits are used instead of memory", "[misaligned]") {
    scene s;
    s.place_pattern();
    s.h.x[a0] = window + 1;
    // memory at pc holds lw; the caller says lh: a halfword is loaded, nothing is fetched.
    const auto out = s.run(lw, window + 1, lh);
    REQUIRE(out.result == status::emulated);
    CHECK(s.h.x[a1] == 0x2382);
    const auto events = s.hw.log().memory_accesses();
    CHECK(instruction_reads(events).empty());
    check_byte_accesses(events, false, window + 1, 2, as_s);
    SECTION("a compressed one: length 2") {
        s.h.x[a0] = window + 3 - 248;
        const auto c = s.run(lw, window + 3, c_ld_248);
        REQUIRE(c.result == status::emulated);
        CHECK(c.length == 2);
        CHECK(s.h.x[a1] == 0x6bca'59b8'47a6'3594);
    }
}

TEST_CASE("faults part-way: the first failing byte, registers unchanged", "[misaligned][fault]") {
    scene s;
    s.place_pattern();
    s.h.x[a0] = window + 1;
    SECTION("an injected load access fault") {
        s.hw.inject_fault(window + 3, 1, riscv::exception::load_access_fault, host::fault_on::loads);
        const auto out = s.run(ld, window + 1);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 5);
        CHECK(out.tval == window + 3);
        check_registers_untouched(s);
        const auto events = s.hw.log().memory_accesses();
        const auto data = data_accesses(events, as_s);
        REQUIRE(data.size() == 3);  // +1, +2, then +3 faults: nothing after it
        CHECK(data[2].address == window + 3);
        CHECK_FALSE(data[2].ok);
    }
    SECTION("a PMP access fault: the second half of the window is denied to S") {
        // Entry 0 (matched first): NA4 over [window + 8, +4), no permissions (A = NA4: 0x10);
        // entry 1: everything (3.7.1).
        REQUIRE(s.hw.poke_csr(csr::pmpaddr0, (window + 8) >> 2));
        REQUIRE(s.hw.poke_csr(csr::pmpaddr1, ~u64{0} >> 10));
        REQUIRE(s.hw.poke_csr(csr::pmpcfg0, 0x1f'10));
        s.h.x[a0] = window + 5;
        const auto out = s.run(lw, window + 5);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 5);
        CHECK(out.tval == window + 8);
        check_registers_untouched(s);
    }
    SECTION("an injected store access fault: the bytes below it were written") {
        s.hw.inject_fault(window + 4, 1, riscv::exception::store_access_fault, host::fault_on::stores);
        s.h.x[a1] = 0x0102'0304'0506'0708;
        const auto out = s.run(sd, window + 1);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 7);
        CHECK(out.tval == window + 4);
        check_registers_untouched(s);
        // 11 [08 07 06] 35 a6 47 b8 | 59 ...: bytes 1..3 written, 4.. untouched.
        CHECK(s.hw.peek<u64>(window) == 0xb847'a635'0607'0811);
        CHECK(s.hw.peek<u64>(window + 8) == 0xf00f'ee7d'dc6b'ca59);
    }
}

TEST_CASE("floating-point loads and stores are not handled", "[misaligned][fp]") {
    const u32 word = GENERATE(flw, fld, fsw, fsd, c_fld, c_fsd, c_fldsp, c_fsdsp);
    CAPTURE(word);
    scene s;
    s.place_pattern();
    s.h.x[a0] = window + 1 - ((word & 3) == 3 ? 0 : 8);
    s.h.x[sp] = window + 1 - 8;
    SECTION("fetched") {
        const auto out = s.run(word, window + 1);
        CHECK(out.result == status::not_handled);
        check_registers_untouched(s);
        CHECK(data_accesses(s.hw.log().memory_accesses(), s.how).empty());  // only the instruction read
    }
    SECTION("given") {
        const auto out = s.run(word, window + 1, word);
        CHECK(out.result == status::not_handled);
        CHECK(s.hw.log().empty());
    }
    CHECK(s.hw.peek<u64>(window) == 0xb847'a635'9423'8211);
}

TEST_CASE("what is not an integer load or store is not handled", "[misaligned]") {
    const u32 word = GENERATE(amoadd_w, lr_d, sc_w, addi, c_addi, c_lwsp_x0);
    CAPTURE(word);
    scene s;
    s.place_pattern();
    s.h.x[a0] = window + 1;
    s.h.x[sp] = window + 1;
    const auto out = s.run(word, window + 1);
    CHECK(out.result == status::not_handled);
    check_registers_untouched(s);
    CHECK(data_accesses(s.hw.log().memory_accesses(), s.how).empty());
    CHECK(s.hw.peek<u64>(window) == 0xb847'a635'9423'8211);
}

TEST_CASE("an all-zero halfword at pc (illegal) is not handled", "[misaligned]") {
    scene s;
    s.h.x[a0] = window + 1;
    const auto out = s.emulate(code, window + 1);
    CHECK(out.result == status::not_handled);
    CHECK(s.hw.log().memory_accesses().size() == 1);
}

TEST_CASE("an effective address other than the faulting one is not handled", "[misaligned]") {
    scene s;
    s.place_pattern();
    s.h.x[a0] = window + 1;
    SECTION("load") {
        const auto out = s.run(lw, window + 2);
        CHECK(out.result == status::not_handled);
        check_registers_untouched(s);
    }
    SECTION("store") {
        s.h.x[a1] = 0;
        const auto out = s.run(sd, window + 3, sd);
        CHECK(out.result == status::not_handled);
        CHECK(s.hw.peek<u64>(window) == 0xb847'a635'9423'8211);
    }
    SECTION("an offset not applied is not the address either") {
        s.h.x[a0] = window + 3;
        CHECK(s.run(lw_m3, window + 3).result == status::not_handled);
    }
    CHECK(data_accesses(s.hw.log().memory_accesses(), s.how).empty());  // nothing but the instruction read
}

// ---------------------------------------------------------------------------
// Sv39: S and U with translation
// ---------------------------------------------------------------------------
namespace {

// Page tables (priv. spec 4.4): root 0x80100000 -> level 1 at 0x80101000 ->
// level 0 at 0x80102000, covering VA 0 .. 2 MiB with 4 KiB pages.
constexpr u64 root = 0x8010'0000;
constexpr u64 satp_sv39 = (u64{8} << 60) | (root >> 12);
// PTE bits: V 0x01, R 0x02, W 0x04, X 0x08, U 0x10, A 0x40, D 0x80.
constexpr u64 data_flags_s = 0xc7;  // V R W A D
constexpr u64 code_flags_s = 0x49;  // V X A: execute-only
constexpr u64 data_flags_u = 0xd7;  // V R W U A D
constexpr u64 code_flags_u = 0x59;  // V X U A

struct page {
    u64 va;
    u64 pa;
    u64 flags;
};
// VA 0x10000: S data; 0x11000 unmapped. VA 0x20000: S code (execute-only); 0x21000 unmapped.
// VA 0x30000: U data; 0x31000 unmapped. VA 0x40000: U code; 0x41000 unmapped.
constexpr page pages[] = {
    {0x1'0000, 0x8020'0000, data_flags_s},
    {0x2'0000, 0x8021'0000, code_flags_s},
    {0x3'0000, 0x8022'0000, data_flags_u},
    {0x4'0000, 0x8023'0000, code_flags_u},
};

void map_sv39(simulated_hart& hw) {
    hw.poke<u64>(root, ((root + 0x1000) >> 12 << 10) | 1);
    hw.poke<u64>(root + 0x1000, ((root + 0x2000) >> 12 << 10) | 1);
    for (const page& p : pages) hw.poke<u64>(root + 0x2000 + 8 * (p.va >> 12), (p.pa >> 12 << 10) | p.flags);
    REQUIRE(hw.poke_csr(csr::satp, satp_sv39));
}

}  // namespace

TEST_CASE("Sv39: an access that crosses into an unmapped page", "[misaligned][sv39]") {
    const access_mode how = GENERATE(as_s, as_u);
    const bool user = how.privilege == privilege::user;
    CAPTURE(riscv::name(how.privilege));
    const u64 data_va = user ? 0x3'0000 : 0x1'0000;
    const u64 data_pa = user ? 0x8022'0000 : 0x8020'0000;
    const u64 code_va = user ? 0x4'0000 : 0x2'0000;
    const u64 code_pa = user ? 0x8023'0000 : 0x8021'0000;
    scene s{how};
    map_sv39(s.hw);
    for (unsigned i = 0; i < 16; ++i) s.hw.poke<u8>(data_pa + 0xff0 + i, pattern[i]);
    // The instruction is read through the OS's translation: it sits at code_pa, runs at code_va.
    const auto run = [&](u32 word, u64 address) {
        s.hw.place_instruction(code_pa + 0x100, word);
        return s.emulate(code_va + 0x100, address);
    };

    SECTION("inside the page: translated, fetched from an execute-only page") {
        s.h.x[a0] = data_va + 0xff1;
        const auto out = run(ld, data_va + 0xff1);
        REQUIRE(out.result == status::emulated);
        CHECK(s.h.x[a1] == 0x59b8'47a6'3594'2382);
        const auto events = s.hw.log().memory_accesses();
        check_fetch(events, code_pa + 0x100, 2);  // read back at its physical address
        check_byte_accesses(events, false, data_pa + 0xff1, 8, how);
    }
    SECTION("a load: page fault at the first address of the unmapped page, nothing read") {
        s.h.x[a0] = data_va + 0xffd;
        const auto out = run(ld, data_va + 0xffd);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 13);
        CHECK(out.tval == data_va + 0x1000);
        check_registers_untouched(s);
        // Every page is translated before any byte is accessed.
        CHECK(data_accesses(s.hw.log().memory_accesses(), how).empty());
    }
    SECTION("a store: page fault there, nothing written (every page translated first)") {
        s.h.x[a0] = data_va + 0xffe;
        s.h.x[a1] = 0x0102'0304'0506'0708;
        s.hw.poke<u16>(data_pa + 0xffe, 0xe7e7);
        const auto out = run(sw, data_va + 0xffe);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 15);
        CHECK(out.tval == data_va + 0x1000);
        check_registers_untouched(s);
        CHECK(s.hw.peek<u16>(data_pa + 0xffe) == 0xe7e7);
    }
    SECTION("a load from the execute-only page: data accesses do not get MXR") {
        s.h.x[a0] = code_va + 0x201;
        const auto out = run(lh, code_va + 0x201);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 13);
        CHECK(out.tval == code_va + 0x201);
        check_registers_untouched(s);
    }
    SECTION("with mstatus.MXR, the execute-only page is readable (priv. spec 4.3.1)") {
        REQUIRE(s.hw.poke_csr(csr::mstatus, s.hw.csr_read(csr::mstatus).value | riscv::mstatus::mxr::mask));
        s.hw.poke<u16>(code_pa + 0x201, 0x1234);
        s.h.x[a0] = code_va + 0x201;
        const auto out = run(lhu, code_va + 0x201);
        REQUIRE(out.result == status::emulated);
        CHECK(s.h.x[a1] == 0x1234);
    }
    SECTION("a 32-bit instruction whose second half lies in an unmapped page: instruction page fault") {
        s.hw.poke<u16>(code_pa + 0xffe, static_cast<u16>(ld));  // the low half only
        s.h.x[a0] = data_va + 0xff1;
        const auto out = s.emulate(code_va + 0xffe, data_va + 0xff1);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 12);
        CHECK(out.tval == code_va + 0x1000);
        check_registers_untouched(s);
        const auto events = s.hw.log().memory_accesses();
        CHECK(data_accesses(events, how).empty());  // no data access
        check_fetch(events, code_pa + 0xffe, 1);
    }
    SECTION("a compressed instruction in the last halfword of the page reads only that halfword") {
        s.hw.place_instruction(code_pa + 0xffe, c_ld_0);
        s.h.x[a0] = data_va + 0xff3;
        const auto out = s.emulate(code_va + 0xffe, data_va + 0xff3);
        REQUIRE(out.result == status::emulated);
        CHECK(out.length == 2);
        CHECK(s.h.x[a1] == 0x6bca'59b8'47a6'3594);
        const auto events = s.hw.log().memory_accesses();
        check_fetch(events, code_pa + 0xffe, 1);
        check_byte_accesses(events, false, data_pa + 0xff3, 8, how);
    }
    SECTION("pc in an unmapped page: instruction page fault at pc") {
        s.h.x[a0] = data_va + 0xff1;
        const auto out = s.emulate(code_va + 0x1000, data_va + 0xff1);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 12);
        CHECK(out.tval == code_va + 0x1000);
        CHECK(instruction_reads(s.hw.log().memory_accesses()).empty());
    }
    SECTION("the other mode's pages fault") {
        const u64 other = user ? 0x1'0000 : 0x3'0000;  // S page for U; U page for S without SUM
        s.h.x[a0] = other + 0x11;
        const auto out = run(lw, other + 0x11);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 13);
        CHECK(out.tval == other + 0x11);
    }
}

TEST_CASE("reading the instruction: faults become instruction faults", "[misaligned][fetch]") {
    scene s;
    s.h.x[a0] = window + 1;
    s.hw.place_instruction(code, lw);
    SECTION("an access fault reading the second half -> instruction access fault (1) there") {
        s.hw.inject_fault(code + 2, 2, riscv::exception::load_access_fault, host::fault_on::loads);
        const auto out = s.emulate(code, window + 1);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 1);
        CHECK(out.tval == code + 2);
        check_registers_untouched(s);
        CHECK(instruction_reads(s.hw.log().memory_accesses()).size() == 2);
    }
    SECTION("pc in the monitor's memory: refused by the guard, instruction access fault at pc, nothing read") {
        s.h.x[a0] = window + 1;
        s.hw.place_instruction(monitor_base + 0x10, lw);
        const auto out = s.emulate(monitor_base + 0x10, window + 1);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 1);
        CHECK(out.tval == monitor_base + 0x10);
        CHECK(s.hw.log().memory_accesses().empty());
    }
    SECTION("given bits need no read: a fault there does not matter") {
        s.hw.inject_fault(code, 4, riscv::exception::load_access_fault, host::fault_on::loads);
        const auto out = s.emulate(code, window + 1, lw);
        CHECK(out.result == status::emulated);
    }
}

TEST_CASE("H extension: VS-mode accesses and guest page faults", "[misaligned][h]") {
    scene s{as_vs, trapping(hart_config::full())};
    s.place_pattern();
    s.h.x[a0] = window + 5;
    SECTION("emulated with V = 1, vsatp and hgatp Bare") {
        const auto out = s.run(ld, window + 5);
        REQUIRE(out.result == status::emulated);
        CHECK(s.h.x[a1] == 0x7ddc'6bca'59b8'47a6);
        const auto events = s.hw.log().memory_accesses();
        check_fetch(events, code, 2);
        check_byte_accesses(events, false, window + 5, 8, as_vs);
    }
    SECTION("G-stage (Sv39x4) without the window's second page: load guest page fault (21), mtval2 = GPA >> 2") {
        // Root 16 KiB at 0x80110000: entry 2 (GPA 0x80000000, 1 GiB) -> level 1 at 0x80114000 ->
        // level 0 at 0x80115000 mapping GPA 0x80004000 (code) and 0x80008000 (the window's
        // first half) 1:1, U R W X A D; 0x80009000 unmapped.
        constexpr u64 g_root = 0x8011'0000;
        s.hw.poke<u64>(g_root + 8 * 2, ((g_root + 0x4000) >> 12 << 10) | 1);
        s.hw.poke<u64>(g_root + 0x4000, ((g_root + 0x5000) >> 12 << 10) | 1);
        for (u64 gpa : {u64{0x8000'4000}, u64{0x8000'8000}})
            s.hw.poke<u64>(g_root + 0x5000 + 8 * ((gpa >> 12) & 0x1ff), (gpa >> 12 << 10) | 0xdf);
        REQUIRE(s.hw.poke_csr(csr::hgatp, (u64{8} << 60) | (g_root >> 12)));
        s.h.x[a0] = window + 0xffd;
        const auto out = s.run(ld, window + 0xffd);
        REQUIRE(out.result == status::fault);
        CHECK(out.cause == 21);
        CHECK(out.tval == window + 0x1000);
        CHECK(out.tval2 == (window + 0x1000) >> 2);
        check_registers_untouched(s);
    }
}
