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

SUPPORTED_KARCHS = ('x86_64', 'aarch64', 'riscv64', 'loongarch64')
PLANNED_KARCHS = ()


class UnsupportedArch(Exception):
    pass


# -fwrapv: RPython's int_add/int_sub/int_mul wrap on overflow (only the
# _ovf forms, from ovfcheck, detect it), but the C backend emits them as
# plain `long` arithmetic (src/int.h: r = x + y), where overflow is
# undefined and checks built on wrapping may be optimised away.
# -fno-strict-aliasing: raw memory is read and written through whatever
# pointer type the generated code casts it to.
COMMON_CFLAGS = [
    '-std=gnu11', '-O2', '-g', '-ffreestanding', '-fno-builtin', '-fno-stack-protector',
    '-fno-pic', '-fno-pie', '-fno-asynchronous-unwind-tables', '-fno-omit-frame-pointer',
    '-ffunction-sections', '-fdata-sections', '-fno-strict-aliasing', '-fwrapv',
    '-Wno-unused', '-Wno-address', '-Wno-missing-field-initializers',
    '-Werror=implicit-function-declaration',
]
# Per architecture: no floating point or vector registers in the kernel
# (a float in RPython code then fails to compile: a free guard), and a code
# model that reaches a kernel linked at 0xffffffff80000000.
ARCH_CFLAGS = {
    'x86_64': ['-mno-red-zone', '-mcmodel=kernel', '-mno-sse', '-mno-sse2', '-mno-mmx',
               '-mno-80387'],
    # -mgeneral-regs-only: no FP/SIMD; adrp/add reach +-4 GiB around the code.
    'aarch64': ['-mgeneral-regs-only', '-mcmodel=small', '-mstrict-align'],
    # lp64 (integer ABI), no F/D extensions; medany: pc-relative anywhere;
    # -mno-relax: no gp-relative relaxation (gp is not set up in the kernel).
    'riscv64': ['-march=rv64imac_zicsr_zifencei', '-mabi=lp64', '-mcmodel=medany', '-mno-relax'],
    # zig cc (PyPI ziglang, clang): the la464 core without its FPU (-f-d: a
    # float becomes a soft-float call that does not link) nor LSX/LASX (QEMU
    # 7.2 lacks them); lp64s: the integer-only ABI (clang has no -msoft-float
    # for LoongArch).
    'loongarch64': ['-target', 'loongarch64-freestanding-none', '-mcpu=la464-f-d-lsx-lasx',
                    '-mabi=lp64s', '-mcmodel=medium'],
}
X86_64_CFLAGS = COMMON_CFLAGS + ARCH_CFLAGS['x86_64']
COMMON_LDFLAGS = ['-nostdlib', '-static', '-z', 'max-page-size=0x1000', '--gc-sections',
                  '--no-dynamic-linker', '-z', 'noexecstack']
X86_64_LDFLAGS = COMMON_LDFLAGS
ARCH_LDFLAGS = {
    'x86_64': [],
    'aarch64': [],
    'riscv64': ['--no-relax'],
    'loongarch64': [],
}
# Cross tools (Debian gcc-<triple>, binutils-<triple>; loongarch64: the
# ziglang wrappers tools/setup-system.sh installs).  ELYZ_CC / ELYZ_LD win.
TOOL_PREFIX = {
    'x86_64': '',
    'aarch64': 'aarch64-linux-gnu-',
    'riscv64': 'riscv64-linux-gnu-',
}
ZIG_TOOLS_DIR = os.path.join(REPO_DIR, 'build', 'tools', 'zig', 'bin')


def toolchain_commands(karch):
    """Returns (cc, ld, objcopy, strip) for karch (commands or paths)."""
    if karch == 'loongarch64':
        z = ZIG_TOOLS_DIR
        return (os.path.join(z, 'zig-cc'), os.path.join(z, 'zig-ld'),
                os.path.join(z, 'zig-objcopy'), os.path.join(z, 'zig-strip'))
    prefix = TOOL_PREFIX[karch]
    return (prefix + 'gcc', prefix + 'ld', prefix + 'objcopy', prefix + 'strip')


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
    cc, ld, objcopy, strip = toolchain_commands(karch)
    toolchain = Toolchain(cc=os.environ.get('ELYZ_CC', cc), ld=os.environ.get('ELYZ_LD', ld),
                          cflags=COMMON_CFLAGS + ARCH_CFLAGS[karch],
                          ldflags=COMMON_LDFLAGS + ARCH_LDFLAGS[karch],
                          objcopy=objcopy, strip=strip)
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
