"""What a GC'd (user-mode) freestanding program needs from the translator.

    apply_gc_options(options)
        Replaces, in RPython's GC support code, what incminimark would learn
        from the host: the PYPY_GC_* environment variables (read through
        os.environ and strtod), the L2 cache size (/proc/cpuinfo, uname) and
        the total memory (/proc/meminfo).  Each becomes a constant of
        options (a program.GcOptions).  Also sets the depth of the shadow
        stack.  Must run before the GC is annotated (install() and
        translate() call it); it changes RPython's modules for the rest of
        the process, so a process translates one program.
        Returns a function that undoes the changes.

Without it the GC pulls in os.open/os.read (errno thread-locals, the GIL)
and libc's strtod; with it (and translation.log off) the GC's code needs
only malloc, free, memcpy, memset, abort, getenv (for PYPY_GC_MAX_PINNED,
read through os.environ: NULL is fine), getpagesize, madvise (a hint: a
no-op is correct), fprintf and stderr.
"""

from rpython.rlib.rarithmetic import r_uint
from rpython.rlib.unroll import unrolling_iterable


def _reader(table, convert, default):
    items = unrolling_iterable(sorted(table.items()))

    def read(varname):
        for name, value in items:
            if varname == name:
                return convert(value)
        return convert(default)
    return read


def gc_environment(options):
    """Returns {name: replacement} for the functions of
    rpython.memory.gc.env that apply_gc_options replaces."""
    nursery = options.nursery_size
    total = float(options.max_heap_size or 1 << 30)
    ints = {'PYPY_GC_NURSERY': nursery, 'PYPY_GC_DEBUG': 0}
    uints = {'PYPY_GC_MIN': options.min_heap_size, 'PYPY_GC_MAX': options.max_heap_size,
             'PYPY_GC_MAX_DELTA': options.max_delta}
    read_from_env = _reader(ints, int, 0)
    read_uint_from_env = _reader(uints, r_uint, 0)
    read_float_from_env = _reader({}, float, 0.0)     # thresholds: the GC's defaults

    def estimate_best_nursery_size():
        return nursery

    def get_total_memory():
        return total
    return {'read_from_env': read_from_env, 'read_uint_from_env': read_uint_from_env,
            'read_float_from_env': read_float_from_env,
            'estimate_best_nursery_size': estimate_best_nursery_size,
            'get_total_memory': get_total_memory}


def apply_gc_options(options):
    """Installs options into RPython's GC code; returns an undo function."""
    from rpython.memory.gc import env
    from rpython.memory.gctransform.shadowstack import ShadowStackPool
    saved = dict((name, getattr(env, name)) for name in gc_environment(options))
    saved_depth = ShadowStackPool.root_stack_depth
    for name, function in gc_environment(options).items():
        setattr(env, name, function)
    ShadowStackPool.root_stack_depth = options.root_stack_depth

    def undo():
        for name, function in saved.items():
            setattr(env, name, function)
        ShadowStackPool.root_stack_depth = saved_depth
    return undo
