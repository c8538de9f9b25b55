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
#include <vfm/host/csr_file.hpp>
#include <vfm/host/memory.hpp>
#include <vfm/host/memory_access.hpp>
#include <vfm/host/pmp.hpp>
#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/privilege.hpp>

namespace vfm::host {

/// A simulated RV64 hart (see the file comment). Its CSRs are a csr_file
/// (csr_file.hpp); its accesses on behalf of other modes go through
/// memory_access.hpp and translation.hpp.
class simulated_hart : private csr_file {
public:
    /// Builds a hart in its reset state. Throws std::invalid_argument for a
    /// configuration that describes no legal hart (`hart_config::problem`).
    explicit simulated_hart(hart_config config = {})
        : csr_file(validated(config)), m_ram(m_config.ram_base, m_config.ram_size) {}

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
        return on_behalf().load_or_store(false, how, address, width, 0);
    }
    /// A store on behalf of `how` (see load; causes 6, 15, 7). Nothing is
    /// written unless every byte may be.
    [[nodiscard]] access_result store(access_mode how, u64 address, unsigned width, u64 value) noexcept {
        return on_behalf().load_or_store(true, how, address, width, value);
    }

    /// An AMO on behalf of `how` (4 or 8 bytes, naturally aligned, else store/AMO
    /// address misaligned, 6): translated and checked as a store (priv. spec
    /// 3.7.1: an AMO needs write permission), performed atomically; value = the
    /// old value. Logged as a store of the new value.
    [[nodiscard]] access_result amo(access_mode how, u64 address, unsigned width, amo_op op, u64 operand) noexcept {
        return on_behalf().atomic(how, address, width, [&](u64 old, bool& write) {
            write = true;
            return amo_result(op, old, operand, width);
        });
    }
    /// Compare-and-swap on behalf of `how` (as amo): stores `desired` iff the
    /// low `width` bytes of memory equal those of `expected`; value = the old value.
    [[nodiscard]] access_result compare_exchange(access_mode how, u64 address, unsigned width, u64 expected,
                                                 u64 desired) noexcept {
        const u64 mask = width == 8 ? ~u64{0} : (u64{1} << (8 * width)) - 1;
        return on_behalf().atomic(how, address, width, [&](u64 old, bool& write) {
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
    u64 trap(u64 cause, u64 tval, riscv::privilege from, bool from_virtualized, u64 pc, u64 tval2 = 0, u64 tinst = 0,
             bool gva = false) noexcept {
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
    // clang-format off
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
    // clang-format on
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
        m_privilege = riscv::privilege::machine;
        m_virtualized = false;
        reset_csrs();
    }

private:
    using C = riscv::csr;

    static hart_config validated(const hart_config& config) {
        if (const auto problem = config.problem()) throw std::invalid_argument("hart_config: " + *problem);
        return config;
    }

    void push_fence(fence_kind kind, const fence_operands& f) noexcept {
        m_log.push(
            fence_event{kind, f.all_addresses ? 0 : f.address, f.all_ids ? 0 : f.id, f.all_addresses, f.all_ids});
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

    [[nodiscard]] bool fp_usable(unsigned width) noexcept {
        const bool present = width == 8 ? m_config.d : m_config.f;
        if (!present || riscv::mstatus::fs::extract(m_mstatus) == 0) {
            misuse(fmt::format("an f register access of width {} without the extension or with FS = Off", width));
            return false;
        }
        return true;
    }

    /// Sends the access path's misuses to this hart's handler.
    struct misuse_reporter {
        simulated_hart* hart;
        void operator()(const std::string& message) const noexcept { hart->misuse(message); }
    };

    /// The access path (memory_access.hpp) over this hart's parts and the
    /// current translation CSRs.
    [[nodiscard]] access_on_behalf<misuse_reporter> on_behalf() noexcept {
        return {m_config,
                m_pmp,
                m_ram,
                m_faults,
                translation_registers{m_mstatus, m_menvcfg, m_satp, m_vsatp, m_hgatp},
                m_log,
                misuse_reporter{this}};
    }

    // --------------------------------------------------------------
    // State
    // --------------------------------------------------------------

    ram m_ram;
    access_log m_log;
    std::vector<injected_fault> m_faults;
    std::function<void(simulated_hart&)> m_wfi_hook;
    std::function<void(const std::string&)> m_misuse;
    std::vector<std::string> m_misuses;

    riscv::privilege m_privilege = riscv::privilege::machine;
    bool m_virtualized = false;

    u64 m_f[32] = {};
    bool m_firmware_world = false;
    bool m_count_firmware_traps = false;
    u64 m_world_switches = 0;
};

static_assert(vfm::arch<vfm::host::simulated_hart>);

}  // namespace vfm::host