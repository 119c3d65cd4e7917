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
                        linker_script=None, output=None, provided_symbols=(),
                        compile_only=False, gc='none', floats=False,
                        gc_options=None)
        runtime_sources/asm_sources: C and assembly files linked in (boot
        stubs, the program's runtime); include_dirs: searched before the
        sysroot; provided_symbols: C functions the runtime defines, which
        RPython code may call through rffi.llexternal without an ECI.

    Two modes, chosen by gc:
      gc='none' (kernel mode, the default): every GC allocation becomes a
        malloc that is never freed; entry points may be allocation_free;
        the GC's operations (collect, weakrefs, ...) are refused.
      gc='incminimark' (user-program mode): RPython's incremental
        generational GC with a shadow stack.  The program's C must call
        RPython_StartupCode() before its first entry point and provide, besides
        the common runtime, the few libc symbols the GC uses
        (GC_RUNTIME_SYMBOLS: getenv, getpagesize, madvise) and a malloc
        that really frees.  gc_options (GcOptions, or a dict of its fields)
        replaces the GC's environment and hardware probes with constants.
    floats: whether RPython code may compute with floats (the kernel is
    compiled without SSE; a user program may be compiled with it).
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


# The GCs the backend supports: 'none' (kernel mode) and 'incminimark' with
# a shadow stack (user-program mode).
SUPPORTED_GCS = ('none', 'incminimark')

# C functions a GC'd program's runtime must define besides the common ones
# (the GC's own code calls them; RPython code does not see them).
GC_RUNTIME_SYMBOLS = ('getenv', 'getpagesize', 'madvise')


class GcOptions(object):
    """Constants that replace what incminimark would read from PYPY_GC_*
    variables and probe on the host (/proc/meminfo, the L2 cache size).

        nursery_size      bytes of the nursery (young objects); at least
                          MIN_NURSERY_SIZE (twice incminimark's largest
                          nursery object), or the GC's debug path that
                          collects on nearly every allocation is taken
        min_heap_size     bytes of old objects before the first major
                          collection (incminimark's default: 8 nurseries)
        max_heap_size     the GC raises MemoryError past it (0: no limit
                          but the program's malloc's)
        max_delta         the most a major-collection threshold grows by
        root_stack_depth  words of the shadow stack (roots of live frames);
                          RPython's default 163840 is 1.25 MiB
    """
    MIN_NURSERY_SIZE = 2 * (16384 + 512) * 8      # 2 * incminimark's large_object

    def __init__(self, nursery_size=MIN_NURSERY_SIZE, min_heap_size=0, max_heap_size=0,
                 max_delta=8 * 1024 * 1024, root_stack_depth=16384):
        if nursery_size < self.MIN_NURSERY_SIZE:
            raise ValueError("nursery_size %d is below the GC's minimum %d"
                             % (nursery_size, self.MIN_NURSERY_SIZE))
        if root_stack_depth <= 0 or min_heap_size < 0 or max_heap_size < 0 or max_delta <= 0:
            raise ValueError("GC options must be positive (min and max heap: or 0)")
        self.nursery_size = nursery_size
        self.min_heap_size = min_heap_size or 8 * nursery_size
        self.max_heap_size = max_heap_size
        self.max_delta = max_delta
        self.root_stack_depth = root_stack_depth


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
                 compile_only=False, gc='none', floats=False, gc_options=None):
        if not entry_points:
            raise ValueError("a freestanding program needs at least one entry point")
        if gc not in SUPPORTED_GCS:
            raise ValueError("gc=%r: the freestanding backend supports %s"
                             % (gc, ', '.join(SUPPORTED_GCS)))
        if gc != 'none':
            marked = [ep.c_name for ep in entry_points if ep.allocation_free]
            if marked:
                raise ValueError("allocation_free entry points (%s) are a kernel-mode "
                                 "(gc='none') check" % ', '.join(marked))
        elif gc_options is not None:
            raise ValueError("gc_options need a GC (gc='none' has none)")
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
        self.gc = gc
        self.floats = bool(floats)
        if gc == 'none':
            self.gc_options = None
        elif isinstance(gc_options, GcOptions):
            self.gc_options = gc_options
        else:
            self.gc_options = GcOptions(**(gc_options or {}))

    @property
    def kernel_mode(self):
        """True for gc='none' (the kernel's mode)."""
        return self.gc == 'none'

    @property
    def gen_dir(self):
        """The folder the generated C goes to."""
        return os.path.join(self.build_dir, 'gen')

    @property
    def obj_dir(self):
        return os.path.join(self.build_dir, 'obj')

    def allocation_free_functions(self):
        return [ep.function for ep in self.entry_points if ep.allocation_free]
