"""Processes and descriptors from user programs (RPython): the system calls
of elyz/abi/syscalls.py with Python arguments.

    spawn(image, argv, passed) -> a strong Process descriptor, or a negative
        E_* code: runs the program image (a MemoryObject descriptor holding
        an ELF, e.g. IMAGE: init's copy of the user image) with the args
        block made of argv (each argument NUL-ended), moving the descriptors
        of the list passed into the child (its first descriptors:
        first_descriptor(i))
    wait(process) -> its exit code, or a negative E_* code
    describe(desc, out) -> 0 after filling out (a Description), or E_*
    counters(out) -> 0 after filling out (a Counters: the kernel's exact
        counts, docs/abi.md "Accounting"), or E_*
    leaked(before, after) -> '' when after is back at before (every count
        equal, but frames the kernel heap and kernel page tables grew by),
        else the names of the counters that differ, with both values
    first_descriptor(i) -> the value of a process's i-th first descriptor
        (DESCRIPTOR_SLOTS + i: the first generation of slot i)
    read_string(addr, length) / write_string(addr, s)   raw user memory
"""

from rpython.rlib.objectmodel import specialize
from rpython.rtyper.lltypesystem import lltype, rffi

from elyz.abi import counters as counters_abi
from elyz.abi import description
from elyz.abi.counters import Counters  # noqa: F401  (re-exported)
from elyz.abi.description import Description  # noqa: F401  (re-exported)
from elyz.abi.limits import DESCRIPTOR_SLOTS
from elyz.abi.rights import RIGHT_BORROW, RIGHT_CLONE, RIGHT_MAP, RIGHT_READ, RIGHT_TRANSFER
from user.lib import api

IMAGE = DESCRIPTOR_SLOTS            # the user image: init's first descriptor, and
                                    # that of every program init starts
IMAGE_RIGHTS = RIGHT_READ | RIGHT_MAP | RIGHT_CLONE | RIGHT_TRANSFER | RIGHT_BORROW
DESCRIPTION_WORDS = description.WORDS
COUNTER_WORDS = counters_abi.WORDS
# Counters that may grow for good (docs/abi.md, "Accounting"): frames_free
# then drops by exactly their growth.
KEPT_COUNTERS = ['heap_pages', 'kernel_table_frames']


def first_descriptor(i):
    return DESCRIPTOR_SLOTS + i


def raw_words(values):
    """Returns a raw array (free it with lltype.free(..., flavor='raw'))
    holding the words of the list values (one more, for an empty list)."""
    words = lltype.malloc(rffi.LONGP.TO, len(values) + 1, flavor='raw')
    i = 0
    while i < len(values):
        words[i] = values[i]
        i += 1
    return words


def spawn(image, argv, passed):
    block = '\x00'.join(argv) + '\x00'
    count = len(passed)
    values = raw_words(passed)
    args = rffi.str2charp(block)
    result = api.sys_spawn(image, rffi.cast(lltype.Signed, values), count,
                           rffi.cast(lltype.Signed, args), len(block))
    rffi.free_charp(args)
    lltype.free(values, flavor='raw')
    return result


def wait(process):
    return api.sys_wait(process)


@specialize.arg(0, 3)
def _read_words(call, desc, out, set_word, words):
    """Runs call(desc, pointer) on a raw buffer of words words and, when it
    returns 0, sets each field of out from it; returns call's result."""
    buf = lltype.malloc(rffi.LONGP.TO, words, flavor='raw')
    status = call(desc, rffi.cast(lltype.Signed, buf))
    if status == 0:
        i = 0
        while i < words:
            set_word(out, i, buf[i])
            i += 1
    lltype.free(buf, flavor='raw')
    return status


def _describe_call(desc, out):
    return api.sys_describe(desc, out)


def _counters_call(unused, out):
    return api.sys_counters(out)


def describe(desc, out):
    return _read_words(_describe_call, desc, out, description.set_word, DESCRIPTION_WORDS)


def counters(out):
    return _read_words(_counters_call, 0, out, counters_abi.set_word, COUNTER_WORDS)


def leaked(before, after):
    grown = 0
    differ = ''
    i = 0
    while i < COUNTER_WORDS:
        name = counters_abi.FIELDS[i]
        old = counters_abi.word(before, i)
        new = counters_abi.word(after, i)
        if name in KEPT_COUNTERS:
            if new < old:
                differ += ' %s %d -> %d' % (name, old, new)
            grown += new - old
        elif name != 'frames_free' and new != old:
            differ += ' %s %d -> %d' % (name, old, new)
        i += 1
    if after.frames_free != before.frames_free - grown:
        differ += ' frames_free %d -> %d (kept %d)' % (before.frames_free, after.frames_free,
                                                        grown)
    return differ


def read_string(addr, length):
    return rffi.charpsize2str(rffi.cast(rffi.CCHARP, addr), length)


def write_string(addr, s):
    buf = rffi.cast(rffi.CCHARP, addr)
    i = 0
    while i < len(s):
        buf[i] = s[i]
        i += 1
