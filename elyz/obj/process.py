"""Process: a descriptor table, an address space and a state (KIND_PROCESS).

    create() -> the index of a new running process (table and address space
                made, its one strong reference the running state itself),
                or E_NOMEM (nothing taken)
    get(index) -> the Process record
    release_resources(proc)  frees the table and the address space (after
                teardown released every descriptor and mapping)
    free_record(proc)        back to the pool (dead, both counts 0)
    records_in_use()

STATE_RUNNING until exit; STATE_EXITED keeps exit_code for as long as the
record lives (a zombie while strong descriptors name it).
"""

from elyz.abi.errors import E_NOMEM
from elyz.abi.limits import MAX_PROCESSES
from elyz.abi.rights import KIND_PROCESS
from elyz.mm import address_space
from elyz.obj import table
from elyz.obj.kobject import KernelObject, Pool

STATE_RUNNING = 1
STATE_EXITED = 2
STATE_NAMES = ['free', 'running', 'exited']


class Process(KernelObject):
    def __init__(self, index):
        KernelObject.__init__(self, KIND_PROCESS, index)
        self.state = 0
        self.exit_code = 0
        self.fault_address = 0      # the page fault that killed it, or 0
        self.space = 0              # address_space top-level table
        self.table = 0              # table.py, in the kernel heap
        self.slots_used = 0
        self.free_hint = 0          # no free descriptor slot below it
        self.serial = 0             # which process of this record (channel charges)
        self.inflight_bytes = 0     # kernel memory its queued messages take
        self.first_mapping = -1     # mapping.py: this space's mappings


class _Serials(object):
    def __init__(self):
        self.next = 0


_serials = _Serials()
_processes = [Process(i) for i in range(MAX_PROCESSES)]
_pool = Pool(MAX_PROCESSES)


def get(index):
    """Returns Process record index."""
    return _processes[index]


def create():
    """Returns the index of a new running process, or E_NOMEM."""
    index = _pool.take()
    if index < 0:
        return E_NOMEM
    descriptors = table.new_table()
    if descriptors == 0:
        _pool.give_back(index)
        return E_NOMEM
    space = address_space.create()
    if space < 0:
        table.free_table(descriptors)
        _pool.give_back(index)
        return E_NOMEM
    proc = _processes[index]
    proc.reset_header()
    proc.in_use = True
    proc.alive = True
    proc.strong = 1                 # the running state's own reference
    proc.state = STATE_RUNNING
    proc.exit_code = 0
    proc.fault_address = 0
    proc.space = space
    proc.table = descriptors
    proc.slots_used = 0
    proc.free_hint = 0
    _serials.next += 1
    proc.serial = _serials.next
    proc.inflight_bytes = 0
    proc.first_mapping = -1
    return index


def release_resources(proc):
    """Frees proc's table and address space; returns nothing."""
    if proc.table != 0:
        table.free_table(proc.table)
        proc.table = 0
    if proc.space != 0:
        address_space.destroy(proc.space)
        proc.space = 0


def free_record(proc):
    """Returns proc's record to the pool; returns nothing."""
    proc.reset_header()
    proc.state = 0
    _pool.give_back(proc.index)


def records_in_use():
    """Returns how many Process records are taken (running or zombie)."""
    return _pool.taken


def reset_for_tests():
    """Untranslated only: every record free."""
    for proc in _processes:
        proc.reset_header()
        proc.state = 0
        proc.space = 0
        proc.table = 0
        proc.slots_used = 0
        proc.free_hint = 0
        proc.first_mapping = -1
    _pool.reset()
