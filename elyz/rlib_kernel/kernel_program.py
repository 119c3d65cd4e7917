"""What the kernel image is made of, per architecture, for the backend.

    SUPPORTED_KARCHS          the ports that exist
    kernel_program(karch, build_dir, entry_points) -> FreestandingProgram
        raises UnsupportedArch (message names the supported ones) otherwise.

The kernel-specific parts (boot stubs, linker script, flags) live here and
in arch/<karch>/; the translation machinery in backend/ knows none of them.
"""

import os

from elyz.rlib_kernel.backend.program import (
    COMMON_RUNTIME_DIR, REPO_DIR, FreestandingProgram, Toolchain)

SUPPORTED_KARCHS = ('x86_64',)
PLANNED_KARCHS = ('aarch64', 'riscv64', 'loongarch64')


class UnsupportedArch(Exception):
    pass


# -fwrapv: RPython's int_add/int_sub/int_mul wrap on overflow (only the
# _ovf forms, from ovfcheck, detect it), but the C backend emits them as
# plain `long` arithmetic (src/int.h: r = x + y), where overflow is
# undefined and checks built on wrapping may be optimised away.
# -fno-strict-aliasing: raw memory is read and written through whatever
# pointer type the generated code casts it to.
X86_64_CFLAGS = [
    '-std=gnu11', '-O2', '-g', '-ffreestanding', '-fno-builtin', '-fno-stack-protector',
    '-fno-pic', '-fno-pie', '-mno-red-zone', '-mcmodel=kernel', '-mno-sse', '-mno-sse2',
    '-mno-mmx', '-mno-80387', '-fno-asynchronous-unwind-tables', '-fno-omit-frame-pointer',
    '-ffunction-sections', '-fdata-sections', '-fno-strict-aliasing', '-fwrapv',
    '-Wno-unused', '-Wno-address', '-Wno-missing-field-initializers',
    '-Werror=implicit-function-declaration', 
]
X86_64_LDFLAGS = ['-nostdlib', '-static', '-z', 'max-page-size=0x1000', '--gc-sections',
                  '--no-dynamic-linker', '-z', 'noexecstack']


def arch_dir(karch):
    return os.path.join(REPO_DIR, 'arch', karch)


def kernel_program(karch, build_dir, entry_points):
    """Returns the FreestandingProgram of the kernel for karch."""
    if karch not in SUPPORTED_KARCHS:
        if karch in PLANNED_KARCHS:
            why = "the %s port has not landed yet" % karch
        else:
            why = "%r is not an architecture Elyz knows" % karch
        raise UnsupportedArch("KARCH=%s: %s; supported: %s"
                              % (karch, why, ', '.join(SUPPORTED_KARCHS)))
    adir = arch_dir(karch)
    toolchain = Toolchain(cc=os.environ.get('ELYZ_CC', 'gcc'), ld=os.environ.get('ELYZ_LD', 'ld'),
                          cflags=X86_64_CFLAGS, ldflags=X86_64_LDFLAGS)
    runtime = [os.path.join(COMMON_RUNTIME_DIR, 'runtime.c')]
    common_kernel = os.path.join(REPO_DIR, 'arch', 'common', 'kernel')
    runtime += sorted(os.path.join(common_kernel, f) for f in os.listdir(common_kernel)
                      if f.endswith('.c'))
    arch_c = sorted(os.path.join(adir, f) for f in os.listdir(adir) if f.endswith('.c'))
    arch_asm = sorted(os.path.join(adir, f) for f in os.listdir(adir) if f.endswith('.S'))
    return FreestandingProgram(
        name='elyz', entry_points=entry_points, build_dir=build_dir, toolchain=toolchain,
        runtime_sources=runtime + arch_c, asm_sources=arch_asm,
        include_dirs=[adir, COMMON_RUNTIME_DIR],
        linker_script=os.path.join(adir, 'linker.ld'),
        output=os.path.join(build_dir, 'elyz.elf'))
