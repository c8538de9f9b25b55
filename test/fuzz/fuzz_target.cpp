// SPDX-License-Identifier: MIT
// A libFuzzer target over the host backend (docs/fuzzing.md): the input is a
// machine configuration and a program of guest steps (fuzz_driver.hpp) run on
// one or two simulated harts under a monitor with the policies this binary
// was built for (VFM_FUZZ_TARGET, set by test/fuzz/meson.build):
//   0 none, 1 offload, 2 offload with TrapTime, 3 sandbox, 4 counters,
//   5 all (offload, sandbox, counters).
// Every invariant violation aborts with a line starting "vfm-fuzz: INVARIANT
// VIOLATED"; the monitor stopping the machine through its documented fatal
// paths ends the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <vfm/policy/counters.hpp>
#include <vfm/policy/offload.hpp>
#include <vfm/policy/sandbox.hpp>

#include "fuzz_driver.hpp"

#ifndef VFM_FUZZ_TARGET
#error "VFM_FUZZ_TARGET selects the policies (test/fuzz/meson.build)"
#endif

namespace {

constexpr vfm::u32 harts = vfz::fuzz_board::max_harts;
constexpr vfm::u32 sandbox_exit_code = vfm::policy::sandbox<harts>::sandbox_exit_code;

template <class... Policies>
void run(const std::uint8_t* data, std::size_t size) {
    vfz::reader in(data, size);
    const vfz::setup s = vfz::read_setup(in);
    vfz::machine<Policies...> m(in, s.config, s.harts, s.fast_path);
    m.boot();
    vfz::driver<vfz::machine<Policies...>> d(m, s);
    d.run();
    // The documented ways the monitor stops a machine: the firmware faulting at
    // its own trap vector (on_fatal, exit code 70) and the sandbox refusing the
    // OS (71). Anything else would be a way out nobody designed.
    using monitor_type = typename vfz::machine<Policies...>::monitor_type;
    if (m.stopped && m.exit_code != monitor_type::fatal_exit_code && m.exit_code != sandbox_exit_code)
        vfz::violation("the monitor stopped the machine with exit code " + std::to_string(m.exit_code) + ": " +
                       m.board.console());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace vfm::policy;
#if VFM_FUZZ_TARGET == 0
    run<>(data, size);
#elif VFM_FUZZ_TARGET == 1
    run<offload<harts>>(data, size);
#elif VFM_FUZZ_TARGET == 2
    run<offload<harts, true>>(data, size);
#elif VFM_FUZZ_TARGET == 3
    run<sandbox<harts>>(data, size);
#elif VFM_FUZZ_TARGET == 4
    run<counters<harts>>(data, size);
#elif VFM_FUZZ_TARGET == 5
    run<offload<harts>, sandbox<harts>, counters<harts>>(data, size);
#else
#error "unknown VFM_FUZZ_TARGET"
#endif
    return 0;
}
