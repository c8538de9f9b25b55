#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Proves that vfm is consumable as a Meson subproject.

  run_consumer.py MESON VFM_SOURCE_ROOT CONSUMER_PROJECT_DIR

Copies the consumer project into a fresh temporary directory, makes
subprojects/vfm a symbolic link to the vfm source root, configures it with the
fallback forced (so a vfm installed on the system cannot stand in), builds it,
runs the program and checks what it prints. Exit code 77 (skipped) when MESON
cannot be found.
"""
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
EXPECTED = "vfm consumer: mstatus = 0x300, mstatus.MPP mask = 0x1800\n"


def run(command, cwd=None):
    print("+", " ".join(command), flush=True)
    result = subprocess.run(command, cwd=cwd, text=True, capture_output=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} exited with {result.returncode}")
    return result.stdout


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    meson, vfm_root, project = argv
    meson_path = shutil.which(meson)
    if meson_path is None:
        print(f"{meson} not found: skipped")
        return SKIP
    with tempfile.TemporaryDirectory(prefix="vfm-consumer-") as scratch:
        source = os.path.join(scratch, "project")
        build = os.path.join(scratch, "build")
        shutil.copytree(project, source)
        os.makedirs(os.path.join(source, "subprojects"))
        os.symlink(os.path.abspath(vfm_root), os.path.join(source, "subprojects", "vfm"))
        try:
            run([meson_path, "setup", "--force-fallback-for=vfm", build, source])
            run([meson_path, "compile", "-C", build])
            output = run([os.path.join(build, "consumer")])
        except RuntimeError as error:
            print(f"FAIL: {error}", file=sys.stderr)
            return 1
    if output != EXPECTED:
        print(f"FAIL: expected {EXPECTED!r}, got {output!r}", file=sys.stderr)
        return 1
    print("OK: the consumer built vfm as a subproject and printed the expected text")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
