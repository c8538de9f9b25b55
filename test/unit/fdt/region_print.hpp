// SPDX-License-Identifier: MIT
/// How Catch compares and prints a platform region ([base, end)), for the
/// board tests.
#pragma once

#include <vfm/platform.hpp>

#include <ostream>

namespace vfm {
inline std::ostream& operator<<(std::ostream& s, const region& r) {
    const std::ios_base::fmtflags flags = s.flags();
    s << std::hex << "[0x" << r.base << ", 0x" << r.base + r.size << ")";
    s.flags(flags);
    return s;
}
inline bool operator==(const region& a, const region& b) { return a.base == b.base && a.size == b.size; }
}  // namespace vfm
