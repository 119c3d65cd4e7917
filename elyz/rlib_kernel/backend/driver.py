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

Both raise FreestandingError (checks.py) or BuildError (build.py) with a
message that names the culprit.
"""

import time


from elyz.rlib_kernel.backend import options
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



def install(driver, program):
    """Makes driver build program freestanding; returns (function, argtypes)."""
    _mark_entry_points(program)
    _require_gc_none(driver.config)
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
        check_graphs(driver.translator, program.provided_symbols)
        driver.log.info("freestanding checks passed")
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
    from rpython.translator.translator import TranslationContext
    from rpython.translator.backendopt.all import backend_optimizations
    from rpython.translator.transform import insert_ll_stackcheck
    if config is None:
        config = get_combined_translation_config(translating=True)
        config.translation.gc = 'none'
        config.translation.thread = False
    _require_gc_none(config)
    _mark_entry_points(program)
    t = TranslationContext(config=config)
    annotator = t.buildannotator()
    for ep in program.entry_points:
        annotator.build_types(ep.function, ep.argtypes, False)
    annotator.complete()
    annotator.simplify()
    t.buildrtyper().specialize(dont_simplify_again=True)
    check_graphs(t, program.provided_symbols)
    backend_optimizations(t)
    check_allocation_free(t, program.allocation_free_functions())
    insert_ll_stackcheck(t)
    t.frozen = True
    builder = FreestandingBuilder(t, program, config)
    db = builder.build_database()
    sources = builder.generate_source(db)
    return compile_and_link(program, sources, [str(d) for d in builder.eci.include_dirs])
