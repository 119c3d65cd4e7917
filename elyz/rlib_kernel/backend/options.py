"""Forces the translation options a freestanding program needs.

`force_gc_none()` must run before the rpython driver processes its options
(the GC transformer is derived from them, and cannot be changed later): a
target module calls it at import time.  It rewrites the GC word of every
optimisation level in the table `set_opt_level` reads, so a plain
`rpython target.py` (level 2) translates with gc=none.

`force_gc(name)` is the same for any GC the backend supports: a user
program's target calls `force_gc('incminimark')` (in its own process: the
table is global, so one process translates one mode).

`apply_freestanding_config(config)` (kernel mode) and
`apply_program_config(config, program)` (any mode) set, from a target's
handle_config, the options that may still change after option processing.
"""

from rpython.config import translationoption

from elyz.rlib_kernel.backend.program import SUPPORTED_GCS


def force_gc(name):
    """Makes every optimisation level select the GC name; returns nothing."""
    if name not in SUPPORTED_GCS:
        raise ValueError("gc=%r: the freestanding backend supports %s"
                         % (name, ', '.join(SUPPORTED_GCS)))
    table = translationoption.OPT_TABLE
    for level, words in table.items():
        parts = words.split()
        parts[0] = name
        table[level] = ' '.join(parts)


def force_gc_none():
    """Makes every optimisation level select gc=none; returns nothing."""
    force_gc('none')


def apply_freestanding_config(config):
    """Sets, on a translation config, the options that do not depend on the
    option-processing order: no threads, no debug-print machinery.
    Returns nothing."""
    config.translation.suggest(thread=False)
    config.translation.suggest(gc='none')


def apply_program_config(config, program):
    """Sets the options program's mode needs: no threads; for a GC'd
    program a shadow stack (the only root finder that works without the
    host's assembler tricks) and no debug-print log (it needs stdio and the
    PYPYLOG environment).  Returns nothing."""
    config.translation.suggest(thread=False)
    if program.gc == 'none':
        config.translation.suggest(gc='none')
    else:
        config.translation.suggest(gcrootfinder='shadowstack')
        config.translation.suggest(log=False)
