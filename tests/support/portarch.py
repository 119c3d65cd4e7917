"""What a port's C side says, read from arch/<karch>/ for the tests of its
machine module (tests/rlib_kernel/test_riscv64.py, test_aarch64.py).

    header_defines(karch, header='boot.h') -> {name: int} of the numeric
        #defines (an expression such as (32 * 8) is evaluated)
    c_functions(karch) -> the names elyz_cpu.h declares or defines and the
        global symbols of the port's assembly
    llexternal_names(module) -> the C names a machine module calls through
        rffi.llexternal
    write_frame(frame, cause, pc, fault=0, status=0x120) -> frame, after
        writing a port trap frame (elyz/rlib_kernel/portframe.py) at frame
        as trap.S would, with register n holding 0x100 * n
    frame_words(frame) -> the frame's words, lowest first
"""

import os
import re

from elyz.rlib_kernel import portframe, rawmem
from tests.conftest import ROOT

_DEFINE = re.compile(r'^#define\s+(\w+)\s+([0-9x()*+ ]+?)\s*(?:/\*.*)?$', re.M)
_C_NAME = re.compile(r'\b(elyz_\w+)\s*\(')
_GLOBAL = re.compile(r'^\s*\.globl\s+(\w+)', re.M)


def arch_dir(karch):
    return os.path.join(ROOT, 'arch', karch)


def header_defines(karch, header='boot.h'):
    with open(os.path.join(arch_dir(karch), header)) as f:
        text = f.read()
    return dict((name, eval(value, {})) for name, value in _DEFINE.findall(text))


def c_functions(karch):
    names = set()
    for name in os.listdir(arch_dir(karch)):
        with open(os.path.join(arch_dir(karch), name)) as f:
            text = f.read()
        if name == 'elyz_cpu.h':
            names.update(_C_NAME.findall(text))
        elif name.endswith('.S'):
            names.update(_GLOBAL.findall(text))
    return names


def llexternal_names(module):
    names = set()
    for value in vars(module).values():
        obj = getattr(getattr(value, '_obj', None), '_name', None)
        if obj is not None and getattr(value._obj, 'external', None) == 'C':
            names.add(obj)
    return names


def write_frame(frame, cause, pc, fault=0, status=0x120):
    for n in range(portframe.REGISTER_COUNT):
        portframe.write(frame, portframe.REGISTER(n), 0x100 * n)
    portframe.write(frame, portframe.PC, pc)
    portframe.write(frame, portframe.STATUS, status)
    portframe.write(frame, portframe.CAUSE, rawmem.to_word(cause))
    portframe.write(frame, portframe.FAULT_ADDRESS, rawmem.to_word(fault))
    return frame


def frame_words(frame):
    return [portframe.read(frame, off) for off in range(0, portframe.FRAME_SIZE, portframe.WORD)]
