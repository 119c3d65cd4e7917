"""The system-call stubs and the C header agree with elyz/abi/syscalls.py:
the generated files are up to date, and in the linked image each stub
loads its number into eax, moves a fourth argument from rcx to r10 (the
register convention), and executes `syscall`."""

import re
import subprocess

import pytest

from elyz.abi import syscalls
from user.lib import abigen, api

HEADER_ENUM = re.compile(r'enum \{(.*?)\};', re.S)


def test_the_generated_header_and_stubs_are_up_to_date():
    assert abigen.stale() == [], "run: .venv/bin/python -m user.lib.abigen"


def test_the_header_numbers_are_the_table():
    text = open(abigen.HEADER).read()
    numbers = dict((name.lower(), int(value)) for name, value in
                   re.findall(r'#define SYS_(\w+)\s+(\d+)', text))
    assert numbers == dict((name, number) for number, name, _, _ in syscalls.SYSCALLS)


def test_the_rpython_side_has_one_function_per_call_with_its_arity():
    assert sorted(api.SYSCALL_FUNCTIONS) == sorted(name for _, name, _, _ in syscalls.SYSCALLS)
    for number, name, args, result in syscalls.SYSCALLS:
        fnptr = api.SYSCALL_FUNCTIONS[name]
        assert len(fnptr._T.ARGS) == len(args)
        assert fnptr._obj._name == 'elyz_sys_' + name


def test_heap_figures_are_numbered_as_in_the_c_header():
    text = open(abigen.HEADER.replace('elyz_abi.h', 'elyz_user.h')).read()
    body = re.sub(r'/\*.*?\*/', '', HEADER_ENUM.search(text).group(1), flags=re.S)
    names = [n.strip() for n in body.split(',') if n.strip()]
    for index, name in enumerate(names):
        assert getattr(api, name[len('ELYZ_'):]) == index, name


def _disassembly(path):
    out = subprocess.check_output(['objdump', '-d', '--no-show-raw-insn', '-M', 'att', path])
    functions = {}
    current = None
    for line in out.decode('utf-8', 'replace').splitlines():
        m = re.match(r'^[0-9a-f]+ <([^>]+)>:$', line)
        if m:
            current = functions.setdefault(m.group(1), [])
            continue
        m = re.match(r'^\s+[0-9a-f]+:\s+(.*)$', line)
        if m and current is not None:
            current.append(re.sub(r'\s+', ' ', m.group(1).split('#')[0]).strip())
    return functions


def test_every_stub_in_the_image_follows_the_register_convention(user_elf):
    functions = _disassembly(user_elf)
    for number, name, args, result in syscalls.SYSCALLS:
        code = [i for i in functions['elyz_sys_' + name] if not i.startswith(('nop', 'xchg %ax,%ax', 'cs nop', 'data16'))]
        expected = ['mov %rcx,%r10'] if len(args) >= 4 else []
        expected += ['mov $0x%x,%%eax' % number, 'syscall']
        expected.append('ud2' if name in abigen.NORETURN else 'ret')
        assert code[:len(expected)] == expected, (name, code)

