"""ELF64 executables: the check and the load plan of a user program image.

References: the System V ABI, "Generic ABI" (gABI), chapters 4 "Object
Files" (ELF header, e_ident) and 5 "Program Loading" (program header,
PT_*, PF_*); "ELF-64 Object File Format" version 1.5 (field layout, sizes);
the System V AMD64 psABI (EM_X86_64, 4 KiB pages).  All fields are little
endian.

The image is a contiguous range of kernel-visible memory: the data of a
boot archive entry, or a MemoryObject's frames seen through the HHDM when
they are contiguous.  It is read a byte at a time (an archive entry is
only 4-byte aligned), never outside [base, base + length).

What parse() accepts, each rule checked in this order, each refusal
E_NOEXEC with the rule in out.refused (a constant string, for the log):

    ELF header (64 bytes)
      the image holds at least the ELF header              REFUSED_TOO_SHORT
      e_ident magic 0x7f 'E' 'L' 'F'                       REFUSED_MAGIC
      EI_CLASS ELFCLASS64                                  REFUSED_CLASS
      EI_DATA ELFDATA2LSB                                  REFUSED_DATA
      EI_VERSION EV_CURRENT                                REFUSED_VERSION
      EI_OSABI ELFOSABI_NONE or ELFOSABI_GNU               REFUSED_OSABI
      e_version EV_CURRENT                                 REFUSED_VERSION
      e_type ET_EXEC (no ET_DYN: nothing is relocated)     REFUSED_TYPE
      e_machine EM_X86_64                                  REFUSED_MACHINE
      e_phentsize 56 (sizeof Elf64_Phdr)                   REFUSED_PHENTSIZE
      1 <= e_phnum <= MAX_PROGRAM_HEADERS                  REFUSED_PHNUM
      the table [e_phoff, e_phoff + 56 * e_phnum) inside
      the image, after the ELF header                      REFUSED_PHOFF
    each program header, in table order
      no PT_INTERP, no PT_DYNAMIC (no dynamic linker)      REFUSED_DYNAMIC
      PT_GNU_STACK without PF_X (the stack is writable)    REFUSED_EXEC_STACK
      other types than PT_LOAD are ignored (PT_NOTE, PT_PHDR, PT_TLS,
      PT_GNU_PROPERTY, PT_GNU_RELRO, ...), and so is a PT_LOAD with
      p_memsz 0 once p_filesz <= p_memsz holds; for every PT_LOAD:
      p_filesz <= p_memsz (both below 2**63)               REFUSED_SIZES
      [p_offset, p_offset + p_filesz) inside the image     REFUSED_FILE_RANGE
      p_vaddr % PAGE_SIZE == p_offset % PAGE_SIZE          REFUSED_ALIGNMENT
      [p_vaddr, p_vaddr + p_memsz) inside [USER_START,
      USER_END) of elyz/abi/limits.py (no overflow)        REFUSED_USER_HALF
      not both PF_W and PF_X (W^X)                         REFUSED_WX
      at most MAX_SEGMENTS of them                         REFUSED_TOO_MANY
      its pages, [p_vaddr rounded down, p_vaddr + p_memsz
      rounded up), disjoint from every earlier segment's   REFUSED_OVERLAP
    then
      at least one loadable segment                        REFUSED_NO_SEGMENTS
      e_entry inside an executable segment's memory        REFUSED_ENTRY
Not checked: p_align, p_paddr, the section headers, e_flags, e_ehsize,
EI_ABIVERSION.  A segment's size is not checked against MAX_OBJECT_SIZE:
the object layer refuses the MemoryObject (E_LIMIT).

API:
    parse(base, length, out) -> 0 after filling out (an Image): the entry
        point and the loadable segments in table order; E_NOEXEC when a
        rule above is broken (then out.count and out.entry are 0 and
        out.refused names the rule)
    page_base(seg) -> the page-aligned address where seg's pages start
    page_count(seg) -> the number of pages seg covers
    segment_pages(seg, page_index, out) -> the bytes to copy into page
        page_index (0-based from page_base(seg)) of seg, after filling out
        (a PageCopy): page_offset (where in the page they go), file_offset
        (where in the image they come from) and count; the rest of the page
        is zero.  0 for a page holding no file byte (all zero).  E_RANGE
        when page_index is not in [0, page_count(seg)).
    load_page(base, seg, page_index, dest, span) -> the bytes copied into
        the page at kernel address dest (PAGE_SIZE bytes, e.g. a frame seen
        through the HHDM), after writing the whole page: the file bytes
        from the image at base, zeros around them; E_RANGE as above.  span
        is a PageCopy it overwrites.

The spawn path, per segment: a MemoryObject of page_count(seg) pages, each
page filled with load_page through the HHDM, mapped at page_base(seg) with
seg.prot.  seg must come from parse() of the same image: segment_pages and
load_page trust its fields.  Nothing allocates: results go to records the
caller prebuilt.
"""

from rpython.rlib.rarithmetic import intmask, r_uint

from elyz.abi.errors import E_NOEXEC, E_RANGE
from elyz.abi.limits import PAGE_SIZE, USER_END, USER_START
from elyz.abi.rights import PROT_EXEC, PROT_READ, PROT_WRITE
from elyz.rlib_kernel import rawmem

PAGE_MASK = PAGE_SIZE - 1

MAX_SEGMENTS = 8            # loadable (PT_LOAD) segments of one image
MAX_PROGRAM_HEADERS = 64    # program headers of one image, of any type

# ELF header, Elf64_Ehdr (gABI "ELF Header"; ELF-64 Object File Format 3).
EHDR_SIZE = 64
EI_MAG0 = 0                 # e_ident[EI_MAG0..EI_MAG3]: 0x7f 'E' 'L' 'F'
ELF_MAGIC = '\x7fELF'
EI_CLASS = 4
ELFCLASS64 = 2
EI_DATA = 5
ELFDATA2LSB = 1             # two's complement, little endian
EI_VERSION = 6
EV_CURRENT = 1
EI_OSABI = 7
ELFOSABI_NONE = 0           # System V
ELFOSABI_GNU = 3            # what GNU ld writes when GNU extensions are used
E_TYPE = 16                 # u16
ET_EXEC = 2
E_MACHINE = 18              # u16
EM_X86_64 = 62              # AMD x86-64 (gABI machine list; AMD64 psABI)
E_VERSION = 20              # u32
E_ENTRY = 24                # u64
E_PHOFF = 32                # u64
E_PHENTSIZE = 54            # u16
E_PHNUM = 56                # u16

# Program header, Elf64_Phdr (gABI "Program Header").
PHDR_SIZE = 56
P_TYPE = 0                  # u32
P_FLAGS = 4                 # u32
P_OFFSET = 8                # u64
P_VADDR = 16                # u64
P_PADDR = 24                # u64, ignored
P_FILESZ = 32               # u64
P_MEMSZ = 40                # u64
P_ALIGN = 48                # u64, ignored

PT_NULL = 0
PT_LOAD = 1
PT_DYNAMIC = 2
PT_INTERP = 3
PT_NOTE = 4
PT_PHDR = 6
PT_TLS = 7
PT_GNU_STACK = 0x6474e551   # GNU extension (Linux Standard Base Core, "Program
                            # Header"; in gABI's PT_LOOS..PT_HIOS range)

PF_X = 0x1
PF_W = 0x2
PF_R = 0x4

# out.refused: the rule an image broke ('' when accepted).
REFUSED_TOO_SHORT = 'shorter than an ELF header'
REFUSED_MAGIC = 'not an ELF file (bad magic)'
REFUSED_CLASS = 'not a 64-bit ELF file (ELFCLASS64)'
REFUSED_DATA = 'not little endian (ELFDATA2LSB)'
REFUSED_VERSION = 'not ELF version 1 (EV_CURRENT)'
REFUSED_OSABI = 'an OS ABI other than System V or GNU'
REFUSED_TYPE = 'not an executable file (ET_EXEC)'
REFUSED_MACHINE = 'not for x86_64 (EM_X86_64)'
REFUSED_PHENTSIZE = 'program header entries are not 56 bytes'
REFUSED_PHNUM = 'no program header, or more than MAX_PROGRAM_HEADERS'
REFUSED_PHOFF = 'the program header table is not inside the image'
REFUSED_DYNAMIC = 'needs a dynamic linker (PT_INTERP or PT_DYNAMIC)'
REFUSED_EXEC_STACK = 'asks for an executable stack (PT_GNU_STACK with PF_X)'
REFUSED_SIZES = 'a segment has p_filesz > p_memsz'
REFUSED_FILE_RANGE = 'a segment\'s file bytes are not inside the image'
REFUSED_ALIGNMENT = 'a segment\'s p_vaddr and p_offset differ modulo the page size'
REFUSED_USER_HALF = 'a segment is not inside the user half'
REFUSED_WX = 'a segment is both writable and executable'
REFUSED_TOO_MANY = 'more than MAX_SEGMENTS loadable segments'
REFUSED_OVERLAP = 'two segments share a page'
REFUSED_NO_SEGMENTS = 'no loadable segment'
REFUSED_ENTRY = 'the entry point is not in an executable segment'


class Segment(object):
    """One loadable segment, checked (see the module docstring)."""

    def __init__(self):
        self.vaddr = 0           # p_vaddr: where its first byte goes
        self.memsz = 0           # p_memsz: bytes in memory (> 0)
        self.offset = 0          # p_offset: where its file bytes start
        self.filesz = 0          # p_filesz: file bytes (<= memsz); the rest is zero
        self.prot = 0            # PROT_READ, plus PROT_WRITE for PF_W, PROT_EXEC for PF_X


class Image(object):
    """What parse() reports of an executable."""

    def __init__(self):
        self.entry = 0           # e_entry
        self.count = 0           # segments[0:count] are valid
        self.segments = [Segment() for _ in range(MAX_SEGMENTS)]
        self.refused = ''        # the broken rule, when parse() refused


class PageCopy(object):
    """What segment_pages() says of one page of a segment."""

    def __init__(self):
        self.page_offset = 0     # where in the page the file bytes go
        self.file_offset = 0     # where in the image they come from
        self.count = 0           # how many; every other byte of the page is 0


# ------------------------------------------------------------ reading

def _u16(addr):
    """Returns the little-endian u16 at addr."""
    return rawmem.load_u8(addr) | (rawmem.load_u8(addr + 1) << 8)


def _u32(addr):
    """Returns the little-endian u32 at addr (never negative)."""
    return _u16(addr) | (_u16(addr + 2) << 16)


def _u64(addr):
    """Returns the little-endian u64 at addr as a word: negative when it is
    2**63 or more (every check below then refuses it)."""
    return intmask(r_uint(_u32(addr)) | (r_uint(_u32(addr + 4)) << 32))


def _refuse(out, reason):
    """Records the broken rule in out; returns E_NOEXEC."""
    out.refused = reason
    return E_NOEXEC


# ------------------------------------------------------------ parse

def _identity_refusal(base):
    """Returns the rule e_ident breaks, or '' when it is acceptable."""
    i = 0
    while i < len(ELF_MAGIC):
        if rawmem.load_u8(base + EI_MAG0 + i) != ord(ELF_MAGIC[i]):
            return REFUSED_MAGIC
        i += 1
    if rawmem.load_u8(base + EI_CLASS) != ELFCLASS64:
        return REFUSED_CLASS
    if rawmem.load_u8(base + EI_DATA) != ELFDATA2LSB:
        return REFUSED_DATA
    if rawmem.load_u8(base + EI_VERSION) != EV_CURRENT:
        return REFUSED_VERSION
    osabi = rawmem.load_u8(base + EI_OSABI)
    if osabi != ELFOSABI_NONE and osabi != ELFOSABI_GNU:
        return REFUSED_OSABI
    return ''


def _prot(flags):
    """Returns the PROT_* bits of a segment with p_flags flags."""
    prot = PROT_READ
    if flags & PF_W:
        prot |= PROT_WRITE
    if flags & PF_X:
        prot |= PROT_EXEC
    return prot


def page_base(seg):
    """Returns the page-aligned address where seg's first page starts."""
    return seg.vaddr & ~PAGE_MASK


def _page_end(vaddr, memsz):
    """Returns vaddr + memsz rounded up to a page (no overflow: both were
    checked to lie in the user half)."""
    return (vaddr + memsz + PAGE_MASK) & ~PAGE_MASK


def page_count(seg):
    """Returns the number of pages seg covers."""
    return (_page_end(seg.vaddr, seg.memsz) - page_base(seg)) // PAGE_SIZE


def _load_segment(base, length, ph, out):
    """Checks the PT_LOAD program header at ph and appends it to out;
    returns 0 or E_NOEXEC (out.refused set)."""
    flags = _u32(ph + P_FLAGS)
    offset = _u64(ph + P_OFFSET)
    vaddr = _u64(ph + P_VADDR)
    filesz = _u64(ph + P_FILESZ)
    memsz = _u64(ph + P_MEMSZ)
    if filesz < 0 or memsz < 0 or filesz > memsz:
        return _refuse(out, REFUSED_SIZES)
    if memsz == 0:
        return 0
    if offset < 0 or offset > length or filesz > length - offset:
        return _refuse(out, REFUSED_FILE_RANGE)
    if (vaddr & PAGE_MASK) != (offset & PAGE_MASK):
        return _refuse(out, REFUSED_ALIGNMENT)
    if vaddr < USER_START or vaddr >= USER_END or memsz > USER_END - vaddr:
        return _refuse(out, REFUSED_USER_HALF)
    if (flags & PF_W) and (flags & PF_X):
        return _refuse(out, REFUSED_WX)
    if out.count >= MAX_SEGMENTS:
        return _refuse(out, REFUSED_TOO_MANY)
    low = vaddr & ~PAGE_MASK
    high = _page_end(vaddr, memsz)
    i = 0
    while i < out.count:
        other = out.segments[i]
        if low < _page_end(other.vaddr, other.memsz) and page_base(other) < high:
            return _refuse(out, REFUSED_OVERLAP)
        i += 1
    seg = out.segments[out.count]
    seg.vaddr = vaddr
    seg.memsz = memsz
    seg.offset = offset
    seg.filesz = filesz
    seg.prot = _prot(flags)
    out.count += 1
    return 0


def _program_header(base, length, ph, out):
    """Checks the program header at ph (recording it when loadable);
    returns 0 or E_NOEXEC (out.refused set)."""
    ptype = _u32(ph + P_TYPE)
    if ptype == PT_LOAD:
        return _load_segment(base, length, ph, out)
    if ptype == PT_INTERP or ptype == PT_DYNAMIC:
        return _refuse(out, REFUSED_DYNAMIC)
    if ptype == PT_GNU_STACK and (_u32(ph + P_FLAGS) & PF_X):
        return _refuse(out, REFUSED_EXEC_STACK)
    return 0


def _entry_executable(out, entry):
    """Returns True when entry lies in an executable segment of out."""
    i = 0
    while i < out.count:
        seg = out.segments[i]
        if (seg.prot & PROT_EXEC) and seg.vaddr <= entry and entry - seg.vaddr < seg.memsz:
            return True
        i += 1
    return False


def _parse(base, length, out):
    """parse() without the reset of out on failure."""
    if length < EHDR_SIZE:
        return _refuse(out, REFUSED_TOO_SHORT)
    reason = _identity_refusal(base)
    if reason != '':
        return _refuse(out, reason)
    if _u32(base + E_VERSION) != EV_CURRENT:
        return _refuse(out, REFUSED_VERSION)
    if _u16(base + E_TYPE) != ET_EXEC:
        return _refuse(out, REFUSED_TYPE)
    if _u16(base + E_MACHINE) != EM_X86_64:
        return _refuse(out, REFUSED_MACHINE)
    if _u16(base + E_PHENTSIZE) != PHDR_SIZE:
        return _refuse(out, REFUSED_PHENTSIZE)
    phnum = _u16(base + E_PHNUM)
    if phnum < 1 or phnum > MAX_PROGRAM_HEADERS:
        return _refuse(out, REFUSED_PHNUM)
    phoff = _u64(base + E_PHOFF)
    if phoff < EHDR_SIZE or phoff > length or phnum * PHDR_SIZE > length - phoff:
        return _refuse(out, REFUSED_PHOFF)
    i = 0
    while i < phnum:
        status = _program_header(base, length, base + phoff + i * PHDR_SIZE, out)
        if status < 0:
            return status
        i += 1
    if out.count == 0:
        return _refuse(out, REFUSED_NO_SEGMENTS)
    entry = _u64(base + E_ENTRY)
    if not _entry_executable(out, entry):
        return _refuse(out, REFUSED_ENTRY)
    out.entry = entry
    return 0


def parse(base, length, out):
    """Returns 0 with out filled, or E_NOEXEC with out.refused naming the
    broken rule (see the module docstring)."""
    out.entry = 0
    out.count = 0
    out.refused = ''
    status = _parse(base, length, out)
    if status < 0:
        out.entry = 0
        out.count = 0
    return status


# ------------------------------------------------------------ the load plan

def segment_pages(seg, page_index, out):
    """Returns the file bytes page page_index of seg receives, out filled
    (see the module docstring); E_RANGE for a page outside seg."""
    if page_index < 0 or page_index >= page_count(seg):
        return E_RANGE
    start = page_base(seg) + page_index * PAGE_SIZE
    low = seg.vaddr
    if start > low:
        low = start
    high = seg.vaddr + seg.filesz
    if start + PAGE_SIZE < high:
        high = start + PAGE_SIZE
    if high <= low:
        out.page_offset = 0
        out.file_offset = 0
        out.count = 0
        return 0
    out.page_offset = low - start
    out.file_offset = seg.offset + (low - seg.vaddr)
    out.count = high - low
    return out.count


def load_page(base, seg, page_index, dest, span):
    """Writes page page_index of seg (PAGE_SIZE bytes) at dest from the
    image at base; returns the bytes copied, or E_RANGE (nothing written)."""
    count = segment_pages(seg, page_index, span)
    if count < 0:
        return count
    rawmem.fill(dest, 0, span.page_offset)
    rawmem.copy(dest + span.page_offset, base + span.file_offset, count)
    rawmem.fill(dest + span.page_offset + count, 0, PAGE_SIZE - span.page_offset - count)
    return count
