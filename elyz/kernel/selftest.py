"""The translated kernel's built-in self-tests (`make selftest`).

    register(name, function)   function() -> None when it passed, a
                               constant string saying why it failed, or one
                               starting with SKIPPED ("skipped: <why>") when
                               this machine lacks what it tests (e.g. SMAP)
    run_all() -> number failed prints "TEST <name> ok",
                               "TEST <name> FAIL <reason>" or
                               "TEST <name> skipped (<why>)" per test, then
                               "<N> passed, <N> failed, <N> skipped".

Registration happens at import time (prebuilt list); running allocates
nothing of its own.
"""

from elyz.lib import log

_tests = []
SKIPPED = 'skipped: '


def register(name, function):
    """Adds a self-test; run_all runs them in registration order."""
    _tests.append((name, function))


def selftest(name):
    """Decorator form of register()."""
    def deco(function):
        register(name, function)
        return function
    return deco


def run_all():
    """Runs every registered test; returns how many failed."""
    passed = 0
    failed = 0
    skipped = 0
    for name, function in _tests:
        reason = function()
        log.begin(log.INFO)
        log.put('TEST ')
        log.put(name)
        if reason is None:
            log.put(' ok')
            passed += 1
        elif reason.startswith(SKIPPED):
            log.put(' skipped (')
            i = len(SKIPPED)
            while i < len(reason):          # no slice: it would allocate
                log.put_char(reason[i])
                i += 1
            log.put(')')
            skipped += 1
        else:
            log.put(' FAIL ')
            log.put(reason)
            failed += 1
        log.end()
    log.begin(log.INFO)
    log.put_int(passed)
    log.put(' passed, ')
    log.put_int(failed)
    log.put(' failed, ')
    log.put_int(skipped)
    log.put(' skipped')
    log.end()
    return failed
