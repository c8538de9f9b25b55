// SPDX-License-Identifier: MIT
/// The devices the monitor emulates for its guests (the CLINT, the shutdown
/// device, the board's own), behind one small interface the engine iterates
/// over.
///
/// Part of the engine (virt/engine.hpp, which includes it at its end):
/// definitions of `engine` members declared there.
#pragma once

#include <vfm/virt/engine.hpp>

#include <vfm/virt/data_access.hpp>
#include <vfm/virt/devices/clint.hpp>
#include <vfm/virt/devices/shutdown.hpp>
#include <vfm/virt/emulated_device.hpp>
#include <vfm/virt/guest_memory.hpp>
#include <vfm/virt/pmp_layout.hpp>

namespace vfm::virt {

/// A load or store to a device the monitor emulates: the CLINT the
/// firmware sees, the shutdown device when a policy acts at shutdown, and
/// the board's own devices.
/// The firmware always reaches them; the OS only where the firmware's PMP
/// lets it (the access would otherwise have faulted natively).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::emulate_device_access() noexcept {
    const bool from_os = m_h.world == world::os;
    data_access op;
    if (!decode_guest_access(from_os, op)) return false;
    if (!from_os && op.access() == access_kind::store &&
        m_trap.cause == riscv::cause_value(riscv::exception::load_access_fault)) {
        // An AMO or SC the PMP denied: QEMU 7.2 reports a load access fault;
        // the spec's cause is store/AMO access fault (priv. spec 3.7.1).
        if (!emulate_device_op(op, from_os))
            deliver_exception(riscv::cause_value(riscv::exception::store_access_fault), m_trap.tval);
        return true;
    }
    return emulate_device_op(op, from_os);
}

/// emulate_device_access once decoded: false when the access is not to an emulated device.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::emulate_device_op(const data_access& op, bool from_os) noexcept {
    const u64 address = reg(op.base_reg) + static_cast<u64>(op.offset);
    translation_regime regime = from_os ? os_regime() : common_regime();
    if (!from_os) regime.privilege = riscv::privilege::machine;  // the firmware runs with satp Bare
    physical_class klass = physical_class::refused;
    u64 physical = 0;
    auto find = [&](memory_type& memory) {
        const u64 size = op.width;
        if ((address & 0xfff) + size > 0x1000) return false;  // a device access crossing a page: not emulated
        const guest_translation t = memory.translate(regime, address, size, op.access(), reach::devices, klass);
        physical = t.physical;
        return t.ok && klass == physical_class::device;
    };
    const bool device = from_os ? with_os_memory(find) : [&] {
        memory_type memory(m_hw, board().layout(), m_h, memory_type::side::firmware, Hooks::intercepts_shutdown);
        return find(memory);
    }();
    if (!device) return false;
    if (from_os && !pmp_allows(m_h.csr.pmpcfg, m_h.csr.pmpaddr, m_h.pmp.virtual_count(), m_h.features.pmp_granularity,
                               physical, op.width, op.access() == access_kind::load ? pmp_r : pmp_w))
        return false;
    return finish_device_access(op, physical, regime.virtualized, address);
}

/// Performs `op` on the emulated device at `physical` and writes its result
/// (or delivers the access fault the device raises).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::finish_device_access(const data_access& op, u64 physical,
                                                                          bool virtualized, u64 address) noexcept {
    u64 value = 0;
    if (!device_access(op, physical, value)) {
        const access_kind kind = op.access();
        deliver_exception(access_fault_cause(kind), address, 0, 0, virtualized);
        return true;
    }
    write_result(op, value);
    m_h.pc += op.length;
    if (m_interrupts_changed) {
        m_interrupts_changed = false;
        refresh_interrupts();
    }
    if (op.op == data_access::kind::load_reserved && m_h.world == world::firmware) run_to_store_conditional();
    return true;
}

/// The devices the engine emulates, asked in this order: its own, then the
/// board's (`Platform::devices`, virt/emulated_device.hpp: board_devices). A
/// new one is a type with the members of virt/emulated_device.hpp, added
/// here or, for one board, to that board's list.
template <class Platform>
using emulated_devices = devices_with_board<device_list<shutdown_device, clint>, Platform>;

/// One access to an emulated device: the first of the list that contains it
/// performs it. False for an access fault (no device, or the device refuses).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::device_access(const data_access& op, u64 physical,
                                                                   u64& value) noexcept {
    return access_devices(emulated_devices<Platform>{}, op, physical, value);
}

template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
template <class... Devices>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::access_devices(device_list<Devices...>, const data_access& op,
                                                                    u64 physical, u64& value) noexcept {
    bool ok = false;
    (void)(access_device<Devices>(op, physical, value, ok) || ...);
    return ok;
}

/// `op` on `Device` when it contains the access (true then, with `ok` false
/// for an access fault): a load is a read, a store a write, an AMO a read and
/// a write, LR a read that takes a reservation on the value, SC a read and,
/// while the reservation holds, a write.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
template <class Device>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::access_device(const data_access& op, u64 physical, u64& value,
                                                                   bool& ok) noexcept {
    static_assert(emulated_device<Device, engine>,
                  "an emulated device (the engine's, or one of the board's Platform::devices) lacks a member of "
                  "vfm::virt::emulated_device: the notes name it");
    if (!Device::contains(*this, physical, op.width)) return false;
    ok = false;
    if (op.is_float && !Device::floats) return true;
    if (op.op != data_access::kind::load && op.op != data_access::kind::store) {
        // AMO, LR, SC: naturally aligned (unpriv. spec 8.2, 8.4).
        if (!Device::atomics || (physical & (op.width - 1)) != 0) return true;
    }
    // One read (all but a store) and one write (all that store): each device
    // function has one call site.
    u64 old = 0;
    if (op.op != data_access::kind::store && !Device::read(*this, physical, op.width, old)) return true;
    u64 written = 0;
    ok = !device_write_of(op, physical, old, value, written) || Device::write(*this, physical, op.width, written);
    return true;
}

/// What `op` does with the value `old` a device read (any device, once for
/// all of them): the guest's result in `value` and, when it returns true, the
/// value to write back in `written`.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::device_write_of(const data_access& op, u64 physical, u64 old,
                                                                     u64& value, u64& written) noexcept {
    switch (op.op) {
        case data_access::kind::load: value = old; return false;
        case data_access::kind::store: written = operand_of(op); return true;
        case data_access::kind::amo:
            written = amo_result(op.amo, old, operand_of(op), op.width);
            value = old;
            return true;
        case data_access::kind::load_reserved:
            m_h.reservation_address = physical;
            m_h.reservation_value = old;
            m_h.reservation_width = op.width;
            value = old;
            return false;
        case data_access::kind::store_conditional: {
            const bool holds = m_h.reservation_width == op.width && m_h.reservation_address == physical &&
                               m_h.reservation_value == old;
            m_h.reservation_width = 0;
            if (holds) written = operand_of(op);
            value = holds ? 0 : 1;
            return holds;
        }
    }
    return false;
}

}  // namespace vfm::virt
