"""Memory-mapped device registers.

    read8(addr)  read16(addr)  read32(addr)  read64(addr)   -> value
    write8(addr, v)  write16  write32  write64

Use these, not rawmem, for device registers: rawmem's loads and stores are
plain C accesses that the compiler may merge, drop or move (two stores to
a timer's count register with a poll loop between them become one, say).
Translated, each function is exactly one access through a volatile
pointer, fenced by a compiler barrier on both sides, so device accesses
happen in program order and ordinary memory written before a register
write is really written first.

Untranslated, the accesses go to rawmem's SimulatedMemory (rawmem.simulate()),
so tests program and inspect registers as plain memory.
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.rlib_kernel import rawmem

_MMIO_ECI = ExternalCompilationInfo(post_include_bits=["""
#define ELYZ_MMIO_BARRIER() __asm__ volatile("" ::: "memory")
static inline long elyz_mmio_read8(long a)
{ ELYZ_MMIO_BARRIER(); long v = *(volatile unsigned char *)a; ELYZ_MMIO_BARRIER(); return v; }
static inline long elyz_mmio_read16(long a)
{ ELYZ_MMIO_BARRIER(); long v = *(volatile unsigned short *)a; ELYZ_MMIO_BARRIER(); return v; }
static inline long elyz_mmio_read32(long a)
{ ELYZ_MMIO_BARRIER(); long v = *(volatile unsigned int *)a; ELYZ_MMIO_BARRIER(); return v; }
static inline long elyz_mmio_read64(long a)
{ ELYZ_MMIO_BARRIER(); long v = *(volatile long *)a; ELYZ_MMIO_BARRIER(); return v; }
static inline void elyz_mmio_write8(long a, long v)
{ ELYZ_MMIO_BARRIER(); *(volatile unsigned char *)a = (unsigned char)v; ELYZ_MMIO_BARRIER(); }
static inline void elyz_mmio_write16(long a, long v)
{ ELYZ_MMIO_BARRIER(); *(volatile unsigned short *)a = (unsigned short)v; ELYZ_MMIO_BARRIER(); }
static inline void elyz_mmio_write32(long a, long v)
{ ELYZ_MMIO_BARRIER(); *(volatile unsigned int *)a = (unsigned int)v; ELYZ_MMIO_BARRIER(); }
static inline void elyz_mmio_write64(long a, long v)
{ ELYZ_MMIO_BARRIER(); *(volatile long *)a = v; ELYZ_MMIO_BARRIER(); }
"""])


def _ext(name, args, result, emulation):
    return rffi.llexternal(name, args, result, compilation_info=_MMIO_ECI, _nowrapper=True,
                           sandboxsafe=True, releasegil=False, _callable=emulation)


S = lltype.Signed
V = lltype.Void
_read8 = _ext('elyz_mmio_read8', [S], S, rawmem.load_u8)
_read16 = _ext('elyz_mmio_read16', [S], S, rawmem.load_u16)
_read32 = _ext('elyz_mmio_read32', [S], S, rawmem.load_u32)
_read64 = _ext('elyz_mmio_read64', [S], S, rawmem.load_u64)
_write8 = _ext('elyz_mmio_write8', [S, S], V, rawmem.store_u8)
_write16 = _ext('elyz_mmio_write16', [S, S], V, rawmem.store_u16)
_write32 = _ext('elyz_mmio_write32', [S, S], V, rawmem.store_u32)
_write64 = _ext('elyz_mmio_write64', [S, S], V, rawmem.store_u64)


def read8(addr):
    """Returns the byte register at addr."""
    return _read8(addr)


def read16(addr):
    """Returns the 16-bit register at addr."""
    return _read16(addr)


def read32(addr):
    """Returns the 32-bit register at addr (zero-extended)."""
    return _read32(addr)


def read64(addr):
    """Returns the 64-bit register at addr."""
    return _read64(addr)


def write8(addr, value):
    """Writes the low byte of value to the register at addr."""
    _write8(addr, value)


def write16(addr, value):
    """Writes the low 16 bits of value to the register at addr."""
    _write16(addr, value)


def write32(addr, value):
    """Writes the low 32 bits of value to the register at addr."""
    _write32(addr, value)


def write64(addr, value):
    """Writes value to the 64-bit register at addr."""
    _write64(addr, value)
