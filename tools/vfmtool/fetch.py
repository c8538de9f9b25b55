# SPDX-License-Identifier: MIT
"""`fetch`: Debian trixie riscv64 artifacts (kernel, busybox, OpenSBI 1.6).

Cache layout (root: $VFM_CACHE, else ~/.cache/vfm):

  debian-trixie/            complete and verified, or absent
    manifest.json           packages, versions, mirror, sha256 of every file
    Image                   the kernel: boot/vmlinux-<ver> of linux-image-6.12.*-riscv64
    config                  that kernel's configuration
    busybox                 usr/bin/busybox of busybox-static (riscv64, static)
    initramfs.cpio.gz       busybox + tools/init.sh as /init
    opensbi-1.6/            fw_dynamic.bin/.elf, fw_jump.bin/.elf (generic platform)
    dtbs/<vendor>/*.dtb     the boards' device trees the kernel package ships
                            (usr/lib/linux-image-<ver>/), test data of the
                            board layer (test/unit/fdt/board_dtbs.py)
  flat/                     raw images flattened from ELF firmware
  exec/                     initrds with an appended --exec command

A fetch works in <root>/.tmp-fetch-*, holds a lock on <root> and renames
the result into place only when everything is present and verified.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cmp_to_key
from pathlib import Path

from . import elf, initramfs
from .common import VfmError, cache_root, info, warn

SUITE = "trixie"
ARCH = "riscv64"
ARTIFACT_DIR = f"debian-{SUITE}"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
KERNEL_SERIES = "6.12"
PACKAGES_FIXED = ["busybox-static", "opensbi"]
OPENSBI_DIR = "opensbi-1.6"
OPENSBI_FILES = ["fw_dynamic.bin", "fw_dynamic.elf", "fw_jump.bin", "fw_jump.elf"]
OPENSBI_SRC = "usr/lib/riscv64-linux-gnu/opensbi/generic"
IMAGE_MAGIC2 = b"RSC\x05"  # RISC-V Linux Image header, offset 0x38


@dataclass
class Artifacts:
    root: Path
    manifest: dict

    @property
    def kernel(self) -> Path:
        return self.root / "Image"

    @property
    def busybox(self) -> Path:
        return self.root / "busybox"

    @property
    def initramfs(self) -> Path:
        return self.root / "initramfs.cpio.gz"

    @property
    def opensbi_dir(self) -> Path:
        return self.root / OPENSBI_DIR

    @property
    def fw_dynamic(self) -> Path:
        return self.opensbi_dir / "fw_dynamic.bin"

    @property
    def dtbs(self) -> Path:
        return self.root / "dtbs"

    @property
    def kernel_version(self) -> str:
        return str(self.manifest.get("kernel_version", "?"))


def artifact_root(cache: Path | None = None) -> Path:
    return (cache or cache_root()) / ARTIFACT_DIR


# ---------------------------------------------------------------------------
# Debian version ordering (dpkg's algorithm), to pick the newest kernel.

def _order(c: str) -> int:
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        first_diff = 0
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def compare_versions(a: str, b: str) -> int:
    """<0, 0, >0 like `dpkg --compare-versions` (epoch:upstream-revision)."""
    def split(v):
        epoch, _, rest = v.partition(":") if ":" in v else ("0", "", v)
        upstream, _, rev = rest.rpartition("-") if "-" in rest else (rest, "", "")
        return int(epoch or 0), upstream, rev
    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return ea - eb
    return _verrevcmp(ua, ub) or _verrevcmp(ra, rb)


KERNEL_RE = re.compile(r"^linux-image-(%s\.[0-9][^ ]*)-%s$" % (re.escape(KERNEL_SERIES), ARCH))


def pick_kernel(names) -> str | None:
    """The newest linux-image-6.12.*-riscv64 package name (no -dbg, -unsigned)."""
    cands = []
    for n in names:
        n = n.strip()
        m = KERNEL_RE.match(n)
        if m and not n.endswith(("-dbg", "-unsigned")):
            cands.append((m.group(1), n))
    if not cands:
        return None
    cands.sort(key=cmp_to_key(lambda x, y: compare_versions(x[0], y[0])))
    return cands[-1][1]


# ---------------------------------------------------------------------------
# The mirror: the URI this machine's apt already uses for Debian.

def _debian_uri(uri: str) -> bool:
    u = uri.rstrip("/")
    return u.startswith(("http://", "https://")) and u.endswith("/debian")


def mirror_uri(etc: Path = Path("/etc/apt")) -> str:
    env = os.environ.get("VFM_DEBIAN_MIRROR")
    if env:
        return env.rstrip("/")
    files = []
    d = etc / "sources.list.d"
    if d.is_dir():
        files += sorted(p for p in d.iterdir() if p.suffix == ".sources")
    try:
        for p in files:
            for line in p.read_text(errors="replace").splitlines():
                key, _, value = line.partition(":")
                if key.strip().lower() == "uris" and not line.lstrip().startswith("#"):
                    for uri in value.split():
                        if _debian_uri(uri):
                            return uri.rstrip("/")
        lists = [etc / "sources.list"]
        if d.is_dir():
            lists += sorted(p for p in d.iterdir() if p.suffix == ".list")
        for p in lists:
            if not p.is_file():
                continue
            for line in p.read_text(errors="replace").splitlines():
                line = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0])
                words = line.split()
                if len(words) >= 2 and words[0] == "deb" and _debian_uri(words[1]):
                    return words[1].rstrip("/")
    except OSError:
        pass
    return DEFAULT_MIRROR


# ---------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load(cache: Path | None = None) -> Artifacts | None:
    """The fetched artifacts if complete, else None (cheap checks only)."""
    root = artifact_root(cache)
    try:
        manifest = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    art = Artifacts(root, manifest if isinstance(manifest, dict) else {})
    for p in (art.kernel, art.busybox, art.initramfs, art.fw_dynamic):
        try:
            if p.stat().st_size == 0:
                return None
        except OSError:
            return None
    if not art.dtbs.is_dir():  # a cache from before the boards' device trees: fetched again
        return None
    return art


def verify(art: Artifacts) -> list[str]:
    """Problems found re-hashing the files against the manifest (empty: fine)."""
    problems = []
    for rel, meta in sorted(art.manifest.get("files", {}).items()):
        p = art.root / rel
        if not p.is_file():
            problems.append(f"{rel} is missing")
        elif rel != "initramfs.cpio.gz" and _sha256(p) != meta.get("sha256"):
            problems.append(f"{rel} does not match its sha256")
    return problems


@contextmanager
def _locked(cache: Path):
    cache.mkdir(parents=True, exist_ok=True)
    fd = os.open(cache, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            info(f"waiting for another fetch into {cache}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _remove_stale(cache: Path) -> None:
    for p in cache.iterdir():
        if p.name.startswith((".tmp-fetch-", ".tmp-old-")):
            shutil.rmtree(p, ignore_errors=True)


class _Apt:
    """apt-get/apt-cache with a private configuration: the system's state is untouched."""

    def __init__(self, work: Path, mirror: str, insecure: bool):
        self.work = work
        self.log = work / "apt.log"
        lists = work / "apt" / "lists"
        cachedir = work / "apt" / "cache"
        (lists / "partial").mkdir(parents=True)
        (cachedir / "archives" / "partial").mkdir(parents=True)
        src = work / "apt" / "sources.list"
        if insecure or not KEYRING.is_file():
            if not insecure:
                warn(f"{KEYRING} not found: the packages' signatures cannot be checked")
            opt = f"arch={ARCH} trusted=yes"
        else:
            opt = f"arch={ARCH} signed-by={KEYRING}"
        self.signed = "signed-by" in opt
        src.write_text(f"deb [{opt}] {mirror} {SUITE} main\n")
        self.opts = [
            "-o", f"Dir::Etc::SourceList={src}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={lists}",
            "-o", f"Dir::Cache={cachedir}",
            "-o", "Dir::State::status=/dev/null",
            "-o", f"APT::Architecture={ARCH}",
            "-o", f"APT::Architectures={ARCH}",
            "-o", "Debug::NoLocking=1",
        ]
        if os.geteuid() == 0:
            # Downloads go to a private dir the _apt user may not reach.
            self.opts += ["-o", "APT::Sandbox::User=root"]

    def run(self, tool: str, args, cwd=None) -> str:
        argv = [tool] + self.opts + list(args)
        try:
            proc = subprocess.run(argv, cwd=cwd or self.work, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  env=dict(os.environ, LC_ALL="C", DEBIAN_FRONTEND="noninteractive"))
        except FileNotFoundError:
            raise VfmError(f"fetch failed: {tool} not found (vfm fetch needs Debian's apt)")
        out = proc.stdout.decode(errors="replace")
        with open(self.log, "a") as f:
            f.write(f"$ {' '.join(argv)}\n{out}\n")
        if proc.returncode != 0:
            errs = [ln for ln in out.splitlines() if ln.startswith(("E:", "Err:"))]
            detail = errs[-1] if errs else (out.strip().splitlines() or [""])[-1]
            what = " ".join([tool] + [a for a in args if not a.startswith("-")][:1])
            raise VfmError(f"fetch failed: `{what}` exited with status {proc.returncode}"
                           + (f": {detail.strip()}" if detail.strip() else ""))
        return out


def _dpkg_x(deb: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(["dpkg", "-x", str(deb), str(dest)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except FileNotFoundError:
        raise VfmError("fetch failed: dpkg not found")
    if proc.returncode != 0:
        msg = proc.stdout.decode(errors="replace").strip().splitlines()
        raise VfmError(f"fetch failed: dpkg -x {deb.name}: " + (msg[-1] if msg else "error"))


def _deb_field(deb: Path, field: str) -> str:
    proc = subprocess.run(["dpkg-deb", "-f", str(deb), field], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
    return proc.stdout.decode(errors="replace").strip()


def _check_kernel(path: Path) -> None:
    with open(path, "rb") as f:
        head = f.read(64)
    if len(head) < 64 or head[0x38:0x3C] != IMAGE_MAGIC2:
        raise VfmError(f"fetch failed: {path.name} is not a RISC-V Linux Image")


def _populate(work: Path, mirror: str, insecure: bool) -> Path:
    """Downloads, extracts and verifies into work/out; returns that dir."""
    apt = _Apt(work, mirror, insecure)
    info(f"fetch: package lists of Debian {SUITE} ({ARCH}) from {mirror}"
         + ("" if apt.signed else " (signatures not checked)"))
    apt.run("apt-get", ["-q", "update"])
    names = apt.run("apt-cache", ["pkgnames", f"linux-image-{KERNEL_SERIES}."]).split()
    kernel_pkg = pick_kernel(names)
    if not kernel_pkg:
        raise VfmError(f"fetch failed: no linux-image-{KERNEL_SERIES}.*-{ARCH} package in {SUITE}")
    pkgs = [kernel_pkg] + PACKAGES_FIXED
    debs = work / "debs"
    debs.mkdir()
    info("fetch: downloading " + " ".join(pkgs))
    apt.run("apt-get", ["-q", "download"] + pkgs, cwd=debs)

    found = {}
    for deb in debs.glob("*.deb"):
        found[_deb_field(deb, "Package") or deb.name.split("_")[0]] = deb
    missing = [p for p in pkgs if p not in found]
    if missing:
        raise VfmError("fetch failed: not downloaded: " + " ".join(missing))

    info("fetch: extracting")
    out = work / "out"
    out.mkdir()
    versions = {}
    for pkg in pkgs:
        dest = work / "x" / pkg
        _dpkg_x(found[pkg], dest)
        versions[pkg] = _deb_field(found[pkg], "Version")
        kx = dest
        if pkg == kernel_pkg:
            images = sorted((kx / "boot").glob("vmlinux-*"))
            if not images or images[0].stat().st_size == 0:
                raise VfmError(f"fetch failed: {pkg} has no boot/vmlinux-*")
            kernel_version = images[0].name[len("vmlinux-"):]
            shutil.move(str(images[0]), out / "Image")
            _check_kernel(out / "Image")
            cfg = kx / "boot" / f"config-{kernel_version}"
            if cfg.is_file():
                shutil.move(str(cfg), out / "config")
            (out / "dtbs").mkdir()
            for dtb in sorted((kx / "usr" / "lib").glob("linux-image-*/*/*.dtb")):
                vendor = out / "dtbs" / dtb.parent.name
                vendor.mkdir(exist_ok=True)
                shutil.move(str(dtb), vendor / dtb.name)
        elif pkg == "busybox-static":
            bb = kx / "usr" / "bin" / "busybox"
            if not bb.is_file() or bb.stat().st_size == 0:
                raise VfmError("fetch failed: busybox-static has no usr/bin/busybox")
            try:
                elf.check_riscv64(bb.read_bytes()[:64])
            except elf.ElfError as e:
                raise VfmError(f"fetch failed: busybox: {e}")
            shutil.move(str(bb), out / "busybox")
            os.chmod(out / "busybox", 0o755)
        elif pkg == "opensbi":
            src = kx / OPENSBI_SRC
            (out / OPENSBI_DIR).mkdir()
            for name in OPENSBI_FILES:
                if (src / name).is_file():
                    shutil.move(str(src / name), out / OPENSBI_DIR / name)
            fw = out / OPENSBI_DIR / "fw_dynamic.bin"
            if not fw.is_file() or fw.stat().st_size == 0:
                raise VfmError(f"fetch failed: opensbi has no {OPENSBI_SRC}/fw_dynamic.bin")
        shutil.rmtree(dest)

    info("fetch: building the initramfs")
    initramfs.build(out / "busybox", out / "initramfs.cpio.gz")
    if not os.access(out / "busybox", os.X_OK):
        raise VfmError("fetch failed: busybox is not executable")

    files = {}
    for p in sorted(out.rglob("*")):
        if p.is_file():
            files[str(p.relative_to(out))] = {"sha256": _sha256(p), "size": p.stat().st_size}
    manifest = {
        "suite": SUITE,
        "architecture": ARCH,
        "mirror": mirror,
        "signatures_checked": apt.signed,
        "fetched": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "kernel_package": kernel_pkg,
        "kernel_version": kernel_version,
        "packages": versions,
        "init_sha256": initramfs.init_script_sha256(),
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return out


def fetch(cache: Path | None = None, force: bool = False, insecure: bool = False) -> Artifacts:
    """Fetches the artifacts unless present (or force); atomic; returns them."""
    cache = cache or cache_root()
    try:
        with _locked(cache):
            _remove_stale(cache)
            art = load(cache)
            if art and not force:
                return art
            work = Path(tempfile.mkdtemp(prefix=".tmp-fetch-", dir=cache))
            try:
                out = _populate(work, mirror_uri(), insecure)
                final = artifact_root(cache)
                old = None
                if final.exists():
                    old = Path(tempfile.mkdtemp(prefix=".tmp-old-", dir=cache))
                    os.rename(final, old / "x")
                os.rename(out, final)
                if old:
                    shutil.rmtree(old, ignore_errors=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    except OSError as e:
        raise VfmError(f"fetch failed: {e.strerror or e}: {e.filename or cache}")
    art = load(cache)
    if art is None:
        raise VfmError(f"fetch failed: {artifact_root(cache)} is incomplete after fetching")
    info(f"fetch: done: {art.root} (linux {art.kernel_version})")
    return art


def ensure(cache: Path | None = None) -> Artifacts:
    """The artifacts, fetched first if needed; the initramfs rebuilt when
    tools/init.sh changed since it was built."""
    cache = cache or cache_root()
    art = load(cache)
    if art is None:
        info(f"the Debian {SUITE} artifacts are not in {cache}: fetching them")
        art = fetch(cache)
    if art.manifest.get("init_sha256") != initramfs.init_script_sha256():
        with _locked(cache):
            art = load(cache) or art
            if art.manifest.get("init_sha256") != initramfs.init_script_sha256():
                info("tools/init.sh changed: rebuilding the initramfs")
                initramfs.build(art.busybox, art.initramfs)
                art.manifest["init_sha256"] = initramfs.init_script_sha256()
                art.manifest.setdefault("files", {})["initramfs.cpio.gz"] = {
                    "sha256": _sha256(art.initramfs), "size": art.initramfs.stat().st_size}
                tmp = art.root / ".manifest.json.tmp"
                tmp.write_text(json.dumps(art.manifest, indent=1, sort_keys=True) + "\n")
                os.replace(tmp, art.root / "manifest.json")
    return art


def cmd_fetch(force=False, insecure=False, check=False, paths=False) -> int:
    cache = cache_root()
    if check:
        art = load(cache)
        if art is None:
            raise VfmError(f"not fetched: {artifact_root(cache)} is missing or incomplete")
        problems = verify(art)
        if problems:
            raise VfmError(f"{art.root}: " + "; ".join(problems) + " (run ./vfm fetch --force)")
        info(f"{art.root}: all files match the manifest")
    else:
        art = fetch(cache, force=force, insecure=insecure)
        art = ensure(cache)
    if paths:
        print(f"kernel={art.kernel}")
        print(f"initramfs={art.initramfs}")
        print(f"busybox={art.busybox}")
        print(f"opensbi-1.6={art.fw_dynamic}")
    else:
        pk = art.manifest.get("packages", {})
        print(f"{art.root}")
        for name in sorted(pk):
            print(f"  {name} {pk[name]}")
    return 0
