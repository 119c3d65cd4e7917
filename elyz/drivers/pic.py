"""The legacy 8259A interrupt controller pair (master + slave on IRQ 2).

Elyz takes interrupts through the local APIC, so the PICs are only moved
out of the way: their vectors would otherwise overlap CPU exceptions 8-15.

    VECTOR_BASE = 0x20, IRQ_COUNT = 16   IRQ n arrives at VECTOR_BASE + n
    is_pic_vector(vector) -> bool
    remap_and_mask()      ICW1-ICW4 (master at 0x20-0x27, slave at 0x28-0x2f),
                          then masks every line
    mask_all()
    acknowledge(vector) -> True when the IRQ was real (EOI sent), False
                          for a spurious IRQ 7 / IRQ 15 (no EOI owed, except
                          to the master for a spurious IRQ 15)

Reference: Intel 8259A datasheet (ICW1-4, OCW2 EOI, OCW3 read ISR).
"""

from elyz.rlib_kernel import ports

MASTER_COMMAND = 0x20
MASTER_DATA = 0x21
SLAVE_COMMAND = 0xA0
SLAVE_DATA = 0xA1
IO_WAIT_PORT = 0x80          # POST code port: a write takes ~1 us on old boards

VECTOR_BASE = 0x20
SLAVE_VECTOR_BASE = VECTOR_BASE + 8
IRQ_COUNT = 16
IRQS_PER_CHIP = 8
CASCADE_IRQ = 2
SPURIOUS_MASTER_IRQ = 7
SPURIOUS_SLAVE_IRQ = 15

ICW1_INIT = 0x10
ICW1_NEEDS_ICW4 = 0x01
ICW3_MASTER_SLAVE_ON_IRQ2 = 1 << CASCADE_IRQ
ICW3_SLAVE_CASCADE_ID = CASCADE_IRQ
ICW4_8086_MODE = 0x01
OCW2_EOI = 0x20
OCW3_READ_ISR = 0x0B
MASK_ALL = 0xFF


def _io_wait():
    ports.outb(IO_WAIT_PORT, 0)


def is_pic_vector(vector):
    """Returns True when vector is one of the 16 remapped PIC vectors."""
    return VECTOR_BASE <= vector < VECTOR_BASE + IRQ_COUNT


def mask_all():
    """Masks all 16 IRQ lines; returns nothing."""
    ports.outb(MASTER_DATA, MASK_ALL)
    ports.outb(SLAVE_DATA, MASK_ALL)


def remap_and_mask():
    """Moves IRQ 0-15 to vectors 0x20-0x2f and masks them all; returns nothing."""
    ports.outb(MASTER_COMMAND, ICW1_INIT | ICW1_NEEDS_ICW4)
    _io_wait()
    ports.outb(SLAVE_COMMAND, ICW1_INIT | ICW1_NEEDS_ICW4)
    _io_wait()
    ports.outb(MASTER_DATA, VECTOR_BASE)
    _io_wait()
    ports.outb(SLAVE_DATA, SLAVE_VECTOR_BASE)
    _io_wait()
    ports.outb(MASTER_DATA, ICW3_MASTER_SLAVE_ON_IRQ2)
    _io_wait()
    ports.outb(SLAVE_DATA, ICW3_SLAVE_CASCADE_ID)
    _io_wait()
    ports.outb(MASTER_DATA, ICW4_8086_MODE)
    _io_wait()
    ports.outb(SLAVE_DATA, ICW4_8086_MODE)
    _io_wait()
    mask_all()


def _in_service(command_port, bit):
    ports.outb(command_port, OCW3_READ_ISR)
    return (ports.inb(command_port) & (1 << bit)) != 0


def acknowledge(vector):
    """Ends the PIC interrupt at vector (a PIC vector); returns False when it
    was spurious (not in service), True when an EOI was sent."""
    irq = vector - VECTOR_BASE
    if irq == SPURIOUS_MASTER_IRQ and not _in_service(MASTER_COMMAND, SPURIOUS_MASTER_IRQ):
        return False
    if irq == SPURIOUS_SLAVE_IRQ and not _in_service(SLAVE_COMMAND,
                                                     SPURIOUS_SLAVE_IRQ - IRQS_PER_CHIP):
        ports.outb(MASTER_COMMAND, OCW2_EOI)     # the master did see IRQ 2
        return False
    if irq >= IRQS_PER_CHIP:
        ports.outb(SLAVE_COMMAND, OCW2_EOI)
    ports.outb(MASTER_COMMAND, OCW2_EOI)
    return True
