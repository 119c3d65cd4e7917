"""The C builder of the freestanding backend.

`FreestandingBuilder(translator, program, config)` is a genc.CBuilder that
  - exports every entry point of the program under its fixed C name,
  - writes the generated sources into program.gen_dir, leaving a file
    untouched (same mtime) when its content did not change, so the
    compile step rebuilds only what changed,
  - returns from `generate_source()` the list of C files to compile:
    the generated ones plus the few upstream support files that work
    freestanding (exceptions, RPython tracebacks, rtyper helpers).
"""

import os
import shutil
import tempfile

import py
from rpython.rtyper.lltypesystem.lltype import getfunctionptr
from rpython.translator.c.genc import CBuilder, gen_source

# Upstream support files (rpython/translator/c/src) that compile freestanding.
UPSTREAM_SUPPORT_FILES = ('exception.c', 'rtyper.c', 'support.c', 'debug_traceback.c')


class FreestandingBuilder(CBuilder):
    standalone = False
    split = True

    def __init__(self, translator, program, config):
        self.program = program
        first = program.entry_points[0].function
        CBuilder.__init__(self, translator, first, config)
        self.modulename = program.name

    def getentrypointptr(self):
        """Returns the list of function pointers of the entry points."""
        bk = self.translator.annotator.bookkeeper
        pointers = []
        for ep in self.program.entry_points:
            graph = bk.getdesc(ep.function).getuniquegraph()
            pointers.append(getfunctionptr(graph))
        return pointers

    def gen_makefile(self, targetdir, exe_name=None, headers_to_precompile=[]):
        pass    # build.py compiles; no Makefile is wanted

    def generate_source(self, db=None, defines={}, exe_name=None):
        """Writes the C sources; returns the list of .c paths to compile."""
        if db is None:
            db = self.build_database()
        gen_dir = self.program.gen_dir
        scratch = tempfile.mkdtemp(prefix='elyz-gen-')
        try:
            eci, cfile, extra, _ = gen_source(db, self.modulename, py.path.local(scratch),
                                             self.eci, defines=dict(defines),
                                             split=self.split)
            written = sync_tree(scratch, gen_dir)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self.eci = eci
        self.targetdir = py.path.local(gen_dir)
        sources = [os.path.join(gen_dir, os.path.relpath(str(f), scratch))
                   for f in [cfile] + list(extra)]
        self.c_source_filename = py.path.local(sources[0])
        upstream = py.path.local(__file__).dirpath().dirpath().dirpath().dirpath()
        src_dir = _upstream_src_dir()
        sources += [os.path.join(src_dir, name) for name in UPSTREAM_SUPPORT_FILES]
        for f in eci.separate_module_files:
            if os.path.basename(str(f)) not in _UPSTREAM_ALL_FILES:
                sources.append(str(f))
        self.sources = sources
        self.written = written
        return sources


_UPSTREAM_ALL_FILES = frozenset([
    'entrypoint.c', 'mem.c', 'exception.c', 'rtyper.c', 'support.c', 'profiling.c',
    'debug_print.c', 'debug_traceback.c', 'asm.c', 'instrument.c', 'int.c',
    'stack.c', 'threadlocal.c', 'cygwin_wait.c'])


def _upstream_src_dir():
    import rpython.translator.c
    return os.path.join(os.path.dirname(rpython.translator.c.__file__), 'src')


def sync_tree(src, dst):
    """Makes dst hold the files of src: copies a file only when it is new or
    its content differs, and removes files dst has that src lacks.
    Returns the number of files written."""
    written = 0
    wanted = set()
    for root, _, files in os.walk(src):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), src)
            wanted.add(rel)
            s = os.path.join(src, rel)
            d = os.path.join(dst, rel)
            with open(s, 'rb') as f:
                data = f.read()
            if os.path.exists(d):
                with open(d, 'rb') as f:
                    if f.read() == data:
                        continue
            if not os.path.isdir(os.path.dirname(d)):
                os.makedirs(os.path.dirname(d))
            with open(d, 'wb') as f:
                f.write(data)
            written += 1
    if os.path.isdir(dst):
        for root, _, files in os.walk(dst):
            for name in files:
                rel = os.path.relpath(os.path.join(root, name), dst)
                if rel not in wanted:
                    os.remove(os.path.join(dst, rel))
    return written
