"""The first user process, from the boot archive.

    before_user.take()   records the kernel's counts now: free frames, heap
                   bytes in use, heap pages, kernel page tables
    report_leaks(before) -> True when every frame and heap byte taken since
        the Accounting before came back (the pages the heap grew by and the
        kernel-half page tables made since, which both stay, excepted); logs
        one "user: ..." line either way
    start_init(boot_info) -> the init process's record index, -1 when the
        command line names no programs (no `elyz.init=`), or a negative error
        (logged): the boot modules hold no valid archive, the archive has no
        USER_IMAGE, or the image is refused.

The boot archive is the first boot module that is a valid newc archive
(elyz/loader/archive.py) holding USER_IMAGE: `make all` packs the user image there, and every
boot path carries it (a Limine module, a Multiboot2 module, PVH's module
list: QEMU's -initrd).  `elyz.init=hello,demo` on the command line starts
the user image as init with the args block "init\\0hello\\0demo\\0"; init
gets a descriptor to a copy of the image (its first: value
DESCRIPTOR_SLOTS) to spawn the programs from (user/init.py).
"""

from elyz.abi.errors import E_LIMIT, E_NOENT
from elyz.kernel import spawn
from elyz.lib import log
from elyz.abi.errors import error_name
from elyz.loader import archive
from elyz.mm import address_space, heap
from elyz.mm.pmm import pmm
from elyz.obj import process
from elyz.rlib_kernel import rawmem

USER_IMAGE = 'elyz-user'
INIT_NAME = 'init'
INIT_WORD = 'elyz.init'
NUL = 0


class _Found(object):
    def __init__(self):
        self.entry = archive.Entry()
        self.scratch = archive.Entry()


_found = _Found()


class Accounting(object):
    """The kernel's counts at one moment (prebuilt: taking them allocates
    nothing, which would itself count)."""

    def __init__(self):
        self.frames_free = 0
        self.heap_bytes = 0
        self.heap_pages = 0
        self.kernel_tables = 0

    def take(self):
        self.frames_free = pmm.frames_free
        self.heap_bytes = heap.kernel_heap.bytes_in_use
        self.heap_pages = heap.kernel_heap.bytes_reserved_from_pages // 4096
        self.kernel_tables = address_space.kernel_table_frames()
        return self


before_user = Accounting()
_after_user = Accounting()


def report_leaks(before):
    """See the module docstring."""
    after = _after_user.take()
    grown = (after.heap_pages - before.heap_pages +
             after.kernel_tables - before.kernel_tables)
    ok = (after.frames_free == before.frames_free - grown and
          after.heap_bytes == before.heap_bytes and process.records_in_use() == 0)
    log.begin(log.INFO if ok else log.ERROR)
    log.put('user: frames free ')
    log.put_int(before.frames_free)
    log.put(' -> ')
    log.put_int(after.frames_free)
    log.put(' (kept: ')
    log.put_int(after.heap_pages - before.heap_pages)
    log.put(' pages the heap grew by, ')
    log.put_int(after.kernel_tables - before.kernel_tables)
    log.put(' kernel page tables), heap bytes in use ')
    log.put_int(before.heap_bytes)
    log.put(' -> ')
    log.put_int(after.heap_bytes)
    log.put(', processes left ')
    log.put_int(process.records_in_use())
    if ok:
        log.put(': no leak')
    else:
        log.put(': LEAK')
    log.end()
    return ok


def _fail(what, status):
    log.begin(log.ERROR)
    log.put('init: ')
    log.put(what)
    log.put(': ')
    log.put(error_name(status))
    log.end()
    return status


def find_user_image(boot_info):
    """Returns the index of the boot module holding an archive with
    USER_IMAGE (its entry then in _found.entry), or E_NOENT."""
    i = 0
    while i < boot_info.module_count:
        base = boot_info.module_base[i]
        size = boot_info.module_size[i]
        if archive.count(base, size, _found.scratch) >= 0 and \
                archive.find(base, size, USER_IMAGE, _found.entry) == 0:
            return i
        i += 1
    return E_NOENT


def _build_args(boot_info, block):
    """Writes "init\\0" and the comma-separated names of elyz.init= (each
    ended by a NUL) at block; returns the length, or E_LIMIT."""
    start = boot_info.cmdline_value(INIT_WORD)
    end = boot_info.cmdline_value_end(start)
    length = 0
    k = 0
    while k < len(INIT_NAME):
        rawmem.store_u8(block + length, ord(INIT_NAME[k]))
        length += 1
        k += 1
    rawmem.store_u8(block + length, NUL)
    length += 1
    i = start
    while i < end:
        if length >= spawn.MAX_ARGS_LENGTH - 1:
            return E_LIMIT
        c = boot_info.cmdline[i]
        rawmem.store_u8(block + length, NUL if c == ',' else ord(c))
        length += 1
        i += 1
    rawmem.store_u8(block + length, NUL)
    return length + 1


def start_init(boot_info):
    """See the module docstring."""
    if boot_info.cmdline_value(INIT_WORD) < 0:
        return -1
    if find_user_image(boot_info) < 0:
        return _fail('no boot archive holding ' + USER_IMAGE, E_NOENT)
    block = heap.kernel_heap.malloc(spawn.MAX_ARGS_LENGTH)
    if block == 0:
        return _fail('no memory for the args', E_LIMIT)
    length = _build_args(boot_info, block)
    index = length
    if length >= 0:
        entry = _found.entry
        index = spawn.spawn(None, entry.data, entry.size, 0, 0, block, length,
                            give_image=True)
    heap.kernel_heap.free(block)
    if index < 0:
        return _fail('starting ' + USER_IMAGE, index)
    log.begin(log.INFO)
    log.put('init: process ')
    log.put_int(index)
    log.put(' started from the boot archive (')
    log.put_int(_found.entry.size)
    log.put(' bytes of ')
    log.put(USER_IMAGE)
    log.put(')')
    log.end()
    return index
