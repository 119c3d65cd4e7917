"""Kernel objects and the descriptors that name them (docs/abi.md).

    kobject.py     the header every object has: kind, strong and weak counts
    memory.py      MemoryObject: a run of zero-filled pages
    process.py     Process: a descriptor table, an address space, a state
    table.py       descriptor tables: slots with object, strength, rights,
                   generation, lease expiry
    mapping.py     mapping records: which pages of which object a space
                   maps, and through which descriptor
    lease.py       the expiry queue of leases
    api.py         the operations the system calls will call

Object records live in fixed pools (no GC allocation after boot);
descriptor tables and MemoryObject frame lists live in the kernel heap and
are freed explicitly.  Every operation runs with interrupts off on one CPU
(api.py turns them off), so the timer's lease expiry never interleaves
with one.
"""
