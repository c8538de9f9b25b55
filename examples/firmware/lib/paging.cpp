// SPDX-License-Identifier: MIT
// Page tables (testfw/paging.hpp).
#include "testfw/paging.hpp"

#include "testfw/csr.hpp"

namespace testfw::paging {

const char* name(mode m, bool x4) noexcept {
    switch (m) {
        case mode::sv39: return x4 ? "Sv39x4" : "Sv39";
        case mode::sv48: return x4 ? "Sv48x4" : "Sv48";
        case mode::sv57: return x4 ? "Sv57x4" : "Sv57";
        default: return "Bare";
    }
}

table::table(u64 pool, unsigned pages, mode m, bool x4) noexcept
    : m_pool(pool), m_pages(pages), m_used(0), m_mode(m), m_x4(x4) {
    clear();
}

void table::clear() noexcept {
    for (u64 a = m_pool; a < m_pool + u64{m_used} * 4096; a += 8) mmio::write<u64>(a, 0);
    m_used = 0;
    // The root: one page, or four for an x4 root (priv. 8.5.1: 16 KiB, 16 KiB aligned).
    const unsigned root_pages = m_x4 ? 4 : 1;
    for (u64 a = m_pool; a < m_pool + u64{root_pages} * 4096; a += 8) mmio::write<u64>(a, 0);
    m_used = root_pages;
}

u64 table::allocate() noexcept {
    if (m_used >= m_pages) return 0;
    const u64 page = m_pool + u64{m_used++} * 4096;
    for (u64 a = page; a < page + 4096; a += 8) mmio::write<u64>(a, 0);
    return page;
}

unsigned table::index(u64 va, unsigned level) const noexcept {
    const bool top = level + 1 == levels(m_mode);
    const u64 bits = top && m_x4 ? 0x7ff : 0x1ff;
    return static_cast<unsigned>((va >> (12 + 9 * level)) & bits);
}

u64 table::entry(u64 va, unsigned level) noexcept {
    u64 t = m_pool;
    for (unsigned l = levels(m_mode) - 1;; --l) {
        const u64 slot = t + 8 * u64{index(va, l)};
        if (l == level) return slot;
        const u64 e = mmio::read<u64>(slot);
        if ((e & pte_v) == 0) {
            const u64 next = allocate();
            if (next == 0) return 0;
            mmio::write<u64>(slot, pte(next, 0));
            t = next;
        } else if ((e & (pte_r | pte_w | pte_x)) != 0) {
            return 0;
        } else {
            t = (e >> 10) << 12;
        }
    }
}

bool table::map(u64 va, u64 pa, u64 flags, unsigned level) noexcept {
    const u64 slot = entry(va, level);
    if (slot == 0) return false;
    mmio::write<u64>(slot, pte(pa & ~(page_size(level) - 1), flags));
    return true;
}

bool set_satp(u64 value) noexcept {
    write<csr::satp>(value);
    asm volatile("sfence.vma" ::: "memory");
    return read<csr::satp>() == value;
}

}  // namespace testfw::paging
