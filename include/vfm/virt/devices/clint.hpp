// SPDX-License-Identifier: MIT
/// The CLINT the firmware sees (the board's memory_layout::mswi and mtimer):
/// msip and mtimecmp of every hart are virtual (shared_state), mtime is the
/// board's. Changes reach the hart they concern: its own interrupts are
/// re-evaluated after the access, another hart's monitor gets a doorbell.
#pragma once

#include <vfm/detail/atomic.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/platform.hpp>
#include <vfm/virt/shared_state.hpp>

namespace vfm::virt {

/// The CLINT's registers are 32 bits wide: msip takes naturally aligned
/// 4-byte accesses, mtimecmp and mtime 4- and 8-byte accesses at any
/// alignment (made of the 32-bit words they touch); anything that writes
/// naturally aligned; AMOs as a read and a write, LR/SC with a reservation on
/// the value (QEMU 7.2 accepts all of these; 1- and 2-byte accesses, 8-byte
/// ones to msip and misaligned writes raise access faults).
struct clint {
    static constexpr bool atomics = true;
    static constexpr bool floats = true;

    template <class Engine>
    [[nodiscard, gnu::always_inline]] static bool contains(Engine& engine, u64 address, unsigned width) noexcept {
        const memory_layout& layout = engine.board().layout();
        return layout.mswi.contains(address, width) || layout.mtimer.contains(address, width);
    }

    template <class Engine>
    [[nodiscard, gnu::always_inline]] static bool read(Engine& engine, u64 address, unsigned width,
                                                       u64& value) noexcept {
        const bool mswi = is_mswi(engine, address, width);
        if (!accepts(width, mswi)) return false;
        value = clint_read(engine, address, width, mswi);
        return true;
    }

    template <class Engine>
    [[nodiscard, gnu::always_inline]] static bool write(Engine& engine, u64 address, unsigned width,
                                                        u64 value) noexcept {
        // Loads may be misaligned (made of the words they touch); anything that
        // writes must be naturally aligned (QEMU 7.2's CLINT, checked natively).
        const bool mswi = is_mswi(engine, address, width);
        if (!accepts(width, mswi) || (address & (width - 1)) != 0) return false;
        clint_write(engine, address, width, value, mswi);
        return true;
    }

private:
    template <class Engine>
    [[nodiscard, gnu::always_inline]] static bool is_mswi(Engine& engine, u64 address, unsigned width) noexcept {
        return engine.board().layout().mswi.contains(address, width);
    }

    /// 4- and 8-byte accesses; msip: 4 bytes only.
    [[nodiscard]] static constexpr bool accepts(unsigned width, bool mswi) noexcept {
        return width == 4 || (width == 8 && !mswi);
    }

    /// `width` bytes of the CLINT at `address`, from the 32-bit registers they touch.
    template <class Engine>
    [[nodiscard]] static u64 clint_read(Engine& engine, u64 address, unsigned width, bool mswi) noexcept {
        const u64 first = address & ~u64{3};
        u64 words = 0;  // up to three 32-bit words: 96 bits, of which `width` bytes are wanted
        u64 high = 0;
        const unsigned count = static_cast<unsigned>(((address + width - 1) & ~u64{3}) - first) / 4 + 1;
        for (unsigned w = 0; w < count; ++w) {
            const u64 word = clint_read32(engine, first + 4 * w, mswi);
            if (w < 2)
                words |= word << (32 * w);
            else
                high = word;
        }
        const unsigned shift = static_cast<unsigned>(address - first) * 8;
        u64 value = shift == 0 ? words : (words >> shift) | (high << (64 - shift));
        return width == 8 ? value : value & 0xffff'ffffu;
    }

    /// Writes `width` bytes of `value` at `address` of the CLINT: each 32-bit
    /// register touched is read, merged and written.
    template <class Engine>
    static void clint_write(Engine& engine, u64 address, unsigned width, u64 value, bool mswi) noexcept {
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
                const u32 old = clint_read32(engine, word_address, mswi);
                for (unsigned b = 0; b < 4; ++b) {
                    const u64 byte_address = word_address + b;
                    if (byte_address < address || byte_address >= address + width) word |= old & (u32{0xff} << (8 * b));
                }
            }
            clint_write32(engine, word_address, word, mswi);
        }
    }

    /// Reads one 32-bit register of the virtual CLINT.
    template <class Engine>
    [[nodiscard]] static u32 clint_read32(Engine& engine, u64 address, bool mswi) noexcept {
        auto& board = engine.board();
        const memory_layout& layout = board.layout();
        u64 index = 0;
        if (mswi) {
            const u64 offset = address - layout.mswi.base;
            if (!board.hart_index(offset / 4, index)) return 0;
            return detail::atomic_load(&engine.shared().msip[index]);
        }
        const u64 offset = address - layout.mtimer.base;
        if (offset >= layout.mtime_offset && offset < layout.mtime_offset + 8)
            return static_cast<u32>(board.read_time() >> (8 * (offset - layout.mtime_offset)));
        if (!board.hart_index(offset / 8, index)) return 0;
        return static_cast<u32>(engine.shared().mtimecmp[index] >> (8 * (offset % 8)));
    }

    /// Writes one 32-bit register of the virtual CLINT.
    template <class Engine>
    static void clint_write32(Engine& engine, u64 address, u32 value, bool mswi) noexcept {
        auto& board = engine.board();
        const memory_layout& layout = board.layout();
        const u32 current = engine.current().index;
        u64 index = 0;
        if (mswi) {
            const u64 offset = address - layout.mswi.base;
            if (!board.hart_index(offset / 4, index)) return;
            detail::atomic_store(&engine.shared().msip[index], value & 1);  // msip: only bit 0 is writable
            if (index == current)
                engine.interrupts_changed();
            else
                board.send_ipi(static_cast<u32>(index));
            return;
        }
        const u64 offset = address - layout.mtimer.base;
        if (offset >= layout.mtime_offset && offset < layout.mtime_offset + 8) {
            const unsigned shift = static_cast<unsigned>(8 * (offset - layout.mtime_offset));
            const u64 now = board.read_time();
            board.write_time((now & ~(u64{0xffffffff} << shift)) | (u64{value} << shift));
            for (u32 h = 0; h < board.hart_count(); ++h)
                if (h != current) engine.request(h, request::timer);
            engine.current().physical_timer = 0;
            engine.interrupts_changed();
            return;
        }
        if (!board.hart_index(offset / 8, index)) return;
        const unsigned shift = static_cast<unsigned>(8 * (offset % 8));
        u64& compare = engine.shared().mtimecmp[index];
        compare = (compare & ~(u64{0xffffffff} << shift)) | (u64{value} << shift);
        if (index == current)
            engine.interrupts_changed();
        else
            engine.request(static_cast<u32>(index), request::timer);
    }
};

}  // namespace vfm::virt
