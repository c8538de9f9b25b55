// SPDX-License-Identifier: MIT
// The fuzz input's program (docs/fuzzing.md, "The input"): a few setup bytes
// (the hart's configuration, a boot program the firmware runs first), then
// steps until the input ends. Each step is one thing a guest or the machine
// does: the firmware executes an instruction (CSR accesses, trap returns, wfi,
// fences, HLV/HSV, loads/stores/AMOs/LR/SC/FP in every encoding, random
// words), jumps, sets registers, writes page tables, enters the OS; the OS
// makes SBI calls, executes instructions that trap, loads and stores through
// its own translation, writes its CSRs natively; interrupt lines and time
// change. The harness plays the hardware for each (fuzz_machine.hpp) and
// checks the invariants after every trap.
#pragma once

#include <cstring>

#include "fuzz_input.hpp"
#include "fuzz_machine.hpp"

namespace vfz {

/// The hart configuration the first two bytes select (all legal harts the
/// monitor can protect: 16 or 64 PMP entries, G small enough for its regions).
struct setup {
    host::hart_config config;
    u32 harts = 1;
    bool fast_path = true;
    bool svnapot = false;
    bool svade = false;
    u8 program = 0;
};

inline setup read_setup(reader& in) {
    setup s;
    const u8 a = in.byte();
    const u8 b = in.byte();
    host::hart_config& c = s.config;
    c = host::hart_config::rv64gc();
    if ((a & 0x40) != 0) {
        c = host::hart_config::mu();  // M and U only: the OS runs in U-mode
    } else {
        c.h = (a & 1) != 0;
        c.sstc = (a & 2) != 0;
        c.svpbmt = (b & 4) != 0;
        c.sscofpmf = (b & 0x20) != 0;
        c.zicbom = c.zicboz = (b & 0x40) != 0;
        if (c.h && (b & 0x10) != 0) c.guest_external_interrupts = 2;
    }
    c.pmp_entries = (a & 4) != 0 ? 64 : 16;
    c.misaligned = (a & 8) != 0 ? host::misaligned_policy::trap : host::misaligned_policy::perform;
    c.time_csr = (a & 0x10) == 0;
    static constexpr unsigned granularities[] = {0, 0, 1, 4};
    c.pmp_granularity = granularities[b & 3];
    c.hpm_counters = (b & 0x80) != 0 ? 4 : 0;
    c.ram_base = map::simulated_base;
    c.ram_size = map::simulated_size;
    c.mvendorid = 0x489;
    c.marchid = 0x8000'0000'0000'0007;
    c.mimpid = 0x2022'0901;
    s.harts = (a & 0x20) != 0 ? 2 : 1;
    s.fast_path = (a & 0x80) == 0;
    s.svnapot = (b & 8) != 0;
    s.svade = (b & 0x10) != 0 && !c.h;
    s.program = in.byte();
    return s;
}

template <class Machine>
class driver {
public:
    driver(Machine& machine, const setup& s) noexcept : m(machine), in(machine.in), m_setup(s) {}

    /// Steps until the input or the machine ends.
    void run() {
        for (auto& c : m.cpus) {
            c->h.features.has_svnapot = m_setup.svnapot;
            if (m_setup.svade) c->h.features.updates_accessed_dirty = false;
        }
        for (auto& c : m.cpus) boot_program(*c, m_setup.program);
        for (unsigned n = 0; n < max_steps && !in.done() && !m.over(); ++n) step();
    }

    static constexpr unsigned max_steps = 160;

private:
    Machine& m;
    reader& in;
    setup m_setup;

    using kind = mem_op::kind;

    [[nodiscard]] bool alive(cpu& c) const { return !m.over() && c.hw.privilege() != privilege::machine; }

    // ---- the boot program: what a firmware does first ----------------------------------------

    void boot_program(cpu& c, u8 p) {
        const bool h = c.hw.config().h;
        if ((p & 1) != 0) m.csrw(c, 0x305, map::firmware_vector | ((p & 0x20) != 0 ? 1 : 0));  // mtvec
        if ((p & 8) != 0) {
            // The handler's first instruction swaps tp with mscratch (run in the monitor on a switch).
            m.poke_all(map::firmware_vector, u32{0x34021273});  // csrrw tp, mscratch, tp
        }
        if ((p & 2) != 0 && m.in_firmware(c)) {
            m.csrw(c, 0x3b0, 0x003f'ffff'ffff'ffff);  // pmpaddr0: NAPOT over everything
            m.csrw(c, 0x3a0, 0x1f);                   // pmpcfg0: NAPOT, RWX
        }
        if ((p & 4) != 0 && m.in_firmware(c) && c.hw.config().s) {
            m.csrw(c, 0x302, 0xb109);  // medeleg as OpenSBI: misaligned fetch, breakpoint, ecall from U, page faults
            m.csrw(c, 0x303, 0x222);   // mideleg: SSI, STI, SEI
            m.csrw(c, 0x306, 7);       // mcounteren
            u64 envcfg = 0;
            if (c.hw.config().sstc) envcfg |= u64{1} << 63;
            if (c.hw.config().svpbmt) envcfg |= u64{1} << 62;
            if (envcfg != 0) m.csrw(c, 0x30a, envcfg);
            m.csrs(c, 0x300, u64{1} << 13);  // FS = Initial
        }
        if ((p & 0x10) != 0) linux_header(map::os_entry, 0x1000);
        if ((p & 0x40) != 0 && c.hw.config().s) {
            // An Sv39 table mapping the RAM gigapage at VA 0x80000000 (identity) and at
            // VA 0xffffffc080000000, for the OS to run translated.
            const u64 root = map::tables + map::tables_size - 0x1000;
            const u64 leaf = ((map::ram_base >> 12) << 10) | 0xcf;  // V R W X A D
            m.poke_all(root + 8 * 2, leaf);
            m.poke_all(root + 8 * 258, leaf);
        }
        if ((p & 0x80) != 0 && m.in_firmware(c)) {
            enter_os(c, map::os_entry, c.hw.config().s ? 1 : 0, h && (p & 0x20) != 0);
            if ((p & 0x40) != 0 && c.hw.config().s && !m.in_firmware(c) && alive(c) &&
                c.hw.privilege() == privilege::supervisor && !c.hw.virtualized())
                (void)c.hw.poke_csr(csr::satp, (u64{8} << 60) | ((map::tables + map::tables_size - 0x1000) >> 12));
        }
    }

    void linux_header(u64 entry, u64 size) {
        m.poke_all(entry + 16, size);
        m.poke_all(entry + 56, u32{0x05435352});  // "RSC\x05"
    }

    /// The firmware enters the OS at `target`: mepc, MPP (and MPV), mret.
    void enter_os(cpu& c, u64 target, u64 mpp, bool mpv) {
        m.csrw(c, 0x341, target);
        if (!alive(c) || !m.in_firmware(c)) return;
        m.csrc(c, 0x300, (u64{3} << 11) | (u64{1} << 39));
        if (!alive(c) || !m.in_firmware(c)) return;
        m.csrs(c, 0x300, (mpp << 11) | (mpv ? u64{1} << 39 : 0));
        if (!alive(c) || !m.in_firmware(c)) return;
        m.exec(c, enc::mret);
    }

    // ---- steps ------------------------------------------------------------------------------

    void step() {
        const u8 op = in.byte();
        cpu& c = *m.cpus[(m.cpus.size() > 1 && (op & 0x80) != 0) ? 1 : 0];
        if (!alive(c)) return;
        if (m.in_firmware(c))
            firmware_step(c, (op & 0x7f) % 44);
        else
            os_step(c, (op & 0x7f) % 36);
    }

    void firmware_step(cpu& c, unsigned k) {
        if (k < 10) return csr_instruction(c);
        if (k < 15) return other_system(c);
        if (k < 23) return memory(c);
        if (k < 25) return m.exec(c, in.u32_() | 3, in.byte() != 0);  // a 32-bit word
        if (k < 26) {
            u32 half = in.u16_();
            if ((half & 3) == 3) half &= ~u32{1};  // a 16-bit word: its low bits are not 11
            return m.exec(c, half, in.byte() != 0);
        }
        if (k < 28) return jump(c);
        if (k < 30) return registers(c);
        if (k < 33) return page_tables(c);
        if (k < 35) return environment(c);
        if (k < 37) {
            static constexpr u64 targets[] = {map::os_entry, map::os_entry + 0x1000, 0, 0};
            const u8 b = in.byte();
            u64 target = targets[b & 3];
            if ((b & 3) == 2) target = address(in) & ~u64{1};
            if ((b & 3) == 3) target = c.h.csr.mepc + 4;
            const u64 mpp = c.hw.config().s ? ((b & 4) != 0 ? 1 : 0) : 0;
            return enter_os(c, target, mpp, c.hw.config().h && (b & 8) != 0);
        }
        if (k < 39) return serve_sbi(c);
        if (k < 40) return linux_header((in.byte() & 1) != 0 ? map::os_entry : address(in) & ~u64{7},
                                        u64{0x1000} << (in.byte() & 7));
        if (k < 41) return raise(c);
        if (k < 42) return mprv(c);
        if (k < 43) return m.exec(c, (in.byte() & 1) != 0 ? enc::ecall : enc::ebreak);
        return m.exec(c, system_instruction(in), (in.byte() & 7) != 0);
    }

    void os_step(cpu& c, unsigned k) {
        if (k < 10) return sbi_call(c);
        if (k < 14) return os_illegal(c);
        if (k < 22) return memory(c);
        if (k < 24) return environment(c);
        if (k < 26) return os_csr(c);
        if (k < 28) {
            page_tables(c);
            if ((in.byte() & 1) != 0 && alive(c) && c.hw.config().s)
                (void)c.hw.poke_csr(c.hw.virtualized() ? csr::vsatp : csr::satp, atp(in));
            return;
        }
        if (k < 29) return jump(c);
        if (k < 30) return registers(c);
        if (k < 32) return raise(c);
        if (k < 33) return os_mode_change(c);
        if (k < 34) {
            // The OS executes an SBI call the fast path answers (set_timer) or forwards (a probe).
            c.h.x[17] = (in.byte() & 1) != 0 ? 0x54494D45 : 0x10;
            c.h.x[16] = (in.byte() & 1) != 0 ? 0 : 3;
            c.h.x[10] = (in.byte() & 1) != 0 ? m.board.read_time() + in.byte() : 0x54494D45;
            return ecall(c);
        }
        return os_instruction(c, system_instruction(in), (in.byte() & 7) != 0);
    }

    // ---- the firmware -----------------------------------------------------------------------

    void csr_instruction(cpu& c) {
        static constexpr u32 funct3s[] = {1, 2, 3, 5, 6, 7, 1, 2};
        const u32 funct3 = funct3s[in.byte() & 7];
        const u16 number = csr_number(in);
        const unsigned rd = reg(in);
        unsigned rs1 = reg(in);
        if ((funct3 & 4) != 0) {
            rs1 = in.byte() & 31;  // uimm
        } else if (rs1 != 0) {
            c.h.x[rs1] = csr_value(in, number);
        }
        m.exec(c, enc::csr_insn(funct3, rd, number, rs1), (in.byte() & 15) != 0);
    }

    void other_system(cpu& c) {
        const u32 bits = system_instruction(in);
        const unsigned rs1 = (bits >> 15) & 31;
        const unsigned rs2 = (bits >> 20) & 31;
        if (rs1 != 0) c.h.x[rs1] = address(in);
        if (rs2 != 0 && (in.byte() & 1) != 0) c.h.x[rs2] = value(in);
        m.exec(c, bits, (in.byte() & 7) != 0);
    }

    void jump(cpu& c) {
        const u8 b = in.byte();
        switch (b & 3) {
            case 0: c.pc = map::firmware_entry + (u64{in.u16_()} & ~u64{1}); break;
            case 1: c.pc = c.h.csr.mtvec & ~u64{3}; break;
            default: c.pc = address(in) & ~u64{1}; break;
        }
    }

    void registers(cpu& c) {
        const unsigned n = 1 + (in.byte() & 3);
        for (unsigned i = 0; i < n; ++i) {
            const u8 b = in.byte();
            if ((b & 0x80) != 0 && c.hw.config().f)
                c.hw.set_f_register(b & 31, value(in));
            else
                c.h.set_reg(b & 31, value(in));
        }
    }

    /// Page-table entries in RAM (the tables area, or anywhere, the monitor's
    /// memory included: its bytes are whatever they are on a real board), or a
    /// whole walk built to map a chosen address to a chosen one.
    void page_tables(cpu&) {
        const u8 b = in.byte();
        if ((b & 1) != 0) {
            const unsigned n = 1 + ((b >> 1) & 7);
            for (unsigned i = 0; i < n; ++i) {
                const u8 where = in.byte();
                u64 at = (where & 3) != 0 ? map::tables + (u64{in.u16_()} * 8) % map::tables_size : address(in);
                at &= ~u64{7};
                m.poke_all(at, pte(in));
            }
            return;
        }
        // A walk: root at tables page r, levels 3 to 5 (or the G-stage's x4 form),
        // the leaf at `leaf_level` with the input's flags.
        const unsigned levels = 3 + ((b >> 1) % 3);
        const bool g_stage = (b & 0x10) != 0;
        const unsigned root = g_stage ? (in.byte() & 12) : (in.byte() & 15);
        const u64 va = address(in);
        const u64 pa = address(in);
        const unsigned leaf_level = in.byte() % 3;
        const u64 flags = in.byte() | 1;  // V
        u64 table = map::tables + u64{root} * 0x1000;
        for (unsigned level = levels; level-- != 0;) {
            const bool top = level == levels - 1;
            const u64 index_mask = g_stage && top ? 0x7ff : 0x1ff;
            const u64 entry = table + 8 * ((va >> (12 + 9 * level)) & index_mask);
            if (level == leaf_level) {
                const u64 ppn = (pa >> 12) & ~((u64{1} << (9 * level)) - 1);
                m.poke_all(entry, (ppn << 10) | flags);
                return;
            }
            const u64 next = map::tables + u64{(root + 4 + (levels - level)) & 15} * 0x1000;
            m.poke_all(entry, ((next >> 12) << 10) | 1);
            table = next;
        }
    }

    /// Interrupt lines, time, spurious interrupts; then every hart takes what is pending.
    void environment(cpu& c) {
        const u8 b = in.byte();
        const bool level = (b & 8) != 0;
        switch (b & 7) {
            case 0: c.hw.set_meip(level); break;
            case 1: c.hw.set_seip_line(level); break;
            case 2:
                if (c.hw.config().h) {
                    c.hw.set_vseip_line(level);
                    c.hw.set_hgeip(in.byte());
                }
                break;
            case 3: m.board.simulated().advance_time(u64{1} << (in.byte() & 31)); break;
            case 4: {
                // Time reaches the hart's physical deadline, or the firmware's.
                const u64 physical = m.board.simulated().mtimecmp(c.index);
                const u64 firmware = m.monitor.shared().mtimecmp[c.index];
                const u64 next = level ? firmware : physical;
                if (next != ~u64{0} && next > m.board.simulated().read_time()) m.board.simulated().set_time(next);
                break;
            }
            case 5: {
                // An interrupt arrives and is gone again before the handler looks (a spurious trap).
                static constexpr u64 codes[] = {1, 3, 5, 7, 9, 11, 13, 2, 6, 10, 12};
                m.take_trap(c, riscv::mcause::interrupt::mask | codes[in.byte() % 11], 0);
                break;
            }
            case 6: m.board.simulated().set_time(in.u64_()); break;
            default: {
                // Another hart's firmware writes this hart's msip or mtimecmp (through its monitor).
                if (m.cpus.size() < 2) break;
                cpu& other = *m.cpus[(c.index + 1) % m.cpus.size()];
                if (!alive(other) || !m.in_firmware(other)) break;
                const bool msip = level;
                other.h.x[5] = msip ? 1 : m.board.read_time() + in.byte();
                other.h.x[6] = msip ? map::clint_base + 4 * c.index : map::mtimecmp_base + 8 * c.index;
                const u32 bits = msip ? ((5u << 20) | (6u << 15) | (2u << 12) | 0x23)   // sw t0, 0(t1)
                                      : ((5u << 20) | (6u << 15) | (3u << 12) | 0x23);  // sd t0, 0(t1)
                if (!m.bits_are_fetchable(other, 4)) break;
                m.place(other, other.pc, bits, 4);
                m.trap(other, riscv::cause_value(riscv::exception::store_access_fault), other.h.x[6],
                       trap_context{true, bits, 4});
                break;
            }
        }
        for (auto& x : m.cpus)
            if (alive(*x)) m.settle(*x);
    }

    /// The firmware answers an SBI call (or any trap): a0/a1, mepc + 4, mret.
    void serve_sbi(cpu& c) {
        const u64 epc = m.csrr(c, 0x341);
        if (!alive(c) || !m.in_firmware(c)) return;
        c.h.x[10] = (in.byte() & 1) != 0 ? 0 : value(in);
        c.h.x[11] = value(in);
        m.csrw(c, 0x341, epc + 4);
        if (!alive(c) || !m.in_firmware(c)) return;
        m.exec(c, enc::mret);
    }

    /// The firmware sets virtual MPRV with MPP below M (and a satp, SUM, MXR, MPV).
    void mprv(cpu& c) {
        const u8 b = in.byte();
        if (c.hw.config().s && (b & 1) != 0) {
            m.csrw(c, 0x180, atp(in));
            if (!alive(c) || !m.in_firmware(c)) return;
        }
        u64 set = (u64{1} << 17) | (static_cast<u64>((b >> 1) & 1) << 11);  // MPRV, MPP = S or U
        if ((b & 4) != 0) set |= u64{1} << 18;                   // SUM
        if ((b & 8) != 0) set |= u64{1} << 19;                   // MXR
        if ((b & 16) != 0 && c.hw.config().h) set |= u64{1} << 39;  // MPV
        m.csrc(c, 0x300, u64{3} << 11);
        if (!alive(c) || !m.in_firmware(c)) return;
        m.csrs(c, 0x300, set);
    }

    /// An exception the hardware raises without an instruction the harness
    /// models: the firmware's (Bare, U-mode) or the OS's (any, including page
    /// faults and guest-page faults when it runs virtualized).
    void raise(cpu& c) {
        const u8 b = in.byte();
        const u64 tval = address(in);
        if (m.in_firmware(c)) {
            static constexpr u64 causes[] = {1, 3, 4, 5, 6, 7, 1, 5};
            const u64 cause = causes[b & 7];
            m.trap(c, cause, cause == 3 ? c.pc : tval);
            return;
        }
        static constexpr u64 causes[] = {12, 13, 15, 1, 5, 7, 3, 4, 6, 20, 21, 23, 12, 13, 15, 2};
        u64 cause = causes[b & 15];
        const bool virtualized = c.hw.virtualized();
        if (cause >= 20 && !virtualized) cause -= 8;  // a guest-page fault only from VS/VU
        if (delegated(c, cause, tval)) return;
        m.trap(c, cause, tval, {}, cause >= 20 ? (in.u64_() >> 2) : 0, 0, virtualized && cause != 2 && cause != 3);
    }

    // ---- memory accesses, as the hart performs them -----------------------------------------

    struct native_outcome {
        bool trapped = false;
        u64 cause = 0;
        u64 tval = 0;
        u64 tval2 = 0;
        bool gva = false;
    };

    void memory(cpu& c) {
        const mem_op op = memory_instruction(in);
        const u64 target = address(in);
        const u64 address_used = op.base == 0 ? static_cast<u64>(op.offset) : target;
        if (op.writes() && (in.byte() & 1) != 0) {
            if (op.is_float && c.hw.config().f)
                c.hw.set_f_register(op.data, value(in));
            else
                c.h.set_reg(op.data, value(in));
        }
        if (op.base != 0) c.h.x[op.base] = target - static_cast<u64>(op.offset);  // last: the data may be the base
        if (!m.bits_are_fetchable(c, op.length)) return;
        m.place(c, c.pc, op.bits, op.length);
        const native_outcome n = perform(c, op, address_used);
        if (!n.trapped) {
            c.pc += op.length;
            return;
        }
        if (!m.in_firmware(c) && delegated(c, n.cause, n.tval)) return;
        m.trap(c, n.cause, n.tval, trap_context{true, op.bits, op.length}, n.tval2, 0, n.gva);
    }

    /// What the hart does with `op` at `address` natively: performs it, or the exception it raises.
    native_outcome perform(cpu& c, const mem_op& op, u64 address) {
        native_outcome out;
        const auto fault = [&](u64 cause, u64 tval) {
            out.trapped = true;
            out.cause = cause;
            out.tval = tval;
            return out;
        };
        const bool store = op.writes();
        const u64 status = c.hw.peek_csr(csr::mstatus).value_or(0);
        if (op.is_float) {
            const bool present = op.width == 8 ? c.hw.config().d : c.hw.config().f;
            if (!present || riscv::mstatus::fs::extract(status) == 0)
                return fault(2, op.length == 4 ? op.bits : op.bits & 0xffff);
        }
        if ((op.op == kind::amo || op.op == kind::lr || op.op == kind::sc) && (address & (op.width - 1)) != 0)
            return fault(op.op == kind::lr ? 4 : 6, address);
        const access_mode how{c.hw.privilege(), c.hw.virtualized(), false};
        if (how.virtualized && ((c.hw.peek_csr(csr::vsatp).value_or(0) >> 60) != 0 ||
                                (c.hw.peek_csr(csr::hgatp).value_or(0) >> 60) != 0)) {
            // Two-stage translation (the model does not walk it): the input says what the walk gave.
            const u8 b = in.byte();
            out.gva = true;
            switch (b & 3) {
                case 0: return out;  // translated to plain memory: performed
                case 1: fault(store ? 7 : 5, address); break;
                case 2: fault(store ? 15 : 13, address); break;
                default:
                    fault(store ? 23 : 21, address);
                    out.tval2 = (in.u64_() & ~u64{3}) >> 2;
                    break;
            }
            return out;
        }
        ++c.hw.native;
        access_result r;
        switch (op.op) {
            case kind::load:
            case kind::lr: r = c.hw.simulated_hart::load(how, address, op.width); break;
            case kind::store:
                r = c.hw.simulated_hart::store(how, address, op.width,
                                                op.is_float ? c.hw.f_register(op.data) : c.h.reg(op.data));
                break;
            case kind::sc:
            case kind::amo:
                r = c.hw.simulated_hart::amo(how, address, op.width, static_cast<amo_op>((op.bits >> 27) & 0x1c), 0);
                break;
        }
        --c.hw.native;
        if (!r.ok) {
            fault(r.cause, r.tval);
            out.gva = how.virtualized;
            return out;
        }
        if (op.op == kind::load && !op.is_float) {
            u64 v = r.value;
            if (op.sign && op.width < 8) {
                const u64 sign = u64{1} << (8 * op.width - 1);
                v = (v ^ sign) - sign;
            }
            c.h.set_reg(op.data, v);
        }
        return out;
    }

    /// Whether the physical medeleg sends `cause` of the OS to its own
    /// handler: the hardware does that without the monitor (played here as
    /// S-mode trap entry, priv. spec 4.1.1, 4.1.2, 4.1.7-4.1.9). True when it did.
    bool delegated(cpu& c, u64 cause, u64 tval) {
        if (!c.hw.config().s || m.in_firmware(c)) return false;
        const u64 medeleg = c.hw.peek_csr(csr::medeleg).value_or(0);
        if (((medeleg >> cause) & 1) == 0) return false;
        if (c.hw.virtualized()) return true;  // to HS or VS: not the monitor's (left out)
        namespace ms = riscv::mstatus;
        u64 s = c.hw.peek_csr(csr::mstatus).value_or(0);
        s = ms::spp::insert(s, c.hw.privilege() == privilege::supervisor ? 1 : 0);
        s = ms::spie::insert(s, ms::sie::extract(s));
        s = ms::sie::insert(s, 0);
        (void)c.hw.poke_csr(csr::mstatus, s);
        (void)c.hw.poke_csr(csr::sepc, c.pc);
        (void)c.hw.poke_csr(csr::scause, cause);
        (void)c.hw.poke_csr(csr::stval, tval);
        c.hw.set_mode(privilege::supervisor, false);
        c.pc = c.hw.peek_csr(csr::stvec).value_or(0) & ~u64{3};
        return true;
    }

    // ---- the OS -----------------------------------------------------------------------------

    void ecall(cpu& c) {
        const u64 cause = c.hw.virtualized() ? 10 : c.hw.privilege() == privilege::supervisor ? 9 : 8;
        if (!m.bits_are_fetchable(c, 4)) return;
        m.place(c, c.pc, enc::ecall, 4);
        if (delegated(c, cause, 0)) return;
        m.trap(c, cause, 0, trap_context{true, enc::ecall, 4});
    }

    void sbi_call(cpu& c) {
        static constexpr u64 extensions[] = {0x00,       0x01,       0x02,       0x03,   0x04,       0x05,
                                             0x06,       0x07,       0x08,       0x10,   0x54494D45, 0x735049,
                                             0x52464E43, 0x48534D,   0x53525354, 0x504D55, 0x4442434E, 0x53555350,
                                             0x0A56464D, 0x4442434E, 0x735049,   0x52464E43};
        constexpr unsigned count = sizeof extensions / sizeof extensions[0];
        const u8 b = in.byte();
        const u64 eid = b < 250 ? extensions[b % count] : in.u64_();
        const u8 f = in.byte();
        const u64 fid = f < 250 ? (f & 15) : in.u64_();
        u64 args[6] = {};
        for (u64& a : args) a = value(in);
        switch (eid) {
            case 0x4442434E:  // DBCN: length, base_lo (an OS physical address), base_hi
                args[0] = (f & 0x10) != 0 ? in.byte() : value(in);
                args[1] = address(in);
                args[2] = (f & 0x20) != 0 ? 0 : args[2];
                break;
            case 0x04:
            case 0x05:
            case 0x06:
            case 0x07: {  // legacy: a0 = the address of a hart mask
                args[0] = (f & 0x10) != 0 ? 0 : address(in);
                if ((f & 0x20) != 0) m.poke_all(args[0] & ~u64{7}, static_cast<u64>(in.byte() & 3));
                break;
            }
            case 0x735049:
            case 0x52464E43: {  // IPI, RFENCE: hart mask and base; start, size, asid
                static constexpr u64 bases[] = {0, ~u64{0}, 1, 0};
                args[0] = (f & 0x10) != 0 ? (in.byte() & 3) : args[0];
                args[1] = (f & 0x20) != 0 ? bases[in.byte() & 3] : args[1];
                if ((f & 0x40) != 0) args[3] = in.u16_();
                break;
            }
            case 0x00:
            case 0x54494D45:  // set_timer: soon, now, never
                args[0] = (f & 0x10) != 0 ? m.board.read_time() + in.byte() : args[0];
                break;
            case 0x0A56464D:  // the monitor's own: a hart index and a counter
                args[0] = in.byte() & 3;
                args[1] = in.byte() & 63;
                break;
            default: break;
        }
        c.h.x[17] = eid;
        c.h.x[16] = fid;
        for (unsigned i = 0; i < 6; ++i) c.h.x[10 + i] = args[i];
        ecall(c);
    }

    /// An instruction of the OS that may trap: `rdtime`, a CSR instruction on
    /// any CSR, wfi/sret/sfence.vma (TW/TSR/TVM), mret, a random word.
    void os_illegal(cpu& c) {
        const u8 b = in.byte();
        u32 bits = 0;
        switch (b & 3) {
            case 0: bits = enc::csr_insn(2, reg(in), 0xc01, 0); break;  // rdtime
            case 1: {
                const u16 number = csr_number(in);
                const u32 funct3 = 1 + in.byte() % 3;
                const unsigned rs1 = reg(in);
                if (rs1 != 0) c.h.x[rs1] = csr_value(in, number);
                bits = enc::csr_insn(funct3, reg(in), number, rs1);
                break;
            }
            case 2: {
                static constexpr u32 privileged[] = {enc::wfi, enc::sret, enc::mret, 0x1200'0073 /* sfence.vma */};
                bits = privileged[in.byte() & 3];
                break;
            }
            default: bits = in.u32_() | 3; break;
        }
        os_instruction(c, bits, (b & 4) == 0);
    }

    /// The OS executes `bits`: natively, or the exception it raises.
    void os_instruction(cpu& c, u32 bits, bool tval_bits) {
        if (!m.bits_are_fetchable(c, 4)) return;
        m.place(c, c.pc, bits, 4);
        const u64 cause = os_traps(c, bits);
        if (cause == 0) {
            c.pc += 4;  // executed natively
            return;
        }
        const u64 tval = cause == 2 || cause == 22 ? (tval_bits ? bits : 0) : cause == 3 ? c.pc : 0;
        if (delegated(c, cause, tval)) return;
        m.trap(c, cause, tval, trap_context{true, bits, 4});
    }

    /// The exception `bits` raises in the OS's mode (2 illegal, 22 virtual
    /// instruction), or 0 when it executes natively.
    u64 os_traps(cpu& c, u32 bits) {
        namespace ms = riscv::mstatus;
        const bool s_mode = c.hw.privilege() == privilege::supervisor;
        const bool virtualized = c.hw.virtualized();
        const u64 status = c.hw.peek_csr(csr::mstatus).value_or(0);
        const bool h = c.hw.config().h;
        if ((bits & 0x7f) != enc::system) return 2;
        const u32 funct3 = (bits >> 12) & 7;
        if (funct3 == 0) {
            if (bits == enc::ecall) return virtualized ? 10 : s_mode ? 9 : 8;
            if (bits == enc::ebreak) return 3;
            if (bits == enc::wfi) return (ms::tw::test(status) || !s_mode) ? 2 : 0;
            if (bits == enc::sret) return (ms::tsr::test(status) || !s_mode) ? 2 : 0;
            const u32 funct7 = bits >> 25;
            if ((bits & 0x7fff) != enc::system) return 2;  // rd and funct3 must be zero
            if (funct7 == 0x09) return (!s_mode || (ms::tvm::test(status) && !virtualized)) ? 2 : 0;  // sfence.vma
            if (funct7 == 0x11 || funct7 == 0x31) return !h || !s_mode ? 2 : virtualized ? 22 : 0;  // hfence.*
            return 2;
        }
        if (funct3 == 4) {  // HLV/HLVX/HSV: HS-mode natively; U-mode with hstatus.HU
            if (!h) return 2;
            if (virtualized) return 22;
            if (s_mode) return 0;
            return riscv::hstatus::hu::test(c.hw.peek_csr(csr::hstatus).value_or(0)) ? 0 : 2;
        }
        const u16 number = static_cast<u16>(bits >> 20);
        const unsigned level = (number >> 8) & 3;
        const unsigned rs1 = (bits >> 15) & 31;
        const bool writes = (funct3 & 3) == 1 || rs1 != 0;
        if (!c.hw.implemented(static_cast<csr>(number))) return 2;
        if (writes && (number >> 10) == 3) return 2;
        if (level == 3 || (level >= 1 && !s_mode)) return 2;
        if (level == 2) return virtualized ? 22 : 0;
        if (number >= 0xc00 && number <= 0xc1f) {
            const unsigned bit = number & 31;
            if (((c.hw.peek_csr(csr::mcounteren).value_or(0) >> bit) & 1) == 0) return 2;
            if (!s_mode && c.hw.config().s && ((c.hw.peek_csr(csr::scounteren).value_or(0) >> bit) & 1) == 0)
                return 2;
            return 0;
        }
        if (number == 0x180 && s_mode && !virtualized && ms::tvm::test(status)) return 2;
        if (number == 0x14d && (c.hw.peek_csr(csr::menvcfg).value_or(0) >> 63) == 0) return 2;
        if (number >= 0x001 && number <= 0x003 && ms::fs::extract(status) == 0) return 2;
        return 0;
    }

    /// The OS writes one of its CSRs natively (satp, sstatus, sie, stvec,
    /// stimecmp, the hypervisor's when it is HS).
    void os_csr(cpu& c) {
        if (!c.hw.config().s || c.hw.privilege() != privilege::supervisor) return;
        static constexpr u16 numbers[] = {0x100, 0x104, 0x105, 0x106, 0x10a, 0x140, 0x141, 0x144, 0x180, 0x14d,
                                          0x600, 0x602, 0x603, 0x604, 0x645, 0x680, 0x280, 0x200, 0x205, 0x60a};
        const u16 number = numbers[in.byte() % (sizeof numbers / sizeof numbers[0])];
        const u32 bits = enc::csr_insn(1, 0, number, 6);
        c.h.x[6] = csr_value(in, number);
        if (os_traps(c, bits) != 0) {
            // Not accessible natively: the instruction traps.
            if (!m.bits_are_fetchable(c, 4)) return;
            m.place(c, c.pc, bits, 4);
            const u64 cause = os_traps(c, bits);
            if (delegated(c, cause, bits)) return;
            m.trap(c, cause, bits, trap_context{true, bits, 4});
            return;
        }
        u16 target = number;
        if (c.hw.virtualized()) {
            // VS-mode: the S-level CSRs are the vs* ones (H ext. 9.2).
            switch (number) {
                case 0x100: target = 0x200; break;
                case 0x105: target = 0x205; break;
                case 0x140: target = 0x240; break;
                case 0x141: target = 0x241; break;
                case 0x180: target = 0x280; break;
                default: return;
            }
        }
        (void)c.hw.poke_csr(static_cast<csr>(target), c.h.x[6]);
        c.pc += 4;
    }

    /// The OS drops to U-mode (sret with SPP = 0) or back (a trap handled by
    /// itself, as a delegated ecall would).
    void os_mode_change(cpu& c) {
        if (!c.hw.config().s || c.hw.virtualized()) return;
        if (c.hw.privilege() == privilege::supervisor) {
            c.hw.set_mode(privilege::user, false);
            c.pc = c.hw.peek_csr(csr::sepc).value_or(0) & ~u64{1};
        } else {
            c.hw.set_mode(privilege::supervisor, false);
            c.pc = c.hw.peek_csr(csr::stvec).value_or(0) & ~u64{3};
        }
    }
};

}  // namespace vfz
