// SPDX-License-Identifier: MIT
/// The sandbox's measurement of the OS: the image its RISC-V Linux image
/// header declares at the entry, hashed with SHA-256 after the entry address
/// and checked against the expected value when one is configured.
///
/// Part of the sandbox policy (policy/sandbox.hpp, which includes it at its
/// end): definitions of `sandbox` members declared there.
#pragma once

#include <vfm/policy/sandbox.hpp>

#include <vfm/detail/sha256.hpp>
#include <vfm/platform.hpp>
#include <vfm/riscv/privilege.hpp>
#include <vfm/virt/guest_access.hpp>
#include <vfm/virt/page_walk.hpp>
#include <vfm/virt/physical_guard.hpp>

namespace vfm::policy {

/// The start of a RISC-V Linux kernel image (Documentation/arch/riscv/boot-image-header.rst).
namespace linux_image {
inline constexpr u64 image_size_offset = 16;
inline constexpr u64 magic2_offset = 56;
inline constexpr u32 magic2 = 0x05435352;  ///< "RSC\x05"
}  // namespace linux_image

template <u32 MaxHarts, class Settings>
template <class E>
[[nodiscard]] inline auto sandbox<MaxHarts, Settings>::find_image(E& engine, u64 pc) noexcept -> image {
    image out;
    out.entry = pc;
    out.base = pc;
    // The entry as the OS will fetch it (Linux is entered with satp Bare;
    // anything else is translated the way the OS will see it).
    const virt::translation_regime regime = engine.os_regime();
    u8 header[64] = {};
    virt::guest_fault fault;
    const bool read = engine.with_os_memory([&](auto& memory) {
        virt::physical_class klass = virt::physical_class::refused;
        const virt::guest_translation t =
            memory.translate(regime, pc, 1, virt::access_kind::fetch, virt::reach::ram, klass);
        if (!t.ok) return false;
        out.entry = t.physical;
        out.base = t.physical;
        virt::translation_regime physical = regime;
        physical.privilege = riscv::privilege::machine;
        return memory.copy_from_guest(physical, t.physical, header, sizeof header, fault);
    });
    if (!read || load32(header + linux_image::magic2_offset) != linux_image::magic2) return out;
    const u64 size = load64(header + linux_image::image_size_offset);
    const memory_layout& layout = engine.board().layout();
    if (size == 0 || !layout.ram.contains(out.base, size) || layout.monitor.overlaps(out.base, size) ||
        layout.shared_buffer.overlaps(out.base, size))
        return out;
    out.size = size;
    return out;
}

/// SHA-256 of the entry (8 bytes, little-endian) and the image; the image
/// is RAM outside the monitor (find_image checked), read in place.
template <u32 MaxHarts, class Settings>
template <class E>
inline void sandbox<MaxHarts, Settings>::measure(E& engine, const image& os) noexcept {
    detail::sha256 hash;
    u8 entry_bytes[8];
    for (unsigned i = 0; i < 8; ++i) entry_bytes[i] = static_cast<u8>(os.entry >> (8 * i));
    hash.update(entry_bytes, 8);
    if (os.size != 0) {
        const u8* bytes = engine.hw().physical(os.base, os.size);
        if (bytes != nullptr) hash.update(bytes, os.size);
    }
    hash.finish(m_measurement);
    char text[65];
    detail::to_hex(m_measurement, text);
    if constexpr (Settings::expected_measurement != nullptr) {
        u8 expected[32];
        if (os.size == 0) {
            engine.print("vfm: sandbox: the OS image at {:#x} has no RISC-V image header to measure: not starting it\n",
                         os.entry);
            engine.board().exit(sandbox_exit_code);
            for (;;) {}
        }
        if (!detail::from_hex(Settings::expected_measurement, expected) || !equal(expected, m_measurement)) {
            engine.print(
                "vfm: sandbox: the OS image (entry {:#x}, {} bytes) measures {}, not the expected {}: not starting "
                "it\n",
                os.entry, os.size, static_cast<const char*>(text), Settings::expected_measurement);
            engine.board().exit(sandbox_exit_code);
            for (;;) {}
        }
    }
    if constexpr (Settings::verbose)
        engine.print("vfm: sandbox: OS image at {:#x}, {} bytes, SHA-256 {}\n", os.entry, os.size,
                     static_cast<const char*>(text));
}

template <u32 MaxHarts, class Settings>
[[nodiscard]] constexpr u32 sandbox<MaxHarts, Settings>::load32(const u8* p) noexcept {
    return u32{p[0]} | u32{p[1]} << 8 | u32{p[2]} << 16 | u32{p[3]} << 24;
}

template <u32 MaxHarts, class Settings>
[[nodiscard]] constexpr u64 sandbox<MaxHarts, Settings>::load64(const u8* p) noexcept {
    return u64{load32(p)} | u64{load32(p + 4)} << 32;
}

template <u32 MaxHarts, class Settings>
[[nodiscard]] constexpr bool sandbox<MaxHarts, Settings>::equal(const u8 (&a)[32], const u8 (&b)[32]) noexcept {
    for (unsigned i = 0; i < 32; ++i)
        if (a[i] != b[i]) return false;
    return true;
}

}  // namespace vfm::policy
