"""spawnmany: starts COUNT hello processes one after another and waits for
each; returns 0 when all exited 0.

    spawnmany [COUNT]      (default 50)
"""

from user.lib import api, process

DEFAULT_COUNT = 50


def main(argv):
    count = DEFAULT_COUNT
    if len(argv) > 1:
        count = int(argv[1])
    failures = 0
    i = 0
    while i < count:
        child = process.spawn(process.IMAGE, ["hello"], [])      # hello spawns nothing
        if child < 0:
            api.write("spawnmany: spawn %d failed: %d\n" % (i, child))
            return 1
        if process.wait(child) != 0:
            failures += 1
        api.sys_release(child)
        i += 1
    api.write("spawnmany: %d processes spawned and waited, %d failed\n" % (count, failures))
    if failures:
        return 1
    return 0
