// SPDX-License-Identifier: MIT
// Devices that master the bus (DMA) in vfm/fdt/discover.hpp: is_bus_master,
// for_each_bus_master_range and bus_master_ranges, against dma_bindings.dts,
// dma_merge.dts, dma_bad.dts, dma_gaps.dts and QEMU virt's own tree. Every
// expected range is a literal read off the source (DT spec 2.3.6-2.3.9, the
// PCI bus binding's 3-cell child addresses) or off `dtc -I dtb -O dts` of
// QEMU 7.2's dumped tree.
#include <vfm/fdt/discover.hpp>

#include <string>
#include <vector>

#include "fdt_test_util.hpp"
#include "vfm_catch.hpp"

using namespace vfm;
using namespace vfm::fdt;

namespace {

/// The ranges for_each_bus_master_range gives for the node at `path`, in order.
std::vector<region> ranges_of(const tree& t, const char* path, bool* ok = nullptr) {
    const node n = t.find_path(path);
    INFO(path);
    REQUIRE(n);
    std::vector<region> out;
    const bool decoded = for_each_bus_master_range(t, n, [&](const region& r) { out.push_back(r); });
    if (ok != nullptr)
        *ok = decoded;
    else
        CHECK(decoded);
    return out;
}

/// bus_master_ranges with `capacity` and `keep`, as a vector (empty on error; `error` says).
template <class Keep>
std::vector<region> merged(const tree& t, u32 capacity, Keep&& keep, bool* failed = nullptr) {
    std::vector<region> out(capacity + 1, region{0xdead, 0xbeef});
    const result<u32> count = bus_master_ranges(t, out.data(), capacity, keep);
    if (failed != nullptr) *failed = !count;
    if (!count) return {};
    REQUIRE(count.value() <= capacity);
    CHECK(out[capacity] == region{0xdead, 0xbeef});  // nothing written past capacity
    out.resize(count.value());
    return out;
}

std::vector<region> merged_all(const tree& t, u32 capacity = 64) {
    return merged(t, capacity, [](node) { return true; });
}

/// A keep() that refuses the nodes called `names` (whole names).
auto all_but(const tree& t, std::vector<std::string> names) {
    return [&t, names](node n) {
        for (const std::string& name : names)
            if (name == t.name(n)) return false;
        return true;
    };
}

/// A keep() that accepts only the node called `name`.
auto only(const tree& t, std::string name) {
    return [&t, name](node n) { return name == t.name(n); };
}

}  // namespace

// ---- is_bus_master ----

TEST_CASE("bus masters: is_bus_master by binding and by DMA property", "[fdt][dma]") {
    const std::vector<u8> blob = fdt_test::load("dma_bindings.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    for (const char* path : {
             "/fw-cfg@10100000",            // qemu,fw-cfg-mmio
             "/virtio_mmio@10001000",       // virtio,mmio
             "/wrapped@10002000",           // virtio,mmio second in the list
             "/pcie@30000000",              // pci-host-ecam-generic
             "/pci@200000000",              // pci-host-cam-generic
             "/coherent@11000000",          // dma-coherent
             "/noncoherent@11001000",       // dma-noncoherent
             "/behind-iommu@11002000",      // iommus
             "/iommu-mapped@11003000",      // iommu-map
             "/dma-ranged@11004000",        // dma-ranges
             "/virtio_mmio@11005000",       // disabled, still a bus master by its binding
             "/bus@100000000/pcie@10000000",
             "/bus@100000000/sub@70000000/pci@100000",
             "/bus@100000000/sub@70000000/virtio_mmio@200000",
         }) {
        INFO(path);
        const node n = t.find_path(path);
        REQUIRE(n);
        CHECK(is_bus_master(t, n));
    }
    for (const char* path : {
             "/",
             "/memory@80000000",
             "/serial@10000000",
             "/near-virtio@12000000",   // "virtio,mmio-v2", "virtio": compatible strings match whole (DT spec 2.3.1)
             "/near-fw-cfg@12001000",   // "qemu,fw-cfg"
             "/near-pci@12002000",      // "pci-host-ecam-generic-v2"
             "/near-marker@12003000",   // dma-coherent-not, dma-channels
             "/bus@100000000",          // a simple-bus
             "/bus@100000000/sub@70000000",
         }) {
        INFO(path);
        const node n = t.find_path(path);
        REQUIRE(n);
        CHECK_FALSE(is_bus_master(t, n));
    }
}

// ---- for_each_bus_master_range ----

TEST_CASE("bus masters: the ranges of a device are its reg entries", "[fdt][dma]") {
    const std::vector<u8> blob = fdt_test::load("dma_bindings.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    CHECK(ranges_of(t, "/fw-cfg@10100000") == std::vector<region>{{0x1010'0000, 0x18}});
    CHECK(ranges_of(t, "/virtio_mmio@10001000") == std::vector<region>{{0x1000'1000, 0x1000}});
    // Every reg entry; the one of size 0 gives nothing.
    CHECK(ranges_of(t, "/wrapped@10002000") == std::vector<region>{{0x1000'2000, 0x200}, {0x1000'3000, 0x100}});
    CHECK(ranges_of(t, "/coherent@11000000") == std::vector<region>{{0x1100'0000, 0x1000}});
    // Asked about a node that is no bus master: its reg, and the windows of a
    // non-empty `ranges` (bus_master_ranges asks only about bus masters).
    CHECK(ranges_of(t, "/memory@80000000") == std::vector<region>{{0x8000'0000, 0x1000'0000}});
    CHECK(ranges_of(t, "/bus@100000000") == std::vector<region>{{0x1'0000'0000, 0x8000'0000}});
    CHECK(ranges_of(t, "/bus@100000000/sub@70000000") == std::vector<region>{{0x1'7000'0000, 0x100'0000}});
}

TEST_CASE("bus masters: a PCI host bridge's ECAM and every window of its ranges", "[fdt][dma][pci]") {
    const std::vector<u8> blob = fdt_test::load("dma_bindings.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    SECTION("at the root: I/O, 32-bit and 64-bit prefetchable windows, CPU addresses") {
        CHECK(ranges_of(t, "/pcie@30000000") == std::vector<region>{
                                                     {0x3000'0000, 0x1000'0000},    // reg: ECAM
                                                     {0x300'0000, 0x1'0000},        // I/O (ss = 01)
                                                     {0x4000'0000, 0x4000'0000},    // 32-bit memory (ss = 10)
                                                     {0x4'0000'0000, 0x4'0000'0000},  // 64-bit prefetchable (p, ss = 11)
                                                 });
    }
    SECTION("the CPU address, not the PCI bus address; an empty window gives nothing") {
        CHECK(ranges_of(t, "/pci@200000000") == std::vector<region>{{0x2'0000'0000, 0x100'0000},
                                                                     {0x2'1000'0000, 0x100'0000}});
    }
    SECTION("under a bus with 1-cell addresses mapping 0 to 0x100000000") {
        CHECK(ranges_of(t, "/bus@100000000/pcie@10000000") == std::vector<region>{
                                                                   {0x1'1000'0000, 0x100'0000},
                                                                   {0x1'2000'0000, 0x1'0000},
                                                                   {0x1'4000'0000, 0x2000'0000},
                                                                   {0x1'6000'0000, 0x1000'0000},
                                                               });
    }
    SECTION("two buses deep, the middle one with 2-cell addresses") {
        CHECK(ranges_of(t, "/bus@100000000/sub@70000000/pci@100000") ==
              std::vector<region>{{0x1'7010'0000, 0x10'0000}, {0x1'7040'0000, 0x20'0000}});
        CHECK(ranges_of(t, "/bus@100000000/sub@70000000/virtio_mmio@200000") ==
              std::vector<region>{{0x1'7020'0000, 0x200}});
    }
}

TEST_CASE("bus masters: what cannot be decoded is reported", "[fdt][dma]") {
    const std::vector<u8> blob = fdt_test::load("dma_bad.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    bool ok = false;
    CHECK(ranges_of(t, "/fine@10001000", &ok) == std::vector<region>{{0x1000'1000, 0x1000}});
    CHECK(ok);
    for (const char* path : {"/closed/unmapped@2000",    // the parent bus has no ranges
                             "/short-ranges@30000000",   // 6 cells of ranges, entries of 7
                             "/wide-size@50000000",      // 3 size cells
                             "/narrow/outside@0"}) {     // a window the parent bus does not map
        INFO(path);
        ok = true;
        (void)ranges_of(t, path, &ok);
        CHECK_FALSE(ok);
    }
}

TEST_CASE("bus masters: a reg that cannot be decoded is reported", "[fdt][dma]") {
    // Not taken for "no reg": the device would be left to the firmware.
    const std::vector<u8> blob = fdt_test::load("dma_bad.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());
    for (const char* path : {"/wide/three-cells@1000",   // reg of 3 address cells (unsupported)
                             "/odd-reg@10003000"}) {     // 3 cells, entries of 4 (bad_value)
        INFO(path);
        bool ok = true;
        CHECK(ranges_of(t, path, &ok).empty());
        CHECK_FALSE(ok);
    }
    for (const char* name : {"three-cells@1000", "odd-reg@10003000"}) {
        INFO(name);
        region out[64];
        CHECK_FALSE(bus_master_ranges(t, out, 64, only(t, name)));
    }
}

// ---- bus_master_ranges ----

TEST_CASE("bus masters: merged and sorted, across gaps that hold nothing else", "[fdt][dma]") {
    const std::vector<u8> blob = fdt_test::load("dma_merge.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    const std::vector<region> all = {
        {0x1000'1000, 0x4800},  // [0x10001000, 0x10005800): adjacent, an empty gap, an overlap
        {0x1000'7000, 0x6000},  // [0x10007000, 0x1000d000): a disabled device and a node without compatible between
        {0x7ff0'0000, 0x1000},  // flash before, memory after
        {0x9000'0000, 0x1000},  // first in document order, last by address
    };
    CHECK(merged_all(t) == all);

    SECTION("capacity counts the ranges before merging (out is the scratch space)") {
        CHECK(merged_all(t, 10) == all);
    }
    SECTION("keep() leaves nodes out") {
        // Without the serial's neighbour the gap up to 0x10009000 holds only a
        // disabled device: merged from there on.
        CHECK(merged(t, 64, all_but(t, {"virtio_mmio@10007000"})) ==
              std::vector<region>{{0x1000'1000, 0x4800}, {0x1000'9000, 0x4000}, {0x7ff0'0000, 0x1000},
                                  {0x9000'0000, 0x1000}});
        CHECK(merged(t, 64, all_but(t, {"dma@7ff00000", "dma@90000000"})) ==
              std::vector<region>{{0x1000'1000, 0x4800}, {0x1000'7000, 0x6000}});
        CHECK(merged(t, 64, only(t, "dma@7ff00000")) == std::vector<region>{{0x7ff0'0000, 0x1000}});
        CHECK(merged(t, 64, [](node) { return false; }).empty());
    }
    SECTION("keep() sees every enabled bus master once, and nothing else") {
        std::vector<std::string> seen;
        (void)merged(t, 64, [&](node n) {
            seen.push_back(t.name(n));
            return true;
        });
        CHECK(seen == std::vector<std::string>{"dma@90000000", "virtio_mmio@10001000", "virtio_mmio@10002000",
                                               "virtio_mmio@10004000", "dma@10004800", "virtio_mmio@10007000",
                                               "virtio_mmio@10009000", "virtio_mmio@1000c000", "dma@7ff00000"});
    }
}

TEST_CASE("bus masters: more ranges than the capacity is an error", "[fdt][dma]") {
    // Never a shorter list: the ranges that did not fit would be left to the firmware.
    const std::vector<u8> blob = fdt_test::load("dma_merge.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());
    for (const u32 capacity : {9u, 8u, 1u, 0u}) {  // 10 ranges before merging
        INFO("capacity " << capacity);
        bool failed = false;
        CHECK(merged(t, capacity, [](node) { return true; }, &failed).empty());
        CHECK(failed);
        region out[10];
        const result<u32> count = bus_master_ranges(t, out, capacity, [](node) { return true; });
        CHECK(count.error() == error::no_space);
    }
}

TEST_CASE("bus masters: a gap holding a bus master that keep() leaves out is not merged", "[fdt][dma]") {
    // A device handed to the firmware (qemu_virt -Dfirmware_bus_masters) must
    // stay out of the merged denials. The gap [0x10002000, 0x10004000) holds
    // virtio_mmio@10002000.
    const std::vector<u8> blob = fdt_test::load("dma_merge.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());
    CHECK(merged(t, 64, all_but(t, {"virtio_mmio@10002000"})) ==
          std::vector<region>{{0x1000'1000, 0x1000}, {0x1000'4000, 0x1800}, {0x1000'7000, 0x6000},
                              {0x7ff0'0000, 0x1000}, {0x9000'0000, 0x1000}});
}

TEST_CASE("bus masters: what a gap may hold", "[fdt][dma]") {
    const std::vector<u8> blob = fdt_test::load("dma_gaps.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    SECTION("every bus master kept") {
        // [0x10002000, 0x10003000): an I2C device and a hart, in no CPU address
        // space: merged; [0x10004000, 0x10009000) holds only the kept bridge's
        // window: merged; the UART at 0x1000b000: not merged; nothing from the
        // last transport up to the bridge's ECAM [0x20000000, 0x21000000): merged.
        CHECK(merged_all(t) == std::vector<region>{{0x1000'1000, 0x9000}, {0x1000'c000, 0x10ff'4000}});
    }
    SECTION("the PCI host bridge refused: its I/O window [0x10006000, 0x10007000) is in the way") {
        CHECK(merged(t, 64, all_but(t, {"pci@20000000"})) ==
              std::vector<region>{{0x1000'1000, 0x3000}, {0x1000'9000, 0x1000}, {0x1000'c000, 0x1000}});
    }
}

TEST_CASE("bus masters: a device whose reg cannot be decoded might lie in any gap", "[fdt][dma]") {
    // Two transports with an empty gap [0x10002000, 0x10003000) between them,
    // and with `timer`: a device whose reg has 3 address cells (unsupported).
    auto board = [](bool timer) {
        fdt_test::builder b;
        b.begin("").prop_u32("#address-cells", 2).prop_u32("#size-cells", 2);
        b.begin("virtio_mmio@10001000").prop_string("compatible", "virtio,mmio");
        b.prop("reg", {0, 0, 0, 0, 0x10, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x10, 0}).end_node();
        b.begin("virtio_mmio@10003000").prop_string("compatible", "virtio,mmio");
        b.prop("reg", {0, 0, 0, 0, 0x10, 0, 0x30, 0, 0, 0, 0, 0, 0, 0, 0x10, 0}).end_node();
        if (timer) {
            b.begin("wide").prop_string("compatible", "simple-bus").prop_u32("#address-cells", 3);
            b.prop_u32("#size-cells", 1).prop("ranges", {});
            b.begin("timer@1000").prop_string("compatible", "vendor,timer");
            b.prop("reg", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 1, 0}).end_node();
            b.end_node();
        }
        b.end_node().end();
        return b.build();
    };
    const std::vector<u8> without = board(false);
    const tree t0(without.data(), without.size());
    REQUIRE(t0.ok());
    CHECK(merged_all(t0) == std::vector<region>{{0x1000'1000, 0x3000}});
    const std::vector<u8> with = board(true);
    const tree t1(with.data(), with.size());
    REQUIRE(t1.ok());
    CHECK(merged_all(t1) == std::vector<region>{{0x1000'1000, 0x1000}, {0x1000'3000, 0x1000}});
}

TEST_CASE("bus masters: a range that cannot be decoded fails the whole list", "[fdt][dma]") {
    const std::vector<u8> blob = fdt_test::load("dma_bad.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    CHECK(merged(t, 64, only(t, "fine@10001000")) == std::vector<region>{{0x1000'1000, 0x1000}});
    for (const char* name : {"unmapped@2000", "short-ranges@30000000", "wide-size@50000000", "outside@0"}) {
        INFO(name);
        region out[64];
        const result<u32> count = bus_master_ranges(t, out, 64, only(t, name));
        CHECK_FALSE(count);
    }
    region out[64];
    CHECK_FALSE(bus_master_ranges(t, out, 64, [](node) { return true; }));
}

#if VFM_FDT_HAVE_QEMU_DTB
TEST_CASE("bus masters: QEMU virt's tree", "[fdt][dma][qemu]") {
    // QEMU 7.2 `-M virt` (dtc -I dtb -O dts of the dumped tree): fw-cfg@10100000
    // (reg 0x10100000 + 0x18, dma-coherent), virtio_mmio@10001000 .. @10008000
    // (0x1000 each), pci@30000000 (ECAM 0x30000000 + 0x10000000; ranges: I/O
    // at CPU 0x3000000 + 0x10000, 32-bit memory 0x40000000 + 0x40000000, 64-bit
    // memory 0x400000000 + 0x400000000). Between them: the PLIC (0xc000000),
    // the UART (0x10000000), the flash (0x20000000), memory (0x80000000).
    const std::vector<u8> blob = fdt_test::load("qemu-virt.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    std::vector<std::string> masters;
    for (node n = t.root(); n; n = t.next_node(n))
        if (is_bus_master(t, n)) masters.push_back(t.name(n));
    CHECK(masters == std::vector<std::string>{"fw-cfg@10100000", "pci@30000000", "virtio_mmio@10008000",
                                              "virtio_mmio@10007000", "virtio_mmio@10006000",
                                              "virtio_mmio@10005000", "virtio_mmio@10004000",
                                              "virtio_mmio@10003000", "virtio_mmio@10002000",
                                              "virtio_mmio@10001000"});

    CHECK(ranges_of(t, "/soc/pci@30000000") == std::vector<region>{{0x3000'0000, 0x1000'0000},
                                                                    {0x300'0000, 0x1'0000},
                                                                    {0x4000'0000, 0x4000'0000},
                                                                    {0x4'0000'0000, 0x4'0000'0000}});
    CHECK(ranges_of(t, "/fw-cfg@10100000") == std::vector<region>{{0x1010'0000, 0x18}});

    const std::vector<region> four = {
        {0x300'0000, 0x1'0000},          // [0x3000000, 0x3010000): the PCI I/O window
        {0x1000'1000, 0xf'f018},         // [0x10001000, 0x10100018): 8 virtio-mmio and fw_cfg, nothing else between
        {0x3000'0000, 0x5000'0000},      // [0x30000000, 0x80000000): ECAM and the 32-bit window
        {0x4'0000'0000, 0x4'0000'0000},  // [0x400000000, 0x800000000): the 64-bit window
    };
    CHECK(merged_all(t) == four);
    CHECK(merged_all(t, 13) == four);  // 13 ranges before merging (12 fail: see the capacity test)

    SECTION("fw_cfg left out") {
        CHECK(merged(t, 64, all_but(t, {"fw-cfg@10100000"})) ==
              std::vector<region>{{0x300'0000, 0x1'0000}, {0x1000'1000, 0x8000}, {0x3000'0000, 0x5000'0000},
                                  {0x4'0000'0000, 0x4'0000'0000}});
    }
    SECTION("the PCI host bridge left out") {
        CHECK(merged(t, 64, all_but(t, {"pci@30000000"})) == std::vector<region>{{0x1000'1000, 0xf'f018}});
    }
}

TEST_CASE("bus masters: QEMU virt with one virtio-mmio transport left out", "[fdt][dma][qemu]") {
    // The gap that holds the transport left out is not merged over.
    const std::vector<u8> blob = fdt_test::load("qemu-virt.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());
    CHECK(merged(t, 64, all_but(t, {"virtio_mmio@10004000"})) ==
          std::vector<region>{{0x300'0000, 0x1'0000}, {0x1000'1000, 0x3000}, {0x1000'5000, 0xf'b018},
                              {0x3000'0000, 0x5000'0000}, {0x4'0000'0000, 0x4'0000'0000}});
}
#endif
