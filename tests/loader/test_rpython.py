"""The boot archive reader and the ELF loader are freestanding RPython and
allocate no GC memory, even before the optimisations: the spawn path may
call them with interrupts off.  Their records are prebuilt, as the kernel's
will be."""

from elyz.loader import archive, elf
from tests.support import rpycheck

_entry = archive.Entry()
_image = elf.Image()
_span = elf.PageCopy()


def find_init(base, length):
    if archive.find(base, length, 'bin/init', _entry) != 0:
        return -1
    if not archive.is_regular(_entry.mode):
        return -2
    return _entry.data + _entry.size + _entry.name + _entry.name_length


def next_entry(base, length, offset):
    return archive.next_entry(base, length, offset, _entry)


def count_entries(base, length):
    return archive.count(base, length, _entry)


def parse_image(base, length):
    status = elf.parse(base, length, _image)
    if status < 0:
        return len(_image.refused)
    return _image.entry + _image.count


def plan_page(index, page):
    seg = _image.segments[index]
    return (elf.segment_pages(seg, page, _span) + _span.page_offset + _span.file_offset +
            elf.page_base(seg) + elf.page_count(seg) + seg.prot)


def load_page(base, index, page, dest):
    return elf.load_page(base, _image.segments[index], page, dest, _span)


ENTRY_POINTS = [(find_init, [int, int]), (next_entry, [int, int, int]),
                (count_entries, [int, int]), (parse_image, [int, int]),
                (plan_page, [int, int]), (load_page, [int, int, int, int])]


def test_the_loader_allocates_nothing_even_unoptimised():
    roots = [function for function, argtypes in ENTRY_POINTS]
    t = rpycheck.rtype_allocation_free(ENTRY_POINTS, roots=roots, module_prefix='elyz.loader',
                                       unoptimised=True)
    assert rpycheck.reaches(t, find_init, archive.next_entry)
    assert rpycheck.reaches(t, parse_image, elf._load_segment)
    assert rpycheck.reaches(t, load_page, elf.segment_pages)
