// SPDX-License-Identifier: MIT
/// The simulated RAM of a host hart (one contiguous range, allocated
/// zero-filled on first use) and the fault-injection table that lets a test
/// make chosen addresses raise chosen exceptions.
#pragma once

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <vector>

#include <vfm/detail/types.hpp>
#include <vfm/host/pmp.hpp>

namespace vfm::host {

/// One contiguous range of simulated RAM.
class ram {
public:
    ram(u64 base, u64 size) noexcept : m_base(base), m_size(size) {}

    [[nodiscard]] u64 base() const noexcept { return m_base; }
    [[nodiscard]] u64 size() const noexcept { return m_size; }

    /// True when [address, address + size) lies inside the RAM.
    [[nodiscard]] bool contains(u64 address, u64 size) const noexcept {
        return address >= m_base && address - m_base <= m_size && size <= m_size - (address - m_base);
    }

    /// A pointer to `address`, or nullptr when [address, address + size) is
    /// not RAM. Allocates the RAM on first use (calloc: the pages are only
    /// committed when touched); nullptr if that allocation fails.
    [[nodiscard]] u8* at(u64 address, u64 size) noexcept {
        if (!contains(address, size)) return nullptr;
        if (!m_bytes) {
            m_bytes.reset(static_cast<u8*>(std::calloc(static_cast<std::size_t>(m_size), 1)));
            if (!m_bytes) return nullptr;
        }
        return m_bytes.get() + (address - m_base);
    }

private:
    struct free_deleter {
        void operator()(u8* p) const noexcept { std::free(p); }
    };
    u64 m_base;
    u64 m_size;
    std::unique_ptr<u8, free_deleter> m_bytes;
};

/// Which accesses an injected fault applies to.
enum class fault_on : u8 { loads = 1, stores = 2, both = 3 };

/// An address range that raises a chosen exception on loads and/or stores
/// made on behalf of a less privileged mode (`simulated_hart::load/store`).
struct injected_fault {
    u64 base = 0;
    u64 size = 0;
    u64 cause = 0;
    fault_on on = fault_on::both;
    u64 tval2 = 0;  ///< reported as mtval2 (guest physical address >> 2 for guest-page faults)
    u64 tinst = 0;  ///< reported as mtinst

    [[nodiscard]] bool applies(u64 address, u64 width, access_type type) const noexcept {
        const unsigned mask = type == access_type::store ? 2u : 1u;
        if ((static_cast<unsigned>(on) & mask) == 0 || size == 0) return false;
        const u64 last = address + width - 1;
        return address <= base + (size - 1) && last >= base;
    }
};

}  // namespace vfm::host
