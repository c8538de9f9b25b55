// SPDX-License-Identifier: MIT
// vfm::fdt::tree against board.dts: every expected value is read off board.dts.
#include <vfm/fdt/tree.hpp>

#include <string>
#include <vector>

#include "fdt_test_util.hpp"
#include "vfm_catch.hpp"

using namespace vfm;
using namespace vfm::fdt;

namespace {

std::string name_of(const tree& t, node n) {
    const char* s = t.name(n);
    return s == nullptr ? std::string("<none>") : std::string(s);
}

std::vector<std::string> children(const tree& t, node n) {
    std::vector<std::string> names;
    for (node c = t.first_child(n); c; c = t.next_sibling(c)) names.push_back(name_of(t, c));
    return names;
}

u32 value_of(const tree& t, const char* path) {
    return t.find_property(t.find_path(path), "value").as_u32().value_or(0);
}

}  // namespace

TEST_CASE("tree: header and memory reservation block of board.dts") {
    const std::vector<u8> blob = fdt_test::load("board.dtb");
    REQUIRE(!blob.empty());
    const tree t(blob.data(), blob.size());
    REQUIRE(t.status() == error::none);
    REQUIRE(t.ok());
    // dtc writes exactly totalsize bytes.
    CHECK(t.total_size() == blob.size());
    CHECK(t.boot_cpuid_phys() == 0);
    // /memreserve/ 0x80000000 0x20000; /memreserve/ 0x90000000 0x1000;
    REQUIRE(t.reservation_count() == 2);
    CHECK(t.reservation(0).value() == region{0x80000000, 0x20000});
    CHECK(t.reservation(1).value() == region{0x90000000, 0x1000});
    CHECK(t.reservation(2).error() == error::not_found);
}

TEST_CASE("tree: navigation") {
    const std::vector<u8> blob = fdt_test::load("board.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());
    const node root = t.root();
    REQUIRE(root);
    CHECK(name_of(t, root).empty());
    CHECK(t.depth(root).value() == 0);
    CHECK(!t.parent(root));

    SECTION("children of the root, in source order") {
        CHECK(children(t, root) == std::vector<std::string>{"aliases", "chosen", "cpus", "memory@80000000",
                                                             "memory@100000000", "memory@c0000000", "soc", "twin@1",
                                                             "twin@2", "solo@5", "plain", "plain@20", "props",
                                                             "defaults"});
    }
    SECTION("children of /cpus") {
        const node cpus = t.find_path("/cpus");
        CHECK(children(t, cpus) == std::vector<std::string>{"cpu@0", "cpu@1", "cpu@2", "cpu@7", "cpu-map"});
    }
    SECTION("a node without subnodes has no first child") {
        CHECK(!t.first_child(t.find_path("/cpus/cpu@0")));
        CHECK(!t.next_sibling(t.find_path("/defaults")));
    }
    SECTION("parent and depth") {
        const node core0 = t.find_path("/cpus/cpu-map/cluster0/core0");
        REQUIRE(core0);
        CHECK(t.depth(core0).value() == 4);
        CHECK(t.parent(core0) == t.find_path("/cpus/cpu-map/cluster0"));
        CHECK(t.parent(t.find_path("/cpus/cpu@1")) == t.find_path("/cpus"));
        CHECK(t.parent(t.find_path("/cpus")) == root);
        CHECK(t.parent(t.find_path("/soc/bus@40000000/gpio@3000")) == t.find_path("/soc/bus@40000000"));
    }
    SECTION("document order") {
        std::vector<std::string> order;
        for (node n = root; n; n = t.next_node(n)) order.push_back(name_of(t, n));
        REQUIRE(order.size() >= 8);
        CHECK(std::vector<std::string>(order.begin(), order.begin() + 8) ==
              std::vector<std::string>{"", "aliases", "chosen", "cpus", "cpu@0", "cpu@1", "cpu@2", "cpu@7"});
        CHECK(order.back() == "child@1");
        // 1 root + 14 root children + 5 in /cpus + cluster0, core0 + 13 under /soc + 2 in /props + 1 in /defaults
        CHECK(order.size() == 1 + 14 + 5 + 2 + 13 + 2 + 1);
    }
    SECTION("handles that are not nodes give nothing") {
        const node bogus[] = {node{}, node{2}, node{0xfffffff0}, node{static_cast<u32>(blob.size())},
                              node{t.first_property(root).offset()}};
        for (const node b : bogus) {
            CHECK(!t.first_child(b));
            CHECK(!t.next_sibling(b));
            CHECK(!t.parent(b));
            CHECK(!t.next_node(b));
            CHECK(t.name(b) == nullptr);
            CHECK(!t.first_property(b));
            CHECK(!t.depth(b));
            CHECK(!t.reg(b));
        }
    }
}

TEST_CASE("tree: path lookup (DT spec 2.2.3)") {
    const std::vector<u8> blob = fdt_test::load("board.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    CHECK(t.find_path("/") == t.root());
    CHECK(name_of(t, t.find_path("/cpus/cpu@1")) == "cpu@1");
    CHECK(name_of(t, t.find_path("/soc/clint@2000000")) == "clint@2000000");
    CHECK(name_of(t, t.find_path("/soc/bus@40000000/gpio@10000010")) == "gpio@10000010");

    SECTION("a component without unit address matches when unambiguous") {
        CHECK(name_of(t, t.find_path("/soc/clint")) == "clint@2000000");
        CHECK(name_of(t, t.find_path("/solo")) == "solo@5");
        CHECK(name_of(t, t.find_path("/memory@80000000")) == "memory@80000000");
        CHECK(!t.find_path("/memory"));  // three memory nodes
        CHECK(!t.find_path("/twin"));    // twin@1 and twin@2
        CHECK(!t.find_path("/cpus/cpu"));
        CHECK(t.find_child(t.root(), "twin").error() == error::ambiguous);
        CHECK(t.find_child(t.root(), "nothing").error() == error::not_found);
        CHECK(t.find_child(t.root(), "").error() == error::bad_argument);
    }
    SECTION("an exact name wins over a unit-address match") {
        CHECK(value_of(t, "/plain") == 10);
        CHECK(value_of(t, "/plain@20") == 20);
        CHECK(value_of(t, "/twin@2") == 2);
    }
    SECTION("names must match whole") {
        CHECK(!t.find_path("/cpu"));
        CHECK(!t.find_path("/cpus/cpu@"));
        CHECK(!t.find_path("/cpus/cpu@3"));
        CHECK(!t.find_path("/soc/clint@2"));
        CHECK(!t.find_path("/cpusx"));
        CHECK(!t.find_path("/cpus/cpu@0/nothing"));
        CHECK(!t.find_path(""));
    }
    SECTION("repeated and trailing slashes are tolerated") {
        CHECK(t.find_path("//cpus//cpu@0/") == t.find_path("/cpus/cpu@0"));
    }
    SECTION("aliases (DT spec 3.3)") {
        CHECK(t.find_path("serial0") == t.find_path("/soc/uart@10000000"));
        CHECK(t.find_path("console") == t.find_path("/soc/uart@10000000"));
        CHECK(t.find_path("bus/clint@2000000") == t.find_path("/soc/clint@2000000"));
        CHECK(t.find_path("bus/bus@40000000/gpio@3000") == t.find_path("/soc/bus@40000000/gpio@3000"));
        CHECK(!t.find_path("serial"));
        CHECK(!t.find_path("nosuchalias"));
    }
    SECTION("a length-limited path") {
        CHECK(t.find_path("/cpus/cpu@1:options", 11) == t.find_path("/cpus/cpu@1"));
        CHECK(t.find_path("serial0:115200n8", 7) == t.find_path("/soc/uart@10000000"));
        CHECK(t.find_path("/cpus/cpu@1", 5) == t.find_path("/cpus"));
    }
}

TEST_CASE("tree: property values (DT spec 2.2.4)") {
    const std::vector<u8> blob = fdt_test::load("board.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());
    const node props = t.find_path("/props");
    REQUIRE(props);

    SECTION("properties in source order") {
        std::vector<std::string> names;
        for (property p = t.first_property(props); p; p = t.next_property(p)) names.push_back(p.name());
        CHECK(names == std::vector<std::string>{"empty", "u32", "u64", "str", "list", "bytes", "cells",
                                                "unterminated"});
    }
    SECTION("empty") {
        const property p = t.find_property(props, "empty");
        CHECK(p.present());
        CHECK(p.is_empty());
        CHECK(p.size() == 0);
        CHECK(p.as_u32().error() == error::bad_value);
        CHECK(p.as_string() == nullptr);
    }
    SECTION("u32 and u64") {
        CHECK(t.find_property(props, "u32").as_u32().value() == 0xdeadbeef);
        CHECK(t.find_property(props, "u32").as_u64().error() == error::bad_value);
        CHECK(t.find_property(props, "u32").as_uint().value() == 0xdeadbeef);
        CHECK(t.find_property(props, "u64").as_u64().value() == 0x123456789abcdef0);
        CHECK(t.find_property(props, "u64").as_uint().value() == 0x123456789abcdef0);
        CHECK(t.find_property(props, "u64").as_u32().error() == error::bad_value);
        CHECK(t.find_property(props, "u64").cell(0).value() == 0x12345678);
        CHECK(t.find_property(props, "u64").cell(1).value() == 0x9abcdef0);
    }
    SECTION("string") {
        const property p = t.find_property(props, "str");
        CHECK(std::string(p.as_string()) == "hello");
        CHECK(p.string_equals("hello"));
        CHECK(!p.string_equals("hell"));
        CHECK(!p.string_equals("hello!"));
        CHECK(p.size() == 6);
    }
    SECTION("string list") {
        const property p = t.find_property(props, "list");
        CHECK(p.string_count() == 4);
        CHECK(p.contains("alpha"));
        CHECK(p.contains("beta"));
        CHECK(p.contains(""));
        CHECK(p.contains("gamma"));
        CHECK(!p.contains("alph"));
        CHECK(!p.contains("betagamma"));
        CHECK(std::string(p.string_at(0)) == "alpha");
        CHECK(std::string(p.string_at(2)).empty());
        CHECK(std::string(p.string_at(3)) == "gamma");
        CHECK(p.string_at(4) == nullptr);
        CHECK(std::string(p.as_string()) == "alpha");
        CHECK(!p.string_equals("alpha"));
    }
    SECTION("bytes and cells") {
        const property bytes = t.find_property(props, "bytes");
        REQUIRE(bytes.size() == 3);
        CHECK(bytes.data()[0] == 1);
        CHECK(bytes.data()[2] == 3);
        CHECK(bytes.as_u32().error() == error::bad_value);
        CHECK(bytes.cell_count() == 0);
        const property cells = t.find_property(props, "cells");
        CHECK(cells.cell_count() == 5);
        CHECK(cells.cell(0).value() == 1);
        CHECK(cells.cell(4).value() == 5);
        CHECK(cells.cell(5).error() == error::bad_value);
    }
    SECTION("a value without NUL is not a string") {
        const property p = t.find_property(props, "unterminated");
        CHECK(p.as_string() == nullptr);
        CHECK(!p.contains("abc"));
        CHECK(p.string_count() == 0);
        CHECK(!p.string_equals("abc"));
    }
    SECTION("absent properties") {
        const property p = t.find_property(props, "nothing");
        CHECK(!p.present());
        CHECK(p.as_u32().error() == error::not_found);
        CHECK(p.as_uint().error() == error::not_found);
        CHECK(p.as_string() == nullptr);
        CHECK(p.name() == nullptr);
        CHECK(!p.contains("x"));
        CHECK(!t.find_property(props, "u3").present());
        CHECK(!t.find_property(props, "u320").present());
        CHECK(!t.next_property(p));
    }
}

TEST_CASE("tree: reg, cells and ranges (DT spec 2.3.5, 2.3.6, 2.3.8)") {
    const std::vector<u8> blob = fdt_test::load("board.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    CHECK(t.address_cells(t.root()).value() == 2);
    CHECK(t.size_cells(t.root()).value() == 2);
    CHECK(t.address_cells(t.find_path("/cpus")).value() == 1);
    CHECK(t.size_cells(t.find_path("/cpus")).value() == 0);

    SECTION("#size-cells 0: the hart id alone") {
        CHECK(t.reg(t.find_path("/cpus/cpu@7")).value() == region{7, 0});
        CHECK(t.reg_count(t.find_path("/cpus/cpu@7")).value() == 1);
    }
    SECTION("several entries with 2 + 2 cells") {
        const node mem = t.find_path("/memory@100000000");
        CHECK(t.reg_count(mem).value() == 2);
        CHECK(t.reg(mem, 0).value() == region{0x100000000, 0x20000000});
        CHECK(t.reg(mem, 1).value() == region{0x200000000, 0x100000000});
        CHECK(t.reg(mem, 2).error() == error::not_found);
    }
    SECTION("defaults when the parent has no #address-cells / #size-cells: 2 and 1") {
        const node defaults = t.find_path("/defaults");
        CHECK(t.address_cells(defaults).value() == 2);
        CHECK(t.size_cells(defaults).value() == 1);
        CHECK(t.reg(t.find_path("/defaults/child@1")).value() == region{0x100000000, 0x1000});
    }
    SECTION("no reg") {
        CHECK(t.reg(t.find_path("/cpus")).error() == error::not_found);
        CHECK(t.reg(t.root()).error() == error::not_found);
    }
    SECTION("translation through ranges") {
        const node gpio = t.find_path("/soc/bus@40000000/gpio@3000");
        CHECK(t.reg(gpio).value() == region{0x3000, 0x100});
        CHECK(t.translate_address(gpio, 0x3000).value() == 0x40003000);
        const node gpio2 = t.find_path("/soc/bus@40000000/gpio@10000010");
        CHECK(t.translate_address(gpio2, 0x10000010).value() == 0x60000010);
        // 0x2000000 is outside both windows of bus@40000000.
        const node dma = t.find_path("/soc/bus@40000000/dma@2000000");
        CHECK(t.translate_address(dma, 0x2000000).error() == error::not_found);
        // island has no ranges: no mapping (DT spec 2.3.8).
        const node widget = t.find_path("/soc/island/widget@10");
        CHECK(t.translate_address(widget, 0x10).error() == error::not_found);
        // soc has an empty ranges: identity.
        CHECK(t.translate_address(t.find_path("/soc/clint"), 0x2000000).value() == 0x2000000);
        // children of the root are already CPU addresses.
        CHECK(t.translate_address(t.find_path("/memory@80000000"), 0x80000000).value() == 0x80000000);
    }
}

TEST_CASE("tree: compatible and status (DT spec 2.3.1, 2.3.4)") {
    const std::vector<u8> blob = fdt_test::load("board.dtb");
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());

    CHECK(t.find_compatible("riscv,clint0") == t.find_path("/soc/clint@2000000"));
    CHECK(t.find_compatible("sifive,clint0") == t.find_path("/soc/clint@2000000"));
    CHECK(t.find_compatible("vfm,board") == t.root());
    CHECK(t.find_compatible("syscon") == t.find_path("/soc/test@100000"));
    CHECK(!t.find_compatible("riscv,clint"));
    CHECK(!t.find_compatible("nothing"));

    const node gpio = t.find_compatible("vfm,gpio");
    CHECK(gpio == t.find_path("/soc/bus@40000000/gpio@3000"));
    const node gpio2 = t.next_compatible(gpio, "vfm,gpio");
    CHECK(gpio2 == t.find_path("/soc/bus@40000000/gpio@10000010"));
    CHECK(!t.next_compatible(gpio2, "vfm,gpio"));

    CHECK(t.is_enabled(t.find_path("/cpus/cpu@0")));   // "okay"
    CHECK(t.is_enabled(t.find_path("/cpus/cpu@1")));   // no status
    CHECK(!t.is_enabled(t.find_path("/cpus/cpu@2")));  // "disabled"
    CHECK(!t.is_enabled(t.find_path("/cpus/cpu@7")));  // "fail"
    CHECK(t.is_enabled(t.find_path("/props/ok-status")));
    CHECK(!t.is_enabled(t.find_path("/props/reserved-status")));
}

#ifdef VFM_FDT_HAVE_QEMU_DTB
TEST_CASE("tree: QEMU virt's own tree") {
    // qemu-system-riscv64 -M virt,dumpdtb=... -smp 4 -m 256M writes a 1 MiB file
    // holding a smaller blob: the bound is the file, the blob is totalsize.
    const std::vector<u8> blob = fdt_test::load("qemu-virt.dtb");
    REQUIRE(!blob.empty());
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());
    CHECK(t.total_size() <= blob.size());
    CHECK(t.address_cells(t.root()).value() == 2);
    CHECK(t.size_cells(t.root()).value() == 2);
    CHECK(children(t, t.find_path("/cpus")) ==
          std::vector<std::string>{"cpu@0", "cpu@1", "cpu@2", "cpu@3", "cpu-map"});
    CHECK(t.find_compatible("sifive,clint0") == t.find_path("/soc/clint@2000000"));
    CHECK(t.find_compatible("riscv,clint0") == t.find_path("/soc/clint"));
    CHECK(t.reg(t.find_path("/soc/clint@2000000")).value() == region{0x2000000, 0x10000});
    CHECK(t.reg(t.find_path("/memory@80000000")).value() == region{0x80000000, 0x10000000});
    CHECK(t.find_property(t.find_path("/soc/serial"), "compatible").string_equals("ns16550a"));
    const property test = t.find_property(t.find_path("/soc/test@100000"), "compatible");
    CHECK(test.string_count() == 3);
    CHECK(test.contains("sifive,test1"));
    CHECK(test.contains("sifive,test0"));
    CHECK(test.contains("syscon"));
    // The blob must stay intact under a bound exactly its size, and fail one byte short.
    CHECK(tree(blob.data(), t.total_size()).ok());
    CHECK(tree(blob.data(), t.total_size() - 1).status() == error::truncated);
}
#endif
