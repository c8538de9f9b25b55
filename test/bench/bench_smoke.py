#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Smoke test of `./vfm bench csr`: runs it twice in machine-readable mode
against a cross build dir's images (no Linux) and checks that the figures are
present, plausible and repeatable. Whether they meet the targets is not
checked here.

    bench_smoke.py --source DIR --images CROSS_BUILD_DIR
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ACCESSES = ("csr-read-mscratch", "csr-write-mscratch", "csr-read-mstatus")
BASELINE = "loop-nop"
ITERATIONS = 100_000  # bench csr's loops, timed with `time` (a tick: 100 instructions)
TICK = 100

failures = []


def check(ok: bool, what: str) -> None:
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def bench(source: Path, images: Path) -> dict:
    argv = [sys.executable, str(source / "vfm"), "bench", "csr", "--json", "--no-linux",
            "--images", str(images)]
    print("$ " + " ".join(argv), flush=True)
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=240,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        print(f"FAIL  exit status {proc.returncode}\n{proc.stdout}")
        sys.exit(1)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        print(f"FAIL  not JSON ({e}):\n{proc.stdout}")
        sys.exit(1)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, type=Path)
    ap.add_argument("--images", required=True, type=Path)
    args = ap.parse_args()

    first = bench(args.source, args.images)
    d = first.get("csr")
    check(isinstance(d, dict), "the JSON has a 'csr' object")
    if not isinstance(d, dict):
        return 1
    check(d.get("problems") == [], f"no measurement problems ({d.get('problems')})")

    c = d["csr"]
    for name in ACCESSES + (BASELINE,):
        check(isinstance(c["native"].get(name), int), f"native {name} measured")
        check(isinstance(c["monitor"].get(name), int), f"monitor {name} measured")
    nat = c["native"]
    if all(isinstance(nat.get(n), int) for n in ACCESSES + (BASELINE,)):
        # Natively each loop body is one instruction that retires: equal counts
        # (to the `time` tick at each end).
        check(all(abs(nat[n] - nat[BASELINE]) <= 2 * TICK for n in ACCESSES),
              f"natively an access costs what a nop costs ({nat})")
        check(ITERATIONS * 3 <= nat[BASELINE] <= ITERATIONS * 4,
              f"the native loop runs {ITERATIONS} iterations of 3 instructions ({nat[BASELINE]})")
    for name in ACCESSES:
        v = c["per_access"].get(name)
        check(isinstance(v, (int, float)) and 2 <= v <= 20000,
              f"{name}: monitor instructions per emulated access plausible ({v})")
    check(c.get("worst") == max(c["per_access"].values(), default=None),
          f"worst access is the maximum ({c.get('worst')})")

    img = d["image"]
    bin_path = Path(img["bin"])
    check(bin_path.is_file() and img["bin_bytes"] == bin_path.stat().st_size,
          f"image size is the size of {bin_path.name} ({img['bin_bytes']})")
    check(1024 <= img["bin_bytes"] <= 1 << 20, f"image size plausible ({img['bin_bytes']})")
    for k in ("text", "data", "bss", "code"):
        check(isinstance(img.get(k), int), f"ELF section size {k} present ({img.get(k)})")
    if all(isinstance(img.get(k), int) for k in ("text", "data", "code")):
        check(0 < img["code"] <= img["text"], "code is part of text")
        loaded = img["text"] + img["data"]
        check(loaded <= img["bin_bytes"] <= loaded + 65536,
              f"the raw image holds text + data ({loaded} <= {img['bin_bytes']})")
    check(d["stack"]["status"].startswith("skipped"), "stack skipped with --no-linux")

    # Under -icount the figures are instruction counts: a second run agrees.
    second = bench(args.source, args.images).get("csr", {})
    check(second.get("csr", {}).get("per_access") == c["per_access"],
          "a second run gives the same figures")

    print(f"{len(failures)} failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
