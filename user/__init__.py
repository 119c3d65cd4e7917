"""Elyz user programs, written in RPython and translated into ONE image.

Each module user/<name>.py is a program: it defines `main(argv) -> int`
(argv[0] is <name>; the result is the exit code) and calls the runtime
through user.lib.api.  `make user` translates all of them, with a real GC
(incminimark), into build/<karch>/user/elyz-user.elf; the first argument
the program is started with picks which one runs (user/lib/multicall.py).
docs/user-programs.md says more.

user/lib/ is the runtime: the Python side (api.py, multicall.py, image.py,
abigen.py) and the C side (crt0.S, start.c, malloc.c, libc.c, string.c,
syscalls.S, user.ld); user/include/ has its headers.

(This package shadows Python 2's little-used standard module `user`; the
repository root comes first on sys.path wherever the image is built.)
"""
