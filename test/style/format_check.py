#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The format check of ./vfm test (docs/style.md): every C++ file of include/,
shims/ and platforms/ is as clang-format-14 formats it with the root's
.clang-format, and no line is over 120 columns (comments too, which
clang-format does not reflow here). One line per file that differs, then a
summary; exit status 1 when any does."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

DIRS = ("include", "shims", "platforms")
SUFFIXES = (".hpp", ".cpp", ".h")
COLUMNS = 120


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, help="the source root")
    ap.add_argument("--clang-format", default="clang-format-14")
    args = ap.parse_args()
    root = Path(args.source)
    tool = shutil.which(args.clang_format)
    if tool is None:
        print(f"format: {args.clang_format} not found (./vfm deps installs it)")
        return 1
    files = sorted(p for d in DIRS for p in (root / d).rglob("*") if p.suffix in SUFFIXES and p.is_file())
    bad = 0
    for path in files:
        rel = path.relative_to(root)
        text = path.read_text()
        long_lines = [n for n, line in enumerate(text.splitlines(), 1) if len(line) > COLUMNS]
        if long_lines:
            print(f"{rel}: lines over {COLUMNS} columns: {', '.join(map(str, long_lines[:8]))}")
            bad += 1
        formatted = subprocess.run([tool, f"--style=file:{root / '.clang-format'}", f"--assume-filename={path}"],
                                   input=text, capture_output=True, text=True)
        if formatted.returncode != 0:
            print(f"{rel}: clang-format failed: {formatted.stderr.strip().splitlines()[:1]}")
            bad += 1
        elif formatted.stdout != text:
            changed = sum(1 for a, b in zip(text.splitlines(), formatted.stdout.splitlines()) if a != b)
            print(f"{rel}: not formatted (about {max(changed, 1)} lines; run {args.clang_format} -i on it)")
            bad += 1
    print(f"format: {len(files)} files, {bad} to fix")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
