"""Error codes shared by the memory managers (pmm, heap, paging).

    E_OK               0, success
    E_NOMEM            no free memory (or no run long enough)
    E_INVALID          a bad argument (negative count, zero size, bad flags, ...)
    E_DOUBLE_FREE      freeing something that is already free
    E_RESERVED         the address belongs to a reserved range (never allocatable)
    E_OUT_OF_RANGE     the address is outside the managed memory
    E_NOT_MAPPED       no mapping at this virtual address
    E_ALREADY_MAPPED   a mapping already exists at this virtual address
    E_ALIGN            the address is not suitably aligned
    E_REFUSED          the layer below refused to take memory back (the heap's
                       page source would not take a large block's pages):
                       the argument was valid and nothing changed

    error_name(code) -> a constant string naming code ('E_NOMEM', ...),
                        'E_UNKNOWN' for anything else

Every error is a negative int, so a function returning an address (always
>= 0 for physical addresses) or a count can return an error in the same
word: `if result < 0: ...`.  Functions returning negative (higher-half)
virtual addresses return 0 on failure instead and say so.
"""

E_OK = 0
E_NOMEM = -1
E_INVALID = -2
E_DOUBLE_FREE = -3
E_RESERVED = -4
E_OUT_OF_RANGE = -5
E_NOT_MAPPED = -6
E_ALREADY_MAPPED = -7
E_ALIGN = -8
E_REFUSED = -9

# Index i holds the name of error -i.
_NAMES = ['E_OK', 'E_NOMEM', 'E_INVALID', 'E_DOUBLE_FREE', 'E_RESERVED',
          'E_OUT_OF_RANGE', 'E_NOT_MAPPED', 'E_ALREADY_MAPPED', 'E_ALIGN', 'E_REFUSED']


def error_name(code):
    """Returns the constant name of error code, or 'E_UNKNOWN' when code is
    not one of the E_* values above.  Never fails."""
    if code > 0 or code < -(len(_NAMES) - 1):
        return 'E_UNKNOWN'
    return _NAMES[-code]

