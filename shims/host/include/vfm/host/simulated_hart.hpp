// SPDX-License-Identifier: MIT
/// `vfm::host::simulated_hart`: a simulated RV64 hart that satisfies
/// `vfm::arch`, for unit tests of the engine and for host programs that embed
/// the core (docs/host-backend.md).
///
/// The model of the physical hart is written from the RISC-V privileged
/// specification (v1.12 with the H extension, Sstc and Sscofpmf), not from
/// the engine's code, which it exists to check. It holds the physical CSR
/// file with the spec's WARL rules, the platform's interrupt lines and time,
/// PMP, RAM with Bare / Sv39 / Sv48 translation, and an access log of every
/// side effect the core causes. The hart itself never runs code: a test plays
/// the guest by driving traps (`trap`, `raise_interrupt`) and reads what the
/// monitor did from the log.
#pragma once

#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <vfm/arch.hpp>
#include <vfm/host/access_log.hpp>
#include <vfm/host/config.hpp>
#include <vfm/host/memory.hpp>
#include <vfm/host/pmp.hpp>
#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/privilege.hpp>

namespace vfm::host {

/// A simulated RV64 hart (see the file comment).
class simulated_hart {
public:
    /// Builds a hart in its reset state. Throws std::invalid_argument for a
    /// configuration that describes no legal hart (`hart_config::problem`).
    explicit simulated_hart(hart_config config = {})
        : m_config(validated(config)),
          m_pmp(m_config.pmp_entries, m_config.pmp_granularity),
          m_ram(m_config.ram_base, m_config.ram_size) {
        compute_masks();
        reset();
    }

    simulated_hart(const simulated_hart&) = delete;
    simulated_hart& operator=(const simulated_hart&) = delete;

    // ------------------------------------------------------------------
    // vfm::arch: CSRs by number, guarded
    // ------------------------------------------------------------------

    /// csrrs rd, csr, x0: reads without writing; ok = false when it traps.
    [[nodiscard]] csr_result csr_read(riscv::csr number) noexcept { return access(number, csr_op::read, 0); }
    /// csrrw x0, csr, rs1: false when it traps (absent or read-only CSR).
    [[nodiscard]] bool csr_write(riscv::csr number, u64 value) noexcept {
        return access(number, csr_op::write, value).ok;
    }
    /// csrrw rd, csr, rs1.
    [[nodiscard]] csr_result csr_swap(riscv::csr number, u64 value) noexcept {
        return access(number, csr_op::swap, value);
    }
    /// csrrs rd, csr, rs1 with rs1 != x0: a write even when `value` is 0, so
    /// it traps on a read-only CSR (unpriv. spec 9.1, table 9.1).
    [[nodiscard]] csr_result csr_set(riscv::csr number, u64 value) noexcept {
        return access(number, csr_op::set, value);
    }
    /// csrrc rd, csr, rs1 with rs1 != x0 (a write, as csr_set).
    [[nodiscard]] csr_result csr_clear(riscv::csr number, u64 value) noexcept {
        return access(number, csr_op::clear, value);
    }

    // ------------------------------------------------------------------
    // vfm::arch: CSRs by constant number, unguarded. Same semantics; an
    // access that would trap is a bug in the test or the core and goes to
    // the misuse handler (which by default aborts).
    // ------------------------------------------------------------------

    template <riscv::csr N>
    [[nodiscard]] u64 read() noexcept {
        return unguarded(N, csr_op::read, 0);
    }
    template <riscv::csr N>
    void write(u64 value) noexcept {
        (void)unguarded(N, csr_op::write, value);
    }
    template <riscv::csr N>
    u64 set(u64 value) noexcept {
        return unguarded(N, csr_op::set, value);
    }
    template <riscv::csr N>
    u64 clear(u64 value) noexcept {
        return unguarded(N, csr_op::clear, value);
    }
    template <riscv::csr N>
    u64 swap(u64 value) noexcept {
        return unguarded(N, csr_op::swap, value);
    }

    // ------------------------------------------------------------------
    // vfm::arch: fences, wfi, identity
    // ------------------------------------------------------------------

    void fence_i() noexcept { m_log.push(fence_event{fence_kind::fence_i, 0, 0, true, true}); }
    void sfence_vma(const fence_operands& f) noexcept { push_fence(fence_kind::sfence_vma, f); }
    void hfence_vvma(const fence_operands& f) noexcept {
        if (!m_config.h) misuse("hfence.vvma on a hart without the H extension (illegal instruction)");
        push_fence(fence_kind::hfence_vvma, f);
    }
    void hfence_gvma(const fence_operands& f) noexcept {
        if (!m_config.h) misuse("hfence.gvma on a hart without the H extension (illegal instruction)");
        push_fence(fence_kind::hfence_gvma, f);
    }

    /// wfi in M-mode: runs the test's hook (which may raise interrupt lines),
    /// logs the pending-and-enabled set and returns at once. On hardware it
    /// would return only once (mip & mie) != 0 (priv. spec 3.3.3).
    void wait_for_interrupt() noexcept {
        if (m_wfi_hook) m_wfi_hook(*this);
        m_log.push(wfi_event{mip_value(true) & m_mie});
    }

    [[nodiscard]] u64 hart_id() const noexcept { return m_config.mhartid; }

    // ------------------------------------------------------------------
    // vfm::arch: memory
    // ------------------------------------------------------------------

    /// A load of `width` (1, 2, 4 or 8) bytes made on behalf of `how`, as with
    /// mstatus.MPRV = 1 and MPP/MPV = how (priv. spec 3.1.6.3, H ext. 9.4.1):
    /// translation by satp (Bare, Sv39, Sv48; SUM and MXR from mstatus, MXR
    /// also from `how`), PMP at how.privilege, RAM bounds. The value is
    /// zero-extended. Faults: misaligned (4, when the config traps them), an
    /// injected fault, page fault (13), access fault (5); tval = the address.
    [[nodiscard]] access_result load(access_mode how, u64 address, unsigned width) noexcept {
        return memory_access(false, how, address, width, 0);
    }
    /// A store on behalf of `how` (see load; causes 6, 15, 7). Nothing is
    /// written unless every byte may be.
    [[nodiscard]] access_result store(access_mode how, u64 address, unsigned width, u64 value) noexcept {
        return memory_access(true, how, address, width, value);
    }

    /// An AMO on behalf of `how` (4 or 8 bytes, naturally aligned, else store/AMO
    /// address misaligned, 6): translated and checked as a store (priv. spec
    /// 3.7.1: an AMO needs write permission), performed atomically; value = the
    /// old value. Logged as a store of the new value.
    [[nodiscard]] access_result amo(access_mode how, u64 address, unsigned width, amo_op op, u64 operand) noexcept {
        return atomic_access(how, address, width, [&](u64 old, bool& write) {
            write = true;
            return amo_result(op, old, operand, width);
        });
    }
    /// Compare-and-swap on behalf of `how` (as amo): stores `desired` iff the
    /// low `width` bytes of memory equal those of `expected`; value = the old value.
    [[nodiscard]] access_result compare_exchange(access_mode how, u64 address, unsigned width, u64 expected,
                                                 u64 desired) noexcept {
        const u64 mask = width == 8 ? ~u64{0} : (u64{1} << (8 * width)) - 1;
        return atomic_access(how, address, width, [&](u64 old, bool& write) {
            write = (old & mask) == (expected & mask);
            return desired & mask;
        });
    }

    /// The F/D registers (unpriv. spec 11, 12): f[n]'s low `width` bytes, and
    /// a write that NaN-boxes a single (width 4). The hart must have F (D for
    /// width 8) and mstatus.FS must not be Off; a write sets FS to Dirty.
    [[nodiscard]] u64 fp_read(unsigned n, unsigned width) noexcept {
        if (!fp_usable(width)) return 0;
        return width == 8 ? m_f[n & 31] : m_f[n & 31] & 0xffff'ffffu;
    }
    void fp_write(unsigned n, unsigned width, u64 value) noexcept {
        if (!fp_usable(width)) return;
        m_f[n & 31] = width == 8 ? value : (value & 0xffff'ffffu) | 0xffff'ffff'0000'0000u;
        m_mstatus = riscv::mstatus::fs::insert(m_mstatus, 3);
    }
    /// Test side: the f registers, as a test plays the guest.
    [[nodiscard]] u64 f_register(unsigned n) const noexcept { return m_f[n & 31]; }
    void set_f_register(unsigned n, u64 value) noexcept { m_f[n & 31] = value; }

    /// The monitor's own view of RAM: a pointer to `address`, or nullptr when
    /// [address, address + size) is not simulated RAM. Not logged.
    [[nodiscard]] u8* physical(u64 address, u64 size) noexcept { return m_ram.at(address, size); }

    // ------------------------------------------------------------------
    // vfm::arch: entering the guest
    // ------------------------------------------------------------------

    /// The engine says which world runs next; the simulated hart has one trap
    /// path and only remembers it (world_switches() counts the calls).
    void world_switched(bool firmware_runs, bool count_firmware_traps) noexcept {
        m_firmware_world = firmware_runs;
        m_count_firmware_traps = count_firmware_traps;
        ++m_world_switches;
    }
    [[nodiscard]] bool firmware_world() const noexcept { return m_firmware_world; }
    /// Whether the firmware's traps take the counting path (virt::virtual_counters):
    /// the harness that plays the trap vector records the counters then.
    [[nodiscard]] bool counts_firmware_traps() const noexcept { return m_firmware_world && m_count_firmware_traps; }
    [[nodiscard]] u64 world_switches() const noexcept { return m_world_switches; }

    /// mret into the guest: logs the entry (pc = mepc, mode = MPP, V = MPV)
    /// and applies mret's state change (priv. spec 3.3.2, H ext. 9.6.4):
    /// MIE = MPIE, MPIE = 1, MPP = U (M when there is no U), MPRV = 0 when
    /// MPP != M, MPV = 0; the hart is then in the guest's mode. Returns: the
    /// test drives the guest's next trap.
    void resume(virt::hart& context) noexcept {
        using namespace riscv;
        const u64 old = m_mstatus;
        const auto mpp = static_cast<riscv::privilege>(mstatus::mpp::extract(old));
        const bool mpv = m_config.h && mpp != riscv::privilege::machine && mstatus::mpv::test(old);
        m_log.push(resume_event{m_mepc, mpp, mpv, &context});
        u64 s = mstatus::mie::insert(old, mstatus::mpie::extract(old));
        s = mstatus::mpie::insert(s, 1);
        s = mstatus::mpp::insert(s, m_config.u ? 0 : 3);
        if (mpp != riscv::privilege::machine) s = mstatus::mprv::insert(s, 0);
        if (m_config.h) s = mstatus::mpv::insert(s, 0);
        m_mstatus = s;
        m_privilege = mpp;
        m_virtualized = mpv;
    }

    // ------------------------------------------------------------------
    // Test side: traps the guest takes into M-mode
    // ------------------------------------------------------------------

    /// Trap entry into M-mode as the hardware performs it (priv. spec 3.1.6.1,
    /// 3.1.14 to 3.1.16; H ext. 9.4.1, 9.4.4, 9.4.5): mepc = pc (legalised),
    /// mcause = cause, mtval = tval, mtval2 / mtinst = the given values (H
    /// only), MPIE = MIE, MIE = 0, MPP = from, MPV = from_virtualized and
    /// GVA = gva (H only); the hart is then in M-mode with V = 0. Returns the
    /// address the hart fetches next: mtvec's base, plus 4 x code for an
    /// interrupt in vectored mode.
    u64 trap(u64 cause, u64 tval, riscv::privilege from, bool from_virtualized, u64 pc, u64 tval2 = 0,
             u64 tinst = 0, bool gva = false) noexcept {
        using namespace riscv;
        if (!mode_exists(from)) misuse(fmt::format("trap from {}-mode, which this hart lacks", riscv::name(from)));
        if (from_virtualized && (!m_config.h || from == riscv::privilege::machine))
            misuse("trap from a virtualized mode without H, or from 'VM'");
        if (!m_config.h && (tval2 != 0 || tinst != 0 || gva)) misuse("mtval2/mtinst/GVA given on a hart without H");
        m_mepc = legal_epc(pc);
        m_mcause = cause;
        m_mtval = tval;
        if (m_config.h) {
            m_mtval2 = tval2;
            m_mtinst = tinst;
        }
        u64 s = mstatus::mpie::insert(m_mstatus, mstatus::mie::extract(m_mstatus));
        s = mstatus::mie::insert(s, 0);
        s = mstatus::mpp::insert(s, static_cast<u64>(from));
        if (m_config.h) {
            s = mstatus::mpv::insert(s, from_virtualized ? 1 : 0);
            s = mstatus::gva::insert(s, gva ? 1 : 0);
        }
        m_mstatus = s;
        m_privilege = riscv::privilege::machine;
        m_virtualized = false;
        u64 handler = m_mtvec & ~u64{3};
        if (mcause::interrupt::test(cause) && (m_mtvec & 3) == mtvec::mode_vectored)
            handler += 4 * mcause::code::extract(cause);
        m_log.push(trap_event{cause, tval, from, from_virtualized, pc, handler});
        return handler;
    }

    /// An exception trap (see the general form).
    u64 trap(riscv::exception e, u64 tval, riscv::privilege from, bool from_virtualized, u64 pc, u64 tval2 = 0,
             u64 tinst = 0, bool gva = false) noexcept {
        return trap(riscv::cause_value(e), tval, from, from_virtualized, pc, tval2, tinst, gva);
    }

    /// An interrupt trap into M-mode (mtval = 0), whether or not it is pending.
    u64 raise_interrupt(riscv::interrupt i, riscv::privilege from, bool from_virtualized, u64 pc) noexcept {
        return trap(riscv::cause_value(i), 0, from, from_virtualized, pc);
    }

    /// The interrupt the hart would take into M-mode now, if any (priv. spec
    /// 3.1.9): pending and enabled in mip & mie, not delegated by mideleg,
    /// and the hart below M-mode or mstatus.MIE = 1; highest priority first
    /// (MEI, MSI, MTI, SEI, SSI, STI, SGEI, VSEI, VSSI, VSTI, LCOFI).
    [[nodiscard]] std::optional<unsigned> pending_interrupt() const noexcept {
        const u64 ready = mip_value(true) & m_mie & ~mideleg_value();
        const bool enabled = m_privilege != riscv::privilege::machine || riscv::mstatus::mie::test(m_mstatus);
        if (ready == 0 || !enabled) return std::nullopt;
        for (const unsigned code : {11u, 3u, 7u, 9u, 1u, 5u, 12u, 10u, 2u, 6u, 13u})
            if (((ready >> code) & 1) != 0) return code;
        return std::nullopt;
    }

    /// Takes the pending interrupt (if any) from the current mode at `pc`;
    /// returns the handler address.
    std::optional<u64> take_pending_interrupt(u64 pc) noexcept {
        const auto code = pending_interrupt();
        if (!code) return std::nullopt;
        return trap(riscv::mcause::interrupt::mask | *code, 0, m_privilege, m_virtualized, pc);
    }

    // ------------------------------------------------------------------
    // Test side: platform inputs
    // ------------------------------------------------------------------

    /// mip.MEIP: the interrupt controller's M-level line.
    void set_meip(bool level) noexcept { m_meip = level; }
    /// The interrupt controller's S-level line, ORed into mip.SEIP on reads.
    void set_seip_line(bool level) noexcept { m_seip_line = level; }
    /// mip.MTIP: the timer (mtime >= mtimecmp) as the CLINT drives it.
    void set_mtip(bool level) noexcept { m_mtip = level; }
    /// mip.MSIP: the CLINT's msip register for this hart.
    void set_msip(bool level) noexcept { m_msip = level; }
    /// A platform VS-level external line, ORed into hip.VSEIP (H only).
    void set_vseip_line(bool level) noexcept { m_vseip_line = level; }
    /// hgeip: the guest external interrupt lines (bits GEILEN:1 are kept).
    void set_hgeip(u64 lines) noexcept { m_hgeip = lines & m_hgeie_mask; }

    /// The time the `time` CSR reads and Sstc compares with.
    void set_time(u64 value) noexcept { m_time = value; }
    void advance_time(u64 delta) noexcept { m_time += delta; }
    [[nodiscard]] u64 time() const noexcept { return m_time; }

    /// Lets `cycles` cycles and `instructions` instructions pass: mcycle and
    /// minstret advance unless inhibited by mcountinhibit (priv. spec 3.1.12).
    void tick(u64 cycles, u64 instructions) noexcept {
        if ((m_mcountinhibit & 1) == 0) m_mcycle += cycles;
        if ((m_mcountinhibit & 4) == 0) m_minstret += instructions;
    }

    // ------------------------------------------------------------------
    // Test side: state without side effects (never logged)
    // ------------------------------------------------------------------

    [[nodiscard]] const hart_config& config() const noexcept { return m_config; }

    /// True when the hart implements CSR `number` (an access does not trap
    /// for being absent; FP CSRs may still trap while mstatus.FS = Off).
    [[nodiscard]] bool implemented(riscv::csr number) const noexcept { return exists(static_cast<u16>(number)); }

    /// The value a csrr would return, without logging; nothing if absent.
    [[nodiscard]] std::optional<u64> peek_csr(riscv::csr number) const noexcept {
        const u16 n = static_cast<u16>(number);
        if (!exists(n)) return std::nullopt;
        return read_value(n);
    }
    /// Writes a CSR as csrw would (with its WARL rules) without logging, for
    /// setting up a scenario. False when the CSR is absent or read-only.
    bool poke_csr(riscv::csr number, u64 value) noexcept {
        const u16 n = static_cast<u16>(number);
        if (!exists(n) || riscv::is_read_only(n)) return false;
        write_value(n, value);
        return true;
    }

    /// The hart's current mode (M in the monitor; the guest's after resume).
    [[nodiscard]] riscv::privilege privilege() const noexcept { return m_privilege; }
    [[nodiscard]] bool virtualized() const noexcept { return m_virtualized; }
    void set_mode(riscv::privilege p, bool virtualized) noexcept {
        m_privilege = p;
        m_virtualized = virtualized;
    }

    // ------------------------------------------------------------------
    // Test side: memory, PMP, faults
    // ------------------------------------------------------------------

    [[nodiscard]] const pmp_unit& pmp() const noexcept { return m_pmp; }

    /// The PMP check for an access by `privilege` (the effective one).
    [[nodiscard]] pmp_decision check_access(u64 address, u64 size, access_type type,
                                            riscv::privilege privilege) const noexcept {
        return m_pmp.check(address, size, type, privilege);
    }
    /// The PMP check for an access the hart makes in M-mode: loads and stores
    /// use MPP's privilege when mstatus.MPRV = 1, fetches never do (3.1.6.3).
    [[nodiscard]] pmp_decision check_machine_access(u64 address, u64 size, access_type type) const noexcept {
        auto p = riscv::privilege::machine;
        if (type != access_type::fetch && riscv::mstatus::mprv::test(m_mstatus))
            p = static_cast<riscv::privilege>(riscv::mstatus::mpp::extract(m_mstatus));
        return m_pmp.check(address, size, type, p);
    }

    /// Makes loads and/or stores on behalf that touch [base, base + size)
    /// raise `cause` (checked before translation and PMP: first match wins).
    void inject_fault(const injected_fault& fault) { m_faults.push_back(fault); }
    void inject_fault(u64 base, u64 size, u64 cause, fault_on on = fault_on::both) {
        m_faults.push_back(injected_fault{base, size, cause, on, 0, 0});
    }
    void inject_fault(u64 base, u64 size, riscv::exception cause, fault_on on = fault_on::both) {
        inject_fault(base, size, riscv::cause_value(cause), on);
    }
    void clear_injected_faults() noexcept { m_faults.clear(); }

    /// Copies into simulated RAM; throws std::out_of_range outside it. Not logged.
    void write_memory(u64 address, const void* data, std::size_t size) {
        u8* p = m_ram.at(address, size);
        if (p == nullptr) throw std::out_of_range(fmt::format("write_memory: {:#x}+{} is not RAM", address, size));
        if (size != 0) std::memcpy(p, data, size);
    }
    /// Copies out of simulated RAM; throws std::out_of_range outside it. Not logged.
    void read_memory(u64 address, void* data, std::size_t size) {
        const u8* p = m_ram.at(address, size);
        if (p == nullptr) throw std::out_of_range(fmt::format("read_memory: {:#x}+{} is not RAM", address, size));
        if (size != 0) std::memcpy(data, p, size);
    }
    /// A little-endian value in RAM.
    template <class T>
        requires std::is_trivially_copyable_v<T>
    void poke(u64 address, T value) {
        write_memory(address, &value, sizeof value);
    }
    template <class T>
        requires std::is_trivially_copyable_v<T>
    [[nodiscard]] T peek(u64 address) {
        T value{};
        read_memory(address, &value, sizeof value);
        return value;
    }
    /// Places one instruction: 2 bytes when its low bits are not 0b11
    /// (compressed), else 4 (unpriv. spec 1.5). Returns the next address.
    u64 place_instruction(u64 address, u32 instruction) {
        if ((instruction & 3) != 3) {
            poke<u16>(address, static_cast<u16>(instruction));
            return address + 2;
        }
        poke<u32>(address, instruction);
        return address + 4;
    }
    /// Places instructions one after another.
    u64 place_instructions(u64 address, std::initializer_list<u32> instructions) {
        for (const u32 i : instructions) address = place_instruction(address, i);
        return address;
    }

    // ------------------------------------------------------------------
    // Test side: the log and hooks
    // ------------------------------------------------------------------

    [[nodiscard]] access_log& log() noexcept { return m_log; }

    /// Test side: trigger `i`'s registers (Sdtrig), read without logging.
    [[nodiscard]] u64 tdata1_of(unsigned i) const noexcept { return m_tdata1[i & 15]; }
    [[nodiscard]] u64 tdata2_of(unsigned i) const noexcept { return m_tdata2[i & 15]; }
    [[nodiscard]] u64 tselect_value() const noexcept { return m_tselect; }
    /// Test side: sets trigger `i`'s tdata1 as hardware or a previous stage left it.
    void set_tdata1(unsigned i, u64 value) noexcept { m_tdata1[i & 15] = value; }
    /// Whether trigger `i` would fire for an access in `mode` (virtualized:
    /// VS/VU) by its privilege bits alone (Debug spec 5.7.3-5.7.5).
    [[nodiscard]] bool trigger_enabled_in(unsigned i, riscv::privilege mode, bool virtualized = false) const noexcept {
        const u64 t = m_tdata1[i & 15];
        const u64 type = t >> 60;
        const unsigned p = static_cast<unsigned>(mode);
        if (type == 2) return !virtualized && ((t >> 3) & (u64{1} << p)) != 0;
        if (type == 6) return virtualized ? ((t >> 23) & (u64{1} << p)) != 0 : ((t >> 3) & (u64{1} << p)) != 0;
        if (type == 3) return virtualized ? ((t >> 25) & (u64{1} << p)) != 0 : ((t >> 6) & (u64{1} << p)) != 0;
        return false;
    }
    [[nodiscard]] const access_log& log() const noexcept { return m_log; }

    /// Called by wait_for_interrupt before it returns: a test makes an
    /// interrupt arrive during an emulated wfi here. It must not throw.
    void set_wfi_hook(std::function<void(simulated_hart&)> hook) { m_wfi_hook = std::move(hook); }

    /// What happens on a misuse (an unguarded access that would trap on
    /// metal, an impossible request): the message is recorded, then the
    /// handler runs. The default prints it and aborts; a test that provokes
    /// misuses on purpose installs one that returns. It must not throw.
    void set_misuse_handler(std::function<void(const std::string&)> handler) { m_misuse = std::move(handler); }
    [[nodiscard]] const std::vector<std::string>& misuses() const noexcept { return m_misuses; }

    /// Back to the reset state (priv. spec 3.4): CSRs, PMP locks, mode, time
    /// and lines; RAM, log, injected faults and hooks are kept.
    void reset() noexcept {
        using namespace riscv;
        m_privilege = riscv::privilege::machine;
        m_virtualized = false;
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

private:
    using C = riscv::csr;

    static hart_config validated(const hart_config& config) {
        if (const auto problem = config.problem()) throw std::invalid_argument("hart_config: " + *problem);
        return config;
    }

    void push_fence(fence_kind kind, const fence_operands& f) noexcept {
        m_log.push(fence_event{kind, f.all_addresses ? 0 : f.address, f.all_ids ? 0 : f.id, f.all_addresses,
                               f.all_ids});
    }

    void misuse(const std::string& message) noexcept {
        m_misuses.push_back(message);
        if (m_misuse) {
            m_misuse(message);
            return;
        }
        fmt::print(stderr, "vfm::host::simulated_hart: misuse: {}\n", message);
        std::abort();
    }

    [[nodiscard]] bool mode_exists(riscv::privilege p) const noexcept {
        return p == riscv::privilege::machine || (p == riscv::privilege::supervisor && m_config.s) ||
               (p == riscv::privilege::user && m_config.u);
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

    [[nodiscard]] static constexpr u64 bits_below(unsigned n) noexcept {
        return n >= 64 ? ~u64{0} : (u64{1} << n) - 1;
    }
    [[nodiscard]] static constexpr u64 mask_of(unsigned bit) noexcept { return u64{1} << bit; }

    // --------------------------------------------------------------
    // Which CSRs exist
    // --------------------------------------------------------------

    [[nodiscard]] static bool in(u16 n, C first, C last) noexcept {
        return n >= static_cast<u16>(first) && n <= static_cast<u16>(last);
    }

    [[nodiscard]] bool exists(u16 n) const noexcept {
        const hart_config& c = m_config;
        // Counters and their shadows always exist (Zicntr / Zihpm; the
        // unimplemented hpm counters and events read zero, priv. spec 3.1.10).
        if (in(n, C::hpmcounter3, C::hpmcounter31) || in(n, C::mhpmcounter3, C::mhpmcounter31) ||
            in(n, C::mhpmevent3, C::mhpmevent31))
            return true;
        // PMP CSRs: all 16 pmpcfg (even) / 64 pmpaddr exist as soon as one
        // entry does (3.7.1); a hart without PMP has none.
        if (in(n, C::pmpaddr0, C::pmpaddr63)) return c.pmp_entries != 0;
        if (in(n, C::pmpcfg0, C::pmpcfg14)) return c.pmp_entries != 0 && (n & 1) == 0;
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

    [[nodiscard]] static bool is_fp(u16 n) noexcept {
        return n == static_cast<u16>(C::fflags) || n == static_cast<u16>(C::frm) || n == static_cast<u16>(C::fcsr);
    }

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
            if (stce() && riscv::henvcfg::stce::test(m_henvcfg) && m_time + m_htimedelta >= m_vstimecmp)
                vstip = true;
            if (vstip) v |= mask_of(6);
            const u64 vgein = riscv::hstatus::vgein::extract(m_hstatus);
            const bool vseip = (m_hvip & mask_of(10)) != 0 || (vgein != 0 && ((m_hgeip >> vgein) & 1) != 0) ||
                               m_vseip_line;
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
                const u64 writable = hstatus::gva::mask | hstatus::spv::mask | hstatus::spvp::mask |
                                     hstatus::hu::mask | hstatus::vtvm::mask | hstatus::vtw::mask |
                                     hstatus::vtsr::mask;
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
    // The access paths
    // --------------------------------------------------------------

    csr_result access(riscv::csr number, csr_op op, u64 operand) noexcept {
        const u16 n = static_cast<u16>(number);
        const bool writes = op != csr_op::read;
        std::optional<csr_fault> fault;
        if (!exists(n))
            fault = csr_fault::absent;
        else if (is_fp(n) && riscv::mstatus::fs::extract(m_mstatus) == 0)
            fault = csr_fault::fs_off;  // 3.1.6.6: FP state is inaccessible while FS = Off
        else if (writes && riscv::is_read_only(n))
            fault = csr_fault::read_only;
        if (fault) {
            m_log.push(csr_trap_event{number, op, operand, *fault});
            return {0, false};
        }
        const u64 old = read_value(n);
        if (!writes) {
            if (m_log.records_reads()) m_log.push(csr_read_event{number, old});
            return {old, true};
        }
        u64 next = operand;
        if (op == csr_op::set) next = rmw_value(n) | operand;
        if (op == csr_op::clear) next = rmw_value(n) & ~operand;
        write_value(n, next);
        m_log.push(csr_write_event{number, op, old, next, read_value(n)});
        return {old, true};
    }

    u64 unguarded(riscv::csr number, csr_op op, u64 operand) noexcept {
        const csr_result r = access(number, op, operand);
        if (!r.ok) {
            const auto& e = std::get<csr_trap_event>(m_log.last_entry());
            misuse(fmt::format("unguarded {} of {} traps on this hart ({})", to_string(op), csr_name(number),
                               to_string(e.fault)));
        }
        return r.value;
    }

    // --------------------------------------------------------------
    // Loads and stores on behalf
    // --------------------------------------------------------------

    struct translation {
        bool ok = true;
        u64 address = 0;
        u64 cause = 0;
    };

    /// Sv39 / Sv48 translation of `va` for an access by `how` (priv. spec
    /// 4.3.2, 4.4, 4.5): page-table reads are S-level implicit accesses
    /// checked by PMP; a clear A, or a clear D on a store, raises a page
    /// fault (Svade) or, with config svadu, is set in the PTE (a store to it,
    /// checked by PMP too).
    [[nodiscard]] translation translate(const access_mode& how, u64 va, access_type type) noexcept {
        using namespace riscv;
        const u64 page_fault = type == access_type::store ? 15 : 13;
        const u64 access_fault = type == access_type::store ? 7 : 5;
        if (how.privilege == riscv::privilege::machine) return {true, va, 0};
        if (how.virtualized) {
            if (satp::mode::extract(m_vsatp) != satp::mode_bare || hgatp::mode::extract(m_hgatp) != 0) {
                misuse("two-stage translation (vsatp / hgatp not Bare) is not modelled");
                return {false, 0, access_fault};
            }
            return {true, va, 0};
        }
        const u64 mode = satp::mode::extract(m_satp);
        if (mode == satp::mode_bare) return {true, va, 0};
        const unsigned levels = mode == satp::mode_sv39 ? 3 : 4;
        const unsigned va_bits = 12 + 9 * levels;
        const u64 upper = va >> (va_bits - 1);
        if (upper != 0 && upper != (~u64{0} >> (va_bits - 1))) return {false, 0, page_fault};
        const bool sum = mstatus::sum::test(m_mstatus);
        const bool mxr = how.mxr || mstatus::mxr::test(m_mstatus);
        const bool pbmt = m_config.svpbmt && menvcfg::pbmte::test(m_menvcfg);
        u64 table = satp::ppn::extract(m_satp) << 12;
        for (int level = static_cast<int>(levels) - 1; level >= 0; --level) {
            const u64 index = (va >> (12 + 9 * level)) & 0x1ff;
            const u64 pte_address = table + index * 8;
            const u8* p = m_ram.at(pte_address, 8);
            if (p == nullptr ||
                !m_pmp.check(pte_address, 8, access_type::load, riscv::privilege::supervisor).allowed)
                return {false, 0, access_fault};
            u64 pte = 0;
            std::memcpy(&pte, p, 8);
            const bool v = (pte & 1) != 0, r = (pte & 2) != 0, w = (pte & 4) != 0, x = (pte & 8) != 0;
            const bool u = (pte & 16) != 0, a = (pte & 64) != 0, d = (pte & 128) != 0;
            const u64 reserved = (pte >> 54) & 0x3ff;  // bits 63:54: N, PBMT, reserved
            const u64 pbmt_bits = (pte >> 61) & 3;
            const bool reserved_set = (reserved & ~u64{0x180}) != 0 || (pte >> 63) != 0 ||
                                      (pbmt_bits != 0 && (!pbmt || pbmt_bits == 3));
            if (!v || (!r && w) || reserved_set) return {false, 0, page_fault};
            const u64 ppn = (pte >> 10) & bits_below(44);
            if (!r && !x) {
                table = ppn << 12;
                continue;
            }
            if (how.privilege == riscv::privilege::user && !u) return {false, 0, page_fault};
            if (how.privilege == riscv::privilege::supervisor && u && !sum) return {false, 0, page_fault};
            const bool permitted = type == access_type::store  ? w
                                   : type == access_type::load ? (r || (x && mxr))
                                                               : x;
            if (!permitted) return {false, 0, page_fault};
            if (level > 0 && (ppn & bits_below(9 * static_cast<unsigned>(level))) != 0)
                return {false, 0, page_fault};  // misaligned superpage
            if (!a || (type == access_type::store && !d)) {
                if (!m_config.svadu) return {false, 0, page_fault};
                if (!m_pmp.check(pte_address, 8, access_type::store, riscv::privilege::supervisor).allowed)
                    return {false, 0, access_fault};
                pte |= 64 | (type == access_type::store ? 128 : 0);
                std::memcpy(m_ram.at(pte_address, 8), &pte, 8);
            }
            const u64 offset_bits = 12 + 9 * static_cast<unsigned>(level);
            return {true, ((ppn << 12) & ~bits_below(offset_bits)) | (va & bits_below(offset_bits)), 0};
        }
        return {false, 0, page_fault};
    }

    [[nodiscard]] bool fp_usable(unsigned width) noexcept {
        const bool present = width == 8 ? m_config.d : m_config.f;
        if (!present || riscv::mstatus::fs::extract(m_mstatus) == 0) {
            misuse(fmt::format("an f register access of width {} without the extension or with FS = Off", width));
            return false;
        }
        return true;
    }

    /// An atomic read-modify-write on behalf of `how`: `update(old, write&)`
    /// returns the new value and says whether to store it.
    template <class Update>
    access_result atomic_access(access_mode how, u64 address, unsigned width, Update update) noexcept {
        access_result r;
        auto fail = [&](u64 cause, u64 tval) {
            access_result f;
            f.cause = cause;
            f.tval = tval;
            m_log.push(memory_event{true, how, address, width, 0, false, cause, tval});
            return f;
        };
        if (width != 4 && width != 8) {
            misuse(fmt::format("atomic access of width {}", width));
            return fail(7, address);
        }
        if ((address & (width - 1)) != 0) return fail(6, address);
        for (const auto& f : m_faults) {
            if (f.applies(address, width, access_type::store)) {
                r.cause = f.cause;
                r.tval = address;
                r.tval2 = f.tval2;
                r.tinst = f.tinst;
                m_log.push(memory_event{true, how, address, width, 0, false, r.cause, r.tval});
                return r;
            }
        }
        const translation t = translate(how, address, access_type::store);
        if (!t.ok) return fail(t.cause, address);
        if (!m_pmp.check(t.address, width, access_type::store, how.privilege).allowed ||
            !m_pmp.check(t.address, width, access_type::load, how.privilege).allowed)
            return fail(7, address);
        u8* target = m_ram.at(t.address, width);
        if (target == nullptr) return fail(7, address);
        u64 old = 0;
        std::memcpy(&old, target, width);
        bool write = false;
        const u64 next = update(old, write);
        if (write) std::memcpy(target, &next, width);
        m_log.push(memory_event{true, how, address, width, write ? next : old, true, 0, 0});
        r.ok = true;
        r.value = old;
        return r;
    }

    access_result memory_access(bool is_store, access_mode how, u64 address, unsigned width, u64 value) noexcept {
        const access_type type = is_store ? access_type::store : access_type::load;
        access_result r;
        const auto finish = [&](access_result result) {
            m_log.push(memory_event{is_store, how, address, width, is_store ? value : result.value, result.ok,
                                    result.cause, result.tval});
            return result;
        };
        const auto fail = [&](u64 cause, u64 tval) {
            access_result f;
            f.cause = cause;
            f.tval = tval;
            return finish(f);
        };
        if (width != 1 && width != 2 && width != 4 && width != 8) {
            misuse(fmt::format("{} of width {}", is_store ? "store" : "load", width));
            return fail(is_store ? 7 : 5, address);
        }
        if (how.virtualized && (!m_config.h || how.privilege == riscv::privilege::machine)) {
            misuse("access on behalf of a virtualized mode without H, or of 'VM'");
            return fail(is_store ? 7 : 5, address);
        }
        if (!mode_exists(how.privilege)) {
            misuse(fmt::format("access on behalf of {}-mode, which this hart lacks", riscv::name(how.privilege)));
            return fail(is_store ? 7 : 5, address);
        }
        const bool misaligned = (address & (width - 1)) != 0;
        if (misaligned && m_config.misaligned == misaligned_policy::trap) return fail(is_store ? 6 : 4, address);
        for (const auto& f : m_faults) {
            if (f.applies(address, width, type)) {
                r = access_result{};
                r.cause = f.cause;
                r.tval = address;
                r.tval2 = f.tval2;
                r.tinst = f.tinst;
                return finish(r);
            }
        }
        // A misaligned access is performed byte by byte (each byte translated
        // and checked, as the spec allows for misaligned accesses, 3.6.3.3).
        const unsigned chunks = misaligned ? width : 1;
        const unsigned chunk_size = misaligned ? 1 : width;
        u8* target[8] = {};
        for (unsigned i = 0; i < chunks; ++i) {
            const u64 va = address + i * chunk_size;
            const translation t = translate(how, va, type);
            if (!t.ok) return fail(t.cause, va);
            if (!m_pmp.check(t.address, chunk_size, type, how.privilege).allowed) return fail(is_store ? 7 : 5, va);
            target[i] = m_ram.at(t.address, chunk_size);
            if (target[i] == nullptr) return fail(is_store ? 7 : 5, va);
        }
        u8 bytes[8] = {};
        if (is_store) {
            for (unsigned i = 0; i < width; ++i) bytes[i] = static_cast<u8>(value >> (8 * i));
            for (unsigned i = 0; i < chunks; ++i) std::memcpy(target[i], bytes + i * chunk_size, chunk_size);
            r.value = 0;
        } else {
            for (unsigned i = 0; i < chunks; ++i) std::memcpy(bytes + i * chunk_size, target[i], chunk_size);
            u64 loaded = 0;
            for (unsigned i = 0; i < width; ++i) loaded |= u64{bytes[i]} << (8 * i);
            r.value = loaded;
        }
        r.ok = true;
        return finish(r);
    }

    // --------------------------------------------------------------
    // State
    // --------------------------------------------------------------

    hart_config m_config;
    pmp_unit m_pmp;
    ram m_ram;
    access_log m_log;
    std::vector<injected_fault> m_faults;
    std::function<void(simulated_hart&)> m_wfi_hook;
    std::function<void(const std::string&)> m_misuse;
    std::vector<std::string> m_misuses;

    riscv::privilege m_privilege = riscv::privilege::machine;
    bool m_virtualized = false;

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
    u64 m_f[32] = {};
    bool m_firmware_world = false;
    bool m_count_firmware_traps = false;
    u64 m_world_switches = 0;
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

static_assert(vfm::arch<vfm::host::simulated_hart>);

}  // namespace vfm::host
