"""init: the first process (docs/user-programs.md).

    init prog[ args...] ...    (from `elyz.init=prog1,prog2` on the kernel
                               command line: one argument per program)

Starts each program from the user image (its first descriptor, IMAGE), one
after the other, passing it a clone of IMAGE (so that it, too, finds the
image at its first descriptor and can spawn), waits for it, logs its exit
code, releases it.  Returns 0
when every program exited 0, else 1.  A program name may carry arguments
after a colon: `gcstress:200` runs `gcstress 200`.
"""

from user.lib import api, process


def _argv_of(spec):
    parts = spec.split(':')
    return parts


def main(argv):
    failures = 0
    for spec in argv[1:]:
        if not spec:
            continue
        child_argv = _argv_of(spec)
        image = api.sys_clone(process.IMAGE, process.IMAGE_RIGHTS)
        child = process.spawn(process.IMAGE, child_argv, [image])
        if child < 0:
            api.sys_release(image)
            api.write("init: cannot start %s: error %d\n" % (spec, child))
            failures += 1
            continue
        code = process.wait(child)
        api.write("init: %s exited with %d\n" % (child_argv[0], code))
        if code != 0:
            failures += 1
        api.sys_release(child)
    if failures:
        return 1
    return 0
