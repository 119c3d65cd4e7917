"""trapframe.py mirrors the frame arch/x86_64/trap.S builds, word for word."""

import os
import re

from elyz.rlib_kernel import rawmem, trapframe
from tests.conftest import ROOT

TRAP_S = os.path.join(ROOT, 'arch', 'x86_64', 'trap.S')
CPU_TABLES_C = os.path.join(ROOT, 'arch', 'x86_64', 'cpu_tables.c')
# What the CPU pushes after the stub's error code and vector, lowest first.
CPU_PUSHED = ['rip', 'cs', 'rflags', 'rsp', 'ss']


SYSCALL_S = os.path.join(ROOT, 'arch', 'x86_64', 'syscall.S')


FRAME_H = os.path.join(ROOT, 'arch', 'x86_64', 'frame.h')


def macro_body(name):
    text = open(FRAME_H).read()
    start = text.index('.macro %s' % name)
    return text[start:text.index('.endm', start)]


def test_offsets_follow_the_push_order_of_trap_common():
    pushed = re.findall(r'pushq %(\w+)', macro_body('push_registers'))
    lowest_first = list(reversed(pushed)) + ['vector', 'error_code'] + CPU_PUSHED
    offsets = [getattr(trapframe, name.upper()) for name in lowest_first]
    assert offsets == list(range(0, trapframe.FRAME_SIZE, trapframe.WORD))
    text = open(TRAP_S).read()
    for path in ('\ntrap_common:', '\ntrap_paranoid:'):
        body = text[text.index(path):text.index('call elyz_trap_dispatch', text.index(path))]
        assert 'push_registers' in body


def test_trap_common_restores_in_the_reverse_order_it_saved():
    assert re.findall(r'popq %(\w+)', macro_body('pop_registers')) == list(reversed(
        re.findall(r'pushq %(\w+)', macro_body('push_registers'))))


def test_the_syscall_entry_builds_the_same_frame():
    text = open(SYSCALL_S).read()
    entry = text[text.index('elyz_syscall_entry:'):text.index('call elyz_syscall_dispatch')]
    pushes = re.findall(r'pushq (\S+)', entry)
    # ss, rsp, rflags (r11), cs, rip (rcx), error code, vector, then the registers.
    assert pushes == ['$USER_DS', '%gs:PERCPU_USER_RSP', '%r11', '$USER_CS', '%rcx', '$0',
                      '$TRAPFRAME_SYSCALL']
    assert re.search(r'push_registers\s+(/\*.*?\*/\s+)?movq %rsp, %rdi\s*$', entry)   # then the same registers
    vector = re.search(r'#define TRAPFRAME_SYSCALL\s+(\d+)', text)
    assert int(vector.group(1)) == trapframe.SYSCALL_VECTOR


def test_the_frame_keeps_the_stack_16_byte_aligned():
    assert trapframe.FRAME_SIZE % 16 == 0


def test_the_c_dispatcher_reads_the_vector_at_the_same_offset():
    text = open(CPU_TABLES_C).read()
    index = int(re.search(r'\(\(long \*\)frame\)\[(\d+)\]', text).group(1))
    assert index * trapframe.WORD == trapframe.VECTOR


def test_the_layout_drawings_in_trap_s_and_trapframe_py_match_the_offsets():
    for path in (TRAP_S, trapframe.__file__.replace('.pyc', '.py')):
        drawn = re.findall(r'(\d+) (r\w+|vector|rflags|cs|ss|error code)', open(path).read())
        assert len(drawn) == trapframe.FRAME_SIZE // trapframe.WORD, path
        for offset, name in drawn:
            assert getattr(trapframe, name.replace(' ', '_').upper()) == int(offset), path


def test_every_general_register_is_in_the_dump_order_once():
    assert len(trapframe.REGISTER_NAMES) == len(set(trapframe.REGISTER_OFFSETS)) == 15
    for name, offset in zip(trapframe.REGISTER_NAMES, trapframe.REGISTER_OFFSETS):
        assert getattr(trapframe, name.upper()) == offset


def test_read_and_write_go_to_the_frame_word():
    memory = rawmem.simulate()
    frame = memory.add_region(0x10000, trapframe.FRAME_SIZE)
    trapframe.write(frame, trapframe.RIP, -2)
    assert trapframe.read(frame, trapframe.RIP) == -2
    assert rawmem.load_u64(frame + 136) == -2
