"""Per-process address spaces: the user half of one top-level page table,
with the kernel half shared by every space.

    init(kernel_pml4, alloc)  called once at boot, after the kernel's own
                       tables (whose kernel-half top-level entries all exist
                       already: paging.populate_kernel_half), so kernel
                       mappings made later appear in every space
    create() -> the physical address of a new space's top-level table, or
                       E_NOMEM
    destroy(space)     frees every page-table frame of the user half and the
                       top-level table (never the frames mapped there); the
                       space must not be active.  Returns 0.
    map_pages(space, virt, frames, first, count, prot) -> 0 or an error:
                       maps count pages at virt to the frames whose physical
                       addresses are the words frames[first..first+count)
                       (raw memory), with PROT_* bits (elyz/abi/rights.py);
                       on failure (E_NOMEM for a page table, E_ALREADY_MAPPED)
                       nothing stays mapped
    unmap_pages(space, virt, count) -> 0: removes the mappings of count pages
                       at virt (holes skipped), telling the TLB when the space
                       is active, and frees the page tables left empty
    translate(space, virt) -> phys or a negative error
    activate(space)    loads it (CR3, or the port's root register);
                       current() -> the active space, or the
                       kernel's
    table_frames(space) -> page-table frames the space uses now (top level
                       included), counted by walking it
    kernel_table_frames() -> the same for the shared kernel half

Page tables are elyz/mm/paging.py's (portable PAGE_* flags); the bits of
an entry are read only through its format module (paging.fmt,
elyz/mm/pte/), so this module is the same on every architecture.
"""

from elyz.abi.errors import E_INVALID, E_NOMEM
from elyz.abi.rights import PROT_EXEC, PROT_READ, PROT_WRITE
from elyz.mm import paging
from elyz.rlib_kernel import cpu, rawmem
from elyz.rlib_kernel.karch import KARCH
from elyz.rlib_kernel.port import machine

WORD = 8


class SpaceTlb(paging.TlbInvalidator):
    """Invalidates on this CPU only when the space being changed is active
    (no other space's translations are cached: the lower half is never
    global, and a CR3 load drops non-global entries)."""

    def __init__(self):
        self.space = 0

    def invalidate(self, virt):
        if self.space == _state.current:
            if KARCH == 'x86_64':
                cpu.invlpg(virt)
            else:
                machine.invalidate_page(virt)


class _State(object):
    def __init__(self):
        self.kernel_pml4 = 0
        self.current = 0
        self.alloc = None


_state = _State()
_tlb = SpaceTlb()


def init(kernel_pml4, alloc):
    """Records the kernel's top-level table (every new space copies its
    kernel half) and where page tables come from; returns nothing."""
    _state.kernel_pml4 = kernel_pml4
    _state.current = kernel_pml4
    _state.alloc = alloc


def create():
    """Returns a new space (its top-level table), or E_NOMEM."""
    if _state.kernel_pml4 == 0:
        return E_INVALID
    pml4 = paging.create_address_space(_state.alloc)
    if pml4 < 0:
        return E_NOMEM
    paging.copy_kernel_half(pml4, _state.kernel_pml4)
    return pml4


def destroy(space):
    """Frees the space's page tables (see the module docstring); returns 0.
    An active space is left for the kernel's first (CR3 never names a freed
    table)."""
    if space == _state.current:
        activate(_state.kernel_pml4)
    return paging.destroy_address_space(space, _state.alloc, False)


def page_flags(prot):
    """Returns the paging flags of a user mapping with PROT_* bits prot
    (readable always; writable with PROT_WRITE; executable only with
    PROT_EXEC)."""
    flags = paging.PAGE_USER
    if prot & PROT_WRITE:
        flags |= paging.PAGE_WRITE
    if not (prot & PROT_EXEC):
        flags |= paging.PAGE_NO_EXECUTE
    return flags


def map_pages(space, virt, frames, first, count, prot):
    """Maps count pages at virt (see the module docstring); returns 0, or
    E_NOMEM / E_ALREADY_MAPPED / E_INVALID with nothing left mapped."""
    _tlb.space = space
    return paging.map_frames(space, virt, frames + first * WORD, count, page_flags(prot),
                             _state.alloc, _tlb)


def unmap_pages(space, virt, count):
    """Removes count pages of mappings at virt (holes skipped); returns 0."""
    _tlb.space = space
    if count > 0:
        paging.unmap_range(space, virt, count * paging.PAGE_SIZE, _state.alloc, _tlb)
    return 0


def translate(space, virt):
    """Returns the physical address virt maps to in space, or an error."""
    return paging.translate(space, virt)


def activate(space):
    """Makes space the active one (loads CR3; a port: its root register,
    TLB flushed); returns nothing."""
    if KARCH == 'x86_64':
        cpu.write_cr3(space)
    else:
        machine.activate_root(space)
        machine.invalidate_all()
    _state.current = space


def current():
    """Returns the active space (the kernel's top-level table at boot)."""
    return _state.current


def table_frames(space):
    """Returns how many page-table frames the user half of space and its
    top-level table use (walks the tables; for tests and self-tests)."""
    return 1 + _tables_under(space, 0, paging.KERNEL_HALF_FIRST)


def kernel_table_frames():
    """Returns how many page-table frames the kernel half uses now (below
    the top level, shared by every space): its tables are never freed, so
    a measurement of leaks counts them."""
    return _tables_under(_state.kernel_pml4, paging.KERNEL_HALF_FIRST, paging.ENTRIES)


def _tables_under(space, first, end):
    count = 0
    i = first
    while i < end:
        entry = paging.read_entry(space + i * WORD)
        if paging.fmt.is_present(entry):
            count += _count_tables(paging.fmt.table_address(entry), paging.LEVEL_PDPT)
        i += 1
    return count


def _count_tables(table, level):
    """Returns 1 + the tables below table (at level)."""
    count = 1
    if level == paging.LEVEL_PT:
        return count
    i = 0
    while i < paging.ENTRIES:
        entry = paging.read_entry(table + i * WORD)
        if paging.fmt.is_present(entry) and not paging.fmt.is_block(entry):
            count += _count_tables(paging.fmt.table_address(entry), level - 1)
        i += 1
    return count


def reset_for_tests():
    """Untranslated only: forgets the kernel table and the active space."""
    _state.kernel_pml4 = 0
    _state.current = 0
    _state.alloc = None
