// SPDX-License-Identifier: MIT
/// Loads, stores and AMOs a simulated hart makes on behalf of a less
/// privileged mode (the arch contract's load, store, amo, compare_exchange:
/// MPRV semantics, priv. spec 3.1.6.3; H ext. 9.4.1): injected faults first,
/// then translation (translation.hpp), PMP (pmp.hpp) and RAM (memory.hpp);
/// each access leaves one memory_event in the access log.
#pragma once

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <vfm/arch.hpp>
#include <vfm/detail/types.hpp>
#include <vfm/host/access_log.hpp>
#include <vfm/host/config.hpp>
#include <vfm/host/implemented_csrs.hpp>
#include <vfm/host/memory.hpp>
#include <vfm/host/pmp.hpp>
#include <vfm/host/translation.hpp>
#include <vfm/riscv/privilege.hpp>

namespace vfm::host {

/// The access path over the parts of a hart it uses, built by simulated_hart
/// for each access. `misuse(message)` reports a request the model cannot
/// serve (simulated_hart::set_misuse_handler); the access then fails.
template <class Misuse>
class access_on_behalf {
public:
    access_on_behalf(const hart_config& config, const pmp_unit& pmp, ram& memory,
                     const std::vector<injected_fault>& faults, const translation_registers& registers, access_log& log,
                     Misuse misuse) noexcept
        : m_config(config),
          m_pmp(pmp),
          m_ram(memory),
          m_faults(faults),
          m_registers(registers),
          m_log(log),
          m_misuse(std::move(misuse)) {}

    /// A load or a store of `width` (1, 2, 4 or 8) bytes (simulated_hart::load
    /// and store say what they raise).
    access_result load_or_store(bool is_store, access_mode how, u64 address, unsigned width, u64 value) noexcept {
        const access_type type = is_store ? access_type::store : access_type::load;
        access_result r;
        const auto finish = [&](access_result result) {
            m_log.push(memory_event{is_store, how, address, width, is_store ? value : result.value, result.ok,
                                    result.cause, result.tval});
            return result;
        };
        const auto fail = [&](u64 cause, u64 tval) {
            access_result f;
            f.cause = cause;
            f.tval = tval;
            return finish(f);
        };
        if (width != 1 && width != 2 && width != 4 && width != 8) {
            misuse(fmt::format("{} of width {}", is_store ? "store" : "load", width));
            return fail(is_store ? 7 : 5, address);
        }
        if (how.virtualized && (!m_config.h || how.privilege == riscv::privilege::machine)) {
            misuse("access on behalf of a virtualized mode without H, or of 'VM'");
            return fail(is_store ? 7 : 5, address);
        }
        if (!mode_exists(how.privilege)) {
            misuse(fmt::format("access on behalf of {}-mode, which this hart lacks", riscv::name(how.privilege)));
            return fail(is_store ? 7 : 5, address);
        }
        const bool misaligned = (address & (width - 1)) != 0;
        if (misaligned && m_config.misaligned == misaligned_policy::trap) return fail(is_store ? 6 : 4, address);
        for (const auto& f : m_faults) {
            if (f.applies(address, width, type)) {
                r = access_result{};
                r.cause = f.cause;
                r.tval = address;
                r.tval2 = f.tval2;
                r.tinst = f.tinst;
                return finish(r);
            }
        }
        // A misaligned access is performed byte by byte (each byte translated
        // and checked, as the spec allows for misaligned accesses, 3.6.3.3).
        const unsigned chunks = misaligned ? width : 1;
        const unsigned chunk_size = misaligned ? 1 : width;
        u8* target[8] = {};
        for (unsigned i = 0; i < chunks; ++i) {
            const u64 va = address + i * chunk_size;
            const translation t = translate(how, va, type);
            if (!t.ok) return fail(t.cause, va);
            if (!m_pmp.check(t.address, chunk_size, type, how.privilege).allowed) return fail(is_store ? 7 : 5, va);
            target[i] = m_ram.at(t.address, chunk_size);
            if (target[i] == nullptr) return fail(is_store ? 7 : 5, va);
        }
        u8 bytes[8] = {};
        if (is_store) {
            for (unsigned i = 0; i < width; ++i) bytes[i] = static_cast<u8>(value >> (8 * i));
            for (unsigned i = 0; i < chunks; ++i) std::memcpy(target[i], bytes + i * chunk_size, chunk_size);
            r.value = 0;
        } else {
            for (unsigned i = 0; i < chunks; ++i) std::memcpy(bytes + i * chunk_size, target[i], chunk_size);
            u64 loaded = 0;
            for (unsigned i = 0; i < width; ++i) loaded |= u64{bytes[i]} << (8 * i);
            r.value = loaded;
        }
        r.ok = true;
        return finish(r);
    }

    /// An atomic read-modify-write on behalf of `how`: `update(old, write&)`
    /// returns the new value and says whether to store it.
    template <class Update>
    access_result atomic(access_mode how, u64 address, unsigned width, Update update) noexcept {
        access_result r;
        auto fail = [&](u64 cause, u64 tval) {
            access_result f;
            f.cause = cause;
            f.tval = tval;
            m_log.push(memory_event{true, how, address, width, 0, false, cause, tval});
            return f;
        };
        if (width != 4 && width != 8) {
            misuse(fmt::format("atomic access of width {}", width));
            return fail(7, address);
        }
        if ((address & (width - 1)) != 0) return fail(6, address);
        for (const auto& f : m_faults) {
            if (f.applies(address, width, access_type::store)) {
                r.cause = f.cause;
                r.tval = address;
                r.tval2 = f.tval2;
                r.tinst = f.tinst;
                m_log.push(memory_event{true, how, address, width, 0, false, r.cause, r.tval});
                return r;
            }
        }
        const translation t = translate(how, address, access_type::store);
        if (!t.ok) return fail(t.cause, address);
        if (!m_pmp.check(t.address, width, access_type::store, how.privilege).allowed ||
            !m_pmp.check(t.address, width, access_type::load, how.privilege).allowed)
            return fail(7, address);
        u8* target = m_ram.at(t.address, width);
        if (target == nullptr) return fail(7, address);
        u64 old = 0;
        std::memcpy(&old, target, width);
        bool write = false;
        const u64 next = update(old, write);
        if (write) std::memcpy(target, &next, width);
        m_log.push(memory_event{true, how, address, width, write ? next : old, true, 0, 0});
        r.ok = true;
        r.value = old;
        return r;
    }

private:
    [[nodiscard]] translation translate(const access_mode& how, u64 va, access_type type) noexcept {
        return host::translate(m_ram, m_pmp, m_config, m_registers, m_misuse, how, va, type);
    }
    void misuse(const std::string& message) noexcept { m_misuse(message); }
    [[nodiscard]] bool mode_exists(riscv::privilege p) const noexcept { return mode_implemented(m_config, p); }

    const hart_config& m_config;
    const pmp_unit& m_pmp;
    ram& m_ram;
    const std::vector<injected_fault>& m_faults;
    translation_registers m_registers;
    access_log& m_log;
    Misuse m_misuse;
};

}  // namespace vfm::host
