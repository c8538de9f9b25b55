# SPDX-License-Identifier: MIT
"""The driver as a library, for test scripts.

    import sys; sys.path.insert(0, "<source>/tools")
    from vfmtool import api

    r = api.boot(exec_cmd="cat /proc/cpuinfo", firmware="opensbi-1.6", smp=2)
    assert r.ok and "hart" in r.output           # r.status: the command's exit status

    r = api.boot(no_kernel=True, firmware="build-riscv/examples/firmware/x.bin",
                 bios="build-riscv/examples/monitor/vfm-monitor.bin", timeout=30)
    r.returncode                                  # QEMU's: the test finisher's code

    argv = api.command(native=True, exec_cmd="true")   # the QEMU command line only

Keyword arguments are the fields of vfmtool.qemu.RunOptions. Errors raise
vfmtool.common.VfmError (UsageError for bad arguments or images).
"""

from __future__ import annotations

from pathlib import Path

from . import fetch as _fetch
from .common import VfmError, UsageError  # noqa: F401 (re-exported)
from .qemu import DEFAULT_EXEC_TIMEOUT, BootResult, RunOptions, prepare, run_captured

USER_SPACE_MARKER = "vfm: user space reached"


def _options(kw) -> RunOptions:
    if "policies" in kw and isinstance(kw["policies"], str):
        kw["policies"] = (kw["policies"],)
    try:
        return RunOptions(**kw)
    except TypeError as e:
        raise UsageError(str(e))


def command(*, cache: Path | None = None, **kw) -> list[str]:
    """The QEMU command line for these options (nothing built or fetched)."""
    return prepare(_options(kw), dry_run=True, cache=cache).argv


def boot(*, echo=None, cache: Path | None = None, **kw) -> BootResult:
    """Runs QEMU non-interactively (stdin closed) and returns what it saw.

    Builds the monitor and fetches the Debian artifacts when needed.
    With exec_cmd, stops at the command's status (timeout default 300 s);
    otherwise runs until QEMU exits or `timeout` (default: none) passes.
    echo: callable(str) receiving the output as it arrives (e.g. sys.stdout.write).
    """
    opts = _options(kw)
    p = prepare(opts, cache=cache)
    timeout = opts.timeout
    if timeout is None and opts.exec_cmd is not None:
        timeout = DEFAULT_EXEC_TIMEOUT
    return run_captured(p.argv, timeout=timeout, exec_mode=opts.exec_cmd is not None,
                        echo=echo, verbose=opts.verbose, log=opts.log)


def artifacts(cache: Path | None = None) -> _fetch.Artifacts:
    """The Debian trixie artifacts (fetched if needed): .kernel, .initramfs,
    .busybox, .fw_dynamic (OpenSBI 1.6), .kernel_version."""
    return _fetch.ensure(cache)
