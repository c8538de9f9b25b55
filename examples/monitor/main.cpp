// SPDX-License-Identifier: MIT
// The reference monitor image for QEMU virt: takes M-mode on every hart, runs
// the firmware found at VFM_FIRMWARE_ADDRESS in vM-mode, and handles its traps.
#include <vfm/metal/arch.hpp>
#include <vfm/metal/runtime.hpp>
#include <vfm/monitor.hpp>
#include <vfm/platform/qemu_virt.hpp>

#include "policies.hpp"

#ifndef VFM_FIRMWARE_ADDRESS
#define VFM_FIRMWARE_ADDRESS 0x80100000
#endif
#ifndef VFM_LOG_LEVEL
#define VFM_LOG_LEVEL 0
#endif
/// Bus masters (DMA) handed to the firmware, by device-tree node name
/// (-Dfirmware_bus_masters): containment is given up for them.
#ifndef VFM_FIRMWARE_BUS_MASTERS
#define VFM_FIRMWARE_BUS_MASTERS ""
#endif
/// Physical PMP entries the monitor may use, 0 for all (-Dpmp_entries, docs/pmp.md).
#ifndef VFM_PMP_ENTRIES
#define VFM_PMP_ENTRIES 0
#endif

extern "C" {
extern char __vfm_start[];
extern char __vfm_end[];
extern char __vfm_image_end[];
extern vfm::u32 vfm_boot_ready;
}

namespace {

using vfm::u32;
using vfm::u64;
using board_type = vfm::platforms::qemu_virt<VFM_MAX_HARTS>;
using monitor_type = vfm::monitor<vfm::metal::hart_backend, board_type VFM_POLICIES>;

constinit board_type board;
constinit monitor_type monitor{board};

[[noreturn]] void stop(u64 hartid, const char* why, u64 detail = 0) {
    monitor.print("vfm: panic: hart {}: {} ({:#x})\n", hartid, why, detail);
    board.exit(monitor_type::fatal_exit_code);
    for (;;) {
    }
}

[[nodiscard]] u64 address_of(const char* symbol) { return reinterpret_cast<vfm::uptr>(symbol); }

/// Where the image was linked to run: an absolute address stored in the
/// image at link time (the code itself addresses everything relative to pc,
/// so it reaches this check even when loaded elsewhere).
constinit const char* const linked_start = __vfm_start;

/// The hart's CSRs and trap entry (stateless): one object at a fixed address,
/// so that the fast path passes it without a stack frame.
constinit vfm::metal::hart_backend hw;

}  // namespace

/// Every hart arrives here from the boot code, on its own stack; the first one
/// with `primary` set, after it cleared .bss.
extern "C" [[noreturn]] void vfm_main(u64 hartid, u64 device_tree, u64 boot_info, u64 primary) {
    if (primary != 0) {
        const vfm::region image = vfm::platforms::napot_cover(address_of(__vfm_start), address_of(__vfm_end));
        const char* error = board.init(device_tree, image, VFM_FIRMWARE_ADDRESS, VFM_FIRMWARE_BUS_MASTERS);
        if (error == nullptr && address_of(*const_cast<const char* volatile*>(&linked_start)) != address_of(__vfm_start))
            error = "the monitor image runs at another address than it was linked for";
        for (u32 i = 0; error == nullptr && i < board.hart_count(); ++i)
            if (board.hart_id(i) >= VFM_MAX_HARTS) error = "the device tree has a hart id this build cannot run (max_harts)";
        if (error != nullptr) stop(hartid, error, device_tree);
        board.limit_pmp_entries(VFM_PMP_ENTRIES);
        for (u32 i = 0; i < board.given_to_firmware(); ++i)
            monitor.print("vfm: warning: the firmware is given {}, a bus master: it can write any memory, the "
                          "monitor's included; containment is given up\n",
                          board.given_name(i));
        const u32 first_word = *reinterpret_cast<const volatile u32*>(static_cast<vfm::uptr>(VFM_FIRMWARE_ADDRESS));
        if (first_word == 0) stop(hartid, "no firmware image at the firmware address (memory there is zero)", VFM_FIRMWARE_ADDRESS);
        if (VFM_LOG_LEVEL >= 1)
            monitor.print("vfm: monitor {:#x}-{:#x} ({} bytes image), {} harts, firmware at {:#x}\n", image.base,
                          image.end(), address_of(__vfm_image_end) - address_of(__vfm_start), board.hart_count(),
                          u64{VFM_FIRMWARE_ADDRESS});
    }
    u64 index = 0;
    if (!board.hart_index(hartid, index)) {
        for (;;) asm volatile("wfi");  // a hart the device tree does not list stays parked
    }
    vfm::virt::hart& context = vfm::metal::construct_context(static_cast<u32>(hartid));
    const vfm::boot_error error = monitor.boot_hart(hw, context, static_cast<u32>(index), hartid, device_tree, boot_info);
    if (error != vfm::boot_error::none) stop(hartid, vfm::describe(error));
    // The other harts start once the first is about to enter the firmware, so
    // that, as natively, the first hart usually wins the firmware's boot lottery.
    if (primary != 0) vfm::detail::atomic_store(&vfm_boot_ready, u32{1});
    hw.resume(context);
}

/// The trap vector calls this first with the guest's registers saved in
/// `context`: the hot path, a leaf function (true when it handled the trap).
static_assert(!(VFM_METAL_CSR_FAST_PATH && monitor_type::watches_fast_path),
              "a policy watches the fast path: build with -DVFM_METAL_CSR_FAST_PATH=0");

extern "C" bool vfm_fast_trap(vfm::virt::hart* context) {
    // The vector's first tier already served the CSR accesses virt::fast_path
    // would: go straight to the engine, with the caller-saved registers.
    if constexpr (VFM_METAL_CSR_FAST_PATH)
        return monitor.fast_trap_beyond_csrs(hw, *context);
    else
        return monitor.fast_trap(hw, *context);
}

/// Then, when the fast path did not take the trap, this.
extern "C" void vfm_handle_trap(vfm::virt::hart* context) {
    monitor.handle_trap(hw, *context);
}

/// A trap inside the monitor outside the guarded range: a bug. One line, then stop.
extern "C" [[noreturn]] void vfm_monitor_fault(u64 cause, u64 epc, u64 tval) {
    monitor.print("vfm: panic: unexpected trap in the monitor: mcause {:#x} mepc {:#x} mtval {:#x}\n", cause, epc, tval);
    board.exit(monitor_type::fatal_exit_code);
    for (;;) {
    }
}
