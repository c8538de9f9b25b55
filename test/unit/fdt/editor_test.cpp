// SPDX-License-Identifier: MIT
// vfm::fdt::editor and reserve_memory: every edit is read back through a fresh,
// fully validating tree over the edited bytes.
#include <vfm/fdt/discover.hpp>
#include <vfm/fdt/editor.hpp>

#include <string>
#include <vector>

#include "fdt_test_util.hpp"
#include "vfm_catch.hpp"

using namespace vfm;
using namespace vfm::fdt;

namespace {

/// A blob loaded into a buffer with `spare` bytes of room to grow.
struct workspace {
    std::vector<u8> buffer;
    u32 original_size;

    explicit workspace(const char* file, u32 spare = 4096) : buffer(fdt_test::load(file)) {
        const tree t(buffer.data(), buffer.size());
        original_size = t.total_size();
        buffer.resize(original_size + spare, 0xa5);  // poison: the editor must not rely on zeroed spare space
    }
    /// An independent reader over the current bytes.
    tree reread() const { return tree(buffer.data(), buffer.size()); }
};

/// Checks the header invariants the editor promises after every edit.
void check_layout(const std::vector<u8>& blob) {
    const u32 totalsize = fdt_test::header(blob, 4);
    const u32 off_struct = fdt_test::header(blob, 8);
    const u32 off_strings = fdt_test::header(blob, 12);
    const u32 off_rsvmap = fdt_test::header(blob, 16);
    CHECK(fdt_test::header(blob, 20) == 17);
    CHECK(fdt_test::header(blob, 24) == 16);
    CHECK(off_rsvmap < off_struct);
    CHECK(off_struct + fdt_test::header(blob, 36) <= off_strings);
    CHECK(totalsize == off_strings + fdt_test::header(blob, 32));
    CHECK(off_struct % 4 == 0);
    CHECK(off_rsvmap % 8 == 0);
}

std::string name_of(const tree& t, node n) { return t.name(n) == nullptr ? "<none>" : t.name(n); }

u32 children_count(const tree& t, node n) {
    u32 count = 0;
    for (node c = t.first_child(n); c; c = t.next_sibling(c)) ++count;
    return count;
}

}  // namespace

TEST_CASE("editor: reserve_memory on board.dts creates /reserved-memory (DT spec 3.5)") {
    workspace w("board.dtb");
    editor e(w.buffer.data(), w.buffer.size());
    REQUIRE(e.ok());
    CHECK(e.size() == w.original_size);
    CHECK(e.capacity() == w.buffer.size());

    const result<node> added = reserve_memory(e, "vfm", 0x80000000, 0x100000);
    REQUIRE(added.ok());
    check_layout(w.buffer);

    const tree t = w.reread();
    REQUIRE(t.ok());
    CHECK(t.total_size() == e.size());
    CHECK(t.total_size() > w.original_size);
    const node rm = t.find_path("/reserved-memory");
    REQUIRE(rm);
    CHECK(t.parent(rm) == t.root());
    CHECK(t.find_property(rm, "#address-cells").as_u32().value() == 2);  // the root's cells
    CHECK(t.find_property(rm, "#size-cells").as_u32().value() == 2);
    CHECK(t.find_property(rm, "ranges").is_empty());
    const node vfm = t.find_path("/reserved-memory/vfm@80000000");
    REQUIRE(vfm);
    CHECK(vfm == added.value());
    CHECK(t.reg(vfm).value() == region{0x80000000, 0x100000});
    CHECK(t.find_property(vfm, "reg").size() == 16);
    CHECK(t.find_property(vfm, "no-map").is_empty());

    SECTION("the rest of the tree is unchanged") {
        CHECK(t.reservation_count() == 2);
        CHECK(t.reservation(1).value() == region{0x90000000, 0x1000});
        CHECK(clint_region(t).value() == region{0x2000000, 0x10000});
        CHECK(hart_count(t) == 4);
        CHECK(std::string(bootargs(t)) == "console=ttyS0 earlycon");
        CHECK(t.find_property(t.find_path("/props"), "u64").as_u64().value() == 0x123456789abcdef0);
        CHECK(name_of(t, t.next_sibling(t.find_path("/defaults"))) == "reserved-memory");
        region regions[4] = {};
        CHECK(memory_regions(t, regions, 4) == 3);
    }
    SECTION("a second reservation goes into the same node") {
        const u32 before = e.size();
        const result<node> second = reserve_memory(e, "fw", 0x80100000, 0x80000);
        REQUIRE(second.ok());
        check_layout(w.buffer);
        const tree t2 = w.reread();
        REQUIRE(t2.ok());
        CHECK(t2.reg(t2.find_path("/reserved-memory/fw@80100000")).value() == region{0x80100000, 0x80000});
        CHECK(t2.reg(t2.find_path("/reserved-memory/vfm@80000000")).value() == region{0x80000000, 0x100000});
        // Only a node with two properties whose names are already in the strings block.
        CHECK(e.size() - before == 4 + 12 /* "fw@80100000\0" */ + 4 + (12 + 16) + 12);
    }
    SECTION("the same name twice is refused") {
        const std::vector<u8> before = w.buffer;
        CHECK(reserve_memory(e, "vfm", 0x80000000, 0x1000).error() == error::exists);
        CHECK(w.buffer == before);
    }
    SECTION("bad arguments") {
        CHECK(reserve_memory(e, "vfm", 0x1000, 0).error() == error::bad_argument);
        CHECK(reserve_memory(e, "bad name", 0x1000, 0x1000).error() == error::bad_argument);
        CHECK(reserve_memory(e, "0digit", 0x1000, 0x1000).error() == error::bad_argument);
        CHECK(reserve_memory(e, "a-name-that-is-much-too-long-for-dt", 0x1000, 0x1000).error() ==
              error::bad_argument);
    }
}

TEST_CASE("editor: reserve_memory encodes reg with the cells in use") {
    SECTION("a 32-bit root: /reserved-memory gets <1> <1>") {
        workspace w("small32.dtb");
        editor e(w.buffer.data(), w.buffer.size());
        REQUIRE(e.ok());
        CHECK(reserve_memory(e, "vfm", 0x100000000, 0x1000).error() == error::bad_value);  // needs 2 cells
        CHECK(reserve_memory(e, "vfm", 0x1000, 0x100000000).error() == error::bad_value);
        REQUIRE(reserve_memory(e, "vfm", 0x87e00000, 0x200000).ok());
        const tree t = w.reread();
        REQUIRE(t.ok());
        const node rm = t.find_path("/reserved-memory");
        CHECK(t.find_property(rm, "#address-cells").as_u32().value() == 1);
        CHECK(t.find_property(rm, "#size-cells").as_u32().value() == 1);
        const property reg = t.find_property(t.find_path("/reserved-memory/vfm@87e00000"), "reg");
        REQUIRE(reg.size() == 8);
        CHECK(reg.cell(0).value() == 0x87e00000);
        CHECK(reg.cell(1).value() == 0x200000);
    }
    SECTION("an existing /reserved-memory with <2> <1>") {
        workspace w("existing.dtb");
        editor e(w.buffer.data(), w.buffer.size());
        REQUIRE(e.ok());
        REQUIRE(reserve_memory(e, "vfm", 0x80000000, 0x40000).ok());
        const tree t = w.reread();
        REQUIRE(t.ok());
        CHECK(children_count(t, t.find_path("/reserved-memory")) == 2);
        const property reg = t.find_property(t.find_path("/reserved-memory/vfm@80000000"), "reg");
        REQUIRE(reg.size() == 12);
        CHECK(reg.cell(0).value() == 0);
        CHECK(reg.cell(1).value() == 0x80000000);
        CHECK(reg.cell(2).value() == 0x40000);
        CHECK(t.reg(t.find_path("/reserved-memory/mmode_resv0@80040000")).value() == region{0x80040000, 0x20000});
        // Only one /reserved-memory.
        u32 count = 0;
        for (node c = t.first_child(t.root()); c; c = t.next_sibling(c)) count += t.name_equals(c, "reserved-memory");
        CHECK(count == 1);
    }
}

TEST_CASE("editor: properties") {
    workspace w("board.dtb");
    editor e(w.buffer.data(), w.buffer.size());
    REQUIRE(e.ok());
    const node props = e.view().find_path("/props");
    REQUIRE(props);
    const u32 strings_before = fdt_test::header(w.buffer, 32);

    SECTION("a new property whose name is already in the strings block") {
        REQUIRE(e.set_string(props, "compatible", "vfm,props") == error::none);
        CHECK(fdt_test::header(w.buffer, 32) == strings_before);
        const tree t = w.reread();
        CHECK(t.is_compatible(t.find_path("/props"), "vfm,props"));
        CHECK(t.find_compatible("vfm,props") == t.find_path("/props"));
    }
    SECTION("a new name is appended to the strings block") {
        REQUIRE(e.set_u32(props, "vfm,new", 42) == error::none);
        CHECK(fdt_test::header(w.buffer, 32) == strings_before + 8);  // "vfm,new\0"
        REQUIRE(e.set_u32(e.view().find_path("/plain"), "vfm,new", 43) == error::none);
        CHECK(fdt_test::header(w.buffer, 32) == strings_before + 8);  // reused
        const tree t = w.reread();
        CHECK(t.find_property(t.find_path("/props"), "vfm,new").as_u32().value() == 42);
        CHECK(t.find_property(t.find_path("/plain"), "vfm,new").as_u32().value() == 43);
    }
    SECTION("a name that is the tail of an existing string is reused") {
        // "#size-cells" is in the strings block, so "size-cells" needs no new string.
        REQUIRE(e.set_u32(props, "size-cells", 1) == error::none);
        CHECK(fdt_test::header(w.buffer, 32) == strings_before);
        CHECK(w.reread().find_property(w.reread().find_path("/props"), "size-cells").as_u32().value() == 1);
    }
    SECTION("new properties go after the existing ones, before subnodes") {
        REQUIRE(e.set_empty(props, "last") == error::none);
        const tree t = w.reread();
        std::vector<std::string> names;
        for (property p = t.first_property(t.find_path("/props")); p; p = t.next_property(p)) names.push_back(p.name());
        CHECK(names.back() == "last");
        CHECK(names.size() == 9);
        CHECK(name_of(t, t.first_child(t.find_path("/props"))) == "ok-status");
    }
    SECTION("replacing values grows and shrinks in place") {
        const node n = props;
        REQUIRE(e.set_string(n, "str", "a much longer string than before") == error::none);
        check_layout(w.buffer);
        CHECK(std::string(w.reread().find_property(w.reread().find_path("/props"), "str").as_string()) ==
              "a much longer string than before");
        REQUIRE(e.set_string(n, "str", "x") == error::none);
        check_layout(w.buffer);
        REQUIRE(e.set_u64(n, "u32", 0x1122334455667788) == error::none);
        REQUIRE(e.set_empty(n, "u64") == error::none);
        const u32 cells[] = {7, 8, 9};
        REQUIRE(e.set_cells(n, "cells", cells, 3) == error::none);
        const u8 bytes[] = {9, 8, 7, 6, 5};
        REQUIRE(e.set_property(n, "bytes", bytes, 5) == error::none);
        check_layout(w.buffer);

        const tree t = w.reread();
        REQUIRE(t.ok());
        const node p = t.find_path("/props");
        CHECK(t.find_property(p, "str").string_equals("x"));
        CHECK(t.find_property(p, "u32").as_u64().value() == 0x1122334455667788);
        CHECK(t.find_property(p, "u64").is_empty());
        CHECK(t.find_property(p, "cells").cell_count() == 3);
        CHECK(t.find_property(p, "cells").cell(2).value() == 9);
        CHECK(t.find_property(p, "bytes").size() == 5);
        CHECK(t.find_property(p, "bytes").data()[4] == 5);
        // Untouched neighbours.
        CHECK(t.find_property(p, "empty").is_empty());
        CHECK(t.find_property(p, "list").contains("gamma"));
        CHECK(t.find_property(p, "unterminated").size() == 3);
        CHECK(t.find_property(t.find_path("/props/ok-status"), "status").string_equals("ok"));
        CHECK(t.reg(t.find_path("/defaults/child@1")).value() == region{0x100000000, 0x1000});
    }
    SECTION("the same size rewrites in place") {
        const u32 before = e.size();
        REQUIRE(e.set_u32(props, "u32", 5) == error::none);
        CHECK(e.size() == before);
        CHECK(w.reread().find_property(w.reread().find_path("/props"), "u32").as_u32().value() == 5);
    }
    SECTION("remove") {
        REQUIRE(e.remove_property(props, "list") == error::none);
        check_layout(w.buffer);
        CHECK(e.remove_property(props, "list") == error::not_found);
        const tree t = w.reread();
        REQUIRE(t.ok());
        CHECK(!t.find_property(t.find_path("/props"), "list"));
        CHECK(t.find_property(t.find_path("/props"), "bytes").size() == 3);
        CHECK(t.find_property(t.find_path("/props"), "str").string_equals("hello"));
        CHECK(t.total_size() < w.original_size);
    }
    SECTION("bad names and handles") {
        CHECK(e.set_u32(props, "", 1) == error::bad_argument);
        CHECK(e.set_u32(props, "has space", 1) == error::bad_argument);
        CHECK(e.set_u32(props, "a-property-name-of-32-characters", 1) == error::bad_argument);
        CHECK(e.set_u32(props, "a-property-name-of-31-character", 1) == error::none);
        CHECK(e.set_u32(node{}, "x", 1) == error::bad_argument);
        CHECK(e.set_u32(node{2}, "x", 1) == error::bad_argument);
        CHECK(e.set_property(props, "x", static_cast<const u8*>(nullptr), 4) == error::bad_argument);
        CHECK(e.remove_property(node{}, "x") == error::bad_argument);
        CHECK(e.set_string(props, "x", nullptr) == error::bad_argument);
    }
    SECTION("a handle of the edited node stays valid") {
        REQUIRE(e.set_u32(props, "one", 1) == error::none);
        REQUIRE(e.set_u32(props, "two", 2) == error::none);
        CHECK(e.view().find_property(props, "one").as_u32().value() == 1);
        CHECK(e.view().name_equals(props, "props"));
    }
}

TEST_CASE("editor: nodes") {
    workspace w("board.dtb");
    editor e(w.buffer.data(), w.buffer.size());
    REQUIRE(e.ok());
    const tree& v = e.view();

    SECTION("add with and without unit address") {
        const result<node> a = e.add_node(v.find_path("/soc"), "timer", 0x2004000);
        REQUIRE(a.ok());
        CHECK(name_of(v, a.value()) == "timer@2004000");
        REQUIRE(e.set_string(a.value(), "compatible", "vfm,timer") == error::none);
        const result<node> b = e.add_node(v.root(), "extra");
        REQUIRE(b.ok());
        const result<node> c = e.add_node(b.value(), "inner@0");
        REQUIRE(c.ok());
        check_layout(w.buffer);

        const tree t = w.reread();
        REQUIRE(t.ok());
        CHECK(t.find_compatible("vfm,timer") == t.find_path("/soc/timer@2004000"));
        CHECK(t.reg(t.find_path("/soc/timer")).error() == error::not_found);
        CHECK(t.find_path("/extra/inner") == t.find_path("/extra/inner@0"));
        CHECK(t.parent(t.find_path("/extra/inner@0")) == t.find_path("/extra"));
        CHECK(name_of(t, t.next_sibling(t.find_path("/defaults"))) == "extra");
        CHECK(!t.first_child(t.find_path("/soc/timer@2004000")));
        CHECK(e.add_node(v.root(), "extra").error() == error::exists);
        CHECK(e.add_node(v.root(), "twin@1").error() == error::exists);
        // A different unit address is a different name.
        CHECK(e.add_node(v.root(), "twin@3").ok());
        CHECK(!w.reread().find_path("/twin"));
    }
    SECTION("names are checked (DT spec 2.2.1)") {
        const node root = v.root();
        for (const char* bad : {"", "1abc", "a@", "@1", "a@b@c", "a b", "a/b", "abcdefghijklmnopqrstuvwxyz012345",
                                "a@abcdefghijklmnopqrstuvwxyz0123456789"}) {
            INFO(bad);
            CHECK(e.add_node(root, bad).error() == error::bad_argument);
        }
        CHECK(e.add_node(root, "abcdefghijklmnopqrstuvwxyz01234@1,2").ok());
        CHECK(e.add_node(node{}, "x").error() == error::bad_argument);
    }
    SECTION("remove") {
        REQUIRE(e.remove_node(v.find_path("/twin@1")) == error::none);
        check_layout(w.buffer);
        const tree t = w.reread();
        REQUIRE(t.ok());
        CHECK(!t.find_path("/twin@1"));
        CHECK(t.find_property(t.find_path("/twin"), "value").as_u32().value() == 2);  // now unambiguous
        REQUIRE(e.remove_node(v.find_path("/soc")) == error::none);
        CHECK(!e.view().find_compatible("riscv,clint0"));
        CHECK(e.view().find_path("/props/ok-status"));
        CHECK(e.remove_node(v.root()) == error::bad_argument);
        CHECK(e.remove_node(node{}) == error::bad_argument);
        REQUIRE(e.remove_node(v.find_path("/defaults")) == error::none);  // the last node
        CHECK(name_of(v, v.next_sibling(v.find_path("/plain@20"))) == "props");
        CHECK(!v.next_sibling(v.find_path("/props")));
        check_layout(w.buffer);
    }
}

TEST_CASE("editor: memory reservation block (DT spec 5.3)") {
    workspace w("board.dtb");
    editor e(w.buffer.data(), w.buffer.size());
    REQUIRE(e.ok());
    REQUIRE(e.add_memory_reservation(0x87e00000, 0x200000) == error::none);
    CHECK(e.add_memory_reservation(0x1000, 0) == error::bad_argument);
    check_layout(w.buffer);
    const tree t = w.reread();
    REQUIRE(t.ok());
    REQUIRE(t.reservation_count() == 3);
    CHECK(t.reservation(0).value() == region{0x80000000, 0x20000});
    CHECK(t.reservation(1).value() == region{0x90000000, 0x1000});
    CHECK(t.reservation(2).value() == region{0x87e00000, 0x200000});
    CHECK(t.reg(t.find_path("/memory@80000000")).value() == region{0x80000000, 0x40000000});
    CHECK(e.size() == w.original_size + 16);
}

TEST_CASE("editor: no space") {
    workspace w("board.dtb", 0);
    editor e(w.buffer.data(), w.buffer.size());
    REQUIRE(e.ok());
    CHECK(e.free_space() == 0);
    const std::vector<u8> before = w.buffer;
    const node props = e.view().find_path("/props");
    CHECK(reserve_memory(e, "vfm", 0x80000000, 0x100000).error() == error::no_space);
    CHECK(e.add_node(props, "child").error() == error::no_space);
    CHECK(e.set_u32(props, "new-name", 1) == error::no_space);
    CHECK(e.set_u32(props, "compatible", 1) == error::no_space);
    CHECK(e.set_u64(props, "u32", 1) == error::no_space);
    CHECK(e.add_memory_reservation(0x1000, 0x1000) == error::no_space);
    CHECK(w.buffer == before);
    // Shrinking still works, and frees room.
    REQUIRE(e.remove_property(props, "list") == error::none);
    CHECK(e.free_space() == 12 + 20);  // the FDT_PROP header and "alpha\0beta\0\0gamma\0" (18 bytes) padded to 20
    CHECK(e.set_u32(props, "u32", 7) == error::none);
    CHECK(w.reread().ok());

    SECTION("reserve_memory with a few bytes short changes nothing") {
        workspace w2("board.dtb", 100);
        editor e2(w2.buffer.data(), w2.buffer.size());
        const std::vector<u8> untouched = w2.buffer;
        CHECK(reserve_memory(e2, "vfm", 0x80000000, 0x100000).error() == error::no_space);
        CHECK(w2.buffer == untouched);
    }
}

TEST_CASE("editor: refuses what it cannot keep valid") {
    SECTION("an invalid blob") {
        std::vector<u8> junk(64, 0);
        editor e(junk.data(), junk.size());
        CHECK(e.status() == error::bad_magic);
        CHECK(e.free_space() == 0);
        CHECK(reserve_memory(e, "vfm", 0x80000000, 0x1000).error() == error::bad_magic);
        CHECK(e.add_memory_reservation(1, 1) == error::bad_magic);
        CHECK(e.set_u32(node{0}, "x", 1) == error::bad_magic);
    }
    SECTION("capacity below totalsize") {
        std::vector<u8> blob = fdt_test::load("board.dtb");
        editor e(blob.data(), blob.size() - 1);
        CHECK(e.status() == error::truncated);
    }
    SECTION("strings block before the structure block") {
        fdt_test::builder b;
        b.begin("").prop_u32("#address-cells", 2).begin("a").end_node().end_node().end();
        std::vector<u8> blob = b.build(true);
        blob.resize(blob.size() + 256);
        REQUIRE(tree(blob.data(), blob.size()).ok());
        editor e(blob.data(), blob.size());
        CHECK(e.status() == error::unsupported);
    }
}

TEST_CASE("editor: a long random sequence of edits keeps the blob valid") {
    workspace w("board.dtb", 64 * 1024);
    editor e(w.buffer.data(), w.buffer.size());
    REQUIRE(e.ok());
    u64 state = 0x9e3779b97f4a7c15;
    const auto next = [&state](u32 bound) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        return static_cast<u32>((state >> 33) % bound);
    };
    const char* names[] = {"alpha", "beta", "gamma", "reg", "compatible", "vfm,x", "status", "ranges"};
    u32 edits = 0;
    for (int step = 0; step < 600; ++step) {
        // Pick a node uniformly among all nodes in document order.
        std::vector<node> nodes;
        for (node n = e.view().root(); n; n = e.view().next_node(n)) nodes.push_back(n);
        REQUIRE(!nodes.empty());
        const node n = nodes[next(static_cast<u32>(nodes.size()))];
        const char* name = names[next(8)];
        error err = error::none;
        switch (next(7)) {
            case 0: err = e.set_u32(n, name, next(1000)); break;
            case 1: {
                std::string value(next(40), 'v');
                err = e.set_string(n, name, value.c_str());
                if (err == error::none) CHECK(e.view().find_property(n, name).string_equals(value.c_str()));
                break;
            }
            case 2: err = e.set_empty(n, name); break;
            case 3: err = e.remove_property(n, name); break;
            case 4: {
                const result<node> added = e.add_node(n, "node", next(16));
                err = added.error();
                break;
            }
            case 5:
                err = n == e.view().root() ? error::none : e.remove_node(n);
                break;
            case 6: err = e.add_memory_reservation(0x100000 * (step + 1), 0x1000); break;
        }
        CHECK((err == error::none || err == error::not_found || err == error::exists || err == error::too_deep));
        edits += err == error::none;
        const tree t = w.reread();
        REQUIRE(t.status() == error::none);
        check_layout(w.buffer);
    }
    CHECK(edits > 300);
}
