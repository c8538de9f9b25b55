// SPDX-License-Identifier: MIT
// vfm/fdt/discover.hpp against board.dts and QEMU virt's documented tree.
#include <vfm/fdt/discover.hpp>

#include <string>
#include <vector>

#include "fdt_test_util.hpp"
#include "vfm_catch.hpp"

using namespace vfm;
using namespace vfm::fdt;

TEST_CASE("discover: harts of board.dts") {
    const std::vector<u8> blob = fdt_test::load("board.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    std::vector<u64> ids;
    std::vector<bool> enabled;
    for (node cpu = first_hart(t); cpu; cpu = next_hart(t, cpu)) {
        ids.push_back(hart_id(t, cpu).value());
        enabled.push_back(hart_enabled(t, cpu));
    }
    // cpu-map has no device_type "cpu" and is skipped.
    CHECK(ids == std::vector<u64>{0, 1, 2, 7});
    CHECK(enabled == std::vector<bool>{true, true, false, false});
    CHECK(hart_count(t) == 4);
    CHECK(hart_count(t, true) == 2);
    CHECK(find_hart(t, 7) == t.find_path("/cpus/cpu@7"));
    CHECK(!find_hart(t, 3));
    CHECK(std::string(hart_isa(t, find_hart(t, 0))) == "rv64imafdch_zicsr_zifencei_zba_zbb_sstc");
    CHECK(hart_isa(t, t.find_path("/cpus/cpu-map")) == nullptr);
    CHECK(!is_cpu(t, t.find_path("/cpus/cpu-map")));
}

TEST_CASE("discover: extensions from riscv,isa and riscv,isa-extensions") {
    const std::vector<u8> blob = fdt_test::load("board.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    SECTION("riscv,isa = \"rv64imafdch_zicsr_zifencei_zba_zbb_sstc\"") {
        const node cpu = find_hart(t, 0);
        for (const char* ext : {"i", "m", "a", "f", "d", "c", "h", "zicsr", "zifencei", "zba", "zbb", "sstc"}) {
            INFO(ext);
            CHECK(has_extension(t, cpu, ext));
        }
        for (const char* ext : {"v", "q", "zbc", "zb", "sst", "sstcx", "s", "rv64", "", "imafdch"}) {
            INFO(ext);
            CHECK(!has_extension(t, cpu, ext));
        }
    }
    SECTION("riscv,isa-extensions is authoritative when present") {
        // riscv,isa = "rv64imac"; riscv,isa-extensions = "i", "m", "a", "c", "zicsr", "svpbmt"
        const node cpu = find_hart(t, 1);
        for (const char* ext : {"i", "m", "a", "c", "zicsr", "svpbmt"}) {
            INFO(ext);
            CHECK(has_extension(t, cpu, ext));
        }
        for (const char* ext : {"f", "d", "sstc", "svpbm", ""}) {
            INFO(ext);
            CHECK(!has_extension(t, cpu, ext));
        }
    }
    SECTION("g stands for imafd_zicsr_zifencei") {
        const node cpu = find_hart(t, 2);  // "rv64gc"
        for (const char* ext : {"i", "m", "a", "f", "d", "c", "g", "zicsr", "zifencei"}) {
            INFO(ext);
            CHECK(has_extension(t, cpu, ext));
        }
        CHECK(!has_extension(t, cpu, "h"));
        CHECK(!has_extension(t, cpu, "zba"));
    }
    SECTION("version numbers") {
        const node cpu = find_hart(t, 7);  // "rv64i2p1_m2p0_zicsr2p0"
        CHECK(has_extension(t, cpu, "i"));
        CHECK(has_extension(t, cpu, "m"));
        CHECK(has_extension(t, cpu, "zicsr"));
        CHECK(!has_extension(t, cpu, "p"));
        CHECK(!has_extension(t, cpu, "a"));
        CHECK(!has_extension(t, cpu, "zics"));
    }
    SECTION("ISA strings on their own") {
        CHECK(isa_string_has_extension("RV64IMAC_Zicsr", "zicsr"));
        CHECK(isa_string_has_extension("RV64IMAC_Zicsr", "c"));
        CHECK(isa_string_has_extension("rv64imafdczicsr_zifencei", "zicsr"));  // first multi-letter without '_'
        CHECK(isa_string_has_extension("rv64imafdczicsr_zifencei", "zifencei"));
        CHECK(isa_string_has_extension("rv64imafdczicsr_zifencei", "c"));
        CHECK(isa_string_has_extension("rv32e", "e"));
        CHECK(isa_string_has_extension("rv64imac_zba2p0_xvendor1", "xvendor"));
        CHECK(isa_string_has_extension("rv64imac_zba2p0_xvendor1", "zba"));
        CHECK(isa_string_has_extension("rv64i_m_a", "a"));
        CHECK(isa_string_has_extension("rv64imafdcv_zvl128b", "zvl128b"));
        CHECK(!isa_string_has_extension("rv64imafdcv_zvl128b", "zvl"));
        CHECK(!isa_string_has_extension("rv64imac", "zicsr"));
        CHECK(!isa_string_has_extension("x64imac", "i"));
        CHECK(!isa_string_has_extension("rvimac", "i"));
        CHECK(!isa_string_has_extension("rv64", "i"));
        CHECK(!isa_string_has_extension("rv64imac", ""));
        CHECK(!isa_string_has_extension(nullptr, "i"));
        CHECK(!isa_string_has_extension("rv64imac_sstc", "s"));  // 's' starts a multi-letter name
    }
}

TEST_CASE("discover: timebase, memory, devices, chosen on board.dts") {
    const std::vector<u8> blob = fdt_test::load("board.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    SECTION("timebase-frequency: /cpus, or the cpu's own") {
        CHECK(timebase_frequency(t).value() == 10000000);
        CHECK(timebase_frequency(t, find_hart(t, 0)).value() == 10000000);
        CHECK(timebase_frequency(t, find_hart(t, 1)).value() == 4000000);  // /bits/ 64 <4000000>
    }
    SECTION("memory regions of enabled memory nodes") {
        region regions[4] = {};
        CHECK(memory_regions(t, regions, 4) == 3);
        CHECK(regions[0] == region{0x80000000, 0x40000000});
        CHECK(regions[1] == region{0x100000000, 0x20000000});
        CHECK(regions[2] == region{0x200000000, 0x100000000});
        CHECK(regions[3] == region{});
        region one[1] = {};
        CHECK(memory_regions(t, one, 1) == 3);
        CHECK(one[0] == region{0x80000000, 0x40000000});
        u32 nodes = 0;
        for (node n = first_memory(t); n; n = next_memory(t, n)) ++nodes;
        CHECK(nodes == 3);  // the disabled one included
    }
    SECTION("M-mode devices") {
        CHECK(clint_region(t).value() == region{0x2000000, 0x10000});
        CHECK(plic_region(t).value() == region{0xc000000, 0x600000});
        CHECK(uart_region(t).value() == region{0x10000000, 0x100});
        CHECK(test_device_region(t).value() == region{0x100000, 0x1000});
        // mswi@2100000 is disabled: the enabled one is used.
        CHECK(aclint_mswi_region(t).value() == region{0x2200000, 0x4000});
        CHECK(aclint_mtimer_region(t).value() == region{0x220c000, 0x8000});
        CHECK(aclint_mtimer_region(t, 1).value() == region{0x2204000, 0x8});
        CHECK(aclint_mtimer_region(t, 2).error() == error::not_found);
    }
    SECTION("device regions are CPU addresses") {
        CHECK(device_region(t, "vfm,gpio").value() == region{0x40003000, 0x100});
        CHECK(device_region(t, "vfm,widget").error() == error::not_found);
        CHECK(device_region(t, "nothing").error() == error::not_found);
        constexpr const char* either[] = {"nothing", "riscv,clint0"};
        CHECK(device_region(t, either).value() == region{0x2000000, 0x10000});
        CHECK(find_device(t, "riscv,aclint-mswi") == t.find_path("/soc/mswi@2200000"));
    }
    SECTION("/chosen") {
        CHECK(std::string(stdout_path(t)) == "serial0:115200n8");
        CHECK(std::string(bootargs(t)) == "console=ttyS0 earlycon");
        CHECK(stdout_node(t) == t.find_path("/soc/uart@10000000"));
        CHECK(chosen_node(t) == t.find_path("/chosen"));
    }
}

TEST_CASE("discover: a tree without /cpus, /chosen or devices") {
    const std::vector<u8> blob = fdt_test::load("small32.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());
    CHECK(!first_hart(t));
    CHECK(hart_count(t) == 0);
    CHECK(timebase_frequency(t).error() == error::not_found);
    CHECK(stdout_path(t) == nullptr);
    CHECK(bootargs(t) == nullptr);
    CHECK(!stdout_node(t));
    CHECK(clint_region(t).error() == error::not_found);
    region regions[2] = {};
    CHECK(memory_regions(t, regions, 2) == 1);
    CHECK(regions[0] == region{0x80000000, 0x8000000});
}

TEST_CASE("discover: an invalid tree answers nothing") {
    const tree t;
    CHECK(t.status() == error::bad_argument);
    CHECK(!first_hart(t));
    CHECK(hart_count(t) == 0);
    CHECK(!timebase_frequency(t));
    region regions[1] = {};
    CHECK(memory_regions(t, regions, 1) == 0);
    CHECK(!clint_region(t));
    CHECK(stdout_path(t) == nullptr);
    CHECK(!t.find_path("/"));
}

#ifdef VFM_FDT_HAVE_QEMU_DTB
TEST_CASE("discover: QEMU virt, -smp 4 -m 256M") {
    const std::vector<u8> blob = fdt_test::load("qemu-virt.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    std::vector<u64> ids;
    for (node cpu = first_hart(t); cpu; cpu = next_hart(t, cpu)) {
        ids.push_back(hart_id(t, cpu).value());
        CHECK(hart_enabled(t, cpu));
        CHECK(std::string(hart_isa(t, cpu)) == "rv64imafdch_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc");
        CHECK(has_extension(t, cpu, "sstc"));
        CHECK(has_extension(t, cpu, "h"));
        CHECK(has_extension(t, cpu, "zihintpause"));
        CHECK(!has_extension(t, cpu, "v"));
        CHECK(!has_extension(t, cpu, "zicbom"));
    }
    CHECK(ids == std::vector<u64>{0, 1, 2, 3});
    CHECK(timebase_frequency(t).value() == 10000000);

    region regions[2] = {};
    CHECK(memory_regions(t, regions, 2) == 1);
    CHECK(regions[0] == region{0x80000000, 0x10000000});

    CHECK(clint_region(t).value() == region{0x2000000, 0x10000});
    CHECK(plic_region(t).value().base == 0xc000000);
    CHECK(plic_region(t).value().size != 0);
    CHECK(uart_region(t).value().base == 0x10000000);
    CHECK(test_device_region(t).value().base == 0x100000);
    CHECK(!aclint_mswi_region(t));  // only with -M virt,aclint=on

    CHECK(std::string(stdout_path(t)) == "/soc/serial@10000000");
    CHECK(stdout_node(t) == t.find_path("/soc/serial@10000000"));
}
#endif
