#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`vfm fetch` with a fake apt-get/apt-cache on PATH: atomic, clean on failure."""

import gzip
import json
import os
import shutil
import subprocess
import sys
import textwrap
import unittest
from pathlib import Path

from vfmtest import DriverTest, make_elf

FAKE_APT = textwrap.dedent("""\
    #!{python}
    # SPDX-License-Identifier: MIT
    # Fake apt-get / apt-cache for the driver's tests (FAKE_APT_MODE picks the behaviour).
    import os, shutil, sys
    tool = os.path.basename(sys.argv[0])
    args, i = [], 1
    while i < len(sys.argv):
        if sys.argv[i] == "-o":
            i += 2
            continue
        if not sys.argv[i].startswith("-"):
            args.append(sys.argv[i])
        i += 1
    mode = os.environ.get("FAKE_APT_MODE", "ok")
    with open(os.environ["FAKE_APT_LOG"], "a") as log:
        log.write(tool + " " + " ".join(sys.argv[1:]) + "\\n")
    if tool == "apt-cache":
        print("linux-image-6.12.9+deb13-riscv64")
        print("linux-image-6.12.10+deb13-riscv64")
        print("linux-image-6.12.10+deb13-riscv64-dbg")
        sys.exit(0)
    if args[0] == "update":
        if mode == "fail-update":
            print("Err:1 http://deb.example/debian trixie InRelease")
            print("E: Failed to fetch http://deb.example/debian/dists/trixie/InRelease  404  Not Found")
            sys.exit(100)
        sys.exit(0)
    if args[0] == "download":
        for pkg in args[1:]:
            src = os.path.join(os.environ["FAKE_APT_DEBS"], pkg + ".deb")
            if mode == "fail-download" and pkg.startswith("linux-image"):
                with open(pkg + "_1_riscv64.deb", "wb") as f:
                    f.write(b"!<arch>\\npartial")
                print("E: Failed to fetch http://deb.example/" + pkg + ".deb  Connection reset")
                sys.exit(100)
            if mode == "garbage":
                with open(pkg + "_1_riscv64.deb", "wb") as f:
                    f.write(b"not a deb")
            else:
                shutil.copy(src, os.getcwd())
        sys.exit(0)
    sys.exit(1)
""")


def build_deb(out: Path, package: str, version: str, files: dict):
    root = out.parent / ("deb-" + package)
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: riscv64\n"
        "Maintainer: vfm tests <vfm@example.org>\nDescription: fake package for tests\n")
    for name, (data, mode) in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.chmod(p, mode)
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(root)


def kernel_image(magic=b"RSC\x05"):
    head = bytearray(64)
    head[0x30:0x38] = b"RISCV\0\0\0"
    head[0x38:0x3C] = magic
    return bytes(head) + b"\0" * 4096


def newc_names(data: bytes):
    """The names in an uncompressed newc archive."""
    names, off = [], 0
    while off + 110 <= len(data) and data[off:off + 6] == b"070701":
        size = int(data[off + 54:off + 62], 16)
        namesize = int(data[off + 94:off + 102], 16)
        name = data[off + 110:off + 110 + namesize - 1].decode()
        if name == "TRAILER!!!":
            break
        names.append(name)
        off += 110 + namesize
        off += -off % 4
        off += size + (-size % 4)
    return names


@unittest.skipUnless(shutil.which("dpkg-deb") and shutil.which("dpkg"), "needs dpkg")
class FetchTest(DriverTest):
    def setUp(self):
        super().setUp()
        self.bin = self.tmp / "fakebin"
        self.bin.mkdir()
        script = FAKE_APT.format(python=sys.executable)
        for tool in ("apt-get", "apt-cache"):
            (self.bin / tool).write_text(script)
            os.chmod(self.bin / tool, 0o755)
        self.debs = self.tmp / "debs"
        self.debs.mkdir()
        self.log = self.tmp / "apt.log"
        self.env.update({"PATH": f"{self.bin}:{self.env.get('PATH', '/usr/bin:/bin')}",
                         "FAKE_APT_DEBS": str(self.debs), "FAKE_APT_LOG": str(self.log),
                         "VFM_DEBIAN_MIRROR": "http://deb.example/debian"})
        self.kernel_pkg = "linux-image-6.12.10+deb13-riscv64"

    def make_debs(self, kernel=None):
        ver = "6.12.10+deb13-riscv64"
        build_deb(self.debs / f"{self.kernel_pkg}.deb", self.kernel_pkg, "6.12.10-1", {
            f"boot/vmlinux-{ver}": (kernel or kernel_image(), 0o644),
            f"boot/config-{ver}": (b"CONFIG_RISCV=y\n", 0o644),
            f"lib/modules/{ver}/modules.dep": (b"", 0o644),
            f"usr/lib/linux-image-{ver}/sifive/board.dtb": (b"\xd0\x0d\xfe\xed" + b"\0" * 36, 0o644)})
        busybox = make_elf([(0x10000, 0x10000, b"\0" * 64, 64)], 0x10000)
        build_deb(self.debs / "busybox-static.deb", "busybox-static", "1:1.37.0-6",
                  {"usr/bin/busybox": (busybox, 0o644)})
        gen = "usr/lib/riscv64-linux-gnu/opensbi/generic"
        build_deb(self.debs / "opensbi.deb", "opensbi", "1.6-1", {
            f"{gen}/fw_dynamic.bin": (b"\x6f\x00\x00\x00" * 8, 0o644),
            f"{gen}/fw_jump.bin": (b"\x6f\x00\x00\x00" * 8, 0o644)})

    def fetch(self, *args, mode="ok"):
        self.env["FAKE_APT_MODE"] = mode
        return self.vfm("fetch", *args)

    def assertOneErrorLine(self, proc, fragment):
        self.assertNotEqual(proc.returncode, 0)
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("vfm: error:")]
        self.assertEqual(len(errors), 1, proc.stderr)
        self.assertIn(fragment, errors[0])

    def assertCacheEmpty(self):
        left = sorted(p.name for p in self.cache.iterdir()) if self.cache.exists() else []
        self.assertEqual(left, [])

    def test_failed_update_leaves_no_cache(self):
        proc = self.fetch(mode="fail-update")
        self.assertOneErrorLine(proc, "404")
        self.assertCacheEmpty()

    def test_failed_download_leaves_no_cache(self):
        self.make_debs()
        proc = self.fetch(mode="fail-download")
        self.assertOneErrorLine(proc, "Connection reset")
        self.assertCacheEmpty()

    def test_garbage_download_leaves_no_cache(self):
        proc = self.fetch(mode="garbage")
        self.assertOneErrorLine(proc, "fetch failed")
        self.assertCacheEmpty()

    def test_bad_kernel_is_rejected(self):
        self.make_debs(kernel=kernel_image(magic=b"XXXX"))
        proc = self.fetch()
        self.assertOneErrorLine(proc, "not a RISC-V Linux Image")
        self.assertCacheEmpty()

    def test_stale_temporary_dirs_are_removed(self):
        (self.cache / ".tmp-fetch-dead").mkdir(parents=True)
        (self.cache / ".tmp-fetch-dead" / "half.deb").write_bytes(b"x")
        proc = self.fetch(mode="fail-update")
        self.assertOneErrorLine(proc, "404")
        self.assertCacheEmpty()

    @unittest.skipUnless(shutil.which("cpio"), "needs cpio")
    def test_successful_fetch(self):
        self.make_debs()
        proc = self.fetch()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        root = self.cache / "debian-trixie"
        self.assertEqual(sorted(p.name for p in self.cache.iterdir()), ["debian-trixie"])
        self.assertEqual((root / "Image").read_bytes(), kernel_image())
        self.assertTrue(os.access(root / "busybox", os.X_OK))
        self.assertTrue((root / "opensbi-1.6" / "fw_dynamic.bin").stat().st_size > 0)
        manifest = json.loads((root / "manifest.json").read_text())
        self.assertEqual(manifest["kernel_package"], self.kernel_pkg)  # newest, not -dbg
        self.assertEqual(manifest["packages"]["opensbi"], "1.6-1")
        self.assertEqual(manifest["mirror"], "http://deb.example/debian")
        self.assertIn("Image", manifest["files"])
        self.assertIn("dtbs/sifive/board.dtb", manifest["files"])  # the boards' device trees
        names = newc_names(gzip.decompress((root / "initramfs.cpio.gz").read_bytes()))
        self.assertIn("init", names)
        self.assertIn("bin/busybox", names)
        self.assertIn("dev", names)
        # the private apt configuration was used
        log = self.log.read_text()
        self.assertIn("Dir::State::status=/dev/null", log)
        self.assertIn("APT::Architecture=riscv64", log)
        self.assertIn(f"download {self.kernel_pkg} busybox-static opensbi", log)

        # Cached: no apt call, even when apt would fail.
        self.log.write_text("")
        proc = self.fetch(mode="fail-update")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.log.read_text(), "")
        proc = self.fetch("--check")
        self.assertEqual(proc.returncode, 0, proc.stderr)

        # A failed refetch keeps the complete cache.
        proc = self.fetch("--force", mode="fail-update")
        self.assertOneErrorLine(proc, "404")
        self.assertEqual(sorted(p.name for p in self.cache.iterdir()), ["debian-trixie"])
        self.assertEqual((root / "Image").read_bytes(), kernel_image())

        # --paths for scripts; --check notices damage.
        proc = self.fetch("--paths")
        self.assertIn(f"kernel={root / 'Image'}", proc.stdout.splitlines())
        (root / "config").write_text("changed")
        proc = self.fetch("--check")
        self.assertOneErrorLine(proc, "config does not match")


if __name__ == "__main__":
    unittest.main(verbosity=2)
