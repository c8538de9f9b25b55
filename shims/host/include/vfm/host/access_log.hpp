// SPDX-License-Identifier: MIT
/// The access log of a simulated hart: every physical side effect the core
/// causes, in order, so that a unit test can check exactly what the monitor
/// did to the hart (CSR writes with old and new value, fences, wfi, loads and
/// stores on behalf of a less privileged mode, guest entries, and the traps
/// the test drove). Entries format with fmt; `vfm::host::log` is a character
/// sink for the core's own `vfm::detail::format_to`.
#pragma once

#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include <vfm/arch.hpp>
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/privilege.hpp>

namespace vfm::host {

/// The CSR instruction a guarded or unguarded access stands for (Zicsr, unpriv. spec 9.1).
enum class csr_op : u8 {
    read,   ///< csrrs rd, csr, x0: reads, never writes
    write,  ///< csrrw x0, csr, rs1: writes, does not read
    swap,   ///< csrrw rd, csr, rs1
    set,    ///< csrrs rd, csr, rs1 (rs1 != x0): writes even when the value is 0
    clear,  ///< csrrc rd, csr, rs1 (rs1 != x0): writes even when the value is 0
};

/// Why a CSR access raised illegal instruction (priv. spec 2.1, 3.1.6.6).
enum class csr_fault : u8 {
    absent,     ///< the hart does not implement the CSR
    read_only,  ///< a write to a CSR whose number has bits [11:10] = 0b11
    fs_off,     ///< an FP CSR while mstatus.FS = Off
};

/// A CSR read (logged only when the log records reads).
struct csr_read_event {
    riscv::csr number{};
    u64 value = 0;
};

/// A CSR write: the value before, the operand as the instruction computed it
/// (for csrrs/csrrc the read-modify-write result) and the value read back after.
struct csr_write_event {
    riscv::csr number{};
    csr_op op = csr_op::write;
    u64 old_value = 0;
    u64 written = 0;
    u64 new_value = 0;
};

/// A CSR access that raised illegal instruction (the guarded call returned ok = false).
struct csr_trap_event {
    riscv::csr number{};
    csr_op op = csr_op::read;
    u64 operand = 0;
    csr_fault fault = csr_fault::absent;
};

enum class fence_kind : u8 { fence_i, sfence_vma, hfence_vvma, hfence_gvma };

/// fence.i, sfence.vma, hfence.vvma or hfence.gvma with its operands
/// (priv. spec 4.2.1, H ext. 9.3.2): an address and an ASID / VMID, each
/// either a register value or x0 ("all").
struct fence_event {
    fence_kind kind = fence_kind::fence_i;
    u64 address = 0;
    u64 id = 0;
    bool all_addresses = true;
    bool all_ids = true;
};

/// A wfi executed in M-mode; `pending` is mip & mie when it returned (after
/// the test's hook ran): zero means real hardware would still be asleep.
struct wfi_event {
    u64 pending = 0;
};

/// A load or store on behalf of a less privileged mode.
struct memory_event {
    bool store = false;
    access_mode how{};
    u64 address = 0;
    unsigned width = 0;
    u64 value = 0;  ///< stored value, or the loaded one when ok
    bool ok = false;
    u64 cause = 0;  ///< the exception raised when !ok
    u64 tval = 0;
};

/// A guest entry (`resume`): where mret went, in which mode.
struct resume_event {
    u64 pc = 0;
    riscv::privilege privilege = riscv::privilege::user;
    bool virtualized = false;
    const virt::hart* context = nullptr;
};

/// A trap into M-mode that the test drove (`simulated_hart::trap`).
struct trap_event {
    u64 cause = 0;
    u64 tval = 0;
    riscv::privilege from = riscv::privilege::user;
    bool virtualized = false;
    u64 pc = 0;
    u64 handler = 0;  ///< where the hart fetches next (mtvec, vectored for interrupts)
};

using log_entry = std::variant<csr_read_event, csr_write_event, csr_trap_event, fence_event, wfi_event, memory_event,
                               resume_event, trap_event>;

/// The spec's name of a CSR number, or its number in hex when the table lacks it.
[[nodiscard]] inline std::string csr_name(riscv::csr number) {
    if (riscv::is_known(static_cast<u16>(number))) return riscv::name(number);
    return fmt::format("csr{:#05x}", static_cast<unsigned>(number));
}

[[nodiscard]] inline std::string_view to_string(csr_op op) noexcept {
    switch (op) {
        case csr_op::read: return "csrr";
        case csr_op::write: return "csrw";
        case csr_op::swap: return "csrrw";
        case csr_op::set: return "csrrs";
        case csr_op::clear: return "csrrc";
    }
    return "?";
}

[[nodiscard]] inline std::string_view to_string(csr_fault fault) noexcept {
    switch (fault) {
        case csr_fault::absent: return "absent";
        case csr_fault::read_only: return "read-only";
        case csr_fault::fs_off: return "FS off";
    }
    return "?";
}

[[nodiscard]] inline std::string_view to_string(fence_kind kind) noexcept {
    switch (kind) {
        case fence_kind::fence_i: return "fence.i";
        case fence_kind::sfence_vma: return "sfence.vma";
        case fence_kind::hfence_vvma: return "hfence.vvma";
        case fence_kind::hfence_gvma: return "hfence.gvma";
    }
    return "?";
}

/// The mode name with the V prefix when virtualized (VS, VU).
[[nodiscard]] inline std::string mode_name(riscv::privilege p, bool virtualized) {
    return fmt::format("{}{}", virtualized ? "V" : "", riscv::name(p));
}

[[nodiscard]] inline std::string to_string(const csr_read_event& e) {
    return fmt::format("csr read {} = {:#x}", csr_name(e.number), e.value);
}
[[nodiscard]] inline std::string to_string(const csr_write_event& e) {
    return fmt::format("csr write {} ({}): {:#x} -> {:#x} (operand {:#x})", csr_name(e.number), to_string(e.op),
                       e.old_value, e.new_value, e.written);
}
[[nodiscard]] inline std::string to_string(const csr_trap_event& e) {
    return fmt::format("csr trap {} ({} {:#x}): {}", csr_name(e.number), to_string(e.op), e.operand,
                       to_string(e.fault));
}
[[nodiscard]] inline std::string to_string(const fence_event& e) {
    if (e.kind == fence_kind::fence_i) return "fence.i";
    const std::string address = e.all_addresses ? std::string("x0") : fmt::format("{:#x}", e.address);
    const std::string id = e.all_ids ? std::string("x0") : fmt::format("{:#x}", e.id);
    return fmt::format("{} {}, {}", to_string(e.kind), address, id);
}
[[nodiscard]] inline std::string to_string(const wfi_event& e) { return fmt::format("wfi (pending {:#x})", e.pending); }
[[nodiscard]] inline std::string to_string(const memory_event& e) {
    std::string text =
        fmt::format("{} {} {:#x} width {}{}", e.store ? "store" : "load", mode_name(e.how.privilege, e.how.virtualized),
                    e.address, e.width, e.how.mxr ? " mxr" : "");
    if (!e.ok) return text + fmt::format(": fault cause {} tval {:#x}", e.cause, e.tval);
    return text + fmt::format(" {} {:#x}", e.store ? "<-" : "->", e.value);
}
[[nodiscard]] inline std::string to_string(const resume_event& e) {
    return fmt::format("resume {} at {:#x}", mode_name(e.privilege, e.virtualized), e.pc);
}
[[nodiscard]] inline std::string to_string(const trap_event& e) {
    return fmt::format("trap cause {:#x} tval {:#x} from {} at {:#x} -> {:#x}", e.cause, e.tval,
                       mode_name(e.from, e.virtualized), e.pc, e.handler);
}
[[nodiscard]] inline std::string to_string(const log_entry& entry) {
    return std::visit([](const auto& e) { return to_string(e); }, entry);
}

/// The ordered record of a hart's side effects, with queries for tests.
class access_log {
public:
    void push(log_entry entry) { m_entries.push_back(std::move(entry)); }
    void clear() noexcept { m_entries.clear(); }

    [[nodiscard]] const std::vector<log_entry>& entries() const noexcept { return m_entries; }
    [[nodiscard]] std::size_t size() const noexcept { return m_entries.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_entries.empty(); }
    [[nodiscard]] const log_entry& operator[](std::size_t i) const { return m_entries.at(i); }

    /// The last entry; throws std::out_of_range when the log is empty.
    [[nodiscard]] const log_entry& last_entry() const {
        if (m_entries.empty()) throw std::out_of_range("access log is empty");
        return m_entries.back();
    }

    /// Every entry of one type, in order.
    template <class E>
    [[nodiscard]] std::vector<E> all() const {
        std::vector<E> out;
        for (const auto& entry : m_entries)
            if (const auto* e = std::get_if<E>(&entry)) out.push_back(*e);
        return out;
    }

    /// The last entry of one type, or nothing.
    template <class E>
    [[nodiscard]] std::optional<E> last() const {
        for (auto it = m_entries.rbegin(); it != m_entries.rend(); ++it)
            if (const auto* e = std::get_if<E>(&*it)) return *e;
        return std::nullopt;
    }

    /// Number of entries of one type.
    template <class E>
    [[nodiscard]] std::size_t count() const noexcept {
        std::size_t n = 0;
        for (const auto& entry : m_entries) n += std::holds_alternative<E>(entry) ? 1 : 0;
        return n;
    }

    /// The writes to one CSR (by its own number: an sstatus write is not an mstatus write).
    [[nodiscard]] std::vector<csr_write_event> writes_to(riscv::csr number) const {
        std::vector<csr_write_event> out;
        for (const auto& e : all<csr_write_event>())
            if (e.number == number) out.push_back(e);
        return out;
    }
    /// The reads of one CSR (only when reads are recorded).
    [[nodiscard]] std::vector<csr_read_event> reads_of(riscv::csr number) const {
        std::vector<csr_read_event> out;
        for (const auto& e : all<csr_read_event>())
            if (e.number == number) out.push_back(e);
        return out;
    }
    [[nodiscard]] bool wrote(riscv::csr number) const { return !writes_to(number).empty(); }
    /// The value a CSR held after its last logged write.
    [[nodiscard]] std::optional<u64> last_written(riscv::csr number) const {
        const auto writes = writes_to(number);
        if (writes.empty()) return std::nullopt;
        return writes.back().new_value;
    }

    [[nodiscard]] std::vector<csr_write_event> csr_writes() const { return all<csr_write_event>(); }
    [[nodiscard]] std::vector<csr_trap_event> csr_traps() const { return all<csr_trap_event>(); }
    [[nodiscard]] std::vector<fence_event> fences() const { return all<fence_event>(); }
    [[nodiscard]] std::vector<memory_event> memory_accesses() const { return all<memory_event>(); }
    [[nodiscard]] std::vector<resume_event> resumes() const { return all<resume_event>(); }
    [[nodiscard]] std::vector<trap_event> traps() const { return all<trap_event>(); }

    /// Whether CSR reads are logged too (off by default: they have no side effect).
    void record_reads(bool on) noexcept { m_record_reads = on; }
    [[nodiscard]] bool records_reads() const noexcept { return m_record_reads; }

    /// One line per entry.
    [[nodiscard]] std::string to_string() const {
        std::string text;
        for (std::size_t i = 0; i < m_entries.size(); ++i)
            text += fmt::format("{:4}: {}\n", i, host::to_string(m_entries[i]));
        return text;
    }

private:
    std::vector<log_entry> m_entries;
    bool m_record_reads = false;
};

/// A character sink for `vfm::detail::format_to`: collects the text and, when
/// given a stream, echoes each completed line to it.
class log {
public:
    log() = default;
    explicit log(std::FILE* echo) noexcept : m_echo(echo) {}

    void put(char c) noexcept {
        try {
            m_text.push_back(c);
        } catch (...) {
            return;  // out of memory: drop the character rather than terminate
        }
        if (m_echo != nullptr && c == '\n') {
            std::fwrite(m_text.data() + m_echoed, 1, m_text.size() - m_echoed, m_echo);
            m_echoed = m_text.size();
        }
    }

    [[nodiscard]] const std::string& str() const noexcept { return m_text; }
    void clear() noexcept {
        m_text.clear();
        m_echoed = 0;
    }

private:
    std::string m_text;
    std::FILE* m_echo = nullptr;
    std::size_t m_echoed = 0;
};

}  // namespace vfm::host

/// fmt formatting of log entries: `fmt::format("{}", entry)` gives the same
/// text as `vfm::host::to_string`.
// clang-format off
template <class E>
    requires(std::is_same_v<E, vfm::host::csr_read_event> || std::is_same_v<E, vfm::host::csr_write_event> ||
             std::is_same_v<E, vfm::host::csr_trap_event> || std::is_same_v<E, vfm::host::fence_event> ||
             std::is_same_v<E, vfm::host::wfi_event> || std::is_same_v<E, vfm::host::memory_event> ||
             std::is_same_v<E, vfm::host::resume_event> || std::is_same_v<E, vfm::host::trap_event> ||
             std::is_same_v<E, vfm::host::log_entry>)
    // clang-format on
    struct fmt::formatter<E> : fmt::formatter<std::string_view> {
    template <class Context>
    auto format(const E& entry, Context& ctx) const {
        const std::string text = vfm::host::to_string(entry);
        return fmt::formatter<std::string_view>::format(text, ctx);
    }
};

template <>
struct fmt::formatter<vfm::host::access_log> : fmt::formatter<std::string_view> {
    template <class Context>
    auto format(const vfm::host::access_log& log, Context& ctx) const {
        const std::string text = log.to_string();
        return fmt::formatter<std::string_view>::format(text, ctx);
    }
};
