"""16550 UART on COM1: the kernel's first log sink.

    SerialPort(base) with init() and put_char(c); COM1 = SerialPort(0x3f8).
init() programs 115200 baud 8N1 and returns False when no UART answers
(the scratch-register test fails); put_char then does nothing.
"""

from elyz.lib.log import LogSink
from elyz.rlib_kernel import ports

COM1_BASE = 0x3F8
# Register offsets (PC16550D datasheet).
REG_DATA = 0
REG_INT_ENABLE = 1
REG_FIFO_CTRL = 2
REG_LINE_CTRL = 3
REG_MODEM_CTRL = 4
REG_LINE_STATUS = 5
REG_SCRATCH = 7
LINE_STATUS_THR_EMPTY = 0x20
LINE_CTRL_DLAB = 0x80
SPIN_LIMIT = 100000


class SerialPort(LogSink):
    def __init__(self, base):
        self.base = base
        self.present = False

    def init(self):
        """Sets up 115200 8N1 with FIFOs; returns True when a UART answers."""
        b = self.base
        ports.outb(b + REG_SCRATCH, 0xA5)
        if ports.inb(b + REG_SCRATCH) not in (0xA5, 0xFF):
            self.present = False
            return False
        ports.outb(b + REG_INT_ENABLE, 0x00)
        ports.outb(b + REG_LINE_CTRL, LINE_CTRL_DLAB)
        ports.outb(b + REG_DATA, 1)          # divisor 1: 115200 baud
        ports.outb(b + REG_INT_ENABLE, 0)
        ports.outb(b + REG_LINE_CTRL, 0x03)  # 8 bits, no parity, one stop bit
        ports.outb(b + REG_FIFO_CTRL, 0xC7)
        ports.outb(b + REG_MODEM_CTRL, 0x03)
        self.present = True
        return True

    def put_byte(self, value):
        """Sends one byte, waiting (bounded) for the transmitter; drops it without a UART."""
        if not self.present:
            return
        spins = 0
        while (ports.inb(self.base + REG_LINE_STATUS) & LINE_STATUS_THR_EMPTY) == 0:
            spins += 1
            if spins > SPIN_LIMIT:
                return
        ports.outb(self.base + REG_DATA, value)

    def put_char(self, c):
        """Sends c, with CR before LF for terminals."""
        if c == '\n':
            self.put_byte(ord('\r'))
        self.put_byte(ord(c))


COM1 = SerialPort(COM1_BASE)
