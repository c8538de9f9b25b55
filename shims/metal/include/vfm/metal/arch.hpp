// SPDX-License-Identifier: MIT
/// The metal backend of `vfm::arch`: real CSRs through inline assembly.
///
/// Constant-number accessors compile to one csr instruction. Runtime-number
/// accessors (discovery, rarely used CSRs) write the instruction into the
/// hart's trampoline slot and call it, so one piece of code reaches all 4096
/// CSR numbers; a trap there is caught by the trap vector's guarded range and
/// reported instead of stopping the monitor (docs/metal.md).
#pragma once

#include <vfm/arch.hpp>
#include <vfm/detail/bits.hpp>
#include <vfm/metal/layout.h>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/virt/hart.hpp>

extern "C" {
/// The trap vectors (entry.S): the OS's (and the monitor's own), and the
/// firmware's, whose first tier serves its plain CSR accesses.
extern char vfm_trap_vector[];
/// The OS's trap vectors: one 64-byte entry per hart, by mhartid.
extern char vfm_os_trap_vectors[];
extern char vfm_firmware_trap_vector[];
extern char vfm_firmware_counting_trap_vector[];
/// Enters the guest described by `context` (restores its registers, mret).
[[noreturn]] void vfm_resume(vfm::virt::hart* context);
/// One two-instruction slot per hart: a CSR instruction and `ret`.
extern vfm::u32 vfm_trampolines[VFM_MAX_HARTS][2];
}

namespace vfm::metal {

namespace detail_asm {
inline constexpr u64 no_trap = ~u64{0};
inline constexpr u32 ret_instruction = 0x00008067;  // jalr x0, 0(ra)
/// csrrw/csrrs/csrrc a0, number, a1 (rs1 = x0 for a plain read).
[[nodiscard]] constexpr u32 csr_instruction(u16 number, u32 funct3, bool uses_operand) noexcept {
    return (u32{number} << 20) | ((uses_operand ? 11u : 0u) << 15) | (funct3 << 12) | (10u << 7) | 0x73u;
}
}  // namespace detail_asm

/// The physical hart the code runs on, seen from M-mode. Holds nothing (so
/// the trap path never builds it in memory): its trampoline slot is found
/// from mhartid, which also indexes the hart blocks (entry.S parks harts
/// with mhartid >= VFM_MAX_HARTS).
class hart_backend {
public:
    // ---- constant-number CSR access (hot path) ----
    // No "memory" clobber: a CSR write changes nothing the monitor's own memory
    // accesses depend on (M-mode ignores satp and unlocked PMP entries); the
    // accesses made on a guest's behalf are ordered by their own asm.
    template <riscv::csr N>
    [[nodiscard]] u64 read() const noexcept {
        u64 value;
        asm volatile("csrr %0, %1" : "=r"(value) : "i"(static_cast<unsigned>(N)));
        return value;
    }
    template <riscv::csr N>
    void write(u64 value) noexcept {
        asm volatile("csrw %0, %1" ::"i"(static_cast<unsigned>(N)), "r"(value));
    }
    template <riscv::csr N>
    u64 set(u64 value) noexcept {
        u64 old;
        asm volatile("csrrs %0, %1, %2" : "=r"(old) : "i"(static_cast<unsigned>(N)), "r"(value));
        return old;
    }
    template <riscv::csr N>
    u64 clear(u64 value) noexcept {
        u64 old;
        asm volatile("csrrc %0, %1, %2" : "=r"(old) : "i"(static_cast<unsigned>(N)), "r"(value));
        return old;
    }
    template <riscv::csr N>
    u64 swap(u64 value) noexcept {
        u64 old;
        asm volatile("csrrw %0, %1, %2" : "=r"(old) : "i"(static_cast<unsigned>(N)), "r"(value));
        return old;
    }

    // ---- runtime-number CSR access, guarded ----
    [[nodiscard]] csr_result csr_read(riscv::csr number) noexcept {
        return guarded_csr(detail_asm::csr_instruction(static_cast<u16>(number), 2, false), 0);
    }
    [[nodiscard]] bool csr_write(riscv::csr number, u64 value) noexcept {
        return guarded_csr(detail_asm::csr_instruction(static_cast<u16>(number), 1, true), value).ok;
    }
    [[nodiscard]] csr_result csr_swap(riscv::csr number, u64 value) noexcept {
        return guarded_csr(detail_asm::csr_instruction(static_cast<u16>(number), 1, true), value);
    }
    [[nodiscard]] csr_result csr_set(riscv::csr number, u64 value) noexcept {
        return guarded_csr(detail_asm::csr_instruction(static_cast<u16>(number), 2, true), value);
    }
    [[nodiscard]] csr_result csr_clear(riscv::csr number, u64 value) noexcept {
        return guarded_csr(detail_asm::csr_instruction(static_cast<u16>(number), 3, true), value);
    }

    // ---- fences and waiting ----
    void fence_i() noexcept { asm volatile("fence.i" ::: "memory"); }
    void sfence_vma(const fence_operands& f) noexcept {
        if (f.all_addresses && f.all_ids)
            asm volatile("sfence.vma" ::: "memory");
        else if (f.all_addresses)
            asm volatile("sfence.vma zero, %0" ::"r"(f.id) : "memory");
        else if (f.all_ids)
            asm volatile("sfence.vma %0, zero" ::"r"(f.address) : "memory");
        else
            asm volatile("sfence.vma %0, %1" ::"r"(f.address), "r"(f.id) : "memory");
    }
    // hfence.* are encoded by hand: the baseline -march has no H extension.
    void hfence_vvma(const fence_operands& f) noexcept { hfence(0x22000073u, f); }
    void hfence_gvma(const fence_operands& f) noexcept { hfence(0x62000073u, f); }
    void wait_for_interrupt() noexcept { asm volatile("wfi" ::: "memory"); }

    // ---- memory on behalf of S/U-mode (MPRV), guarded ----
    [[nodiscard]] access_result load(access_mode how, u64 address, unsigned width) noexcept {
        return guarded_access(how, address, width, false, 0);
    }
    [[nodiscard]] access_result store(access_mode how, u64 address, unsigned width, u64 value) noexcept {
        return guarded_access(how, address, width, true, value);
    }
    /// amo<op>.w/.d with aq and rl, run in the hart's trampoline slot with MPRV set.
    [[nodiscard]] access_result amo(access_mode how, u64 address, unsigned width, amo_op op, u64 operand) noexcept {
        // amo<op>.<w|d>.aqrl a0, a1, (a2)
        const u32 instruction = (u32{static_cast<u8>(op)} << 27) | (3u << 25) | (11u << 20) | (12u << 15) |
                                ((width == 8 ? 3u : 2u) << 12) | (10u << 7) | 0x2fu;
        access_result out = guarded_trampoline(instruction, operand, address, mprv_status(how));
        if (out.ok && width == 4) out.value &= 0xffff'ffffu;
        return out;
    }
    /// An lr/sc loop with MPRV set: stores `desired` iff memory holds `expected`.
    [[nodiscard]] access_result compare_exchange(access_mode how, u64 address, unsigned width, u64 expected,
                                                 u64 desired) noexcept {
        return guarded_compare_exchange(mprv_status(how), address, width == 8,
                                        width == 8 ? expected : bits::sign_extend(expected, 32), desired);
    }
    /// fmv.x.w / fmv.x.d a0, f[n], run in the trampoline.
    [[nodiscard]] u64 fp_read(unsigned n, unsigned width) noexcept {
        const u32 instruction = (width == 8 ? 0xe2000053u : 0xe0000053u) | ((n & 31) << 15) | (10u << 7);
        const access_result r = guarded_trampoline(instruction, 0, 0, 0);
        return width == 8 ? r.value : r.value & 0xffff'ffffu;
    }
    /// fmv.d.x / fmv.w.x f[n], a1 (the latter NaN-boxes), run in the trampoline.
    void fp_write(unsigned n, unsigned width, u64 value) noexcept {
        const u32 instruction = (width == 8 ? 0xf2000053u : 0xf0000053u) | (11u << 15) | ((n & 31) << 7);
        (void)guarded_trampoline(instruction, value, 0, 0);
    }

    /// The monitor's view of physical memory: identity.
    [[nodiscard]] u8* physical(u64 address, u64 size) noexcept {
        (void)size;
        return reinterpret_cast<u8*>(static_cast<uptr>(address));
    }

    /// mtvec for the world that runs next: the OS's traps take this hart's
    /// own entry (it clears mstatus.MPRV first, entry.S), the firmware's the
    /// counting vector once it has touched a counter (virt::virtual_counters).
    void world_switched(bool firmware_runs, bool count_firmware_traps) noexcept {
        const char* vector = !firmware_runs         ? vfm_os_trap_vectors + 64 * read<riscv::csr::mhartid>()
                             : count_firmware_traps ? vfm_firmware_counting_trap_vector
                                                    : vfm_firmware_trap_vector;
        write<riscv::csr::mtvec>(reinterpret_cast<uptr>(vector));
    }

    [[noreturn]] void resume(virt::hart& context) noexcept { vfm_resume(&context); }
    [[nodiscard]] u64 hart_id() const noexcept { return read<riscv::csr::mhartid>(); }

private:
    /// Runs one CSR instruction (rd = a0, rs1 = a1 or x0) in the trampoline.
    [[gnu::noinline]] csr_result guarded_csr(u32 instruction, u64 value) noexcept {
        u32* slot = trampoline();
        slot[0] = instruction;
        slot[1] = detail_asm::ret_instruction;
        const u64 saved_status = read<riscv::csr::mstatus>();
        register u64 a0 asm("a0") = 0;
        register u64 a1 asm("a1") = value;
        register u64 t0 asm("t0") = detail_asm::no_trap;
        register u64 t1 asm("t1") = 0;
        asm volatile("fence.i\n jalr ra, 0(%[slot])"
                     : "+r"(a0), "+r"(t0), "+r"(t1)
                     : "r"(a1), [slot] "r"(slot)
                     : "ra", "memory");
        if (t0 != detail_asm::no_trap) {
            write<riscv::csr::mstatus>(saved_status);  // the nested trap changed MPP/MPIE
            return {0, false};
        }
        return {a0, true};
    }

    /// mstatus for an access on behalf of `how`: MPRV, MPP and MPV from it
    /// (priv. spec 3.1.6.3), MXR when asked; the other fields as they are.
    [[nodiscard]] u64 mprv_status(access_mode how) const noexcept {
        namespace ms = riscv::mstatus;
        u64 status = (read<riscv::csr::mstatus>() & ~(ms::mpp::mask | ms::mpv::mask)) | ms::mprv::mask |
                     ms::mpp::make(static_cast<u64>(how.privilege)) | (how.virtualized ? ms::mpv::mask : 0);
        if (how.mxr) status |= ms::mxr::mask;
        return status;
    }

    /// One load or store with mstatus.MPRV set: the access uses MPP's privilege
    /// (and MPV), translation and PMP (priv. spec 3.1.6.3). mstatus is written
    /// inside the asm, next to the access, so no access of the compiler's own
    /// (a spill) can happen with MPRV set; the previous value comes back there
    /// too (a trap of the access changed MPP and MPIE).
    [[gnu::noinline, gnu::section(".text.vfm_guarded")]] access_result guarded_access(access_mode how, u64 address,
                                                                                      unsigned width, bool is_store,
                                                                                      u64 value) noexcept {
        const u64 status = mprv_status(how);
        register u64 t0 asm("t0") = detail_asm::no_trap;
        register u64 t1 asm("t1") = 0;
        u64 result = 0;
        u64 saved = 0;
        // Each access is one 4-byte instruction (norvc): the guarded-trap path skips 4 bytes.
#define VFM_GUARDED(insn)                                                                 \
    asm volatile(".option push\n.option norvc\ncsrrw %[saved], mstatus, %[status]\n" insn \
                 "\ncsrw mstatus, %[saved]\n.option pop"                                  \
                 : [result] "=&r"(result), [saved] "=&r"(saved), "+r"(t0), "+r"(t1)       \
                 : [status] "r"(status), [value] "r"(value), [address] "r"(address)       \
                 : "memory")
        if (is_store) {
            switch (width) {
                case 1: VFM_GUARDED("sb %[value], 0(%[address])"); break;
                case 2: VFM_GUARDED("sh %[value], 0(%[address])"); break;
                case 4: VFM_GUARDED("sw %[value], 0(%[address])"); break;
                default: VFM_GUARDED("sd %[value], 0(%[address])"); break;
            }
        } else {
            switch (width) {
                case 1: VFM_GUARDED("lbu %[result], 0(%[address])"); break;
                case 2: VFM_GUARDED("lhu %[result], 0(%[address])"); break;
                case 4: VFM_GUARDED("lwu %[result], 0(%[address])"); break;
                default: VFM_GUARDED("ld %[result], 0(%[address])"); break;
            }
        }
#undef VFM_GUARDED
        return outcome(t0, t1, result, how.virtualized);
    }

    /// Compare-and-swap by lr/sc with MPRV set (4 or 8 bytes; `expected` as
    /// lr.w sign-extends it). Returns the old value; a fault of the lr or the
    /// sc ends the loop with t0 = mcause.
    [[gnu::noinline, gnu::section(".text.vfm_guarded")]] access_result guarded_compare_exchange(u64 status, u64 address,
                                                                                                bool doubleword,
                                                                                                u64 expected,
                                                                                                u64 desired) noexcept {
        register u64 t0 asm("t0") = detail_asm::no_trap;
        register u64 t1 asm("t1") = 0;
        u64 old = 0;
        u64 saved = 0;
        u64 failed = 0;
        u64 scratch = 0;
        // One loop for both widths (W = "d" or "w"); lr.w sign-extends, so the
        // word's old value is cut back to 32 bits below.
#define VFM_CAS_LOOP(W)                                                                                                \
    asm volatile(                                                                                                      \
        ".option push\n.option norvc\n"                                                                                \
        "csrrw %[saved], mstatus, %[status]\n"                                                                         \
        "1: lr." W                                                                                                     \
        ".aqrl %[old], (%[address])\n"                                                                                 \
        "addi %[scratch], t0, 1\n"                                                                                     \
        "bnez %[scratch], 2f\n" /* the lr faulted */                                                                   \
        "bne %[old], %[expected], 2f\n"                                                                                \
        "sc." W                                                                                                        \
        ".aqrl %[failed], %[desired], (%[address])\n"                                                                  \
        "addi %[scratch], t0, 1\n"                                                                                     \
        "bnez %[scratch], 2f\n" /* the sc faulted */                                                                   \
        "bnez %[failed], 1b\n"                                                                                         \
        "2: csrw mstatus, %[saved]\n"                                                                                  \
        ".option pop"                                                                                                  \
        : [old] "=&r"(old), [saved] "=&r"(saved), [failed] "=&r"(failed), [scratch] "=&r"(scratch), "+r"(t0), "+r"(t1) \
        : [status] "r"(status), [address] "r"(address), [expected] "r"(expected), [desired] "r"(desired)               \
        : "memory")
        if (doubleword) {
            VFM_CAS_LOOP("d");
        } else {
            VFM_CAS_LOOP("w");
            old &= 0xffff'ffffu;
        }
#undef VFM_CAS_LOOP
        return outcome(t0, t1, old, false);
    }

    /// Runs one instruction (rd = a0, rs1 = a2, rs2 = a1, or the FP moves'
    /// registers) in the trampoline slot, with mstatus = `status` around it when
    /// `status` is not 0; a trap there is reported in t0/t1.
    [[gnu::noinline]] access_result guarded_trampoline(u32 instruction, u64 a1_value, u64 a2_value,
                                                       u64 status) noexcept {
        u32* slot = trampoline();
        slot[0] = instruction;
        slot[1] = detail_asm::ret_instruction;
        register u64 a0 asm("a0") = 0;
        register u64 a1 asm("a1") = a1_value;
        register u64 a2 asm("a2") = a2_value;
        register u64 t0 asm("t0") = detail_asm::no_trap;
        register u64 t1 asm("t1") = 0;
        u64 saved = 0;
        if (status != 0) {
            asm volatile("fence.i\n csrrw %[saved], mstatus, %[status]\n jalr ra, 0(%[slot])\n csrw mstatus, %[saved]"
                         : "+r"(a0), "+r"(t0), "+r"(t1), [saved] "=&r"(saved)
                         : "r"(a1), "r"(a2), [slot] "r"(slot), [status] "r"(status)
                         : "ra", "memory");
        } else {
            asm volatile("fence.i\n jalr ra, 0(%[slot])"
                         : "+r"(a0), "+r"(t0), "+r"(t1)
                         : "r"(a1), "r"(a2), [slot] "r"(slot)
                         : "ra", "memory");
        }
        return outcome(t0, t1, a0, false);
    }

    /// The access_result of a guarded instruction: t0 = mcause and t1 = mtval
    /// when it trapped (no_trap in t0 otherwise).
    [[nodiscard]] access_result outcome(u64 t0, u64 t1, u64 value, bool virtualized) const noexcept {
        access_result out;
        if (t0 != detail_asm::no_trap) {
            out.cause = t0;
            out.tval = t1;
            if (virtualized) {
                out.tval2 = read<riscv::csr::mtval2>();
                out.tinst = read<riscv::csr::mtinst>();
            }
            return out;
        }
        out.ok = true;
        out.value = value;
        return out;
    }

    void hfence(u32 base, const fence_operands& f) noexcept {
        // rs1 = t0 (x5) unless all addresses, rs2 = t1 (x6) unless all ids.
        const u32 rs1 = f.all_addresses ? 0 : 5;
        const u32 rs2 = f.all_ids ? 0 : 6;
        const u32 instruction = base | (rs2 << 20) | (rs1 << 15);
        u32* slot = trampoline();
        slot[0] = instruction;
        slot[1] = detail_asm::ret_instruction;
        register u64 t0 asm("t0") = f.address;
        register u64 t1 asm("t1") = f.id;
        asm volatile("fence.i\n jalr ra, 0(%2)" : "+r"(t0), "+r"(t1) : "r"(slot) : "ra", "memory");
    }

    [[nodiscard]] u32* trampoline() const noexcept { return vfm_trampolines[read<riscv::csr::mhartid>()]; }
};

static_assert(arch<hart_backend>, "the metal backend implements the arch concept");

}  // namespace vfm::metal
