#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a compiler on one source of the compile-fail tier.

  compile_check.py fail|pass PATTERN SOURCE INCLUDE_DIR -- COMPILER [FLAGS...]

fail: compiles SOURCE with -DVFM_COMPILE_FAIL (the defect switched on) and
      passes only if compilation fails and the diagnostics match the regular
      expression PATTERN (so an unrelated error, such as a missing file or a
      broken command line, cannot make the test pass).
pass: the positive control: compiles SOURCE as is (defect absent) and passes
      only if it compiles, proving the command line and the rest of the
      source are fine.
Exit code 77 (skipped) when COMPILER is not installed.
"""
import re
import shutil
import subprocess
import sys

SKIP = 77
FLAGS = ["-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]


def main(argv):
    if len(argv) < 6 or argv[0] not in ("fail", "pass") or argv[4] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    mode, pattern, source, include_dir = argv[:4]
    compiler, *compiler_flags = argv[5:]
    resolved = shutil.which(compiler)
    if resolved is None:
        print(f"{compiler} not found: skipped")
        return SKIP
    command = [resolved, *compiler_flags, *FLAGS, "-I", include_dir]
    if mode == "fail":
        command.append("-DVFM_COMPILE_FAIL")
    command.append(source)
    print(" ".join(command))
    result = subprocess.run(command, text=True, capture_output=True)
    output = result.stdout + result.stderr
    print(output)
    if mode == "pass":
        if result.returncode != 0:
            print("FAIL: the positive control does not compile", file=sys.stderr)
            return 1
        return 0
    if result.returncode == 0:
        print("FAIL: compiled, but must not", file=sys.stderr)
        return 1
    if not re.search(pattern, output):
        print(f"FAIL: compilation failed, but the diagnostics do not match {pattern!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
