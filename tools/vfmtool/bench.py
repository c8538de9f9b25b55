# SPDX-License-Identifier: MIT
"""`bench`: measurements (boot time, trap microbenchmarks), natively and under
the monitor, side by side. Placeholder: the measurements come later.

To add one: give BENCHES a name -> function(args) -> int; `vfm bench NAME
[args...]` calls it (args: the words after NAME), `vfm bench` runs them all.
Use vfmtool.api.boot(...) to run QEMU (with icount=True for instruction-exact
figures).
"""

from __future__ import annotations

from .common import UsageError, VfmError

BENCHES: dict = {
    # "boot": boot_bench,
    # "micro": micro_bench,
}

PLANNED = ("boot", "micro")


def cmd_bench(what: str | None, args) -> int:
    if what is not None and what not in BENCHES and what not in PLANNED:
        raise UsageError(f"unknown benchmark '{what}' (choose from {', '.join(PLANNED)})")
    names = [what] if what else list(BENCHES)
    if not names or any(n not in BENCHES for n in names):
        label = f"bench {what}" if what else "bench"
        raise VfmError(f"{label}: not implemented yet (the measurements come later)", 2)
    status = 0
    for n in names:
        status = max(status, BENCHES[n](list(args)))
    return status
