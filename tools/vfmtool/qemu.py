# SPDX-License-Identifier: MIT
"""`run`: boots firmware (and Linux) under the monitor on QEMU virt.

The QEMU command line:
  qemu-system-riscv64 -M virt -nographic -bios <monitor or native stub>
      -device loader,file=<firmware>,addr=<firmware address>
      [-kernel K -initrd I -append A] -smp N -m M [-cpu C] [-icount shift=0]
      [--qemu-arg ...] [args after --]
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import elf, fetch, initramfs
from .common import (EXIT_TIMEOUT, MONITOR_IMAGE, NATIVE_STUB_IMAGE, UsageError, VfmError,
                     cache_root, monitor_build_dir, normalize_policies, quote, warn)

DEFAULT_FIRMWARE_ADDRESS = 0x80100000
DEFAULT_APPEND = "console=ttyS0"
DEFAULT_MEMORY = "512M"
DEFAULT_EXEC_TIMEOUT = 300.0
# After the guest reported the command's status, QEMU should exit on its own
# (poweroff); if it has not after this long it is stopped.
POWEROFF_GRACE = 30.0

# The QEMU machines the monitor's board layer serves (docs/boards.md): per
# machine its harts' range, the default -smp, the Linux console and whether the
# guest must reboot instead of powering off (sifive_u has no poweroff device:
# its gpio-restart line resets the machine, which -no-reboot turns into an exit).
MACHINES = {
    "virt": {"smp": (1, 512), "default_smp": 1, "console": "ttyS0", "reboot_to_exit": False},
    "sifive_u": {"smp": (2, 5), "default_smp": 5, "console": "ttySIF0", "reboot_to_exit": True},
}

SYSTEM_OPENSBI = Path("/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin")
FIRMWARE_NAMES = ("opensbi-1.1", "opensbi-1.6")

MEMORY_RE = re.compile(r"^[1-9][0-9]*[KMGT]?$", re.IGNORECASE)


@dataclass
class RunOptions:
    """Everything `vfm run` takes; defaults match the command line's."""

    firmware: str = "opensbi-1.1"  # a file, or a name in FIRMWARE_NAMES
    machine: str = "virt"  # a key of MACHINES
    native: bool = False
    kernel: str | None = None
    initrd: str | None = None
    append: str = DEFAULT_APPEND
    no_kernel: bool = False
    smp: int | None = None  # None: the machine's default
    memory: str = DEFAULT_MEMORY
    cpu: str | None = None
    icount: bool = False
    exec_cmd: str | None = None
    timeout: float | None = None  # None: DEFAULT_EXEC_TIMEOUT with exec_cmd, else no limit
    policies: tuple = ()
    given: tuple = ()  # bus masters handed to the firmware (--give-firmware): containment given up
    toolchain: str = "gcc"
    bios: str | None = None  # overrides the monitor / native stub image
    firmware_address: int | None = None  # None: DEFAULT_FIRMWARE_ADDRESS (or the ELF's)
    qemu_args: list = field(default_factory=list)
    verbose: bool = False  # --exec: show the whole console, not just the command's output
    log: str | None = None  # --exec: also write the whole console here
    # Extra files appended to the initrd: {path inside it: host file}, executable.
    initrd_files: dict = field(default_factory=dict)


@dataclass
class Prepared:
    argv: list  # the QEMU command line
    firmware: Path
    firmware_address: int
    bios: Path
    kernel: Path | None
    initrd: Path | None


@dataclass
class BootResult:
    """What a non-interactive run saw."""

    returncode: int | None  # QEMU's exit status (None: killed by us)
    timed_out: bool
    console: str  # everything QEMU printed on stdout (\r\n turned into \n)
    status: int | None = None  # --exec: the command's exit status, when reported
    output: str = ""  # --exec: what the command printed
    user_space: bool = False  # the init's "vfm: user space reached" was seen
    argv: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The command ran and exited 0 (--exec), or QEMU exited 0."""
        if self.timed_out:
            return False
        return self.status == 0 if self.status is not None else self.returncode == 0


def qemu_binary() -> str:
    return os.environ.get("VFM_QEMU", "qemu-system-riscv64")


def _qemu_opt_value(s: str) -> str:
    """QEMU's option syntax doubles commas inside values."""
    return str(s).replace(",", ",,")


def _check_file(path, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{what} {p} does not exist")
    if not p.is_file():
        raise UsageError(f"{what} {p} is not a file")
    try:
        with open(p, "rb") as f:
            head = f.read(1)
    except OSError as e:
        raise UsageError(f"{what} {p} is not readable: {e.strerror}")
    if not head:
        raise UsageError(f"{what} {p} is empty")
    return p


def parse_address(text: str) -> int:
    try:
        value = int(str(text), 0)
    except ValueError:
        raise UsageError(f"bad address '{text}' (e.g. 0x80100000)")
    if value < 0 or value >= 1 << 64 or value % 4:
        raise UsageError(f"bad address '{text}' (must be a 4-byte aligned 64-bit address)")
    return value


def validate(opts: RunOptions) -> None:
    if opts.machine not in MACHINES:
        raise UsageError(f"unknown --machine '{opts.machine}' (one of {', '.join(MACHINES)})")
    low, high = MACHINES[opts.machine]["smp"]
    if opts.smp is not None and (not isinstance(opts.smp, int) or not low <= opts.smp <= high):
        raise UsageError(f"bad --smp value '{opts.smp}' ({low} to {high} harts on {opts.machine})")
    if not MEMORY_RE.match(str(opts.memory)):
        raise UsageError(f"bad --memory value '{opts.memory}' (e.g. 512M or 2G)")
    if opts.timeout is not None and not opts.timeout > 0:
        raise UsageError(f"bad --timeout value '{opts.timeout}' (seconds, > 0)")
    if opts.cpu is not None and not str(opts.cpu).strip():
        raise UsageError("empty --cpu value")
    if opts.no_kernel and (opts.kernel or opts.initrd or opts.exec_cmd or opts.initrd_files):
        raise UsageError("--no-kernel cannot be combined with --kernel, --initrd or --exec")
    if opts.native and opts.policies:
        raise UsageError("--policy selects a monitor build; it has no meaning with --native")
    if opts.native and opts.given:
        raise UsageError("--give-firmware selects a monitor build; it has no meaning with --native")
    if opts.exec_cmd is not None and not str(opts.exec_cmd).strip():
        raise UsageError("empty --exec command")
    normalize_policies(opts.policies)


def resolve_firmware(opts: RunOptions, cache: Path, *, dry_run: bool) -> tuple[Path, int]:
    """The raw firmware image to load and its address."""
    fw = opts.firmware
    if fw == "opensbi-1.1":
        if not SYSTEM_OPENSBI.is_file():
            raise UsageError(f"{SYSTEM_OPENSBI} not found: install Debian's opensbi (./vfm deps)")
        path = SYSTEM_OPENSBI
    elif fw == "opensbi-1.6":
        art = fetch.load(cache) if dry_run else fetch.ensure(cache)
        path = art.fw_dynamic if art else fetch.artifact_root(cache) / fetch.OPENSBI_DIR / "fw_dynamic.bin"
        if art is None:
            warn(f"{path} is not fetched yet (./vfm fetch)")
            return path, opts.firmware_address or DEFAULT_FIRMWARE_ADDRESS
    else:
        path = _check_file(fw, "firmware image")
    return prepare_image(path, opts.firmware_address, cache)


def prepare_image(path: Path, address: int | None, cache: Path) -> tuple[Path, int]:
    """(raw image, load address) for a raw or ELF firmware image.

    A raw image loads at `address` (default 0x80100000). An ELF is flattened
    into <cache>/flat/; a position-independent one (ET_DYN) loads at
    `address`, an ET_EXEC one at its lowest physical load address unless an
    address is given explicitly.
    """
    path = _check_file(path, "firmware image")
    with open(path, "rb") as f:
        data = f.read()
    if not elf.is_elf(data):
        return path, address if address is not None else DEFAULT_FIRMWARE_ADDRESS
    try:
        flat = elf.flatten(data)
    except elf.ElfError as e:
        raise UsageError(f"firmware image {path}: {e}")
    if flat.relocatable or address is not None:
        load = address if address is not None else DEFAULT_FIRMWARE_ADDRESS
    else:
        load = flat.base
        if load != DEFAULT_FIRMWARE_ADDRESS:
            hint = (" and overlaps the monitor; if it is position independent, give "
                    f"--firmware-address {DEFAULT_FIRMWARE_ADDRESS:#x}"
                    if load < DEFAULT_FIRMWARE_ADDRESS else "")
            warn(f"firmware ELF {path.name} is linked at {load:#x}, not at "
                 f"{DEFAULT_FIRMWARE_ADDRESS:#x}: loading it there (the monitor must be configured "
                 f"with -Dfirmware_address={load:#x}){hint}")
    if flat.entry_offset != 0:
        warn(f"firmware ELF {path.name}: entry point {flat.entry:#x} is not at the start of its "
             f"image ({flat.base:#x}); the monitor starts the firmware at its first byte")
    digest = hashlib.sha256(data).hexdigest()[:24]
    d = cache / "flat"
    out = d / f"{path.stem}-{digest}.bin"
    if not out.is_file():
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
        with os.fdopen(fd, "wb") as f:
            f.write(flat.data)
        os.replace(tmp, out)
    return out, load


def resolve_bios(opts: RunOptions, *, dry_run: bool) -> Path:
    if opts.bios:
        return _check_file(opts.bios, "monitor image")
    bd = monitor_build_dir(opts.toolchain, () if opts.native else opts.policies,
                           given=() if opts.native else opts.given)
    target = NATIVE_STUB_IMAGE if opts.native else MONITOR_IMAGE
    what = "native stub" if opts.native else "monitor image"
    path = bd.path / target
    if dry_run:
        if not path.is_file():
            warn(f"{what} {path} is not built yet")
        return path
    # Always brought up to date (silent when it is): the image matches the sources.
    from . import builddirs
    builddirs.ensure_built(bd, target)
    return _check_file(path, what)


def prepare(opts: RunOptions, *, dry_run: bool = False, cache: Path | None = None) -> Prepared:
    """Validates, resolves (building/fetching unless dry_run) and builds the command."""
    validate(opts)
    cache = cache or cache_root()
    firmware, address = resolve_firmware(opts, cache, dry_run=dry_run)
    bios = resolve_bios(opts, dry_run=dry_run)
    kernel = initrd = None
    if not opts.no_kernel:
        art = None
        if opts.kernel is None or opts.initrd is None:
            art = fetch.load(cache) if dry_run else fetch.ensure(cache)
            if art is None:
                warn(f"the Debian kernel and initramfs are not fetched yet into {cache} (./vfm fetch)")
        root = fetch.artifact_root(cache)
        kernel = _check_file(opts.kernel, "kernel") if opts.kernel else (
            art.kernel if art else root / "Image")
        initrd = _check_file(opts.initrd, "initrd") if opts.initrd else (
            art.initramfs if art else root / "initramfs.cpio.gz")
        if (opts.exec_cmd is not None or opts.initrd_files) and initrd.is_file():
            files = {name: _check_file(path, "initrd file").read_bytes()
                     for name, path in opts.initrd_files.items()}
            initrd = initramfs.exec_initrd(initrd, opts.exec_cmd, cache, files)
    machine = MACHINES[opts.machine]
    argv = [qemu_binary(), "-M", opts.machine, "-nographic", "-bios", str(bios),
            "-device", f"loader,file={_qemu_opt_value(firmware)},addr={address:#x}"]
    if kernel is not None:
        # The machine's own console name where the command line names virt's.
        append = opts.append.replace("console=ttyS0", "console=" + machine["console"])
        if machine["reboot_to_exit"]:
            append += " vfm.off=reboot"  # tools/init.sh: reboot -f instead of poweroff -f
        argv += ["-kernel", str(kernel), "-initrd", str(initrd), "-append", append]
    if machine["reboot_to_exit"]:
        argv += ["-no-reboot"]
    smp = opts.smp if opts.smp is not None else machine["default_smp"]
    argv += ["-smp", str(smp), "-m", str(opts.memory)]
    if opts.cpu:
        argv += ["-cpu", str(opts.cpu)]
    if opts.icount:
        argv += ["-icount", "shift=0"]
    argv += [str(a) for a in opts.qemu_args]
    return Prepared(argv, firmware, address, bios, kernel, initrd)


# ---------------------------------------------------------------------------
# Running QEMU

# QEMU's line when it stops on a signal; dropped when the signal came from
# this process (a --timeout or an interrupt), which says so in its own words.
_OWN_SIGNAL_RE = re.compile(r"terminating on signal \d+ from pid (\d+)")


def _spawn(argv, **kwargs) -> subprocess.Popen:
    """QEMU with its stderr passed on line by line, but for its report of a
    signal this process sent it."""
    try:
        proc = subprocess.Popen(argv, stderr=subprocess.PIPE, **kwargs)
    except FileNotFoundError:
        raise VfmError(f"{argv[0]} not found (run ./vfm deps)")

    def copy_stderr():
        own = str(os.getpid())
        for raw in iter(proc.stderr.readline, b""):
            m = _OWN_SIGNAL_RE.search(raw.decode(errors="replace"))
            if m and m.group(1) == own:
                continue
            sys.stderr.buffer.write(raw)
            sys.stderr.buffer.flush()
        proc.stderr.close()

    proc.stderr_thread = threading.Thread(target=copy_stderr, daemon=True)
    proc.stderr_thread.start()
    return proc


def _join_stderr(proc: subprocess.Popen) -> None:
    """Waits (briefly) until QEMU's last stderr line is passed on."""
    thread = getattr(proc, "stderr_thread", None)
    if thread is not None:
        thread.join(5)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM (QEMU restores the terminal), then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


class _Terminated(Exception):
    pass


class _StopOnSigterm:
    """Turns SIGTERM (e.g. a test harness's timeout) into an exception, so
    QEMU is stopped instead of outliving the driver."""

    def __enter__(self):
        self.old = None
        try:
            self.old = signal.signal(signal.SIGTERM, self._raise)
        except ValueError:  # not the main thread
            pass
        return self

    @staticmethod
    def _raise(signum, frame):
        raise _Terminated()

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGTERM, self.old)
        return False


def _exit_status(returncode: int) -> int:
    """A signal-killed QEMU (negative code) as a shell would report it."""
    return 128 - returncode if returncode < 0 else returncode


def run_interactive(argv, timeout: float | None) -> int:
    """QEMU on the terminal; returns its exit status."""
    proc = _spawn(argv)
    try:
        with _StopOnSigterm():
            proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        _join_stderr(proc)
        raise VfmError(f"timed out after {timeout:g} s: QEMU stopped", EXIT_TIMEOUT)
    except (KeyboardInterrupt, _Terminated):
        _stop(proc)
        _join_stderr(proc)
        raise VfmError("interrupted: QEMU stopped", 130)
    _join_stderr(proc)
    return _exit_status(proc.returncode)


class _Console:
    """Follows the console; in exec mode picks out the command's output."""

    def __init__(self, exec_mode: bool, echo, verbose: bool, logfile):
        self.exec_mode = exec_mode
        self.echo = echo  # callable(str) or None
        self.verbose = verbose
        self.logfile = logfile
        self.text = []
        self.partial = ""
        self.in_command = False
        self.output = []
        self.status = None
        self.user_space = False

    def feed(self, chunk: str) -> None:
        chunk = chunk.replace("\r\n", "\n")
        self.text.append(chunk)
        if self.logfile:
            self.logfile.write(chunk)
        if self.verbose and self.echo:
            self.echo(chunk)
        data = self.partial + chunk
        lines = data.split("\n")
        self.partial = lines.pop()
        for line in lines:
            self._line(line + "\n")
        # A command's last line may have no newline: the marker follows it directly.
        if self.partial and initramfs.EXEC_DONE_RE.search(self.partial):
            self._line(self.partial)
            self.partial = ""

    def flush(self) -> None:
        if self.partial:
            self._line(self.partial)
            self.partial = ""

    def _line(self, line: str) -> None:
        bare = line.rstrip("\r\n")
        if initramfs.USER_SPACE_MARKER in bare:
            self.user_space = True
        if not self.exec_mode:
            return
        if not self.in_command:
            if self.status is None and bare.endswith(initramfs.EXEC_BEGIN_MARKER):
                self.in_command = True
            return
        m = initramfs.EXEC_DONE_RE.search(line)
        if m:
            before = line[:m.start()]
            if before:
                self._out(before + "\n")
            self.status = int(m.group(1))
            self.in_command = False
            return
        self._out(line)

    def _out(self, text: str) -> None:
        self.output.append(text)
        if self.echo and not self.verbose:
            self.echo(text)


def run_captured(argv, *, timeout: float | None, exec_mode: bool = False, echo=None,
                 verbose: bool = False, log: str | None = None) -> BootResult:
    """Runs QEMU with stdin closed and stdout captured.

    echo(str) gets the command's output as it arrives (exec mode) or the
    whole console (verbose, or not exec mode). In exec mode QEMU is stopped
    POWEROFF_GRACE seconds after the status marker if it has not exited.
    """
    if echo is not None and not exec_mode:
        verbose = True
    logfile = open(log, "w", encoding="utf-8") if log else None
    con = _Console(exec_mode, echo, verbose, logfile)
    proc = _spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    start = time.monotonic()
    deadline = start + timeout if timeout else None
    timed_out = False
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    done_at = None
    eof = False
    sigterm = _StopOnSigterm().__enter__()
    try:
        while True:
            now = time.monotonic()
            limit = None
            if deadline is not None:
                limit = deadline - now
            if done_at is not None:
                g = done_at + POWEROFF_GRACE - now
                limit = g if limit is None else min(limit, g)
            if limit is not None and limit <= 0:
                if done_at is None:
                    timed_out = True
                break
            events = sel.select(limit)
            if not events:
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                eof = True
                break
            con.feed(decoder.decode(chunk))
            if exec_mode and con.status is not None and done_at is None:
                done_at = time.monotonic()
    except (KeyboardInterrupt, _Terminated):
        _stop(proc)
        _join_stderr(proc)
        raise VfmError("interrupted: QEMU stopped", 130)
    finally:
        sigterm.__exit__(None, None, None)
        sel.close()
        con.feed(decoder.decode(b"", final=True))
        con.flush()
        if logfile:
            logfile.close()
    if proc.poll() is None:
        try:
            proc.wait(5 if eof else 0)
        except subprocess.TimeoutExpired:
            pass
    killed = proc.poll() is None
    _stop(proc)
    _join_stderr(proc)
    proc.stdout.close()
    return BootResult(None if killed else _exit_status(proc.returncode), timed_out,
                      "".join(con.text),
                      con.status, "".join(con.output), con.user_space, list(argv))


def _tail(text: str, n: int = 30) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-n:])


def cmd_run(opts: RunOptions, dry_run: bool = False) -> int:
    prepared = prepare(opts, dry_run=dry_run)
    if dry_run:
        print(quote(prepared.argv), flush=True)
        return 0
    timeout = opts.timeout
    if opts.exec_cmd is None:
        return run_interactive(prepared.argv, timeout)
    if timeout is None:
        timeout = DEFAULT_EXEC_TIMEOUT

    def echo(text):
        sys.stdout.write(text)
        sys.stdout.flush()

    res = run_captured(prepared.argv, timeout=timeout, exec_mode=True, echo=echo,
                       verbose=opts.verbose, log=opts.log)
    if res.status is None:
        if not opts.verbose:
            sys.stderr.write(_tail(res.console) + "\n")
        if res.timed_out:
            raise VfmError(f"timed out after {timeout:g} s before the guest reported the command's "
                           "status (QEMU stopped)", EXIT_TIMEOUT)
        where = "after user space was reached" if res.user_space else "before user space was reached"
        raise VfmError(f"QEMU exited (status {res.returncode}) {where} without the command's status")
    if res.returncode is None:
        warn(f"QEMU did not exit within {POWEROFF_GRACE:g} s of the poweroff; stopped it")
    elif res.returncode != 0:
        warn(f"QEMU exited with status {res.returncode} after the command finished")
    return min(res.status, 255)
