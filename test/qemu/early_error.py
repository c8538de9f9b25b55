#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An error the monitor finds before any firmware runs must be loud: one
`vfm:` line on the console, then the machine stops with a non-zero exit
status, never a silent hang (issue 10, "early errors are loud"). Also used
for a warning the monitor prints at boot: exactly one `vfm:` line, and the
expected exit status (0: the firmware ran to its verdict).

  early_error.py --qemu Q --bios B --expect-status 70 --expect REGEX
                 [--firmware F] [--smp N] [--dtb-remove NODE]...

--dtb-remove dumps QEMU virt's device tree for the same machine, removes the
given nodes with fdtput and boots with that tree (-dtb)."""

import argparse
import os
import re
import subprocess
import sys
import tempfile


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--qemu", required=True)
    p.add_argument("--bios", required=True)
    p.add_argument("--firmware")
    p.add_argument("--smp", default="1")
    p.add_argument("--memory", default="256M")
    p.add_argument("--dtb-remove", action="append", default=[])
    p.add_argument("--expect-status", type=int, required=True)
    p.add_argument("--expect", required=True, help="regex the one vfm line must match")
    p.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()

    machine = ["-M", "virt", "-smp", args.smp, "-m", args.memory]
    extra = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.dtb_remove:
            dtb = os.path.join(tmp, "virt.dtb")
            subprocess.run([args.qemu, "-M", f"virt,dumpdtb={dtb}", "-smp", args.smp, "-m", args.memory,
                            "-nographic"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for node in args.dtb_remove:
                subprocess.run(["fdtput", "-r", dtb, node], check=True)
            extra += ["-dtb", dtb]
        if args.firmware:
            extra += ["-device", f"loader,file={args.firmware},addr=0x80100000"]
        cmd = [args.qemu] + machine + ["-nographic", "-bios", args.bios] + extra
        print("$ " + " ".join(cmd), flush=True)
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=args.timeout)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace")
            print(out)
            print(f"FAIL: no exit within {args.timeout:g} s (a silent hang)")
            return 1
    out = proc.stdout.decode(errors="replace")
    print(out, end="")
    lines = [line.strip() for line in out.splitlines() if line.startswith("vfm:")]
    ok = True
    if proc.returncode != args.expect_status:
        print(f"FAIL: exit status {proc.returncode}, expected {args.expect_status}")
        ok = False
    if len(lines) != 1:
        print(f"FAIL: {len(lines)} vfm: lines, expected exactly one")
        ok = False
    elif not re.search(args.expect, lines[0]):
        print(f"FAIL: the vfm: line does not match {args.expect!r}")
        ok = False
    if ok:
        print("PASS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
