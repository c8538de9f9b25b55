# SPDX-License-Identifier: MIT
"""`vfm fuzz`: the libFuzzer targets of test/fuzz over the host backend
(docs/fuzzing.md).

    vfm fuzz [--time S] [--runs N] [--policy NAME[,NAME]] [--jobs N]
             [--update-corpus] [--repro FILE] [--no-deps] [-- libFuzzer options]

Builds the fuzz dir (build-fuzz: clang-14, -fsanitize=fuzzer,address,undefined)
if needed, runs each chosen target over its corpus in the tree (read only:
new inputs go to <build-fuzz>/fuzz-runs/<target>/corpus, which the next run
starts from too), prints executions, exec/s, libFuzzer's coverage (`cov:`
edges, `ft:` features) and findings per target, and exits 1 when there was a
finding. Findings are written to <build-fuzz>/fuzz-runs/<target>/findings/.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import builddirs
from .common import UsageError, VfmError, info, quote, source_root, standard_build_dirs

# The targets, in the order they run (test/fuzz/meson.build builds one binary each).
TARGETS = ("none", "offload", "offload-traptime", "sandbox", "counters", "all")
DEFAULT_TIME = 60.0
MAX_LEN = 1024

_DONE = re.compile(r"^#(\d+)\s+(?:DONE|pulse|INITED|NEW|REDUCE)\s+cov: (\d+) ft: (\d+) corp: (\d+)/")
_EXECS = re.compile(r"^stat::number_of_executed_units:\s+(\d+)")
_RATE = re.compile(r"^stat::average_exec_per_sec:\s+(\d+)")
_ARTIFACT = re.compile(r"Test unit written to (\S+)")


@dataclass
class Result:
    """What one fuzzer process reported."""

    target: str
    returncode: int = 0
    executions: int = 0
    exec_per_sec: int = 0
    cov: int = 0
    ft: int = 0
    corpus: int = 0
    seconds: float = 0.0
    findings: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    log: Path | None = None


def fuzz_dir():
    """The fuzz build dir (the last of the standard dirs)."""
    for bd in standard_build_dirs():
        if bd.name.endswith("-fuzz"):
            return bd
    raise VfmError("no fuzz build dir is defined")


def select_targets(policies) -> list[str]:
    if not policies:
        return list(TARGETS)
    chosen = []
    for item in policies:
        for name in str(item).split(","):
            name = name.strip()
            if not name:
                continue
            if name not in TARGETS:
                raise UsageError(f"unknown fuzz target '{name}' (choose from {', '.join(TARGETS)})")
            if name not in chosen:
                chosen.append(name)
    return [t for t in TARGETS if t in chosen]


def parse_output(target: str, text: str) -> Result:
    """The figures of one run from libFuzzer's output."""
    r = Result(target)
    for line in text.splitlines():
        m = _DONE.match(line)
        if m:
            r.executions = max(r.executions, int(m.group(1)))
            r.cov = max(r.cov, int(m.group(2)))
            r.ft = max(r.ft, int(m.group(3)))
            r.corpus = max(r.corpus, int(m.group(4)))
            continue
        m = _EXECS.match(line)
        if m:
            r.executions = max(r.executions, int(m.group(1)))
            continue
        m = _RATE.match(line)
        if m:
            r.exec_per_sec = int(m.group(1))
            continue
        m = _ARTIFACT.search(line)
        if m:
            r.findings.append(m.group(1))
            continue
        if "INVARIANT VIOLATED" in line or line.startswith("SUMMARY:") or "runtime error:" in line \
                or re.search(r"ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)", line):
            r.reasons.append(line.strip())
    return r


def fuzzer_argv(binary: Path, work: Path, corpus: Path, dictionary: Path | None, seconds: float | None,
                runs: int | None, extra=()) -> list[str]:
    argv = [str(binary), str(work / "corpus")]
    if corpus.is_dir():
        argv.append(str(corpus))
    argv += [f"-max_len={MAX_LEN}", "-len_control=20", "-timeout=10", "-print_final_stats=1",
             f"-artifact_prefix={work / 'findings'}/"]
    if seconds is not None:
        argv.append(f"-max_total_time={int(max(1, round(seconds)))}")
    if runs is not None:
        argv.append(f"-runs={runs}")
    if dictionary is not None and dictionary.is_file() and dictionary.stat().st_size > 0:
        argv.append(f"-dict={dictionary}")
    return argv + list(extra)


def _run_one(argv, target: str, log: Path, results: list, lock: threading.Lock) -> None:
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    text = log.read_text(errors="replace")
    r = parse_output(target, text)
    r.returncode = proc.returncode
    r.seconds = time.monotonic() - start
    r.log = log
    with lock:
        results.append(r)


def build(bd) -> None:
    if not builddirs.configure(bd):
        raise VfmError(f"configuring {bd.path} failed")
    if not builddirs.ninja(bd):
        raise VfmError(f"building {bd.path} failed")


def merge_into_tree(binary: Path, tree: Path, work: Path) -> int:
    """Adds the inputs of the run that reach new coverage to the tree's corpus
    (libFuzzer -merge=1: the tree keeps what it has). Returns how many were added."""
    tree.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in tree.iterdir()}
    argv = [str(binary), "-merge=1", f"-max_len={MAX_LEN}", str(tree), str(work / "corpus")]
    info("$ " + quote(argv))
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise VfmError(f"merging into {tree} failed (exit status {proc.returncode})")
    return len({p.name for p in tree.iterdir()} - before)


def cmd_fuzz(seconds=None, runs=None, policies=(), jobs=1, update_corpus=False, repro=None, run_deps=True,
             extra=()) -> int:
    targets = select_targets(policies)
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if repro is not None and len(targets) != 1:
        raise UsageError("--repro needs one target (--policy NAME)")
    if seconds is None and runs is None and repro is None:
        seconds = DEFAULT_TIME
    if run_deps:
        from . import deps
        deps.cmd_deps()
    bd = fuzz_dir()
    build(bd)
    root = source_root()
    binaries = {t: bd.path / "test" / "fuzz" / f"vfm-fuzz-{t}" for t in targets}
    for t, b in binaries.items():
        if not b.is_file():
            raise VfmError(f"{b} was not built")

    if repro is not None:
        path = Path(repro)
        if not path.is_file():
            raise UsageError(f"--repro: no such file: {repro}")
        argv = [str(binaries[targets[0]]), str(path.resolve())] + list(extra)
        info("$ VFM_FUZZ_TRACE=1 " + quote(argv))
        env = dict(os.environ, VFM_FUZZ_TRACE="1")
        proc = subprocess.run(argv, env=env)
        return 0 if proc.returncode == 0 else 1

    results: list[Result] = []
    lock = threading.Lock()
    runs_dir = bd.path / "fuzz-runs"
    # Spread the jobs over the targets: every target gets at least one process;
    # with more jobs than targets the first targets get more. Targets beyond
    # the jobs run one after another.
    plan = [t for t in targets]
    extra_jobs = max(0, jobs - len(targets))
    for i in range(extra_jobs):
        plan.append(targets[i % len(targets)])
    pending = list(enumerate(plan))
    active: list[threading.Thread] = []
    while pending or active:
        while pending and len(active) < jobs:
            index, t = pending.pop(0)
            work = runs_dir / t
            (work / "corpus").mkdir(parents=True, exist_ok=True)
            (work / "findings").mkdir(parents=True, exist_ok=True)
            argv = fuzzer_argv(binaries[t], work, root / "test" / "fuzz" / "corpus" / t,
                               root / "test" / "fuzz" / "vfm.dict", seconds, runs, extra)
            log = work / f"log-{index}.txt"
            info(f"fuzzing {t}: " + quote(argv) + f" > {log}")
            th = threading.Thread(target=_run_one, args=(argv, t, log, results, lock))
            th.start()
            active.append(th)
        time.sleep(0.2)
        active = [th for th in active if th.is_alive()]

    return report(results, targets, binaries, root, runs_dir, update_corpus)


def report(results, targets, binaries, root: Path, runs_dir: Path, update_corpus: bool) -> int:
    print("vfm: fuzz summary", flush=True)
    print(f"  {'target':<18} {'executions':>12} {'exec/s':>8} {'cov':>6} {'ft':>7} {'corpus':>7}  findings")
    total = 0
    found = 0
    for t in targets:
        rs = [r for r in results if r.target == t]
        execs = sum(r.executions for r in rs)
        rate = sum(r.exec_per_sec for r in rs)
        cov = max((r.cov for r in rs), default=0)
        ft = max((r.ft for r in rs), default=0)
        corp = max((r.corpus for r in rs), default=0)
        findings = [f for r in rs for f in r.findings]
        failed = [r for r in rs if r.returncode != 0]
        total += execs
        state = "none"
        if findings or failed:
            found += 1
            state = ", ".join(findings) if findings else f"exit status {failed[0].returncode} (see {failed[0].log})"
        print(f"  {t:<18} {execs:>12} {rate:>8} {cov:>6} {ft:>7} {corp:>7}  {state}")
        for r in rs:
            for reason in r.reasons[:3]:
                print(f"      {reason}")
    print(f"  {'total':<18} {total:>12}")
    for t in targets:
        rs = [r for r in results if r.target == t]
        for r in rs:
            for f in r.findings:
                print(f"reproduce: {binaries[t]} {f}   (VFM_FUZZ_TRACE=1 traces every trap; "
                      f"./vfm fuzz --policy {t} --repro {f})")
    if update_corpus:
        for t in targets:
            added = merge_into_tree(binaries[t], root / "test" / "fuzz" / "corpus" / t, runs_dir / t)
            print(f"corpus {t}: {added} inputs added to test/fuzz/corpus/{t}")
    line = f"{total} executions, {found} target(s) with findings"
    print(line, flush=True)
    return 1 if found else 0
