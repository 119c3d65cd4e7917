"""Description of a freestanding program for the backend.

    EntryPoint(function, argtypes, c_name, allocation_free=False)
        an RPython function exported to C under the fixed name c_name
        (argtypes: a list of Python types the annotator understands);
        allocation_free: the translation fails if anything it reaches
        makes a GC allocation (interrupt handlers, the allocator itself).

    Toolchain(cc, ld, cflags, ldflags, objcopy)
        the cross tools and flags for one architecture.

    FreestandingProgram(name, entry_points, build_dir, toolchain,
                        runtime_sources=[], asm_sources=[], include_dirs=[],
                        linker_script=None, output=None, provided_symbols=())
        runtime_sources/asm_sources: C and assembly files linked in (boot
        stubs, the program's runtime); include_dirs: searched before the
        sysroot; provided_symbols: C functions the runtime defines, which
        RPython code may call through rffi.llexternal without an ECI.
"""

import os

BACKEND_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.abspath(os.path.join(BACKEND_DIR, '..', '..', '..'))
SYSROOT_DIR = os.path.join(REPO_DIR, 'arch', 'common', 'sysroot')
COMMON_RUNTIME_DIR = os.path.join(REPO_DIR, 'arch', 'common', 'runtime')

# C functions the common freestanding runtime (arch/common/runtime) defines.
COMMON_RUNTIME_SYMBOLS = (
    'memcpy', 'memmove', 'memset', 'memcmp', 'strlen', 'abort',
    'malloc', 'calloc', 'realloc', 'free',
    'pypy_debug_traceback_print',      # upstream debug_traceback.c, linked in
)


class EntryPoint(object):
    def __init__(self, function, argtypes, c_name, allocation_free=False):
        self.function = function
        self.argtypes = list(argtypes)
        self.c_name = c_name
        self.allocation_free = allocation_free


class Toolchain(object):
    def __init__(self, cc, ld, cflags, ldflags, objcopy='objcopy', strip='strip'):
        self.cc = cc
        self.ld = ld
        self.cflags = list(cflags)
        self.ldflags = list(ldflags)
        self.objcopy = objcopy
        self.strip = strip


class FreestandingProgram(object):
    def __init__(self, name, entry_points, build_dir, toolchain,
                 runtime_sources=(), asm_sources=(), include_dirs=(),
                 linker_script=None, output=None, provided_symbols=(),
                 compile_only=False):
        if not entry_points:
            raise ValueError("a freestanding program needs at least one entry point")
        self.name = name
        self.entry_points = list(entry_points)
        self.build_dir = os.path.abspath(build_dir)
        self.toolchain = toolchain
        self.runtime_sources = [os.path.abspath(p) for p in runtime_sources]
        self.asm_sources = [os.path.abspath(p) for p in asm_sources]
        self.include_dirs = [os.path.abspath(p) for p in include_dirs]
        self.linker_script = linker_script and os.path.abspath(linker_script)
        self.output = os.path.abspath(output or os.path.join(self.build_dir, name + '.elf'))
        self.provided_symbols = frozenset(COMMON_RUNTIME_SYMBOLS) | frozenset(provided_symbols)
        self.compile_only = compile_only

    @property
    def gen_dir(self):
        """The folder the generated C goes to."""
        return os.path.join(self.build_dir, 'gen')

    @property
    def obj_dir(self):
        return os.path.join(self.build_dir, 'obj')

    def allocation_free_functions(self):
        return [ep.function for ep in self.entry_points if ep.allocation_free]
