// SPDX-License-Identifier: MIT
// An S-mode payload (linked at 0x80200000, loaded with -kernel behind stock
// OpenSBI's fw_dynamic) that uses the SBI debug triggers extension (DBTR, EID
// 0x44425452, SBI 2.0 ch. 19): probes it, counts the triggers, sets the
// shared memory, installs a load breakpoint for S-mode, hits it, reads,
// disables, enables and uninstalls it, and asks for one in M-mode (refused).
// Everything it prints must be the same natively and under a monitor.
// Ends with SBI SRST shutdown (QEMU's test finisher if that returns).
#include <stddef.h>
#include <stdint.h>

namespace {

using u64 = uint64_t;

constexpr u64 eid_base = 0x10;
constexpr u64 eid_dbtr = 0x44425452;
constexpr u64 eid_srst = 0x53525354;

struct sbiret {
    long error;
    u64 value;
};

sbiret ecall(u64 eid, u64 fid, u64 a0 = 0, u64 a1 = 0, u64 a2 = 0) {
    register u64 r0 asm("a0") = a0;
    register u64 r1 asm("a1") = a1;
    register u64 r2 asm("a2") = a2;
    register u64 r6 asm("a6") = fid;
    register u64 r7 asm("a7") = eid;
    asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
    return {static_cast<long>(r0), r1};
}

void putc(char c) {
    volatile uint8_t* uart = reinterpret_cast<volatile uint8_t*>(0x1000'0000);
    while ((uart[5] & 0x20) == 0) {
    }
    uart[0] = static_cast<uint8_t>(c);
}
void puts(const char* s) {
    while (*s != 0) putc(*s++);
}
void puthex(u64 v) {
    puts("0x");
    for (int i = 60; i >= 0; i -= 4) putc("0123456789abcdef"[(v >> i) & 0xf]);
}
void line(const char* what, u64 v) {
    puts(what);
    putc(' ');
    puthex(v);
    putc('\n');
}
void result(const char* what, const sbiret& r) {
    puts(what);
    puts(": error ");
    puthex(static_cast<u64>(r.error));
    puts(" value ");
    puthex(r.value);
    putc('\n');
}

/// One shared-memory entry (SBI 2.0, 19.x): tstate, tdata1, tdata2, tdata3 to
/// read or install; the trigger's index comes back in the first word.
struct entry {
    u64 word[4];
};
alignas(64) volatile entry g_shmem[2];
alignas(64) volatile u64 g_watched[8];

volatile u64 g_hits = 0;
volatile u64 g_scause = 0;
volatile u64 g_stval = 0;
volatile u64 g_sepc_ok = 0;
extern "C" char dbtr_load_site[];
extern "C" char dbtr_s_trap_entry[];

/// S-mode trap handler (entered from dbtr_s_trap_entry, below): a breakpoint
/// at the probe's load skips it.
extern "C" void s_trap() {
    u64 cause, epc, tval;
    asm volatile("csrr %0, scause\n csrr %1, sepc\n csrr %2, stval" : "=r"(cause), "=r"(epc), "=r"(tval));
    g_hits = g_hits + 1;
    g_scause = cause;
    g_stval = tval;
    g_sepc_ok = epc == reinterpret_cast<u64>(dbtr_load_site);
    asm volatile("csrw sepc, %0" ::"r"(epc + 4));
}

/// One load of the watched word at a known site (4 bytes, no compression).
u64 probe_load() {
    u64 v;
    asm volatile(".option push\n .option norvc\n .globl dbtr_load_site\ndbtr_load_site: ld %0, 0(%1)\n .option pop"
                 : "=r"(v)
                 : "r"(&g_watched[0])
                 : "memory");
    return v;
}

void load_and_report(const char* what) {
    g_hits = 0;
    g_scause = 0;
    g_stval = 0;
    g_sepc_ok = 0;
    (void)probe_load();
    puts(what);
    puts(": breakpoints ");
    puthex(g_hits);
    puts(" scause ");
    puthex(g_scause);
    puts(" at the load ");
    puts(g_hits == 0 ? "-" : g_sepc_ok != 0 ? "yes" : "no");
    puts(" stval ");
    puthex(g_stval);
    putc('\n');
}

constexpr u64 type2 = u64{2} << 60;
constexpr u64 type6 = u64{6} << 60;

void run() {
    puts("dbtr-payload: SBI debug triggers from S-mode\n");
    asm volatile("csrw stvec, %0" ::"r"(reinterpret_cast<u64>(dbtr_s_trap_entry)));
    result("sbi spec version", ecall(eid_base, 0));
    result("sbi impl id", ecall(eid_base, 1));
    const sbiret probe = ecall(eid_base, 3, eid_dbtr);
    result("probe DBTR", probe);
    if (probe.error != 0 || probe.value == 0) {
        puts("no DBTR: nothing more to test\n");
        return;
    }
    result("num_triggers(0)", ecall(eid_dbtr, 0, 0));
    result("num_triggers(mcontrol)", ecall(eid_dbtr, 0, type2));
    result("num_triggers(mcontrol6)", ecall(eid_dbtr, 0, type6));
    result("install before set_shmem", ecall(eid_dbtr, 3, 1));
    result("set_shmem", ecall(eid_dbtr, 1, reinterpret_cast<u64>(&g_shmem[0]), 0, 0));

    load_and_report("load, nothing installed");
    // mcontrol: s (4), load (0); tdata2 the address.
    g_shmem[0].word[0] = 0;
    g_shmem[0].word[1] = type2 | (u64{1} << 4) | 1;
    g_shmem[0].word[2] = reinterpret_cast<u64>(&g_watched[0]);
    g_shmem[0].word[3] = 0;
    const sbiret installed = ecall(eid_dbtr, 3, 1);
    result("install mcontrol s load", installed);
    const u64 index = g_shmem[0].word[0];
    line("installed index", index);
    load_and_report("load in S-mode");
    result("read", ecall(eid_dbtr, 2, index, 1));
    line("read tstate", g_shmem[0].word[0]);
    line("read tdata1", g_shmem[0].word[1]);
    line("read tdata2 is the address", g_shmem[0].word[2] == reinterpret_cast<u64>(&g_watched[0]));
    result("disable", ecall(eid_dbtr, 7, index, 1));
    load_and_report("load, disabled");
    result("enable", ecall(eid_dbtr, 6, index, 1));
    load_and_report("load, enabled again");
    result("uninstall", ecall(eid_dbtr, 5, index, 1));
    load_and_report("load, uninstalled");

    // A trigger for M-mode (m, bit 6) is not the OS's to ask for.
    g_shmem[0].word[0] = 0;
    g_shmem[0].word[1] = type2 | (u64{1} << 6) | 1;
    g_shmem[0].word[2] = reinterpret_cast<u64>(&g_watched[0]);
    result("install mcontrol m load", ecall(eid_dbtr, 3, 1));
    load_and_report("load after the refused install");

    // mcontrol6 for S: the other type.
    g_shmem[0].word[0] = 0;
    g_shmem[0].word[1] = type6 | (u64{1} << 4) | 1;
    g_shmem[0].word[2] = reinterpret_cast<u64>(&g_watched[0]);
    result("install mcontrol6 s load", ecall(eid_dbtr, 3, 1));
    load_and_report("load in S-mode (mcontrol6)");
    result("uninstall", ecall(eid_dbtr, 5, g_shmem[0].word[0], 1));
}

}  // namespace

extern "C" [[noreturn]] void payload_main() {
    run();
    puts("dbtr-payload done\n");
    (void)ecall(eid_srst, 0, 0, 0);
    *reinterpret_cast<volatile uint32_t*>(0x100000) = 0x5555;
    for (;;) {
    }
}

asm(R"(
    .pushsection .text.start, "ax"
    .globl _start
_start:
    csrw sie, zero
    la sp, dbtr_stack_top
    call payload_main

    /* S-mode traps: the caller-saved registers around s_trap, then sret
       (no compiler's interrupt attribute: GCC and clang differ there). */
    .balign 4
    .globl dbtr_s_trap_entry
dbtr_s_trap_entry:
    addi sp, sp, -128
    sd ra, 0(sp)
    sd t0, 8(sp)
    sd t1, 16(sp)
    sd t2, 24(sp)
    sd a0, 32(sp)
    sd a1, 40(sp)
    sd a2, 48(sp)
    sd a3, 56(sp)
    sd a4, 64(sp)
    sd a5, 72(sp)
    sd a6, 80(sp)
    sd a7, 88(sp)
    sd t3, 96(sp)
    sd t4, 104(sp)
    sd t5, 112(sp)
    sd t6, 120(sp)
    call s_trap
    ld ra, 0(sp)
    ld t0, 8(sp)
    ld t1, 16(sp)
    ld t2, 24(sp)
    ld a0, 32(sp)
    ld a1, 40(sp)
    ld a2, 48(sp)
    ld a3, 56(sp)
    ld a4, 64(sp)
    ld a5, 72(sp)
    ld a6, 80(sp)
    ld a7, 88(sp)
    ld t3, 96(sp)
    ld t4, 104(sp)
    ld t5, 112(sp)
    ld t6, 120(sp)
    addi sp, sp, 128
    sret
    .popsection
    .pushsection .bss
    .balign 16
    .space 8192
dbtr_stack_top:
    .popsection
)");
