// SPDX-License-Identifier: MIT
// The board layer (platforms/qemu-virt) over real boards' device trees: the
// DTBs Debian's riscv64 kernel package ships (./vfm fetch puts them in the
// cache's dtbs/; test/unit/fdt/board_dtbs.py passes that directory in
// VFM_BOARD_DTBS). Per board: what init() finds (harts and which have an MMU,
// RAM, timer, console, exit device) with the monitor at the start of RAM, and
// the reservation the firmware then receives; where the board needs something
// the monitor does not support, the error or the missing device is checked
// by name. Expected values are read off `dtc -I dtb -O dts` of each tree and
// the SoC manuals (docs/boards.md), not from the code under test.
#include <vfm/fdt/tree.hpp>
#include <vfm/platform/qemu_virt.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "region_print.hpp"
#include "vfm_catch.hpp"

using namespace vfm;


namespace {

constexpr usize window = 2 * 1024 * 1024;
constexpr u64 monitor_size = 0x4'0000;

std::vector<u8> read_dtb(const std::string& relative) {
    const char* dir = std::getenv("VFM_BOARD_DTBS");
    REQUIRE(dir != nullptr);
    const std::string path = std::string(dir) + "/" + relative;
    std::vector<u8> data;
    FILE* f = std::fopen(path.c_str(), "rb");
    INFO("device tree " << path);
    REQUIRE(f != nullptr);
    u8 buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) data.insert(data.end(), buffer, buffer + n);
    std::fclose(f);
    REQUIRE(data.size() > 40);
    return data;
}

/// init() of a board with room for `MaxHarts` harts over `dtb`, the monitor
/// at `ram_base` and the firmware 1 MiB above it (the reference image's layout).
template <u32 MaxHarts>
struct board_run {
    board_run(const std::string& dtb, u64 ram_base) : memory(static_cast<u8*>(std::aligned_alloc(window, window))) {
        REQUIRE(memory != nullptr);
        const std::vector<u8> blob = read_dtb(dtb);
        REQUIRE(blob.size() <= window);
        std::memset(memory.get(), 0, window);
        std::memcpy(memory.get(), blob.data(), blob.size());
        monitor = {ram_base, monitor_size};
        error = board.init(reinterpret_cast<uptr>(memory.get()), monitor, ram_base + 0x10'0000, "");
    }
    /// The reservation node the firmware receives for `base`, as `name@<hex>`.
    [[nodiscard]] bool reserved(const char* name, u64 base, u64 size) const {
        const fdt::tree t(memory.get(), window);
        if (!t.ok()) return false;
        char path[96];
        std::snprintf(path, sizeof path, "/reserved-memory/%s@%llx", name, static_cast<unsigned long long>(base));
        const fdt::node n = t.find_path(path);
        if (!n) return false;
        const auto reg = t.reg(n);
        return reg && reg.value().base == base && reg.value().size == size && t.find_property(n, "no-map");
    }
    struct release {
        void operator()(u8* p) const { std::free(p); }
    };
    std::unique_ptr<u8, release> memory;
    region monitor{};
    platforms::qemu_virt<MaxHarts> board;
    const char* error = nullptr;
};

template <u32 N>
void check_harts(const board_run<N>& r, std::initializer_list<u64> ids) {
    REQUIRE(r.board.hart_count() == ids.size());
    u32 i = 0;
    for (const u64 id : ids) {
        CHECK(r.board.hart_id(i) == id);
        CHECK(r.board.hart_has_mmu(i));
        ++i;
    }
}

template <u32 N>
void check_reservations(const board_run<N>& r) {
    CHECK(r.reserved("vfm", r.monitor.base, r.monitor.size));
    CHECK(r.reserved("vfm-shared", r.monitor.end(), 4096));
}

}  // namespace

// StarFive JH7110: VisionFive 2 (v1.2a, v1.3b), Milk-V Mars, Pine64 Star64.
// cpu@0 is the S7 monitor core (rv64imac, no mmu-type) and the tree disables
// it: neither OpenSBI nor the monitor take it. RAM at 0x40000000 (4 GiB as the
// tree says; U-Boot fixes the size), the CLINT at 0x2000000
// ("starfive,jh7110-clint", "sifive,clint0"), the console serial0 =
// DesignWare APB UART at 0x10000000 (reg-shift 2, reg-io-width 4). The
// gpio-restart line is on the JH7110's pin controller, which the monitor does
// not drive: no exit device (its exit parks the hart).
TEST_CASE("board DTBs: StarFive JH7110 boards", "[platform][boards]") {
    for (const char* dtb : {"starfive/jh7110-starfive-visionfive-2-v1.2a.dtb",
                            "starfive/jh7110-starfive-visionfive-2-v1.3b.dtb", "starfive/jh7110-milkv-mars.dtb",
                            "starfive/jh7110-pine64-star64.dtb"}) {
        INFO(dtb);
        const board_run<8> r(dtb, 0x4000'0000);
        REQUIRE(r.error == nullptr);
        check_harts(r, {1, 2, 3, 4});
        CHECK(r.board.layout().ram == region{0x4000'0000, 0x1'0000'0000});
        CHECK(r.board.layout().mswi == region{0x200'0000, 0x4000});
        CHECK(r.board.layout().mtimer.base == 0x200'4000);
        CHECK(r.board.console().base == 0x1000'0000);
        CHECK_FALSE(r.board.console().sifive);
        CHECK(r.board.console().reg_shift == 2);
        CHECK(r.board.console().reg_io_width == 4);
        CHECK(r.board.test_finisher() == 0);
        CHECK(r.board.restart().gpio == 0);  // unsupported: the restart line's controller
        CHECK(r.board.layout().bus_master_count > 0);  // Ethernet, SD/MMC, USB, PCIe, DMA
        check_reservations(r);
    }
}

// SiFive HiFive Unmatched (FU740): cpu@0 is the S7 (rv64imac), disabled; four
// U74s. RAM 16 GiB at 0x80000000. Linux's tree has no CLINT node: the FU740's
// is at 0x2000000 (the one SoC fact the board layer keeps). Console serial0 =
// SiFive UART at 0x10010000. Only gpio-poweroff (GPIO 2), no restart line and
// no finisher: no exit device.
TEST_CASE("board DTBs: SiFive HiFive Unmatched", "[platform][boards]") {
    const board_run<8> r("sifive/hifive-unmatched-a00.dtb", 0x8000'0000);
    REQUIRE(r.error == nullptr);
    check_harts(r, {1, 2, 3, 4});
    CHECK(r.board.layout().ram == region{0x8000'0000, 0x4'0000'0000});
    CHECK(r.board.layout().mswi == region{0x200'0000, 0x4000});
    CHECK(r.board.console().base == 0x1001'0000);
    CHECK(r.board.console().sifive);
    CHECK(r.board.test_finisher() == 0);
    CHECK(r.board.restart().gpio == 0);  // unsupported: gpio-poweroff
    check_reservations(r);
}

// SiFive HiFive Unleashed (FU540): the E51 disabled, four U54s, 8 GiB at
// 0x80000000, the CLINT at 0x2000000 (not in the tree), console serial0 =
// SiFive UART at 0x10010000, gpio-restart = GPIO 10 of the SiFive GPIO at
// 0x10060000, active low (as on QEMU sifive_u).
TEST_CASE("board DTBs: SiFive HiFive Unleashed", "[platform][boards]") {
    const board_run<8> r("sifive/hifive-unleashed-a00.dtb", 0x8000'0000);
    REQUIRE(r.error == nullptr);
    check_harts(r, {1, 2, 3, 4});
    CHECK(r.board.layout().ram == region{0x8000'0000, 0x2'0000'0000});
    CHECK(r.board.layout().mswi == region{0x200'0000, 0x4000});
    CHECK(r.board.console().base == 0x1001'0000);
    CHECK(r.board.console().sifive);
    CHECK(r.board.restart().gpio == 0x1006'0000);
    CHECK(r.board.restart().pin == 10);
    CHECK(r.board.restart().active_low);
    check_reservations(r);
}

// Microchip PolarFire SoC Icicle Kit: the E51 disabled, four U54s; RAM in two
// regions, the first 1 GiB at 0x80000000 (the monitor takes that one); the
// CLINT at 0x2000000 ("sifive,fu540-c000-clint"); the console serial1 (with
// ":115200n8") = a 16550 at 0x20100000 with reg-shift 2 and reg-io-width 4; no
// exit device.
TEST_CASE("board DTBs: Microchip PolarFire Icicle Kit", "[platform][boards]") {
    const board_run<8> r("microchip/mpfs-icicle-kit.dtb", 0x8000'0000);
    REQUIRE(r.error == nullptr);
    check_harts(r, {1, 2, 3, 4});
    CHECK(r.board.layout().ram == region{0x8000'0000, 0x4000'0000});
    CHECK(r.board.layout().mswi == region{0x200'0000, 0x4000});
    CHECK(r.board.console().base == 0x2010'0000);
    CHECK_FALSE(r.board.console().sifive);
    CHECK(r.board.console().reg_shift == 2);
    CHECK(r.board.console().reg_io_width == 4);
    CHECK(r.board.test_finisher() == 0);
    CHECK(r.board.restart().gpio == 0);
    check_reservations(r);
}

// Sophgo SG2042 (Milk-V Pioneer): 64 C920 harts, all with an MMU; console
// serial0 = DesignWare APB UART at 0x7040000000. Not supported, by name: the
// tree has no memory node (firmware fills it in), and its timer is T-Head's
// ACLINT flavour (16 "thead,c900-aclint-mtimer" nodes, one per cluster, and a
// "thead,c900-aclint-mswi"), which the board layer does not take.
TEST_CASE("board DTBs: Sophgo SG2042 Milk-V Pioneer (not supported)", "[platform][boards]") {
    const board_run<64> r("sophgo/sg2042-milkv-pioneer.dtb", 0x0);
    REQUIRE(r.error != nullptr);
    CHECK(std::string(r.error) == "the device tree lists no memory");
    CHECK(r.board.hart_count() == 64);
    for (u32 i = 0; i < 64; ++i) CHECK(r.board.hart_has_mmu(i));
    CHECK(r.board.console().base == 0x70'4000'0000);
    CHECK(r.board.console().reg_shift == 2);
    const board_run<8> small("sophgo/sg2042-milkv-pioneer.dtb", 0x0);
    CHECK(std::string(small.error) == "the device tree has more harts than this build supports (max_harts)");
}
