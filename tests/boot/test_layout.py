"""elyz.boot.layout and elyz.boot.errors agree with the boot stubs and
with themselves."""

import os
import re

from elyz.boot import errors, layout
from elyz.rlib_kernel.rawmem import to_word
from tests.support.rpycheck import rtype_allocation_free
from tests.conftest import ROOT

ARCH = os.path.join(ROOT, 'arch', 'x86_64')


def _read(name):
    return open(os.path.join(ARCH, name)).read()


def test_boot_stack_size_and_early_hhdm_match_boot_h():
    boot_h = _read('boot.h')
    stack = re.search(r'#define ELYZ_BOOT_STACK_SIZE\s+\((\d+) \* (\d+)\)', boot_h)
    assert int(stack.group(1)) * int(stack.group(2)) == layout.BOOT_STACK_SIZE
    hhdm = re.search(r'#define ELYZ_EARLY_HHDM\s+(0x[0-9a-f]+)', boot_h)
    assert to_word(int(hhdm.group(1), 16)) == layout.EARLY_HHDM


def test_kernel_addresses_match_the_linker_script():
    ld = _read('linker.ld')
    vma = re.search(r'KERNEL_VMA = (0x[0-9a-f]+);', ld)
    assert to_word(int(vma.group(1), 16)) == layout.KERNEL_VMA
    start = re.search(r'\. = KERNEL_VMA \+ (0x[0-9a-f]+);', ld)
    assert int(start.group(1), 16) == layout.KERNEL_PHYS_BASE
    assert layout.KERNEL_VIRT_BASE == to_word(layout.KERNEL_VMA + layout.KERNEL_PHYS_BASE)


def test_early_map_covers_the_first_4_gib():
    assert layout.in_early_map(0, layout.EARLY_MAP_SIZE)
    assert layout.in_early_map(layout.EARLY_MAP_SIZE - 8, 8)
    assert not layout.in_early_map(layout.EARLY_MAP_SIZE - 8, 9)
    assert not layout.in_early_map(-4096, 8)
    assert not layout.in_early_map(0x1000, -1)
    assert not layout.in_early_map(to_word(0xffffffffffffff00), 0x200)


def test_error_codes_are_distinct_negative_numbers_with_names():
    codes = [errors.E_BAD_MAGIC, errors.E_BAD_VERSION, errors.E_BAD_SIZE, errors.E_TRUNCATED,
             errors.E_BAD_ADDRESS, errors.E_NO_MEMORY_MAP, errors.E_NO_HHDM,
             errors.E_BAD_REQUEST]
    assert len(set(codes)) == len(codes)
    assert all(code < 0 for code in codes)
    names = [errors.error_name(code) for code in codes]
    assert len(set(names)) == len(names) and 'unknown error' not in names
    assert errors.error_name(errors.OK) == 'ok'
    assert errors.error_name(-100) == errors.error_name(5) == 'unknown error'


def _layout_entry(phys, code):
    if layout.in_early_map(phys, 4096):
        return len(errors.error_name(code))
    return 0


def test_layout_and_errors_are_valid_rpython_and_allocate_nothing():
    rtype_allocation_free([(_layout_entry, [int, int])], module_prefix='elyz.boot')

