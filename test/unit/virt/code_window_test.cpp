// SPDX-License-Identifier: MIT
// vfm::virt::set_firmware_code_window and instruction_in_code_window
// (virt/engine.hpp): where the trap paths read a firmware instruction back in
// place instead of on the whole guarded path. The window must never reach
// the monitor's memory (the layouts below put it at the start, the middle and
// the end of RAM) and must hold all four bytes of the instruction; the
// expected windows are worked out from the layouts by hand.
#include "vfm_catch.hpp"

#include <vfm/virt/engine.hpp>

using namespace vfm;

namespace {

virt::hart window_of(region ram, region monitor) {
    memory_layout layout;
    layout.ram = ram;
    layout.monitor = monitor;
    virt::hart h;
    virt::set_firmware_code_window(h, layout);
    return h;
}

/// Every pc in [first, last] is in the window, the pcs around it are not.
void check_window(const virt::hart& h, u64 first, u64 last) {
    CHECK(virt::instruction_in_code_window(h, first));
    CHECK(virt::instruction_in_code_window(h, last));
    CHECK(virt::instruction_in_code_window(h, first + (last - first) / 2));
    CHECK_FALSE(virt::instruction_in_code_window(h, first - 2));
    CHECK_FALSE(virt::instruction_in_code_window(h, last + 2));
    CHECK_FALSE(virt::instruction_in_code_window(h, first - 4));
    CHECK_FALSE(virt::instruction_in_code_window(h, 0));
    CHECK_FALSE(virt::instruction_in_code_window(h, ~u64{1}));
}

}  // namespace

TEST_CASE("code window: the monitor at the start of RAM (QEMU virt)", "[virt][fetch]") {
    // RAM 0x80000000 + 256 MiB, the monitor's 128 KiB first: the window is
    // [0x80020000, 0x90000000), its last instruction at 0x8ffffffc.
    const virt::hart h = window_of({0x8000'0000, 0x1000'0000}, {0x8000'0000, 0x2'0000});
    check_window(h, 0x8002'0000, 0x8fff'fffc);
    CHECK_FALSE(virt::instruction_in_code_window(h, 0x8001'fffe));  // straddles the monitor's end
    CHECK_FALSE(virt::instruction_in_code_window(h, 0x8fff'fffe));  // straddles RAM's end
}

TEST_CASE("code window: the monitor in the middle of RAM: the RAM above it", "[virt][fetch]") {
    const virt::hart h = window_of({0x8000'0000, 0x1000'0000}, {0x8400'0000, 0x2'0000});
    check_window(h, 0x8402'0000, 0x8fff'fffc);
    CHECK_FALSE(virt::instruction_in_code_window(h, 0x8000'0000));  // below the monitor: the guarded path
    CHECK_FALSE(virt::instruction_in_code_window(h, 0x8401'fffc));
}

TEST_CASE("code window: the monitor at the end of RAM: the RAM below it", "[virt][fetch]") {
    const virt::hart h = window_of({0x8000'0000, 0x1000'0000}, {0x8ffe'0000, 0x2'0000});
    check_window(h, 0x8000'0000, 0x8ffd'fffc);
    CHECK_FALSE(virt::instruction_in_code_window(h, 0x8ffd'fffe));
}

TEST_CASE("code window: the monitor outside RAM: all of RAM", "[virt][fetch]") {
    const virt::hart h = window_of({0x8000'0000, 0x1000'0000}, {0x4000'0000, 0x2'0000});
    check_window(h, 0x8000'0000, 0x8fff'fffc);
}

TEST_CASE("code window: nothing left for the firmware: no pc matches", "[virt][fetch]") {
    for (const auto& [ram, monitor] : {std::pair<region, region>{{0x8000'0000, 0x2'0000}, {0x8000'0000, 0x2'0000}},
                                       {{0x8000'0000, 0x4'0000}, {0x7fff'0000, 0x8'0000}},
                                       {{0x8000'0000, 0}, {0x4000'0000, 0x2'0000}},
                                       {{0x8000'0000, 2}, {0x4000'0000, 0x2'0000}}}) {
        const virt::hart h = window_of(ram, monitor);
        for (u64 pc : {u64{0}, u64{0x7fff'fffc}, u64{0x8000'0000}, u64{0x8002'0000}, u64{0x8003'fffc}, ~u64{3}})
            CHECK_FALSE(virt::instruction_in_code_window(h, pc));
    }
}
