# SPDX-License-Identifier: MIT
"""Command line of ./vfm."""

from __future__ import annotations

import argparse
import sys

from .common import POLICIES, TOOLCHAINS, UsageError, VfmError, error, normalize_given

DESCRIPTION = """\
vfm: build, test and run the virtual firmware monitor.

Typical use:
  ./vfm deps          install the Debian 12 packages
  ./vfm test          deps + setup + build + all tests, with a summary
  ./vfm fetch         fetch the Debian trixie kernel, busybox and OpenSBI 1.6
  ./vfm run           boot OpenSBI + Linux under the monitor on QEMU virt
  ./vfm run --exec 'uname -a'
  ./vfm fuzz --time 600   fuzz the monitor over the host backend (libFuzzer)
  ./vfm difftest          random privileged programs, native vs monitor, compared
"""


class Parser(argparse.ArgumentParser):
    """Reports usage errors as one `vfm: error: ...` line, exit status 2."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


def _positive_int(text):
    try:
        v = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number")
    if v < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1")
    return v


def _count(text):
    try:
        v = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number")
    if v < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must not be negative")
    return v


def _seconds(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds")
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' must be a positive number of seconds")
    return v


def build_parser() -> Parser:
    p = Parser(prog="vfm", description=DESCRIPTION, allow_abbrev=False,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def add(name, help_, desc=None):
        return sub.add_parser(name, help=help_, description=desc or help_, allow_abbrev=False,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    s = add("deps", "install the missing Debian 12 packages (apt-get; as root or via sudo)")
    s.add_argument("--check", action="store_true",
                   help="only report missing packages (exit status 1 if any)")

    meson_opt = dict(action="append", default=[], metavar="KEY=VALUE",
                     help="a Meson option for all build dirs, e.g. -Dpolicies=offload")
    s = add("setup", "configure (or reconfigure) build, build-riscv, build-riscv-clang, "
                     "build-asan, build-asan-clang and build-fuzz",
            "Configures build (native: host tests), build-riscv (GCC cross, minsize),\n"
            "build-riscv-clang (clang cross, minsize), build-asan and build-asan-clang\n"
            "(native, GCC and clang-14, ASan + UBSan: unit tests) and build-fuzz\n"
            "(native, clang-14, the libFuzzer targets); reconfigures those that exist.\n"
            "Arguments after -- go to `meson setup` as they are.")
    s.add_argument("-D", dest="options", **meson_opt)

    s = add("build", "setup if needed, then ninja in each build dir")
    s.add_argument("-D", dest="options", **meson_opt)

    s = add("test", "deps + setup + build + meson test in each build dir, with a summary",
            "Runs deps, configures and builds each build dir, runs `meson test\n"
            "--print-errorlogs` in build, build-riscv, build-riscv-clang, build-asan,\n"
            "build-asan-clang (these two: --suite unit unless --suite is given) and\n"
            "build-fuzz (--suite fuzz: a short fuzzing run of each target),\n"
            "and prints a summary from their meson-logs/testlog.json: per-dir counts\n"
            "and a final line `N passed, N failed[, N skipped]`. A failed configure or\n"
            "build counts as a failure. Exit status 1 when anything failed.\n"
            "With --stress N: builds the cross dirs, then runs their tests (every QEMU\n"
            "tier) N times while busy processes load every CPU; prints a line per round,\n"
            "every failure with its saved log, and a summary over all rounds. The\n"
            "normal results (testlog.json, `vfm summary`) are left alone.\n"
            "Arguments after -- go to `meson test`.")
    s.add_argument("--suite", action="append", default=[], metavar="SUITE",
                   help="only tests of this Meson suite (repeatable)")
    s.add_argument("--no-suite", action="append", default=[], metavar="SUITE",
                   help="skip tests of this Meson suite (repeatable)")
    s.add_argument("--no-slow", action="store_true", help="same as --no-suite slow")
    s.add_argument("--only", action="append", default=[], metavar="DIR",
                   help="only these build dirs: native, riscv, clang, asan, asan-clang, fuzz or a "
                        "dir name (repeatable)")
    s.add_argument("--no-deps", action="store_true", help="skip the deps step")
    s.add_argument("--stress", type=_positive_int, metavar="N",
                   help="run the QEMU tiers (build-riscv and build-riscv-clang, or --only's dirs) "
                        "N times under background CPU load; report every failure with its log")
    s.add_argument("--load", type=_count, metavar="N",
                   help="with --stress: busy processes of background load (default: one per CPU; "
                        "0: none)")
    s.add_argument("-D", dest="options", **meson_opt)

    s = add("summary", "print the test summary from the build dirs' testlog.json")
    s.add_argument("--quiet", "-q", action="store_true", help="only the final line")

    s = add("fetch", "fetch and cache the Debian trixie riscv64 kernel, busybox and OpenSBI 1.6",
            "Downloads linux-image-6.12.*-riscv64 (newest), busybox-static and opensbi\n"
            "(1.6) from Debian trixie with a private apt configuration, verifies them,\n"
            "builds the busybox initramfs and stores all in $VFM_CACHE (default\n"
            "~/.cache/vfm)/debian-trixie atomically. Does nothing when already there.")
    s.add_argument("--force", action="store_true", help="fetch again even if cached")
    s.add_argument("--check", action="store_true",
                   help="re-hash the cached files against the manifest, fetch nothing")
    s.add_argument("--insecure", action="store_true",
                   help="do not check the Debian archive signatures (trusted=yes)")
    s.add_argument("--paths", action="store_true", help="print NAME=PATH lines of the artifacts")

    s = add("run", "boot firmware (and Linux) under the monitor on QEMU virt",
            "Boots the monitor image (-bios) with the firmware loaded at the firmware\n"
            "address and, unless --no-kernel, a kernel and initramfs (default: the\n"
            "fetched Debian ones). Exit status: QEMU's (the virt test finisher's code),\n"
            "or with --exec the command's. Arguments after -- go to QEMU.\n"
            "Usage errors and bad images: one `vfm: error:` line, exit status 2.\n"
            "Timeouts: exit status 124.")
    s.add_argument("--firmware", default="opensbi-1.1", metavar="FILE|NAME",
                   help="firmware image (raw or ELF) or opensbi-1.1 (Debian 12's, default) "
                        "or opensbi-1.6 (Debian trixie's, fetched)")
    s.add_argument("--firmware-address", metavar="ADDR",
                   help="where the firmware is loaded (default 0x80100000; an ET_EXEC ELF's "
                        "own address when not given)")
    s.add_argument("--native", action="store_true",
                   help="the same stack without the monitor (the native jump stub as -bios)")
    s.add_argument("--bios", metavar="FILE",
                   help="use this monitor (or stub) image instead of the built one")
    s.add_argument("--toolchain", choices=sorted(TOOLCHAINS), default="gcc",
                   help="take the monitor from the GCC (build-riscv) or clang build")
    s.add_argument("--policy", action="append", default=[], metavar="NAME[,NAME]",
                   help=f"monitor with these policies ({', '.join(POLICIES)}), built on demand "
                        "in build-riscv-NAME...")
    s.add_argument("--give-firmware", dest="given", action="append", default=[], metavar="NODE[,NODE]",
                   help="hand these bus masters (DMA; device-tree node names such as fw-cfg or "
                        "virtio_mmio@10001000) to the firmware: a monitor built with "
                        "-Dfirmware_bus_masters, which gives up containment (docs/security.md)")
    s.add_argument("--kernel", metavar="FILE", help="kernel Image (default: the fetched one)")
    s.add_argument("--initrd", metavar="FILE", help="initrd (default: the fetched busybox one)")
    s.add_argument("--append", default="console=ttyS0", metavar="ARGS",
                   help="kernel command line (default: console=ttyS0)")
    s.add_argument("--no-kernel", action="store_true", help="firmware only (test firmwares)")
    s.add_argument("--machine", "-M", default="virt", choices=["virt", "sifive_u"],
                   help="QEMU machine (default virt; sifive_u: an E51 without S-mode and four U54s, "
                        "docs/boards.md)")
    s.add_argument("--smp", type=_positive_int, default=None, metavar="N",
                   help="harts (default 1 on virt, 5 on sifive_u)")
    s.add_argument("--memory", "-m", default="512M", metavar="SIZE", help="memory (default 512M)")
    s.add_argument("--cpu", metavar="CPU", help="QEMU -cpu, e.g. rv64,sstc=off")
    s.add_argument("--icount", action="store_true",
                   help="-icount shift=0: instruction-exact, repeatable time")
    s.add_argument("--exec", dest="exec_cmd", metavar="CMD",
                   help="run CMD in the guest, print its output, power off; exit status: CMD's")
    s.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                   help="stop QEMU after this long (default: none; 300 with --exec)")
    s.add_argument("--verbose", "-v", action="store_true",
                   help="with --exec: show the whole console, not only the command's output")
    s.add_argument("--log", metavar="FILE", help="with --exec: write the whole console to FILE")
    s.add_argument("--qemu-arg", action="append", default=[], metavar="ARG",
                   help="one more QEMU argument (repeatable; --qemu-arg=-s for dashes)")
    s.add_argument("--dry-run", action="store_true",
                   help="print the QEMU command line; build and fetch nothing")

    s = add("fuzz", "fuzz the monitor over the host backend (libFuzzer targets of test/fuzz)",
            "Builds build-fuzz if needed and runs each libFuzzer target (one per policy set:\n"
            "none, offload, offload-traptime, sandbox, counters, all) over its corpus in\n"
            "test/fuzz/corpus/<target>, then prints executions, exec/s, coverage\n"
            "(libFuzzer's cov: edges and ft: features) and findings per target. New\n"
            "inputs and findings go to build-fuzz/fuzz-runs/<target>/. Exit status 1\n"
            "on a finding. Arguments after -- go to every libFuzzer process.\n"
            "docs/fuzzing.md says what is driven and checked.")
    s.add_argument("--time", type=_seconds, metavar="SECONDS",
                   help="seconds each fuzzer process runs (default 60 unless --runs is given)")
    s.add_argument("--runs", type=_positive_int, metavar="N",
                   help="stop each fuzzer process after N executions")
    s.add_argument("--policy", action="append", default=[], metavar="NAME[,NAME]",
                   help="only these targets: none, offload, offload-traptime, sandbox, counters, all "
                        "(repeatable; default: all six)")
    s.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="N",
                   help="fuzzer processes at a time (default 1); more than targets: the first "
                        "targets get several")
    s.add_argument("--update-corpus", action="store_true",
                   help="afterwards merge the inputs that reach new coverage into test/fuzz/corpus")
    s.add_argument("--repro", metavar="FILE",
                   help="run one input once with every trap traced (one --policy)")
    s.add_argument("--no-deps", action="store_true", help="skip the deps step")

    s = add("difftest", "random privileged programs natively and under each monitor, compared "
                        "(see vfm difftest --help)")
    s.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    s = add("bench", "the project's figures, native vs monitor (csr, boot, micro; see "
                     "vfm bench --help)")
    s.add_argument("what", nargs="?", metavar="WHAT", help="csr, boot, micro or all")
    s.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return p


PASSTHROUGH = {"run", "test", "setup", "fuzz"}


# Options of `run` whose value may start with a dash (--qemu-arg -s).
DASH_VALUES = {"--qemu-arg", "--append", "--exec"}


def _split_passthrough(argv):
    """Splits `COMMAND ... -- REST` for the commands that pass REST on."""
    rest = []
    if argv and argv[0] in PASSTHROUGH and "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1:]
    if argv and argv[0] == "run":
        joined, i = [], 0
        while i < len(argv):
            if argv[i] in DASH_VALUES and i + 1 < len(argv):
                joined.append(f"{argv[i]}={argv[i + 1]}")
                i += 2
            else:
                joined.append(argv[i])
                i += 1
        argv = joined
    return argv, rest


def dispatch(argv) -> int:
    argv, rest = _split_passthrough(list(argv))
    if argv and argv[0] == "bench":  # bench parses its own options (bench.py)
        from . import bench
        return bench.main(argv[1:])
    if argv and argv[0] == "difftest":  # so does difftest (difftest.py)
        from . import difftest
        return difftest.main(argv[1:])
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    cmd = args.command
    if extra:
        where = f"vfm {cmd}" if cmd else "vfm"
        raise UsageError(f"unknown option or argument '{extra[0]}' (see {where} --help)")
    if cmd is None:
        parser.print_help()
        return 2
    if cmd == "deps":
        from . import deps
        return deps.cmd_deps(check_only=args.check)
    if cmd in ("setup", "build", "test"):
        from . import builddirs
        options = [f"-D{o}" for o in args.options] + (rest if cmd == "setup" else [])
        if cmd == "setup":
            return builddirs.cmd_setup(options)
        if cmd == "build":
            return builddirs.cmd_build(options)
        meson_args = [f"--suite={s}" for s in args.suite]
        meson_args += [f"--no-suite={s}" for s in args.no_suite + (["slow"] if args.no_slow else [])]
        if args.load is not None and args.stress is None:
            raise UsageError("--load needs --stress")
        return builddirs.cmd_test(meson_args + rest, options, args.only, not args.no_deps,
                                  stress=args.stress, load=args.load)
    if cmd == "fuzz":
        from . import fuzz
        return fuzz.cmd_fuzz(seconds=args.time, runs=args.runs, policies=args.policy, jobs=args.jobs,
                             update_corpus=args.update_corpus, repro=args.repro,
                             run_deps=not args.no_deps, extra=rest)
    if cmd == "summary":
        from . import builddirs
        return builddirs.cmd_summary(args.quiet)
    if cmd == "fetch":
        from . import fetch
        return fetch.cmd_fetch(args.force, args.insecure, args.check, args.paths)
    if cmd == "run":
        from . import qemu
        from .common import normalize_policies
        opts = qemu.RunOptions(
            firmware=args.firmware, machine=args.machine, native=args.native, kernel=args.kernel,
            initrd=args.initrd,
            append=args.append, no_kernel=args.no_kernel, smp=args.smp, memory=args.memory,
            cpu=args.cpu, icount=args.icount, exec_cmd=args.exec_cmd, timeout=args.timeout,
            policies=normalize_policies(args.policy), given=normalize_given(args.given),
            toolchain=args.toolchain, bios=args.bios,
            firmware_address=(qemu.parse_address(args.firmware_address)
                              if args.firmware_address is not None else None),
            qemu_args=list(args.qemu_arg) + rest, verbose=args.verbose, log=args.log)
        return qemu.cmd_run(opts, dry_run=args.dry_run)
    raise UsageError(f"unknown command {cmd}")


def main(argv=None) -> int:
    try:
        return dispatch(sys.argv[1:] if argv is None else argv)
    except VfmError as e:
        error(str(e))
        return e.status
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except BrokenPipeError:
        return 1
