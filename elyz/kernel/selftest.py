"""The translated kernel's built-in self-tests (`make selftest`).

    register(name, function)   function() -> None when it passed, or a
                               constant string saying why it failed
    run_all() -> number failed prints "TEST <name> ok" or
                               "TEST <name> FAIL <reason>" per test, then
                               "<N> passed, <N> failed".

Registration happens at import time (prebuilt list); running allocates
nothing of its own.
"""

from elyz.kernel import log

_tests = []


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
    for name, function in _tests:
        reason = function()
        log.begin(log.INFO)
        log.put('TEST ')
        log.put(name)
        if reason is None:
            log.put(' ok')
            passed += 1
        else:
            log.put(' FAIL ')
            log.put(reason)
            failed += 1
        log.end()
    log.begin(log.INFO)
    log.put_int(passed)
    log.put(' passed, ')
    log.put_int(failed)
    log.put(' failed')
    log.end()
    return failed
