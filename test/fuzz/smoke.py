#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The fuzz smoke run of `./vfm test` (suite `fuzz` of the fuzz dir, docs/fuzzing.md).

Runs one libFuzzer target over its corpus in the source tree, when it has one
(read only: new inputs go to a scratch dir in the build dir), then fuzzes it for a few
seconds. Prints libFuzzer's final figures; fails on any finding (libFuzzer's
own exit status), or when the corpus did not run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--fuzzer", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--regressions", help="inputs of findings (docs/fuzzing.md), run with the corpus")
    p.add_argument("--dict")
    p.add_argument("--work", required=True)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--max-len", type=int, default=1024)
    args = p.parse_args()

    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    (work / "new").mkdir(parents=True)
    (work / "artifacts").mkdir()
    argv = [args.fuzzer, str(work / "new")]
    # A target without seeds yet starts from nothing (libFuzzer refuses a
    # directory that does not exist).
    if Path(args.corpus).is_dir():
        argv.append(args.corpus)
    if args.regressions and Path(args.regressions).is_dir():
        argv.append(args.regressions)
    argv += [f"-max_total_time={args.seconds}", f"-max_len={args.max_len}", "-timeout=10",
             "-print_final_stats=1", f"-artifact_prefix={work / 'artifacts'}/"]
    if args.dict and Path(args.dict).is_file() and Path(args.dict).stat().st_size > 0:
        argv.append(f"-dict={args.dict}")
    print("$ " + " ".join(argv), flush=True)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace")
    out = proc.stdout
    (work / "log.txt").write_text(out)
    interesting = [ln for ln in out.splitlines()
                   if re.match(r"#\d+\s+(INITED|DONE)", ln) or ln.startswith("stat::")
                   or "INVARIANT VIOLATED" in ln or "ERROR" in ln or "SUMMARY" in ln
                   or "runtime error" in ln or "Test unit written" in ln or "seed corpus" in ln]
    print("\n".join(interesting))
    if proc.returncode != 0:
        print(f"FINDING: {args.fuzzer} exited with status {proc.returncode}; the whole log is in "
              f"{work / 'log.txt'}, the input in {work / 'artifacts'}", flush=True)
        if "Test unit written" not in out:
            print("\n".join(out.splitlines()[-60:]))
        return 1
    if not any("INITED" in ln for ln in interesting):
        print("the corpus did not run", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
