// SPDX-License-Identifier: MIT
/// What a monitor needs to learn from the devicetree at boot: harts and their
/// ISA, the timebase, RAM, the M-mode devices (CLINT/ACLINT, PLIC, UART,
/// test finisher) and /chosen (Devicetree Specification v0.4, chapter 3, and
/// the Linux RISC-V cpu bindings for `riscv,isa` and `riscv,isa-extensions`).
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/fdt/error.hpp>
#include <vfm/fdt/format.hpp>
#include <vfm/fdt/tree.hpp>

namespace vfm::fdt {

// ---- harts (DT spec 3.7, 3.8) ----

/// The /cpus node.
[[nodiscard]] constexpr node cpus_node(const tree& t) noexcept { return t.find_child(t.root(), "cpus").value(); }

/// True when `n` has `device_type = "cpu"` (DT spec 3.8.1).
[[nodiscard]] constexpr bool is_cpu(const tree& t, node n) noexcept {
    return t.find_property(n, "device_type").string_equals("cpu");
}

/// The first cpu node under /cpus (in document order), whatever its status.
[[nodiscard]] constexpr node first_hart(const tree& t) noexcept {
    const node cpus = cpus_node(t);
    if (!cpus) return {};
    for (node n = t.first_child(cpus); n; n = t.next_sibling(n)) {
        if (is_cpu(t, n)) return n;
    }
    return {};
}

/// The cpu node under /cpus after `cpu`.
[[nodiscard]] constexpr node next_hart(const tree& t, node cpu) noexcept {
    for (node n = t.next_sibling(cpu); n; n = t.next_sibling(n)) {
        if (is_cpu(t, n)) return n;
    }
    return {};
}

/// The hart id of a cpu node: the first address of its `reg` (DT spec 3.8.1;
/// on RISC-V the value of mhartid).
[[nodiscard]] constexpr result<u64> hart_id(const tree& t, node cpu) noexcept {
    const result<region> reg = t.reg(cpu, 0);
    if (!reg) return reg.error();
    return reg.value().base;
}

/// True when the hart may be used: `status` absent or "okay" (DT spec 2.3.4).
/// A "disabled", "reserved" or "fail" cpu is not used, as Linux does.
[[nodiscard]] constexpr bool hart_enabled(const tree& t, node cpu) noexcept { return t.is_enabled(cpu); }

/// Number of cpu nodes under /cpus; only the usable ones when `enabled_only`.
[[nodiscard]] constexpr u32 hart_count(const tree& t, bool enabled_only = false) noexcept {
    u32 count = 0;
    for (node n = first_hart(t); n; n = next_hart(t, n)) {
        if (!enabled_only || hart_enabled(t, n)) ++count;
    }
    return count;
}

/// The cpu node whose hart id is `id`.
[[nodiscard]] constexpr node find_hart(const tree& t, u64 id) noexcept {
    for (node n = first_hart(t); n; n = next_hart(t, n)) {
        const result<u64> hart = hart_id(t, n);
        if (hart && hart.value() == id) return n;
    }
    return {};
}

/// The cpu's `riscv,isa` string, e.g. "rv64imafdch_zicsr_zifencei_sstc", or nullptr.
[[nodiscard]] inline const char* hart_isa(const tree& t, node cpu) noexcept {
    return t.find_property(cpu, "riscv,isa").as_string();
}

namespace detail {

[[nodiscard]] constexpr char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
[[nodiscard]] constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
[[nodiscard]] constexpr bool is_letter(char c) noexcept { return lower(c) >= 'a' && lower(c) <= 'z'; }

/// True when `s[0 .. n)` is a version suffix: digits, optionally `p` and digits ("2", "2p0").
template <class Char>
[[nodiscard]] constexpr bool is_version(const Char* s, usize n) noexcept {
    usize i = 0;
    while (i < n && is_digit(static_cast<char>(s[i]))) ++i;
    if (i == 0) return n == 0;
    if (i == n) return true;
    if (lower(static_cast<char>(s[i])) != 'p') return false;
    const usize minor = ++i;
    while (i < n && is_digit(static_cast<char>(s[i]))) ++i;
    return i > minor && i == n;
}

/// True when the multi-letter extension `token[0 .. n)` (possibly with a
/// version suffix) is `ext`, ignoring case.
template <class Char>
[[nodiscard]] constexpr bool multi_letter_is(const Char* token, usize n, const char* ext, usize ext_length) noexcept {
    if (n < ext_length) return false;
    for (usize i = 0; i < ext_length; ++i) {
        if (lower(static_cast<char>(token[i])) != lower(ext[i])) return false;
    }
    return is_version(token + ext_length, n - ext_length);
}

/// The extensions that `g` stands for.
[[nodiscard]] constexpr bool implied_by_g(const char* ext, usize n) noexcept {
    if (n == 1) {
        const char c = lower(ext[0]);
        return c == 'i' || c == 'm' || c == 'a' || c == 'f' || c == 'd';
    }
    const auto is = [ext, n](const char* name) {
        const usize m = length(name);
        if (m != n) return false;
        for (usize i = 0; i < n; ++i) {
            if (lower(ext[i]) != name[i]) return false;
        }
        return true;
    };
    return is("zicsr") || is("zifencei");
}

}  // namespace detail

/// True when the ISA string `isa[0 .. length)` names extension `ext`
/// (RISC-V unprivileged spec, "ISA Extension Naming Conventions"):
/// `rv32`/`rv64`/`rv128`, single-letter extensions (each possibly followed by
/// a version such as `2p1`; `g` implying `imafd_zicsr_zifencei`), then
/// multi-letter extensions starting with `z`, `s` or `x`, separated by '_'.
/// Case is ignored. `ext` is one letter ("h") or a multi-letter name ("sstc").
template <class Char>
[[nodiscard]] constexpr bool isa_string_has_extension(const Char* isa, usize length, const char* ext) noexcept {
    const usize ext_length = detail::length(ext);
    if (ext_length == 0 || detail::is_null(isa)) return false;
    const auto at = [isa](usize i) { return static_cast<char>(isa[i]); };
    if (length < 4 || detail::lower(at(0)) != 'r' || detail::lower(at(1)) != 'v') return false;
    usize i = 2;
    while (i < length && detail::is_digit(at(i))) ++i;
    if (i == 2) return false;
    while (i < length) {
        if (at(i) == '_') {
            ++i;
            continue;
        }
        const char c = detail::lower(at(i));
        if (c == 'z' || c == 's' || c == 'x') {
            usize end = i;
            while (end < length && at(end) != '_') ++end;
            if (ext_length > 1 && detail::multi_letter_is(isa + i, end - i, ext, ext_length)) return true;
            i = end;
            continue;
        }
        if (detail::is_letter(c)) {
            if (ext_length == 1 && detail::lower(ext[0]) == c) return true;
            if (c == 'g' && detail::implied_by_g(ext, ext_length)) return true;
        }
        ++i;  // a digit or 'p' of a version is skipped like any other non-extension character
        while (i < length && (detail::is_digit(at(i)) ||
                              (detail::lower(at(i)) == 'p' && i + 1 < length && detail::is_digit(at(i + 1))))) {
            ++i;
        }
    }
    return false;
}

[[nodiscard]] constexpr bool isa_string_has_extension(const char* isa, const char* ext) noexcept {
    return !detail::is_null(isa) && isa_string_has_extension(isa, detail::length(isa), ext);
}

/// True when the hart implements `ext`. The `riscv,isa-extensions` string
/// list is authoritative when present (one extension per string, lowercase);
/// otherwise the `riscv,isa` string is parsed.
[[nodiscard]] constexpr bool has_extension(const tree& t, node cpu, const char* ext) noexcept {
    const property list = t.find_property(cpu, "riscv,isa-extensions");
    if (list) return list.contains(ext);
    const property isa = t.find_property(cpu, "riscv,isa");
    if (!isa || isa.size() == 0 || isa.data()[isa.size() - 1] != 0) return false;
    return isa_string_has_extension(isa.data(), isa.size() - 1, ext);
}

/// `timebase-frequency`, in Hz: the cpu's own when `cpu` is given and has one,
/// else the one in /cpus (DT spec 3.7, 3.8.1). Either `<u32>` or `<u64>`.
[[nodiscard]] constexpr result<u64> timebase_frequency(const tree& t, node cpu = {}) noexcept {
    if (cpu) {
        const property own = t.find_property(cpu, "timebase-frequency");
        if (own) return own.as_uint();
    }
    const node cpus = cpus_node(t);
    if (!cpus) return error::not_found;
    return t.find_property(cpus, "timebase-frequency").as_uint();
}

// ---- memory (DT spec 3.4) ----

/// True when `n` has `device_type = "memory"`.
[[nodiscard]] constexpr bool is_memory(const tree& t, node n) noexcept {
    return t.find_property(n, "device_type").string_equals("memory");
}

/// The first memory node in document order.
[[nodiscard]] constexpr node first_memory(const tree& t) noexcept {
    for (node n = t.root(); n; n = t.next_node(n)) {
        if (is_memory(t, n)) return n;
    }
    return {};
}

/// The memory node after `n` in document order.
[[nodiscard]] constexpr node next_memory(const tree& t, node n) noexcept {
    for (n = t.next_node(n); n; n = t.next_node(n)) {
        if (is_memory(t, n)) return n;
    }
    return {};
}

/// A `reg` entry of `n` with its address translated to a CPU physical address
/// through the ancestors' `ranges` (DT spec 2.3.6, 2.3.8).
[[nodiscard]] constexpr result<region> device_region(const tree& t, node n, u32 index = 0) noexcept {
    const result<region> reg = t.reg(n, index);
    if (!reg) return reg.error();
    const result<u64> base = t.translate_address(n, reg.value().base);
    if (!base) return base.error();
    return region{base.value(), reg.value().size};
}

/// Calls `f(region)` for every `reg` entry of every enabled memory node, in
/// document order, and returns how many there were. Entries that cannot be
/// decoded are skipped.
template <class F>
constexpr u32 for_each_memory_region(const tree& t, F&& f) noexcept {
    u32 count = 0;
    for (node n = first_memory(t); n; n = next_memory(t, n)) {
        if (!t.is_enabled(n)) continue;
        const result<u32> entries = t.reg_count(n);
        for (u32 i = 0; entries && i < entries.value(); ++i) {
            const result<region> r = device_region(t, n, i);
            if (!r) continue;
            f(r.value());
            ++count;
        }
    }
    return count;
}

/// Stores up to `capacity` RAM regions in `out` and returns how many exist
/// (which may be more than `capacity`).
[[nodiscard]] constexpr u32 memory_regions(const tree& t, region* out, u32 capacity) noexcept {
    u32 stored = 0;
    return for_each_memory_region(t, [&](const region& r) {
        if (stored < capacity) out[stored++] = r;
    });
}

// ---- devices (DT spec 2.3.1, 2.3.4) ----

/// The first enabled node in document order whose `compatible` contains one of `compatibles`.
[[nodiscard]] constexpr node find_device(const tree& t, const char* const* compatibles, usize count) noexcept {
    for (node n = t.root(); n; n = t.next_node(n)) {
        const property compatible = t.find_property(n, "compatible");
        if (!compatible) continue;
        for (usize i = 0; i < count; ++i) {
            if (compatible.contains(compatibles[i])) {
                if (t.is_enabled(n)) return n;
                break;
            }
        }
    }
    return {};
}

/// The first enabled node compatible with `compatible`.
[[nodiscard]] constexpr node find_device(const tree& t, const char* compatible) noexcept {
    return find_device(t, &compatible, 1);
}

/// Register region `index` of the first enabled device compatible with `compatible`.
[[nodiscard]] constexpr result<region> device_region(const tree& t, const char* compatible, u32 index = 0) noexcept {
    const node n = find_device(t, compatible);
    if (!n) return error::not_found;
    return device_region(t, n, index);
}

/// Register region `index` of the first enabled device compatible with any of `compatibles`.
template <usize N>
[[nodiscard]] constexpr result<region> device_region(const tree& t, const char* const (&compatibles)[N],
                                                     u32 index = 0) noexcept {
    const node n = find_device(t, compatibles, N);
    if (!n) return error::not_found;
    return device_region(t, n, index);
}

/// The node whose `phandle` (or the older `linux,phandle`) is `handle` (DT
/// spec 2.3.3), or none.
[[nodiscard]] constexpr node find_phandle(const tree& t, u32 handle) noexcept {
    if (handle == 0 || handle == 0xffff'ffffu) return {};
    for (node n = t.root(); n; n = t.next_node(n)) {
        property p = t.find_property(n, "phandle");
        if (!p) p = t.find_property(n, "linux,phandle");
        const result<u32> value = p.cell(0);
        if (value && value.value() == handle) return n;
    }
    return {};
}

/// The SiFive CLINT (msip, mtimecmp, mtime), "riscv,clint0" or "sifive,clint0".
[[nodiscard]] constexpr result<region> clint_region(const tree& t) noexcept {
    constexpr const char* compatibles[] = {"riscv,clint0", "sifive,clint0"};
    return device_region(t, compatibles);
}
/// The ACLINT machine software interrupt device (ACLINT spec, MSWI).
[[nodiscard]] constexpr result<region> aclint_mswi_region(const tree& t) noexcept {
    return device_region(t, "riscv,aclint-mswi");
}
/// The ACLINT machine timer device (ACLINT spec, MTIMER), `reg` entry `index`:
/// QEMU virt (`-M virt,aclint=on`) lists the mtime register first, then the
/// mtimecmp array.
[[nodiscard]] constexpr result<region> aclint_mtimer_region(const tree& t, u32 index = 0) noexcept {
    return device_region(t, "riscv,aclint-mtimer", index);
}
/// The PLIC, "riscv,plic0" or "sifive,plic-1.0.0".
[[nodiscard]] constexpr result<region> plic_region(const tree& t) noexcept {
    constexpr const char* compatibles[] = {"riscv,plic0", "sifive,plic-1.0.0"};
    return device_region(t, compatibles);
}
/// A 16550-compatible UART, "ns16550a" or "ns16550".
[[nodiscard]] constexpr result<region> uart_region(const tree& t) noexcept {
    constexpr const char* compatibles[] = {"ns16550a", "ns16550"};
    return device_region(t, compatibles);
}
/// The SiFive test finisher (poweroff/reboot), "sifive,test0".
[[nodiscard]] constexpr result<region> test_device_region(const tree& t) noexcept {
    return device_region(t, "sifive,test0");
}

// ---- devices that master the bus (DMA) ----
//
// A device that can write memory by itself cannot be fenced off by the PMP
// (it governs the harts' accesses only): a monitor keeps such devices from
// the firmware altogether (docs/security.md). These helpers find them.

/// Whether `n` masters the bus according to its binding: QEMU's fw_cfg (its
/// DMA interface), virtio over MMIO, PCI(e) host bridges (every device behind
/// them), the DMA engines, Ethernet, SD/MMC and USB controllers of the boards
/// in docs/boards.md (SiFive FU540/FU740, StarFive JH7110, Microchip
/// PolarFire, Sophgo SG2042: their trees mark none of them), or any node the
/// tree marks as doing DMA (`dma-coherent`, `dma-noncoherent`, `iommus`,
/// `iommu-map`, `dma-ranges`).
[[nodiscard]] constexpr bool is_bus_master(const tree& t, node n) noexcept {
    constexpr const char* compatibles[] = {
        "qemu,fw-cfg-mmio", "virtio,mmio", "pci-host-ecam-generic", "pci-host-cam-generic",
        // DMA engines
        "sifive,pdma0", "sifive,fu540-c000-pdma", "snps,axi-dma-1.01a", "starfive,jh7110-axi-dma",
        "microchip,mpfs-pdma",
        // Ethernet
        "cdns,macb", "cdns,gem", "sifive,fu540-c000-gem", "sifive,fu740-c000-gem", "microchip,mpfs-macb", "snps,dwmac",
        "snps,dwmac-5.20", "starfive,jh7110-dwmac", "sophgo,sg2042-dwmac",
        // SD/MMC
        "snps,dw-mshc", "starfive,jh7110-mmc", "cdns,sd4hc", "microchip,mpfs-sd4hc",
        // USB
        "generic-xhci", "generic-ehci", "generic-ohci", "snps,dwc3", "cdns,usb3", "starfive,jh7110-usb",
        "microchip,mpfs-musb",
        // PCIe host bridges with their own bindings
        "sifive,fu740-pcie", "starfive,jh7110-pcie", "microchip,pcie-host-1.0", "sophgo,sg2042-pcie-host"};
    const property compatible = t.find_property(n, "compatible");
    for (const char* c : compatibles)
        if (compatible && compatible.contains(c)) return true;
    constexpr const char* markers[] = {"dma-coherent", "dma-noncoherent", "iommus", "iommu-map", "dma-ranges"};
    for (const char* m : markers)
        if (t.find_property(n, m)) return true;
    return false;
}

/// Calls `f(region)` for every CPU physical range through which software
/// reaches bus master `n`: each entry of its `reg`, and for a PCI host bridge
/// each window of its `ranges` (the devices' BARs, I/O and memory, live there;
/// PCI bus addresses have 3 cells, DT spec 2.3.8 and the PCI bus binding).
/// Returns false when something could not be decoded, a `reg` included (the
/// caller must then not trust the list).
template <class F>
constexpr bool for_each_bus_master_range(const tree& t, node n, F&& f) noexcept {
    const result<u32> entries = t.reg_count(n);
    if (!entries && t.find_property(n, "reg")) return false;  // a reg that cannot be decoded is no "no reg"
    for (u32 i = 0; entries && i < entries.value(); ++i) {
        const result<region> r = device_region(t, n, i);
        if (!r) return false;
        if (r.value().size != 0) f(r.value());
    }
    const property ranges = t.find_property(n, "ranges");
    if (!ranges || ranges.is_empty()) return true;
    const node up = t.parent(n);
    const result<u32> child_cells = t.address_cells(n);
    const result<u32> length_cells = t.size_cells(n);
    const result<u32> parent_cells = t.address_cells(up);
    if (!up || !child_cells || !length_cells || !parent_cells) return false;
    const u32 ca = child_cells.value(), pa = parent_cells.value(), cs = length_cells.value();
    if (ca == 0 || ca > 3 || pa == 0 || pa > 2 || cs == 0 || cs > 2) return false;
    const u32 entry_size = 4 * (ca + pa + cs);
    if (ranges.size() % entry_size != 0) return false;
    for (u32 at = 0; at < ranges.size(); at += entry_size) {
        const u8* entry = ranges.data() + at;
        u64 parent_base = 0;
        u64 length = 0;
        for (u32 c = 0; c < pa; ++c) parent_base = (parent_base << 32) | detail::load_be32(entry + 4 * (ca + c));
        for (u32 c = 0; c < cs; ++c) length = (length << 32) | detail::load_be32(entry + 4 * (ca + pa + c));
        const result<u64> base = t.translate_address(n, parent_base);
        if (!base) return false;
        if (length != 0) f(region{base.value(), length});
    }
    return true;
}

namespace detail {

[[nodiscard]] constexpr bool intersects(const region& r, u64 from, u64 to) noexcept {
    return r.size != 0 && r.base < to && from < r.base + r.size;
}

/// Whether [from, to) holds something a merged denial must not cover: an
/// enabled device that is not a kept bus master (its `reg`; for a bus master
/// keep() refused, its windows too), or memory. A `reg` that cannot be decoded
/// counts as there (fail closed: the gap is not merged); one in no CPU address
/// space (an ancestor bus without `ranges`, DT spec 2.3.8, e.g. /cpus) is not.
/// Kept bus masters need no test: bus_master_ranges' gaps lie between their
/// sorted ranges, so none of theirs reaches into one.
[[nodiscard]] constexpr bool gap_occupied(const tree& t, u64 from, u64 to) noexcept {
    for (node n = t.root(); n; n = t.next_node(n)) {
        if (!t.is_enabled(n)) continue;
        if (is_bus_master(t, n)) {
            bool inside = false;
            const bool decoded =
                for_each_bus_master_range(t, n, [&](const region& r) { inside = inside || intersects(r, from, to); });
            if (inside || !decoded) return true;
            continue;
        }
        if (!is_memory(t, n) && !t.find_property(n, "compatible")) continue;  // buses, cpus' children: not devices
        const result<u32> entries = t.reg_count(n);
        if (!entries) {
            if (t.find_property(n, "reg")) return true;
            continue;
        }
        for (u32 i = 0; i < entries.value(); ++i) {
            const result<region> reg = t.reg(n, i);
            if (!reg) return true;
            if (reg.value().size == 0) continue;  // no addresses: /cpus' harts (#size-cells 0)
            const result<u64> base = t.translate_address(n, reg.value().base);
            if (!base && base.error() == error::not_found) continue;  // not in the CPU's address space
            if (!base || intersects(region{base.value(), reg.value().size}, from, to)) return true;
        }
    }
    return false;
}

}  // namespace detail

/// The ranges of every enabled bus master of the tree for which `keep(node)`
/// is true (asked once per node), merged and sorted: overlapping and adjacent
/// ranges become one, and so do neighbours across a gap that holds nothing
/// else (detail::gap_occupied: no other device, no bus master keep() refused,
/// no memory), so that fewer PMP entries cover them. `out` holds up to
/// `capacity` ranges before merging. Returns how many there are after
/// merging; error::no_space when the ranges before merging do not fit
/// (never a shorter list: a range left out would be left to the firmware);
/// another error when a bus master's ranges cannot be decoded.
template <class Keep>
[[nodiscard]] constexpr result<u32> bus_master_ranges(const tree& t, region* out, u32 capacity, Keep&& keep) noexcept {
    u32 count = 0;
    bool full = false;
    for (node n = t.root(); n; n = t.next_node(n)) {
        if (!t.is_enabled(n) || !is_bus_master(t, n) || !keep(n)) continue;
        const bool decoded = for_each_bus_master_range(t, n, [&](const region& r) {
            if (count == capacity) {
                full = true;
                return;
            }
            out[count++] = r;
        });
        if (!decoded) return error::unsupported;
        if (full) return error::no_space;
    }
    // Sort by base (insertion sort: a few dozen ranges at most).
    for (u32 i = 1; i < count; ++i)
        for (u32 j = i; j > 0 && out[j].base < out[j - 1].base; --j) {
            const region swap = out[j];
            out[j] = out[j - 1];
            out[j - 1] = swap;
        }
    u32 merged = 0;
    for (u32 i = 0; i < count; ++i) {
        if (merged != 0) {
            region& last = out[merged - 1];
            const u64 last_end = last.base + last.size;
            if (out[i].base <= last_end || !detail::gap_occupied(t, last_end, out[i].base)) {
                const u64 end = out[i].base + out[i].size;
                if (end > last_end) last.size = end - last.base;
                continue;
            }
        }
        out[merged++] = out[i];
    }
    return merged;
}

// ---- /chosen (DT spec 3.6) ----

/// The /chosen node.
[[nodiscard]] constexpr node chosen_node(const tree& t) noexcept { return t.find_child(t.root(), "chosen").value(); }

/// /chosen `stdout-path` (or the legacy `linux,stdout-path`), e.g.
/// "/soc/serial@10000000" or "serial0:115200n8", or nullptr.
[[nodiscard]] inline const char* stdout_path(const tree& t) noexcept {
    const node chosen = chosen_node(t);
    const property p = t.find_property(chosen, "stdout-path");
    return p ? p.as_string() : t.find_property(chosen, "linux,stdout-path").as_string();
}

/// /chosen `bootargs`, or nullptr.
[[nodiscard]] inline const char* bootargs(const tree& t) noexcept {
    return t.find_property(chosen_node(t), "bootargs").as_string();
}

/// The node `stdout-path` designates: the path (or alias) before any ':'
/// (what follows ':' are options such as the baud rate, DT spec 3.6).
[[nodiscard]] inline node stdout_node(const tree& t) noexcept {
    const char* path = stdout_path(t);
    if (path == nullptr) return {};
    usize length = 0;
    while (path[length] != '\0' && path[length] != ':') ++length;
    return t.find_path(path, length);
}

}  // namespace vfm::fdt
