// SPDX-License-Identifier: MIT
/// Which privilege modes and which CSRs a simulated hart implements, as its
/// configuration (config.hpp) says: absent CSRs trap on every access
/// (priv. spec 2.1; the CSR file is csr_file.hpp).
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/host/config.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/privilege.hpp>

namespace vfm::host {

/// Whether the hart has privilege mode `p` (M always; S and U as configured).
[[nodiscard]] inline bool mode_implemented(const hart_config& config, riscv::privilege p) noexcept {
    return p == riscv::privilege::machine || (p == riscv::privilege::supervisor && config.s) ||
           (p == riscv::privilege::user && config.u);
}

/// Whether CSR number `n` lies in [first, last].
[[nodiscard]] inline bool csr_in_range(u16 n, riscv::csr first, riscv::csr last) noexcept {
    return n >= static_cast<u16>(first) && n <= static_cast<u16>(last);
}

/// Whether a hart configured as `c` implements CSR number `n`.
[[nodiscard]] inline bool csr_implemented(const hart_config& c, u16 n) noexcept {
    using C = riscv::csr;
    // Counters and their shadows always exist (Zicntr / Zihpm; the
    // unimplemented hpm counters and events read zero, priv. spec 3.1.10).
    if (csr_in_range(n, C::hpmcounter3, C::hpmcounter31) || csr_in_range(n, C::mhpmcounter3, C::mhpmcounter31) ||
        csr_in_range(n, C::mhpmevent3, C::mhpmevent31))
        return true;
    // PMP CSRs: all 16 pmpcfg (even) / 64 pmpaddr exist as soon as one
    // entry does (3.7.1); a hart without PMP has none.
    if (csr_in_range(n, C::pmpaddr0, C::pmpaddr63)) return c.pmp_entries != 0;
    if (csr_in_range(n, C::pmpcfg0, C::pmpcfg14)) return c.pmp_entries != 0 && (n & 1) == 0;
    switch (static_cast<C>(n)) {
        case C::fflags:
        case C::frm:
        case C::fcsr: return c.f;
        case C::cycle:
        case C::instret: return true;
        case C::time: return c.time_csr;
        case C::sstatus:
        case C::sie:
        case C::stvec:
        case C::scounteren:
        case C::senvcfg:
        case C::sscratch:
        case C::sepc:
        case C::scause:
        case C::stval:
        case C::sip:
        case C::satp: return c.s;
        case C::stimecmp: return c.sstc;
        case C::scountovf: return c.sscofpmf;
        case C::hstatus:
        case C::hedeleg:
        case C::hideleg:
        case C::hie:
        case C::htimedelta:
        case C::hcounteren:
        case C::hgeie:
        case C::henvcfg:
        case C::htval:
        case C::hip:
        case C::hvip:
        case C::htinst:
        case C::hgatp:
        case C::hgeip:
        case C::vsstatus:
        case C::vsie:
        case C::vstvec:
        case C::vsscratch:
        case C::vsepc:
        case C::vscause:
        case C::vstval:
        case C::vsip:
        case C::vsatp:
        case C::mtinst:
        case C::mtval2: return c.h;
        case C::vstimecmp: return c.h && c.sstc;
        case C::mvendorid:
        case C::marchid:
        case C::mimpid:
        case C::mhartid:
        case C::mconfigptr:
        case C::mstatus:
        case C::misa:
        case C::mie:
        case C::mtvec:
        case C::mcountinhibit:
        case C::mscratch:
        case C::mepc:
        case C::mcause:
        case C::mtval:
        case C::mip:
        case C::mcycle:
        case C::minstret: return true;
        // medeleg/mideleg only with S (3.1.8); mcounteren and menvcfg only with U (3.1.11, 3.1.18).
        case C::medeleg:
        case C::mideleg: return c.s;
        case C::tselect:
        case C::tdata1:
        case C::tdata2:
        case C::tdata3: return c.triggers != 0;
        case C::tinfo: return c.triggers != 0 && c.tinfo;
        case C::mcounteren:
        case C::menvcfg: return c.u;
        default: return false;  // vector, seed, stateen, debug, mseccfg, unknown numbers
    }
}

}  // namespace vfm::host
