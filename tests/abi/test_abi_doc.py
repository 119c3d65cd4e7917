"""docs/abi.md and elyz/abi/*.py say the same: every error code, right and
limit in the tables of the page has the value the kernel uses, and none is
missing."""

import os
import re

from elyz.abi import errors, limits, rights
from tests.conftest import ROOT

DOC = open(os.path.join(ROOT, 'docs', 'abi.md')).read()


def table_rows(heading):
    """Returns the rows (lists of cells) of the first table after heading."""
    start = DOC.index('\n## %s\n' % heading)
    rows = []
    for line in DOC[start:].splitlines()[2:]:
        if line.startswith('|'):
            cells = [c.strip() for c in line.strip('|').split('|')]
            if not set(cells[0]) <= set('-'):
                rows.append(cells)
        elif rows:
            break
    return rows[1:]


def test_every_error_code_is_documented_with_its_value():
    rows = table_rows('Error codes')
    documented = [(row[0].strip('`'), int(row[1])) for row in rows]
    assert documented == [(name, -i) for i, name in enumerate(errors.NAMES)]
    for name, value in documented:
        assert getattr(errors, name) == value
        assert errors.error_name(value) == name


def test_every_right_is_documented_with_its_bit():
    rows = table_rows('Rights')
    documented = [(row[0].strip('`'), int(row[1], 16)) for row in rows]
    assert documented == rights.RIGHT_NAMES
    assert 'MEMORY_RIGHTS` = %#x' % rights.MEMORY_RIGHTS in DOC
    assert 'PROCESS_RIGHTS` = %#x' % rights.PROCESS_RIGHTS in DOC
    assert 'CHANNEL_RIGHTS` = %#x' % rights.CHANNEL_RIGHTS in DOC


def test_every_limit_is_documented_with_its_value():
    rows = table_rows('Limits')
    documented = dict((row[0].strip('`'), int(row[1], 0)) for row in rows)
    names = [n for n in dir(limits) if n.isupper()]
    assert sorted(documented) == sorted(names)
    for name in names:
        assert documented[name] == getattr(limits, name), name


def test_every_error_an_operation_lists_is_in_the_table():
    listed = set(re.findall(r'`(E_[A-Z_]+)`', DOC))
    assert listed <= set(errors.NAMES)


def test_every_system_call_is_documented_with_its_number_and_arguments():
    from elyz.abi import syscalls
    rows = table_rows('System calls')
    documented = [(int(row[0]), row[1].strip('`'),
                   tuple(a.strip() for a in row[2].strip('`').split(',') if a.strip()))
                  for row in rows]
    assert documented == [(n, name, args) for n, name, args, result in syscalls.SYSCALLS]


def test_describe_writes_the_words_the_doc_lists_in_its_order():
    from elyz.abi import description
    assert description.WORDS == 11 and '`describe(desc, out)`: writes 11 words' in DOC
    listed = ('kind, strength, rights, size, strong count, weak count, lease expiry, dead '
              '(0 or 1), process state, exit code, fault address')
    assert listed in ' '.join(DOC.split())
    assert description.FIELDS == ['kind', 'strength', 'rights', 'size', 'strong', 'weak',
                                  'expiry', 'dead', 'state', 'exit_code', 'fault_address']


def test_counters_writes_the_words_the_doc_lists_in_its_order():
    from elyz.abi import counters
    rows = table_rows('Accounting')
    assert [(int(row[0]), row[1].strip('`')) for row in rows] == list(enumerate(counters.FIELDS))
    assert '`counters(out)`: writes the kernel\'s exact counts at `out`, %d words' \
        % counters.WORDS in ' '.join(DOC.split())


def documented_errors(name):
    """The error codes docs/abi.md lists for system call name: the text of
    its operation section (### `name(`) and of its bullet in "System calls"
    (- `name(`)."""
    calls = DOC[DOC.index('\n## System calls\n'):DOC.index('\n## Error codes\n')]
    heading = re.search(r'\n### `%s\(.*?(?=\n### |\n## )' % name, DOC, re.S)
    bullet = re.search(r'\n- `%s\(.*?(?=\n- `|\n\n|\Z)' % name, calls, re.S)
    found = set()
    for match in (heading, bullet):
        if match:
            found |= set(re.findall(r'`(E_[A-Z_]+)`', match.group(0)))
    assert heading or bullet, name
    return found


def test_the_error_table_of_each_system_call_is_what_the_doc_lists():
    from elyz.abi import syscalls
    for number, name, args, result in syscalls.SYSCALLS:
        assert documented_errors(name) == set(syscalls.ERRORS[name]), name
        assert len(set(syscalls.ERRORS[name])) == len(syscalls.ERRORS[name]), name
