// SPDX-License-Identifier: MIT
/// What an access the monitor makes for a guest is, and what comes of it:
/// its kind and the causes of its faults, the translation regime it is made
/// in, the exception it raises, what it may reach besides RAM, and its outcome
/// (the vocabulary of the guarded path, virt/guest_memory.hpp).
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/riscv/cause.hpp>
#include <vfm/riscv/privilege.hpp>

namespace vfm::virt {

/// The kind of an access, for permissions and fault causes. AMOs and SC are
/// stores (they need write permission and raise store/AMO faults).
enum class access_kind : u8 { load, store, fetch };

/// A fault's three causes, one for each kind of access (priv. spec 3.1.15).
/// A type, not an object: the causes stay constants in the code.
template <riscv::exception Load, riscv::exception Store, riscv::exception Fetch>
struct fault_causes {
    /// The cause for an access of kind `k` (inlined: the same code as a ternary on `k`).
    [[nodiscard, gnu::always_inline]] static constexpr u64 of(access_kind k) noexcept {
        return riscv::cause_value(k == access_kind::load ? Load : k == access_kind::store ? Store : Fetch);
    }
};

/// The faults an access made for a guest can raise.
namespace faults {
using riscv::exception;
using misaligned = fault_causes<exception::load_address_misaligned, exception::store_address_misaligned,
                                exception::instruction_address_misaligned>;
using access =
    fault_causes<exception::load_access_fault, exception::store_access_fault, exception::instruction_access_fault>;
using page = fault_causes<exception::load_page_fault, exception::store_page_fault, exception::instruction_page_fault>;
using guest_page = fault_causes<exception::load_guest_page_fault, exception::store_guest_page_fault,
                                exception::instruction_guest_page_fault>;
}  // namespace faults

[[nodiscard]] constexpr u64 access_fault_cause(access_kind k) noexcept { return faults::access::of(k); }
[[nodiscard]] constexpr u64 page_fault_cause(access_kind k) noexcept { return faults::page::of(k); }
[[nodiscard]] constexpr u64 guest_page_fault_cause(access_kind k) noexcept { return faults::guest_page::of(k); }
[[nodiscard]] constexpr u64 misaligned_cause(access_kind k) noexcept { return faults::misaligned::of(k); }

/// How the hart would translate and check an access made for a guest: the
/// state the hardware reads for it (mstatus.MPP/MPV and satp for MPRV,
/// hstatus.SPVP, vsatp and hgatp for HLV, the OS's own state for its traps).
struct translation_regime {
    /// The effective privilege of the access: supervisor or user (VS or VU when
    /// virtualized); machine means a physical access (no translation).
    riscv::privilege privilege = riscv::privilege::supervisor;
    bool virtualized = false;  ///< two-stage translation (VS-stage by vsatp, G-stage by hgatp)
    u64 satp = 0;              ///< satp, or vsatp when virtualized
    u64 hgatp = 0;             ///< the G-stage, when virtualized
    bool sum = false;          ///< SUM of the first stage (mstatus.SUM; vsstatus.SUM when virtualized)
    bool mxr = false;          ///< MXR for the first stage (mstatus.MXR; vsstatus.MXR or mstatus.MXR when virtualized)
    bool mxr_g = false;        ///< MXR for the G-stage (mstatus.MXR, H ext. 9.5)
    bool execute_for_read = false;  ///< HLVX: a read needs execute permission, not read permission (H ext. 9.3.1)
    bool update_ad = true;          ///< the hart sets A and D itself instead of raising a page fault (Svadu vs Svade)
    bool pbmt = false;              ///< Svpbmt for the first stage (menvcfg.PBMTE; henvcfg.PBMTE when virtualized)
    bool pbmt_g = false;            ///< Svpbmt for the G-stage (menvcfg.PBMTE)
    bool napot = false;             ///< Svnapot
};

/// The exception an access raised, as the hart reports it (priv. spec 3.1.16,
/// H ext. 9.4.6-9.4.7).
struct guest_fault {
    u64 cause = 0;
    u64 tval = 0;   ///< the faulting virtual address (guest virtual when virtualized)
    u64 tval2 = 0;  ///< guest-page faults: the guest physical address >> 2
    u64 tinst = 0;
    bool gva = false;  ///< tval holds a guest virtual address
};

/// What an access made for a guest may reach besides RAM.
namespace reach {
inline constexpr u8 ram = 0;
inline constexpr u8 mmio = 1;     ///< devices the guest may reach itself (not a bus master, not the monitor's)
inline constexpr u8 devices = 2;  ///< the devices the monitor emulates: reported back, not accessed
}  // namespace reach

/// The outcome of an access made for a guest.
struct guest_access {
    enum class status : u8 {
        done,    ///< performed; `value` holds a load's (or an AMO's old) value, zero-extended
        fault,   ///< `fault` is the exception the guest takes
        device,  ///< an emulated device at `physical`: the caller emulates the access
    };
    status result = status::fault;
    u64 value = 0;
    u64 physical = 0;
    guest_fault fault;
    [[nodiscard]] constexpr bool done() const noexcept { return result == status::done; }
};

}  // namespace vfm::virt
