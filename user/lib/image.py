"""The user image: every program of user/<name>.py in one static ELF.

    program_names() -> the programs, sorted: the modules user/<name>.py
                       (not __init__, not starting with '_')
    load_programs() -> [(name, main)] with each module's main(argv) -> int
    user_image(build_dir, output=None) -> the FreestandingProgram of the
                       image (gc incminimark with a shadow stack, SSE allowed,
                       linked at ELYZ_USER_BASE by user/lib/user.ld) whose
                       one entry point is rpy_user_main (multicall.py)
    build_dir(karch='x86_64') -> build/<karch>/user
    hosted_objects(program) -> the objects of a built image that a hosted
                       (Linux, test-only) variant links again: all but the
                       crt and the system-call stubs (HOSTED_REPLACED)

The C side is user/lib/*.c and *.S (crt0.S, start.c, malloc.c, libc.c,
string.c, syscalls.S) plus the common runtime arch/common/runtime/runtime.c
(memcmp, strlen, calloc, abort, fprintf, the stack check), headers in
user/include/ before the common sysroot.
"""

import os

from elyz.rlib_kernel.backend.build import _object_name
from elyz.rlib_kernel.backend.program import (
    COMMON_RUNTIME_DIR, REPO_DIR, EntryPoint, FreestandingProgram, GcOptions, Toolchain)
from user.lib import api
from user.lib.multicall import make_main

USER_DIR = os.path.join(REPO_DIR, 'user')
LIB_DIR = os.path.join(USER_DIR, 'lib')
INCLUDE_DIR = os.path.join(USER_DIR, 'include')
IMAGE_NAME = 'elyz-user'
USER_BASE = 0x400000            # user/lib/user.ld, ELYZ_USER_BASE
HEAP_BASE = 0x10000000          # ELYZ_HEAP_BASE
HEAP_LIMIT = 0x50000000         # ELYZ_HEAP_LIMIT

# Not the kernel's flags: SSE allowed (the GC computes its thresholds in
# double), the small code model at a low address, no kernel-only
# -mno-red-zone.  -fwrapv and -fno-strict-aliasing for the same reasons as
# the kernel (elyz/rlib_kernel/kernel_program.py).  No loop-to-memset
# transformation: string.c must not call itself.
USER_CFLAGS = [
    '-std=gnu11', '-O2', '-g', '-ffreestanding', '-fno-builtin', '-fno-stack-protector',
    '-fno-pic', '-fno-pie', '-mcmodel=small', '-msse2', '-fno-asynchronous-unwind-tables',
    '-ffunction-sections', '-fdata-sections', '-fno-strict-aliasing', '-fwrapv',
    '-fno-tree-loop-distribute-patterns',
    '-Wno-unused', '-Wno-address', '-Wno-missing-field-initializers',
    '-Werror=implicit-function-declaration',
]
USER_LDFLAGS = ['-nostdlib', '-static', '-z', 'max-page-size=0x1000', '--gc-sections',
                '--no-dynamic-linker', '-z', 'noexecstack', '--build-id=none']

# The GC's constants (backend.program.GcOptions): the smallest nursery the
# GC allows (264 KiB); a 128 KiB shadow stack, 16384 roots: one per 8 bytes
# of the at most ELYZ_MAX_STACK_SIZE (128 KiB) of C stack that start.c lets
# RPython use (the shadow stack has no overflow check: the C stack check
# must stop a recursion first); major-collection thresholds that grow by at
# most 4 MiB.
USER_GC_OPTIONS = GcOptions(nursery_size=GcOptions.MIN_NURSERY_SIZE, root_stack_depth=16384,
                            max_delta=4 * 1024 * 1024)

RUNTIME_C = ['libc.c', 'malloc.c', 'start.c', 'string.c']
RUNTIME_ASM = ['crt0.S', 'syscalls.S']
HOSTED_REPLACED = ('crt0.S', 'syscalls.S')


def build_dir(karch='x86_64'):
    return os.path.join(REPO_DIR, 'build', karch, 'user')


def program_names():
    names = []
    for f in os.listdir(USER_DIR):
        if f.endswith('.py') and not f.startswith('_'):
            names.append(f[:-3])
    return sorted(names)


def load_programs():
    programs = []
    for name in program_names():
        module = __import__('user.' + name, None, None, ['main'])
        main = getattr(module, 'main', None)
        if main is None:
            raise ValueError("user/%s.py has no main(argv) function" % name)
        programs.append((name, main))
    return programs


def user_image(build_dir, output=None, programs=None):
    """Returns the FreestandingProgram of the image (programs: the (name,
    main) pairs, by default load_programs())."""
    if programs is None:
        programs = load_programs()
    entry = EntryPoint(make_main(programs), [int, int], 'rpy_user_main')
    toolchain = Toolchain(cc=os.environ.get('ELYZ_CC', 'gcc'),
                          ld=os.environ.get('ELYZ_LD', 'ld'),
                          cflags=USER_CFLAGS, ldflags=USER_LDFLAGS)
    return FreestandingProgram(
        name=IMAGE_NAME, entry_points=[entry], build_dir=build_dir, toolchain=toolchain,
        runtime_sources=[os.path.join(COMMON_RUNTIME_DIR, 'runtime.c')]
        + [os.path.join(LIB_DIR, f) for f in RUNTIME_C],
        asm_sources=[os.path.join(LIB_DIR, f) for f in RUNTIME_ASM],
        include_dirs=[INCLUDE_DIR, COMMON_RUNTIME_DIR],
        linker_script=os.path.join(LIB_DIR, 'user.ld'),
        output=output or os.path.join(build_dir, IMAGE_NAME + '.elf'),
        provided_symbols=api.RUNTIME_SYMBOLS + api.STUB_SYMBOLS,
        gc='incminimark', floats=True, gc_options=USER_GC_OPTIONS)


def hosted_objects(program, replaced=HOSTED_REPLACED):
    """Returns the object files of the built image program except those of
    the sources named in replaced, in link order (read from the manifest
    of the last translation)."""
    manifest = os.path.join(program.build_dir, 'sources.manifest')
    sources = [line.split(' ', 1)[1] for line in open(manifest).read().splitlines()
               if line.startswith('source ')]
    sources += program.runtime_sources + program.asm_sources
    return [os.path.join(program.obj_dir, _object_name(src)) for src in sources
            if os.path.basename(src) not in replaced]
