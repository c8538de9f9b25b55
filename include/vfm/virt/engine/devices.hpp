// SPDX-License-Identifier: MIT
/// The devices the monitor emulates for its guests (the CLINT, the shutdown
/// device), behind one small interface the engine iterates over.
///
/// Part of the engine (virt/engine.hpp, which includes it at its end):
/// definitions of `engine` members declared there.
#pragma once

#include <vfm/virt/engine.hpp>
#include <vfm/virt/data_access.hpp>
#include <vfm/virt/guest_memory.hpp>
#include <vfm/virt/pmp_layout.hpp>

namespace vfm::virt {

/// A load or store to a device the monitor emulates: the CLINT the
/// firmware sees, and the shutdown device when a policy acts at shutdown.
/// The firmware always reaches them; the OS only where the firmware's PMP
/// lets it (the access would otherwise have faulted natively).
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::emulate_device_access() noexcept {
    const bool from_os = m_h.world == world::os;
    data_access op;
    if (!decode_guest_access(from_os, op)) return false;
    if (!from_os && op.access() == access_kind::store &&
        m_hw.template read<csr::mcause>() == riscv::cause_value(riscv::exception::load_access_fault)) {
        // An AMO or SC the PMP denied: QEMU 7.2 reports a load access fault;
        // the spec's cause is store/AMO access fault (priv. spec 3.7.1).
        const u64 tval = m_hw.template read<csr::mtval>();
        if (!emulate_device_op(op, from_os))
            deliver_exception(riscv::cause_value(riscv::exception::store_access_fault), tval);
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
inline bool engine<Arch, Platform, Hooks, MaxHarts>::finish_device_access(const data_access& op, u64 physical, bool virtualized, u64 address) noexcept {
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

/// One access to an emulated device. The CLINT's registers are 32 bits
/// wide: msip takes naturally aligned 4-byte accesses, mtimecmp and mtime
/// 4- and 8-byte accesses at any alignment (made of the 32-bit words they
/// touch); anything that writes naturally aligned; AMOs as a read and a
/// write, LR/SC with a reservation on the value (QEMU 7.2 accepts all of
/// these; 1- and 2-byte accesses, 8-byte ones to msip and misaligned
/// writes raise access faults). False for an access fault.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::device_access(const data_access& op, u64 physical, u64& value) noexcept {
    const memory_layout& layout = board().layout();
    if (Hooks::intercepts_shutdown && layout.shutdown_device.contains(physical, op.width)) {
        if (op.op == data_access::kind::load_reserved || op.op == data_access::kind::store_conditional ||
            op.op == data_access::kind::amo)
            return false;
        return shutdown_device_access(op, physical, value);
    }
    if (op.width != 4 && op.width != 8) return false;
    const bool mswi = layout.mswi.contains(physical, op.width);
    const bool mtimer = layout.mtimer.contains(physical, op.width);
    if (!mswi && !mtimer) return false;
    if (mswi && op.width != 4) return false;
    // Loads may be misaligned (made of the words they touch); anything that
    // writes must be naturally aligned (QEMU 7.2's CLINT, checked natively).
    if (op.op != data_access::kind::load && (physical & (op.width - 1)) != 0) return false;
    u64 old = 0;
    if (op.op != data_access::kind::store) old = clint_read(physical, op.width, mswi);
    switch (op.op) {
        case data_access::kind::load: value = old; return true;
        case data_access::kind::store: clint_write(physical, op.width, operand_of(op), mswi); return true;
        case data_access::kind::amo:
            clint_write(physical, op.width, amo_result(op.amo, old, operand_of(op), op.width), mswi);
            value = old;
            return true;
        case data_access::kind::load_reserved:
            m_h.reservation_address = physical;
            m_h.reservation_value = old;
            m_h.reservation_width = op.width;
            value = old;
            return true;
        case data_access::kind::store_conditional: {
            const bool holds = m_h.reservation_width == op.width && m_h.reservation_address == physical &&
                               m_h.reservation_value == old;
            m_h.reservation_width = 0;
            if (holds) clint_write(physical, op.width, operand_of(op), mswi);
            value = holds ? 0 : 1;
            return true;
        }
    }
    return false;
}

/// `width` bytes of the CLINT at `address`, from the 32-bit registers they touch.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] inline u64 engine<Arch, Platform, Hooks, MaxHarts>::clint_read(u64 address, unsigned width, bool mswi) noexcept {
    const u64 first = address & ~u64{3};
    u64 words = 0;  // up to three 32-bit words: 96 bits, of which `width` bytes are wanted
    u64 high = 0;
    const unsigned count = static_cast<unsigned>(((address + width - 1) & ~u64{3}) - first) / 4 + 1;
    for (unsigned w = 0; w < count; ++w) {
        const u64 word = clint_read32(first + 4 * w, mswi);
        if (w < 2) words |= word << (32 * w);
        else high = word;
    }
    const unsigned shift = static_cast<unsigned>(address - first) * 8;
    u64 value = shift == 0 ? words : (words >> shift) | (high << (64 - shift));
    return width == 8 ? value : value & 0xffff'ffffu;
}

/// Writes `width` bytes of `value` at `address` of the CLINT: each 32-bit
/// register touched is read, merged and written.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::clint_write(u64 address, unsigned width, u64 value, bool mswi) noexcept {
    const u64 first = address & ~u64{3};
    const u64 last = (address + width - 1) & ~u64{3};
    for (u64 word_address = first; word_address <= last; word_address += 4) {
        u32 word = 0;
        bool partial = false;
        for (unsigned b = 0; b < 4; ++b) {
            const u64 byte_address = word_address + b;
            if (byte_address < address || byte_address >= address + width) {
                partial = true;
                continue;
            }
            word |= static_cast<u32>((value >> (8 * (byte_address - address))) & 0xff) << (8 * b);
        }
        if (partial) {
            const u32 old = clint_read32(word_address, mswi);
            for (unsigned b = 0; b < 4; ++b) {
                const u64 byte_address = word_address + b;
                if (byte_address < address || byte_address >= address + width) word |= old & (u32{0xff} << (8 * b));
            }
        }
        clint_write32(word_address, word, mswi);
    }
}

/// The shutdown device: the policies act first, then the access reaches the device.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline bool engine<Arch, Platform, Hooks, MaxHarts>::shutdown_device_access(const data_access& op, u64 address, u64& value) noexcept {
    if (op.is_float) return false;
    if (op.op == data_access::kind::store) m_hooks.on_shutdown(*this);
    const access_result r = op.op == data_access::kind::store
                                ? m_hw.store(access_mode{riscv::privilege::machine, false, false}, address, op.width,
                                             reg(op.data_reg))
                                : m_hw.load(access_mode{riscv::privilege::machine, false, false}, address, op.width);
    value = r.value;
    return r.ok;
}

/// Reads one 32-bit register of the virtual CLINT.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
[[nodiscard]] inline u32 engine<Arch, Platform, Hooks, MaxHarts>::clint_read32(u64 address, bool mswi) noexcept {
    const memory_layout& layout = board().layout();
    u64 index = 0;
    if (mswi) {
        const u64 offset = address - layout.mswi.base;
        if (!board().hart_index(offset / 4, index)) return 0;
        return detail::atomic_load(&shared().msip[index]);
    }
    const u64 offset = address - layout.mtimer.base;
    if (offset >= layout.mtime_offset && offset < layout.mtime_offset + 8)
        return static_cast<u32>(board().read_time() >> (8 * (offset - layout.mtime_offset)));
    if (!board().hart_index(offset / 8, index)) return 0;
    return static_cast<u32>(shared().mtimecmp[index] >> (8 * (offset % 8)));
}

/// Writes one 32-bit register of the virtual CLINT.
template <arch Arch, platform Platform, class Hooks, u32 MaxHarts>
inline void engine<Arch, Platform, Hooks, MaxHarts>::clint_write32(u64 address, u32 value, bool mswi) noexcept {
    const memory_layout& layout = board().layout();
    u64 index = 0;
    if (mswi) {
        const u64 offset = address - layout.mswi.base;
        if (!board().hart_index(offset / 4, index)) return;
        detail::atomic_store(&shared().msip[index], value & 1);  // msip: only bit 0 is writable
        if (index == m_h.index)
            m_interrupts_changed = true;
        else
            board().send_ipi(static_cast<u32>(index));
        return;
    }
    const u64 offset = address - layout.mtimer.base;
    if (offset >= layout.mtime_offset && offset < layout.mtime_offset + 8) {
        const unsigned shift = static_cast<unsigned>(8 * (offset - layout.mtime_offset));
        const u64 now = board().read_time();
        board().write_time((now & ~(u64{0xffffffff} << shift)) | (u64{value} << shift));
        for (u32 h = 0; h < board().hart_count(); ++h)
            if (h != m_h.index) request(h, request::timer);
        m_h.physical_timer = 0;
        m_interrupts_changed = true;
        return;
    }
    if (!board().hart_index(offset / 8, index)) return;
    const unsigned shift = static_cast<unsigned>(8 * (offset % 8));
    u64& compare = shared().mtimecmp[index];
    compare = (compare & ~(u64{0xffffffff} << shift)) | (u64{value} << shift);
    if (index == m_h.index)
        m_interrupts_changed = true;
    else
        request(static_cast<u32>(index), request::timer);
}

}  // namespace vfm::virt
