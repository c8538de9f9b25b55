#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the S-mode payload examples/sbi/dbtr_payload.cpp behind stock OpenSBI
1.6 (Debian trixie's fw_dynamic, from `./vfm fetch`) natively and under a
monitor, and checks that both print the same thing between the payload's
first line and its last, and that natively OpenSBI offers DBTR and the
installed breakpoint fires in S-mode (so the comparison means something).

  dbtr_check.py --source DIR --qemu QEMU --native-bios BIN --monitor-bios BIN
                --payload BIN --out-dir DIR [--name NAME]
"""

import argparse
import difflib
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_qemu  # noqa: E402

FIRST = "dbtr-payload:"
LAST = "dbtr-payload done"
# Lines the native run must print: OpenSBI 1.6 on QEMU 7.2 finds Sdtrig (two
# triggers) and offers DBTR; a trigger installed for S-mode fires there.
NATIVE_MUST = [
    "probe DBTR: error 0x0000000000000000 value 0x0000000000000001",
    "num_triggers(0): error 0x0000000000000000 value 0x0000000000000002",
    "load in S-mode: breakpoints 0x0000000000000001 scause 0x0000000000000003 at the load yes stval "
    "0x0000000000000000",
    "load, disabled: breakpoints 0x0000000000000000 scause 0x0000000000000000 at the load - stval "
    "0x0000000000000000",
]


def payload_lines(run):
    out = []
    started = False
    for line in run.lines():
        started = started or line.startswith(FIRST)
        if started:
            out.append(line)
            if line == LAST:
                break
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", required=True)
    p.add_argument("--qemu", default="qemu-system-riscv64")
    p.add_argument("--native-bios", required=True)
    p.add_argument("--monitor-bios", required=True)
    p.add_argument("--payload", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--name", default="dbtr")
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args()

    sys.path.insert(0, os.path.join(args.source, "tools"))
    from vfmtool import api  # noqa: E402

    firmware = str(api.artifacts().fw_dynamic)
    runs = []
    for label, bios in (("native", args.native_bios), ("monitor", args.monitor_bios)):
        command = run_qemu.qemu_command(args.qemu, bios, firmware, 1, "256M", ["-kernel", args.payload])
        runs.append(run_qemu.Run(label, command, args.timeout,
                                 os.path.join(args.out_dir, f"{args.name}-{label}.txt")))
    threads = [threading.Thread(target=r.execute) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = True
    for r in runs:
        run_qemu.print_run(r)
        print()
    native, monitor = (payload_lines(r) for r in runs)
    for r, lines in zip(runs, (native, monitor)):
        if r.timed_out or not lines or lines[-1] != LAST:
            print(f"FAILED: the {r.label} run did not reach '{LAST}' ({r.describe()})")
            ok = False
    for must in NATIVE_MUST:
        if must not in native:
            print(f"FAILED: natively, no line '{must}'")
            ok = False
    if native != monitor:
        print("FAILED: the payload's output differs:")
        sys.stdout.writelines(difflib.unified_diff([l + "\n" for l in native], [l + "\n" for l in monitor],
                                                   fromfile="native", tofile="monitor", n=2))
        ok = False
    elif ok:
        print(f"equal: {len(native)} lines compared")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
