"""Raw memory access by virtual address.

API (every address and value is a Signed machine word; higher-half
addresses such as 0xffffffff80000000 are negative numbers, see `to_word`):

    load_u8(addr)  load_u16(addr)  load_u32(addr)   -> zero-extended value
    load_u64(addr)                                  -> the 64 bits as Signed
    store_u8(addr, v)  store_u16  store_u32  store_u64
    copy(dst, src, nbytes)     memmove semantics (overlap allowed)
    fill(dst, byte, nbytes)    memset
    to_word(n)                 any Python int -> the Signed with the same low 64 bits

Translated, each is a plain load or store (memmove/memset for the bulk
ones).  Untranslated, accesses go to the SimulatedMemory installed with
`simulate()`; touching an address outside its regions raises SimulatedFault,
so a test sees a wild pointer at once instead of silent corruption.
"""

from rpython.rlib.objectmodel import we_are_translated
from rpython.rlib.rarithmetic import intmask
from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

MASK64 = 0xFFFFFFFFFFFFFFFF
SIM_PAGE_SHIFT = 12
SIM_PAGE_SIZE = 1 << SIM_PAGE_SHIFT


def to_word(n):
    """Returns n reduced to a signed 64-bit machine word (RPython Signed)."""
    return intmask(n)


# ---------------------------------------------------------------- emulation

class SimulatedFault(Exception):
    """Untranslated only: an access outside every simulated region."""


class SimulatedMemory(object):
    """Sparse byte-addressed memory made of declared regions.

    Pages are allocated lazily and read as zero until written.
    """

    def __init__(self):
        self.regions = []          # (start, end) unsigned, end exclusive
        self.pages = {}            # page number -> bytearray

    def add_region(self, start, size):
        """Makes [start, start+size) accessible; returns start (as a word)."""
        start_u = start & MASK64
        self.regions.append((start_u, start_u + size))
        return to_word(start_u)

    def _check(self, addr_u, size):
        for start, end in self.regions:
            if start <= addr_u and addr_u + size <= end:
                return
        raise SimulatedFault("access of %d bytes at %#x outside simulated memory"
                             % (size, addr_u))

    def _page(self, pageno):
        page = self.pages.get(pageno)
        if page is None:
            page = bytearray(SIM_PAGE_SIZE)
            self.pages[pageno] = page
        return page

    def read(self, addr, size):
        """Returns the bytes at [addr, addr+size) as a bytearray."""
        addr_u = addr & MASK64
        self._check(addr_u, size)
        out = bytearray()
        while size > 0:
            off = addr_u & (SIM_PAGE_SIZE - 1)
            chunk = min(size, SIM_PAGE_SIZE - off)
            out += self._page(addr_u >> SIM_PAGE_SHIFT)[off:off + chunk]
            addr_u += chunk
            size -= chunk
        return out

    def write(self, addr, data):
        """Stores the bytes of data at addr."""
        addr_u = addr & MASK64
        size = len(data)
        self._check(addr_u, size)
        pos = 0
        while pos < size:
            off = addr_u & (SIM_PAGE_SIZE - 1)
            chunk = min(size - pos, SIM_PAGE_SIZE - off)
            self._page(addr_u >> SIM_PAGE_SHIFT)[off:off + chunk] = data[pos:pos + chunk]
            addr_u += chunk
            pos += chunk

    def load(self, addr, size):
        data = self.read(addr, size)
        value = 0
        for i in range(size - 1, -1, -1):
            value = (value << 8) | data[i]
        return value

    def store(self, addr, size, value):
        value &= (1 << (8 * size)) - 1
        data = bytearray(size)
        for i in range(size):
            data[i] = (value >> (8 * i)) & 0xFF
        self.write(addr, data)


_simulated = [None]


def simulate(memory=None):
    """Untranslated only: installs memory (a new one when None) and returns it."""
    if memory is None:
        memory = SimulatedMemory()
    _simulated[0] = memory
    return memory


def simulated():
    """Untranslated only: returns the installed SimulatedMemory."""
    memory = _simulated[0]
    if memory is None:
        raise SimulatedFault("no simulated memory installed (call rawmem.simulate())")
    return memory


# ----------------------------------------------------------------- accessors

def load_u8(addr):
    if we_are_translated():
        return rffi.cast(lltype.Signed, rffi.cast(rffi.UCHARP, addr)[0])
    return simulated().load(addr, 1)


def load_u16(addr):
    if we_are_translated():
        return rffi.cast(lltype.Signed, rffi.cast(rffi.USHORTP, addr)[0])
    return simulated().load(addr, 2)


def load_u32(addr):
    if we_are_translated():
        return rffi.cast(lltype.Signed, rffi.cast(rffi.UINTP, addr)[0])
    return simulated().load(addr, 4)


def load_u64(addr):
    if we_are_translated():
        return rffi.cast(rffi.SIGNEDP, addr)[0]
    return to_word(simulated().load(addr, 8))


def store_u8(addr, value):
    if we_are_translated():
        rffi.cast(rffi.UCHARP, addr)[0] = rffi.cast(rffi.UCHAR, value)
    else:
        simulated().store(addr, 1, value)


def store_u16(addr, value):
    if we_are_translated():
        rffi.cast(rffi.USHORTP, addr)[0] = rffi.cast(rffi.USHORT, value)
    else:
        simulated().store(addr, 2, value)


def store_u32(addr, value):
    if we_are_translated():
        rffi.cast(rffi.UINTP, addr)[0] = rffi.cast(rffi.UINT, value)
    else:
        simulated().store(addr, 4, value)


def store_u64(addr, value):
    if we_are_translated():
        rffi.cast(rffi.SIGNEDP, addr)[0] = value
    else:
        simulated().store(addr, 8, value)


def _emulated_memmove(dst, src, n):
    memory = simulated()
    memory.write(dst, memory.read(src, n))
    return dst


def _emulated_memset(dst, byte, n):
    simulated().write(dst, bytearray([byte & 0xFF]) * n)
    return dst


_BULK_ECI = ExternalCompilationInfo(includes=["string.h"], post_include_bits=["""
static inline long elyz_memmove(long dst, long src, long n)
{ memmove((void *)dst, (const void *)src, (unsigned long)n); return dst; }
static inline long elyz_memset(long dst, long byte, long n)
{ memset((void *)dst, (int)byte, (unsigned long)n); return dst; }
"""])

_c_memmove = rffi.llexternal('elyz_memmove', [lltype.Signed, lltype.Signed, lltype.Signed],
                             lltype.Signed, compilation_info=_BULK_ECI, _nowrapper=True,
                             sandboxsafe=True, releasegil=False, _callable=_emulated_memmove)
_c_memset = rffi.llexternal('elyz_memset', [lltype.Signed, lltype.Signed, lltype.Signed],
                            lltype.Signed, compilation_info=_BULK_ECI, _nowrapper=True,
                            sandboxsafe=True, releasegil=False, _callable=_emulated_memset)


def copy(dst, src, nbytes):
    """Copies nbytes from src to dst; the ranges may overlap."""
    if nbytes > 0:
        _c_memmove(dst, src, nbytes)


def fill(dst, byte, nbytes):
    """Sets nbytes at dst to byte."""
    if nbytes > 0:
        _c_memset(dst, byte, nbytes)
