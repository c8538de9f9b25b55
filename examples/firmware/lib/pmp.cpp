// SPDX-License-Identifier: MIT
// PMP entries by index (RV64: entry i's byte is in pmpcfg(2 * (i / 8))), and
// accesses tried against them.
#include "testfw/pmp.hpp"

#include "testfw/console.hpp"
#include "testfw/expect.hpp"
#include "testfw/platform.hpp"

namespace testfw::pmp {

namespace {
template <unsigned I>
void write_addr_at(unsigned index, u64 value) noexcept {
    if constexpr (I < entries) {
        if (index == I) {
            csrw<static_cast<u16>(0x3b0 + I)>(value);
            return;
        }
        write_addr_at<I + 1>(index, value);
    }
}
template <unsigned I>
u64 read_addr_at(unsigned index) noexcept {
    if constexpr (I < entries) {
        if (index == I) return csrr<static_cast<u16>(0x3b0 + I)>();
        return read_addr_at<I + 1>(index);
    } else {
        return 0;
    }
}
unsigned g_reserved;

struct request {
    access_kind kind;
    u64 address;
    unsigned size;
};
request g_request;
probe g_result;

probe do_access(const request& r) noexcept {
    switch (r.kind) {
        case access_kind::load: return load_probe(r.address, r.size);
        case access_kind::store: return store_probe(r.address, 0x1234'5678'9abc'def0, r.size);
        case access_kind::fetch: return call_probe(r.address);
    }
    return {};
}

u64 lower_access(u64) noexcept {
    g_result = do_access(g_request);
    return 1;
}
}  // namespace

void reserve_low(unsigned n) noexcept { g_reserved = n; }

void write_addr(unsigned index, u64 value) noexcept { write_addr_at<0>(index + g_reserved, value); }
u64 read_addr(unsigned index) noexcept { return read_addr_at<0>(index + g_reserved); }

void write_cfg(unsigned index, u8 cfg) noexcept {
    index += g_reserved;
    const unsigned shift = 8 * (index % 8);
    const u64 mask = u64{0xff} << shift;
    if (index < 8) {
        write<csr::pmpcfg0>((read<csr::pmpcfg0>() & ~mask) | (u64{cfg} << shift));
    } else {
        write<csr::pmpcfg2>((read<csr::pmpcfg2>() & ~mask) | (u64{cfg} << shift));
    }
}

u8 read_cfg(unsigned index) noexcept {
    index += g_reserved;
    const u64 v = index < 8 ? read<csr::pmpcfg0>() : read<csr::pmpcfg2>();
    return static_cast<u8>(v >> (8 * (index % 8)));
}

void reset() noexcept {
    if (g_reserved == 0) {
        write<csr::pmpcfg0>(0);
        write<csr::pmpcfg2>(0);
    } else {
        for (unsigned i = 0; i + g_reserved < entries; ++i) write_cfg(i, 0);
    }
    for (unsigned i = 0; i + g_reserved < entries; ++i) write_addr(i, 0);
}

void plant_code(u64 base, unsigned pages, u32 last) noexcept {
    for (unsigned i = 0; i < pages; ++i) {
        mmio::write<u32>(base + i * page + 0x10, 0x02a0'0513);  // addi a0, x0, 42
        mmio::write<u32>(base + i * page + 0x14, last);
    }
    asm volatile("fence.i" ::: "memory");
}

const char* kind_name(access_kind kind) noexcept {
    return kind == access_kind::load ? "load" : kind == access_kind::store ? "store" : "fetch";
}

riscv::exception fault_of(access_kind kind) noexcept {
    return kind == access_kind::load    ? riscv::exception::load_access_fault
           : kind == access_kind::store ? riscv::exception::store_access_fault
                                        : riscv::exception::instruction_access_fault;
}

void try_access(u64 area, privilege mode, access_kind kind, u64 address, unsigned size, bool allowed,
                const char* where) noexcept {
    g_request = {kind, address, size};
    g_result = {};
    if (mode == privilege::machine) {
        g_result = do_access(g_request);
    } else {
        run_in(mode, lower_access);
    }
    char what[112];
    format(what, sizeof what, "%s-mode %s of %u bytes at area+%h (%s)", name(mode), kind_name(kind), size,
           address - area, where);
    if (allowed) {
        if (kind == access_kind::fetch) {
            check(!g_result.trapped && g_result.value == 42, "%s: ran, returned %u", what, g_result.value);
        } else {
            expect_no_trap(g_result, what);
        }
    } else {
        expect_exception(g_result, fault_of(kind), g_request.address, 3, what);
    }
}

}  // namespace testfw::pmp
