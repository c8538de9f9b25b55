// SPDX-License-Identifier: MIT
/// Checks and the transcript (docs/test-firmware.md, "Transcript format").
///
///   vfm-testfw <name>: <what it checks>     first line
///   == <section>                              a section heading
///   - <observation>                           something seen, not judged
///   ok   <check>                              a check that held
///   FAIL <check>                              a check that did not
///   ~ [priv X.Y] <observation> (spec|qemu)    a known QEMU deviation (section X.Y
///                                             of the privileged spec); either
///                                             value passes, and equivalence
///                                             comparisons skip the line
///   ~ [impl] <observation>                    an implementation parameter that
///                                             may differ under a monitor
///   PASS <name> (<n> checks) | FAIL <name> (<k> of <n> checks failed)
///
/// Everything but the ~ lines must be identical natively and under a monitor.
#pragma once

#include "testfw/console.hpp"

namespace testfw {

/// The firmware's name and one-line purpose (each firmware defines them).
extern const char* const firmware_name;
extern const char* const firmware_purpose;
/// The firmware's test, run on hart 0; the library calls finish() after it.
void firmware_main();

namespace detail {
bool record_check(bool ok) noexcept;
void record_failure() noexcept;
void print_prefixed(const char* prefix, const char* format, const fmt_arg* args, unsigned count,
                    const char* suffix) noexcept;
}  // namespace detail

/// Prints "ok   ..." or "FAIL ..." and counts the result; returns `ok`.
template <class... A>
bool check(bool ok, const char* format, const A&... args) noexcept {
    const fmt_arg list[sizeof...(A) + 1] = {fmt_arg(args)..., fmt_arg(0)};
    detail::print_prefixed(ok ? "ok   " : "FAIL ", format, list, sizeof...(A), "");
    return detail::record_check(ok);
}

/// Prints an observation ("- ...").
template <class... A>
void note(const char* format, const A&... args) noexcept {
    const fmt_arg list[sizeof...(A) + 1] = {fmt_arg(args)..., fmt_arg(0)};
    detail::print_prefixed("- ", format, list, sizeof...(A), "");
}

/// Prints a section heading ("== ...").
inline void section(const char* title) noexcept { println("== %s", title); }

/// A line where QEMU 7.2 departs from the privileged spec (`spec_section`,
/// e.g. "3.1.14"): passes when the observed value is what the spec requires
/// (`spec_ok`) or what QEMU does (`qemu_ok`), and is skipped by equivalence
/// comparisons; when neither holds it is printed as an ordinary FAIL line.
template <class... A>
bool deviation(const char* spec_section, bool spec_ok, bool qemu_ok, const char* format,
               const A&... args) noexcept {
    const fmt_arg list[sizeof...(A) + 1] = {fmt_arg(args)..., fmt_arg(0)};
    char prefix[48];
    if (spec_ok || qemu_ok) {
        testfw::format(prefix, sizeof prefix, "~ [priv %s] ", spec_section);
        detail::print_prefixed(prefix, format, list, sizeof...(A), spec_ok ? " (spec)" : " (qemu 7.2)");
    } else {
        testfw::format(prefix, sizeof prefix, "FAIL [priv %s] ", spec_section);
        detail::print_prefixed(prefix, format, list, sizeof...(A), " (neither spec nor qemu 7.2)");
    }
    return detail::record_check(spec_ok || qemu_ok);
}

/// An implementation parameter (e.g. the number of PMP entries) that a
/// monitor may legitimately present differently; skipped by comparisons.
template <class... A>
void impl_defined(const char* format, const A&... args) noexcept {
    const fmt_arg list[sizeof...(A) + 1] = {fmt_arg(args)..., fmt_arg(0)};
    detail::print_prefixed("~ [impl] ", format, list, sizeof...(A), "");
}

/// Prints the verdict and ends the run through the test finisher.
[[noreturn]] void finish() noexcept;
/// Fails at once (after printing why).
template <class... A>
[[noreturn]] void fail_now(const char* format, const A&... args) noexcept;
/// Ends QEMU with an exit code (0 passes).
[[noreturn]] void exit_qemu(u32 code) noexcept;

template <class... A>
[[noreturn]] void fail_now(const char* format, const A&... args) noexcept {
    const fmt_arg list[sizeof...(A) + 1] = {fmt_arg(args)..., fmt_arg(0)};
    detail::print_prefixed("FAIL ", format, list, sizeof...(A), "");
    detail::record_failure();
    finish();
}

}  // namespace testfw
