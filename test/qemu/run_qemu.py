#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs test firmwares on QEMU virt (or another machine, --machine spike or sifive_u), natively (behind the jump
stub) or under the monitor, and compares the two transcripts.

  run_qemu.py run --bios B --firmware F --transcript T [options]
      one run; passes when QEMU exits 0 and the firmware printed its PASS line
  run_qemu.py compare --native-bios B --monitor-bios M --firmware F --out-dir D [options]
      runs both, passes when both pass and their transcripts are equal line
      by line once the marked lines (starting with "~") are left out

--boot-hart N runs the test on hart N (the others wait for work): unless the
image already says N, a copy of the firmware with the image header's boot hart
set (examples/firmware/lib/start.S) goes next to the transcripts. On sifive_u, hart 0 is the E51 and 1-4 are U54s.

The transcript format is described in docs/test-firmware.md.
"""

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
import threading

FIRMWARE_ADDRESS = "0x80100000"
# The image header (examples/firmware/include/testfw/layout.h).
HEADER_MAGIC = b"vfmT"
HEADER_MAGIC_OFFSET = 4
HEADER_BOOT_HART_OFFSET = 8
HEADER = re.compile(r"^vfm-testfw (\S+):")
VERDICT = re.compile(r"^(PASS|FAIL) (\S+) \(")


def qemu_command(qemu, bios, firmware, smp, memory, extra, machine="virt"):
    # sifive_u's only exit is its gpio-restart line: -no-reboot makes the reset QEMU's exit.
    reboot = ["-no-reboot"] if machine == "sifive_u" else []
    return [
        qemu, "-M", machine, "-nographic", "-bios", bios,
        "-device", f"loader,file={firmware},addr={FIRMWARE_ADDRESS}",
        "-smp", str(smp), "-m", memory,
    ] + reboot + extra


def with_boot_hart(firmware, hart, path):
    """The firmware if its image header names `hart` as the boot hart (or hart is None), else a copy at `path`
    (one per run: tests run in parallel) that does."""
    if hart is None:
        return firmware
    with open(firmware, "rb") as f:
        image = bytearray(f.read())
    magic = image[HEADER_MAGIC_OFFSET:HEADER_MAGIC_OFFSET + len(HEADER_MAGIC)]
    if magic != HEADER_MAGIC:
        raise SystemExit(f"{firmware}: no test-firmware image header (magic {bytes(magic)!r})")
    field = hart.to_bytes(4, "little")
    if image[HEADER_BOOT_HART_OFFSET:HEADER_BOOT_HART_OFFSET + 4] == field:
        return firmware
    image[HEADER_BOOT_HART_OFFSET:HEADER_BOOT_HART_OFFSET + 4] = field
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(image)
    return path


def split_extra(args):
    """QEMU arguments of a firmware; -smp among them overrides --smp."""
    extra = []
    for chunk in args.qemu_args or []:
        extra += shlex.split(chunk)
    smp = args.smp
    if "-smp" in extra:
        i = extra.index("-smp")
        smp = extra[i + 1]
        del extra[i:i + 2]
    return smp, extra


class Run:
    """One QEMU run: its command, exit status and output."""

    def __init__(self, label, command, timeout, transcript):
        self.label = label
        self.command = command
        self.timeout = timeout
        self.transcript = transcript
        self.returncode = None
        self.timed_out = False
        self.output = ""

    def execute(self):
        try:
            proc = subprocess.run(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=self.timeout, check=False)
            raw = proc.stdout
            self.returncode = proc.returncode
        except subprocess.TimeoutExpired as e:
            raw = e.stdout or b""
            self.timed_out = True
        except OSError as e:
            raw = f"cannot run QEMU: {e}\n".encode()
            self.returncode = 127
        self.output = raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "")
        if self.transcript:
            os.makedirs(os.path.dirname(os.path.abspath(self.transcript)), exist_ok=True)
            with open(self.transcript, "w", encoding="utf-8") as f:
                f.write(self.output)

    def lines(self):
        return self.output.splitlines()

    def verdict(self):
        for line in self.lines():
            m = VERDICT.match(line)
            if m:
                return m.group(1)
        return None

    def passed(self):
        return not self.timed_out and self.returncode == 0 and self.verdict() == "PASS"

    def describe(self):
        if self.timed_out:
            status = f"timed out after {self.timeout} s"
        else:
            status = f"QEMU exit code {self.returncode}"
        return f"{self.label}: {status}, verdict {self.verdict() or 'missing'}"


def firmware_lines(lines, ignore):
    """The lines the firmware printed: from its header line on, without the
    marked deviation lines and without lines matching `ignore`."""
    out = []
    started = False
    for line in lines:
        if not started:
            started = HEADER.match(line) is not None
            if not started:
                continue
        if line.startswith("~"):
            continue
        if ignore and ignore.search(line):
            continue
        out.append(line)
    return out


def print_run(run):
    print(f"$ {shlex.join(run.command)}")
    if run.transcript:
        print(f"transcript: {run.transcript}")
    sys.stdout.write(run.output if run.output.endswith("\n") or not run.output else run.output + "\n")
    print(run.describe())


def cmd_run(args):
    smp, extra = split_extra(args)
    copy = (os.path.splitext(args.transcript)[0] if args.transcript else "firmware") + f"-boot-hart-{args.boot_hart}.bin"
    firmware = with_boot_hart(args.firmware, args.boot_hart, copy)
    run = Run("run", qemu_command(args.qemu, args.bios, firmware, smp, args.memory, extra, args.machine),
              args.timeout, args.transcript)
    run.execute()
    print_run(run)
    return 0 if run.passed() else 1


def cmd_compare(args):
    smp, extra = split_extra(args)
    base = args.name or os.path.splitext(os.path.basename(args.firmware))[0]
    firmware = with_boot_hart(args.firmware, args.boot_hart,
                              os.path.join(args.out_dir, f"equivalence-{base}-boot-hart-{args.boot_hart}.bin"))
    runs = [
        Run("native", qemu_command(args.qemu, args.native_bios, firmware, smp, args.memory, extra, args.machine),
            args.timeout, os.path.join(args.out_dir, f"equivalence-native-{base}.txt")),
        Run("monitor", qemu_command(args.qemu, args.monitor_bios, firmware, smp, args.memory, extra, args.machine),
            args.timeout, os.path.join(args.out_dir, f"equivalence-monitor-{base}.txt")),
    ]
    threads = [threading.Thread(target=r.execute) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in runs:
        print_run(r)
        print()

    ignore = re.compile(args.ignore) if args.ignore else None
    native = firmware_lines(runs[0].lines(), ignore)
    monitor = firmware_lines(runs[1].lines(), ignore)
    ok = True
    for r in runs:
        if not r.passed():
            print(f"FAILED: the {r.label} run did not pass ({r.describe()})")
            ok = False
    if not native:
        print("FAILED: the native run printed no transcript")
        ok = False
    if native != monitor:
        print("FAILED: the transcripts differ (lines starting with '~' are left out):")
        sys.stdout.writelines(difflib.unified_diff([l + "\n" for l in native], [l + "\n" for l in monitor],
                                                   fromfile="native", tofile="monitor", n=2))
        ok = False
    else:
        print(f"transcripts equal: {len(native)} lines compared")
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--firmware", required=True, help="the firmware .bin, loaded at " + FIRMWARE_ADDRESS)
        p.add_argument("--qemu", default="qemu-system-riscv64")
        p.add_argument("--machine", default="virt", help="QEMU's -M (virt, spike, sifive_u: at least -smp 2)")
        p.add_argument("--boot-hart", type=int, help="the hart that runs the test (default: the image's, hart 0)")
        p.add_argument("--smp", default="1")
        p.add_argument("--memory", default="256M")
        p.add_argument("--timeout", type=float, default=60.0, help="seconds before a run counts as hung")
        p.add_argument("--qemu-args", action="append",
                       help="extra QEMU arguments, one shell-quoted string (repeatable)")

    p = sub.add_parser("run", help="run one image")
    common(p)
    p.add_argument("--bios", required=True)
    p.add_argument("--transcript", help="file to write QEMU's output to")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="run natively and under the monitor and compare")
    common(p)
    p.add_argument("--native-bios", required=True)
    p.add_argument("--monitor-bios", required=True)
    p.add_argument("--out-dir", required=True, help="where the two transcripts go")
    p.add_argument("--name", help="base name of the transcript files")
    p.add_argument("--ignore", help="regular expression of lines (e.g. the monitor's own) to leave out")
    p.set_defaults(func=cmd_compare)

    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
