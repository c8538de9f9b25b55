#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Unit tests of `vfm bench`'s pure parts: parsing the images' and the
monitor's output, ELF section sizes, formatting, the initrd's extra files."""

from __future__ import annotations

import gzip
import struct
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from vfmtool import bench, bench_parse as bp, initramfs  # noqa: E402


def elf_with_sections(sections):
    """An ELF64 RISC-V file with section headers only: [(type, flags, addr, size)]."""
    shoff = 64
    ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    ehdr = struct.pack("<16sHHIQQQIHHHHHH", ident, 2, 243, 1, 0, 0, shoff, 0, 64, 56, 0, 64,
                       len(sections) + 1, 0)
    shdrs = bp.SHDR.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    for t, flags, addr, size in sections:
        shdrs += bp.SHDR.pack(0, t, flags, addr, 0, size, 0, 0, 8, 0)
    return ehdr + shdrs


class ParseTest(unittest.TestCase):
    def test_results(self):
        console = ("OpenSBI v1.1\r\nPlatform HART Count       : 1\r\ncsr-read-mscratch 3004\r\n"
                   "loop-nop 3004\nbench done\nrdtime 17")
        self.assertEqual(bp.results(console),
                         {"csr-read-mscratch": 3004, "loop-nop": 3004, "rdtime": 17})

    def test_stack_and_exits(self):
        console = "\n".join([
            "vfm: stack hart 0: 1440 bytes", "vfm: stack hart 3: 840 bytes\r",
            "vfm: exits hart 0 exception 2: 2214", "vfm: exits hart 1 exception 2: 10",
            "vfm: exits hart 0 interrupt 7: 5", "vfm: exits hart 0 path fast: 1878",
            "vfm: exits hart 0 path to-firmware: 114", "unrelated: line 3"])
        self.assertEqual(bp.stack_lines(console), {0: 1440, 3: 840})
        ex = bp.exit_lines(console)
        self.assertEqual(ex["causes"][("exception", "2")], {0: 2214, 1: 10})
        self.assertEqual(ex["causes"][("interrupt", "7")], {0: 5})
        self.assertEqual(ex["paths"], {"fast": {0: 1878}, "to-firmware": {0: 114}})
        self.assertEqual(bp.exit_lines("no such lines"), {"causes": {}, "paths": {}})

    def test_guest_time(self):
        self.assertEqual(bp.guest_time("time 10273676\r\n"), 10273676)
        self.assertIsNone(bp.guest_time("sh: /vfm/rdtime: not found\n"))

    def test_cause_labels(self):
        self.assertEqual(bench.cause_label("exception", "9"), "exception 9 (ecall from S-mode)")
        self.assertEqual(bench.cause_label("interrupt", "7"), "interrupt 7 (machine timer)")
        self.assertEqual(bench.cause_label("exception", "sbi"), "exception sbi")


class SectionSizeTest(unittest.TestCase):
    def test_berkeley_sizes(self):
        alloc, write, exe = bp.SHF_ALLOC, bp.SHF_WRITE, bp.SHF_EXECINSTR
        data = elf_with_sections([
            (1, alloc | exe, 0x80000000, 1000),     # .text
            (1, alloc, 0x800003e8, 200),            # .rodata
            (1, alloc | write, 0x80000800, 64),     # .data
            (8, alloc | write, 0x80000840, 4096),   # .bss
            (1, 0, 0, 5000),                        # .debug_info: not counted
        ])
        self.assertEqual(bp.section_sizes(data), {"text": 1200, "data": 64, "bss": 4096,
                                                  "code": 1000, "footprint": 0x840 + 4096})

    def test_writable_text_is_text(self):
        # lld links the monitor's .text writable (WAX): still code.
        alloc, write, exe = bp.SHF_ALLOC, bp.SHF_WRITE, bp.SHF_EXECINSTR
        data = elf_with_sections([(1, alloc | write | exe, 0x80000000, 512),
                                  (1, alloc | write, 0x80000200, 16)])
        sizes = bp.section_sizes(data)
        self.assertEqual((sizes["text"], sizes["code"], sizes["data"]), (512, 512, 16))

    def test_bad_elf(self):
        with self.assertRaises(ValueError):
            bp.section_sizes(b"not an elf at all" * 8)
        ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
        no_sections = struct.pack("<16sHHIQQQIHHHHHH", ident, 2, 243, 1, 0, 0, 0, 0, 64, 56, 0,
                                  64, 0, 0)
        with self.assertRaises(ValueError):
            bp.section_sizes(no_sections)
        with self.assertRaises(ValueError):  # the table runs past the end of the file
            bp.section_sizes(elf_with_sections([(1, bp.SHF_ALLOC, 0, 8)])[:100])


class FormatTest(unittest.TestCase):
    def test_num(self):
        self.assertEqual(bp.num(1234567), "1,234,567")
        self.assertEqual(bp.num(134.0), "134")
        self.assertEqual(bp.num(278.001), "278")
        self.assertEqual(bp.num(2.456, 2), "2.46")
        self.assertEqual(bp.num(None), "n/a")

    def test_verdict(self):
        self.assertEqual(bp.verdict(134, 150), "ok")
        self.assertEqual(bp.verdict(151, 150), "MISSED")
        self.assertEqual(bp.verdict(None, 150), "-")

    def test_table_aligns(self):
        text = bp.table([["a", "1,000", "x"], ["longer", "5", "y"]], ["name", "n", "z"])
        lines = text.splitlines()
        self.assertEqual(len(lines), 4)
        self.assertEqual(len({len(l.rstrip()) for l in lines[:2]}), 1)
        self.assertTrue(lines[3].startswith("  longer      5"))


class InitrdFilesTest(unittest.TestCase):
    def test_extra_files_with_and_without_command(self):
        blob = gzip.decompress(initramfs.exec_archive("/vfm/rdtime", {"vfm/rdtime": b"\x7fELF"}))
        self.assertIn(b"vfm/rdtime\0", blob)
        self.assertIn(b"vfm/exec.sh\0", blob)
        self.assertIn(b"/vfm/rdtime\n", blob)
        blob = gzip.decompress(initramfs.exec_archive(None, {"opt/x/tool": b"abc"}))
        self.assertNotIn(b"exec.sh", blob)
        for d in (b"opt\0", b"opt/x\0", b"opt/x/tool\0"):
            self.assertIn(d, blob)

    def test_command_only_archive_unchanged(self):
        # The --exec archive is the same as before extra files existed.
        expected = gzip.compress(initramfs.newc_archive({"vfm/exec.sh": b"true\n"},
                                                        dirs=["vfm"]), mtime=0)
        self.assertEqual(initramfs.exec_archive("true"), expected)

    def test_bad_names(self):
        for name in ("", "/", "a/../b", "vfm/exec.sh"):
            with self.subTest(name=name):
                with self.assertRaises(initramfs.VfmError):
                    initramfs.exec_archive("true", {name: b"x"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
