// SPDX-License-Identifier: MIT
// A board's own emulated device (Platform::devices, virt/emulated_device.hpp,
// docs/engine.md): a board that declares a small register file in its
// emulated-devices region (QEMU virt's 0x2000000-0x200ffff, which the CLINT
// does not fill: its mtime ends at 0x200bfff) gets the firmware's loads and
// stores there routed to it, after the engine's own devices. The values the
// firmware sees follow the unprivileged spec (2.6: lw sign-extends, lwu does
// not) and the privileged spec (3.7.1: an access the device refuses is an
// access fault, mtval = the address).
#include "virt_support.hpp"

using namespace vt;

namespace {

constexpr u64 regfile_base = 0x200'c000;
constexpr unsigned regfile_registers = 4;  // 8 bytes each
constexpr u64 regfile_end = regfile_base + 8 * regfile_registers;
constexpr u64 mtime_address = 0x200'bff8;

/// Four 8-byte registers; 4- and 8-byte naturally aligned accesses, the
/// others refused. Its state is the board's (a device type has none).
struct register_file {
    static constexpr bool atomics = false;
    static constexpr bool floats = false;
    template <class Engine>
    static bool contains(Engine& engine, u64 address, unsigned width) noexcept {
        ++engine.board().asked;
        return address >= regfile_base && address + width <= regfile_end;
    }
    template <class Engine>
    static bool read(Engine& engine, u64 address, unsigned width, u64& value) noexcept {
        if (!usable(address, width)) return false;
        const u64 reg = engine.board().registers[(address - regfile_base) / 8];
        value = width == 8 ? reg : (reg >> (8 * (address & 4))) & 0xffff'ffff;
        return true;
    }
    template <class Engine>
    static bool write(Engine& engine, u64 address, unsigned width, u64 written) noexcept {
        if (!usable(address, width)) return false;
        u64& reg = engine.board().registers[(address - regfile_base) / 8];
        if (width == 8) {
            reg = written;
        } else {
            const unsigned shift = 8 * static_cast<unsigned>(address & 4);
            reg = (reg & ~(u64{0xffff'ffff} << shift)) | ((written & 0xffff'ffff) << shift);
        }
        ++engine.board().writes;
        return true;
    }
    static bool usable(u64 address, unsigned width) noexcept {
        return (width == 4 || width == 8) && (address & (width - 1)) == 0;
    }
};

/// QEMU virt's simulated board with the register file.
struct regfile_board : host::simulated_board<4> {
    using simulated_board::simulated_board;
    using devices = virt::device_list<register_file>;

    u64 registers[regfile_registers] = {};
    u64 writes = 0;
    u64 asked = 0;  ///< calls of register_file::contains
};
static_assert(vfm::platform<regfile_board>);

using regfile_machine = basic_machine<regfile_board>;

/// The firmware stores x5 = `value` at x6 = `address` with `op`.
step store(cpu& c, u64 address, u64 value, const enc::mem_op& op) {
    c.h.x[6] = address;
    c.h.x[5] = value;
    return c.access(op);
}

/// The firmware loads x10 from x6 = `address` with `op`; it must be emulated.
u64 load(cpu& c, u64 address, const enc::mem_op& op) {
    c.h.x[6] = address;
    c.h.x[10] = 0x5a5a;
    const step s = c.access(op);
    INFO("load from " << hex(address));
    REQUIRE(s.advanced);
    return c.h.x[10];
}

}  // namespace

TEST_CASE("a board's device: not reachable directly, its accesses trap", "[virt][board-device]") {
    regfile_machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    check_not_reachable(c, {regfile_base, regfile_end - 8}, 8);
}

TEST_CASE("a board's device gets the firmware's stores and loads", "[virt][board-device]") {
    regfile_machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();

    const step s = store(c, regfile_base + 8, 0x8765'4321'8000'0001, enc::sd(5, 6, 0));
    CHECK(s.advanced);
    CHECK(s.pc_after == s.pc_before + 4);
    CHECK(m.board.registers[1] == 0x8765'4321'8000'0001);
    CHECK(m.board.registers[0] == 0);
    CHECK(m.board.writes == 1);

    CHECK(load(c, regfile_base + 8, enc::ld(10, 6, 0)) == 0x8765'4321'8000'0001);
    // lw sign-extends bit 31, lwu does not (unpriv. spec 2.6).
    CHECK(load(c, regfile_base + 8, enc::lw(10, 6, 0)) == 0xffff'ffff'8000'0001);
    CHECK(load(c, regfile_base + 8, enc::lwu(10, 6, 0)) == 0x8000'0001);
    CHECK(load(c, regfile_base + 12, enc::lw(10, 6, 0)) == 0xffff'ffff'8765'4321);

    CHECK(store(c, regfile_base + 28, 0x1234'5678, enc::sw(5, 6, 0)).advanced);
    CHECK(m.board.registers[3] == 0x1234'5678'0000'0000);
    CHECK(load(c, regfile_base + 24, enc::ld(10, 6, 0)) == 0x1234'5678'0000'0000);
    CHECK(m.board.writes == 2);
}

TEST_CASE("a board's device: an access it refuses is an access fault", "[virt][board-device]") {
    regfile_machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    const u64 pc = c.pc();
    SECTION("a 2-byte store") {
        store(c, regfile_base + 2, 0xffff, enc::sh(5, 6, 0));
        c.expect_delivered(7, regfile_base + 2, pc);  // store/AMO access fault
        CHECK(m.board.writes == 0);
    }
    SECTION("a 1-byte load") {
        c.h.x[6] = regfile_base;
        c.access(enc::lb(10, 6, 0));
        c.expect_delivered(5, regfile_base, pc);  // load access fault
    }
}

TEST_CASE("a board's device comes after the engine's own, and no device is a fault", "[virt][board-device]") {
    regfile_machine m{qemu_h::make()};
    cpu& c = m.hart0();
    c.boot_with_vector();
    m.board.set_time(0x42);
    const u64 asked = m.board.asked;
    CHECK(load(c, mtime_address, enc::ld(10, 6, 0)) == 0x42);  // the CLINT's mtime
    CHECK(m.board.asked == asked);                              // the CLINT took it first
    SECTION("past the register file, in the region: no device") {
        const u64 pc = c.pc();
        c.h.x[6] = regfile_end;
        c.access(enc::ld(10, 6, 0));
        c.expect_delivered(5, regfile_end, pc);
        CHECK(m.board.asked > asked);
    }
}
