"""The kernel ELF, checked with pyelftools: one image that Limine,
GRUB (Multiboot2) and QEMU's PVH loader all accept."""

import struct

import pytest
from elftools.elf.elffile import ELFFile

KERNEL_VMA = 0xffffffff80000000
MB2_MAGIC = 0xe85250d6
XEN_ELFNOTE_PHYS32_ENTRY = 18
LIMINE_REQUESTS_START = struct.pack('<4Q', 0xf6b8f4b39de7d1ae, 0xfab91a6940fcb9cf,
                                    0x785c6ed015d3e316, 0x181e920a7852b9d9)
LIMINE_REQUESTS_END = struct.pack('<2Q', 0xadc0e0531bb10d03, 0x9572709f31764c62)
LIMINE_BASE_REVISION_MAGIC = struct.pack('<2Q', 0xf9562b2d5c95a6c8, 0x6a7b384944536bdc)
HOST_LIBC_SYMBOLS = ('printf', 'puts', 'fopen', 'fwrite', 'pthread_create', 'pthread_getspecific',
                     '__libc_start_main', '__stack_chk_fail', 'stdout', 'exit', 'write', 'read',
                     'mmap', 'gettimeofday', 'clock_gettime', 'sqrt', 'pow', 'dlopen')


@pytest.fixture(scope='module')
def elf(kernel_elf):
    f = open(kernel_elf, 'rb')
    yield ELFFile(f)
    f.close()


@pytest.fixture(scope='module')
def raw(kernel_elf):
    with open(kernel_elf, 'rb') as f:
        return f.read()


def symbol(elf, name):
    syms = elf.get_section_by_name('.symtab').get_symbol_by_name(name)
    assert syms, 'no symbol %s' % name
    return syms[0]


def test_entry_point_is_the_higher_half_limine_entry(elf):
    assert elf.header['e_machine'] == 'EM_X86_64'
    assert elf.header['e_entry'] == symbol(elf, 'elyz_limine_entry')['st_value']
    assert elf.header['e_entry'] >= KERNEL_VMA


def test_every_loaded_segment_is_higher_half_with_physical_address_below_it(elf):
    loads = [s for s in elf.iter_segments() if s['p_type'] == 'PT_LOAD']
    assert len(loads) >= 3
    for seg in loads:
        assert seg['p_vaddr'] >= KERNEL_VMA
        assert seg['p_paddr'] == seg['p_vaddr'] - KERNEL_VMA


def test_text_is_not_writable_and_data_is_not_executable(elf):
    text = symbol(elf, 'rpy_kmain')['st_value']
    for seg in elf.iter_segments():
        if seg['p_type'] != 'PT_LOAD':
            continue
        if seg['p_vaddr'] <= text < seg['p_vaddr'] + seg['p_memsz']:
            assert seg['p_flags'] == 5            # R-X
        elif seg['p_flags'] & 2 and seg['p_vaddr'] > text:
            assert not seg['p_flags'] & 1          # data: no X


def test_multiboot2_header_is_in_the_first_32k_aligned_with_valid_checksum(raw):
    for offset in range(0, 32768, 8):
        magic, arch, length, checksum = struct.unpack_from('<4I', raw, offset)
        if magic == MB2_MAGIC:
            assert (magic + arch + length + checksum) & 0xffffffff == 0
            assert arch == 0
            return
    pytest.fail('no Multiboot2 header in the first 32 KiB')


def test_pvh_note_points_at_the_32bit_entry(elf):
    entry = symbol(elf, 'elyz_pvh_entry')['st_value'] - KERNEL_VMA
    for seg in elf.iter_segments():
        if seg['p_type'] == 'PT_NOTE':
            for note in seg.iter_notes():
                if note['n_name'] == 'Xen' and note['n_type'] == XEN_ELFNOTE_PHYS32_ENTRY:
                    desc = note['n_descdata']
                    if not isinstance(desc, bytes):
                        desc = desc.encode('latin-1')
                    assert struct.unpack('<I', desc[:4])[0] == entry
                    assert entry < 1 << 32
                    return
    pytest.fail('no Xen PHYS32_ENTRY note')


def test_limine_requests_sit_between_the_markers(elf):
    data = elf.get_section_by_name('.data').data()
    start = data.find(LIMINE_REQUESTS_START)
    end = data.find(LIMINE_REQUESTS_END)
    base = data.find(LIMINE_BASE_REVISION_MAGIC)
    assert 0 <= start < base < end
    assert start % 8 == 0


def test_no_undefined_symbols_and_no_host_libc(elf):
    symtab = elf.get_section_by_name('.symtab')
    undefined = [s.name for s in symtab.iter_symbols()
                 if s['st_shndx'] == 'SHN_UNDEF' and s.name]
    assert undefined == []
    names = set(s.name for s in symtab.iter_symbols())
    assert not names.intersection(HOST_LIBC_SYMBOLS)
    assert elf.get_section_by_name('.interp') is None
    assert elf.get_section_by_name('.dynamic') is None


def test_exported_entry_points_have_their_fixed_c_names(elf):
    assert symbol(elf, 'rpy_kmain')['st_info']['type'] == 'STT_FUNC'


def _read_words(elf, address, count):
    """Returns count 64-bit words at virtual address in the ELF's sections."""
    for section in elf.iter_sections():
        start = section['sh_addr']
        if section['sh_type'] == 'SHT_PROGBITS' and start <= address < start + section['sh_size']:
            offset = address - start
            return list(struct.unpack_from('<%dQ' % count, section.data(), offset))
    pytest.fail('address %#x is in no section with contents' % address)


def test_kernel_stacks_lie_last_each_above_a_guard_page_as_image_py_says(elf):
    from elyz.rlib_kernel import image
    section = elf.get_section_by_name('.kernel_stacks')
    assert section['sh_type'] == 'SHT_NOBITS'           # no bytes in the file
    start = symbol(elf, 'elyz_kernel_stacks_start')['st_value']
    end = symbol(elf, 'elyz_kernel_stacks_end')['st_value']
    assert start % 4096 == 0 and end % 4096 == 0
    assert end == symbol(elf, 'elyz_data_end')['st_value'] == symbol(elf, 'elyz_kernel_end')['st_value']
    count = _read_words(elf, symbol(elf, 'elyz_kernel_stack_count')['st_value'], 1)[0]
    assert count == len(image.STACK_NAMES)
    table = _read_words(elf, symbol(elf, 'elyz_kernel_stack_table')['st_value'], 2 * count)
    sizes = [image.BOOT_STACK_SIZE] + [image.IST_STACK_SIZE] * (count - 1)
    below = start
    for i in range(count):
        bottom, top = table[2 * i], table[2 * i + 1]
        assert bottom == below + image.STACK_GUARD_SIZE, image.STACK_NAMES[i]
        assert top - bottom == sizes[i]
        below = top
    assert below == end
    assert table[0] == symbol(elf, 'boot_stack_bottom')['st_value']
    # The CPU tables are not next to any stack: they lie below the stacks' region.
    for name in ('gdt', 'tss', 'idt'):
        assert symbol(elf, name)['st_value'] < start


def test_image_py_stack_constants_match_boot_h():
    import os
    import re
    from elyz.rlib_kernel import image, runtime
    from tests.conftest import ROOT
    boot_h = open(os.path.join(ROOT, 'arch', 'x86_64', 'boot.h')).read()

    def define(name):
        match = re.search(r'#define %s\s+\(?(\d+)(?: \* (\d+))?\)?' % name, boot_h)
        return int(match.group(1)) * int(match.group(2) or 1)
    assert define('ELYZ_BOOT_STACK_SIZE') == image.BOOT_STACK_SIZE
    assert define('ELYZ_IST_STACK_SIZE') == image.IST_STACK_SIZE
    assert define('ELYZ_STACK_GUARD_SIZE') == image.STACK_GUARD_SIZE
    assert define('ELYZ_STACK_CHECK_RESERVE') == runtime.STACK_CHECK_RESERVE
