// SPDX-License-Identifier: MIT
// Includes Catch2 v3 or v2, whichever the build found.
#pragma once
#ifdef VFM_CATCH2_V3
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
