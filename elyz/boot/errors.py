"""Error codes of the boot-protocol parsers (limine, multiboot2, pvh,
devicetree).

Every parser returns 0 (OK) or one of these negative codes; nothing is
raised.  A code says what was wrong with the bootloader's data:

    E_BAD_MAGIC        a magic number, tag or request ID is not what the
                       protocol document says
    E_BAD_VERSION      a structure version / base revision we cannot use
    E_BAD_SIZE         a size or count field that cannot be right
    E_TRUNCATED        a structure runs past the end of its container
    E_BAD_ADDRESS      a pointer that is NULL where it may not be, or lies
                       outside the memory the kernel can read at boot
    E_NO_MEMORY_MAP    the bootloader gave no memory map
    E_NO_HHDM          Limine gave no higher-half direct map offset
    E_BAD_REQUEST      a slot of the Limine request table holds the wrong
                       request (or no base revision tag)
    E_BAD_STRUCTURE    a device tree's structure block is not a well-formed
                       token sequence (unknown token, unbalanced or too
                       deeply nested nodes, a property outside any node)

    error_name(code) -> a constant string naming code, for the log
"""

OK = 0
E_BAD_MAGIC = -1
E_BAD_VERSION = -2
E_BAD_SIZE = -3
E_TRUNCATED = -4
E_BAD_ADDRESS = -5
E_NO_MEMORY_MAP = -6
E_NO_HHDM = -7
E_BAD_REQUEST = -8
E_BAD_STRUCTURE = -9

_NAMES = ['ok', 'bad magic', 'unsupported version', 'bad size', 'truncated',
          'bad address', 'no memory map', 'no hhdm', 'bad request table',
          'bad structure']


def error_name(code):
    """Returns the name of a parser result code; 'unknown error' for any
    other number."""
    if code <= 0 and -code < len(_NAMES):
        return _NAMES[-code]
    return 'unknown error'
