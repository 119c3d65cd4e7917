"""The one table of the kernel's error codes.

Every kernel function that can fail returns a negative code from this
table (or, when it returns a higher-half address, 0 and logs why): the
memory managers, the object layer and, through it, every system call.
A failed operation changes nothing.  Each code's meaning, as docs/abi.md
gives it (tests/abi checks that the two agree):

    E_OK               0, success
    E_NOMEM            no free memory: frames, kernel heap, or a full pool of
                       kernel object records (objects, processes, mappings)
    E_INVALID          a bad argument: an unknown right or flag, a zero or
                       negative size, write and execute asked together, ...
    E_DOUBLE_FREE      freeing something that is already free (memory managers)
    E_RESERVED         the address belongs to a reserved range (memory managers)
    E_OUT_OF_RANGE     the address is outside the managed memory (memory managers)
    E_NOT_MAPPED       nothing is mapped there
    E_ALREADY_MAPPED   a mapping already exists at this virtual address (paging)
    E_ALIGN            an address, offset or length is not page-aligned
    E_REFUSED          the layer below refused to take memory back: the
                       argument was valid and nothing changed (heap)
    E_BADDESC          not a descriptor of the calling process: out of range,
                       a free slot, or a value whose slot was released since
                       (its generation is stale)
    E_DEAD             the descriptor's object is dead (its last strong
                       descriptor went) or its lease expired
    E_RIGHTS           the descriptor lacks a right the operation needs, or
                       more rights were asked than it has
    E_NOSLOTS          the descriptor table that should receive a descriptor
                       is full
    E_KIND             the descriptor names the wrong kind of object
    E_RANGE            outside the object, or outside the user half of the
                       address space
    E_OVERLAP          the range overlaps an existing mapping
    E_LIMIT            a documented limit would be passed (object size,
                       reference count)
    E_EXITED           the target process has exited
    E_NOEXEC           not an executable the kernel runs: an ELF image that
                       is malformed or breaks a rule of elyz/loader/elf.py
    E_MALFORMED        malformed data: a boot archive that is not valid newc
                       cpio (bad magic or hex digit, truncated, a size
                       running past its end, a name without its NUL)
    E_NOENT            no such name: the boot archive has no entry called so
    E_FAULT            a user pointer that is not mapped with the access the
                       call needs (checked before use, or faulted in a copy)
    E_NOSYS            no system call has that number
    E_CLOSED           the channel's other endpoint is gone
    E_WOULDBLOCK       the call would block: no message (a non-blocking
                       receive) or a full queue (send)
    E_BUFFER           the receive buffer is too small for the next message
                       (bytes or descriptors): the message stays queued

    error_name(code) -> the constant name of code ('E_NOMEM', ...), or
                        'E_UNKNOWN' for anything else

Every error is a negative int, so a function returning a count, a
physical address or a descriptor returns an error in the same word.
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
E_BADDESC = -10
E_DEAD = -11
E_RIGHTS = -12
E_NOSLOTS = -13
E_KIND = -14
E_RANGE = -15
E_OVERLAP = -16
E_LIMIT = -17
E_EXITED = -18
E_NOEXEC = -19
E_MALFORMED = -20
E_NOENT = -21
E_FAULT = -22
E_NOSYS = -23
E_CLOSED = -24
E_WOULDBLOCK = -25
E_BUFFER = -26

# Index i holds the name of error -i.
NAMES = ['E_OK', 'E_NOMEM', 'E_INVALID', 'E_DOUBLE_FREE', 'E_RESERVED',
         'E_OUT_OF_RANGE', 'E_NOT_MAPPED', 'E_ALREADY_MAPPED', 'E_ALIGN', 'E_REFUSED',
         'E_BADDESC', 'E_DEAD', 'E_RIGHTS', 'E_NOSLOTS', 'E_KIND', 'E_RANGE', 'E_OVERLAP',
         'E_LIMIT', 'E_EXITED', 'E_NOEXEC', 'E_MALFORMED', 'E_NOENT', 'E_FAULT',
         'E_NOSYS', 'E_CLOSED', 'E_WOULDBLOCK', 'E_BUFFER']


def error_name(code):
    """Returns the constant name of error code, or 'E_UNKNOWN' when code is
    not one of the E_* values above.  Never fails."""
    if code > 0 or code < -(len(NAMES) - 1):
        return 'E_UNKNOWN'
    return NAMES[-code]
