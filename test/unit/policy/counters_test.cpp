// SPDX-License-Identifier: MIT
// The counters policy over the host backend: for a scripted run of traps
// whose paths are known from the design (docs/policies.md: `fast` for the
// firmware's CSR accesses the fast path handles, `firmware` for its other
// traps, `monitor` for traps of the OS answered without entering the
// firmware, `to-firmware` / `to-os` for world switches) and whose causes come
// from the privileged spec (3.1.15: illegal instruction 2, load access fault
// 5, store access fault 7, ecall from S 9, machine timer interrupt 7), the
// counts, the VFM SBI extension (EID 0x0A56464D: FID 0 report, FID 1 read a
// counter) and the report printed when the shutdown device is written.
#include "policy_monitor.hpp"

#include <vfm/policy/counters.hpp>

VPT_POLICY_MONITOR(vfm::policy::counters<4>)

#include "policy_support.hpp"

using namespace vpt;

namespace {

using counters_type = vfm::policy::counters<4>;

// Counter indices of FID 1 (counters.hpp): exceptions 0-23, interrupts 24-39, then the paths.
constexpr u64 counter_fast = 40;
constexpr u64 counter_firmware = 41;
constexpr u64 counter_monitor = 42;
constexpr u64 counter_to_firmware = 43;
constexpr u64 counter_to_os = 44;

/// a0, a1 after the OS's VFM extension call.
struct vfm_result {
    u64 error;
    u64 value;
};
vfm_result read_counter(cpu& c, u64 hart, u64 index) {
    const u64 pc = c.pc();
    sbi_call(c, sbi::vfm, 1, {hart, index});
    CHECK(c.pc() == pc + 4);  // answered in the monitor
    CHECK(c.mode() == privilege::supervisor);
    return {c.h.x[reg::a0], c.h.x[reg::a1]};
}

/// The scripted run on hart 0 of a 2-hart machine (hart 1 only boots and sets
/// its mscratch). Each step says which path and cause it adds.
void scripted_run(machine& m) {
    cpu& c = m[0];
    auto& k = m.monitor.policy<counters_type>();
    REQUIRE(c.boot() == boot_error::none);
    REQUIRE(m[1].boot() == boot_error::none);

    // Fast path: mscratch, mepc, mcause (illegal instruction each).
    c.csrw(csr::mscratch, 0x8011'0000);
    (void)c.csrr(csr::mepc);
    (void)c.csrr(csr::mcause);
    CHECK(k.of(0).fast == 3);
    CHECK(k.of(0).firmware == 0);
    CHECK(k.of(0).exceptions[2] == 3);
    // The general path from the firmware: CSRs with side effects (a new mtvec
    // is checked for the world switch, engine::check_trap_vector).
    c.csrw(csr::mtvec, firmware_vector);
    c.csrw(csr::medeleg, 0xb109);
    c.csrw(csr::mideleg, 0x222);
    c.csrw(csr::pmpaddr0, napot_everything);
    c.csrw(csr::pmpcfg0, 0x1f);
    CHECK(k.of(0).fast == 3);
    CHECK(k.of(0).firmware == 5);
    // Its mtimecmp (a store access fault, emulated) and MTIE.
    firmware_set_mtimecmp(c, 0x9000);
    c.csrw(csr::mie, 0x80);
    CHECK(k.of(0).firmware == 7);
    CHECK(k.of(0).exceptions[7] == 1);
    // To the OS: mepc (fast: a swap), mstatus.MPP (a set: not a form of the
    // fast path's table, virt/fast_csrs.hpp), mret (a world switch).
    c.csrw(csr::mepc, os_entry);
    c.csrs(csr::mstatus, 0x800);
    c.exec(enc::mret);
    REQUIRE(c.mode() == privilege::supervisor);
    CHECK(k.of(0).fast == 4);
    CHECK(k.of(0).firmware == 9);
    CHECK(k.of(0).to_os == 1);
    // An SBI call the firmware answers.
    sbi_call(c, sbi::base, 0);
    REQUIRE(c.pc() == firmware_vector);
    CHECK(k.of(0).exceptions[9] == 1);
    CHECK(k.of(0).to_firmware == 1);
    firmware_sbi_return(c, 0, 2);  // mepc read and write (fast), mret
    REQUIRE(c.mode() == privilege::supervisor);
    CHECK(k.of(0).fast == 6);
    CHECK(k.of(0).firmware == 10);
    CHECK(k.of(0).to_os == 2);
    // The OS reads mtime: the firmware's PMP lets it, the monitor answers.
    c.h.x[reg::a1] = 0x200'bff8;
    REQUIRE(c.access(enc::ld(reg::a0, reg::a1, 0)).advanced);
    CHECK(k.of(0).exceptions[5] == 1);
    CHECK(k.counter(0, counter_monitor) == 1);
    // The firmware's timer interrupt while the OS runs: a world switch.
    m.board.set_time(0x9000);
    c.settle();
    REQUIRE(c.pc() == firmware_vector);
    CHECK(k.of(0).interrupts[7] == 1);
    CHECK(k.of(0).to_firmware == 2);
    firmware_set_mtimecmp(c, ~u64{0});
    c.exec(enc::mret);
    REQUIRE(c.mode() == privilege::supervisor);
    // Hart 1: one fast-path access.
    m[1].csrw(csr::mscratch, 0x8012'0000);
}

}  // namespace

TEST_CASE("counters: exits by path and by cause", "[policy][counters]") {
    machine m{rv64gc::make(), 2};
    scripted_run(m);
    const auto& k = m.monitor.policy<counters_type>();
    const auto& h0 = k.of(0);
    CHECK(h0.fast == 6);
    CHECK(h0.firmware == 12);
    CHECK(k.counter(0, counter_monitor) == 1);
    CHECK(h0.to_firmware == 2);
    CHECK(h0.to_os == 3);
    CHECK(h0.exceptions[2] == 16);
    CHECK(h0.exceptions[5] == 1);
    CHECK(h0.exceptions[7] == 2);
    CHECK(h0.exceptions[9] == 1);
    CHECK(h0.interrupts[7] == 1);
    u64 other_causes = 0;
    for (unsigned e = 0; e < 24; ++e)
        if (e != 2 && e != 5 && e != 7 && e != 9) other_causes += h0.exceptions[e];
    for (unsigned i = 0; i < 16; ++i)
        if (i != 7) other_causes += h0.interrupts[i];
    CHECK(other_causes == 0);
    const auto& h1 = k.of(1);
    CHECK(h1.fast == 1);
    CHECK(h1.firmware == 0);
    CHECK(h1.exceptions[2] == 1);
    CHECK(h1.to_firmware == 0);
    CHECK(h1.to_os == 0);
}

TEST_CASE("counters: the VFM SBI extension reads single counters", "[policy][counters][sbi]") {
    machine m{rv64gc::make(), 2};
    scripted_run(m);
    cpu& c = m[0];
    const u64 pc = c.pc();
    // Each call is itself an exit of the OS answered in the monitor (ecall from
    // S), counted once it has been handled: a call reads the counts without itself.
    vfm_result r = read_counter(c, 0, counter_fast);
    CHECK(r.error == sbi::success);
    CHECK(r.value == 6);
    r = read_counter(c, 0, counter_monitor);
    CHECK(r.value == 2);  // the mtime load and the first call
    r = read_counter(c, 0, 9);
    CHECK(r.value == 3);  // the base call and the two calls before
    r = read_counter(c, 0, counter_firmware);
    CHECK(r.value == 12);
    r = read_counter(c, 0, counter_to_firmware);
    CHECK(r.value == 2);
    r = read_counter(c, 0, counter_to_os);
    CHECK(r.value == 3);
    r = read_counter(c, 0, 24 + 7);
    CHECK(r.value == 1);
    r = read_counter(c, 0, 2);
    CHECK(r.value == 16);
    r = read_counter(c, 1, counter_fast);
    CHECK(r.error == sbi::success);
    CHECK(r.value == 1);
    r = read_counter(c, 1, 2);
    CHECK(r.value == 1);
    CHECK(c.pc() == pc + 40);
    // An unknown function of the extension: SBI_ERR_NOT_SUPPORTED (SBI 3.2).
    sbi_call(c, sbi::vfm, 2);
    CHECK(c.h.x[reg::a0] == sbi::err_not_supported);
    CHECK(c.pc() == pc + 44);
    CHECK(c.mode() == privilege::supervisor);
    const auto& k = m.monitor.policy<counters_type>();
    CHECK(k.of(0).to_firmware == 2);  // never entered the firmware
    CHECK(k.of(0).exceptions[9] == 12);  // the base call, ten reads and the unknown function
    CHECK(k.counter(0, counter_monitor) == 12);  // the mtime load and the eleven calls
}

TEST_CASE("counters: the report through the VFM SBI extension", "[policy][counters][sbi]") {
    machine m{rv64gc::make(), 2};
    scripted_run(m);
    cpu& c = m[0];
    m.board.clear_console();
    sbi_call(c, sbi::vfm, 0);
    CHECK(c.h.x[reg::a0] == sbi::success);
    CHECK(c.mode() == privilege::supervisor);
    // The call that asks is not in the report (it is counted once handled).
    CHECK(m.board.console() ==
          "vfm: exits hart 0 path fast: 6\n"
          "vfm: exits hart 0 path firmware: 12\n"
          "vfm: exits hart 0 path monitor: 1\n"
          "vfm: exits hart 0 path to-firmware: 2\n"
          "vfm: exits hart 0 path to-os: 3\n"
          "vfm: exits hart 0 exception 2: 16\n"
          "vfm: exits hart 0 exception 5: 1\n"
          "vfm: exits hart 0 exception 7: 2\n"
          "vfm: exits hart 0 exception 9: 1\n"
          "vfm: exits hart 0 interrupt 7: 1\n"
          "vfm: exits hart 1 path fast: 1\n"
          "vfm: exits hart 1 path firmware: 0\n"
          "vfm: exits hart 1 path monitor: 0\n"
          "vfm: exits hart 1 path to-firmware: 0\n"
          "vfm: exits hart 1 path to-os: 0\n"
          "vfm: exits hart 1 exception 2: 1\n");
}

TEST_CASE("counters: the report at shutdown", "[policy][counters][shutdown]") {
    machine m{rv64gc::make(), 2};
    scripted_run(m);
    cpu& c = m[0];
    m.board.clear_console();
    constexpr u64 finisher_pass = 0x5555;  // QEMU's SiFive test finisher: "pass"

    SECTION("the OS writes the shutdown device") {
        c.h.x[reg::a0] = finisher_pass;
        c.h.x[reg::a1] = shutdown_base;
        const step s = c.access(enc::sw(reg::a0, reg::a1, 0));
        CHECK(s.advanced);  // the store went through, from S-mode
        // The report comes before the store (which is counted once handled).
        CHECK(m.board.console() ==
              "vfm: exits hart 0 path fast: 6\n"
              "vfm: exits hart 0 path firmware: 12\n"
              "vfm: exits hart 0 path monitor: 1\n"
              "vfm: exits hart 0 path to-firmware: 2\n"
              "vfm: exits hart 0 path to-os: 3\n"
              "vfm: exits hart 0 exception 2: 16\n"
              "vfm: exits hart 0 exception 5: 1\n"
              "vfm: exits hart 0 exception 7: 2\n"
              "vfm: exits hart 0 exception 9: 1\n"
              "vfm: exits hart 0 interrupt 7: 1\n"
              "vfm: exits hart 1 path fast: 1\n"
              "vfm: exits hart 1 path firmware: 0\n"
              "vfm: exits hart 1 path monitor: 0\n"
              "vfm: exits hart 1 path to-firmware: 0\n"
              "vfm: exits hart 1 path to-os: 0\n"
              "vfm: exits hart 1 exception 2: 1\n");
    }
    SECTION("the firmware writes the shutdown device") {
        sbi_call(c, sbi::srst, 0, {0, 0});  // system_reset: the firmware takes it
        REQUIRE(c.pc() == firmware_vector);
        c.h.x[reg::a0] = finisher_pass;
        c.h.x[reg::a1] = shutdown_base;
        const step s = c.access(enc::sw(reg::a0, reg::a1, 0));
        CHECK(s.advanced);
        CHECK(m.board.console() ==
              "vfm: exits hart 0 path fast: 6\n"
              "vfm: exits hart 0 path firmware: 12\n"
              "vfm: exits hart 0 path monitor: 1\n"
              "vfm: exits hart 0 path to-firmware: 3\n"
              "vfm: exits hart 0 path to-os: 3\n"
              "vfm: exits hart 0 exception 2: 16\n"
              "vfm: exits hart 0 exception 5: 1\n"
              "vfm: exits hart 0 exception 7: 2\n"
              "vfm: exits hart 0 exception 9: 2\n"
              "vfm: exits hart 0 interrupt 7: 1\n"
              "vfm: exits hart 1 path fast: 1\n"
              "vfm: exits hart 1 path firmware: 0\n"
              "vfm: exits hart 1 path monitor: 0\n"
              "vfm: exits hart 1 path to-firmware: 0\n"
              "vfm: exits hart 1 path to-os: 0\n"
              "vfm: exits hart 1 exception 2: 1\n");
    }
    // The write itself reached the device, after the report, and is counted.
    CHECK(c.hw.peek<u32>(shutdown_base) == finisher_pass);
    CHECK(m.monitor.policy<counters_type>().of(0).exceptions[7] == 3);
}

TEST_CASE("counters: without a store to the shutdown device nothing is printed", "[policy][counters][shutdown]") {
    machine m{rv64gc::make(), 2};
    scripted_run(m);
    cpu& c = m[0];
    // A load from the device is performed, and reported nowhere.
    c.hw.poke<u32>(shutdown_base, 0x1234);
    c.h.x[reg::a1] = shutdown_base;
    const step s = c.access(enc::lw(reg::a0, reg::a1, 0));
    CHECK(s.advanced);
    CHECK(c.h.x[reg::a0] == 0x1234);
    CHECK(m.board.console().empty());
}
