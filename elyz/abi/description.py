"""What describe() reports (docs/abi.md, describe), defined once for the
kernel (elyz/obj/api.py, elyz/kernel/syscall.py) and user programs
(user/lib/process.py).

    Description     the record: one attribute per name of FIELDS
    FIELDS          the names, in the order of the words the describe system
                    call writes at its `out` pointer
    WORDS           len(FIELDS)
    word(d, i)       field i of d as a word (dead: 0 or 1)
    set_word(d, i, value)   sets field i of d from a word
"""

from rpython.rlib.unroll import unrolling_iterable

FIELDS = ['kind', 'strength', 'rights', 'size', 'strong', 'weak', 'expiry', 'dead',
          'state', 'exit_code', 'fault_address']
WORDS = len(FIELDS)
_INDEXED = unrolling_iterable(list(enumerate(FIELDS)))


class Description(object):
    """kind, strength (STRENGTH_*), rights, size in bytes, strong and weak
    counts, expiry (the tick a lease expires at; 0: never), dead (the object
    died or the lease expired), state and exit_code (processes), and
    fault_address: the address whose page fault killed the process (0 when
    no page fault did)."""

    def __init__(self):
        self.kind = 0
        self.strength = 0
        self.rights = 0
        self.size = 0
        self.strong = 0
        self.weak = 0
        self.expiry = 0
        self.dead = False
        self.state = 0
        self.exit_code = 0
        self.fault_address = 0


def word(d, i):
    """Returns field i (FIELDS order) of d as a word (dead: 0 or 1)."""
    for k, name in _INDEXED:
        if k == i:
            return int(getattr(d, name))
    return 0


def set_word(d, i, value):
    """Sets field i (FIELDS order) of d from a word (dead: True when not 0)."""
    for k, name in _INDEXED:
        if k == i:
            if name == 'dead':
                d.dead = value != 0
            else:
                setattr(d, name, value)
