"""Copies between kernel memory and the running process's user memory.

    user_range_ok(addr, length) -> True when [addr, addr + length) lies in
                    the user half ([USER_START, USER_END), no overflow)
    pages_ok(addr, length, need_write) -> True when every page is mapped
                    for user access (writable if need_write) in the active space
    copy_from_user(dst, user_src, length) -> 0 or E_FAULT
    copy_to_user(user_dst, src, length) -> 0 or E_FAULT
    copy_in(dst, user_src, length) -> 0 or E_FAULT      the same, no page walk:
    copy_out(user_dst, src, length) -> 0 or E_FAULT     a range check and the
                    fault-safe copy (channel_call's fast path)
    writable(addr, length) -> True when the range is in the user half and
                    every page of it takes a store (a probe per page, no walk)

Checked before the kernel touches anything: the range lies in the user half
(a pointer to kernel memory would not fault), and every page of it is
mapped user-accessible in the active address space, writable for
copy_to_user (a walk of the page tables).  The copy then runs with SMAP's
window open (protection.user_access_begin) through the fault-safe
elyz_user_copy (arch/x86_64/probe.S), so that even a page that went away
meanwhile (not possible on one CPU with interrupts off, but cheap to
cover) stops it with E_FAULT, never a panic.  length 0 copies nothing and
succeeds when the pointer lies in the user half (outside it: E_FAULT, as for
every pointer).

The walk-free variants (copy_in, copy_out, writable) rest on two facts: the
user half of every address space holds only user mappings (the kernel's
own live in the upper half, address_space.page_flags always sets
PAGE_USER), and the kernel runs with CR0.WP on, so a store to a read-only
user page faults in ring 0 too.  Inside the user half the MMU then makes
exactly the checks pages_ok makes, and a fault it raises inside
elyz_user_copy is caught by the fixup: E_FAULT, never a panic.  The one
difference is when a copy fails: copy_in and copy_out may stop midway
(having written part of the destination), so a caller that must change
nothing on failure copies into a buffer it can throw away (copy_in) or
checks the destination with writable() first (copy_out).  writable()
probes one byte of each page by copying it onto itself through the same
fault-safe copy: a page that is absent or read-only faults, and a page that
takes the store keeps its byte.
"""

from rpython.rlib.objectmodel import we_are_translated
from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.abi import limits
from elyz.abi.errors import E_FAULT
from elyz.mm import address_space, paging, protection
from elyz.rlib_kernel import rawmem

_ECI = ExternalCompilationInfo(post_include_bits=["""
long elyz_user_copy(long dst, long src, long n);
"""])


def _emulated_copy(dst, src, n, mmu=False):
    """Untranslated: copies byte by byte; a SimulatedFault stops the copy
    and the bytes left are returned, as the fixup would.  With mmu, the
    page-table permissions of the user half are checked too, byte by byte,
    as the hardware checks them (rawmem alone knows nothing of them)."""
    done = 0
    while done < n:
        if mmu and not (_mmu_allows(src + done, False) and _mmu_allows(dst + done, True)):
            return n - done
        try:
            rawmem.store_u8(dst + done, rawmem.load_u8(src + done))
        except rawmem.SimulatedFault:
            return n - done
        done += 1
    return 0


_user_copy = rffi.llexternal('elyz_user_copy', [lltype.Signed] * 3, lltype.Signed,
                             compilation_info=_ECI, _nowrapper=True, sandboxsafe=True,
                             releasegil=False, _callable=_emulated_copy)


def user_range_ok(addr, length):
    """Returns True when [addr, addr + length) is inside the user half."""
    if length < 0 or addr < limits.USER_START or addr > limits.USER_END:
        return False
    return length <= limits.USER_END - addr


def pages_ok(addr, length, need_write):
    """Returns True when every page of [addr, addr + length) is mapped in
    the active address space for user access (and writable if need_write).
    An empty range has no page: True (the page of an unaligned addr is not
    looked at)."""
    if length <= 0:
        return True
    need = paging.PAGE_USER
    if need_write:
        need |= paging.PAGE_WRITE
    space = address_space.current()
    page = addr & ~(paging.PAGE_SIZE - 1)
    end = addr + length
    while page < end:
        flags = paging.get_flags(space, page)
        if flags < 0 or flags & need != need:
            return False
        page += paging.PAGE_SIZE
    return True


def _copy(dst, src, length):
    protection.user_access_begin()
    left = _user_copy(dst, src, length)
    protection.user_access_end()
    if left != 0:
        return E_FAULT
    return 0


def copy_from_user(dst, user_src, length):
    """Copies length bytes from user_src (user half) to dst; returns 0 or E_FAULT."""
    if not user_range_ok(user_src, length):
        return E_FAULT
    if length == 0:
        return 0
    if not pages_ok(user_src, length, False):
        return E_FAULT
    return _copy(dst, user_src, length)


def copy_to_user(user_dst, src, length):
    """Copies length bytes from src to user_dst (user half); returns 0 or E_FAULT."""
    if not user_range_ok(user_dst, length):
        return E_FAULT
    if length == 0:
        return 0
    if not pages_ok(user_dst, length, True):
        return E_FAULT
    return _copy(user_dst, src, length)


# ------------------------------------------------------------ no page walk

def _mmu_allows(addr, write):
    """Untranslated: what the MMU would say of a ring-0 access to addr in
    the active space (the user half: its page tables; the rest is kernel
    memory, which the simulated world backs or not)."""
    if addr < limits.USER_START or addr >= limits.USER_END:
        return True
    return pages_ok(addr, 1, write)


def _copy_unwalked(dst, src, length):
    protection.user_access_begin()
    if we_are_translated():
        left = _user_copy(dst, src, length)
    else:
        left = _emulated_copy(dst, src, length, True)
    protection.user_access_end()
    return left


def _copy_unwalked_checked(dst, src, user, length):
    """copy_in and copy_out: user is the side in the user half."""
    if not user_range_ok(user, length):
        return E_FAULT
    if length == 0:
        return 0
    if _copy_unwalked(dst, src, length) != 0:
        return E_FAULT
    return 0


def copy_in(dst, user_src, length):
    """Copies length bytes from user_src (user half) to dst without a page
    walk; returns 0 or E_FAULT (dst may then hold part of the bytes)."""
    return _copy_unwalked_checked(dst, user_src, user_src, length)


def copy_out(user_dst, src, length):
    """Copies length bytes from src to user_dst (user half) without a page
    walk; returns 0 or E_FAULT (user_dst may then hold part of them)."""
    return _copy_unwalked_checked(user_dst, src, user_dst, length)


def writable(addr, length):
    """Returns True when [addr, addr + length) lies in the user half and
    each of its pages takes a store (an empty range: the pointer alone);
    probes one byte per page, changing none (see the module docstring)."""
    if not user_range_ok(addr, length):
        return False
    if length <= 0:
        return True
    last = addr + length - 1
    page = addr & ~(paging.PAGE_SIZE - 1)
    protection.user_access_begin()
    ok = _probe_store(addr)
    while ok and page + paging.PAGE_SIZE <= last:
        page += paging.PAGE_SIZE
        ok = _probe_store(page)
    protection.user_access_end()
    return ok


def _probe_store(addr):
    """Copies the byte at addr onto itself (the SMAP window open); returns
    True when neither the load nor the store faulted."""
    if we_are_translated():
        return _user_copy(addr, addr, 1) == 0
    return _emulated_copy(addr, addr, 1, True) == 0
