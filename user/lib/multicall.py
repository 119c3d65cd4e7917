"""One image, many programs (busybox style): the entry point that picks one.

    split_args(block) -> the arguments in an args block: the strings between
        NUL bytes (docs/abi.md, "Program start"); a final argument without
        its NUL counts too, an empty block gives []
    make_main(programs) -> user_main(args, length), the image's one entry
        point (rpy_user_main): reads the args block at address args, runs
        the program (name, main) whose name is the first argument with the
        whole argument list, and returns its exit code.  No argument or an
        unknown name prints the programs there are and returns
        EXIT_UNKNOWN_PROGRAM.
    run(programs, argv) -> the same from a list of strings (also untranslated)
"""

from rpython.rlib.unroll import unrolling_iterable
from rpython.rtyper.lltypesystem import rffi

from user.lib import api

EXIT_UNKNOWN_PROGRAM = 127


def split_args(block):
    args = []
    start = 0
    n = len(block)
    while start < n:
        end = block.find('\x00', start)
        if end < 0:
            end = n
        args.append(block[start:end])
        start = end + 1
    return args


def make_runner(programs):
    """Returns run(argv) for the list of (name, main) pairs."""
    names = ' '.join([name for name, _ in programs])
    unrolled = unrolling_iterable(programs)

    def run(argv):
        if len(argv) > 0:
            wanted = argv[0]
            for name, main in unrolled:
                if wanted == name:
                    return main(argv)
            api.write("elyz-user: no program called '" + wanted + "'\n")
        api.write("elyz-user: the first argument names the program: " + names + "\n")
        return EXIT_UNKNOWN_PROGRAM
    return run


def make_main(programs):
    run = make_runner(programs)

    def user_main(args, length):
        if args == 0 or length <= 0:
            return run([])
        block = rffi.charpsize2str(rffi.cast(rffi.CCHARP, args), length)
        return run(split_args(block))
    return user_main


def run(programs, argv):
    return make_runner(programs)(argv)
