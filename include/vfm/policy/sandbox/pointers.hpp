// SPDX-License-Identifier: MIT
/// The OS's pointers in SBI calls (the debug console's buffers, the legacy
/// hart masks): refused when the OS may not use them, else copied through the
/// bounce buffer on the guarded path with the OS's rights.
///
/// Part of the sandbox policy (policy/sandbox.hpp, which includes it at its
/// end): definitions of `sandbox` members declared there.
#pragma once

#include <vfm/policy/sandbox.hpp>

#include <vfm/platform.hpp>
#include <vfm/policy/sbi_call.hpp>
#include <vfm/riscv/sbi.hpp>
#include <vfm/virt/guest_access.hpp>
#include <vfm/virt/hart.hpp>

namespace vfm::policy {

/// The regime of a physical address the OS passes (the debug console's
/// buffers, SBI spec 12): S-mode's rights, no translation.
template <u32 MaxHarts, class Settings>
[[nodiscard]] constexpr virt::translation_regime sandbox<MaxHarts, Settings>::os_physical(
    const virt::translation_regime& os) noexcept {
    virt::translation_regime r = os;
    r.privilege = riscv::privilege::supervisor;
    r.virtualized = false;
    r.satp = 0;
    return r;
}

/// Whether the call is a debug-console transfer, and its buffer.
template <u32 MaxHarts, class Settings>
[[nodiscard]] constexpr bool sandbox<MaxHarts, Settings>::console_buffer_call(const virt::hart& h) noexcept {
    return h.reg(17) == riscv::sbi::eid::dbcn && h.reg(16) != riscv::sbi::dbcn_fid::console_write_byte;
}

template <u32 MaxHarts, class Settings>
[[nodiscard]] constexpr bool sandbox<MaxHarts, Settings>::legacy_mask_call(u64 extension) noexcept {
    namespace eid = riscv::sbi::eid;
    return extension == eid::legacy_send_ipi || extension == eid::legacy_remote_fence_i ||
           extension == eid::legacy_remote_sfence_vma || extension == eid::legacy_remote_sfence_vma_asid;
}

/// SBI calls that hand the firmware memory the OS may not use are answered
/// here with the error the SBI spec gives, before anything is copied: the
/// debug console's buffer (physical, SBI spec 12.1-12.2:
/// SBI_ERR_INVALID_PARAM; above 2^64, base_addr_hi != 0, it cannot exist on
/// RV64) and a legacy hart mask (virtual, SBI_ERR_INVALID_ADDRESS).
template <u32 MaxHarts, class Settings>
template <class E>
inline bool sandbox<MaxHarts, Settings>::refuse_bad_pointers(E& engine) noexcept {
    const virt::hart& h = engine.current();
    const region buffer = engine.board().layout().shared_buffer;
    if (console_buffer_call(h)) {
        const u64 length = h.reg(10) < buffer.size ? h.reg(10) : buffer.size;
        const virt::translation_regime regime = os_physical(engine.os_regime());
        const bool read = h.reg(16) == riscv::sbi::dbcn_fid::console_read;
        virt::guest_fault fault;
        const bool ok = h.reg(12) == 0 && engine.with_os_memory([&](auto& memory) {
            return memory.check_range(regime, h.reg(11), length,
                                      read ? virt::access_kind::store : virt::access_kind::load, fault);
        });
        if (ok) return false;
        sbi_return(engine, riscv::sbi::error::invalid_param);
        return true;
    }
    if (legacy_mask_call(h.reg(17)) && h.reg(10) != 0) {
        const virt::translation_regime regime = engine.os_regime();
        virt::guest_fault fault;
        const u64 mask_address = h.reg(10);
        if (engine.with_os_memory([&](auto& memory) {
                return memory.check_range(regime, mask_address, 8, virt::access_kind::load, fault);
            }))
            return false;
        engine.set_reg(10, static_cast<u64>(static_cast<i64>(riscv::sbi::error::invalid_address)));
        engine.skip_instruction(4);
        return true;
    }
    return false;
}

/// The debug console's buffers (physical addresses, SBI spec 12) and the
/// legacy calls' hart masks (virtual addresses) are copied into the shared
/// buffer on the guarded path with the OS's rights, and the firmware gets
/// that buffer's address instead. Runs while the OS's PMP view is in place.
template <u32 MaxHarts, class Settings>
template <class E>
inline void sandbox<MaxHarts, Settings>::bounce_pointer_arguments(E& engine, saved_state& saved,
                                                                  const virt::translation_regime& os) noexcept {
    namespace eid = riscv::sbi::eid;
    virt::hart& h = engine.current();
    const region buffer = engine.board().layout().shared_buffer;
    if (buffer.size == 0) return;
    const u64 extension = saved.x[17];
    const u64 function = saved.x[16];
    u8* bounce = engine.hw().physical(buffer.base, buffer.size);
    if (bounce == nullptr) return;
    virt::guest_fault fault;
    if (extension == eid::dbcn && function != riscv::sbi::dbcn_fid::console_write_byte) {
        const u64 length = saved.x[10] < buffer.size ? saved.x[10] : buffer.size;
        const u64 address = saved.x[11];  // RV64: base_addr_lo holds the whole physical address
        const virt::translation_regime regime = os_physical(os);
        if (function == riscv::sbi::dbcn_fid::console_write && !engine.with_os_memory([&](auto& memory) {
                return memory.copy_from_guest(regime, address, bounce, length, fault);
            })) {
            h.x[10] = 0;  // the firmware writes nothing the OS could not read itself
        } else {
            h.x[10] = length;
        }
        if (function == riscv::sbi::dbcn_fid::console_read) {
            saved.bounce_read = true;
            saved.bounce_address = address;
            saved.bounce_length = length;
        }
        h.x[11] = buffer.base;
        h.x[12] = 0;
        return;
    }
    if (legacy_mask_call(extension)) {
        if (saved.x[10] == 0 || !engine.with_os_memory([&](auto& memory) {
                return memory.copy_from_guest(os, saved.x[10], bounce, 8, fault);
            })) {
            for (unsigned i = 0; i < 8; ++i) bounce[i] = 0;
        }
        h.x[10] = saved.x[10] == 0 ? 0 : buffer.base;
    }
}

/// After a console read: the bytes the firmware put in the bounce buffer go
/// to the OS's buffer, at most as many as the OS asked for, on the guarded
/// path with the OS's rights (its PMP view, for the time of the copy).
template <u32 MaxHarts, class Settings>
template <class E>
inline void sandbox<MaxHarts, Settings>::finish_console_read(E& engine, saved_state& saved) noexcept {
    virt::hart& h = engine.current();
    const region buffer = engine.board().layout().shared_buffer;
    const u8* bounce = engine.hw().physical(buffer.base, buffer.size);
    u64 count = h.x[11] < saved.bounce_length ? h.x[11] : saved.bounce_length;
    if (count > buffer.size) count = buffer.size;
    saved.bounce_read = false;
    if (h.x[10] != 0) return;  // the firmware's error stands
    if (bounce == nullptr || count == 0) {
        h.x[11] = 0;
        return;
    }
    const virt::translation_regime regime = os_physical(engine.os_regime());
    virt::guest_fault fault;
    const u64 address = saved.bounce_address;
    const bool copied = engine.with_os_memory(
        [&](auto& memory) { return memory.copy_to_guest(regime, address, bounce, count, fault); });
    h.x[11] = copied ? count : 0;
}

}  // namespace vfm::policy
