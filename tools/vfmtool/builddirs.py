# SPDX-License-Identifier: MIT
"""`setup`, `build` and `test`: the Meson build dirs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from . import summary as summ
from .common import BuildDir, UsageError, VfmError, info, quote, source_root, standard_build_dirs


def _meson_setup_argv(bd: BuildDir, options, root: Path) -> list[str]:
    argv = ["meson", "setup"]
    if bd.is_configured():
        argv.append("--reconfigure")
    else:
        if bd.cross_file:
            argv += ["--cross-file", str(root / "cross" / bd.cross_file)]
        if bd.native_file:
            argv += ["--native-file", str(root / "cross" / bd.native_file)]
        if bd.buildtype:
            argv.append(f"--buildtype={bd.buildtype}")
    argv += list(bd.options) + list(options or [])
    argv += [str(bd.path), str(root)]
    return argv


def _call(argv, cwd=None, quiet=False, stdout=None) -> int:
    """Runs a tool. quiet: its output goes to stderr, and only when it did
    something or failed (so `run --exec` keeps stdout for the guest).
    stdout: where its output goes otherwise (default: inherited)."""
    if not quiet:
        info("$ " + quote(argv))
    try:
        if not quiet:
            return subprocess.run(argv, cwd=cwd, stdout=stdout).returncode
        proc = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    except FileNotFoundError:
        info(f"{argv[0]} not found (run ./vfm deps)")
        return 127
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0 or "no work to do" not in out:
        info("$ " + quote(argv))
        sys.stderr.write(out)
        sys.stderr.flush()
    return proc.returncode


def configure(bd: BuildDir, options=(), *, force: bool = False, root: Path | None = None,
              quiet: bool = False, stdout=None) -> bool:
    """Configures bd (reconfigures when it exists and force or options are given)."""
    root = root or source_root()
    if bd.is_configured() and not force and not options:
        return True
    return _call(_meson_setup_argv(bd, options, root), cwd=root, quiet=quiet, stdout=stdout) == 0


def ninja(bd: BuildDir, targets=(), quiet: bool = False, stdout=None) -> bool:
    return _call(["ninja", "-C", str(bd.path)] + list(targets), quiet=quiet, stdout=stdout) == 0


def ensure_built(bd: BuildDir, target: str, root: Path | None = None) -> Path:
    """Configures bd if needed and brings one target (a path inside bd) up to
    date; returns its path. Tool output goes to stderr."""
    out = bd.path / target
    if not configure(bd, root=root, quiet=True):
        raise VfmError(f"configuring {bd.path} failed")
    if not ninja(bd, [target], quiet=True):
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
    chosen = set()
    for w in wanted:
        found = [i for i, d in enumerate(dirs) if w == d.name or w in d.aliases]
        if not found:
            names = [d.aliases[0] for d in dirs if d.aliases] + [d.name for d in dirs]
            raise UsageError(f"unknown build dir '{w}' for --only (choose from {', '.join(names)})")
        chosen.update(found)
    return [d for i, d in enumerate(dirs) if i in chosen]


def meson_test_argv(bd: BuildDir, meson_args) -> list[str]:
    """`meson test` for one dir: the dir's own suites unless meson_args choose some."""
    argv = ["meson", "test", "-C", str(bd.path), "--print-errorlogs"]
    chooses = any(a == "--suite" or a.startswith("--suite=") for a in meson_args)
    if bd.suites and not chooses:
        argv += [f"--suite={s}" for s in bd.suites]
    return argv + list(meson_args)


def cmd_test(meson_args, options=(), only=(), run_deps=True, stress=None, load=None) -> int:
    """deps, setup, build and meson test in each dir; prints the summary.
    With `stress` (a number of rounds): stress.py."""
    if stress is not None:
        return _cmd_stress(stress, meson_args, options, only, run_deps, load)
    dirs = select_dirs(only)
    all_dirs = standard_build_dirs()
    names = [d.name for d in dirs]
    # Only this run's results count: meson rewrites testlog.json, but a dir
    # that fails before `meson test` would keep an old one. Until this run
    # finishes, `summary` sees it as unfinished (a failure).
    for bd in dirs:
        try:
            (bd.path / "meson-logs" / "testlog.json").unlink()
        except FileNotFoundError:
            pass
    _status(all_dirs[0], names, [{"dir": "", "step": "vfm test (unfinished)", "ok": False}])
    if run_deps:
        from . import deps
        try:
            deps.cmd_deps()
        except VfmError:
            _status(all_dirs[0], names, [{"dir": "", "step": "deps", "ok": False}])
            raise
    steps = []
    for bd in dirs:
        info(f"=== {bd.name} ===")
        if not configure(bd, options):
            steps.append({"dir": bd.name, "step": "configure", "ok": False})
            continue
        if not ninja(bd):
            steps.append({"dir": bd.name, "step": "build", "ok": False})
            continue
        rc = _call(meson_test_argv(bd, meson_args))
        counts = summ.read_testlog(bd.path)
        if rc != 0 and (counts is None or counts.failed == 0):
            # meson test failed without a failed test to show for it.
            steps.append({"dir": bd.name, "step": "meson test", "ok": False})
    _status(all_dirs[0], names, steps)
    lines, total = summ.summarize([d.path for d in dirs], steps)
    _print_summary(lines, total)
    return 1 if total.failed else 0


def _cmd_stress(rounds, meson_args, options, only, run_deps, load) -> int:
    """deps, setup and build of the cross dirs (or --only's), then the rounds.
    The normal results (testlog.json, the status file) are left alone."""
    from . import stress
    dirs = select_dirs(only or stress.DEFAULT_DIRS)
    if run_deps:
        from . import deps
        deps.cmd_deps()
    failed = []
    for bd in dirs:
        info(f"=== {bd.name} ===")
        # The tools' output goes to stderr: stdout carries the rounds' results.
        if not configure(bd, options, stdout=sys.stderr.fileno()):
            failed.append(f"CONFIGURE FAILED {bd.name}")
        elif not ninja(bd, stdout=sys.stderr.fileno()):
            failed.append(f"BUILD FAILED {bd.name}")
    if failed:
        print("vfm: stress: not run, the build failed", flush=True)
        for f in failed:
            print(f"  {f}")
        print(summ.Counts(failed=len(failed)).line(), flush=True)
        return 1
    return stress.cmd_stress(rounds, dirs, meson_args, load)


def _status(native: BuildDir, names, steps) -> None:
    try:
        summ.write_status(native.path, names, steps)
    except OSError:
        pass


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
