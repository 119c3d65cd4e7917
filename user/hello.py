"""hello: the smallest program.  Prints a greeting (and its arguments, if
any) through debug_write and returns 0."""

from user.lib import api


def main(argv):
    api.write("hello from Elyz user mode: " + argv[0] + "\n")
    if len(argv) > 1:
        api.write("arguments: " + ' '.join(argv[1:]) + "\n")
    return 0
