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
    first_descriptor(i) -> the value of a process's i-th first descriptor
        (DESCRIPTOR_SLOTS + i: the first generation of slot i)
    read_string(addr, length) / write_string(addr, s)   raw user memory
"""

from rpython.rtyper.lltypesystem import lltype, rffi

from elyz.abi import description
from elyz.abi.description import Description  # noqa: F401  (re-exported)
from elyz.abi.limits import DESCRIPTOR_SLOTS
from elyz.abi.rights import RIGHT_BORROW, RIGHT_CLONE, RIGHT_MAP, RIGHT_READ, RIGHT_TRANSFER
from user.lib import api

IMAGE = DESCRIPTOR_SLOTS            # the user image: init's first descriptor, and
                                    # that of every program init starts
IMAGE_RIGHTS = RIGHT_READ | RIGHT_MAP | RIGHT_CLONE | RIGHT_TRANSFER | RIGHT_BORROW
DESCRIPTION_WORDS = description.WORDS


def first_descriptor(i):
    return DESCRIPTOR_SLOTS + i


def spawn(image, argv, passed):
    block = '\x00'.join(argv) + '\x00'
    count = len(passed)
    values = lltype.malloc(rffi.LONGP.TO, count + 1, flavor='raw')
    i = 0
    while i < count:
        values[i] = passed[i]
        i += 1
    args = rffi.str2charp(block)
    result = api.sys_spawn(image, rffi.cast(lltype.Signed, values), count,
                           rffi.cast(lltype.Signed, args), len(block))
    rffi.free_charp(args)
    lltype.free(values, flavor='raw')
    return result


def wait(process):
    return api.sys_wait(process)


def describe(desc, out):
    words = lltype.malloc(rffi.LONGP.TO, DESCRIPTION_WORDS, flavor='raw')
    status = api.sys_describe(desc, rffi.cast(lltype.Signed, words))
    if status == 0:
        i = 0
        while i < DESCRIPTION_WORDS:
            description.set_word(out, i, words[i])
            i += 1
    lltype.free(words, flavor='raw')
    return status


def read_string(addr, length):
    return rffi.charpsize2str(rffi.cast(rffi.CCHARP, addr), length)


def write_string(addr, s):
    buf = rffi.cast(rffi.CCHARP, addr)
    i = 0
    while i < len(s):
        buf[i] = s[i]
        i += 1
