// SPDX-License-Identifier: MIT
// Hostile blobs: each one is rejected with the error the spec rule it breaks
// calls for, and none makes the reader read outside the blob or loop (run
// under -Db_sanitize=address,undefined to check the "outside").
#include <vfm/fdt/discover.hpp>
#include <vfm/fdt/editor.hpp>
#include <vfm/fdt/tree.hpp>

#include <cstdlib>
#include <vector>

#include "fdt_test_util.hpp"
#include "vfm_catch.hpp"

using namespace vfm;
using namespace vfm::fdt;
using fdt_test::builder;
using fdt_test::set_header;

namespace {

// Header field offsets (DT spec 5.2).
constexpr u32 f_totalsize = 4, f_off_struct = 8, f_off_strings = 12, f_off_rsvmap = 16, f_version = 20,
              f_last_comp = 24, f_size_strings = 32, f_size_struct = 36;

/// A minimal valid tree: / { #address-cells = <2>; a { }; };
builder minimal() {
    builder b;
    b.begin("").prop_u32("#address-cells", 2).begin("a").end_node().end_node().end();
    return b;
}

error status_of(const std::vector<u8>& blob) { return tree(blob.data(), blob.size()).status(); }

/// Exercises every query on `t`; only the absence of faults matters here.
u64 poke(const tree& t) {
    u64 sum = t.total_size() + t.reservation_count();
    for (u32 i = 0; i < 4; ++i) sum += t.reservation(i).value().size;
    u32 budget = 4096;
    for (node n = t.root(); n && budget > 0; n = t.next_node(n), --budget) {
        sum += t.name(n) != nullptr;
        sum += t.depth(n).value();
        sum += t.parent(n).offset();
        sum += t.first_child(n).offset() + t.next_sibling(n).offset();
        for (property p = t.first_property(n); p; p = t.next_property(p)) {
            sum += p.size() + p.string_count() + p.contains("okay") + (p.as_string() != nullptr);
            sum += p.as_uint().value() + p.cell(0).value();
        }
        sum += t.reg_count(n).value() + t.reg(n).value().base;
        sum += t.translate_address(n, 0x1000).value();
        sum += t.is_enabled(n) + t.is_compatible(n, "ns16550a");
    }
    sum += t.find_path("/soc/serial").offset() + t.find_path("serial0/x").offset();
    for (node cpu = first_hart(t); cpu; cpu = next_hart(t, cpu)) sum += has_extension(t, cpu, "sstc");
    region regions[4] = {};
    sum += memory_regions(t, regions, 4);
    sum += clint_region(t).value().base + uart_region(t).value().base + timebase_frequency(t).value();
    sum += stdout_node(t).offset();
    return sum;
}

}  // namespace

TEST_CASE("malformed: the hand-made minimal blob is valid") {
    const std::vector<u8> blob = minimal().build();
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());
    CHECK(t.find_path("/a"));
    CHECK(t.address_cells(t.root()).value() == 2);
}

TEST_CASE("malformed: header (DT spec 5.2)") {
    std::vector<u8> blob = minimal().build();

    SECTION("no blob, or a bound too small for the header") {
        CHECK(tree(static_cast<const u8*>(nullptr), 100).status() == error::bad_argument);
        CHECK(tree(blob.data(), 0).status() == error::truncated);
        CHECK(tree(blob.data(), 3).status() == error::truncated);
        CHECK(tree(blob.data(), 39).status() == error::truncated);
    }
    SECTION("every bound below totalsize") {
        for (usize bound = 0; bound < blob.size(); ++bound) {
            INFO(bound);
            CHECK(!tree(blob.data(), bound).ok());
        }
        CHECK(tree(blob.data(), blob.size()).ok());
    }
    SECTION("bad magic") {
        blob[0] = 0xfe;
        CHECK(status_of(blob) == error::bad_magic);
        blob[0] = 0xd0;
        blob[3] = 0xee;
        CHECK(status_of(blob) == error::bad_magic);
    }
    SECTION("versions (DT spec 5.1)") {
        set_header(blob, f_version, 16);
        CHECK(status_of(blob) == error::bad_version);
        set_header(blob, f_version, 18);
        set_header(blob, f_last_comp, 18);
        CHECK(status_of(blob) == error::bad_version);
        set_header(blob, f_last_comp, 17);
        CHECK(status_of(blob) == error::none);  // a later version compatible with 17 is read
        set_header(blob, f_version, 17);
        set_header(blob, f_last_comp, 2);
        CHECK(status_of(blob) == error::none);
    }
    SECTION("totalsize") {
        set_header(blob, f_totalsize, static_cast<u32>(blob.size() + 1));
        CHECK(status_of(blob) == error::truncated);
        set_header(blob, f_totalsize, 0xffffffff);
        CHECK(status_of(blob) == error::truncated);
        set_header(blob, f_totalsize, 20);
        CHECK(status_of(blob) == error::bad_layout);
        set_header(blob, f_totalsize, static_cast<u32>(blob.size() - 1));  // cuts the strings block
        CHECK(status_of(blob) == error::bad_layout);
    }
    SECTION("structure block out of bounds") {
        set_header(blob, f_off_struct, static_cast<u32>(blob.size() + 3) & ~3u);
        CHECK(status_of(blob) == error::bad_layout);
        set_header(blob, f_off_struct, 0xfffffffc);
        CHECK(status_of(blob) == error::bad_layout);
        set_header(blob, f_off_struct, 36);
        CHECK(status_of(blob) == error::bad_layout);  // inside the header
    }
    SECTION("structure block size past the end") {
        set_header(blob, f_size_struct, 0xfffffffc);
        CHECK(status_of(blob) == error::bad_layout);
    }
    SECTION("strings block out of bounds") {
        set_header(blob, f_off_strings, static_cast<u32>(blob.size()) - 2);
        CHECK(status_of(blob) == error::bad_layout);
        set_header(blob, f_off_strings, 0xffffffff);
        CHECK(status_of(blob) == error::bad_layout);
        set_header(blob, f_off_strings, 56);
        set_header(blob, f_size_strings, 0xffffffff);
        CHECK(status_of(blob) == error::bad_layout);
    }
    SECTION("alignment (DT spec 5.6)") {
        const u32 off = fdt_test::header(blob, f_off_struct);
        set_header(blob, f_off_struct, off + 2);
        CHECK(status_of(blob) == error::bad_alignment);
        set_header(blob, f_off_struct, off);
        set_header(blob, f_size_struct, fdt_test::header(blob, f_size_struct) - 2);
        CHECK(status_of(blob) == error::bad_alignment);
        set_header(blob, f_size_struct, fdt_test::header(blob, f_size_struct) + 2);
        set_header(blob, f_off_rsvmap, 44);
        CHECK(status_of(blob) == error::bad_alignment);
    }
    SECTION("overlapping blocks") {
        // The strings block inside the structure block.
        set_header(blob, f_off_strings, fdt_test::header(blob, f_off_struct) + 4);
        CHECK(status_of(blob) == error::bad_layout);
    }
    SECTION("reservation block overlapping the structure block") {
        // Entry 0 at 40 is the terminator; starting one entry earlier is impossible,
        // so move the structure block's start back onto the terminator instead.
        set_header(blob, f_off_struct, 48);
        CHECK(status_of(blob) == error::bad_layout);
    }
    SECTION("reservation block without its terminator") {
        builder b = minimal();
        std::vector<u8> r = b.build();
        // Fill the terminator and everything after it with non-zero entries.
        const u32 rsv = fdt_test::header(r, f_off_rsvmap);
        for (usize i = rsv; i < r.size(); ++i) r[i] = 0x11;
        fdt_test::put_be32(&r[f_off_struct], 40);
        fdt_test::put_be32(&r[f_size_struct], 0);
        fdt_test::put_be32(&r[f_off_strings], 40);
        fdt_test::put_be32(&r[f_size_strings], 0);
        CHECK(status_of(r) == error::bad_layout);
    }
}

TEST_CASE("malformed: structure block (DT spec 5.4)") {
    SECTION("a node name running past the structure block") {
        builder b;
        b.begin("").raw_token(1).raw_bytes({'a', 'b', 'c', 'd'});
        CHECK(status_of(b.build()) == error::bad_name);
    }
    SECTION("a property length past the end") {
        builder b;
        b.begin("").prop_u32("x", 1);
        b.raw_prop(0x100, 0).end_node().end();
        CHECK(status_of(b.build()) == error::bad_length);
        builder c;
        c.begin("").prop_u32("x", 1).raw_prop(0xfffffff8, 0).end_node().end();
        CHECK(status_of(c.build()) == error::bad_length);
    }
    SECTION("a property header cut by the end of the block") {
        builder b;
        b.begin("").prop_u32("x", 1).raw_token(3).raw_token(0);
        CHECK(status_of(b.build()) == error::bad_length);
    }
    SECTION("a name offset outside the strings block") {
        builder b;
        b.begin("").prop_u32("x", 1).raw_prop(0, 0x1000).end_node().end();
        CHECK(status_of(b.build()) == error::bad_string_offset);
        builder c;
        c.begin("").prop_u32("x", 1).raw_prop(0, 2).end_node().end();  // "x\0" is 2 bytes
        CHECK(status_of(c.build()) == error::bad_string_offset);
    }
    SECTION("an unterminated string at the end of the strings block") {
        builder b;
        b.begin("").prop_u32("x", 1).raw_prop(0, 2).end_node().end();
        b.raw_strings({'y', 'z'});
        CHECK(status_of(b.build()) == error::bad_string_offset);
        b.raw_strings({0});
        CHECK(status_of(b.build()) == error::none);
    }
    SECTION("missing FDT_END") {
        builder b;
        b.begin("").begin("a").end_node().end_node();
        CHECK(status_of(b.build()) == error::bad_structure);
        builder c;
        c.begin("").begin("a").end_node().end_node().nop().nop();
        CHECK(status_of(c.build()) == error::bad_structure);
    }
    SECTION("FDT_END before the root ends") {
        builder b;
        b.begin("").begin("a").end_node().end();
        CHECK(status_of(b.build()) == error::bad_structure);
    }
    SECTION("FDT_END not last (DT spec 5.4.1)") {
        builder b;
        b.begin("").end_node().end().nop();
        CHECK(status_of(b.build()) == error::bad_structure);
    }
    SECTION("unbalanced FDT_END_NODE") {
        builder b;
        b.begin("").end_node().end_node().end();
        CHECK(status_of(b.build()) == error::bad_structure);
        builder c;
        c.end_node().end();
        CHECK(status_of(c.build()) == error::bad_structure);
    }
    SECTION("an unknown token") {
        builder b;
        b.begin("").raw_token(5).end_node().end();
        CHECK(status_of(b.build()) == error::bad_structure);
        builder c;
        c.begin("").raw_token(0).end_node().end();
        CHECK(status_of(c.build()) == error::bad_structure);
    }
    SECTION("an empty structure block") {
        builder b;
        CHECK(status_of(b.build()) == error::bad_structure);
        builder c;
        c.end();
        CHECK(status_of(c.build()) == error::bad_structure);
    }
    SECTION("a property outside the root") {
        builder b;
        b.prop_u32("x", 1).begin("").end_node().end();
        CHECK(status_of(b.build()) == error::bad_structure);
    }
    SECTION("a property after a subnode (DT spec 5.4.2)") {
        builder b;
        b.begin("").begin("a").end_node().prop_u32("x", 1).end_node().end();
        CHECK(status_of(b.build()) == error::bad_structure);
    }
    SECTION("two roots, or a named root") {
        builder b;
        b.begin("").end_node().begin("").end_node().end();
        CHECK(status_of(b.build()) == error::bad_structure);
        builder c;
        c.begin("root").end_node().end();
        CHECK(status_of(c.build()) == error::bad_structure);
    }
    SECTION("NOPs anywhere are fine") {
        builder b;
        b.nop().begin("").nop().prop_u32("x", 1).nop().begin("a").nop().end_node().nop().end_node().nop().end();
        const std::vector<u8> blob = b.build();
        const tree t(blob.data(), blob.size());
        REQUIRE(t.ok());
        CHECK(t.find_property(t.root(), "x").as_u32().value() == 1);
        CHECK(t.find_path("/a"));
        CHECK(!t.next_sibling(t.find_path("/a")));
    }
    SECTION("deep nesting") {
        const auto nested = [](u32 depth) {
            builder b;
            b.begin("");
            for (u32 i = 0; i < depth; ++i) b.begin("n");
            for (u32 i = 0; i < depth; ++i) b.end_node();
            b.end_node().end();
            return b.build();
        };
        CHECK(status_of(nested(max_depth)) == error::none);
        CHECK(status_of(nested(max_depth + 1)) == error::too_deep);
        CHECK(status_of(nested(10000)) == error::too_deep);
        // The editor does not nest deeper than the reader accepts.
        std::vector<u8> deepest = nested(max_depth);
        deepest.resize(deepest.size() + 64);
        editor e(deepest.data(), deepest.size());
        REQUIRE(e.ok());
        node n = e.view().root();
        while (e.view().first_child(n)) n = e.view().first_child(n);
        CHECK(e.view().depth(n).value() == max_depth);
        CHECK(e.add_node(n, "x").error() == error::too_deep);
    }
}

TEST_CASE("malformed: hostile values in a valid blob") {
    builder b;
    b.begin("")
        .prop_u32("#address-cells", 3)
        .prop_u32("#size-cells", 1)
        .begin("wide@0")
        .prop("reg", std::vector<u8>(16, 0))
        .end_node()
        .begin("bus")
        .prop("#address-cells", {0, 0})
        .begin("odd@0")
        .prop("reg", std::vector<u8>(12, 0))
        .end_node()
        .end_node()
        .begin("ranged")
        .prop_u32("#address-cells", 1)
        .prop_u32("#size-cells", 1)
        .prop("ranges", std::vector<u8>(10, 0))
        .begin("dev@0")
        .prop("reg", std::vector<u8>(8, 0))
        .end_node()
        .end_node()
        .begin("aliases")
        .prop_string("self", "self")
        .prop("bad", {'/'})
        .end_node()
        .begin("chosen")
        .prop("stdout-path", {'/', 'a'})
        .end_node()
        .end_node()
        .end();
    const std::vector<u8> blob = b.build();
    const tree t(blob.data(), blob.size());
    REQUIRE(t.ok());
    CHECK(t.reg(t.find_path("/wide@0")).error() == error::unsupported);  // 3 address cells
    CHECK(t.reg(t.find_path("/bus/odd@0")).error() == error::bad_value);  // #address-cells of 2 bytes
    CHECK(t.translate_address(t.find_path("/ranged/dev@0"), 0).error() == error::unsupported);  // root has 3 cells
    CHECK(!t.find_path("self"));  // an alias must be an absolute path
    CHECK(!t.find_path("bad"));   // not terminated
    CHECK(stdout_path(t) == nullptr);
    CHECK(!stdout_node(t));
}

TEST_CASE("malformed: random corruption never faults") {
    const std::vector<u8> original = fdt_test::load("board.dtb");
    REQUIRE(!original.empty());
    u64 state = 0x243f6a8885a308d3;
    const auto next = [&state](u64 bound) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        return (state >> 33) % bound;
    };
    u32 still_valid = 0;
    u64 sink = 0;
    // VFM_FDT_FUZZ_ROUNDS=1000000 for a longer run (under -Db_sanitize=address,undefined).
    const char* rounds_env = std::getenv("VFM_FDT_FUZZ_ROUNDS");
    const long rounds = rounds_env != nullptr ? std::atol(rounds_env) : 3000;
    for (long round = 0; round < rounds; ++round) {
        std::vector<u8> blob = original;
        const u64 flips = 1 + next(8);
        for (u64 i = 0; i < flips; ++i) {
            const usize at = next(blob.size());
            switch (next(4)) {
                case 0: blob[at] = static_cast<u8>(next(256)); break;
                case 1: blob[at] ^= static_cast<u8>(1u << next(8)); break;
                case 2: blob[at] = 0; break;
                case 3: blob[at] = 0xff; break;
            }
        }
        // Exactly sized copy so that any read past the end is caught by ASan.
        const usize bound = next(4) == 0 ? next(blob.size() + 1) : blob.size();
        std::vector<u8> exact(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(bound));
        const tree t(exact.data(), exact.size());
        still_valid += t.ok();
        sink += poke(t);
        if (t.ok()) {
            exact.resize(exact.size() + 256);
            editor e(exact.data(), exact.size());
            if (e.ok()) {
                (void)reserve_memory(e, "vfm", 0x80000000, 0x1000);
                CHECK(tree(exact.data(), exact.size()).ok());
            }
        }
    }
    CHECK(still_valid > 0);  // some corruptions only touch values
    CHECK(sink != 1);        // keep the work observable
}
