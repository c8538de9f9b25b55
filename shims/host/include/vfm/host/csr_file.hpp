// SPDX-License-Identifier: MIT
/// The CSR file of a simulated hart (docs/host-backend.md, "CSR file"): the
/// state of every CSR the configuration implements (implemented_csrs.hpp),
/// with the PMP CSRs in pmp.hpp, and reads and writes with the privileged
/// spec's WARL rules, including the interrupt lines and the time that mip
/// and the timer CSRs reflect. The access path around it (traps for absent
/// or read-only CSRs, the access log) is simulated_hart's.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/host/config.hpp>
#include <vfm/host/implemented_csrs.hpp>
#include <vfm/host/pmp.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/privilege.hpp>

namespace vfm::host {

/// CSR state and its read and write rules; simulated_hart builds on it.
class csr_file {
public:
    /// `config` must be valid (hart_config::problem; simulated_hart checks).
    explicit csr_file(const hart_config& config)
        : m_config(config), m_pmp(m_config.pmp_entries, m_config.pmp_granularity) {
        compute_masks();
        reset_csrs();
    }

    /// The reset state (priv. spec 3.4) of the CSRs, the PMP, the lines and time.
    void reset_csrs() noexcept {
        using namespace riscv;
        m_mstatus = mstatus::mpp::make(3);
        if (m_config.s) m_mstatus |= mstatus::sxl::make(xlen_64);
        if (m_config.u) m_mstatus |= mstatus::uxl::make(xlen_64);
        m_medeleg = m_mideleg = m_mie = m_mip = m_mtvec = m_mcounteren = m_menvcfg = 0;
        m_mcountinhibit = m_mscratch = m_mepc = m_mcause = m_mtval = m_mtinst = m_mtval2 = 0;
        m_mcycle = m_minstret = 0;
        // Triggers at reset: type 2, nothing enabled (as QEMU 7.2 resets them).
        m_tselect = 0;
        for (unsigned i = 0; i < 16; ++i) {
            m_tdata1[i] = i < m_config.triggers ? u64{2} << 60 : 0;
            m_tdata2[i] = m_tdata3[i] = 0;
        }
        for (auto& c : m_mhpmcounter) c = 0;
        for (auto& e : m_mhpmevent) e = 0;
        m_fcsr = 0;
        m_stvec = m_scounteren = m_senvcfg = m_sscratch = m_sepc = m_scause = m_stval = m_satp = 0;
        m_stimecmp = ~u64{0};
        m_hstatus = m_config.h ? hstatus::vsxl::make(xlen_64) : 0;
        m_hedeleg = m_hideleg = m_hvip = m_htimedelta = m_hcounteren = m_hgeie = m_henvcfg = 0;
        m_htval = m_htinst = m_hgatp = 0;
        m_vsstatus = m_vstvec = m_vsscratch = m_vsepc = m_vscause = m_vstval = m_vsatp = 0;
        m_vstimecmp = ~u64{0};
        m_meip = m_mtip = m_msip = m_seip_line = m_vseip_line = false;
        m_hgeip = 0;
        m_time = 0;
        m_pmp.reset();
    }

protected:
    using C = riscv::csr;

    [[nodiscard]] bool mode_exists(riscv::privilege p) const noexcept { return mode_implemented(m_config, p); }
    [[nodiscard]] static bool in(u16 n, C first, C last) noexcept { return csr_in_range(n, first, last); }
    [[nodiscard]] bool exists(u16 n) const noexcept { return csr_implemented(m_config, n); }
    [[nodiscard]] static bool is_fp(u16 n) noexcept {
        return n == static_cast<u16>(C::fflags) || n == static_cast<u16>(C::frm) || n == static_cast<u16>(C::fcsr);
    }

    // --------------------------------------------------------------
    // Masks that follow from the configuration (computed once)
    // --------------------------------------------------------------

    void compute_masks() noexcept {
        using namespace riscv;
        const hart_config& c = m_config;
        const u64 hpm = c.hpm_counters == 0 ? 0 : (bits_below(c.hpm_counters) << 3);

        // mstatus (3.1.6): MIE/MPIE/MPP always; S adds SIE, SPIE, SPP, SUM,
        // MXR, TVM, TSR; U adds MPRV and TW; F makes FS writable; H adds MPV, GVA.
        // UBE/SBE/MBE read zero (little-endian only), VS and XS read zero.
        m_mstatus_writable = mstatus::mie::mask | mstatus::mpie::mask | mstatus::mpp::mask;
        if (c.s)
            m_mstatus_writable |= mstatus::sie::mask | mstatus::spie::mask | mstatus::spp::mask | mstatus::sum::mask |
                                  mstatus::mxr::mask | mstatus::tvm::mask | mstatus::tsr::mask;
        if (c.u) m_mstatus_writable |= mstatus::mprv::mask | mstatus::tw::mask;
        if (c.f) m_mstatus_writable |= mstatus::fs::mask;
        if (c.h) m_mstatus_writable |= mstatus::mpv::mask | mstatus::gva::mask;
        // sstatus (4.1.1): the S-level subset.
        m_sstatus_writable = m_mstatus_writable & (mstatus::sie::mask | mstatus::spie::mask | mstatus::spp::mask |
                                                   mstatus::sum::mask | mstatus::mxr::mask | mstatus::fs::mask);

        // medeleg (3.1.8): every exception but ecall from M (bit 11) and the
        // reserved codes; with H also 10 and 20-23 (9.4.2).
        m_medeleg_writable = c.s ? 0x0000'b3ffu : 0;
        if (c.h) m_medeleg_writable |= 0x00f0'0400u;
        // mideleg (3.1.8): SSI, STI, SEI, LCOFI with Sscofpmf; with H the
        // VS-level bits (and SGEI when GEILEN > 0) are read-only one (9.4.3).
        m_mideleg_writable = c.s ? 0x222u : 0;
        if (c.sscofpmf) m_mideleg_writable |= 0x2000u;
        m_mideleg_forced = c.h ? 0x444u : 0;
        if (c.guest_external_interrupts != 0) m_mideleg_forced |= 0x1000u;
        // mie (3.1.9): the M-level bits; S-level with S; VS-level (and SGEIE
        // with GEILEN > 0) with H; LCOFIE with Sscofpmf.
        m_mie_writable = 0x888u;
        if (c.s) m_mie_writable |= 0x222u;
        if (c.h) m_mie_writable |= 0x444u;
        if (c.guest_external_interrupts != 0) m_mie_writable |= 0x1000u;
        if (c.sscofpmf) m_mie_writable |= 0x2000u;

        // counteren (3.1.11): CY, TM, IR and the implemented hpm counters.
        m_counteren_writable = 0x7u | hpm;
        // mcountinhibit (3.1.12): no bit for time.
        m_countinhibit_writable = 0x5u | hpm;

        // menvcfg (3.1.18), senvcfg (4.1.4), henvcfg (9.2.5).
        u64 cbo = mask_of(0);  // FIOM
        if (c.zicbom) cbo |= menvcfg::cbie::mask | menvcfg::cbcfe::mask;
        if (c.zicboz) cbo |= menvcfg::cbze::mask;
        m_senvcfg_writable = c.s ? cbo : 0;
        m_menvcfg_writable = cbo;
        if (c.svpbmt) m_menvcfg_writable |= menvcfg::pbmte::mask;
        if (c.sstc) m_menvcfg_writable |= menvcfg::stce::mask;
        m_henvcfg_writable = c.h ? m_menvcfg_writable : 0;

        m_hgeie_mask = c.guest_external_interrupts == 0 ? 0 : bits_below(c.guest_external_interrupts) << 1;
    }

    [[nodiscard]] static constexpr u64 bits_below(unsigned n) noexcept { return n >= 64 ? ~u64{0} : (u64{1} << n) - 1; }
    [[nodiscard]] static constexpr u64 mask_of(unsigned bit) noexcept { return u64{1} << bit; }

    // --------------------------------------------------------------
    // Reads
    // --------------------------------------------------------------

    /// mstatus with SD computed (3.1.6.6: SD summarises FS, VS and XS dirty).
    [[nodiscard]] u64 mstatus_value() const noexcept {
        using namespace riscv;
        u64 v = m_mstatus & ~mstatus::sd::mask;
        if (mstatus::fs::extract(v) == 3 || mstatus::vs::extract(v) == 3 || mstatus::xs::extract(v) == 3)
            v |= mstatus::sd::mask;
        return v;
    }

    [[nodiscard]] u64 vsstatus_value() const noexcept {
        using namespace riscv;
        u64 v = (m_vsstatus & ~mstatus::sd::mask) | mstatus::uxl::make(xlen_64);
        if (mstatus::fs::extract(v) == 3) v |= mstatus::sd::mask;
        return v;
    }

    [[nodiscard]] u64 mideleg_value() const noexcept { return m_mideleg | m_mideleg_forced; }

    [[nodiscard]] bool stce() const noexcept { return m_config.sstc && riscv::menvcfg::stce::test(m_menvcfg); }
    [[nodiscard]] u64 henvcfg_value() const noexcept {
        // henvcfg.STCE is read-only zero while menvcfg.STCE = 0 (Sstc).
        return stce() ? m_henvcfg : m_henvcfg & ~riscv::henvcfg::stce::mask;
    }

    /// mip as M-mode reads it (3.1.9, H ext. 9.4.3, Sstc). With
    /// `with_lines` false SEIP is only the software-writable bit: the value
    /// csrrs / csrrc modify.
    [[nodiscard]] u64 mip_value(bool with_lines) const noexcept {
        u64 v = m_mip;
        if (m_msip) v |= mask_of(3);
        if (m_mtip) v |= mask_of(7);
        if (m_meip) v |= mask_of(11);
        if (m_config.s) {
            if (with_lines && m_seip_line) v |= mask_of(9);
            if (stce()) v = (v & ~mask_of(5)) | (m_time >= m_stimecmp ? mask_of(5) : 0);
        }
        if (m_config.h) {
            v |= m_hvip & mask_of(2);
            bool vstip = (m_hvip & mask_of(6)) != 0;
            if (stce() && riscv::henvcfg::stce::test(m_henvcfg) && m_time + m_htimedelta >= m_vstimecmp) vstip = true;
            if (vstip) v |= mask_of(6);
            const u64 vgein = riscv::hstatus::vgein::extract(m_hstatus);
            const bool vseip =
                (m_hvip & mask_of(10)) != 0 || (vgein != 0 && ((m_hgeip >> vgein) & 1) != 0) || m_vseip_line;
            if (vseip) v |= mask_of(10);
            if ((m_hgeip & m_hgeie) != 0) v |= mask_of(12);
        }
        return v;
    }

    /// Bits of mip M-mode software may write (3.1.9): SSIP, SEIP, STIP
    /// (unless Sstc drives it), LCOFIP, and VSSIP (an alias of hvip.VSSIP).
    [[nodiscard]] u64 mip_writable() const noexcept {
        u64 w = 0;
        if (m_config.s) w |= mask_of(1) | mask_of(9) | (stce() ? 0 : mask_of(5));
        if (m_config.sscofpmf) w |= mask_of(13);
        if (m_config.h) w |= mask_of(2);
        return w;
    }

    static constexpr u64 s_interrupts = 0x2222u;  // SSI, STI, SEI, LCOFI
    static constexpr u64 vs_interrupts = 0x444u;  // VSSI, VSTI, VSEI

    [[nodiscard]] u64 hie_hip_mask() const noexcept {
        return vs_interrupts | (m_config.guest_external_interrupts != 0 ? mask_of(12) : 0);
    }

    [[nodiscard]] bool hpm_implemented(unsigned index) const noexcept {
        return index >= 3 && index < 3 + m_config.hpm_counters;
    }

    [[nodiscard]] u64 read_value(u16 n) const noexcept {
        using namespace riscv;
        if (in(n, C::hpmcounter3, C::hpmcounter31)) return m_mhpmcounter[n - static_cast<u16>(C::cycle)];
        if (in(n, C::mhpmcounter3, C::mhpmcounter31)) return m_mhpmcounter[n - static_cast<u16>(C::mcycle)];
        if (in(n, C::mhpmevent3, C::mhpmevent31)) return m_mhpmevent[n - static_cast<u16>(C::mcountinhibit)];
        if (in(n, C::pmpaddr0, C::pmpaddr63)) return m_pmp.read_addr(n - static_cast<u16>(C::pmpaddr0));
        if (in(n, C::pmpcfg0, C::pmpcfg14)) return m_pmp.read_cfg(n - static_cast<u16>(C::pmpcfg0));
        switch (static_cast<C>(n)) {
            case C::fflags: return m_fcsr & 0x1f;
            case C::frm: return (m_fcsr >> 5) & 7;
            case C::fcsr: return m_fcsr & 0xff;
            case C::cycle: return m_mcycle;
            case C::time: return m_time;
            case C::instret: return m_minstret;
            case C::sstatus: return mstatus_value() & mstatus::sstatus_mask;
            case C::sie: return m_mie & mideleg_value() & s_interrupts;
            case C::stvec: return m_stvec;
            case C::scounteren: return m_scounteren;
            case C::senvcfg: return m_senvcfg;
            case C::sscratch: return m_sscratch;
            case C::sepc: return m_sepc;
            case C::scause: return m_scause;
            case C::stval: return m_stval;
            case C::sip: return mip_value(true) & mideleg_value() & s_interrupts;
            case C::stimecmp: return m_stimecmp;
            case C::satp: return m_satp;
            case C::scountovf: {
                // Sscofpmf: bit n is mhpmevent n's OF bit (M-mode sees them all).
                u64 v = 0;
                for (unsigned i = 3; i < 32; ++i)
                    if (hpm_implemented(i) && (m_mhpmevent[i] >> 63) != 0) v |= mask_of(i);
                return v;
            }
            case C::hstatus: return m_hstatus;
            case C::hedeleg: return m_hedeleg;
            case C::hideleg: return m_hideleg;
            case C::hie: return m_mie & hie_hip_mask();
            case C::htimedelta: return m_htimedelta;
            case C::hcounteren: return m_hcounteren;
            case C::hgeie: return m_hgeie;
            case C::henvcfg: return henvcfg_value();
            case C::htval: return m_htval;
            case C::hip: return mip_value(true) & hie_hip_mask();
            case C::hvip: return m_hvip;
            case C::htinst: return m_htinst;
            case C::hgatp: return m_hgatp;
            case C::hgeip: return m_hgeip;
            case C::vsstatus: return vsstatus_value();
            case C::vsie: return (m_mie & m_hideleg & vs_interrupts) >> 1;
            case C::vstvec: return m_vstvec;
            case C::vsscratch: return m_vsscratch;
            case C::vsepc: return m_vsepc;
            case C::vscause: return m_vscause;
            case C::vstval: return m_vstval;
            case C::vsip: return (mip_value(true) & m_hideleg & vs_interrupts) >> 1;
            case C::vstimecmp: return m_vstimecmp;
            case C::vsatp: return m_vsatp;
            case C::mvendorid: return m_config.mvendorid;
            case C::marchid: return m_config.marchid;
            case C::mimpid: return m_config.mimpid;
            case C::mhartid: return m_config.mhartid;
            case C::mconfigptr: return m_config.mconfigptr;
            case C::mstatus: return mstatus_value();
            case C::misa: return m_config.misa();
            case C::medeleg: return m_medeleg;
            case C::mideleg: return mideleg_value();
            case C::mie: return m_mie;
            case C::mtvec: return m_mtvec;
            case C::mcounteren: return m_mcounteren;
            case C::menvcfg: return m_menvcfg;
            case C::mcountinhibit: return m_mcountinhibit;
            case C::mscratch: return m_mscratch;
            case C::mepc: return m_mepc;
            case C::mcause: return m_mcause;
            case C::mtval: return m_mtval;
            case C::mip: return mip_value(true);
            case C::mtinst: return m_mtinst;
            case C::mtval2: return m_mtval2;
            case C::mcycle: return m_mcycle;
            case C::minstret: return m_minstret;
            case C::tselect: return m_tselect;
            case C::tdata1: return m_tdata1[m_tselect];
            case C::tdata2: return m_tdata2[m_tselect];
            case C::tdata3: return m_tdata3[m_tselect];
            case C::tinfo: return (u64{1} << 24) | m_config.trigger_types;  // version 1: Debug spec 1.0
            default: return 0;
        }
    }

    /// tdata1 (Debug spec 5.7.2-5.7.5) written from M-mode: dmode stays 0; 0
    /// disables the trigger (type 15); a type the trigger lacks is ignored (as
    /// QEMU 7.2 does); action takes 0 (breakpoint) or 1 (Debug Mode), another
    /// value keeps the old one; the privilege bits of modes the hart lacks are 0.
    void write_tdata1(u64 v) noexcept {
        u64& reg = m_tdata1[m_tselect];
        const u64 type = v >> 60;
        if (v == 0 || type == 15) {
            reg = u64{15} << 60;
            return;
        }
        if (((m_config.trigger_types >> type) & 1) == 0) return;
        const bool s = m_config.s, u = m_config.u, h = m_config.h;
        u64 writable = 0;
        u64 action_mask = 0;
        unsigned action_shift = 0;
        if (type == 2) {
            writable = bits_below(3) | mask_of(6) | (bits_below(4) << 7) | mask_of(11) | (bits_below(9) << 12);
            if (u) writable |= mask_of(3);
            if (s) writable |= mask_of(4);
            action_mask = bits_below(4) << 12;
            action_shift = 12;
        } else if (type == 6) {
            writable = bits_below(3) | mask_of(6) | (bits_below(4) << 7) | mask_of(11) | (bits_below(11) << 12);
            writable &= ~(mask_of(23) | mask_of(24));
            if (u) writable |= mask_of(3);
            if (s) writable |= mask_of(4);
            if (h) writable |= mask_of(23) | mask_of(24);
            action_mask = bits_below(4) << 12;
            action_shift = 12;
        } else {  // 3: icount
            writable = bits_below(6) | mask_of(8) | mask_of(9) | (bits_below(15) << 10);
            if (u) writable |= mask_of(6);
            if (s) writable |= mask_of(7);
            if (h) writable |= mask_of(25) | mask_of(26);
            action_mask = bits_below(6);
        }
        u64 next = (type << 60) | (v & writable);
        const u64 action = (v & action_mask) >> action_shift;
        if (action > 1) next = (next & ~action_mask) | (reg >> 60 == type ? reg & action_mask : 0);
        reg = next;
    }

    /// The value csrrs / csrrc read-modify-write: as read, except that mip's
    /// SEIP is only its software-writable bit (3.1.9).
    [[nodiscard]] u64 rmw_value(u16 n) const noexcept {
        if (n == static_cast<u16>(C::mip)) return mip_value(false);
        return read_value(n);
    }

    // --------------------------------------------------------------
    // Writes with the WARL rules
    // --------------------------------------------------------------

    [[nodiscard]] u64 legal_epc(u64 v) const noexcept { return v & ~u64{m_config.c ? 1u : 3u}; }

    /// xtvec (3.1.7): MODE 0 or 1; a write with MODE >= 2 (reserved) is
    /// ignored as a whole and the register keeps its value (vfm's choice).
    static void write_tvec(u64& reg, u64 v) noexcept {
        if ((v & 3) >= 2) return;
        reg = v;
    }

    [[nodiscard]] bool satp_mode_supported(u64 mode) const noexcept {
        return mode == riscv::satp::mode_bare || (mode == riscv::satp::mode_sv39 && m_config.sv39) ||
               (mode == riscv::satp::mode_sv48 && m_config.sv48);
    }

    /// satp / vsatp (4.1.11): a write with an unsupported MODE is ignored
    /// entirely. ASIDLEN = 16 and the 44 PPN bits are all writable.
    void write_atp(u64& reg, u64 v) const noexcept {
        if (!satp_mode_supported(riscv::satp::mode::extract(v))) return;
        reg = v;
    }

    /// The xenvcfg CBIE field (Zicbom): 0b10 is reserved; such a write keeps
    /// the old CBIE (vfm's choice), the other fields are written.
    [[nodiscard]] static u64 write_envcfg(u64 old, u64 v, u64 writable) noexcept {
        u64 next = (old & ~writable) | (v & writable);
        if ((writable & riscv::menvcfg::cbie::mask) != 0 && riscv::menvcfg::cbie::extract(v) == 2)
            next = riscv::menvcfg::cbie::insert(next, riscv::menvcfg::cbie::extract(old));
        return next;
    }

    static void write_masked(u64& reg, u64 v, u64 writable) noexcept { reg = (reg & ~writable) | (v & writable); }

    void mark_fp_dirty() noexcept { m_mstatus = riscv::mstatus::fs::insert(m_mstatus, 3); }

    void write_value(u16 n, u64 v) noexcept {
        using namespace riscv;
        if (in(n, C::mhpmcounter3, C::mhpmcounter31)) {
            const unsigned i = n - static_cast<u16>(C::mcycle);
            if (hpm_implemented(i)) m_mhpmcounter[i] = v;
            return;
        }
        if (in(n, C::mhpmevent3, C::mhpmevent31)) {
            const unsigned i = n - static_cast<u16>(C::mcountinhibit);
            if (hpm_implemented(i)) m_mhpmevent[i] = v & hpmevent_writable();
            return;
        }
        if (in(n, C::pmpaddr0, C::pmpaddr63)) {
            m_pmp.write_addr(n - static_cast<u16>(C::pmpaddr0), v);
            return;
        }
        if (in(n, C::pmpcfg0, C::pmpcfg14)) {
            m_pmp.write_cfg(n - static_cast<u16>(C::pmpcfg0), v);
            return;
        }
        switch (static_cast<C>(n)) {
            case C::fflags:
                m_fcsr = (m_fcsr & ~u64{0x1f}) | (v & 0x1f);
                mark_fp_dirty();
                return;
            case C::frm:
                m_fcsr = (m_fcsr & 0x1f) | ((v & 7) << 5);
                mark_fp_dirty();
                return;
            case C::fcsr:
                m_fcsr = v & 0xff;
                mark_fp_dirty();
                return;
            case C::sstatus: write_masked(m_mstatus, v, m_sstatus_writable); return;
            case C::sie: write_masked(m_mie, v, s_interrupts & mideleg_value() & m_mie_writable); return;
            case C::stvec: write_tvec(m_stvec, v); return;
            case C::scounteren: m_scounteren = v & m_counteren_writable; return;
            case C::senvcfg: m_senvcfg = write_envcfg(m_senvcfg, v, m_senvcfg_writable); return;
            case C::sscratch: m_sscratch = v; return;
            case C::sepc: m_sepc = legal_epc(v); return;
            case C::scause: m_scause = v; return;
            case C::stval: m_stval = v; return;
            case C::sip:
                // 4.1.3: only SSIP (and LCOFIP) are writable in sip, and only when delegated.
                write_masked(m_mip, v, (mask_of(1) | (m_config.sscofpmf ? mask_of(13) : 0)) & mideleg_value());
                return;
            case C::stimecmp: m_stimecmp = v; return;
            case C::satp: write_atp(m_satp, v); return;
            case C::hstatus: {
                // 9.2.1: VSXL read-only 2, VSBE read-only 0; VGEIN holds 0..GEILEN
                // (a larger value keeps the old one, vfm's choice).
                const u64 writable = hstatus::gva::mask | hstatus::spv::mask | hstatus::spvp::mask | hstatus::hu::mask |
                                     hstatus::vtvm::mask | hstatus::vtw::mask | hstatus::vtsr::mask;
                u64 next = (m_hstatus & ~writable) | (v & writable);
                if (hstatus::vgein::extract(v) <= m_config.guest_external_interrupts)
                    next = hstatus::vgein::insert(next, hstatus::vgein::extract(v));
                m_hstatus = next;
                return;
            }
            case C::hedeleg: m_hedeleg = v & 0xb1ffu; return;  // 9.2.2, table 9.2
            case C::hideleg: m_hideleg = v & vs_interrupts; return;
            case C::hie: write_masked(m_mie, v, hie_hip_mask()); return;
            case C::htimedelta: m_htimedelta = v; return;
            case C::hcounteren: m_hcounteren = v & m_counteren_writable; return;
            case C::hgeie: m_hgeie = v & m_hgeie_mask; return;
            case C::henvcfg: {
                const u64 writable = stce() ? m_henvcfg_writable : m_henvcfg_writable & ~henvcfg::stce::mask;
                m_henvcfg = write_envcfg(m_henvcfg, v, writable);
                return;
            }
            case C::htval: m_htval = v; return;
            case C::hip: write_masked(m_hvip, v, mask_of(2)); return;  // hip.VSSIP aliases hvip.VSSIP
            case C::hvip: m_hvip = v & vs_interrupts; return;
            case C::htinst: m_htinst = v; return;
            case C::hgatp: {
                // 9.2.10: an unsupported MODE is not ignored as for satp, the
                // fields are WARL: MODE keeps its old value (vfm's choice).
                // VMIDLEN = 14; PPN[1:0] read zero.
                u64 mode = hgatp::mode::extract(v);
                if (!satp_mode_supported(mode)) mode = hgatp::mode::extract(m_hgatp);
                m_hgatp = hgatp::mode::make(mode) | (v & hgatp::vmid::mask) | (v & hgatp::ppn::mask & ~u64{3});
                return;
            }
            case C::vsstatus: write_masked(m_vsstatus, v, m_sstatus_writable); return;
            case C::vsie: {
                // 9.2.12: vsie bits alias the delegated VS bits of mie, shifted down by one.
                const u64 writable = m_hideleg & vs_interrupts;
                write_masked(m_mie, v << 1, writable);
                return;
            }
            case C::vstvec: write_tvec(m_vstvec, v); return;
            case C::vsscratch: m_vsscratch = v; return;
            case C::vsepc: m_vsepc = legal_epc(v); return;
            case C::vscause: m_vscause = v; return;
            case C::vstval: m_vstval = v; return;
            case C::vsip: write_masked(m_hvip, v << 1, m_hideleg & mask_of(2)); return;
            case C::vstimecmp: m_vstimecmp = v; return;
            case C::vsatp: write_atp(m_vsatp, v); return;
            case C::mstatus: {
                // 3.1.6.2: MPP holds only implemented modes; another value
                // keeps the old MPP (vfm's choice).
                u64 next = (m_mstatus & ~m_mstatus_writable) | (v & m_mstatus_writable);
                const auto mpp = static_cast<riscv::privilege>(mstatus::mpp::extract(v));
                const bool legal = mstatus::mpp::extract(v) != 2 && mode_exists(mpp);
                if (!legal) next = mstatus::mpp::insert(next, mstatus::mpp::extract(m_mstatus));
                m_mstatus = next;
                return;
            }
            case C::misa: return;  // read-only WARL: the extensions cannot be switched off
            case C::medeleg: m_medeleg = v & m_medeleg_writable; return;
            case C::mideleg: m_mideleg = v & m_mideleg_writable; return;
            case C::mie: m_mie = v & m_mie_writable; return;
            case C::mtvec: write_tvec(m_mtvec, v); return;
            case C::mcounteren: m_mcounteren = v & m_counteren_writable; return;
            case C::menvcfg: m_menvcfg = write_envcfg(m_menvcfg, v, m_menvcfg_writable); return;
            case C::mcountinhibit: m_mcountinhibit = v & m_countinhibit_writable; return;
            case C::mscratch: m_mscratch = v; return;
            case C::mepc: m_mepc = legal_epc(v); return;
            case C::mcause: m_mcause = v; return;
            case C::mtval: m_mtval = v; return;
            case C::mip: {
                const u64 writable = mip_writable();
                write_masked(m_mip, v, writable & ~mask_of(2));
                if (m_config.h) write_masked(m_hvip, v, mask_of(2));
                return;
            }
            case C::mtinst: m_mtinst = v; return;
            case C::mtval2: m_mtval2 = v; return;
            case C::mcycle: m_mcycle = v; return;
            case C::minstret: m_minstret = v; return;
            case C::tselect:
                if (v < m_config.triggers) m_tselect = static_cast<unsigned>(v);  // WARL: others keep it (5.7.1)
                return;
            case C::tdata1: write_tdata1(v); return;
            case C::tdata2: m_tdata2[m_tselect] = v; return;
            case C::tdata3: m_tdata3[m_tselect] = v; return;
            case C::tinfo: return;  // read-only: writes are ignored (5.7.10)
            default: return;
        }
    }

    /// mhpmevent (3.1.10, Sscofpmf): the event selector bits [55:0]; with
    /// Sscofpmf OF and MINH, plus SINH / UINH / VSINH+VUINH with S / U / H.
    [[nodiscard]] u64 hpmevent_writable() const noexcept {
        u64 w = bits_below(56);
        if (m_config.sscofpmf) {
            w |= mask_of(63) | mask_of(62);
            if (m_config.s) w |= mask_of(61);
            if (m_config.u) w |= mask_of(60);
            if (m_config.h) w |= mask_of(59) | mask_of(58);
        }
        return w;
    }

    // --------------------------------------------------------------
    // State
    // --------------------------------------------------------------

    hart_config m_config;
    pmp_unit m_pmp;

    // Masks derived from the configuration.
    u64 m_mstatus_writable = 0, m_sstatus_writable = 0, m_medeleg_writable = 0, m_mideleg_writable = 0;
    u64 m_mideleg_forced = 0, m_mie_writable = 0, m_counteren_writable = 0, m_countinhibit_writable = 0;
    u64 m_menvcfg_writable = 0, m_senvcfg_writable = 0, m_henvcfg_writable = 0, m_hgeie_mask = 0;

    // Machine level.
    u64 m_mstatus = 0, m_medeleg = 0, m_mideleg = 0, m_mie = 0, m_mip = 0, m_mtvec = 0, m_mcounteren = 0;
    u64 m_menvcfg = 0, m_mcountinhibit = 0, m_mscratch = 0, m_mepc = 0, m_mcause = 0, m_mtval = 0;
    u64 m_mtinst = 0, m_mtval2 = 0, m_mcycle = 0, m_minstret = 0, m_fcsr = 0;
    unsigned m_tselect = 0;
    u64 m_tdata1[16] = {}, m_tdata2[16] = {}, m_tdata3[16] = {};
    u64 m_mhpmcounter[32] = {};
    u64 m_mhpmevent[32] = {};
    // Supervisor level.
    u64 m_stvec = 0, m_scounteren = 0, m_senvcfg = 0, m_sscratch = 0, m_sepc = 0, m_scause = 0, m_stval = 0;
    u64 m_satp = 0, m_stimecmp = 0;
    // Hypervisor and virtual supervisor level.
    u64 m_hstatus = 0, m_hedeleg = 0, m_hideleg = 0, m_hvip = 0, m_htimedelta = 0, m_hcounteren = 0;
    u64 m_hgeie = 0, m_henvcfg = 0, m_htval = 0, m_htinst = 0, m_hgatp = 0;
    u64 m_vsstatus = 0, m_vstvec = 0, m_vsscratch = 0, m_vsepc = 0, m_vscause = 0, m_vstval = 0, m_vsatp = 0;
    u64 m_vstimecmp = 0;
    // Platform inputs.
    bool m_meip = false, m_mtip = false, m_msip = false, m_seip_line = false, m_vseip_line = false;
    u64 m_hgeip = 0;
    u64 m_time = 0;
};

}  // namespace vfm::host
