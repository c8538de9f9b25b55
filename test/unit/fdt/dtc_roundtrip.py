#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Edits a blob with fdt_reserve and checks the result with dtc.

usage: dtc_roundtrip.py FDT_RESERVE DTC IN.dtb OUT.dtb EXPECTED_REG_CELLS

fdt_reserve reserves 0x87e00000 + 0x200000 as "vfm"; the edited blob must
decompile, differ from the original only by added lines, hold
/reserved-memory/vfm@87e00000 with `reg` = EXPECTED_REG_CELLS (comma-separated)
and `no-map`, list the range in /memreserve/, and compile back.
"""
import difflib
import re
import subprocess
import sys

BASE, SIZE = 0x87E00000, 0x200000


def decompile(dtc: str, blob: str) -> str:
    run = subprocess.run([dtc, '-q', '-I', 'dtb', '-O', 'dts', blob], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f'dtc could not decompile {blob}:\n{run.stderr}')
    return run.stdout


def main() -> int:
    tool, dtc, source, target, cells = sys.argv[1:6]
    expected_reg = [int(c, 0) for c in cells.split(',')]
    run = subprocess.run([tool, source, target, 'vfm', hex(BASE), hex(SIZE)], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f'fdt_reserve failed:\n{run.stderr}')

    before = decompile(dtc, source).splitlines()
    after = decompile(dtc, target).splitlines()
    removed = [line for line in difflib.ndiff(before, after) if line.startswith('- ')]
    if removed:
        sys.exit('the edit changed existing lines:\n' + '\n'.join(removed))

    reservations = [(int(a, 16), int(s, 16)) for a, s in re.findall(r'/memreserve/\s+0x([0-9a-f]+)\s+0x([0-9a-f]+);',
                                                                     '\n'.join(after))]
    if (BASE, SIZE) not in reservations:
        sys.exit(f'/memreserve/ lacks the range: {reservations}')

    # Follow the nesting to find the node and its properties.
    stack, body, found = [], [], False
    for line in after:
        text = line.strip()
        if text.endswith('{'):
            stack.append(text[:-1].strip())
            if stack == ['/', 'reserved-memory', 'vfm@87e00000']:
                found = True
        elif text == '};':
            if stack == ['/', 'reserved-memory', 'vfm@87e00000']:
                break
            stack.pop()
        elif found:
            body.append(text)
    if not found:
        sys.exit('no /reserved-memory/vfm@87e00000 in:\n' + '\n'.join(after))
    regs = [m for m in (re.fullmatch(r'reg = <([^>]*)>;', b) for b in body) if m]
    if len(regs) != 1 or [int(c, 16) for c in regs[0].group(1).split()] != expected_reg:
        sys.exit(f'bad reg in {body}, expected {expected_reg}')
    if 'no-map;' not in body:
        sys.exit(f'no no-map in {body}')

    back = subprocess.run([dtc, '-q', '-I', 'dts', '-O', 'dtb', '-o', '/dev/null'], input='\n'.join(after),
                          capture_output=True, text=True)
    if back.returncode != 0:
        sys.exit(f'dtc could not compile the decompiled edit:\n{back.stderr}')
    print(f'{source}: ok ({len(after) - len(before)} lines added)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
