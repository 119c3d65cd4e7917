"""Mapping records: `pages` pages of a MemoryObject, from page `first_page`
on, mapped at `virt` in a process's address space with `prot`, through the
descriptor in slot `slot` of that process.

Each record is on two doubly linked lists: its process's (by
Process.first_mapping) and its object's (by MemoryObject.first_mapping),
so a release or expiry (by slot), an unmap (by address) and a death (by
object) remove exactly the mappings they must.

    add(proc, obj, slot, virt, first_page, pages, prot) -> the record
                index, or E_NOMEM (pool full) / the paging error, with
                nothing mapped
    remove(index)   unmaps the pages and frees the record
    find_overlap(proc, virt, pages) -> a record overlapping the range, or -1
    trim(index, virt, pages) -> pages unmapped: removes the part of the
                record inside [virt, virt + pages), splitting it when the
                range is in its middle (needs a free record: E_NOMEM first,
                nothing changed)
    trim_all(proc, virt, pages) -> pages unmapped: trims every mapping of
                proc overlapping the range, in one walk (check needs_split
                first)
    needs_split(proc, virt, pages) -> True when such an unmap cuts a
                mapping in two
    remove_by_slot(proc, slot), remove_all_of_process(proc),
    remove_all_of_object(obj)
    count_in_use()
"""

from elyz.abi.errors import E_NOMEM
from elyz.abi.limits import MAX_MAPPINGS, PAGE_SIZE
from elyz.mm import address_space
from elyz.obj import memory, process
from elyz.obj.kobject import Pool


class Mapping(object):
    def __init__(self, index):
        self.index = index
        self.reset()

    def reset(self):
        self.process = -1
        self.object = -1
        self.slot = -1
        self.virt = 0
        self.first_page = 0
        self.pages = 0
        self.prot = 0
        self.prev_in_process = -1
        self.next_in_process = -1
        self.prev_in_object = -1
        self.next_in_object = -1


_mappings = [Mapping(i) for i in range(MAX_MAPPINGS)]
_pool = Pool(MAX_MAPPINGS)


def get(index):
    return _mappings[index]


def count_in_use():
    """Returns how many mapping records are taken."""
    return _pool.taken


def _link(m, proc, obj):
    m.prev_in_process = -1
    m.next_in_process = proc.first_mapping
    if proc.first_mapping >= 0:
        _mappings[proc.first_mapping].prev_in_process = m.index
    proc.first_mapping = m.index
    m.prev_in_object = -1
    m.next_in_object = obj.first_mapping
    if obj.first_mapping >= 0:
        _mappings[obj.first_mapping].prev_in_object = m.index
    obj.first_mapping = m.index


def _unlink(m):
    proc = process.get(m.process)
    obj = memory.get(m.object)
    if m.prev_in_process >= 0:
        _mappings[m.prev_in_process].next_in_process = m.next_in_process
    else:
        proc.first_mapping = m.next_in_process
    if m.next_in_process >= 0:
        _mappings[m.next_in_process].prev_in_process = m.prev_in_process
    if m.prev_in_object >= 0:
        _mappings[m.prev_in_object].next_in_object = m.next_in_object
    else:
        obj.first_mapping = m.next_in_object
    if m.next_in_object >= 0:
        _mappings[m.next_in_object].prev_in_object = m.prev_in_object


def _record(proc, obj, slot, virt, first_page, pages, prot):
    """Returns a linked record describing an existing mapping, or -1."""
    index = _pool.take()
    if index < 0:
        return -1
    m = _mappings[index]
    m.process = proc.index
    m.object = obj.index
    m.slot = slot
    m.virt = virt
    m.first_page = first_page
    m.pages = pages
    m.prot = prot
    _link(m, proc, obj)
    return index


def add(proc, obj, slot, virt, first_page, pages, prot):
    """Maps and records (see the module docstring); returns the record or an error."""
    if free_records() == 0:
        return E_NOMEM
    status = address_space.map_pages(proc.space, virt, obj.frames, first_page, pages, prot)
    if status < 0:
        return status
    return _record(proc, obj, slot, virt, first_page, pages, prot)


def _drop(m):
    """Unlinks m and frees its record (its pages are unmapped already)."""
    _unlink(m)
    m.reset()
    _pool.give_back(m.index)


def remove(index):
    """Unmaps every page of record index and frees it; returns nothing.
    The pages of a process being torn down (exited, its space not the
    active one) are left in its tables: address_space.destroy frees those
    whole, never the frames they name, and no CPU walks them any more."""
    m = _mappings[index]
    proc = process.get(m.process)
    if proc.state != process.STATE_EXITED or address_space.current() == proc.space:
        address_space.unmap_pages(proc.space, m.virt, m.pages)
    _drop(m)


def find_overlap(proc, virt, pages):
    """Returns a record of proc overlapping [virt, virt + pages pages), or -1."""
    end = virt + pages * PAGE_SIZE
    index = proc.first_mapping
    while index >= 0:
        m = _mappings[index]
        if m.virt < end and virt < m.virt + m.pages * PAGE_SIZE:
            return index
        index = m.next_in_process
    return -1


def trim(index, virt, pages):
    """Removes the part of record index inside [virt, virt + pages pages);
    returns the pages unmapped, or E_NOMEM (nothing changed) when a split
    needs a record and none is free."""
    m = _mappings[index]
    start = virt if virt > m.virt else m.virt
    m_end = m.virt + m.pages * PAGE_SIZE
    end = virt + pages * PAGE_SIZE
    if end > m_end:
        end = m_end
    cut = (end - start) // PAGE_SIZE
    if start == m.virt and end == m_end:
        remove(index)
        return cut
    if start > m.virt and end < m_end:
        # A hole in the middle: the tail becomes a record of its own.
        proc = process.get(m.process)
        tail = _record(proc, memory.get(m.object), m.slot, end,
                       m.first_page + (end - m.virt) // PAGE_SIZE,
                       (m_end - end) // PAGE_SIZE, m.prot)
        if tail < 0:
            return E_NOMEM
        address_space.unmap_pages(proc.space, start, cut)
        m.pages = (start - m.virt) // PAGE_SIZE
        return cut
    address_space.unmap_pages(process.get(m.process).space, start, cut)
    if start == m.virt:
        m.first_page += cut
        m.virt = end
    m.pages -= cut
    return cut


def trim_all(proc, virt, pages):
    """Removes every part of proc's mappings inside [virt, virt + pages
    pages), in one walk of proc's list; returns the pages unmapped.  A
    split (at most one: the range then lies inside one mapping) needs a
    free record: the caller checked needs_split first."""
    end = virt + pages * PAGE_SIZE
    total = 0
    index = proc.first_mapping
    while index >= 0:
        # trim may free m; the tail record of a split is linked first in
        # the list, behind the walk (and outside the range)
        m = _mappings[index]
        following = m.next_in_process
        if m.virt < end and virt < m.virt + m.pages * PAGE_SIZE:
            total += trim(index, virt, pages)
        index = following
    return total


def needs_split(proc, virt, pages):
    """Returns True when unmapping [virt, virt + pages pages) would cut a
    mapping of proc in two (so needs a free record)."""
    end = virt + pages * PAGE_SIZE
    index = proc.first_mapping
    while index >= 0:
        m = _mappings[index]
        if m.virt < virt and end < m.virt + m.pages * PAGE_SIZE:
            return True
        index = m.next_in_process
    return False


def free_records():
    """Returns how many records are free."""
    return MAX_MAPPINGS - _pool.taken


def remove_by_slot(proc, slot):
    """Removes every mapping proc made through slot; returns nothing."""
    index = proc.first_mapping
    while index >= 0:
        following = _mappings[index].next_in_process
        if _mappings[index].slot == slot:
            remove(index)
        index = following


def remove_all_of_process(proc):
    """Removes every mapping of proc's space; returns nothing."""
    while proc.first_mapping >= 0:
        remove(proc.first_mapping)


def remove_all_of_object(obj):
    """Removes every mapping of obj, in every space; returns nothing."""
    while obj.first_mapping >= 0:
        remove(obj.first_mapping)


def reset_for_tests():
    """Untranslated only: every record free."""
    for m in _mappings:
        m.reset()
    _pool.reset()
