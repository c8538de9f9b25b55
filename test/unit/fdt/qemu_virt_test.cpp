// SPDX-License-Identifier: MIT
// Board support for QEMU virt (platforms/qemu-virt/.../qemu_virt.hpp) on the
// host: init() over QEMU 7.2's dumped tree and over hand-built boards, for the
// bus masters it denies to the firmware (memory_layout::bus_masters) and those
// -Dfirmware_bus_masters hands to it (given_to_firmware(), given_name()).
// Expected ranges are literals read off `dtc -I dtb -O dts` of the dumped tree.
#include <vfm/platform/qemu_virt.hpp>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fdt_test_util.hpp"
#include "region_print.hpp"
#include "vfm_catch.hpp"

using namespace vfm;


namespace {

using board_type = platforms::qemu_virt<8>;

constexpr region monitor_image{0x8000'0000, 0x4'0000};
constexpr u64 firmware_entry = 0x8010'0000;
constexpr usize window = board_type::device_tree_window;

/// A blob placed where init() finds it: at the start of a 2 MiB-aligned window
/// of 2 MiB (QEMU puts the tree at a 2 MiB boundary; init edits it in place).
struct placed_tree {
    explicit placed_tree(const std::vector<u8>& blob) : memory(static_cast<u8*>(std::aligned_alloc(window, window))) {
        REQUIRE(memory != nullptr);
        REQUIRE(blob.size() <= window);
        std::memset(memory.get(), 0, window);
        std::memcpy(memory.get(), blob.data(), blob.size());
    }
    [[nodiscard]] u64 address() const { return reinterpret_cast<uptr>(memory.get()); }
    struct release {
        void operator()(u8* p) const { std::free(p); }
    };
    std::unique_ptr<u8, release> memory;
};

/// init() of a fresh board over `blob` with `given` as -Dfirmware_bus_masters.
struct booted {
    booted(const std::vector<u8>& blob, const char* given) : tree(blob) {
        error = board.init(tree.address(), monitor_image, firmware_entry, given);
    }
    [[nodiscard]] std::vector<region> bus_masters() const {
        const memory_layout& l = board.layout();
        return {l.bus_masters, l.bus_masters + l.bus_master_count};
    }
    [[nodiscard]] std::vector<std::string> given() const {
        std::vector<std::string> names;
        for (u32 i = 0; i < board.given_to_firmware(); ++i) names.emplace_back(board.given_name(i));
        return names;
    }
    placed_tree tree;
    board_type board;
    const char* error = nullptr;
};

std::vector<u8> cells(std::initializer_list<u32> values) {
    std::vector<u8> bytes;
    for (const u32 v : values)
        for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<u8>(v >> shift));
    return bytes;
}

std::vector<u8> strings(std::initializer_list<std::string> values) {
    std::vector<u8> bytes;
    for (const std::string& s : values) {
        bytes.insert(bytes.end(), s.begin(), s.end());
        bytes.push_back(0);
    }
    return bytes;
}

/// A node `name` compatible with `compatible`, `reg` <0 base 0 size>, in the root's 2 + 2 cells.
void device(fdt_test::builder& b, const std::string& name, const std::string& compatible, u64 base, u64 size) {
    b.begin(name)
        .prop("compatible", strings({compatible}))
        .prop("reg", cells({static_cast<u32>(base >> 32), static_cast<u32>(base), static_cast<u32>(size >> 32),
                            static_cast<u32>(size)}))
        .end_node();
}

/// A board init() accepts (one hart, 256 MiB at 0x80000000, a CLINT, a UART,
/// the test finisher), with `extra(b)` adding nodes under the root.
std::vector<u8> board_blob(const std::function<void(fdt_test::builder&)>& extra) {
    fdt_test::builder b;
    b.begin("").prop_u32("#address-cells", 2).prop_u32("#size-cells", 2).prop_string("compatible", "riscv-virtio");
    b.begin("cpus").prop_u32("#address-cells", 1).prop_u32("#size-cells", 0).prop_u32("timebase-frequency", 10000000);
    b.begin("cpu@0").prop_string("device_type", "cpu").prop_u32("reg", 0).prop_string("status", "okay");
    b.prop_string("riscv,isa", "rv64imafdc").end_node().end_node();
    b.begin("memory@80000000").prop_string("device_type", "memory");
    b.prop("reg", cells({0, 0x8000'0000, 0, 0x1000'0000})).end_node();
    device(b, "clint@2000000", "riscv,clint0", 0x200'0000, 0x1'0000);
    device(b, "serial@10000000", "ns16550a", 0x1000'0000, 0x100);
    device(b, "test@100000", "sifive,test0", 0x10'0000, 0x1000);
    extra(b);
    b.end_node().end();
    return b.build();
}

}  // namespace

#if VFM_FDT_HAVE_QEMU_DTB
TEST_CASE("qemu_virt: every bus master of QEMU virt is denied to the firmware", "[platform][dma][qemu]") {
    const booted m(fdt_test::load("qemu-virt.dtb"), "");
    REQUIRE(m.error == nullptr);
    CHECK(m.bus_masters() == std::vector<region>{{0x300'0000, 0x1'0000},
                                                  {0x1000'1000, 0xf'f018},
                                                  {0x3000'0000, 0x5000'0000},
                                                  {0x4'0000'0000, 0x4'0000'0000}});
    CHECK(m.board.given_to_firmware() == 0);
    CHECK(std::string(m.board.given_name(0)) == "?");
    // The rest of the layout as before.
    CHECK(m.board.layout().ram == region{0x8000'0000, 0x1000'0000});
    CHECK(m.board.layout().emulated_devices == region{0x200'0000, 0x1'0000});
}

// QEMU 7.2's sifive_u (-smp 5 -m 256M), values read off `dtc -I dtb -O dts`
// of its dumped tree and the FU540 manual (UART txdata, GPIO registers).
TEST_CASE("qemu_virt: QEMU sifive_u's harts, console, restart line and bus masters", "[platform][qemu][sifive_u]") {
    const booted m(fdt_test::load("qemu-sifive-u.dtb"), "");
    REQUIRE(m.error == nullptr);
    CHECK(m.board.hart_count() == 5);
    for (u32 i = 0; i < 5; ++i) CHECK(m.board.hart_id(i) == i);
    CHECK(m.board.layout().ram == region{0x8000'0000, 0x1000'0000});
    CHECK(m.board.layout().timebase_frequency == 1'000'000);
    CHECK(m.board.layout().mswi == region{0x200'0000, 0x4000});
    CHECK(m.board.layout().mtimer.base == 0x200'4000);
    // /chosen/stdout-path = "/soc/serial@10010000", a SiFive UART.
    CHECK(m.board.console().base == 0x1001'0000);
    CHECK(m.board.console().sifive);
    // No test finisher: gpio-restart = <&gpio 10 GPIO_ACTIVE_LOW>, gpio@10060000 "sifive,gpio0".
    CHECK(m.board.test_finisher() == 0);
    CHECK(m.board.restart().gpio == 0x1006'0000);
    CHECK(m.board.restart().pin == 10);
    CHECK(m.board.restart().active_low);
    // The PDMA (dma@3000000) and the GEM (ethernet@10090000: its registers
    // and its management block at 0x100a0000, with only devices the tree
    // lists apart between them... and none) master the bus.
    const std::vector<region> masters = m.bus_masters();
    REQUIRE(masters.size() >= 2);
    CHECK(masters[0] == region{0x300'0000, 0x10'0000});
    bool gem = false;
    for (const region& r : masters) gem = gem || (r.base <= 0x1009'0000 && r.base + r.size >= 0x100a'1000);
    CHECK(gem);
}

TEST_CASE("qemu_virt: 16550 register spacing and the DesignWare APB UART", "[platform]") {
    fdt_test::builder b;
    b.begin("").prop_u32("#address-cells", 2).prop_u32("#size-cells", 2);
    b.begin("chosen").prop_string("stdout-path", "/serial@10000000").end_node();
    b.begin("cpus").prop_u32("#address-cells", 1).prop_u32("#size-cells", 0).prop_u32("timebase-frequency", 4000000);
    b.begin("cpu@0").prop_string("device_type", "cpu").prop_u32("reg", 0).prop_string("status", "okay");
    b.prop_string("riscv,isa", "rv64imafdc").end_node().end_node();
    b.begin("memory@80000000").prop_string("device_type", "memory");
    b.prop("reg", cells({0, 0x8000'0000, 0, 0x1000'0000})).end_node();
    device(b, "clint@2000000", "riscv,clint0", 0x200'0000, 0x1'0000);
    b.begin("serial@10000000")
        .prop("compatible", strings({"snps,dw-apb-uart"}))
        .prop("reg", cells({0, 0x1000'0000, 0, 0x1'0000}))
        .prop_u32("reg-shift", 2)
        .prop_u32("reg-io-width", 4)
        .end_node();
    b.end_node().end();
    const booted m(b.build(), "");
    REQUIRE(m.error == nullptr);
    CHECK(m.board.console().base == 0x1000'0000);
    CHECK_FALSE(m.board.console().sifive);
    CHECK(m.board.console().reg_shift == 2);
    CHECK(m.board.console().reg_io_width == 4);
    CHECK(m.board.restart().gpio == 0);
}

TEST_CASE("qemu_virt: bus masters handed to the firmware by name", "[platform][dma][qemu]") {
    const std::vector<u8> blob = fdt_test::load("qemu-virt.dtb");

    SECTION("fw-cfg: the name before '@'") {
        const booted m(blob, "fw-cfg");
        REQUIRE(m.error == nullptr);
        CHECK(m.given() == std::vector<std::string>{"fw-cfg@10100000"});
        CHECK(m.bus_masters() == std::vector<region>{{0x300'0000, 0x1'0000},
                                                      {0x1000'1000, 0x8000},
                                                      {0x3000'0000, 0x5000'0000},
                                                      {0x4'0000'0000, 0x4'0000'0000}});
    }
    SECTION("pci@30000000: a whole name; its ECAM and windows go with it") {
        const booted m(blob, "pci@30000000");
        REQUIRE(m.error == nullptr);
        CHECK(m.given() == std::vector<std::string>{"pci@30000000"});
        CHECK(m.bus_masters() == std::vector<region>{{0x1000'1000, 0xf'f018}});
    }
    SECTION("virtio_mmio: every transport") {
        const booted m(blob, "virtio_mmio");
        REQUIRE(m.error == nullptr);
        CHECK(m.given() == std::vector<std::string>{"virtio_mmio@10008000", "virtio_mmio@10007000",
                                                    "virtio_mmio@10006000", "virtio_mmio@10005000",
                                                    "virtio_mmio@10004000", "virtio_mmio@10003000",
                                                    "virtio_mmio@10002000", "virtio_mmio@10001000"});
        CHECK(m.bus_masters() == std::vector<region>{{0x300'0000, 0x1'0000},
                                                      {0x1010'0000, 0x18},
                                                      {0x3000'0000, 0x5000'0000},
                                                      {0x4'0000'0000, 0x4'0000'0000}});
    }
    SECTION("a list, with empty items") {
        const booted m(blob, ",fw-cfg@10100000,,pci,");
        REQUIRE(m.error == nullptr);
        CHECK(m.given() == std::vector<std::string>{"fw-cfg@10100000", "pci@30000000"});
        CHECK(m.bus_masters() == std::vector<region>{{0x1000'1000, 0x8000}});
    }
    SECTION("names that match no node: nothing is given") {
        for (const char* given : {"fw", "fw-cfg@1010000", "fw-cfg@10100000x", "virtio_mmio@1000", "FW-CFG",
                                  "virtio", "@10100000", "serial", "memory", ",", "fw-cfg@"}) {
            INFO(given);
            const booted m(blob, given);
            REQUIRE(m.error == nullptr);
            CHECK(m.board.given_to_firmware() == 0);
            CHECK(m.bus_masters().size() == 4);
        }
    }
}

TEST_CASE("qemu_virt: one virtio-mmio transport handed to the firmware", "[platform][dma][qemu]") {
    // Its neighbours are not merged across it: the tail would deny it after all.
    const booted m(fdt_test::load("qemu-virt.dtb"), "virtio_mmio@10004000");
    REQUIRE(m.error == nullptr);
    CHECK(m.given() == std::vector<std::string>{"virtio_mmio@10004000"});
    CHECK(m.bus_masters() == std::vector<region>{{0x300'0000, 0x1'0000},
                                                  {0x1000'1000, 0x3000},
                                                  {0x1000'5000, 0xf'b018},
                                                  {0x3000'0000, 0x5000'0000},
                                                  {0x4'0000'0000, 0x4'0000'0000}});
}
#endif

/// A board with `count` virtio-mmio transports 1 MiB apart, each followed by a
/// UART, so that no two of them can be denied by one PMP entry.
static std::vector<u8> unmergeable_bus_masters(u64 count) {
    return board_blob([count](fdt_test::builder& b) {
        for (u64 i = 0; i < count; ++i) {
            device(b, "virtio_mmio@" + std::to_string(i), "virtio,mmio", 0x4000'0000 + i * 0x10'0000, 0x1000);
            device(b, "uart@" + std::to_string(i), "ns16550a", 0x4000'8000 + i * 0x10'0000, 0x100);
        }
    });
}

TEST_CASE("qemu_virt: bus masters on hand-built boards", "[platform][dma]") {
    SECTION("none") {
        const booted m(board_blob([](fdt_test::builder&) {}), "");
        REQUIRE(m.error == nullptr);
        CHECK(m.bus_masters().empty());
    }
    SECTION("16 ranges that cannot merge fit") {
        const booted m(unmergeable_bus_masters(16), "");
        REQUIRE(m.error == nullptr);
        REQUIRE(m.bus_masters().size() == 16);
        CHECK(m.bus_masters()[0] == region{0x4000'0000, 0x1000});
        CHECK(m.bus_masters()[15] == region{0x40f0'0000, 0x1000});
    }
    SECTION("17 are too many to deny") {
        const booted m(unmergeable_bus_masters(17), "");
        REQUIRE(m.error != nullptr);
        CHECK(std::string(m.error) == "the device tree's bus masters (DMA) are too many to deny");
    }
    SECTION("17 of which one is handed to the firmware fit") {
        const booted m(unmergeable_bus_masters(17), "virtio_mmio@16");
        REQUIRE(m.error == nullptr);
        CHECK(m.given() == std::vector<std::string>{"virtio_mmio@16"});
        CHECK(m.bus_masters().size() == 16);
    }
    SECTION("a bus master in RAM") {
        const booted m(board_blob([](fdt_test::builder& b) {
                           device(b, "virtio_mmio@8ff00000", "virtio,mmio", 0x8ff0'0000, 0x1000);
                       }),
                       "");
        REQUIRE(m.error != nullptr);
        CHECK(std::string(m.error) == "a bus master's registers overlap RAM in the device tree");
    }
    SECTION("a bus master in RAM handed to the firmware is no error") {
        const booted m(board_blob([](fdt_test::builder& b) {
                           device(b, "virtio_mmio@8ff00000", "virtio,mmio", 0x8ff0'0000, 0x1000);
                       }),
                       "virtio_mmio");
        CHECK(m.error == nullptr);
        CHECK(m.bus_masters().empty());
    }
    SECTION("a bus master that cannot be addressed") {
        const booted m(board_blob([](fdt_test::builder& b) {
                           b.begin("i2c").prop_string("compatible", "vendor,i2c").prop_u32("#address-cells", 1);
                           b.prop_u32("#size-cells", 1);  // no ranges: its children have no CPU address
                           b.begin("dma@50").prop_string("compatible", "vendor,dma").prop("dma-coherent", {});
                           b.prop("reg", cells({0x50, 0x10})).end_node();
                           b.end_node();
                       }),
                       "");
        REQUIRE(m.error != nullptr);
        CHECK(std::string(m.error) == "the device tree's bus masters (DMA) cannot be decoded");
    }
    SECTION("a bus master whose reg cannot be decoded") {
        const booted m(board_blob([](fdt_test::builder& b) {
                           // 3 cells where the root's entries have 2 + 2 (DT spec 2.3.6).
                           b.begin("virtio_mmio@40000000").prop_string("compatible", "virtio,mmio");
                           b.prop("reg", cells({0, 0x4000'0000, 0x1000})).end_node();
                       }),
                       "");
        REQUIRE(m.error != nullptr);
        CHECK(std::string(m.error) == "the device tree's bus masters (DMA) cannot be decoded");
    }
}

TEST_CASE("qemu_virt: more bus masters than ranges init() can collect", "[platform][dma]") {
    // init() collects at most 64 ranges before merging (4 per range it can
    // deny). 65 adjacent transports would merge into one, but a list without
    // the 65th would leave it to the firmware: init() refuses the tree.
    auto transports = [](u64 count) {
        return board_blob([count](fdt_test::builder& b) {
            for (u64 i = 0; i < count; ++i)
                device(b, "virtio_mmio@" + std::to_string(i), "virtio,mmio", 0x4000'0000 + i * 0x1000, 0x1000);
        });
    };
    const booted fit(transports(64), "");
    REQUIRE(fit.error == nullptr);
    CHECK(fit.bus_masters() == std::vector<region>{{0x4000'0000, 0x4'0000}});
    const booted m(transports(65), "");
    REQUIRE(m.error != nullptr);
    CHECK(std::string(m.error) == "the device tree's bus masters (DMA) have more ranges than the monitor can collect");
    const booted given(transports(65), "virtio_mmio@64");
    REQUIRE(given.error == nullptr);
    CHECK(given.bus_masters() == std::vector<region>{{0x4000'0000, 0x4'0000}});
}
