// SPDX-License-Identifier: MIT
// attack-dma: every DMA-capable device of the device tree (docs/attacks.md).
// PMP does not govern bus masters: a firmware that can program a device
// that reads and writes memory on its own can make it write anywhere, the
// monitor included. The firmware walks the device tree QEMU (or a monitor)
// hands it and finds
//
//   - fw_cfg (compatible "qemu,fw-cfg-mmio"): its registers;
//   - every virtio-mmio transport (compatible "virtio,mmio");
//   - the PCIe host bridge (compatible "pci-host-ecam-generic"): its ECAM
//     (reg) and every window of its `ranges` (I/O, 32-bit and 64-bit MMIO);
//   - anything else with `dma-coherent`, `iommu-map` or `dma-ranges`: its reg;
//
// and makes the first access to each: a load that shows the device answers
// (virtio's MagicValue "virt" at offset 0, the host bridge's vendor id
// 0x1b36 at the ECAM base, fw_cfg's signature "QEMU" through its data
// register after selecting key 0; a window's first and last word), then a
// harmless store (virtio's Status = 0, a reset; the bridge's own command
// register written with itself; the window's words). Then it programs
// fw_cfg's DMA interface (QEMU docs/specs/fw_cfg.txt: an FWCfgDmaAccess of
// big-endian fields, control = select | read with key 0, written as a
// big-endian 64-bit address to the DMA register at +16) to copy the
// signature into a buffer of its own RAM: the proof that the device writes
// memory for the firmware.
//
// Natively every access answers and the DMA writes the buffer (real). Under
// a monitor each first access must raise the load/store access fault at the
// firmware's mtvec with mtval = the address, the buffer must stay as it was,
// and the firmware keeps running (contained).
#include <vfm/fdt/tree.hpp>
#include <vfm/riscv/pmp.hpp>

#include "common.hpp"

using namespace testfw;
using riscv::exception;

const char* const testfw::firmware_name = "attack-dma";
const char* const testfw::firmware_purpose = "every DMA-capable device of the device tree, and fw_cfg's DMA";

namespace {

namespace fdt = vfm::fdt;

constexpr u32 virtio_magic = 0x7472'6976;  // "virt", little-endian (virtio 1.2, 4.2.2)
constexpr u32 redhat_vendor = 0x1b36;       // QEMU's PCIe host bridge (gpex)
constexpr u32 fw_cfg_signature = 0x554d'4551;  // "QEMU" read byte by byte from the data register
constexpr u64 fw_cfg_selector = 8;          // 16-bit, big-endian
constexpr u64 fw_cfg_dma = 16;              // 64-bit, big-endian
constexpr u32 fw_cfg_dma_select = 0x08, fw_cfg_dma_read = 0x02, fw_cfg_dma_error = 0x01;

// Byte swaps by hand (no libgcc in a firmware).
[[nodiscard]] u32 bswap32(u32 v) {
    return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff'0000) | (v << 24);
}
[[nodiscard]] u64 bswap64(u64 v) {
    return (u64{bswap32(static_cast<u32>(v))} << 32) | bswap32(static_cast<u32>(v >> 32));
}

/// An access to a device judged: contained when it raised its access fault
/// at the firmware's mtvec (M-mode, mepc at the instruction, mtval = the
/// address); real when it went through and, for a load, `answers(value)`.
atk::verdict device_attempt(const char* what, u64 address, unsigned width, bool store, u64 value,
                            bool (*answers)(u64)) {
    atk::verdict v;
    const probe p = store ? store_probe(address, value, width) : load_probe(address, width);
    if (p.trapped) {
        const exception fault = store ? exception::store_access_fault : exception::load_access_fault;
        const bool ok = p.count == 1 && p.level == 3 && p.cause == static_cast<u64>(fault) && p.epc == p.site &&
                        p.tval == address;
        v.what = ok ? atk::outcome::contained : atk::outcome::wrong;
        format(v.detail, sizeof v.detail, "%s %h: %s, mtval %h", what, address, cause_name(p.cause), p.tval);
        return v;
    }
    const bool ok = store || answers == nullptr || answers(p.value);
    v.what = ok ? atk::outcome::real : atk::outcome::wrong;
    if (store)
        format(v.detail, sizeof v.detail, "%s %h: no trap", what, address);
    else
        format(v.detail, sizeof v.detail, "%s %h: no trap, read %h", what, address, p.value);
    return v;
}

bool is_virtio_magic(u64 v) { return static_cast<u32>(v) == virtio_magic; }
bool is_redhat_bridge(u64 v) { return (v & 0xffff) == redhat_vendor; }

/// fw_cfg: select key 0 (the signature) and read 4 data bytes; each access judged.
void fw_cfg_registers(u64 base, atk::group& g) {
    g.add(device_attempt("fw_cfg selector store", base + fw_cfg_selector, 2, true, 0, nullptr));
    u32 signature = 0;
    bool all = true;
    for (unsigned i = 0; i < 4; ++i) {
        const probe p = load_probe(base, 1);
        if (p.trapped) {
            all = false;
            g.add(device_attempt("fw_cfg data load", base, 1, false, 0, nullptr));
            break;
        }
        signature |= static_cast<u32>(p.value & 0xff) << (8 * i);
    }
    if (all) {
        atk::verdict v;
        v.what = signature == fw_cfg_signature ? atk::outcome::real : atk::outcome::wrong;
        format(v.detail, sizeof v.detail, "fw_cfg data %h: signature %h", base, signature);
        g.add(v);
    }
}

/// The FWCfgDmaAccess and the buffer the device writes.
struct alignas(16) dma_access {
    u32 control;
    u32 length;
    u64 address;
};
dma_access g_access;
alignas(16) volatile u8 g_buffer[16];

/// Programs fw_cfg's DMA to copy the signature into g_buffer.
atk::verdict fw_cfg_dma_attempt(u64 base) {
    for (auto& b : g_buffer) b = 0xa5;
    g_access.control = bswap32((0u << 16) | fw_cfg_dma_select | fw_cfg_dma_read);
    g_access.length = bswap32(4);
    g_access.address = bswap64(reinterpret_cast<u64>(&g_buffer[0]));
    fence();
    const u64 reg = base + fw_cfg_dma;
    const probe p = store_probe(reg, bswap64(reinterpret_cast<u64>(&g_access)), 8);
    fence();
    const u32 control = bswap32(*reinterpret_cast<volatile u32*>(&g_access.control));
    u32 arrived = 0;
    bool untouched = true;
    for (unsigned i = 0; i < 16; ++i) {
        if (i < 4) arrived |= u32{g_buffer[i]} << (8 * i);
        if (g_buffer[i] != 0xa5) untouched = false;
    }
    atk::verdict v;
    if (p.trapped) {
        const bool ok = p.count == 1 && p.level == 3 && p.tval == reg && p.epc == p.site &&
                        p.cause == static_cast<u64>(exception::store_access_fault) && untouched &&
                        control == (fw_cfg_dma_select | fw_cfg_dma_read);
        v.what = ok ? atk::outcome::contained : atk::outcome::wrong;
        format(v.detail, sizeof v.detail, "DMA register %h: %s, mtval %h; buffer untouched %b, control %h", reg,
               cause_name(p.cause), p.tval, untouched, control);
        return v;
    }
    const bool wrote = arrived == fw_cfg_signature && (control & ~fw_cfg_dma_error) == 0 && (control & 1) == 0;
    v.what = wrote ? atk::outcome::real : atk::outcome::wrong;
    format(v.detail, sizeof v.detail, "DMA register %h: no trap; the device wrote %h at %h, control %h", reg,
           arrived, reinterpret_cast<u64>(&g_buffer[0]), control);
    return v;
}

/// A PCI `ranges` entry's space (PCI bus binding: phys.hi bits 24-25).
const char* space_name(u32 hi) {
    switch ((hi >> 24) & 3) {
        case 1: return "I/O";
        case 2: return "32-bit MMIO";
        case 3: return "64-bit MMIO";
        default: return "configuration";
    }
}

u32 cell(const fdt::property& p, u32 i) { return p.cell(i).value_or(0); }

unsigned g_devices;

void probe_node(const fdt::tree& t, fdt::node n) {
    const char* name = t.name(n);
    const fdt::property compatible = t.find_property(n, "compatible");
    const bool fw_cfg = compatible.contains("qemu,fw-cfg-mmio");
    const bool virtio = compatible.contains("virtio,mmio");
    const bool pci = compatible.contains("pci-host-ecam-generic");
    const bool dma = t.find_property(n, "dma-coherent") || t.find_property(n, "iommu-map") ||
                     t.find_property(n, "dma-ranges");
    if (!fw_cfg && !virtio && !pci && !dma) return;
    if (!t.is_enabled(n)) return;
    ++g_devices;
    char line[112];
    format(line, sizeof line, "%s (%s): first accesses", name, compatible ? compatible.as_string() : "-");
    atk::group g(line);
    const u32 regs = t.reg_count(n).value_or(0);
    for (u32 i = 0; i < regs; ++i) {
        const auto reg = t.reg(n, i);
        if (!reg) continue;
        const auto cpu = t.translate_address(n, reg.value().base);
        if (!cpu) continue;
        const u64 base = cpu.value();
        if (fw_cfg) {
            fw_cfg_registers(base, g);
        } else if (virtio) {
            g.add(device_attempt("MagicValue load", base, 4, false, 0, is_virtio_magic));
            g.add(device_attempt("Status store", base + 0x70, 4, true, 0, nullptr));
        } else if (pci) {
            g.add(device_attempt("ECAM vendor id load", base, 4, false, 0, is_redhat_bridge));
            // The bridge's command register, written with what it holds (0 if unreadable).
            const probe command = load_probe(base + 4, 2);
            g.add(device_attempt("ECAM command store", base + 4, 2, true, command.trapped ? 0 : command.value,
                                 nullptr));
        } else {
            g.add(device_attempt("first word load", base, 4, false, 0, nullptr));
        }
    }
    (void)g.finish();

    if (pci) {
        // Every window of `ranges`: child address (3 cells), parent address
        // (the parent's #address-cells), size (#size-cells of the bridge).
        const fdt::property ranges = t.find_property(n, "ranges");
        const u32 parent_cells = t.address_cells(t.parent(n)).value_or(2);
        const u32 size_cells = t.size_cells(n).value_or(2);
        const u32 entry = 3 + parent_cells + size_cells;
        for (u32 i = 0; ranges && entry != 0 && (i + 1) * entry <= ranges.cell_count(); ++i) {
            const u32 at = i * entry;
            const u32 hi = cell(ranges, at);
            u64 parent = 0;
            for (u32 c = 0; c < parent_cells; ++c) parent = (parent << 32) | cell(ranges, at + 3 + c);
            u64 size = 0;
            for (u32 c = 0; c < size_cells; ++c) size = (size << 32) | cell(ranges, at + 3 + parent_cells + c);
            if (size < 8) continue;
            format(line, sizeof line, "%s: %s window", name, space_name(hi));
            atk::group w(line);
            w.add(device_attempt("first word load", parent, 4, false, 0, nullptr));
            w.add(device_attempt("first word store", parent, 4, true, 0, nullptr));
            w.add(device_attempt("last word load", parent + size - 4, 4, false, 0, nullptr));
            w.add(device_attempt("last word store", parent + size - 4, 4, true, 0, nullptr));
            (void)w.finish();
        }
    }

    if (fw_cfg && regs != 0) {
        const auto reg = t.reg(n, 0);
        const fdt::result<u64> cpu = reg ? t.translate_address(n, reg.value().base) : fdt::result<u64>(reg.error());
        format(line, sizeof line, "%s: DMA of the signature into the firmware's RAM", name);
        atk::group d(line);
        if (cpu) d.add(fw_cfg_dma_attempt(cpu.value()));
        (void)d.finish();
    }
}

/// The locked-PMP tier (docs/attacks.md): natively, with the suite's lock
/// request in memory, every device region (each reg and PCIe window) gets a
/// locked PMP entry without permissions, which binds M-mode: a machine that
/// contains this attack, against which its judgement is checked.
unsigned g_locked;
void lock_region(u64 base, u64 size) {
    u64 cover = 8;
    while (cover < size || (base & (cover - 1)) + size > cover) cover <<= 1;
    if (g_locked >= pmp::entries) return;
    pmp::set(g_locked++, pmp::make_cfg(pmp::napot, false, false, false, true),
             vfm::riscv::pmp::napot_encode(base & ~(cover - 1), cover));
}

void lock_devices(const fdt::tree& t) {
    for (fdt::node n = t.next_node(t.root()); n; n = t.next_node(n)) {
        const fdt::property compatible = t.find_property(n, "compatible");
        const bool pci = compatible.contains("pci-host-ecam-generic");
        const bool dma = compatible.contains("qemu,fw-cfg-mmio") || compatible.contains("virtio,mmio") || pci ||
                         t.find_property(n, "dma-coherent") || t.find_property(n, "iommu-map") ||
                         t.find_property(n, "dma-ranges");
        if (!dma || !t.is_enabled(n)) continue;
        for (u32 i = 0; i < t.reg_count(n).value_or(0); ++i) {
            const auto reg = t.reg(n, i);
            const fdt::result<u64> cpu = reg ? t.translate_address(n, reg.value().base) : fdt::result<u64>(reg.error());
            if (cpu) lock_region(cpu.value(), reg.value().size);
        }
        const fdt::property ranges = t.find_property(n, "ranges");
        if (!pci || !ranges) continue;
        const u32 parent_cells = t.address_cells(t.parent(n)).value_or(2);
        const u32 size_cells = t.size_cells(n).value_or(2);
        const u32 entry = 3 + parent_cells + size_cells;
        for (u32 i = 0; (i + 1) * entry <= ranges.cell_count(); ++i) {
            u64 parent = 0, size = 0;
            for (u32 c = 0; c < parent_cells; ++c) parent = (parent << 32) | cell(ranges, i * entry + 3 + c);
            for (u32 c = 0; c < size_cells; ++c) size = (size << 32) | cell(ranges, i * entry + 3 + parent_cells + c);
            if (size != 0) lock_region(parent, size);
        }
    }
    impl_defined("no monitor: every device region locked away by PMP (%u entries), the suite's self-check", g_locked);
}

}  // namespace

void testfw::firmware_main() {
    const fdt::tree t(reinterpret_cast<const void*>(boot_fdt()), 0x10'0000);
    if (!check(t.ok(), "the device tree at %h is valid", boot_fdt())) return;
    const bool monitor = t.find_path("/reserved-memory").valid();
    if (!monitor && mmio::read<u64>(testfw::attack::lock_request_address) == testfw::attack::lock_request)
        lock_devices(t);
    for (fdt::node n = t.next_node(t.root()); n; n = t.next_node(n)) probe_node(t, n);
    check(g_devices >= 3, "DMA-capable devices found in the device tree: %u", g_devices);

    section("afterwards");
    u64 sum = 0;
    for (u64 i = 0; i < 1000; ++i) sum += i;
    check(sum == 499500, "the firmware still runs: %u", sum);
}
