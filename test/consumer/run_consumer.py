#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vfm used by other projects, each built in a fresh temporary directory.

  run_consumer.py MODE VFM_SOURCE_ROOT [CROSS_GCC]
  run_consumer.py spike-port VFM_SOURCE_ROOT CROSS_FILE QEMU NATIVE_STUB FIRMWARE...

MODE:
  subproject-core      test/consumer/project: the core as a Meson subproject
  subproject-host      examples/embed: vfm-host as a Meson subproject, the
                       tutorial run on its built-in firmware and, when
                       CROSS_GCC is given, on firmware.S assembled by it
  installed-pkgconfig  vfm installed (meson install) into a temporary prefix,
                       examples/embed compiled with `pkg-config vfm-host` only;
                       with CROSS_GCC, the spike port linked from vfm-metal's
                       installed sources, linker script and cross file
  installed-cmake      the same through CMake, find_package(vfm CONFIG)
  spike-port           test/consumer/spike: a monitor for QEMU spike built
                       from vfm-metal as a subproject with vfm's CROSS_FILE
                       (riscv64-gcc.ini or riscv64-clang.ini), each FIRMWARE
                       run natively and under it on -M spike, compared

Expected output comes from the privileged spec (see EXPECTED_EMBED), never
from the code under test. Exit code 77 (skipped) when a tool is missing.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))

EXPECTED_CORE = "vfm consumer: mstatus = 0x300, mstatus.MPP mask = 0x1800\n"

# Lines the tutorial must print, in this order (others may come between).
# The firmware (examples/embed/firmware.S) is at 0x80100000: ecall at +0x0c,
# handler at +0x38, os at +0x4c, its ecall at +0x54, the final jump at +0x58.
EXPECTED_EMBED = [
    # csrw mtvec from U-mode (vM-mode) is an illegal instruction, mtval = its bits (priv. 3.1.16).
    "trap: illegal instruction (mcause 2) at 0x80100008 from U-mode, mtval 0x30531073",
    "  -> firmware at 0x8010000c in U-mode",
    "  virtual mtvec 0x80100038 mepc 0x0 mcause 0 mstatus.MPP 0",
    # The firmware's ecall: physically from U (cause 8); the firmware sees an ecall
    # from M (cause 11) at its mtvec with mepc = the ecall and MPP = M (3.1.6.1, 3.1.15).
    "trap: ecall from U-mode (mcause 8) at 0x8010000c from U-mode, mtval 0x0",
    "  -> firmware at 0x80100038 in U-mode",
    "  virtual mtvec 0x80100038 mepc 0x8010000c mcause 11 mstatus.MPP 3",
    # Its mret returns after the ecall and sets MPP to U, the least privileged mode (3.3.2).
    "  -> firmware at 0x80100010 in U-mode",
    "  virtual mtvec 0x80100038 mepc 0x80100010 mcause 11 mstatus.MPP 0",
    # mret with MPP = S: the OS runs natively in S-mode at os.
    "  -> OS at 0x8010004c in S-mode",
    # The OS's ecall reaches the firmware: cause 9, mepc = that ecall, MPP = S.
    "trap: ecall from S-mode (mcause 9) at 0x80100054 from S-mode, mtval 0x0",
    "  -> firmware at 0x80100038 in U-mode",
    "  virtual mtvec 0x80100038 mepc 0x80100054 mcause 9 mstatus.MPP 1",
    # The firmware's mret returns to the OS after its ecall.
    "  -> OS at 0x80100058 in S-mode",
    "the guest stops at 0x80100058 in S-mode",
]


class Failure(Exception):
    pass


def run(command, cwd=None, env=None):
    print("+", " ".join(shlex.quote(c) for c in command), flush=True)
    result = subprocess.run(command, cwd=cwd, env=env, text=True, capture_output=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise Failure(f"{command[0]} exited with {result.returncode}")
    return result.stdout


def project_version(vfm_root):
    """The version in vfm's top-level meson.build (what <vfm/version.hpp> is made from)."""
    with open(os.path.join(vfm_root, "meson.build"), encoding="utf-8") as f:
        match = re.search(r"^\s*version:\s*'([0-9]+\.[0-9]+\.[0-9]+)'", f.read(), re.M)
    if match is None:
        raise Failure("no version: in vfm's meson.build")
    return match.group(1)


def check_embed(output, label, vfm_root):
    lines = output.splitlines()
    # The first line names the version <vfm/version.hpp> gives.
    first = f"vfm {project_version(vfm_root)} embedded: 23 firmware words at 0x80100000"
    if not lines or lines[0] != first:
        raise Failure(f"{label}: first line {lines[:1]!r}, expected {first!r}")
    position = 0
    for wanted in EXPECTED_EMBED:
        try:
            position = lines.index(wanted, position) + 1
        except ValueError:
            raise Failure(f"{label}: missing, or out of order: {wanted!r}")
    print(f"OK: {label} printed the {len(EXPECTED_EMBED)} expected lines in order")


def copy_embed(scratch):
    source = os.path.join(scratch, "embed")
    shutil.copytree(os.path.join(HERE, "..", "..", "examples", "embed"), source)
    return source


def need(tool):
    path = shutil.which(tool)
    if path is None:
        print(f"{tool} not found: skipped")
        sys.exit(SKIP)
    return path


def subproject_core(vfm_root, scratch):
    meson = need("meson")
    source = os.path.join(scratch, "project")
    build = os.path.join(scratch, "build")
    shutil.copytree(os.path.join(HERE, "project"), source)
    os.makedirs(os.path.join(source, "subprojects"))
    os.symlink(os.path.abspath(vfm_root), os.path.join(source, "subprojects", "vfm"))
    run([meson, "setup", "--force-fallback-for=vfm", build, source])
    run([meson, "compile", "-C", build])
    output = run([os.path.join(build, "consumer")])
    if output != EXPECTED_CORE:
        raise Failure(f"expected {EXPECTED_CORE!r}, got {output!r}")
    print("OK: the consumer built vfm as a subproject and printed the expected text")


def subproject_host(vfm_root, scratch, cross_gcc):
    meson = need("meson")
    source = copy_embed(scratch)
    build = os.path.join(scratch, "build")
    os.makedirs(os.path.join(source, "subprojects"))
    os.symlink(os.path.abspath(vfm_root), os.path.join(source, "subprojects", "vfm"))
    run([meson, "setup", "--force-fallback-for=vfm-host", build, source])
    run([meson, "compile", "-C", build])
    embed = os.path.join(build, "embed")
    builtin = run([embed])
    check_embed(builtin, "embed (built-in firmware)", vfm_root)
    if cross_gcc:
        # The built-in words must be what the assembler makes of firmware.S.
        elf = os.path.join(scratch, "firmware.elf")
        binary = os.path.join(scratch, "firmware.bin")
        run([cross_gcc, "-march=rv64i_zicsr", "-mabi=lp64", "-nostdlib", "-Wl,-Ttext=0x80100000",
             os.path.join(source, "firmware.S"), "-o", elf])
        objcopy = cross_gcc[: -len("gcc")] + "objcopy" if cross_gcc.endswith("gcc") else "objcopy"
        run([objcopy, "-O", "binary", elf, binary])
        assembled = run([embed, binary])
        if assembled != builtin:
            raise Failure("embed printed something else for the assembled firmware.S than for its built-in copy")
        print("OK: firmware.S assembled runs exactly as the built-in copy")
    # Bad input: one line, non-zero status.
    bad = os.path.join(scratch, "three-bytes.bin")
    with open(bad, "wb") as f:
        f.write(b"abc")
    result = subprocess.run([embed, bad], text=True, capture_output=True)
    if result.returncode == 0 or len(result.stderr.strip().splitlines()) != 1:
        raise Failure(f"a 3-byte image: expected one error line and a failure, got {result.returncode} {result.stderr!r}")


def install_vfm(vfm_root, scratch):
    """meson setup + install of vfm (no tests) into scratch/prefix; returns the prefix."""
    meson = need("meson")
    prefix = os.path.join(scratch, "prefix")
    build = os.path.join(scratch, "vfm-build")
    run([meson, "setup", "-Dtests=false", f"--prefix={prefix}", "--libdir=lib", build, vfm_root])
    run([meson, "install", "-C", build, "--quiet"])
    for path in ["include/vfm/monitor.hpp", "include/vfm/version.hpp", "include/vfm/host/host.hpp",
                 "include/vfm/metal/entry_points.hpp", "include/vfm/platform/qemu_virt.hpp",
                 "include/vfm/platform/board_support.hpp",
                 "share/vfm/metal/entry.S", "share/vfm/metal/runtime.cpp", "share/vfm/metal/monitor.ld",
                 "share/vfm/cross/riscv64-gcc.ini",
                 "share/pkgconfig/vfm.pc", "share/pkgconfig/vfm-host.pc", "share/pkgconfig/vfm-metal.pc",
                 "share/pkgconfig/vfm-qemu-virt.pc",
                 "share/cmake/vfm/vfmConfig.cmake", "share/cmake/vfm/vfmConfigVersion.cmake"]:
        if not os.path.isfile(os.path.join(prefix, path)):
            raise Failure(f"meson install did not install {path}")
    stray = [p for p in ("include/vfm/meson.build", "include/vfm/version.hpp.in") if os.path.exists(os.path.join(prefix, p))]
    if stray:
        raise Failure(f"meson install installed build files: {stray}")
    # Used without the source tree from here on.
    shutil.rmtree(build)
    return prefix


def cross_file_arguments(path):
    """c_args, cpp_args and cpp_link_args of an installed Meson cross file."""
    import ast
    import configparser
    parser = configparser.ConfigParser()
    parser.read(path)
    options = parser["built-in options"]
    return tuple(ast.literal_eval(options[key]) for key in ("c_args", "cpp_args", "cpp_link_args"))


def build_metal_from_install(scratch, env, pkg_config, cross_gcc, metal):
    """The spike port linked from the installed metal shim alone: sources and
    linker script from pkg-config, flags from the installed cross file."""
    prefix = cross_gcc[: -len("gcc")]
    c_args, cpp_args, link_args = cross_file_arguments(os.path.join(metal["cross_dir"], "riscv64-gcc.ini"))
    cflags = run([pkg_config, "--cflags", "vfm-metal"], env=env).split()
    defines = ["-DVFM_MAX_HARTS=4", "-DSPIKE_FIRMWARE_ADDRESS=0x80100000", "-Os"]
    port = os.path.join(scratch, "spike-port")
    shutil.copytree(os.path.join(HERE, "spike"), port)
    objects = []
    for source, compiler, args in ((metal["entry_source"], cross_gcc, c_args),
                                   (metal["runtime_source"], prefix + "g++", cpp_args + ["-std=c++20"]),
                                   (os.path.join(port, "main.cpp"), prefix + "g++", cpp_args + ["-std=c++20"])):
        obj = os.path.join(scratch, os.path.basename(source) + ".o")
        run([compiler] + args + defines + cflags + ["-I", port, "-c", source, "-o", obj])
        objects.append(obj)
    elf = os.path.join(scratch, "spike-monitor.elf")
    run([prefix + "g++"] + cpp_args + link_args + ["-T", metal["linker_script"],
        "-Wl,--defsym=VFM_LOAD_ADDRESS=0x80000000"] + objects + ["-o", elf])
    symbols = run([prefix + "nm", elf])
    entry = [line for line in symbols.splitlines() if line.endswith(" _start")]
    if entry != ["0000000080000000 T _start"] or " T vfm_main" not in symbols:
        raise Failure(f"the image built from the install has _start {entry} (expected 0x80000000) or no vfm_main")
    print("OK: a metal image (the spike port) links from the installed sources, linker script and cross file")


def installed_pkgconfig(vfm_root, scratch, cross_gcc):
    pkg_config = need("pkg-config")
    compiler = os.environ.get("CXX") or need("c++")
    prefix = install_vfm(vfm_root, scratch)
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "share", "pkgconfig"))
    flags = run([pkg_config, "--cflags", "--libs", "vfm-host"], env=env).split()
    if any(os.path.abspath(vfm_root) in f for f in flags):
        raise Failure(f"pkg-config flags name the source tree: {flags}")
    metal = {}
    for variable in ("linker_script", "entry_source", "runtime_source", "cross_dir"):
        metal[variable] = run([pkg_config, f"--variable={variable}", "vfm-metal"], env=env).strip()
        if not os.path.exists(metal[variable]):
            raise Failure(f"vfm-metal's {variable} {metal[variable]!r} does not exist")
    source = copy_embed(scratch)
    embed = os.path.join(scratch, "embed-bin")
    run([compiler, "-std=c++20", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
         os.path.join(source, "embed.cpp"), "-o", embed] + flags)
    check_embed(run([embed]), "embed (pkg-config)", vfm_root)
    if cross_gcc:
        build_metal_from_install(scratch, env, pkg_config, cross_gcc, metal)


def installed_cmake(vfm_root, scratch):
    cmake = need("cmake")
    prefix = install_vfm(vfm_root, scratch)
    source = copy_embed(scratch)
    shutil.copy(os.path.join(HERE, "cmake", "CMakeLists.txt"), source)
    build = os.path.join(scratch, "cmake-build")
    run([cmake, "-S", source, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}"])
    run([cmake, "--build", build])
    check_embed(run([os.path.join(build, "embed")]), "embed (CMake)", vfm_root)


def spike_port(vfm_root, scratch, cross_file, qemu, stub, firmwares):
    meson = need("meson")
    source = os.path.join(scratch, "spike")
    build = os.path.join(scratch, "build")
    shutil.copytree(os.path.join(HERE, "spike"), source)
    os.makedirs(os.path.join(source, "subprojects"))
    os.symlink(os.path.abspath(vfm_root), os.path.join(source, "subprojects", "vfm"))
    run([meson, "setup", "--force-fallback-for=vfm-metal", "--buildtype=minsize",
         "--cross-file", os.path.join(source, "subprojects", "vfm", "cross", cross_file), build, source])
    run([meson, "compile", "-C", build])
    monitor = os.path.join(build, "spike-monitor.bin")
    for firmware in firmwares:
        name = os.path.basename(firmware).rsplit(".", 1)[0]
        run([sys.executable, os.path.join(HERE, "..", "qemu", "run_qemu.py"), "compare", "--machine", "spike",
             "--qemu", qemu, "--native-bios", stub, "--monitor-bios", monitor, "--firmware", firmware,
             "--timeout", "45", "--out-dir", scratch, "--name", name])
    print(f"OK: the out-of-tree spike monitor runs {len(firmwares)} firmware(s) as they run natively")


def main(argv):
    if len(argv) >= 6 and argv[0] == "spike-port":
        with tempfile.TemporaryDirectory(prefix="vfm-consumer-spike-") as scratch:
            try:
                spike_port(argv[1], scratch, argv[2], argv[3], argv[4], argv[5:])
            except Failure as failure:
                print(f"FAIL: {failure}", file=sys.stderr)
                return 1
        return 0
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    mode, vfm_root = argv[0], argv[1]
    cross_gcc = argv[2] if len(argv) == 3 and shutil.which(argv[2]) else None
    modes = {
        "subproject-core": lambda s: subproject_core(vfm_root, s),
        "subproject-host": lambda s: subproject_host(vfm_root, s, cross_gcc),
        "installed-pkgconfig": lambda s: installed_pkgconfig(vfm_root, s, cross_gcc),
        "installed-cmake": lambda s: installed_cmake(vfm_root, s),
    }
    if mode not in modes:
        print(f"run_consumer.py: unknown mode {mode!r} (choose from {', '.join(modes)})", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix=f"vfm-consumer-{mode}-") as scratch:
        try:
            modes[mode](scratch)
        except Failure as failure:
            print(f"FAIL: {failure}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
