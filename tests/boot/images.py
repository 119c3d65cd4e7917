"""Builders of real-looking boot-protocol structures in simulated memory.

    Machine()                     simulated RAM seen through the early HHDM
      .place(phys, data)          makes [phys, phys+len) readable, writes data
    Multiboot2Image()             a Multiboot2 information structure, tag by tag
      .cmdline(s) .bootloader_name(s) .module(start, end, s)
      .basic_meminfo(lower_kib, upper_kib) .mmap(entries) .framebuffer_rgb(...)
      .framebuffer_ega_text(...) .acpi_old(rsdp) .acpi_new(rsdp) .raw(type, payload)
      .build(end_tag=True, total_size=None) -> bytes
    pvh_start_info(...) pvh_memmap(entries) pvh_modlist(entries) -> bytes
    LimineBoot()                  the kernel's requests plus Limine's answers
    regions(info)                 a BootInfo's memory map as (base, length, type)

All addresses handed to parsers go through rawmem.to_word, as the kernel
sees them (Signed words).
"""

import struct

from elyz.boot import layout, limine
from elyz.rlib_kernel import rawmem
from elyz.rlib_kernel.rawmem import to_word

HHDM = layout.EARLY_HHDM & rawmem.MASK64


def regions(info):
    """Returns info's memory map as a list of (base, length, type)."""
    return [(info.memmap_base[i], info.memmap_length[i], info.memmap_type[i])
            for i in range(info.memmap_count)]


def cstring(s):
    return s.encode('ascii') + b'\x00'


class Machine(object):
    """Physical memory of a test machine, readable at phys + hhdm."""

    def __init__(self, hhdm=HHDM):
        self.memory = rawmem.simulate()
        self.hhdm = hhdm

    def virt(self, phys):
        return to_word(self.hhdm + phys)

    def place(self, phys, data):
        """Makes [phys, phys+len(data)) readable and writes data there."""
        self.memory.add_region(self.hhdm + phys, max(len(data), 1))
        self.memory.write(self.hhdm + phys, bytearray(data))
        return phys


# ------------------------------------------------------------- Multiboot2

def _pad8(data):
    return data + b'\x00' * (-len(data) % 8)


class Multiboot2Image(object):
    def __init__(self):
        self.tags = []

    def raw(self, tag_type, payload, size=None):
        """Appends a tag; size overrides the size field (for broken images)."""
        if size is None:
            size = 8 + len(payload)
        self.tags.append(_pad8(struct.pack('<II', tag_type, size) + payload))
        return self

    def cmdline(self, s):
        return self.raw(1, cstring(s))

    def bootloader_name(self, s):
        return self.raw(2, cstring(s))

    def module(self, start, end, s=''):
        return self.raw(3, struct.pack('<II', start, end) + cstring(s))

    def basic_meminfo(self, lower_kib, upper_kib):
        return self.raw(4, struct.pack('<II', lower_kib, upper_kib))

    def mmap(self, entries, entry_size=24, entry_version=0):
        """entries: (base, length, multiboot2 type) triples."""
        body = b''
        for base, length, mb_type in entries:
            entry = struct.pack('<QQII', base, length, mb_type, 0)
            body += entry + b'\x00' * (entry_size - len(entry))
        return self.raw(6, struct.pack('<II', entry_size, entry_version) + body)

    def framebuffer_rgb(self, addr, pitch, width, height, bpp,
                        red=(16, 8), green=(8, 8), blue=(0, 8)):
        """red/green/blue: (field_position, mask_size)."""
        common = struct.pack('<QIIIBBH', addr, pitch, width, height, bpp, 1, 0)
        colours = struct.pack('<BBBBBB', red[0], red[1], green[0], green[1],
                              blue[0], blue[1])
        return self.raw(8, common + colours)

    def framebuffer_ega_text(self, addr=0xb8000, columns=80, rows=25):
        return self.raw(8, struct.pack('<QIIIBBH', addr, columns * 2, columns, rows,
                                       16, 2, 0))

    def acpi_old(self, rsdp):
        return self.raw(14, rsdp)

    def acpi_new(self, rsdp):
        return self.raw(15, rsdp)

    def build(self, end_tag=True, total_size=None):
        body = b''.join(self.tags)
        if end_tag:
            body += struct.pack('<II', 0, 8)
        if total_size is None:
            total_size = 8 + len(body)
        return struct.pack('<II', total_size, 0) + body


def rsdp_v1(oem=b'ELYZ  ', rsdt=0x7fe0000):
    return b'RSD PTR ' + struct.pack('<B6sBI', 0, oem, 0, rsdt)


def rsdp_v2(oem=b'ELYZ  ', rsdt=0x7fe0000, xsdt=0x7fe1000):
    return rsdp_v1(oem, rsdt)[:15] + struct.pack('<BIIQB3s', 2, rsdt, 36, xsdt, 0,
                                                 b'\x00' * 3)


# -------------------------------------------------------------------- PVH

def pvh_start_info(version=1, flags=0, nr_modules=0, modlist_paddr=0,
                   cmdline_paddr=0, rsdp_paddr=0, memmap_paddr=0,
                   memmap_entries=0, magic=0x336ec578):
    data = struct.pack('<IIIIQQQ', magic, version, flags, nr_modules, modlist_paddr,
                       cmdline_paddr, rsdp_paddr)
    if version >= 1:
        data += struct.pack('<QII', memmap_paddr, memmap_entries, 0)
    return data


def pvh_memmap(entries):
    """entries: (addr, size, E820 type) triples."""
    return b''.join(struct.pack('<QQII', a, s, t, 0) for a, s, t in entries)


def pvh_modlist(entries):
    """entries: (paddr, size, cmdline_paddr) triples."""
    return b''.join(struct.pack('<QQQQ', p, s, c, 0) for p, s, c in entries)


# ----------------------------------------------------------------- Limine

KERNEL_DATA = 0xffffffff80200000       # where the kernel's requests live
LIMINE_HEAP = HHDM + 0x7000000         # bootloader-reclaimable memory, via the HHDM


DTB_PHYS = 0x8100000            # where a typical LimineBoot says the device tree is


class LimineBoot(object):
    """The kernel's Limine requests and, as the tests choose, Limine's
    answers, all in simulated memory.  Addresses are unsigned ints."""

    def __init__(self, hhdm=HHDM):
        self.memory = rawmem.simulate()
        self.hhdm = hhdm
        self.memory.add_region(KERNEL_DATA, 0x10000)
        self.memory.add_region(LIMINE_HEAP, 0x100000)
        self.kernel_next = KERNEL_DATA
        self.heap_next = LIMINE_HEAP
        self.requests = limine.LimineRequests()

    def _bump(self, attr, data):
        addr = getattr(self, attr)
        self.memory.write(addr, bytearray(data))
        setattr(self, attr, addr + len(data) + (-len(data) % 16))
        return addr

    def alloc(self, data):
        """Places data in Limine's memory; returns its (HHDM) address."""
        return self._bump('heap_next', data)

    def string(self, s):
        return self.alloc(cstring(s))

    def pointer_array(self, addrs):
        return self.alloc(b''.join(struct.pack('<Q', a) for a in addrs))

    def request(self, name, extra=b''):
        """Places the kernel's request `name` (REQUEST_IDS) with a NULL
        response; returns its address."""
        word2, word3 = [(a, b) for n, a, b in limine.REQUEST_IDS if n == name][0]
        data = struct.pack('<QQQQQQ', limine.COMMON_MAGIC[0], limine.COMMON_MAGIC[1],
                           word2, word3, 0, 0) + extra
        return self._bump('kernel_next', data)

    def base_revision(self, wanted=3, supported=True):
        third = 0 if supported else wanted
        return self._bump('kernel_next', struct.pack(
            '<QQQ', limine.BASE_REVISION_MAGIC[0], limine.BASE_REVISION_MAGIC[1], third))

    def answer(self, request, response_data):
        """Places a response and points request's response field at it."""
        response = self.alloc(response_data)
        self.memory.store(request + limine.REQUEST_RESPONSE, 8, response)
        return response

    def set_requests(self, **fields):
        """Sets LimineRequests fields (unsigned addresses) as Signed words."""
        for name, addr in fields.items():
            setattr(self.requests, name, to_word(addr))

    def table(self, slots):
        """Builds elyz_limine_request_table: slots maps SLOT_* -> address."""
        words = [limine.TABLE_SLOTS] + [slots.get(i, 0) for i in range(limine.TABLE_SLOTS)]
        return self._bump('kernel_next', b''.join(struct.pack('<Q', w) for w in words))

    # A typical boot, every request made and answered -----------------------

    def typical(self):
        """Makes every request the parser knows and answers each the way
        Limine 9 on QEMU does; returns a dict of what was placed."""
        placed = {}
        placed['base_revision'] = self.base_revision()

        hhdm = self.request('HHDM')
        self.answer(hhdm, struct.pack('<QQ', 0, self.hhdm))

        entries = [(0x0, 0x9f000, 0), (0x9fc00, 0x400, 1), (0xf0000, 0x10000, 1),
                   (0x100000, 0x7ee0000, 0), (0x7fe0000, 0x20000, 2),
                   (0x8000000, 0x200000, 5), (0x8200000, 0x400000, 6),
                   (0xfd000000, 0x300000, 7), (0xfed1c000, 0x4000, 8),
                   (0x100000000, 0x40000000, 0)]
        placed['memmap_entries'] = entries
        entry_addrs = [self.alloc(struct.pack('<QQQ', b, l, t)) for b, l, t in entries]
        memmap = self.request('MEMMAP')
        self.answer(memmap, struct.pack('<QQQ', 0, len(entries),
                                        self.pointer_array(entry_addrs)))

        fb_struct = struct.pack('<QQQQHBBBBBBB7sQQ', self.hhdm + 0xfd000000, 1024, 768,
                                4096, 32, 1, 8, 16, 8, 8, 8, 0, b'\x00' * 7, 0, 0)
        framebuffer = self.request('FRAMEBUFFER')
        self.answer(framebuffer, struct.pack('<QQQ', 0, 1, self.pointer_array(
            [self.alloc(fb_struct)])))

        address = self.request('EXECUTABLE_ADDRESS')
        self.answer(address, struct.pack('<QQQ', 0, 0x8200000, 0xffffffff80100000))

        files = [self.limine_file(self.hhdm + 0x8400000, 0x3000, '/boot/init', 'init'),
                 self.limine_file(self.hhdm + 0x8500000, 0x1234, '/boot/font', '')]
        module = self.request('MODULE')
        self.answer(module, struct.pack('<QQQ', 0, 2, self.pointer_array(files)))

        rsdp = self.request('RSDP')
        self.answer(rsdp, struct.pack('<QQ', 0, self.hhdm + 0xf52a0))

        stack = self.request('STACK_SIZE', struct.pack('<Q', 128 * 1024))
        self.answer(stack, struct.pack('<Q', 0))

        bootloader = self.request('BOOTLOADER_INFO')
        self.answer(bootloader, struct.pack('<QQQ', 0, self.string('Limine'),
                                            self.string('9.3.0')))

        cmdline = self.request('EXECUTABLE_CMDLINE')
        self.answer(cmdline, struct.pack('<QQ', 0, self.string('elyz.selftest quiet')))

        executable = self.request('EXECUTABLE_FILE')
        self.answer(executable, struct.pack('<QQ', 0, self.limine_file(
            self.hhdm + 0x8200000, 0x200000, '/boot/elyz', 'from-the-file')))

        dtb = self.request('DTB')
        self.answer(dtb, struct.pack('<QQ', 0, self.hhdm + DTB_PHYS))

        entry = self.request('ENTRY_POINT', struct.pack('<Q', 0xffffffff80123456))
        self.answer(entry, struct.pack('<Q', 0))

        self.set_requests(base_revision=placed['base_revision'], hhdm=hhdm, memmap=memmap,
                          framebuffer=framebuffer, executable_address=address,
                          module=module, rsdp=rsdp, stack_size=stack,
                          bootloader_info=bootloader, executable_cmdline=cmdline,
                          executable_file=executable, dtb=dtb, entry_point=entry)
        return placed

    def limine_file(self, address, size, path, string):
        data = struct.pack('<QQQQQIIIIII', 0, address, size, self.string(path),
                           self.string(string), 0, 0, 0, 0, 0, 0) + b'\x00' * 48
        return self.alloc(data)
