// SPDX-License-Identifier: MIT
// attack-sandbox-race: the sandbox's measurement race (docs/attacks.md).
//
// The sandbox policy measures the OS image at the first switch to the OS
// (SHA-256 over the 8-byte little-endian entry address and the image, whose
// size comes from the RISC-V Linux image header) and walls the OS's memory
// off from the firmware on every hart. The attack: hart 0 builds an OS image
// of ATTACK_IMAGE_SIZE bytes at 0x80200000 with a valid header and hands it the
// machine (mret to S-mode); the other harts keep storing into that image
// around the handover:
//
//   before  until hart 0 raises `go` (right before its mret) and for a while
//           after it (ATTACK_SETTLE_STORES stores, or until one faults: the
//           wall is up), they store the image's own bytes back (harmless:
//           the image does not change);
//   during, after   then they store other values, until the OS says stop.
//
// The victim words are at the start of the image, so a measurement that runs
// while those stores land has hashed the original words long before. A
// monitor that walls every hart before it measures stops every one of these
// stores (store access faults at the firmware's mtvec, mtval = the word), and
// the image the OS runs is the one that was measured, the untampered one.
// Natively, and under a monitor without the sandbox, the stores land and the
// OS sees a modified image.
//
// The OS: a Linux image header whose first instruction jumps to offset 64,
// where `jr a0` jumps to os_main in the firmware's image (run_in passes its
// address in a0): every byte the OS has at 0x80200000 is deterministic
// (test/attack/system/sandbox_race.py builds the same image on the host).
// The OS computes SHA-256 over what the monitor measures, as it sees it,
// counts the victim words that changed, stops the other harts, prints their
// reports and ends the run itself (it never returns to the firmware).
#include <vfm/detail/sha256.hpp>

#include "testfw/testfw.hpp"

using namespace testfw;

const char* const testfw::firmware_name = "attack-sandbox-race";
const char* const testfw::firmware_purpose = "other harts rewrite the OS image while it is handed over and measured";

#ifndef ATTACK_IMAGE_SIZE
#define ATTACK_IMAGE_SIZE (16u << 20)
#endif
#ifndef ATTACK_SETTLE_STORES
#define ATTACK_SETTLE_STORES 12000000
#endif

namespace {

constexpr u64 os_base = 0x8020'0000;
constexpr u64 image_size = ATTACK_IMAGE_SIZE;
// Stores of the original word after `go`: about 120 ms of the hart on QEMU (counted, not
// timed: reading the time traps into a monitor, and a trap lets it wall the hart).
constexpr u64 settle_stores = ATTACK_SETTLE_STORES;
// Every tampering hart stores to its own word, one cache line apart.
constexpr u64 victim_offset = 0x1000;
constexpr u64 victim_stride = 0x40;
// The OS waits for this many post-settle stores of every hart before it looks.
constexpr u64 attempts_wanted = 2000;

/// The image's 64-bit word at byte `offset` (offset a multiple of 8, >= 72):
/// the same formula as sandbox_race.py.
constexpr u64 fill_word(u64 offset) { return ((offset / 8) * 0x9E37'79B9'7F4A'7C15ull) ^ 0x5A17'B0C5'D1E2'F3A4ull; }

u64 victim_address(u64 hart) { return os_base + victim_offset + victim_stride * hart; }

/// What each tampering hart did (written by that hart, read by the OS).
struct alignas(64) tamper_state {
    volatile u64 running;     ///< 1 once it stores
    volatile u64 pre_stores;  ///< stores of the original word (before the settle time passed)
    volatile u64 pre_faults;  ///< of which faulted
    volatile u64 landed;      ///< later stores of other values that went through
    volatile u64 faulted;     ///< later stores that faulted
    volatile u64 fault_cause; ///< the first later store's fault
    volatile u64 fault_tval;
    volatile u64 fault_flag;  ///< set by the trap handler
    volatile u64 done;
};
tamper_state g_tamper[TESTFW_MAX_HARTS];
volatile u64 g_go;    ///< hart 0 is about to hand over
volatile u64 g_stop;  ///< the OS has looked
unsigned g_harts;

bool tamper_handler(trap_frame& f) noexcept {
    if (f.is_interrupt()) return false;
    const u64 h = hartid();
    const u64 code = f.code();
    if (code != static_cast<u64>(riscv::exception::store_access_fault) || f.tval != victim_address(h)) return false;
    tamper_state& t = g_tamper[h];
    if (t.fault_flag == 0 && t.fault_cause == 0) {
        t.fault_cause = f.cause;
        t.fault_tval = f.tval;
    }
    t.fault_flag = 1;
    skip_instruction(f);
    return true;
}

/// One store to the victim word; true when it faulted.
bool store_victim(u64 address, u64 value, tamper_state& t) noexcept {
    t.fault_flag = 0;
    barrier();
    mmio::write<u64>(address, value);
    barrier();
    return t.fault_flag != 0;
}

/// On harts 1..n-1.
u64 tamper(u64) {
    const u64 h = hartid();
    tamper_state& t = g_tamper[h];
    const u64 address = victim_address(h);
    const u64 original = fill_word(address - os_base);
    set_m_handler(tamper_handler);
    // Before the handover: the image's own bytes, again and again.
    t.running = 1;
    while (g_go == 0) {
        t.pre_stores = t.pre_stores + 1;
        if (store_victim(address, original, t)) t.pre_faults = t.pre_faults + 1;
    }
    // A fault here means the wall is up: the handover has begun.
    for (u64 i = 0; i < settle_stores && g_stop == 0; ++i) {
        t.pre_stores = t.pre_stores + 1;
        if (store_victim(address, original, t)) {
            t.pre_faults = t.pre_faults + 1;
            break;
        }
    }
    // From then on: other values, until the OS has looked. Nothing in these
    // loops traps unless a store faults (no time, no CSR): a monitor that
    // walls harts only when they trap does not see this one.
    t.fault_cause = 0;
    u64 n = 0;
    while (g_stop == 0 && n < (u64{1} << 40)) {
        const u64 value = 0x7a3e'0000'0000'0000ull | (h << 40) | ++n;
        if (store_victim(address, value, t))
            t.faulted = t.faulted + 1;
        else
            t.landed = t.landed + 1;
    }
    set_m_handler(nullptr);
    fence();
    t.done = 1;
    return 0;
}

/// Writes the OS image at os_base.
void build_image() {
    volatile u8* image = reinterpret_cast<volatile u8*>(os_base);
    for (u64 i = 0; i < 72; ++i) image[i] = 0;
    auto put32 = [&](u64 offset, u32 v) {
        for (unsigned i = 0; i < 4; ++i) image[offset + i] = static_cast<u8>(v >> (8 * i));
    };
    auto put64 = [&](u64 offset, u64 v) {
        put32(offset, static_cast<u32>(v));
        put32(offset + 4, static_cast<u32>(v >> 32));
    };
    // Linux RISC-V image header (Documentation/arch/riscv/boot-image-header.rst).
    put32(0, 0x0400'006f);           // code0: j +64
    put64(16, image_size);           // image_size
    put32(32, 2);                    // version 0.2
    put64(48, 0x0000'0056'4353'4952);  // magic "RISCV"
    put32(56, 0x0543'5352);          // magic2 "RSC\x05"
    put32(64, 0x0005'0067);          // jr a0 (a0 = os_main, from run_in)
    volatile u64* words = reinterpret_cast<volatile u64*>(os_base);
    for (u64 offset = 72; offset < image_size; offset += 8) words[offset / 8] = fill_word(offset);
    fence();
    asm volatile("fence.i" ::: "memory");
}

/// Runs in S-mode on hart 0: the OS.
[[noreturn]] u64 os_main(u64) {
    // Let every tampering hart make its attempts.
    bool all = false;
    for (u64 spin = 0; spin < 20 * lower_spin_limit && !all; ++spin) {
        all = true;
        for (unsigned h = 1; h < g_harts; ++h)
            if (g_tamper[h].landed + g_tamper[h].faulted < attempts_wanted && g_tamper[h].done == 0) all = false;
    }
    // What the monitor measures, as the OS sees it.
    vfm::detail::sha256 hash;
    u8 entry[8];
    for (unsigned i = 0; i < 8; ++i) entry[i] = static_cast<u8>(os_base >> (8 * i));
    hash.update(entry, 8);
    hash.update(reinterpret_cast<const u8*>(os_base), image_size);
    u8 digest[32];
    hash.finish(digest);
    char text[65];
    vfm::detail::to_hex(digest, text);
    unsigned changed = 0;
    for (unsigned h = 1; h < g_harts; ++h)
        if (mmio::read<u64>(victim_address(h)) != fill_word(victim_address(h) - os_base)) ++changed;
    g_stop = 1;
    fence();
    bool finished = true;
    for (unsigned h = 1; h < g_harts; ++h) {
        u64 spin = 0;
        while (g_tamper[h].done == 0 && spin < 10 * lower_spin_limit) ++spin;
        if (g_tamper[h].done == 0) finished = false;
    }

    section("the OS, running in S-mode");
    note("OS: every tampering hart made its attempts before the OS looked: %b", all);
    note("OS: image at %h, %u bytes; SHA-256 of (entry, image) as the OS sees it: %s", os_base, image_size,
         static_cast<const char*>(text));
    note("OS: victim words changed: %u of %u", changed, g_harts - 1);
    for (unsigned h = 1; h < g_harts; ++h) {
        const tamper_state& t = g_tamper[h];
        note("hart %u: victim %h: before the settle time: %u stores of the original word, %u faulted", h,
             victim_address(h), t.pre_stores, t.pre_faults);
        if (t.faulted != 0)
            note("hart %u: afterwards: %u stores landed, %u faulted (first: %s, mtval %h)", h, t.landed, t.faulted,
                 cause_name(t.fault_cause), t.fault_tval);
        else
            note("hart %u: afterwards: %u stores landed, %u faulted", h, t.landed, t.faulted);
    }
    check(finished, "every tampering hart stopped when told");
    finish();
}

}  // namespace

void testfw::firmware_main() {
    g_harts = hart_count();
    if (g_harts > TESTFW_MAX_HARTS) g_harts = TESTFW_MAX_HARTS;
    const unsigned online = wait_for_secondaries();
    if (!check(g_harts >= 2 && online == g_harts - 1, "harts: %u, secondaries registered: %u", g_harts, online))
        return;
    note("OS image of %u bytes at %h; each other hart stores to its own word in it", image_size, os_base);
    build_image();
    write<csr::medeleg>(0);
    write<csr::mideleg>(0);
    pmp::reset();
    pmp::open_all(0);
    for (unsigned h = 1; h < g_harts; ++h) post_work(h, tamper, 0);
    for (unsigned h = 1; h < g_harts; ++h) {
        const deadline until = deadline::in_ms(2000);
        while (g_tamper[h].running == 0 && !until.passed()) {
        }
        if (!check(g_tamper[h].running != 0, "hart %u stores into the image", h)) return;
    }
    section("handing over to the OS at 0x80200000");
    g_go = 1;
    fence();
    run_in(privilege::supervisor, reinterpret_cast<lower_function>(os_base), reinterpret_cast<u64>(&os_main));
    fail_now("the OS returned to the firmware");
}
