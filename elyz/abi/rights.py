"""Object kinds, descriptor rights and mapping protections (docs/abi.md).

A descriptor carries a set of rights; an operation checks the rights it
needs first (E_RIGHTS without them).  Rights only shrink: clone, borrow and
transfer keep or drop them, never add.

    KIND_MEMORY   a MemoryObject: zero-filled pages
    KIND_PROCESS  a Process: descriptor table, address space, state
    KIND_CHANNEL  a channel endpoint: a queue of messages from its peer

    RIGHT_READ RIGHT_WRITE RIGHT_EXEC   what a mapping may allow (memory);
                     receive (READ) and send (WRITE) on an endpoint
    RIGHT_MAP        map the object into the holder's address space (memory)
    RIGHT_CLONE      make another descriptor of the same strength (any kind)
    RIGHT_TRANSFER   move the descriptor to another process (any kind)
    RIGHT_BORROW     make a lease: a weak, possibly expiring descriptor (any kind)
    RIGHT_WAIT       learn the process's state and exit code (process), wait
                     for a message or the peer's end (endpoint: wait_any)
    RIGHT_GIVE       move descriptors into the process (process): the
                     target of a transfer needs it

    MEMORY_RIGHTS, PROCESS_RIGHTS, CHANNEL_RIGHTS   the rights that kind
                                    can carry
    PROT_READ PROT_WRITE PROT_EXEC  a mapping's protection: the same bits
                                    as the rights that allow them
    PROT_ALL                        every protection bit

    STRENGTH_STRONG, STRENGTH_WEAK  what describe() reports
"""

KIND_NONE = 0
KIND_MEMORY = 1
KIND_PROCESS = 2
KIND_CHANNEL = 3
KIND_NAMES = ['none', 'memory', 'process', 'channel']

RIGHT_READ = 1 << 0
RIGHT_WRITE = 1 << 1
RIGHT_EXEC = 1 << 2
RIGHT_MAP = 1 << 3
RIGHT_CLONE = 1 << 4
RIGHT_TRANSFER = 1 << 5
RIGHT_BORROW = 1 << 6
RIGHT_WAIT = 1 << 7
RIGHT_GIVE = 1 << 8

MEMORY_RIGHTS = (RIGHT_READ | RIGHT_WRITE | RIGHT_EXEC | RIGHT_MAP | RIGHT_CLONE |
                 RIGHT_TRANSFER | RIGHT_BORROW)
PROCESS_RIGHTS = RIGHT_WAIT | RIGHT_GIVE | RIGHT_CLONE | RIGHT_TRANSFER | RIGHT_BORROW
CHANNEL_RIGHTS = (RIGHT_READ | RIGHT_WRITE | RIGHT_CLONE | RIGHT_TRANSFER | RIGHT_BORROW |
                  RIGHT_WAIT)

PROT_READ = RIGHT_READ
PROT_WRITE = RIGHT_WRITE
PROT_EXEC = RIGHT_EXEC
PROT_ALL = PROT_READ | PROT_WRITE | PROT_EXEC

STRENGTH_STRONG = 1
STRENGTH_WEAK = 2

# (name, bit) for docs/abi.md and the C header of a later issue.
RIGHT_NAMES = [('RIGHT_READ', RIGHT_READ), ('RIGHT_WRITE', RIGHT_WRITE),
               ('RIGHT_EXEC', RIGHT_EXEC), ('RIGHT_MAP', RIGHT_MAP),
               ('RIGHT_CLONE', RIGHT_CLONE), ('RIGHT_TRANSFER', RIGHT_TRANSFER),
               ('RIGHT_BORROW', RIGHT_BORROW), ('RIGHT_WAIT', RIGHT_WAIT),
               ('RIGHT_GIVE', RIGHT_GIVE)]


def rights_of_kind(kind):
    """Returns the rights an object of kind can carry (0 for an unknown kind)."""
    if kind == KIND_MEMORY:
        return MEMORY_RIGHTS
    if kind == KIND_PROCESS:
        return PROCESS_RIGHTS
    if kind == KIND_CHANNEL:
        return CHANNEL_RIGHTS
    return 0
