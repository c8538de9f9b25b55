// SPDX-License-Identifier: MIT
// The freestanding runtime of a metal image: hart blocks, trampoline slots,
// and the four memory functions the compiler may call.
#include <vfm/metal/arch.hpp>
#include <vfm/metal/runtime.hpp>

#if defined(__GNUC__) && !defined(__clang__)
// Keep GCC from turning these loops into calls to themselves.
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

extern "C" {

vfm::metal::hart_block vfm_hart_blocks[VFM_MAX_HARTS];

[[gnu::section(".vfm_trampolines"), gnu::aligned(8)]] vfm::u32 vfm_trampolines[VFM_MAX_HARTS][2] = {};

// Word at a time when both ends are 8-byte aligned (the common case: the
// compiler calls these to copy or clear structures), byte at a time otherwise.
void* memset(void* destination, int value, size_t size) {
    auto* d = static_cast<unsigned char*>(destination);
    size_t i = 0;
    if ((reinterpret_cast<vfm::uptr>(d) & 7) == 0) {
        vfm::u64 word = static_cast<unsigned char>(value);
        word |= word << 8;
        word |= word << 16;
        word |= word << 32;
        for (; i + 8 <= size; i += 8) *reinterpret_cast<vfm::u64*>(d + i) = word;
    }
    for (; i < size; ++i) d[i] = static_cast<unsigned char>(value);
    return destination;
}

void* memcpy(void* destination, const void* source, size_t size) {
    auto* d = static_cast<unsigned char*>(destination);
    const auto* s = static_cast<const unsigned char*>(source);
    size_t i = 0;
    if (((reinterpret_cast<vfm::uptr>(d) | reinterpret_cast<vfm::uptr>(s)) & 7) == 0)
        for (; i + 8 <= size; i += 8) *reinterpret_cast<vfm::u64*>(d + i) = *reinterpret_cast<const vfm::u64*>(s + i);
    for (; i < size; ++i) d[i] = s[i];
    return destination;
}

void* memmove(void* destination, const void* source, size_t size) {
    auto* d = static_cast<unsigned char*>(destination);
    const auto* s = static_cast<const unsigned char*>(source);
    if (d < s) {
        for (size_t i = 0; i < size; ++i) d[i] = s[i];
    } else {
        for (size_t i = size; i != 0; --i) d[i - 1] = s[i - 1];
    }
    return destination;
}

int memcmp(const void* a, const void* b, size_t size) {
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < size; ++i)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

}  // extern "C"
