#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks for the public headers under include/vfm (the `headers` test tier).

  list INCLUDE_DIR
      Print every header below INCLUDE_DIR/vfm, relative to INCLUDE_DIR, one
      per line (used by test/headers/meson.build at configure time).
  includes INCLUDE_DIR HEADER
      Fail when HEADER includes anything but <stdint.h>, <stddef.h> or
      <vfm/...> (a header guarded by `#if __has_include(<x>)` may include <x>,
      for placement new in hosted embedders), or when its first line is not
      the SPDX licence line.
  compile gcc|clang COMPILER INCLUDE_DIR HEADER
      Compile a translation unit holding only `#include <HEADER>` with the
      bare-metal cross compiler, freestanding and with warnings as errors.
      Exit code 77 (skipped) when COMPILER is not installed.
  complete INCLUDE_DIR HEADER...
      Fail when the headers found now differ from those given (the list Meson
      saw at configure time): a new header needs `meson setup --reconfigure`.
"""
import os
import re
import shutil
import subprocess
import sys

SKIP = 77
ALLOWED_SYSTEM = {"stdint.h", "stddef.h"}
WARNINGS = ["-std=c++20", "-ffreestanding", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only"]
TARGETS = {
    "gcc": [],
    "clang": ["--target=riscv64-unknown-elf", "-march=rv64imac"],
}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]*)[>"]')
CONDITION_RE = re.compile(r"^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)$")
HAS_INCLUDE_RE = re.compile(r"__has_include\s*\(\s*<([^>]+)>\s*\)")


def find_headers(include_dir):
    found = []
    for root, _dirs, files in os.walk(os.path.join(include_dir, "vfm")):
        for name in files:
            if name.endswith(".hpp"):
                found.append(os.path.relpath(os.path.join(root, name), include_dir).replace(os.sep, "/"))
    return sorted(found)


def strip_comments(text):
    """Blank out /* */ and // comments, keeping line structure."""
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def check_includes(include_dir, header):
    path = os.path.join(include_dir, header)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    problems = []
    first_line = text.split("\n", 1)[0]
    if first_line != "// SPDX-License-Identifier: MIT":
        problems.append(f"{header}:1: first line must be '// SPDX-License-Identifier: MIT', is {first_line!r}")
    # Stack of the enclosing conditionals: (headers the branch is guarded by, in_else).
    stack = []
    for number, line in enumerate(strip_comments(text).split("\n"), start=1):
        cond = CONDITION_RE.match(line)
        if cond:
            kind, rest = cond.groups()
            if kind in ("if", "ifdef", "ifndef"):
                stack.append(set(HAS_INCLUDE_RE.findall(rest)) if kind == "if" else set())
            elif kind == "elif" and stack:
                stack[-1] = set(HAS_INCLUDE_RE.findall(rest))
            elif kind == "else" and stack:
                stack[-1] = set()
            elif kind == "endif" and stack:
                stack.pop()
            continue
        inc = INCLUDE_RE.match(line)
        if not inc:
            continue
        delimiter, name = inc.groups()
        if delimiter == "<" and (name in ALLOWED_SYSTEM or name.startswith("vfm/")):
            continue
        if delimiter == "<" and any(name in guarded for guarded in stack):
            continue
        spelled = f"<{name}>" if delimiter == "<" else f'"{name}"'
        problems.append(f"{header}:{number}: includes {spelled}; core headers may include only "
                        "<stdint.h>, <stddef.h> and <vfm/...>")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def compile_header(kind, compiler, include_dir, header):
    resolved = shutil.which(compiler)
    if resolved is None:
        print(f"{compiler} not found: skipped")
        return SKIP
    command = [resolved, *TARGETS[kind], *WARNINGS, "-I", include_dir, "-x", "c++", "-"]
    source = f"#include <{header}>\n"
    print(" ".join(command), "<<<", source.strip())
    result = subprocess.run(command, input=source, text=True, capture_output=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return 0 if result.returncode == 0 else 1


def check_complete(include_dir, configured):
    now = set(find_headers(include_dir))
    before = set(configured)
    for header in sorted(now - before):
        print(f"{header}: not covered by the headers tests; run `meson setup --reconfigure`", file=sys.stderr)
    for header in sorted(before - now):
        print(f"{header}: no longer exists; run `meson setup --reconfigure`", file=sys.stderr)
    return 0 if now == before else 1


def main(argv):
    if len(argv) >= 2 and argv[0] == "list":
        print("\n".join(find_headers(argv[1])))
        return 0
    if len(argv) == 3 and argv[0] == "includes":
        return check_includes(argv[1], argv[2])
    if len(argv) == 5 and argv[0] == "compile" and argv[1] in TARGETS:
        return compile_header(argv[1], argv[2], argv[3], argv[4])
    if len(argv) >= 2 and argv[0] == "complete":
        return check_complete(argv[1], argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
