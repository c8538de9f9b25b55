# SPDX-License-Identifier: MIT
"""Shared pieces of the vfm driver: errors, messages, paths, build dirs."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Exit statuses of the driver itself (QEMU's own status passes through `run`).
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 124


class VfmError(Exception):
    """An error the driver reports as one `vfm: error: ...` line."""

    def __init__(self, message: str, status: int = EXIT_FAILURE):
        super().__init__(message)
        self.status = status


class UsageError(VfmError):
    """Bad option, bad value, missing or malformed input file: exit status 2."""

    def __init__(self, message: str):
        super().__init__(message, EXIT_USAGE)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def error(message: str) -> None:
    print(f"vfm: error: {_one_line(message)}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    print(f"vfm: warning: {_one_line(message)}", file=sys.stderr, flush=True)


def info(message: str) -> None:
    """Progress messages go to stderr so stdout stays the guest's output."""
    print(f"vfm: {message}", file=sys.stderr, flush=True)


def quote(argv) -> str:
    return " ".join(shlex.quote(str(a)) for a in argv)


def run_cmd(argv, *, cwd=None, env=None, echo=True, check=True, **kw):
    """Runs a command with inherited stdio, printing it first."""
    if echo:
        info("$ " + quote(argv))
    try:
        proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, **kw)
    except FileNotFoundError:
        raise VfmError(f"command not found: {argv[0]} (run ./vfm deps)")
    if check and proc.returncode != 0:
        raise VfmError(f"command failed with exit status {proc.returncode}: {quote(argv)}")
    return proc


# --------------------------------------------------------------------------
# Paths

POLICIES = ("offload", "sandbox", "counters")
TOOLCHAINS = {"gcc": "riscv64-gcc.ini", "clang": "riscv64-clang.ini"}

MONITOR_IMAGE = "examples/monitor/vfm-monitor.bin"
NATIVE_STUB_IMAGE = "examples/stub/native-stub.bin"


def source_root() -> Path:
    """The vfm source tree: $VFM_SOURCE_ROOT, else the tree holding tools/."""
    env = os.environ.get("VFM_SOURCE_ROOT")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[2]


def build_prefix(root: Path | None = None) -> Path:
    """Path prefix of the build dirs: $VFM_BUILD_PREFIX, else <source>/build.

    The build dirs are <prefix>, <prefix>-riscv, <prefix>-riscv-clang,
    <prefix>-asan, <prefix>-asan-clang, <prefix>-fuzz and, for monitors with policies,
    <prefix>-riscv[-clang]-<policy>[-<policy>].
    A relative prefix is taken relative to the source root.
    """
    root = root or source_root()
    env = os.environ.get("VFM_BUILD_PREFIX")
    if env:
        p = Path(env)
        return (p if p.is_absolute() else root / p).resolve()
    return root / "build"


def cache_root() -> Path:
    """Where fetched artifacts live: $VFM_CACHE, else $XDG_CACHE_HOME/vfm or ~/.cache/vfm."""
    env = os.environ.get("VFM_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return (base / "vfm").resolve()


@dataclass
class BuildDir:
    """One Meson build dir the driver manages."""

    path: Path
    cross_file: str | None = None  # file name under cross/
    buildtype: str | None = None
    options: list[str] = field(default_factory=list)  # fixed -D options
    native_file: str | None = None  # file name under cross/
    # The Meson suites `vfm test` runs here unless given --suite (empty: all tests).
    suites: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other names for `vfm test --only`

    @property
    def name(self) -> str:
        return self.path.name

    def is_configured(self) -> bool:
        return (self.path / "meson-private" / "coredata.dat").is_file()


# The sanitizer dirs: the unit tests (suite `unit`) under ASan + UBSan. The
# other host tiers run no code of the dir's own compiler (docs/driver.md).
SANITIZE_OPTIONS = ["-Db_sanitize=address,undefined"]


# The fuzz dir: only the libFuzzer targets of test/fuzz (clang-14, their own
# -fsanitize=fuzzer,address,undefined); `vfm test` runs their smoke run
# (suite `fuzz`), `vfm fuzz` the real thing (docs/fuzzing.md).
FUZZ_OPTIONS = ["-Dfuzz=true"]


def standard_build_dirs(root: Path | None = None) -> list[BuildDir]:
    """The six build dirs `setup`, `build` and `test` handle, in order."""
    prefix = build_prefix(root)
    return [
        BuildDir(prefix, aliases=("native",)),
        BuildDir(Path(f"{prefix}-riscv"), TOOLCHAINS["gcc"], "minsize", aliases=("riscv", "gcc")),
        BuildDir(Path(f"{prefix}-riscv-clang"), TOOLCHAINS["clang"], "minsize",
                 aliases=("clang", "riscv-clang")),
        BuildDir(Path(f"{prefix}-asan"), options=list(SANITIZE_OPTIONS), suites=("unit",),
                 aliases=("asan", "asan-gcc")),
        BuildDir(Path(f"{prefix}-asan-clang"), options=list(SANITIZE_OPTIONS),
                 native_file="native-clang-14.ini", suites=("unit",), aliases=("asan-clang",)),
        BuildDir(Path(f"{prefix}-fuzz"), buildtype="debugoptimized", options=list(FUZZ_OPTIONS),
                 native_file="native-clang-14.ini", suites=("fuzz",), aliases=("fuzz",)),
    ]


def normalize_policies(names) -> tuple[str, ...]:
    """'sandbox,offload' or ['offload', 'sandbox'] -> ('offload', 'sandbox')."""
    chosen = set()
    for item in names or ():
        for name in str(item).split(","):
            name = name.strip()
            if not name:
                continue
            if name not in POLICIES:
                raise UsageError(f"unknown policy '{name}' (choose from {', '.join(POLICIES)})")
            chosen.add(name)
    return tuple(p for p in POLICIES if p in chosen)


def normalize_given(names) -> tuple[str, ...]:
    """--give-firmware values: device-tree node names ('fw-cfg', 'virtio_mmio@10001000')."""
    chosen = []
    for item in names or ():
        for name in str(item).split(","):
            name = name.strip()
            if not name:
                continue
            if not re.fullmatch(r"[A-Za-z0-9,._+-]+(@[0-9a-fA-F]+)?", name):
                raise UsageError(f"'{name}' is not a device-tree node name (e.g. fw-cfg or virtio_mmio@10001000)")
            if name not in chosen:
                chosen.append(name)
    return tuple(sorted(chosen))


def monitor_build_dir(toolchain: str = "gcc", policies=(), root: Path | None = None, given=()) -> BuildDir:
    """The cross build dir holding the monitor for a toolchain, a policy set and
    the bus masters handed to the firmware (--give-firmware)."""
    if toolchain not in TOOLCHAINS:
        raise UsageError(f"unknown toolchain '{toolchain}' (choose from {', '.join(TOOLCHAINS)})")
    policies = normalize_policies(policies)
    given = normalize_given(given)
    prefix = build_prefix(root)
    name = f"{prefix}-riscv" + ("" if toolchain == "gcc" else "-clang")
    options = []
    if policies:
        name += "-" + "-".join(policies)
        options.append(f"-Dpolicies={','.join(policies)}")
    if given:
        name += "-given-" + "-".join(re.sub(r"[^A-Za-z0-9_-]", "_", g) for g in given)
        options.append(f"-Dfirmware_bus_masters={','.join(given)}")
    return BuildDir(Path(name), TOOLCHAINS[toolchain], "minsize", options)
