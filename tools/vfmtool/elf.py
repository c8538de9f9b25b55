# SPDX-License-Identifier: MIT
"""ELF64 RISC-V images flattened into raw images for QEMU's loader device."""

from __future__ import annotations

import struct
from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
ET_EXEC = 2
ET_DYN = 3
EM_RISCV = 243
PT_LOAD = 1

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")  # Elf64_Ehdr, 64 bytes
PHDR = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr, 56 bytes

MAX_IMAGE = 256 << 20  # a firmware image larger than this is surely a mistake


class ElfError(ValueError):
    pass


@dataclass
class Segment:
    addr: int  # physical address (ET_EXEC) or address relative to the image (ET_DYN)
    vaddr: int
    offset: int
    filesz: int
    memsz: int


@dataclass
class FlatImage:
    data: bytes
    base: int  # address of data[0]: the lowest load address
    entry: int  # entry point, in the same address space as base
    relocatable: bool  # ET_DYN: may be loaded at any address

    @property
    def entry_offset(self) -> int:
        return self.entry - self.base


def is_elf(data: bytes) -> bool:
    return data[:4] == ELF_MAGIC


def check_riscv64(data: bytes) -> tuple:
    """Checks an ELF64 little-endian RISC-V header; returns the unpacked header."""
    if not is_elf(data):
        raise ElfError("not an ELF file")
    if len(data) < EHDR.size:
        raise ElfError("truncated ELF header")
    ident = data[:16]
    if ident[4] != ELFCLASS64:
        raise ElfError("not ELF64 (32-bit ELF)" if ident[4] == 1 else "bad ELF class")
    if ident[5] != ELFDATA2LSB:
        raise ElfError("not little-endian")
    hdr = EHDR.unpack_from(data, 0)
    if hdr[2] != EM_RISCV:
        raise ElfError(f"not a RISC-V ELF (e_machine {hdr[2]})")
    return hdr


def _segments(data: bytes, hdr) -> list[Segment]:
    (_ident, e_type, _mach, _ver, _entry, phoff, _shoff, _flags, _ehsize,
     phentsize, phnum, _shentsize, _shnum, _shstrndx) = hdr
    if e_type not in (ET_EXEC, ET_DYN):
        raise ElfError(f"not an executable (e_type {e_type})")
    if phnum == 0:
        raise ElfError("no program headers")
    if phentsize < PHDR.size:
        raise ElfError(f"bad program header size {phentsize}")
    if phoff + phnum * phentsize > len(data):
        raise ElfError("program headers extend past the end of the file")
    segs = []
    for i in range(phnum):
        (p_type, _pf, off, vaddr, paddr, filesz, memsz,
         _al) = PHDR.unpack_from(data, phoff + i * phentsize)
        if p_type != PT_LOAD or memsz == 0:
            continue
        if filesz > memsz:
            raise ElfError(f"segment {i}: file size larger than memory size")
        if off + filesz > len(data):
            raise ElfError(f"segment {i} extends past the end of the file")
        addr = vaddr if e_type == ET_DYN else paddr
        segs.append(Segment(addr, vaddr, off, filesz, memsz))
    return segs


def flatten(data: bytes) -> FlatImage:
    """Lays the PT_LOAD segments out as one raw image starting at the lowest one.

    Gaps between segments and a segment's zero-initialized tail (except the
    last segment's) are zero-filled; QEMU's RAM is zero at reset anyway.
    ET_EXEC images use physical addresses, ET_DYN (position-independent)
    ones their link addresses, which only matter relative to each other.
    """
    hdr = check_riscv64(data)
    e_type, e_entry = hdr[1], hdr[4]
    segs = [s for s in _segments(data, hdr) if s.filesz > 0]
    if not segs:
        raise ElfError("no loadable segments")
    segs.sort(key=lambda s: s.addr)
    for a, b in zip(segs, segs[1:]):
        if b.addr < a.addr + a.memsz:
            raise ElfError(f"overlapping segments at {a.addr:#x} and {b.addr:#x}")
    base = segs[0].addr
    end = max(s.addr + s.filesz for s in segs)
    if end - base > MAX_IMAGE:
        raise ElfError(f"loadable segments span {end - base:#x} bytes, more than {MAX_IMAGE:#x}")
    image = bytearray(end - base)
    for s in segs:
        image[s.addr - base:s.addr - base + s.filesz] = data[s.offset:s.offset + s.filesz]
    # The entry point is a virtual address; express it like the segment addresses.
    entry = e_entry
    for s in segs:
        if s.vaddr <= e_entry < s.vaddr + s.memsz:
            entry = s.addr + (e_entry - s.vaddr)
            break
    return FlatImage(bytes(image), base, entry, e_type == ET_DYN)
