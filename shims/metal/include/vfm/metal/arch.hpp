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
#include <vfm/metal/layout.h>
#include <vfm/riscv/csr_fields.hpp>
#include <vfm/virt/hart.hpp>

extern "C" {
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
        if (f.all_addresses && f.all_ids) asm volatile("sfence.vma" ::: "memory");
        else if (f.all_addresses) asm volatile("sfence.vma zero, %0" ::"r"(f.id) : "memory");
        else if (f.all_ids) asm volatile("sfence.vma %0, zero" ::"r"(f.address) : "memory");
        else asm volatile("sfence.vma %0, %1" ::"r"(f.address), "r"(f.id) : "memory");
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

    /// The monitor's view of physical memory: identity.
    [[nodiscard]] u8* physical(u64 address, u64 size) noexcept {
        (void)size;
        return reinterpret_cast<u8*>(static_cast<uptr>(address));
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

    /// One load or store with mstatus.MPRV set: the access uses MPP's privilege
    /// (and MPV), translation and PMP (priv. spec 3.1.6.3).
    [[gnu::noinline, gnu::section(".text.vfm_guarded")]] access_result
    guarded_access(access_mode how, u64 address, unsigned width, bool is_store, u64 value) noexcept {
        namespace ms = riscv::mstatus;
        const u64 saved_status = read<riscv::csr::mstatus>();
        u64 status = (saved_status & ~(ms::mpp::mask | ms::mpv::mask)) | ms::mprv::mask |
                     ms::mpp::make(static_cast<u64>(how.privilege)) | (how.virtualized ? ms::mpv::mask : 0);
        if (how.mxr) status |= ms::mxr::mask;
        register u64 t0 asm("t0") = detail_asm::no_trap;
        register u64 t1 asm("t1") = 0;
        u64 result = 0;
        write<riscv::csr::mstatus>(status);
        // Each access is one 4-byte instruction (norvc): the guarded-trap path skips 4 bytes.
        if (is_store) {
            switch (width) {
                case 1: asm volatile(".option push\n.option norvc\nsb %2, 0(%3)\n.option pop" : "+r"(t0), "+r"(t1) : "r"(value), "r"(address) : "memory"); break;
                case 2: asm volatile(".option push\n.option norvc\nsh %2, 0(%3)\n.option pop" : "+r"(t0), "+r"(t1) : "r"(value), "r"(address) : "memory"); break;
                case 4: asm volatile(".option push\n.option norvc\nsw %2, 0(%3)\n.option pop" : "+r"(t0), "+r"(t1) : "r"(value), "r"(address) : "memory"); break;
                default: asm volatile(".option push\n.option norvc\nsd %2, 0(%3)\n.option pop" : "+r"(t0), "+r"(t1) : "r"(value), "r"(address) : "memory"); break;
            }
        } else {
            switch (width) {
                case 1: asm volatile(".option push\n.option norvc\nlbu %0, 0(%3)\n.option pop" : "=&r"(result), "+r"(t0), "+r"(t1) : "r"(address) : "memory"); break;
                case 2: asm volatile(".option push\n.option norvc\nlhu %0, 0(%3)\n.option pop" : "=&r"(result), "+r"(t0), "+r"(t1) : "r"(address) : "memory"); break;
                case 4: asm volatile(".option push\n.option norvc\nlwu %0, 0(%3)\n.option pop" : "=&r"(result), "+r"(t0), "+r"(t1) : "r"(address) : "memory"); break;
                default: asm volatile(".option push\n.option norvc\nld %0, 0(%3)\n.option pop" : "=&r"(result), "+r"(t0), "+r"(t1) : "r"(address) : "memory"); break;
            }
        }
        write<riscv::csr::mstatus>(saved_status);
        access_result out;
        if (t0 != detail_asm::no_trap) {
            out.cause = t0;
            out.tval = t1;
            if (how.virtualized) {
                out.tval2 = read<riscv::csr::mtval2>();
                out.tinst = read<riscv::csr::mtinst>();
            }
            return out;
        }
        out.ok = true;
        out.value = result;
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
