#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Linux under the monitor (and natively, for comparison) on QEMU virt or sifive_u.

    linux_test.py --source DIR --monitor BIN --stub BIN CASE [options]

Cases:
  boot        boots to user space and runs a command whose output is checked
  smp         --smp N: all N CPUs come up; a workload pinned to each CPU and a
              process migrating over all of them (IPIs, remote TLB flushes) completes
  memory      touches at least 90 % of the memory Linux reports free
  equivalence the same command natively and under the monitor prints the same
  switches    with the timer through SBI, the world switches counted under
              --monitor (counters + offload) are at most 5 % of those under
              --baseline (counters alone)
  mismatch    a sandbox expecting another measurement stops before the OS runs,
              with one line saying so
  match       a sandbox built to expect the fetched kernel's measurement (computed
              here, independently, with hashlib) boots it and prints that value

Each prints what it checked and exits 0 on success, 1 on failure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TIMEOUT = 900  # seconds: an 8-hart boot on a loaded 2-core machine is slow

# The workload of the smp case: one job pinned to each CPU (each reports the
# CPU it ran on), then one process that moves over every CPU, forking and
# allocating on each, so the kernel must flush TLBs on other harts.
SMP_WORKLOAD = r"""
n=$(grep -c ^processor /proc/cpuinfo)
echo "online $(cat /sys/devices/system/cpu/online) count $n"
i=0
while [ $i -lt $n ]; do
  taskset -c $i sh -c 'k=0; while [ $k -lt 20 ]; do head -c 65536 /dev/zero | md5sum > /dev/null; k=$((k+1)); done; echo "job ran on cpu $(cut -d" " -f39 /proc/self/stat)"' > /tmp/job.$i &
  i=$((i+1))
done
wait
cat /tmp/job.*
sh -c 'r=0; while [ $r -lt 3 ]; do i=0; while [ $i -lt '"$n"' ]; do taskset -p -c $i $$ > /dev/null; head -c 200000 /dev/zero | md5sum > /dev/null; i=$((i+1)); done; r=$((r+1)); done; echo "migration done"'
"""

MEMORY_WORKLOAD = r"""
free_kb=$(grep MemFree /proc/meminfo | tr -s ' ' | cut -d' ' -f2)
target_mb=$((free_kb * 9 / 10 / 1024 + 1))
mkdir -p /mnt/fill
mount -t tmpfs -o size=${free_kb}k tmpfs /mnt/fill
dd if=/dev/zero of=/mnt/fill/data bs=1M count=$target_mb 2> /dev/null
written=$(ls -l /mnt/fill/data | tr -s ' ' | cut -d' ' -f5)
echo "free_kb $free_kb written_kb $((written / 1024))"
rm /mnt/fill/data
echo "memory ok"
"""

# Output that must not depend on whether the firmware runs natively or in vM-mode.
# (Which hart becomes CPU 0 is a race in the firmware's boot lottery, natively
# too, so the hart ids are not compared.)
EQUIVALENCE_COMMAND = r"""
uname -srm
grep -E '^(processor|isa|mmu|mvendorid|marchid|mimpid)' /proc/cpuinfo
cat /sys/devices/system/cpu/online
dmesg | grep -E 'SBI (specification|implementation|[A-Z]+ extension)|riscv: ISA extensions|riscv-pmu-sbi' | sed 's/^\[[^]]*\] //'
echo 0123456789 | sha256sum
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--monitor", required=True)
    ap.add_argument("--stub", required=True)
    ap.add_argument("case", choices=["boot", "smp", "memory", "equivalence", "switches", "mismatch", "match"])
    ap.add_argument("--baseline", help="switches: the monitor to compare with")
    ap.add_argument("--cross-file", help="match: the cross file of the build")
    ap.add_argument("--firmware", default="opensbi-1.1")
    ap.add_argument("--cpu", default=None)
    ap.add_argument("--smp", type=int, default=None)
    ap.add_argument("--machine", default="virt", help="QEMU machine (virt or sifive_u)")
    ap.add_argument("--cpus", type=int, default=None,
                    help="boot: the CPUs Linux must see (default --smp; sifive_u: its U54s, not the E51)")
    ap.add_argument("--memory", default="512M")
    args = ap.parse_args()

    sys.path.insert(0, str(Path(args.source) / "tools"))
    from vfmtool import api  # noqa: E402

    def boot(command: str, native: bool = False):
        r = api.boot(exec_cmd=command, firmware=args.firmware, cpu=args.cpu, smp=args.smp, machine=args.machine,
                     memory=args.memory, native=native, append="console=ttyS0 quiet",
                     bios=args.stub if native else args.monitor, timeout=TIMEOUT)
        where = "natively" if native else "under the monitor"
        print(f"--- {where}: {' '.join(r.argv)}")
        print(r.output.rstrip())
        if r.timed_out or not r.user_space or r.status is None:
            print(f"FAIL: {where}: no result (timed out: {r.timed_out}, user space: {r.user_space})")
            print("--- console tail:")
            print("\n".join(r.console.splitlines()[-40:]))
            return None
        if r.status != 0:
            print(f"FAIL: {where}: the command exited with {r.status}")
            return None
        return r.output

    def report_lines(console: str, what: str) -> dict:
        """Sums `vfm: exits hart N path P: C` lines over the harts."""
        totals = {}
        for line in console.splitlines():
            if line.startswith("vfm: exits hart") and " path " in line:
                path, count = line.split(" path ", 1)[1].split(":")
                totals[path] = totals.get(path, 0) + int(count)
        print(f"{what}: {totals}")
        return totals

    def expect(condition: bool, what: str) -> bool:
        print(("ok   " if condition else "FAIL ") + what)
        return condition

    if args.case == "boot":
        out = boot("uname -s; grep -c ^processor /proc/cpuinfo; echo sum $((6 * 7))")
        if out is None:
            return 1
        lines = out.split()
        cpus = args.cpus if args.cpus is not None else (args.smp or 1)
        good = expect("Linux" in lines, "uname says Linux")
        good &= expect(str(cpus) in lines, f"{cpus} processor(s) in /proc/cpuinfo")
        good &= expect("42" in lines, "the shell computes 6 * 7 = 42")
        return 0 if good else 1

    if args.case == "smp":
        out = boot(SMP_WORKLOAD)
        if out is None:
            return 1
        n = args.cpus if args.cpus is not None else (args.smp or 1)
        online = "0" if n == 1 else f"0-{n - 1}"
        good = expect(f"online {online} count {n}" in out, f"all {n} CPUs online")
        for cpu in range(n):
            good &= expect(f"job ran on cpu {cpu}" in out, f"the job pinned to cpu {cpu} ran there")
        good &= expect("migration done" in out, "the migrating process completed")
        return 0 if good else 1

    if args.case == "memory":
        out = boot(MEMORY_WORKLOAD)
        if out is None:
            return 1
        good = expect("memory ok" in out, "the fill completed")
        for line in out.splitlines():
            if line.startswith("free_kb"):
                parts = line.split()
                free_kb, written_kb = int(parts[1]), int(parts[3])
                good &= expect(written_kb * 10 >= free_kb * 9,
                               f"wrote {written_kb} KiB of {free_kb} KiB free (>= 90 %)")
                break
        else:
            good = expect(False, "the fill reported its size")
        return 0 if good else 1

    if args.case == "switches":
        # The boot, then about 2 s (2e9 instructions under icount: deterministic)
        # of user-space work during which the timer ticks as it does in use.
        command = "i=0; while [ $i -lt 80000 ]; do i=$((i+1)); done; echo worked"
        results = {}
        for label, bios in (("without offload", args.baseline), ("with offload", args.monitor)):
            r = api.boot(exec_cmd=command, firmware=args.firmware, cpu=args.cpu, smp=args.smp, memory=args.memory,
                         bios=bios, append="console=ttyS0 quiet", icount=True, timeout=TIMEOUT)
            if r.status != 0:
                print(f"FAIL: {label}: the boot did not complete")
                print("\n".join(r.console.splitlines()[-30:]))
                return 1
            results[label] = report_lines(r.console, label)
        before = results["without offload"].get("to-firmware", 0)
        after = results["with offload"].get("to-firmware", 0)
        good = expect(before > 0, f"without offload the OS entered the firmware {before} times")
        good &= expect(after * 100 <= before * 5,
                       f"with offload {after} times: {100.0 * after / max(before, 1):.1f} % (at most 5 %)")
        return 0 if good else 1

    if args.case == "mismatch":
        r = api.boot(exec_cmd="echo should not run", firmware=args.firmware, smp=args.smp, memory=args.memory,
                     bios=args.monitor, append="console=ttyS0 quiet", timeout=TIMEOUT)
        lines = [l for l in r.console.splitlines() if l.startswith("vfm: sandbox:")]
        print("\n".join(lines))
        good = expect(not r.user_space, "the OS did not run")
        good &= expect(len(lines) == 1 and "not the expected" in lines[0], "one line says the measurement differs")
        good &= expect(r.returncode == 71, f"QEMU's exit status is 71 (got {r.returncode})")
        return 0 if good else 1

    if args.case == "match":
        import hashlib
        import struct
        import subprocess
        import tempfile
        kernel = api.artifacts().kernel
        image = Path(kernel).read_bytes()
        size = struct.unpack_from("<Q", image, 16)[0]
        entry = 0x80200000  # where QEMU loads -kernel behind a monitor of under 2 MiB
        digest = hashlib.sha256(struct.pack("<Q", entry) + image[:size] + bytes(max(0, size - len(image)))).hexdigest()
        print(f"expected measurement {digest} ({size} bytes at {entry:#x})")
        with tempfile.TemporaryDirectory(prefix="vfm-match-") as build:
            configure = subprocess.run(["meson", "setup", build, args.source, "--cross-file", args.cross_file,
                                        "--buildtype=minsize", "-Dtests=false", "-Dpolicies=sandbox", "-Dlog_level=info",
                                        f"-Dexpected_measurement={digest}"], capture_output=True, text=True)
            if configure.returncode != 0:
                print(configure.stdout[-3000:], configure.stderr[-3000:])
                return 1
            built = subprocess.run(["ninja", "-C", build, "examples/monitor/vfm-monitor.bin"],
                                   capture_output=True, text=True)
            if built.returncode != 0:
                print(built.stdout[-3000:], built.stderr[-3000:])
                return 1
            r = api.boot(exec_cmd="echo booted", firmware=args.firmware, smp=args.smp, memory=args.memory,
                         bios=str(Path(build) / "examples/monitor/vfm-monitor.bin"), append="console=ttyS0 quiet",
                         timeout=TIMEOUT)
        lines = [l for l in r.console.splitlines() if l.startswith("vfm: sandbox:")]
        print("\n".join(lines))
        good = expect(r.status == 0 and "booted" in r.output, "the OS ran the command")
        good &= expect(any(digest in l for l in lines), "the monitor printed the same measurement")
        return 0 if good else 1

    # equivalence
    native = boot(EQUIVALENCE_COMMAND, native=True)
    virtualized = boot(EQUIVALENCE_COMMAND)
    if native is None or virtualized is None:
        return 1
    # Kernel messages may land in the middle of the command's output on the
    # shared console: compare the command's lines, each without trailing blanks.
    def lines(text: str) -> list:
        return [line.rstrip() for line in text.splitlines() if line.strip()]
    if lines(native) != lines(virtualized):
        import difflib
        print("FAIL: the outputs differ (- native, + monitor):")
        for line in difflib.unified_diff(lines(native), lines(virtualized), lineterm=""):
            print(repr(line))
        return 1
    print("ok   natively and under the monitor the command printed the same")
    return 0


if __name__ == "__main__":
    sys.exit(main())
