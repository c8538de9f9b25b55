// SPDX-License-Identifier: MIT
// The simulated board (vfm/host/board.hpp): a QEMU-virt-like memory map, the
// CLINT's physical mtimecmp / msip driving the harts' MTIP / MSIP, mtime
// driving their time, console and exit. Values from the SiFive CLINT layout
// and priv. spec 3.2.1 (MTIP = mtime >= mtimecmp).
#include "virt_support.hpp"

using namespace vt;

TEST_CASE("simulated board: the QEMU virt memory map", "[virt][board]") {
    const board_type board{2};
    const memory_layout& l = board.layout();
    CHECK(l.monitor.base == 0x8000'0000);
    CHECK(l.monitor.size == 0x2'0000);
    CHECK(l.ram.base == 0x8000'0000);
    CHECK(l.ram.size == 0x800'0000);
    CHECK(l.firmware_entry == 0x8010'0000);
    CHECK(l.mswi.base == 0x200'0000);
    CHECK(l.mswi.size == 0x4000);
    CHECK(l.mtimer.base == 0x200'4000);
    CHECK(l.mtimer.size == 0x8000);
    CHECK(l.mtime_offset == 0x7ff8);
    CHECK(l.emulated_devices.base == 0x200'0000);
    CHECK(l.emulated_devices.size == 0x1'0000);
    CHECK(l.timebase_frequency == 10'000'000);
    CHECK(board.hart_count() == 2);
    CHECK(board.hart_id(1) == 1);
    u64 index = 99;
    CHECK(board.hart_index(1, index));
    CHECK(index == 1);
    CHECK_FALSE(board.hart_index(2, index));
}

TEST_CASE("simulated board: bus masters are configured with the layout", "[virt][board]") {
    // None by default, as before bus masters existed.
    CHECK(board_type{1}.layout().bus_master_count == 0);

    const memory_layout l = host::with_bus_masters(host::qemu_virt_layout(),
                                                   {{0x1000'1000, 0xf'f018}, {0x300'0000, 0x1'0000}});
    const board_type board{1, l};
    CHECK(board.layout().bus_master_count == 2);
    CHECK(board.layout().bus_masters[0].base == 0x1000'1000);  // in the order given
    CHECK(board.layout().bus_masters[0].size == 0xf'f018);
    CHECK(board.layout().bus_masters[1].base == 0x300'0000);
    CHECK(board.layout().bus_masters[1].size == 0x1'0000);
    CHECK(board.layout().monitor.base == 0x8000'0000);  // the rest of the layout is kept
    CHECK(host::with_bus_masters(l, {}).bus_master_count == 0);

    CHECK_THROWS_AS(host::with_bus_masters(host::qemu_virt_layout(),
                                           {{0x0, 8}, {0x10, 8}, {0x20, 8}, {0x30, 8}, {0x40, 8}, {0x50, 8},
                                            {0x60, 8}, {0x70, 8}, {0x80, 8}, {0x90, 8}, {0xa0, 8}, {0xb0, 8},
                                            {0xc0, 8}, {0xd0, 8}, {0xe0, 8}, {0xf0, 8}, {0x100, 8}}),
                    std::invalid_argument);
}

TEST_CASE("simulated board: hart ids, time, timer and doorbell lines", "[virt][board]") {
    board_type board{2};
    board.set_hart_ids({5, 9});
    u64 index = 0;
    CHECK(board.hart_index(9, index));
    CHECK(index == 1);
    CHECK(board.hart_id(0) == 5);

    host::simulated_hart a{rv64gc::make()};
    host::simulated_hart b{rv64gc::make()};
    board.connect(0, a);
    board.connect(1, b);
    CHECK(board.mtimecmp(0) == ~u64{0});  // no interrupt until the monitor programs it
    CHECK_FALSE(board.mtip(0));

    board.set_timer(1, 100);
    CHECK(board.timer_writes() == 1);
    board.advance_time(99);
    CHECK(b.peek_csr(csr::time).value() == 99);
    CHECK((b.peek_csr(csr::mip).value() & 0x80) == 0);
    board.advance_time(1);
    CHECK((b.peek_csr(csr::mip).value() & 0x80) == 0x80);  // mtime >= mtimecmp
    CHECK((a.peek_csr(csr::mip).value() & 0x80) == 0);
    board.set_timer(1, 200);
    CHECK((b.peek_csr(csr::mip).value() & 0x80) == 0);
    board.write_time(300);
    CHECK(board.read_time() == 300);
    CHECK(a.peek_csr(csr::time).value() == 300);
    CHECK((b.peek_csr(csr::mip).value() & 0x80) == 0x80);

    board.send_ipi(0);
    CHECK(board.msip(0));
    CHECK((a.peek_csr(csr::mip).value() & 0x8) == 0x8);
    CHECK((b.peek_csr(csr::mip).value() & 0x8) == 0);
    CHECK(board.ipis_sent() == 1);
    board.clear_ipi(0);
    CHECK((a.peek_csr(csr::mip).value() & 0x8) == 0);

    board.set_timer(7, 0);  // no such hart: recorded, nothing changes
    CHECK(board.misuses().size() == 1);
}

TEST_CASE("simulated board: console and exit", "[virt][board]") {
    board_type board{1};
    for (const char ch : std::string("vfm: hello\n")) board.console_put(ch);
    CHECK(board.console() == "vfm: hello\n");
    board.clear_console();
    CHECK(board.console().empty());
    CHECK_FALSE(board.exit_code().has_value());
    static std::jmp_buf out;
    board.set_exit_handler([](u32) { std::longjmp(out, 1); });
    if (setjmp(out) == 0) board.exit(3);
    CHECK(board.exit_code() == std::optional<u32>{3});
}

TEST_CASE("simulated board: wfi sleeps until the timer", "[virt][board]") {
    board_type board{1};
    host::simulated_hart hw{rv64gc::make()};
    board.connect(0, hw);
    hw.poke_csr(csr::mie, 0x80);
    board.set_timer(0, 5000);
    hw.wait_for_interrupt();
    CHECK(board.read_time() == 5000);
    const auto w = hw.log().last<host::wfi_event>();
    REQUIRE(w);
    CHECK(w->pending == 0x80);
    // Pending and enabled already: no time passes.
    hw.wait_for_interrupt();
    CHECK(board.read_time() == 5000);
}

TEST_CASE("the monitor boots on the simulated board", "[virt][board]") {
    machine m{qemu_h::make(), 2};
    for (u32 i = 0; i < 2; ++i) {
        cpu& c = m[i];
        REQUIRE(c.boot() == boot_error::none);
        CHECK(c.pc() == firmware_entry);
        CHECK(c.mode() == privilege::user);
        CHECK(c.h.x[10] == i);  // a0 = hart id
        CHECK(c.h.x[11] == device_tree);
        CHECK(c.h.x[12] == boot_info);
        CHECK(c.csrr(csr::mhartid) == i);
        // The monitor owns the physical timer: nothing armed at boot.
        CHECK(m.board.mtimecmp(i) == ~u64{0});
    }
    CHECK(m.monitor.shared().harts[0] == &m[0].h);
    CHECK(m.monitor.shared().harts[1] == &m[1].h);
}

TEST_CASE("boot fails cleanly on a hart without enough PMP entries", "[virt][board]") {
    host::hart_config config = rv64gc::make();
    config.pmp_entries = 0;
    machine m{config};
    CHECK(m.hart0().boot() == boot_error::too_few_pmp_entries);
}
