# SPDX-License-Identifier: MIT
"""`deps`: installs the Debian 12 packages the project needs."""

from __future__ import annotations

import os
import shutil
import subprocess

from .common import VfmError, info, quote

PACKAGES = [
    "meson",
    "ninja-build",
    "cmake",  # Meson finds Catch2 through its CMake config; the CMake consumer test (test/consumer)
    "pkgconf",  # fmt for Meson; the pkg-config consumer test (test/consumer)
    "g++",  # the native build dirs; with libasan8, libubsan1 for build-asan
    "gcc-riscv64-unknown-elf",
    "clang-14",
    "clang-format-14",  # test style/format (docs/style.md)
    "clang-tidy-14",  # .clang-tidy (docs/style.md; not run by ./vfm test)
    "libclang-rt-14-dev",  # build-asan-clang: clang's sanitizer runtimes (only recommended by clang-14)
    "lld-14",
    "llvm-14",
    "qemu-system-misc",
    "device-tree-compiler",
    "opensbi",
    "u-boot-qemu",
    "catch2",
    "libfmt-dev",
    "cpio",
    "picolibc-riscv64-unknown-elf",
    "python3",
    "ca-certificates",
]


def missing_packages(packages=PACKAGES) -> list[str]:
    """The packages dpkg does not report as 'install ok installed'."""
    if not shutil.which("dpkg-query"):
        raise VfmError("dpkg-query not found: `vfm deps` needs Debian 12; install by hand: "
                       + " ".join(packages))
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Status}\\n"] + list(packages),
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    installed = set()
    for line in proc.stdout.splitlines():
        name, _, status = line.partition(" ")
        if status.strip() == "install ok installed":
            installed.add(name.split(":")[0])
    return [p for p in packages if p not in installed]


def install_commands(missing) -> list[list[str]]:
    return [
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends"] + list(missing),
    ]


def cmd_deps(check_only: bool = False) -> int:
    missing = missing_packages()
    if not missing:
        info("all packages are installed")
        return 0
    info("missing packages: " + " ".join(missing))
    cmds = install_commands(missing)
    if check_only:
        raise VfmError("missing packages: " + " ".join(missing))
    if os.geteuid() == 0:
        prefix = []
    elif shutil.which("sudo"):
        prefix = ["sudo"]
    else:
        raise VfmError("missing packages; as root run: "
                       + " && ".join("DEBIAN_FRONTEND=noninteractive " + quote(c) for c in cmds))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for c in cmds:
        argv = prefix + (["env", "DEBIAN_FRONTEND=noninteractive"] if prefix else []) + c
        info("$ " + quote(argv))
        rc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL).returncode
        if rc != 0:
            raise VfmError(f"`{quote(argv)}` failed with exit status {rc}")
    still = missing_packages()
    if still:
        raise VfmError("still missing after apt-get install: " + " ".join(still))
    return 0
