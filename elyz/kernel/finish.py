"""What every kernel main does once it is up (x86_64's main.py and the
ports' portmain.py).

    finish(info, failed)   panics when the command line says elyz.panic;
                           with elyz.exit, leaves QEMU with the failure
                           status when failed (tests that failed) is
                           non-zero, else with success.  Returns when QEMU
                           was not asked to exit (the caller then idles).
"""

from elyz.kernel import panic, qemu


def finish(info, failed):
    """See the module docstring; returns only without elyz.exit."""
    if info.cmdline_has('elyz.panic'):
        panic.panic('requested on the command line (elyz.panic)')
    if qemu.exit_requested():
        if failed:
            qemu.exit(qemu.EXIT_FAILURE)
        else:
            qemu.exit(qemu.EXIT_SUCCESS)
