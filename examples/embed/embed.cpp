// SPDX-License-Identifier: MIT
// Embedding vfm in a host program (docs/embedding.md walks through this file).
//
//   embed [FIRMWARE.bin]
//
// Loads a raw firmware image at 0x80100000 (without an argument, the one
// below, assembled from firmware.S), runs it in vM-mode under a vfm monitor on
// a simulated hart, and prints each trap the hart takes and the virtual CSRs
// the monitor keeps for the firmware. The simulated hart models a hart's CSRs,
// PMP, memory and trap entry, but does not execute instructions: this program
// plays the CPU for the few unprivileged instructions a tiny firmware uses,
// and raises the trap real hardware raises for every other one.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vfm/host/host.hpp>
#include <vfm/monitor.hpp>
#include <vfm/version.hpp>

namespace {

using vfm::u32;
using vfm::u64;
using vfm::riscv::privilege;

// 1. The machine: a board laid out like QEMU virt, one simulated hart, and a
//    monitor over them (no policies: the firmware may touch all but the monitor).
using board_type = vfm::host::simulated_board<1>;
using monitor_type = vfm::monitor<vfm::host::simulated_hart, board_type>;

/// firmware.S assembled (riscv64-unknown-elf-gcc -march=rv64i_zicsr, no
/// compressed instructions), one word per instruction, with its offset.
const std::vector<u32> builtin_firmware = {
    0x00000317,  // 00  _start:  auipc t1,0x0
    0x03830313,  // 04           add t1,t1,56
    0x30531073,  // 08           csrw mtvec,t1
    0x00000073,  // 0c           ecall
    0x00000317,  // 10           auipc t1,0x0
    0x03c30313,  // 14           add t1,t1,60
    0x34131073,  // 18           csrw mepc,t1
    0x00002337,  // 1c           lui t1,0x2
    0x8003031b,  // 20           addw t1,t1,-2048
    0x30033073,  // 24           csrc mstatus,t1
    0x00001337,  // 28           lui t1,0x1
    0x8003031b,  // 2c           addw t1,t1,-2048
    0x30032073,  // 30           csrs mstatus,t1
    0x30200073,  // 34           mret
    0x342023f3,  // 38  handler: csrr t2,mcause
    0x34102e73,  // 3c           csrr t3,mepc
    0x004e0e13,  // 40           add t3,t3,4
    0x341e1073,  // 44           csrw mepc,t3
    0x30200073,  // 48           mret
    0x01000893,  // 4c  os:      li a7,16
    0x00000813,  // 50           li a6,0
    0x00000073,  // 54           ecall
    0x0000006f,  // 58           j .  (a jump to itself: the end)
};

/// The privileged spec's names of exception causes (table 3.6).
const char* cause_name(u64 cause) {
    switch (cause) {
        case 2: return "illegal instruction";
        case 3: return "breakpoint";
        case 8: return "ecall from U-mode";
        case 9: return "ecall from S-mode";
        case 11: return "ecall from M-mode";
        default: return "another cause";
    }
}

/// Reads a raw image; exits with one line when it cannot.
std::vector<u32> load_image(const char* path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        std::fprintf(stderr, "embed: error: cannot open %s\n", path);
        std::exit(2);
    }
    const std::vector<char> bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    if (bytes.empty() || bytes.size() % 4 != 0 || bytes.size() > 64 * 1024) {
        std::fprintf(stderr, "embed: error: %s: %zu bytes (a raw image of 32-bit instructions, 4 to 65536 bytes)\n",
                     path, bytes.size());
        std::exit(2);
    }
    std::vector<u32> words(bytes.size() / 4);
    for (std::size_t i = 0; i < words.size(); ++i)
        for (unsigned b = 0; b < 4; ++b) words[i] |= u32{static_cast<unsigned char>(bytes[4 * i + b])} << (8 * b);
    return words;
}

/// Sign-extends the low `bits` bits of `value`.
u64 sign_extend(u64 value, unsigned bits) {
    const u64 sign = u64{1} << (bits - 1);
    value &= (sign << 1) - 1;
    return (value ^ sign) - sign;
}

class machine {
public:
    machine() : m_board(1), m_monitor(m_board), m_hart(vfm::host::hart_config::rv64gc()) {
        m_board.connect(0, m_hart);
        m_board.set_exit_handler([](u32 code) {
            std::fprintf(stderr, "embed: the monitor stopped the machine (exit code %u)\n", static_cast<unsigned>(code));
            std::exit(1);
        });
    }

    void load(u64 address, const std::vector<u32>& words) {
        for (std::size_t i = 0; i < words.size(); ++i) m_hart.poke<u32>(address + 4 * i, words[i]);
    }

    // 2. Boot: the monitor protects itself, sets up the virtual hart and
    //    prepares the entry into the firmware (a0 = hart id, a1 = device tree,
    //    a2 = boot info); mret (hart.resume) enters it.
    bool boot() {
        const vfm::boot_error error = m_monitor.boot_hart(m_hart, m_context, 0, 0, 0x8700'0000, 0);
        if (error != vfm::boot_error::none) {
            std::fprintf(stderr, "embed: boot failed: %s\n", vfm::describe(error));
            return false;
        }
        resume();
        return true;
    }

    // 3. Run: execute the guest's instructions until it jumps to itself.
    bool run(unsigned max_steps) {
        for (unsigned step = 0; step < max_steps; ++step) {
            const u32 insn = m_hart.peek<u32>(m_pc);
            if (insn == 0x0000'006f) {  // jal x0, 0: a jump to itself
                fmt::print("the guest stops at {:#x} in {}-mode\n", m_pc, vfm::riscv::name(m_hart.privilege()));
                return true;
            }
            if (!execute(insn)) return false;
        }
        std::fprintf(stderr, "embed: error: no end after %u instructions\n", max_steps);
        return false;
    }

private:
    u64& x(unsigned n) { return n == 0 ? (m_zero = 0) : m_context.x[n]; }

    /// The unprivileged instructions the firmware uses, executed here; every
    /// SYSTEM instruction (csr*, ecall, mret) goes to the monitor as a trap.
    bool execute(u32 insn) {
        const unsigned rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, funct3 = (insn >> 12) & 7;
        const u64 imm_i = sign_extend(insn >> 20, 12);
        switch (insn & 0x7f) {
            case 0x37: x(rd) = sign_extend(insn & 0xffff'f000, 32); break;          // lui
            case 0x17: x(rd) = m_pc + sign_extend(insn & 0xffff'f000, 32); break;   // auipc
            case 0x13:                                                               // addi
                if (funct3 != 0) return unsupported(insn);
                x(rd) = x(rs1) + imm_i;
                break;
            case 0x1b:                                                               // addiw
                if (funct3 != 0) return unsupported(insn);
                x(rd) = sign_extend(x(rs1) + imm_i, 32);
                break;
            case 0x73: return system(insn);
            default: return unsupported(insn);
        }
        m_pc += 4;
        return true;
    }

    bool unsupported(u32 insn) {
        std::fprintf(stderr, "embed: error: this CPU does not execute %#010x at %#llx\n", static_cast<unsigned>(insn),
                     static_cast<unsigned long long>(m_pc));
        return false;
    }

    /// In U-mode (the firmware's vM-mode) every SYSTEM instruction traps:
    /// ecall with cause 8, the others as illegal instructions with the bits
    /// in mtval (priv. spec 3.1.16), as QEMU reports them. In S-mode (the OS)
    /// only ecall is used here.
    bool system(u32 insn) {
        const privilege mode = m_hart.privilege();
        if (insn == 0x0000'0073) {
            take_trap(mode == privilege::supervisor ? 9 : 8, 0);
        } else if (mode == privilege::user) {
            take_trap(2, insn);
        } else {
            return unsupported(insn);
        }
        return true;
    }

    // 4. A trap: the hart enters M-mode as hardware does, the monitor runs as
    //    the metal trap vector would run it (fast path, then the general path),
    //    and mret resumes the guest wherever the monitor sent it.
    void take_trap(u64 cause, u64 tval) {
        const privilege from = m_hart.privilege();
        fmt::print("trap: {} (mcause {}) at {:#x} from {}-mode, mtval {:#x}\n", cause_name(cause), cause, m_pc,
                   vfm::riscv::name(from), tval);
        m_hart.trap(cause, tval, from, false, m_pc);
        if (!m_monitor.fast_trap(m_hart, m_context)) m_monitor.handle_trap(m_hart, m_context);
        resume();
        print_virtual_csrs();
    }

    void resume() {
        m_pc = m_hart.peek_csr(vfm::riscv::csr::mepc).value_or(0);
        m_hart.resume(m_context);
        fmt::print("  -> {} at {:#x} in {}-mode\n", m_context.world == vfm::virt::world::firmware ? "firmware" : "OS",
                   m_pc, vfm::riscv::name(m_hart.privilege()));
    }

    /// The firmware's view of its M-mode CSRs, kept by the monitor in memory.
    void print_virtual_csrs() const {
        const vfm::virt::virtual_csrs& v = m_context.csr;
        fmt::print("  virtual mtvec {:#x} mepc {:#x} mcause {} mstatus.MPP {}\n", v.mtvec, v.mepc, v.mcause,
                   vfm::riscv::mstatus::mpp::extract(v.mstatus));
    }

    board_type m_board;
    monitor_type m_monitor;
    vfm::host::simulated_hart m_hart;
    vfm::virt::hart m_context{};
    u64 m_pc = 0;
    u64 m_zero = 0;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc > 2) {
        std::fprintf(stderr, "usage: embed [FIRMWARE.bin]\n");
        return 2;
    }
    const std::vector<u32> firmware = argc == 2 ? load_image(argv[1]) : builtin_firmware;
    fmt::print("vfm {} embedded: {} firmware words at {:#x}\n", vfm::version.string, firmware.size(),
               vfm::host::qemu_virt_layout().firmware_entry);
    machine m;
    m.load(vfm::host::qemu_virt_layout().firmware_entry, firmware);
    if (!m.boot() || !m.run(1000)) return 1;
    return 0;
}
