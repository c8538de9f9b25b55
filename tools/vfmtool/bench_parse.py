# SPDX-License-Identifier: MIT
"""Pure helpers of `vfm bench` (no QEMU): parsing what the benchmark images
and the monitor print, the section sizes of an ELF image, number formatting
and the plain-text tables."""

from __future__ import annotations

import re
import struct

from . import elf

# "<name> <decimal>" lines printed by the benchmark images (csr-cost, sbi-payload).
RESULT_RE = re.compile(r"^([a-z][a-z0-9-]*) ([0-9]+)\s*$")
# The counters policy, at shutdown.
STACK_RE = re.compile(r"^vfm: stack hart ([0-9]+): ([0-9]+) bytes\s*$")
EXIT_CAUSE_RE = re.compile(r"^vfm: exits hart ([0-9]+) (exception|interrupt) (.+?): ([0-9]+)\s*$")
EXIT_PATH_RE = re.compile(r"^vfm: exits hart ([0-9]+) path (.+?): ([0-9]+)\s*$")
# /vfm/rdtime in the guest.
TIME_RE = re.compile(r"^time ([0-9]+)\s*$")
# The counters policy, at shutdown, when the hart's PMP slots are a cache (docs/pmp.md).
PMP_MISSES_RE = re.compile(r"^vfm: pmp hart ([0-9]+) misses resolved: ([0-9]+) "
                           r"\(monitor instructions: ([0-9]+) over ([0-9]+)\)\s*$")


def _lines(text: str):
    for line in text.replace("\r", "\n").split("\n"):
        yield line.strip()


def results(console: str) -> dict[str, int]:
    """{name: value} of the `<name> <number>` lines (the last one of a name wins)."""
    out = {}
    for line in _lines(console):
        m = RESULT_RE.match(line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def stack_lines(console: str) -> dict[int, int]:
    """{hart: deepest stack use in bytes} from `vfm: stack hart <n>: <bytes> bytes`."""
    out = {}
    for line in _lines(console):
        m = STACK_RE.match(line)
        if m:
            out[int(m.group(1))] = int(m.group(2))
    return out


def exit_lines(console: str) -> dict:
    """The counters policy's exit lines:
    {"causes": {(kind, cause): {hart: count}}, "paths": {path: {hart: count}}}."""
    causes: dict = {}
    paths: dict = {}
    for line in _lines(console):
        m = EXIT_CAUSE_RE.match(line)
        if m:
            causes.setdefault((m.group(2), m.group(3)), {})[int(m.group(1))] = int(m.group(4))
            continue
        m = EXIT_PATH_RE.match(line)
        if m:
            paths.setdefault(m.group(2), {})[int(m.group(1))] = int(m.group(3))
    return {"causes": causes, "paths": paths}


def pmp_miss_lines(console: str) -> dict[int, tuple[int, int, int]]:
    """{hart: (misses resolved, monitor instructions on the miss path of the
    measured ones, misses measured)}."""
    out = {}
    for line in _lines(console):
        m = PMP_MISSES_RE.match(line)
        if m:
            out[int(m.group(1))] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
    return out


def guest_times(output: str) -> list[int]:
    """Every value /vfm/rdtime printed, in order."""
    return [int(m.group(1)) for m in (TIME_RE.match(line) for line in _lines(output)) if m]


def guest_time(output: str) -> int | None:
    """The value /vfm/rdtime printed."""
    for line in _lines(output):
        m = TIME_RE.match(line)
        if m:
            return int(m.group(1))
    return None


# ---------------------------------------------------------------------------
# ELF section sizes, as `size` (Berkeley format) counts them.

SHDR = struct.Struct("<IIQQQQIIQQ")  # Elf64_Shdr, 64 bytes
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
SHT_NOBITS = 8


def section_sizes(data: bytes) -> dict:
    """text (code and read-only data; executable sections even when writable),
    data, bss, code (executable sections only) and footprint (lowest allocated
    address to the end of the highest)."""
    try:
        hdr = elf.check_riscv64(data)
    except elf.ElfError as e:
        raise ValueError(str(e))
    shoff, shentsize, shnum = hdr[6], hdr[11], hdr[12]
    if shoff == 0 or shnum == 0:
        raise ValueError("no section headers")
    if shentsize < SHDR.size or shoff + shnum * shentsize > len(data):
        raise ValueError("bad section header table")
    sizes = {"text": 0, "data": 0, "bss": 0, "code": 0}
    lo, hi = None, None
    for i in range(shnum):
        (_name, sh_type, flags, addr, _off, size, _link, _info, _align,
         _entsize) = SHDR.unpack_from(data, shoff + i * shentsize)
        if not flags & SHF_ALLOC or size == 0:
            continue
        if sh_type == SHT_NOBITS:
            sizes["bss"] += size
        elif flags & SHF_WRITE and not flags & SHF_EXECINSTR:  # lld marks .text WAX
            sizes["data"] += size
        else:
            sizes["text"] += size
        if flags & SHF_EXECINSTR:
            sizes["code"] += size
        lo = addr if lo is None else min(lo, addr)
        hi = addr + size if hi is None else max(hi, addr + size)
    sizes["footprint"] = (hi - lo) if lo is not None else 0
    return sizes


# ---------------------------------------------------------------------------
# Formatting

def num(v, digits: int = 1) -> str:
    """12345 -> '12,345'; 134.0 -> '134'; 134.25 -> '134.2'; None -> 'n/a'."""
    if v is None:
        return "n/a"
    if isinstance(v, float):
        text = f"{v:,.{digits}f}"
        return text[:-(digits + 1)] if digits and text.endswith("." + "0" * digits) else text
    return f"{v:,}"


def table(rows, header=None, indent: str = "  ") -> str:
    """Left-aligned first column, right-aligned numbers, '|'-free plain text."""
    rows = [list(map(str, r)) for r in rows]
    if header:
        rows.insert(0, list(map(str, header)))
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    cols = [max(len(r[i]) for r in rows) for i in range(width)]
    out = []
    for n, r in enumerate(rows):
        cells = []
        for i, c in enumerate(r):
            numeric = bool(re.match(r"^[0-9,.]+( [A-Za-z]+)?$|^n/a$|^-$", c))
            cells.append(c.rjust(cols[i]) if i and numeric else c.ljust(cols[i]))
        out.append(indent + "  ".join(cells).rstrip())
        if header and n == 0:
            out.append(indent + "  ".join("-" * w for w in cols).rstrip())
    return "\n".join(out)


def verdict(value, limit, lower_is_better: bool = True) -> str:
    if value is None or limit is None:
        return "-"
    ok = value <= limit if lower_is_better else value >= limit
    return "ok" if ok else "MISSED"
