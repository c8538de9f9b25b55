#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the board-DTB tests (board_dtbs_test.cpp) over the device trees Debian's
riscv64 kernel package ships: fetches them into the cache like the kernel
(./vfm fetch) and passes their directory in VFM_BOARD_DTBS.

    board_dtbs.py --source DIR TEST_BINARY
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("binary")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(args.source) / "tools"))
    from vfmtool import api  # noqa: E402
    dtbs = api.artifacts().dtbs
    if not any(dtbs.glob("*/*.dtb")):
        print(f"FAIL: no device trees in {dtbs}: the kernel package shipped none")
        return 1
    print(f"device trees from {dtbs}")
    return subprocess.run([args.binary], env=dict(os.environ, VFM_BOARD_DTBS=str(dtbs))).returncode


if __name__ == "__main__":
    sys.exit(main())
