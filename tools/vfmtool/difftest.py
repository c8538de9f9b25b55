# SPDX-License-Identifier: MIT
"""`vfm difftest`: random privileged programs, natively on QEMU and under
each monitor image, compared (docs/difftest.md).

    vfm difftest [--seed N] [--programs N] [--images DIR] [--monitor NAME ...]
                 [--batch N] [--jobs N] [--show ID] [--no-minimize] [--out DIR]

A seeded generator writes programs for the interpreter firmware
(examples/firmware/difftest/): each program resets the machine, builds Sv39
and Sv48 page tables in its arena, and runs 4 to 20 steps: CSR instructions
(all six forms, every CSR the interpreter can shape, any other number read
only), mret and sret with chosen mstatus fields, ecall/ebreak/wfi/fences and
illegal encodings from M, S and U, loads, stores, AMOs and LR/SC under MPRV
and under translation, CLINT stores, floating point with FS off and on,
hypervisor loads and stores, and SBI-like calls from S-mode with every
register random. After each step the firmware digests the whole
architectural state; one line per program. A program whose digests differ is
run again alone with the state printed, the first differing value is shown,
and the program is cut down to the fewest steps that still differ.

Program `i` of seed `s` depends on (s, i) only, so `--seed s --show i`
shows one program again, on its own.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .common import UsageError, VfmError, info, monitor_build_dir, source_root

FIRMWARE_ADDRESS = 0x80100000
BLOB_ADDRESS = 0x81000000
ARENA = 0x80400000
FIRMWARE_TARGET = "examples/firmware/difftest.bin"
STUB_TARGET = "examples/stub/native-stub.bin"
DEFAULT_MONITORS = ("vfm-monitor", "vfm-monitor-offload")
DEFAULT_PROGRAMS = 1000
DEFAULT_BATCH = 250
BLOB_MAGIC = 0x31544456
PROGRAM_MAGIC = 0x31475250
VERBOSE = 1

KIND_INSN, KIND_MRET, KIND_SRET, KIND_SBI = range(4)
MODE_NAMES = {0: "U", 1: "S", 3: "M"}

# ---- encodings ------------------------------------------------------------------

A0, A1, A2, A3, A4, A5 = range(10, 16)
NOP = 0x13


def r_type(op, rd, f3, rs1, rs2, f7):
    return op | rd << 7 | f3 << 12 | rs1 << 15 | rs2 << 20 | f7 << 25


def i_type(op, rd, f3, rs1, imm):
    return op | rd << 7 | f3 << 12 | rs1 << 15 | (imm & 0xfff) << 20


def s_type(op, f3, rs1, rs2, imm):
    return op | (imm & 0x1f) << 7 | f3 << 12 | rs1 << 15 | rs2 << 20 | ((imm >> 5) & 0x7f) << 25


def csr_op(f3, rd, rs1, csr):
    return i_type(0x73, rd, f3, rs1, csr)


# CSRs a step may write: the interpreter shapes each write (difftest.cpp,
# shape_write). mhpmevent/mhpmcounter are left out: an event QEMU counts
# would make the values depend on time.
WRITABLE = {
    0x003: "fcsr", 0x001: "fflags", 0x002: "frm",
    0x100: "sstatus", 0x104: "sie", 0x105: "stvec", 0x106: "scounteren", 0x10a: "senvcfg",
    0x140: "sscratch", 0x141: "sepc", 0x142: "scause", 0x143: "stval", 0x144: "sip", 0x180: "satp",
    0x14d: "stimecmp",
    0x200: "vsstatus", 0x204: "vsie", 0x205: "vstvec", 0x240: "vsscratch", 0x241: "vsepc",
    0x242: "vscause", 0x243: "vstval", 0x244: "vsip", 0x280: "vsatp", 0x24d: "vstimecmp",
    0x300: "mstatus", 0x301: "misa", 0x302: "medeleg", 0x303: "mideleg", 0x304: "mie", 0x305: "mtvec",
    0x306: "mcounteren", 0x30a: "menvcfg", 0x320: "mcountinhibit", 0x340: "mscratch", 0x341: "mepc",
    0x342: "mcause", 0x343: "mtval", 0x344: "mip", 0x34a: "mtinst", 0x34b: "mtval2",
    0x3a0: "pmpcfg0", 0x3a2: "pmpcfg2",
    0x600: "hstatus", 0x602: "hedeleg", 0x603: "hideleg", 0x604: "hie", 0x605: "htimedelta",
    0x606: "hcounteren", 0x607: "hgeie", 0x60a: "henvcfg", 0x643: "htval", 0x644: "hip", 0x645: "hvip",
    0x64a: "htinst", 0x680: "hgatp",
}
WRITABLE.update({0x3b0 + i: f"pmpaddr{i}" for i in range(16)})
# Read-only CSRs: every writing form must raise illegal instruction.
READ_ONLY = {0xf11: "mvendorid", 0xf12: "marchid", 0xf13: "mimpid", 0xf14: "mhartid", 0xf15: "mconfigptr",
             0xe12: "hgeip"}
# Never touched: counters that tick (their values depend on time and on the
# monitor's work), the entropy source, and the debug CSRs (docs/difftest.md).
NEVER = set(range(0xc00, 0xc20)) | set(range(0xc80, 0xca0)) | set(range(0xb00, 0xb20)) | \
    set(range(0xb80, 0xba0)) | set(range(0x323, 0x340)) | {0x015} | set(range(0x7a0, 0x7b0))

TIMECMP = {0x14d, 0x24d}
DEVIATIONS = "examples/firmware/include/testfw/deviations.hpp"


def qemu_trapping_csrs() -> set:
    """The csr_traps rows of the deviation table (CSRs the spec has and QEMU
    7.2 does not): no step touches them."""
    out = set()
    text = (source_root() / DEVIATIONS).read_text()
    for m in re.finditer(r"\{deviation_kind::csr_traps, (0x[0-9a-f]+), (0x[0-9a-f]+),", text):
        out |= set(range(int(m.group(1), 16), int(m.group(2), 16) + 1))
    if not out:
        raise VfmError(f"{DEVIATIONS} has no csr_traps rows (has its format changed?)")
    return out
SATP_LIKE = {0x180, 0x280}


def _standard_csrs() -> dict:
    """Every CSR number include/vfm/riscv/csr_list.hpp names."""
    path = source_root() / "include/vfm/riscv/csr_list.hpp"
    out = {}
    try:
        for m in re.finditer(r"X\((\w+),\s*(0x[0-9a-fA-F]+)", path.read_text()):
            out[int(m.group(2), 16)] = m.group(1)
    except OSError:
        pass
    return out


# ---- values -------------------------------------------------------------------------

def value(r: random.Random) -> int:
    k = r.randrange(14)
    if k == 0:
        return 0
    if k == 1:
        return (1 << 64) - 1
    if k == 2:
        return 1 << r.randrange(64)
    if k == 3:
        return (1 << r.randrange(1, 64)) - 1
    if k == 4:
        return r.choice((0x5555555555555555, 0xaaaaaaaaaaaaaaaa, 1 << 63, (1 << 63) - 1, 0xffffffff,
                         0x80000000))
    if k == 5:
        return r.getrandbits(12)
    if k == 6:
        return r.getrandbits(64) & r.getrandbits(64)  # sparse
    return r.getrandbits(64)


def csr_value(r: random.Random, csr: int) -> int:
    if csr in TIMECMP:
        return r.choice((0, 1, (1 << 64) - 1, 1 << 63, r.getrandbits(64) | 1 << 62))
    if csr in SATP_LIKE and r.random() < 0.6:
        return r.choice((0, 8, 9, 10, 1, 15)) << 60 | r.getrandbits(16) << 44 | r.getrandbits(44)
    if csr == 0x300 and r.random() < 0.5:  # mstatus: fields, not noise
        v = 0
        for lsb, width in ((1, 1), (3, 1), (5, 1), (7, 1), (8, 1), (11, 2), (13, 2), (17, 1), (18, 1),
                           (19, 1), (20, 1), (21, 1), (22, 1), (39, 1)):
            if r.random() < 0.3:
                v |= r.getrandbits(width) << lsb
        return v
    return value(r)


# ---- memory addresses ------------------------------------------------------------------

DATA_PAGES = range(8, 16)
ALIAS_BASE = 0x1_0000_0000      # Sv39 root[4] -> page 4 -> page 5
MEGA_VA = 0x8060_0000           # a megapage leaf in page 1
HIGH_VA = 0xffff_ffff_c000_0000  # root[511]
UNBACKED = 0x2_0000_0000        # no RAM, no device; root[8] is invalid
CLINT_MSIP = 0x200_0000
CLINT_MTIMECMP = 0x200_4000


def address(r: random.Random, width: int, machine: bool) -> int:
    if r.random() < 0.85:
        off = r.randrange(0, 4096 // width) * width
    else:
        off = r.randrange(0, 4096 - 8)
    k = r.randrange(10)
    page = r.choice(DATA_PAGES)
    if k < 4:
        return ARENA + page * 4096 + off
    if k < 7:
        return ALIAS_BASE + r.randrange(16) * 4096 + off
    if k == 7:
        return MEGA_VA + page * 4096 + off
    if k == 8:
        return HIGH_VA + r.randrange(4) * 4096 + off
    return r.choice((UNBACKED + off, 0x80_0000_0000 + off, ARENA + off))  # unbacked, non-canonical, page table


# ---- page tables ------------------------------------------------------------------------

V, R, W, X, U, G, A, D = (1 << i for i in range(8))


def pte(pa: int, flags: int) -> int:
    return (pa >> 12) << 10 | flags


def leaf_flags(r: random.Random, user: bool) -> int:
    """A leaf's flags. A is always set: QEMU 7.2 sets A before an AMO faults
    on a page it may read but not write (deviations.hpp); D is random."""
    k = r.randrange(12)
    base = (V | R | W | A | D, V | R | A, V | R | W | A, V | R | W | X | A | D, V | R | X | A, V | W | A | D,
            V | X | A, 0, V | R | W | A, V | R | A | D)[min(k, 9)]
    if user or r.random() < 0.3:
        base |= U
    if r.random() < 0.05:
        base |= r.choice((1 << 63, 3 << 61, 1 << 61, 1 << 54))  # N, PBMT, reserved
    return base


def table_pokes(r: random.Random, block: int) -> list:
    """Sv39 tables (pages 0-5) and an Sv48 root (page 6) over the arena."""
    pg = lambda n: ARENA + n * 4096
    pokes = []

    def put(page, index, v):
        pokes.append(((page * 4096) + index * 8, v))

    put(0, 2, pte(pg(1), V))                         # 0x8000_0000 .. 0xbfff_ffff
    put(0, 4, pte(pg(4), V))                         # 0x1_0000_0000 ..
    if r.random() < 0.5:                             # a misaligned gigapage
        put(0, 511, pte(ARENA + 0x1000 * r.randrange(16), V | R | W | A | D))
    put(1, (block >> 21) & 511, pte(pg(2), V))       # the interpreter's block
    put(1, (ARENA >> 21) & 511, pte(pg(3), V))       # the arena
    mega = ARENA if r.random() < 0.7 else ARENA + 0x8000
    put(1, (MEGA_VA >> 21) & 511, pte(mega, leaf_flags(r, False)))
    base = (block >> 12) & 511
    put(2, base, pte(block, V | R | X | A))                     # S code
    put(2, base + 1, pte(block + 0x1000, V | R | W | A | D))    # S data
    u_flags = V | R | X | U | A if r.random() < 0.7 else leaf_flags(r, True) | (X if r.random() < 0.5 else 0)
    put(2, base + 2, pte(block + 0x2000, u_flags))              # U code
    for p in DATA_PAGES:
        if r.random() < 0.9:
            put(3, p, pte(pg(p), leaf_flags(r, False)))
    put(4, 0, pte(pg(5), V if r.random() < 0.95 else V | A | D))  # A/D on a non-leaf is reserved
    for i in range(16):
        if r.random() < 0.8:
            put(5, i, pte(pg(r.choice(DATA_PAGES)), leaf_flags(r, r.random() < 0.5)))
    put(6, 0, pte(pg(0), V))                          # Sv48: the Sv39 tree below 2^39
    if r.random() < 0.5:
        put(6, 1, pte(pg(3), V))                      # 2^39 .. : a level-2 table of leaves
    return pokes


# ---- programs --------------------------------------------------------------------------

@dataclass
class Step:
    kind: int
    mode: int
    insn: tuple = (NOP, NOP)
    a: tuple = (0, 0, 0, 0, 0, 0)
    aux: tuple = (0, 0)
    text: str = ""

    def pack(self) -> bytes:
        return struct.pack("<BBBB4xII6Q2Q", self.kind, self.mode, 0, 0, self.insn[0], self.insn[1],
                           *self.a, *self.aux)


@dataclass
class Program:
    seed: int
    index: int
    pid: int
    arena_seed: int
    pokes: list
    steps: list = field(default_factory=list)

    def pack(self) -> bytes:
        out = struct.pack("<IIIIQ", PROGRAM_MAGIC, self.pid, len(self.steps), len(self.pokes), self.arena_seed)
        for off, v in self.pokes:
            out += struct.pack("<QQ", off, v)
        for s in self.steps:
            out += s.pack()
        return out

    def listing(self) -> str:
        lines = [f"program {self.index} of seed {self.seed} ({len(self.steps)} steps):"]
        for i, s in enumerate(self.steps):
            regs = ", ".join(f"a{j}={v:#x}" for j, v in enumerate(s.a) if v)
            lines.append(f"  {i:2}: [{MODE_NAMES.get(s.mode, s.mode)}] {s.text}" + (f"   ({regs})" if regs else ""))
        return "\n".join(lines)


class Generator:
    def __init__(self, seed: int, block: int, standard: dict):
        self.seed = seed
        self.block = block
        self.standard = standard
        self.avoid = NEVER | qemu_trapping_csrs()
        self.readable_other = sorted(set(standard) - set(WRITABLE) - self.avoid - set(READ_ONLY))
        self.unallocated = [c for c in range(4096) if c not in standard and c not in self.avoid]

    def program(self, index: int) -> Program:
        r = random.Random(f"vfm-difftest-{self.seed}-{index}")
        p = Program(self.seed, index, index, r.getrandbits(64), table_pokes(r, self.block))
        for _ in range(r.randrange(0, 5)):
            p.steps.append(self.setup_step(r))
        for _ in range(r.randrange(4, 16)):
            p.steps.append(self.step(r))
        return p

    # -- steps --
    def regs(self, r, **fixed):
        a = [value(r) for _ in range(6)]
        for k, v in fixed.items():
            a[int(k[1])] = v
        return tuple(a)

    def csr_step(self, r, mode, csr, form, operand, note=""):
        """form: 1 csrrw, 2 csrrs, 3 csrrc, 5-7 the immediate forms."""
        rd = r.choice((A2, A2, 0))
        if form >= 5:
            imm = operand & 31
            insn = csr_op(form, rd, imm, csr)
            text = f"{('', 'csrrwi', 'csrrsi', 'csrrci')[form - 4]} {'a2' if rd else 'x0'}, {self.name(csr)}, {imm}"
            return Step(KIND_INSN, mode, (insn, NOP), self.regs(r), text=text + note)
        rs1 = A1 if operand is not None else 0
        insn = csr_op(form, rd, rs1, csr)
        a = self.regs(r, a1=operand if operand is not None else 0)
        text = f"{('', 'csrrw', 'csrrs', 'csrrc')[form]} {'a2' if rd else 'x0'}, {self.name(csr)}, " \
               f"{'a1' if rs1 else 'x0'}"
        return Step(KIND_INSN, mode, (insn, NOP), a, text=text + note)

    def name(self, csr):
        return WRITABLE.get(csr) or READ_ONLY.get(csr) or self.standard.get(csr) or f"{csr:#x}"

    def setup_step(self, r):
        """Steps that make the rest interesting: translation, MPRV, delegation, PMP, interrupts."""
        k = r.randrange(7)
        if k == 0:
            return self.csr_step(r, 3, 0x180, 1, r.choice((8, 9)) << 60 | r.getrandbits(16) << 44)
        if k == 1:
            v = 1 << 17 | r.choice((0, 1)) << 11 | r.getrandbits(1) << 18 | r.getrandbits(1) << 19
            return self.csr_step(r, 3, 0x300, 2, v)
        if k == 2:
            return self.csr_step(r, 3, 0x302, 1, r.getrandbits(24))
        if k == 3:
            return self.csr_step(r, 3, 0x303, 1, r.getrandbits(16))
        if k == 4:
            entry = r.randrange(2, 8)  # the interpreter keeps 0, 1 and 8-15 (docs/difftest.md)
            if r.random() < 0.5:
                base = ARENA + r.choice(DATA_PAGES) * 4096
                return self.csr_step(r, 3, 0x3b0 + entry, 1, (base >> 2) | r.choice((0, 0x1ff, 0x3ff, 0x7)))
            cfg_csr = 0x3a0 if entry < 8 else 0x3a2
            shift = 8 * (entry % 8)
            return self.csr_step(r, 3, cfg_csr, 2, r.getrandbits(5) << shift)
        if k == 5:
            return self.csr_step(r, 3, 0x304, 1, r.getrandbits(12))
        return self.csr_step(r, 3, 0x300, 2, 3 << 13)  # FS = Dirty

    def step(self, r):
        k = r.random()
        mode = r.choices((3, 1, 0), (6, 3, 1))[0]
        if k < 0.36:
            return self.random_csr_step(r, mode)
        if k < 0.46:
            return self.mret_step(r)
        if k < 0.51:
            return self.sret_step(r)
        if k < 0.66:
            return self.memory_step(r, mode)
        if k < 0.76:
            return self.system_step(r, mode)
        if k < 0.80:
            return self.clint_step(r)
        if k < 0.86:
            return Step(KIND_SBI, 1, aux=(r.getrandbits(64), r.getrandbits(64)), text="SBI call, every register random")
        if k < 0.92:
            return self.fp_step(r, mode)
        return self.hypervisor_step(r, mode)

    def random_csr_step(self, r, mode):
        k = r.random()
        if k < 0.8:
            csr = r.choice(sorted(WRITABLE))
            form = r.choice((1, 2, 3, 5, 6, 7))
        elif k < 0.9:
            csr = r.choice(sorted(READ_ONLY))
            form = r.choice((1, 2, 3, 5, 6, 7))
            if form in (2, 3):
                # csrrs/csrrc with a register holding 0: QEMU 7.2 does not trap (deviations.hpp)
                return self.csr_step(r, mode, csr, form, value(r) or 1)
        else:
            # any other number, read only: csrrs/csrrc with x0, csrrsi/csrrci with 0
            csr = r.choice(self.readable_other) if r.random() < 0.5 else r.choice(self.unallocated)
            form = r.choice((2, 3, 6, 7))
            step = self.csr_step(r, mode, csr, form, None if form < 5 else 0)
            return step
        return self.csr_step(r, mode, csr, form, csr_value(r, csr))

    def mret_step(self, r):
        v = 0
        v |= r.choice((0, 1, 3, 3)) << 11                      # MPP (2 is shaped away)
        for b in (1, 3, 5, 7, 8, 17, 18, 19, 20, 21, 22):
            if r.random() < 0.3:
                v |= 1 << b
        if r.random() < 0.2:
            v |= 1 << 39                                       # MPV
        mpp = (v >> 11) & 3
        return Step(KIND_MRET, 3, aux=(v, 0), a=self.regs(r), text=f"mret with mstatus fields {v:#x} (MPP {mpp})")

    def sret_step(self, r):
        v = 0
        for b in (1, 5, 8, 18, 19, 20, 21, 22):
            if r.random() < 0.35:
                v |= 1 << b
        return Step(KIND_SRET, 1, aux=(v, 0), a=self.regs(r), text=f"sret with mstatus fields {v:#x}")

    def memory_step(self, r, mode):
        k = r.randrange(6)
        width = r.choice((1, 2, 4, 8))
        f3 = {1: 0, 2: 1, 4: 2, 8: 3}[width]
        addr = address(r, width, mode == 3)
        a = self.regs(r, a0=addr)
        if k <= 1:
            unsigned = r.random() < 0.3 and width < 8
            insn = i_type(0x03, A2, f3 | (4 if unsigned else 0), A0, 0)
            return Step(KIND_INSN, mode, (insn, NOP), a, text=f"load{width}{'u' if unsigned else ''} a2, 0(a0)")
        if k == 2:
            insn = s_type(0x23, f3, A0, A1, 0)
            return Step(KIND_INSN, mode, (insn, NOP), a, text=f"store{width} a1, 0(a0)")
        wide = r.random() < 0.5
        aq, rl = r.getrandbits(1), r.getrandbits(1)
        addr = address(r, 8 if wide else 4, mode == 3)
        a = self.regs(r, a0=addr)
        f3 = 3 if wide else 2
        if k == 3:
            op = r.choice((0, 1, 4, 8, 0xc, 0x10, 0x14, 0x18, 0x1c))
            insn = r_type(0x2f, A2, f3, A0, A1, op << 2 | aq << 1 | rl)
            return Step(KIND_INSN, mode, (insn, NOP), a, text=f"amo{op:#x}.{'d' if wide else 'w'} a2, a1, (a0)")
        if k == 4:
            lr = r_type(0x2f, A2, f3, A0, 0, 2 << 2 | aq << 1 | rl)
            # The SC to the LR's address: whether a failing SC elsewhere may
            # fault is the implementation's choice (docs/difftest.md).
            sc = r_type(0x2f, A3, f3, A0, A1, 3 << 2 | aq << 1 | rl)
            return Step(KIND_INSN, mode, (lr, sc), a, text=f"lr.{'d' if wide else 'w'} a2, (a0); sc a3, a1, (a0)")
        lr = r_type(0x2f, A2, f3, A0, 0, 2 << 2)
        return Step(KIND_INSN, mode, (lr, NOP), a, text="lr a2, (a0)")

    def system_step(self, r, mode):
        choices = [
            (0x00000073, "ecall"), (0x00100073, "ebreak"), (0x10500073, "wfi"),
            (r_type(0x73, 0, 0, A0, A1, 0x09), "sfence.vma a0, a1"), (r_type(0x73, 0, 0, 0, 0, 0x09), "sfence.vma"),
            (0x0000100f, "fence.i"), (0x0ff0000f, "fence"), (0x00200073, "uret"), (0x7b200073, "dret"),
            (0x30200073, "mret"), (0x10200073, "sret"), (0xffffffff, "illegal 0xffffffff"),
            (0x0000000b, "custom-0"), (0x00000000 | 0x0001 << 16, "c.illegal 0x0000"),
            (0x9002 | 0x0001 << 16, "c.ebreak"), (r_type(0x73, 0, 0, A0, A1, 0x0b), "sinval.vma a0, a1"),
        ]
        insn, text = r.choice(choices)
        if r.random() < 0.2:  # a random SYSTEM word, funct3 = 0 (never mret/sret/wfi/ecall/ebreak exactly)
            rd, rs1 = r.randrange(1, 32), r.randrange(32)
            insn = i_type(0x73, rd, 0, rs1, r.getrandbits(12))
            text = f"system {insn:#010x}"
        if mode == 3 and insn in (0x30200073, 0x10200073):
            insn, text = 0x00100073, "ebreak"  # mret/sret in M-mode are their own steps
        if mode == 1 and insn == 0x10200073:
            insn, text = 0x00000073, "ecall"
        return Step(KIND_INSN, mode, (insn, NOP), self.regs(r), text=text)

    def clint_step(self, r):
        if r.random() < 0.5:
            v = r.choice((0, 1))
            return Step(KIND_INSN, 3, (s_type(0x23, 2, A0, A1, 0), NOP), self.regs(r, a0=CLINT_MSIP, a1=v),
                        text=f"msip <- {v}")
        v = r.choice((0, (1 << 64) - 1))
        return Step(KIND_INSN, 3, (s_type(0x23, 3, A0, A1, 0), NOP), self.regs(r, a0=CLINT_MTIMECMP, a1=v),
                    text=f"mtimecmp <- {v:#x}")

    def fp_step(self, r, mode):
        choices = [
            (r_type(0x53, 1, 0, 2, 3, 0x01), "fadd.d f1, f2, f3"),
            (r_type(0x53, A2, 0, 1, 0, 0x71), "fmv.x.d a2, f1"),
            (r_type(0x53, 1, 0, A1, 0, 0x79), "fmv.d.x f1, a1"),
            (r_type(0x53, 1, 7, A1, 2, 0x69), "fcvt.d.l f1, a1 (dynamic rounding)"),
            (i_type(0x07, 1, 3, A0, 0), "fld f1, 0(a0)"),
            (s_type(0x27, 3, A0, 1, 0), "fsd f1, 0(a0)"),
        ]
        insn, text = r.choice(choices)
        return Step(KIND_INSN, mode, (insn, NOP), self.regs(r, a0=address(r, 8, mode == 3)), text=text)

    def hypervisor_step(self, r, mode):
        loads = [(0x30, 0, "hlv.b"), (0x30, 1, "hlv.bu"), (0x32, 0, "hlv.h"), (0x32, 1, "hlv.hu"),
                 (0x32, 3, "hlvx.hu"), (0x34, 0, "hlv.w"), (0x34, 1, "hlv.wu"), (0x34, 3, "hlvx.wu"),
                 (0x36, 0, "hlv.d")]
        stores = [(0x31, "hsv.b"), (0x33, "hsv.h"), (0x35, "hsv.w"), (0x37, "hsv.d")]
        addr = address(r, 1 << r.randrange(4), mode == 3)
        a = self.regs(r, a0=addr)
        k = r.randrange(4)
        if k < 2:
            f7, rs2, name = r.choice(loads)
            return Step(KIND_INSN, mode, (r_type(0x73, A2, 4, A0, rs2, f7), NOP), a, text=f"{name} a2, (a0)")
        if k == 2:
            f7, name = r.choice(stores)
            return Step(KIND_INSN, mode, (r_type(0x73, 0, 4, A0, A1, f7), NOP), a, text=f"{name} a1, (a0)")
        f7 = r.choice((0x11, 0x31))
        return Step(KIND_INSN, mode, (r_type(0x73, 0, 0, A0, A1, f7), NOP), a,
                    text=f"{'hfence.vvma' if f7 == 0x11 else 'hfence.gvma'} a0, a1")


# ---- running ----------------------------------------------------------------------------

def pack_blob(programs, verbose: bool) -> bytes:
    out = struct.pack("<IIII16x", BLOB_MAGIC, len(programs), VERBOSE if verbose else 0, 0)
    for p in programs:
        out += p.pack()
    return out


@dataclass
class Outcome:
    digests: dict          # program id -> (digest, steps)
    dumps: dict            # (program id, step) -> [(name, value)]
    output: str
    complete: bool


_P_LINE = re.compile(r"^P (\d+) (0x[0-9a-f]+) (\d+)")
_D_LINE = re.compile(r"^D (\d+) (\d+) (\S+) (\S+)")


def run_blob(qemu: str, bios: Path, firmware: Path, blob: bytes, timeout: float, extra=()) -> Outcome:
    with tempfile.NamedTemporaryFile(prefix="vfm-difftest-", suffix=".bin", delete=False) as f:
        f.write(blob)
        path = f.name
    try:
        cmd = [qemu, "-M", "virt", "-nographic", "-bios", str(bios), "-smp", "1", "-m", "256M",
               "-device", f"loader,file={firmware},addr={FIRMWARE_ADDRESS:#x}",
               "-device", f"loader,file={path},addr={BLOB_ADDRESS:#x}", *extra]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=timeout, check=False)
            raw, complete = proc.stdout, proc.returncode == 0
        except subprocess.TimeoutExpired as e:
            raw, complete = e.stdout or b"", False
    finally:
        os.unlink(path)
    text = raw.decode("utf-8", errors="replace").replace("\r", "")
    digests, dumps = {}, {}
    for line in text.splitlines():
        m = _P_LINE.match(line)
        if m:
            digests[int(m.group(1))] = (m.group(2), int(m.group(3)))
            continue
        m = _D_LINE.match(line)
        if m:
            dumps.setdefault((int(m.group(1)), int(m.group(2))), []).append((m.group(3), m.group(4)))
    complete = complete and "PASS difftest" in text
    return Outcome(digests, dumps, text, complete)


@dataclass
class Side:
    name: str
    bios: Path


@dataclass
class Difference:
    program: Program
    monitor: str
    first: str = ""
    minimal: Program | None = None


class Difftest:
    def __init__(self, firmware: Path, stub: Path, monitors: list, seed: int, qemu: str = "qemu-system-riscv64",
                 minimize: bool = True, log=print, timeout: float | None = None):
        self.firmware = firmware
        self.native = Side("native", stub)
        self.monitors = monitors
        self.seed = seed
        self.qemu = qemu
        self.minimize = minimize
        self.log = log
        self.fixed_timeout = timeout
        block = _symbol(firmware.with_suffix(".elf"), "dt_block")
        self.generator = Generator(seed, block, _standard_csrs())

    def timeout(self, programs) -> float:
        if self.fixed_timeout is not None:
            return self.fixed_timeout
        steps = sum(len(p.steps) for p in programs)
        return 30.0 + steps * 0.05

    def run(self, side: Side, programs, verbose=False) -> Outcome:
        return run_blob(self.qemu, side.bios, self.firmware, pack_blob(programs, verbose), self.timeout(programs))

    def differs(self, monitor: Side, program: Program) -> bool:
        outs = _parallel([lambda: self.run(self.native, [program]), lambda: self.run(monitor, [program])])
        a, b = outs
        return a.digests.get(program.pid) != b.digests.get(program.pid)

    def explain(self, monitor: Side, program: Program) -> str:
        a, b = _parallel([lambda: self.run(self.native, [program], True), lambda: self.run(monitor, [program], True)])
        for step in range(len(program.steps)):
            da, db = a.dumps.get((program.pid, step)), b.dumps.get((program.pid, step))
            if da == db:
                continue
            if da is None or db is None:
                return f"step {step}: the {'native' if da is None else monitor.name} run stopped before it"
            for (na, va), (nb, vb) in zip(da, db):
                if (na, va) != (nb, vb):
                    return f"step {step} ({program.steps[step].text}): {na} native {va}, {monitor.name} {vb}"
            return f"step {step}: dumps of different length"
        if not a.complete or not b.complete:
            which = "native" if not a.complete else monitor.name
            tail = "\n".join((a if which == "native" else b).output.splitlines()[-5:])
            return f"the {which} run did not finish:\n{tail}"
        return "no difference in the verbose run"

    def shrink(self, monitor: Side, program: Program) -> Program:
        steps = list(program.steps)
        budget = 48
        i = len(steps) - 1
        while i >= 0 and budget > 0:
            trial = Program(program.seed, program.index, program.pid, program.arena_seed, program.pokes,
                            steps[:i] + steps[i + 1:])
            budget -= 1
            if trial.steps and self.differs(monitor, trial):
                steps = trial.steps
            i -= 1
        return Program(program.seed, program.index, program.pid, program.arena_seed, program.pokes, steps)

    def check(self, count: int, first: int = 0, batch: int = DEFAULT_BATCH, jobs: int = 2):
        """Runs programs first..first+count-1; returns (steps, differences)."""
        differences = []
        steps_total = 0
        batches = []
        for start in range(first, first + count, batch):
            batches.append([self.generator.program(i) for i in range(start, min(first + count, start + batch))])
        sides = [self.native] + self.monitors
        for progs in batches:
            steps_total += sum(len(p.steps) for p in progs)
            outs = _parallel([(lambda s=s: self.run(s, progs)) for s in sides], jobs)
            native = outs[0]
            for side, out in zip(self.monitors, outs[1:]):
                for p in progs:
                    if native.digests.get(p.pid) != out.digests.get(p.pid):
                        differences.append(Difference(p, side.name))
                        self.log(f"difftest: seed {self.seed} program {p.index}: native and {side.name} differ")
                        if p.pid not in out.digests:
                            break  # the run stopped here: the rest says nothing more
            if not native.complete:
                stopped = next((p for p in progs if p.pid not in native.digests), progs[0])
                self.log(f"difftest: the native run stopped at program {stopped.index}:\n"
                         + "\n".join(native.output.splitlines()[-5:]))
                differences.append(Difference(stopped, "native"))
        for d in differences[:5]:
            side = next((s for s in self.monitors if s.name == d.monitor), None)
            if side is None:
                continue
            d.first = self.explain(side, d.program)
            d.minimal = self.shrink(side, d.program) if self.minimize else d.program
            if self.minimize:
                d.first = self.explain(side, d.minimal)
        return steps_total, differences


def _parallel(thunks, jobs: int = 2):
    results = [None] * len(thunks)
    pending = list(enumerate(thunks))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                i, fn = pending.pop(0)
            results[i] = fn()

    threads = [threading.Thread(target=worker) for _ in range(max(1, min(jobs, len(thunks))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _symbol(elf: Path, name: str) -> int:
    """The address of a symbol of an ELF64 little-endian file."""
    try:
        data = elf.read_bytes()
    except OSError as e:
        raise VfmError(f"cannot read {elf}: {e.strerror}")
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise VfmError(f"{elf} is not an ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3a)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    for sh in sections:
        if sh[1] != 2:  # SHT_SYMTAB
            continue
        strtab = sections[sh[6]]
        for off in range(sh[4], sh[4] + sh[5], 24):
            st_name, _info, _other, _shndx, st_value, _size = struct.unpack_from("<IBBHQQ", data, off)
            start = strtab[4] + st_name
            if data[start:data.index(b"\0", start)].decode() == name:
                return st_value
    raise VfmError(f"{elf} has no symbol {name}")


# ---- the command --------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vfm difftest", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    p.add_argument("--seed", type=int, default=1, help="the generator's seed (default 1)")
    p.add_argument("--seeds", type=int, default=1, metavar="N", help="run N seeds from --seed on (default 1)")
    p.add_argument("--programs", type=int, default=DEFAULT_PROGRAMS, metavar="N",
                   help=f"programs per seed (default {DEFAULT_PROGRAMS})")
    p.add_argument("--first", type=int, default=0, metavar="I", help="index of the first program (default 0)")
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH, metavar="N",
                   help=f"programs per QEMU run (default {DEFAULT_BATCH})")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="QEMU runs at a time (default 2)")
    p.add_argument("--images", metavar="DIR", help="a built cross build dir (default: build-riscv, built on demand)")
    p.add_argument("--monitor", action="append", metavar="NAME",
                   help="a monitor image of examples/monitor/ (repeatable; default: "
                        + ", ".join(DEFAULT_MONITORS) + ")")
    p.add_argument("--firmware", metavar="FILE", help="the interpreter image (default: the build dir's)")
    p.add_argument("--stub", metavar="FILE", help="the native stub (default: the build dir's)")
    p.add_argument("--monitor-image", action="append", metavar="FILE", help="a monitor image by path (repeatable)")
    p.add_argument("--show", type=int, metavar="I", help="print program I of --seed and its state natively")
    p.add_argument("--no-minimize", action="store_true", help="do not cut a differing program down")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="seconds before a QEMU run counts as hung (default: 30 + 0.05 per step)")
    return p


def main(argv) -> int:
    args = build_parser().parse_args(argv)
    for name in ("programs", "batch", "jobs", "seeds"):
        if getattr(args, name) <= 0:
            raise UsageError(f"--{name} must be positive")
    root = Path(args.images).resolve() if args.images else None
    if root is not None and not root.is_dir():
        raise UsageError(f"--images {root} is not a directory (a cross build dir)")

    def image(target: str) -> Path:
        if root is not None:
            p = root / target
            if not p.is_file():
                raise UsageError(f"{p} does not exist (is {root} a configured and built cross build dir?)")
            return p
        from . import builddirs
        return builddirs.ensure_built(monitor_build_dir(), target)

    firmware = Path(args.firmware) if args.firmware else image(FIRMWARE_TARGET)
    stub = Path(args.stub) if args.stub else image(STUB_TARGET)
    monitors = [Side(Path(f).stem, Path(f)) for f in args.monitor_image or []]
    if not args.monitor_image:
        monitors += [Side(n, image(f"examples/monitor/{n}.bin")) for n in (args.monitor or DEFAULT_MONITORS)]
    for f in [firmware, stub] + [m.bios for m in monitors]:
        if not Path(f).is_file():
            raise UsageError(f"{f} does not exist")

    if args.show is not None:
        dt = Difftest(firmware, stub, monitors, args.seed)
        p = dt.generator.program(args.show)
        print(p.listing())
        out = dt.run(dt.native, [p], verbose=True)
        for line in out.output.splitlines():
            if line.startswith(("D ", "P ")):
                print(line)
        return 0

    total_programs = total_steps = 0
    all_differences = []
    for seed in range(args.seed, args.seed + args.seeds):
        dt = Difftest(firmware, stub, monitors, seed, minimize=not args.no_minimize,
                      log=lambda s: print(s, flush=True), timeout=args.timeout)
        steps, differences = dt.check(args.programs, args.first, args.batch, args.jobs)
        total_programs += args.programs
        total_steps += steps
        all_differences += differences
        print(f"difftest: seed {seed}: {args.programs} programs, {steps} steps, "
              f"{len(differences)} differing", flush=True)
        for d in differences:
            if d.first:
                print(f"  first difference ({d.monitor}): {d.first}")
            if d.minimal is not None:
                print("  " + d.minimal.listing().replace("\n", "\n  "))
    sides = ", ".join(["native"] + [m.name for m in monitors])
    print(f"difftest: {total_programs} programs, {total_steps} steps, {len(all_differences)} differences "
          f"({sides})")
    return 1 if all_differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
