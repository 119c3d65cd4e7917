"""Real executables: what the host gcc and GNU ld produce for a static,
freestanding x86_64 program is accepted, read the way pyelftools reads it,
and loaded page by page with the bytes of its segments; what they produce
for programs the kernel cannot run (a PIE, a dynamic executable, an
executable stack) is refused.  Then the same executables in a newc boot
archive, found by name and parsed in place.  Skipped only without gcc."""

import io
import os
import subprocess
from distutils.spawn import find_executable

import pytest
from elftools.elf.elffile import ELFFile

from elyz.abi.errors import E_NOEXEC
from elyz.abi.rights import PROT_EXEC, PROT_READ, PROT_WRITE
from elyz.loader import archive, elf
from tests.loader.images import DIRECTORY, expected_pages, loaded_pages, newc, place

pytestmark = pytest.mark.skipif(find_executable('gcc') is None, reason='no gcc on this host')

PROGRAM = r'''
volatile long counter = 1;                     /* .data */
char buffer[8192];                             /* .bss */
const char message[] = "hello from user space";  /* .rodata */

void _start(void)
{
    for (;;) {
        counter++;
        buffer[counter & 8191] = message[counter % sizeof(message)];
    }
}
'''

# .init_array is RELRO: the data segment starts in the middle of a page
# (p_vaddr 0x...ff8) and its bytes cross into the next one.
RELRO_PROGRAM = r'''
volatile long counter = 1;
char buffer[8192];
static void tick(void) { counter++; }
void (*const init_table[])(void) __attribute__((section(".init_array"), used)) = { tick };

void _start(void)
{
    for (;;) {
        init_table[0]();
        buffer[counter & 8191] = 1;
    }
}
'''

MAIN_PROGRAM = 'int main(void) { return 0; }\n'

STATIC = ['-static', '-nostdlib', '-no-pie', '-fno-pic', '-O1']

ACCEPTED = [
    ('text-segment', PROGRAM, STATIC + ['-Wl,-Ttext-segment=0x400000']),
    ('noseparate-code', PROGRAM, STATIC + ['-Wl,-z,noseparate-code']),
    ('max-page-size-2m', PROGRAM, STATIC + ['-Wl,-z,max-page-size=0x200000']),
    ('relro', RELRO_PROGRAM, STATIC + ['-Wl,-z,relro']),
    ('O0', PROGRAM, ['-static', '-nostdlib', '-no-pie', '-O0']),
]


def compile_c(tmpdir, name, source, flags, required=True):
    """Returns the bytes of the executable gcc makes of source, or skips
    (when not required) if this gcc cannot make it."""
    src = os.path.join(str(tmpdir), name + '.c')
    exe = os.path.join(str(tmpdir), name)
    with open(src, 'w') as f:
        f.write(source)
    proc = subprocess.Popen(['gcc'] + flags + ['-o', exe, src], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = proc.communicate()[0]
    if proc.returncode != 0:
        if required:
            pytest.fail('gcc %s failed:\n%s' % (' '.join(flags), out))
        pytest.skip('this gcc cannot build it: %s' % out.strip()[-200:])
    with open(exe, 'rb') as f:
        return f.read()


def reference(data):
    """(entry, [(vaddr, memsz, offset, filesz, prot)], _start) as pyelftools
    reads the file."""
    e = ELFFile(io.BytesIO(data))
    loads = []
    for seg in e.iter_segments():
        if seg['p_type'] != 'PT_LOAD' or seg['p_memsz'] == 0:
            continue
        prot = PROT_READ
        if seg['p_flags'] & 2:
            prot |= PROT_WRITE
        if seg['p_flags'] & 1:
            prot |= PROT_EXEC
        loads.append((seg['p_vaddr'], seg['p_memsz'], seg['p_offset'], seg['p_filesz'], prot))
    start = e.get_section_by_name('.symtab').get_symbol_by_name('_start')[0]['st_value']
    return e.header['e_entry'], loads, start


def check_accepted(base, data):
    out = elf.Image()
    assert elf.parse(base, len(data), out) == 0, out.refused
    entry, loads, start = reference(data)
    assert out.entry == entry == start
    assert [(s.vaddr, s.memsz, s.offset, s.filesz, s.prot)
            for s in out.segments[:out.count]] == loads
    for s in out.segments[:out.count]:
        assert loaded_pages(base, s) == expected_pages(s, data)
    return out


@pytest.mark.parametrize('name,source,flags', ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_a_static_executable_made_by_gcc_is_accepted_and_loads(tmpdir, name, source, flags):
    data = compile_c(tmpdir, name, source, flags)
    out = check_accepted(place(data), data)
    assert any(s.prot & PROT_WRITE for s in out.segments[:out.count])      # .data/.bss
    assert any(s.memsz > s.filesz for s in out.segments[:out.count])        # .bss


def test_the_relro_data_segment_starts_mid_page(tmpdir):
    data = compile_c(tmpdir, 'relro', RELRO_PROGRAM, STATIC + ['-Wl,-z,relro'])
    out = check_accepted(place(data), data)
    data_segment = [s for s in out.segments[:out.count] if s.prot & PROT_WRITE][0]
    assert data_segment.vaddr % 4096 != 0
    assert elf.page_count(data_segment) >= 2


def test_an_executable_stack_is_refused(tmpdir):
    data = compile_c(tmpdir, 'execstack', PROGRAM, STATIC + ['-Wl,-z,execstack'])
    out = elf.Image()
    assert elf.parse(place(data), len(data), out) == E_NOEXEC
    assert out.refused == elf.REFUSED_EXEC_STACK


def test_a_static_pie_is_refused(tmpdir):
    data = compile_c(tmpdir, 'pie', PROGRAM, ['-static-pie', '-nostdlib', '-O1'],
                     required=False)
    out = elf.Image()
    assert elf.parse(place(data), len(data), out) == E_NOEXEC
    assert out.refused == elf.REFUSED_TYPE


def test_a_dynamically_linked_executable_is_refused(tmpdir):
    data = compile_c(tmpdir, 'dynamic', MAIN_PROGRAM, ['-no-pie', '-O1'], required=False)
    out = elf.Image()
    assert elf.parse(place(data), len(data), out) == E_NOEXEC
    assert out.refused == elf.REFUSED_DYNAMIC


def test_programs_found_in_a_boot_archive_parse_in_place(tmpdir):
    init = compile_c(tmpdir, 'init', PROGRAM, STATIC)
    relro = compile_c(tmpdir, 'relro', RELRO_PROGRAM, STATIC + ['-Wl,-z,relro'])
    data = newc([('bin', '', DIRECTORY), ('bin/init', init), ('README', 'odd length!'),
                 ('bin/relro', relro)])
    base = place(data)
    entry = archive.Entry()
    for name, contents in (('bin/init', init), ('bin/relro', relro)):
        assert archive.find(base, len(data), name, entry) == 0
        assert archive.is_regular(entry.mode) and entry.size == len(contents)
        check_accepted(entry.data, contents)
    assert archive.find(base, len(data), 'README', entry) == 0
    assert elf.parse(entry.data, entry.size, elf.Image()) == E_NOEXEC
