"""Specification of elyz.loader.archive: the newc cpio boot archive.

Every archive is placed so that its simulated region is exactly the archive:
a read one byte before or after it raises SimulatedFault, so "never reads
outside [base, base + length)" is checked by every test."""

import pytest
from hypothesis import given, settings, strategies as st

from elyz.abi.errors import E_INVALID, E_MALFORMED, E_NOENT
from elyz.loader import archive
from elyz.rlib_kernel import rawmem
from tests.loader.images import (DIRECTORY, NEWC_FIELDS, REGULAR, SYMLINK, newc, newc_entry,
                               place)

PROGRAMS = [('bin', '', DIRECTORY), ('bin/init', 'init program \x7fELF' * 7),
            ('bin/sh', 'x' * 4097), ('etc/motd', 'hello\n'), ('empty', ''),
            ('bin/ls-link', 'bin/sh', SYMLINK)]


def read(data_addr, size):
    return bytes(rawmem.simulated().read(data_addr, size)) if size else ''


def entries_of(base, length):
    """Every entry as (name, data, mode, offset) through next_entry; and the
    final status (0 or an error)."""
    out = archive.Entry()
    found = []
    offset = 0
    while True:
        following = archive.next_entry(base, length, offset, out)
        if following <= 0:
            return found, following
        assert following > offset and following <= length and following % 4 == 0
        found.append((read(out.name, out.name_length), read(out.data, out.size), out.mode,
                      out.offset))
        assert base <= out.data and out.data + out.size <= base + length
        assert out.next == following
        offset = following


def find(data, name, base=None):
    base = place(data) if base is None else base
    out = archive.Entry()
    status = archive.find(base, len(data), name, out)
    return status, out


# ------------------------------------------------------------ well-formed archives

def test_every_entry_is_found_with_its_data_and_mode():
    data = newc(PROGRAMS)
    base = place(data)
    for entry in PROGRAMS:
        name, contents = entry[0], entry[1]
        mode = entry[2] if len(entry) > 2 else REGULAR
        status, out = find(data, name, base)
        assert status == 0
        assert read(out.name, out.name_length) == name
        assert out.size == len(contents) and read(out.data, out.size) == contents
        assert out.mode == mode
        assert archive.is_regular(out.mode) == (mode == REGULAR)


def test_iteration_yields_the_entries_in_order_and_ends_at_the_trailer():
    data = newc(PROGRAMS)
    found, status = entries_of(place(data), len(data))
    assert status == 0
    assert [(n, d) for n, d, m, o in found] == [(e[0], e[1]) for e in PROGRAMS]
    assert found[0][3] == 0
    assert archive.count(place(data), len(data), archive.Entry()) == len(PROGRAMS)


def test_a_name_not_in_the_archive_is_enoent():
    data = newc(PROGRAMS)
    assert find(data, 'bin/init2')[0] == E_NOENT
    assert find(data, 'bin/ini')[0] == E_NOENT
    assert find(data, 'BIN/INIT')[0] == E_NOENT
    assert find(data, '')[0] == E_NOENT
    assert find(data, 'TRAILER!!!')[0] == E_NOENT      # the trailer is no entry


def test_names_are_compared_as_stored():
    data = newc([('./bin/init', 'a')])
    assert find(data, 'bin/init')[0] == E_NOENT
    assert find(data, './bin/init')[0] == 0


def test_the_first_entry_of_a_name_wins():
    data = newc([('init', 'first'), ('init', 'second')])
    status, out = find(data, 'init')
    assert status == 0 and read(out.data, out.size) == 'first'


def test_an_empty_archive_holds_only_the_trailer():
    data = newc([])
    assert len(data) == 124
    assert find(data, 'init')[0] == E_NOENT
    assert archive.count(place(data), len(data), archive.Entry()) == 0
    assert archive.next_entry(place(data), len(data), 0, archive.Entry()) == 0


@pytest.mark.parametrize('name_length', range(1, 12))
@pytest.mark.parametrize('size', [0, 1, 2, 3, 4, 5, 7, 8])
def test_names_of_every_length_modulo_4_and_small_sizes(name_length, size):
    name = ''.join(chr(ord('a') + i % 26) for i in range(name_length))
    contents = ''.join(chr(0x30 + i % 10) for i in range(size))
    data = newc([(name, contents), ('z', 'after')])
    status, out = find(data, name)
    assert status == 0 and read(out.data, out.size) == contents
    status, out = find(data, 'z')
    assert status == 0 and read(out.data, out.size) == 'after'


def test_a_regular_file_of_size_0():
    data = newc([('empty', ''), ('next', 'n')])
    status, out = find(data, 'empty')
    assert status == 0 and out.size == 0 and archive.is_regular(out.mode)
    assert out.next == 116        # header 110 + name 6, a multiple of 4; no data


def test_data_starts_4_aligned_from_the_archive_start():
    data = newc(PROGRAMS)
    base = place(data)
    found, _ = entries_of(base, len(data))
    out = archive.Entry()
    for name, contents, mode, offset in found:
        assert archive.find(base, len(data), name, out) == 0
        assert (out.data - base) % 4 == 0 and offset % 4 == 0


def test_lowercase_and_uppercase_hex_digits_are_both_read():
    for mode, size in (('000081ed', '0000000a'), ('000081ED', '0000000A'),
                       ('000081Ed', '0000000a')):
        entry = newc_entry('f', 'abcdefghij', fields={'filesize': size, 'mode': mode})
        data = entry + newc_entry('TRAILER!!!', '', mode=0)
        status, out = find(data, 'f')
        assert status == 0 and out.size == 10 and out.mode == 0o100755


def test_bytes_after_the_trailer_are_ignored():
    data = newc([('init', 'abc')])
    padded = data + '\0' * (512 - len(data) % 512)
    assert find(padded, 'init')[0] == 0
    garbage = data + 'garbage, not a header'
    assert find(garbage, 'nothing')[0] == E_NOENT


def test_an_archive_at_a_high_kernel_address():
    data = newc(PROGRAMS)
    base = place(data, base=rawmem.to_word(0xfffffffffff00000))
    assert find(data, 'bin/sh', base)[0] == 0


# ------------------------------------------------------------ refusals

SMALL = [('bin', '', DIRECTORY), ('bin/init', 'init!'), ('e', ''), ('ln', 'bin/init', SYMLINK),
         ('etc/motd', 'hello\n')]


def test_a_truncated_archive_is_refused_at_every_length():
    data = newc(SMALL)
    out = archive.Entry()
    for length in range(len(data)):
        base = place(data[:length])
        assert archive.count(base, length, out) == E_MALFORMED, length
        assert archive.find(base, length, 'not there', out) == E_MALFORMED, length
    assert archive.count(place(data), len(data), out) == len(SMALL)


def test_a_truncated_archive_still_finds_the_entries_before_the_cut():
    data = newc(PROGRAMS)
    cut = data.index('bin/sh') + 20     # inside the third entry
    status, out = find(data[:cut], 'bin/init')
    assert status == 0
    assert find(data[:cut], 'bin/sh')[0] == E_MALFORMED


def test_an_archive_without_trailer_is_refused():
    data = newc(PROGRAMS, trailer=False)
    assert archive.count(place(data), len(data), archive.Entry()) == E_MALFORMED
    assert find(data, 'missing')[0] == E_MALFORMED


@pytest.mark.parametrize('magic', ['070702', '070707', '070700', '170701', '\0' * 6,
                                   'xxxxxx'])
def test_a_bad_magic_is_refused(magic):
    data = newc_entry('init', 'abc', magic=magic) + newc_entry('TRAILER!!!', '', mode=0)
    assert find(data, 'init')[0] == E_MALFORMED


@pytest.mark.parametrize('field', NEWC_FIELDS)
@pytest.mark.parametrize('bad', ['0000000g', ' 0000001', '0x000001', '-0000001', '0000000\0',
                                 '0000001G', '00000:01', '0000/001', '0000@001',
                                 '0000`001'])
def test_a_field_that_is_not_8_hex_digits_is_refused(field, bad):
    data = (newc_entry('init', 'abc', fields={field: bad}) +
            newc_entry('TRAILER!!!', '', mode=0))
    assert find(data, 'init')[0] == E_MALFORMED


def test_a_bad_field_in_the_trailer_is_refused():
    data = newc_entry('init', 'abc') + newc_entry('TRAILER!!!', '', fields={'check': 'zzzzzzzz'})
    assert find(data, 'other')[0] == E_MALFORMED
    assert find(data, 'init')[0] == 0      # found before the trailer is reached


@pytest.mark.parametrize('size', [129, 130, 0x1000, 0x7fffffff, 0x80000000, 0xfffffffe,
                                  0xffffffff])
def test_a_size_running_past_the_end_is_refused(size):
    # 'abc' and its padding, then the 124-byte trailer: 128 bytes after the name
    data = (newc_entry('init', 'abc', fields={'filesize': '%08x' % size}) +
            newc_entry('TRAILER!!!', '', mode=0))
    assert find(data, 'init')[0] == E_MALFORMED


def test_a_size_past_the_padding_is_found_but_the_next_header_is_refused():
    data = (newc_entry('init', 'abc', fields={'filesize': '%08x' % 5}) +
            newc_entry('TRAILER!!!', '', mode=0))
    status, out = find(data, 'init')
    assert status == 0 and out.size == 5 and read(out.data, 5) == 'abc\x000'
    assert archive.count(place(data), len(data), archive.Entry()) == E_MALFORMED


@pytest.mark.parametrize('namesize', [0, 1, 3, 6, 0x1000, 0xffffffff])
def test_a_name_size_that_does_not_fit_the_name_is_refused(namesize):
    # 'init' + NUL is 5 bytes: any other size puts the NUL elsewhere, leaves
    # no name, or runs past the end.
    data = (newc_entry('init', 'abcd', namesize=namesize) +
            newc_entry('TRAILER!!!', '', mode=0))
    assert find(data, 'init')[0] == E_MALFORMED


def test_a_name_without_nul_is_refused():
    data = (newc_entry('init', 'abc', name_nul=False, namesize=4) +
            newc_entry('TRAILER!!!', '', mode=0))
    assert find(data, 'init')[0] == E_MALFORMED
    data = (newc_entry('init', 'abc', name_nul=False) +      # namesize 4, 'init' no NUL
            newc_entry('TRAILER!!!', '', mode=0))
    assert find(data, 'ini')[0] == E_MALFORMED


def test_a_name_with_a_nul_inside_is_refused():
    data = newc_entry('in\0t', 'abc') + newc_entry('TRAILER!!!', '', mode=0)
    assert find(data, 'in')[0] == E_MALFORMED


def test_an_empty_name_is_refused():
    data = newc_entry('', 'abc') + newc_entry('TRAILER!!!', '', mode=0)
    assert find(data, '')[0] == E_MALFORMED


def test_a_trailer_whose_padding_is_cut_is_refused():
    data = newc([])                       # 110 + 11 = 121, padded to 124
    for length in (121, 122, 123):
        assert archive.count(place(data[:length]), length, archive.Entry()) == E_MALFORMED
    assert archive.count(place(data), 124, archive.Entry()) == 0


def test_bad_arguments_are_e_invalid():
    data = newc(PROGRAMS)
    base = place(data)
    out = archive.Entry()
    assert archive.find(base, -1, 'init', out) == E_INVALID
    assert archive.count(base, -4, out) == E_INVALID
    for offset in (-4, -1, 1, 2, 3, len(data) + 4, len(data) + 1):
        assert archive.next_entry(base, len(data), offset, out) == E_INVALID
    assert archive.next_entry(base, len(data), len(data), out) == E_MALFORMED
    assert archive.next_entry(base, 0, 0, out) == E_MALFORMED


def test_an_offset_in_the_middle_of_an_entry_is_malformed_not_a_fault():
    data = newc(PROGRAMS)
    base = place(data)
    out = archive.Entry()
    for offset in range(4, len(data), 4):
        status = archive.next_entry(base, len(data), offset, out)
        assert status >= 0 or status == E_MALFORMED
        if status > 0:
            assert out.data + out.size <= base + len(data)


# ------------------------------------------------------------ fuzzing

FUZZ_SETTINGS = settings(max_examples=300, deadline=None)
MUTATION_SETTINGS = settings(max_examples=150, deadline=None)


def check_never_outside(data, name='bin/init'):
    """Parses data in every way; any read outside it raises SimulatedFault."""
    base = place(data)
    length = len(data)
    out = archive.Entry()
    status = archive.find(base, length, name, out)
    assert status in (0, E_NOENT, E_MALFORMED)
    if status == 0:
        assert base <= out.name and out.name + out.name_length < base + length
        assert base <= out.data and out.data + out.size <= base + length
    total = archive.count(base, length, out)
    assert total >= 0 or total == E_MALFORMED
    found, final = entries_of(base, length)
    assert final in (0, E_MALFORMED)
    if total >= 0:
        assert final == 0 and len(found) == total
    return status


@FUZZ_SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes_never_fault(data):
    check_never_outside(data)


@FUZZ_SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_after_a_valid_magic_never_fault(tail):
    check_never_outside('070701' + tail)


def _valid_archive():
    return newc(PROGRAMS[:4])


@MUTATION_SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(_valid_archive()) - 1), st.integers(0, 255)),
                min_size=1, max_size=6),
       st.integers(0, len(_valid_archive())))
def test_mutations_of_a_valid_archive_never_fault(mutations, cut):
    data = bytearray(_valid_archive())
    for position, byte in mutations:
        data[position] = byte
    check_never_outside(bytes(data[:cut]))
    check_never_outside(bytes(data))


HEX_FIELD_VALUES = st.one_of(st.integers(0, 0xffffffff), st.sampled_from(
    [0, 1, 2, 3, 4, 5, 109, 110, 111, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]))


@MUTATION_SETTINGS
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(NEWC_FIELDS), HEX_FIELD_VALUES),
                min_size=1, max_size=4))
def test_well_formed_hex_with_random_values_never_faults(changes):
    fields = [dict(), dict(), dict()]
    for which, field, value in changes:
        fields[which][field] = '%08x' % value
    data = ''.join(newc_entry(n, d, fields=f) for (n, d), f in
                   zip([('bin/init', 'abc' * 5), ('etc/x', 'q'), ('TRAILER!!!', '')], fields))
    check_never_outside(data)
