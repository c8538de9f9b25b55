# SPDX-License-Identifier: MIT
"""The busybox initramfs and the per-command archive appended for --exec.

The init script is tools/init.sh (installed as /init). Its contract:
  - prints `vfm: user space reached` once proc, sys and devtmpfs are mounted;
  - if /vfm/exec.sh exists (the driver appends a second, gzipped cpio archive
    holding it to the initrd; Linux unpacks concatenated archives in order),
    or else the kernel command line has vfm.exec=<base64 of a command>, runs
    it with `sh`, prints `vfm: exec begin` before and
    `vfm: exec done status=<code>` after, and powers off;
  - otherwise runs an interactive shell on the console and powers off when
    it exits.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import subprocess
import tempfile
from pathlib import Path

from .common import VfmError

USER_SPACE_MARKER = "vfm: user space reached"
EXEC_BEGIN_MARKER = "vfm: exec begin"
EXEC_DONE_RE = re.compile(r"vfm: exec done status=(\d+)")
EXEC_FILE = "vfm/exec.sh"

INIT_SCRIPT = Path(__file__).resolve().parents[1] / "init.sh"

# Directories of the image (busybox --install -s fills bin, sbin, usr/*).
DIRS = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp",
        "root", "etc", "mnt", "run", "vfm"]


def init_script_bytes() -> bytes:
    try:
        return INIT_SCRIPT.read_bytes()
    except OSError as e:
        raise VfmError(f"cannot read the init script {INIT_SCRIPT}: {e.strerror}")


def init_script_sha256() -> str:
    return hashlib.sha256(init_script_bytes()).hexdigest()


def build(busybox: Path, out: Path) -> None:
    """Builds the gzipped newc initramfs out of busybox and tools/init.sh.

    Runs `find . | cpio -o -H newc` (sorted, owned by root) in a staging
    tree and gzips the result; writes out atomically.
    """
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix=".tmp-initramfs-", dir=out.parent) as tmp:
        stage = Path(tmp) / "root"
        for d in DIRS:
            (stage / d).mkdir(parents=True, exist_ok=True)
        (stage / "bin" / "busybox").write_bytes(Path(busybox).read_bytes())
        os.chmod(stage / "bin" / "busybox", 0o755)
        (stage / "init").write_bytes(init_script_bytes())
        os.chmod(stage / "init", 0o755)
        # find . | cpio: the file list in a fixed order, names as find prints them.
        names = ["."]
        for dirpath, dirnames, filenames in os.walk(stage):
            dirnames.sort()
            rel = os.path.relpath(dirpath, stage)
            for n in dirnames + sorted(filenames):
                names.append(n if rel == "." else f"{rel}/{n}")
        names = ["."] + sorted(n if n.startswith("./") else f"./{n}" for n in names[1:])
        try:
            proc = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"],
                                  cwd=stage, input="\n".join(names).encode() + b"\n",
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise VfmError("cpio not found (run ./vfm deps)")
        if proc.returncode != 0 or not proc.stdout:
            msg = proc.stderr.decode(errors="replace").strip().splitlines()
            raise VfmError("cpio failed: " + (msg[-1] if msg else f"exit status {proc.returncode}"))
        part = Path(tmp) / "initramfs.cpio.gz"
        with open(part, "wb") as f:
            f.write(gzip.compress(proc.stdout, compresslevel=9, mtime=0))
        os.replace(part, out)


# ---------------------------------------------------------------------------
# A minimal newc writer for the small archive that carries an --exec command.

def _newc_entry(name: str, mode: int, data: bytes = b"", ino: int = 1) -> bytes:
    namez = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 2 if mode & 0o040000 else 1, 0, len(data), 0, 0, 0, 0,
              len(namez), 0]
    head = b"070701" + b"".join(b"%08X" % v for v in fields) + namez
    head += b"\0" * (-len(head) % 4)
    return head + data + b"\0" * (-len(data) % 4)


def newc_archive(files: dict[str, bytes], dirs=()) -> bytes:
    """An uncompressed newc cpio archive with the given dirs and regular files."""
    out = io.BytesIO()
    ino = 0x5f000
    for d in dirs:
        ino += 1
        out.write(_newc_entry(d, 0o040755, ino=ino))
    for name, data in files.items():
        ino += 1
        out.write(_newc_entry(name, 0o100755, data, ino=ino))
    out.write(_newc_entry("TRAILER!!!", 0, ino=0))
    blob = out.getvalue()
    return blob + b"\0" * (-len(blob) % 512)


def exec_archive(command: str | None, files: dict | None = None) -> bytes:
    """The gzipped archive holding /vfm/exec.sh with the command (if any) and
    extra files: {path inside the initrd: bytes}, made executable, parent
    directories created."""
    entries = {}
    for name, data in (files or {}).items():
        name = str(name).strip("/")
        if not name or name == EXEC_FILE or any(p in ("", ".", "..") for p in name.split("/")):
            raise VfmError(f"bad initrd file name '{name}'")
        entries[name] = bytes(data)
    if command is not None:
        script = command if command.endswith("\n") else command + "\n"
        entries[EXEC_FILE] = script.encode()
    dirs = {"vfm"} if command is not None else set()
    for name in entries:
        parts = name.split("/")[:-1]
        dirs.update("/".join(parts[:i + 1]) for i in range(len(parts)))
    return gzip.compress(newc_archive(entries, dirs=sorted(dirs)), mtime=0)


def exec_initrd(base: Path, command: str | None, cache: Path, files: dict | None = None) -> Path:
    """base + the exec archive (command and extra files, see exec_archive),
    in a content-addressed file under <cache>/exec."""
    base_data = Path(base).read_bytes()
    extra = exec_archive(command, files)
    digest = hashlib.sha256(hashlib.sha256(base_data).digest() + extra).hexdigest()[:24]
    d = Path(cache) / "exec"
    d.mkdir(parents=True, exist_ok=True)
    out = d / f"initrd-{digest}.img"
    if not out.is_file():
        _prune(d)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(base_data)
                f.write(b"\0" * (-len(base_data) % 4))
                f.write(extra)
            os.replace(tmp, out)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    return out


def _prune(d: Path, keep: int = 32) -> None:
    """Keeps the cache of exec initrds small: the newest `keep` files stay."""
    try:
        files = sorted((p for p in d.iterdir() if p.name.startswith("initrd-")),
                       key=lambda p: p.stat().st_mtime, reverse=True)
        for p in files[keep:]:
            p.unlink()
    except OSError:
        pass


def encode_exec_arg(command: str) -> str:
    """The kernel command-line form: vfm.exec=<base64>, for other boot paths."""
    import base64
    return "vfm.exec=" + base64.b64encode(command.encode()).decode()
