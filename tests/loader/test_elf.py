"""Specification of elyz.loader.elf: which ELF64 images the kernel runs, and
what goes into each page of their segments.

Every image is placed so that its simulated region is exactly the image: a
read one byte before or after it raises SimulatedFault.  Each refusal test
breaks one rule of a valid image and checks that rule is the one named."""

import struct

import pytest
from hypothesis import given, settings, strategies as st

from elyz.abi.errors import E_NOEXEC, E_RANGE
from elyz.abi.limits import PAGE_SIZE, USER_END, USER_START
from elyz.abi.rights import PROT_EXEC, PROT_READ, PROT_WRITE
from elyz.loader import elf
from elyz.rlib_kernel import rawmem
from tests.loader.images import (BASE, CODE_OFFSET, DATA_FILESZ, DATA_MEMSZ, DATA_OFFSET,
                                 DATA_VADDR, FAR_TABLE, FILE_SIZE, Elf, PF_R, PF_W, PF_X,
                                 PT_DYNAMIC, PT_GNU_STACK, PT_INTERP, PT_LOAD, PT_NOTE, PT_PHDR,
                                 PT_TLS, TEXT_SIZE, TEXT_VADDR, expected_pages, loaded_pages,
                                 minimal_elf, place)

U64 = (1 << 64) - 1


def parse(image, base=None):
    """Returns (status, Image) of parse over image's bytes (or an Elf)."""
    data = image.build() if isinstance(image, Elf) else image
    base = place(data) if base is None else base
    out = elf.Image()
    status = elf.parse(base, len(data), out)
    return status, out


def refused(image, reason):
    status, out = parse(image)
    assert (status, out.refused) == (E_NOEXEC, reason)
    assert out.count == 0 and out.entry == 0


def segments(out):
    return [(s.vaddr, s.memsz, s.offset, s.filesz, s.prot) for s in out.segments[:out.count]]


# ------------------------------------------------------------ accepted images

def test_the_minimal_image_is_accepted_with_its_segments_and_entry():
    status, out = parse(minimal_elf())
    assert status == 0 and out.refused == ''
    assert out.entry == TEXT_VADDR + CODE_OFFSET
    assert segments(out) == [
        (TEXT_VADDR, TEXT_SIZE, 0, TEXT_SIZE, PROT_READ | PROT_EXEC),
        (DATA_VADDR, DATA_MEMSZ, DATA_OFFSET, DATA_FILESZ, PROT_READ | PROT_WRITE)]


@pytest.mark.parametrize('misalignment', [1, 2, 3, 4, 5, 7])
def test_an_image_at_any_address_is_read_byte_by_byte(misalignment):
    data = minimal_elf().build()
    status, out = parse(data, base=place(data, base=rawmem.to_word(0xffff800000300000 +
                                                                   misalignment)))
    assert status == 0 and out.entry == TEXT_VADDR + CODE_OFFSET


def test_the_gnu_os_abi_is_accepted():
    e = minimal_elf()
    e.ident[elf.EI_OSABI] = elf.ELFOSABI_GNU
    assert parse(e)[0] == 0


def test_prot_always_has_read_and_follows_pf_w_and_pf_x():
    for flags, prot in ((0, PROT_READ), (PF_R, PROT_READ), (PF_W, PROT_READ | PROT_WRITE),
                        (PF_R | PF_W, PROT_READ | PROT_WRITE),
                        (PF_X, PROT_READ | PROT_EXEC), (PF_R | PF_X, PROT_READ | PROT_EXEC),
                        (PF_R | 0x0ff00000 | 0xf0000000, PROT_READ)):
        e = minimal_elf()
        e.phdrs[1]['flags'] = flags
        status, out = parse(e)
        assert status == 0 and out.segments[1].prot == prot


@pytest.mark.parametrize('ptype', [0, PT_NOTE, PT_PHDR, PT_TLS, 5, 0x6474e550, 0x6474e552,
                                   0x6474e553, 0x70000000, 0xffffffff])
def test_other_program_header_types_are_ignored(ptype):
    e = minimal_elf()
    e.phdrs.insert(1, Elf.phdr(ptype, PF_R | PF_W | PF_X, offset=U64, vaddr=U64, filesz=U64,
                               memsz=1))
    status, out = parse(e)
    assert status == 0 and out.count == 2


def test_a_load_segment_of_memsz_0_is_ignored():
    e = minimal_elf()
    e.load(0, U64, 0, 0, PF_R | PF_W | PF_X)
    status, out = parse(e)
    assert status == 0 and out.count == 2


def test_a_segment_ending_at_the_end_of_the_user_half_is_accepted():
    e = minimal_elf()
    e.load(USER_END - PAGE_SIZE, 0, 0, PAGE_SIZE, PF_R | PF_W)
    status, out = parse(e)
    assert status == 0 and out.segments[2].vaddr + out.segments[2].memsz == USER_END


def test_a_segment_at_user_start_is_accepted():
    e = minimal_elf()
    e.load(USER_START, 0, 0, 1, PF_R)
    assert parse(e)[0] == 0


def test_segments_sharing_no_page_may_come_in_any_order():
    e = minimal_elf()
    e.phdrs[0], e.phdrs[1] = e.phdrs[1], e.phdrs[0]
    status, out = parse(e)
    assert status == 0 and out.segments[0].vaddr == DATA_VADDR


def test_exactly_max_segments_are_accepted():
    e = minimal_elf()
    for i in range(elf.MAX_SEGMENTS - 2):
        e.load(0x10000000 + i * 0x10000, 0, 0, 0x10000, PF_R)
    e.header['phoff'] = FAR_TABLE
    status, out = parse(e)
    assert status == 0 and out.count == elf.MAX_SEGMENTS


def test_a_table_of_max_program_headers_is_accepted():
    e = minimal_elf()
    while len(e.phdrs) < elf.MAX_PROGRAM_HEADERS:
        e.phdrs.append(Elf.phdr(PT_NOTE))
    e.header['phoff'] = FAR_TABLE
    assert parse(e)[0] == 0
    e.phdrs.append(Elf.phdr(PT_NOTE))
    refused(e, elf.REFUSED_PHNUM)


def test_the_file_may_end_exactly_at_the_end_of_a_segment():
    data = minimal_elf().build()
    assert len(data) == FILE_SIZE
    assert parse(data)[0] == 0
    assert parse(data[:-1])[1].refused == elf.REFUSED_FILE_RANGE


# ------------------------------------------------------------ refused: the ELF header

def test_an_image_shorter_than_the_elf_header_is_refused():
    data = minimal_elf().build()
    for length in range(elf.EHDR_SIZE):
        refused(data[:length], elf.REFUSED_TOO_SHORT)
    out = elf.Image()
    assert elf.parse(place(data), -1, out) == E_NOEXEC and out.refused == elf.REFUSED_TOO_SHORT


@pytest.mark.parametrize('index,byte', [(0, 0x7e), (1, ord('e')), (2, ord('l')),
                                        (3, ord('f')), (0, 0)])
def test_a_bad_magic_is_refused(index, byte):
    e = minimal_elf()
    e.ident[index] = byte
    refused(e, elf.REFUSED_MAGIC)


@pytest.mark.parametrize('value', [0, 1, 3, 255])
def test_a_class_other_than_elfclass64_is_refused(value):
    e = minimal_elf()
    e.ident[elf.EI_CLASS] = value
    refused(e, elf.REFUSED_CLASS)


@pytest.mark.parametrize('value', [0, 2, 3])
def test_a_big_endian_or_unknown_encoding_is_refused(value):
    e = minimal_elf()
    e.ident[elf.EI_DATA] = value
    refused(e, elf.REFUSED_DATA)


@pytest.mark.parametrize('value', [0, 2, 255])
def test_an_ident_version_other_than_current_is_refused(value):
    e = minimal_elf()
    e.ident[elf.EI_VERSION] = value
    refused(e, elf.REFUSED_VERSION)


@pytest.mark.parametrize('value', [0, 2, 0x100, 0xffffffff])
def test_an_e_version_other_than_current_is_refused(value):
    e = minimal_elf()
    e.header['version'] = value
    refused(e, elf.REFUSED_VERSION)


@pytest.mark.parametrize('value', [1, 2, 6, 9, 97, 255])
def test_an_os_abi_other_than_system_v_or_gnu_is_refused(value):
    e = minimal_elf()
    e.ident[elf.EI_OSABI] = value
    refused(e, elf.REFUSED_OSABI)


@pytest.mark.parametrize('value', [0, 1, 3, 4, 0xfe00, 0xff00, 0xffff])
def test_a_type_other_than_et_exec_is_refused(value):
    # ET_NONE, ET_REL, ET_DYN (shared objects and PIEs), ET_CORE, OS and processor types
    e = minimal_elf()
    e.header['type'] = value
    refused(e, elf.REFUSED_TYPE)


@pytest.mark.parametrize('value', [0, 3, 40, 183, 243, 62 + 0x100])
def test_a_machine_other_than_x86_64_is_refused(value):
    # none, i386, ARM, AArch64, RISC-V
    e = minimal_elf()
    e.header['machine'] = value
    refused(e, elf.REFUSED_MACHINE)


@pytest.mark.parametrize('value', [0, 32, 55, 57, 64, 0xffff])
def test_a_program_header_size_other_than_56_is_refused(value):
    e = minimal_elf()
    e.header['phentsize'] = value
    refused(e, elf.REFUSED_PHENTSIZE)


def test_an_image_without_program_headers_is_refused():
    e = minimal_elf()
    e.header['phnum'] = 0
    refused(e, elf.REFUSED_PHNUM)


@pytest.mark.parametrize('value', [elf.MAX_PROGRAM_HEADERS + 1, 0xfffe, 0xffff])
def test_too_many_program_headers_are_refused(value):
    # 0xffff is PN_XNUM, the escape to extended numbering: refused too
    e = minimal_elf()
    e.header['phnum'] = value
    refused(e, elf.REFUSED_PHNUM)


@pytest.mark.parametrize('phoff', [0, 1, 63, FILE_SIZE, FILE_SIZE + 1, FILE_SIZE - 3 * 56 + 1,
                                   0x10000, 1 << 32, 1 << 62, 1 << 63, U64, U64 - 55])
def test_a_program_header_table_outside_the_image_is_refused(phoff):
    data = mutate(minimal_elf().build(), [((elf.E_PHOFF, 8), phoff)])
    refused(data, elf.REFUSED_PHOFF)


def test_a_program_header_table_cut_by_the_end_of_the_image_is_refused():
    e = minimal_elf()
    e.header['phoff'] = FILE_SIZE - 3 * 56     # ends exactly at the end of the file: fits
    assert parse(e)[0] == 0
    e.header['phnum'] = 4                      # one more entry than the file holds
    refused(e, elf.REFUSED_PHOFF)


# ------------------------------------------------------------ refused: program headers

def test_an_interpreter_is_refused():
    e = minimal_elf()
    e.phdrs.insert(0, Elf.phdr(PT_INTERP, PF_R, offset=0x40, filesz=0x1c))
    refused(e, elf.REFUSED_DYNAMIC)


def test_a_dynamic_segment_is_refused():
    e = minimal_elf()
    e.phdrs.append(Elf.phdr(PT_DYNAMIC, PF_R | PF_W, offset=DATA_OFFSET, vaddr=DATA_VADDR,
                            filesz=16, memsz=16))
    refused(e, elf.REFUSED_DYNAMIC)


def test_an_executable_stack_is_refused():
    e = minimal_elf()
    e.phdrs[2]['flags'] = PF_R | PF_W | PF_X
    refused(e, elf.REFUSED_EXEC_STACK)
    e.phdrs[2]['flags'] = PF_X
    refused(e, elf.REFUSED_EXEC_STACK)


@pytest.mark.parametrize('filesz,memsz', [(0x21, 0x20), (1, 0), (U64, 0x2000),
                                          (0x20, 1 << 63), (1 << 63, 1 << 63), (U64, U64)])
def test_a_segment_with_filesz_above_memsz_is_refused(filesz, memsz):
    e = minimal_elf()
    e.phdrs[1].update(filesz=filesz, memsz=memsz)
    refused(e, elf.REFUSED_SIZES)


@pytest.mark.parametrize('offset,filesz', [
    (DATA_OFFSET, DATA_FILESZ + 1),   # one byte past the end of the file
    (FILE_SIZE, 1), (FILE_SIZE + 1, 0),   # starting at or past the end
    (DATA_OFFSET + (1 << 32), 0x20),  # far outside
    (DATA_OFFSET + (1 << 62), 0x20),
    (DATA_OFFSET + (1 << 63), 0x20),  # a negative word
    (U64 - 0xfff, 0x20),              # offset + filesz wraps around 2**64
    (DATA_OFFSET, (1 << 62))])
def test_a_segment_whose_file_bytes_are_outside_the_image_is_refused(offset, filesz):
    e = minimal_elf()
    e.phdrs[1].update(offset=offset, filesz=filesz, memsz=max(filesz, 0x2000),
                      vaddr=(DATA_VADDR & ~0xfff) + (offset & 0xfff))
    refused(e, elf.REFUSED_FILE_RANGE)


@pytest.mark.parametrize('vaddr', [DATA_VADDR + 1, DATA_VADDR - 1, DATA_VADDR + 0x800,
                                   0x401000])
def test_a_segment_whose_vaddr_and_offset_differ_modulo_the_page_size_is_refused(vaddr):
    e = minimal_elf()
    e.phdrs[1]['vaddr'] = vaddr
    refused(e, elf.REFUSED_ALIGNMENT)


LOW = DATA_VADDR & 0xfff      # the data segment's place in its page (and in the file's)


@pytest.mark.parametrize('vaddr,memsz', [
    (LOW, 0x2000),                                    # in page 0
    (USER_END + LOW, 0x100),                          # the top page of the user half
    (0x0000800000000000 + LOW, 0x100),                # the canonical hole
    (0xffff800000000000 + LOW, 0x100),                # the kernel half (HHDM)
    (0xffffffff80100000 + LOW, 0x100),                # the kernel image
    (USER_END - 0x1000 + LOW, 0x1000 - LOW + 1),      # one byte past USER_END
    (DATA_VADDR, USER_END),                           # vaddr + memsz far past it
    (DATA_VADDR, (1 << 63) - 1),                      # the largest positive memsz
    (0xfffffffffffff000 + LOW, 0x1000)])              # vaddr + memsz wraps around 2**64
def test_a_segment_outside_the_user_half_is_refused(vaddr, memsz):
    e = minimal_elf()
    e.phdrs[1].update(vaddr=vaddr, memsz=memsz)
    refused(e, elf.REFUSED_USER_HALF)


@pytest.mark.parametrize('flags', [PF_W | PF_X, PF_R | PF_W | PF_X, 0xffffffff])
def test_a_writable_and_executable_segment_is_refused(flags):
    e = minimal_elf()
    e.phdrs[1]['flags'] = flags
    refused(e, elf.REFUSED_WX)


def test_more_than_max_segments_are_refused():
    e = minimal_elf()
    for i in range(elf.MAX_SEGMENTS - 1):
        e.load(0x10000000 + i * 0x10000, 0, 0, 0x10000, PF_R)
    e.header['phoff'] = FAR_TABLE
    refused(e, elf.REFUSED_TOO_MANY)


@pytest.mark.parametrize('vaddr,memsz', [
    (TEXT_VADDR + 0x800, 0x10),        # inside the text page
    (TEXT_VADDR, 0x10),                # the same start
    (0x3ff000 + 0x100, 0x1000),        # ends in the text page
    (0x3ff000, 0x100000),              # covers everything
    (DATA_VADDR + 0x2000 - 0x100, 1),  # in the last bss page (0x403000)
    (0x403fff, 1)])
def test_segments_sharing_a_page_are_refused(vaddr, memsz):
    e = minimal_elf()
    e.size = 0x1000          # so that any offset in the first page is in the file
    e.load(vaddr, vaddr & 0xfff, 0, memsz, PF_R)
    refused(e, elf.REFUSED_OVERLAP)


def test_segments_in_adjacent_pages_are_accepted():
    e = minimal_elf()
    e.load(0x404000, 0, 0, 1, PF_R)     # the page after the data segment's last
    e.load(0x3ff000, 0, 0, 0x1000, PF_R)  # the page before the text
    assert parse(e)[0] == 0


def test_an_image_with_no_load_segment_is_refused():
    e = minimal_elf()
    del e.phdrs[:2]
    refused(e, elf.REFUSED_NO_SEGMENTS)
    e.load(TEXT_VADDR, 0, 0, 0, PF_R | PF_X)          # memsz 0: ignored
    refused(e, elf.REFUSED_NO_SEGMENTS)


@pytest.mark.parametrize('entry', [0, TEXT_VADDR - 1, TEXT_VADDR + TEXT_SIZE,
                                   DATA_VADDR, DATA_VADDR + 0x10, USER_END, U64,
                                   0xffffffff80100000])
def test_an_entry_point_outside_an_executable_segment_is_refused(entry):
    e = minimal_elf()
    e.header['entry'] = entry
    refused(e, elf.REFUSED_ENTRY)


def test_an_entry_point_anywhere_in_the_executable_segment_is_accepted():
    for entry in (TEXT_VADDR, TEXT_VADDR + TEXT_SIZE - 1):
        e = minimal_elf()
        e.header['entry'] = entry
        assert parse(e)[0] == 0


def test_a_refusal_resets_a_previous_result():
    data = minimal_elf().build()
    out = elf.Image()
    assert elf.parse(place(data), len(data), out) == 0 and out.count == 2
    assert elf.parse(place(data[:-1]), len(data) - 1, out) == E_NOEXEC
    assert out.count == 0 and out.entry == 0 and out.refused == elf.REFUSED_FILE_RANGE
    assert elf.parse(place(data), len(data), out) == 0 and out.refused == ''


# ------------------------------------------------------------ the load plan

def seg(vaddr, memsz, offset, filesz, prot=PROT_READ):
    s = elf.Segment()
    s.vaddr, s.memsz, s.offset, s.filesz, s.prot = vaddr, memsz, offset, filesz, prot
    return s


def plan(s):
    out = elf.PageCopy()
    result = []
    for i in range(elf.page_count(s)):
        count = elf.segment_pages(s, i, out)
        assert count == out.count
        result.append((out.page_offset, out.file_offset, out.count))
    return result


def test_an_aligned_segment_copies_whole_pages_then_zero_pages():
    s = seg(0x400000, 0x3000, 0x1000, 0x1800)
    assert elf.page_base(s) == 0x400000 and elf.page_count(s) == 3
    assert plan(s) == [(0, 0x1000, 0x1000), (0, 0x2000, 0x800), (0, 0, 0)]


def test_an_unaligned_segment_starts_in_the_middle_of_its_first_page():
    s = seg(DATA_VADDR, DATA_MEMSZ, DATA_OFFSET, DATA_FILESZ)
    assert elf.page_base(s) == 0x401000 and elf.page_count(s) == 3   # 0x401200..0x403200
    assert plan(s) == [(DATA_VADDR & 0xfff, DATA_OFFSET, DATA_FILESZ), (0, 0, 0), (0, 0, 0)]


def test_file_bytes_crossing_pages():
    s = seg(0x400ff0, 0x20, 0x2ff0, 0x20)
    assert elf.page_count(s) == 2
    assert plan(s) == [(0xff0, 0x2ff0, 0x10), (0, 0x3000, 0x10)]


def test_a_pure_bss_segment_copies_nothing():
    s = seg(0x600000, 0x2001, 0, 0)
    assert plan(s) == [(0, 0, 0)] * 3


def test_a_page_outside_the_segment_is_e_range():
    s = seg(0x400000, 0x3000, 0x1000, 0x1800)
    out = elf.PageCopy()
    for i in (-1, 3, 4, 1 << 40, -(1 << 62)):
        assert elf.segment_pages(s, i, out) == E_RANGE


def test_load_page_writes_the_whole_page():
    image = ''.join(chr(i & 0xff) for i in range(0x3000))
    base = place(image)
    memory = rawmem.simulated()
    dest = rawmem.to_word(0xffff800010000000)
    memory.add_region(dest, PAGE_SIZE)
    s = seg(0x400ff0, 0x20, 0x1ff0, 0x20)
    span = elf.PageCopy()
    memory.write(dest, bytearray('\xaa' * PAGE_SIZE))
    assert elf.load_page(base, s, 0, dest, span) == 0x10
    assert bytes(memory.read(dest, PAGE_SIZE)) == '\0' * 0xff0 + image[0x1ff0:0x2000]
    memory.write(dest, bytearray('\xaa' * PAGE_SIZE))
    assert elf.load_page(base, s, 1, dest, span) == 0x10
    assert bytes(memory.read(dest, PAGE_SIZE)) == image[0x2000:0x2010] + '\0' * 0xff0
    memory.write(dest, bytearray('\xaa' * PAGE_SIZE))
    assert elf.load_page(base, s, 2, dest, span) == E_RANGE
    assert bytes(memory.read(dest, PAGE_SIZE)) == '\xaa' * PAGE_SIZE


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 3 * PAGE_SIZE), st.integers(0, 3 * PAGE_SIZE), st.integers(0, 2),
       st.integers(0, PAGE_SIZE - 1))
def test_the_pages_hold_the_file_bytes_at_vaddr_and_zeros_elsewhere(filesz, extra, file_page,
                                                                    page_offset):
    memsz = max(filesz + extra, 1)
    offset = file_page * PAGE_SIZE + page_offset
    s = seg(TEXT_VADDR + page_offset, memsz, offset, filesz)
    image = ''.join(chr((i * 7 + 1) & 0xff) for i in range(offset + filesz))
    base = place(image)
    out = elf.PageCopy()
    copied = 0
    for i in range(elf.page_count(s)):
        count = elf.segment_pages(s, i, out)
        assert 0 <= count <= PAGE_SIZE and out.page_offset + count <= PAGE_SIZE
        if count:
            page_vaddr = elf.page_base(s) + i * PAGE_SIZE
            assert out.file_offset - s.offset == page_vaddr + out.page_offset - s.vaddr
        copied += count
    assert copied == filesz
    assert elf.page_count(s) == (page_offset + memsz + PAGE_SIZE - 1) // PAGE_SIZE
    assert loaded_pages(base, s) == expected_pages(s, image)


def test_loading_the_minimal_image_reproduces_its_segments():
    data = minimal_elf().build()
    base = place(data)
    out = elf.Image()
    assert elf.parse(base, len(data), out) == 0
    for s in out.segments[:out.count]:
        assert loaded_pages(base, s) == expected_pages(s, data)


# ------------------------------------------------------------ mutations

def assert_invariants(out, length):
    """What every accepted image satisfies."""
    assert 1 <= out.count <= elf.MAX_SEGMENTS and out.refused == ''
    ranges = []
    for s in out.segments[:out.count]:
        assert USER_START <= s.vaddr and s.vaddr + s.memsz <= USER_END
        assert 0 <= s.filesz <= s.memsz and s.memsz > 0
        assert 0 <= s.offset and s.offset + s.filesz <= length
        assert s.vaddr % PAGE_SIZE == s.offset % PAGE_SIZE
        assert s.prot & PROT_READ and s.prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC) == 0
        assert not (s.prot & PROT_WRITE and s.prot & PROT_EXEC)
        low = elf.page_base(s)
        high = low + elf.page_count(s) * PAGE_SIZE
        assert low % PAGE_SIZE == 0 and USER_START <= low and high <= USER_END
        for other_low, other_high in ranges:
            assert high <= other_low or other_high <= low
        ranges.append((low, high))
    assert any(s.prot & PROT_EXEC and s.vaddr <= out.entry < s.vaddr + s.memsz
               for s in out.segments[:out.count])


# (offset, size) of every field of the ELF header and of the program headers
# of the minimal image (three, at 64).
EHDR_FIELDS = [(4, 1), (5, 1), (6, 1), (7, 1), (16, 2), (18, 2), (20, 4), (24, 8), (32, 8),
               (54, 2), (56, 2)]
PHDR_FIELDS = [(0, 4), (4, 4), (8, 8), (16, 8), (32, 8), (40, 8)]
FIELDS = EHDR_FIELDS + [(64 + 56 * i + off, size) for i in range(3) for off, size in PHDR_FIELDS]

INTERESTING = [0, 1, 2, 3, 4, 7, 56, 62, 63, 64, DATA_OFFSET, 0xfff, 0x1000, 0x1001, FILE_SIZE,
               FILE_SIZE - 1, TEXT_VADDR, 0x401000, DATA_VADDR, TEXT_VADDR + CODE_OFFSET,
               USER_START, USER_END, USER_END - 1, USER_END + 1, 0x7fffffff, 0x80000000, 0xffffffff, 1 << 32, (1 << 63) - 1, 1 << 63,
               U64, U64 - 0xfff, PT_LOAD, PT_GNU_STACK, PF_R | PF_W | PF_X]


def mutate(data, mutations):
    data = bytearray(data)
    for (offset, size), value in mutations:
        data[offset:offset + size] = struct.pack('<Q', value & U64)[:size]
    return bytes(data)


def check_mutant(data):
    status, out = parse(data)
    assert status in (0, E_NOEXEC)
    if status == 0:
        assert_invariants(out, len(data))
        for s in out.segments[:out.count]:
            span = elf.PageCopy()
            for i in (0, elf.page_count(s) - 1):
                count = elf.segment_pages(s, i, span)
                assert 0 <= count and span.file_offset + count <= len(data)
                if count:
                    rawmem.simulated().read(BASE + span.file_offset, count)
    else:
        assert out.refused != '' and out.count == 0
    return status


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(FIELDS),
                          st.one_of(st.sampled_from(INTERESTING), st.integers(0, U64),
                                    st.integers(0, 0x2000))),
                min_size=1, max_size=4))
def test_mutated_header_fields_never_fault_and_accepted_images_keep_every_invariant(mutations):
    check_mutant(mutate(minimal_elf().build(), mutations))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, FILE_SIZE - 1), st.integers(0, 255)), min_size=1,
                max_size=8),
       st.integers(0, FILE_SIZE))
def test_mutated_bytes_and_truncations_never_fault(mutations, cut):
    data = bytearray(minimal_elf().build())
    for position, byte in mutations:
        data[position] = byte
    check_mutant(bytes(data[:cut]))


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=400))
def test_random_bytes_after_a_valid_identity_never_fault(tail):
    check_mutant('\x7fELF\x02\x01\x01\x00' + '\0' * 8 + tail)
