// SPDX-License-Identifier: MIT
// The policies compiled into the reference image (Meson option `policies`).
#pragma once

// A comma-led list of policy types for monitor<Arch, Platform VFM_POLICIES>.
#define VFM_POLICIES
