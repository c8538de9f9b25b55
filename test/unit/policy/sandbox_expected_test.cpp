// SPDX-License-Identifier: MIT
// The sandbox with an expected measurement (and verbose): the OS starts when
// its image measures as expected, and the machine stops with one line and
// exit code 71 when it does not. The expected value is set per test through
// the text the settings point at; the right values come from Python's
// hashlib (gen_measurements.py).
#include "policy_monitor.hpp"

#include <cstring>
#include <string>

#include <vfm/policy/sandbox.hpp>

namespace {
/// The expected measurement the sandbox checks (64 hex digits and a NUL).
char expected_text[65] = {};

struct expected_settings {
    static constexpr const char* expected_measurement = expected_text;
    static constexpr bool verbose = true;
};
}  // namespace

VPT_POLICY_MONITOR(vfm::policy::sandbox<4, expected_settings>)

#include "policy_support.hpp"
#include "sandbox_measurements.hpp"

using namespace vpt;

namespace {

void expect(const char* hex) {
    std::memset(expected_text, 0, sizeof expected_text);
    std::strncpy(expected_text, hex, sizeof expected_text - 1);
}

/// The firmware's mret into the OS at `entry` (S-mode), as a trap the test
/// expects to stop the machine: true when the monitor stopped it.
bool handover_stops(cpu& c, u64 entry) {
    c.csrw(csr::mepc, entry);
    c.csrs(csr::mstatus, 0x800);  // MPP = S (it was U)
    c.hw.place_instruction(c.pc(), enc::mret);
    return c.trap_stops(riscv::cause_value(riscv::exception::illegal_instruction), enc::mret);
}

}  // namespace

TEST_CASE("sandbox: an OS image that measures as expected starts", "[policy][sandbox][measure]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    firmware_boot(c);
    c.hw.write_memory(0x8020'0000, measurements::image, sizeof measurements::image);
    SECTION("a Linux image") {
        expect(measurements::image_at_80200000_hex);
        c.enter_os(0x8020'0000);
        CHECK(m.board.console() ==
              std::string("vfm: sandbox: OS image at 0x80200000, 12411 bytes, SHA-256 ") +
                  measurements::image_at_80200000_hex + "\n");
    }
    SECTION("upper-case hex digits") {
        std::string upper = measurements::image_at_80200000_hex;
        for (char& ch : upper) ch = static_cast<char>(ch >= 'a' && ch <= 'f' ? ch - 'a' + 'A' : ch);
        expect(upper.c_str());
        c.enter_os(0x8020'0000);
    }
    CHECK_FALSE(m.stopped);
    CHECK_FALSE(m.board.exit_code().has_value());
    CHECK(c.mode() == privilege::supervisor);
    CHECK(c.h.world == virt::world::os);
}

TEST_CASE("sandbox: an OS image that does not measure as expected never runs", "[policy][sandbox][measure]") {
    machine m{rv64gc::make()};
    cpu& c = m.hart0();
    firmware_boot(c);
    const std::string wrong = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    SECTION("no RISC-V image header at the entry: nothing to measure exactly, refused") {
        expect(measurements::entry_80200000_hex);  // even the digest of the entry alone
        REQUIRE(handover_stops(c, 0x8020'0000));
        CHECK(m.board.console() ==
              "vfm: sandbox: the OS image at 0x80200000 has no RISC-V image header to measure: not starting it\n");
    }
    SECTION("a Linux image, one bit off") {
        std::string off = measurements::image_at_80200000_hex;
        off[63] = off[63] == '0' ? '1' : '0';
        expect(off.c_str());
        c.hw.write_memory(0x8020'0000, measurements::image, sizeof measurements::image);
        REQUIRE(handover_stops(c, 0x8020'0000));
        CHECK(m.board.console() ==
              std::string("vfm: sandbox: the OS image (entry 0x80200000, 12411 bytes) measures ") +
                  measurements::image_at_80200000_hex + ", not the expected " + off + ": not starting it\n");
    }
    SECTION("the right digest of something else") {
        expect(measurements::entry_80200800_hex);
        c.hw.write_memory(0x8020'0000, measurements::image, sizeof measurements::image);
        REQUIRE(handover_stops(c, 0x8020'0000));
        CHECK(m.board.console() ==
              std::string("vfm: sandbox: the OS image (entry 0x80200000, 12411 bytes) measures ") +
                  measurements::image_at_80200000_hex + ", not the expected " + measurements::entry_80200800_hex +
                  ": not starting it\n");
    }
    SECTION("an expected value that is not 64 hex digits") {
        expect("not-a-digest");
        c.hw.write_memory(0x8020'0000, measurements::image, sizeof measurements::image);
        REQUIRE(handover_stops(c, 0x8020'0000));
        CHECK(m.board.console() ==
              std::string("vfm: sandbox: the OS image (entry 0x80200000, 12411 bytes) measures ") +
                  measurements::image_at_80200000_hex + ", not the expected not-a-digest: not starting it\n");
    }
    CHECK(m.board.exit_code() == 71u);
    // The OS never ran: no guest entry in S-mode.
    for (const auto& r : c.hw.log().resumes()) CHECK(r.privilege != privilege::supervisor);
}
