// SPDX-License-Identifier: MIT
// Trap dispatch for M-mode and S-mode, and the memory probes.
#include "testfw/check.hpp"
#include "testfw/lower.hpp"
#include "testfw/trap.hpp"

extern "C" char testfw_hart_regions[];

namespace testfw {

namespace {

/// Records an expected exception and resumes after it.
void record_expected(hart_local& h, trap_frame& f, u64 level) noexcept {
    ++h.last.count;
    h.last.level = level;
    h.last.cause = f.cause;
    h.last.epc = f.epc;
    h.last.tval = f.tval;
    h.last.status = f.status;
    h.last.vector = f.vector;
    h.expect = 0;
    const u64 code = f.code();
    using riscv::exception;
    if (code == static_cast<u64>(exception::instruction_access_fault) ||
        code == static_cast<u64>(exception::instruction_page_fault) ||
        code == static_cast<u64>(exception::instruction_address_misaligned)) {
        // Nothing to skip: go back to the caller of the bad jump.
        f.epc = h.fetch_return != 0 ? h.fetch_return : f.x[1];
    } else {
        skip_instruction(f);
    }
}

[[nodiscard]] bool is_exit_ecall(const trap_frame& f) noexcept {
    using riscv::exception;
    const u64 c = f.cause;
    return (c == static_cast<u64>(exception::ecall_from_u) || c == static_cast<u64>(exception::ecall_from_s)) &&
           f.x[17] == TESTFW_ECALL_EXIT;
}

}  // namespace

hart_local& hart(u64 hartid) noexcept {
    return *reinterpret_cast<hart_local*>(testfw_hart_regions + (hartid << TESTFW_REGION_SHIFT));
}

u64 wfi_until_wake_address() noexcept { return reinterpret_cast<u64>(testfw_wfi_until_wfi) + 4; }

// The wfi in testfw_wfi_until is 4 bytes (trap.S assembles without RVC).

void restart_wfi_until(trap_frame& f) noexcept {
    const u64 check = reinterpret_cast<u64>(testfw_wfi_until);
    if (f.is_interrupt() && f.epc >= check && f.epc <= reinterpret_cast<u64>(testfw_wfi_until_wfi)) f.epc = check;
}

void unexpected_trap(const trap_frame& f, const char* level) noexcept {
    println("FAIL unexpected trap to %s-mode on hart %u: cause %x epc %x tval %x status %x", level, self().hartid,
            f.cause, f.epc, f.tval, f.status);
    detail::record_failure();
    if (self().hartid == 0) finish();
    exit_qemu(3);
}

extern "C" void testfw_m_trap(trap_frame* frame) noexcept {
    trap_frame& f = *frame;
    hart_local& h = self();
    h.m_traps = h.m_traps + 1;
    restart_wfi_until(f);
    if (h.m_handler != nullptr && h.m_handler(f)) return;
    if (!f.is_interrupt()) {
        if (is_exit_ecall(f)) testfw_resume_m(f.x[10]);
        if (h.expect != 0) {
            record_expected(h, f, 3);
            return;
        }
    }
    unexpected_trap(f, "M");
}

extern "C" void testfw_s_trap(trap_frame* frame) noexcept {
    trap_frame& f = *frame;
    hart_local& h = self();
    h.s_traps = h.s_traps + 1;
    restart_wfi_until(f);
    if (h.s_handler != nullptr && h.s_handler(f)) return;
    if (!f.is_interrupt()) {
        if (is_exit_ecall(f)) {
            // An exit ecall from U-mode delegated to S: pass it on to M.
            (void)ecall(TESTFW_ECALL_EXIT, f.x[10]);
        }
        if (h.expect != 0) {
            record_expected(h, f, 1);
            return;
        }
    }
    unexpected_trap(f, "S");
}

probe load_probe(u64 address, unsigned size) noexcept {
    u64 out;
    u64 site;
    expect_arm();
#define TESTFW_LOAD(insn)                                                             \
    asm volatile("mv a0, %[s]\n la %[site], 1f\n1: " insn " a0, 0(%[a])\n mv %[out], a0" \
                 : [out] "=r"(out), [site] "=&r"(site)                                 \
                 : [s] "r"(probe_sentinel), [a] "r"(address)                           \
                 : "a0", "memory")
    switch (size) {
        case 1: TESTFW_LOAD("lb"); break;
        case 2: TESTFW_LOAD("lh"); break;
        case 4: TESTFW_LOAD("lw"); break;
        default: TESTFW_LOAD("ld"); break;
    }
#undef TESTFW_LOAD
    return expect_result(site, out);
}

probe store_probe(u64 address, u64 value, unsigned size) noexcept {
    u64 site;
    expect_arm();
#define TESTFW_STORE(insn)                                                 \
    asm volatile("la %[site], 1f\n1: " insn " %[v], 0(%[a])"                  \
                 : [site] "=&r"(site)                                       \
                 : [v] "r"(value), [a] "r"(address)                         \
                 : "memory")
    switch (size) {
        case 1: TESTFW_STORE("sb"); break;
        case 2: TESTFW_STORE("sh"); break;
        case 4: TESTFW_STORE("sw"); break;
        default: TESTFW_STORE("sd"); break;
    }
#undef TESTFW_STORE
    return expect_result(site, 0);
}

probe call_probe(u64 address, u64 argument) noexcept {
    u64 out;
    hart_local& h = self();
    expect_arm();
    asm volatile("la t1, 1f\n sd t1, 0(%[slot])\n mv a0, %[arg]\n mv t0, %[a]\n jalr ra, 0(t0)\n1: mv %[out], a0"
                 : [out] "=r"(out)
                 : [arg] "r"(argument), [a] "r"(address), [slot] "r"(&h.fetch_return)
                 : "ra", "t0", "t1", "t2", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "t3", "t4", "t5", "t6",
                   "memory");
    h.fetch_return = 0;
    return expect_result(address, out);
}

probe mprv_load_probe(u64 address) noexcept {
    u64 out = 0;
    u64 site = 0;
    expect_arm();
    asm volatile(
        "li t0, %[mprv]\n"
        "mv a0, %[s]\n"
        "la %[site], 1f\n"
        "csrs mstatus, t0\n"
        "1: ld a0, 0(%[a])\n"
        "csrc mstatus, t0\n"
        "mv %[out], a0"
        : [out] "=r"(out), [site] "=&r"(site)
        : [s] "r"(probe_sentinel), [a] "r"(address), [mprv] "i"(riscv::mstatus::mprv::mask)
        : "t0", "a0", "memory");
    return expect_result(site, out);
}

probe mprv_store_probe(u64 address, u64 value) noexcept {
    u64 site = 0;
    expect_arm();
    asm volatile(
        "li t0, %[mprv]\n"
        "la %[site], 1f\n"
        "csrs mstatus, t0\n"
        "1: sd %[v], 0(%[a])\n"
        "csrc mstatus, t0\n"
        : [site] "=&r"(site)
        : [v] "r"(value), [a] "r"(address), [mprv] "i"(riscv::mstatus::mprv::mask)
        : "t0", "memory");
    return expect_result(site, 0);
}

}  // namespace testfw
