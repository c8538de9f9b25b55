#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs one firmware of the attack suite (examples/firmware/attack/) on QEMU
virt and judges its transcript (docs/attacks.md).

  attack_check.py --expect real --bios STUB --firmware F
      natively (behind the jump stub): nothing guards the memory where a
      monitor would be, so every attack line must say "real" (the access
      did on bare hardware what it does there)
  attack_check.py --expect contained --bios MONITOR --firmware F [--native-bios STUB]
      under a monitor: every attack line must say "contained" (the access
      fault the hardware raises, at the firmware's mtvec, mtval = the
      address); with --native-bios the firmware also runs natively (in
      parallel) and every line that is not an attack line (the controls
      and equivalence probes) must be the same in both transcripts, and so
      must the list of attack descriptions

  attack_check.py --expect panic --bios MONITOR --firmware F
      under a monitor, an attack the firmware cannot survive on bare
      hardware either (attack-mtvec: a trap vector in the monitor's memory):
      the monitor stops the machine with exactly one line of its own,
      "vfm: panic: hart N: the firmware faults at its own trap vector (...)",
      and QEMU exit status 70, before any attack line (the firmware prints
      one only when the trap ran the code at mtvec); no hang

With --given NODE (an image built with -Dfirmware_bus_masters=NODE, which
hands that bus master to the firmware and gives up containment for it), the
attack lines whose description names NODE must say "real" and every other
one the --expect outcome; the monitor's boot warning about it is the one
monitor line a panic run may print besides the panic.

With --equivalence-only (a firmware that only probes what a monitor must
reproduce, e.g. attack-clint-sizes) there are no attack lines: the native
run must pass, and the monitor run must pass and compare equal.

Both real and contained need the firmware's own verdict (PASS: no attempt ended in a way
neither bare hardware nor a containing monitor explains, and it survived
every attack) and QEMU's exit status 0.

Attack lines (examples/firmware/include/testfw/attack.hpp):
  ok   [attack] <description> => <outcome> (<details>)
with <outcome> one of contained, real, leaked, mixed, wrong.
Compared lines leave out "~" lines (docs/test-firmware.md) and the
monitor's own lines ("vfm: ...", e.g. the counters policy's report).
"""

import argparse
import difflib
import os
import re
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qemu"))
import run_qemu  # noqa: E402  (test/qemu/run_qemu.py)

ATTACK = re.compile(r"^(ok  |FAIL) \[attack\] (.*) => (\w+)(?: \((.*)\))?$")
MONITOR_LINE = re.compile(r"^vfm: ")


def attack_lines(lines):
    """(description, outcome, details) of each attack line."""
    out = []
    for line in lines:
        m = ATTACK.match(line)
        if m:
            out.append((m.group(2), m.group(3), m.group(4) or ""))
    return out


def compared_lines(lines):
    """The firmware's lines that must be equal natively and under a monitor."""
    return [l for l in run_qemu.firmware_lines(lines, MONITOR_LINE) if not ATTACK.match(l)]


def judge(run, expect, equivalence_only, given=None):
    problems = []
    if not run.passed():
        problems.append(f"the firmware did not pass ({run.describe()})")
    attacks = attack_lines(run.lines())
    if equivalence_only:
        if attacks:
            problems.append("attack lines in an equivalence-only firmware")
    elif not attacks:
        problems.append("no attack lines")
    counts = {}
    for description, outcome, details in attacks:
        counts[outcome] = counts.get(outcome, 0) + 1
        wanted = "real" if given and given in description else expect
        if outcome != wanted:
            problems.append(f"{outcome}, not {wanted}: {description} ({details})")
    summary = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
    print(f"attack lines: {len(attacks)} ({summary or 'none'})")
    return problems


PANIC = re.compile(r"^vfm: panic: hart \d+: the firmware faults at its own trap vector \(.*\)$")
PANIC_EXIT_CODE = 70


GIVEN_WARNING = re.compile(r"^vfm: warning: the firmware is given .*, a bus master: .*containment is given up$")


def judge_panic(run, given=None):
    problems = []
    if run.timed_out or run.returncode != PANIC_EXIT_CODE:
        problems.append(f"expected QEMU exit status {PANIC_EXIT_CODE} ({run.describe()})")
    monitor = [l for l in run.lines() if MONITOR_LINE.match(l) and not (given and GIVEN_WARNING.match(l))]
    if len(monitor) != 1 or not PANIC.match(monitor[0]):
        problems.append("expected exactly one monitor line, the panic at the firmware's own trap vector; saw:\n" +
                        "\n".join(monitor))
    if attack_lines(run.lines()):
        problems.append("the trap ran the code at mtvec (an attack line)")
    if run.verdict() is not None:
        problems.append("the firmware reached a verdict: the machine went on")
    return problems


def compare(native, monitor):
    problems = []
    if not native.passed():
        problems.append(f"the native run did not pass ({native.describe()})")
    native_attacks = [a[0] for a in attack_lines(native.lines())]
    monitor_attacks = [a[0] for a in attack_lines(monitor.lines())]
    if native_attacks != monitor_attacks:
        problems.append("the attacks differ from the native run's:\n" + "".join(
            difflib.unified_diff([a + "\n" for a in native_attacks], [a + "\n" for a in monitor_attacks],
                                 fromfile="native", tofile="monitor", n=1)))
    a = compared_lines(native.lines())
    b = compared_lines(monitor.lines())
    if a != b:
        problems.append("the compared lines differ (attack, '~' and 'vfm:' lines left out):\n" + "".join(
            difflib.unified_diff([l + "\n" for l in a], [l + "\n" for l in b], fromfile="native", tofile="monitor",
                                 n=2)))
    else:
        print(f"compared with the native run: {len(a)} lines equal, {len(native_attacks)} attacks the same")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--expect", required=True, choices=["real", "contained", "panic"])
    parser.add_argument("--bios", required=True, help="the monitor image, or the jump stub for --expect real")
    parser.add_argument("--native-bios", help="--expect contained: also run natively with this stub and compare")
    parser.add_argument("--firmware", required=True)
    parser.add_argument("--equivalence-only", action="store_true",
                        help="the firmware has no attack lines: only its verdict and the comparison count")
    parser.add_argument("--given", metavar="NODE",
                        help="the image hands the bus master NODE to the firmware: its attacks are real")
    parser.add_argument("--transcript", help="where QEMU's output goes")
    parser.add_argument("--native-transcript", help="where the native run's output goes (with --native-bios)")
    parser.add_argument("--qemu", default="qemu-system-riscv64")
    parser.add_argument("--smp", default="1")
    parser.add_argument("--memory", default="256M")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--qemu-args", action="append", help="extra QEMU arguments, one shell-quoted string")
    args = parser.parse_args()

    smp, extra = run_qemu.split_extra(args)
    run = run_qemu.Run(args.expect, run_qemu.qemu_command(args.qemu, args.bios, args.firmware, smp, args.memory, extra),
                       args.timeout, args.transcript)
    runs = [run]
    native = None
    if args.native_bios:
        native = run_qemu.Run("native", run_qemu.qemu_command(args.qemu, args.native_bios, args.firmware, smp,
                                                              args.memory, extra),
                              args.timeout, args.native_transcript)
        runs.append(native)
    threads = [threading.Thread(target=r.execute) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in runs:
        run_qemu.print_run(r)
        print()

    if args.expect == "panic":
        problems = judge_panic(run, args.given)
        print()
        if problems:
            print("FAILED (expected the monitor to stop at the firmware's own trap vector):")
            for p in problems:
                print("  " + p.replace("\n", "\n  "))
            return 1
        print("the monitor stopped the machine with one line")
        return 0
    problems = judge(run, args.expect, args.equivalence_only, args.given)
    if native is not None:
        problems += compare(native, run)
    print()
    if problems:
        print(f"FAILED (expected every attack {args.expect}):")
        for p in problems:
            print("  " + p.replace("\n", "\n  "))
        return 1
    print(f"every attack {args.expect}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
