#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The sandbox's measurement race (examples/firmware/attack/system/sandbox_race.cpp,
docs/attacks.md): runs the attack-sandbox-race firmware on QEMU virt and checks
what the OS saw against the untampered image, built here independently.

  sandbox_race.py digest [--size N]
      prints SHA-256 of (entry address, untampered image): what a sandbox
      should measure (used by meson to build a monitor expecting it)
  sandbox_race.py run --expect real|contained|mismatch --bios B --firmware F [options]
      real       natively, or a monitor without the sandbox: the other harts'
                 stores land after the handover and the OS sees a modified
                 image (the attack works)
      contained  the sandbox: the OS's SHA-256 of its image is the untampered
                 image's, no victim word changed, every other hart's later
                 stores faulted (store access fault, mtval = its word) and none
                 landed; a measurement the monitor prints is the untampered one
      mismatch   a sandbox expecting another measurement: one line, QEMU exit
                 status 71, the OS never runs

The QEMU options are run_qemu.py's (--qemu, --smp, --memory, --timeout, --qemu-args).
"""

import argparse
import hashlib
import os
import re
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "qemu"))
import run_qemu  # noqa: E402

OS_ENTRY = 0x80200000
DEFAULT_SIZE = 16 << 20
SANDBOX_EXIT_CODE = 71
MASK = (1 << 64) - 1


def untampered_image(size):
    """The image the firmware builds (sandbox_race.cpp, build_image)."""
    header = bytearray(72)
    struct.pack_into("<I", header, 0, 0x0400006F)      # code0: j +64
    struct.pack_into("<Q", header, 16, size)            # image_size
    struct.pack_into("<I", header, 32, 2)               # version 0.2
    struct.pack_into("<Q", header, 48, 0x5643534952)    # "RISCV"
    struct.pack_into("<I", header, 56, 0x05435352)      # "RSC\x05"
    struct.pack_into("<I", header, 64, 0x00050067)      # jr a0
    words = [((i * 0x9E3779B97F4A7C15) & MASK) ^ 0x5A17B0C5D1E2F3A4 for i in range(9, size // 8)]
    return bytes(header) + struct.pack(f"<{len(words)}Q", *words)


def untampered_digest(size):
    return hashlib.sha256(OS_ENTRY.to_bytes(8, "little") + untampered_image(size)).hexdigest()


OS_LINE = re.compile(r"- OS: image at (0x[0-9a-f]+), (\d+) bytes; SHA-256 of \(entry, image\) as the OS sees it: ([0-9a-f]{64})")
CHANGED = re.compile(r"- OS: victim words changed: (\d+) of (\d+)")
AFTER = re.compile(r"- hart (\d+): afterwards: (\d+) stores landed, (\d+) faulted(?: \(first: (.*), mtval (0x[0-9a-f]+)\))?")
VICTIM = re.compile(r"- hart (\d+): victim (0x[0-9a-f]+):")
MEASURED = re.compile(r"vfm: sandbox: OS image at (0x[0-9a-f]+), (\d+) bytes, SHA-256 ([0-9a-f]{64})")


def check(run, expect, size, smp):
    problems = []
    lines = run.lines()
    digest = untampered_digest(size)
    if expect == "mismatch":
        monitor = [l for l in lines if l.startswith("vfm:")]
        if run.timed_out or run.returncode != SANDBOX_EXIT_CODE:
            problems.append(f"expected QEMU exit status {SANDBOX_EXIT_CODE} ({run.describe()})")
        if len(monitor) != 1 or "not the expected" not in monitor[0] or digest not in monitor[0]:
            problems.append("expected one monitor line saying the untampered image "
                            f"({digest}) is not the expected one, saw: {monitor}")
        if any(l.startswith("== the OS") for l in lines):
            problems.append("the OS ran")
        return problems

    if not run.passed():
        problems.append(f"the firmware did not pass ({run.describe()})")
    os_line = next((m for m in map(OS_LINE.fullmatch, lines) if m), None)
    changed = next((m for m in map(CHANGED.fullmatch, lines) if m), None)
    victims = {int(m.group(1)): int(m.group(2), 16) for m in map(VICTIM.match, lines) if m}
    after = {int(m.group(1)): m for m in map(AFTER.fullmatch, lines) if m}
    if os_line is None or changed is None:
        return problems + ["the OS did not report its image"]
    if int(os_line.group(2)) != size:
        problems.append(f"the OS's image has {os_line.group(2)} bytes, expected {size}")
    if len(after) != smp - 1:
        problems.append(f"reports of {len(after)} tampering harts, expected {smp - 1}")
    seen = os_line.group(3)
    print(f"untampered image: SHA-256 {digest}")
    print(f"the OS sees:      SHA-256 {seen}, {changed.group(1)} of {changed.group(2)} victim words changed")
    measured = [m for m in map(MEASURED.fullmatch, lines) if m]
    for m in measured:
        print(f"the monitor measured:       {m.group(3)}")

    if expect == "real":
        landed = sum(int(m.group(2)) for m in after.values())
        if landed == 0:
            problems.append("no store of another hart landed after the handover")
        if int(changed.group(1)) == 0 or seen == digest:
            problems.append("the OS runs the untampered image: the attack did not work")
        return problems

    # contained
    if seen != digest:
        problems.append("the OS runs an image that is not the untampered one")
    if int(changed.group(1)) != 0:
        problems.append(f"{changed.group(1)} victim words changed")
    for hart, m in sorted(after.items()):
        landed, faulted = int(m.group(2)), int(m.group(3))
        if landed != 0:
            problems.append(f"hart {hart}: {landed} stores landed in the OS's image after the handover")
        if faulted == 0:
            problems.append(f"hart {hart}: no store faulted")
        elif m.group(4) != "store access fault" or int(m.group(5), 16) != victims.get(hart):
            problems.append(f"hart {hart}: the first fault was {m.group(4)} at {m.group(5)}, "
                            f"expected a store access fault at its word")
    for m in measured:
        if m.group(3) != digest:
            problems.append(f"the monitor measured {m.group(3)}, not the untampered image")
    if any("not the expected" in l for l in lines):
        problems.append("the monitor refused the image")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("digest")
    p.add_argument("--size", type=int, default=DEFAULT_SIZE)
    p = sub.add_parser("run")
    p.add_argument("--expect", required=True, choices=["real", "contained", "mismatch"])
    p.add_argument("--size", type=int, default=DEFAULT_SIZE)
    p.add_argument("--bios", required=True)
    p.add_argument("--firmware", required=True)
    p.add_argument("--transcript")
    p.add_argument("--qemu", default="qemu-system-riscv64")
    p.add_argument("--smp", default="2")
    p.add_argument("--memory", default="256M")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--qemu-args", action="append")
    args = parser.parse_args()
    if args.command == "digest":
        print(untampered_digest(args.size))
        return 0

    smp, extra = run_qemu.split_extra(args)
    run = run_qemu.Run("run", run_qemu.qemu_command(args.qemu, args.bios, args.firmware, smp, args.memory, extra),
                       args.timeout, args.transcript)
    run.execute()
    run_qemu.print_run(run)
    print()
    problems = check(run, args.expect, args.size, int(smp))
    if problems:
        print(f"FAILED (expected {args.expect}):")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(f"as expected: {args.expect}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
