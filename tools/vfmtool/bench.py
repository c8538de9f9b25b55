# SPDX-License-Identifier: MIT
"""`vfm bench`: the project's figures, natively and under the monitor, side
by side (docs/benchmarks.md).

    vfm bench [csr|boot|micro|all ...] [--json] [--images DIR] [--no-linux]
              [--runs N] [--toolchain gcc|clang] [--cpu CPU]

  csr    the firmware's CSR accesses (instructions per emulated access, trap
         to mret), the monitor image's size, the deepest stack use per hart
  boot   OpenSBI 1.1 + Linux to user space: guest instructions from reset
         natively and under the monitor, wall time (interleaved runs),
         monitor exits by cause (counters policy)
  micro  round trips from S-mode: SBI set_timer, an SBI call forwarded to the
         firmware, a time read, natively and under the monitor's builds

Every figure except wall time comes from a run under
`-icount shift=0,sleep=off`, so it is an instruction count: exact and
repeatable for the bare-metal images, up to a few percent of noise for a
Linux boot (docs/benchmarks.md). A figure that cannot be measured
is reported as n/a with the reason, and the command still exits 0; a missing
tool or image is one `vfm: error:` line.

A benchmark is a function in BENCHES (name -> fn(Bench) -> dict); the dict
is the JSON form, `render` turns it into the table.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

from . import api, builddirs, qemu
from .bench_parse import (exit_lines, guest_time, guest_times, num, pmp_miss_lines, results,
                          section_sizes, stack_lines, table, verdict)
from .common import (MONITOR_IMAGE, NATIVE_STUB_IMAGE, TOOLCHAINS, BuildDir, UsageError, VfmError,
                     info, monitor_build_dir, normalize_policies, source_root)

ORDER = ("csr", "boot", "micro", "pmp")

CSR_COST_IMAGE = "examples/bench/csr-cost.bin"
SBI_PAYLOAD_IMAGE = "examples/bench/sbi-payload.elf"
RDTIME_IMAGE = "examples/bench/rdtime"
MONITOR_ELF = "examples/monitor/vfm-monitor.elf"

ITERATIONS = 1000
# bench csr: 100,000 iterations timed with the `time` CSR (the firmware's
# minstret leaves the monitor's work out); under -icount shift=0 a tick of
# virt's 10 MHz timer is 100 instructions, so a figure is exact to 0.001.
CSR_ITERATIONS = 100_000
INSTRUCTIONS_PER_TICK = 100
CSR_ACCESSES = ("csr-read-mscratch", "csr-write-mscratch", "csr-read-mstatus")
CSR_BASELINE = "loop-nop"
MICRO_OPS = ("sbi-set-timer", "sbi-get-spec-version", "rdtime")
MICRO_BASELINE = "loop-empty"

BARE_TIMEOUT = 120.0  # a bare-metal benchmark image finishes in well under a second
LINUX_TIMEOUT = 600.0  # a boot takes 5-10 s; a loaded 2-core machine is slower
LINUX_MEMORY = "512M"
FIRMWARE = "opensbi-1.1"

# Targets (issues 3, 4, 5) and Miralis's figures for the same paths (on Spike).
TARGET_CSR = 150
MIRALIS_CSR = 386
TARGET_IMAGE = 32 * 1024
MIRALIS_IMAGE = 65376
TARGET_STACK = 4096
TARGET_BOOT_INSTRUCTIONS = 1.02
TARGET_BOOT_WALL = 1.25
TARGET_SET_TIMER = 120
MIRALIS_SET_TIMER = 241
TARGET_TIME_TRAP = 100
MIRALIS_TIME_TRAP = 224
TARGET_FORWARD_SHARE = 1000
MIRALIS_FORWARD_SHARE = 2650

NEEDS_COUNTERS = "n/a (needs the counters policy)"

# Instruction-exact counters; sleep=off: an idle hart's virtual time jumps to
# the next timer deadline instead of following the host's clock.
ICOUNT_ARGS = ["-icount", "shift=0,sleep=off"]

EXCEPTION_NAMES = {
    0: "instruction address misaligned", 1: "instruction access fault",
    2: "illegal instruction", 3: "breakpoint", 4: "load address misaligned",
    5: "load access fault", 6: "store/AMO address misaligned", 7: "store/AMO access fault",
    8: "ecall from U-mode", 9: "ecall from S-mode", 10: "ecall from VS-mode",
    11: "ecall from M-mode", 12: "instruction page fault", 13: "load page fault",
    15: "store/AMO page fault", 20: "instruction guest-page fault",
    21: "load guest-page fault", 22: "virtual instruction", 23: "store/AMO guest-page fault",
}
INTERRUPT_NAMES = {1: "supervisor software", 3: "machine software", 5: "supervisor timer",
                   7: "machine timer", 9: "supervisor external", 11: "machine external"}


def cause_label(kind: str, cause: str) -> str:
    """'exception 2' -> 'exception 2 (illegal instruction)'; names pass through."""
    names = EXCEPTION_NAMES if kind == "exception" else INTERRUPT_NAMES
    try:
        n = int(cause, 0)
    except ValueError:
        return f"{kind} {cause}"
    return f"{kind} {cause} ({names[n]})" if n in names else f"{kind} {cause}"


class Bench:
    """Options, images and the runs shared between the benchmarks."""

    def __init__(self, args):
        self.json = args.json
        self.images = Path(args.images).resolve() if args.images else None
        self.toolchain = args.toolchain
        self.no_linux = args.no_linux
        self.runs = args.runs
        self.cpu = args.cpu
        self.harts = getattr(args, "harts", HARTS_DEFAULT)
        self._csr = None
        if self.images is not None and not self.images.is_dir():
            raise UsageError(f"--images {self.images} is not a directory (a cross build dir)")

    # -- images --------------------------------------------------------------

    def image(self, target: str) -> Path:
        """An image of the default cross build dir (built on demand), or of --images."""
        if self.images is not None:
            p = self.images / target
            if not p.is_file():
                raise UsageError(f"{p} does not exist (is {self.images} a configured and built "
                                 "cross build dir?)")
            return p
        return builddirs.ensure_built(monitor_build_dir(self.toolchain), target)

    def monitor(self) -> Path:
        return self.image(MONITOR_IMAGE)

    def stub(self) -> Path:
        return self.image(NATIVE_STUB_IMAGE)

    def policy_monitor(self, policies, trap_time: bool = False) -> tuple:
        """(image, None) or (None, why): a monitor with policies (and time reads
        trapping). The cross build dir's fixed variant examples/monitor/
        vfm-monitor-<policies>[-traptime].bin when it has one (-Dtests=true),
        else a build dir of its own (build-riscv-<policies>[-traptime],
        configured with -Dpolicies=... [-Dtrap_time=true]) built on demand."""
        policies = normalize_policies(policies)
        variant = "vfm-monitor-" + "-".join(policies) + ("-traptime" if trap_time else "")
        target = f"examples/monitor/{variant}.bin"
        if self.images is not None:
            if (self.images / target).is_file():
                return self.images / target, None
        else:
            bd = monitor_build_dir(self.toolchain)
            if builddirs.configure(bd, quiet=True) and _has_ninja_target(bd.path, target):
                info(f"bench: monitor {bd.name}/{target}")
                try:
                    return builddirs.ensure_built(bd, target), None
                except VfmError as e:
                    return None, f"building {target} failed: {e}"
        if trap_time and not _has_meson_option("trap_time"):
            return None, "the Meson option trap_time does not exist yet"
        bd = monitor_build_dir(self.toolchain, policies)
        if trap_time:
            bd = BuildDir(Path(f"{bd.path}-traptime"), bd.cross_file, bd.buildtype,
                          list(bd.options) + ["-Dtrap_time=true"])
        info(f"bench: monitor {bd.name}")
        try:
            return builddirs.ensure_built(bd, MONITOR_IMAGE), None
        except VfmError as e:
            return None, f"building {bd.name} failed: {e}"

    # -- runs ----------------------------------------------------------------

    def bare(self, what: str, bios: Path, firmware, kernel: Path | None = None):
        """Firmware (and an S-mode payload) without Linux, under icount."""
        info(f"bench: {what}")
        return api.boot(no_kernel=True, firmware=str(firmware), bios=str(bios), cpu=self.cpu,
                        timeout=BARE_TIMEOUT,
                        qemu_args=ICOUNT_ARGS + (["-kernel", str(kernel)] if kernel else []))

    def linux_options(self, bios: Path, native: bool, exec_cmd: str, *, smp: int = 1,
                      icount: bool = True, files=None) -> qemu.RunOptions:
        return qemu.RunOptions(firmware=FIRMWARE, native=native, bios=str(bios), smp=smp,
                               memory=LINUX_MEMORY, cpu=self.cpu, exec_cmd=exec_cmd,
                               timeout=LINUX_TIMEOUT, initrd_files=dict(files or {}),
                               qemu_args=list(ICOUNT_ARGS) if icount else [])

    def linux(self, what: str, opts: qemu.RunOptions):
        info(f"bench: {what}")
        p = qemu.prepare(opts)
        return qemu.run_captured(p.argv, timeout=opts.timeout, exec_mode=True)

    def timed_linux(self, what: str, opts: qemu.RunOptions):
        """(seconds from QEMU's start to the user-space marker or None, result)."""
        info(f"bench: {what}")
        p = qemu.prepare(opts)
        marker = api.USER_SPACE_MARKER
        state = {"tail": "", "at": None}

        def echo(chunk: str):
            if state["at"] is None:
                state["tail"] = (state["tail"] + chunk)[-(len(marker) + len(chunk)):]
                if marker in state["tail"]:
                    state["at"] = time.monotonic() - start
                state["tail"] = state["tail"][-len(marker):]

        start = time.monotonic()
        r = qemu.run_captured(p.argv, timeout=opts.timeout, exec_mode=True, echo=echo,
                              verbose=True)
        return state["at"], r


def _has_ninja_target(build_dir: Path, target: str) -> bool:
    try:
        text = (build_dir / "build.ninja").read_text(errors="replace")
    except OSError:
        return False
    return f"\nbuild {target}:" in text


def _run_problem(what: str, r) -> str | None:
    """Why a run's output cannot be trusted, or None."""
    if r.timed_out:
        return f"{what}: timed out"
    if r.returncode not in (0, None):
        return f"{what}: QEMU exited with status {r.returncode}"
    return None


def _tail(text: str, n: int = 5) -> str:
    lines = [l for l in text.replace("\r", "").splitlines() if l.strip()]
    return " | ".join(lines[-n:])


# ---------------------------------------------------------------------------
# bench csr

def measure_csr(b: Bench) -> dict:
    """csr-cost natively and under the default monitor (shared with micro)."""
    if b._csr is not None:
        return b._csr
    fw = b.image(CSR_COST_IMAGE)
    out = {"firmware": str(fw), "iterations": CSR_ITERATIONS, "native": {}, "monitor": {},
           "per_access": {}, "problems": []}
    for side, bios in (("native", b.stub()), ("monitor", b.monitor())):
        r = b.bare(f"csr-cost {side}", bios, fw)
        vals = {k: v * INSTRUCTIONS_PER_TICK for k, v in results(r.console).items()}
        out[side] = vals
        problem = _run_problem(f"csr-cost {side}", r)
        missing = [n for n in CSR_ACCESSES + (CSR_BASELINE,) if n not in vals]
        if missing:
            problem = (f"csr-cost {side}: no result for {', '.join(missing)}"
                       f" (console: {_tail(r.console) or 'empty'})")
        if problem:
            out["problems"].append(problem)
    nat, mon = out["native"], out["monitor"]
    for x in CSR_ACCESSES:
        if all(k in d for d in (nat, mon) for k in (x, CSR_BASELINE)):
            monitor_extra = (mon[x] - mon[CSR_BASELINE]) - (nat[x] - nat[CSR_BASELINE])
            # The access retires natively but traps under the monitor: + 1.
            out["per_access"][x] = round(monitor_extra / CSR_ITERATIONS + 1, 3)
    vals = list(out["per_access"].values())
    out["worst"] = max(vals) if vals else None
    b._csr = out
    return out


def bench_csr(b: Bench) -> dict:
    out = {"bench": "csr", "problems": []}
    csr = measure_csr(b)
    out["csr"] = {k: v for k, v in csr.items() if k != "problems"}
    out["problems"] += csr["problems"]
    out["csr"]["target"] = TARGET_CSR
    out["csr"]["miralis"] = MIRALIS_CSR

    # Image size: the raw image is what is loaded (code + initialized data).
    bin_path = b.monitor()
    img = {"bin": str(bin_path), "bin_bytes": bin_path.stat().st_size, "target": TARGET_IMAGE,
           "miralis": MIRALIS_IMAGE}
    elf_path = bin_path.with_suffix(".elf")
    try:
        img.update(section_sizes(elf_path.read_bytes()))
        img["elf"] = str(elf_path)
    except (OSError, ValueError) as e:
        out["problems"].append(f"section sizes of {elf_path}: {e}")
    out["image"] = img

    # Stack: Linux on 4 harts under the counters monitor, which prints each
    # hart's deepest stack use at shutdown. Without icount: QEMU 7.2 does not
    # get an SMP Linux past the firmware under -icount (natively either).
    st = {"target": TARGET_STACK, "harts": {}, "status": None}
    if b.no_linux:
        st["status"] = "skipped (--no-linux)"
    else:
        mon, why = b.policy_monitor(("counters",))
        if mon is None:
            st["status"] = f"n/a ({why})"
        else:
            r = b.linux("stack: Linux smp 4 under the counters monitor",
                        b.linux_options(mon, False, "true", smp=4, icount=False))
            st["harts"] = {str(h): v for h, v in sorted(stack_lines(r.console).items())}
            if not r.user_space or r.status is None:
                out["problems"].append("stack run: Linux did not finish the command "
                                       f"(console: {_tail(r.console)})")
            if st["harts"]:
                st["status"] = "measured"
                st["deepest"] = max(st["harts"].values())
            else:
                st["status"] = NEEDS_COUNTERS
    out["stack"] = st
    return out


def render_csr(d: dict) -> str:
    c, img, st = d["csr"], d["image"], d["stack"]
    lines = ["== bench csr: the firmware's CSR accesses, the image, the stack ==",
             "csr-cost firmware at 0x80100000, no kernel, -icount shift=0,sleep=off; "
             f"instructions over {CSR_ITERATIONS:,} iterations (`time` ticks x {INSTRUCTIONS_PER_TICK}):"]
    rows = []
    for n in CSR_ACCESSES + (CSR_BASELINE,):
        per = c["per_access"].get(n)
        rows.append([n, num(c["native"].get(n)), num(c["monitor"].get(n)),
                     num(per) if n != CSR_BASELINE else "",
                     f"<= {TARGET_CSR}" if n != CSR_BASELINE else "",
                     verdict(per, TARGET_CSR) if n != CSR_BASELINE else "",
                     f"({MIRALIS_CSR})" if n != CSR_BASELINE else ""])
    lines.append(table(rows, ["access", "native", "monitor", "per access", "target", "",
                              "(Miralis)"]))
    lines.append("  per access = instructions the monitor executes per emulated access, trap to "
                 "mret:")
    lines.append("  ((monitor - monitor loop-nop) - (native - native loop-nop)) / "
                 f"{CSR_ITERATIONS:,} + 1")
    lines.append("")
    lines.append(f"image size ({Path(img['bin']).name}: code + initialized data):")
    rows = [["vfm-monitor.bin", f"{num(img['bin_bytes'])} bytes", f"<= {num(TARGET_IMAGE)}",
             verdict(img["bin_bytes"], TARGET_IMAGE), f"({num(MIRALIS_IMAGE)})"]]
    lines.append(table(rows, ["image", "size", "target", "", "(Miralis)"]))
    if "text" in img:
        lines.append(f"  ELF sections: text {num(img['text'])} (code {num(img['code'])} + "
                     f"read-only data {num(img['text'] - img['code'])}), data {num(img['data'])}, "
                     f"bss {num(img['bss'])} bytes; in memory {num(img['footprint'])} bytes")
    lines.append("")
    lines.append("deepest stack use per hart (Linux, smp 4, counters policy):")
    if st["harts"]:
        rows = [[f"hart {h}", f"{num(v)} bytes", f"<= {num(TARGET_STACK)}",
                 verdict(v, TARGET_STACK)] for h, v in st["harts"].items()]
        lines.append(table(rows, ["hart", "deepest", "target", ""]))
    else:
        lines.append(f"  {st['status']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# bench boot

def bench_boot(b: Bench) -> dict:
    out = {"bench": "boot", "problems": [], "firmware": FIRMWARE, "smp": 1,
           "memory": LINUX_MEMORY}
    if b.no_linux:
        out["skipped"] = "--no-linux"
        return out
    rdtime = b.image(RDTIME_IMAGE)
    files = {"vfm/rdtime": str(rdtime)}
    sides = (("native", b.stub(), True), ("monitor", b.monitor(), False))

    # Each round: guest instructions from reset to /vfm/rdtime (its time
    # value x 100, under icount) and wall time from QEMU's start to the
    # marker (no icount), natively and under the monitor, interleaved.
    ins = {"target": TARGET_BOOT_INSTRUCTIONS, "runs": b.runs, "native_runs": [],
           "monitor_runs": []}
    wall = {"target": TARGET_BOOT_WALL, "runs": b.runs, "native_runs": [], "monitor_runs": []}
    for i in range(b.runs):
        for side, bios, native in sides:
            r = b.linux(f"boot {side}, icount, run {i + 1} of {b.runs}",
                        b.linux_options(bios, native, "/vfm/rdtime", files=files))
            t = guest_time(r.output)
            if t is None:
                out["problems"].append(f"boot {side} icount run {i + 1}: no time value from "
                                       f"/vfm/rdtime (console: {_tail(r.console)})")
            else:
                ins[f"{side}_runs"].append(t * 100)
        for side, bios, native in sides:
            at, r = b.timed_linux(f"boot {side}, wall time, run {i + 1} of {b.runs}",
                                  b.linux_options(bios, native, "/vfm/rdtime", icount=False,
                                                  files=files))
            if at is None:
                out["problems"].append(f"boot {side} wall-time run {i + 1}: no user-space "
                                       f"marker (console: {_tail(r.console)})")
            else:
                wall[f"{side}_runs"].append(round(at, 3))
    for d in (ins, wall):
        for side in ("native", "monitor"):
            runs = d[f"{side}_runs"]
            d[side] = statistics.median(runs) if runs else None
        d["ratio"] = d["monitor"] / d["native"] if d["native"] and d["monitor"] else None
    if ins["native_runs"] and ins["monitor_runs"]:
        ins["ratio_of_minimums"] = min(ins["monitor_runs"]) / min(ins["native_runs"])
    out["instructions"] = ins
    out["wall"] = wall

    # Exits by cause: the same boot under the counters monitor.
    ex = {"status": None, "causes": [], "paths": []}
    mon, why = b.policy_monitor(("counters",))
    if mon is None:
        ex["status"] = f"n/a ({why})"
    else:
        r = b.linux("boot under the counters monitor, icount",
                    b.linux_options(mon, False, "/vfm/rdtime", files=files))
        t = guest_time(r.output)
        ex["instructions"] = t * 100 if t is not None else None
        parsed = exit_lines(r.console)
        for (kind, cause), harts in sorted(parsed["causes"].items(),
                                           key=lambda kv: -sum(kv[1].values())):
            ex["causes"].append({"kind": kind, "cause": cause, "total": sum(harts.values()),
                                 "harts": {str(h): v for h, v in sorted(harts.items())}})
        for path, harts in sorted(parsed["paths"].items(), key=lambda kv: -sum(kv[1].values())):
            ex["paths"].append({"path": path, "total": sum(harts.values()),
                                "harts": {str(h): v for h, v in sorted(harts.items())}})
        ex["status"] = "measured" if ex["causes"] or ex["paths"] else NEEDS_COUNTERS
        if t is None:
            out["problems"].append("boot under the counters monitor: no time value "
                                   f"(console: {_tail(r.console)})")
    out["exits"] = ex
    return out


def _spread(runs) -> str:
    if len(runs) < 2 or not min(runs):
        return ""
    return f" (spread {100 * (max(runs) - min(runs)) / min(runs):.1f} %)"


def _ratio(v) -> str:
    return "n/a" if v is None else f"{v:.4f}"


def render_boot(d: dict) -> str:
    lines = [f"== bench boot: OpenSBI 1.1 + Linux to user space, smp {d['smp']}, "
             f"{d['memory']} ==" ]
    if d.get("skipped"):
        lines.append(f"  skipped ({d['skipped']})")
        return "\n".join(lines)
    ins, wall, ex = d["instructions"], d["wall"], d["exits"]
    lines.append("guest instructions from reset to /vfm/rdtime in user space (-icount "
                 f"shift=0,sleep=off: time CSR x 100; median of {ins['runs']} runs):")
    nr, mr = ins["native_runs"], ins["monitor_runs"]
    rmin = ins.get("ratio_of_minimums")
    lines.append(table([["median", num(ins.get("native")), num(ins.get("monitor")),
                         _ratio(ins["ratio"]), f"<= {ins['target']}",
                         verdict(ins["ratio"], ins["target"])],
                        ["fastest", num(min(nr) if nr else None), num(min(mr) if mr else None),
                         _ratio(rmin), f"<= {ins['target']}", verdict(rmin, ins["target"])]],
                       ["instructions", "native", "monitor", "ratio", "target", ""]))
    lines.append("  runs: native " + " ".join(num(x) for x in nr) + _spread(nr)
                 + "; monitor " + " ".join(num(x) for x in mr) + _spread(mr))
    lines.append("  (a Linux boot does not repeat exactly under icount; noise only adds, so the "
                 "fastest runs are the better estimate)")
    lines.append("")
    lines.append(f"wall time from QEMU's start to \"{api.USER_SPACE_MARKER}\" (no icount; "
                 f"{wall['runs']} runs each, interleaved; medians):")
    lines.append(table([["seconds", num(wall["native"], 2), num(wall["monitor"], 2),
                         _ratio(wall["ratio"]), f"<= {wall['target']}",
                         verdict(wall["ratio"], wall["target"])]],
                       ["", "native", "monitor", "ratio", "target", ""]))
    lines.append("  runs: native " + " ".join(f"{x:.2f}" for x in wall["native_runs"])
                 + "; monitor " + " ".join(f"{x:.2f}" for x in wall["monitor_runs"]))
    lines.append("")
    lines.append("monitor exits by cause (the same boot under the counters policy, hart totals):")
    if ex["causes"] or ex["paths"]:
        rows = [[cause_label(c["kind"], c["cause"]), num(c["total"])] for c in ex["causes"]]
        rows += [[f"path {p['path']}", num(p["total"])] for p in ex["paths"]]
        lines.append(table(rows, ["exit", "count"]))
        if ex.get("instructions"):
            lines.append(f"  (instructions to /vfm/rdtime under the counters monitor: "
                         f"{num(ex['instructions'])})")
    else:
        lines.append(f"  {ex['status']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# bench micro

def _has_meson_option(name: str) -> bool:
    try:
        text = (source_root() / "meson_options.txt").read_text()
    except OSError:
        return False
    return re.search(r"option\(\s*['\"]" + re.escape(name) + r"['\"]", text) is not None


def bench_micro(b: Bench) -> dict:
    out = {"bench": "micro", "problems": [], "iterations": ITERATIONS, "firmware": FIRMWARE,
           "configs": {}}
    payload = b.image(SBI_PAYLOAD_IMAGE)
    configs = [("native", b.stub(), None), ("monitor", b.monitor(), None)]
    mon, why = b.policy_monitor(("offload",))
    configs.append(("offload", mon, why))
    mon, why = b.policy_monitor(("offload",), trap_time=True)
    configs.append(("offload+trap_time", mon, why))

    for name, bios, why in configs:
        c = {"round_trip": {}, "raw": {}, "status": "measured"}
        out["configs"][name] = c
        if bios is None:
            c["status"] = f"n/a ({why})"
            continue
        r = b.bare(f"sbi-payload {name}", bios, FIRMWARE, kernel=payload)
        vals = results(r.console)
        c["raw"] = vals
        problem = _run_problem(f"sbi-payload {name}", r)
        if "bench done" not in r.console:
            problem = f"sbi-payload {name}: did not finish (console: {_tail(r.console)})"
        if vals.get("sbi-probe-time") == 0:
            problem = f"sbi-payload {name}: the firmware has no SBI TIME extension"
        if problem:
            out["problems"].append(problem)
        if MICRO_BASELINE in vals:
            for op in MICRO_OPS:
                if op in vals:
                    c["round_trip"][op] = (vals[op] - vals[MICRO_BASELINE]) / ITERATIONS
        if not c["round_trip"]:
            c["status"] = "failed"

    def rt(config, op):
        return out["configs"][config]["round_trip"].get(op)

    figs = {}
    figs["set_timer_offload"] = {"value": rt("offload", "sbi-set-timer"),
                                 "target": TARGET_SET_TIMER, "miralis": MIRALIS_SET_TIMER}
    tt = rt("offload+trap_time", "rdtime")
    figs["time_trap"] = {"value": tt if tt is not None and tt > 1 else None,
                         "target": TARGET_TIME_TRAP, "miralis": MIRALIS_TIME_TRAP}
    if tt is not None and tt <= 1:
        figs["time_trap"]["note"] = "time reads did not trap in the trap_time build"
    nat, mon_ = rt("native", "sbi-get-spec-version"), rt("monitor", "sbi-get-spec-version")
    figs["forward_share"] = {"value": mon_ - nat if nat is not None and mon_ is not None else None,
                             "target": TARGET_FORWARD_SHARE, "miralis": MIRALIS_FORWARD_SHARE}
    csr = measure_csr(b)
    out["problems"] += [p for p in csr["problems"] if p not in out["problems"]]
    figs["csr_access"] = {"value": csr["worst"], "target": TARGET_CSR, "miralis": MIRALIS_CSR}
    st_off, st_mon = rt("offload", "sbi-set-timer"), rt("monitor", "sbi-set-timer")
    if st_off is not None and st_off == st_mon:
        figs["set_timer_offload"]["note"] = ("same as the default monitor: the offload policy "
                                             "does not answer set_timer yet")
    out["figures"] = figs
    return out


def render_micro(d: dict) -> str:
    cfgs = d["configs"]
    names = list(cfgs)
    lines = ["== bench micro: round trips from S-mode (OpenSBI 1.1, "
             "-icount shift=0,sleep=off) ==",
             f"instructions per operation: (loop - empty loop) / {d['iterations']}, measured "
             "with rdinstret in an S-mode payload"]

    def cell(cfg, op):
        c = cfgs[cfg]
        if not c["round_trip"]:
            return "n/a"
        return num(c["round_trip"].get(op))

    rows = []
    labels = {"sbi-set-timer": "SBI set_timer", "sbi-get-spec-version": "SBI get_spec_version",
              "rdtime": "time read (rdtime)"}
    for op in MICRO_OPS:
        rows.append([labels[op]] + [cell(n, op) for n in names])
    share = []
    for n in names:
        a = cfgs[n]["round_trip"].get("sbi-get-spec-version")
        base = cfgs["native"]["round_trip"].get("sbi-get-spec-version")
        share.append("-" if n == "native" else num(a - base if a is not None and base is not None
                                                   else None))
    rows.append(["  monitor's share (- native)"] + share)
    lines.append(table(rows, ["operation"] + names))
    for n in names:
        if cfgs[n]["status"].startswith("n/a"):
            lines.append(f"  {n}: {cfgs[n]['status']}")
    lines.append("")
    lines.append("figures:")
    f = d["figures"]
    spec = [("SBI set_timer under offload", "set_timer_offload"),
            ("time read where it traps (offload+trap_time)", "time_trap"),
            ("SBI call forwarded to the firmware: monitor's share", "forward_share"),
            ("firmware CSR access, trap to mret (bench csr)", "csr_access")]
    rows = []
    for label, key in spec:
        v = f[key]
        rows.append([label, num(v["value"]), f"<= {num(v['target'])}",
                     verdict(v["value"], v["target"]), f"({num(v['miralis'])})"])
    lines.append(table(rows, ["figure", "value", "target", "", "(Miralis)"]))
    for label, key in spec:
        if f[key].get("note"):
            lines.append(f"  {label}: {f[key]['note']}")
    nat = cfgs["native"]["round_trip"].get("sbi-set-timer")
    lines.append(f"  native OpenSBI 1.1: set_timer {num(nat)}, get_spec_version "
                 f"{num(cfgs['native']['round_trip'].get('sbi-get-spec-version'))}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# bench pmp

# Monitors that may use 8 physical PMP entries (-Dpmp_entries=8, as the
# JH7110's U74): the counters policy reports the PMP cache's misses.
PMP8_IMAGES = (("counters", "examples/monitor/vfm-monitor-counters-pmp8.bin"),
               ("all policies", "examples/monitor/vfm-monitor-all-pmp8.bin"))
PMP_FIRMWARES = ("opensbi-1.1", "opensbi-1.6")
# The workload after the boot: processes, pipes and files (busybox).
PMP_WORKLOAD = ("i=0; while [ $i -lt 200 ]; do ls / | wc -l > /tmp/n; cat /tmp/n > /dev/null; "
                "i=$((i+1)); done")
TICKS_PER_SECOND = 10_000_000  # QEMU virt's timebase; under -icount shift=0 a tick is 100 instructions


def bench_pmp(b: Bench) -> dict:
    """The PMP slots as a cache (docs/pmp.md) with 8 physical entries: misses
    resolved per second of guest time during a Linux boot and a workload, and
    the monitor's instructions per resolved miss (its miss path, from the
    fault's decision to the install; the trap vector's entry and exit are not
    in it)."""
    out = {"bench": "pmp", "problems": [], "rows": []}
    if b.no_linux:
        out["skipped"] = "--no-linux"
        return out
    files = {"vfm/rdtime": str(b.image(RDTIME_IMAGE))}
    for label, target in PMP8_IMAGES:
        try:
            mon = b.image(target)
        except (UsageError, VfmError) as e:
            out["problems"].append(f"{label}: {e}")
            continue
        for firmware in PMP_FIRMWARES:
            row = {"monitor": label, "firmware": firmware}
            for phase, cmd in (("boot", "/vfm/rdtime"),
                               ("workload", f"/vfm/rdtime; {PMP_WORKLOAD}; /vfm/rdtime")):
                opts = qemu.RunOptions(firmware=firmware, native=False, bios=str(mon), smp=1,
                                       memory=LINUX_MEMORY, cpu=b.cpu, exec_cmd=cmd,
                                       timeout=LINUX_TIMEOUT, initrd_files=files,
                                       qemu_args=list(ICOUNT_ARGS))
                r = b.linux(f"pmp: {label}, {firmware}, {phase}", opts)
                times = guest_times(r.output)
                misses = pmp_miss_lines(r.console).get(0)
                if not times or misses is None:
                    out["problems"].append(f"{label}, {firmware}, {phase}: no time value or no PMP "
                                           f"line (console: {_tail(r.console)})")
                    continue
                row[phase] = {"ticks": times[-1] - (times[0] if phase == "workload" else 0),
                              "misses": misses[0], "instructions": misses[1], "measured": misses[2],
                              "end_ticks": times[-1]}
            if "boot" in row and "workload" in row:
                boot, total = row["boot"], row["workload"]
                # The workload run repeats the boot: its misses are the run's
                # less the boot run's; instructions per miss over the whole run.
                work = {"ticks": total["ticks"], "misses": max(total["misses"] - boot["misses"], 0),
                        "instructions": total["instructions"], "measured": total["measured"]}
                row["work"] = work
                for part in (boot, work):
                    seconds = part["ticks"] / TICKS_PER_SECOND
                    part["per_second"] = part["misses"] / seconds if seconds > 0 else None
                    part["per_miss"] = (part["instructions"] / part["measured"]
                                        if part["measured"] > 0 else None)
            out["rows"].append(row)
    return out


def render_pmp(d: dict) -> str:
    lines = ["== bench pmp: 8 physical PMP entries, the slots as a cache (docs/pmp.md) =="]
    if d.get("skipped"):
        lines.append(f"  skipped ({d['skipped']})")
        return "\n".join(lines)
    rows = []
    for r in d["rows"]:
        for name, key in (("boot", "boot"), ("workload", "work")):
            p = r.get(key)
            if p is None:
                continue
            rows.append([f"{r['monitor']}, {r['firmware']}", name, num(p["misses"]),
                         num(p["ticks"] * INSTRUCTIONS_PER_TICK), num(p.get("per_second")),
                         num(p.get("per_miss"))])
    lines.append(table(rows, ["monitor, firmware", "phase", "misses", "guest instructions",
                              "misses/s", "instructions/miss"]))
    lines.append("  (-icount shift=0,sleep=off: a guest second is 10^9 instructions; the workload is "
                 "200 rounds of ls | wc, a file write and a cat, its misses the run's less the boot run's; "
                 "instructions/miss: the monitor's minstret from the fault's decision to the install, "
                 "without the trap vector's entry and exit, over the whole run for the workload row)")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# bench harts: Linux on many harts of virt (issue 13; docs/benchmarks.md, "Many harts")

HARTS_FIRMWARE = "opensbi-1.6"
HARTS_DEFAULT = (16, 32, 64)
# Up to 32 harts: the monitor at 0x80000000 (512 KiB region), the firmware at
# 0x80100000. With 64 the region is 1 MiB and OpenSBI needs 1.2 MiB for 64
# harts' stacks and scratch, more than the 1 MiB below the kernel (QEMU puts
# it at 0x80200000): the monitor is linked at 0x84000000 behind a jump stub
# and the firmware loaded at 0x84200000, natively too.
HARTS_LAYOUTS = {
    32: {"monitor": "examples/monitor/vfm-monitor-harts32.bin", "memory": "1G"},
    64: {"monitor": "examples/monitor/vfm-monitor-harts64-at-84000000.bin", "memory": "2G",
         "monitor_address": 0x84000000, "monitor_stub": "examples/stub/jump-stub-84000000.bin",
         "firmware_address": 0x84200000, "native_stub": "examples/stub/jump-stub-84200000.bin"},
}
_RESERVED = re.compile(r"reserved mem: 0x([0-9a-f]+)\.\.0x([0-9a-f]+) .*\bvfm@")


def harts_layout(harts: int) -> dict:
    for limit in sorted(HARTS_LAYOUTS):
        if harts <= limit:
            return HARTS_LAYOUTS[limit]
    raise UsageError(f"bench harts: {harts} harts: the images support at most {max(HARTS_LAYOUTS)}")


def bench_harts(b: Bench) -> dict:
    """Wall time from QEMU's start to Linux's user space on `smp` harts of
    virt, natively and under the monitor, interleaved; the monitor's region
    (its reservation, as Linux reports it) and image size for each image."""
    out = {"bench": "harts", "problems": [], "rows": [], "firmware": HARTS_FIRMWARE}
    if b.no_linux:
        out["skipped"] = "--no-linux"
        return out
    for harts in b.harts:
        layout = harts_layout(harts)
        row = {"harts": harts, "memory": layout["memory"], "native_runs": [], "monitor_runs": []}
        try:
            monitor = b.image(layout["monitor"])
            monitor_bios = b.image(layout["monitor_stub"]) if "monitor_stub" in layout else monitor
            native_bios = b.image(layout["native_stub"]) if "native_stub" in layout else b.stub()
        except (UsageError, VfmError) as e:
            out["problems"].append(f"{harts} harts: {e}")
            continue
        row["image_bytes"] = monitor.stat().st_size
        extra = ([ "-device", f"loader,file={monitor},addr={layout['monitor_address']:#x}"]
                 if "monitor_address" in layout else [])
        for i in range(b.runs):
            for side, native in (("native", True), ("monitor", False)):
                opts = qemu.RunOptions(firmware=HARTS_FIRMWARE, native=native,
                                       bios=str(native_bios if native else monitor_bios),
                                       firmware_address=layout.get("firmware_address"), smp=harts,
                                       memory=layout["memory"], cpu=b.cpu, exec_cmd="true",
                                       timeout=LINUX_TIMEOUT * 2,
                                       qemu_args=[] if native else list(extra))
                at, r = b.timed_linux(f"harts: {harts}, {side}, run {i + 1} of {b.runs}", opts)
                if at is None:
                    out["problems"].append(f"{harts} harts, {side}, run {i + 1}: no user space "
                                           f"(console: {_tail(r.console)})")
                    continue
                row[f"{side}_runs"].append(round(at, 2))
                m = _RESERVED.search(r.console) if not native else None
                if m:
                    row["region_bytes"] = int(m.group(2), 16) - int(m.group(1), 16) + 1
        for side in ("native", "monitor"):
            runs = row[f"{side}_runs"]
            row[side] = statistics.median(runs) if runs else None
        row["ratio"] = row["monitor"] / row["native"] if row["native"] and row["monitor"] else None
        out["rows"].append(row)
    return out


def render_harts(d: dict) -> str:
    lines = [f"== bench harts: {d['firmware']} + Linux to user space on many harts of virt, wall time =="]
    if d.get("skipped"):
        lines.append(f"  skipped ({d['skipped']})")
        return "\n".join(lines)
    rows = [[num(r["harts"]), r["memory"], num(r.get("native")), num(r.get("monitor")),
             _ratio(r.get("ratio")), num(r.get("region_bytes")), num(r.get("image_bytes"))]
            for r in d["rows"]]
    lines.append(table(rows, ["harts", "RAM", "native s", "monitor s", "ratio", "monitor region B",
                              "image B"]))
    lines.append("  (medians of the runs, interleaved; seconds from QEMU's start to the init's marker, "
                 "so the time is mostly QEMU's vCPU threads sharing the host's cores)")
    return "\n".join(lines)


BENCHES: dict = {
    "csr": bench_csr,
    "boot": bench_boot,
    "micro": bench_micro,
    "pmp": bench_pmp,
    "harts": bench_harts,
}
RENDER = {"csr": render_csr, "boot": render_boot, "micro": render_micro, "pmp": render_pmp,
          "harts": render_harts}


# ---------------------------------------------------------------------------
# Command line

def _positive(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number")
    if v < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1")
    return v


def build_parser():
    from .cli import Parser
    p = Parser(prog="vfm bench", allow_abbrev=False,
               formatter_class=argparse.RawDescriptionHelpFormatter,
               description="Measures the project's figures natively and under the monitor "
                           "(docs/benchmarks.md).\n\n"
                           "  csr    CSR accesses of the firmware, image size, stack per hart\n"
                           "  boot   Linux boot: instructions from reset, wall time, exits\n"
                           "  micro  S-mode round trips: SBI set_timer, forwarded SBI call, "
                           "time read\n"
                           "  pmp    8 physical PMP entries: the cache's misses in a Linux boot and "
                           "a workload\n"
                           "  harts  Linux on 16, 32 and 64 harts: boot wall-time ratio (long; not "
                           "in all)\n\n"
                           "Without a name, runs all but harts. Exit status 0 when the benchmarks ran "
                           "(figures\nthat could not be measured are reported as n/a).")
    p.add_argument("what", nargs="*", metavar="NAME", help="csr, boot, micro, pmp, harts or all")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (name -> figures) instead of tables")
    p.add_argument("--images", metavar="DIR",
                   help="take the monitor, native stub and benchmark images from this cross "
                        "build dir (nothing is built); policy builds still come from the "
                        "usual build prefix")
    p.add_argument("--no-linux", action="store_true",
                   help="skip the figures that boot Linux (stack, bench boot)")
    p.add_argument("--runs", type=_positive, default=3, metavar="N",
                   help="wall-time runs of each side in bench boot (default 3)")
    p.add_argument("--toolchain", choices=sorted(TOOLCHAINS), default="gcc",
                   help="images from the GCC (build-riscv) or clang build")
    p.add_argument("--cpu", metavar="CPU", help="QEMU -cpu for every run, e.g. rv64,sstc=off")
    p.add_argument("--harts", type=_hart_counts, default=HARTS_DEFAULT, metavar="N[,N]",
                   help="bench harts: the hart counts (default 16,32,64; at most 64)")
    return p


def _hart_counts(text):
    try:
        counts = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of numbers (e.g. 16,32,64)")
    if not counts or any(n < 1 or n > 64 for n in counts):
        raise argparse.ArgumentTypeError(f"'{text}': each count must be 1 to 64")
    return counts


def main(argv) -> int:
    args = build_parser().parse_args(list(argv))
    names = []
    for w in args.what or ["all"]:
        if w == "all":
            names += [n for n in ORDER if n not in names]
        elif w in BENCHES:
            if w not in names:
                names.append(w)
        else:
            raise UsageError(f"unknown benchmark '{w}' (choose from {', '.join(ORDER)}, harts or all)")
    b = Bench(args)
    collected = {}
    for i, n in enumerate(names):
        d = BENCHES[n](b)
        collected[n] = d
        if not args.json:
            if i:
                print()
            print(RENDER[n](d))
            if d["problems"]:
                print("problems:")
                for p in d["problems"]:
                    print(f"  {p}")
            sys.stdout.flush()
    if args.json:
        print(json.dumps(collected, indent=2, sort_keys=True))
    return 0


def cmd_bench(what: str | None, args) -> int:
    """The entry point of ./vfm bench (kept for callers of the old signature)."""
    return main(([what] if what else []) + list(args))
