"""Running the freestanding backend.

    install(driver, program)
        From a target's `target(driver, args)`: replaces the C tasks of the
        stock rpython TranslationDriver with the freestanding ones and
        returns the (entry function, argtypes) pair target() must return.
        `rpython target.py` then annotates every entry point, checks the
        graphs (and, after the backend optimisations, that allocation-free
        entry points reach no GC allocation), and writes, compiles and
        links the program.

    translate(program, config=None)
        The same pipeline from a script, without the command line.
        Returns the path of the linked output (None with compile_only).

The program's mode (program.gc) decides the checks: in kernel mode
(gc='none') the configuration must say gc=none (options.force_gc_none()),
floats are refused unless program.floats, and allocation-free entry points
are checked; in user-program mode (gc='incminimark') the configuration
must say incminimark with a shadow stack and no threads
(options.force_gc('incminimark') and options.apply_program_config), the
GC's host probes are replaced by program.gc_options (gcsupport.py), and
the GC's operations are allowed.

Both raise FreestandingError (checks.py) or BuildError (build.py) with a
message that names the culprit.
"""

import time


from elyz.rlib_kernel.backend import options
from elyz.rlib_kernel.backend.gcsupport import apply_gc_options
from elyz.rlib_kernel.backend.build import compile_and_link
from elyz.rlib_kernel.backend.builder import FreestandingBuilder
from elyz.rlib_kernel.backend.checks import (FreestandingError, check_allocation_free,
                                             check_graphs)


def _mark_entry_points(program):
    for ep in program.entry_points:
        ep.function.c_name = ep.c_name
        ep.function.exported_symbol = True


def _require_gc_none(config):
    if config.translation.gc != 'none':
        raise FreestandingError(
            "the freestanding backend needs gc=none, but the configuration says %r: "
            "call elyz.rlib_kernel.backend.options.force_gc_none() when the target "
            "module is imported" % (config.translation.gc,))


def _require_config(config, program):
    """Raises FreestandingError when config does not match program's mode."""
    if program.gc == 'none':
        _require_gc_none(config)
        return
    t = config.translation
    if t.gc != program.gc:
        raise FreestandingError(
            "the program %s needs gc=%s, but the configuration says %r: call "
            "elyz.rlib_kernel.backend.options.force_gc(%r) when the target module "
            "is imported" % (program.name, program.gc, t.gc, program.gc))
    if t.gcrootfinder != 'shadowstack':
        raise FreestandingError("the program %s needs --gcrootfinder=shadowstack, not %r"
                                % (program.name, t.gcrootfinder))
    if t.thread:
        raise FreestandingError("the program %s cannot have threads (--thread)"
                                % program.name)
    if t.log:
        raise FreestandingError("the program %s needs --no-log (debug prints need "
                                "stdio and PYPYLOG)" % program.name)


def _check_graphs(translator, program):
    check_graphs(translator, program.provided_symbols, floats=program.floats, gc=program.gc)


def _prepare_gc(program):
    """Installs the program's GC options; returns the undo function."""
    if program.gc == 'none':
        return lambda: None
    return apply_gc_options(program.gc_options)



def install(driver, program):
    """Makes driver build program freestanding; returns (function, argtypes)."""
    _mark_entry_points(program)
    _require_config(driver.config, program)
    _prepare_gc(program)         # for the rest of this (translating) process
    first = program.entry_points[0]
    others = [(ep.function, ep.argtypes) for ep in program.entry_points[1:]]
    tasks = driver.tasks

    def wrap(name, new_callable):
        old_callable, deps = tasks[name]
        for attr in ('task_deps', 'task_title', 'task_newstate', 'task_expected_states',
                     'task_idempotent', 'task_earlycheck'):
            setattr(new_callable, attr, getattr(old_callable, attr, None))
        new_callable.task_earlycheck = None
        tasks[name] = (new_callable, deps)
        return old_callable

    old_annotate = wrap('annotate', lambda: None)

    def annotate():
        driver.secondary_entrypoints = list(driver.secondary_entrypoints or []) + others
        return old_annotate()
    wrap('annotate', annotate)

    old_rtype = tasks['rtype_lltype'][0]

    def rtype():
        old_rtype()
        _check_graphs(driver.translator, program)
        driver.log.info("freestanding checks passed (gc=%s)" % program.gc)
    wrap('rtype_lltype', rtype)

    old_stackcheck = tasks['stackcheckinsertion_lltype'][0]

    def stackcheck():
        check_allocation_free(driver.translator, program.allocation_free_functions())
        driver.log.info("allocation-free entry points checked")
        return old_stackcheck()
    wrap('stackcheckinsertion_lltype', stackcheck)

    def database():
        driver.translator.frozen = True
        builder = FreestandingBuilder(driver.translator, program, driver.config)
        driver.cbuilder = builder
        driver.database = builder.build_database()
    wrap('database_c', database)

    def source():
        sources = driver.cbuilder.generate_source(driver.database)
        driver.c_sources = sources
        driver.log.info("C sources in %s (%d files rewritten)"
                        % (program.gen_dir, driver.cbuilder.written))
    wrap('source_c', source)

    def compile_():
        out = compile_and_link(program, driver.c_sources,
                               [str(d) for d in driver.cbuilder.eci.include_dirs])
        driver.c_entryp = out
        if out:
            driver.log.info("linked: %s" % out)
    wrap('compile_c', compile_)
    return first.function, first.argtypes


def translate(program, config=None):
    """Translates, compiles and links program from a script.
    Returns the output path (None when program.compile_only)."""
    from rpython.config.translationoption import get_combined_translation_config
    if config is None:
        config = get_combined_translation_config(translating=True)
        config.translation.gc = program.gc
        config.translation.thread = False
        if program.gc != 'none':
            config.translation.gcrootfinder = 'shadowstack'
            config.translation.log = False
    _require_config(config, program)
    _mark_entry_points(program)
    undo = _prepare_gc(program)
    try:
        return _translate(program, config)
    finally:
        undo()


def _translate(program, config):
    from rpython.translator.translator import TranslationContext
    from rpython.translator.backendopt.all import backend_optimizations
    from rpython.translator.transform import insert_ll_stackcheck
    t = TranslationContext(config=config)
    annotator = t.buildannotator()
    for ep in program.entry_points:
        annotator.build_types(ep.function, ep.argtypes, False)
    annotator.complete()
    annotator.simplify()
    t.buildrtyper().specialize(dont_simplify_again=True)
    _check_graphs(t, program)
    backend_optimizations(t)
    check_allocation_free(t, program.allocation_free_functions())
    insert_ll_stackcheck(t)
    t.frozen = True
    builder = FreestandingBuilder(t, program, config)
    db = builder.build_database()
    sources = builder.generate_source(db)
    return compile_and_link(program, sources, [str(d) for d in builder.eci.include_dirs])
