"""The kernel's exact counts (docs/abi.md, "Accounting"): what the counters
system call reports and tests compare before and after.

    take(out) -> out (an elyz.abi.counters.Counters) filled with the counts
                 now; allocates nothing (it walks the processes' page tables
                 to count their frames)

Every count is exact, none an estimate: a record pool's taken count, the
descriptors _occupy and _vacate count, the frame allocator's free count,
the heap's bytes in use.
"""

from elyz.abi.limits import MAX_PROCESSES
from elyz.mm import address_space, heap
from elyz.mm.pmm import pmm
from elyz.obj import api, channel, lease, mapping, memory, process

PAGE = 4096


def user_table_frames():
    """Returns the page-table frames of every process's address space
    (running processes; an exited one has freed its space)."""
    total = 0
    i = 0
    while i < MAX_PROCESSES:
        space = process.get(i).space
        if space != 0:
            total += address_space.table_frames(space)
        i += 1
    return total


def take(out):
    """See the module docstring."""
    out.memory_objects = memory.records_in_use()
    out.processes = process.records_in_use()
    out.strong_descriptors = api.strong_descriptors()
    out.weak_descriptors = api.weak_descriptors()
    out.leases = lease.queued()
    out.mappings = mapping.count_in_use()
    out.memory_frames = memory.live_frames()
    out.table_frames = user_table_frames()
    out.kernel_table_frames = address_space.kernel_table_frames()
    out.frames_free = pmm.frames_free
    out.heap_bytes = heap.kernel_heap.bytes_in_use
    out.heap_pages = heap.kernel_heap.bytes_reserved_from_pages // PAGE
    out.endpoints = channel.records_in_use()
    out.messages = channel.messages_in_use()
    out.message_bytes = channel.bytes_queued()
    out.in_flight = api.descriptors_in_flight()
    return out
