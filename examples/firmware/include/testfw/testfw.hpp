// SPDX-License-Identifier: MIT
/// The test-firmware support library (docs/test-firmware.md).
#pragma once

#include "testfw/check.hpp"
#include "testfw/console.hpp"
#include "testfw/csr.hpp"
#include "testfw/deviations.hpp"
#include "testfw/expect.hpp"
#include "testfw/features.hpp"
#include "testfw/harts.hpp"
#include "testfw/lower.hpp"
#include "testfw/platform.hpp"
#include "testfw/pmp.hpp"
#include "testfw/trap.hpp"
