// SPDX-License-Identifier: MIT
/// What the system attacks share (docs/attacks.md), on top of the attack
/// suite's support (testfw/attack.hpp): code planted where a hart lands,
/// runs in S- and U-mode that also work under the sandbox policy, and
/// attempts from S- and U-mode judged like testfw::attack::attempt judges
/// M-mode's.
#pragma once

#include "testfw/attack.hpp"
#include "testfw/testfw.hpp"

namespace atk {

using namespace testfw;
using testfw::attack::group;
using testfw::attack::outcome;
using testfw::attack::targets;
using testfw::attack::verdict;

// ---- landing code -----------------------------------------------------------------------------

/// Code that re-enters the firmware at its entry as hart 0 (a0 = 0): li a0, 0;
/// lui/slli/srli t0 = 0x80100000; jr t0.
inline constexpr u32 landing_code[] = {
    0x0000'0513,  // li   a0, 0
    0x8010'02b7,  // lui  t0, 0x80100
    0x0202'9293,  // slli t0, t0, 32
    0x0202'd293,  // srli t0, t0, 32
    0x0002'8067,  // jr   t0
};
static_assert(platform::firmware_base == 0x8010'0000);

/// `jal x0, offset` (unpriv. spec 2.5: J-type immediate).
[[nodiscard]] constexpr u32 jump_by(i64 offset) noexcept {
    const u64 imm = static_cast<u64>(offset);
    return static_cast<u32>((((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20) |
                            (((imm >> 12) & 0xff) << 12) | 0x6f);
}
static_assert(jump_by(64) == 0x0400'006f);

/// Plants landing_code at `address` (or, when it would not fit below
/// `limit`, 64 bytes lower with a jump to it at `address`), one store probe
/// per word; returns how many of the stores went through (natively all,
/// under a monitor none).
inline unsigned plant_landing(u64 address, u64 limit) noexcept {
    unsigned stored = 0;
    u64 code = address;
    constexpr unsigned words = sizeof landing_code / sizeof landing_code[0];
    if (address + 4 * words > limit) {
        code = address - 64;
        if (!store_probe(address, jump_by(-64), 4).trapped) ++stored;
    }
    for (unsigned i = 0; i < words; ++i)
        if (!store_probe(code + 4 * i, landing_code[i], 4).trapped) ++stored;
    fence();
    asm volatile("fence.i" ::: "memory");
    return stored;
}

// ---- S- and U-mode under any monitor --------------------------------------------------------

/// run_in with stvec set to the library's S-mode entry first: under the
/// sandbox policy the firmware finds stvec cleared after every switch back
/// from S/U (the OS's value is hidden from it), and a run that does not
/// return to where the OS trapped starts with what the firmware set.
inline u64 run_lower(privilege mode, lower_function fn, u64 arg = 0) noexcept {
    write<csr::stvec>(s_trap_entry());
    return run_in(mode, fn, arg);
}

/// Where hand_over_once puts its OS.
inline constexpr u64 os_base = 0x8020'0000;

extern "C" {
extern const char attack_handover_os_begin[];
extern const char attack_handover_os_end[];
}

/// Hands the machine over once to a tiny OS at os_base (mret to S-mode) that
/// ends its run at once: under the sandbox policy the first switch to S-mode
/// is the handover, which walls [os_base, end of RAM) off from the firmware.
/// Doing it here, with the OS outside the firmware's image, lets the firmware
/// run its own code in S- and U-mode afterwards. Later S/U runs are the OS's
/// world for the sandbox: only their SBI calls (ecalls from S) and interrupts
/// reach the firmware, with their registers cleared (the trap entry copes),
/// and their other exceptions go to stvec (run_lower sets it to the
/// library's S entry). PMP must let S-mode run at os_base. Natively nothing
/// changes. A firmware that calls this is flagged 'hands-over' (the
/// sandbox expecting another measurement stops it here).
inline void hand_over_once() noexcept {
    const u32* from = reinterpret_cast<const u32*>(attack_handover_os_begin);
    volatile u32* to = reinterpret_cast<volatile u32*>(os_base);
    const usize words = static_cast<usize>(attack_handover_os_end - attack_handover_os_begin) / 4;
    for (usize i = 0; i < words; ++i) to[i] = from[i];
    fence();
    asm volatile("fence.i" ::: "memory");
    (void)run_lower(privilege::supervisor, reinterpret_cast<lower_function>(os_base));
}

// ---- attempts from S- and U-mode ----------------------------------------------------------------

/// What a lower-mode attempt does.
enum class lower_kind : u8 { load, store, fetch };

namespace detail {
/// One lower-mode attempt's request and result, per hart.
struct lower_request {
    probe result;
    u64 address;
    u64 value;
    lower_kind kind;
    unsigned width;
};
inline lower_request g_lower[TESTFW_MAX_HARTS];
inline u64 lower_body(u64) {
    lower_request& r = g_lower[hartid()];
    switch (r.kind) {
        case lower_kind::load: r.result = load_probe(r.address, r.width); break;
        case lower_kind::store: r.result = store_probe(r.address, r.value, r.width); break;
        case lower_kind::fetch: r.result = call_probe(r.address); break;
    }
    return 0;
}
}  // namespace detail

/// The value code planted by plant_return returns in a0.
inline constexpr u64 planted_magic = 0x0000'0000'0000'05a1;

/// Plants `li a0, 0x5a1; ret` at `address` (plain stores, fence.i): natively
/// a fetch there then returns planted_magic. True when both stores went
/// through (then restore_bytes puts the old bytes back).
inline bool plant_return(u64 address, u8 (&saved)[8]) noexcept {
    if (!testfw::attack::read_bytes(address, 8, saved)) return false;
    const bool ok = !store_probe(address, 0x5a10'0513, 4).trapped && !store_probe(address + 4, 0x0000'8067, 4).trapped;
    fence();
    asm volatile("fence.i" ::: "memory");
    return ok;
}

/// One load or store of `width` bytes, or a fetch, at `address` from `mode`
/// (M = privilege::machine: from the firmware itself), judged: contained
/// when it raised its access fault (load, store/AMO, instruction) with mtval
/// = the address (any byte of it for a straddling access), taken in M-mode
/// at the firmware's mtvec, or, for an S/U attempt under the sandbox policy,
/// in S-mode at stvec (the sandbox gives the OS's own exceptions to the OS);
/// real when it did what it does on bare hardware (the load read the bytes
/// there, the store left its value there, the fetch ran the code planted
/// there); wrong otherwise. Memory a store changed is put back.
inline verdict lower_attempt(privilege mode, lower_kind kind, u64 address, unsigned width = 8) noexcept {
    verdict v;
    if (kind == lower_kind::fetch) width = 8;  // the planted code
    u8 before[8] = {};
    const bool known = testfw::attack::read_bytes(address, width, before);
    u64 old = 0;
    for (unsigned i = 0; i < width; ++i) old |= u64{before[i]} << (8 * i);
    u8 planted_saved[8] = {};
    const bool planted = kind == lower_kind::fetch && known && plant_return(address, planted_saved);
    detail::lower_request& request = detail::g_lower[hartid()];
    request.result = {};
    request.address = address;
    const u64 mask = width == 8 ? ~u64{0} : (u64{1} << (8 * width)) - 1;
    request.value = (known ? old ^ 0x5aa5'5aa5'5aa5'5aa5 : 0x0bad'f00d'0bad'f00d) & mask;
    request.kind = kind;
    request.width = width;
    if (mode == privilege::machine)
        (void)detail::lower_body(0);
    else
        (void)run_lower(mode, detail::lower_body);
    const probe p = request.result;
    const char* what = kind == lower_kind::load ? "load" : kind == lower_kind::store ? "store" : "fetch";
    const char* who = mode == privilege::machine ? "M" : mode == privilege::supervisor ? "S" : "U";
    using riscv::exception;
    const exception fault = kind == lower_kind::load    ? exception::load_access_fault
                            : kind == lower_kind::store ? exception::store_access_fault
                                                        : exception::instruction_access_fault;
    if (p.trapped) {
        const bool level_ok = p.level == 3 || (p.level == 1 && mode != privilege::machine);
        const bool tval_ok = p.tval >= address && p.tval - address < (kind == lower_kind::fetch ? 4u : width);
        const bool ok = p.count == 1 && level_ok && p.cause == static_cast<u64>(fault) && tval_ok &&
                        (kind == lower_kind::fetch || p.epc == p.site);
        v.what = ok ? outcome::contained : outcome::wrong;
        format(v.detail, sizeof v.detail, "%s-mode %s %h: %s in %s-mode, mtval %h", who, what, address,
               cause_name(p.cause), p.level == 3 ? "M" : "S", p.tval);
    } else {
        u8 after[8] = {};
        const bool readable = testfw::attack::read_bytes(address, width, after);
        u64 now = 0;
        for (unsigned i = 0; i < width; ++i) now |= u64{after[i]} << (8 * i);
        bool ok = known && readable;
        // Loads of fewer than 8 bytes sign-extend (lb, lh, lw).
        const u64 loaded = width == 8 ? old : static_cast<u64>(static_cast<i64>(old << (64 - 8 * width)) >> (64 - 8 * width));
        switch (kind) {
            case lower_kind::load: ok = ok && p.value == loaded; break;
            case lower_kind::store: ok = ok && now == request.value; break;
            case lower_kind::fetch: ok = ok && planted && p.value == planted_magic; break;
        }
        v.what = ok ? outcome::real : known && readable ? outcome::wrong : outcome::leaked;
        format(v.detail, sizeof v.detail, "%s-mode %s %h: no trap, a0 %h", who, what, address, p.value);
    }
    if (kind == lower_kind::store && known) (void)testfw::attack::write_bytes(address, width, before);
    if (planted) {
        (void)testfw::attack::write_bytes(address, 8, planted_saved);
        asm volatile("fence.i" ::: "memory");
    }
    return v;
}

}  // namespace atk

#define ATTACK_STR2(x) #x
#define ATTACK_STR(x) ATTACK_STR2(x)
// The OS of hand_over_once: position independent, ends its run.
asm(R"(
    .section .text.attack_handover_os, "ax", @progbits
    .balign 4
    .globl attack_handover_os_begin
attack_handover_os_begin:
    li      a7, )" ATTACK_STR(TESTFW_ECALL_EXIT) R"(
    li      a0, 0
    ecall
1:  j       1b
    .globl attack_handover_os_end
attack_handover_os_end:
    .text
)");
