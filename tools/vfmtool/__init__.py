# SPDX-License-Identifier: MIT
"""vfm's driver (./vfm) as Python modules: see vfmtool.api for use from scripts."""

__all__ = ["api", "bench", "builddirs", "cli", "common", "deps", "elf", "fetch",
           "initramfs", "qemu", "summary"]
