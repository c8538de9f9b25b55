# SPDX-License-Identifier: MIT
"""Test summaries from Meson's meson-logs/testlog.json (one JSON object a line)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

PASSED = {"OK", "EXPECTEDFAIL"}
FAILED = {"FAIL", "UNEXPECTEDPASS", "TIMEOUT", "ERROR"}
SKIPPED = {"SKIP"}

# Written by `vfm test` into the native build dir: the steps (configure,
# build, meson test) that failed in the last run, which testlog.json cannot show.
STATUS_FILE = "vfm-test-status.json"

SUMMARY_RE = re.compile(r"^(?:\w+: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$")


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)  # names of failed tests or steps

    def add(self, other: "Counts") -> None:
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.failures.extend(other.failures)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped

    def line(self) -> str:
        text = f"{self.passed} passed, {self.failed} failed"
        if self.skipped:
            text += f", {self.skipped} skipped"
        return text


def parse_testlog(text: str, where: str = "") -> Counts:
    """Counts the results in the text of a testlog.json.

    Unknown result values count as failures so nothing goes unnoticed;
    lines that are not JSON objects are ignored (a truncated last line).
    """
    counts = Counts()
    for raw in text.splitlines():
        raw = raw.strip()
        if not raw:
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(entry, dict) or "result" not in entry:
            continue
        result = str(entry.get("result", "")).upper()
        name = str(entry.get("name", "?"))
        if result in PASSED:
            counts.passed += 1
        elif result in SKIPPED:
            counts.skipped += 1
        else:
            counts.failed += 1
            counts.failures.append(f"{result} {where + ': ' if where else ''}{name}")
    return counts


def read_testlog(build_dir: Path) -> Counts | None:
    """The counts of a build dir's last `meson test`, or None if there is none."""
    path = Path(build_dir) / "meson-logs" / "testlog.json"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return parse_testlog(text, Path(build_dir).name)


def write_status(native_dir: Path, dirs: list[str], steps: list[dict]) -> None:
    """Records which dirs a `vfm test` ran and its failed steps
    ({'dir': name, 'step': what, 'ok': bool})."""
    native_dir = Path(native_dir)
    native_dir.mkdir(parents=True, exist_ok=True)
    tmp = native_dir / (STATUS_FILE + ".tmp")
    tmp.write_text(json.dumps({"dirs": list(dirs), "steps": steps}, indent=1) + "\n",
                   encoding="utf-8")
    tmp.replace(native_dir / STATUS_FILE)


def read_status(native_dir: Path) -> tuple[list[str] | None, list[dict]]:
    """(dir names of the last `vfm test`, or None when unknown; its failed steps)."""
    try:
        data = json.loads((Path(native_dir) / STATUS_FILE).read_text(encoding="utf-8"))
        steps = [s for s in data.get("steps", []) if isinstance(s, dict)]
        dirs = data.get("dirs")
        if not isinstance(dirs, list):
            dirs = None
        return dirs, steps
    except (OSError, ValueError, AttributeError):
        return None, []


def summarize(build_dirs, steps=None) -> tuple[list[str], Counts]:
    """Per-dir lines and the total over build dirs.

    steps: failed steps of the run ({'dir', 'step', 'ok'}); each failed step
    counts as one failure. A dir whose step failed has no test results.
    """
    steps = steps or []
    lines = []
    total = Counts()
    width = max([len(Path(d).name) for d in build_dirs] + [4])
    for d in build_dirs:
        name = Path(d).name
        dir_steps = [s for s in steps if s.get("dir") == name and not s.get("ok", False)]
        counts = read_testlog(d) or Counts()
        for s in dir_steps:
            counts.failed += 1
            counts.failures.append(f"{str(s.get('step', 'step')).upper()} FAILED {name}")
        if dir_steps:
            note = "; ".join(f"{s.get('step')} failed" for s in dir_steps)
            text = f"{counts.line()} ({note})"
        elif counts.total == 0:
            text = "no test results"
        else:
            text = counts.line()
        lines.append(f"  {name:<{width}}  {text}")
        total.add(counts)
    # Steps of no particular dir (installing packages; a run that never finished).
    for s in steps:
        if not s.get("dir") and not s.get("ok", False):
            total.failed += 1
            total.failures.append(f"{str(s.get('step', 'step')).upper()} FAILED")
            lines.append(f"  {str(s.get('step', 'step'))} failed")
    return lines, total


def parse_summary_line(line: str) -> Counts | None:
    """Inverse of Counts.line(), for scripts."""
    m = SUMMARY_RE.match(line.strip())
    if not m:
        return None
    return Counts(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
