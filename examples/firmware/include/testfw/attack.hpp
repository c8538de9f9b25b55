// SPDX-License-Identifier: MIT
/// The attack suite's support (docs/attacks.md): where the monitor's memory
/// is, one attempt at an access into it judged, and attempts grouped into
/// one transcript line each.
///
/// Every attack line reads
///
///     ok   [attack] <description> => <outcome> (<details>)
///     FAIL [attack] <description> => wrong (<details>)
///
/// with an address-free description (the same natively and under any
/// monitor) and one outcome word:
///
///   contained  every attempt raised the access fault the hardware raises for
///              that access (load access fault for loads and LR, store/AMO
///              access fault for stores, AMOs and SC), taken in M-mode at the
///              firmware's own mtvec, mepc at the instruction, mtval = the
///              address (for an access straddling a boundary, the address of
///              any of its bytes: priv. 3.1.16 allows the faulting portion)
///   real       every attempt did what it does on bare hardware: a load
///              returned the bytes that are there, a store or AMO left there
///              what it should (checked with plain M-mode accesses, which
///              natively reach everything)
///   leaked     attempts succeeded but the memory cannot be read directly to
///              check them (under a monitor that lets them through)
///   mixed      some of each (the counts are given)
///   wrong      an attempt ended in a way neither bare hardware nor a
///              containing monitor explains (the wrong cause, mtval or mepc,
///              a wrong value): the firmware's verdict fails
///
/// test/attack/attack_check.py decides which outcome a run must show.
#pragma once

#include "testfw/access.hpp"
#include "testfw/check.hpp"

namespace testfw::attack {

/// A range of physical memory.
struct region {
    u64 base = 0;
    u64 size = 0;
    [[nodiscard]] u64 end() const noexcept { return base + size; }
    [[nodiscard]] bool contains(u64 a) const noexcept { return a >= base && a - base < size; }
    /// Whether any byte of [a, a + n) is inside.
    [[nodiscard]] bool overlaps(u64 a, u64 n) const noexcept { return a < end() && a + n > base; }
};

/// What the attacks aim at (docs/attacks.md, "What the targets are").
///
/// The monitor's memory is a target of every access. The shared page is
/// memory the firmware is given (the sandbox policy's bounce buffer for
/// debug-console buffers): the firmware's own loads, stores, AMOs, LR/SC, FP
/// accesses and fetches there (MPRV with MPP = M included) are legitimate and
/// work, so they are controls; it is a target only of the accesses the
/// monitor makes on the firmware's behalf (MPRV with MPP = S or U, HLV/HLVX/
/// HSV, and the page-table walks of either), which must refuse it as they
/// refuse the monitor's memory.
struct targets {
    region monitor;            ///< the monitor's memory: a target of every access
    region shared;             ///< the page it shares with the firmware: a target of monitor-made accesses only
    bool from_device_tree = false;
    bool locked = false;       ///< natively, locked away by PMP (the self-test tier)
};

/// Natively (no device tree node): the memory below the firmware where a
/// monitor image would be, and the page after it.
inline constexpr u64 native_monitor_base = 0x8000'0000;
inline constexpr u64 native_monitor_size = 0x4'0000;
inline constexpr u64 shared_page_size = 0x1000;

/// Where a harness asks, natively, for the targets to be locked away by PMP
/// (QEMU: -device loader,addr=0x80300000,data=<lock_request>,data-len=8).
inline constexpr u64 lock_request_address = 0x8030'0000;
inline constexpr u64 lock_request = 0x5e1f'7e57'a77a'c4ed;

/// The monitor's region (/reserved-memory/vfm@...) and its shared page
/// (/reserved-memory/vfm-shared@...) from the device tree; natively, where
/// there is no such node, native_monitor_base/size and the page after it.
/// Prints them on a "~ [impl]" line (they differ between monitors).
///
/// Natively, with lock_request at lock_request_address, it puts PMP entries
/// 0 and 1 over the two regions and reserves those entries
/// (pmp::reserve_low): entry 0 locks the monitor's memory (L = 1, no
/// permission: it binds M-mode too, priv. 3.7.1), entry 1 leaves the shared
/// page to M-mode and to fetches (L = 0, X only), so that every access with
/// an effective privilege of S or U (MPRV with MPP = S or U, HLV/HSV, the
/// implicit reads of a walk) is refused there and the firmware's own accesses
/// are not: a machine that contains every attack and lets every control
/// work, against which the suite checks its own judgement of "contained".
/// QEMU 7.2 then reports two faults with other causes than the spec's (an
/// AMO: load access fault; an HLV/HSV: guest-page fault); in that tier only,
/// attempt() takes those as contained.
[[nodiscard]] targets find_targets() noexcept;

/// The outcome of an attempt or a group (see above).
enum class outcome : u8 { contained, real, leaked, wrong };
[[nodiscard]] const char* name(outcome o) noexcept;

/// Where an access goes: the address the instruction uses (and a fault
/// reports) and, physically, its bytes: the first `split` at `pa`, the
/// rest at `pa2` (an access whose pages map apart).
struct place {
    u64 va = 0;
    u64 pa = 0;
    u64 pa2 = 0;
    unsigned split = ~0u;
};
/// An access whose bytes are contiguous at `pa`.
[[nodiscard]] inline place at(u64 va, u64 pa) noexcept { return {va, pa, 0, ~0u}; }
[[nodiscard]] inline place at(u64 pa) noexcept { return {pa, pa, 0, ~0u}; }

/// The judged attempt.
struct verdict {
    outcome what = outcome::wrong;
    char detail[128] = {};
    bool page_fault = false;  ///< wrong because of one page fault at the instruction, mtval in the access
};

/// The access fault the hardware raises for an access of kind `k`.
[[nodiscard]] riscv::exception access_fault_for(access::kind k) noexcept;

/// Runs `o` once at `where` with `status` (access::mprv_status, ...) and
/// judges it; memory it changed is put back when it can be read directly.
[[nodiscard]] verdict attempt(const access::op& o, const place& where, u64 status,
                              access::preamble pre = access::preamble::none) noexcept;

/// Attempts summed up into one transcript line.
class group {
  public:
    /// `description`: what is attempted, without addresses (compared
    /// between runs); copied.
    explicit group(const char* description) noexcept;
    /// The attempts' page tables lie in the monitor's memory: a page fault
    /// then means the walk read what the monitor keeps there (leaked), not
    /// a malformed result.
    void page_faults_leak() noexcept { m_page_faults_leak = true; }
    void add(const verdict& v) noexcept;
    /// attempt() and add().
    void run(const access::op& o, const place& where, u64 status,
             access::preamble pre = access::preamble::none) noexcept {
        add(attempt(o, where, status, pre));
    }
    /// Prints the line; false when an attempt was wrong.
    bool finish() noexcept;
    [[nodiscard]] unsigned attempts() const noexcept { return m_total; }

  private:
    char m_description[160] = {};
    unsigned m_count[4] = {};
    unsigned m_total = 0;
    char m_first[4][128] = {};
    bool m_page_faults_leak = false;
};

/// Describes an access's result without judging it, for lines compared
/// between native and monitor runs: "no trap, a0 0x..." or
/// "load page fault, mtval 0x..., epc at the instruction: yes".
void describe(const access::result& r, char* out, usize size) noexcept;

/// Runs `o` on ordinary memory (no attack) and prints what happened as a
/// compared line ("ok   <description>: <result>, memory 0x...", the memory at
/// `pa` afterwards, left out when `pa` is 0): the control
/// that shows the same path works where it should. The line fails when the
/// access trapped elsewhere than at its instruction or more than once, or
/// when `must_work` and it trapped at all.
bool control(const char* description, const access::op& o, u64 va, u64 pa, u64 value, u64 status, bool must_work,
             access::preamble pre = access::preamble::none) noexcept;

/// A control on memory the firmware may use but whose contents it cannot
/// predict (the shared page: the monitor writes SBI buffers there): puts
/// `initial` in the bytes at `where` (plain M-mode stores), runs `o` there as
/// attempt() does, puts back what was there, and prints a compared line,
/// "ok   <description>: <o> works as on bare hardware" when the access did
/// exactly what it does on bare hardware (a load returned those bytes, a
/// store, AMO or LR/SC pair left what it should), else a FAIL line with what
/// happened.
bool works(const char* description, const access::op& o, const place& where, u64 initial, u64 status,
           access::preamble pre = access::preamble::none) noexcept;

/// Reads `n` bytes of physical memory with plain M-mode loads; false when one
/// of them faults.
bool read_bytes(u64 pa, unsigned n, u8* out) noexcept;
/// Writes them back; false when one of them faults.
bool write_bytes(u64 pa, unsigned n, const u8* in) noexcept;

}  // namespace testfw::attack
