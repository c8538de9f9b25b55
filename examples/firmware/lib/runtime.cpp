// SPDX-License-Identifier: MIT
// The few C library functions the compiler may call on its own.
#include <vfm/detail/types.hpp>

using vfm::u8;
using vfm::usize;

extern "C" {

// Keep the compiler from turning these loops back into calls to themselves.
#if defined(__clang__)
#define TESTFW_NO_BUILTIN __attribute__((no_builtin))
#else
#define TESTFW_NO_BUILTIN __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif

TESTFW_NO_BUILTIN void* memset(void* d, int c, usize n) {
    auto* p = static_cast<volatile u8*>(d);
    for (usize i = 0; i < n; ++i) p[i] = static_cast<u8>(c);
    return d;
}

TESTFW_NO_BUILTIN void* memcpy(void* d, const void* s, usize n) {
    auto* dp = static_cast<volatile u8*>(d);
    const auto* sp = static_cast<const u8*>(s);
    for (usize i = 0; i < n; ++i) dp[i] = sp[i];
    return d;
}

TESTFW_NO_BUILTIN void* memmove(void* d, const void* s, usize n) {
    auto* dp = static_cast<volatile u8*>(d);
    const auto* sp = static_cast<const u8*>(s);
    if (dp < sp) {
        for (usize i = 0; i < n; ++i) dp[i] = sp[i];
    } else {
        for (usize i = n; i > 0; --i) dp[i - 1] = sp[i - 1];
    }
    return d;
}

TESTFW_NO_BUILTIN int memcmp(const void* a, const void* b, usize n) {
    const auto* pa = static_cast<const u8*>(a);
    const auto* pb = static_cast<const u8*>(b);
    for (usize i = 0; i < n; ++i) {
        if (pa[i] != pb[i]) return pa[i] < pb[i] ? -1 : 1;
    }
    return 0;
}
}
