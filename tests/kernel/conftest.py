"""A simulated machine for the kernel's user-mode layer (sched, syscall,
spawn, init), untranslated.

`kworld` is tests/obj/conftest.py's world (16 MiB of simulated RAM behind
the HHDM, the real PMM, kernel heap and kernel page table) plus:
  - that table recorded as kernel_space's (kernel_stacks and spawn's image
    window map into kernel_space.kernel_pml4());
  - the emulated CPU, image layout and thread primitives (thread.emulate():
    a switch_to records (new_rsp, bottom, top) in `threads.switches` and
    returns at once), a fresh scheduler (sched.init) and the system calls'
    staging buffer (syscall.init);
  - a switch_to (and switch_task, the task-to-task switch that goes
    through it) that models a context which blocks or ends: a switch away
    from a task that is SLEEPING, WAITING or a ZOMBIE does not come back
    within the test step, so it raises Parked (after the switch happened:
    sched.current() is then the context that runs next; when that context
    resumes inside its own earlier switch, it reaps, as sched's code after
    switch_to does; a task's first entry into user mode does not).  A
    switch away from the idle context or from a task that stays RUNNABLE
    (a tick, a yield) returns, as the real one does once the context is
    switched back to (the scheduler's code after the switch, a reap, then
    runs at once).  Each switch is logged in `switch_log` as (prev, next,
    prev_stack_mapped).

User memory.  Untranslated, rawmem reads and writes simulated memory by
virtual address, whatever the page tables say, and the simulated world
backs only the HHDM.  So a user page the kernel copies from or to must be
both mapped in the process's space (the kernel checks its page tables) and
present in simulated memory at its user address: `give_user_memory`
allocates and maps a MemoryObject, then `mirror`s the mapped pages, making
the simulated page at each user address the very bytes of the frame behind
it (seen through the HHDM).  A page mapped but not mirrored is one whose
copy faults midway (the fixup path); permissions are not simulated by
rawmem, only by the kernel's own checks.
"""

import struct

import pytest

from elyz.abi import limits
from elyz.abi.rights import PROT_READ, PROT_WRITE, RIGHT_MAP, RIGHT_READ, RIGHT_WRITE
from elyz.kernel import sched, spawn, syscall
from elyz.lib import clock, log
from elyz.mm import heap, kernel_space, kernel_stacks, paging, protection
from elyz.mm.pmm import pmm
from elyz.obj import api, memory, table
from elyz.rlib_kernel import cpu, image, rawmem, thread, trapframe
from tests.obj.conftest import HHDM, make_world, reset_objects

PAGE = limits.PAGE_SIZE
MASK64 = rawmem.MASK64
ENTRY = 0x400000                    # where tasks started by start_task "enter"
USER_RSP = 0x00007FF000000000
USER_BUF = 0x10000000               # give_user_memory's default address
FRAME_BASE = rawmem.to_word(0xffffffff80200000)     # trap frames live here
FRAME = FRAME_BASE + 0x800
SCRATCH = rawmem.to_word(0xffffffff80300000)        # kernel words a test needs
SCRATCH_SIZE = 0x4000
USER_CS = 0x20 | 3
USER_SS = 0x18 | 3
BLOCKED = (sched.TASK_SLEEPING, sched.TASK_WAITING, sched.TASK_WAITING_EVENTS,
           sched.TASK_ZOMBIE)


class Parked(Exception):
    """The context that switched away blocked or ended: it does not come
    back within this test step."""


def _context_owner(save_addr):
    """Returns the task whose context holds save_addr (a saved-rsp word), or IDLE."""
    if save_addr == sched._sched.idle_context + sched.CONTEXT_RSP:
        return sched.IDLE
    for i in range(limits.MAX_PROCESSES):
        t = sched.task(i)
        if t.context != 0 and save_addr == t.context + sched.CONTEXT_RSP:
            return i
    raise AssertionError('switch_to saved rsp outside every context: %#x' % save_addr)


def kernel_stack_pages(index):
    """How many pages of slot index's kernel stack are mapped."""
    pml4 = kernel_space.kernel_pml4()
    return len([i for i in range(kernel_stacks.STACK_PAGES)
                if paging.translate(pml4, kernel_stacks.bottom(index) + i * PAGE) >= 0])


def kernel_stack_mapped(index):
    """True when every page of task index's kernel stack is mapped."""
    return kernel_stack_pages(index) == kernel_stacks.STACK_PAGES


def reset_scheduler():
    sched.reset_for_tests()
    sched._sched.idle_context = 0
    sched._sched.idle_watch = -1
    sched._sched.idle_wanted = False
    sched._sched.idle_waiting = False
    for t in [sched.task(i) for i in range(limits.MAX_PROCESSES)]:
        t.slice_left = 0
        t.exit_code = 0
        t.wake_tick = 0


class KernelWorld(object):
    """tests/obj/conftest.World's machine, with the kernel's additions."""

    def __init__(self, world, threads):
        self.world = world
        self.kernel_pml4 = world.kernel_pml4
        self.threads = threads
        self.switch_log = []

    def frames_free(self):
        return pmm.frames_free

    def accounted_frames(self):
        """Free frames plus the frames that stay by design once taken: the
        heap's pages and the kernel half's page tables (init.report_leaks
        counts the same way).  Unchanged by any balanced operation."""
        return (pmm.frames_free + heap.kernel_heap.bytes_reserved_from_pages // PAGE +
                kernel_table_frames(self.kernel_pml4))


_EMPTY_TABLE = bytes(bytearray(PAGE))


def _table_entries(table_phys):
    data = bytes(rawmem.simulated().read(HHDM + table_phys, PAGE))
    if data == _EMPTY_TABLE:
        return ()
    return struct.unpack('<512Q', data)


def _count_tables(table_phys, level):
    count = 1
    if level == paging.LEVEL_PT:
        return count
    for entry in _table_entries(table_phys):
        if paging.fmt.is_present(entry) and not paging.fmt.is_block(entry):
            count += _count_tables(paging.fmt.table_address(entry), level - 1)
    return count


def kernel_table_frames(pml4):
    """address_space.kernel_table_frames(), read a table at a time (fast)."""
    entries = _table_entries(pml4)
    return sum(_count_tables(paging.fmt.table_address(entry), paging.LEVEL_PDPT)
               for entry in entries[paging.KERNEL_HALF_FIRST:] if paging.fmt.is_present(entry))


def drain_frames(keep):
    """Takes frames from the PMM, in runs, until keep are left; returns the
    runs (phys, count) for give_back."""
    hoard = []
    run = max(pmm.frames_free - keep, 1)
    while pmm.frames_free > keep:
        run = min(run, pmm.frames_free - keep)
        phys = pmm.alloc_contiguous(run, 1)
        if phys < 0:
            run = max(run // 2, 1)
            continue
        hoard.append((phys, run))
    return hoard


def give_back(hoard):
    for phys, count in hoard:
        assert pmm.free_frames(phys, count) == 0
    del hoard[:]


def _install_parking(monkeypatch, kw):
    real_switch = thread.switch_to

    def switch_to(save_rsp_addr, new_rsp, new_bottom, new_top):
        prev = _context_owner(save_rsp_addr)
        mapped = prev == sched.IDLE or kernel_stack_mapped(prev)
        kw.switch_log.append((prev, sched.current(), mapped))
        real_switch(save_rsp_addr, new_rsp, new_bottom, new_top)
        if prev != sched.IDLE and sched.task(prev).state in BLOCKED:
            if new_rsp > 0:
                # The next context resumes inside its own _switch_away (the
                # emulation saved a made-up positive rsp for it), whose
                # remaining step is to reap; a first entry into user mode
                # (a prepared, higher-half rsp) goes to elyz_trap_exit.
                sched._reap()
            raise Parked(prev)

    def switch_task(prev_context, next_context, new_bottom, new_top):
        # The task-to-task switch (FPU state, then the same stack switch).
        switch_to(prev_context + thread.CONTEXT_RSP,
                  rawmem.load_u64(next_context + thread.CONTEXT_RSP), new_bottom, new_top)

    monkeypatch.setattr(thread, 'switch_to', switch_to)
    monkeypatch.setattr(thread, 'switch_task', switch_task)


def setup_kernel_world(monkeypatch):
    world = make_world()
    kernel_space._space.pml4 = world.kernel_pml4
    protection.reset_for_tests()
    image.emulate()
    threads = thread.emulate()
    reset_scheduler()
    spawn._state.window_pages = 0
    spawn._state.spawned = 0
    assert sched.init() == 0
    assert syscall.init() == 0
    memory = rawmem.simulated()
    memory.add_region(FRAME_BASE, 0x1000)
    memory.add_region(SCRATCH, SCRATCH_SIZE)
    kw = KernelWorld(world, threads)
    _install_parking(monkeypatch, kw)
    log.reset_for_tests()
    return kw


def teardown_kernel_world():
    reset_scheduler()
    reset_objects()
    pmm.reset()
    paging.set_hhdm_offset(0)
    kernel_space.reset_for_tests()
    log.reset_for_tests()
    thread.emulate()
    cpu.emulate()
    image.emulate()


@pytest.fixture
def kworld(monkeypatch):
    kw = setup_kernel_world(monkeypatch)
    yield kw
    teardown_kernel_world()


# ------------------------------------------------------------ tasks

def new_process():
    """Returns the record index of a new process (the kernel as parent)."""
    index = api.spawn(None, 0)
    assert index >= 0
    return index


def start_task(entry=ENTRY, rsp=USER_RSP, arg0=0, arg1=0):
    """Makes a new process and starts its task; returns its index."""
    index = new_process()
    assert sched.start(index, entry, rsp, arg0, arg1) == 0
    return index


def run_queue():
    """The run queue as the scheduler links it, head first."""
    order = []
    cursor = sched._sched.head
    while cursor >= 0:
        order.append(cursor)
        assert len(order) <= limits.MAX_PROCESSES, 'the run queue has a cycle'
        cursor = sched.task(cursor).next
    return order


def tick(preemptible=True, n=1):
    """n timer interrupts, as traps.dispatch gives them to the scheduler."""
    for i in range(n):
        clock.tick()
        sched.tick(preemptible)


def make_current(index):
    """Ticks (user mode interrupted) until task index runs."""
    for i in range(limits.MAX_PROCESSES * sched.SLICE_TICKS + 1):
        if sched.current() == index:
            return
        tick()
    raise AssertionError('task %d never ran' % index)


def blocks(fn, *args):
    """Calls fn, which must block or end the running task; returns the
    task that was parked."""
    with pytest.raises(Parked) as info:
        fn(*args)
    return info.value.args[0]


# ------------------------------------------------------------ user memory

def alias(virt, phys):
    """Makes the simulated page at user address virt the frame phys."""
    memory = rawmem.simulated()
    memory.add_region(virt, PAGE)
    memory.pages[(virt & MASK64) >> rawmem.SIM_PAGE_SHIFT] = \
        memory._page(((HHDM & MASK64) + phys) >> rawmem.SIM_PAGE_SHIFT)


def mirror(space, virt, pages):
    """Aliases each page of [virt, virt + pages * PAGE) that space maps."""
    for i in range(pages):
        phys = paging.translate(space, virt + i * PAGE)
        if phys >= 0:
            alias(virt + i * PAGE, phys)


def give_user_memory(proc, vaddr=USER_BUF, pages=1, prot=PROT_READ | PROT_WRITE,
                     mirrored=None):
    """Maps a new MemoryObject of pages at vaddr in proc; mirrors the pages
    listed in mirrored (all by default).  Returns the descriptor."""
    desc = api.allocate(proc, pages * PAGE, RIGHT_READ | RIGHT_WRITE | RIGHT_MAP)
    assert desc > 0
    assert api.map(proc, desc, vaddr, 0, pages * PAGE, prot) == 0
    for i in (range(pages) if mirrored is None else mirrored):
        mirror(proc.space, vaddr + i * PAGE, 1)
    return desc


def _pieces(addr, n):
    """[addr, addr + n) cut at page boundaries (each mirrored page is a
    simulated region of its own)."""
    done = 0
    while done < n:
        chunk = min(n - done, PAGE - ((addr + done) & (PAGE - 1)))
        yield done, chunk
        done += chunk


def write_bytes(addr, data):
    memory = rawmem.simulated()
    for done, chunk in _pieces(addr, len(data)):
        memory.write(addr + done, bytearray(data[done:done + chunk]))


def read_bytes(addr, n):
    memory = rawmem.simulated()
    return b''.join(bytes(memory.read(addr + done, chunk)) for done, chunk in _pieces(addr, n))


# ------------------------------------------------------------ descriptors

def descriptors(proc):
    """A process's live descriptors, slot by slot: (slot, object, rights,
    flags, expiry); generations left out."""
    out = []
    for slot in range(limits.DESCRIPTOR_SLOTS):
        ref = table.read(proc.table, slot, table.OBJECT)
        if ref != 0:
            out.append((slot, ref, table.read(proc.table, slot, table.RIGHTS),
                        table.read(proc.table, slot, table.FLAGS),
                        table.read(proc.table, slot, table.EXPIRY)))
    return out


# ------------------------------------------------------------ trap frames

def syscall_frame(number, *args, **registers):
    """Writes a system-call trap frame as syscall.S builds it: the number in
    rax, args in rdi rsi rdx r10 r8 r9, other registers 0x1000 * (i + 1)."""
    values = dict((name, 0x1000 * (i + 1)) for i, name in enumerate(trapframe.REGISTER_NAMES))
    values.update(registers)
    values['rax'] = number
    arg_names = ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9']
    assert len(args) <= 6
    for name, value in zip(arg_names, args):
        values[name] = value
    for i, name in enumerate(trapframe.REGISTER_NAMES):
        trapframe.write(FRAME, trapframe.REGISTER_OFFSETS[i], values[name])
    trapframe.write(FRAME, trapframe.VECTOR, trapframe.SYSCALL_VECTOR)
    trapframe.write(FRAME, trapframe.ERROR_CODE, 0)
    trapframe.write(FRAME, trapframe.RIP, 0x401234)
    trapframe.write(FRAME, trapframe.CS, USER_CS)
    trapframe.write(FRAME, trapframe.RFLAGS, 0x202)
    trapframe.write(FRAME, trapframe.RSP, USER_RSP - 64)
    trapframe.write(FRAME, trapframe.SS, USER_SS)
    return FRAME


def frame_words(frame=FRAME):
    return [trapframe.read(frame, off) for off in range(0, trapframe.FRAME_SIZE, 8)]


def do_syscall(number, *args):
    """Dispatches a system call of the running process through a trap
    frame; returns what it left in rax."""
    frame = syscall_frame(number, *args)
    syscall.dispatch(frame)
    return trapframe.read(frame, trapframe.SYSCALL_RESULT)


# ------------------------------------------------------------ images

IMAGE_AT = HHDM + 0x10000000        # kernel memory outside the PMM's RAM


def place_image(data, at=IMAGE_AT):
    """Puts data in simulated kernel memory at at (beyond the RAM the PMM
    manages, like a boot module); returns at."""
    rawmem.simulated().add_region(at, max(len(data), 1))
    write_bytes(at, data)
    return at


def memory_object_with(proc, data, rights):
    """Gives proc a MemoryObject holding data (written through the HHDM),
    with rights (RIGHT_READ added); returns the descriptor."""
    desc = api.allocate(proc, max(len(data), 1), rights | RIGHT_READ)
    assert desc > 0
    obj = memory.get(api.memory_named(proc, desc, RIGHT_READ))
    for i in range(0, len(data), PAGE):
        write_bytes(HHDM + memory.frame(obj, i // PAGE), data[i:i + PAGE])
    return desc
