"""Builders of what the exec tests feed the kernel, in plain Python, and the
simulated memory they are read from.

    place(data, base=BASE) -> base, after installing a new SimulatedMemory
        whose only region is exactly [base, base + len(data)), holding data:
        a read one byte before or after it raises SimulatedFault
    newc_entry(name, data, mode=REGULAR, fields=None, magic=NEWC_MAGIC,
               namesize=None, name_nul=True) -> one newc cpio entry (bytes),
        header, name and both paddings; fields overrides header fields by
        name with raw 8-character strings (corruptions)
    newc(entries, trailer=True) -> a whole archive: entries are (name, data)
        or (name, data, mode); the trailer ends it
    Elf()    an ELF64 executable built with struct, field by field
      .header   the ELF header fields (a dict), .ident (16 bytes)
      .phdrs    program headers, each a dict of p_* fields
      .payload  {file offset: bytes}, .size (file size, grown to fit)
      .build() -> the file's bytes
      .load(vaddr, offset, filesz, memsz, flags) appends a PT_LOAD
    minimal_elf() -> an Elf of FILE_SIZE bytes: a text segment R+X (the
        headers and a `jmp .` at the entry), a data segment R+W with bss, a
        PT_GNU_STACK R+W
    expected_pages(seg, image) -> what the pages of a parsed segment must
        hold: zeros, image[offset:offset + filesz] at vaddr, zeros
    loaded_pages(base, seg) -> the pages of seg as elf.load_page writes them
        from the image at base, one after the other
"""

import struct

from elyz.abi.limits import PAGE_SIZE
from elyz.loader import elf
from elyz.rlib_kernel import rawmem

BASE = rawmem.to_word(0xffff800000200000)   # somewhere in the HHDM

NEWC_MAGIC = '070701'
REGULAR = 0o100755
DIRECTORY = 0o040755
SYMLINK = 0o120777
NEWC_FIELDS = ['ino', 'mode', 'uid', 'gid', 'nlink', 'mtime', 'filesize', 'devmajor',
               'devminor', 'rdevmajor', 'rdevminor', 'namesize', 'check']


def place(data, base=BASE):
    memory = rawmem.simulate()
    memory.add_region(base, len(data))
    if data:
        memory.write(base, bytearray(data))
    return base


def _pad4(n):
    return '\0' * ((-n) % 4)


def newc_entry(name, data, mode=REGULAR, fields=None, magic=NEWC_MAGIC, namesize=None,
               name_nul=True, ino=1):
    name_bytes = name + ('\0' if name_nul else '')
    values = dict(ino=ino, mode=mode, uid=0, gid=0, nlink=1, mtime=0x5f000000,
                  filesize=len(data), devmajor=0, devminor=0, rdevmajor=0, rdevminor=0,
                  namesize=len(name_bytes) if namesize is None else namesize, check=0)
    text = dict((key, '%08X' % value) for key, value in values.items())
    text.update(fields or {})
    header = magic + ''.join(text[key] for key in NEWC_FIELDS)
    head = header + name_bytes
    return head + _pad4(len(head)) + data + _pad4(len(data))


def newc(entries, trailer=True):
    out = []
    for i, entry in enumerate(entries):
        name, data = entry[0], entry[1]
        mode = entry[2] if len(entry) > 2 else REGULAR
        out.append(newc_entry(name, data, mode, ino=i + 1))
    if trailer:
        out.append(newc_entry('TRAILER!!!', '', mode=0, ino=0))
    return ''.join(out)


# ----------------------------------------------------------------- ELF

EHDR = struct.Struct('<16sHHIQQQIHHHHHH')
PHDR = struct.Struct('<IIQQQQQQ')
PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_PHDR, PT_TLS = 1, 2, 3, 4, 6, 7
PT_GNU_STACK = 0x6474e551
PF_X, PF_W, PF_R = 1, 2, 4
JMP_SELF = '\xeb\xfe'


class Elf(object):
    def __init__(self):
        self.ident = bytearray('\x7fELF' + '\x02\x01\x01\x00' + '\0' * 8)
        self.header = dict(type=2, machine=62, version=1, entry=0, phoff=64, shoff=0,
                           flags=0, ehsize=64, phentsize=56, phnum=None, shentsize=64,
                           shnum=0, shstrndx=0)
        self.phdrs = []
        self.payload = {}
        self.size = 0

    def load(self, vaddr, offset, filesz, memsz, flags, align=0x1000):
        self.phdrs.append(self.phdr(PT_LOAD, flags, offset, vaddr, filesz, memsz, align))
        return self

    @staticmethod
    def phdr(ptype, flags=PF_R, offset=0, vaddr=0, filesz=0, memsz=0, align=0):
        return dict(type=ptype, flags=flags, offset=offset, vaddr=vaddr, paddr=vaddr,
                    filesz=filesz, memsz=memsz, align=align)

    def build(self):
        """The file: payload, then the program header table at e_phoff
        (left out when e_phoff is absurd: a test of the refusal), then the
        ELF header."""
        h = self.header
        phnum = len(self.phdrs) if h['phnum'] is None else h['phnum']
        ehdr = EHDR.pack(bytes(self.ident), h['type'], h['machine'], h['version'],
                         h['entry'], h['phoff'], h['shoff'], h['flags'], h['ehsize'],
                         h['phentsize'], phnum, h['shentsize'], h['shnum'], h['shstrndx'])
        table = ''.join(PHDR.pack(p['type'], p['flags'], p['offset'], p['vaddr'], p['paddr'],
                                  p['filesz'], p['memsz'], p['align']) for p in self.phdrs)
        parts = [(off, data) for off, data in sorted(self.payload.items())]
        if h['phoff'] < 1 << 20:
            parts.append((h['phoff'], table))
        parts.append((0, ehdr))
        size = max([self.size] + [off + len(data) for off, data in parts])
        image = bytearray(size)
        for off, data in parts:
            image[off:off + len(data)] = data
        return bytes(image)


TEXT_VADDR = 0x400000
TEXT_SIZE = 0x200             # the ELF header, the program headers, the code
CODE_OFFSET = 0x1f0           # room for 7 program headers at 64 before it
DATA_OFFSET = 0x200
DATA_VADDR = 0x401200         # congruent to DATA_OFFSET modulo the page size
DATA_FILESZ = 0x20
DATA_MEMSZ = 0x2000           # pages 0x401000-0x404000
FILE_SIZE = DATA_OFFSET + DATA_FILESZ
FAR_TABLE = 0x400             # e_phoff for tables too large for the text


def minimal_elf():
    e = Elf()
    e.load(TEXT_VADDR, 0, TEXT_SIZE, TEXT_SIZE, PF_R | PF_X)
    e.load(DATA_VADDR, DATA_OFFSET, DATA_FILESZ, DATA_MEMSZ, PF_R | PF_W)
    e.phdrs.append(Elf.phdr(PT_GNU_STACK, PF_R | PF_W, align=16))
    e.header['entry'] = TEXT_VADDR + CODE_OFFSET
    e.payload[CODE_OFFSET] = JMP_SELF
    e.payload[DATA_OFFSET] = ''.join(chr(0x40 + i) for i in range(DATA_FILESZ))
    e.size = DATA_OFFSET + DATA_FILESZ
    return e


def expected_pages(seg, image):
    before = seg.vaddr - elf.page_base(seg)
    total = elf.page_count(seg) * PAGE_SIZE
    body = image[seg.offset:seg.offset + seg.filesz]
    assert len(body) == seg.filesz
    return '\0' * before + body + '\0' * (total - before - len(body))


def loaded_pages(base, seg, dest=rawmem.to_word(0xffff800020000000)):
    memory = rawmem.simulated()
    memory.add_region(dest, PAGE_SIZE)
    span = elf.PageCopy()
    pages = []
    for i in range(elf.page_count(seg)):
        memory.write(dest, bytearray('\x55' * PAGE_SIZE))     # not zero: load_page zeroes
        assert elf.load_page(base, seg, i, dest, span) >= 0
        pages.append(bytes(memory.read(dest, PAGE_SIZE)))
    return ''.join(pages)
