// SPDX-License-Identifier: MIT
/// The offload policy: answers the OS's most frequent requests in the monitor,
/// without entering the firmware (docs/policies.md):
///   - SBI set_timer (TIME extension and legacy), as the firmware would: with
///     Sstc enabled by the firmware it writes stimecmp, otherwise it programs the
///     hart's timer and raises STIP when the deadline passes;
///   - SBI send_ipi: raises SSIP on each target hart;
///   - SBI remote_fence_i, remote_sfence_vma, remote_sfence_vma_asid: performed on
///     each target hart before the call returns;
///   - reads of `time` that trap: on harts without a `time` CSR (QEMU's
///     sifive_u, the FU540/FU740), and with TrapTime on every hart (the OS
///     then runs with mcounteren.TM = 0, to measure that path on virt); only
///     where the firmware's mcounteren.TM (and for U-mode the OS's
///     scounteren.TM) lets the read through, as the firmware would;
///   - misaligned loads and stores from S- and U-mode (virt/misaligned.hpp);
///   - SBI get_mvendorid, get_marchid, get_mimpid (the firmware answers them
///     from the same CSRs the monitor read at boot).
/// Each is answered only when the firmware delegated what the answer relies on
/// (STI, SSI to S-mode; the fault causes for misaligned emulation); everything
/// else still goes to the firmware.
#pragma once

#include <vfm/detail/atomic.hpp>
#include <vfm/policy/hooks.hpp>
#include <vfm/policy/sbi_call.hpp>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/riscv/instruction.hpp>
#include <vfm/virt/engine.hpp>
#include <vfm/virt/misaligned.hpp>
#include <vfm/virt/physical_timer.hpp>

namespace vfm::policy {

template <u32 MaxHarts, bool TrapTime = false>
class offload {
public:
    static constexpr const char* name = "offload";
    static constexpr hook_set hooks =
        hook::on_os_trap | hook::on_os_fast_trap | hook::on_monitor_deadline | hook::on_request | hook::os_mcounteren;
    /// A remote sfence.vma over more pages than this flushes everything (as
    /// OpenSBI's default tlb_range_flush_limit does).
    static constexpr u64 range_flush_limit = 64 * 4096;

    template <class E>
    bool on_os_trap(E& engine, u64 cause) noexcept {
        if (is_sbi_call(cause)) return sbi(engine);
        if (cause == riscv::cause_value(riscv::exception::illegal_instruction)) return illegal(engine);
        if (cause == riscv::cause_value(riscv::exception::load_address_misaligned) ||
            cause == riscv::cause_value(riscv::exception::store_address_misaligned))
            return misaligned(engine);
        return false;
    }

    /// The hottest requests, answered before any engine is built (with only the
    /// fast path's registers, hart::fast_path_registers): set_timer and a
    /// `csrr rd, time` that trapped. Anything else returns false.
    template <class M, class A>
    bool on_os_fast_trap(M& monitor, A& hw, virt::hart& h, u64 cause) noexcept {
        namespace sbi = riscv::sbi;
        if (cause == riscv::cause_value(riscv::exception::ecall_from_s)) {
            const u64 extension = h.x[17];
            const bool time_call = extension == sbi::eid::time && h.x[16] == sbi::time_fid::set_timer;
            if ((!time_call && extension != sbi::eid::legacy_set_timer) ||
                (h.csr.mideleg & riscv::mip::stip::mask) == 0)
                return false;
            const u64 deadline = h.x[10];
            if (h.features.has_sstc && riscv::menvcfg::stce::test(h.csr.menvcfg)) {
                hw.template write<riscv::csr::stimecmp>(deadline);
            } else {
                hw.template clear<riscv::csr::mip>(riscv::mip::stip::mask);
                h.monitor_deadline = deadline;
                virt::program_physical_timer(hw, monitor.board(), monitor.shared(), h);
            }
            h.x[10] = 0;  // SBI_SUCCESS (legacy: the return value)
            if (time_call) h.x[11] = 0;
            hw.template write<riscv::csr::mepc>(hw.template read<riscv::csr::mepc>() + 4);
            return true;
        }
        if (TrapTime || !h.features.has_time_csr) {
            if (cause != riscv::cause_value(riscv::exception::illegal_instruction)) return false;
            // csrrs rd, time, x0 (rdtime): the form compilers and the kernel use.
            const u64 bits = hw.template read<riscv::csr::mtval>();
            constexpr u64 rdtime_mask = 0xfff'ff07f;
            constexpr u64 rdtime_bits =
                (u64{static_cast<u16>(riscv::csr::time)} << 20) | (2u << 12) | riscv::opcode::system;
            const unsigned rd = (bits >> 7) & 31;
            if ((bits & rdtime_mask) != rdtime_bits || !virt::hart::saved_on_fast_path(rd)) return false;
            u64 time = 0;
            if (!os_time(hw, h, monitor.board(), time)) return false;
            h.set_reg(rd, time);
            hw.template write<riscv::csr::mepc>(hw.template read<riscv::csr::mepc>() + 4);
            return true;
        }
        return false;
    }

    /// The OS's timer deadline passed: raise its timer interrupt.
    template <class E>
    void on_monitor_deadline(E& engine) noexcept {
        engine.hw().template set<riscv::csr::mip>(riscv::mip::stip::mask);
    }

    /// Another hart asked for an IPI or fences on this one.
    template <class E>
    void on_request(E& engine) noexcept {
        const u32 self = engine.current().index;
        if (detail::atomic_exchange(&m_ssip[self], u32{0}) != 0)
            engine.hw().template set<riscv::csr::mip>(riscv::mip::ssip::mask);
        perform_pending_fences(engine);
    }

    /// With TrapTime the OS reads `time` through the monitor.
    template <class E>
    u64 os_mcounteren(E&, u64 value) noexcept {
        return TrapTime ? value & ~riscv::counteren::tm::mask : value;
    }

private:
    /// `time` as the OS reads it: the platform timer, plus htimedelta for a
    /// virtualized OS (H ext. 9.2.7).
    /// The OS's read of `time` that trapped, as the firmware would answer it
    /// (priv. spec 3.1.11, 4.1.5; H ext. 9.2.5, 9.2.7): false when the
    /// firmware's mcounteren.TM is clear, for U- or VU-mode when the OS's
    /// scounteren.TM is, for a guest when hcounteren.TM is (the firmware, or
    /// the hart, decides then); else the platform's time, plus htimedelta for
    /// a guest. mstatus is read once (this is the whole of the fast path's
    /// answer but the decoding).
    template <class A, class B>
    [[nodiscard, gnu::always_inline]] static bool os_time(A& hw, const virt::hart& h, B& board, u64& time) noexcept {
        constexpr u64 tm = riscv::counteren::tm::mask;
        if ((h.csr.mcounteren & tm) == 0) [[unlikely]]
            return false;
        const u64 status = hw.template read<riscv::csr::mstatus>();
        // A trap of the OS has MPP = S (1) or U (0): bit 11 tells them apart.
        if ((status & (u64{1} << 11)) == 0 && (hw.template read<riscv::csr::scounteren>() & tm) == 0) [[unlikely]]
            return false;
        time = board.read_time();
        // mstatus.MPV is read-only zero without H (priv. 3.1.6), so no feature
        // test, and hcounteren and htimedelta exist whenever it is set.
        if (riscv::mstatus::mpv::test(status)) {
            if ((hw.template read<riscv::csr::hcounteren>() & tm) == 0) [[unlikely]]
                return false;
            time += hw.template read<riscv::csr::htimedelta>();
        }
        return true;
    }

    enum class fence_kind : u32 { fence_i, sfence_vma, sfence_vma_asid };

    struct fence_request {
        fence_kind kind = fence_kind::fence_i;
        u64 start = 0;
        u64 size = 0;
        u64 asid = 0;
        u32 pending = 0;
    };

    /// An SBI call of the OS: answered here, or false for the firmware. Reads
    /// a7 and a6 first and the arguments only for the calls it answers, so a
    /// forwarded call (the common case) costs a switch and nothing more.
    template <class E>
    bool sbi(E& engine) noexcept {
        namespace sbi = riscv::sbi;
        const virt::hart& h = engine.current();
        const u64 extension = h.reg(17);
        const u64 function = h.reg(16);
        const bool timer_delegated = (h.csr.mideleg & riscv::mip::stip::mask) != 0;
        const bool ipi_delegated = (h.csr.mideleg & riscv::mip::ssip::mask) != 0;
        switch (extension) {
            case sbi::eid::time:
                if (function != sbi::time_fid::set_timer || !timer_delegated) return false;
                set_timer(engine, h.reg(10));
                sbi_return(engine, sbi::error::success);
                return true;
            case sbi::eid::legacy_set_timer:
                if (!timer_delegated) return false;
                set_timer(engine, h.reg(10));
                engine.set_reg(10, 0);  // legacy calls return in a0 only
                engine.skip_instruction(4);
                return true;
            case sbi::eid::ipi:
                if (function != sbi::ipi_fid::send_ipi || !ipi_delegated) return false;
                sbi_return(engine,
                           send_ipi(engine, h.reg(10), h.reg(11)) ? sbi::error::success : sbi::error::invalid_param);
                return true;
            case sbi::eid::rfence: return remote_fence(engine, read_sbi_call(h));
            case sbi::eid::base:
                // The machine's identity, which the firmware reads from the same CSRs.
                switch (function) {
                    case sbi::base_fid::get_mvendorid:
                        sbi_return(engine, sbi::error::success, engine.features().mvendorid);
                        return true;
                    case sbi::base_fid::get_marchid:
                        sbi_return(engine, sbi::error::success, engine.features().marchid);
                        return true;
                    case sbi::base_fid::get_mimpid:
                        sbi_return(engine, sbi::error::success, engine.features().mimpid);
                        return true;
                    default: return false;
                }
            default: return false;
        }
    }

    template <class E>
    void set_timer(E& engine, u64 deadline) noexcept {
        const virt::hart& h = engine.current();
        if (engine.features().has_sstc && riscv::menvcfg::stce::test(h.csr.menvcfg)) {
            // Sstc: the OS's timer is stimecmp (the firmware would write it too).
            engine.hw().template write<riscv::csr::stimecmp>(deadline);
            return;
        }
        engine.hw().template clear<riscv::csr::mip>(riscv::mip::stip::mask);
        engine.set_monitor_deadline(deadline);
    }

    // send_ipi and remote_fence stay out of line: their frames would
    // otherwise be set up in sbi() for every call, also the forwarded ones.
    template <class E>
    [[gnu::noinline]] bool send_ipi(E& engine, u64 mask, u64 base) noexcept {
        const u32 self = engine.current().index;
        return for_each_hart_in_mask(engine.board(), mask, base, [&](u32 target) {
            if (target == self) {
                engine.hw().template set<riscv::csr::mip>(riscv::mip::ssip::mask);
            } else {
                detail::atomic_store(&m_ssip[target], u32{1});
                engine.request(target, virt::request::policy);
            }
        });
    }

    template <class E>
    [[gnu::noinline]] bool remote_fence(E& engine, const sbi_call& call) noexcept {
        namespace sbi = riscv::sbi;
        fence_request request;
        switch (call.function) {
            case sbi::rfence_fid::remote_fence_i: request.kind = fence_kind::fence_i; break;
            case sbi::rfence_fid::remote_sfence_vma: request.kind = fence_kind::sfence_vma; break;
            case sbi::rfence_fid::remote_sfence_vma_asid: request.kind = fence_kind::sfence_vma_asid; break;
            default: return false;  // the hypervisor fences go to the firmware
        }
        request.start = call.args[2];
        request.size = call.args[3];
        request.asid = call.args[4];
        const u32 self = engine.current().index;
        const bool valid = for_each_hart_in_mask(engine.board(), call.args[0], call.args[1], [&](u32 target) {
            if (target == self) {
                fence(engine, request);
                return;
            }
            fence_request& slot = m_fences[self][target];
            slot.kind = request.kind;
            slot.start = request.start;
            slot.size = request.size;
            slot.asid = request.asid;
            detail::atomic_store(&slot.pending, u32{1});
            engine.request(target, virt::request::policy);
        });
        // The call returns once every target has fenced (as OpenSBI's does). While
        // waiting, serve fences other harts ask of this one, or two harts fencing
        // each other would wait for ever.
        for (u32 target = 0; target < MaxHarts; ++target)
            while (detail::atomic_load(&m_fences[self][target].pending) != 0) perform_pending_fences(engine);
        sbi_return(engine, valid ? sbi::error::success : sbi::error::invalid_param);
        return true;
    }

    template <class E>
    void perform_pending_fences(E& engine) noexcept {
        const u32 self = engine.current().index;
        for (u32 requester = 0; requester < MaxHarts; ++requester) {
            fence_request& slot = m_fences[requester][self];
            if (detail::atomic_load(&slot.pending) == 0) continue;
            fence(engine, slot);
            detail::atomic_store(&slot.pending, u32{0});
        }
    }

    /// One fence as the SBI spec defines it (v2.0, 8.2-8.4): the range is
    /// [start, start + size); (start, size) = (0, 0) or size = 2^XLEN-1 is the
    /// whole address space. Otherwise every 4 KiB page the range touches, the
    /// first and the last partly too, counted by page number so that a range
    /// ending in the last page below 2^64 ends (sfence.vma takes any address,
    /// priv. spec 4.2.1). An empty range (size 0, start != 0) fences nothing; a
    /// range that wraps past 2^64, which names no address space the spec
    /// knows, and one longer than range_flush_limit flush everything, which
    /// covers any range.
    template <class E>
    void fence(E& engine, const fence_request& request) noexcept {
        if (request.kind == fence_kind::fence_i) {
            engine.hw().fence_i();
            return;
        }
        const bool by_asid = request.kind == fence_kind::sfence_vma_asid;
        const u64 start = request.start;
        const u64 size = request.size;
        if (size == 0 && start != 0) return;
        const u64 last_byte = start + (size - 1);
        const bool everything = size == 0 || size == ~u64{0} || size > range_flush_limit || last_byte < start;
        if (everything) {
            engine.hw().sfence_vma(fence_operands{0, request.asid, true, !by_asid});
            return;
        }
        const u64 last = last_byte >> 12;
        for (u64 page = start >> 12;; ++page) {
            engine.hw().sfence_vma(fence_operands{page << 12, request.asid, false, !by_asid});
            if (page == last) break;
        }
    }

    /// With TrapTime: `csrr rd, time` (any CSR instruction that reads `time`
    /// without writing it) answered with the platform timer.
    template <class E>
    bool illegal(E& engine) noexcept {
        if (!TrapTime && engine.features().has_time_csr) return false;
        // As the firmware takes it (docs/virtual-hart.md, "mtval"): mtval when
        // the hart reports the bits there, else read on the guarded path.
        u32 bits = static_cast<u32>(engine.trap().tval);
        if (bits == 0 && !engine.fetch_os_instruction(engine.current().pc, bits)) return false;
        const riscv::system_instruction si = riscv::decode_system(bits);
        if (!riscv::is_csr_op(si.op) || si.csr != static_cast<u16>(riscv::csr::time) || riscv::writes_csr(si))
            return false;
        if (!engine.have_registers(si.rd)) return false;
        u64 time = 0;
        if (!os_time(engine.hw(), engine.current(), engine.board(), time)) return false;
        engine.set_reg(si.rd, time);
        engine.skip_instruction(4);
        return true;
    }

    /// A misaligned load or store of the OS: emulated byte by byte with the OS's
    /// own privilege and translation; a fault on the way goes to the OS (when it
    /// handles that cause) or to the firmware, as the hardware would send it.
    template <class E>
    bool misaligned(E& engine) noexcept {
        if (!engine.have_all_registers()) return false;
        virt::hart& h = engine.current();
        if ((h.csr.medeleg & (u64{1} << riscv::mcause::code::extract(engine.trap().cause))) != 0) return false;
        const virt::translation_regime regime = engine.os_regime();
        const u64 address = engine.trap().tval;
        const virt::misaligned_outcome outcome = engine.with_os_memory(
            [&](auto& memory) { return virt::emulate_misaligned(memory, regime, h, h.pc, address); });
        switch (outcome.result) {
            case virt::misaligned_outcome::status::emulated: engine.skip_instruction(outcome.length); return true;
            case virt::misaligned_outcome::status::fault:
                if ((h.csr.medeleg & (u64{1} << outcome.cause)) != 0 &&
                    engine.redirect_to_os(outcome.cause, outcome.tval, outcome.tval2, regime.virtualized))
                    return true;
                engine.deliver_exception(outcome.cause, outcome.tval, outcome.tval2, 0, regime.virtualized);
                return true;
            default: return false;
        }
    }

    fence_request m_fences[MaxHarts][MaxHarts] = {};
    u32 m_ssip[MaxHarts] = {};
};

}  // namespace vfm::policy
