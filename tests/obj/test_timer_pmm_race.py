"""The timer's lease expiry (api.expire_leases, in the timer interrupt)
frees page-table frames through the PMM, and kernel code outside the object
API calls the PMM with interrupts on: so the PMM's allocation and free paths
run with interrupts off, and an expiry can never land between the load and
the store of a bitmap word."""

import pytest

from elyz.mm.pmm import pmm
from elyz.rlib_kernel import cpu

from tests.obj.conftest import world  # noqa: F401  (fixture)


@pytest.mark.parametrize('operation', ['alloc_frame', 'alloc_contiguous', 'free_frame'])
def test_the_pmm_touches_its_bitmaps_only_with_interrupts_off(world, operation):
    phys = pmm.alloc_frame()
    seen = []
    real_load = pmm._load

    def load(bitmap, word):
        seen.append(cpu.emulated().interrupts_enabled)
        return real_load(bitmap, word)

    pmm._load = load
    cpu.emulated().interrupts_enabled = True
    try:
        if operation == 'alloc_frame':
            assert pmm.alloc_frame() > 0
        elif operation == 'alloc_contiguous':
            assert pmm.alloc_contiguous(2, 1) > 0
        else:
            assert pmm.free_frame(phys) == 0
    finally:
        del pmm._load
    assert seen and not any(seen)
    assert cpu.emulated().interrupts_enabled            # restored as they were
    assert pmm.check_counters()
