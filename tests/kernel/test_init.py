"""The first user process from the boot archive (elyz.kernel.init): the
args block from `elyz.init=`, the search of the boot modules (newc archives
built by tests/loader/images.py, placed in simulated kernel memory outside
the PMM's RAM), start_init's results and logs, and the leak report."""

import pytest

from elyz.abi.errors import E_LIMIT, E_NOENT, E_NOEXEC
from elyz.abi.limits import DESCRIPTOR_SLOTS, PAGE_SIZE
from elyz.abi.rights import KIND_MEMORY, RIGHT_READ
from elyz.boot import bootinfo
from elyz.kernel import init, sched, spawn
from elyz.lib import log
from elyz.mm import address_space, heap, kernel_stacks
from elyz.mm.pmm import pmm
from elyz.obj import api, memory, process
from elyz.rlib_kernel import rawmem
from tests.kernel.conftest import (HHDM, IMAGE_AT, blocks, kernel_table_frames,
                                   read_bytes, run_queue, tick, write_bytes)
from tests.loader import images

MODULES = IMAGE_AT                          # module i at MODULES + i * MODULE_SPACING
MODULE_SPACING = 0x100000
BLOCK = rawmem.to_word(0xffffffff80400000)         # an args block, a region of its own


def boot_info(cmdline, modules=()):
    """A BootInfo with cmdline and the modules (bytes) placed in memory."""
    info = bootinfo.BootInfo()
    info.cmdline = list(cmdline) + ['\x00'] * max(0, bootinfo.MAX_CMDLINE - len(cmdline))
    info.cmdline_len = len(cmdline)
    for i, data in enumerate(modules):
        base = MODULES + i * MODULE_SPACING
        rawmem.simulated().add_region(base, max(len(data), 1))
        write_bytes(base, data)
        assert info.add_module(base, len(data))
    return info


def user_archive(image=None, others=()):
    image = images.minimal_elf().build() if image is None else image
    return images.newc(list(others) + [(init.USER_IMAGE, image)])


@pytest.fixture
def fast_tables(kworld, monkeypatch):
    """address_space.kernel_table_frames, read a table at a time (the same
    count: tests/kernel/test_sched.py checks they agree)."""
    monkeypatch.setattr(address_space, 'kernel_table_frames',
                        lambda: kernel_table_frames(kworld.kernel_pml4))
    return kworld


@pytest.fixture
def block(kworld):
    """An args block of exactly MAX_ARGS_LENGTH bytes: a byte written past
    it faults (its own simulated region)."""
    rawmem.simulated().add_region(BLOCK, spawn.MAX_ARGS_LENGTH)
    return BLOCK


def built(info, block):
    length = init._build_args(info, block)
    return length, (read_bytes(block, length) if length > 0 else None)


# ------------------------------------------------------------ the args block

@pytest.mark.parametrize('cmdline, expected', [
    ('elyz.init=a,b', 'init\0a\0b\0'),
    ('elyz.init=hello', 'init\0hello\0'),
    ('quiet elyz.init=hello,demo console=ttyS0', 'init\0hello\0demo\0'),
    ('elyz.init=gcstress:200,demo', 'init\0gcstress:200\0demo\0'),
    ('elyz.init=a,,b', 'init\0a\0\0b\0'),
    ('elyz.init=', 'init\0\0'),
    ('elyz.init=first elyz.init=second', 'init\0first\0'),
])
def test_build_args_turns_the_comma_separated_names_into_the_args_block(kworld, block,
                                                                        cmdline, expected):
    length, data = built(boot_info(cmdline), block)
    assert (length, data) == (len(expected), expected)


def test_build_args_fills_the_whole_block_and_refuses_one_byte_more(kworld, block):
    fits = 'x' * (spawn.MAX_ARGS_LENGTH - len('init\0') - 1)
    info = boot_info('')
    info.cmdline = list('elyz.init=' + fits)                # longer than a real command line
    info.cmdline_len = len(info.cmdline)
    length, data = built(info, block)
    assert length == spawn.MAX_ARGS_LENGTH and data == 'init\0' + fits + '\0'
    info.cmdline.append('y')
    info.cmdline_len += 1
    assert init._build_args(info, block) == E_LIMIT


# ------------------------------------------------------------ start_init

def test_start_init_without_elyz_init_starts_nothing(kworld):
    heap_bytes = heap.kernel_heap.bytes_in_use
    info = boot_info('quiet elyz.initx=a', [user_archive()])
    assert init.start_init(info) == -1
    assert log.captured == [] and process.records_in_use() == 0
    assert heap.kernel_heap.bytes_in_use == heap_bytes


def test_start_init_without_boot_modules_is_e_noent_and_logged(kworld):
    assert init.start_init(boot_info('elyz.init=hello')) == E_NOENT
    assert log.captured == ['error: init: no boot archive holding elyz-user: E_NOENT']


def test_start_init_without_an_archive_among_the_modules_is_e_noent(kworld):
    info = boot_info('elyz.init=hello', ['not an archive at all', '\0' * 200])
    assert init.start_init(info) == E_NOENT
    assert log.captured == ['error: init: no boot archive holding elyz-user: E_NOENT']
    assert process.records_in_use() == 0


def test_start_init_with_an_archive_lacking_elyz_user_is_e_noent(kworld):
    info = boot_info('elyz.init=hello', [images.newc([('other', 'data'), ('more', 'x')])])
    assert init.start_init(info) == E_NOENT
    assert log.captured == ['error: init: no boot archive holding elyz-user: E_NOENT']


def test_start_init_finds_the_archive_among_several_modules(kworld):
    data = images.minimal_elf().build()
    info = boot_info('console=ttyS0 elyz.init=a,b', [
        'garbage', images.newc([('readme', 'hello')]),
        user_archive(data, others=[('first', 'abc')]), user_archive('not this one')])
    assert init.find_user_image(info) == 2
    index = init.start_init(info)
    assert index >= 0
    assert log.captured == ['init: process %d started from the boot archive (%d bytes of '
                            'elyz-user)' % (index, len(data))]
    child = process.get(index)
    assert sched.task(index).state == sched.TASK_RUNNABLE and run_queue() == [index]
    args = 'init\0a\0b\0'
    phys = address_space.translate(child.space, spawn.STACK_TOP - PAGE_SIZE)
    top = read_bytes(HHDM + phys, PAGE_SIZE)
    assert top[PAGE_SIZE - 16:PAGE_SIZE - 16 + len(args)] == args


def test_init_gets_a_copy_of_the_image_as_its_first_descriptor(kworld):
    data = images.minimal_elf().build()
    index = init.start_init(boot_info('elyz.init=hello', [user_archive(data)]))
    child = process.get(index)
    out = api.Description()
    assert api.describe(child, DESCRIPTOR_SLOTS, out) == 0
    assert (out.kind, out.rights) == (KIND_MEMORY, spawn.IMAGE_RIGHTS)
    obj = memory.get(api.memory_named(child, DESCRIPTOR_SLOTS, RIGHT_READ))
    assert read_bytes(HHDM + memory.frame(obj, 0), len(data)) == data


def test_start_init_with_a_refused_image_is_logged_and_leaves_nothing(kworld):
    heap_bytes = heap.kernel_heap.bytes_in_use
    info = boot_info('elyz.init=hello', [user_archive('\x7fELF but not really')])
    assert init.start_init(info) == E_NOEXEC
    assert log.captured == ['error: init: starting elyz-user: E_NOEXEC']
    assert heap.kernel_heap.bytes_in_use == heap_bytes      # the args block went back
    assert process.records_in_use() == 0 and sched.tasks_in_use() == 0


# ------------------------------------------------------------ report_leaks

def test_report_leaks_after_balanced_work_says_no_leak(fast_tables):
    before = init.Accounting().take()
    index = init.start_init(boot_info('elyz.init=hello', [user_archive()]))
    assert index >= 0
    tick()
    blocks(sched.exit_current, 0)                          # init ends
    assert sched.current() == sched.IDLE and sched.tasks_in_use() == 0
    log.reset_for_tests()
    assert init.report_leaks(before)
    assert len(log.captured) == 1
    assert log.captured[0].startswith('user: frames free ')
    assert log.captured[0].endswith(', processes left 0: no leak')


@pytest.mark.parametrize('leak', ['heap', 'frame', 'process'])
def test_report_leaks_says_leak_when_something_stayed(fast_tables, leak):
    before = init.Accounting().take()
    if leak == 'heap':
        heap.kernel_heap.malloc(32)
    elif leak == 'frame':
        pmm.alloc_frame()
    else:
        api.spawn(None, 0)
    log.reset_for_tests()
    assert not init.report_leaks(before)
    assert len(log.captured) == 1
    assert log.captured[0].startswith('error: user: frames free ')
    assert log.captured[0].endswith(': LEAK')


def test_report_leaks_does_not_count_heap_growth_and_kernel_tables_as_leaks(fast_tables):
    before = init.Accounting().take()
    pages = heap.kernel_heap.bytes_reserved_from_pages
    taken = []
    while heap.kernel_heap.bytes_reserved_from_pages == pages:       # the heap grows
        taken.append(heap.kernel_heap.malloc(200))
    for b in taken:
        heap.kernel_heap.free(b)
    assert kernel_stacks.create(9) != 0                              # kernel tables made
    kernel_stacks.destroy(9)
    assert address_space.kernel_table_frames() > before.kernel_tables
    assert heap.kernel_heap.bytes_reserved_from_pages > pages
    assert init.report_leaks(before)
