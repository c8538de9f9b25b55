// SPDX-License-Identifier: MIT
// Must not compile: a device the engine would route stores to has no write.
// The emulated_device concept (virt/emulated_device.hpp) rejects it and
// names the member; the engine checks it for every device of its list.
#ifdef VFM_COMPILE_FAIL
#define STUB_DEVICE_WITHOUT_WRITE
#endif
#include "stub_machine.hpp"

namespace {
struct engine_stub {};
}  // namespace

static_assert(vfm::virt::emulated_device<stub::device, engine_stub>);

int main() { return 0; }
