// SPDX-License-Identifier: MIT
// Test support for the engine's unit tests: instruction encoders written from
// the unprivileged spec, the hart configurations the tests run on, and a
// simulated machine (board + harts + monitor) that plays the guest exactly as
// the hardware would: it places each instruction at the guest's pc, raises
// the trap a real hart raises for it (illegal instruction with the bits in
// mtval, an access fault with the address in mtval, ...), runs the monitor's
// trap path the way the metal trap vector does (fast_trap, then handle_trap),
// resumes, and takes any interrupt that is then pending and enabled.
//
// Nothing here computes an expected value: the tests compare with literals.
#pragma once

#include <csetjmp>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <vfm/host/board.hpp>
#include <vfm/host/simulated_hart.hpp>
#include <vfm/monitor.hpp>

#include "vfm_catch.hpp"

namespace vt {

using namespace vfm;
using riscv::csr;
using riscv::privilege;

// ---------------------------------------------------------------------------
// Instruction encodings (unpriv. spec 2.2 base formats, 2.6 loads and stores,
// 9.1 Zicsr, 16.3-16.4 RVC; priv. spec 3.3 and 4.2.1 for the privileged ones).
// ---------------------------------------------------------------------------
namespace enc {

inline constexpr u32 system = 0x73;

/// A Zicsr instruction: csr[31:20] rs1/uimm[19:15] funct3[14:12] rd[11:7] 1110011.
[[nodiscard]] constexpr u32 csr_insn(u32 funct3, unsigned rd, u16 number, unsigned rs1) noexcept {
    return (u32{number} << 20) | ((rs1 & 31) << 15) | (funct3 << 12) | ((rd & 31) << 7) | system;
}
[[nodiscard]] constexpr u32 csrrw(unsigned rd, csr n, unsigned rs1) noexcept { return csr_insn(1, rd, static_cast<u16>(n), rs1); }
[[nodiscard]] constexpr u32 csrrs(unsigned rd, csr n, unsigned rs1) noexcept { return csr_insn(2, rd, static_cast<u16>(n), rs1); }
[[nodiscard]] constexpr u32 csrrc(unsigned rd, csr n, unsigned rs1) noexcept { return csr_insn(3, rd, static_cast<u16>(n), rs1); }
[[nodiscard]] constexpr u32 csrrwi(unsigned rd, csr n, unsigned uimm) noexcept { return csr_insn(5, rd, static_cast<u16>(n), uimm); }
[[nodiscard]] constexpr u32 csrrsi(unsigned rd, csr n, unsigned uimm) noexcept { return csr_insn(6, rd, static_cast<u16>(n), uimm); }
[[nodiscard]] constexpr u32 csrrci(unsigned rd, csr n, unsigned uimm) noexcept { return csr_insn(7, rd, static_cast<u16>(n), uimm); }
/// The same with a raw CSR number (for numbers outside the table).
[[nodiscard]] constexpr u32 csrrs_n(unsigned rd, u16 n, unsigned rs1) noexcept { return csr_insn(2, rd, n, rs1); }
[[nodiscard]] constexpr u32 csrrw_n(unsigned rd, u16 n, unsigned rs1) noexcept { return csr_insn(1, rd, n, rs1); }

inline constexpr u32 ecall = 0x0000'0073;
inline constexpr u32 ebreak = 0x0010'0073;
inline constexpr u32 sret = 0x1020'0073;
inline constexpr u32 mret = 0x3020'0073;
inline constexpr u32 wfi = 0x1050'0073;
/// sfence.vma rs1, rs2: 0001001 rs2 rs1 000 00000 1110011.
[[nodiscard]] constexpr u32 sfence_vma(unsigned rs1, unsigned rs2) noexcept {
    return (0x09u << 25) | ((rs2 & 31) << 20) | ((rs1 & 31) << 15) | system;
}
/// hfence.gvma rs1, rs2 (H ext.): 0110001 rs2 rs1 000 00000 1110011.
[[nodiscard]] constexpr u32 hfence_gvma(unsigned rs1, unsigned rs2) noexcept {
    return (0x31u << 25) | ((rs2 & 31) << 20) | ((rs1 & 31) << 15) | system;
}
/// hlv.w rd, (rs1) (H ext. 9.3.1): 0110100 00000 rs1 100 rd 1110011.
[[nodiscard]] constexpr u32 hlv_w(unsigned rd, unsigned rs1) noexcept {
    return (0x34u << 25) | ((rs1 & 31) << 15) | (4u << 12) | ((rd & 31) << 7) | system;
}

/// A load or store as the guest executes it: its encoding and what it does.
struct mem_op {
    u32 bits = 0;
    unsigned length = 4;  ///< instruction length in bytes
    unsigned width = 4;   ///< access width in bytes
    bool store = false;
    bool sign = false;    ///< loads: sign-extend
    unsigned data = 0;    ///< rd of a load, rs2 of a store
    unsigned base = 0;    ///< rs1
    i64 offset = 0;
};

/// I-type load: imm[11:0] rs1 funct3 rd 0000011 (funct3: lb 0, lh 1, lw 2, ld 3, lbu 4, lhu 5, lwu 6).
[[nodiscard]] constexpr mem_op load(u32 funct3, unsigned rd, unsigned rs1, i32 offset) noexcept {
    mem_op op;
    op.bits = (static_cast<u32>(offset & 0xfff) << 20) | ((rs1 & 31) << 15) | (funct3 << 12) | ((rd & 31) << 7) | 0x03;
    op.width = 1u << (funct3 & 3);
    op.sign = funct3 < 3;
    op.data = rd;
    op.base = rs1;
    op.offset = offset;
    return op;
}
/// S-type store: imm[11:5] rs2 rs1 funct3 imm[4:0] 0100011 (funct3: sb 0, sh 1, sw 2, sd 3).
[[nodiscard]] constexpr mem_op store(u32 funct3, unsigned rs2, unsigned rs1, i32 offset) noexcept {
    mem_op op;
    const u32 imm = static_cast<u32>(offset & 0xfff);
    op.bits = ((imm >> 5) << 25) | ((rs2 & 31) << 20) | ((rs1 & 31) << 15) | (funct3 << 12) | ((imm & 31) << 7) | 0x23;
    op.width = 1u << funct3;
    op.store = true;
    op.data = rs2;
    op.base = rs1;
    op.offset = offset;
    return op;
}
[[nodiscard]] constexpr mem_op lb(unsigned rd, unsigned rs1, i32 off) noexcept { return load(0, rd, rs1, off); }
[[nodiscard]] constexpr mem_op lh(unsigned rd, unsigned rs1, i32 off) noexcept { return load(1, rd, rs1, off); }
[[nodiscard]] constexpr mem_op lw(unsigned rd, unsigned rs1, i32 off) noexcept { return load(2, rd, rs1, off); }
[[nodiscard]] constexpr mem_op ld(unsigned rd, unsigned rs1, i32 off) noexcept { return load(3, rd, rs1, off); }
[[nodiscard]] constexpr mem_op lwu(unsigned rd, unsigned rs1, i32 off) noexcept { return load(6, rd, rs1, off); }
[[nodiscard]] constexpr mem_op sb(unsigned rs2, unsigned rs1, i32 off) noexcept { return store(0, rs2, rs1, off); }
[[nodiscard]] constexpr mem_op sh(unsigned rs2, unsigned rs1, i32 off) noexcept { return store(1, rs2, rs1, off); }
[[nodiscard]] constexpr mem_op sw(unsigned rs2, unsigned rs1, i32 off) noexcept { return store(2, rs2, rs1, off); }
[[nodiscard]] constexpr mem_op sd(unsigned rs2, unsigned rs1, i32 off) noexcept { return store(3, rs2, rs1, off); }

/// C.LW / C.SW (RVC quadrant 0): funct3 uimm[5:3] rs1' uimm[2|6] rd'/rs2' 00; x8..x15 only.
[[nodiscard]] constexpr mem_op c_word(bool is_store, unsigned reg, unsigned base, unsigned offset) noexcept {
    mem_op op;
    op.bits = ((is_store ? 6u : 2u) << 13) | (((offset >> 3) & 7) << 10) | (((base - 8) & 7) << 7) |
              (((offset >> 2) & 1) << 6) | (((offset >> 6) & 1) << 5) | (((reg - 8) & 7) << 2);
    op.length = 2;
    op.width = 4;
    op.store = is_store;
    op.sign = !is_store;
    op.data = reg;
    op.base = base;
    op.offset = offset;
    return op;
}
[[nodiscard]] constexpr mem_op c_lw(unsigned rd, unsigned rs1, unsigned off) noexcept { return c_word(false, rd, rs1, off); }
[[nodiscard]] constexpr mem_op c_sw(unsigned rs2, unsigned rs1, unsigned off) noexcept { return c_word(true, rs2, rs1, off); }
/// C.LD / C.SD: funct3 uimm[5:3] rs1' uimm[7:6] rd'/rs2' 00.
[[nodiscard]] constexpr mem_op c_double(bool is_store, unsigned reg, unsigned base, unsigned offset) noexcept {
    mem_op op;
    op.bits = ((is_store ? 7u : 3u) << 13) | (((offset >> 3) & 7) << 10) | (((base - 8) & 7) << 7) |
              (((offset >> 6) & 3) << 5) | (((reg - 8) & 7) << 2);
    op.length = 2;
    op.width = 8;
    op.store = is_store;
    op.data = reg;
    op.base = base;
    op.offset = offset;
    return op;
}
[[nodiscard]] constexpr mem_op c_ld(unsigned rd, unsigned rs1, unsigned off) noexcept { return c_double(false, rd, rs1, off); }
[[nodiscard]] constexpr mem_op c_sd(unsigned rs2, unsigned rs1, unsigned off) noexcept { return c_double(true, rs2, rs1, off); }

// Encodings checked against the GNU assembler (riscv64-unknown-elf-as + objdump).
static_assert(csrrs(10, csr::mstatus, 0) == 0x3000'2573);  // csrr a0, mstatus
static_assert(csrrw(0, csr::mtvec, 5) == 0x3052'9073);     // csrw mtvec, t0
static_assert(csrrsi(0, csr::mstatus, 8) == 0x3004'6073);  // csrsi mstatus, 8
static_assert(csrrci(0, csr::mie, 0) == 0x3040'7073);      // csrci mie, 0
static_assert(lw(10, 11, 0).bits == 0x0005'a503);          // lw a0, 0(a1)
static_assert(sd(10, 11, 8).bits == 0x00a5'b423);          // sd a0, 8(a1)
static_assert(ld(10, 11, -8).bits == 0xff85'b503);         // ld a0, -8(a1)
static_assert(c_lw(10, 11, 0).bits == 0x4188);             // c.lw a0, 0(a1)
static_assert(c_sw(10, 11, 4).bits == 0xc1c8);             // c.sw a0, 4(a1)
static_assert(c_ld(10, 11, 8).bits == 0x6588);             // c.ld a0, 8(a1)
static_assert(sfence_vma(0, 0) == 0x1200'0073);            // sfence.vma
static_assert(hlv_w(10, 11) == 0x6805'c573);               // hlv.w a0, (a1)

}  // namespace enc

// ---------------------------------------------------------------------------
// Hart configurations. Each has a column in the expectation tables.
// ---------------------------------------------------------------------------

/// Identity registers of every configuration (read-only, shown as they are).
inline constexpr u64 test_mvendorid = 0x489;
inline constexpr u64 test_marchid = 0x8000'0000'0000'0007;
inline constexpr u64 test_mimpid = 0x2022'0901;
inline constexpr u64 test_mconfigptr = 0x8000'0f00;

/// The identity above, and 16 MiB of RAM (0x80000000-0x80ffffff): enough for
/// every address the tests use, and cheap to allocate a thousand times.
inline host::hart_config with_identity(host::hart_config c) {
    c.ram_size = u64{16} << 20;
    c.mvendorid = test_mvendorid;
    c.marchid = test_marchid;
    c.mimpid = test_mimpid;
    c.mconfigptr = test_mconfigptr;
    return c;
}

/// Like QEMU virt's default hart: RV64GC with S, U, H and Sstc, 16 PMP entries, G = 0.
struct qemu_h {
    static constexpr int column = 0;
    static host::hart_config make() {
        host::hart_config c = host::hart_config::rv64gc();
        c.h = true;
        c.sstc = true;
        return with_identity(c);
    }
};
/// RV64GC with S and U, no H, no Sstc, 16 PMP entries.
struct rv64gc {
    static constexpr int column = 1;
    static host::hart_config make() { return with_identity(host::hart_config::rv64gc()); }
};
/// M and U only (no S, no FP), 16 PMP entries.
struct mu {
    static constexpr int column = 2;
    static host::hart_config make() { return with_identity(host::hart_config::mu()); }
};
/// As qemu_h with 64 PMP entries.
struct h64 {
    static constexpr int column = 3;
    static host::hart_config make() {
        host::hart_config c = qemu_h::make();
        c.pmp_entries = 64;
        return c;
    }
};

// ---------------------------------------------------------------------------
// The simulated machine
// ---------------------------------------------------------------------------

using board_type = host::simulated_board<4>;
using monitor_type = vfm::monitor<host::simulated_hart, board_type>;

/// Where things are in the tests' firmware (all in RAM, outside the monitor).
inline constexpr u64 firmware_entry = 0x8010'0000;
inline constexpr u64 firmware_vector = 0x8018'0000;  ///< the firmware's trap handler (mtvec)
inline constexpr u64 device_tree = 0x8700'0000;
inline constexpr u64 boot_info = 0x8010'f000;
inline constexpr u64 os_entry = 0x8020'0000;

[[nodiscard]] inline std::string hex(u64 v) { return fmt::format("{:#x}", v); }

class machine_base;

/// The outcome of one guest instruction.
struct step {
    u64 pc_before = 0;
    u64 pc_after = 0;
    privilege mode_after = privilege::user;
    bool advanced = false;  ///< the guest went on with the next instruction, in the same mode
};

/// One hart of the machine: the simulated physical hart, the monitor's
/// virtual hart for it, and the guest's program counter.
class cpu {
public:
    cpu(machine_base& m, u32 index, host::hart_config config);

    host::simulated_hart hw;
    virt::hart h{};
    u32 index;

    /// Boots the hart (monitor::boot_hart) and enters the firmware.
    [[nodiscard]] boot_error boot();
    /// Boots and makes the firmware install its trap handler at firmware_vector.
    void boot_with_vector();

    /// The guest's program counter and physical mode.
    [[nodiscard]] u64 pc() const noexcept { return m_pc; }
    [[nodiscard]] privilege mode() const noexcept { return hw.privilege(); }
    /// The guest jumps (an unprivileged jal: no trap).
    void jump(u64 target) noexcept { m_pc = target; }

    /// The guest takes a trap at its pc: the monitor runs, the guest resumes,
    /// pending interrupts are taken.
    void trap(u64 cause, u64 tval);
    void trap(riscv::exception e, u64 tval) { trap(riscv::cause_value(e), tval); }
    /// A trap with the H extension's extra information (mtval2, mtinst, GVA).
    void trap_h(u64 cause, u64 tval, u64 tval2, u64 tinst, bool gva);
    /// The same for a trap after which the monitor is expected to stop the
    /// machine: true when it did (board.exit), and then the guest is not resumed.
    [[nodiscard]] bool trap_stops(u64 cause, u64 tval);
    /// The guest executes an instruction that raises illegal instruction (every
    /// privileged instruction in U-mode): mtval = its bits, as QEMU reports.
    step exec(u32 insn);
    /// The same, with the trap taken by the CSR fast path alone (virt::fast_path,
    /// as tier 2 runs it on a backend without tier 1, registers poisoned as in
    /// fast_trap_as_on_metal) and, where it declines, by the general path
    /// (monitor::handle_trap). True when the fast path served it.
    bool exec_on_csr_fast_path(u32 insn);
    /// The same on a hart that reports mtval = 0 (the spec allows it, 3.1.16).
    step exec_without_tval(u32 insn);
    /// The guest executes a load or store: natively when the physical PMP
    /// allows it (Bare translation), else it raises the access fault (5 or 7,
    /// mtval = the address) and the monitor runs.
    step access(const enc::mem_op& op);
    /// Takes the interrupts the hart would take now (at most 16 in a row).
    void settle();

    // From vM-mode: CSR accesses through emulated instructions; each must be
    // emulated (the pc advances by 4) or the test fails.
    [[nodiscard]] u64 csrr(csr n);
    void csrw(csr n, u64 value);
    void csrs(csr n, u64 value);
    void csrc(csr n, u64 value);
    /// Returns from the firmware's trap handler to `target` in vM-mode (mepc, mret).
    void return_to(u64 target);
    /// The firmware switches to the OS as a firmware does: mepc = target,
    /// mstatus.MPP = mode (and MPV), mret.
    void enter_os(u64 target, privilege mode = privilege::supervisor, bool virtualized = false);

    /// Checks that the firmware is at its handler with these trap CSRs.
    void expect_delivered(u64 cause, u64 tval, u64 epc, u64 handler = firmware_vector);

    /// false: every trap takes the general path (monitor::handle_trap), as on a
    /// backend without a fast path; the reference the fast paths are compared with.
    bool fast_path = true;
    /// Cycles and instructions the simulated monitor spends on each trap (the
    /// counters tick by this much while it runs): what the firmware's
    /// virtual counters must not show (virt::virtual_counters).
    u64 monitor_work = 0;

private:
    void run_monitor();
    bool fast_trap_as_on_metal();
    template <class Path>
    bool with_fast_path_registers(Path path);
    void resume();

    machine_base& m_machine;
    bool m_csr_fast_path_only = false;
    bool m_csr_fast_path_served = false;
    u64 m_pc = 0;
    int m_settle_depth = 0;
};

/// What a cpu needs of its machine, whatever the board's type: the monitor's
/// entry points, the board's console, and the way back from board.exit.
class machine_base {
public:
    machine_base() = default;
    machine_base(const machine_base&) = delete;
    machine_base& operator=(const machine_base&) = delete;

    /// Set when the monitor stopped the machine (on_fatal → board.exit).
    bool stopped = false;

protected:
    ~machine_base() = default;
    /// Where board.exit returns to: the trap in progress (cpu::run_monitor).
    std::jmp_buf* m_jump = nullptr;

private:
    friend class cpu;
    virtual boot_error boot_hart(cpu& c, u64 hartid) = 0;
    virtual void handle_trap(cpu& c) = 0;
    virtual bool fast_trap(cpu& c) = 0;
    [[nodiscard]] virtual const std::string& console() const = 0;
};

/// A board of type `Board` (host::simulated_board<4> unless a test needs a
/// board of its own, e.g. one with devices) with `harts` harts of one
/// configuration and a monitor over them; `layout` is the board's memory map
/// (host::with_bus_masters adds bus masters).
template <class Board>
class basic_machine final : public machine_base {
public:
    explicit basic_machine(host::hart_config config, u32 harts = 1,
                           const memory_layout& layout = host::qemu_virt_layout())
        : board(harts, layout), monitor(board) {
        for (u32 i = 0; i < harts; ++i) {
            host::hart_config c = config;
            c.mhartid = board.hart_id(i);
            cpus.push_back(std::make_unique<cpu>(*this, i, c));
            board.connect(i, cpus.back()->hw);
        }
        board.set_exit_handler([this](u32) { std::longjmp(*m_jump, 1); });
    }

    [[nodiscard]] cpu& operator[](u32 i) { return *cpus.at(i); }
    [[nodiscard]] cpu& hart0() { return *cpus.at(0); }

    Board board;
    vfm::monitor<host::simulated_hart, Board> monitor;
    std::vector<std::unique_ptr<cpu>> cpus;

private:
    boot_error boot_hart(cpu& c, u64 hartid) override {
        return monitor.boot_hart(c.hw, c.h, c.index, hartid, device_tree, boot_info);
    }
    void handle_trap(cpu& c) override { monitor.handle_trap(c.hw, c.h); }
    bool fast_trap(cpu& c) override { return monitor.fast_trap(c.hw, c.h); }
    [[nodiscard]] const std::string& console() const override { return board.console(); }
};

/// The machine of most tests: QEMU virt's board.
using machine = basic_machine<board_type>;

inline cpu::cpu(machine_base& m, u32 i, host::hart_config config) : hw(config), index(i), m_machine(m) {}

inline boot_error cpu::boot() {
    const boot_error e = m_machine.boot_hart(*this, hw.config().mhartid);
    if (e == boot_error::none) resume();
    return e;
}

inline void cpu::boot_with_vector() {
    REQUIRE(boot() == boot_error::none);
    csrw(csr::mtvec, firmware_vector);
}

/// What the metal trap vector does: fast_trap, else handle_trap. A monitor
/// that stops the machine (board.exit) comes back here through longjmp.
inline void cpu::run_monitor() {
    std::jmp_buf here;
    std::jmp_buf* const outer = m_machine.m_jump;
    m_machine.m_jump = &here;
    if (setjmp(here) == 0) {
        // The counting path (virt::virtual_counters): the counters at the
        // trap, then the general path with every register.
        const bool counting = hw.counts_firmware_traps();
        if (counting) {
            h.counters.at_trap[0] = hw.peek_csr(csr::mcycle).value_or(0);
            h.counters.at_trap[1] = hw.peek_csr(csr::minstret).value_or(0);
            h.counters.counting = 1;
        }
        hw.tick(monitor_work, monitor_work);
        if (m_csr_fast_path_only && !counting) {
            // Only virt::fast_path, then the general path (exec_on_csr_fast_path).
            m_csr_fast_path_only = false;  // the interrupts settle() takes afterwards: as usual
            m_csr_fast_path_served =
                with_fast_path_registers([&] { return virt::fast_path(hw, h, virt::read_trap_entry(hw)); });
            if (!m_csr_fast_path_served) m_machine.handle_trap(*this);
        } else if (counting || !fast_path || !fast_trap_as_on_metal()) {
            m_machine.handle_trap(*this);
        }
    } else {
        m_machine.stopped = true;
    }
    m_machine.m_jump = outer;
}

/// fast_trap as the metal trap vector's tier 2 runs it: only the registers of
/// hart::fast_path_registers are in the context, the others hold what an
/// earlier trap left there. They are poisoned here, so that a fast path that
/// reads one computes with garbage (and the test sees a wrong result), and
/// checked afterwards, so that one that writes one (a write metal would lose:
/// tier 2 restores only what it saved) fails at once. The guest's own values
/// come back whatever the outcome.
inline bool cpu::fast_trap_as_on_metal() {
    return with_fast_path_registers([&] { return m_machine.fast_trap(*this); });
}

template <class Path>
inline bool cpu::with_fast_path_registers(Path path) {
    constexpr u64 poison = 0xbad0'f00d'dead'0000;
    u64 kept[32] = {};
    for (unsigned r = 1; r < 32; ++r) {
        if (virt::hart::saved_on_fast_path(r)) continue;
        kept[r] = h.x[r];
        h.x[r] = poison + r;
    }
    const bool handled = path();
    for (unsigned r = 1; r < 32; ++r) {
        if (virt::hart::saved_on_fast_path(r)) continue;
        INFO("x" << r << " is not saved on the fast path: metal would lose this write");
        CHECK(h.x[r] == poison + r);
        h.x[r] = kept[r];
    }
    return handled;
}

inline void cpu::resume() {
    if (h.counters.counting != 0) {
        const u64 now[2] = {hw.peek_csr(csr::mcycle).value_or(0), hw.peek_csr(csr::minstret).value_or(0)};
        virt::hide_monitor_work(h.counters, now);
    }
    m_pc = hw.peek_csr(csr::mepc).value_or(0);
    hw.resume(h);
}

inline bool cpu::trap_stops(u64 cause, u64 tval) {
    hw.trap(cause, tval, hw.privilege(), hw.virtualized(), m_pc);
    run_monitor();
    if (m_machine.stopped) return true;
    resume();
    settle();
    return false;
}

inline void cpu::trap_h(u64 cause, u64 tval, u64 tval2, u64 tinst, bool gva) {
    hw.trap(cause, tval, hw.privilege(), hw.virtualized(), m_pc, tval2, tinst, gva);
    run_monitor();
    INFO("the monitor stopped the machine: " << m_machine.console());
    REQUIRE_FALSE(m_machine.stopped);
    resume();
    settle();
}

inline void cpu::trap(u64 cause, u64 tval) {
    hw.trap(cause, tval, hw.privilege(), hw.virtualized(), m_pc);
    run_monitor();
    INFO("the monitor stopped the machine: " << m_machine.console());
    REQUIRE_FALSE(m_machine.stopped);
    resume();
    settle();
}

inline void cpu::settle() {
    const auto code = hw.pending_interrupt();
    if (!code) return;
    // trap() settles again: a monitor that leaves the same interrupt pending
    // and enabled would loop; real hardware would take it for ever.
    INFO("interrupt " << *code << " keeps firing at " << hex(m_pc));
    REQUIRE(m_settle_depth < 16);
    ++m_settle_depth;
    trap(riscv::mcause::interrupt::mask | *code, 0);
    --m_settle_depth;
}

inline step cpu::exec(u32 insn) {
    INFO("an interrupt is pending before the instruction: the test must settle() first");
    CHECK_FALSE(hw.pending_interrupt().has_value());
    step s;
    s.pc_before = m_pc;
    const privilege before = hw.privilege();
    hw.place_instruction(m_pc, insn);
    trap(riscv::exception::illegal_instruction, (insn & 3) == 3 ? insn : (insn & 0xffff));
    s.pc_after = m_pc;
    s.mode_after = hw.privilege();
    s.advanced = s.pc_after == s.pc_before + ((insn & 3) == 3 ? 4 : 2) && s.mode_after == before;
    return s;
}

inline bool cpu::exec_on_csr_fast_path(u32 insn) {
    m_csr_fast_path_only = true;
    m_csr_fast_path_served = false;
    (void)exec(insn);
    m_csr_fast_path_only = false;
    return m_csr_fast_path_served;
}

inline step cpu::exec_without_tval(u32 insn) {
    step s;
    s.pc_before = m_pc;
    const privilege before = hw.privilege();
    hw.place_instruction(m_pc, insn);
    trap(riscv::exception::illegal_instruction, 0);
    s.pc_after = m_pc;
    s.mode_after = hw.privilege();
    s.advanced = s.pc_after == s.pc_before + ((insn & 3) == 3 ? 4 : 2) && s.mode_after == before;
    return s;
}

inline step cpu::access(const enc::mem_op& op) {
    step s;
    s.pc_before = m_pc;
    const privilege before = hw.privilege();
    hw.place_instruction(m_pc, op.bits);
    const u64 address = (op.base == 0 ? 0 : h.x[op.base]) + static_cast<u64>(op.offset);
    const host::access_type type = op.store ? host::access_type::store : host::access_type::load;
    const bool allowed = hw.check_access(address, op.width, type, hw.privilege()).allowed &&
                         hw.physical(address, op.width) != nullptr;
    if (allowed) {
        // Native: performed by the hart itself, no trap.
        u8* p = hw.physical(address, op.width);
        if (op.store) {
            const u64 v = op.data == 0 ? 0 : h.x[op.data];
            for (unsigned i = 0; i < op.width; ++i) p[i] = static_cast<u8>(v >> (8 * i));
        } else {
            u64 v = 0;
            for (unsigned i = 0; i < op.width; ++i) v |= u64{p[i]} << (8 * i);
            if (op.sign && op.width < 8) {
                const u64 sign = u64{1} << (8 * op.width - 1);
                v = (v ^ sign) - sign;
            }
            if (op.data != 0) h.x[op.data] = v;
        }
        m_pc += op.length;
    } else {
        trap(op.store ? riscv::exception::store_access_fault : riscv::exception::load_access_fault, address);
    }
    s.pc_after = m_pc;
    s.mode_after = hw.privilege();
    s.advanced = s.pc_after == s.pc_before + op.length && s.mode_after == before;
    return s;
}

inline u64 cpu::csrr(csr n) {
    const step s = exec(enc::csrrs(7, n, 0));
    INFO("csrr " << riscv::name(n) << " at " << hex(s.pc_before) << " was not emulated (pc now " << hex(s.pc_after)
                 << ")");
    REQUIRE(s.advanced);
    return h.x[7];
}

inline void cpu::csrw(csr n, u64 value) {
    h.x[6] = value;
    const step s = exec(enc::csrrw(0, n, 6));
    INFO("csrw " << riscv::name(n) << ", " << hex(value) << " at " << hex(s.pc_before) << " was not emulated");
    REQUIRE(s.advanced);
}

inline void cpu::csrs(csr n, u64 value) {
    h.x[6] = value;
    const step s = exec(enc::csrrs(0, n, 6));
    INFO("csrs " << riscv::name(n) << ", " << hex(value) << " was not emulated");
    REQUIRE(s.advanced);
}

inline void cpu::csrc(csr n, u64 value) {
    h.x[6] = value;
    const step s = exec(enc::csrrc(0, n, 6));
    INFO("csrc " << riscv::name(n) << ", " << hex(value) << " was not emulated");
    REQUIRE(s.advanced);
}

inline void cpu::return_to(u64 target) {
    csrw(csr::mepc, target);
    // MPP = M: after a trap from vM-mode it already is; set it for certain.
    csrs(csr::mstatus, riscv::mstatus::mpp::mask);
    exec(enc::mret);
    REQUIRE(m_pc == target);
}

inline void cpu::enter_os(u64 target, privilege mode, bool virtualized) {
    csrw(csr::mepc, target);
    csrc(csr::mstatus, riscv::mstatus::mpp::mask);
    csrs(csr::mstatus, riscv::mstatus::mpp::make(static_cast<u64>(mode)) |
                           (virtualized ? riscv::mstatus::mpv::mask : 0));
    exec(enc::mret);
    REQUIRE(m_pc == target);
    REQUIRE(hw.privilege() == mode);
}

inline void cpu::expect_delivered(u64 cause, u64 tval, u64 epc, u64 handler) {
    INFO("expected delivery of cause " << hex(cause) << " at " << hex(handler));
    REQUIRE(m_pc == handler);
    REQUIRE(hw.privilege() == privilege::user);
    CHECK(csrr(csr::mcause) == cause);
    CHECK(csrr(csr::mtval) == tval);
    CHECK(csrr(csr::mepc) == epc);
}

/// Checks that two virtual harts hold the same state, field by field (the
/// fields any trap path writes; padding is not compared): the differential
/// tests of a fast path against the general path (fast_csrs_test,
/// world_switch_test).
inline void check_same_virtual_hart(const virt::hart& a, const virt::hart& b) {
    for (unsigned r = 0; r < 32; ++r) {
        INFO("x" << r);
        CHECK(hex(a.x[r]) == hex(b.x[r]));
    }
    CHECK(a.world == b.world);
    const virt::virtual_csrs& p = a.csr;
    const virt::virtual_csrs& q = b.csr;
    const std::pair<const char*, std::pair<u64, u64>> fields[] = {
        {"mstatus", {p.mstatus, q.mstatus}}, {"medeleg", {p.medeleg, q.medeleg}},
        {"mideleg", {p.mideleg, q.mideleg}}, {"mie", {p.mie, q.mie}},
        {"mtvec", {p.mtvec, q.mtvec}},       {"mscratch", {p.mscratch, q.mscratch}},
        {"mepc", {p.mepc, q.mepc}},          {"mcause", {p.mcause, q.mcause}},
        {"mtval", {p.mtval, q.mtval}},       {"mtval2", {p.mtval2, q.mtval2}},
        {"mtinst", {p.mtinst, q.mtinst}},    {"mcounteren", {p.mcounteren, q.mcounteren}},
        {"menvcfg", {p.menvcfg, q.menvcfg}}, {"satp", {p.satp, q.satp}},
    };
    for (const auto& [name, values] : fields) {
        INFO("virtual " << name);
        CHECK(hex(values.first) == hex(values.second));
    }
    for (unsigned i = 0; i < riscv::pmp::max_entries; ++i) {
        CHECK(p.pmpcfg[i] == q.pmpcfg[i]);
        CHECK(p.pmpaddr[i] == q.pmpaddr[i]);
    }
    for (unsigned i = 0; i < 16; ++i) CHECK(a.fast_csrs[i] == b.fast_csrs[i]);
    CHECK(a.mepc_mask == b.mepc_mask);
    CHECK(a.misa == b.misa);
    CHECK(a.mstatus_fast_writable == b.mstatus_fast_writable);
    CHECK(a.counters.at_trap[0] == b.counters.at_trap[0]);
    CHECK(a.counters.at_trap[1] == b.counters.at_trap[1]);
    CHECK(a.counters.hidden[0] == b.counters.hidden[0]);
    CHECK(a.counters.hidden[1] == b.counters.hidden[1]);
    CHECK(a.counters.armed == b.counters.armed);
    for (unsigned i = 0; i < 16; ++i) CHECK(a.trigger_modes[i] == b.trigger_modes[i]);
    CHECK(a.triggers_active == b.triggers_active);
    CHECK(a.os_mode == b.os_mode);
    CHECK(a.os_virtualized == b.os_virtualized);
    CHECK(a.trap_vector_executable == b.trap_vector_executable);
    CHECK(a.reservation_width == b.reservation_width);
    CHECK(a.monitor_deadline == b.monitor_deadline);
    CHECK(a.physical_mie == b.physical_mie);
    CHECK(a.physical_timer == b.physical_timer);
    for (unsigned i = 0; i < virt::pmp_cfg_registers; ++i) CHECK(a.physical_pmpcfg[i] == b.physical_pmpcfg[i]);
    CHECK(a.physical_view == b.physical_view);
    CHECK(a.pmp_cached == b.pmp_cached);
    CHECK(a.os_medeleg_withheld == b.os_medeleg_withheld);
}

/// The same for two cpus: pc, mode, the virtual hart, the physical CSRs of
/// `numbers` (absent on both, or equal).
inline void check_same_state(cpu& a, cpu& b, const std::vector<u16>& numbers) {
    CHECK(hex(a.pc()) == hex(b.pc()));
    CHECK(a.mode() == b.mode());
    CHECK(a.hw.virtualized() == b.hw.virtualized());
    check_same_virtual_hart(a.h, b.h);
    for (u16 n : numbers) {
        const auto x = a.hw.peek_csr(static_cast<csr>(n));
        const auto y = b.hw.peek_csr(static_cast<csr>(n));
        if (x == y) continue;
        INFO("physical CSR " << hex(n) << ": " << (x ? hex(*x) : "absent") << " vs " << (y ? hex(*y) : "absent"));
        CHECK(false);
    }
}

/// Checks that neither the firmware (U-mode) nor the OS (S-mode) reaches
/// the `width` bytes at each address directly: a device the monitor
/// emulates, whose accesses must trap (the CLINT, a board's device).
inline void check_not_reachable(cpu& c, std::initializer_list<u64> addresses, unsigned width) {
    for (const u64 address : addresses) {
        for (const auto type : {host::access_type::load, host::access_type::store}) {
            INFO("address " << hex(address));
            CHECK_FALSE(c.hw.check_access(address, width, type, privilege::user).allowed);
            CHECK_FALSE(c.hw.check_access(address, width, type, privilege::supervisor).allowed);
        }
    }
}

/// The access types of PMP probes, short, as the spec's R/W/X permissions.
namespace pmp_access {
inline constexpr host::access_type R = host::access_type::load;
inline constexpr host::access_type W = host::access_type::store;
inline constexpr host::access_type X = host::access_type::fetch;
}  // namespace pmp_access

/// One PMP probe: an access of `size` bytes at `address`, and whether the
/// hart's physical PMP must allow it (pmp_test, bus_master_test).
struct pmp_probe {
    u64 address;
    u64 size;
    host::access_type type;
    bool allowed;
};

[[nodiscard]] inline const char* access_name(host::access_type t) {
    return t == host::access_type::load ? "load" : t == host::access_type::store ? "store" : "fetch";
}

/// Checks each probe against the hart's physical PMP at privilege `p`.
inline void check_pmp(cpu& c, privilege p, std::initializer_list<pmp_probe> probes) {
    for (const pmp_probe& q : probes) {
        INFO(riscv::name(p) << "-mode " << access_name(q.type) << " of " << q.size << " bytes at " << hex(q.address));
        CHECK(c.hw.check_access(q.address, q.size, q.type, p).allowed == q.allowed);
    }
}

}  // namespace vt
