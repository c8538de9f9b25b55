# SPDX-License-Identifier: MIT
"""Helpers for the driver's tests: an isolated environment and tiny ELF files."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2]
VFM = SOURCE / "vfm"

sys.dont_write_bytecode = True
sys.path.insert(0, str(SOURCE / "tools"))

EM_RISCV = 243


def make_elf(segments, entry, *, etype=2, machine=EM_RISCV, elfclass=2, data=1,
             extra_phdrs=()):
    """An ELF file with PT_LOAD segments [(paddr, vaddr, bytes, memsz)]."""
    nph = len(segments) + len(extra_phdrs)
    phoff = 64
    off = phoff + 56 * nph
    phdrs = b""
    blobs = b""
    for paddr, vaddr, blob, memsz in segments:
        phdrs += struct.pack("<IIQQQQQQ", 1, 7, off + len(blobs), vaddr, paddr, len(blob),
                             memsz, 8)
        blobs += blob
    for ph in extra_phdrs:
        phdrs += ph
    ident = b"\x7fELF" + bytes([elfclass, data, 1]) + b"\0" * 9
    ehdr = struct.pack("<16sHHIQQQIHHHHHH", ident, etype, machine, 1, entry, phoff, 0, 0, 64,
                       56, nph, 64, 0, 0)
    return ehdr + phdrs + blobs


# A raw RISC-V image: writes (3 << 16) | 0x3333 to the virt test finisher
# (QEMU exits with status 3), then spins.
FINISHER_EXIT_3 = bytes.fromhex("b7021000" "37330300" "13033333" "23a06200" "6f000000")


class DriverTest(unittest.TestCase):
    """Each test gets a scratch dir, cache and build prefix."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="vfm-driver-test-"))
        self.cache = self.tmp / "cache"
        self.env = dict(os.environ)
        for k in ("VFM_QEMU", "VFM_SOURCE_ROOT", "VFM_DEBIAN_MIRROR"):
            self.env.pop(k, None)
        self.env.update({
            "VFM_CACHE": str(self.cache),
            "VFM_BUILD_PREFIX": str(self.tmp / "build"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LC_ALL": "C.UTF-8",
        })

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def file(self, name, data=b"\x13\x00\x00\x00" * 4, mode=None) -> Path:
        p = self.tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        if mode is not None:
            os.chmod(p, mode)
        return p

    def vfm(self, *args, timeout=120, input_=None):
        return subprocess.run([sys.executable, str(VFM)] + [str(a) for a in args], env=self.env,
                              stdin=subprocess.DEVNULL if input_ is None else None,
                              input=input_, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)

    def assertUsageError(self, proc, fragment=None):
        """Exactly one stderr line `vfm: error: ...`, exit status 2."""
        lines = proc.stderr.splitlines()
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertTrue(lines[0].startswith("vfm: error: "), lines[0])
        if fragment:
            self.assertIn(fragment, lines[0])
        self.assertEqual(proc.stdout, "")
        return lines[0]
