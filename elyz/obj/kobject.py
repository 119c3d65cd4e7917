"""The header of every kernel object.

    KernelObject     kind (elyz/abi/rights.py KIND_*), index in its kind's
                     pool, strong and weak counts, alive, in_use
    A record is in_use from creation until both counts are 0 after death;
    alive from creation until the strong count reaches 0 (death).  A dead
    record that weak descriptors still name answers describe() only.
"""



class KernelObject(object):
    def __init__(self, kind, index):
        self.kind = kind
        self.index = index
        self.strong = 0
        self.weak = 0
        self.alive = False
        self.in_use = False

    def reset_header(self):
        """Forgets counts and state (the record is free again)."""
        self.strong = 0
        self.weak = 0
        self.alive = False
        self.in_use = False

    def size_bytes(self):
        """Returns the object's size in bytes as describe() reports it."""
        return 0


class Pool(object):
    """Which of count records are free: a free list of indexes.
    take() -> a free index, or -1 when none is left; give_back(index)
    returns one; taken counts the indexes out.  The records themselves are
    a list the owning module keeps (one type per pool)."""

    def __init__(self, count):
        self.next_free = [0] * count
        self.reset()

    def reset(self):
        """Makes every index free; returns nothing."""
        count = len(self.next_free)
        i = 0
        while i < count:
            self.next_free[i] = i + 1 if i + 1 < count else -1
            i += 1
        self.first_free = 0 if count > 0 else -1
        self.taken = 0

    def take(self):
        index = self.first_free
        if index >= 0:
            self.first_free = self.next_free[index]
            self.next_free[index] = -1
            self.taken += 1
        return index

    def give_back(self, index):
        self.next_free[index] = self.first_free
        self.first_free = index
        self.taken -= 1
