// SPDX-License-Identifier: MIT
// The machine the fuzz targets drive (docs/fuzzing.md): one or two simulated
// harts (host::simulated_hart) on the simulated board, a monitor with the
// target's policies over them, and a harness that plays the guests exactly as
// the unit tests' harness does (test/unit/virt/virt_support.hpp): it places an
// instruction at the guest's pc, raises the trap the hardware raises for it,
// runs the monitor's trap path as the metal trap vector does (fast_trap, then
// handle_trap), resumes, and takes the interrupts then pending.
//
// After every trap and every step it checks the invariants and aborts with one
// line saying which was broken (libFuzzer records the input as a crash):
//   - every access the monitor makes for a guest (load, store, AMO, CAS: the
//     host hart's memory events) and every physical() view it takes is outside
//     the monitor's region, its shared page (the sandbox's bounce buffer as a
//     whole excepted) and the bus masters, and is physical (satp Bare, not
//     virtualized) as the guarded path promises;
//   - the physical PMP denies S and U every load, store and fetch of the
//     monitor's region (and of the CLINT and an intercepted shutdown device),
//     sampled at its first, middle and last bytes and across its edges, every
//     time a guest is entered and every time the monitor accesses memory;
//   - the monitor never uses the hart wrongly (the host hart's misuse
//     handler), never misuses the board, and stops the machine only through
//     its documented fatal paths (then the input ends: a legitimate outcome);
//   - every trap ends with the guest resumed below M-mode in a consistent
//     world (the firmware in U-mode with satp Bare and no delegation; the OS in
//     the mode the monitor recorded), and either emulated (the pc moved past
//     the instruction, or to where mret/sret go) or delivered (the firmware's
//     mtvec with mepc, mcause, MPP, MIE as the spec says), possibly followed by
//     an interrupt delivered the same way;
//   - no interrupt storm (the same interrupt taken again and again without the
//     guest running), no endless wfi loop in the monitor.
#pragma once

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <vfm/host/board.hpp>
#include <vfm/host/simulated_hart.hpp>
#include <vfm/monitor.hpp>

#include "fuzz_input.hpp"

namespace vfz {

using namespace vfm;
using riscv::csr;
using riscv::privilege;

/// Stops the run with one line: libFuzzer saves the input as a crash.
[[noreturn]] inline void violation(const std::string& what) {
    std::fprintf(stderr, "vfm-fuzz: INVARIANT VIOLATED: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

/// VFM_FUZZ_TRACE=1 in the environment: every trap and its outcome on stderr
/// (for reproducing a finding by hand, docs/fuzzing.md).
[[nodiscard]] inline bool tracing() noexcept {
    static const bool on = [] {
        const char* v = std::getenv("VFM_FUZZ_TRACE");
        return v != nullptr && *v != '\0' && *v != '0';
    }();
    return on;
}

/// The fuzz board's memory map: QEMU virt's (host::qemu_virt_layout) with the
/// RAM of map::ram_size, the shared page, a shutdown device in RAM (as the
/// policy tests have it, so that the write reaches something) and a bus master.
[[nodiscard]] inline memory_layout fuzz_layout() noexcept {
    memory_layout layout = host::qemu_virt_layout();
    layout.monitor = {map::monitor_base, map::monitor_size};
    layout.ram = {map::ram_base, map::ram_size};
    layout.firmware_entry = map::firmware_entry;
    layout.shared_buffer = {map::shared_base, map::shared_size};
    layout.shutdown_device = {map::shutdown_base, map::shutdown_size};
    layout.bus_masters[0] = {map::bus_master_base, map::bus_master_size};
    layout.bus_master_count = 1;
    return layout;
}

// ---------------------------------------------------------------------------
// The physical hart, watched: every memory access and physical view the
// monitor takes goes through these members first.
// ---------------------------------------------------------------------------

class fuzz_hart : public host::simulated_hart {
public:
    explicit fuzz_hart(const host::hart_config& config) : simulated_hart(config) {}

    /// The layout the checks use, and whether the monitor intercepts the shutdown device.
    const memory_layout* layout = nullptr;
    /// The monitor's virtual hart for this hart: its PMP layout says which
    /// physical entries are the monitor's own.
    const virt::hart* context = nullptr;
    bool shutdown_denied = false;
    /// Nonzero while the harness plays the hardware (the guest's own accesses).
    int native = 0;
    /// The instruction read-backs in the shared page since the log was cleared.
    std::vector<std::pair<u64, unsigned>> readbacks;
    /// While the monitor boots this hart: its accesses are its own, not a
    /// guest's (virt::discover's A/D probe, an S-mode load through a table of
    /// its own in the shared page, before any guest runs).
    bool booting = false;

    [[nodiscard]] access_result load(access_mode how, u64 address, unsigned width) noexcept {
        watch("load", how, address, width, host::access_type::load);
        return simulated_hart::load(how, address, width);
    }
    [[nodiscard]] access_result store(access_mode how, u64 address, unsigned width, u64 value) noexcept {
        watch("store", how, address, width, host::access_type::store);
        return simulated_hart::store(how, address, width, value);
    }
    [[nodiscard]] access_result amo(access_mode how, u64 address, unsigned width, amo_op op, u64 operand) noexcept {
        watch("amo", how, address, width, host::access_type::store);
        watch("amo", how, address, width, host::access_type::load);
        return simulated_hart::amo(how, address, width, op, operand);
    }
    [[nodiscard]] access_result compare_exchange(access_mode how, u64 address, unsigned width, u64 expected,
                                                 u64 desired) noexcept {
        watch("compare_exchange", how, address, width, host::access_type::store);
        watch("compare_exchange", how, address, width, host::access_type::load);
        return simulated_hart::compare_exchange(how, address, width, expected, desired);
    }
    /// sfence.vma: counted, a monitor that fences for ever does not return.
    void sfence_vma(const fence_operands& f) noexcept {
        if (++fences > 100'000) violation("the monitor does not return: 100000 sfence.vma in one trap");
        simulated_hart::sfence_vma(f);
    }
    unsigned fences = 0;

    [[nodiscard]] u8* physical(u64 address, u64 size) noexcept {
        if (native == 0 && layout != nullptr) {
            const memory_layout& m = *layout;
            const bool bounce = address == m.shared_buffer.base && size == m.shared_buffer.size;
            if (address + size < address || m.monitor.overlaps(address, size) ||
                (!bounce && !instruction_readback(address, size) && m.shared_buffer.overlaps(address, size)) ||
                overlaps_bus_master(address, size))
                violation(fmt::format("the monitor took a physical view of {:#x}+{:#x}, which overlaps its own "
                                      "memory, its shared page or a bus master",
                                      address, size));
        }
        return simulated_hart::physical(address, size);
    }

    /// The PMP invariant: S and U can neither load, store nor fetch any
    /// sampled byte of the regions the monitor denies them.
    void check_pmp(const char* when, u64 sample) const {
        if (layout == nullptr) return;
        check_region(when, layout->monitor, sample, true);
        check_region(when, layout->emulated_devices, sample, false);
        if (shutdown_denied) check_region(when, layout->shutdown_device, sample, false);
    }

private:
    /// The monitor reading back the instruction the firmware trapped on
    /// (M-mode, at most four bytes, in halfwords or as one physical view):
    /// allowed in the shared page where the firmware may fetch every byte
    /// itself under the physical PMP, since it is then its own fetch
    /// (docs/security.md, "Why the shared page is refused too"; the guard's
    /// `classify` lets the firmware's fetches through there, never the OS's).
    /// Data accesses for a guest are made with the guest's privilege, never M,
    /// and get no such leave.
    [[nodiscard]] bool instruction_readback(u64 address, u64 size) const noexcept {
        if (context == nullptr || context->world != virt::world::firmware) return false;
        if (size == 0 || size > 4 || address + size < address) return false;
        const u64 mpp = riscv::mstatus::mpp::extract(peek_csr(csr::mstatus).value_or(0));
        const riscv::privilege guest = mpp == 1 ? riscv::privilege::supervisor : riscv::privilege::user;
        for (u64 a = address; a < address + size; ++a)
            if (!check_access(a, 1, host::access_type::fetch, guest).allowed) return false;
        return true;
    }

    /// An M-mode load that is an instruction read-back, recorded for the
    /// access log's check (readbacks, cleared with the log).
    bool readback(access_mode how, u64 address, unsigned width, host::access_type type) {
        if (how.privilege != riscv::privilege::machine || type != host::access_type::load ||
            !instruction_readback(address, width))
            return false;
        readbacks.emplace_back(address, width);
        return true;
    }

    [[nodiscard]] bool overlaps_bus_master(u64 address, u64 size) const noexcept {
        for (u32 i = 0; i < layout->bus_master_count; ++i)
            if (layout->bus_masters[i].overlaps(address, size)) return true;
        return false;
    }

    void watch(const char* what, access_mode how, u64 address, unsigned width, host::access_type type) noexcept {
        if (native != 0 || booting || layout == nullptr) return;
        const memory_layout& m = *layout;
        if (how.virtualized)
            violation(fmt::format("the monitor made a {} for a guest with two-stage translation (virtualized) at {:#x}",
                                  what, address));
        if (how.privilege != riscv::privilege::machine && config().s && peek_csr(csr::satp).value_or(0) != 0)
            violation(fmt::format("the monitor made a {} at {:#x} for {}-mode with satp {:#x} (not Bare): a "
                                  "translated access, not the guarded path's physical one",
                                  what, address, riscv::name(how.privilege), peek_csr(csr::satp).value_or(0)));
        if (address + width < address || m.monitor.overlaps(address, width) ||
            (m.shared_buffer.overlaps(address, width) && !readback(how, address, width, type)) ||
            overlaps_bus_master(address, width))
            violation(fmt::format("the monitor made a {} of {} bytes at {:#x} for {}-mode: the monitor's memory, "
                                  "its shared page or a bus master",
                                  what, width, address, riscv::name(how.privilege)));
        check_region("a monitor access for a guest", m.monitor, address, false);
        // The guard refuses in software whatever the monitor's own PMP entries
        // deny (guest_memory.hpp, monitor_entries_refuse): an access only one of
        // those entries stops means the hardware check was the only wall.
        if (how.privilege != riscv::privilege::machine && context != nullptr) {
            const host::pmp_decision d = check_access(address, width, type, how.privilege);
            if (!d.allowed && d.entry >= 0 && static_cast<unsigned>(d.entry) < context->pmp.reserved_count)
                violation(fmt::format("the monitor made a {} of {} bytes at {:#x} for {}-mode that only its own PMP "
                                      "entry {} refuses (the guard let it through)",
                                      what, width, address, riscv::name(how.privilege), d.entry));
        }
    }

    /// Probes `r` at its first and last bytes and `sample`, and (`all`) at its
    /// middle, its first and last eight bytes and across both edges.
    void check_region(const char* when, const region& r, u64 sample, bool all) const {
        if (r.size == 0) return;
        const u64 offset = (sample % r.size) & ~u64{7};
        const struct {
            u64 address;
            u64 size;
        } probes[] = {
            {r.base, 1},          {r.end() - 1, 1}, {r.base + offset, 8}, {r.base, 8},
            {r.end() - 8, 8},     {r.base - 4, 8},  {r.end() - 4, 8},     {r.base + r.size / 2, 4},
        };
        const unsigned count = all ? 8 : 3;
        static constexpr host::access_type types[] = {host::access_type::load, host::access_type::store,
                                                      host::access_type::fetch};
        for (unsigned i = 0; i < count; ++i) {
            const auto& p = probes[i];
            for (const host::access_type t : types) {
                for (const riscv::privilege mode : {riscv::privilege::user, riscv::privilege::supervisor}) {
                    if (mode == riscv::privilege::supervisor && !config().s) continue;
                    if (check_access(p.address, p.size, t, mode).allowed)
                        violation(fmt::format("{}: the physical PMP lets {}-mode {} {}+{} (the monitor denies "
                                              "{:#x}+{:#x} to every mode below M)",
                                              when, riscv::name(mode),
                                              t == host::access_type::load    ? "load"
                                              : t == host::access_type::store ? "store"
                                                                              : "fetch",
                                              p.address, p.size, r.base, r.size));
                }
            }
        }
    }
};

static_assert(vfm::arch<fuzz_hart>);

// ---------------------------------------------------------------------------
// The board, as the monitor sees it.
// ---------------------------------------------------------------------------

/// Called when the monitor rings a hart's doorbell: the harness lets that hart
/// take it at once if it runs a guest (one interleaving of real harts).
struct doorbell_sink {
    void* machine = nullptr;
    void (*ring)(void* machine, u32 index) = nullptr;
};

using inner_board = host::simulated_board<2>;

/// The platform of the fuzz monitor: the simulated board with fuzz_layout().
class fuzz_board {
public:
    static constexpr u32 max_harts = inner_board::max_harts;

    explicit fuzz_board(u32 harts) : m_board(harts, fuzz_layout()), m_layout(fuzz_layout()) {}

    [[nodiscard]] const memory_layout& layout() const noexcept { return m_layout; }
    [[nodiscard]] u32 hart_count() const noexcept { return m_board.hart_count(); }
    [[nodiscard]] u64 hart_id(u32 index) const noexcept { return m_board.hart_id(index); }
    [[nodiscard]] bool hart_index(u64 hartid, u64& index) const noexcept { return m_board.hart_index(hartid, index); }
    [[nodiscard]] u64 read_time() const noexcept {
        // A monitor that waits for another hart reads the time in its loop:
        // one that never stops waiting is a finding, not a hang.
        if (++m_time_reads > 5'000'000) violation("the monitor spins for ever (5 million reads of mtime in one step)");
        return m_board.read_time();
    }
    void write_time(u64 value) noexcept { m_board.write_time(value); }
    void set_timer(u32 index, u64 deadline) noexcept { m_board.set_timer(index, deadline); }
    void send_ipi(u32 index) noexcept {
        m_board.send_ipi(index);
        if (m_sink.ring != nullptr) m_sink.ring(m_sink.machine, index);
    }
    void clear_ipi(u32 index) noexcept { m_board.clear_ipi(index); }
    void console_put(char c) noexcept {
        if (m_console.size() < 4096) m_console.push_back(c);
    }
    void exit(u32 code) noexcept { m_board.exit(code); }

    [[nodiscard]] inner_board& simulated() noexcept { return m_board; }
    [[nodiscard]] const std::string& console() const noexcept { return m_console; }
    void set_doorbell_sink(doorbell_sink sink) noexcept { m_sink = sink; }
    void reset_spin_count() const noexcept { m_time_reads = 0; }

private:
    inner_board m_board;
    memory_layout m_layout;
    doorbell_sink m_sink;
    std::string m_console;
    mutable u64 m_time_reads = 0;
};

// ---------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------

/// One hart: the physical hart, the monitor's virtual hart, the guest's pc.
struct cpu {
    cpu(const host::hart_config& config, u32 i) : hw(config), index(i) {}
    fuzz_hart hw;
    virt::hart h{};
    u32 index;
    u64 pc = 0;
    bool booted = false;
};

/// What a trap's outcome is checked against (see check_outcome).
struct trap_context {
    bool instruction = false;  ///< raised by an instruction placed at pc
    u32 bits = 0;
    unsigned length = 0;       ///< 2 or 4 when known
};

template <class... Policies>
class machine {
public:
    using monitor_type = vfm::monitor<fuzz_hart, fuzz_board, Policies...>;

    machine(reader& input, const host::hart_config& config, u32 harts, bool fast_path)
        : in(input), board(harts), monitor(board), m_fast_path(fast_path) {
        for (u32 i = 0; i < harts; ++i) {
            host::hart_config c = config;
            c.mhartid = i;
            cpus.push_back(std::make_unique<cpu>(c, i));
            cpu& x = *cpus.back();
            x.hw.layout = &board.layout();
            x.hw.context = &x.h;
            x.hw.shutdown_denied = monitor_type::intercepts_shutdown;
            board.simulated().connect(i, x.hw);
            x.hw.set_wfi_hook([this, i](host::simulated_hart&) { wfi(*cpus[i]); });
            x.hw.set_misuse_handler([](const std::string& message) {
                violation("the monitor misused the host hart: " + message);
            });
        }
        board.simulated().set_exit_handler([this](u32 code) {
            stopped = true;
            exit_code = code;
            leave();
        });
        board.set_doorbell_sink(doorbell_sink{this, [](void* m, u32 index) {
                                                  static_cast<machine*>(m)->doorbell(index);
                                              }});
    }

    reader& in;
    fuzz_board board;
    monitor_type monitor;
    std::vector<std::unique_ptr<cpu>> cpus;
    /// The monitor stopped the machine (on_fatal, the sandbox's refusal): the input ends.
    bool stopped = false;
    u32 exit_code = 0;
    /// The input ended otherwise (a hart that asked to sleep for ever).
    bool ended = false;

    [[nodiscard]] bool over() const noexcept { return stopped || ended; }

    /// Boots every hart (monitor::boot_hart) and enters the firmware.
    void boot() {
        for (auto& c : cpus) {
            c->hw.booting = true;
            const boot_error e = monitor.boot_hart(c->hw, c->h, c->index, c->index, map::device_tree, map::boot_info);
            c->hw.booting = false;
            if (e != boot_error::none) violation(fmt::format("boot_hart failed: {}", describe(e)));
            c->booted = true;
            c->hw.log().clear();
            c->hw.readbacks.clear();
            resume(*c);
            check_resumed(*c, "boot");
        }
    }

    // ---- traps ---------------------------------------------------------------------------------

    /// The hart takes a trap at its pc: the monitor runs, the guest resumes,
    /// every invariant is checked. Pending interrupts are not taken (settle).
    void take_trap(cpu& c, u64 cause, u64 tval, const trap_context& context = {}, u64 tval2 = 0, u64 tinst = 0,
                   bool gva = false) {
        if (over()) return;
        if (c.hw.privilege() == privilege::machine) violation("the harness raised a trap from M-mode");
        const snapshot before = take_snapshot(c, cause, tval, context);
        if (tracing())
            std::fprintf(stderr, "hart %u: trap %#llx tval %#llx from %s%s at %#llx%s%s\n", c.index,
                         static_cast<unsigned long long>(cause), static_cast<unsigned long long>(tval),
                         c.hw.virtualized() ? "V" : "", riscv::name(c.hw.privilege()),
                         static_cast<unsigned long long>(c.pc), context.instruction ? " instruction " : "",
                         context.instruction ? fmt::format("{:#x}", context.bits).c_str() : "");
        if (tracing() && (cause == 8 || cause == 9 || cause == 10))
            std::fprintf(stderr, "  a7 %#llx a6 %#llx a0 %#llx a1 %#llx a2 %#llx a3 %#llx a4 %#llx\n",
                         static_cast<unsigned long long>(c.h.x[17]), static_cast<unsigned long long>(c.h.x[16]),
                         static_cast<unsigned long long>(c.h.x[10]), static_cast<unsigned long long>(c.h.x[11]),
                         static_cast<unsigned long long>(c.h.x[12]), static_cast<unsigned long long>(c.h.x[13]),
                         static_cast<unsigned long long>(c.h.x[14]));
        c.hw.log().clear();
        c.hw.readbacks.clear();
        c.hw.fences = 0;
        const bool h_ext = c.hw.config().h;
        c.hw.trap(cause, tval, c.hw.privilege(), c.hw.virtualized(), c.pc, h_ext ? tval2 : 0, h_ext ? tinst : 0,
                  h_ext && gva);
        run_monitor(c);
        if (over()) return;
        check_board();
        check_memory_log(c);
        const u64 resumed_at = c.hw.peek_csr(csr::mepc).value_or(0);
        if (tracing()) {
            for (const auto& e : c.hw.log().entries())
                if (std::holds_alternative<host::memory_event>(e) || std::holds_alternative<host::fence_event>(e) ||
                    std::holds_alternative<host::wfi_event>(e))
                    std::fprintf(stderr, "    %s\n", host::to_string(e).c_str());
            std::fprintf(stderr, "  -> %s at %#llx (virtual mepc %#llx mcause %#llx mtval %#llx mstatus %#llx mie %#llx)\n",
                         c.h.world == virt::world::firmware ? "firmware" : "OS",
                         static_cast<unsigned long long>(resumed_at), static_cast<unsigned long long>(c.h.csr.mepc),
                         static_cast<unsigned long long>(c.h.csr.mcause), static_cast<unsigned long long>(c.h.csr.mtval),
                         static_cast<unsigned long long>(c.h.csr.mstatus), static_cast<unsigned long long>(c.h.csr.mie));
        }
        resume(c);
        check_resumed(c, "a trap");
        check_outcome(c, before, resumed_at);
    }

    /// Takes the interrupts the hart would take now; a storm is a finding.
    void settle(cpu& c) {
        for (unsigned n = 0; !over(); ++n) {
            if (c.hw.privilege() == privilege::machine) return;  // in its monitor (a nested doorbell)
            const auto code = c.hw.pending_interrupt();
            if (!code) return;
            if (n >= 64)
                violation(fmt::format("interrupt {} keeps firing at {:#x} on hart {}: the monitor leaves it pending "
                                      "and enabled",
                                      *code, c.pc, c.index));
            take_trap(c, riscv::mcause::interrupt::mask | *code, 0);
        }
    }

    /// A trap, then the interrupts.
    void trap(cpu& c, u64 cause, u64 tval, const trap_context& context = {}, u64 tval2 = 0, u64 tinst = 0,
              bool gva = false) {
        take_trap(c, cause, tval, context, tval2, tinst, gva);
        settle(c);
    }

    /// The guest executes `bits` at its pc: fetched (or an instruction access
    /// fault where the PMP denies the fetch), then it raises illegal
    /// instruction with the bits in mtval (or 0, as the spec allows).
    void exec(cpu& c, u32 bits, bool tval_bits = true) {
        if (over()) return;
        const unsigned length = (bits & 3) == 3 ? 4 : 2;
        if (!bits_are_fetchable(c, length)) return;
        place(c, c.pc, bits, length);
        trap_context context{true, bits, length};
        trap(c, riscv::cause_value(riscv::exception::illegal_instruction),
             tval_bits ? (length == 4 ? bits : bits & 0xffff) : 0, context);
    }

    /// Whether the guest can fetch `length` bytes at its pc; if not, the
    /// instruction access fault is raised (and false returned).
    bool bits_are_fetchable(cpu& c, unsigned length) {
        if (!fetch_checked(c)) return true;  // translated fetch: the model has no fetch translation
        const bool allowed = c.hw.check_access(c.pc, length, host::access_type::fetch, c.hw.privilege()).allowed;
        if (allowed) return true;
        trap(c, riscv::cause_value(riscv::exception::instruction_access_fault), c.pc);
        return false;
    }

    /// Puts the instruction into RAM at `address` (when RAM is there).
    void place(cpu& c, u64 address, u32 bits, unsigned length) {
        if (c.hw.simulated_hart::physical(address, length) == nullptr) return;
        if (length == 2)
            c.hw.poke<u16>(address, static_cast<u16>(bits));
        else
            c.hw.poke<u32>(address, bits);
    }

    /// Writes `value` into every hart's RAM at `address` (memory is shared on
    /// a real board; the simulated harts each have their own).
    template <class T>
    void poke_all(u64 address, T value) {
        for (auto& c : cpus)
            if (c->hw.simulated_hart::physical(address, sizeof value) != nullptr) c->hw.poke<T>(address, value);
    }

    // ---- the firmware's usual moves, as instructions ---------------------------------------------

    /// csrrw x0, n, t1 with t1 = value (the firmware writes a CSR).
    void csrw(cpu& c, u16 n, u64 value) {
        c.h.x[6] = value;
        exec(c, enc::csr_insn(1, 0, n, 6));
    }
    void csrs(cpu& c, u16 n, u64 value) {
        c.h.x[6] = value;
        exec(c, enc::csr_insn(2, 0, n, 6));
    }
    void csrc(cpu& c, u16 n, u64 value) {
        c.h.x[6] = value;
        exec(c, enc::csr_insn(3, 0, n, 6));
    }
    /// csrr t2, n: the value read, when the instruction was emulated.
    u64 csrr(cpu& c, u16 n) {
        c.h.x[7] = 0;
        exec(c, enc::csr_insn(2, 7, n, 0));
        return c.h.x[7];
    }

    [[nodiscard]] bool in_firmware(const cpu& c) const noexcept { return c.h.world == virt::world::firmware; }

private:
    friend struct steps_access;

    // ---- running the monitor --------------------------------------------------------------------

    /// What the metal trap vector does: fast_trap, else handle_trap. The
    /// outermost run catches the monitor stopping the machine (board.exit) and
    /// the end of the input (a hart asleep for ever) through longjmp.
    void run_monitor(cpu& c) {
        std::jmp_buf here;
        const bool outermost = m_jump == nullptr;
        if (outermost) {
            m_jump = &here;
            board.reset_spin_count();
            m_wfi_calls = 0;
        }
        if (!outermost || setjmp(here) == 0) {
            if (!m_fast_path || !monitor.fast_trap(c.hw, c.h)) monitor.handle_trap(c.hw, c.h);
        }
        if (outermost) m_jump = nullptr;
    }

    [[noreturn]] void leave() {
        if (m_jump == nullptr) {
            std::fprintf(stderr, "vfm-fuzz: the machine stopped outside the monitor\n");
            std::abort();
        }
        std::longjmp(*m_jump, 1);
    }

    void resume(cpu& c) {
        c.pc = c.hw.peek_csr(csr::mepc).value_or(0);
        c.hw.resume(c.h);
    }

    /// Another hart rang this one's doorbell: if it runs a guest it takes the
    /// interrupt now (a hart in its monitor takes it when it resumes).
    void doorbell(u32 index) {
        if (index >= cpus.size()) return;
        cpu& target = *cpus[index];
        if (!target.booted || target.hw.privilege() == privilege::machine || over()) return;
        if (++m_nested > 8) violation("doorbells nest more than 8 deep");
        settle(target);
        --m_nested;
    }

    /// wfi in the monitor (emulating the firmware's): the board's sleep (time
    /// jumps to the hart's deadline), else the input picks what wakes the hart
    /// (an interrupt line it enabled, another hart's store to its msip), else
    /// the hart would sleep for ever, which the firmware asked for: the input ends.
    void wfi(cpu& c) {
        if (++m_wfi_calls > 100'000) violation("the monitor's wfi loop does not end (100000 waits in one trap)");
        const u64 mie = c.hw.peek_csr(csr::mie).value_or(0);
        const u64 mip = c.hw.peek_csr(csr::mip).value_or(0);
        if ((mie & mip) != 0) return;
        const u64 deadline = board.simulated().mtimecmp(c.index);
        if ((mie & riscv::mip::mtip::mask) != 0 && deadline != ~u64{0}) {
            if (deadline > board.simulated().read_time()) board.simulated().set_time(deadline);
            return;
        }
        const u8 choice = in.byte();
        if ((choice & 1) != 0 && (mie & riscv::mip::meip::mask) != 0) {
            c.hw.set_meip(true);
            return;
        }
        if ((choice & 2) != 0 && (mie & riscv::mip::seip::mask) != 0) {
            c.hw.set_seip_line(true);
            return;
        }
        if ((choice & 4) != 0 && c.hw.config().h && (mie & riscv::mip::vseip::mask) != 0) {
            c.hw.set_vseip_line(true);
            return;
        }
        if ((choice & 8) != 0 && cpus.size() > 1) {
            // Another hart's firmware stores 1 to this hart's msip (through its own monitor).
            cpu& other = *cpus[(c.index + 1) % cpus.size()];
            if (other.booted && other.hw.privilege() != privilege::machine && in_firmware(other)) {
                other.h.x[5] = 1;
                other.h.x[6] = map::clint_base + 4 * c.index;
                const u32 sw = (5u << 20) | (6u << 15) | (2u << 12) | 0x23;  // sw t0, 0(t1)
                place(other, other.pc, sw, 4);
                trap_context context{true, sw, 4};
                take_trap(other, riscv::cause_value(riscv::exception::store_access_fault), map::clint_base + 4 * c.index,
                          context);
                if ((c.hw.peek_csr(csr::mip).value_or(0) & c.hw.peek_csr(csr::mie).value_or(0)) != 0) return;
            }
        }
        ended = true;
        leave();
    }

    // ---- checks ---------------------------------------------------------------------------------

    struct snapshot {
        virt::world world;
        u64 pc;
        u64 cause;
        u64 tval;
        trap_context context;
        u64 virtual_mepc;
        u64 virtual_mpp;
        bool virtual_mpv;
        u64 sepc;
        u64 spp;
        bool spv;
        privilege mode;  ///< the physical mode the trap came from
        bool virtualized;
    };

    snapshot take_snapshot(cpu& c, u64 cause, u64 tval, const trap_context& context) {
        snapshot s{};
        s.world = c.h.world;
        s.pc = c.pc;
        s.cause = cause;
        s.tval = tval;
        s.context = context;
        s.virtual_mepc = c.h.csr.mepc;
        s.virtual_mpp = riscv::mstatus::mpp::extract(c.h.csr.mstatus);
        s.virtual_mpv = riscv::mstatus::mpv::test(c.h.csr.mstatus);
        s.sepc = c.hw.config().s ? c.hw.peek_csr(csr::sepc).value_or(0) : 0;
        s.spp = c.hw.config().s ? riscv::mstatus::spp::extract(c.hw.peek_csr(csr::mstatus).value_or(0)) : 0;
        s.spv = c.hw.config().h && riscv::hstatus::spv::test(c.hw.peek_csr(csr::hstatus).value_or(0));
        s.mode = c.hw.privilege();
        s.virtualized = c.hw.virtualized();
        return s;
    }

    void check_board() {
        if (!board.simulated().misuses().empty())
            violation("the monitor misused the board: " + board.simulated().misuses().front());
    }

    /// Every memory event of the trap was made for a guest: none may touch
    /// the monitor's memory, its shared page or a bus master (fuzz_hart
    /// checked each call already; this is the log's view of the same).
    void check_memory_log(cpu& c) {
        const memory_layout& m = board.layout();
        for (const auto& entry : c.hw.log().entries()) {
            const auto* e = std::get_if<host::memory_event>(&entry);
            if (e == nullptr) continue;
            const bool readback = !e->store && e->how.privilege == privilege::machine &&
                                  std::find(c.hw.readbacks.begin(), c.hw.readbacks.end(),
                                            std::pair<u64, unsigned>{e->address, e->width}) != c.hw.readbacks.end();
            if (readback && !m.monitor.overlaps(e->address, e->width)) continue;
            if (m.monitor.overlaps(e->address, e->width) || m.shared_buffer.overlaps(e->address, e->width) ||
                m.bus_masters[0].overlaps(e->address, e->width))
                violation(fmt::format("hart {}: the access log holds an access for a guest to the monitor's "
                                      "memory: {}",
                                      c.index, host::to_string(*e)));
        }
    }

    /// The guest runs below M-mode, in the world the monitor recorded.
    void check_resumed(cpu& c, const char* after) {
        const privilege mode = c.hw.privilege();
        if (mode == privilege::machine)
            violation(fmt::format("hart {}: after {} the guest runs in M-mode at {:#x}", c.index, after, c.pc));
        if (c.h.world == virt::world::firmware) {
            if (mode != privilege::user || c.hw.virtualized())
                violation(fmt::format("hart {}: the firmware runs in {}{}-mode, not U-mode", c.index,
                                      c.hw.virtualized() ? "V" : "", riscv::name(mode)));
            if (c.hw.config().s) {
                if (c.hw.peek_csr(csr::satp).value_or(0) != 0)
                    violation(fmt::format("hart {}: the firmware runs with satp {:#x}, not Bare", c.index,
                                          c.hw.peek_csr(csr::satp).value_or(0)));
                if (c.hw.peek_csr(csr::medeleg).value_or(0) != 0 ||
                    (c.hw.peek_csr(csr::mideleg).value_or(0) & ~c.h.features.mideleg_forced) != 0)
                    violation(fmt::format("hart {}: the firmware runs with medeleg {:#x} / mideleg {:#x}", c.index,
                                          c.hw.peek_csr(csr::medeleg).value_or(0),
                                          c.hw.peek_csr(csr::mideleg).value_or(0)));
            }
            if (riscv::mstatus::mprv::test(c.hw.peek_csr(csr::mstatus).value_or(0)))
                violation(fmt::format("hart {}: the firmware runs with the physical MPRV set", c.index));
        } else if (c.hw.virtualized() && !c.hw.config().h) {
            violation(fmt::format("hart {}: the OS runs virtualized on a hart without H", c.index));
        }
        const u64 mpp = riscv::mstatus::mpp::extract(c.h.csr.mstatus);
        if (mpp == 2 || (mpp == 1 && !c.h.features.has_s))
            violation(fmt::format("hart {}: the virtual mstatus.MPP holds {}, not a mode the hart has", c.index, mpp));
        c.hw.check_pmp(after, c.pc ^ in_sample());
    }

    u64 in_sample() noexcept { return m_sample += 0x9e37'79b9'7f4a'7c15; }

    /// Whether the outcome of the trap is one the spec allows (see the file comment).
    void check_outcome(cpu& c, const snapshot& s, u64 resumed_at) {
        namespace ms = riscv::mstatus;
        const virt::virtual_csrs& v = c.h.csr;
        const bool interrupt = riscv::mcause::interrupt::test(s.cause);
        const u64 base = v.mtvec & ~u64{3};
        const bool vectored = (v.mtvec & 3) == 1;
        const u64 mcause = v.mcause;
        const bool delivered_interrupt = riscv::mcause::interrupt::test(mcause);
        const u64 target = delivered_interrupt && vectored ? base + 4 * riscv::mcause::code::extract(mcause) : base;
        const u64 r = resumed_at;
        const bool in_fw = c.h.world == virt::world::firmware;
        const u64 mpp = ms::mpp::extract(v.mstatus);
        const bool mie = ms::mie::test(v.mstatus);
        // A world switch may run the first instruction of the handler (csrrw r, mscratch, r).
        const auto at_vector = [&](u64 where) {
            if (r == where) return true;
            if (r != where + 4 || where != base) return false;
            const u8* p = c.hw.simulated_hart::physical(where, 4);
            if (p == nullptr) return false;
            const u32 word = u32{p[0]} | u32{p[1]} << 8 | u32{p[2]} << 16 | u32{p[3]} << 24;
            return (word & 0xfff0707f) == 0x34001073 && ((word >> 7) & 31) == ((word >> 15) & 31);
        };
        const auto fail = [&](const char* what) {
            violation(fmt::format(
                "hart {}: a trap (cause {:#x}, tval {:#x}, from {} at {:#x}{}) ended {}: resumed at {:#x} in the {}, "
                "virtual mepc {:#x} mcause {:#x} mtval {:#x} mtvec {:#x} MPP {} MIE {}",
                c.index, s.cause, s.tval, s.world == virt::world::firmware ? "the firmware" : "the OS", s.pc,
                s.context.instruction ? fmt::format(", instruction {:#x}", s.context.bits) : std::string(), what, r,
                in_fw ? "firmware" : "OS", v.mepc, mcause, v.mtval, v.mtvec, mpp, mie ? 1 : 0));
        };
        // An interrupt delivered to the firmware after whatever happened first,
        // which left the guest at `next` in a mode whose MPP is `mode`.
        const auto interrupt_after = [&](u64 next, u64 mode) {
            return in_fw && delivered_interrupt && v.mepc == next && at_vector(target) && !mie && mpp == mode;
        };
        const auto exception_delivered = [&](u64 mode) {
            return in_fw && !delivered_interrupt && v.mepc == s.pc && at_vector(base) && !mie && mpp == mode;
        };

        if (s.world == virt::world::firmware) {
            if (interrupt) {
                if ((in_fw && r == s.pc) || interrupt_after(s.pc, 3)) return;
                fail("neither resumed nor delivered");
            }
            // Where the instruction leaves the firmware when emulated.
            u64 next = s.pc + s.context.length;
            virt::world world_after = virt::world::firmware;
            u64 mode_after = 3;
            bool virtualized_after = false;
            if (s.context.instruction && s.context.bits == enc::mret) {
                next = s.virtual_mepc;
                if (s.virtual_mpp != 3) {
                    world_after = virt::world::os;
                    mode_after = s.virtual_mpp;
                    virtualized_after = c.h.features.has_h && s.virtual_mpv;
                }
            } else if (s.context.instruction && s.context.bits == enc::sret && c.h.features.has_s) {
                next = s.sepc;
                world_after = virt::world::os;
                mode_after = s.spp;
                virtualized_after = s.spv;
            }
            if (s.context.instruction && s.context.length != 0) {
                if (r == next && c.h.world == world_after) {  // emulated
                    if (world_after == virt::world::os &&
                        (static_cast<u64>(c.hw.privilege()) != mode_after || c.hw.virtualized() != virtualized_after))
                        fail("in the OS in the wrong mode");
                    return;
                }
                if (interrupt_after(next, mode_after)) return;  // emulated, then an interrupt
            } else {
                // Raised without an instruction the harness placed: the monitor
                // reads whatever is at pc and may emulate it (2 or 4 bytes).
                for (const u64 length : {2u, 4u})
                    if ((r == s.pc + length && in_fw) || interrupt_after(s.pc + length, 3)) return;
            }
            // An LR the monitor performed (under virtual MPRV or on the CLINT):
            // it then runs the constrained loop's body up to its SC
            // (virt/constrained_loop.hpp, at most 16 instructions, unpriv.
            // 8.3). The body may leave the loop by a forward jump or a taken
            // forward branch (8.3 forbids only backward ones), so the firmware
            // resumes, or takes an exception or an interrupt, anywhere after
            // the LR (regression LR-forward-jump-out-of-loop).
            if (load_reserved_at(c, s)) {
                const bool in_loop = v.mepc > s.pc;
                if (in_fw && r > s.pc && c.h.world == virt::world::firmware) return;
                if (in_fw && in_loop && at_vector(delivered_interrupt ? target : base) && !mie && mpp == 3) return;
            }
            if (exception_delivered(3)) {
                if (!plausible_firmware_cause(s.cause, mcause)) fail("delivered with the wrong cause");
                if (mcause == riscv::cause_value(riscv::exception::illegal_instruction) && s.context.instruction &&
                    v.mtval != 0 && v.mtval != (s.context.length == 4 ? s.context.bits : s.context.bits & 0xffff))
                    fail("delivered with an mtval that is not the instruction");
                return;
            }
            fail("neither emulated nor delivered");
        }

        // From the OS.
        const u64 os_mode = static_cast<u64>(s.mode);
        if (interrupt) {
            if ((!in_fw && r == s.pc && c.hw.privilege() == s.mode && c.hw.virtualized() == s.virtualized) ||
                interrupt_after(s.pc, os_mode))
                return;
            fail("neither resumed nor delivered");
        }
        if (!in_fw) {
            const bool same_mode = c.hw.privilege() == s.mode && c.hw.virtualized() == s.virtualized;
            const bool redirected_mode = c.hw.privilege() == privilege::supervisor && !c.hw.virtualized();
            const bool skipped = s.context.length != 0 ? r == s.pc + s.context.length : (r == s.pc + 2 || r == s.pc + 4);
            if (skipped && same_mode) return;  // answered in the monitor
            // Redirected to the OS's own handler (sandbox, offload's misaligned faults).
            const u64 stvec = c.hw.peek_csr(csr::stvec).value_or(0) & ~u64{3};
            if (r == stvec && c.hw.peek_csr(csr::sepc).value_or(0) == s.pc && redirected_mode) return;
            fail("answered but not past the instruction (nor at stvec)");
        }
        if (exception_delivered(os_mode)) {
            if (c.h.features.has_h && ms::mpv::test(v.mstatus) != s.virtualized)
                fail("delivered with the wrong MPV");
            // A misaligned access the monitor emulates (offload) faults as its
            // pieces do, or as the fetch of the instruction does.
            const bool misaligned = s.cause == 4 || s.cause == 6;
            const bool fetch_fault = mcause == 1 || mcause == 12 || mcause == 20;
            // An access fault raised without an instruction the harness placed:
            // the monitor decodes whatever is at pc (a device access, emulated
            // or faulting as that instruction does, with its own address).
            const bool reinterpreted = !s.context.instruction && (s.cause == 5 || s.cause == 7);
            if (reinterpreted) {
                if (mcause != 5 && mcause != 7) fail("delivered with the wrong cause");
                return;
            }
            if (!misaligned && mcause != s.cause) fail("delivered with the wrong cause");
            if (misaligned && !plausible_access_cause(mcause) && !fetch_fault) fail("delivered with the wrong cause");
            if (!misaligned && v.mtval != s.tval) fail("delivered with the wrong mtval");
            return;
        }
        for (const u64 next : {s.pc, s.pc + 2, s.pc + 4})
            if (interrupt_after(next, os_mode)) return;
        fail("neither answered nor delivered");
    }

    /// Whether the firmware's trapping instruction is an LR (lr.w, lr.d: AMO
    /// opcode, funct5 00010), placed by the harness or found at pc.
    [[nodiscard]] static bool load_reserved_at(cpu& c, const snapshot& s) {
        u32 word = s.context.bits;
        if (!s.context.instruction) {
            const u8* p = c.hw.simulated_hart::physical(s.pc, 4);
            if (p == nullptr) return false;
            word = u32{p[0]} | u32{p[1]} << 8 | u32{p[2]} << 16 | u32{p[3]} << 24;
        }
        return (word & 0x7f) == 0x2f && (word >> 27) == 2;
    }

    [[nodiscard]] static bool plausible_access_cause(u64 cause) noexcept {
        switch (cause) {
            case 4: case 5: case 6: case 7: case 13: case 15: case 20: case 21: case 23: return true;
            default: return false;
        }
    }
    [[nodiscard]] static bool plausible_firmware_cause(u64 raised, u64 delivered) noexcept {
        if (raised == riscv::cause_value(riscv::exception::ecall_from_u))
            return delivered == riscv::cause_value(riscv::exception::ecall_from_m);
        if (raised == 2) return delivered == 2 || plausible_access_cause(delivered);
        if (raised == 5 || raised == 7) return plausible_access_cause(delivered);
        return delivered == raised;
    }

    /// Whether a fetch at the guest's pc is untranslated (the firmware always;
    /// the OS with satp Bare, not virtualized or with vsatp and hgatp Bare).
    [[nodiscard]] bool fetch_checked(cpu& c) const {
        if (in_firmware(c) || !c.hw.config().s) return true;
        if (c.hw.peek_csr(csr::satp).value_or(0) >> 60 != 0 && !c.hw.virtualized()) return false;
        if (c.hw.virtualized() && ((c.hw.peek_csr(csr::vsatp).value_or(0) >> 60) != 0 ||
                                   (c.hw.peek_csr(csr::hgatp).value_or(0) >> 60) != 0))
            return false;
        return true;
    }

    std::jmp_buf* m_jump = nullptr;
    bool m_fast_path;
    unsigned m_wfi_calls = 0;
    unsigned m_nested = 0;
    u64 m_sample = 0;
};

}  // namespace vfz
