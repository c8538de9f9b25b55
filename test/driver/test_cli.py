#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Command line: error paths (one line, exit 2) and QEMU command lines via --dry-run."""

import json
import os
import shlex
import shutil
import unittest

from vfmtest import FINISHER_EXIT_3, DriverTest


class ErrorPathTest(DriverTest):
    def run_args(self, *args):
        return self.vfm("run", "--dry-run", "--no-kernel", "--bios", self.file("m.bin"), *args)

    def test_missing_firmware(self):
        self.assertUsageError(self.run_args("--firmware", self.tmp / "nope.bin"), "does not exist")

    def test_empty_firmware(self):
        self.assertUsageError(self.run_args("--firmware", self.file("e.bin", b"")), "is empty")

    def test_firmware_is_a_directory(self):
        self.assertUsageError(self.run_args("--firmware", self.tmp), "not a file")

    @unittest.skipIf(os.geteuid() == 0, "root reads any file")
    def test_unreadable_firmware(self):
        self.assertUsageError(self.run_args("--firmware", self.file("u.bin", mode=0)),
                              "not readable")

    def test_unreadable_firmware_in_process(self):
        from unittest import mock
        from vfmtool import common, qemu
        fw = self.file("u.bin")
        with mock.patch("builtins.open", side_effect=PermissionError(13, "Permission denied")):
            with self.assertRaises(common.UsageError) as cm:
                qemu._check_file(fw, "firmware image")
        self.assertIn("not readable", str(cm.exception))
        self.assertEqual(cm.exception.status, 2)

    def test_missing_monitor_image(self):
        proc = self.vfm("run", "--dry-run", "--no-kernel", "--bios", self.tmp / "none.bin",
                        "--firmware", self.file("fw.bin"))
        self.assertUsageError(proc, "monitor image")

    def test_missing_kernel_and_initrd(self):
        fw = self.file("fw.bin")
        bios = self.file("m.bin")
        self.assertUsageError(self.vfm("run", "--dry-run", "--bios", bios, "--firmware", fw,
                                       "--kernel", self.tmp / "k", "--initrd", fw), "kernel")
        self.assertUsageError(self.vfm("run", "--dry-run", "--bios", bios, "--firmware", fw,
                                       "--kernel", fw, "--initrd", self.tmp / "i"), "initrd")

    def test_bad_values(self):
        fw = self.file("fw.bin")
        for args, frag in [
            (["--smp", "0"], "--smp"),
            (["--smp", "two"], "--smp"),
            (["--smp", "1000"], "--smp"),
            (["--smp"], "--smp"),
            (["--memory", "lots"], "--memory"),
            (["--memory", "0"], "--memory"),
            (["--timeout", "-1"], "--timeout"),
            (["--timeout", "soon"], "--timeout"),
            (["--firmware-address", "high"], "address"),
            (["--firmware-address", "0x80100002"], "address"),
            (["--policy", "turbo"], "turbo"),
            (["--toolchain", "icc"], "--toolchain"),
            (["--cpu", ""], "--cpu"),
            (["--exec", "true"], "--no-kernel"),
            (["--machine", "sifive_u", "--smp", "1"], "--smp"),
            (["--machine", "sifive_u", "--smp", "6"], "--smp"),
            (["--machine", "spike"], "--machine"),
        ]:
            with self.subTest(args=args):
                self.assertUsageError(self.run_args("--firmware", fw, *args), frag)

    def test_native_with_policy(self):
        self.assertUsageError(self.run_args("--firmware", self.file("fw.bin"), "--native",
                                            "--policy", "offload"), "--native")

    def test_unknown_option_and_command(self):
        self.assertUsageError(self.run_args("--frobnicate"), "--frobnicate")
        self.assertUsageError(self.vfm("frobnicate"), "frobnicate")
        self.assertUsageError(self.vfm("test", "--frobnicate"), "--frobnicate")
        self.assertUsageError(self.vfm("fetch", "extra"), "extra")
        # Without a command, the hint names the top-level help.
        proc = self.vfm("--frobnicate")
        self.assertUsageError(proc, "see vfm --help")
        self.assertNotIn("None", proc.stderr)

    def test_bench_usage(self):
        self.assertUsageError(self.vfm("bench", "nonsense"), "nonsense")
        self.assertUsageError(self.vfm("bench", "--frobnicate"), "--frobnicate")
        self.assertUsageError(self.vfm("bench", "boot", "--runs", "0"), "--runs")
        self.assertUsageError(self.vfm("bench", "csr", "--images", self.tmp / "none"), "--images")
        # A dir without the images: one error line before anything runs.
        self.assertUsageError(self.vfm("bench", "csr", "--images", self.tmp), "does not exist")

    def test_help(self):
        for cmd in ([], ["deps"], ["setup"], ["build"], ["test"], ["summary"], ["fetch"],
                    ["run"], ["bench"]):
            with self.subTest(cmd=cmd):
                proc = self.vfm(*cmd, "--help")
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertIn("usage: vfm", proc.stdout)


class DryRunTest(DriverTest):
    def setUp(self):
        super().setUp()
        self.fw = self.file("fw.bin")
        self.kernel = self.file("Image")
        self.initrd = self.file("initrd.gz")

    def argv(self, *args):
        proc = self.vfm("run", "--dry-run", *args)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return shlex.split(proc.stdout)

    def fake_artifacts(self):
        """A cache that looks fetched, so defaults resolve without network."""
        root = self.cache / "debian-trixie"
        (root / "opensbi-1.6").mkdir(parents=True)
        for name in ("Image", "busybox", "initramfs.cpio.gz", "opensbi-1.6/fw_dynamic.bin"):
            (root / name).write_bytes(b"x" * 16)
        from vfmtool import initramfs
        (root / "manifest.json").write_text(json.dumps(
            {"kernel_version": "6.12.0-test", "init_sha256": initramfs.init_script_sha256()}))
        return root

    def test_default_command_line(self):
        root = self.fake_artifacts()
        argv = self.argv("--firmware", self.fw)
        mon = self.tmp / "build-riscv" / "examples" / "monitor" / "vfm-monitor.bin"
        self.assertEqual(argv, [
            "qemu-system-riscv64", "-M", "virt", "-nographic", "-bios", str(mon),
            "-device", f"loader,file={self.fw},addr=0x80100000",
            "-kernel", str(root / "Image"), "-initrd", str(root / "initramfs.cpio.gz"),
            "-append", "console=ttyS0", "-smp", "1", "-m", "512M"])

    def test_default_firmware_names(self):
        root = self.fake_artifacts()
        argv = self.argv("--no-kernel", "--firmware", "opensbi-1.6")
        self.assertIn(f"loader,file={root}/opensbi-1.6/fw_dynamic.bin,addr=0x80100000", argv)
        if os.path.isfile("/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"):
            argv = self.argv("--no-kernel")
            self.assertIn("loader,file=/usr/lib/riscv64-linux-gnu/opensbi/generic/"
                          "fw_dynamic.bin,addr=0x80100000", argv)

    def test_all_options(self):
        argv = self.argv("--firmware", self.fw, "--kernel", self.kernel, "--initrd", self.initrd,
                         "--append", "console=ttyS0 quiet", "--smp", "4", "--memory", "1G",
                         "--cpu", "rv64,sstc=off", "--icount", "--qemu-arg=-s",
                         "--qemu-arg", "-d", "--qemu-arg", "guest_errors",
                         "--firmware-address", "0x80200000", "--", "-S", "-no-reboot")
        self.assertEqual(argv[argv.index("-kernel") + 1], str(self.kernel))
        self.assertEqual(argv[argv.index("-initrd") + 1], str(self.initrd))
        self.assertEqual(argv[argv.index("-append") + 1], "console=ttyS0 quiet")
        self.assertEqual(argv[argv.index("-smp") + 1], "4")
        self.assertEqual(argv[argv.index("-m") + 1], "1G")
        self.assertEqual(argv[argv.index("-cpu") + 1], "rv64,sstc=off")
        self.assertEqual(argv[argv.index("-icount") + 1], "shift=0")
        self.assertIn(f"loader,file={self.fw},addr=0x80200000", argv)
        self.assertEqual(argv[argv.index("-s"):], ["-s", "-d", "guest_errors", "-S", "-no-reboot"])

    def test_sifive_u(self):
        # QEMU sifive_u: 5 harts by default, the SiFive UART's console name, and
        # reboot as the way out (no poweroff device; -no-reboot makes it an exit).
        argv = self.argv("--machine", "sifive_u", "--firmware", self.fw, "--kernel", self.kernel,
                         "--initrd", self.initrd)
        self.assertEqual(argv[argv.index("-M") + 1], "sifive_u")
        self.assertEqual(argv[argv.index("-smp") + 1], "5")
        self.assertEqual(argv[argv.index("-append") + 1], "console=ttySIF0 vfm.off=reboot")
        self.assertIn("-no-reboot", argv)
        argv = self.argv("--firmware", self.fw, "--kernel", self.kernel, "--initrd", self.initrd)
        self.assertEqual(argv[argv.index("-M") + 1], "virt")
        self.assertEqual(argv[argv.index("-smp") + 1], "1")
        self.assertNotIn("-no-reboot", argv)

    def test_native_uses_the_stub(self):
        argv = self.argv("--native", "--no-kernel", "--firmware", self.fw)
        self.assertEqual(argv[argv.index("-bios") + 1],
                         str(self.tmp / "build-riscv" / "examples" / "stub" / "native-stub.bin"))
        argv = self.argv("--native", "--no-kernel", "--firmware", self.fw, "--toolchain", "clang")
        self.assertEqual(argv[argv.index("-bios") + 1], str(
            self.tmp / "build-riscv-clang" / "examples" / "stub" / "native-stub.bin"))

    def test_policy_build_dirs(self):
        for args, d in [(["--policy", "offload"], "build-riscv-offload"),
                        (["--policy", "sandbox,offload"], "build-riscv-offload-sandbox"),
                        (["--policy", "counters", "--policy", "offload"],
                         "build-riscv-offload-counters"),
                        (["--policy", "offload", "--toolchain", "clang"],
                         "build-riscv-clang-offload")]:
            with self.subTest(args=args):
                argv = self.argv("--no-kernel", "--firmware", self.fw, *args)
                self.assertEqual(argv[argv.index("-bios") + 1], str(
                    self.tmp / d / "examples" / "monitor" / "vfm-monitor.bin"))

    def test_bios_override_and_no_kernel(self):
        bios = self.file("mon.bin")
        argv = self.argv("--no-kernel", "--firmware", self.fw, "--bios", bios)
        self.assertEqual(argv[argv.index("-bios") + 1], str(bios))
        self.assertNotIn("-kernel", argv)
        self.assertNotIn("-initrd", argv)
        self.assertNotIn("-append", argv)

    def test_commas_in_firmware_path_are_escaped(self):
        fw = self.file("a,b.bin")
        argv = self.argv("--no-kernel", "--firmware", fw)
        self.assertIn(f"loader,file={str(fw).replace(',', ',,')},addr=0x80100000", argv)

    def test_exec_appends_the_command_archive(self):
        argv = self.argv("--firmware", self.fw, "--kernel", self.kernel, "--initrd", self.initrd,
                         "--exec", "echo hello")
        initrd = argv[argv.index("-initrd") + 1]
        self.assertTrue(initrd.startswith(str(self.cache / "exec")), initrd)
        with open(initrd, "rb") as f:
            self.assertTrue(f.read().startswith(self.initrd.read_bytes()))

    def test_qemu_binary_override(self):
        self.env["VFM_QEMU"] = "/opt/qemu/bin/qemu-system-riscv64"
        argv = self.argv("--no-kernel", "--firmware", self.fw)
        self.assertEqual(argv[0], "/opt/qemu/bin/qemu-system-riscv64")


@unittest.skipUnless(shutil.which("qemu-system-riscv64"), "needs qemu-system-riscv64")
class ExitStatusTest(DriverTest):
    """The run's exit status is QEMU's, i.e. the virt test finisher's code."""

    def test_finisher_code_passes_through(self):
        img = self.file("finish3.bin", FINISHER_EXIT_3)
        proc = self.vfm("run", "--no-kernel", "--bios", img, "--firmware", img, "--timeout", "60")
        self.assertEqual(proc.returncode, 3, proc.stderr)

    def test_timeout_is_one_line(self):
        # A guest that never ends (jal x0, 0): vfm stops QEMU and says so in
        # one line; QEMU's own "terminating on signal 15" is not passed on.
        loop = self.file("loop.bin", b"\x6f\x00\x00\x00")
        proc = self.vfm("run", "--no-kernel", "--bios", loop, "--firmware", loop, "--timeout", "1")
        self.assertNotEqual(proc.returncode, 0)
        self.assertNotIn("terminating on signal", proc.stderr)
        self.assertEqual(proc.stderr.strip().splitlines(), ["vfm: error: timed out after 1 s: QEMU stopped"],
                         proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
