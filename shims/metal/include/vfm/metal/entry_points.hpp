// SPDX-License-Identifier: MIT
/// The C-ABI entry points the metal shim's boot code and trap vector call
/// (shims/metal/src/entry.S), written once for every port (docs/porting.md,
/// "The link-level contract"). A port defines its board and monitor objects,
/// writes its `main` (board setup on the first hart) and expands
///
///     VFM_METAL_ENTRY_POINTS(monitor, port_main)
///
/// once, in one translation unit, at namespace scope. `monitor` is a
/// `constinit` vfm::monitor<vfm::metal::hart_backend, Board, ...> object,
/// `port_main` a function `const char* port_main(const vfm::metal::boot_context&)`
/// that initialises the board (discovers it from the device tree, reserves
/// `context.image` in it) and returns nullptr, or one line saying why the board
/// cannot be used. The macro defines:
///
///   vfm_main(hartid, device_tree, boot_info, primary)   every hart, from the boot code
///   vfm_fast_trap(context) -> bool                       the trap vector's C++ fast path
///   vfm_handle_trap(context)                             the trap vector's general path
///   vfm_monitor_fault(cause, epc, tval)                  a trap inside the monitor: a bug
///
/// The image must be built with -DVFM_MAX_HARTS equal to Board::max_harts
/// (the assembly sizes the per-hart stacks by it; checked here).
#pragma once

#include <vfm/detail/atomic.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/metal/arch.hpp>
#include <vfm/metal/runtime.hpp>
#include <vfm/monitor.hpp>
#include <vfm/platform.hpp>
#include <vfm/platform/board_support.hpp>

extern "C" {
/// The image's bounds (the linker script, shims/metal/src/monitor.ld): what
/// the PMP protects is napot_cover(__vfm_start, __vfm_end).
extern char __vfm_start[];
extern char __vfm_end[];
/// The end of what is loaded (code and data, without .bss).
extern char __vfm_image_end[];
/// Set by the first hart when the others may boot (entry.S waits on it).
extern vfm::u32 vfm_boot_ready;
}

namespace vfm::metal {

/// What the first hart hands the port's `main`.
struct boot_context {
    u64 hartid = 0;       ///< the hart running it (a0 at reset)
    u64 device_tree = 0;  ///< a1 at reset: the device tree the previous stage passed
    u64 boot_info = 0;    ///< a2 at reset (QEMU: a fw_dynamic_info)
    region image;         ///< the monitor's memory as one NAPOT region: reserve it, deny it
    u64 image_bytes = 0;  ///< bytes loaded (code and data), for a log line
};

/// The address of a linker symbol.
[[nodiscard]] inline u64 address_of(const char* symbol) noexcept { return reinterpret_cast<uptr>(symbol); }

/// The hart's CSRs and trap entry (stateless): one object at a fixed address,
/// so that the fast path passes it without a stack frame.
inline constinit hart_backend entry_hart{};

/// Where the image was linked to run: an absolute address stored in the image
/// at link time (the code addresses everything relative to pc, so it reaches
/// the check even when loaded elsewhere).
inline constinit const char* const linked_start = __vfm_start;

/// Prints one line and stops the machine through the board (exit code
/// Monitor::fatal_exit_code).
template <class Monitor>
[[noreturn]] void stop(Monitor& monitor, u64 hartid, const char* why, u64 detail = 0) noexcept {
    monitor.print("vfm: panic: hart {}: {} ({:#x})\n", hartid, why, detail);
    monitor.board().exit(Monitor::fatal_exit_code);
    for (;;) {}
}

/// The first hart's checks after the port's main: the board is usable, the
/// image runs where it was linked, every hart fits the build, a firmware is there.
template <class Monitor>
[[nodiscard]] const char* check_boot(Monitor& monitor) noexcept {
    auto& board = monitor.board();
    if (address_of(*const_cast<const char* volatile*>(&linked_start)) != address_of(__vfm_start))
        return "the monitor image runs at another address than it was linked for";
    for (u32 i = 0; i < board.hart_count(); ++i)
        if (board.hart_id(i) >= VFM_MAX_HARTS) return "the device tree has a hart id this build cannot run (max_harts)";
    const u64 firmware = board.layout().firmware_entry;
    if (firmware == 0) return "the board gave no firmware address";
    if (*reinterpret_cast<const volatile u32*>(static_cast<uptr>(firmware)) == 0)
        return "no firmware image at the firmware address (memory there is zero)";
    return nullptr;
}

/// vfm_main: every hart arrives here from the boot code on its own stack; the
/// first one with `primary` set, after it cleared .bss.
template <class Monitor, class Main>
[[noreturn]] void run_hart(Monitor& monitor, Main& port_main, u64 hartid, u64 device_tree, u64 boot_info,
                           u64 primary) noexcept {
    static_assert(Monitor::max_harts == VFM_MAX_HARTS,
                  "build the image with -DVFM_MAX_HARTS equal to the board's max_harts");
    auto& board = monitor.board();
    if (primary != 0) {
        boot_context context;
        context.hartid = hartid;
        context.device_tree = device_tree;
        context.boot_info = boot_info;
        context.image = platforms::napot_cover(address_of(__vfm_start), address_of(__vfm_end));
        context.image_bytes = address_of(__vfm_image_end) - address_of(__vfm_start);
        const char* error = port_main(static_cast<const boot_context&>(context));
        if (error == nullptr) error = check_boot(monitor);
        if (error != nullptr) stop(monitor, hartid, error, device_tree);
    }
    u64 index = 0;
    if (!board.hart_index(hartid, index)) {
        for (;;) asm volatile("wfi");  // a hart the device tree does not list stays parked
    }
    virt::hart& context = construct_context(static_cast<u32>(hartid));
    const boot_error error =
        monitor.boot_hart(entry_hart, context, static_cast<u32>(index), hartid, device_tree, boot_info);
    if (error != boot_error::none) stop(monitor, hartid, describe(error));
    // The other harts start once the first is about to enter the firmware, so
    // that, as natively, the first hart usually wins the firmware's boot lottery.
    if (primary != 0) detail::atomic_store(&vfm_boot_ready, u32{1});
    entry_hart.resume(context);
}

/// vfm_fast_trap: the hot path, a leaf (true when it handled the trap). The
/// vector's first tier already served the accesses of the CSR fast path's
/// table (virt/fast_csrs.hpp) that virt::fast_path would (unless built with
/// VFM_METAL_CSR_FAST_PATH=0; with VFM_METAL_CSR_FAST_PATH_CPP=0 too, no
/// fast path serves them: layout.h).
template <class Monitor>
[[nodiscard, gnu::always_inline]] inline bool fast_trap(Monitor& monitor, virt::hart& context) noexcept {
    static_assert(!(VFM_METAL_CSR_FAST_PATH && Monitor::watches_fast_path),
                  "a policy watches the fast path: build with -DVFM_METAL_CSR_FAST_PATH=0");
    if constexpr (VFM_METAL_CSR_FAST_PATH || !VFM_METAL_CSR_FAST_PATH_CPP)
        return monitor.fast_trap_beyond_csrs(entry_hart, context, entry_hart.template read<riscv::csr::mcause>());
    else
        return monitor.fast_trap(entry_hart, context);
}

/// vfm_monitor_fault: a trap inside the monitor outside the guarded range. One line, then stop.
template <class Monitor>
[[noreturn]] void monitor_fault(Monitor& monitor, u64 cause, u64 epc, u64 tval) noexcept {
    monitor.print("vfm: panic: unexpected trap in the monitor: mcause {:#x} mepc {:#x} mtval {:#x}\n", cause, epc,
                  tval);
    monitor.board().exit(Monitor::fatal_exit_code);
    for (;;) {}
}

}  // namespace vfm::metal

/// Defines the four C-ABI entry points of a metal image for `monitor_object`,
/// with `port_main` run once on the first hart (see the top of this header).
#define VFM_METAL_ENTRY_POINTS(monitor_object, port_main)                                                  \
    extern "C" [[noreturn]] void vfm_main(::vfm::u64 hartid, ::vfm::u64 device_tree, ::vfm::u64 boot_info, \
                                          ::vfm::u64 primary) {                                            \
        ::vfm::metal::run_hart(monitor_object, port_main, hartid, device_tree, boot_info, primary);        \
    }                                                                                                      \
    extern "C" bool vfm_fast_trap(::vfm::virt::hart* context) {                                            \
        return ::vfm::metal::fast_trap(monitor_object, *context);                                          \
    }                                                                                                      \
    extern "C" void vfm_handle_trap(::vfm::virt::hart* context) {                                          \
        monitor_object.handle_trap(::vfm::metal::entry_hart, *context);                                    \
    }                                                                                                      \
    extern "C" [[noreturn]] void vfm_monitor_fault(::vfm::u64 cause, ::vfm::u64 epc, ::vfm::u64 tval) {    \
        ::vfm::metal::monitor_fault(monitor_object, cause, epc, tval);                                     \
    }                                                                                                      \
    static_assert(true, "VFM_METAL_ENTRY_POINTS ends with a semicolon")
