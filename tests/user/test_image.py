"""The linked user image, read with pyelftools: a static ELF64 executable at
the user address, three page-aligned segments R-X / R-- / RW- (never W+X),
nothing undefined, nothing the runtime cannot run (TLS, constructors,
dynamic sections), nothing in the kernel half; and the kernel's own loader
rules (elyz/loader/elf.py) accept it."""

import re
import subprocess

import pytest
from elftools.elf.constants import P_FLAGS, SH_FLAGS
from elftools.elf.elffile import ELFFile

from elyz.abi import syscalls
from elyz.abi.limits import USER_END, USER_START
from user.lib import abigen
from user.lib.image import HEAP_BASE, USER_BASE

PAGE = 4096
KERNEL_HALF = 0xffff800000000000
R, W, X = P_FLAGS.PF_R, P_FLAGS.PF_W, P_FLAGS.PF_X


@pytest.fixture(scope='module')
def elf(user_elf):
    f = open(user_elf, 'rb')
    yield ELFFile(f)
    f.close()


def loads(elf):
    return [s for s in elf.iter_segments() if s['p_type'] == 'PT_LOAD']


def symbols(elf):
    return dict((s.name, s) for s in elf.get_section_by_name('.symtab').iter_symbols() if s.name)


def test_a_static_non_pie_x86_64_executable(elf):
    assert elf.elfclass == 64 and elf.little_endian
    assert elf['e_type'] == 'ET_EXEC'
    assert elf['e_machine'] == 'EM_X86_64'
    types = set(s['p_type'] for s in elf.iter_segments())
    assert not types & set(['PT_INTERP', 'PT_DYNAMIC', 'PT_TLS'])
    for name in ('.interp', '.dynamic', '.dynsym', '.rela.dyn', '.got.plt', '.plt',
                 '.tdata', '.tbss', '.init_array', '.fini_array', '.ctors', '.dtors'):
        assert elf.get_section_by_name(name) is None, name


def test_the_entry_is_start_at_the_user_base(elf):
    syms = symbols(elf)
    assert elf['e_entry'] == USER_BASE == syms['_start']['st_value']
    assert syms['_start']['st_info']['type'] == 'STT_FUNC'


def test_three_page_aligned_segments_rx_r_rw_none_writable_and_executable(elf):
    segs = loads(elf)
    assert [s['p_flags'] for s in segs] == [R | X, R, R | W]
    pages = []
    for s in segs:
        assert not (s['p_flags'] & W and s['p_flags'] & X)
        assert s['p_vaddr'] % PAGE == 0 and s['p_offset'] % PAGE == 0
        assert s['p_align'] == PAGE
        assert s['p_filesz'] <= s['p_memsz']
        pages.append((s['p_vaddr'], (s['p_vaddr'] + s['p_memsz'] + PAGE - 1) // PAGE * PAGE))
    for (a_start, a_end), (b_start, b_end) in zip(pages, pages[1:]):
        assert a_end <= b_start                  # no page shared by two segments
    stack = [s for s in elf.iter_segments() if s['p_type'] == 'PT_GNU_STACK']
    assert len(stack) == 1 and not stack[0]['p_flags'] & X


def test_every_section_lies_in_the_segment_with_its_permissions(elf):
    segs = loads(elf)
    for sec in elf.iter_sections():
        if not sec['sh_flags'] & SH_FLAGS.SHF_ALLOC or sec['sh_size'] == 0:
            continue
        holder = [s for s in segs if s['p_vaddr'] <= sec['sh_addr']
                  and sec['sh_addr'] + sec['sh_size'] <= s['p_vaddr'] + s['p_memsz']]
        assert len(holder) == 1, sec.name
        flags = holder[0]['p_flags']
        assert bool(flags & W) == bool(sec['sh_flags'] & SH_FLAGS.SHF_WRITE), sec.name
        assert bool(flags & X) == bool(sec['sh_flags'] & SH_FLAGS.SHF_EXECINSTR), sec.name


def test_linked_low_in_the_user_half_below_the_heap_and_nothing_in_the_kernel_half(elf):
    for s in loads(elf):
        assert USER_START <= USER_BASE <= s['p_vaddr']
        assert s['p_vaddr'] + s['p_memsz'] <= HEAP_BASE < USER_END
    for sym in symbols(elf).values():
        assert sym['st_value'] < KERNEL_HALF, sym.name
        if sym['st_shndx'] not in ('SHN_ABS', 'SHN_UNDEF') and sym['st_info']['type'] in (
                'STT_FUNC', 'STT_OBJECT'):
            assert USER_BASE <= sym['st_value'] < HEAP_BASE, sym.name


def test_no_undefined_symbols(elf):
    undefined = [s.name for s in elf.get_section_by_name('.symtab').iter_symbols()
                 if s['st_shndx'] == 'SHN_UNDEF' and s.name]
    assert undefined == []


def test_the_runtime_entry_points_and_every_system_call_stub_are_defined(elf):
    # What the GC's code calls, the start-up path, and the stubs (--gc-sections
    # drops what nobody calls, such as calloc and memmove today).
    syms = symbols(elf)
    wanted = ['rpy_user_main', 'RPython_StartupCode', 'elyz_user_start', 'malloc', 'free',
              'getenv', 'getpagesize', 'madvise', 'memcpy', 'memset', 'abort', 'fprintf',
              'stderr']
    wanted += ['elyz_sys_' + name for _, name, _, _ in syscalls.SYSCALLS]
    for name in wanted:
        assert name in syms and syms[name]['st_shndx'] != 'SHN_UNDEF', name


def test_built_with_sse_and_without_the_kernel_code_model(user_program):
    flags = user_program.toolchain.cflags
    assert '-mcmodel=kernel' not in flags and '-mno-sse' not in flags
    for flag in ('-fno-pic', '-fno-pie', '-ffreestanding', '-fno-stack-protector', '-fwrapv'):
        assert flag in flags
    assert '-static' in user_program.toolchain.ldflags
    assert user_program.gc == 'incminimark' and user_program.floats


def test_the_kernel_loader_accepts_the_image(user_elf):
    from elyz.loader import elf as loader
    from elyz.rlib_kernel import rawmem
    data = open(user_elf, 'rb').read()
    base = rawmem.to_word(0xffff800000200000)
    memory = rawmem.simulate()
    memory.add_region(base, len(data))
    memory.write(base, bytearray(data))
    out = loader.Image()
    status = loader.parse(base, len(data), out)
    assert status == 0, getattr(out, 'refused', None)
    assert out.entry == USER_BASE
    assert out.count == 3


def test_make_user_does_nothing_when_nothing_changed(user_elf):
    from tests.conftest import ROOT
    assert subprocess.call(['make', '-q', 'user'], cwd=ROOT) == 0


def _header_constant(name):
    text = open(abigen.HEADER.replace('elyz_abi.h', 'elyz_user.h')).read()
    m = re.search(r'#define %s\s+\((\d+)UL \* 1024\)' % name, text)
    return int(m.group(1)) * 1024


def test_the_shadow_stack_has_a_root_for_every_word_of_the_c_stack_rpython_may_use():
    from user.lib.image import USER_GC_OPTIONS
    # The shadow stack has no overflow check: the C stack check (start.c
    # caps the stack at ELYZ_MAX_STACK_SIZE) must stop a recursion first.
    assert USER_GC_OPTIONS.root_stack_depth * 8 >= _header_constant('ELYZ_MAX_STACK_SIZE')
    assert _header_constant('ELYZ_DEFAULT_STACK_SIZE') <= _header_constant('ELYZ_MAX_STACK_SIZE')
