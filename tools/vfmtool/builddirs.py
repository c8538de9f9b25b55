# SPDX-License-Identifier: MIT
"""`setup`, `build` and `test`: the Meson build dirs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from . import summary as summ
from .common import BuildDir, VfmError, info, quote, source_root, standard_build_dirs


def _meson_setup_argv(bd: BuildDir, options, root: Path) -> list[str]:
    argv = ["meson", "setup"]
    if bd.is_configured():
        argv.append("--reconfigure")
    else:
        if bd.cross_file:
            argv += ["--cross-file", str(root / "cross" / bd.cross_file)]
        if bd.buildtype:
            argv.append(f"--buildtype={bd.buildtype}")
    argv += list(bd.options) + list(options or [])
    argv += [str(bd.path), str(root)]
    return argv


def _call(argv, cwd=None) -> int:
    info("$ " + quote(argv))
    try:
        return subprocess.run(argv, cwd=cwd).returncode
    except FileNotFoundError:
        info(f"{argv[0]} not found (run ./vfm deps)")
        return 127


def configure(bd: BuildDir, options=(), *, force: bool = False, root: Path | None = None) -> bool:
    """Configures bd (reconfigures when it exists and force or options are given)."""
    root = root or source_root()
    if bd.is_configured() and not force and not options:
        return True
    return _call(_meson_setup_argv(bd, options, root), cwd=root) == 0


def ninja(bd: BuildDir, targets=()) -> bool:
    return _call(["ninja", "-C", str(bd.path)] + list(targets)) == 0


def ensure_built(bd: BuildDir, target: str, root: Path | None = None) -> Path:
    """Configures bd if needed and builds one target (a path inside bd); returns its path."""
    out = bd.path / target
    if not configure(bd, root=root):
        raise VfmError(f"configuring {bd.path} failed")
    if not ninja(bd, [target]):
        if out.is_file():
            raise VfmError(f"building {target} in {bd.path} failed")
        raise VfmError(f"{out} does not exist and `ninja -C {bd.path} {target}` failed "
                       "(is the target defined yet?)")
    if not out.is_file():
        raise VfmError(f"{out} still does not exist after building it")
    return out


def cmd_setup(options) -> int:
    failed = [bd.name for bd in standard_build_dirs() if not configure(bd, options, force=True)]
    if failed:
        raise VfmError("configuring failed: " + ", ".join(failed))
    return 0


def cmd_build(options=()) -> int:
    failed = []
    for bd in standard_build_dirs():
        if not configure(bd, options):
            failed.append(f"{bd.name} (configure)")
        elif not ninja(bd):
            failed.append(f"{bd.name} (build)")
    if failed:
        raise VfmError("build failed: " + ", ".join(failed))
    return 0


def select_dirs(only) -> list[BuildDir]:
    dirs = standard_build_dirs()
    if not only:
        return dirs
    wanted = set()
    for item in only:
        wanted.update(x.strip() for x in item.split(",") if x.strip())
    aliases = {"native": 0, "riscv": 1, "gcc": 1, "clang": 2, "riscv-clang": 2}
    chosen = set()
    for w in wanted:
        if w in aliases:
            chosen.add(aliases[w])
            continue
        names = [d.name for d in dirs]
        if w in names:
            chosen.add(names.index(w))
            continue
        from .common import UsageError
        raise UsageError(f"unknown build dir '{w}' for --only (native, riscv, clang or {', '.join(names)})")
    return [d for i, d in enumerate(dirs) if i in chosen]


def cmd_test(meson_args, options=(), only=(), run_deps=True) -> int:
    """deps, setup, build and meson test in each dir; prints the summary."""
    if run_deps:
        from . import deps
        deps.cmd_deps()
    dirs = select_dirs(only)
    all_dirs = standard_build_dirs()
    steps = []
    for bd in dirs:
        # Only this run's results count: meson rewrites testlog.json, but a
        # dir that fails before `meson test` would keep an old one.
        log = bd.path / "meson-logs" / "testlog.json"
        try:
            log.unlink()
        except FileNotFoundError:
            pass
        info(f"=== {bd.name} ===")
        if not configure(bd, options):
            steps.append({"dir": bd.name, "step": "configure", "ok": False})
            continue
        if not ninja(bd):
            steps.append({"dir": bd.name, "step": "build", "ok": False})
            continue
        rc = _call(["meson", "test", "-C", str(bd.path), "--print-errorlogs"] + list(meson_args))
        counts = summ.read_testlog(bd.path)
        if rc != 0 and (counts is None or counts.failed == 0):
            # meson test failed without a failed test to show for it.
            steps.append({"dir": bd.name, "step": "meson test", "ok": False})
    try:
        summ.write_status(all_dirs[0].path, [d.name for d in dirs], steps)
    except OSError:
        pass
    lines, total = summ.summarize([d.path for d in dirs], steps)
    _print_summary(lines, total)
    return 1 if total.failed else 0


def _print_summary(lines, total) -> None:
    print("vfm: test summary", flush=True)
    for line in lines:
        print(line)
    for f in total.failures:
        print(f"  {f}")
    print(total.line(), flush=True)


def cmd_summary(quiet: bool = False) -> int:
    dirs = standard_build_dirs()
    ran, steps = summ.read_status(dirs[0].path)
    if ran is not None:
        dirs = [d for d in dirs if d.name in ran]
    lines, total = summ.summarize([d.path for d in dirs], steps)
    if quiet:
        print(total.line(), flush=True)
    else:
        _print_summary(lines, total)
    return 1 if total.failed else 0
