// SPDX-License-Identifier: MIT
// The Catch2 v2 main, compiled once (v3 brings Catch2WithMain instead).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
