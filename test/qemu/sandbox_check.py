#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the `sandbox` test firmware (examples/firmware/sandbox.cpp) on QEMU
virt and checks its transcript for what the given monitor should let the
firmware see of the OS it handed the machine to.

  sandbox_check.py --expect open     natively, or a monitor without the sandbox:
                                     the firmware sees every register and S-mode
                                     CSR of the OS, its loads, stores, jumps and
                                     MPRV loads into the OS's memory work, and
                                     what it leaves in registers reaches the OS
  sandbox_check.py --expect sandbox  the sandbox policy: those accesses raise
                                     access faults at the firmware's mtvec with
                                     mtval = the address; the firmware finds the
                                     OS's registers cleared but for the call's
                                     arguments (an unknown extension keeps a0-a5)
                                     and a6/a7, sscratch and stvec read 0, and the
                                     OS gets everything back but a0/a1
  sandbox_check.py --expect mismatch --expected HEX
                                     the sandbox with an expected measurement the
                                     OS does not have: one line, QEMU exit status
                                     71, the OS never runs. The measurement of an
                                     OS without a Linux image header is SHA-256 of
                                     its entry address (8 bytes, little-endian),
                                     computed here with hashlib.

The QEMU options are run_qemu.py's (--qemu, --bios, --firmware, --transcript, ...).
"""

import argparse
import hashlib
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_qemu  # noqa: E402  (the runner next to this script)

OS_ENTRY = 0x80200000
SANDBOX_EXIT_CODE = 71

# Register lines the firmware prints: all but a0, a1 (the arguments) and a6, a7.
REGISTERS = [(1, "ra"), (2, "sp"), (3, "gp"), (4, "tp"), (5, "t0"), (6, "t1"), (7, "t2"), (8, "s0"), (9, "s1"),
             (12, "a2"), (13, "a3"), (14, "a4"), (15, "a5"), (18, "s2"), (19, "s3"), (20, "s4"), (21, "s5"),
             (22, "s6"), (23, "s7"), (24, "s8"), (25, "s9"), (26, "s10"), (27, "s11"), (28, "t3"), (29, "t4"),
             (30, "t5"), (31, "t6")]
# Arguments of an SBI call to an extension the sandbox does not know: a0-a5.
KEPT_BY_SANDBOX = {12, 13, 14, 15}
ADDRESS = r"(0x[0-9a-f]+)"


def expected_lines(mode):
    """Regular expressions, each of which must match one whole transcript line."""
    lines = [re.escape("ok   a read of a CSR the hart lacks, emulated by the firmware: the OS's rd is the "
                       "firmware's answer: yes"),
             re.escape("ok   an illegal instruction redirected by the firmware: the OS's handler sees scause 2, "
                       "sepc at the instruction (+0), stval 0xb")]
    for n, name in REGISTERS:
        if mode == "open" or n in KEPT_BY_SANDBOX:
            seen = "the OS's value"
        else:
            seen = "zero"
        lines.append(re.escape(f"- firmware sees x{n} ({name}): {seen}"))
    for csr in ("sscratch", "stvec"):
        lines.append(re.escape(f"- firmware sees {csr}: " + ("the OS's value" if mode == "open" else "zero")))
    accesses = [("load from", "the OS's word", "load access fault"),
                ("store to", "done", "store access fault"),
                ("jump to", "the OS's code ran", "instruction access fault"),
                (r"MPRV \(MPP = S\) load from", "the OS's word", "load access fault")]
    for what, worked, fault in accesses:
        if mode == "open":
            lines.append(rf"ok   {what} {ADDRESS}: {re.escape(worked)}")
        else:
            lines.append(rf"ok   {what} {ADDRESS}: {fault} at the firmware's mtvec, mtval \1")
    if mode == "open":
        changed = " ".join(name for n, name in sorted(REGISTERS + [(16, "a6"), (17, "a7")]))
        lines.append(re.escape(f"- the OS's registers: changed: {changed}"))
        lines += [re.escape("- the OS's sscratch: changed"), re.escape("- the OS's stvec: changed"),
                  rf"- the OS's word at {ADDRESS}: the firmware's"]
    else:
        lines.append(re.escape("- the OS's registers: all as before (a0 and a1 aside)"))
        lines += [re.escape("- the OS's sscratch: as before"), re.escape("- the OS's stvec: as before"),
                  rf"- the OS's word at {ADDRESS}: its own"]
    return lines


def check_pass(run, mode):
    problems = []
    if not run.passed():
        problems.append(f"the firmware did not pass ({run.describe()})")
    transcript = run_qemu.firmware_lines(run.lines(), None)
    for pattern in expected_lines(mode):
        if not any(re.fullmatch(pattern, line) for line in transcript):
            problems.append(f"no line matches: {pattern}")
    return problems


def os_image(firmware):
    """The OS image the firmware copies to OS_ENTRY: the 64-byte aligned block of
    the firmware binary that starts with a RISC-V image header (magic2 "RSC\\x05"
    at offset 56), `image_size` (offset 16) bytes long."""
    with open(firmware, "rb") as f:
        data = f.read()
    for start in range(0, len(data) - 64, 64):
        if data[start + 56:start + 60] == b"RSC\x05":
            size = int.from_bytes(data[start + 16:start + 24], "little")
            return data[start:start + size]
    raise SystemExit(f"sandbox_check: no RISC-V image header in {firmware}")


def check_mismatch(run, expected_hex, firmware):
    problems = []
    image = os_image(firmware)
    measured = hashlib.sha256(OS_ENTRY.to_bytes(8, "little") + image).hexdigest()
    line = (f"vfm: sandbox: the OS image (entry {OS_ENTRY:#x}, {len(image)} bytes) measures {measured}, "
            f"not the expected {expected_hex}: not starting it")
    if run.timed_out or run.returncode != SANDBOX_EXIT_CODE:
        problems.append(f"expected QEMU exit status {SANDBOX_EXIT_CODE} ({run.describe()})")
    lines = run.lines()
    monitor_lines = [l for l in lines if l.startswith("vfm:")]
    if monitor_lines != [line]:
        problems.append(f"expected exactly one monitor line:\n  {line}\nsaw:\n  " + "\n  ".join(monitor_lines))
    if line in lines and lines.index(line) != len(lines) - 1 and any(l.strip() for l in lines[lines.index(line) + 1:]):
        problems.append("the machine went on after the measurement line")
    if run.verdict() is not None:
        problems.append("the firmware reached its verdict: the OS ran")
    if any(l.startswith("== what the firmware sees") for l in lines):
        problems.append("the firmware went on after the handover")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--expect", required=True, choices=["open", "sandbox", "mismatch"])
    parser.add_argument("--expected", help="mismatch: the measurement the monitor image expects (hex)")
    parser.add_argument("--bios", required=True)
    parser.add_argument("--firmware", required=True)
    parser.add_argument("--transcript")
    parser.add_argument("--qemu", default="qemu-system-riscv64")
    parser.add_argument("--smp", default="1")
    parser.add_argument("--memory", default="256M")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--qemu-args", action="append")
    args = parser.parse_args()
    if args.expect == "mismatch" and not args.expected:
        parser.error("--expect mismatch needs --expected")

    smp, extra = run_qemu.split_extra(args)
    run = run_qemu.Run("run", run_qemu.qemu_command(args.qemu, args.bios, args.firmware, smp, args.memory, extra),
                       args.timeout, args.transcript)
    run.execute()
    run_qemu.print_run(run)
    if args.expect == "mismatch":
        problems = check_mismatch(run, args.expected, args.firmware)
    else:
        problems = check_pass(run, args.expect)
    print()
    if problems:
        print(f"FAILED ({args.expect}):")
        for p in problems:
            print(f"  {p}")
        return 1
    print(f"transcript as expected ({args.expect})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
