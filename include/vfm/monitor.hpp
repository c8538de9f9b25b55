// SPDX-License-Identifier: MIT
/// `monitor<Arch, Platform, Policies...>`: boots harts into the virtual firmware
/// and runs the trap path, asking its policies first (docs/policies.md).
///
/// A policy (the `monitor_policy` concept, policy/hooks.hpp) implements any
/// subset of the hooks below, and declares which:
///
///   static constexpr const char* name = "...";               for logs and `--policy`
///   static constexpr policy::hook_set hooks = policy::hook::on_os_trap | ...;
///   static constexpr bool needs_all_registers = true;        (optional) every register
///        in the context on each trap: the engine leaves the fast path
///
/// Each hook's signature is written once, as the `detail::calls_*` requires
/// expression below; the monitor checks at compile time that the declared
/// hooks and the members agree (detail::policy_contract). A hook a policy does
/// not declare costs nothing: the call is never generated.
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/format.hpp>
#include <vfm/platform.hpp>
#include <vfm/policy/hooks.hpp>
#include <vfm/virt/code_window.hpp>
#include <vfm/virt/discovery.hpp>
#include <vfm/virt/engine.hpp>
#include <vfm/virt/fast_csrs.hpp>
#include <vfm/virt/hart.hpp>
#include <vfm/virt/pmp_layout.hpp>
#include <vfm/virt/trap_entry.hpp>

namespace vfm {

/// Why a hart could not be started.
enum class boot_error : u8 {
    none,
    too_few_pmp_entries,   ///< the hart cannot protect the monitor and still give the firmware entries
    region_not_napot,      ///< the monitor or device region cannot be described by one PMP entry
    policy_pmp,            ///< a policy could not get the PMP entries it needs
    too_many_bus_masters,  ///< the PMP cannot deny every bus master to the firmware
};

[[nodiscard]] constexpr const char* describe(boot_error e) noexcept {
    switch (e) {
        case boot_error::none: return "no error";
        case boot_error::too_few_pmp_entries: return "the hart has too few PMP entries to protect the monitor";
        case boot_error::region_not_napot: return "a protected region is not a naturally aligned power of two";
        case boot_error::policy_pmp: return "a policy could not reserve its PMP entries";
        case boot_error::too_many_bus_masters:
            return "the hart has too few PMP entries to deny the bus masters (DMA) to the firmware";
    }
    return "unknown error";
}

namespace detail {

// clang-format off
// ---- the policy hooks: each signature, written once -----------------------------------------
// `E` is the monitor's engine type, `M` the monitor and `A` its arch. A hook is
// a member of the policy (a template over E where it takes the engine),
// noexcept, with exactly the return type given.

/// Answers a trap from the OS in the monitor; true when handled (the firmware never sees it).
template <class P, class E>
inline constexpr bool calls_on_os_trap = requires(P& p, E& engine, u64 cause) {
    { p.on_os_trap(engine, cause) } noexcept -> same_as<bool>;
};
/// Answers a trap of the OS before any engine is built, with only the fast
/// path's registers (hart::fast_path_registers) in the context; true when handled.
template <class P, class M, class A>
inline constexpr bool calls_on_os_fast_trap = requires(P& p, M& monitor, A& hw, virt::hart& h, u64 cause) {
    { p.on_os_fast_trap(monitor, hw, h, cause) } noexcept -> same_as<bool>;
};
/// The world switch from the OS into the firmware.
template <class P, class E>
inline constexpr bool calls_on_enter_firmware = requires(P& p, E& engine) {
    { p.on_enter_firmware(engine) } noexcept -> same_as<void>;
};
/// The world switch from the firmware into the OS.
template <class P, class E>
inline constexpr bool calls_on_enter_os = requires(P& p, E& engine) {
    { p.on_enter_os(engine) } noexcept -> same_as<void>;
};
/// The hart's monitor deadline passed.
template <class P, class E>
inline constexpr bool calls_on_monitor_deadline = requires(P& p, E& engine) {
    { p.on_monitor_deadline(engine) } noexcept -> same_as<void>;
};
/// Another hart rang this one's doorbell with request::policy.
template <class P, class E>
inline constexpr bool calls_on_request = requires(P& p, E& engine) {
    { p.on_request(engine) } noexcept -> same_as<void>;
};
/// Filters the OS's physical mcounteren (each policy gets the previous one's value).
template <class P, class E>
inline constexpr bool calls_os_mcounteren = requires(P& p, E& engine, u64 value) {
    { p.os_mcounteren(engine, value) } noexcept -> same_as<u64>;
};
/// Claims PMP entries at boot (after the monitor's own, before the
/// firmware's); false when they do not fit.
template <class P>
inline constexpr bool calls_reserve_pmp = requires(P& p, virt::pmp_layout& layout, const memory_layout& memory) {
    { p.reserve_pmp(layout, memory) } noexcept -> same_as<bool>;
};
/// The hart is about to start the firmware.
template <class P, class E>
inline constexpr bool calls_on_boot = requires(P& p, E& engine) {
    { p.on_boot(engine) } noexcept -> same_as<void>;
};
/// Every trap the engine handles (not those a fast path answers).
template <class P, class E>
inline constexpr bool calls_on_trap = requires(P& p, E& engine, u64 cause) {
    { p.on_trap(engine, cause) } noexcept -> same_as<void>;
};
/// A trap a fast path answered (h.world says whose).
template <class P>
inline constexpr bool calls_on_fast_trap = requires(P& p, virt::hart& h, u64 cause) {
    { p.on_fast_trap(h, cause) } noexcept -> same_as<void>;
};
/// The firmware or the OS writes the shutdown device (the monitor then traps
/// those writes; the write happens after the hooks).
template <class P, class E>
inline constexpr bool calls_on_shutdown = requires(P& p, E& engine) {
    { p.on_shutdown(engine) } noexcept -> same_as<void>;
};

/// Whether P asks for every register in the context on each trap (not a hook:
/// `static constexpr bool needs_all_registers = true`, optional).
template <class P>
inline constexpr bool needs_all_registers = requires { requires P::needs_all_registers; };

/// Whether one of the policies declares hook `h`.
template <class... Policies>
[[nodiscard]] constexpr bool some_policy_declares([[maybe_unused]] policy::hook h) noexcept {
    return (Policies::hooks.contains(h) || ...);
}

/// `has_member_<hook><P>`: whether P has a member of that name at all, of any
/// kind and signature. Lookup of the name in a class deriving from P and from a
/// decoy that has it is ambiguous, so invalid, exactly when P has it too.
namespace hook_names {
#define VFM_DETAIL_HOOK_NAME_PROBE(hook_name)                                              \
    struct hook_name##_decoy {                                                             \
        int hook_name;                                                                     \
    };                                                                                     \
    template <class P>                                                                     \
    struct hook_name##_probe : P, hook_name##_decoy {};                                    \
    template <class P>                                                                     \
    inline constexpr bool has_member_##hook_name = !requires { &hook_name##_probe<P>::hook_name; };
VFM_DETAIL_HOOK_NAME_PROBE(on_os_trap)
VFM_DETAIL_HOOK_NAME_PROBE(on_os_fast_trap)
VFM_DETAIL_HOOK_NAME_PROBE(on_enter_firmware)
VFM_DETAIL_HOOK_NAME_PROBE(on_enter_os)
VFM_DETAIL_HOOK_NAME_PROBE(on_monitor_deadline)
VFM_DETAIL_HOOK_NAME_PROBE(on_request)
VFM_DETAIL_HOOK_NAME_PROBE(os_mcounteren)
VFM_DETAIL_HOOK_NAME_PROBE(reserve_pmp)
VFM_DETAIL_HOOK_NAME_PROBE(on_boot)
VFM_DETAIL_HOOK_NAME_PROBE(on_trap)
VFM_DETAIL_HOOK_NAME_PROBE(on_fast_trap)
VFM_DETAIL_HOOK_NAME_PROBE(on_shutdown)
#undef VFM_DETAIL_HOOK_NAME_PROBE
}  // namespace hook_names
// clang-format on

/// A policy's declared `hooks` against its members, hook by hook: a declared
/// hook must be callable as the monitor calls it (a misspelled or missing
/// member, or another signature, fails here), and a member with a hook's name
/// must be declared. (C++20 cannot list a class's members: a misspelled member
/// the policy does not declare either is not seen; its declaration is what
/// makes a policy's intent checkable.) static_assert takes only a literal,
/// hence one pair per hook, each naming it.
#define VFM_DETAIL_CHECK_HOOK(hook_name, callable)                                                      \
    static_assert(!P::hooks.contains(policy::hook::hook_name) || (callable),                            \
                  "policy declares hook::" #hook_name " but has no member " #hook_name                  \
                  " with the signature the monitor calls (monitor.hpp, detail::calls_" #hook_name ")"); \
    static_assert(P::hooks.contains(policy::hook::hook_name) || !hook_names::has_member_##hook_name<P>, \
                  "policy has a member named " #hook_name " but does not declare hook::" #hook_name " in its `hooks`")
template <class P, class E, class M, class A>
struct policy_contract {
    VFM_DETAIL_CHECK_HOOK(on_os_trap, (calls_on_os_trap<P, E>));
    VFM_DETAIL_CHECK_HOOK(on_os_fast_trap, (calls_on_os_fast_trap<P, M, A>));
    VFM_DETAIL_CHECK_HOOK(on_enter_firmware, (calls_on_enter_firmware<P, E>));
    VFM_DETAIL_CHECK_HOOK(on_enter_os, (calls_on_enter_os<P, E>));
    VFM_DETAIL_CHECK_HOOK(on_monitor_deadline, (calls_on_monitor_deadline<P, E>));
    VFM_DETAIL_CHECK_HOOK(on_request, (calls_on_request<P, E>));
    VFM_DETAIL_CHECK_HOOK(os_mcounteren, (calls_os_mcounteren<P, E>));
    VFM_DETAIL_CHECK_HOOK(reserve_pmp, (calls_reserve_pmp<P>));
    VFM_DETAIL_CHECK_HOOK(on_boot, (calls_on_boot<P, E>));
    VFM_DETAIL_CHECK_HOOK(on_trap, (calls_on_trap<P, E>));
    VFM_DETAIL_CHECK_HOOK(on_fast_trap, (calls_on_fast_trap<P>));
    VFM_DETAIL_CHECK_HOOK(on_shutdown, (calls_on_shutdown<P, E>));
    static constexpr bool holds = true;
};
#undef VFM_DETAIL_CHECK_HOOK

}  // namespace detail

template <arch Arch, platform Platform, monitor_policy... Policies>
class monitor : public Policies... {
public:
    static constexpr u32 max_harts = Platform::max_harts;
    using engine_type = virt::engine<Arch, Platform, monitor, max_harts>;

    static_assert((detail::policy_contract<Policies, engine_type, monitor, Arch>::holds && ...));

    /// Whether some policy acts at shutdown: then writes to the shutdown device trap.
    static constexpr bool intercepts_shutdown = detail::some_policy_declares<Policies...>(policy::hook::on_shutdown);
    /// Whether some policy watches the fast path.
    static constexpr bool watches_fast_path = detail::some_policy_declares<Policies...>(policy::hook::on_fast_trap);

    constexpr explicit monitor(Platform& board) noexcept : m_board(board) {}

    [[nodiscard]] Platform& board() noexcept { return m_board; }
    [[nodiscard]] virt::shared_state<max_harts>& shared() noexcept { return m_shared; }

    /// Prepares hart `index` (mhartid `hartid`) and sets it up to start the
    /// firmware in vM-mode with a0 = hartid, a1 = `device_tree`, a2 = `boot_info`.
    /// The caller then enters the guest with hw.resume(h).
    [[nodiscard]] boot_error boot_hart(Arch& hw, virt::hart& h, u32 index, u64 hartid, u64 device_tree,
                                       u64 boot_info) noexcept {
        h.index = index;
        h.hartid = hartid;
        // The shared page is RAM nobody uses before the firmware runs: the probe's page table.
        const region scratch = m_board.layout().shared_buffer;
        h.features = virt::discover(hw, scratch.size >= 4096 ? scratch.base : 0, index);
        m_shared.harts[index] = &h;
        // A board that reads each hart's mmu-type: say so when the hart disagrees
        // (a wrong tree misleads the firmware and the OS, not the monitor).
        if constexpr (requires(const Platform& p) { p.hart_has_mmu(index); }) {
            if (m_board.hart_has_mmu(index) != h.features.has_paging)
                print("vfm: warning: hart {}: the device tree gives it {}an MMU (mmu-type), but satp {} Sv39\n", hartid,
                      m_board.hart_has_mmu(index) ? "" : "no ", h.features.has_paging ? "takes" : "does not take");
        }

        const memory_layout& memory = m_board.layout();
        virt::set_firmware_code_window(h, memory);
        h.pmp = virt::pmp_layout{};
        // The entries the monitor may use: the hart's, or fewer (a board's
        // limit, e.g. to run as a hart with 8 would: docs/pmp.md).
        h.pmp.physical_count = h.features.pmp_count;
        if (memory.pmp_entry_limit != 0 && memory.pmp_entry_limit < h.pmp.physical_count)
            h.pmp.physical_count = memory.pmp_entry_limit;
        if (!add_denied_region(h.pmp, memory.monitor)) return boot_error::region_not_napot;
        if (memory.emulated_devices.size != 0 && !add_denied_region(h.pmp, memory.emulated_devices))
            return boot_error::region_not_napot;
        if (intercepts_shutdown && memory.shutdown_device.size != 0 &&
            !add_denied_region(h.pmp, memory.shutdown_device))
            return boot_error::region_not_napot;
        if (!(reserve_pmp_of<Policies>(h.pmp, memory) && ...)) return boot_error::policy_pmp;
        if (!h.pmp.usable()) return boot_error::too_few_pmp_entries;
        // The bus masters, denied to the firmware by the tail (virt/pmp_layout.hpp):
        // slots of their own when the layout fits, the list's decisions in cache mode.
        for (u32 i = 0; i < memory.bus_master_count && i < memory_layout::max_bus_masters; ++i) {
            const region& r = memory.bus_masters[i];
            if (!h.pmp.add_tail_denial(r.base, r.end(), h.features.pmp_granularity))
                return boot_error::too_many_bus_masters;
        }

        engine_type engine(hw, *this, h);
        engine.start_firmware(memory.firmware_entry, hartid, device_tree, boot_info);
        (boot_policy<Policies>(engine), ...);
        (void)engine;
        return boot_error::none;
    }

    /// The trap path: called by the backend's trap vector with the guest's
    /// registers saved in `h`; on return the backend restores them and executes mret.
    ///
    /// A backend's trap vector may first call fast_trap, a leaf function that
    /// handles the most frequent traps (the firmware's accesses to CSRs kept in
    /// memory) without building an engine, and call handle_trap only when it
    /// returns false.
    void handle_trap(Arch& hw, virt::hart& h) noexcept {
        const virt::trap_entry trap = virt::read_trap_entry(hw);
        (void)handle_trap_in_engine(hw, h, true, trap.cause, trap.epc);
    }

    /// The engine, with every register in the context or only the fast path's
    /// (then false when it needed another: nothing changed, call again with all).
    /// mcause and mepc come from the caller, which read them once.
    [[gnu::noinline]] bool handle_trap_in_engine(Arch& hw, virt::hart& h, bool all_registers, u64 cause,
                                                 u64 epc) noexcept {
        engine_type engine(hw, *this, h, all_registers);
        return engine.handle_trap({cause, epc});
    }

    /// The fast path, with only hart::fast_path_registers saved: the CSR
    /// accesses virt::fast_path serves (virt/fast_csrs.hpp), then (unless a
    /// policy needs every register) the engine itself, which gives up,
    /// changing nothing, when it needs another register. True when the trap
    /// was handled. Each trap CSR is read once, where a path first needs it,
    /// and passed down.
    [[nodiscard]] bool fast_trap(Arch& hw, virt::hart& h) noexcept {
        const u64 cause = hw.template read<riscv::csr::mcause>();
        if (h.world == virt::world::firmware && cause == illegal_instruction) {
            const u64 epc = hw.template read<riscv::csr::mepc>();
            if (virt::fast_path(hw, h, {cause, epc})) {
                if constexpr (watches_fast_path) (fast_trap_of<Policies>(h, cause), ...);
                return true;
            }
            return firmware_illegal_instruction(hw, h, epc);
        }
        return fast_trap_beyond_csrs(hw, h, cause);
    }

    /// What follows the CSR fast path (a backend whose trap vector serves those
    /// accesses itself starts here, with mcause): the policies' answers to the
    /// OS's traps, then the engine with the fast path's registers.
    [[nodiscard]] bool fast_trap_beyond_csrs(Arch& hw, virt::hart& h, u64 cause) noexcept {
        if constexpr (answers_os_fast_path) {
            if (h.world == virt::world::os) {
                if ((os_fast_trap_of<Policies>(hw, h, cause) || ...)) {
                    if constexpr (watches_fast_path) (fast_trap_of<Policies>(h, cause), ...);
                    return true;
                }
            }
        }
        if constexpr (engine_on_fast_path) {
            const u64 epc = hw.template read<riscv::csr::mepc>();
            // The two world switches of every forwarded SBI call, specialized.
            if (h.world == virt::world::os) {
                if (cause == riscv::cause_value(riscv::exception::ecall_from_s)) return forward_ecall(hw, h, epc);
            } else if (cause == illegal_instruction) {
                return return_to_os(hw, h, epc);
            }
            return handle_trap_in_engine(hw, h, false, cause, epc);
        } else {
            return false;
        }
    }

    /// fast_trap_beyond_csrs for an illegal instruction of the firmware.
    [[nodiscard]] bool firmware_illegal_instruction(Arch& hw, virt::hart& h, u64 epc) noexcept {
        if constexpr (engine_on_fast_path)
            return return_to_os(hw, h, epc);
        else
            return false;
    }

    static constexpr u64 illegal_instruction = riscv::cause_value(riscv::exception::illegal_instruction);

    /// The world switch of an ecall from S-mode into the firmware (fast path:
    /// engine::handle_supervisor_ecall, docs/metal.md).
    [[gnu::noinline]] bool forward_ecall(Arch& hw, virt::hart& h, u64 epc) noexcept {
        engine_type engine(hw, *this, h, false);
        return engine.handle_supervisor_ecall(epc);
    }
    /// An illegal instruction of the firmware: its mret back to the OS takes the
    /// fast path (engine::handle_firmware_mret; false, nothing changed, when the
    /// general path must do it), anything else the engine. The instruction is
    /// read from the firmware's memory (mtval may be stale).
    [[gnu::noinline]] bool return_to_os(Arch& hw, virt::hart& h, u64 epc) noexcept {
        if (!virt::firmware_instruction_is(hw, h, epc, riscv::mret_bits))
            return handle_trap_in_engine(hw, h, false, illegal_instruction, epc);
        engine_type engine(hw, *this, h, false);
        return engine.handle_firmware_mret();
    }

    /// Whether some policy answers traps of the OS on the fast path.
    static constexpr bool answers_os_fast_path =
        detail::some_policy_declares<Policies...>(policy::hook::on_os_fast_trap);

    /// Whether no policy needs every register in the context (the sandbox does).
    static constexpr bool engine_on_fast_path = !(detail::needs_all_registers<Policies> || ...);

    /// Prints through the board's console.
    template <class... Args>
    void print(const char* text, const Args&... args) noexcept {
        console_sink sink{m_board};
        detail::format_to(sink, text, args...);
    }

    // ---- hooks the engine calls: each asks the policies in order ----------------------------

    bool on_os_trap([[maybe_unused]] engine_type& engine, [[maybe_unused]] u64 cause) noexcept {
        return (os_trap_of<Policies>(engine, cause) || ...);
    }
    void on_enter_firmware([[maybe_unused]] engine_type& engine) noexcept {
        (enter_firmware_of<Policies>(engine), ...);
    }
    void on_enter_os([[maybe_unused]] engine_type& engine) noexcept { (enter_os_of<Policies>(engine), ...); }
    void on_monitor_deadline([[maybe_unused]] engine_type& engine) noexcept { (deadline_of<Policies>(engine), ...); }
    void on_request([[maybe_unused]] engine_type& engine) noexcept { (request_of<Policies>(engine), ...); }
    void on_trap([[maybe_unused]] engine_type& engine, [[maybe_unused]] u64 cause) noexcept {
        (trap_of<Policies>(engine, cause), ...);
    }
    void on_shutdown([[maybe_unused]] engine_type& engine) noexcept { (shutdown_of<Policies>(engine), ...); }
    u64 os_mcounteren([[maybe_unused]] engine_type& engine, u64 value) noexcept {
        ((value = mcounteren_of<Policies>(engine, value)), ...);
        return value;
    }

    /// Stops the machine with one line saying why (the engine calls it for a
    /// state no machine could leave, e.g. a firmware faulting at its own trap vector).
    [[noreturn]] void on_fatal(engine_type& engine, const char* why, u64 cause, u64 tval) noexcept {
        const virt::hart& h = engine.current();
        print("vfm: panic: hart {}: {} (mcause {:#x}, mepc {:#x}, mtval {:#x}, mtvec {:#x})\n", h.hartid, why, cause,
              h.csr.mepc, tval, h.csr.mtvec);
        m_board.exit(fatal_exit_code);
        for (;;) {}
    }

    /// QEMU's exit status (through the test finisher) when the monitor stops on an error.
    static constexpr u32 fatal_exit_code = 70;

private:
    struct console_sink {
        Platform& board;
        void put(char c) noexcept { board.console_put(c); }
    };

    static bool add_denied_region(virt::pmp_layout& layout, const region& r) noexcept {
        if (!bits::is_power_of_two(r.size) || r.size < 8 || (r.base & (r.size - 1)) != 0) return false;
        return layout.add_napot(r.base, r.size, virt::pmp_none, virt::pmp_none);
    }

    template <class P>
    bool os_trap_of(engine_type& engine, u64 cause) noexcept {
        if constexpr (P::hooks.contains(policy::hook::on_os_trap))
            return static_cast<P&>(*this).on_os_trap(engine, cause);
        else
            return false;
    }
    template <class P>
    void enter_firmware_of(engine_type& engine) noexcept {
        if constexpr (P::hooks.contains(policy::hook::on_enter_firmware))
            static_cast<P&>(*this).on_enter_firmware(engine);
    }
    template <class P>
    void enter_os_of(engine_type& engine) noexcept {
        if constexpr (P::hooks.contains(policy::hook::on_enter_os)) static_cast<P&>(*this).on_enter_os(engine);
    }
    template <class P>
    void deadline_of(engine_type& engine) noexcept {
        if constexpr (P::hooks.contains(policy::hook::on_monitor_deadline))
            static_cast<P&>(*this).on_monitor_deadline(engine);
    }
    template <class P>
    void request_of(engine_type& engine) noexcept {
        if constexpr (P::hooks.contains(policy::hook::on_request)) static_cast<P&>(*this).on_request(engine);
    }
    template <class P>
    void trap_of(engine_type& engine, u64 cause) noexcept {
        if constexpr (P::hooks.contains(policy::hook::on_trap)) static_cast<P&>(*this).on_trap(engine, cause);
    }
    template <class P>
    void shutdown_of(engine_type& engine) noexcept {
        if constexpr (P::hooks.contains(policy::hook::on_shutdown)) static_cast<P&>(*this).on_shutdown(engine);
    }
    template <class P>
    void fast_trap_of(virt::hart& h, u64 cause) noexcept {
        if constexpr (P::hooks.contains(policy::hook::on_fast_trap)) static_cast<P&>(*this).on_fast_trap(h, cause);
    }
    template <class P>
    bool os_fast_trap_of(Arch& hw, virt::hart& h, u64 cause) noexcept {
        if constexpr (P::hooks.contains(policy::hook::on_os_fast_trap))
            return static_cast<P&>(*this).on_os_fast_trap(*this, hw, h, cause);
        else
            return false;
    }
    template <class P>
    u64 mcounteren_of(engine_type& engine, u64 value) noexcept {
        if constexpr (P::hooks.contains(policy::hook::os_mcounteren))
            return static_cast<P&>(*this).os_mcounteren(engine, value);
        else
            return value;
    }
    template <class P>
    bool reserve_pmp_of(virt::pmp_layout& layout, const memory_layout& memory) noexcept {
        if constexpr (P::hooks.contains(policy::hook::reserve_pmp))
            return static_cast<P&>(*this).reserve_pmp(layout, memory);
        else
            return true;
    }
    template <class P>
    void boot_policy(engine_type& engine) noexcept {
        if constexpr (P::hooks.contains(policy::hook::on_boot)) static_cast<P&>(*this).on_boot(engine);
    }

    Platform& m_board;
    virt::shared_state<max_harts> m_shared;
};

}  // namespace vfm
