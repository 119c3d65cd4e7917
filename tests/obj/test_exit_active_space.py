"""api.exit(proc) frees proc's address space, which is the active one when
proc itself asks to exit: address_space.destroy switches CR3 to the
kernel's table first, so CR3 never names a freed frame."""

from elyz.mm import address_space
from elyz.mm.pmm import FRAME_FREE, pmm
from elyz.obj import api, process

from elyz.rlib_kernel import cpu
from tests.obj.conftest import world  # noqa: F401  (fixture)


def test_destroying_the_active_space_switches_to_the_kernel_first(world):
    p = process.get(api.spawn(None, 0))
    space = p.space
    address_space.activate(space)                 # p is running: its CR3 is loaded
    assert api.exit(p, 0) == 0
    assert address_space.current() == world.kernel_pml4
    assert cpu.emulated().cr3 == world.kernel_pml4
    assert pmm.frame_state(space) == FRAME_FREE   # freed, and no longer live
