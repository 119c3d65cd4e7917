"""Copies between kernel memory and the running process's user memory.

    user_range_ok(addr, length) -> True when [addr, addr + length) lies in
                    the user half ([USER_START, USER_END), no overflow)
    copy_from_user(dst, user_src, length) -> 0 or E_FAULT
    copy_to_user(user_dst, src, length) -> 0 or E_FAULT

A pointer outside the user half is refused before anything is touched (it
could name kernel memory, which would not fault); inside it, the copy runs
with SMAP's window open (protection.user_access_begin) through the
fault-safe elyz_user_copy (arch/x86_64/probe.S): a page that is not
mapped, or not writable for copy_to_user (CR0.WP binds the kernel), stops
the copy with E_FAULT, never a panic.  length 0 copies nothing and succeeds.
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.abi import limits
from elyz.abi.errors import E_FAULT
from elyz.mm import protection
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
    return _copy(dst, user_src, length)


def copy_to_user(user_dst, src, length):
    """Copies length bytes from src to user_dst (user half); returns 0 or E_FAULT."""
    if not user_range_ok(user_dst, length):
        return E_FAULT
    if length == 0:
        return 0
    return _copy(user_dst, src, length)
