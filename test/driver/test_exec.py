#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`vfm run --exec` against a fake QEMU: output, status, timeouts; the exec archive."""

import gzip
import os
import sys
import textwrap
import unittest

from vfmtest import DriverTest

from test_fetch import newc_names
from vfmtool import initramfs

FAKE_QEMU = textwrap.dedent("""\
    #!{python}
    # SPDX-License-Identifier: MIT
    # Fake qemu-system-riscv64: "runs" the command found in the initrd by printing it.
    import gzip, os, sys, time
    argv = sys.argv[1:]
    mode = os.environ.get("FAKE_QEMU_MODE", "ok")
    out = sys.stdout.buffer
    def say(b):
        out.write(b)
        out.flush()
    data = gzip.decompress(open(argv[argv.index("-initrd") + 1], "rb").read())
    script = data[data.index(b"vfm/exec.sh\\0"):]
    script = script[script.index(b"#CMD"):]
    script = script[:script.index(b"\\n")]
    say(b"OpenSBI v1.1\\r\\n[    0.000000] Linux version 6.12\\r\\n")
    say(b"vfm: user space reached\\r\\n")
    if mode == "die":
        sys.exit(1)
    say(b"vfm: exec begin\\r\\n")
    if mode == "hang":
        time.sleep(60)
    say(script + b"\\r\\nsecond line\\r\\nno newline")
    say(b"vfm: exec done status=" + os.environ.get("FAKE_STATUS", "0").encode() + b"\\r\\n")
    say(b"[    2.000000] reboot: Power down\\r\\n")
    sys.exit(int(os.environ.get("FAKE_QEMU_EXIT", "0")))
""")


class ExecTest(DriverTest):
    def setUp(self):
        super().setUp()
        q = self.tmp / "fake-qemu"
        q.write_text(FAKE_QEMU.format(python=sys.executable))
        os.chmod(q, 0o755)
        self.env["VFM_QEMU"] = str(q)
        self.initrd = self.file("initrd.gz", gzip.compress(initramfs.newc_archive({"init": b"x"})))
        self.base = ["run", "--bios", self.file("m.bin"), "--firmware", self.file("fw.bin"),
                     "--kernel", self.file("Image"), "--initrd", self.initrd]

    def run_exec(self, *args, mode="ok", status="0"):
        self.env["FAKE_QEMU_MODE"] = mode
        self.env["FAKE_STATUS"] = status
        return self.vfm(*self.base, *args)

    def test_output_and_status(self):
        proc = self.run_exec("--exec", "#CMD hello 'world'", status="0")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "#CMD hello 'world'\nsecond line\nno newline\n")
        self.assertEqual(proc.stderr, "")

    def test_command_status_is_the_exit_status(self):
        proc = self.run_exec("--exec", "#CMD false", status="7")
        self.assertEqual(proc.returncode, 7, proc.stderr)

    def test_verbose_shows_the_console(self):
        proc = self.run_exec("--exec", "#CMD x", "--verbose")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("OpenSBI v1.1\n", proc.stdout)
        self.assertIn("vfm: exec done status=0\n", proc.stdout)

    def test_log_file(self):
        log = self.tmp / "console.log"
        proc = self.run_exec("--exec", "#CMD x", "--log", log)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("vfm: user space reached\n", log.read_text())

    def test_timeout(self):
        proc = self.run_exec("--exec", "#CMD x", "--timeout", "1.5", mode="hang")
        self.assertEqual(proc.returncode, 124)
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("vfm: error:")]
        self.assertEqual(len(errors), 1, proc.stderr)
        self.assertIn("timed out after 1.5 s", errors[0])

    def test_no_status_reported(self):
        proc = self.run_exec("--exec", "#CMD x", mode="die")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stderr.splitlines()[-1],
                         "vfm: error: QEMU exited (status 1) after user space was reached "
                         "without the command's status")

    def test_qemu_failure_after_status_warns(self):
        self.env["FAKE_QEMU_EXIT"] = "3"
        proc = self.run_exec("--exec", "#CMD x")
        self.assertEqual(proc.returncode, 0)
        self.assertIn("vfm: warning: QEMU exited with status 3", proc.stderr)

    def test_without_exec_the_exit_status_is_qemus(self):
        self.env["FAKE_QEMU_EXIT"] = "5"
        initrd = self.file("initrd2.gz", gzip.compress(
            initramfs.newc_archive({"vfm/exec.sh": b"#CMD preset\n"})))
        base = list(self.base)
        base[base.index(self.initrd)] = initrd
        proc = self.vfm(*base, "--timeout", "30")
        self.assertEqual(proc.returncode, 5, proc.stderr)
        self.assertIn("#CMD preset", proc.stdout)

    def test_api(self):
        from unittest import mock
        from vfmtool import api
        env = {k: v for k, v in self.env.items() if k.startswith(("VFM_", "FAKE_"))}
        env.update(FAKE_QEMU_MODE="ok", FAKE_STATUS="0")
        with mock.patch.dict(os.environ, env):
            self._test_api(api)

    def _test_api(self, api):
        r = api.boot(exec_cmd="#CMD from api", bios=str(self.file("m.bin")),
                     firmware=str(self.file("fw.bin")), kernel=str(self.file("Image")),
                     initrd=str(self.initrd), timeout=30)
        self.assertTrue(r.ok)
        self.assertTrue(r.user_space)
        self.assertEqual(r.status, 0)
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.output.startswith("#CMD from api\n"))
        argv = api.command(no_kernel=True, bios=str(self.file("m.bin")),
                           firmware=str(self.file("fw.bin")), smp=2)
        self.assertEqual(argv[argv.index("-smp") + 1], "2")


class ArchiveTest(unittest.TestCase):
    def test_exec_archive(self):
        blob = gzip.decompress(initramfs.exec_archive("echo 'hi'\nls /"))
        self.assertEqual(newc_names(blob), ["vfm", "vfm/exec.sh"])
        self.assertIn(b"echo 'hi'\nls /\n", blob)
        self.assertEqual(len(blob) % 4, 0)

    def test_encode_exec_arg(self):
        import base64
        arg = initramfs.encode_exec_arg("uname -a")
        self.assertTrue(arg.startswith("vfm.exec="))
        self.assertEqual(base64.b64decode(arg[len("vfm.exec="):]), b"uname -a")

    def test_init_script_contract(self):
        text = initramfs.init_script_bytes().decode()
        self.assertTrue(text.startswith("#!/bin/busybox sh\n# SPDX-License-Identifier: MIT\n"))
        for needle in ('echo "vfm: user space reached"', 'echo "vfm: exec begin"',
                       'echo "vfm: exec done status=$status"', "/vfm/exec.sh", "vfm.exec=",
                       "poweroff -f", "mount -t devtmpfs", "mount -t proc", "mount -t sysfs",
                       "cttyhack"):
            self.assertIn(needle, text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
