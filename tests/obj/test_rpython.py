"""The object layer is freestanding RPython and allocates no GC memory on
any path the system calls will take (the rpy_obj_* entry points), nor in
the timer's lease expiry, even before the optimisations."""

from elyz.kernel import entry
from elyz.mm import address_space
from elyz.mm.pmm import pmm
from elyz.obj import api
from tests.support import rpycheck

OBJ_ENTRY_POINTS = [(ep.function, ep.argtypes) for ep in entry.ENTRY_POINTS
                    if ep.c_name.startswith('rpy_obj_')]


def expire_entry(now):
    return api.expire_leases(now)


def setup_entry(kernel_pml4):
    address_space.init(kernel_pml4, pmm)        # as memory.init_memory does at boot
    return 0


def test_every_operation_has_an_allocation_free_entry_point():
    names = set(ep.c_name for ep in entry.ENTRY_POINTS if ep.allocation_free)
    for op in ('allocate', 'clone', 'borrow', 'transfer', 'release', 'map', 'unmap',
               'describe', 'exit'):
        assert 'rpy_obj_' + op in names


def test_the_object_layer_allocates_nothing_even_unoptimised():
    roots = [function for function, argtypes in OBJ_ENTRY_POINTS] + [expire_entry]
    t = rpycheck.rtype_allocation_free(OBJ_ENTRY_POINTS + [(expire_entry, [int]),
                                                          (setup_entry, [int])],
                                       roots=roots, module_prefix='elyz.obj',
                                       unoptimised=True)
    assert rpycheck.reaches(t, entry.rpy_obj_map, api._map)
