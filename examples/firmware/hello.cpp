// SPDX-License-Identifier: MIT
#include "testfw/testfw.hpp"
const char* const testfw::firmware_name = "hello";
const char* const testfw::firmware_purpose = "smoke";
void testfw::firmware_main() {
    check(true, "hello %x %d %s", 0x1234u, -5, "str");
}
