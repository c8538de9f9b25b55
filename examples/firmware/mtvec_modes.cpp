// SPDX-License-Identifier: MIT
// mtvec-modes: direct and vectored trap vectors (priv. spec 3.1.7). In
// direct mode every trap enters at BASE; in vectored mode exceptions enter
// at BASE and interrupt `cause` at BASE + 4 * cause. The interrupts are the
// machine software interrupt (CLINT msip), the machine timer (mtimecmp) and
// the supervisor software, timer and external interrupts raised through
// mip (not delegated, so they trap to M-mode).
#include "testfw/testfw.hpp"

using namespace testfw;
using riscv::exception;
namespace ip = riscv::mip;
namespace ms = riscv::mstatus;

const char* const testfw::firmware_name = "mtvec-modes";
const char* const testfw::firmware_purpose = "direct and vectored mtvec for exceptions and interrupts";

namespace {

struct interrupt_record {
    volatile u64 count;
    u64 cause;
    i64 vector;
    u64 mpp;
    u64 epc;
};
interrupt_record g_irq;

/// Takes the interrupt and silences its source.
bool on_interrupt(trap_frame& f) {
    if (!f.is_interrupt()) return false;
    g_irq.count = g_irq.count + 1;
    g_irq.cause = f.cause;
    g_irq.vector = f.vector;
    g_irq.mpp = f.mpp();
    g_irq.epc = f.epc;
    switch (f.code()) {
        case riscv::irq::m_software: clear_ipi(hartid()); break;
        case riscv::irq::m_timer: set_mtimecmp(hartid(), ~u64{0}); break;
        case riscv::irq::s_software: clear<csr::mip>(ip::ssip::mask); break;
        case riscv::irq::s_timer: clear<csr::mip>(ip::stip::mask); break;
        case riscv::irq::s_external: clear<csr::mip>(ip::seip::mask); break;
        default: break;
    }
    clear<csr::mie>(u64{1} << f.code());
    return true;
}

void raise(unsigned irq) {
    switch (irq) {
        case riscv::irq::m_software: send_ipi(hartid()); break;
        case riscv::irq::m_timer: set_mtimecmp(hartid(), 0); break;
        default: set<csr::mip>(u64{1} << irq); break;
    }
}

const char* irq_name(unsigned irq) { return cause_name((u64{1} << 63) | irq); }

/// Raises `irq` with MIE = 1 and mie enabling it; checks which entry took it.
void interrupt_in_m(unsigned irq, bool vectored) {
    g_irq = {};
    raise(irq);
    set<csr::mie>(u64{1} << irq);
    set<csr::mstatus>(ms::mie::mask);
    const deadline until = deadline::in_ms(500);
    while (g_irq.count == 0 && !until.passed()) {
    }
    clear<csr::mstatus>(ms::mie::mask);
    const i64 expected = vectored ? static_cast<i64>(irq) : -1;
    check(g_irq.count == 1 && g_irq.cause == ((u64{1} << 63) | irq) && g_irq.vector == expected,
          "%s: taken %u time(s), mcause %x, entry %s", irq_name(irq), g_irq.count, g_irq.cause,
          g_irq.vector < 0 ? "BASE (direct)" : g_irq.vector == 0 ? "BASE + 0" : "BASE + 4 * cause");
}

void exceptions(bool vectored) {
    const i64 expected = vectored ? 0 : -1;
    probe p = insn_probe<encoding::ecall>();
    check(p.trapped && p.cause == static_cast<u64>(exception::ecall_from_m) && p.vector == expected,
          "ecall: mcause %h, entry %s", p.cause, p.vector < 0 ? "BASE (direct)" : p.vector == 0 ? "BASE" : "wrong");
    p = insn_probe<0x0000'000b>();
    check(p.trapped && p.cause == static_cast<u64>(exception::illegal_instruction) && p.vector == expected,
          "illegal instruction: mcause %h, entry %s", p.cause,
          p.vector < 0 ? "BASE (direct)" : p.vector == 0 ? "BASE" : "wrong");
    p = insn_probe<encoding::ebreak>();
    check(p.trapped && p.cause == static_cast<u64>(exception::breakpoint) && p.vector == expected,
          "ebreak: mcause %h, entry %s", p.cause, p.vector < 0 ? "BASE (direct)" : p.vector == 0 ? "BASE" : "wrong");
}

/// S-mode code waits by counting, not by reading mtime (whether S-mode may
/// read the CLINT is not this firmware's business).
u64 lower_spin(u64) {
    for (u64 i = 0; i < lower_spin_limit && g_irq.count == 0; ++i) {
        barrier();
    }
    return g_irq.count;
}

void interrupt_from_s(bool vectored) {
    g_irq = {};
    set<csr::mie>(ip::msip::mask);
    send_ipi(hartid());
    // MIE = 0 in M; in S-mode, M-level interrupts are enabled regardless
    // (U-mode on a hart without S-mode).
    const privilege mode = has_s_mode() ? privilege::supervisor : privilege::user;
    (void)run_in(mode, lower_spin);
    const i64 expected = vectored ? static_cast<i64>(riscv::irq::m_software) : -1;
    check(g_irq.count == 1 && g_irq.vector == expected && g_irq.mpp == static_cast<u64>(mode),
          "machine software interrupt while in %s-mode: taken %u time(s), MPP = %u, entry %s", name(mode),
          g_irq.count, g_irq.mpp, g_irq.vector < 0 ? "BASE (direct)" : "BASE + 4 * cause");
}

constexpr unsigned interrupts[] = {riscv::irq::s_software, riscv::irq::m_software, riscv::irq::s_timer,
                                   riscv::irq::m_timer,    riscv::irq::s_external};

}  // namespace

void testfw::firmware_main() {
    pmp::reset();
    pmp::open_all(0);
    set_mtimecmp(hartid(), ~u64{0});
    set_m_handler(on_interrupt);

    section("direct mode");
    write<csr::mtvec>(direct_mtvec());
    check(read<csr::mtvec>() == direct_mtvec(), "mtvec <- BASE | 0 reads it back: %b", read<csr::mtvec>() == direct_mtvec());
    exceptions(false);
    for (const unsigned irq : interrupts) interrupt_in_m(irq, false);
    interrupt_from_s(false);

    section("vectored mode");
    write<csr::mtvec>(vectored_mtvec());
    check(read<csr::mtvec>() == vectored_mtvec(), "mtvec <- BASE | 1 reads it back: %b",
          read<csr::mtvec>() == vectored_mtvec());
    exceptions(true);
    for (const unsigned irq : interrupts) interrupt_in_m(irq, true);
    interrupt_from_s(true);

    write<csr::mtvec>(direct_mtvec());
    set_m_handler(nullptr);
    pmp::reset();
}
