"""Forces the translation options a freestanding program needs.

`force_gc_none()` must run before the rpython driver processes its options
(the GC transformer is derived from them, and cannot be changed later): a
target module calls it at import time.  It rewrites the GC word of every
optimisation level in the table `set_opt_level` reads, so a plain
`rpython target.py` (level 2) translates with gc=none.
"""

from rpython.config import translationoption


def force_gc_none():
    """Makes every optimisation level select gc=none; returns nothing."""
    table = translationoption.OPT_TABLE
    for level, words in table.items():
        parts = words.split()
        parts[0] = 'none'
        table[level] = ' '.join(parts)


def apply_freestanding_config(config):
    """Sets, on a translation config, the options that do not depend on the
    option-processing order: no threads, no debug-print machinery.
    Returns nothing."""
    config.translation.suggest(thread=False)
    config.translation.suggest(gc='none')
