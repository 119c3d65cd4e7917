"""Copies between kernel memory and the running process's user memory.

    user_range_ok(addr, length) -> True when [addr, addr + length) lies in
                    the user half ([USER_START, USER_END), no overflow)
    pages_ok(addr, length, need_write) -> True when every page is mapped
                    for user access (writable if need_write) in the active space
    copy_from_user(dst, user_src, length) -> 0 or E_FAULT
    copy_to_user(user_dst, src, length) -> 0 or E_FAULT

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
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.abi import limits
from elyz.abi.errors import E_FAULT
from elyz.mm import address_space, paging, protection
from elyz.rlib_kernel import rawmem

_ECI = ExternalCompilationInfo(post_include_bits=["""
long elyz_user_copy(long dst, long src, long n);
"""])


def _emulated_copy(dst, src, n):
    """Untranslated: copies byte by byte; a SimulatedFault stops the copy
    and the bytes left are returned, as the fixup would."""
    done = 0
    while done < n:
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
