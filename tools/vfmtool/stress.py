# SPDX-License-Identifier: MIT
"""`vfm test --stress N`: the QEMU tiers N times under background CPU load.

The flakes this hunts only show when QEMU's threads are descheduled at the
wrong moment (issue 10: a lost wake-up in a test firmware, seen once under
heavy host load). So the rounds run while the driver keeps every CPU busy
with one spinning process per CPU, at normal priority: a niced load would
hardly ever take a CPU away from QEMU (CFS gives a nice-19 task about 1.5 %
of a nice-0 one's share), which is not what a loaded host does.

Each round runs `meson test --no-rebuild --logbase stress-<stamp>-rNN` in
each cross build dir, so the round's results land in their own
meson-logs/stress-<stamp>-rNN.{txt,json} and the normal testlog.json (what
`vfm summary` and .ci/run read) is left alone. The output of every failed
test (for the QEMU tests: the command line, the transcript path and the
whole QEMU output) is kept in meson-logs/stress-<stamp>/rNN-<test>.log,
because the tests' transcripts are overwritten by the next round.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import summary as summ
from .common import BuildDir, VfmError, info, quote

# The cross build dirs hold every test that runs QEMU (suites qemu,
# equivalence, policy, linux, bench); the native dir has host tests only.
DEFAULT_DIRS = ("riscv", "clang")

# A spinning process that ends when its parent (the driver) is gone, even
# when the driver is killed without a chance to stop it.
BUSY_LOOP = (
    "import os\n"
    "parent = os.getppid()\n"
    "while os.getppid() == parent:\n"
    "    for _ in range(200000):\n"
    "        pass\n"
)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Load:
    """`count` busy processes at normal priority while the context is open."""

    def __init__(self, count: int):
        self.count = count
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> "Load":
        for _ in range(self.count):
            self.procs.append(subprocess.Popen([sys.executable, "-c", BUSY_LOOP],
                                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL))
        if self.procs:
            info(f"background load: {self.count} busy process(es), pids "
                 + " ".join(str(p.pid) for p in self.procs))
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.procs:
            info("background load stopped")
        self.procs = []


@dataclass
class Failure:
    round: int
    dir: str
    name: str
    result: str
    duration: float | None
    log: Path | None


@dataclass
class Round:
    number: int
    counts: summ.Counts = field(default_factory=summ.Counts)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    def line(self, rounds: int) -> str:
        return f"round {self.number}/{rounds}: {self.counts.line()} ({self.seconds:.0f} s)"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("_") or "test"


def read_results(json_log: Path) -> list[dict]:
    """The entries of a meson JSON test log (one object a line)."""
    entries = []
    try:
        text = json_log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return entries
    for raw in text.splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict) and "result" in entry:
            entries.append(entry)
    return entries


def run_round(number: int, dirs: list[BuildDir], meson_args, stamp: str) -> Round:
    rnd = Round(number)
    start = time.monotonic()
    for bd in dirs:
        logbase = f"stress-{stamp}-r{number:02d}"
        json_log = bd.path / "meson-logs" / f"{logbase}.json"
        argv = ["meson", "test", "-C", str(bd.path), "--no-rebuild", "--logbase", logbase] + list(meson_args)
        info(f"round {number}, {bd.name}: $ {quote(argv)}")
        try:
            # meson's progress goes to stderr: stdout carries the results.
            rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=sys.stderr.fileno(),
                                stderr=sys.stderr.fileno()).returncode
        except FileNotFoundError:
            raise VfmError("meson not found (run ./vfm deps)")
        entries = read_results(json_log)
        counts = summ.parse_testlog("\n".join(json.dumps(e) for e in entries), bd.name)
        rnd.counts.passed += counts.passed
        rnd.counts.skipped += counts.skipped
        keep = bd.path / "meson-logs" / f"stress-{stamp}"
        for e in entries:
            result = str(e.get("result", "")).upper()
            if result in summ.PASSED or result in summ.SKIPPED:
                continue
            name = str(e.get("name", "?"))
            log = keep / f"r{number:02d}-{_safe(name.split(' / ')[-1])}.log"
            try:
                keep.mkdir(parents=True, exist_ok=True)
                log.write_text(f"round {number}, {bd.name}: {name}: {result}"
                               f" after {e.get('duration', 0):.1f} s\n"
                               f"$ {e.get('command', '')}\n\n{e.get('stdout', '')}", encoding="utf-8")
            except OSError:
                log = None
            rnd.counts.failed += 1
            rnd.counts.failures.append(f"{result} {bd.name}: {name}")
            rnd.failures.append(Failure(number, bd.name, name, result, e.get("duration"), log))
        if rc != 0 and counts.failed == 0:
            # meson test failed without a failed test to show for it.
            rnd.counts.failed += 1
            rnd.counts.failures.append(f"MESON TEST FAILED {bd.name}")
            rnd.failures.append(Failure(number, bd.name, "meson test", f"EXIT {rc}", None,
                                        bd.path / "meson-logs" / f"{logbase}.txt"))
    rnd.seconds = time.monotonic() - start
    return rnd


def _print_failure(f: Failure) -> None:
    took = f" after {f.duration:.1f} s" if f.duration is not None else ""
    print(f"  round {f.round}: {f.result} {f.dir}: {f.name}{took}")
    if f.log is not None:
        print(f"    log: {f.log}")


class _Terminated(Exception):
    pass


def _on_sigterm(signum, frame):
    raise _Terminated()


def cmd_stress(rounds: int, dirs: list[BuildDir], meson_args, load: int | None) -> int:
    """Runs the rounds (the dirs are configured and built); prints a line per
    round, every failure with its log, and a summary whose last line is
    `N passed, N failed[, N skipped]` over all rounds. Exit status 1 on any
    failure."""
    load = cpu_count() if load is None else load
    stamp = time.strftime("%Y%m%d-%H%M%S")
    done: list[Round] = []
    start = time.monotonic()
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    interrupted = None
    try:
        with Load(load):
            for number in range(1, rounds + 1):
                rnd = run_round(number, dirs, meson_args, stamp)
                done.append(rnd)
                print(f"vfm: stress {rnd.line(rounds)}", flush=True)
                for f in rnd.failures:
                    _print_failure(f)
                sys.stdout.flush()
    except (_Terminated, KeyboardInterrupt) as e:
        interrupted = e
    finally:
        signal.signal(signal.SIGTERM, old)

    total = summ.Counts()
    for rnd in done:
        total.add(rnd.counts)
    elapsed = time.monotonic() - start
    print(f"vfm: stress summary: {len(done)} of {rounds} round(s) in {', '.join(d.name for d in dirs)}, "
          f"{load} busy process(es) of background load, {elapsed:.0f} s", flush=True)
    for rnd in done:
        print(f"  {rnd.line(rounds)}")
    failures = [f for rnd in done for f in rnd.failures]
    if failures:
        print(f"  failures ({len(failures)}):")
        for f in failures:
            _print_failure(f)
    if interrupted is not None or len(done) < rounds:
        total.failed += 1
        print("  stress run interrupted before its last round")
    print(total.line(), flush=True)
    if isinstance(interrupted, KeyboardInterrupt):
        raise interrupted
    return 1 if total.failed else 0
