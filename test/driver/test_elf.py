#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ELF flattening: vfmtool.elf directly and through `vfm run --dry-run`."""

import shlex
import struct
import unittest
from pathlib import Path

from vfmtest import DriverTest, make_elf

from vfmtool import elf


class FlattenTest(unittest.TestCase):
    def test_single_segment(self):
        code = bytes(range(32))
        img = elf.flatten(make_elf([(0x80100000, 0x80100000, code, 32)], 0x80100000))
        self.assertEqual(img.data, code)
        self.assertEqual(img.base, 0x80100000)
        self.assertEqual(img.entry_offset, 0)
        self.assertFalse(img.relocatable)

    def test_gap_and_bss_are_zero_filled(self):
        a, b = b"\x11" * 8, b"\x22" * 4
        img = elf.flatten(make_elf([(0x80100000, 0x80100000, a, 0x10),
                                    (0x80100020, 0x80100020, b, 0x100)], 0x80100000))
        self.assertEqual(img.data, a + b"\0" * 0x18 + b)  # the last segment's bss is not stored

    def test_segments_out_of_order(self):
        a, b = b"\x11" * 8, b"\x22" * 8
        img = elf.flatten(make_elf([(0x80100010, 0x80100010, b, 8),
                                    (0x80100000, 0x80100000, a, 8)], 0x80100000))
        self.assertEqual(img.data, a + b"\0" * 8 + b)

    def test_physical_addresses_are_used(self):
        img = elf.flatten(make_elf([(0x80100000, 0xffffffff80000000, b"\x01" * 8, 8)],
                                   0xffffffff80000004))
        self.assertEqual(img.base, 0x80100000)
        self.assertEqual(img.entry, 0x80100004)
        self.assertEqual(img.entry_offset, 4)

    def test_position_independent(self):
        img = elf.flatten(make_elf([(0, 0, b"\x01" * 8, 8), (0x40, 0x40, b"\x02" * 8, 8)], 0,
                                   etype=3))
        self.assertTrue(img.relocatable)
        self.assertEqual(img.base, 0)
        self.assertEqual(len(img.data), 0x48)

    def test_non_load_and_empty_segments_ignored(self):
        note = struct.pack("<IIQQQQQQ", 4, 4, 0, 0, 0, 0, 0, 4)
        img = elf.flatten(make_elf([(0x80100000, 0x80100000, b"\x05" * 4, 4),
                                    (0x80200000, 0x80200000, b"", 0x1000)], 0x80100000,
                                   extra_phdrs=[note]))
        self.assertEqual(img.data, b"\x05" * 4)

    def check_error(self, data, fragment):
        with self.assertRaises(elf.ElfError) as cm:
            elf.flatten(data)
        self.assertIn(fragment, str(cm.exception))

    def test_errors(self):
        seg = [(0x80100000, 0x80100000, b"\0" * 8, 8)]
        self.check_error(b"\x7fELF", "truncated")
        self.check_error(b"MZ" + b"\0" * 100, "not an ELF")
        self.check_error(make_elf(seg, 0, elfclass=1), "ELF64")
        self.check_error(make_elf(seg, 0, data=2), "little-endian")
        self.check_error(make_elf(seg, 0, machine=62), "not a RISC-V")
        self.check_error(make_elf(seg, 0, etype=1), "not an executable")
        self.check_error(make_elf([], 0), "no program headers")
        self.check_error(make_elf([(0x80100000, 0x80100000, b"", 8)], 0), "no loadable")
        self.check_error(make_elf(seg, 0)[:-4], "past the end")
        self.check_error(make_elf(seg, 0)[:100], "program headers extend")
        self.check_error(make_elf([(0x80100000, 0x80100000, b"\0" * 16, 16),
                                   (0x80100008, 0x80100008, b"\0" * 8, 8)], 0), "overlapping")
        self.check_error(make_elf([(0x80100000, 0x80100000, b"\0" * 16, 8)], 0),
                         "file size larger")
        self.check_error(make_elf([(0x80000000, 0x80000000, b"\0" * 8, 8),
                                   (0x90000000, 0x90000000, b"\0" * 8, 8)], 0), "span")


class DriverFlattenTest(DriverTest):
    def dry_run(self, *args):
        bios = self.file("monitor.bin")
        proc = self.vfm("run", "--dry-run", "--no-kernel", "--bios", bios, *args)
        return proc, (shlex.split(proc.stdout) if proc.returncode == 0 else [])

    def loader(self, argv):
        dev = argv[argv.index("-device") + 1]
        fields = dict(f.split("=", 1) for f in dev.split(",")[1:])
        return Path(fields["file"]), int(fields["addr"], 0)

    def test_elf_is_flattened_into_the_cache(self):
        code = b"\x13\x00\x00\x00" * 3
        fw = self.file("fw.elf", make_elf([(0x80100000, 0x80100000, code, 12)], 0x80100000))
        proc, argv = self.dry_run("--firmware", fw)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, "")
        path, addr = self.loader(argv)
        self.assertEqual(addr, 0x80100000)
        self.assertEqual(path.read_bytes(), code)
        self.assertEqual(path.parent, self.cache / "flat")

    def test_exec_elf_at_another_address_loads_there_with_warning(self):
        fw = self.file("fw.elf", make_elf([(0x80200000, 0x80200000, b"\1" * 8, 8)], 0x80200004))
        proc, argv = self.dry_run("--firmware", fw)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.loader(argv)[1], 0x80200000)
        self.assertIn("linked at 0x80200000", proc.stderr)
        self.assertIn("entry point 0x80200004", proc.stderr)

    def test_explicit_address_wins(self):
        fw = self.file("fw.elf", make_elf([(0x80000000, 0x80000000, b"\1" * 8, 8)], 0x80000000))
        proc, argv = self.dry_run("--firmware", fw, "--firmware-address", "0x80400000")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.loader(argv)[1], 0x80400000)
        self.assertEqual(proc.stderr, "")

    def test_position_independent_elf_loads_at_firmware_address(self):
        fw = self.file("fw.elf", make_elf([(0, 0, b"\1" * 8, 8), (0x20, 0x20, b"\2" * 8, 8)], 0,
                                          etype=3))
        proc, argv = self.dry_run("--firmware", fw)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        path, addr = self.loader(argv)
        self.assertEqual(addr, 0x80100000)
        self.assertEqual(path.read_bytes(), b"\1" * 8 + b"\0" * 0x18 + b"\2" * 8)

    def test_raw_image_is_used_as_is(self):
        fw = self.file("fw.bin", b"\x6f\x00\x00\x00")
        proc, argv = self.dry_run("--firmware", fw)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.loader(argv), (fw, 0x80100000))

    def test_malformed_elf_is_a_usage_error(self):
        fw = self.file("bad.elf", make_elf([(0x80100000, 0x80100000, b"\0" * 8, 8)], 0,
                                           machine=62))
        proc, _ = self.dry_run("--firmware", fw)
        self.assertUsageError(proc, "not a RISC-V")
        fw = self.file("trunc.elf", b"\x7fELF\x02\x01\x01")
        proc, _ = self.dry_run("--firmware", fw)
        self.assertUsageError(proc, "truncated")


if __name__ == "__main__":
    unittest.main(verbosity=2)
