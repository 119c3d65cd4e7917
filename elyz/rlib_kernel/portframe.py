"""The trap frame of the aarch64, riscv64 and loongarch64 ports: what
arch/<karch>/trap.S saves for every exception and interrupt (the x86_64
frame is elyz/rlib_kernel/trapframe.py).

API (offsets are bytes from the frame address rpy_trap receives):

    REGISTER(n)     general register n (0..31) as the trapped code had it:
                    x0..x31 on riscv64 (x2 = sp; x0's slot is 0), r0..r31 on
                    loongarch64 (r3 = sp), x0..x30 and sp (as 31) on aarch64
    PC              where the trapped code resumes (sepc, ELR_EL1, ERA)
    STATUS          the saved status (sstatus, SPSR_EL1, PRMD)
    CAUSE           the cause (scause, ESR_EL1, ESTAT)
    FAULT_ADDRESS   the faulting address of a memory fault (stval, FAR_EL1,
                    BADV)
    FRAME_SIZE      288 bytes (a multiple of 16)
    read(frame, offset) -> value       write(frame, offset, value)

A handler may change any register and PC before it returns: trap.S
restores them (and STATUS) from the frame.  arch/<karch>/boot.h FRAME_*
holds the same numbers.
"""

from elyz.rlib_kernel import rawmem

WORD = 8
REGISTER_COUNT = 32
PC = 32 * WORD
STATUS = 33 * WORD
CAUSE = 34 * WORD
FAULT_ADDRESS = 35 * WORD
FRAME_SIZE = 36 * WORD


def REGISTER(n):
    """Returns the offset of general register n."""
    return n * WORD


def read(frame, offset):
    """Returns the word at frame + offset."""
    return rawmem.load_u64(frame + offset)


def write(frame, offset, value):
    """Stores value at frame + offset; returns nothing."""
    rawmem.store_u64(frame + offset, value)
